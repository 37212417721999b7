//! A saved plan checked before it runs: what runs is what was shown, and nothing but the reviewed spec
//! decides where calls go.
//!
//! A plan file is not trusted: its digest only catches accidental damage (anyone can recompute it). So
//! `apply PLANFILE` runs nothing from the file as such. [`against_spec`] binds the plan to the spec on disk
//! (same digest, the same provider entries, every phone of its changes declared there as the plan says),
//! before any network call; after the phones are read again, [`stale_phones`] refuses a plan whose phones
//! moved, and [`rederive`] computes the plan again from the spec and what was read, refusing a file whose
//! changes or batches differ from that. The batches that run are the re-derived ones.
//!
//! Pure: no I/O, no clock.

use std::collections::BTreeMap;

use anyhow::bail;
use foldhash::{HashMap, HashMapExt};

use super::saved::SavedPlan;
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

/// Check a saved plan against the spec on disk: same digest, same provider entries, and every phone of
/// its changes declared by the spec exactly as the plan records it. Refuses otherwise, naming what
/// differs.
pub fn against_spec(saved: &SavedPlan, spec: &LoadedSpec) -> anyhow::Result<Bound> {
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
    let mut providers = BTreeMap::new();
    for c in &saved.plan.changes {
        let Some(config) = spec.spec.providers.get(&c.provider) else {
            bail!(
                "the plan changes phone `{}` of provider `{}`, which the spec {} does not define; \
                 nothing was applied. Make a new plan",
                c.phone_id,
                c.provider,
                spec.path
            );
        };
        let same = declared
            .get(&(c.provider.as_str(), c.phone_id.as_str()))
            .is_some_and(|d| **d == c.desired)
            && c.kind == config.kind;
        if !same {
            bail!(
                "the plan's entry for phone `{}` of provider `{}` is not what the spec {} declares; \
                 nothing was applied. Make a new plan",
                c.phone_id,
                c.provider,
                spec.path
            );
        }
        providers.insert(c.provider.clone(), config.clone());
    }
    if providers != saved.providers {
        let names: std::collections::BTreeSet<&String> =
            providers.keys().chain(saved.providers.keys()).collect();
        let differing: Vec<String> = names
            .into_iter()
            .filter(|n| providers.get(*n) != saved.providers.get(*n))
            .map(|n| format!("`{n}`"))
            .collect();
        bail!(
            "the plan's provider entries differ from the spec's ({}); nothing was sent anywhere. \
             Endpoints and credential variables come only from the spec: make a new plan",
            differing.join(", ")
        );
    }
    let covered = saved
        .plan
        .changes
        .iter()
        .filter(|c| !c.actions.is_empty())
        .map(|c| c.desired.clone())
        .collect();
    Ok(Bound {
        providers,
        covered,
        policy: Policy::of(&spec.spec, saved.plan.canary),
    })
}

/// Phones a saved plan covers whose observation no longer matches the plan's fingerprint, each with what
/// moved, field by field: `gl / g2: state: running -> stopped`.
pub fn stale_phones(plan: &Plan, state: &FleetState) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| !c.actions.is_empty())
        .filter_map(|c| {
            let obs = state
                .get(&c.provider, &c.phone_id)
                .cloned()
                .unwrap_or(Observation::NotFound);
            let now = fingerprint(&c.desired, &obs);
            (now != c.fingerprint).then(|| {
                let view = PhoneView::observed(c.kind, &c.desired, &obs);
                let applied = view == c.after;
                // What moved is shown, but never a sensitive value.
                let (mut was, mut now) = (c.before.clone(), view);
                plan.sensitive.mask_views(&mut was, &mut now);
                let moves = was.moves(&now);
                let what = if moves.is_empty() {
                    "its provider status changed".to_owned()
                } else {
                    moves.join(", ")
                };
                let applied = if applied {
                    " (now as the plan wants: applied since?)"
                } else {
                    ""
                };
                format!("{} / {}: {what}{applied}", c.provider, c.phone_id)
            })
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
/// are the saved plan's, its batches the saved batches and its guard verdicts the saved ones. Returns the
/// saved plan with the re-derived batches (the only ones that run) and verdicts.
pub fn rederive(
    saved: &Plan,
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
    let saved_actionable: Vec<_> = saved
        .changes
        .iter()
        .filter(|c| !c.actions.is_empty())
        .collect();
    let fresh_changes: Vec<_> = fresh.changes.iter().collect();
    if saved_actionable != fresh_changes {
        bail!(
            "the plan file's changes are not what its spec and the phones' state make; it was altered \
             after it was made; nothing was applied. Make a new plan"
        );
    }
    if saved.batches != fresh.batches {
        bail!(
            "the plan file's batches are not the calls its changes make; it was altered after it was \
             made; nothing was applied. Make a new plan"
        );
    }
    if saved.guards != fresh.guards || saved.sensitive != fresh.sensitive {
        bail!(
            "the plan file's guard verdicts are not what its spec's guard rails make; it was altered \
             after it was made; nothing was applied. Make a new plan"
        );
    }
    Ok(Plan {
        changes: saved.changes.clone(),
        batches: fresh.batches,
        summary: saved.summary.clone(),
        guards: fresh.guards,
        sensitive: fresh.sensitive,
        canary: fresh.canary,
    })
}
