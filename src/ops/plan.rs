//! Plan: decide what a run covers ([`Scope`]), read those phones through the [`Fleet`] and compute the
//! plan, with what a person should be told (`--target` in effect, a census that failed) returned as
//! [`Warning`] values for the command to render. Nothing here prints.

use std::collections::BTreeMap;

use crate::capability::{EffectiveLimits, Overrides, limits_for};
use crate::census::{self, Census};
use crate::ops::fleet::{Events, Fleet};
use crate::plan::{self, Action, Plan, PlanInput, Policy, Sensitive};
use crate::select::Selection;
use crate::spec::{DesiredPhone, LoadedSpec, ProviderConfig};
use crate::state::FleetState;

/// What a run covers, decided before any connection.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The declared phones selected (all of them without `--target`).
    pub desired: Vec<DesiredPhone>,
    /// The provider entries those phones need.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// The entries a plan connects to: those, and when nothing narrows the run every entry of the
    /// spec, so that an account with no declared phone is counted as "not managed" too.
    pub accounts: BTreeMap<String, ProviderConfig>,
    /// Limits in force per provider.
    pub limits: BTreeMap<String, EffectiveLimits>,
    /// How many phones the whole spec declares.
    pub declared: usize,
    /// Whether `--target` or `--exclude` narrowed the selection.
    pub targeted: bool,
    /// The selectors, as given.
    pub selection: Selection,
}

impl Scope {
    /// The phones `selection` selects from `spec` (every phone without selectors), the providers they
    /// need, and the limits with the command line's overrides.
    pub fn of(
        spec: &LoadedSpec,
        selection: &Selection,
        overrides: Overrides,
    ) -> anyhow::Result<Scope> {
        let declared = spec.spec.declared_count();
        let desired = crate::select::select(spec, selection)?;
        let providers = crate::select::in_scope(&spec.spec.providers, &desired);
        let accounts = if !selection.narrows() {
            spec.spec.providers.clone()
        } else {
            providers.clone()
        };
        Ok(Scope {
            accounts,
            limits: limits_for(&spec.spec.providers, overrides),
            desired,
            providers,
            declared,
            targeted: selection.narrows(),
            selection: selection.clone(),
        })
    }
}

/// Something a person should know about a plan, for the command to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// `--target` narrowed the plan.
    Targeted {
        /// The selectors, as given.
        selection: String,
        /// Phones covered.
        covered: usize,
        /// Phones the spec declares.
        declared: usize,
    },
    /// Phones `--reset` selected that this plan does not reset (protected, or no reset documented).
    NotReset {
        /// `provider / label`, a few.
        phones: Vec<String>,
        /// How many in all.
        count: usize,
    },
    /// Phones `--restart` selected that this plan does not restart.
    NotRestarted {
        /// `provider / label`, a few.
        phones: Vec<String>,
        /// How many in all.
        count: usize,
    },
    /// A provider's images could not be listed: declared images were not checked.
    ImagesUnlisted {
        /// Provider name.
        provider: String,
        /// Why.
        reason: String,
    },
    /// A provider's unmanaged phones could not be counted.
    CensusFailed {
        /// Provider name.
        provider: String,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::Targeted {
                selection,
                covered,
                declared,
            } => write!(
                f,
                "{selection} is in effect: this plan covers {covered} of the spec's {declared} phones; \
                 the others are neither read nor changed, and phones the spec does not manage are not \
                 counted."
            ),
            Warning::NotRestarted { phones, count } => write!(
                f,
                "--restart selected {count} phone{} this plan does not restart ({}{}): a phone that is \
                 not running, or that this plan starts or stops anyway",
                if *count == 1 { "" } else { "s" },
                phones.join(", "),
                if *count > phones.len() { ", ..." } else { "" }
            ),
            Warning::NotReset { phones, count } => write!(
                f,
                "--reset selected {count} phone{} this plan does not reset ({}{}): a protected phone \
                 (`protect: true`), or one whose provider documents no reset",
                if *count == 1 { "" } else { "s" },
                phones.join(", "),
                if *count > phones.len() { ", ..." } else { "" }
            ),
            Warning::ImagesUnlisted { provider, reason } => write!(
                f,
                "could not list the images of provider `{provider}`, so declared images were not \
                 checked against them: {reason}"
            ),
            Warning::CensusFailed { provider, reason } => write!(
                f,
                "could not count the phones of provider `{provider}` that the spec does not manage (the \
                 plan is complete without it): {reason}"
            ),
        }
    }
}

/// How to count the phones the spec does not manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Not at all (apply, `--target`).
    No,
    /// One count call per provider.
    Total,
    /// The whole account listed, ids kept (`plan -v`).
    Ids,
}

