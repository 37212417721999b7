//! One reconcile tick, the step `phonefleet watch` repeats: read the selected phones, compute the plan,
//! heal what the heal policy allows (through the guard gate and the same executor as `apply`) and
//! report the rest. Idempotent like every step of an apply: a tick after a partial heal heals what is
//! left. Nothing here prints or sleeps; the caller schedules ticks.

use std::collections::BTreeSet;

use crate::apply::{ApplyReport, Options};
use crate::ops::fleet::{Events, Fleet};
use crate::ops::gate::Refused;
use crate::ops::plan::{Count, Planned, Scope};
use crate::plan::{Action, PhoneChange, Plan, Policy};
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
    /// Why nothing was sent although the heal was allowed: an account lock held by another process.
    pub busy: Option<String>,
}

/// A start or stop of a scheduled phone in one tick, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleMove {
    /// The schedule.
    pub schedule: String,
    /// `start` or `stop`.
    pub action: Action,
    /// `name (id)`.
    pub phone: String,
    /// `ok`, `failed`, `skipped`, `blocked`, or `not_healed` (the heal policy did not allow it, or the
    /// phone backs off).
    pub outcome: &'static str,
}

/// The starts and stops the schedules asked for in a tick, and their outcomes.
pub fn schedule_moves(t: &Tick) -> Vec<ScheduleMove> {
    let outcomes: std::collections::HashMap<(&str, &str, Action), &'static str> = t
        .healed
        .iter()
        .flat_map(|h| &h.results)
        .filter_map(|r| {
            Some((
                (r.provider.as_str(), r.phone_id.as_str(), r.action?),
                r.outcome.word(),
            ))
        })
        .collect();
    let mut out = Vec::new();
    for c in t
        .planned
        .plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_none())
    {
        let Some(schedule) = c.desired.schedule_name() else {
            continue;
        };
        for a in c
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Start | Action::Stop))
        {
            out.push(ScheduleMove {
                schedule: schedule.to_owned(),
                action: *a,
                phone: crate::spec::label(c.name.as_deref(), &c.phone_id),
                outcome: outcomes
                    .get(&(c.provider.as_str(), c.phone_id.as_str(), *a))
                    .copied()
                    .unwrap_or("not_healed"),
            });
        }
    }
    out
}

/// Takes the locks of the accounts a heal sends to, just before it sends; released when dropped.
pub type Acquire<'a> = dyn Fn(&Plan) -> anyhow::Result<crate::ops::lock::Held> + Sync + 'a;

/// What a tick may heal, and how it gets the right to send.
pub struct Heal<'a> {
    /// The actions it may take (`start`, `stop`, `set_traffic`, `set_properties`, `restart`).
    pub actions: &'a BTreeSet<&'a str>,
    /// The phones it may heal now (a phone backing off after a failure waits).
    pub may_heal: &'a (dyn Fn(&PhoneChange) -> bool + Sync),
    /// Called just before anything is sent (the account locks).
    pub acquire: &'a Acquire<'a>,
}

/// Read, plan, and heal the actions `heal` names of the phones it lets through (a phone backing off
/// after a failed heal is left for a later tick). Guards are checked on what would be healed and never
/// overridden. The locks are taken just before anything is sent: a lock held elsewhere heals nothing
/// this tick (`busy` says why). Scheduled phones want what their schedule wants at `at`.
pub async fn tick(
    spec: &LoadedSpec,
    scope: &Scope,
    fleet: &Fleet,
    heal: &Heal<'_>,
    opts: &Options,
    at: jiff::Timestamp,
    events: &dyn Events,
) -> Tick {
    fleet.set_deadline(opts.deadline);
    let asked = crate::ops::plan::Asked {
        at: Some(at),
        // A failed phone is restarted when the heal policy allows restarts (never reset).
        restart_failed: heal.actions.contains("restart"),
        ..Default::default()
    };
    let planned = crate::ops::plan::plan(spec, scope, fleet, Count::No, asked, events).await;
    let policy = Policy::of(&spec.spec, None);
    let part = crate::plan::restrict(
        &planned.plan,
        |c: &PhoneChange, a: &Action| {
            // Unmarking a phone as waiting for a restart goes with the start or restart that boots
            // it: healed when that is, never alone (a restart without it would repeat every tick).
            let allowed = |a: &Action| heal.actions.contains(a.name());
            let ok = match a {
                Action::ClearRestartPending => c
                    .actions
                    .iter()
                    .any(|b| matches!(b, Action::Start | Action::Restart) && allowed(b)),
                _ => allowed(a),
            };
            // Creating and deleting phones is for a reviewed apply: watch reports a pool short of
            // (or over) its count, and never acts on those phones.
            let pooled = matches!(
                c.desired.fate(),
                Some(crate::spec::Fate::Create | crate::spec::Fate::Delete)
            );
            ok && !pooled && (heal.may_heal)(c)
        },
        &planned.observed,
        &scope.limits,
        &policy,
    );
    let (mut healed, mut refused, mut busy) = (None, None, None);
    if !part.batches.is_empty() {
        match crate::ops::gate::gate(&part, false) {
            Ok(_) => match (heal.acquire)(&part) {
                Ok(held) => {
                    healed = Some(
                        fleet
                            .run(crate::apply::execute(&part, &fleet.clients, opts))
                            .await,
                    );
                    drop(held);
                }
                Err(e) => busy = Some(format!("{e:#}")),
            },
            Err(r) => refused = Some(r),
        }
    }
    Tick {
        planned,
        heal: part,
        healed,
        refused,
        busy,
    }
}
