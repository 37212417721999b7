//! What changed since the last tick, as events: a phone drifted (once per drift episode, not every
//! tick), its drift resolved, a heal succeeded or failed, a guard broke, the spec became invalid, a
//! provider became unreachable or recovered. Pure: [`Episodes`] remembers what is under way, and
//! turns each tick into the events that are new.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::apply::Outcome;
use crate::ops::reconcile::Tick;
use crate::plan::{PhoneChange, PhoneView};
use crate::provider::advice::{self, Advice};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A phone began to differ from the spec.
    Drifted,
    /// A drifted phone matches the spec again (without a heal of watch's).
    Resolved,
    /// Watch brought a phone back to the spec.
    Healed,
    /// A heal failed (retried with backoff, or left for a person: `to_do` says).
    HealFailed,
    /// A tick's heals would break a guard: nothing was healed.
    GuardBroken,
    /// The spec on disk is invalid: the last good one stays in force.
    SpecInvalid,
    /// A provider could not be read at all.
    ProviderUnreachable,
    /// A provider that could not be read answers again.
    ProviderRecovered,
}

impl Kind {
    /// The word in logs and Slack messages.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Drifted => "drifted",
            Kind::Resolved => "resolved",
            Kind::Healed => "healed",
            Kind::HealFailed => "heal failed",
            Kind::GuardBroken => "guard broken",
            Kind::SpecInvalid => "spec invalid",
            Kind::ProviderUnreachable => "provider unreachable",
            Kind::ProviderRecovered => "provider recovered",
        }
    }
}

/// One event (names, ids and messages are cleaned; sensitive values masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// What happened.
    pub kind: Kind,
    /// The provider, for phone and provider events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The phone, for phone events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_id: Option<String>,
    /// Its name in the spec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What differs, what was done, or the error.
    pub detail: String,
    /// For a failed heal that needs a person: what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_do: Option<String>,
    /// The schedule the phone follows, when one moved it (`office-hours`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

impl Event {
    fn of_phone(kind: Kind, c: &PhoneChange, detail: String) -> Event {
        Event {
            kind,
            provider: Some(c.provider.clone()),
            phone_id: Some(c.phone_id.clone()),
            name: c.name.clone(),
            detail,
            to_do: None,
            schedule: c.desired.schedule_name().map(str::to_owned),
        }
    }

    fn general(kind: Kind, provider: Option<&str>, detail: String) -> Event {
        Event {
            kind,
            provider: provider.map(str::to_owned),
            phone_id: None,
            name: None,
            detail,
            to_do: None,
            schedule: None,
        }
    }
}

/// What is under way between ticks.
#[derive(Debug, Default)]
pub struct Episodes {
    /// Phones in a drift episode, with what their event said (provider, phone id) -> (name, detail).
    drifted: BTreeMap<(String, String), (Option<String>, String)>,
    /// Broken guards, by description, while they stay broken.
    guards: BTreeSet<String>,
    /// Providers that could not be read.
    unreachable: BTreeSet<String>,
    /// The invalid spec reported last (its stamp), until a valid one is loaded.
    invalid: Option<String>,
    /// The failure last said for a phone whose heals fail: said again only when it changes (not on
    /// every retry); forgotten when the phone's episode ends.
    failing: BTreeMap<(String, String), String>,
    /// Failed heals of the last tick that were not said again (the same failure as before).
    pub repeated_failures: usize,
}

/// `state: running -> stopped; traffic: direct -> routing` for the attributes that change.
fn differs(c: &PhoneChange) -> String {
    if let Some(reason) = &c.blocked {
        return reason.clone();
    }
    let (before, after) = PhoneView::changed_only(&c.before, &c.after);
    let mut parts = Vec::new();
    if let (Some(b), Some(a)) = (&before.state, &after.state) {
        parts.push(format!("state: {b} -> {a}"));
    }
    if let (Some(b), Some(a)) = (&before.traffic, &after.traffic) {
        parts.push(format!("traffic: {b} -> {a}"));
    }
    let keys: BTreeSet<&String> = after
        .properties
        .keys()
        .chain(before.properties.keys())
        .collect();
    if !keys.is_empty() {
        let keys: Vec<&str> = keys.into_iter().map(String::as_str).collect();
        parts.push(format!("properties: {}", keys.join(", ")));
    }
    if parts.is_empty() {
        parts.push(crate::render::text::action_list(&c.actions));
    }
    parts.join("; ")
}