/// A plan, what it was computed from, and what to say about it.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// What the providers reported for the selected phones.
    pub observed: FleetState,
    /// When schedules or pools changed the selected phones: the phones this plan covers (scheduled
    /// ones resolved for its moment, each pool replaced by its members as listed;
    /// [`Planned::desired`]).
    pub pooled: Option<Vec<DesiredPhone>>,
    /// Warnings, in the order they arose.
    pub warnings: Vec<Warning>,
}

impl Planned {
    /// The phones this plan covers: the scope's, scheduled ones resolved and each pool replaced by its
    /// members.
    pub fn desired<'a>(&'a self, scope: &'a Scope) -> &'a [DesiredPhone] {
        self.pooled.as_deref().unwrap_or(&scope.desired)
    }
}

/// Mark the changes of `planned` that the spec at the pull request's base would make too, from the same
/// reads (no call is made): a phone whose change, computed against the base spec's declaration, has
/// the same actions toward the same values is drift nobody in the pull request caused; every other
/// change is the pull request's own.
pub fn split_by_base(planned: &mut Planned, head: &LoadedSpec, base: &LoadedSpec, scope: &Scope) {
    let at = planned
        .plan
        .at
        .and_then(|s| jiff::Timestamp::from_second(s).ok());
    let base_schedules = crate::schedule::Schedules::of(&base.spec.schedules);
    let mut base_phones = base.spec.desired_phones();
    if let Some(at) = at {
        base_schedules.resolve_in_place(&mut base_phones, at);
        // What each schedule does, against what the base declared for the same phones.
        let policy = Policy::of(&head.spec, None);
        planned.plan.schedules = crate::schedule::review(
            &crate::schedule::Schedules::of(&head.spec.schedules),
            planned.desired(scope),
            at,
            Some((&base_schedules, &base_phones)),
            &policy,
        );
    }
    let observed = &planned.observed;
    let desired: Vec<DesiredPhone> = base_phones
        .into_iter()
        .filter(|d| {
            scope.limits.contains_key(&d.provider)
                && observed
                    .phones
                    .get(&d.provider)
                    .is_some_and(|m| m.contains_key(&d.id))
        })
        .collect();
    let base_plan = plan::compute(&PlanInput {
        providers: &base.spec.providers,
        desired: &desired,
        observed,
        limits: &scope.limits,
        policy: &Policy::of(&base.spec, None),
    });
    let would: std::collections::HashMap<(&str, &str), &plan::PhoneChange> = base_plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_none())
        .map(|c| ((c.provider.as_str(), c.phone_id.as_str()), c))
        .collect();
    let drift = planned
        .plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_none() && !c.actions.is_empty())
        .filter(|c| {
            would
                .get(&(c.provider.as_str(), c.phone_id.as_str()))
                .is_some_and(|b| b.actions == c.actions && b.after == c.after)
        })
        .map(|c| (c.provider.clone(), c.phone_id.clone()))
        .collect();
    planned.plan.base = Some(plan::Base {
        path: base.path.clone(),
        drift,
    });
}

/// Read the phones of `scope` through `fleet` (and count the unmanaged ones beside, unless `--target`)
/// and compute the plan. Sensitive values of the spec are registered for masking before the first call.
pub async fn plan(
    spec: &LoadedSpec,
    scope: &Scope,
    fleet: &Fleet,
    count: Count,
    asked: Asked,
    events: &dyn Events,
) -> Planned {
    // The spec's sensitive values and keys go to the fleet's masks.
    fleet
        .run(plan_scoped(spec, scope, fleet, count, asked, events))
        .await
}

/// What the command line asks of a plan beyond the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    /// `--canary N`.
    pub canary: Option<usize>,
    /// `--restart-pending`.
    pub restart_pending: bool,
    /// `--restart SELECTOR`, resolved ([`restart_set`]).
    pub restart: std::collections::BTreeSet<(String, String)>,
    /// `--reset SELECTOR`, resolved ([`restart_set`]).
    pub reset: std::collections::BTreeSet<(String, String)>,
    /// watch with `heal: [restart]`: phones in a failed state are restarted.
    pub restart_failed: bool,
    /// The moment scheduled phones are planned for (`plan --at`); the run's wall time when none is given
    /// (the command's, or watch's clock).
    pub at: Option<jiff::Timestamp>,
}

