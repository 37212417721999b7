//! `plan::compute`: desired fleet + observed fleet -> the changes to make, the phones that are blocked
//! and why, and the batch calls that will make the changes.
//!
//! Pure and synchronous: no I/O, no clock, deterministic order (changes sorted by provider then phone id;
//! batches by provider, then phase, then id). Tested without a network.

mod action;
mod batch;
mod decide;
pub mod guard;
pub mod saved;
pub mod sensitive;
pub mod verify;
pub mod view;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use action::{Action, ActionKind, Words};
pub use batch::{Batch, BatchPhone};
pub use guard::{GuardCheck, Policy};
pub use sensitive::Sensitive;
pub use view::{PhoneView, fingerprint};

use decide::{converging, decide};

use crate::capability::{self, EffectiveLimits};
use crate::spec::{DesiredPhone, DesiredProperties, ProviderConfig, ProviderKind};
use crate::state::{self, FleetState, Observation, Power};

/// Everything `compute` reads.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// Provider entries of the spec.
    pub providers: &'a BTreeMap<String, ProviderConfig>,
    /// Declared phones in scope (after `--target`).
    pub desired: &'a [DesiredPhone],
    /// What the providers reported.
    pub observed: &'a FleetState,
    /// Batch sizes per provider.
    pub limits: &'a BTreeMap<String, EffectiveLimits>,
    /// Guard rails, sensitive keys and canary size.
    pub policy: &'a Policy,
}

/// One phone that differs from the spec, or that cannot be brought to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneChange {
    /// Provider name.
    pub provider: String,
    /// Provider kind.
    pub kind: ProviderKind,
    /// Phone id.
    pub phone_id: String,
    /// Label from the spec.
    pub name: Option<String>,
    /// The changes to make, in phase order.
    pub actions: Vec<Action>,
    /// Observed values of the managed attributes.
    pub before: PhoneView,
    /// Desired values of the managed attributes.
    pub after: PhoneView,
    /// Why nothing will be done to this phone, if so.
    pub blocked: Option<String>,
    /// Remarks such as "takes effect after restart".
    pub notes: Vec<String>,
    /// The declared phone (what apply must reach).
    pub desired: DesiredPhone,
    /// Fingerprint of what was observed (see [`fingerprint`]).
    pub fingerprint: String,
    /// Whether properties were read for this phone (a saved plan re-reads the same way).
    pub read_properties: bool,
    /// Blocked because the phone could not be read: a failure of the run (plan exits 1, apply reports
    /// the phone failed), not a state of the phone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreadable: bool,
    /// Its device identity as read (CPH `imei`), kept (keyed) by a saved plan that resets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// A phone on its way to its declared power state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Converging {
    /// Provider name.
    pub provider: String,
    /// Phone id.
    pub phone_id: String,
    /// Name from the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `1 (starting), on its way to running`.
    pub status: String,
}

/// A phone waiting for a restart that properties set without one need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPending {
    /// Provider name.
    pub provider: String,
    /// Phone id.
    pub phone_id: String,
    /// Name from the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The property keys that wait.
    pub keys: Vec<String>,
    /// Running now (a stopped phone takes them when it starts).
    pub running: bool,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Phones per kind of action (a phone counts once for each action it has).
    #[serde(default)]
    pub actions: BTreeMap<ActionKind, usize>,
    /// Blocked phones (the unreadable ones included).
    pub blocked: usize,
    /// Phones that could not be read.
    #[serde(default)]
    pub unreadable: usize,
    /// Phones that already match.
    pub unchanged: usize,
    /// Phones with at least one change.
    #[serde(default)]
    pub phones: usize,
    /// Mutating API calls per provider (job polls come on top for huawei-cph).
    pub calls: BTreeMap<String, usize>,
    /// Phones at each provider that the spec does not declare (never changed).
    #[serde(default)]
    pub unmanaged: BTreeMap<String, crate::state::Unmanaged>,
    /// Phones that match the spec but for the power state they are on their way to (not drift).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub converging: Vec<Converging>,
    /// Phones whose properties wait for a restart an earlier apply did not make (kept with the phone):
    /// shown in every plan and in `status` until a restart or a start clears them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_pending: Vec<RestartPending>,
    /// Providers whose endpoint is not their kind's default, and that endpoint (a reviewer must see
    /// where a spec sends its calls).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<String, String>,
    /// Providers that could not be read at all (their phones are blocked as unreadable).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_providers: BTreeMap<String, crate::state::ProviderFailure>,
}

