//! What the schedules of a plan do over a week, for a reviewer: the phones each covers, its next
//! edges, its running hours a week (and, against a pull request's base, what those phones ran before),
//! and whether its next stop would break `max_stop_percent`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Schedules;
use crate::spec::{DesiredPhone, PowerState};

/// What one schedule does over a week, for a reviewer: the phones it covers, its next edges, its
/// running hours a week (and, against a pull request's base, what those phones ran before), and
/// whether its next stop would break `max_stop_percent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The schedule's name.
    pub schedule: String,
    /// Its time zone.
    pub timezone: String,
    /// Phones of this plan that follow it.
    pub phones: usize,
    /// What it wants at the plan's moment.
    pub now: PowerState,
    /// Its next edges (up to four): when (RFC 3339), in its zone's words (`Mon 09:00 CET`), and what it
    /// wants from then on.
    pub next: Vec<NextEdge>,
    /// Running minutes a week, per phone.
    pub minutes_per_week: u64,
    /// Against `plan --base`: the running hours a week those phones had under the base spec, per phone
    /// on average (a fixed `running` is 168, `stopped` 0, another schedule its hours); none without a
    /// base, or when the base did not manage their power.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes_before: Option<u64>,
    /// Set when the next stop would stop a larger share of a provider's declared phones than
    /// `max_stop_percent`: what it would be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged: Option<String>,
}

/// One coming edge of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextEdge {
    /// RFC 3339, UTC.
    pub at: String,
    /// In the schedule's zone: `Mon 09:00 CET`.
    pub wall: String,
    /// What it wants from then on.
    pub state: PowerState,
}

/// A phone's running minutes a week as a declaration says: a schedule's, all of them for `running`,
/// none for `stopped`; nothing when its power is not managed.
fn minutes_of(schedules: &Schedules, d: &DesiredPhone, at: Timestamp) -> Option<u64> {
    match (d.schedule_name(), d.state) {
        (Some(name), _) => schedules.get(name).map(|s| s.minutes_per_week(at)),
        (None, Some(PowerState::Running)) => Some(7 * 24 * 60),
        (None, Some(PowerState::Stopped)) => Some(0),
        (None, None) => None,
    }
}

/// Minutes as hours for a person: `45`, `37.5`.
pub fn hours(minutes: u64) -> String {
    if minutes.is_multiple_of(60) {
        (minutes / 60).to_string()
    } else {
        format!("{:.1}", minutes as f64 / 60.0)
    }
}

/// What each schedule followed by `desired` does from `at`: see [`Review`]. `base` is the pull
/// request's base (its schedules and declared phones); `policy` gives `max_stop_percent` and the
/// declared phones per provider.
pub fn review(
    schedules: &Schedules,
    desired: &[DesiredPhone],
    at: Timestamp,
    base: Option<(&Schedules, &[DesiredPhone])>,
    policy: &crate::plan::Policy,
) -> Vec<Review> {
    let mut by: BTreeMap<&str, Vec<&DesiredPhone>> = BTreeMap::new();
    for d in desired {
        if let Some(name) = d.schedule_name() {
            by.entry(name).or_default().push(d);
        }
    }
    let base_by_id: std::collections::HashMap<(&str, &str), &DesiredPhone> = base
        .map(|(_, phones)| {
            phones
                .iter()
                .map(|d| ((d.provider.as_str(), d.id.as_str()), d))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for (name, phones) in by {
        let Some(s) = schedules.get(name) else {
            continue;
        };
        let Ok(until) = Timestamp::from_second(at.as_second() + 8 * 86_400) else {
            continue;
        };
        let edges = s.edges(at, until);
        let next = edges
            .iter()
            .take(4)
            .map(|e| NextEdge {
                at: e.at.to_string(),
                wall: s.wall(e.at, at),
                state: e.state,
            })
            .collect();
        let minutes_before = base.and_then(|(base_schedules, _)| {
            let before: Vec<u64> = phones
                .iter()
                .filter_map(|d| {
                    let b = base_by_id.get(&(d.provider.as_str(), d.id.as_str()))?;
                    minutes_of(base_schedules, b, at)
                })
                .collect();
            (!before.is_empty()).then(|| before.iter().sum::<u64>() / before.len() as u64)
        });
        // The next stop: the phones it stops against each provider's declared phones.
        let flagged = policy.safety.max_stop_percent.and_then(|limit| {
            let stop = edges.iter().find(|e| e.state == PowerState::Stopped)?;
            let mut stops: BTreeMap<&str, u64> = BTreeMap::new();
            for d in &phones {
                *stops.entry(d.provider.as_str()).or_default() += 1;
            }
            stops.into_iter().find_map(|(provider, n)| {
                let declared = *policy.declared.get(provider)? as u64;
                let percent = (n * 100).div_ceil(declared.max(1));
                (percent > limit).then(|| {
                    format!(
                        "its stop at {} stops {n} of {declared} declared phones at {provider} \
                         ({percent}%), over max_stop_percent {limit}%: watch will refuse that heal",
                        s.wall(stop.at, at)
                    )
                })
            })
        });
        out.push(Review {
            schedule: name.to_owned(),
            timezone: s.tz.iana_name().unwrap_or("").to_owned(),
            phones: phones.len(),
            now: s.at(at),
            next,
            minutes_per_week: s.minutes_per_week(at),
            minutes_before,
            flagged,
        });
    }
    out
}
