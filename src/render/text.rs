//! Text rendering of plans and apply reports: one unified diff (`similar`) of observed -> desired YAML
//! per changed phone, phones with identical changes folded into one block, blocked phones with reasons,
//! then one summary line.

use std::collections::BTreeMap;
use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::color::Color;
use crate::apply::{ApplyReport, Outcome};
use crate::plan::{Action, PhoneChange, PhoneView, Plan, Summary};

/// The diff of two views, each line prefixed with `-`, `+` or ` ` and indented.
pub fn diff_lines(before: &PhoneView, after: &PhoneView, color: Color, indent: &str) -> String {
    let (a, b) = (before.to_yaml(), after.to_yaml());
    let diff = TextDiff::from_lines(&a, &b);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let text = match change.tag() {
            ChangeTag::Delete => color.delete(&format!("-{line}")),
            ChangeTag::Insert => color.create(&format!("+{line}")),
            ChangeTag::Equal => color.dim(&format!(" {line}")),
        };
        let _ = writeln!(out, "{indent}{text}");
    }
    out
}

/// Action names joined: `set_properties, stop`.
pub fn action_list(actions: &[Action]) -> String {
    actions
        .iter()
        .map(Action::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Changes that look the same (same provider, actions, before, after, notes) folded together, in order.
pub fn fold(changes: &[PhoneChange]) -> Vec<Vec<&PhoneChange>> {
    let mut groups: Vec<Vec<&PhoneChange>> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.blocked.is_none()) {
        let key = serde_json::to_string(&(&c.provider, &c.actions, &c.before, &c.after, &c.notes))
            .expect("plan values serialize");
        match index.get(&key) {
            Some(&i) => groups[i].push(c),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![c]);
            }
        }
    }
    groups
}

/// Blocked phones grouped by (provider, reason), in order.
pub fn blocked_groups(changes: &[PhoneChange]) -> Vec<(&str, &str, Vec<&PhoneChange>)> {
    let mut out: Vec<(&str, &str, Vec<&PhoneChange>)> = Vec::new();
    let mut index: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for c in changes {
        let Some(reason) = c.blocked.as_deref() else {
            continue;
        };
        let key = (c.provider.as_str(), reason);
        match index.get(&key) {
            Some(&i) => out[i].2.push(c),
            None => {
                index.insert(key, out.len());
                out.push((key.0, key.1, vec![c]));
            }
        }
    }
    out
}

/// `id (name)` or `id`. Control characters in a name are shown escaped (validation refuses them; a
/// plan file is not trusted to have been validated).
pub fn phone_label(c: &PhoneChange) -> String {
    match &c.name {
        Some(n) => format!("{} ({})", c.phone_id, crate::redact::controls(n)),
        None => c.phone_id.clone(),
    }
}

/// The summary line.
pub fn summary_line(s: &Summary) -> String {
    if !s.has_drift() {
        return "No changes. The fleet matches the spec.".to_owned();
    }
    let calls = s.total_calls();
    let providers = s.calls.len();
    format!(
        "Plan: {} to start, {} to stop, {} to re-route, {} to update properties; {} blocked. {calls} API call{} on {providers} provider{}.",
        s.start,
        s.stop,
        s.set_traffic,
        s.set_properties,
        s.blocked,
        if calls == 1 { "" } else { "s" },
        if providers == 1 { "" } else { "s" },
    )
}

