//! A saved plan checked before it runs: what runs is what was shown, and nothing but the reviewed spec
//! decides where calls go.
//!
//! A plan file is not trusted. [`against_spec`] binds it to the spec on disk, before any network call:
//! the same provider entries and `safety`, and every phone the plan covers still declared. A change
//! elsewhere in the spec (another team's file, a phone the plan does not cover) leaves the plan
//! applicable. [`declared_as_planned`] checks, with the keys of the credentials in force, that each
//! covered phone is declared as the plan's keyed digest says, naming the file, phone and field when
//! not. After the phones are read again, [`verdicts`] says what became of each: it still owes its
//! changes, it is done (applied since), it is on its way (converging), or it moved elsewhere (the plan
//! is stale for it). [`rederive`] computes the plan again for the phones that owe changes and refuses a
//! file whose changes or calls for them differ. What runs is the re-derived plan.
//!
//! Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;
use foldhash::{HashMap, HashMapExt};

use super::saved::{
    FileGuard, PlanFile, PlanKey, action_name, endpoint_of, entry_digest, safety_digest,
};
use super::{PhoneView, Plan, PlanInput, Policy, Sensitive};
use crate::capability::EffectiveLimits;
use crate::spec::{DesiredPhone, LoadedSpec, ProviderConfig};
use crate::state::FleetState;

/// What a saved plan may touch, taken from the spec it was made from.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The spec's provider entries for the plan's phones (endpoints, regions, projects, credential names).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// The spec's declared phones that the plan changes, in the file's order.
    pub covered: Vec<DesiredPhone>,
    /// The file that declares each covered phone.
    pub files: Vec<String>,
    /// The spec's guard rails, with the plan's canary size.
    pub policy: Policy,
    /// The spec's schedules (covered phones that follow one are resolved at the plan's moment).
    pub schedules: crate::schedule::Schedules,
}

/// Bind a saved plan to the spec on disk: the same provider entries and `safety`, every covered phone
/// still declared. Refuses otherwise, naming what differs.
pub fn against_spec(saved: &PlanFile, spec: &LoadedSpec) -> anyhow::Result<Bound> {
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
    if safety_digest(&spec.spec.safety()) != saved.safety {
        bail!(
            "the spec's `safety` changed since the plan was made ({}); nothing was applied. Make a new \
             plan, so that its guard verdicts are the spec's",
            spec.path
        );
    }
    let all = spec.spec.desired_phones();
    let mut declared: HashMap<(&str, &str), &DesiredPhone> = HashMap::with_capacity(all.len());
    for d in &all {
        declared.insert((d.provider.as_str(), d.id.as_str()), d);
    }
    let mut covered = Vec::with_capacity(saved.phones.len());
    let mut files = Vec::with_capacity(saved.phones.len());
    for p in &saved.phones {
        let known = providers.contains_key(&p.provider);
        // A pool's phone is declared by its pool: bound to the pool as the spec declares it now.
        let pooled = p.pool.as_ref().filter(|_| known).and_then(|pool| {
            let id = format!("{}{pool}", crate::spec::POOL_ID_PREFIX);
            let unlisted = declared.get(&(p.provider.as_str(), id.as_str()))?;
            let name = p.name.as_deref()?;
            Some((
                crate::pool::member(unlisted, &p.phone_id, name, p.fate()),
                unlisted.id.clone(),
            ))
        });
        if let Some((d, unlisted)) = pooled {
            covered.push(d);
            files.push(spec.file_of(&p.provider, &unlisted).to_owned());
            continue;
        }
        let found = known
            .then(|| declared.get(&(p.provider.as_str(), p.phone_id.as_str())))
            .flatten()
            .filter(|d| d.pool.is_none());
        let Some(d) = found else {
            bail!(
                "the plan changes phone `{}` of provider `{}`, which the spec {} does not declare (any \
                 more); nothing was applied. Make a new plan",
                p.phone_id,
                p.provider,
                spec.path
            );
        };
        covered.push((*d).clone());
        files.push(spec.file_of(&p.provider, &p.phone_id).to_owned());
    }
    // Scheduled phones as their schedule wanted them when the plan was made.
    let schedules = crate::schedule::Schedules::of(&spec.spec.schedules);
    if let Some(at) = saved.at.and_then(|s| jiff::Timestamp::from_second(s).ok()) {
        schedules.resolve_in_place(&mut covered, at);
    }
    Ok(Bound {
        schedules,
        providers,
        covered,
        files,
        policy: Policy {
            restart_pending: saved.restart_pending,
            restart: saved.restart.iter().cloned().collect(),
            reset: saved.reset.iter().cloned().collect(),
            ..Policy::of(&spec.spec, saved.canary)
        },
    })
}

