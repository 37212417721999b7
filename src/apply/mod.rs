//! The apply executor: consumes a [`Plan`], makes its batch calls and returns one outcome per phone and
//! action. It prints nothing; rendering the report is `render`'s job.
//!
//! Providers run side by side. Inside one provider, changes follow a per-phone schedule
//! ([`schedule`]): each phone's actions in order, the next one released as soon as the previous one
//! finished, ready actions batched per action. A batch whose answer was lost is not re-sent blindly:
//! its phones are read again and only those that still need the change are sent again. After the
//! calls, the changed phones are read until they reach the desired state; one that does not within the
//! timeout is failed ("accepted but not converged"). Every step is idempotent, so a second apply
//! finishes what a failed one left.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use crate::plan::{Action, Plan};
use crate::provider::{Client, ObserveTarget, PhoneError};
use crate::spec::DesiredPhone;
use crate::state::Observation;

/// What happened to one phone's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done and confirmed.
    Ok,
    /// The provider refused or it did not converge.
    Failed(PhoneError),
    /// Nothing was done: the plan blocked this phone.
    Blocked(String),
    /// Not attempted (an earlier step failed, or the run was interrupted).
    Skipped(String),
}

impl Outcome {
    /// `ok`, `failed`, `blocked` or `skipped` (metric labels).
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed(_) => "failed",
            Outcome::Blocked(_) => "blocked",
            Outcome::Skipped(_) => "skipped",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneResult {
    /// Provider name.
    pub provider: String,
    /// Its kind (a failure code is read in its kind's terms).
    pub kind: crate::spec::ProviderKind,
    /// Phone id.
    pub phone_id: String,
    /// Its name in the spec.
    pub name: Option<String>,
    /// The action, or `None` for a blocked phone.
    pub action: Option<Action>,
    /// `set_properties`: the keys it changes (never their values, which may be sensitive).
    pub keys: Vec<String>,
    /// What happened.
    pub outcome: Outcome,
}

impl PhoneResult {
    /// `name (id)`, or the id.
    pub fn label(&self) -> String {
        crate::spec::label(self.name.as_deref(), &self.phone_id)
    }
}

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Changes that succeeded.
    pub ok: usize,
    /// Changes that failed.
    pub failed: usize,
    /// Phones blocked (nothing planned could be sent to them).
    pub blocked: usize,
    /// Changes skipped (not sent).
    pub skipped: usize,
    /// Phones that could not be read: nothing was sent to them, and they are not failed changes.
    pub unread: usize,
    /// Phones the changes were for.
    pub phones: usize,
}

/// A phone of a saved plan already as it wants: (provider, phone id, name).
pub type Done = (String, String, Option<String>);

/// Everything an apply did, sorted by (provider, phone id, action).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// One entry per planned (phone, action), and one per blocked phone.
    pub results: Vec<PhoneResult>,
    /// Ctrl-C stopped it before the end.
    pub interrupted: bool,
    /// Broken guards that `--override-guards` let pass.
    pub overridden_guards: Vec<crate::plan::GuardCheck>,
    /// Phones of a saved plan that were already as it wants (provider, phone id): nothing was sent.
    pub already_done: Vec<Done>,
    /// Phones whose properties wait for a restart after this apply: those it set without one (and
    /// marked so), and those that waited before and still do.
    pub restart_pending: Vec<crate::plan::RestartPending>,
}

impl ApplyReport {
    /// Count the outcomes.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        let mut phones: foldhash::HashSet<(&str, &str)> = Default::default();
        for r in &self.results {
            match (&r.outcome, r.action) {
                (Outcome::Ok, _) => c.ok += 1,
                // A phone that could not be read has no change of its own: it is counted as a phone.
                (Outcome::Failed(_), None) => c.unread += 1,
                (Outcome::Failed(_), Some(_)) => c.failed += 1,
                (Outcome::Blocked(_), _) => c.blocked += 1,
                (Outcome::Skipped(_), _) => c.skipped += 1,
            }
            if r.action.is_some() {
                phones.insert((r.provider.as_str(), r.phone_id.as_str()));
            }
        }
        c.phones = phones.len();
        c
    }

    /// Every attempted change succeeded and every phone was read (blocked phones are only warnings).
    pub fn succeeded(&self) -> bool {
        let c = self.counts();
        c.failed == 0 && c.unread == 0 && c.skipped == 0 && !self.interrupted
    }
}

