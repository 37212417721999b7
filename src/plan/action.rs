//! The changes phonefleet can make to one phone, in the order they run inside one apply, and what each
//! is called where a person or a script reads it. Which attribute plans an action, and how it is
//! confirmed, is that attribute's module ([`crate::attribute`]).

use serde::{Deserialize, Serialize};

use crate::spec::Traffic;

/// One change to one phone. The derive order of variants is the order of one phone's changes in an
/// apply (providers.md 0.3): the name first (GeeLark refuses a detail update while a phone starts),
/// then properties, traffic, power, so a phone started in the same apply boots with its new properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "value")]
pub enum Action {
    /// Create a pool's missing member (GeeLark phone/addNew, 100 a call per pool), made with the
    /// pool's group, tags, remark and proxy; its id is the provider's answer.
    Create,
    /// Reset the phone (CPH batch-reset, with the declared image when that is what differs; KooPhone
    /// batch-reset; GeeLark phone/newOne, one phone a call): its data and apps are cleared. Asked for
    /// with `--reset SELECTOR`, or planned for a CPH phone on another image than declared. First in a
    /// phone's chain: what follows is made on the fresh phone.
    Reset,
    /// Rename the phone at the provider (`names: manage`; CPH update_phone_name, GeeLark
    /// phone/detail/update), one phone a call. The new name is the declared one.
    Rename,
    /// Move the phone to its declared group (GeeLark phone/moveGroup, 100 phones into one group a
    /// call; the group created when missing).
    SetGroup,
    /// Give the phone its declared set of tags (GeeLark phone/detail/update, one phone a call; missing
    /// tags created).
    SetTags,
    /// Give the phone its declared remark (GeeLark phone/detail/update, one phone a call).
    SetRemark,
    /// Give the phone its declared proxy (GeeLark phone/detail/update with `proxyConfig`, one phone a
    /// call; the secrets are read from their variables when the call is made, never planned).
    SetProxy,
    /// Update the declared `sys.prop` keys (CPH batch-update-property).
    SetProperties,
    /// Re-route traffic (CPH phones-traffic); batches are per target route.
    SetTraffic(Traffic),
    /// Power off.
    Stop,
    /// Power on (CPH: batch-restart, documented as also powering on a stopped phone).
    Start,
    /// Restart a running phone so that properties that need one take effect (CPH batch-restart, after
    /// the property job; `restart: when-needed`).
    Restart,
    /// Clear the phone's "restart pending" mark (CPH `custom_property`) once a restart or a start
    /// booted it with the properties that waited for one.
    ClearRestartPending,
    /// Delete a pool member beyond its `count` (GeeLark phone/delete, 100 a call; stopped first).
    Delete,
}

/// An action without its payload: what summaries, heal policies and reports count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// [`Action::Start`].
    Start,
    /// [`Action::Stop`].
    Stop,
    /// [`Action::SetTraffic`].
    SetTraffic,
    /// [`Action::SetProperties`].
    SetProperties,
    /// [`Action::Restart`].
    Restart,
    /// [`Action::Rename`].
    Rename,
    /// [`Action::ClearRestartPending`].
    ClearRestartPending,
    /// [`Action::SetGroup`].
    SetGroup,
    /// [`Action::SetTags`].
    SetTags,
    /// [`Action::SetRemark`].
    SetRemark,
    /// [`Action::SetProxy`].
    SetProxy,
    /// [`Action::Create`].
    Create,
    /// [`Action::Delete`].
    Delete,
    /// [`Action::Reset`].
    Reset,
}

/// How one kind of action is named and counted.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    /// In plans, reports, JSON and `watch.heal`: `set_traffic`.
    pub name: &'static str,
    /// In the summary line: `to re-route`.
    pub verb: &'static str,
    /// Written in the summary line even at 0 (the four of the first format); others only when some.
    pub always_counted: bool,
    /// In an apply's "Done:" line: `re-routed`.
    pub done: &'static str,
    /// In `status`, for a phone that needs it: `to re-route`, `properties differ`.
    pub status: &'static str,
}

impl ActionKind {
    /// Every kind, in the order summaries list them (the JSON summary's key order).
    pub const ALL: [ActionKind; 14] = [
        ActionKind::Start,
        ActionKind::Stop,
        ActionKind::SetTraffic,
        ActionKind::SetProperties,
        ActionKind::Restart,
        ActionKind::Rename,
        ActionKind::ClearRestartPending,
        ActionKind::SetGroup,
        ActionKind::SetTags,
        ActionKind::SetRemark,
        ActionKind::SetProxy,
        ActionKind::Create,
        ActionKind::Delete,
        ActionKind::Reset,
    ];

