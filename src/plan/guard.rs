//! Guard rails: the spec's `safety` limits and `protect` flags, checked on every plan.
//!
//! Each configured limit gives one [`GuardCheck`] (per provider for `max_stop_percent`), kept or broken;
//! a plan that would stop protected phones gives one broken `protect` check per provider, naming them.
//! `apply` refuses a plan with a broken check before any call: `--override-guards` lets the limits
//! pass (the report records it), nothing lets `protect` pass but editing the spec.
//!
//! Pure: the verdict depends only on the plan's changes, the spec's guard rails and the number of
//! phones the spec declares per provider, so a saved plan's verdict can be checked again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Action, PhoneChange};
use crate::spec::{FleetSpec, Safety};

/// What the plan is checked against, taken from the spec (and `--canary`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The spec's `safety` section.
    pub safety: Safety,
    /// Phones the whole spec declares, per provider (`max_stop_percent` is a share of these, also under
    /// `--target`).
    pub declared: BTreeMap<String, usize>,
    /// `--canary N`: the first N phones of each provider and action go first, alone.
    pub canary: Option<usize>,
    /// Phones the whole spec declares per `key=value` of the labels `max_stop_percent_by_label` names.
    pub declared_by_label: BTreeMap<String, usize>,
    /// `--restart-pending`: restart the running phones whose properties wait for a restart.
    pub restart_pending: bool,
    /// `--restart SELECTOR`: the phones (provider, id) to restart once.
    pub restart: std::collections::BTreeSet<(String, String)>,
    /// `--reset SELECTOR`: the phones (provider, id) to reset once.
    pub reset: std::collections::BTreeSet<(String, String)>,
    /// `watch` with `heal: [restart]`: restart phones in a failed state.
    pub restart_failed: bool,
    /// The images each provider's account can use, where it could list them (CPH): a declared image
    /// outside the list blocks the phone instead of resetting it.
    pub images: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Policy {
    /// The policy of a spec.
    pub fn of(spec: &FleetSpec, canary: Option<usize>) -> Policy {
        let safety = spec.safety();
        let keys: Vec<&String> = safety.max_stop_percent_by_label.keys().collect();
        Policy {
            declared_by_label: spec.declared_per_label(&keys),
            declared: spec.declared_per_provider(),
            safety,
            canary,
            restart_pending: false,
            restart: Default::default(),
            reset: Default::default(),
            restart_failed: false,
            images: BTreeMap::new(),
        }
    }
}

/// Which guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// Phones changed, over the whole plan.
    MaxChanges,
    /// Stops as a share of a provider's declared phones, in percent.
    MaxStopPercent,
    /// Protected phones the plan would stop (the limit is always 0).
    Protect,
    /// Phones deleted (pools whose count dropped), over the whole plan; 0 unless the spec says.
    MaxDeletes,
    /// Phones reset (their data cleared), over the whole plan; 0 unless the spec says.
    MaxResets,
}

impl Guard {
    /// The name in specs, plans and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Guard::MaxChanges => "max_changes",
            Guard::MaxStopPercent => "max_stop_percent",
            Guard::Protect => "protect",
            Guard::MaxDeletes => "max_deletes",
            Guard::MaxResets => "max_resets",
        }
    }

    /// The guard a name of [`Guard::name`] stands for.
    pub fn from_name(name: &str) -> Option<Guard> {
        [
            Guard::MaxChanges,
            Guard::MaxStopPercent,
            Guard::Protect,
            Guard::MaxDeletes,
            Guard::MaxResets,
        ]
        .into_iter()
        .find(|g| g.name() == name)
    }

    /// Whether `--override-guards` lets a broken check of this guard pass.
    pub fn overridable(self) -> bool {
        self != Guard::Protect
    }
}

