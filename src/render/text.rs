//! Text rendering of plans and apply reports: the summary line first and last; changes in sections,
//! destructive ones first (stops, then starts, then re-routes and property updates); one unified diff
//! (`similar`) of observed -> desired YAML per block of phones with identical changes, their ids wrapped
//! and capped; blocked phones grouped by reason.

use std::collections::BTreeMap;
use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::color::Color;
use super::wrap::{Layout, by_reason, id_list, reason_block, wrap};
use crate::plan::{Action, ActionKind, PhoneChange, PhoneView, Plan, Summary};

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

/// Changes that are the same change (same provider, actions, changed attributes with their values,
/// notes) folded together, in order: attributes that do not change do not split a block.
pub fn fold(changes: &[PhoneChange]) -> Vec<Vec<&PhoneChange>> {
    let mut groups: Vec<Vec<&PhoneChange>> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.blocked.is_none()) {
        let (before, after) = PhoneView::changed_only(&c.before, &c.after);
        let key = serde_json::to_string(&(&c.provider, &c.actions, &before, &after, &c.notes))
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

/// Blocked phones grouped by (provider, reason), in order. Reasons are compared with each phone's own
/// ids taken out ([`super::wrap::normalise`]: a per-phone URL does not split a group); a group of one
/// keeps its phone's reason as it is.
pub fn blocked_groups(changes: &[PhoneChange]) -> Vec<(&str, String, Vec<&PhoneChange>)> {
    let normalised: Vec<(&str, String, &PhoneChange)> = changes
        .iter()
        .filter_map(|c| {
            c.blocked.as_deref().map(|r| {
                (
                    c.provider.as_str(),
                    super::wrap::normalise(r, &c.phone_id),
                    c,
                )
            })
        })
        .collect();
    by_reason(normalised.iter().map(|(p, r, c)| (*p, r.as_str(), *c)))
        .into_iter()
        .map(|(_, reason, phones)| {
            let reason = match phones.as_slice() {
                [one] => one.blocked.clone().unwrap_or_default(),
                _ => reason.to_owned(),
            };
            // The provider from the phones themselves: the group's key borrows `normalised`.
            (phones[0].provider.as_str(), reason, phones)
        })
        .collect::<Vec<_>>()
}

/// `name (id)` or `id` ([`crate::spec::label`]).
pub fn phone_label(c: &PhoneChange) -> String {
    crate::spec::label(c.name.as_deref(), &c.phone_id)
}

/// The labels of phones, for an id list.
pub fn labels(phones: &[&PhoneChange]) -> Vec<String> {
    phones.iter().map(|c| phone_label(c)).collect()
}

/// The summary line.
pub fn summary_line(s: &Summary) -> String {
    if !s.has_drift() {
        return "No changes. The fleet matches the spec.".to_owned();
    }
    let calls = s.total_calls();
    let providers = s.calls.len();
    // Every number written the same way (`1,800`), in the totals and in the counts per action alike.
    let n = super::count;
    let counts = super::action_counts(|k| s.of(k), |w| w.verb);
    format!(
        "Plan: {}, {}: {}; {} blocked. {} on {providers} provider{}.",
        super::counted(s.phones, "phone", "phones"),
        super::counted(s.changes(), "change", "changes"),
        counts,
        n(s.blocked),
        super::counted(calls, "API call", "API calls"),
        if providers == 1 { "" } else { "s" },
    )
}

/// The title of the in-place section: "To re-route or update properties" (the first format's two),
/// with the other kinds it holds named before them ("To rename, re-route or update properties").
fn other_title(blocks: &[&Vec<&PhoneChange>]) -> String {
    let classic = [ActionKind::SetTraffic, ActionKind::SetProperties];
    let kinds: std::collections::BTreeSet<ActionKind> = blocks
        .iter()
        .flat_map(|g| g[0].actions.iter().map(Action::kind))
        .collect();
    let others: Vec<&str> = kinds
        .iter()
        .filter(|k| !classic.contains(k))
        .map(|k| k.words().verb.trim_start_matches("to "))
        .collect();
    match (others.as_slice(), kinds.iter().any(|k| classic.contains(k))) {
        ([], _) => Section::Other.title().to_owned(),
        (o, false) => format!("To {}", o.join(" or ")),
        (o, true) => format!("To {}, re-route or update properties", o.join(", ")),
    }
}

/// Phones waiting for a restart an earlier apply did not make, folded by provider and keys, with what
/// to do: "Restart pending (2 phones; properties set without a restart; `plan --restart-pending`
/// restarts them):".
pub fn restart_pending_lines(pending: &[crate::plan::RestartPending], layout: Layout) -> String {
    if pending.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let n = pending.len();
    let _ = writeln!(
        out,
        "{}",
        layout.color.bold(&format!(
            "Restart pending ({} phone{}; properties set without the restart they need; \
             `plan --restart-pending` restarts {}):",
            super::count(n),
            plural(n),
            if n == 1 { "it" } else { "them" }
        ))
    );
    let keyed: Vec<(String, &crate::plan::RestartPending)> = pending
        .iter()
        .map(|p| {
            let when = if p.running { "" } else { " (when it starts)" };
            (format!("{}{when}", p.keys.join(", ")), p)
        })
        .collect();
    let groups = by_reason(
        keyed
            .iter()
            .map(|(k, p)| (p.provider.as_str(), k.as_str(), *p)),
    );
    for (provider, keys, phones) in &groups {
        let labels: Vec<String> = phones
            .iter()
            .map(|p| crate::spec::label(p.name.as_deref(), &p.phone_id))
            .collect();
        let ids: Vec<&str> = labels.iter().map(String::as_str).collect();
        let who = match ids.as_slice() {
            [one] => (*one).to_owned(),
            many => format!("{} phones", many.len()),
        };
        out.push_str(&reason_block(
            provider,
            &who,
            &format!("waits for a restart: {keys}"),
            &ids,
            layout,
        ));
    }
    out.push('\n');
    out
}

/// The sections of a text plan, destructive first: a phone is in the first whose action it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Delete,
    Reset,
    Stop,
    Create,
    Start,
    Restart,
    Other,
}