    /// Every kind, destructive first: the order of the text summary and of an apply's "Done:" line.
    pub const DESTRUCTIVE_FIRST: [ActionKind; 14] = [
        ActionKind::Delete,
        ActionKind::Reset,
        ActionKind::Stop,
        ActionKind::Create,
        ActionKind::Start,
        ActionKind::SetTraffic,
        ActionKind::SetProperties,
        ActionKind::Restart,
        ActionKind::Rename,
        ActionKind::SetGroup,
        ActionKind::SetTags,
        ActionKind::SetRemark,
        ActionKind::SetProxy,
        ActionKind::ClearRestartPending,
    ];

    /// Its words.
    pub fn words(self) -> Words {
        let (name, verb, always_counted, done, status) = match self {
            ActionKind::Start => ("start", "to start", true, "started", "to start"),
            ActionKind::Stop => ("stop", "to stop", true, "stopped", "to stop"),
            ActionKind::SetTraffic => (
                "set_traffic",
                "to re-route",
                true,
                "re-routed",
                "to re-route",
            ),
            ActionKind::SetProperties => (
                "set_properties",
                "to update properties",
                true,
                "with new properties",
                "properties differ",
            ),
            ActionKind::Restart => ("restart", "to restart", false, "restarted", "to restart"),
            ActionKind::Rename => ("rename", "to rename", false, "renamed", "to rename"),
            ActionKind::SetGroup => (
                "set_group",
                "to move to a group",
                false,
                "moved to their group",
                "group differs",
            ),
            ActionKind::SetTags => ("set_tags", "to retag", false, "retagged", "tags differ"),
            ActionKind::SetRemark => (
                "set_remark",
                "to change the remark",
                false,
                "with a new remark",
                "remark differs",
            ),
            ActionKind::SetProxy => (
                "set_proxy",
                "to change the proxy",
                false,
                "with their proxy",
                "proxy differs",
            ),
            ActionKind::Create => ("create", "to create", false, "created", "to create"),
            ActionKind::Delete => ("delete", "to delete", false, "deleted", "to delete"),
            ActionKind::Reset => ("reset", "to reset", false, "reset", "to reset"),
            ActionKind::ClearRestartPending => (
                "clear_restart_pending",
                "to unmark as waiting for a restart",
                false,
                "unmarked as waiting for a restart",
                "restarted, to unmark",
            ),
        };
        Words {
            name,
            verb,
            always_counted,
            done,
            status,
        }
    }

    /// `set_traffic`.
    pub fn name(self) -> &'static str {
        self.words().name
    }

    /// The kind named `name` ([`ActionKind::name`]).
    pub fn from_name(name: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Action {
    /// Its kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Rename => ActionKind::Rename,
            Action::SetProperties => ActionKind::SetProperties,
            Action::SetTraffic(_) => ActionKind::SetTraffic,
            Action::Stop => ActionKind::Stop,
            Action::Start => ActionKind::Start,
            Action::Restart => ActionKind::Restart,
            Action::ClearRestartPending => ActionKind::ClearRestartPending,
            Action::SetGroup => ActionKind::SetGroup,
            Action::SetTags => ActionKind::SetTags,
            Action::SetRemark => ActionKind::SetRemark,
            Action::SetProxy => ActionKind::SetProxy,
            Action::Create => ActionKind::Create,
            Action::Delete => ActionKind::Delete,
            Action::Reset => ActionKind::Reset,
        }
    }

    /// The name used in plans and reports: `set_properties`, `set_traffic`, `stop`, `start`, `restart`,
    /// `rename`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Parse a name as written by [`Action::name`], with the route for `set_traffic`.
    pub fn from_name(name: &str, traffic: Option<Traffic>) -> Option<Action> {
        Some(match ActionKind::from_name(name)? {
            ActionKind::Rename => Action::Rename,
            ActionKind::SetProperties => Action::SetProperties,
            ActionKind::SetTraffic => Action::SetTraffic(traffic?),
            ActionKind::Stop => Action::Stop,
            ActionKind::Start => Action::Start,
            ActionKind::Restart => Action::Restart,
            ActionKind::ClearRestartPending => Action::ClearRestartPending,
            ActionKind::SetGroup => Action::SetGroup,
            ActionKind::SetTags => Action::SetTags,
            ActionKind::SetRemark => Action::SetRemark,
            ActionKind::SetProxy => Action::SetProxy,
            ActionKind::Create => Action::Create,
            ActionKind::Delete => Action::Delete,
            ActionKind::Reset => Action::Reset,
        })
    }

    /// Whether its call carries the phone's changed properties (a restart carries them too).
    pub fn carries_properties(&self) -> bool {
        matches!(self, Action::SetProperties | Action::Restart)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name_and_parses_back() {
        let names: std::collections::BTreeSet<&str> =
            ActionKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), ActionKind::ALL.len());
        for k in ActionKind::ALL {
            assert_eq!(ActionKind::from_name(k.name()), Some(k));
            let a = Action::from_name(k.name(), Some(Traffic::Direct)).unwrap();
            assert_eq!(a.kind(), k);
        }
        assert_eq!(Action::from_name("set_traffic", None), None);
    }
}