/// One guard's verdict on a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardCheck {
    /// Which guard.
    pub guard: Guard,
    /// The provider, for per-provider guards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `key=value`, for `max_stop_percent_by_label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The limit (phones, or percent for `max_stop_percent`; 0 for `protect`).
    pub limit: u64,
    /// What the plan does, in the same unit (a percentage is rounded up, so that `planned > limit`
    /// exactly when the guard is broken).
    pub planned: u64,
    /// `max_stop_percent`: the stops and the declared phones the percentage is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<(u64, u64)>,
    /// `protect`: the protected phones the plan would stop, as `name (id)` (or the id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
}

impl GuardCheck {
    /// The plan goes beyond the limit.
    pub fn broken(&self) -> bool {
        self.planned > self.limit
    }

    /// One line for a person: `max_stop_percent at cph-sh: 40% (4 of 10 declared phones stop), limit 25%`.
    pub fn describe(&self) -> String {
        let at = match (&self.provider, &self.label) {
            (Some(p), _) => format!(" at {p}"),
            (None, Some(l)) => format!(" for {l}"),
            (None, None) => String::new(),
        };
        match self.guard {
            Guard::MaxChanges => format!(
                "max_changes: {} phone{} change, limit {}",
                self.planned,
                if self.planned == 1 { "" } else { "s" },
                self.limit
            ),
            Guard::MaxStopPercent => {
                let (stops, declared) = self.of.unwrap_or_default();
                format!(
                    "max_stop_percent{at}: {}% ({stops} of {declared} declared phone{} stop), limit {}%",
                    self.planned,
                    if declared == 1 { "" } else { "s" },
                    self.limit
                )
            }
            Guard::MaxResets if self.of.is_some() => {
                let (resets, declared) = self.of.unwrap_or_default();
                format!(
                    "max_resets{at}: {}% ({resets} of {declared} declared phone{} reset), limit {}%",
                    self.planned,
                    if declared == 1 { "" } else { "s" },
                    self.limit
                )
            }
            Guard::MaxDeletes | Guard::MaxResets => {
                let (verb, field, what) = if self.guard == Guard::MaxDeletes {
                    ("deleted", "max_deletes", "to let a pool shrink")
                } else {
                    ("reset", "max_resets", "to let phones be reset")
                };
                format!(
                    "{field}{at}: {} phone{} {verb}, limit {}{}",
                    self.planned,
                    if self.planned == 1 { "" } else { "s" },
                    self.limit,
                    if self.limit == 0 {
                        format!(" (the default: set `safety.{field}` {what})")
                    } else {
                        String::new()
                    }
                )
            }
            Guard::Protect => format!(
                "protect{at}: the spec would stop {} protected phone{} ({}); phonefleet never stops a \
                 protected phone: only editing the spec allows it",
                self.planned,
                if self.planned == 1 { "" } else { "s" },
                self.phones.join(", ")
            ),
        }
    }
}

/// Whether a change takes a phone out of service: a stop, or a delete (a deleted phone is stopped
/// for good, so the stop guards count it).
fn takes_out(c: &PhoneChange) -> bool {
    c.actions.contains(&Action::Stop) || c.actions.contains(&Action::Delete)
}

