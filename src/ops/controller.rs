//! The `watch` controller: what a long-running watch keeps between ticks (the spec in force, the fleet
//! handle, drift episodes, heal backoff, the interval the rate limits allow) and one
//! [`Controller::tick`] at a given time, which reloads a changed spec, runs
//! [`super::reconcile::tick`], updates the metrics and returns what happened with the time of the
//! next tick. It never prints and never sleeps: the command owns signals, sleeping and the log, and a
//! test drives ticks on a paused clock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::apply::{Cancel, NoProgress, Options};
use crate::capability::Overrides;
use crate::ops::fleet::{Fleet, Quiet, Reach};
use crate::ops::plan::Scope;
use crate::ops::reconcile::Tick;
use crate::spec::{self, LoadedSpec};
use crate::watch::backoff::Backoff;
use crate::watch::events::{Episodes, Event, TickSummary};
use crate::watch::metrics::TickResult;
use crate::watch::notify::{self, Target};
use crate::watch::server::Shared;

/// What a watch is asked to do, resolved from its command line once.
#[derive(Debug, Clone)]
pub struct Config {
    /// The spec (a file or a directory).
    pub spec: PathBuf,
    /// `--target` and `--exclude`.
    pub selection: crate::select::Selection,
    /// The simulated cloud, and whether to forget it at the first open.
    pub simulate: bool,
    /// `--simulate-reset`.
    pub reset: bool,
    /// How long one tick may take.
    pub timeout: Duration,
    /// `--interval`: from one tick's start to the next's, unless the rate limits need longer.
    pub interval: Duration,
    /// `-v`: call logs.
    pub verbose: bool,
    /// Where the account locks live.
    pub locks: PathBuf,
    /// Every provider at this simulator instead (tests in process: placeholder credentials).
    pub simulator: Option<String>,
    /// The wall time schedules are read in (the machine's; a test gives its own, on a paused clock).
    pub clock: crate::clock::Clock,
}

/// The spec and what follows from it, replaced together when a new valid spec is loaded.
struct Loaded {
    spec: LoadedSpec,
    scope: Scope,
    heal: BTreeSet<&'static str>,
}

fn load(config: &Config) -> anyhow::Result<Loaded> {
    let spec = spec::load_file_for(&config.spec, &spec::Use::of(config.simulate))?;
    let scope = Scope::of(&spec, &config.selection, Overrides::default())?;
    let heal = spec.spec.watch().heal.iter().map(|a| a.as_str()).collect();
    Ok(Loaded { spec, scope, heal })
}

