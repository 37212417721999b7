//! Markdown for a pull-request comment: the summary line, the stops grouped by label, a provider x
//! action table (this pull request and drift on rows of their own), blocked phones, and the per-phone
//! diffs in a collapsed `<details>` block. Kept under [`BUDGET`] characters (GitHub refuses comments
//! over 65,536) without dropping a change: phone lists shrink to a count and a few names first, then
//! whole blocks fold to one counted line per (provider, actions).
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
use crate::plan::{Action, ActionKind, PhoneChange, PhoneView, Plan};

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
    out.push_str(&super::schedule::markdown(plan, escape));
    if plan.summary.unchanged > 0 {
        let n = plan.summary.unchanged;
        let _ = writeln!(
            out,
            "{n} phone{} already {} the spec.\n",
            if n == 1 { "" } else { "s" },
            if n == 1 { "matches" } else { "match" }
        );
    }
    if !plan.summary.restart_pending.is_empty() {
        let n = plan.summary.restart_pending.len();
        let _ = writeln!(
            out,
            "{n} phone{} for a restart: properties set without the restart they need ({}). `plan --restart-pending` restarts {}.\n",
            if n == 1 { " waits" } else { "s wait" },
            escape(
                &plan
                    .summary
                    .restart_pending
                    .iter()
                    .flat_map(|p| p.keys.iter().map(String::as_str))
                    .collect::<std::collections::BTreeSet<&str>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            if n == 1 { "it" } else { "them" }
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
    // provider x action table; with a base, this pull request's changes and drift on rows of their own.
    // The columns: the four actions of the first format always, the others (restart, rename) when the
    // plan has some.
    let columns: Vec<ActionKind> = ActionKind::ALL
        .into_iter()
        .filter(|k| k.words().always_counted || plan.summary.of(*k) > 0)
        .collect();
    // (provider, part) -> (changes per action, blocked phones)
    type Row = (BTreeMap<ActionKind, usize>, usize);
    let mut table: BTreeMap<(&str, u8), Row> = BTreeMap::new();
    for c in &plan.changes {
        let part = match &plan.base {
            Some(base) if base.is_drift(c) => 2,
            Some(_) => 1,
            None => 0,
        };
        let row = table.entry((c.provider.as_str(), part)).or_default();
        if c.blocked.is_some() {
            row.1 += 1;
        }
        for a in &c.actions {
            *row.0.entry(a.kind()).or_default() += 1;
        }
    }
    let header: String = columns
        .iter()
        .map(|k| format!(" {} |", k.words().verb.trim_start_matches("to ")))
        .collect();
    let _ = writeln!(out, "| provider |{header} blocked | API calls |");
    let _ = writeln!(out, "|---|{}---:|---:|", "---:|".repeat(columns.len()));
    for (&(p, part), (counts, blocked)) in &table {
        // Calls are made per provider: on its first row.
        let first = table.keys().find(|(q, _)| *q == p) == Some(&(p, part));
        let calls = if first {
            plan.summary.calls.get(p).copied().unwrap_or(0).to_string()
        } else {
            String::new()
        };
        let which = match part {
            1 => " (this pull request)",
            2 => " (drift)",
            _ => "",
        };
        let cells: String = columns
            .iter()
            .map(|k| format!(" {} |", counts.get(k).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(out, "| {}{which} |{cells} {blocked} | {calls} |", code(p));
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
            details(&mut out, "Changes", &groups, budget, 0);
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
                "**This pull request** changes {}; **{}** drifted outside it (the base spec would \
                 change {} too).\n",
                super::counted(own_n, "phone", "phones"),
                super::counted(drift_n, "phone", "phones"),
                if drift_n == 1 { "it" } else { "them" }
            );
            // This pull request's changes first; the drift block keeps room for its folded lines.
            details(
                &mut out,
                "This pull request",
                &own_groups,
                budget,
                fold_reserve(&drift_groups),
            );
            details(
                &mut out,
                "Drift the base spec would also fix",
                &drift_groups,
                budget,
                0,
            );
        }
    }
    out
}

/// How much of a block of alike changes is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Every phone's name, as many as a tenth of the budget holds, and the diff.
    Full,
    /// A count, a few names and the diff.
    Short,
}

/// Names listed in a [`Detail::Short`] block.
const SHORT_NAMES: usize = 3;

/// One group of alike changes as diff lines.
fn block(group: &[&PhoneChange], detail: Detail) -> String {
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
        let mut labels: Vec<String> = Vec::new();
        let mut size = 0;
        for c in group {
            let l = phone_label(c);
            let full = detail == Detail::Full && size + l.len() + 2 <= BUDGET / 10;
            let short = detail == Detail::Short && labels.len() < SHORT_NAMES;
            if !(full || short) {
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
    block
}

/// The one line a (provider, actions) block folds to when the comment has no room for its phones.
fn folded_line(provider: &str, actions: &str, phones: usize) -> String {
    format!(
        "# {provider} / {} {actions} (not listed: the comment is full; `phonefleet plan` lists every phone)\n",
        super::counted(phones, "phone:", "phones:")
    )
}

/// The folded lines of `groups`, one per (provider, actions) in the order they first come.
fn folded_lines<'a>(groups: impl Iterator<Item = &'a Vec<&'a PhoneChange>>) -> String {
    let mut keys: Vec<((&str, String), usize)> = Vec::new();
    for g in groups {
        let key = (g[0].provider.as_str(), action_list(&g[0].actions));
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += g.len(),
            None => keys.push((key, g.len())),
        }
    }
    keys.iter()
        .map(|((provider, actions), n)| folded_line(provider, actions, *n))
        .collect()
}

/// Room the folded lines of `groups` take at most (every one of their (provider, actions) keys).
fn fold_reserve(groups: &[Vec<&PhoneChange>]) -> usize {
    folded_lines(groups.iter()).len() + DETAILS_FRAME
}

/// The `<details>` tags, the summary and the fences around a block's diff.
const DETAILS_FRAME: usize = 200;

/// One collapsed block of diffs, stops first, within `budget` characters of `out` less `keep` (kept for
/// what follows). No change ever goes missing: when the budget binds, phone lists shrink to a count and
/// a few names first, then whole blocks fold to one counted line per (provider, actions).
fn details(
    out: &mut String,
    title: &str,
    groups: &[Vec<&PhoneChange>],
    budget: usize,
    keep: usize,
) {
    let mut groups = groups.to_vec();
    // Stops first, as in the text plan.
    groups.sort_by_key(|g| section_rank(&g[0].actions));
    let changed: usize = groups.iter().map(Vec::len).sum();
    if changed == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>{title} ({})</summary>\n",
        super::counted(changed, "phone", "phones")
    );
    let room = budget
        .saturating_sub(keep)
        .saturating_sub(out.len())
        .saturating_sub(DETAILS_FRAME);
    let full: Vec<String> = groups.iter().map(|g| block(g, Detail::Full)).collect();
    let short: Vec<String> = groups.iter().map(|g| block(g, Detail::Short)).collect();
    let total = |blocks: &[String]| blocks.iter().map(String::len).sum::<usize>();
    // Which rendering each group gets; `None`: folded into its (provider, actions) line.
    let mut chosen: Vec<Option<&String>> = Vec::with_capacity(groups.len());
    if total(&full) <= room {
        chosen.extend(full.iter().map(Some));
    } else if total(&short) <= room {
        // Every block short, then as many as fit full again, stops first.
        let mut used = total(&short);
        for (f, s) in full.iter().zip(&short) {
            if used - s.len() + f.len() <= room {
                used = used - s.len() + f.len();
                chosen.push(Some(f));
            } else {
                chosen.push(Some(s));
            }
        }
    } else {
        // Room for the folded lines first; then short blocks in order while they fit.
        let mut used = fold_reserve(&groups).saturating_sub(DETAILS_FRAME);
        for s in &short {
            if used + s.len() <= room {
                used += s.len();
                chosen.push(Some(s));
            } else {
                chosen.push(None);
            }
        }
    }
    let mut diff: String = chosen.iter().flatten().map(|b| b.as_str()).collect();
    diff.push_str(&folded_lines(
        groups
            .iter()
            .zip(&chosen)
            .filter(|(_, c)| c.is_none())
            .map(|(g, _)| g),
    ));
    let fence = fence_for(&diff);
    let _ = write!(out, "{fence}diff\n{diff}{fence}\n");
    let _ = writeln!(out, "\n</details>\n");
}