/// The phones a saved plan resets whose device identity is not the one it was made with: reset since
/// (by an earlier apply of the plan, or by hand), so not to be reset again.
pub fn reset_since(
    saved: &PlanFile,
    observed: &FleetState,
    keys: &BTreeMap<String, PlanKey>,
) -> Vec<(String, String)> {
    saved
        .phones
        .iter()
        .filter_map(|p| {
            let then = p.identity.as_ref()?;
            let key = keys.get(&p.provider)?;
            let crate::state::Observation::Found(o) = observed.get(&p.provider, &p.phone_id)?
            else {
                return None;
            };
            let now = o.identity()?;
            (key.identity(now) != *then).then(|| (p.provider.clone(), p.phone_id.clone()))
        })
        .collect()
}

/// The scheduled phones of a saved plan whose schedule wants another power state at `now` than when
/// the plan was made: the plan is stale for them. One line each: `gl / growth-1 (g1): schedule
/// office-hours wants stopped now (running when the plan was made)`.
pub fn schedule_moved(bound: &Bound, now: jiff::Timestamp) -> Vec<String> {
    bound
        .covered
        .iter()
        .filter_map(|d| {
            let s = bound.schedules.get(d.schedule_name()?)?;
            let (then, now) = (d.state?, s.at(now));
            (then != now).then(|| {
                format!(
                    "{} / {}: schedule {} wants {} now ({} when the plan was made)",
                    d.provider,
                    crate::spec::label(d.name.as_deref(), &d.id),
                    s.name,
                    now.as_str(),
                    then.as_str()
                )
            })
        })
        .collect()
}

/// Refuse a plan whose phones are not declared as its keyed digests say, naming the file, the phone and
/// what changed.
pub fn declared_as_planned(
    saved: &PlanFile,
    bound: &Bound,
    keys: &BTreeMap<String, PlanKey>,
) -> anyhow::Result<()> {
    let sensitive = Sensitive::of(&bound.policy.safety);
    for ((p, d), file) in saved.phones.iter().zip(&bound.covered).zip(&bound.files) {
        let same = keys
            .get(&p.provider)
            .is_some_and(|k| k.desired(d) == p.desired);
        if !same {
            // What a reviewer can be told: the fields that are not sensitive.
            let plain = |v: &PhoneView| {
                let mut v = v.clone();
                v.properties.retain(|k, _| !sensitive.covers(k));
                v
            };
            let moves = plain(&p.after).moves(&plain(&PhoneView::desired(d)));
            let what = if moves.is_empty() {
                "`protect`, `restart` or a sensitive property value".to_owned()
            } else {
                moves.join(", ")
            };
            bail!(
                "{file}: phone {} of provider `{}` is declared otherwise than when the plan was made \
                 ({what}); nothing was applied. Make a new plan",
                match &p.name {
                    Some(name) => format!("`{}` ({})", p.phone_id, crate::redact::controls(name)),
                    None => format!("`{}`", p.phone_id),
                },
                p.provider
            );
        }
    }
    Ok(())
}