/// The order of a block of changes in a plan: stops first, then starts, restarts, the rest.
pub fn section_rank(actions: &[Action]) -> u8 {
    Section::of(actions) as u8
}

impl Section {
    fn of(actions: &[Action]) -> Section {
        if actions.contains(&Action::Delete) {
            Section::Delete
        } else if actions.contains(&Action::Reset) {
            Section::Reset
        } else if actions.contains(&Action::Stop) {
            Section::Stop
        } else if actions.contains(&Action::Create) {
            Section::Create
        } else if actions.contains(&Action::Start) {
            Section::Start
        } else if actions.contains(&Action::Restart) {
            Section::Restart
        } else {
            Section::Other
        }
    }

    fn title(self) -> &'static str {
        match self {
            Section::Delete => "To delete (stopped first)",
            Section::Reset => "To reset (data and apps cleared)",
            Section::Stop => "To stop",
            Section::Create => "To create",
            Section::Start => "To start",
            Section::Restart => {
                "To restart (properties that need a restart travel with it; one call each batch)"
            }
            Section::Other => "To re-route or update properties",
        }
    }

    /// The marker of a block, painted: red `-` for stops, green `+` for starts, yellow `~` otherwise.
    fn paint(self, color: Color, s: &str) -> String {
        match self {
            Section::Delete => color.delete(&format!("x {s}")),
            Section::Reset => color.delete(&format!("! {s}")),
            Section::Stop => color.delete(&format!("- {s}")),
            Section::Create | Section::Start => color.create(&format!("+ {s}")),
            Section::Restart => color.update(&format!("^ {s}")),
            Section::Other => color.update(&format!("~ {s}")),
        }
    }
}

