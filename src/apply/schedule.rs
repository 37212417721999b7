//! The per-phone schedule of one provider's changes. Each phone's actions keep their order
//! (properties, traffic, power: a phone started in the same apply boots with its new properties); a
//! phone's next action becomes ready as soon as its previous one finished (a synchronous answer, or its
//! job); ready actions are batched per action as before (batch size and concurrency unchanged), so
//! phones whose changes are independent all go in the first wave and never wait for other phones' jobs.
//!
//! Ready actions wait [`GATHER`] for others becoming ready with them (the same job poll usually
//! releases many) so that they share a batch. Jobs are polled all together, one poll covering every
//! pending job of the provider: at once when a wave's batches are back, then after [`POLL_FIRST`],
//! backing off by half each time up to [`POLL_CAP`], and from the start again when new jobs join. A phone whose action failed has its later actions skipped; Ctrl-C, SIGTERM, a fatal
//! provider error and the deadline stop new batches; lost answers are read back, not re-sent blindly.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

use super::Progress;
use foldhash::{HashMap, HashMapExt};
use futures::stream::{FuturesUnordered, StreamExt};

use super::{Key, Options, Outcome, converge, reached, targets_for};
use crate::plan::{Action, Batch, BatchPhone};
use crate::provider::{Accepted, BatchResults, Client, PendingJob, PhoneError, ProviderError};
use crate::spec::DesiredPhone;

/// How long ready actions wait for others to share their batch.
pub(crate) const GATHER: Duration = Duration::from_millis(100);
/// After the first poll of new jobs (at once, when their wave's batches are all back), the next comes
/// this long after.
pub(crate) const POLL_FIRST: Duration = Duration::from_millis(250);
/// Job polls back off by half each time, up to this.
pub(crate) const POLL_CAP: Duration = Duration::from_secs(3);

/// One provider's share of a plan.
pub(crate) struct ProviderRun<'a> {
    pub(crate) name: &'a str,
    pub(crate) client: &'a Client,
    pub(crate) batches: Vec<&'a Batch>,
    pub(crate) desired: HashMap<&'a str, &'a DesiredPhone>,
}

/// Send one batch; when the answer is lost, read its phones again and re-send only to those that still
/// need the change (at most twice).
async fn run_batch(
    client: &Client,
    batch: &Batch,
    desired: &HashMap<&str, &DesiredPhone>,
) -> Result<BatchResults, ProviderError> {
    let mut todo = batch.clone();
    let mut results = Vec::with_capacity(batch.phones.len());
    let mut lost_before = false;
    for _ in 0..3 {
        match client.submit(&todo).await {
            Ok(r) => {
                results.extend(r);
                return Ok(results);
            }
            // An earlier answer was lost and this try failed too (the deadline, say): the change may
            // have been made, and the report must not claim otherwise.
            Err(e) if lost_before && !e.is_outcome_unknown() => {
                let why = format!(
                    "the answer was lost, and the phone could not be confirmed before this failed: {}",
                    e.as_phone_error().message
                );
                results.extend(unknown(&todo, why));
                return Ok(results);
            }
            // A create or a reset whose answer was lost is never sent again: the create may have
            // made the phones (only a listing by name can tell, the next plan's), and a phone reset
            // twice loses what it was given since.
            Err(e)
                if e.is_outcome_unknown()
                    && matches!(todo.action, Action::Create | Action::Reset) =>
            {
                let then = if todo.action == Action::Create {
                    "the next plan lists the pool and creates only the members still missing"
                } else {
                    "check the phone; ask for its reset again (--reset) if it was not reset"
                };
                let why = format!(
                    "the answer to the {} was lost ({}); not sent again: {then}",
                    todo.action.name(),
                    e.as_phone_error().message
                );
                results.extend(unknown(&todo, why));
                return Ok(results);
            }
            Err(e) if e.is_outcome_unknown() => {
                lost_before = true;
                let ids: Vec<&str> = todo.ids().collect();
                let observed = client.observe(&targets_for(&ids, desired)).await?;
                let mut still = Vec::new();
                for p in &todo.phones {
                    let done = match (desired.get(p.id.as_str()), observed.get(&p.id)) {
                        (Some(d), Some(obs)) => reached(&todo.action, d, obs, true),
                        _ => false,
                    };
                    if done {
                        results.push((p.id.clone(), Ok(Accepted::Done)));
                    } else {
                        still.push(p.clone());
                    }
                }
                if still.is_empty() {
                    return Ok(results);
                }
                todo.phones = still;
            }
            Err(e) => return Err(e),
        }
    }
    let lost = PhoneError {
        code: "outcome-unknown".into(),
        message: "the provider's answers were lost three times; run apply again".into(),
    };
    results.extend(
        todo.phones
            .iter()
            .map(|p| (p.id.clone(), Err(lost.clone()))),
    );
    Ok(results)
}