impl Summary {
    /// Count one more change of this action.
    pub fn count(&mut self, action: &Action) {
        *self.actions.entry(action.kind()).or_default() += 1;
    }

    /// Changes of one kind.
    pub fn of(&self, kind: ActionKind) -> usize {
        self.actions.get(&kind).copied().unwrap_or(0)
    }

    /// Changes in all: one per phone and action.
    pub fn changes(&self) -> usize {
        self.actions.values().sum()
    }

    /// Mutating calls in all.
    pub fn total_calls(&self) -> usize {
        self.calls.values().sum()
    }

    /// Phones with at least one change or a block.
    pub fn has_drift(&self) -> bool {
        self.changes() + self.blocked > 0
    }
}

/// The result of planning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Changed and blocked phones, sorted by (provider, phone id).
    pub changes: Vec<PhoneChange>,
    /// The calls apply will make.
    pub batches: Vec<Batch>,
    /// Counts.
    pub summary: Summary,
    /// The guard rails' verdicts (see [`guard`]).
    #[serde(default)]
    pub guards: Vec<GuardCheck>,
    /// Property keys whose values are not shown.
    #[serde(default)]
    pub sensitive: Sensitive,
    /// `--canary N`: batches marked `canary` go first, alone, and must converge before the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<usize>,
    /// `--restart-pending`: phones waiting for a restart were planned to get it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restart_pending: bool,
    /// `--restart SELECTOR`: the phones asked to restart once.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub restart: std::collections::BTreeSet<(String, String)>,
    /// `--reset SELECTOR`: the phones asked to reset once.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub reset: std::collections::BTreeSet<(String, String)>,
    /// `plan --base SPEC`: which changes the base spec would make too (drift nobody in the pull
    /// request caused). Shown, never saved.
    #[serde(skip)]
    pub base: Option<Base>,
    /// The moment the plan was made for (Unix seconds), when a phone follows a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// What each schedule the plan's phones follow does over a week.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<crate::schedule::Review>,
}

/// The split of a plan against the spec at a pull request's base.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base {
    /// The base spec, as named.
    pub path: String,
    /// (provider, phone id) of the changes the base spec would make too.
    pub drift: std::collections::BTreeSet<(String, String)>,
}

impl Base {
    /// Whether the change of this phone is drift the base spec would fix too.
    pub fn is_drift(&self, c: &PhoneChange) -> bool {
        self.drift
            .contains(&(c.provider.clone(), c.phone_id.clone()))
    }
}

impl Plan {
    /// The plan as it may be shown: sensitive values masked unless `reveal` (`plan --show-sensitive`,
    /// text only).
    pub fn shown(&self, reveal: bool) -> std::borrow::Cow<'_, Plan> {
        self.sensitive.shown(self, reveal)
    }

    /// The phones of the canary batches, per provider, in plan order (none without `--canary`).
    pub fn canary_by_provider(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut seen = std::collections::HashSet::new();
        let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for b in self.batches.iter().filter(|b| b.canary) {
            for id in b.ids() {
                if seen.insert((b.provider.as_str(), id)) {
                    out.entry(b.provider.as_str()).or_default().push(id);
                }
            }
        }
        out
    }

    /// Whether a guard that nothing overrides (`protect`) is broken.
    pub fn breaks_protection(&self) -> bool {
        guard::broken(&self.guards).any(|g| !g.guard.overridable())
    }
}

