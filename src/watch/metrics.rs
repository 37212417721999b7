//! The metrics `watch` serves on `/metrics`, in the Prometheus text format, written with the
//! maintained `prometheus-client` crate: phones by provider and live state, drift, heals, ticks and
//! their duration, API calls by how they ended, and whether the spec on disk is valid.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::ops::reconcile::Tick;
use crate::ops::status::Tally;

type Labels = Vec<(&'static str, String)>;

/// How a tick ended, for `phonefleet_ticks_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickResult {
    /// Every selected phone was read.
    Ok,
    /// Some phones or providers could not be read (the rest was handled).
    Partial,
    /// Nothing could be read (every provider failed, or the fleet could not be opened).
    Failed,
}

impl TickResult {
    /// How a tick over `scope` ended: failed when nothing was read (every provider failed, or no phone
    /// could be read), partial when some phones could not be.
    pub fn of(t: &Tick, scope: &crate::ops::plan::Scope) -> TickResult {
        let failed_providers = t.planned.observed.failed_providers.len();
        let unread = t.planned.plan.summary.unreadable;
        if (failed_providers > 0 && failed_providers >= scope.providers.len())
            || (unread > 0 && unread >= scope.desired.len())
        {
            TickResult::Failed
        } else if unread > 0 {
            TickResult::Partial
        } else {
            TickResult::Ok
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            TickResult::Ok => "ok",
            TickResult::Partial => "partial",
            TickResult::Failed => "failed",
        }
    }
}