/// The wall time now, as schedules read it.
pub fn wall_now() -> jiff::Timestamp {
    jiff::Timestamp::try_from(crate::clock::Clock::system().wall())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The declared phones `--restart SELECTOR` (or `--reset SELECTOR`) selects (the selector grammar of `--target`), as
/// (provider, phone id).
pub fn restart_set(
    spec: &LoadedSpec,
    selectors: &[String],
) -> anyhow::Result<std::collections::BTreeSet<(String, String)>> {
    if selectors.is_empty() {
        return Ok(Default::default());
    }
    let selection = Selection {
        targets: selectors.to_vec(),
        excludes: Vec::new(),
    };
    let phones = crate::select::select(spec, &selection)?;
    Ok(phones.into_iter().map(|d| (d.provider, d.id)).collect())
}

async fn plan_scoped(
    spec: &LoadedSpec,
    scope: &Scope,
    fleet: &Fleet,
    count: Count,
    asked: Asked,
    events: &dyn Events,
) -> Planned {
    let mut warnings = Vec::new();
    if scope.targeted {
        warnings.push(Warning::Targeted {
            selection: scope.selection.describe(),
            covered: scope.desired.len(),
            declared: scope.declared,
        });
    }
    Sensitive::of(&spec.spec.safety()).install(&scope.desired);
    let count = if scope.targeted { Count::No } else { count };
    // Scheduled phones want what their schedule wants at the plan's moment.
    let at = asked.at.unwrap_or_else(wall_now);
    let schedules = crate::schedule::Schedules::of(&spec.spec.schedules);
    let scheduled = crate::schedule::Schedules::any(&scope.desired);
    let resolved = scheduled.then(|| schedules.resolve(&scope.desired, at));
    // Pools first: their members are known once they are listed, and the listing is their read.
    let pools = fleet
        .expand_pools(resolved.as_deref().unwrap_or(&scope.desired))
        .await;
    let (expanded, known) = match pools {
        Some((all, known)) => (Some(all), Some(known)),
        None => (None, None),
    };
    // The phones this plan covers: the scope's, or an owned list when schedules or pools changed
    // them (never copied again).
    let owned: Option<Vec<DesiredPhone>> = expanded.or(resolved);
    let desired: &[DesiredPhone] = owned.as_deref().unwrap_or(&scope.desired);
    // The phones the pool listings showed are not read again.
    let to_read: Vec<DesiredPhone> = match &known {
        Some(known) => desired
            .iter()
            .filter(|d| known.get(&d.provider, &d.id).is_none())
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let read: &[DesiredPhone] = if known.is_some() { &to_read } else { desired };
    let (mut observed, counted) =
        tokio::join!(fleet.observe_with(read, &asked.reset, events), async {
            match count {
                Count::No => None,
                Count::Total => Some(fleet.census(false).await),
                Count::Ids => Some(fleet.census(true).await),
            }
        });
    if let Some(known) = known {
        for (provider, phones) in known.phones {
            observed.insert_all(&provider, phones);
        }
    }
    if let Some(counted) = counted {
        for (name, c) in &counted {
            if let Census::Unknown(reason) = c {
                warnings.push(Warning::CensusFailed {
                    provider: name.clone(),
                    reason: reason.clone(),
                });
            }
        }
        observed.unmanaged = census::unmanaged(counted, desired, &observed);
    }
    // Declared images are checked against what the account can use, where it lists them.
    let images = if desired.iter().any(|d| d.image.is_some()) {
        let (lists, failed) = fleet.images(desired).await;
        for (provider, reason) in failed {
            warnings.push(Warning::ImagesUnlisted { provider, reason });
        }
        lists
    } else {
        Default::default()
    };
    let policy = Policy {
        images,
        restart_pending: asked.restart_pending,
        restart: asked.restart.clone(),
        reset: asked.reset.clone(),
        restart_failed: asked.restart_failed,
        ..Policy::of(&spec.spec, asked.canary)
    };
    let mut plan = plan::compute(&PlanInput {
        providers: &spec.spec.providers,
        desired,
        observed: &observed,
        limits: &scope.limits,
        policy: &policy,
    });
    if scheduled {
        plan.at = Some(at.as_second());
        plan.schedules = crate::schedule::review(&schedules, desired, at, None, &policy);
    }
    plan.sensitive.register_values(desired, &observed);
    for (asked_for, action) in [
        (&asked.restart, Action::Restart),
        (&asked.reset, Action::Reset),
    ] {
        let made: std::collections::BTreeSet<(&str, &str)> = plan
            .changes
            .iter()
            .filter(|c| c.actions.contains(&action))
            .map(|c| (c.provider.as_str(), c.phone_id.as_str()))
            .collect();
        let missed: Vec<String> = desired
            .iter()
            .filter(|d| asked_for.contains(&(d.provider.clone(), d.id.clone())))
            .filter(|d| !made.contains(&(d.provider.as_str(), d.id.as_str())))
            .map(|d| {
                format!(
                    "{} / {}",
                    d.provider,
                    crate::spec::label(d.name.as_deref(), &d.id)
                )
            })
            .collect();
        if !missed.is_empty() {
            let (count, phones) = (missed.len(), missed.into_iter().take(5).collect());
            warnings.push(if action == Action::Reset {
                Warning::NotReset { phones, count }
            } else {
                Warning::NotRestarted { phones, count }
            });
        }
    }
    Planned {
        plan,
        observed,
        pooled: owned,
        warnings,
    }
}