/// Width of the lines of a diff block (GitHub shows about 100 columns before it scrolls).
const WIDTH: usize = 100;

/// Above everything else: how many phones the plan deletes (a caution), then how many it stops (a
/// warning), and which, grouped by what the spec says about them (their labels, else their provider)
/// with a count and the first and last names of each group, so that a reviewer sees in seconds which
/// part of the fleet goes down: "stops 300 phones: 200 in team=growth (growth-400 ... growth-599); 100
/// in team=support (...)".
fn stops_warning(plan: &Plan, out: &mut String) {
    going_warning(plan, (Action::Delete, "CAUTION", "deletes", ""), out);
    going_warning(
        plan,
        (
            Action::Reset,
            "CAUTION",
            "resets",
            " (their data and apps are cleared)",
        ),
        out,
    );
    going_warning(plan, (Action::Stop, "WARNING", "stops", ""), out);
}

/// The banner of one destructive action: (the action, the alert, its verb, what it does).
fn going_warning(
    plan: &Plan,
    (action, alert, verb, does): (Action, &str, &str, &str),
    out: &mut String,
) {
    let stops: Vec<&PhoneChange> = plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_none() && c.actions.contains(&action))
        .collect();
    if stops.is_empty() {
        return;
    }
    // By name where there is one: the ids are in the blocks below.
    let shown = |c: &PhoneChange| {
        c.name.as_deref().map_or_else(
            || c.phone_id.clone(),
            |n| crate::redact::controls(n).into_owned(),
        )
    };
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &stops {
        let key = if c.desired.labels.is_empty() {
            format!("at {}", c.provider)
        } else {
            let labels: Vec<String> = c
                .desired
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("in {}", labels.join(" "))
        };
        groups.entry(key).or_default().push(shown(c));
    }
    let mut groups: Vec<(String, Vec<String>)> = groups.into_iter().collect();
    // The largest groups first.
    groups.sort_by_key(|(_, names)| std::cmp::Reverse(names.len()));
    let names = |list: &mut Vec<String>| {
        list.sort_by(|a, b| natural(a).cmp(&natural(b)));
        match list.as_slice() {
            [] => String::new(),
            [_] | [_, _] | [_, _, _] => list.join(", "),
            [first, .., last] => format!("{first} ... {last}"),
        }
    };
    let text = match groups.as_mut_slice() {
        // One provider, a few phones, no labels: just their names.
        [(key, list)] if key.starts_with("at ") && list.len() <= 3 => names(list),
        _ => {
            const GROUPS: usize = 8;
            let mut parts: Vec<String> = groups
                .iter_mut()
                .take(GROUPS)
                .map(|(key, list)| format!("{} {key} ({})", list.len(), names(list)))
                .collect();
            if groups.len() > GROUPS {
                let rest: usize = groups[GROUPS..].iter().map(|(_, l)| l.len()).sum();
                parts.push(format!(
                    "{} in {} other groups",
                    rest,
                    groups.len() - GROUPS
                ));
            }
            parts.join("; ")
        }
    };
    let _ = writeln!(
        out,
        "> [!{alert}]\n> This plan **{verb} {} phone{}**{does}: {}\n",
        stops.len(),
        if stops.len() == 1 { "" } else { "s" },
        escape(&text)
    );
}

/// A key that orders names as people count: `growth-9` before `growth-10`.
fn natural(s: &str) -> Vec<(bool, usize, &str)> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.starts_with(|c: char| c.is_ascii_digit());
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (chunk, tail) = rest.split_at(end);
        // A number sorts by its value: fewer significant digits first, then the digits.
        let significant = chunk.trim_start_matches('0');
        if digits {
            out.push((true, significant.len(), significant));
        } else {
            out.push((false, 0, chunk));
        }
        rest = tail;
    }
    out
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