/// The whole plan as text.
pub fn plan(plan: &Plan, color: Color) -> String {
    let mut out = String::new();
    let groups = fold(&plan.changes);
    for group in &groups {
        let first = group[0];
        let head = if group.len() == 1 {
            format!(
                "~ {} / {}: {}",
                first.provider,
                phone_label(first),
                action_list(&first.actions)
            )
        } else {
            format!(
                "~ {} / {} phones: {}",
                first.provider,
                group.len(),
                action_list(&first.actions)
            )
        };
        let _ = writeln!(out, "{}", color.update(&color.bold(&head)));
        if group.len() > 1 {
            let ids: Vec<&str> = group.iter().map(|c| c.phone_id.as_str()).collect();
            let _ = writeln!(out, "  ids: {}", ids.join(", "));
        }
        out.push_str(&diff_lines(&first.before, &first.after, color, "  "));
        for n in &first.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        out.push('\n');
    }
    let blocked = blocked_groups(&plan.changes);
    if !blocked.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            color.warn(&color.bold("Blocked (nothing will be done to these phones):"))
        );
        for (provider, reason, phones) in &blocked {
            if phones.len() == 1 {
                let _ = writeln!(
                    out,
                    "{} {provider} / {}: {reason}",
                    color.warn("!"),
                    phone_label(phones[0])
                );
            } else {
                let ids: Vec<&str> = phones.iter().map(|c| c.phone_id.as_str()).collect();
                let _ = writeln!(
                    out,
                    "{} {provider} / {} phones: {reason}",
                    color.warn("!"),
                    phones.len()
                );
                let _ = writeln!(out, "  ids: {}", ids.join(", "));
            }
        }
        out.push('\n');
    }
    if plan.summary.unchanged > 0 {
        let n = plan.summary.unchanged;
        let _ = writeln!(
            out,
            "{}",
            color.dim(&format!(
                "{n} phone{} already match the spec (not shown).",
                if n == 1 { "" } else { "s" }
            ))
        );
    }
    for line in unmanaged_lines(plan) {
        let _ = writeln!(out, "{}", color.dim(&line));
    }
    let _ = writeln!(out, "{}", color.bold(&summary_line(&plan.summary)));
    out
}

/// "4 phones at `gl` are not managed by this spec." (with their ids when known), one per provider.
pub fn unmanaged_lines(plan: &Plan) -> Vec<String> {
    plan.summary
        .unmanaged
        .iter()
        .filter(|(_, u)| u.count > 0 || u.unknown.is_some())
        .map(|(provider, u)| {
            if u.unknown.is_some() {
                return format!(
                    "Phones at `{provider}` that this spec does not manage could not be counted (see the warning)."
                );
            }
            let mut line = format!(
                "{} phone{} at `{provider}` {} not managed by this spec (never changed).",
                u.count,
                if u.count == 1 { "" } else { "s" },
                if u.count == 1 { "is" } else { "are" }
            );
            match &u.ids {
                Some(ids) => {
                    let _ = write!(line, " ids: {}", ids.join(", "));
                }
                None => line.push_str(" Run with -v to list them."),
            }
            line
        })
        .collect()
}

/// An apply report as text: one line per failed phone, warnings for blocked ones, a summary line.
pub fn report(report: &ApplyReport, color: Color) -> String {
    let mut out = String::new();
    for r in &report.results {
        let action = r.action.as_ref().map_or("-", Action::name);
        match &r.outcome {
            Outcome::Failed(e) => {
                let _ = writeln!(
                    out,
                    "{} {} / {}: {action}: {}: {}",
                    color.delete("failed:"),
                    r.provider,
                    r.phone_id,
                    e.code,
                    e.message
                );
            }
            Outcome::Blocked(reason) => {
                let _ = writeln!(
                    out,
                    "{} {} / {}: {reason}",
                    color.warn("blocked:"),
                    r.provider,
                    r.phone_id
                );
            }
            Outcome::Skipped(reason) => {
                let _ = writeln!(
                    out,
                    "{} {} / {}: {action}: {reason}",
                    color.dim("skipped:"),
                    r.provider,
                    r.phone_id
                );
            }
            Outcome::Ok => {}
        }
    }
    let c = report.counts();
    let _ = writeln!(
        out,
        "{}",
        color.bold(&format!(
            "Apply: {} ok, {} failed, {} blocked, {} skipped.{}",
            c.ok,
            c.failed,
            c.blocked,
            c.skipped,
            if c.failed + c.skipped > 0 {
                " Run apply again to finish the job."
            } else {
                ""
            }
        ))
    );
    out
}