/// Phones to create, by pool: `5 phones in pool growth (growth-046 ... growth-050)`.
pub fn new_phones(group: &[&PhoneChange]) -> String {
    let pool = group[0]
        .desired
        .pool
        .as_ref()
        .map_or("", |p| p.pool.as_str());
    let mut names: Vec<&str> = group.iter().filter_map(|c| c.name.as_deref()).collect();
    names.sort_by(|a, b| (a.len(), *a).cmp(&(b.len(), *b)));
    let span = match names.as_slice() {
        [] => String::new(),
        [one] => format!(" ({})", crate::redact::controls(one)),
        [first, .., last] => format!(
            " ({} ... {})",
            crate::redact::controls(first),
            crate::redact::controls(last)
        ),
    };
    format!(
        "{} phone{} in pool {}{span}",
        group.len(),
        plural(group.len()),
        crate::redact::controls(pool)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The whole plan as text, sensitive values masked: see [`plan_with`].
pub fn plan(plan: &Plan, layout: Layout) -> String {
    plan_with(plan, layout, false)
}

/// The guard rails' verdicts: each line `BROKEN` or `ok`, with what apply will do about it.
pub fn guard_lines(plan: &Plan, layout: Layout) -> String {
    let color = layout.color;
    let mut out = String::new();
    if plan.guards.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{}",
        color.bold("Guards (apply refuses a plan that breaks one):")
    );
    for g in &plan.guards {
        let mut line = g.describe();
        if g.broken() && g.guard.overridable() {
            line.push_str(" (apply --override-guards to go ahead anyway)");
        }
        let text = if g.broken() {
            color.warn(&wrap(&line, layout.width, "  BROKEN ", "         "))
        } else {
            wrap(&line, layout.width, "  ok     ", "         ")
        };
        out.push_str(&text);
    }
    out.push('\n');
    out
}

/// What the block markers present in this plan mean (a Terraform reader takes `-` for "destroy"):
/// one line, or nothing when no block is shown.
fn legend(groups: &[Vec<&PhoneChange>], color: Color) -> String {
    let mut present: Vec<Section> = groups.iter().map(|g| Section::of(&g[0].actions)).collect();
    present.sort_by_key(|s| *s as u8);
    present.dedup();
    if present.is_empty() {
        return String::new();
    }
    let words: Vec<&str> = present
        .iter()
        .map(|s| match s {
            Section::Delete => "x delete (the phone and its data are gone)",
            Section::Reset => "! reset (data and apps cleared)",
            Section::Stop => "- stop (power off; nothing is deleted)",
            Section::Create => "+ create",
            Section::Start => "+ start",
            Section::Restart => "^ restart",
            Section::Other => "~ change in place",
        })
        .collect();
    format!(
        "{}\n\n",
        color.dim(&format!("Symbols: {}.", words.join(", ")))
    )
}

/// With `plan --base`: how many changes are the pull request's own, and which phones drifted outside
/// it (the base spec would change them too).
fn base_lines(plan: &Plan, layout: Layout) -> String {
    let Some(base) = &plan.base else {
        return String::new();
    };
    let acting: Vec<&PhoneChange> = plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_none() && !c.actions.is_empty())
        .collect();
    let drift: Vec<&PhoneChange> = acting
        .iter()
        .copied()
        .filter(|c| base.is_drift(c))
        .collect();
    let line = format!(
        "This pull request changes {}; {} drifted outside it (the base spec, {}, would change {} too){}",
        super::counted(acting.len() - drift.len(), "phone", "phones"),
        super::counted(drift.len(), "phone", "phones"),
        crate::redact::controls(&base.path),
        if drift.len() == 1 { "it" } else { "them" },
        if drift.is_empty() { "." } else { ":" }
    );
    let mut out = wrap(&line, layout.width, "", "  ");
    if !drift.is_empty() {
        let labels = labels(&drift);
        let ids: Vec<&str> = labels.iter().map(String::as_str).collect();
        out.push_str(&id_list(&ids, layout, "  drift: "));
    }
    out.push('\n');
    out
}