/// Every guard's verdict on these changes, in a fixed order: `protect` first (per provider), then
/// `max_changes`, then `max_deletes` (when the plan deletes, or the spec sets it), then
/// `max_stop_percent` per provider.
pub fn check(changes: &[PhoneChange], policy: &Policy) -> Vec<GuardCheck> {
    let acting = || changes.iter().filter(|c| !c.actions.is_empty());
    let mut out = Vec::new();
    let mut protected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in acting().filter(|c| c.desired.protect && c.actions.contains(&Action::Stop)) {
        protected
            .entry(c.provider.as_str())
            .or_default()
            .push(crate::spec::label(c.name.as_deref(), &c.phone_id));
    }
    for (provider, phones) in protected {
        out.push(GuardCheck {
            guard: Guard::Protect,
            provider: Some(provider.to_owned()),
            label: None,
            limit: 0,
            planned: phones.len() as u64,
            of: None,
            phones,
        });
    }
    if let Some(limit) = policy.safety.max_changes {
        out.push(GuardCheck {
            guard: Guard::MaxChanges,
            provider: None,
            label: None,
            limit,
            planned: acting().count() as u64,
            of: None,
            phones: Vec::new(),
        });
    }
    // Deletes: checked when the plan has some, or the spec sets a limit (default 0).
    let deletes = acting()
        .filter(|c| c.actions.contains(&Action::Delete))
        .count() as u64;
    if deletes > 0 || policy.safety.max_deletes.is_some() {
        out.push(GuardCheck {
            guard: Guard::MaxDeletes,
            provider: None,
            label: None,
            limit: policy.safety.max_deletes.unwrap_or(0),
            planned: deletes,
            of: None,
            phones: Vec::new(),
        });
    }
    // Resets, per provider: a number, or a share of its declared phones (default 0).
    let mut resets: BTreeMap<&str, u64> = BTreeMap::new();
    for c in acting().filter(|c| c.actions.contains(&Action::Reset)) {
        *resets.entry(c.provider.as_str()).or_default() += 1;
    }
    for (provider, n) in resets {
        let declared = policy.declared.get(provider).copied().unwrap_or(0) as u64;
        let (limit, planned, of) = match &policy.safety.max_resets {
            Some(share) => match share.percent() {
                Some(p) => (p, (n * 100).div_ceil(declared.max(1)), Some((n, declared))),
                None => (
                    match share {
                        crate::spec::Share::Count(c) => *c,
                        // A share that does not parse allows nothing (validation refuses it).
                        crate::spec::Share::Percent(_) => 0,
                    },
                    n,
                    None,
                ),
            },
            None => (0, n, None),
        };
        out.push(GuardCheck {
            guard: Guard::MaxResets,
            provider: Some(provider.to_owned()),
            label: None,
            limit,
            planned,
            of,
            phones: Vec::new(),
        });
    }
    if let Some(limit) = policy.safety.max_stop_percent {
        let mut stops: BTreeMap<&str, u64> = BTreeMap::new();
        for c in acting().filter(|c| takes_out(c)) {
            *stops.entry(c.provider.as_str()).or_default() += 1;
        }
        for (provider, declared) in &policy.declared {
            let declared = *declared as u64;
            if declared == 0 {
                continue;
            }
            let n = stops.get(provider.as_str()).copied().unwrap_or(0);
            out.push(GuardCheck {
                guard: Guard::MaxStopPercent,
                provider: Some(provider.clone()),
                label: None,
                limit,
                planned: (n * 100).div_ceil(declared),
                of: Some((n, declared)),
                phones: Vec::new(),
            });
        }
    }
    for (key, limit) in &policy.safety.max_stop_percent_by_label {
        let mut stops: BTreeMap<String, u64> = BTreeMap::new();
        for c in acting().filter(|c| takes_out(c)) {
            if let Some(v) = c.desired.labels.get(key) {
                *stops.entry(format!("{key}={v}")).or_default() += 1;
            }
        }
        let prefix = format!("{key}=");
        for (label, declared) in policy
            .declared_by_label
            .iter()
            .filter(|(l, _)| l.starts_with(&prefix))
        {
            let declared = *declared as u64;
            if declared == 0 {
                continue;
            }
            let n = stops.get(label).copied().unwrap_or(0);
            out.push(GuardCheck {
                guard: Guard::MaxStopPercent,
                provider: None,
                label: Some(label.clone()),
                limit: *limit,
                planned: (n * 100).div_ceil(declared),
                of: Some((n, declared)),
                phones: Vec::new(),
            });
        }
    }
    out
}

/// The broken checks among `checks`.
pub fn broken(checks: &[GuardCheck]) -> impl Iterator<Item = &GuardCheck> {
    checks.iter().filter(|g| g.broken())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rounded_up_percentage_is_broken_exactly_when_the_share_is_over_the_limit() {
        for declared in 1..=40u64 {
            for stops in 0..=declared {
                for limit in 0..=100u64 {
                    let planned = (stops * 100).div_ceil(declared);
                    assert_eq!(planned > limit, stops * 100 > limit * declared);
                }
            }
        }
    }
}
