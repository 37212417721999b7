//! One reconcile tick, the step `phonefleet watch` repeats: read the selected phones, compute the plan,
//! heal what the heal policy allows (through the guard gate and the same executor as `apply`) and
//! report the rest. Idempotent like every step of an apply: a tick after a partial heal heals what is
//! left. Nothing here prints or sleeps; the caller schedules ticks.

use std::collections::BTreeSet;

use crate::apply::{ApplyReport, Options};
use crate::ops::fleet::{Events, Fleet};
use crate::ops::gate::Refused;
use crate::ops::plan::{Count, Planned, Scope};
use crate::plan::{Action, Plan, Policy};
use crate::spec::LoadedSpec;

/// What one tick found and did.
#[derive(Debug)]
pub struct Tick {
    /// The whole plan: every drift, healed or not.
    pub planned: Planned,
    /// The part the heal policy allowed.
    pub heal: Plan,
    /// What healing did, when it ran.
    pub healed: Option<ApplyReport>,
    /// Why healing was refused (a broken guard heals nothing).
    pub refused: Option<Refused>,
}

/// Read, plan, and heal the actions named in `heal` (`start`, `stop`, `set_traffic`,
/// `set_properties`, `restart`). Guards are checked on what would be healed and never overridden.
pub async fn tick(
    spec: &LoadedSpec,
    scope: &Scope,
    fleet: &Fleet,
    heal: &BTreeSet<&str>,
    opts: &Options,
    events: &dyn Events,
) -> Tick {
    fleet.set_deadline(opts.deadline);
    let planned = crate::ops::plan::plan(spec, scope, fleet, Count::No, None, events).await;
    let policy = Policy::of(&spec.spec, None);
    let part = crate::plan::restrict(
        &planned.plan,
        |a: &Action| heal.contains(a.name()),
        &planned.observed,
        &scope.limits,
        &policy,
    );
    let (healed, refused) = if part.batches.is_empty() {
        (None, None)
    } else {
        match crate::ops::gate::gate(&part, false) {
            Ok(_) => (
                Some(crate::apply::execute(&part, &fleet.clients, opts).await),
                None,
            ),
            Err(refused) => (None, Some(refused)),
        }
    };
    Tick {
        planned,
        heal: part,
        healed,
        refused,
    }
}