/// Every phone of `batch` with an unknown outcome, saying why.
fn unknown(
    batch: &Batch,
    why: String,
) -> impl Iterator<Item = (String, Result<Accepted, PhoneError>)> + '_ {
    let e = PhoneError {
        code: "outcome-unknown".into(),
        message: why,
    };
    batch
        .phones
        .iter()
        .map(move |p| (p.id.clone(), Err(e.clone())))
}

/// The state of one provider's schedule.
struct Schedule<'b> {
    /// Each phone's actions still to come, in order.
    chains: BTreeMap<String, VecDeque<(Action, BatchPhone)>>,
    /// Actions whose turn has come, by action.
    ready: BTreeMap<Action, Vec<BatchPhone>>,
    /// Since when ready actions wait for company.
    ready_since: Option<Instant>,
    /// Batches formed and waiting for a place among the calls in flight.
    queued: VecDeque<Batch>,
    /// Jobs running, by (phone, job id), with the action they carry.
    pending: HashMap<(String, String), (Action, PendingJob)>,
    outcomes: HashMap<Key, Outcome>,
    /// Phones created in this run: the plan's id (`new:NAME`) -> the provider's.
    created: HashMap<String, String>,
    /// The other way: the provider's id -> the plan's.
    plan_ids: HashMap<String, String>,
    bar: &'b dyn Progress,
}

impl Schedule<'_> {
    /// The plan's id of a phone calls name `id` (they differ for a phone created in this run).
    fn plan_id(&self, id: &str) -> String {
        self.plan_ids
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    /// A phone was created as `new_id`: its later actions go to that id.
    fn created(&mut self, id: &str, new_id: String) {
        if let Some(mut chain) = self.chains.remove(id) {
            for (_, p) in chain.iter_mut() {
                p.id.clone_from(&new_id);
            }
            self.chains.insert(new_id.clone(), chain);
        }
        self.plan_ids.insert(new_id.clone(), id.to_owned());
        self.created.insert(id.to_owned(), new_id);
    }

    fn settle(&mut self, id: String, action: Action, outcome: Outcome) {
        self.bar.advance();
        let id = self.created.get(&id).cloned().unwrap_or(id);
        let plan_id = self.plan_id(&id);
        match outcome {
            Outcome::Ok => {
                self.outcomes.insert((plan_id, action), Outcome::Ok);
                self.advance(&id);
            }
            failed => {
                self.outcomes.insert((plan_id, action), failed);
                self.skip_rest(&id, "an earlier change to this phone failed");
            }
        }
    }

    /// The phone's next action is ready.
    fn advance(&mut self, id: &str) {
        if let Some((action, phone)) = self.chains.get_mut(id).and_then(VecDeque::pop_front) {
            self.ready.entry(action).or_default().push(phone);
            self.ready_since.get_or_insert_with(Instant::now);
        }
    }

    fn skip_rest(&mut self, id: &str, reason: &str) {
        let plan_id = self.plan_id(id);
        if let Some(chain) = self.chains.get_mut(id) {
            for (action, _) in chain.drain(..) {
                self.bar.skipped();
                self.outcomes.insert(
                    (plan_id.clone(), action),
                    Outcome::Skipped(reason.to_owned()),
                );
            }
        }
    }

    /// Nothing more will be sent: every ready or queued action, and every such phone's later ones, are
    /// skipped.
    fn stop(&mut self, reason: &str) {
        let ready = std::mem::take(&mut self.ready)
            .into_iter()
            .flat_map(|(action, phones)| phones.into_iter().map(move |p| (action, p.id)));
        let queued = std::mem::take(&mut self.queued)
            .into_iter()
            .flat_map(|b| b.phones.into_iter().map(move |p| (b.action, p.id)));
        let stopped: Vec<(Action, String)> = ready.chain(queued).collect();
        for (action, id) in stopped {
            self.bar.skipped();
            self.outcomes.insert(
                (self.plan_id(&id), action),
                Outcome::Skipped(reason.to_owned()),
            );
            self.skip_rest(&id, reason);
        }
        self.ready_since = None;
    }
}

/// What one provider's run did: an outcome per (plan id, action), and the ids the provider gave the
/// phones it created (plan id -> its id).
pub(crate) type Ran = (HashMap<Key, Outcome>, HashMap<String, String>);

