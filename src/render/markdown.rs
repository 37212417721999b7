//! Markdown for a pull-request comment: the summary line, a provider x action table, blocked phones, and
//! the per-phone diffs in a collapsed `<details>` block. Kept under [`BUDGET`] characters (GitHub refuses
//! comments over 65,536) by cutting with counts: "... and 412 more phones".
//!
//! Nothing a spec or a provider supplies can change the comment's structure: names and ids go into code
//! spans as long as needed ([`code`]), free text is escaped ([`escape`]), and the diff's code fence is
//! longer than any run of backticks inside it, so no value can close a code block or a `<details>`, or
//! open an HTML comment.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::color::Color;
use super::text::{
    action_list, blocked_groups, diff_lines, fold, phone_label, section_rank, summary_line,
};
use crate::plan::{Action, PhoneChange, PhoneView, Plan};

/// Most characters a rendering may have.
pub const BUDGET: usize = 60_000;

/// First line of every rendering, so that CI can find and update its own comment.
pub const MARKER: &str = "<!-- phonefleet-plan -->";

/// The plan as a markdown comment. Sensitive values are always masked.
pub fn plan(plan: &Plan) -> String {
    let plan = &*plan.shown(false);
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}\n### phonefleet plan\n");
    let _ = writeln!(out, "**{}**\n", summary_line(&plan.summary));
    stops_warning(plan, &mut out);
    if plan.summary.has_drift() {
        guards(plan, &mut out);
    }
    if plan.summary.unchanged > 0 {
        let n = plan.summary.unchanged;
        let _ = writeln!(
            out,
            "{n} phone{} already {} the spec.\n",
            if n == 1 { "" } else { "s" },
            if n == 1 { "matches" } else { "match" }
        );
    }
    if !plan.summary.converging.is_empty() {
        let n = plan.summary.converging.len();
        let _ = writeln!(
            out,
            "{n} phone{} on {} way to the declared state (converging; not drift).\n",
            if n == 1 { " is" } else { "s are" },
            if n == 1 { "its" } else { "their" }
        );
    }
    for (provider, endpoint) in &plan.summary.endpoints {
        let _ = writeln!(
            out,
            "Provider {} sends its calls to {}, not its default endpoint.\n",
            code(provider),
            code(endpoint)
        );
    }
    for (provider, u) in plan.summary.unmanaged.iter() {
        if u.unknown.is_some() {
            let _ = writeln!(
                out,
                "Phones at {} that this spec does not manage could not be counted.\n",
                code(provider)
            );
            continue;
        }
        if u.count == 0 {
            continue;
        }
        let _ = write!(
            out,
            "{} phone{} at {} {} not managed by this spec (never changed).",
            u.count,
            if u.count == 1 { "" } else { "s" },
            code(provider),
            if u.count == 1 { "is" } else { "are" }
        );
        if let Some(ids) = &u.ids {
            let list: String = ids.join(", ").chars().take(2000).collect();
            let _ = write!(out, " ids: {}", escape(&list));
        }
        out.push_str("\n\n");
    }
    if !plan.summary.has_drift() {
        return out;
    }
    // provider x action table
    let mut table: BTreeMap<&str, [usize; 6]> = BTreeMap::new();
    for c in &plan.changes {
        let row = table.entry(c.provider.as_str()).or_default();
        if c.blocked.is_some() {
            row[5] += 1;
        }
        for a in &c.actions {
            let i = match a {
                Action::Start => 0,
                Action::Stop => 1,
                Action::SetTraffic(_) => 2,
                Action::SetProperties => 3,
                Action::Restart => 4,
            };
            row[i] += 1;
        }
    }
    // The restart column only when a restart is planned (`restart: when-needed`).
    let restarts = plan.summary.restart > 0;
    let _ = writeln!(
        out,
        "| provider | start | stop | re-route | update properties |{} blocked | API calls |",
        if restarts { " restart |" } else { "" }
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|{}---:|---:|",
        if restarts { "---:|" } else { "" }
    );
    for (p, r) in &table {
        let calls = plan.summary.calls.get(*p).copied().unwrap_or(0);
        let restart = if restarts {
            format!(" {} |", r[4])
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |{restart} {} | {calls} |",
            code(p),
            r[0],
            r[1],
            r[2],
            r[3],
            r[5]
        );
    }
    out.push('\n');
    // Reserve room for the closing lines of the details block.
    let budget = BUDGET - 200;
    let blocked = blocked_groups(&plan.changes);
    if !blocked.is_empty() {
        let _ = writeln!(out, "#### Blocked ({})\n", plan.summary.blocked);
        let mut shown = 0;
        for (provider, _, phones) in &blocked {
            for c in phones {
                let line = format!(
                    "- {} {}: {}\n",
                    code(provider),
                    escape(&phone_label(c)),
                    escape(c.blocked.as_deref().unwrap_or_default())
                );
                if out.len() + line.len() > budget / 3 {
                    break;
                }
                out.push_str(&line);
                shown += 1;
            }
        }
        if shown < plan.summary.blocked {
            let _ = writeln!(
                out,
                "- ... and {} more blocked phones",
                plan.summary.blocked - shown
            );
        }
        out.push('\n');
    }
    match &plan.base {
        None => {
            let groups = fold(&plan.changes);
            details(&mut out, "Changes", &groups, budget);
        }
        Some(base) => {
            // Each part folded on its own: a block never mixes this pull request's changes with drift.
            let (drift, own): (Vec<_>, Vec<_>) =
                plan.changes.iter().cloned().partition(|c| base.is_drift(c));
            let own_groups = fold(&own);
            let drift_groups = fold(&drift);
            let own_n: usize = own_groups.iter().map(Vec::len).sum();
            let drift_n: usize = drift_groups.iter().map(Vec::len).sum();
            let _ = writeln!(
                out,
                "**This pull request** changes {}; **{}** drifted outside it (the base spec, {}, \
                 would change {} too).\n",
                super::counted(own_n, "phone", "phones"),
                super::counted(drift_n, "phone", "phones"),
                code(&base.path),
                if drift_n == 1 { "it" } else { "them" }
            );
            let half = budget.saturating_sub(out.len()) / 2 + out.len();
            details(&mut out, "This pull request", &own_groups, half);
            details(
                &mut out,
                "Drift the base spec would also fix",
                &drift_groups,
                budget,
            );
        }
    }
    out
}

