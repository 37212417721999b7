//! What `watch` says: one log line per tick (text or JSON lines), and the webhook digest of a tick's
//! events as JSON (`phonefleet.watch/v1`, documented in docs/watch.md) or as a Slack `text`.
//!
//! A tick's events fold like the plan: events of one kind, provider and detail are one line with a count
//! and a few names (`-v` lists every phone), what needs a person first, then heals, then drift; a tick
//! that heals 500 phones reads as a screenful, not 500 lines. The JSON digest carries the folded groups
//! and the events up to a cap (the JSON log, `--log-format json`, has every one).

use serde::Serialize;

use crate::watch::events::{Event, Kind, TickSummary};

/// The schema name and version of the digest.
pub const SCHEMA: &str = "phonefleet.watch/v1";

/// Events listed in a Slack message; the rest are counted.
const SLACK_LINES: usize = 30;

/// `tick 12 ok: 2,000 phones, 5 drifted (2 new), 3 healed, 1 heal failed, 0 resolved; 3.1s`.
pub fn log_line(s: &TickSummary) -> String {
    let mut line = format!(
        "tick {} {}: {}, {} drifted ({} new), {} healed, {} heal failed, {} resolved",
        s.tick,
        s.result,
        super::counted(s.phones, "phone", "phones"),
        s.drifted,
        s.new_drift,
        s.healed,
        s.heal_failed,
        s.resolved
    );
    if s.unreadable > 0 {
        line.push_str(&format!(", {} unreadable", s.unreadable));
    }
    if s.backing_off > 0 {
        line.push_str(&format!(", {} waiting to retry", s.backing_off));
    }
    line.push_str(&format!("; {:.1}s", s.seconds));
    if let Some(why) = &s.not_healed {
        line.push_str(&format!("; not healed: {why}"));
    }
    crate::redact::text(&line)
}

/// One JSON line: the summary and the tick's events.
pub fn log_json(s: &TickSummary, events: &[Event]) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        #[serde(flatten)]
        summary: &'a TickSummary,
        events: &'a [Event],
    }
    let json = serde_json::to_string(&Line { summary: s, events }).expect("a tick serializes");
    crate::redact::secrets(&json).into_owned()
}

/// One event for a person: `drifted gl / growth-01 (g1): state: running -> stopped`.
pub fn event_line(e: &Event) -> String {
    let who = match (&e.provider, &e.phone_id) {
        (Some(p), Some(id)) => format!(" {p} / {}", crate::spec::label(e.name.as_deref(), id)),
        (Some(p), None) => format!(" {p}"),
        _ => String::new(),
    };
    let mut line = format!("{}{who}: {}", e.kind.word(), e.detail);
    if let Some(todo) = &e.to_do {
        line.push_str(&format!(" (to do: {todo})"));
    }
    crate::redact::text(&line)
}

/// Events of one kind, provider, detail and to-do: one line of a folded tick.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// What happened.
    pub kind: Kind,
    /// The provider, for phone and provider events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// What differs, what was done, or the error (a phone's own id taken out when several share it).
    pub detail: String,
    /// What a person should do, when one should.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_do: Option<String>,
    /// How many events.
    pub count: usize,
    /// The phones, `name (id)`, the first [`GROUP_PHONES`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
    /// The group's first event, in the tick's events (a group of one is said in its own words).
    #[serde(skip)]
    first: usize,
}

/// Phones named per folded group in the digest and in a log without `-v`.
pub const GROUP_PHONES: usize = 10;

/// Events in a JSON digest; the rest are counted (`events_total`).
const DIGEST_EVENTS: usize = 200;

/// What needs a person first, then heals, then drift, then the rest.
fn rank(kind: Kind) -> u8 {
    match kind {
        Kind::HealFailed | Kind::GuardBroken | Kind::SpecInvalid | Kind::ProviderUnreachable => 0,
        Kind::Healed => 1,
        Kind::Drifted => 2,
        Kind::Resolved | Kind::ProviderRecovered => 3,
    }
}

/// A tick's events folded, in the order a person reads them; `all_phones` keeps every phone's name
/// (`-v`, and the log of a small tick) instead of the first [`GROUP_PHONES`].
pub fn fold(events: &[Event], all_phones: bool) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let detail = match &e.phone_id {
            Some(id) => super::wrap::normalise(&e.detail, id),
            None => e.detail.clone(),
        };
        let label = e
            .phone_id
            .as_deref()
            .map(|id| crate::spec::label(e.name.as_deref(), id));
        let found = groups.iter_mut().find(|g| {
            g.kind == e.kind && g.provider == e.provider && g.detail == detail && g.to_do == e.to_do
        });
        match found {
            Some(g) => {
                g.count += 1;
                if let Some(l) = label
                    && (all_phones || g.phones.len() < GROUP_PHONES)
                {
                    g.phones.push(l);
                }
            }
            None => groups.push(Group {
                kind: e.kind,
                provider: e.provider.clone(),
                detail,
                to_do: e.to_do.clone(),
                count: 1,
                phones: label.into_iter().collect(),
                first: i,
            }),
        }
    }
    groups.sort_by_key(|g| (rank(g.kind), g.first));
    groups
}