/// Diff desired against observed. Pure and sync, so it is tested without a network.
pub fn compute(input: &PlanInput<'_>) -> Plan {
    let mut changes = Vec::new();
    let mut converge = Vec::new();
    let mut pending = Vec::new();
    let mut unchanged = 0;
    static NOT_FOUND: Observation = Observation::NotFound;
    // Declared phones come by provider: its entry and its observations are looked up once a run of
    // them, and each phone's observation is borrowed, never copied.
    let mut current: Option<(&str, ProviderKind, Option<&state::ProviderPhones>)> = None;
    for d in input.desired {
        let (kind, phones) = match current {
            Some((name, kind, phones)) if name == d.provider => (kind, phones),
            _ => {
                let Some(config) = input.providers.get(&d.provider) else {
                    continue;
                };
                let phones = input.observed.phones.get(&d.provider);
                current = Some((d.provider.as_str(), config.kind, phones));
                (config.kind, phones)
            }
        };
        let obs: &Observation = phones.and_then(|p| p.get(&d.id)).unwrap_or(&NOT_FOUND);
        let (actions, blocked, mut notes) = decide(kind, d, obs, input.policy);
        // Why a scheduled phone starts or stops now.
        if let Some(why) = d.scheduled()
            && actions
                .iter()
                .any(|a| matches!(a, Action::Start | Action::Stop))
        {
            notes.push(why.to_owned());
        }
        // Properties an earlier apply set without their restart, still waiting after this plan.
        if let Observation::Found(o) = obs
            && !o.restart_pending.is_empty()
            && blocked.is_none()
            && !actions.contains(&Action::ClearRestartPending)
        {
            pending.push(RestartPending {
                provider: d.provider.clone(),
                phone_id: d.id.clone(),
                name: d.name.clone(),
                keys: o.restart_pending.clone(),
                running: o.power == Power::Running,
            });
        }
        if actions.is_empty() && blocked.is_none() {
            if let Some(c) = converging(kind, d, obs) {
                converge.push(c);
            } else {
                unchanged += 1;
            }
            continue;
        }
        changes.push(PhoneChange {
            provider: d.provider.clone(),
            kind,
            phone_id: d.id.clone(),
            name: d.name.clone(),
            actions,
            before: PhoneView::observed(kind, d, obs),
            after: PhoneView::desired(d),
            blocked,
            notes,
            fingerprint: fingerprint(d, obs),
            read_properties: crate::attribute::ALL.iter().any(|a| a.read_per_phone(d)),
            unreadable: matches!(obs, Observation::Unreadable(_)),
            identity: match obs {
                Observation::Found(o) => o.identity().map(str::to_owned),
                _ => None,
            },
            desired: d.clone(),
        });
    }
    changes.sort_by(|a, b| (&a.provider, &a.phone_id).cmp(&(&b.provider, &b.phone_id)));
    let canary = input.policy.canary;
    let batches = batches_for(&changes, input.observed, input.limits, canary);
    let mut summary = summarise(&changes, &batches, unchanged);
    summary.converging = converge;
    summary.restart_pending = pending;
    summary.unmanaged = input.observed.unmanaged.clone();
    summary.failed_providers = input.observed.failed_providers.clone();
    summary.endpoints = input
        .providers
        .iter()
        .filter_map(|(name, p)| {
            let endpoint = p.endpoint.as_deref()?;
            let default = capability::of(p.kind).default_endpoint(p.region.as_deref());
            let same = default.as_deref().map(|d| d.trim_end_matches('/'))
                == Some(endpoint.trim_end_matches('/'));
            (!same).then(|| (name.clone(), endpoint.to_owned()))
        })
        .collect();
    Plan {
        guards: guard::check(&changes, input.policy),
        sensitive: Sensitive::of(&input.policy.safety),
        canary,
        restart_pending: input.policy.restart_pending,
        restart: input.policy.restart.clone(),
        reset: input.policy.reset.clone(),
        base: None,
        at: None,
        schedules: Vec::new(),
        changes,
        batches,
        summary,
    }
}

/// With `--canary N`: the phones that go first, per provider. For each action, the first N phones of
/// the plan (plan order: by phone id) that have it; each runs its whole chain of changes in the canary.
pub fn canary_phones(
    changes: &[PhoneChange],
    n: usize,
) -> std::collections::BTreeSet<(&str, &str)> {
    let mut seen: BTreeMap<(&str, Action), usize> = BTreeMap::new();
    let mut out = std::collections::BTreeSet::new();
    for c in changes.iter().filter(|c| c.blocked.is_none()) {
        for a in &c.actions {
            let count = seen.entry((c.provider.as_str(), *a)).or_default();
            if *count < n {
                out.insert((c.provider.as_str(), c.phone_id.as_str()));
            }
            *count += 1;
        }
    }
    out
}