/// Run one provider's changes on the per-phone schedule, then confirm them.
pub(crate) async fn run_provider(
    run: ProviderRun<'_>,
    opts: &Options,
    deadline: Instant,
    bar: &dyn Progress,
) -> Ran {
    let limits = *run.client.limits();
    let mut s = Schedule {
        chains: BTreeMap::new(),
        ready: BTreeMap::new(),
        ready_since: None,
        queued: VecDeque::new(),
        pending: HashMap::new(),
        outcomes: HashMap::new(),
        created: HashMap::new(),
        plan_ids: HashMap::new(),
        bar,
    };
    // The plan's batches come in order of their place in each phone's chain.
    for b in &run.batches {
        for p in &b.phones {
            s.chains
                .entry(p.id.clone())
                .or_default()
                .push_back((b.action, p.clone()));
        }
    }
    let ids: Vec<String> = s.chains.keys().cloned().collect();
    for id in &ids {
        s.advance(id);
    }
    // The first wave goes at once.
    s.ready_since = s.ready_since.map(|t| t - GATHER);
    let mut inflight = FuturesUnordered::new();
    // The job poll runs beside the batches, never inside a branch of the loop: a batch in flight holds
    // one of the provider's concurrency permits until it is polled again, and a poll awaited alone
    // could wait for those permits forever.
    let mut polls = FuturesUnordered::new();
    let mut fatal: Option<PhoneError> = None;
    let mut poll_every = POLL_FIRST;
    let mut next_poll: Option<Instant> = None;
    let mut fresh_jobs = false;
    let mut last_poll_error: Option<String> = None;
    loop {
        let now = Instant::now();
        let stop = if let Some(e) = &fatal {
            Some(format!("not sent: {}: {}", e.code, e.message))
        } else if opts.cancel.is_cancelled() {
            Some("interrupted before this batch was sent".to_owned())
        } else if now >= deadline {
            Some("not sent: the run's deadline passed (--timeout)".to_owned())
        } else {
            None
        };
        if let Some(reason) = &stop {
            s.stop(reason);
        }
        let full = s
            .ready
            .iter()
            .any(|(a, phones)| phones.len() >= limits.batch(a).max(1));
        if stop.is_none() && s.ready_since.is_some_and(|t| full || now >= t + GATHER) {
            for (action, mut phones) in std::mem::take(&mut s.ready) {
                phones.sort_by(|a, b| a.id.cmp(&b.id));
                let sending = phones.len();
                bar.status(&format!(
                    "{}: sending {sending} {} change{}",
                    run.name,
                    action.name(),
                    if sending == 1 { "" } else { "s" }
                ));
                for chunk in phones.chunks(limits.batch(&action).max(1)) {
                    s.queued.push_back(Batch {
                        provider: run.name.to_owned(),
                        action,
                        phones: chunk.to_vec(),
                        canary: false,
                    });
                }
            }
            s.ready_since = None;
        }
        // A batch starts only with a place among the calls in flight, and only before a stop: what
        // has not started by then is reported skipped, never sent.
        while stop.is_none() && inflight.len() < limits.concurrency.max(1) {
            let Some(batch) = s.queued.pop_front() else {
                break;
            };
            let desired = &run.desired;
            inflight.push(async move {
                let r = run_batch(run.client, &batch, desired).await;
                (batch, r)
            });
        }
        if s.pending.is_empty() {
            next_poll = None;
        }
        if inflight.is_empty()
            && polls.is_empty()
            && s.pending.is_empty()
            && s.ready.is_empty()
            && s.queued.is_empty()
        {
            break;
        }
        // Sleep until the next thing to do: a batch's answer, a job poll, the gather window, or the
        // deadline for jobs still running.
        let mut wake = [
            s.ready_since.map(|t| t + GATHER),
            next_poll.filter(|_| polls.is_empty()),
            (!s.pending.is_empty()).then_some(deadline),
        ]
        .into_iter()
        .flatten()
        .min();
        if stop.is_some() && inflight.is_empty() && polls.is_empty() && s.pending.is_empty() {
            wake = None;
        }
        tokio::select! {
            Some((batch, answer)) = inflight.next(), if !inflight.is_empty() => {
                // New jobs restart the cadence: polled at once when the last batch in flight is back
                // (quick jobs cost no wait, and one poll covers the whole wave), then backing off; a
                // later wave's job is never found a whole backed-off interval late.
                if answer_batch(&mut s, &batch, answer, &mut fatal) {
                    poll_every = POLL_FIRST;
                    fresh_jobs = true;
                }
                if fresh_jobs {
                    let now = Instant::now();
                    let soon = if inflight.is_empty() { now } else { now + GATHER };
                    next_poll = Some(next_poll.map_or(soon, |t| t.min(soon)));
                    if inflight.is_empty() {
                        fresh_jobs = false;
                    }
                }
            }
            () = sleep_until(wake), if wake.is_some() => {
                let now = Instant::now();
                if !s.pending.is_empty() && now >= deadline {
                    // Name the cause: a provider that stopped answering job queries is not a job that
                    // is still running.
                    let silent = if !polls.is_empty() {
                        Some("a job query was still waiting for an answer at the deadline".to_owned())
                    } else {
                        last_poll_error.as_ref().map(|e| format!("the last job query failed: {e}"))
                    };
                    for (action, job) in std::mem::take(&mut s.pending).into_values() {
                        let error = match &silent {
                            Some(why) => PhoneError {
                                code: "no-answer".into(),
                                message: format!(
                                    "accepted, outcome unknown: the provider stopped answering job \
                                     queries ({why}); run plan to see where the phone is"
                                ),
                            },
                            None => PhoneError {
                                code: "not-converged".into(),
                                message: format!(
                                    "accepted but not converged: job {} still running at the deadline",
                                    crate::redact::text(&job.job_id)
                                ),
                            },
                        };
                        s.settle(job.phone_id, action, Outcome::Failed(error));
                    }
                } else if polls.is_empty() && next_poll.is_some_and(|t| now >= t) {
                    bar.status(&format!("{}: waiting for {} jobs", run.name, s.pending.len()));
                    let jobs: Vec<PendingJob> = s.pending.values().map(|(_, j)| j.clone()).collect();
                    polls.push(async move { run.client.poll(&jobs).await });
                }
            }
            Some(polled) = polls.next(), if !polls.is_empty() => {
                match polled {
                    Ok(polled) => {
                        // The last query's fate: an answer clears an earlier failure.
                        last_poll_error = polled.failed_poll;
                        finish_jobs(&mut s, polled.finished);
                    }
                    Err(e) => {
                        let pe = e.as_phone_error();
                        fatal.get_or_insert(pe.clone());
                        for (action, job) in std::mem::take(&mut s.pending).into_values() {
                            s.settle(job.phone_id, action, Outcome::Failed(pe.clone()));
                        }
                    }
                }
                next_poll = Some(Instant::now() + poll_every);
                poll_every = (poll_every * 3 / 2).min(POLL_CAP);
            }
        }
    }
    converge(&run, &mut s.outcomes, &s.created, deadline, bar).await;
    (s.outcomes, s.created)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// A batch's answer: synchronous results settle their phones (releasing their next action), jobs
/// become pending. Returns whether jobs were added.
fn answer_batch(
    s: &mut Schedule<'_>,
    batch: &Batch,
    answer: Result<BatchResults, ProviderError>,
    fatal: &mut Option<PhoneError>,
) -> bool {
    match answer {
        Err(e) => {
            let pe = e.as_phone_error();
            if e.is_fatal() {
                fatal.get_or_insert(pe.clone());
            }
            for id in batch.ids() {
                s.settle(id.to_owned(), batch.action, Outcome::Failed(pe.clone()));
            }
            false
        }
        Ok(per_phone) => {
            let mut jobs = false;
            for (id, r) in per_phone {
                match r {
                    Ok(Accepted::Done) => s.settle(id, batch.action, Outcome::Ok),
                    Ok(Accepted::Created(new_id)) => {
                        s.created(&id, new_id);
                        s.settle(id, batch.action, Outcome::Ok);
                    }
                    Ok(Accepted::Job(job)) => {
                        let key = (job.phone_id.clone(), job.job_id.clone());
                        s.pending.insert(key, (batch.action, job));
                        jobs = true;
                    }
                    Err(pe) => s.settle(id, batch.action, Outcome::Failed(pe)),
                }
            }
            jobs
        }
    }
}

/// Jobs that finished: their phones settle, and the next actions of those that succeeded are ready.
fn finish_jobs(s: &mut Schedule<'_>, finished: Vec<(PendingJob, Result<(), PhoneError>)>) {
    for (job, result) in finished {
        let key = (job.phone_id, job.job_id);
        let Some((action, job)) = s.pending.remove(&key) else {
            continue;
        };
        let outcome = match result {
            Ok(()) => Outcome::Ok,
            Err(pe) => Outcome::Failed(pe),
        };
        s.settle(job.phone_id, action, outcome);
    }
}