/// What the schedules moved this tick, a line per schedule and action: `schedule office-hours: stop
/// 2 phones (growth-1, growth-2): 2 ok`, or `... not healed (stop is not in watch.heal, ...)`.
fn schedule_lines(t: &crate::ops::reconcile::Tick) -> Vec<String> {
    // (schedule, action) -> the phones, and how many of them ended each way.
    type Moves = (Vec<String>, BTreeMap<&'static str, usize>);
    let mut moved: BTreeMap<(String, &'static str), Moves> = BTreeMap::new();
    for m in crate::ops::reconcile::schedule_moves(t) {
        let entry = moved.entry((m.schedule, m.action.name())).or_default();
        entry.0.push(m.phone);
        *entry.1.entry(m.outcome).or_default() += 1;
    }
    moved
        .into_iter()
        .map(|((schedule, action), (phones, outcomes))| {
            let n = phones.len();
            let shown: Vec<&str> = phones.iter().take(5).map(String::as_str).collect();
            let more = if n > 5 { ", ..." } else { "" };
            let what: Vec<String> = outcomes
                .iter()
                .map(|(o, k)| match *o {
                    "not_healed" => format!(
                        "{k} not healed ({action} is not in watch.heal, or the phones back off)"
                    ),
                    o => format!("{k} {o}"),
                })
                .collect();
            format!(
                "schedule {schedule}: {action} {n} phone{} ({}{more}): {}",
                if n == 1 { "" } else { "s" },
                shown.join(", "),
                what.join(", ")
            )
        })
        .collect()
}

/// One tick as it went.
#[derive(Debug)]
pub struct TickReport {
    /// The tick's number, from 1.
    pub n: u64,
    /// Lines for the log before the tick's own (a changed spec, the pace it allows).
    pub said: Vec<String>,
    /// The tick's counts and its new events; `None` when it was dropped (a signal while reading).
    pub summary: Option<(TickSummary, Vec<Event>)>,
    /// New webhook targets, when the spec changed them.
    pub targets: Option<Vec<Target>>,
    /// When the next tick is due: one interval after this one started, or at once after an overrun.
    pub next: Instant,
}

/// A running watch between its ticks.
pub struct Controller {
    config: Config,
    loaded: Loaded,
    stamp: String,
    fleet: Fleet,
    episodes: Episodes,
    backoff: Backoff,
    cancel: Cancel,
    healing: Arc<AtomicBool>,
    shared: Arc<Shared>,
    interval: Duration,
    hook_urls: Vec<String>,
    n: u64,
}

impl Controller {
    /// Load the spec, take the pace its providers allow and open the fleet. Returns the webhook
    /// targets and the lines to log.
    pub async fn start(
        config: Config,
        shared: Arc<Shared>,
    ) -> anyhow::Result<(Controller, Vec<Target>, Vec<String>)> {
        let loaded = load(&config)?;
        let stamp = spec::stamp(&config.spec);
        let targets = notify::targets(&loaded.spec.spec.watch())?;
        let hook_urls = notify::urls(&targets);
        shared.metrics().spec_valid(true);
        let mut said = vec![format!(
            "watching {} ({}) every {}s; heals: {}",
            config.spec.display(),
            crate::render::counted(loaded.scope.desired.len(), "phone", "phones"),
            config.interval.as_secs(),
            heals(&loaded)
        )];
        let interval = pace(&loaded, &config, &shared, &mut said);
        let fleet = open(&loaded, &config, true).await?;
        mask(&fleet, &hook_urls);
        let controller = Controller {
            config,
            loaded,
            stamp,
            fleet,
            episodes: Episodes::default(),
            backoff: Backoff::default(),
            cancel: Cancel::default(),
            healing: Arc::new(AtomicBool::new(false)),
            shared,
            interval,
            hook_urls,
            n: 0,
        };
        Ok((controller, targets, said))
    }

    /// The interval in force.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The cancel handle of the heals: a signal during one stops new batches.
    pub fn cancel(&self) -> Cancel {
        self.cancel.clone()
    }

    /// Whether a heal is sending now (set for the rest of a tick once its locks are taken).
    pub fn healing(&self) -> Arc<AtomicBool> {
        self.healing.clone()
    }

    /// The fleet handle (its masks render the log and the digests).
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The spec's digest and name, for digests.
    pub fn spec_name(&self) -> String {
        self.config.spec.display().to_string()
    }

    /// One tick at `now`: reload a changed spec, read, plan, heal what may be healed, update the
    /// metrics and the episodes. Dropping the future while it reads sends nothing.
    pub async fn tick(&mut self, now: Instant) -> TickReport {
        self.n += 1;
        let n = self.n;
        let mut said = Vec::new();
        let (pending, targets) = self.reload(&mut said).await;
        let wall = self.config.clock.wall();
        let at = jiff::Timestamp::try_from(wall).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let opts = Options {
            deadline: now + self.config.timeout,
            progress: Arc::new(NoProgress),
            cancel: self.cancel.clone(),
        };
        let t = {
            let digest = self.loaded.spec.digest.clone();
            let backoff = &self.backoff;
            let may_heal = |c: &crate::plan::PhoneChange| backoff.may_heal(c, n, &digest);
            let providers = self.loaded.spec.spec.providers.clone();
            let (simulate, locks) = (self.config.simulate, self.config.locks.clone());
            let command = format!("watch {}", self.config.spec.display());
            let flag = self.healing.clone();
            let acquire = move |p: &crate::plan::Plan| {
                let desired: Vec<_> = p.changes.iter().map(|c| c.desired.clone()).collect();
                let held = crate::ops::lock::acquire_now(
                    &locks,
                    &crate::select::in_scope(&providers, &desired),
                    simulate,
                    &command,
                )?;
                flag.store(true, Ordering::SeqCst);
                Ok(held)
            };
            let heal = crate::ops::reconcile::Heal {
                actions: &self.loaded.heal,
                may_heal: &may_heal,
                acquire: &acquire,
            };
            crate::ops::reconcile::tick(
                &self.loaded.spec,
                &self.loaded.scope,
                &self.fleet,
                &heal,
                &opts,
                at,
                &Quiet,
            )
            .await
        };
        said.extend(schedule_lines(&t));
        self.healing.store(false, Ordering::SeqCst);
        let elapsed = Instant::now().saturating_duration_since(now);
        let summary = self.record(n, &t, pending, elapsed);
        if elapsed > self.interval {
            said.push(format!(
                "tick {n} took {:.1}s, longer than the interval ({}s): the next tick starts at once",
                elapsed.as_secs_f64(),
                self.interval.as_secs()
            ));
        }
        // A schedule's next edge is acted on when it comes, not up to an interval late.
        let edge = t
            .planned
            .plan
            .schedules
            .iter()
            .filter_map(|r| r.next.first())
            .filter_map(|e| e.at.parse::<jiff::Timestamp>().ok())
            .min()
            .map(|e| {
                let wait = (e.as_millisecond() - at.as_millisecond()).max(0) as u64;
                now + Duration::from_millis(wait)
            });
        let next = match edge {
            Some(e) if e < now + self.interval => e.max(Instant::now()),
            _ => now + self.interval,
        };
        TickReport {
            n,
            said,
            summary: Some(summary),
            targets,
            next,
        }
    }

    /// A changed spec: the new one if it is valid (reopening the fleet when its providers or limits
    /// changed), else the last good one stays, said once.
    async fn reload(&mut self, said: &mut Vec<String>) -> (Vec<Event>, Option<Vec<Target>>) {
        let now_stamp = spec::stamp(&self.config.spec);
        if now_stamp == self.stamp {
            return (Vec::new(), None);
        }
        self.stamp = now_stamp;
        let new = load(&self.config).and_then(|l| Ok((notify::targets(&l.spec.spec.watch())?, l)));
        match new {
            Ok((targets, new)) => {
                let reopen = new.scope.providers != self.loaded.scope.providers
                    || new.scope.limits != self.loaded.scope.limits;
                said.push(format!(
                    "the spec changed: {} now (heals: {}); in force from this tick",
                    crate::render::counted(new.scope.desired.len(), "phone", "phones"),
                    heals(&new)
                ));
                self.loaded = new;
                self.interval = pace(&self.loaded, &self.config, &self.shared, said);
                self.hook_urls = notify::urls(&targets);
                mask(&self.fleet, &self.hook_urls);
                self.episodes.spec_valid();
                self.shared.metrics().spec_valid(true);
                if reopen {
                    self.shared.metrics().fleet_reopened();
                    match open(&self.loaded, &self.config, false).await {
                        Ok(f) => {
                            mask(&f, &self.hook_urls);
                            let old = std::mem::replace(&mut self.fleet, f);
                            let _ = old.close().await;
                        }
                        Err(e) => said.push(format!("cannot connect with the new spec: {e:#}")),
                    }
                }
                (Vec::new(), Some(targets))
            }
            Err(e) => {
                let message = format!("{e:#}");
                self.shared.metrics().spec_valid(false);
                said.push(format!(
                    "the spec on disk is invalid; the last good one stays in force:\n{message}"
                ));
                (
                    self.episodes
                        .spec_invalid(&self.stamp, &message)
                        .into_iter()
                        .collect(),
                    None,
                )
            }
        }
    }

    /// The tick's outcome into the backoff, the episodes and the metrics; its summary and events.
    fn record(
        &mut self,
        n: u64,
        t: &Tick,
        pending: Vec<Event>,
        elapsed: Duration,
    ) -> (TickSummary, Vec<Event>) {
        let seconds = elapsed.as_secs_f64();
        let result = TickResult::of(t, &self.loaded.scope);
        if let Some(report) = &t.healed {
            self.backoff
                .record(report, &t.heal.changes, n, &self.loaded.spec.digest);
        }
        let mut events = pending;
        events.extend(self.episodes.tick(t));
        let tallies = crate::ops::status::tallies(&t.planned);
        let calls = self
            .fleet
            .clients
            .iter()
            .map(|(name, c)| (name.clone(), c.answers()))
            .collect();
        {
            let mut m = self.shared.metrics();
            m.tick(t, &tallies, result, seconds, unix_now(), &calls);
            if seconds > self.interval.as_secs_f64() {
                m.overrun();
            }
        }
        if result != TickResult::Failed {
            self.shared.succeeded();
        }
        let mut summary = TickSummary::of(
            n,
            self.loaded.scope.desired.len(),
            t,
            &events,
            result.as_str(),
            seconds,
        );
        summary.backing_off = self.backoff.waiting();
        // Failed heals counted whether or not they were news.
        summary.heal_failed += self.episodes.repeated_failures;
        (summary, events)
    }

    /// Close the fleet (the simulated one is saved).
    pub async fn close(self) -> anyhow::Result<()> {
        self.fleet.close().await
    }
}

/// Seconds since the Unix epoch, for metrics and digests.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The heals a spec allows, for the log: `start, stop`, or `none (observe and report only)`.
fn heals(loaded: &Loaded) -> String {
    if loaded.heal.is_empty() {
        "none (observe and report only)".to_owned()
    } else {
        loaded.heal.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

/// The interval in force for `loaded`: `--interval`, stretched to what the providers' rate limits allow
/// (said, and in `phonefleet_tick_interval_seconds`).
fn pace(loaded: &Loaded, config: &Config, shared: &Shared, said: &mut Vec<String>) -> Duration {
    let bounds =
        crate::watch::pace::bounds(&loaded.scope.desired, &loaded.scope.limits, config.interval);
    let interval = bounds.first().map_or(config.interval, |b| b.interval);
    for b in &bounds {
        said.push(format!(
            "provider `{}` allows {}; reading its phones takes {} calls a tick, so a tick can \
             start every {}s at most",
            b.provider,
            b.limit,
            b.calls,
            b.interval.as_secs()
        ));
    }
    if interval > config.interval {
        said.push(format!(
            "ticks start every {}s, not every {}s (--interval): a shorter interval would run into the \
             rate limits",
            interval.as_secs(),
            config.interval.as_secs()
        ));
    }
    shared.set_interval(interval);
    shared.metrics().interval(interval.as_secs_f64());
    interval
}

/// Give the fleet handle the webhooks' URLs to mask.
fn mask(fleet: &Fleet, urls: &[String]) {
    crate::redact::sync_scoped(fleet.masks(), || {
        for u in urls {
            crate::redact::register(u);
        }
    });
}

/// Open the fleet; `--simulate-reset` forgets the simulated fleet at the first open only (a reload of
/// the spec keeps it).
async fn open(loaded: &Loaded, config: &Config, first: bool) -> anyhow::Result<Fleet> {
    let reach = match (&config.simulator, config.simulate) {
        (Some(url), _) => Reach::Simulator(url.clone()),
        (None, true) => Reach::Simulate {
            reset: config.reset && first,
        },
        (None, false) => Reach::Spec,
    };
    Fleet::open(
        &loaded.scope.providers,
        &loaded.scope.desired,
        &loaded.scope.limits,
        reach,
        config.verbose,
        Instant::now() + config.timeout,
    )
    .await
}