impl Episodes {
    /// The events of one tick, and the episodes moved on. Values are masked as plans show them.
    pub fn tick(&mut self, t: &Tick) -> Vec<Event> {
        let plan = t.planned.plan.shown(false);
        let mut out = Vec::new();
        self.repeated_failures = 0;
        // Providers first: their phones' events follow from them. A provider is unreachable when it
        // could not be read at all, or when none of its phones could.
        let mut failed: BTreeMap<String, String> = t
            .planned
            .observed
            .failed_providers
            .iter()
            .map(|(p, f)| (p.clone(), f.reason.clone()))
            .collect();
        for (provider, phones) in &t.planned.observed.phones {
            let mut reasons = phones.values().map(|o| match o {
                crate::state::Observation::Unreadable(why) => Some(why),
                _ => None,
            });
            if let Some(Some(first)) = reasons.next()
                && reasons.all(|r| r.is_some())
            {
                failed
                    .entry(provider.clone())
                    .or_insert_with(|| first.clone());
            }
        }
        for (p, reason) in &failed {
            if !self.unreachable.contains(p) {
                out.push(Event::general(
                    Kind::ProviderUnreachable,
                    Some(p),
                    reason.clone(),
                ));
            }
        }
        let failed: BTreeSet<String> = failed.into_keys().collect();
        for p in self.unreachable.difference(&failed) {
            out.push(Event::general(
                Kind::ProviderRecovered,
                Some(p),
                "answers again".into(),
            ));
        }
        self.unreachable = failed;
        // Heals, per phone: ok when every action of it is.
        let mut healed: BTreeMap<(String, String), Vec<&crate::apply::PhoneResult>> =
            BTreeMap::new();
        for r in t.healed.iter().flat_map(|h| &h.results) {
            if r.action.is_some() {
                healed
                    .entry((r.provider.clone(), r.phone_id.clone()))
                    .or_default()
                    .push(r);
            }
        }
        let by_phone: BTreeMap<(&str, &str), &PhoneChange> = plan
            .changes
            .iter()
            .map(|c| ((c.provider.as_str(), c.phone_id.as_str()), c))
            .collect();
        // Drift now: phones that differ (blocked included), not those that could not be read.
        let now: BTreeMap<(String, String), &PhoneChange> = plan
            .changes
            .iter()
            .filter(|c| !c.unreadable && (c.blocked.is_some() || !c.actions.is_empty()))
            .map(|c| ((c.provider.clone(), c.phone_id.clone()), c))
            .collect();
        for (key, c) in &now {
            if !self.drifted.contains_key(key) {
                let detail = differs(c);
                out.push(Event::of_phone(Kind::Drifted, c, detail.clone()));
                self.drifted.insert(key.clone(), (c.name.clone(), detail));
            }
        }
        // Phones no longer drifting and not read as unreadable: resolved. An unread phone keeps its
        // episode (nothing is known of it).
        let unread: BTreeSet<(String, String)> = plan
            .changes
            .iter()
            .filter(|c| c.unreadable)
            .map(|c| (c.provider.clone(), c.phone_id.clone()))
            .collect();
        let gone: Vec<(String, String)> = self
            .drifted
            .keys()
            .filter(|k| !now.contains_key(*k) && !unread.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.failing.remove(&key);
            if let Some((name, _)) = self.drifted.remove(&key) {
                out.push(Event {
                    kind: Kind::Resolved,
                    provider: Some(key.0),
                    phone_id: Some(key.1),
                    name,
                    detail: "matches the spec again".into(),
                    to_do: None,
                    schedule: None,
                });
            }
        }
        for ((provider, id), results) in &healed {
            let Some(c) = by_phone.get(&(provider.as_str(), id.as_str())) else {
                continue;
            };
            // The first failure speaks for the phone.
            let failure = results.iter().find_map(|r| match &r.outcome {
                Outcome::Failed(e) => Some((r.action.as_ref().map(|a| a.name()), e)),
                _ => None,
            });
            if results.iter().all(|r| r.outcome == Outcome::Ok) {
                out.push(Event::of_phone(
                    Kind::Healed,
                    c,
                    crate::render::text::action_list(&c.actions),
                ));
                // The episode ends with the heal: the next tick sees the phone as declared.
                self.drifted.remove(&(provider.clone(), id.clone()));
                self.failing.remove(&(provider.clone(), id.clone()));
            } else if let Some((action, e)) = failure {
                let detail = format!("{}: {}: {}", action.unwrap_or("heal"), e.code, e.message);
                // Said once per failure: a retry that fails the same way is not news.
                let said = crate::render::wrap::normalise(&detail, id);
                if self.failing.get(&(provider.clone(), id.clone())) == Some(&said) {
                    self.repeated_failures += 1;
                    continue;
                }
                self.failing.insert((provider.clone(), id.clone()), said);
                let mut event = Event::of_phone(Kind::HealFailed, c, detail);
                event.to_do = match advice::for_failure(c.kind, &e.code, action) {
                    Advice::Person(what) => Some(what.to_owned()),
                    Advice::Retry => None,
                };
                out.push(event);
            }
        }
        // Guards: once while broken.
        let broken: BTreeSet<String> = crate::plan::guard::broken(&t.heal.guards)
            .map(|g| g.describe())
            .filter(|_| t.refused.is_some())
            .collect();
        for g in broken.difference(&self.guards) {
            out.push(Event::general(
                Kind::GuardBroken,
                None,
                format!("{g}; nothing was healed this tick"),
            ));
        }
        self.guards = broken;
        out
    }

