//! Schedules: when phones should run, as part of the spec. A schedule is an IANA time zone and windows
//! (`mon-fri 09:00-18:00`, `daily 22:00-06:00`): inside a window its phones should run, outside every
//! window they should be stopped. This module parses windows, says what a schedule wants at a moment,
//! finds its edges (the moments it changes its mind) and its running hours a week, and resolves the
//! declared phones that follow a schedule into a power state for one moment. Pure: the moment is always
//! given, never read.
//!
//! Daylight saving: a window's start or end is a wall-clock time of its zone. A time the clocks skip
//! (02:30 on the night they spring forward) is the first moment after the gap; a time the clocks show
//! twice (02:30 on the night they fall back) is its first occurrence. So a window is never skipped and
//! never run twice: on the short night it is shorter, on the long night longer.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::spec::{DesiredPhone, PowerState, ScheduleSpec};

mod review;
pub use review::{NextEdge, Review, hours, review};

/// Minutes in a day.
const DAY: i32 = 24 * 60;

/// How far ahead edges are looked for: a week and a day covers every weekly window.
const HORIZON_DAYS: i32 = 8;

/// One window: the weekdays it starts on (Monday first) and its start and end, in minutes after
/// midnight (an end at or before its start is on the next day; `24:00` is midnight at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    days: [bool; 7],
    start: i32,
    end: i32,
}

/// An example of each form, for error messages.
pub const EXAMPLES: &str = "\"mon-fri 09:00-18:00\", \"daily 22:00-06:00\", \"sat,sun 10:00-16:00\", \"weekdays 08:30-12:00\"";

const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(name: &str) -> Option<usize> {
    NAMES.iter().position(|n| *n == name)
}

fn minutes(text: &str) -> Option<i32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(DAY),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

impl Window {
    /// Parse `DAYS HH:MM-HH:MM`: DAYS is `daily`, `weekdays`, `weekends`, a day (`mon`), a range
    /// (`mon-fri`, `fri-mon`) or a comma list of those (`mon,wed,fri-sun`).
    pub fn parse(text: &str) -> Result<Window, String> {
        let text = text.trim().to_ascii_lowercase();
        let Some((days_text, times)) = text.split_once(char::is_whitespace) else {
            return Err("a window is `DAYS HH:MM-HH:MM`".into());
        };
        let mut days = [false; 7];
        for part in days_text.split(',') {
            match part {
                "daily" => days = [true; 7],
                "weekdays" => days[..5].iter_mut().for_each(|d| *d = true),
                "weekends" => days[5..].iter_mut().for_each(|d| *d = true),
                _ => {
                    let (from, to) = part.split_once('-').unwrap_or((part, part));
                    let (Some(from), Some(to)) = (day(from), day(to)) else {
                        return Err(format!(
                            "`{part}` is not a day: write daily, weekdays, weekends, or days as mon, \
                             tue, wed, thu, fri, sat, sun (ranges like mon-fri, lists like sat,sun)"
                        ));
                    };
                    let mut d = from;
                    loop {
                        days[d] = true;
                        if d == to {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
            }
        }
        let times = times.trim();
        let Some((start, end)) = times.split_once('-') else {
            return Err(format!("`{times}` is not `HH:MM-HH:MM`"));
        };
        let (Some(start), Some(end)) = (minutes(start.trim()), minutes(end.trim())) else {
            return Err(format!(
                "`{times}` is not `HH:MM-HH:MM` with times from 00:00 to 24:00"
            ));
        };
        if start == DAY {
            return Err("a window cannot start at 24:00; write 00:00".into());
        }
        if start == end {
            return Err(format!(
                "`{times}` starts and ends at the same time: for a whole day write 00:00-24:00"
            ));
        }
        Ok(Window { days, start, end })
    }
}

/// A schedule ready to be asked.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Its name in the spec.
    pub name: String,
    tz: TimeZone,
    windows: Vec<Window>,
}

/// A moment a schedule changes its mind: from then on it wants `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// When.
    pub at: Timestamp,
    /// What it wants from then on.
    pub state: PowerState,
}

/// The timestamp of a wall-clock time of `tz`: a skipped time is the first moment after the gap, a
/// repeated one its first occurrence.
fn resolve(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => ambiguous.unambiguous().ok(),
        AmbiguousOffset::Fold { .. } => ambiguous.earlier().ok(),
        AmbiguousOffset::Gap { .. } => {
            // The first minute the clocks show after the gap (gaps are whole minutes, at most hours).
            let mut t = dt;
            for _ in 0..DAY {
                t = t.checked_add(jiff::Span::new().minutes(1)).ok()?;
                let a = tz.to_ambiguous_timestamp(t);
                if !matches!(a.offset(), AmbiguousOffset::Gap { .. }) {
                    return a.earlier().ok();
                }
            }
            None
        }
    }
}