/// Every metric, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    phones: Family<Labels, Gauge>,
    drift: Family<Labels, Gauge>,
    heals: Family<Labels, Counter>,
    ticks: Family<Labels, Counter>,
    duration: Histogram,
    last_tick: Gauge<f64, AtomicU64>,
    calls: Family<Labels, Counter>,
    spec_valid: Gauge,
    overruns: Counter,
    interval: Gauge<f64, AtomicU64>,
    schedule_transitions: Family<Labels, Counter>,
    /// The API call counts already added, per provider and status (a re-opened fleet starts again).
    seen_calls: BTreeMap<(String, String), u64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Register every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let phones = Family::<Labels, Gauge>::default();
        registry.register(
            "phonefleet_phones",
            "Selected phones by provider and live state (running, stopped, transitioning, failed, unreadable)",
            phones.clone(),
        );
        let drift = Family::<Labels, Gauge>::default();
        registry.register(
            "phonefleet_drift_phones",
            "Phones that differ from the spec now, by provider",
            drift.clone(),
        );
        let heals = Family::<Labels, Counter>::default();
        registry.register(
            "phonefleet_heals",
            "Heals sent by watch, by provider, action and outcome (ok, failed, skipped)",
            heals.clone(),
        );
        let ticks = Family::<Labels, Counter>::default();
        registry.register(
            "phonefleet_ticks",
            "Ticks by result (ok, partial, failed)",
            ticks.clone(),
        );
        let duration = Histogram::new(exponential_buckets(0.05, 2.0, 14));
        registry.register(
            "phonefleet_tick_duration_seconds",
            "How long a tick took: reads, plan and heals",
            duration.clone(),
        );
        let last_tick = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "phonefleet_last_tick_timestamp_seconds",
            "When the last tick ended, in seconds since the Unix epoch",
            last_tick.clone(),
        );
        let calls = Family::<Labels, Counter>::default();
        registry.register(
            "phonefleet_api_calls",
            "Provider API calls (each try) by provider and how they ended: an HTTP status, throttled, error",
            calls.clone(),
        );
        let spec_valid = Gauge::default();
        registry.register(
            "phonefleet_spec_valid",
            "1 when the spec on disk is valid, 0 when it is not (the last good one stays in force)",
            spec_valid.clone(),
        );
        let overruns = Counter::default();
        registry.register(
            "phonefleet_tick_overruns",
            "Ticks that took longer than --interval (the next one started at once)",
            overruns.clone(),
        );
        let interval = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "phonefleet_tick_interval_seconds",
            "The interval in force: --interval, or longer when a provider's rate limits allow no more reads",
            interval.clone(),
        );
        let schedule_transitions = Family::<Labels, Counter>::default();
        registry.register(
            "phonefleet_schedule_transitions",
            "Starts and stops a schedule asked for, by schedule, action and outcome (ok, failed, skipped, \
             not_healed: the heal policy does not allow it, counted each tick it waits)",
            schedule_transitions.clone(),
        );
        Metrics {
            schedule_transitions,
            interval,
            registry,
            phones,
            drift,
            heals,
            ticks,
            duration,
            last_tick,
            calls,
            spec_valid,
            overruns,
            seen_calls: BTreeMap::new(),
        }
    }

    /// The exposition of every metric in the Prometheus text format (0.0.4), which every Prometheus
    /// and `promtool check metrics` read: the crate writes OpenMetrics, whose counters are described
    /// without their `_total` suffix and which ends in `# EOF`; both are turned into the classic form.
    pub fn encode(&self) -> String {
        let mut open = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut open, &self.registry);
        let counters: std::collections::HashSet<&str> = open
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.strip_suffix(" counter"))
            .collect();
        let mut out = String::with_capacity(open.len());
        for line in open.lines() {
            if line == "# EOF" || line.starts_with("# UNIT ") {
                continue;
            }
            let described = ["# HELP ", "# TYPE "]
                .iter()
                .find_map(|p| line.strip_prefix(p).map(|rest| (*p, rest)));
            match described {
                Some((prefix, rest)) => {
                    let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                    if counters.contains(name) {
                        out.push_str(&format!("{prefix}{name}_total {tail}"));
                    } else {
                        out.push_str(line);
                    }
                }
                None => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    /// Whether the spec on disk is valid.
    pub fn spec_valid(&self, valid: bool) {
        self.spec_valid.set(i64::from(valid));
    }

    /// The interval in force.
    pub fn interval(&self, seconds: f64) {
        self.interval.set(seconds);
    }

    /// A tick that took longer than the interval.
    pub fn overrun(&self) {
        self.overruns.inc();
    }

    /// Everything one tick tells: phones by state and drift per provider (replacing the last tick's),
    /// heals, the tick, and the API calls made since the last update.
    pub fn tick(
        &mut self,
        t: &Tick,
        tallies: &BTreeMap<String, Tally>,
        result: TickResult,
        seconds: f64,
        now_unix: f64,
        calls: &BTreeMap<String, BTreeMap<String, u64>>,
    ) {
        self.phones.clear();
        self.drift.clear();
        for (provider, tally) in tallies {
            for (state, n) in [
                ("running", tally.running),
                ("stopped", tally.stopped),
                ("transitioning", tally.transitioning),
                ("failed", tally.failed),
                ("unreadable", tally.unreadable),
            ] {
                self.phones
                    .get_or_create(&vec![
                        ("provider", provider.clone()),
                        ("state", state.to_owned()),
                    ])
                    .set(n as i64);
            }
            self.drift
                .get_or_create(&vec![("provider", provider.clone())])
                .set((tally.drifted + tally.blocked) as i64);
        }
        for r in t.healed.iter().flat_map(|h| &h.results) {
            let Some(action) = r.action else { continue };
            let outcome = r.outcome.word();
            self.heals
                .get_or_create(&vec![
                    ("provider", r.provider.clone()),
                    ("action", action.name().to_owned()),
                    ("outcome", outcome.to_owned()),
                ])
                .inc();
        }
        for m in crate::ops::reconcile::schedule_moves(t) {
            self.schedule_transitions
                .get_or_create(&vec![
                    ("schedule", m.schedule),
                    ("action", m.action.name().to_owned()),
                    ("outcome", m.outcome.to_owned()),
                ])
                .inc();
        }
        self.ticks
            .get_or_create(&vec![("result", result.as_str().to_owned())])
            .inc();
        self.duration.observe(seconds);
        self.last_tick.set(now_unix);
        self.add_calls(calls);
    }

    /// Add the calls counted since the last update (`calls`: per provider, the client's running totals
    /// by status; a total below the last seen means the fleet was opened again).
    pub fn add_calls(&mut self, calls: &BTreeMap<String, BTreeMap<String, u64>>) {
        for (provider, by_status) in calls {
            for (status, total) in by_status {
                let key = (provider.clone(), status.clone());
                let before = self.seen_calls.get(&key).copied().unwrap_or(0);
                let delta = if *total >= before {
                    total - before
                } else {
                    *total
                };
                if delta > 0 {
                    self.calls
                        .get_or_create(&vec![
                            ("provider", provider.clone()),
                            ("status", status.clone()),
                        ])
                        .inc_by(delta);
                }
                self.seen_calls.insert(key, *total);
            }
        }
    }

    /// Forget the call totals seen (the fleet is about to be opened again).
    pub fn fleet_reopened(&mut self) {
        self.seen_calls.clear();
    }
}