    /// An invalid spec on disk: one event per invalid version (`stamp`), none while it stays.
    pub fn spec_invalid(&mut self, stamp: &str, message: &str) -> Option<Event> {
        if self.invalid.as_deref() == Some(stamp) {
            return None;
        }
        self.invalid = Some(stamp.to_owned());
        Some(Event::general(Kind::SpecInvalid, None, message.to_owned()))
    }

    /// A valid spec is in force again.
    pub fn spec_valid(&mut self) {
        self.invalid = None;
    }
}

/// One tick in numbers: the log line, the digest's summary, `--log-format json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TickSummary {
    /// Tick number, from 1.
    pub tick: u64,
    /// `ok`, `partial` or `failed`.
    pub result: &'static str,
    /// Phones read (selected).
    pub phones: usize,
    /// Phones that differ from the spec now.
    pub drifted: usize,
    /// Of those, new this tick.
    pub new_drift: usize,
    /// Phones healed this tick.
    pub healed: usize,
    /// Phones whose heal failed this tick.
    pub heal_failed: usize,
    /// Phones whose drift resolved (without a heal).
    pub resolved: usize,
    /// Phones whose heal waits (backoff, or a person).
    pub backing_off: usize,
    /// Phones that could not be read.
    pub unreadable: usize,
    /// Why nothing was healed although something could be (a broken guard, a held lock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_healed: Option<String>,
    /// Seconds the tick took.
    pub seconds: f64,
}

impl TickSummary {
    /// The numbers of tick `n` (over `phones` selected phones) from what it did and the events it
    /// made.
    pub fn of(
        n: u64,
        phones: usize,
        t: &Tick,
        events: &[Event],
        result: &'static str,
        seconds: f64,
    ) -> TickSummary {
        let count = |k: Kind| events.iter().filter(|e| e.kind == k).count();
        let s = &t.planned.plan.summary;
        TickSummary {
            tick: n,
            result,
            phones,
            drifted: t
                .planned
                .plan
                .changes
                .iter()
                .filter(|c| !c.unreadable)
                .count(),
            new_drift: count(Kind::Drifted),
            healed: count(Kind::Healed),
            heal_failed: count(Kind::HealFailed),
            resolved: count(Kind::Resolved),
            backing_off: 0,
            unreadable: s.unreadable,
            not_healed: t
                .refused
                .as_ref()
                .map(|r| r.0.lines().next().unwrap_or_default().to_owned())
                .or_else(|| t.busy.clone()),
            seconds,
        }
    }
}