/// With `--canary N`: the phones that go first, per provider.
pub fn canary_lines(plan: &Plan, layout: Layout) -> String {
    let mut out = String::new();
    let Some(n) = plan.canary else {
        return out;
    };
    let first = plan.canary_by_provider();
    if first.is_empty() {
        return out;
    }
    let first_n = if n == 1 {
        "its first phone goes".to_owned()
    } else {
        format!("its first {n} phones go")
    };
    let head = format!(
        "Canary (--canary {n}): for each provider and action, {first_n} first, alone, with the rest \
         of its changes; the others follow only once the canary converged:"
    );
    out.push_str(&layout.color.bold(&wrap(&head, layout.width, "", "  ")));
    for (provider, ids) in first {
        out.push_str(&id_list(&ids, layout, &format!("  {provider}: ")));
    }
    out.push('\n');
    out
}

/// The whole plan as text: the summary line first and last; the guard rails' verdicts and the canary;
/// changes in sections, stops first, phones with identical changes folded into one block with a
/// wrapped, capped id list; then blocked phones. Sensitive values are masked unless `reveal`.
pub fn plan_with(plan: &Plan, layout: Layout, reveal: bool) -> String {
    let plan = &*plan.shown(reveal);
    let color = layout.color;
    let mut out = String::new();
    let summary = color.bold(&summary_line(&plan.summary));
    let groups = fold(&plan.changes);
    if plan.summary.has_drift() {
        let _ = writeln!(out, "{summary}\n");
        out.push_str(&legend(&groups, color));
        out.push_str(&base_lines(plan, layout));
        out.push_str(&guard_lines(plan, layout));
        out.push_str(&canary_lines(plan, layout));
    }
    out.push_str(&super::schedule::text(plan, layout));
    for section in [
        Section::Delete,
        Section::Reset,
        Section::Stop,
        Section::Create,
        Section::Start,
        Section::Restart,
        Section::Other,
    ] {
        let mine: Vec<&Vec<&PhoneChange>> = groups
            .iter()
            .filter(|g| Section::of(&g[0].actions) == section)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let phones: usize = mine.iter().map(|g| g.len()).sum();
        let title = match section {
            Section::Other => other_title(&mine),
            _ => section.title().to_owned(),
        };
        let _ = writeln!(
            out,
            "{}",
            color.bold(&format!("{title} ({phones} phone{}):", plural(phones)))
        );
        for group in mine {
            let first = group[0];
            let who = if section == Section::Create {
                new_phones(group)
            } else if group.len() == 1 {
                phone_label(first)
            } else {
                format!("{} phones", group.len())
            };
            let head = format!(
                "{} / {who}: {}",
                first.provider,
                action_list(&first.actions)
            );
            let _ = writeln!(out, "{}", color.bold(&section.paint(color, &head)));
            if section == Section::Create {
                out.push_str(&diff_lines(&first.before, &first.after, color, "  "));
            } else if group.len() > 1 {
                let labels = labels(group);
                let ids: Vec<&str> = labels.iter().map(String::as_str).collect();
                out.push_str(&id_list(&ids, layout, "  phones: "));
                // Phones folded by their change: only the attributes that change are shown.
                let (before, after) = PhoneView::changed_only(&first.before, &first.after);
                out.push_str(&diff_lines(&before, &after, color, "  "));
            } else {
                out.push_str(&diff_lines(&first.before, &first.after, color, "  "));
            }
            for n in &first.notes {
                out.push_str(&wrap(n, layout.width, "  note: ", "        "));
            }
            out.push('\n');
        }
    }
    let blocked = blocked_groups(&plan.changes);
    if !blocked.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            color.warn(&color.bold(&format!(
                "Blocked ({} phone{}; nothing will be done to them):",
                plan.summary.blocked,
                plural(plan.summary.blocked)
            )))
        );
        for (provider, reason, phones) in &blocked {
            let who = if phones.len() == 1 {
                phone_label(phones[0])
            } else {
                format!("{} phones", phones.len())
            };
            let labels = labels(phones);
            let ids: Vec<&str> = labels.iter().map(String::as_str).collect();
            out.push_str(&reason_block(provider, &who, reason, &ids, layout));
        }
        out.push('\n');
    }
    out.push_str(&restart_pending_lines(
        &plan.summary.restart_pending,
        layout,
    ));
    if !plan.summary.converging.is_empty() {
        let n = plan.summary.converging.len();
        let _ = writeln!(
            out,
            "{}",
            color.dim(&format!(
                "Converging ({n} phone{} on {} way to the declared state; not drift, nothing to send):",
                plural(n),
                if n == 1 { "its" } else { "their" }
            ))
        );
        let groups = by_reason(
            plan.summary
                .converging
                .iter()
                .map(|c| (c.provider.as_str(), c.status.as_str(), c)),
        );
        for (provider, status, phones) in &groups {
            let who = match phones.as_slice() {
                [one] => crate::spec::label(one.name.as_deref(), &one.phone_id),
                many => format!("{} phones", many.len()),
            };
            let line = wrap(
                &format!("{provider} / {who}: status {status}"),
                layout.width,
                "  ",
                "    ",
            );
            out.push_str(&color.dim(line.trim_end()));
            out.push('\n');
            if phones.len() > 1 {
                let labels: Vec<String> = phones
                    .iter()
                    .map(|c| crate::spec::label(c.name.as_deref(), &c.phone_id))
                    .collect();
                let ids: Vec<&str> = labels.iter().map(String::as_str).collect();
                out.push_str(&id_list(&ids, layout, "    phones: "));
            }
        }
        out.push('\n');
    }
    if plan.summary.unchanged > 0 {
        let n = plan.summary.unchanged;
        let line = format!(
            "{n} phone{} already {} the spec (not shown).",
            plural(n),
            if n == 1 { "matches" } else { "match" }
        );
        let _ = writeln!(out, "{}", color.dim(&line));
    }
    for line in unmanaged_lines(plan, layout) {
        out.push_str(&color.dim(&line));
    }
    for (provider, endpoint) in &plan.summary.endpoints {
        let line = format!(
            "Provider `{provider}` sends its calls to {}, not its default endpoint.",
            crate::redact::controls(endpoint)
        );
        let _ = writeln!(out, "{}", wrap(&line, layout.width, "", "  ").trim_end());
    }
    let _ = writeln!(out, "{summary}");
    out
}

/// "4 phones at `gl` are not managed by this spec." (with their ids when known, capped like any id
/// list), one per provider, each ending in a newline.
pub fn unmanaged_lines(plan: &Plan, layout: Layout) -> Vec<String> {
    plan.summary
        .unmanaged
        .iter()
        .filter(|(_, u)| u.count > 0 || u.unknown.is_some())
        .map(|(provider, u)| {
            if u.unknown.is_some() {
                return wrap(
                    &format!(
                        "Phones at `{provider}` that this spec does not manage could not be counted (see the warning)."
                    ),
                    layout.width,
                    "",
                    "  ",
                );
            }
            let mut line = format!(
                "{} phone{} at `{provider}` {} not managed by this spec (never changed).",
                u.count,
                plural(u.count),
                if u.count == 1 { "is" } else { "are" }
            );
            if u.ids.is_none() {
                line.push_str(if u.count == 1 {
                    " Run with -v to list it."
                } else {
                    " Run with -v to list them."
                });
            }
            let mut text = wrap(&line, layout.width, "", "  ");
            if let Some(ids) = &u.ids {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                text.push_str(&id_list(&ids, layout, "  ids: "));
            }
            text
        })
        .collect()
}