/// One collapsed block of diffs, stops first, kept within `budget` characters of `out`.
fn details(out: &mut String, title: &str, groups: &[Vec<&PhoneChange>], budget: usize) {
    let mut groups = groups.to_vec();
    // Stops first, as in the text plan.
    groups.sort_by_key(|g| section_rank(&g[0].actions));
    let changed: usize = groups.iter().map(Vec::len).sum();
    if changed == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>{title} ({changed} phone{})</summary>\n",
        if changed == 1 { "" } else { "s" }
    );
    let mut diff = String::new();
    let mut shown = 0;
    for group in &groups {
        let first = group[0];
        let mut block = String::new();
        if group.len() == 1 {
            let _ = writeln!(
                block,
                "# {} / {}: {}",
                first.provider,
                phone_label(first),
                action_list(&first.actions)
            );
        } else {
            // A very large group lists as many phones as fit in a tenth of the budget, wrapped.
            let mut labels: Vec<String> = Vec::new();
            let mut size = 0;
            for c in group {
                let l = phone_label(c);
                if size + l.len() + 2 > BUDGET / 10 {
                    break;
                }
                size += l.len() + 2;
                labels.push(l);
            }
            if labels.len() < group.len() {
                labels.push(format!("... and {} more", group.len() - labels.len()));
            }
            let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
            let _ = writeln!(
                block,
                "# {} / {} phones: {}",
                first.provider,
                group.len(),
                action_list(&first.actions),
            );
            let wide = super::wrap::Layout {
                width: WIDTH,
                full: true,
                color: Color::new(false),
            };
            block.push_str(&super::wrap::id_list(&refs, wide, "# phones: "));
        }
        let (before, after) = if group.len() > 1 {
            PhoneView::changed_only(&first.before, &first.after)
        } else {
            (first.before.clone(), first.after.clone())
        };
        block.push_str(&diff_lines(&before, &after, Color::new(false), ""));
        for n in &first.notes {
            let _ = writeln!(block, "# note: {n}");
        }
        if out.len() + diff.len() + block.len() > budget {
            break;
        }
        diff.push_str(&block);
        shown += group.len();
    }
    let fence = fence_for(&diff);
    let _ = write!(out, "{fence}diff\n{diff}{fence}\n");
    if shown < changed {
        let _ = writeln!(out, "\n... and {} more phones", changed - shown);
    }
    let _ = writeln!(out, "\n</details>\n");
}