impl Schedule {
    /// Compile a schedule of the spec: its zone by IANA name, its windows parsed. The error names the
    /// field (`timezone`, or `running/N`) and what is wrong.
    pub fn new(name: &str, spec: &ScheduleSpec) -> Result<Schedule, (String, String)> {
        let tz = TimeZone::get(&spec.timezone).map_err(|_| {
            (
                "timezone".to_owned(),
                format!(
                    "`{}` is not an IANA time zone (such as Europe/Berlin, America/New_York, \
                     Asia/Shanghai, UTC)",
                    spec.timezone
                ),
            )
        })?;
        if spec.running.is_empty() {
            return Err((
                "running".into(),
                format!(
                    "schedule `{name}` has no window: its phones would never run; write one such as {EXAMPLES}"
                ),
            ));
        }
        let windows = spec
            .running
            .iter()
            .enumerate()
            .map(|(i, w)| {
                Window::parse(w).map_err(|e| {
                    (
                        format!("running/{i}"),
                        format!("{e}; for example {EXAMPLES}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Schedule {
            name: name.to_owned(),
            tz,
            windows,
        })
    }

    /// The window occurrences that start on a local day from `from` to `to` (inclusive), as
    /// (start, end) timestamps.
    fn occurrences(&self, from: Date, to: Date) -> Vec<(Timestamp, Timestamp)> {
        let mut out = Vec::new();
        let mut d = from;
        while d <= to {
            let weekday = d.weekday().to_monday_zero_offset() as usize;
            for w in self.windows.iter().filter(|w| w.days[weekday]) {
                let at = |day: Date, m: i32| -> Option<Timestamp> {
                    let (day, m) = if m >= DAY {
                        (day.tomorrow().ok()?, m - DAY)
                    } else {
                        (day, m)
                    };
                    resolve(&self.tz, day.at((m / 60) as i8, (m % 60) as i8, 0, 0))
                };
                let end_day = if w.end <= w.start {
                    d.tomorrow().ok()
                } else {
                    Some(d)
                };
                if let (Some(s), Some(e)) = (at(d, w.start), end_day.and_then(|ed| at(ed, w.end)))
                    && s < e
                {
                    out.push((s, e));
                }
            }
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        out
    }

    fn local_date(&self, t: Timestamp) -> Date {
        self.tz.to_datetime(t).date()
    }

    fn around(&self, t: Timestamp, before: i32, after: i32) -> Vec<(Timestamp, Timestamp)> {
        let today = self.local_date(t);
        let from = today
            .checked_add(jiff::Span::new().days(-before))
            .unwrap_or(today);
        let to = today
            .checked_add(jiff::Span::new().days(after))
            .unwrap_or(today);
        self.occurrences(from, to)
    }

    /// What the schedule wants at `t`.
    pub fn at(&self, t: Timestamp) -> PowerState {
        let inside = self.around(t, 1, 0).iter().any(|(s, e)| *s <= t && t < *e);
        if inside {
            PowerState::Running
        } else {
            PowerState::Stopped
        }
    }

    /// Every edge after `t` up to `until`, in order.
    pub fn edges(&self, t: Timestamp, until: Timestamp) -> Vec<Edge> {
        let days = ((until.as_second() - t.as_second()) / 86_400 + 2).clamp(1, 400) as i32;
        let occurrences = self.around(t, 1, days);
        let mut moments: Vec<Timestamp> = occurrences
            .iter()
            .flat_map(|(s, e)| [*s, *e])
            .filter(|m| *m > t && *m <= until)
            .collect();
        moments.sort();
        moments.dedup();
        let wants = |m: Timestamp| {
            if occurrences.iter().any(|(s, e)| *s <= m && m < *e) {
                PowerState::Running
            } else {
                PowerState::Stopped
            }
        };
        let mut state = self.at(t);
        let mut out = Vec::new();
        for m in moments {
            let now = wants(m);
            if now != state {
                out.push(Edge { at: m, state: now });
                state = now;
            }
        }
        out
    }

    /// The first edge after `t`, if the schedule has one within a week and a day.
    pub fn next_edge(&self, t: Timestamp) -> Option<Edge> {
        let until =
            Timestamp::from_second(t.as_second() + i64::from(HORIZON_DAYS) * 86_400).ok()?;
        self.edges(t, until).into_iter().next()
    }

    /// Running minutes in the week from `t`.
    pub fn minutes_per_week(&self, t: Timestamp) -> u64 {
        let week = 7 * 86_400;
        let Ok(end) = Timestamp::from_second(t.as_second() + week) else {
            return 0;
        };
        let mut running = 0i64;
        let mut from = t;
        let mut state = self.at(t);
        for e in self.edges(t, end) {
            if state == PowerState::Running {
                running += e.at.as_second() - from.as_second();
            }
            from = e.at;
            state = e.state;
        }
        if state == PowerState::Running {
            running += end.as_second() - from.as_second();
        }
        (running / 60).max(0) as u64
    }

    /// `18:00 CET` when `t` is on the same local day as `now`, `Mon 09:00 CET` otherwise.
    pub fn wall(&self, t: Timestamp, now: Timestamp) -> String {
        let dt = self.tz.to_datetime(t);
        let abbreviation = self.tz.to_offset_info(t).abbreviation().to_owned();
        let clock = format!("{:02}:{:02} {abbreviation}", dt.hour(), dt.minute());
        if dt.date() == self.local_date(now) {
            clock
        } else {
            let name = NAMES[dt.weekday().to_monday_zero_offset() as usize];
            let mut day = name.to_owned();
            day[..1].make_ascii_uppercase();
            format!("{day} {clock}")
        }
    }
}

/// The spec's schedules, compiled (a schedule that does not compile is left out: validation has said
/// why).
#[derive(Debug, Clone, Default)]
pub struct Schedules(BTreeMap<String, Schedule>);

impl Schedules {
    /// Compile every schedule of a spec.
    pub fn of(specs: &BTreeMap<String, ScheduleSpec>) -> Schedules {
        Schedules(
            specs
                .iter()
                .filter_map(|(n, s)| Some((n.clone(), Schedule::new(n, s).ok()?)))
                .collect(),
        )
    }

    /// A schedule by name.
    pub fn get(&self, name: &str) -> Option<&Schedule> {
        self.0.get(name)
    }

    /// Every schedule.
    pub fn iter(&self) -> impl Iterator<Item = &Schedule> {
        self.0.values()
    }

    /// Whether any declared phone follows a schedule.
    pub fn any(desired: &[DesiredPhone]) -> bool {
        desired.iter().any(|d| d.schedule.is_some())
    }

    /// The declared phones with each scheduled one's power state as its schedule wants it at `t`, and a
    /// note of why (`schedule office-hours, until 18:00 CET`).
    pub fn resolve(&self, desired: &[DesiredPhone], t: Timestamp) -> Vec<DesiredPhone> {
        let mut out = desired.to_vec();
        self.resolve_in_place(&mut out, t);
        out
    }

    /// [`Schedules::resolve`], in place.
    pub fn resolve_in_place(&self, desired: &mut [DesiredPhone], t: Timestamp) {
        for d in desired.iter_mut() {
            let Some(scheduled) = d.schedule.as_mut() else {
                continue;
            };
            let Some(s) = self.get(&scheduled.name) else {
                continue;
            };
            let name = &scheduled.name;
            let state = s.at(t);
            scheduled.why = Some(match s.next_edge(t) {
                Some(e) => format!("schedule {name}, until {}", s.wall(e.at, t)),
                None => format!("schedule {name}, always"),
            });
            d.state = Some(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(tz: &str, windows: &[&str]) -> Schedule {
        Schedule::new(
            "s",
            &ScheduleSpec {
                timezone: tz.into(),
                running: windows.iter().map(|w| (*w).to_owned()).collect(),
            },
        )
        .unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn windows_parse_or_say_why() {
        let w = Window::parse("mon-fri 09:00-18:00").unwrap();
        assert_eq!(w.days, [true, true, true, true, true, false, false]);
        assert_eq!((w.start, w.end), (540, 1080));
        assert_eq!(
            Window::parse("fri-mon 22:00-06:00").unwrap().days,
            [true, false, false, false, true, true, true]
        );
        assert_eq!(Window::parse("sat,sun 00:00-24:00").unwrap().end, DAY);
        assert_eq!(
            Window::parse("weekends 10:00-11:00").unwrap().days[5..],
            [true, true]
        );
        for (bad, says) in [
            ("mon-fry 09:00-18:00", "`mon-fry` is not a day"),
            ("daily 9:00-18:00", "is not `HH:MM-HH:MM`"),
            ("daily 09:00-25:00", "is not `HH:MM-HH:MM`"),
            ("daily 09:00", "is not `HH:MM-HH:MM`"),
            ("daily", "a window is `DAYS HH:MM-HH:MM`"),
            ("daily 10:00-10:00", "for a whole day write 00:00-24:00"),
        ] {
            let e = Window::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = Schedule::new(
            "x",
            &ScheduleSpec {
                timezone: "Europe/Berln".into(),
                running: vec!["daily 09:00-10:00".into()],
            },
        )
        .unwrap_err();
        assert_eq!(e.0, "timezone");
        let e = Schedule::new(
            "x",
            &ScheduleSpec {
                timezone: "UTC".into(),
                running: vec![],
            },
        )
        .unwrap_err();
        assert!(e.1.contains("has no window"), "{e:?}");
    }

    #[test]
    fn a_week_of_office_hours() {
        let s = schedule("Europe/Berlin", &["mon-fri 09:00-18:00"]);
        // Monday 2026-12-07, CET (+01:00).
        assert_eq!(s.at(ts("2026-12-07T07:59:59Z")), PowerState::Stopped);
        assert_eq!(s.at(ts("2026-12-07T08:00:00Z")), PowerState::Running);
        assert_eq!(s.at(ts("2026-12-07T16:59:59Z")), PowerState::Running);
        assert_eq!(s.at(ts("2026-12-07T17:00:00Z")), PowerState::Stopped);
        assert_eq!(
            s.at(ts("2026-12-12T10:00:00Z")),
            PowerState::Stopped,
            "Saturday"
        );
        let edges = s.edges(ts("2026-12-07T00:00:00Z"), ts("2026-12-14T00:00:00Z"));
        assert_eq!(edges.len(), 10);
        assert_eq!(
            edges[0],
            Edge {
                at: ts("2026-12-07T08:00:00Z"),
                state: PowerState::Running
            }
        );
        assert_eq!(
            edges[9],
            Edge {
                at: ts("2026-12-11T17:00:00Z"),
                state: PowerState::Stopped
            }
        );
        assert_eq!(s.minutes_per_week(ts("2026-12-07T00:00:00Z")), 45 * 60);
        let now = ts("2026-12-07T10:00:00Z");
        assert_eq!(s.wall(s.next_edge(now).unwrap().at, now), "18:00 CET");
        let friday = ts("2026-12-11T18:00:00Z");
        assert_eq!(
            s.wall(s.next_edge(friday).unwrap().at, friday),
            "Mon 09:00 CET"
        );
    }

    #[test]
    fn a_window_crosses_midnight() {
        let s = schedule("Asia/Shanghai", &["daily 22:00-06:00"]);
        // 22:00 in Shanghai (+08:00) is 14:00Z.
        assert_eq!(s.at(ts("2026-12-07T13:59:00Z")), PowerState::Stopped);
        assert_eq!(s.at(ts("2026-12-07T14:00:00Z")), PowerState::Running);
        assert_eq!(
            s.at(ts("2026-12-07T21:59:00Z")),
            PowerState::Running,
            "05:59 the next day"
        );
        assert_eq!(s.at(ts("2026-12-07T22:00:00Z")), PowerState::Stopped);
        assert_eq!(s.minutes_per_week(ts("2026-12-07T00:00:00Z")), 56 * 60);
        // Overlapping windows are one: no edge inside them.
        let o = schedule("UTC", &["daily 08:00-12:00", "mon 11:00-14:00"]);
        let edges = o.edges(ts("2026-12-07T00:00:00Z"), ts("2026-12-08T00:00:00Z"));
        assert_eq!(
            edges.iter().map(|e| e.at).collect::<Vec<_>>(),
            [ts("2026-12-07T08:00:00Z"), ts("2026-12-07T14:00:00Z")]
        );
    }

    /// Count how many times the schedule turns on in [from, to).
    fn starts(s: &Schedule, from: &str, to: &str) -> Vec<Timestamp> {
        s.edges(ts(from), ts(to))
            .into_iter()
            .filter(|e| e.state == PowerState::Running)
            .map(|e| e.at)
            .collect()
    }

    #[test]
    fn daylight_saving_neither_skips_nor_repeats_a_window_in_europe() {
        // Berlin springs forward on 2026-03-29 at 02:00 (to 03:00) and falls back on 2026-10-25 at
        // 03:00 (to 02:00).
        let s = schedule("Europe/Berlin", &["daily 02:30-03:30"]);
        let spring = starts(&s, "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z");
        assert_eq!(spring.len(), 2, "one start a night: {spring:?}");
        // 02:30 does not exist on the 29th: the window starts when the clocks show 03:00 (01:00Z)
        // and ends at 03:30 CEST (01:30Z): shorter, not skipped.
        assert_eq!(spring[0], ts("2026-03-29T01:00:00Z"));
        assert_eq!(s.at(ts("2026-03-29T01:15:00Z")), PowerState::Running);
        assert_eq!(s.at(ts("2026-03-29T01:30:00Z")), PowerState::Stopped);
        let autumn = starts(&s, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z");
        assert_eq!(autumn.len(), 2, "one start a night, not two: {autumn:?}");
        // 02:30 happens twice on the 25th: the first (CEST, 00:30Z); the window runs to 03:30 CET
        // (02:30Z): longer, run once.
        assert_eq!(autumn[0], ts("2026-10-25T00:30:00Z"));
        assert_eq!(s.at(ts("2026-10-25T01:45:00Z")), PowerState::Running);
        assert_eq!(s.at(ts("2026-10-25T02:30:00Z")), PowerState::Stopped);
        // Office hours keep their wall-clock times across the change.
        let o = schedule("Europe/Berlin", &["mon-fri 09:00-18:00"]);
        assert_eq!(
            o.at(ts("2026-03-27T08:00:00Z")),
            PowerState::Running,
            "09:00 CET"
        );
        assert_eq!(
            o.at(ts("2026-03-30T07:00:00Z")),
            PowerState::Running,
            "09:00 CEST"
        );
        assert_eq!(o.at(ts("2026-03-30T06:59:00Z")), PowerState::Stopped);
    }

    #[test]
    fn daylight_saving_neither_skips_nor_repeats_a_window_in_america() {
        // New York springs forward on 2026-03-08 at 02:00 and falls back on 2026-11-01 at 02:00.
        let s = schedule("America/New_York", &["daily 01:30-02:30"]);
        let spring = starts(&s, "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z");
        assert_eq!(spring.len(), 2, "{spring:?}");
        // 01:30 EST (06:30Z) to 02:30, which does not exist: the end is 03:00 EDT (07:00Z).
        assert_eq!(spring[0], ts("2026-03-08T06:30:00Z"));
        assert_eq!(s.at(ts("2026-03-08T06:59:00Z")), PowerState::Running);
        assert_eq!(s.at(ts("2026-03-08T07:00:00Z")), PowerState::Stopped);
        let autumn = starts(&s, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z");
        assert_eq!(autumn.len(), 2, "{autumn:?}");
        // 01:30 happens twice on 11-01: the first (EDT, 05:30Z); it runs until 02:30 EST (07:30Z).
        assert_eq!(autumn[0], ts("2026-11-01T05:30:00Z"));
        assert_eq!(
            s.at(ts("2026-11-01T06:45:00Z")),
            PowerState::Running,
            "the repeated 01:45"
        );
        assert_eq!(s.at(ts("2026-11-01T07:30:00Z")), PowerState::Stopped);
        assert_eq!(
            s.edges(ts("2026-11-01T05:30:00Z"), ts("2026-11-01T09:00:00Z"))
                .len(),
            1
        );
    }
}