/// What became of one phone of a saved plan since the plan was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It still needs the plan's changes for it, or what is left of them after a partial apply: they
    /// are applied.
    Owed,
    /// It is as the plan wants (applied since, by an earlier apply or by hand): nothing is sent.
    Done,
    /// It is on its way to the plan's state: waited for, then confirmed.
    Converging {
        /// `1 (starting), on its way to running`.
        status: String,
    },
    /// It is as it was when planned, yet the file's changes for it are not what the spec and its
    /// state make: the file was altered.
    Altered,
    /// It moved elsewhere: the plan is stale for it.
    Moved {
        /// What moved, field by field, sensitive values masked; or why it is blocked now.
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

/// The plan computed from the covered phones and what was just read.
pub fn fresh(
    bound: &Bound,
    observed: &FleetState,
    limits: &BTreeMap<String, EffectiveLimits>,
) -> Plan {
    super::compute(&PlanInput {
        providers: &bound.providers,
        desired: &bound.covered,
        observed,
        limits,
        policy: &bound.policy,
    })
}

/// Each phone of a saved plan against `now`, the plan computed from the spec and what was just read
/// ([`fresh`]): owed when it still needs the same changes, done when it needs none, converging when it
/// is on its way, altered when it did not move but the file's changes for it are not `now`'s, moved
/// otherwise.
pub fn verdicts(
    saved: &PlanFile,
    bound: &Bound,
    observed: &FleetState,
    now: &Plan,
    keys: &BTreeMap<String, PlanKey>,
) -> Vec<PhoneVerdict> {
    let sensitive = Sensitive::of(&bound.policy.safety);
    // Phones the plan resets that the caller took out of its resets (reset since: another device
    // identity, or an earlier apply of this file's receipt): done.
    let reset: BTreeSet<(String, String)> = saved
        .reset
        .iter()
        .filter(|id| !bound.policy.reset.contains(*id))
        .cloned()
        .collect();
    let changes: HashMap<(&str, &str), &super::PhoneChange> = now
        .changes
        .iter()
        .map(|c| ((c.provider.as_str(), c.phone_id.as_str()), c))
        .collect();
    let converging: HashMap<(&str, &str), &str> = now
        .summary
        .converging
        .iter()
        .map(|c| {
            (
                (c.provider.as_str(), c.phone_id.as_str()),
                c.status.as_str(),
            )
        })
        .collect();
    saved
        .phones
        .iter()
        .zip(&bound.covered)
        .map(|(p, d)| {
            let key = (p.provider.as_str(), p.phone_id.as_str());
            let obs = observed
                .get(&p.provider, &p.phone_id)
                .cloned()
                .unwrap_or(crate::state::Observation::NotFound);
            let unmoved = keys
                .get(&p.provider)
                .is_some_and(|k| k.observed(&super::fingerprint(d, &obs)) == p.observed);
            let reset_since = reset.contains(&(p.provider.clone(), p.phone_id.clone()));
            let verdict = match (changes.get(&key), converging.get(&key)) {
                (None, None) if reset_since => Verdict::Done,
                (None, Some(status)) => Verdict::Converging {
                    status: (*status).to_owned(),
                },
                (None, None) if unmoved => Verdict::Altered,
                (None, None) => Verdict::Done,
                (Some(c), _) if c.blocked.is_none() => {
                    let actions: Vec<String> = c.actions.iter().map(action_name).collect();
                    let (mut was, mut is) = (c.before.clone(), c.after.clone());
                    sensitive.mask_views(&mut was, &mut is);
                    // The same changes, or what is left of them after a partial apply (the
                    // phone went part of the way the plan takes it).
                    let same = actions == p.actions;
                    let left = actions.iter().all(|a| p.actions.contains(a));
                    if unmoved && (same || left) {
                        Verdict::Owed
                    } else if unmoved {
                        Verdict::Altered
                    } else if !(same || left) {
                        let moves = p.before.moves(&was);
                        Verdict::Moved {
                            what: if moves.is_empty() {
                                format!("now needs {} instead", actions.join(", "))
                            } else {
                                moves.join(", ")
                            },
                        }
                    } else {
                        // It moved since the plan and still needs (some of) the plan's changes:
                        // owed only if every field that moved went to the plan's value (part of the
                        // way); a field at a third value, or a move nothing shown explains (a
                        // sensitive value, the power status), makes the plan stale for it.
                        let third = p.before.moved_elsewhere(&p.after, &was);
                        let toward = p.before.moves(&was);
                        if !third.is_empty() {
                            Verdict::Moved {
                                what: third.join(", "),
                            }
                        } else if toward.is_empty() && same {
                            Verdict::Moved {
                                what: "its state changed since the plan was made (a sensitive \
                                       value or its power status)"
                                    .to_owned(),
                            }
                        } else {
                            Verdict::Owed
                        }
                    }
                }
                (Some(c), _) => Verdict::Moved {
                    what: c.blocked.clone().unwrap_or_default(),
                },
            };
            PhoneVerdict {
                provider: p.provider.clone(),
                phone_id: p.phone_id.clone(),
                verdict,
            }
        })
        .collect()
}

/// The plan to run: `now`, whose changes are those of the phones that owe theirs (the caller has
/// refused moved phones and waited for converging ones), refused unless every call it makes is one of
/// the file's calls for those phones. When nothing was done since the plan, the batches and guard
/// verdicts must be the file's exactly (with some done, fewer changes remain, and the gate judges
/// those).
pub fn rederive(saved: &PlanFile, verdicts: &[PhoneVerdict], now: &Plan) -> anyhow::Result<Plan> {
    let owed: BTreeSet<(&str, &str)> = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Owed)
        .map(|v| (v.provider.as_str(), v.phone_id.as_str()))
        .collect();
    let altered = || {
        anyhow::anyhow!(
            "the plan file's batches are not the calls its changes make; it was altered after it was \
             made; nothing was applied. Make a new plan"
        )
    };
    let mut fresh_calls: Vec<(String, String, &str)> = now
        .batches
        .iter()
        .flat_map(|b| {
            b.ids()
                .map(|id| (b.provider.clone(), action_name(&b.action), id))
        })
        .collect();
    let mut saved_calls: Vec<(String, String, &str)> = saved
        .batches
        .iter()
        .flat_map(|b| {
            b.phone_ids
                .iter()
                .filter(|id| owed.contains(&(b.provider.as_str(), id.as_str())))
                .map(|id| (b.provider.clone(), b.action.clone(), id.as_str()))
        })
        .collect();
    fresh_calls.sort();
    saved_calls.sort();
    // Every call that runs is one the file has (after a partial apply, some of the file's are done).
    let mut planned = saved_calls.iter().peekable();
    for call in &fresh_calls {
        while planned.next_if(|c| *c < call).is_some() {}
        if planned.next_if(|c| *c == call).is_none() {
            return Err(altered());
        }
    }
    if owed.len() == saved.phones.len() && fresh_calls == saved_calls {
        let fresh: Vec<_> = now
            .batches
            .iter()
            .map(super::saved::FileBatch::of)
            .collect();
        if saved.batches != fresh {
            return Err(altered());
        }
        if saved.guards != now.guards.iter().map(FileGuard::of).collect::<Vec<_>>() {
            bail!(
                "the plan file's guard verdicts are not what its spec's guard rails make; it was \
                 altered after it was made; nothing was applied. Make a new plan"
            );
        }
    }
    Ok(now.clone())
}