/// Set by Ctrl-C or SIGTERM: no new batch starts once it is raised.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    terminated: Arc<AtomicBool>,
    applying: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

impl Cancel {
    /// Raise the flag, for this signal.
    pub fn cancel(&self, signal: crate::signals::Signal) {
        self.terminated.store(
            signal == crate::signals::Signal::Terminate,
            Ordering::SeqCst,
        );
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// The signal that raised the flag, if it was raised.
    pub fn signal(&self) -> Option<crate::signals::Signal> {
        self.is_cancelled().then(|| {
            if self.terminated.load(Ordering::SeqCst) {
                crate::signals::Signal::Terminate
            } else {
                crate::signals::Signal::Interrupt
            }
        })
    }
    /// From now on, changes may be in flight (before, a signal stops a run that sent nothing).
    pub fn start_applying(&self) {
        self.applying.store(true, Ordering::SeqCst);
    }

    /// Whether changes may be in flight.
    pub fn is_applying(&self) -> bool {
        self.applying.load(Ordering::SeqCst)
    }

    /// Whether it was raised.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
    /// Wait until it is raised.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// What an apply tells whoever watches it: the terminal's bar, later `watch`'s metrics. The executor
/// itself draws nothing.
pub trait Progress: Send + Sync {
    /// The apply starts: this many (phone, action) changes.
    fn start(&self, _changes: u64) {}
    /// One change settled (done or failed).
    fn advance(&self) {}
    /// One change skipped (never sent): not progress, and said apart.
    fn skipped(&self) {}
    /// What the providers' calls are doing (calls in flight, time since the last answer), every half
    /// second while applying.
    fn activity(&self, _what: &str) {}
    /// What is going on now (`cph: waiting for 12 jobs`).
    fn status(&self, _what: &str) {}
    /// The apply is over.
    fn finish(&self) {}
}

/// A [`Progress`] sink that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// How to run.
#[derive(Clone)]
pub struct Options {
    /// The run's deadline (`--timeout`, counted from the start of the command): no batch is sent after
    /// it, and jobs and convergence are waited for until it.
    pub deadline: Instant,
    /// Where progress goes.
    pub progress: Arc<dyn Progress>,
    /// Interruption flag.
    pub cancel: Cancel,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("deadline", &self.deadline)
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

mod canary;
mod schedule;

use schedule::ProviderRun;

/// One phone's action.
pub(crate) type Key = (String, Action);

/// Whether `obs` already shows the result of `action` (or the phone is on its way there).
pub(crate) fn reached(
    action: &Action,
    d: &DesiredPhone,
    obs: &Observation,
    in_progress_counts: bool,
) -> bool {
    // A deleted phone is one the provider no longer knows; once it is gone, the stop before its
    // delete is moot too.
    if *action == Action::Delete || d.fate() == Some(crate::spec::Fate::Delete) {
        if *obs == Observation::NotFound {
            return true;
        }
        if *action == Action::Delete {
            return false;
        }
    }
    let Observation::Found(o) = obs else {
        return false;
    };
    crate::attribute::of(action).reached(action, d, o, in_progress_counts)
}

pub(crate) fn targets_for(
    ids: &[&str],
    desired: &HashMap<&str, &DesiredPhone>,
) -> Vec<ObserveTarget> {
    ids.iter()
        .map(|id| match desired.get(id) {
            Some(d) => ObserveTarget::for_phone(d),
            None => ObserveTarget {
                id: (*id).to_owned(),
                properties: false,
                listed: false,
            },
        })
        .collect()
}

/// Read the phones whose changes succeeded until each shows its desired state; fail those that do not
/// by the deadline.
pub(crate) async fn converge(
    run: &ProviderRun<'_>,
    outcomes: &mut HashMap<Key, Outcome>,
    created: &HashMap<String, String>,
    deadline: Instant,
    bar: &dyn Progress,
) {
    let mut waiting: Vec<Key> = outcomes
        .iter()
        .filter(|(_, o)| **o == Outcome::Ok)
        .map(|(k, _)| k.clone())
        .collect();
    waiting.sort();
    let mut interval = Duration::from_millis(200);
    while !waiting.is_empty() {
        bar.status(&format!(
            "{}: confirming {} change{}",
            run.name,
            waiting.len(),
            if waiting.len() == 1 { "" } else { "s" }
        ));
        // `waiting` is sorted by id, so one phone's actions are side by side. A phone created in this
        // run is read by the id the provider gave it.
        let call_id = |id: &String| created.get(id).unwrap_or(id).clone();
        let mut targets: Vec<ObserveTarget> = Vec::new();
        for (id, action) in &waiting {
            // Each action's attribute says what its confirmation reads (a restart carried new
            // properties: its phone is read with them).
            let id = call_id(id);
            if targets.last().is_none_or(|t| t.id != id) {
                targets.push(ObserveTarget {
                    id,
                    properties: false,
                    listed: false,
                });
            }
            let t = targets.last_mut().expect("pushed above");
            crate::attribute::of(action).read(t);
        }
        let observed = match run.client.observe(&targets).await {
            Ok(o) => o,
            Err(e) => {
                let pe = e.as_phone_error();
                for k in waiting.drain(..) {
                    outcomes.insert(
                        k,
                        Outcome::Failed(PhoneError {
                            code: pe.code.clone(),
                            message: format!("could not confirm the change: {}", pe.message),
                        }),
                    );
                }
                return;
            }
        };
        waiting.retain(|(id, action)| {
            let ok = match (run.desired.get(id.as_str()), observed.get(&call_id(id))) {
                (Some(d), Some(obs)) => reached(action, d, obs, false),
                _ => false,
            };
            !ok
        });
        if waiting.is_empty() {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval * 3 / 2).min(Duration::from_secs(5));
    }
    for (id, action) in waiting {
        let want = match run.desired.get(id.as_str()) {
            Some(d) => crate::attribute::of(&action).goal(&action, d),
            None => "the change".to_owned(),
        };
        outcomes.insert(
            (id, action),
            Outcome::Failed(PhoneError {
                code: "not-converged".into(),
                message: format!(
                    "accepted but not converged: the phone did not show {want} before the timeout"
                ),
            }),
        );
    }
}

/// Execute a plan's batches with these clients (one per provider name) and report every phone. A plan
/// with a canary runs it first ([`canary`]).
pub async fn execute(
    plan: &Plan,
    clients: &BTreeMap<String, Client>,
    opts: &Options,
) -> ApplyReport {
    let mut report = if canary::has_canary(plan) {
        canary::execute(plan, clients, opts).await
    } else {
        execute_now(plan, clients, opts).await
    };
    report.restart_pending = restart_pending_after(plan, &report);
    report
}

/// The phones waiting for a restart once `report` ran `plan`: the property updates that succeeded
/// with a restart mark, and the phones that waited before and were not restarted now.
fn restart_pending_after(plan: &Plan, report: &ApplyReport) -> Vec<crate::plan::RestartPending> {
    let ok: foldhash::HashSet<(&str, &str)> = report
        .results
        .iter()
        .filter(|r| r.action == Some(Action::SetProperties) && r.outcome == Outcome::Ok)
        .map(|r| (r.provider.as_str(), r.phone_id.as_str()))
        .collect();
    let names: HashMap<(&str, &str), Option<&String>> = plan
        .changes
        .iter()
        .map(|c| ((c.provider.as_str(), c.phone_id.as_str()), c.name.as_ref()))
        .collect();
    let mut out: Vec<crate::plan::RestartPending> = plan.summary.restart_pending.clone();
    for b in plan
        .batches
        .iter()
        .filter(|b| b.action == Action::SetProperties)
    {
        for p in &b.phones {
            let key = (b.provider.as_str(), p.id.as_str());
            let Some(keys) = p.marks.values().next().filter(|v| !v.is_empty()) else {
                continue;
            };
            if !ok.contains(&key) {
                continue;
            }
            out.retain(|q| (q.provider.as_str(), q.phone_id.as_str()) != key);
            out.push(crate::plan::RestartPending {
                provider: b.provider.clone(),
                phone_id: p.id.clone(),
                name: names.get(&key).copied().flatten().cloned(),
                keys: keys.split(',').map(str::to_owned).collect(),
                running: true,
            });
        }
    }
    out.sort_by(|a, b| (&a.provider, &a.phone_id).cmp(&(&b.provider, &b.phone_id)));
    out
}

/// All of a plan's batches at once, on the per-phone schedule.
async fn execute_now(
    plan: &Plan,
    clients: &BTreeMap<String, Client>,
    opts: &Options,
) -> ApplyReport {
    let deadline = opts.deadline;
    let total: u64 = plan.batches.iter().map(|b| b.phones.len() as u64).sum();
    let bar: &dyn Progress = &*opts.progress;
    bar.start(total);
    let desired: HashMap<(&str, &str), &DesiredPhone> = plan
        .changes
        .iter()
        .map(|c| ((c.provider.as_str(), c.phone_id.as_str()), &c.desired))
        .collect();
    let mut runs: BTreeMap<&str, ProviderRun<'_>> = BTreeMap::new();
    for b in &plan.batches {
        let Some(client) = clients.get(&b.provider) else {
            continue;
        };
        let run = runs
            .entry(b.provider.as_str())
            .or_insert_with(|| ProviderRun {
                name: b.provider.as_str(),
                client,
                batches: Vec::new(),
                desired: HashMap::new(),
            });
        run.batches.push(b);
        for id in b.ids() {
            if let Some(d) = desired.get(&(b.provider.as_str(), id)) {
                run.desired.insert(id, d);
            }
        }
    }
    let names: Vec<String> = runs.keys().map(|s| (*s).to_owned()).collect();
    let work = futures::future::join_all(
        runs.into_values()
            .map(|run| schedule::run_provider(run, opts, deadline, bar)),
    );
    // Beside the work, what the calls are doing, so that a hang is visible as it happens.
    let tick = async {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let busy: Vec<String> = clients
                .iter()
                .filter_map(|(name, c)| c.activity().describe().map(|a| format!("{name}: {a}")))
                .collect();
            bar.activity(&busy.join("; "));
        }
    };
    let per_provider: Vec<schedule::Ran> = tokio::select! {
        done = work => done,
        () = tick => unreachable!("the ticker never ends"),
    };
    bar.finish();
    let mut outcomes: HashMap<(String, String, Action), Outcome> = HashMap::new();
    let mut created: HashMap<(String, String), String> = HashMap::new();
    for (name, (map, made)) in names.into_iter().zip(per_provider) {
        for ((id, action), o) in map {
            outcomes.insert((name.clone(), id, action), o);
        }
        for (plan_id, id) in made {
            created.insert((name.clone(), plan_id), id);
        }
    }
    let mut results = Vec::new();
    for c in &plan.changes {
        if let Some(reason) = &c.blocked {
            // A phone that could not be read is a failure of this run (the next apply may read it), not
            // a state of the phone.
            let outcome = if c.unreadable {
                Outcome::Failed(PhoneError {
                    code: "unreadable".into(),
                    message: reason.clone(),
                })
            } else {
                Outcome::Blocked(reason.clone())
            };
            results.push(PhoneResult {
                provider: c.provider.clone(),
                kind: c.kind,
                phone_id: c.phone_id.clone(),
                name: c.name.clone(),
                action: None,
                keys: Vec::new(),
                outcome,
            });
            continue;
        }
        // A phone created in this run is reported by the id the provider gave it.
        let phone_id = created
            .get(&(c.provider.clone(), c.phone_id.clone()))
            .unwrap_or(&c.phone_id);
        for a in &c.actions {
            let outcome = outcomes
                .remove(&(c.provider.clone(), c.phone_id.clone(), *a))
                .unwrap_or_else(|| {
                    if clients.contains_key(&c.provider) {
                        Outcome::Skipped("not attempted".into())
                    } else {
                        Outcome::Skipped(format!("no client for provider `{}`", c.provider))
                    }
                });
            results.push(PhoneResult {
                provider: c.provider.clone(),
                kind: c.kind,
                phone_id: phone_id.clone(),
                name: c.name.clone(),
                action: Some(*a),
                keys: if a.carries_properties() {
                    c.after
                        .properties
                        .iter()
                        .filter(|(k, v)| c.before.properties.get(*k) != Some(*v))
                        .map(|(k, _)| k.clone())
                        .collect()
                } else {
                    Vec::new()
                },
                outcome,
            });
        }
    }
    ApplyReport {
        results,
        interrupted: opts.cancel.is_cancelled(),
        overridden_guards: Vec::new(),
        already_done: Vec::new(),
        restart_pending: Vec::new(),
    }
}
