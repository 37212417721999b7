//! `phonefleet watch SPEC`: keep the fleet as declared between pull requests. Every `--interval` (the
//! next tick starts after the previous one ends, never overlapping) it runs one
//! [`crate::ops::reconcile::tick`]: the same batched reads as `plan`, the plan, heals of what the spec's
//! `watch.heal` allows through the guards and the same executor as `apply` (under the account locks),
//! and reports the rest: a log line per tick, events to webhooks, metrics on `--listen`. The spec is
//! read again when its files change; an invalid one leaves the last good one in force. Glue over
//! `ops` and `watch`: the loop, the clock and the signals live here, nothing else.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::cli::settings::{GlobalSettings, LogFormat, WatchSettings};
use crate::error::ExitStatus;
use crate::ops::controller::{Config, Controller, TickReport, unix_now};
use crate::render;
use crate::watch::events::{Event, TickSummary};
use crate::watch::notify::{Digest, Notifier};
use crate::watch::server::{self, Shared};

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
    let config = Config {
        spec: settings.spec.clone(),
        selection: settings.connect.selection.clone(),
        simulate: settings.connect.simulate,
        reset: settings.connect.simulate_reset,
        timeout: settings.timeout,
        interval: settings.interval,
        verbose: global.verbose > 0,
        locks: crate::ops::lock::dir(),
        simulator: None,
        clock: crate::clock::Clock::system(),
    };
    // The spec is checked before anything listens.
    crate::spec::load_file_for(&config.spec, &crate::spec::Use::of(config.simulate))?;
    let shared = Shared::new(settings.interval);
    let addr = server::serve(&settings.listen, shared.clone()).await?;
    let (mut controller, targets, said) = Controller::start(config, shared).await?;
    let notifier = {
        let log = log.clone();
        Notifier::start(targets, Arc::new(move |line: String| log.say(&line)))
    };
    for (i, line) in said.iter().enumerate() {
        if i == 0 {
            log.say(&format!("{line}; metrics on http://{addr}/metrics"));
        } else {
            log.say(line);
        }
    }
    let mut last: Option<TickSummary> = None;
    loop {
        let started = tokio::time::Instant::now();
        let cancel = controller.cancel();
        let healing = controller.healing();
        let mut stopping = None;
        // A signal while reading drops the tick (nothing was sent); while healing, the calls in flight
        // finish (no new batch starts) and the tick ends by its deadline; a second signal quits at once.
        let report: Option<TickReport> = {
            let tick = controller.tick(started);
            tokio::pin!(tick);
            loop {
                tokio::select! {
                    r = &mut tick => break Some(r),
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
            }
        };
        let next = match &report {
            Some(r) => {
                show(r, &controller, &log, &notifier);
                if let Some((summary, _)) = &r.summary {
                    last = Some(summary.clone());
                }
                r.next
            }
            None => started + controller.interval(),
        };
        let n = report.as_ref().map_or(0, |r| r.n);
        let stop = match stopping.or_else(|| cancel.signal()) {
            Some(signal) => Some(Some(signal)),
            None if settings.max_ticks.is_some_and(|max| n >= max) => Some(None),
            None => tokio::select! {
                _ = tokio::time::sleep_until(next) => None,
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
            let _ = controller.close().await;
            return Ok(ExitStatus::Success);
        }
    }
}

/// A tick's lines in the log, and its digest to the webhooks (rendered with the fleet's masks, the
/// webhooks' URLs among them, in force).
fn show(r: &TickReport, controller: &Controller, log: &Log, notifier: &Notifier) {
    for line in &r.said {
        log.say(line);
    }
    if let Some(targets) = &r.targets {
        notifier.set_targets(targets.clone());
    }
    let Some((summary, events)) = &r.summary else {
        return;
    };
    let masks = controller.fleet().masks();
    crate::redact::sync_scoped(masks, || log.tick(summary, events));
    if !events.is_empty() {
        let spec_name = controller.spec_name();
        let digest = crate::redact::sync_scoped(masks, || Digest {
            json: render::watch::digest_json(&spec_name, unix_now() as u64, summary, events),
            slack: render::watch::digest_slack(&spec_name, summary, events),
        });
        notifier.send(digest);
    }
}
