//! What the schedules of a plan do over a week, for a reviewer: as text lines and as a markdown table.
//! One row per schedule: the phones it covers, what it wants now, its next edges, its running hours a
//! week per phone (and what those phones ran under the pull request's base), and a flag when its next
//! stop would break `max_stop_percent`.

use std::fmt::Write;

use crate::plan::Plan;
use crate::render::wrap::{Layout, wrap};
use crate::schedule::{Review, hours};

/// `stop 18:00 CET, start Tue 09:00 CET`.
fn next(r: &Review) -> String {
    let edges: Vec<String> = r
        .next
        .iter()
        .take(2)
        .map(|e| {
            let verb = match e.state {
                crate::spec::PowerState::Running => "start",
                crate::spec::PowerState::Stopped => "stop",
            };
            format!("{verb} {}", e.wall)
        })
        .collect();
    if edges.is_empty() {
        "no change within a week".to_owned()
    } else {
        edges.join(", ")
    }
}

/// `45 h/week each instead of 168`.
fn week(r: &Review) -> String {
    let mut s = format!("{} h/week each", hours(r.minutes_per_week));
    if let Some(before) = r.minutes_before
        && before != r.minutes_per_week
    {
        let _ = write!(s, " instead of {}", hours(before));
    }
    s
}

fn phones(n: usize) -> String {
    format!("{n} phone{}", if n == 1 { "" } else { "s" })
}

/// The text lines, or nothing when no phone of the plan follows a schedule.
pub fn text(plan: &Plan, layout: Layout) -> String {
    let color = layout.color;
    let mut out = String::new();
    if plan.schedules.is_empty() {
        return out;
    }
    let _ = writeln!(out, "{}", color.bold("Schedules (over the next week):"));
    for r in &plan.schedules {
        let line = format!(
            "{} ({}): {}, {} now; next: {}; {}",
            r.schedule,
            r.timezone,
            phones(r.phones),
            r.now.as_str(),
            next(r),
            week(r)
        );
        out.push_str(&wrap(&line, layout.width, "  ", "    "));
        if let Some(flag) = &r.flagged {
            out.push_str(&color.warn(&wrap(flag, layout.width, "    ! ", "      ")));
        }
    }
    out.push('\n');
    out
}

/// The markdown table, or nothing.
pub fn markdown(plan: &Plan, escape: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    if plan.schedules.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "| schedule | zone | phones | now | next | running |\n|---|---|---:|---|---|---|"
    );
    for r in &plan.schedules {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            r.schedule.replace('`', "'"),
            escape(&r.timezone),
            r.phones,
            r.now.as_str(),
            escape(&next(r)),
            escape(&week(r))
        );
    }
    out.push('\n');
    for r in plan.schedules.iter().filter(|r| r.flagged.is_some()) {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> Schedule `{}`: {}\n",
            r.schedule.replace('`', "'"),
            escape(r.flagged.as_deref().unwrap_or_default())
        );
    }
    out
}
