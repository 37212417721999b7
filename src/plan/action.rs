//! The changes phonefleet can make to one phone, in the order they run inside one apply.

use serde::{Deserialize, Serialize};

use crate::spec::Traffic;

/// One change to one phone. The derive order of variants is the order of one phone's changes in an
/// apply (providers.md 0.3): properties, then traffic, then power, so a phone started in the same apply
/// boots with its new properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "value")]
pub enum Action {
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
}

impl Action {
    /// The name used in plans and reports: `set_properties`, `set_traffic`, `stop`, `start`, `restart`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::SetProperties => "set_properties",
            Action::SetTraffic(_) => "set_traffic",
            Action::Stop => "stop",
            Action::Start => "start",
            Action::Restart => "restart",
        }
    }

    /// Parse a name as written by [`Action::name`], with the route for `set_traffic`.
    pub fn from_name(name: &str, traffic: Option<Traffic>) -> Option<Action> {
        match name {
            "set_properties" => Some(Action::SetProperties),
            "set_traffic" => traffic.map(Action::SetTraffic),
            "stop" => Some(Action::Stop),
            "start" => Some(Action::Start),
            "restart" => Some(Action::Restart),
            _ => None,
        }
    }
}