/// The part of `plan` whose actions `keep` allows (a `watch` heals only what its policy names): each
/// phone keeps its allowed actions, in order; phones left with none, and blocked phones, drop out; the
/// batches, counts and guard verdicts are those of what remains. Pure.
pub fn restrict(
    plan: &Plan,
    keep: impl Fn(&PhoneChange, &Action) -> bool,
    observed: &FleetState,
    limits: &BTreeMap<String, EffectiveLimits>,
    policy: &Policy,
) -> Plan {
    let changes: Vec<PhoneChange> = plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_none())
        .filter_map(|c| {
            let actions: Vec<Action> = c.actions.iter().copied().filter(|a| keep(c, a)).collect();
            (!actions.is_empty()).then(|| PhoneChange {
                actions,
                ..c.clone()
            })
        })
        .collect();
    let batches = batches_for(&changes, observed, limits, policy.canary);
    let summary = summarise(&changes, &batches, 0);
    Plan {
        guards: guard::check(&changes, policy),
        sensitive: plan.sensitive.clone(),
        canary: policy.canary,
        restart_pending: policy.restart_pending,
        restart: policy.restart.clone(),
        reset: policy.reset.clone(),
        base: plan.base.clone(),
        at: plan.at,
        schedules: plan.schedules.clone(),
        changes,
        batches,
        summary,
    }
}

/// The calls of the per-phone schedule apply runs: a phone's first actions all go in the first wave,
/// its second ones once the first finished, and so on; each wave groups per (provider, action) and
/// splits by the provider's batch size. So batches are ordered by provider, then place in the phone's
/// chain, then action, and "N API calls" counts the calls apply will make when a wave's jobs finish
/// together. With a canary, its phones' batches come first in each provider, marked.
pub fn batches_for(
    changes: &[PhoneChange],
    observed: &FleetState,
    limits: &BTreeMap<String, EffectiveLimits>,
    canary: Option<usize>,
) -> Vec<Batch> {
    let canaries = canary
        .map(|n| canary_phones(changes, n))
        .unwrap_or_default();
    let mut groups: BTreeMap<(&str, bool, usize, Action, String), Vec<BatchPhone>> =
        BTreeMap::new();
    for c in changes {
        // `false` sorts first: the canary's batches.
        let rest = !canaries.contains(&(c.provider.as_str(), c.phone_id.as_str()));
        for (wave, a) in c.actions.iter().enumerate() {
            let mut phone = BatchPhone {
                id: c.phone_id.clone(),
                properties: DesiredProperties::new(),
                name: None,
                marks: Default::default(),
                set: Default::default(),
            };
            let seen = match observed.get(&c.provider, &c.phone_id) {
                Some(Observation::Found(o)) => Some(o),
                _ => None,
            };
            let attribute = crate::attribute::of(a);
            attribute.payload(c.kind, a, &c.desired, seen, &mut phone);
            let key = attribute.batch_key(&phone);
            groups
                .entry((c.provider.as_str(), rest, wave, *a, key))
                .or_default()
                .push(phone);
        }
    }
    let mut out = Vec::new();
    for ((provider, rest, _, action, _), phones) in groups {
        let size = limits
            .get(provider)
            .map_or(100, |l| l.batch(&action))
            .max(1);
        for chunk in phones.chunks(size) {
            out.push(Batch {
                provider: provider.to_owned(),
                action,
                phones: chunk.to_vec(),
                canary: !rest,
            });
        }
    }
    out
}

fn summarise(changes: &[PhoneChange], batches: &[Batch], unchanged: usize) -> Summary {
    let mut s = Summary {
        unchanged,
        ..Summary::default()
    };
    for c in changes {
        if c.blocked.is_some() {
            s.blocked += 1;
        }
        if !c.actions.is_empty() {
            s.phones += 1;
        }
        if c.unreadable {
            s.unreadable += 1;
        }
        for a in &c.actions {
            s.count(a);
        }
    }
    for b in batches {
        *s.calls.entry(b.provider.clone()).or_default() += 1;
    }
    s
}

#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod tests;
