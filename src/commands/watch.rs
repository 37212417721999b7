//! `phonefleet watch SPEC`: keep the fleet as declared between pull requests. Every `--interval` (the
//! next tick starts after the previous one ends, never overlapping) it runs one
//! [`crate::ops::reconcile::tick`]: the same batched reads as `plan`, the plan, heals of what the spec's
//! `watch.heal` allows through the guards and the same executor as `apply` (under the account locks),
//! and reports the rest: a log line per tick, events to webhooks, metrics on `--listen`. The spec is
//! read again when its files change; an invalid one leaves the last good one in force. Glue over
//! `ops` and `watch`: the loop, the clock and the signals live here, nothing else.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::apply::{Cancel, NoProgress, Options};
use crate::capability::Overrides;
use crate::cli::settings::{GlobalSettings, LogFormat, WatchSettings};
use crate::error::ExitStatus;
use crate::ops::fleet::{Fleet, Quiet, Reach};
use crate::ops::plan::Scope;
use crate::ops::reconcile::Tick;
use crate::render;
use crate::spec::{self, LoadedSpec};
use crate::watch::backoff::Backoff;
use crate::watch::events::{Episodes, Event, TickSummary};
use crate::watch::metrics::TickResult;
use crate::watch::notify::{self, Digest, Notifier};
use crate::watch::server::{self, Shared};

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Where the log goes: stderr, one line per tick (and per event in text).
struct Log {
    json: bool,
    /// `-v`: every phone of a folded group.
    verbose: bool,
}

impl Log {
    fn say(&self, line: &str) {
        if self.json {
            let json =
                serde_json::json!({ "time": unix_now(), "message": crate::redact::text(line) });
            eprintln!("{json}");
        } else {
            eprintln!("watch: {}", crate::redact::text(line));
        }
    }

    fn tick(&self, s: &TickSummary, events: &[Event]) {
        if self.json {
            eprintln!("{}", render::watch::log_json(s, events));
        } else {
            eprintln!("watch: {}", render::watch::log_line(s));
            // Folded like the plan; `-v` lists every phone of a group.
            for g in render::watch::fold(events, self.verbose) {
                for line in render::watch::group_lines(&g, events) {
                    eprintln!("watch:   {line}");
                }
            }
        }
    }
}

/// The interval in force for `loaded`: `--interval`, stretched to what the providers' rate limits allow
/// (said in the log, and in `phonefleet_tick_interval_seconds`).
fn pace(loaded: &Loaded, settings: &WatchSettings, log: &Log, shared: &Shared) -> Duration {
    let bounds = crate::watch::pace::bounds(
        &loaded.scope.desired,
        &loaded.scope.limits,
        settings.interval,
    );
    let interval = bounds.first().map_or(settings.interval, |b| b.interval);
    for b in &bounds {
        log.say(&format!(
            "provider `{}` allows {}; reading its phones takes {} calls a tick, so a tick can \
             start every {}s at most",
            b.provider,
            b.limit,
            b.calls,
            b.interval.as_secs()
        ));
    }
    if interval > settings.interval {
        log.say(&format!(
            "ticks start every {}s, not every {}s (--interval): a shorter interval would run into the \
             rate limits",
            interval.as_secs(),
            settings.interval.as_secs()
        ));
    }
    shared.set_interval(interval);
    shared.metrics().interval(interval.as_secs_f64());
    interval
}