/// Width of the lines of a diff block (GitHub shows about 100 columns before it scrolls).
const WIDTH: usize = 100;

/// Above everything else: how many phones the plan stops, and which, by name.
fn stops_warning(plan: &Plan, out: &mut String) {
    let stops: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_none() && c.actions.contains(&Action::Stop))
        // By name where there is one: the ids are in the blocks below.
        .map(|c| {
            c.name.as_deref().map_or_else(
                || c.phone_id.clone(),
                |n| crate::redact::controls(n).into_owned(),
            )
        })
        .collect();
    if stops.is_empty() {
        return;
    }
    let mut list = String::new();
    let mut listed = 0;
    for s in &stops {
        if list.len() + s.len() > 2000 {
            break;
        }
        if listed > 0 {
            list.push_str(", ");
        }
        list.push_str(s);
        listed += 1;
    }
    if listed < stops.len() {
        let _ = write!(list, " ... and {} more", stops.len() - listed);
    }
    let _ = writeln!(
        out,
        "> [!WARNING]\n> This plan **stops {} phone{}**: {}\n",
        stops.len(),
        if stops.len() == 1 { "" } else { "s" },
        escape(&list)
    );
}

/// The guard rails' verdicts (those with nothing planned on one line) and the canary, as lists.
fn guards(plan: &Plan, out: &mut String) {
    if !plan.guards.is_empty() {
        let _ = writeln!(out, "**Guards** (apply refuses a plan that breaks one):\n");
        let mut idle: Vec<String> = Vec::new();
        for g in &plan.guards {
            if !g.broken() && g.planned == 0 {
                idle.push(match (&g.provider, &g.label) {
                    (Some(p), _) => format!("{} at {p}", g.guard.name()),
                    (None, Some(l)) => format!("{} for {l}", g.guard.name()),
                    (None, None) => g.guard.name().to_owned(),
                });
                continue;
            }
            let verdict = if g.broken() { "**BROKEN**" } else { "ok" };
            let mut line: String = g.describe().chars().take(2000).collect();
            if g.broken() && g.guard.overridable() {
                line.push_str(" (apply --override-guards to go ahead anyway)");
            }
            let _ = writeln!(out, "- {verdict} {}", escape(&line));
        }
        if !idle.is_empty() {
            let list: String = idle.join(", ").chars().take(2000).collect();
            let _ = writeln!(out, "- ok, nothing planned against: {}", escape(&list));
        }
        out.push('\n');
    }
    if let Some(n) = plan.canary {
        let first = plan.canary_by_provider();
        let _ = writeln!(
            out,
            "**Canary** (`--canary {n}`): for each provider and action, its first {n} phones go first, \
             alone; the others follow once they converged.\n"
        );
        for (provider, ids) in first {
            let list: String = ids.join(", ").chars().take(2000).collect();
            let _ = writeln!(out, "- {}: {}", code(provider), escape(&list));
        }
        out.push('\n');
    }
}

/// The longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// A code fence that no line of `content` can close: longer than any backtick run in it, at least 3.
fn fence_for(content: &str) -> String {
    "`".repeat((longest_backtick_run(content) + 1).max(3))
}

/// `s` as an inline code span that its own backticks cannot close (CommonMark: the delimiter is longer
/// than any run inside, padded with a space where the text starts or ends with a backtick). Inside a
/// code span nothing is markup, `<!--` and `</details>` included.
pub fn code(s: &str) -> String {
    let s = crate::redact::controls(s);
    let ticks = "`".repeat(longest_backtick_run(&s) + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// Free text made inert in markdown: the characters that start emphasis, code, links, tables or
/// strike-through are escaped, `<`, `>` and `&` written as entities (no HTML tag or comment can open),
/// control characters shown escaped, mentions, references and bare links broken
/// ([`super::inert::unlinked`]).
pub fn escape(s: &str) -> String {
    let s = super::inert::unlinked(&crate::redact::controls(s));
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_break_out_of_code_or_html() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(escape("</details><!-- x"), "&lt;/details&gt;&lt;!-- x");
        assert_eq!(escape("a `b` *c*"), "a \\`b\\` \\*c\\*");
        assert_eq!(fence_for("x ```` y"), "`````");
        assert_eq!(fence_for("plain"), "```");
    }
}
