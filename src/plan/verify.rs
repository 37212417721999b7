//! A saved plan checked before it runs: what runs is what was shown, and nothing but the reviewed spec
//! decides where calls go.
//!
//! A plan file is not trusted. [`against_spec`] binds it to the spec on disk (same digest, the same
//! provider entries, every phone of its changes declared there as the plan's keyed digest says), before
//! any network call; [`PlanFile::unsealed`](super::saved::PlanFile::unsealed) checks the seals with the
//! keys of the credentials in force; after the phones are read again, [`verdicts`] says what became of
//! each phone (a plan whose phones moved is refused), and [`rederive`] computes the plan again from the
//! spec and what was read, refusing a file whose changes, batches or verdicts differ from that. What
//! runs is the re-derived plan.
//!
//! Pure: no I/O, no clock.

use std::collections::BTreeMap;

use anyhow::bail;
use foldhash::{HashMap, HashMapExt};

use super::saved::{
    FileBatch, FileGuard, PlanFile, PlanKey, action_name, endpoint_of, entry_digest,
};
use super::{PhoneView, Plan, PlanInput, Policy, fingerprint};
use crate::capability::EffectiveLimits;
use crate::spec::{DesiredPhone, LoadedSpec, ProviderConfig};
use crate::state::{FleetState, Observation};

/// What a saved plan may touch, taken from the spec it was made from.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The spec's provider entries for the plan's phones (endpoints, regions, projects, credential names).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// The spec's declared phones that the plan changes (blocked phones are not read again).
    pub covered: Vec<DesiredPhone>,
    /// The spec's guard rails, with the plan's canary size.
    pub policy: Policy,
}

/// Check a saved plan against the spec on disk: same digest, same provider entries, every phone of its
/// changes declared by the spec. Refuses otherwise, naming what differs. The keyed digest of each
/// phone's declaration is checked by [`declared_as_planned`] once the keys are known.
pub fn against_spec(saved: &PlanFile, spec: &LoadedSpec) -> anyhow::Result<Bound> {
    if spec.digest != saved.spec_digest {
        bail!(
            "the spec {} changed since the plan was made (its digest was {}, now {}); nothing was applied. \
             Make a new plan from the spec as it is now",
            spec.path,
            saved.spec_digest,
            spec.digest
        );
    }
    let all = spec.spec.desired_phones();
    let mut declared: HashMap<(&str, &str), &DesiredPhone> = HashMap::with_capacity(all.len());
    for d in &all {
        declared.insert((d.provider.as_str(), d.id.as_str()), d);
    }
    let mut differing = Vec::new();
    let mut providers = BTreeMap::new();
    for (name, p) in &saved.providers {
        match spec.spec.providers.get(name) {
            Some(config)
                if config.kind == p.kind
                    && entry_digest(config) == p.entry
                    && endpoint_of(config, saved.simulated) == p.endpoint =>
            {
                providers.insert(name.clone(), config.clone());
            }
            _ => differing.push(format!("`{name}`")),
        }
    }
    if !differing.is_empty() {
        bail!(
            "the plan's provider entries differ from the spec's ({}); nothing was sent anywhere. \
             Endpoints and credential variables come only from the spec: make a new plan",
            differing.join(", ")
        );
    }
    let mut covered = Vec::with_capacity(saved.phones.len());
    for p in &saved.phones {
        let found = providers
            .contains_key(&p.provider)
            .then(|| declared.get(&(p.provider.as_str(), p.phone_id.as_str())))
            .flatten();
        let Some(d) = found else {
            bail!(
                "the plan's entry for phone `{}` of provider `{}` is not what the spec {} declares; \
                 nothing was applied. Make a new plan",
                p.phone_id,
                p.provider,
                spec.path
            );
        };
        covered.push((*d).clone());
    }
    Ok(Bound {
        providers,
        covered,
        policy: Policy::of(&spec.spec, saved.canary),
    })
}

/// Refuse a plan whose phones' keyed declaration digests are not those of the spec's phones.
pub fn declared_as_planned(
    saved: &PlanFile,
    bound: &Bound,
    keys: &BTreeMap<String, PlanKey>,
) -> anyhow::Result<()> {
    for (p, d) in saved.phones.iter().zip(&bound.covered) {
        let same = keys
            .get(&p.provider)
            .is_some_and(|k| k.desired(d) == p.desired);
        if !same {
            bail!(
                "the plan's entry for phone `{}` of provider `{}` is not what the spec declares; \
                 nothing was applied. Make a new plan",
                p.phone_id,
                p.provider
            );
        }
    }
    Ok(())
}

/// What became of one phone of a saved plan since the plan was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// As it was when planned: its changes apply.
    Unchanged,
    /// Moved, and now as the plan wants it (applied since?): `what` moved, field by field.
    AppliedSince {
        /// `state: running -> stopped`, sensitive values masked.
        what: String,
    },
    /// Moved elsewhere: `what` moved, field by field.
    Moved {
        /// `state: running -> stopped`, sensitive values masked.
        what: String,
    },
}

