//! Status: the fleet as it is now, one [`Row`] per selected phone (live power state and route, what the
//! spec declares, in sync or what differs) and a [`Tally`] per provider. Pure: computed from the same
//! plan and observations `plan` makes, so `status` reads exactly what `plan` reads.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ops::plan::{Planned, Scope};
use crate::plan::Action;
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::{self, Observation, Power};

/// Where a phone stands against its declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sync {
    /// Everything managed is as declared.
    InSync,
    /// On its way to the declared power state (not drift).
    Converging,
    /// As declared, but properties set without their restart wait for one.
    RestartPending,
    /// Differs: apply would change it.
    Drifted,
    /// Differs, and nothing can be done now (a person, or a wait).
    Blocked,
    /// Could not be read.
    Unreadable,
}

impl Sync {
    /// The word shown.
    pub fn word(self) -> &'static str {
        match self {
            Sync::InSync => "in sync",
            Sync::Converging => "converging",
            Sync::RestartPending => "restart pending",
            Sync::Drifted => "drifted",
            Sync::Blocked => "blocked",
            Sync::Unreadable => "unreadable",
        }
    }
}

/// One phone, as it is and as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Provider name.
    pub provider: String,
    /// Phone id.
    pub phone_id: String,
    /// Name from the spec.
    pub name: Option<String>,
    /// Live power state: `running`, `stopped`, or the raw status with its meaning; `not found`,
    /// `could not read`.
    pub power: String,
    /// Live route (huawei-cph).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<String>,
    /// Declared power state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_state: Option<String>,
    /// Declared route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_traffic: Option<String>,
    /// The schedule it follows and its next transition: `schedule office-hours, until 18:00 CET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Where it stands.
    pub sync: Sync,
    /// What differs (the changes apply would make), or why it is blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differs: Option<String>,
}

/// Phones of one provider, counted by live power state and by where they stand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Phones shown.
    pub phones: usize,
    /// Running now.
    pub running: usize,
    /// Stopped now.
    pub stopped: usize,
    /// In transition.
    pub transitioning: usize,
    /// Failed, abnormal, not found.
    pub failed: usize,
    /// Not read.
    pub unreadable: usize,
    /// As declared (converging included).
    pub in_sync: usize,
    /// Apply would change them.
    pub drifted: usize,
    /// Differ, but blocked.
    pub blocked: usize,
}

/// The rows of every selected phone (in spec order) and the tally per provider ([`tallies`]).
pub fn rows(scope: &Scope, planned: &Planned) -> (Vec<Row>, BTreeMap<String, Tally>) {
    let desired: &[DesiredPhone] = planned.desired(scope);
    let changes: std::collections::HashMap<(&str, &str), &crate::plan::PhoneChange> = planned
        .plan
        .changes
        .iter()
        .map(|c| ((c.provider.as_str(), c.phone_id.as_str()), c))
        .collect();
    let converging: std::collections::HashSet<(&str, &str)> = planned
        .plan
        .summary
        .converging
        .iter()
        .map(|c| (c.provider.as_str(), c.phone_id.as_str()))
        .collect();
    let pending: std::collections::HashMap<(&str, &str), &crate::plan::RestartPending> = planned
        .plan
        .summary
        .restart_pending
        .iter()
        .map(|p| ((p.provider.as_str(), p.phone_id.as_str()), p))
        .collect();
    let kinds: BTreeMap<&str, ProviderKind> = scope
        .providers
        .iter()
        .map(|(n, p)| (n.as_str(), p.kind))
        .collect();
    let mut out = Vec::with_capacity(desired.len());
    for d in desired {
        let key = (d.provider.as_str(), d.id.as_str());
        let obs = planned
            .observed
            .phones
            .get(&d.provider)
            .and_then(|m| m.get(&d.id));
        let kind = kinds.get(d.provider.as_str()).copied();
        let (power, traffic) = match obs {
            Some(Observation::Found(o)) => {
                let power = match o.power {
                    Power::Running => "running".to_owned(),
                    Power::Stopped => "stopped".to_owned(),
                    Power::Transitioning | Power::Failed => match kind {
                        Some(k) => {
                            format!("{} ({})", o.raw_status, state::meaning(k, o.raw_status))
                        }
                        None => o.raw_status.to_string(),
                    },
                };
                (power, o.traffic.map(|t| t.as_str().to_owned()))
            }
            // A pool's member that is yet to be made is not a phone that went missing.
            Some(Observation::NotFound) if d.fate() == Some(crate::spec::Fate::Create) => {
                ("(new)".to_owned(), None)
            }
            Some(Observation::NotFound) => ("not found".to_owned(), None),
            Some(Observation::Unreadable(_)) | None => ("could not read".to_owned(), None),
        };
        let change = changes.get(&key);
        let (sync, differs) = match change {
            Some(c) if c.unreadable => (Sync::Unreadable, c.blocked.clone()),
            Some(c) if c.blocked.is_some() => (Sync::Blocked, c.blocked.clone()),
            Some(c) => (Sync::Drifted, Some(describe(&c.actions))),
            None if converging.contains(&key) => (Sync::Converging, None),
            None => match pending.get(&key) {
                Some(p) => (
                    Sync::RestartPending,
                    Some(format!("waits for a restart: {}", p.keys.join(", "))),
                ),
                None => (Sync::InSync, None),
            },
        };
        out.push(Row {
            provider: d.provider.clone(),
            phone_id: d.id.clone(),
            name: d.name.clone(),
            power,
            traffic,
            declared_state: d.state.map(|s| s.as_str().to_owned()),
            declared_traffic: d.traffic.map(|t| t.as_str().to_owned()),
            schedule: d.scheduled().map(str::to_owned),
            sync,
            differs,
        });
    }
    (out, tallies(planned))
}

/// The tally per provider alone (what `watch` needs every tick): one pass over the observations and
/// one over the changes, no per-phone lookup and no row built.
pub fn tallies(planned: &Planned) -> BTreeMap<String, Tally> {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for (provider, phones) in &planned.observed.phones {
        let t = tallies.entry(provider.clone()).or_default();
        for (id, obs) in phones {
            t.phones += 1;
            match obs {
                Observation::NotFound if id.starts_with(crate::spec::NEW_ID_PREFIX) => {}
                Observation::Found(o) => match o.power {
                    Power::Running => t.running += 1,
                    Power::Stopped => t.stopped += 1,
                    Power::Transitioning => t.transitioning += 1,
                    Power::Failed => t.failed += 1,
                },
                Observation::NotFound => t.failed += 1,
                Observation::Unreadable(_) => t.unreadable += 1,
            }
        }
    }
    for c in &planned.plan.changes {
        let t = tallies.entry(c.provider.clone()).or_default();
        if c.unreadable || c.blocked.is_some() {
            t.blocked += 1;
        } else {
            t.drifted += 1;
        }
    }
    for t in tallies.values_mut() {
        t.in_sync = t.phones.saturating_sub(t.drifted + t.blocked);
    }
    tallies
}

/// "to stop, to re-route" for a person.
fn describe(actions: &[Action]) -> String {
    actions
        .iter()
        .map(|a| a.kind().words().status)
        .collect::<Vec<_>>()
        .join(", ")
}
