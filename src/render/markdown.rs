//! Markdown for a pull-request comment: the summary line, a provider x action table, blocked phones, and
//! the per-phone diffs in a collapsed `<details>` block. Kept under [`BUDGET`] characters (GitHub refuses
//! comments over 65,536) by cutting with counts: "... and 412 more phones".

use std::collections::BTreeMap;
use std::fmt::Write;

use super::color::Color;
use super::text::{action_list, blocked_groups, diff_lines, fold, phone_label, summary_line};
use crate::plan::{Action, Plan};

/// Most characters a rendering may have.
pub const BUDGET: usize = 60_000;

/// First line of every rendering, so that CI can find and update its own comment.
pub const MARKER: &str = "<!-- phonefleet-plan -->";

/// The plan as a markdown comment.
pub fn plan(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}\n### phonefleet plan\n");
    let _ = writeln!(out, "**{}**\n", summary_line(&plan.summary));
    for line in super::text::unmanaged_lines(plan) {
        let cut: String = line.chars().take(2000).collect();
        let _ = writeln!(out, "{cut}\n");
    }
    if !plan.summary.has_drift() {
        return out;
    }
    // provider x action table
    let mut table: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for c in &plan.changes {
        let row = table.entry(c.provider.as_str()).or_default();
        if c.blocked.is_some() {
            row[4] += 1;
        }
        for a in &c.actions {
            let i = match a {
                Action::Start => 0,
                Action::Stop => 1,
                Action::SetTraffic(_) => 2,
                Action::SetProperties => 3,
            };
            row[i] += 1;
        }
    }
    let _ = writeln!(
        out,
        "| provider | start | stop | re-route | update properties | blocked | API calls |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for (p, r) in &table {
        let calls = plan.summary.calls.get(*p).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "| `{p}` | {} | {} | {} | {} | {} | {calls} |",
            r[0], r[1], r[2], r[3], r[4]
        );
    }
    out.push('\n');
    // Reserve room for the closing lines of the details block.
    let budget = BUDGET - 200;
    let blocked = blocked_groups(&plan.changes);
    if !blocked.is_empty() {
        let _ = writeln!(out, "#### Blocked ({})\n", plan.summary.blocked);
        let mut shown = 0;
        for (provider, reason, phones) in &blocked {
            for c in phones {
                let line = format!("- `{provider}` `{}`: {reason}\n", phone_label(c));
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
    let groups = fold(&plan.changes);
    let changed: usize = groups.iter().map(Vec::len).sum();
    if changed == 0 {
        return out;
    }
    let _ = writeln!(
        out,
        "<details><summary>Changes ({changed} phones)</summary>\n"
    );
    let _ = writeln!(out, "```diff");
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
            // A very large group lists as many ids as fit in a tenth of the budget.
            let mut ids = String::new();
            let mut listed = 0;
            for c in group {
                if ids.len() + c.phone_id.len() + 2 > BUDGET / 10 {
                    break;
                }
                if listed > 0 {
                    ids.push_str(", ");
                }
                ids.push_str(&c.phone_id);
                listed += 1;
            }
            if listed < group.len() {
                let _ = write!(ids, " ... and {} more", group.len() - listed);
            }
            let _ = writeln!(
                block,
                "# {} / {} phones: {}\n# ids: {ids}",
                first.provider,
                group.len(),
                action_list(&first.actions),
            );
        }
        block.push_str(&diff_lines(
            &first.before,
            &first.after,
            Color::new(false),
            "",
        ));
        for n in &first.notes {
            let _ = writeln!(block, "# note: {n}");
        }
        if out.len() + block.len() > budget {
            break;
        }
        out.push_str(&block);
        shown += group.len();
    }
    let _ = writeln!(out, "```");
    if shown < changed {
        let _ = writeln!(out, "\n... and {} more phones", changed - shown);
    }
    let _ = writeln!(out, "\n</details>");
    out
}