/// One folded group for a person: an event line for one phone, a counted line and its phones for more.
pub fn group_lines(g: &Group, events: &[Event]) -> Vec<String> {
    if g.count == 1
        && let Some(e) = events.get(g.first)
    {
        // The event itself, in its own words (its id not taken out).
        return vec![event_line(e)];
    }
    let mut line = format!(
        "{} {} / {}: {}",
        g.kind.word(),
        g.provider.as_deref().unwrap_or("-"),
        super::counted(g.count, "phone", "phones"),
        g.detail
    );
    if let Some(todo) = &g.to_do {
        line.push_str(&format!(" (to do: {todo})"));
    }
    let mut out = vec![crate::redact::text(&line)];
    if !g.phones.is_empty() {
        let mut list = g.phones.join(", ");
        if g.phones.len() < g.count {
            list.push_str(&format!(
                " ... and {} more (-v lists every phone)",
                g.count - g.phones.len()
            ));
        }
        out.push(format!("  phones: {}", crate::redact::text(&list)));
    }
    out
}

/// The JSON digest of a tick.
pub fn digest_json(spec: &str, time_unix: u64, s: &TickSummary, events: &[Event]) -> String {
    #[derive(Serialize)]
    struct Digest<'a> {
        schema: &'static str,
        spec: &'a str,
        time: String,
        summary: &'a TickSummary,
        /// The events folded, what needs a person first.
        groups: Vec<Group>,
        /// The events, the first [`DIGEST_EVENTS`] in the order of `groups`.
        events: Vec<&'a Event>,
        /// How many events the tick had.
        events_total: usize,
    }
    let groups = fold(events, false);
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by_key(|e| rank(e.kind));
    ordered.truncate(DIGEST_EVENTS);
    let json = serde_json::to_string(&Digest {
        schema: SCHEMA,
        spec,
        time: format!("{}Z", crate::render::time::utc(time_unix).replace(' ', "T")),
        summary: s,
        groups,
        events: ordered,
        events_total: events.len(),
    })
    .expect("a digest serializes");
    crate::redact::secrets(&json).into_owned()
}

/// The Slack digest: `{"text": ...}` with a headline and one line per event.
pub fn digest_slack(spec: &str, s: &TickSummary, events: &[Event]) -> String {
    let mut text = format!(
        "*phonefleet watch* `{}`, tick {}: {} drifted ({} new), {} healed, {} heal failed, {} resolved",
        super::inert::slack(&crate::redact::text(spec)).replace('`', "'"),
        s.tick,
        s.drifted,
        s.new_drift,
        s.healed,
        s.heal_failed,
        s.resolved
    );
    // Folded: what needs a person first, then heals, then drift.
    let groups = fold(events, false);
    for g in groups.iter().take(SLACK_LINES) {
        text.push_str("\n• ");
        // Names and provider messages: no mention, link or Slack control sequence.
        text.push_str(&super::inert::slack(&group_lines(g, events).join("\n    ")));
    }
    if groups.len() > SLACK_LINES {
        let rest: usize = groups[SLACK_LINES..].iter().map(|g| g.count).sum();
        text.push_str(&format!(
            "\n… and {} more events in {} groups",
            rest,
            groups.len() - SLACK_LINES
        ));
    }
    let json = serde_json::json!({ "text": text }).to_string();
    crate::redact::secrets(&json).into_owned()
}

#[cfg(test)]
mod fold_tests {
    use super::*;

    fn event(kind: Kind, id: &str, detail: &str) -> Event {
        Event {
            kind,
            provider: Some("gl".into()),
            phone_id: Some(id.into()),
            name: Some(format!("growth-{id}")),
            detail: detail.into(),
            to_do: None,
            schedule: None,
        }
    }

    #[test]
    fn events_fold_by_kind_provider_and_detail_what_needs_a_person_first() {
        let mut events: Vec<Event> = (0..30)
            .map(|i| event(Kind::Drifted, &format!("g{i}"), "state: running -> stopped"))
            .collect();
        events.extend((0..25).map(|i| event(Kind::Healed, &format!("g{i}"), "start")));
        events.push(event(
            Kind::HealFailed,
            "g99",
            "start: 43006: phone g99 is being remotely connected",
        ));
        let groups = fold(&events, false);
        let kinds: Vec<Kind> = groups.iter().map(|g| g.kind).collect();
        assert_eq!(kinds, [Kind::HealFailed, Kind::Healed, Kind::Drifted]);
        assert_eq!(groups[2].count, 30);
        assert_eq!(groups[2].phones.len(), GROUP_PHONES);
        // One event keeps its own words (its id in the message included).
        assert_eq!(
            group_lines(&groups[0], &events),
            [
                "heal failed gl / growth-g99 (g99): start: 43006: phone g99 is being remotely connected"
            ]
        );
        let lines = group_lines(&groups[2], &events);
        assert_eq!(
            lines[0],
            "drifted gl / 30 phones: state: running -> stopped"
        );
        assert!(
            lines[1].ends_with("... and 20 more (-v lists every phone)"),
            "{lines:?}"
        );
        // -v: every phone.
        let all = fold(&events, true);
        assert_eq!(all[2].phones.len(), 30);
        assert!(!group_lines(&all[2], &events)[1].contains("more"));
    }
}