/// The heals a spec allows, for the log: `start, stop`, or `none (observe and report only)`.
fn heals(loaded: &Loaded) -> String {
    if loaded.heal.is_empty() {
        "none (observe and report only)".to_owned()
    } else {
        loaded.heal.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

/// The spec and what follows from it, replaced together when a new valid spec is loaded.
struct Loaded {
    spec: LoadedSpec,
    scope: Scope,
    heal: BTreeSet<&'static str>,
}

fn load(settings: &WatchSettings) -> anyhow::Result<Loaded> {
    let spec = spec::load_file_for(&settings.spec, &spec::Use::of(settings.connect.simulate))?;
    let scope = Scope::of(&spec, &settings.connect.selection, Overrides::default())?;
    let heal = spec.spec.watch().heal.iter().map(|a| a.as_str()).collect();
    Ok(Loaded { spec, scope, heal })
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
async fn open(
    loaded: &Loaded,
    settings: &WatchSettings,
    global: &GlobalSettings,
    first: bool,
) -> anyhow::Result<Fleet> {
    let reach = match crate::commands::plan::reach(&settings.connect) {
        Reach::Simulate { reset } => Reach::Simulate {
            reset: reset && first,
        },
        reach => reach,
    };
    Fleet::open(
        &loaded.scope.providers,
        &loaded.scope.desired,
        &loaded.scope.limits,
        reach,
        global.verbose > 0,
        Instant::now() + settings.timeout,
    )
    .await
}

/// `watch`.
pub async fn watch(
    settings: &WatchSettings,
    global: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let mut signals = crate::signals::Watcher::new();
    let log = Arc::new(Log {
        json: settings.log_format == LogFormat::Json,
        verbose: global.verbose > 0,
    });
    let mut loaded = load(settings)?;
    let mut stamp_now = spec::stamp(&settings.spec);
    let targets = notify::targets(&loaded.spec.spec.watch())?;
    // The webhooks' URLs are secrets too: each fleet handle masks them.
    let mut hook_urls = notify::urls(&targets);
    let shared = Shared::new(settings.interval);
    let addr = server::serve(&settings.listen, shared.clone()).await?;
    shared.metrics().spec_valid(true);
    let notifier = {
        let log = log.clone();
        Notifier::start(targets, Arc::new(move |line: String| log.say(&line)))
    };
    log.say(&format!(
        "watching {} ({}) every {}s; heals: {}; metrics on http://{addr}/metrics",
        settings.spec.display(),
        render::counted(loaded.scope.desired.len(), "phone", "phones"),
        settings.interval.as_secs(),
        heals(&loaded)
    ));
    let mut interval = pace(&loaded, settings, &log, &shared);
    let mut fleet = open(&loaded, settings, global, true).await?;
    mask(&fleet, &hook_urls);
    let mut episodes = Episodes::default();
    let mut backoff = Backoff::default();
    let cancel = Cancel::default();
    let healing = Arc::new(AtomicBool::new(false));
    let mut last: Option<TickSummary> = None;
    let mut n: u64 = 0;
    loop {
        n += 1;
        let started = Instant::now();
        // A changed spec: the new one if it is valid, else the last good one stays, said once.
        let mut pending: Vec<Event> = Vec::new();
        let now_stamp = spec::stamp(&settings.spec);
        if now_stamp != stamp_now {
            stamp_now = now_stamp;
            match load(settings).and_then(|l| Ok((notify::targets(&l.spec.spec.watch())?, l))) {
                Ok((targets, new)) => {
                    let reopen = new.scope.providers != loaded.scope.providers
                        || new.scope.limits != loaded.scope.limits;
                    log.say(&format!(
                        "the spec changed: {} now (heals: {}); in force from this tick",
                        render::counted(new.scope.desired.len(), "phone", "phones"),
                        heals(&new)
                    ));
                    loaded = new;
                    interval = pace(&loaded, settings, &log, &shared);
                    hook_urls = notify::urls(&targets);
                    mask(&fleet, &hook_urls);
                    notifier.set_targets(targets);
                    episodes.spec_valid();
                    shared.metrics().spec_valid(true);
                    if reopen {
                        shared.metrics().fleet_reopened();
                        match open(&loaded, settings, global, false).await {
                            Ok(f) => {
                                mask(&f, &hook_urls);
                                let old = std::mem::replace(&mut fleet, f);
                                let _ = old.close().await;
                            }
                            Err(e) => log.say(&format!("cannot connect with the new spec: {e:#}")),
                        }
                    }
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    shared.metrics().spec_valid(false);
                    log.say(&format!(
                        "the spec on disk is invalid; the last good one stays in force:\n{message}"
                    ));
                    pending.extend(episodes.spec_invalid(&stamp_now, &message));
                }
            }
        }
        let opts = Options {
            deadline: started + settings.timeout,
            progress: Arc::new(NoProgress),
            cancel: cancel.clone(),
        };
        // The tick borrows the backoff and the fleet; both are free again once it ends.
        let (t, stopping) = {
            let mut stopping = None;
            let digest = loaded.spec.digest.clone();
            let may_heal = |c: &crate::plan::PhoneChange| backoff.may_heal(c, n, &digest);
            let simulate = settings.connect.simulate;
            let command = format!("watch {}", settings.spec.display());
            let providers = loaded.spec.spec.providers.clone();
            let flag = healing.clone();
            let acquire = move |p: &crate::plan::Plan| {
                let desired: Vec<_> = p.changes.iter().map(|c| c.desired.clone()).collect();
                let held = crate::ops::lock::acquire(
                    &crate::ops::lock::dir(),
                    &crate::select::in_scope(&providers, &desired),
                    simulate,
                    Duration::ZERO,
                    &command,
                )?;
                flag.store(true, Ordering::SeqCst);
                Ok(held)
            };
            let heal = crate::ops::reconcile::Heal {
                actions: &loaded.heal,
                may_heal: &may_heal,
                acquire: &acquire,
            };
            let tick = crate::ops::reconcile::tick(
                &loaded.spec,
                &loaded.scope,
                &fleet,
                &heal,
                &opts,
                &Quiet,
            );
            tokio::pin!(tick);
            // A signal while reading drops the tick (nothing was sent); while healing, the calls in flight
            // finish (no new batch starts) and the tick ends by its deadline; a second signal quits at once.
            let t: Option<Tick> = loop {
                tokio::select! {
                    t = &mut tick => break Some(t),
                    signal = signals.next() => {
                        if stopping.is_some() {
                            log.say("second signal: quitting at once");
                            std::process::exit(signal.exit_code());
                        }
                        stopping = Some(signal);
                        if healing.load(Ordering::SeqCst) {
                            log.say(&format!("{}: letting the heals in flight finish", signal.name()));
                            cancel.cancel(signal);
                        } else {
                            break None;
                        }
                    }
                }
            };
            (t, stopping)
        };
        healing.store(false, Ordering::SeqCst);
        let seconds = started.elapsed().as_secs_f64();
        if let Some(t) = &t {
            let result = TickResult::of(t, &loaded.scope);
            if let Some(report) = &t.healed {
                backoff.record(report, &t.heal.changes, n, &loaded.spec.digest);
            }
            let mut events = pending;
            events.extend(episodes.tick(t));
            let tallies = crate::ops::status::tallies(&t.planned);
            let calls = fleet
                .clients
                .iter()
                .map(|(name, c)| (name.clone(), c.answers()))
                .collect();
            {
                let mut m = shared.metrics();
                m.tick(t, &tallies, result, seconds, unix_now(), &calls);
                if seconds > interval.as_secs_f64() {
                    m.overrun();
                }
            }
            if result != TickResult::Failed {
                shared.succeeded();
            }
            let mut summary = TickSummary::of(
                n,
                loaded.scope.desired.len(),
                t,
                &events,
                result.as_str(),
                seconds,
            );
            summary.backing_off = backoff.waiting();
            // Failed heals counted whether or not they were news.
            summary.heal_failed += episodes.repeated_failures;
            // Rendered with the fleet's masks (and the webhooks' URLs) in force.
            crate::redact::sync_scoped(fleet.masks(), || log.tick(&summary, &events));
            if seconds > interval.as_secs_f64() {
                log.say(&format!(
                    "tick {n} took {seconds:.1}s, longer than the interval ({}s): the next tick starts \
                     at once",
                    interval.as_secs()
                ));
            }
            if !events.is_empty() {
                let spec_name = settings.spec.display().to_string();
                let digest = crate::redact::sync_scoped(fleet.masks(), || Digest {
                    json: render::watch::digest_json(
                        &spec_name,
                        unix_now() as u64,
                        &summary,
                        &events,
                    ),
                    slack: render::watch::digest_slack(&spec_name, &summary, &events),
                });
                notifier.send(digest);
            }
            last = Some(summary);
        }
        let stop = match stopping.or_else(|| cancel.signal()) {
            Some(signal) => Some(Some(signal)),
            None if settings.max_ticks.is_some_and(|max| n >= max) => Some(None),
            // The next tick starts one interval after this one started, or at once after an overrun.
            None => tokio::select! {
                _ = tokio::time::sleep_until((started + interval).into()) => None,
                signal = signals.next() => Some(Some(signal)),
            },
        };
        if let Some(signal) = stop {
            if let Some(signal) = signal {
                let said = match &last {
                    Some(s) => format!("the last tick: {}", render::watch::log_line(s)),
                    None => "no tick finished".to_owned(),
                };
                log.say(&format!("{}: watch stopped; {said}", signal.name()));
            }
            // Give queued webhooks a moment to go out.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = fleet.close().await;
            return Ok(ExitStatus::Success);
        }
    }
}