/// One phone's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneVerdict {
    /// Provider name.
    pub provider: String,
    /// Phone id.
    pub phone_id: String,
    /// What became of it.
    pub verdict: Verdict,
}

impl PhoneVerdict {
    /// `gl / g2: state: running -> stopped (now as the plan wants: applied since?)`, or `None` for an
    /// unchanged phone.
    pub fn describe(&self) -> Option<String> {
        let (what, since) = match &self.verdict {
            Verdict::Unchanged => return None,
            Verdict::AppliedSince { what } => (what, " (now as the plan wants: applied since?)"),
            Verdict::Moved { what } => (what, ""),
        };
        Some(format!(
            "{} / {}: {what}{since}",
            self.provider, self.phone_id
        ))
    }
}

/// Each phone of a saved plan, compared with what was just read by the plan's keyed digest: unchanged,
/// applied since, or moved (what moved field by field, sensitive values masked).
pub fn verdicts(
    saved: &PlanFile,
    bound: &Bound,
    state: &FleetState,
    keys: &BTreeMap<String, PlanKey>,
) -> Vec<PhoneVerdict> {
    let sensitive = super::Sensitive::of(&bound.policy.safety);
    saved
        .phones
        .iter()
        .zip(&bound.covered)
        .map(|(p, d)| {
            let obs = state
                .get(&p.provider, &p.phone_id)
                .cloned()
                .unwrap_or(Observation::NotFound);
            let now = keys
                .get(&p.provider)
                .map(|k| k.observed(&fingerprint(d, &obs)));
            let kind = bound.providers.get(&p.provider).map(|c| c.kind);
            let verdict = match (now, kind) {
                (Some(now), Some(_)) if now == p.observed => Verdict::Unchanged,
                (_, kind) => {
                    let kind = kind.unwrap_or(crate::spec::ProviderKind::HuaweiCph);
                    let mut view = PhoneView::observed(kind, d, &obs);
                    let applied = view == PhoneView::desired(d);
                    let mut want = PhoneView::desired(d);
                    sensitive.mask_views(&mut view, &mut want);
                    let moves = p.before.moves(&view);
                    let what = if moves.is_empty() {
                        "its provider status (or a sensitive value) changed".to_owned()
                    } else {
                        moves.join(", ")
                    };
                    if applied {
                        Verdict::AppliedSince { what }
                    } else {
                        Verdict::Moved { what }
                    }
                }
            };
            PhoneVerdict {
                provider: p.provider.clone(),
                phone_id: p.phone_id.clone(),
                verdict,
            }
        })
        .collect()
}

/// Whether every phone the plan changes is already as the plan wants it (the plan was applied): the
/// plan computed again from the spec and what was read has nothing to do and nothing blocked.
pub fn already_applied(
    bound: &Bound,
    observed: &FleetState,
    limits: &BTreeMap<String, EffectiveLimits>,
) -> bool {
    !bound.covered.is_empty()
        && super::compute(&PlanInput {
            providers: &bound.providers,
            desired: &bound.covered,
            observed,
            limits,
            policy: &bound.policy,
        })
        .changes
        .is_empty()
}

/// The plan computed again from the spec's phones and what was just read; refused unless its changes
/// are the saved plan's (phones and actions), its batches the saved batches and its guard verdicts the
/// saved ones. Returns the re-derived plan: the only one that runs.
pub fn rederive(
    saved: &PlanFile,
    bound: &Bound,
    observed: &FleetState,
    limits: &BTreeMap<String, EffectiveLimits>,
) -> anyhow::Result<Plan> {
    let fresh = super::compute(&PlanInput {
        providers: &bound.providers,
        desired: &bound.covered,
        observed,
        limits,
        policy: &bound.policy,
    });
    let fresh_changes: Vec<(&str, &str, Vec<String>)> = fresh
        .changes
        .iter()
        .map(|c| {
            (
                c.provider.as_str(),
                c.phone_id.as_str(),
                c.actions.iter().map(action_name).collect(),
            )
        })
        .collect();
    let saved_changes: Vec<(&str, &str, Vec<String>)> = saved
        .phones
        .iter()
        .map(|p| (p.provider.as_str(), p.phone_id.as_str(), p.actions.clone()))
        .collect();
    if saved_changes != fresh_changes {
        bail!(
            "the plan file's changes are not what its spec and the phones' state make; it was altered \
             after it was made; nothing was applied. Make a new plan"
        );
    }
    if saved.batches != fresh.batches.iter().map(FileBatch::of).collect::<Vec<_>>() {
        bail!(
            "the plan file's batches are not the calls its changes make; it was altered after it was \
             made; nothing was applied. Make a new plan"
        );
    }
    if saved.guards != fresh.guards.iter().map(FileGuard::of).collect::<Vec<_>>() {
        bail!(
            "the plan file's guard verdicts are not what its spec's guard rails make; it was altered \
             after it was made; nothing was applied. Make a new plan"
        );
    }
    Ok(fresh)
}
