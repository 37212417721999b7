//! What `watch` says: one log line per tick (text or JSON lines), and the webhook digest of a tick's
//! events as JSON (`phonefleet.watch/v1`, documented in the README) or as a Slack `text`.

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

/// The JSON digest of a tick.
pub fn digest_json(spec: &str, time_unix: u64, s: &TickSummary, events: &[Event]) -> String {
    #[derive(Serialize)]
    struct Digest<'a> {
        schema: &'static str,
        spec: &'a str,
        time: String,
        summary: &'a TickSummary,
        events: &'a [Event],
    }
    let json = serde_json::to_string(&Digest {
        schema: SCHEMA,
        spec,
        time: format!("{}Z", crate::render::time::utc(time_unix).replace(' ', "T")),
        summary: s,
        events,
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
    let mut sorted: Vec<&Event> = events.iter().collect();
    // What needs a person first.
    sorted.sort_by_key(|e| match e.kind {
        Kind::HealFailed | Kind::GuardBroken | Kind::SpecInvalid | Kind::ProviderUnreachable => 0,
        _ => 1,
    });
    for e in sorted.iter().take(SLACK_LINES) {
        text.push_str("\n• ");
        // Names and provider messages: no mention, link or Slack control sequence.
        text.push_str(&super::inert::slack(&event_line(e)));
    }
    if events.len() > SLACK_LINES {
        text.push_str(&format!(
            "\n… and {} more events",
            events.len() - SLACK_LINES
        ));
    }
    let json = serde_json::json!({ "text": text }).to_string();
    crate::redact::secrets(&json).into_owned()
}
