//! An apply report as text, read like the plan: the counts per action first; each failure with its code,
//! message and what to do; blocked and skipped phones folded by reason with capped id lists; the summary
//! line last, which says "run apply again" only when a failure may pass on a second try.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::wrap::{Layout, by_reason, reason_block, wrap};
use crate::apply::{ApplyReport, Outcome};
use crate::plan::Action;
use crate::provider::advice::{self, Advice};

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "12 stopped, 3 started, 1 re-routed, 2 with new properties" for the changes that succeeded.
fn done_line(report: &ApplyReport) -> String {
    let mut done: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &report.results {
        if let (Outcome::Ok, Some(a)) = (&r.outcome, r.action) {
            *done.entry(a.name()).or_default() += 1;
        }
    }
    let n = |a: Action| done.get(a.name()).copied().unwrap_or(0);
    let restarted = match n(Action::Restart) {
        0 => String::new(),
        r => format!(", {r} restarted with new properties"),
    };
    format!(
        "Done: {} stopped, {} started, {} re-routed, {} with new properties{restarted}.",
        n(Action::Stop),
        n(Action::Start),
        n(Action::SetTraffic(crate::spec::Traffic::Direct)),
        n(Action::SetProperties)
    )
}

/// Phones with the same reason, folded: (provider, reason) -> `name (id)` labels, in report order.
fn folded<'a>(
    report: &'a ApplyReport,
    pick: impl Fn(&'a Outcome) -> Option<&'a str>,
) -> Vec<(&'a str, &'a str, Vec<String>)> {
    by_reason(
        report.results.iter().filter_map(|r| {
            pick(&r.outcome).map(|reason| (r.provider.as_str(), reason, r.label()))
        }),
    )
}

/// The report as text.
pub fn report(report: &ApplyReport, layout: Layout) -> String {
    let color = layout.color;
    let mut out = String::new();
    let c = report.counts();
    let _ = writeln!(out, "{}", color.bold(&done_line(report)));
    if !report.overridden_guards.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            color.warn(&color.bold("Guards overridden (--override-guards):"))
        );
        for g in &report.overridden_guards {
            out.push_str(&wrap(&g.describe(), layout.width, "  ", "    "));
        }
    }
    if !report.already_done.is_empty() {
        let n = report.already_done.len();
        let _ = writeln!(
            out,
            "\n{}",
            color.bold(&format!(
                "Already done ({n} phone{} of the plan already as it wants; nothing was sent to {}):",
                if n == 1 { "" } else { "s" },
                if n == 1 { "it" } else { "them" }
            ))
        );
        let groups = by_reason(report.already_done.iter().map(|(p, id, name)| {
            (
                p.as_str(),
                "already done",
                crate::spec::label(name.as_deref(), id),
            )
        }));
        for (provider, _, labels) in groups {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            out.push_str(&crate::render::wrap::id_list(
                &labels,
                layout,
                &format!("  {provider}: "),
            ));
        }
    }
    let mut retryable = 0;
    let mut for_a_person = 0;
    let failures: Vec<_> = report
        .results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(e) => Some((r, e)),
            _ => None,
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            color.delete(&color.bold(&format!("Failed ({}):", failures.len())))
        );
        // Folded by (provider, action, code, message with the phone's own ids taken out): a bad day
        // with 900 failures in three ways reads as three blocks.
        let mut groups: Vec<(String, Vec<String>, &str, Option<&str>)> = Vec::new();
        let mut index: std::collections::BTreeMap<String, usize> = Default::default();
        for (r, e) in &failures {
            let action = r.action.as_ref().map_or("read", Action::name);
            let line = format!(
                "{} / {{who}}: {action}: {}: {}",
                r.provider,
                e.code,
                crate::render::wrap::normalise(&e.message, &r.phone_id)
            );
            match index.get(&line) {
                Some(&i) => groups[i].1.push(r.label()),
                None => {
                    index.insert(line.clone(), groups.len());
                    let name = r.action.as_ref().map(Action::name);
                    groups.push((line, vec![r.label()], e.code.as_str(), name));
                }
            }
            match advice::for_failure(&e.code, r.action.as_ref().map(Action::name)) {
                Advice::Retry => retryable += 1,
                Advice::Person(_) => for_a_person += 1,
            }
        }
        for (line, ids, code, action) in &groups {
            let who = if ids.len() == 1 {
                ids[0].clone()
            } else {
                format!("{} phones", ids.len())
            };
            let line = line.replace("{who}", &who);
            out.push_str(&color.delete(wrap(&line, layout.width, "x ", "    ").trim_end()));
            out.push('\n');
            if ids.len() > 1 {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                out.push_str(&crate::render::wrap::id_list(&ids, layout, "  phones: "));
            }
            if let Advice::Person(what) = advice::for_failure(code, *action) {
                out.push_str(&wrap(what, layout.width, "    to do: ", "           "));
            }
        }
    }
    for (title, blocks) in [
        (
            "Blocked",
            folded(report, |o| match o {
                Outcome::Blocked(reason) => Some(reason.as_str()),
                _ => None,
            }),
        ),
        (
            "Skipped",
            folded(report, |o| match o {
                Outcome::Skipped(reason) => Some(reason.as_str()),
                _ => None,
            }),
        ),
    ] {
        if blocks.is_empty() {
            continue;
        }
        let n: usize = blocks.iter().map(|b| b.2.len()).sum();
        let _ = writeln!(
            out,
            "\n{}",
            color.warn(&color.bold(&format!("{title} ({n}):")))
        );
        for (provider, reason, ids) in blocks {
            let who = if ids.len() == 1 {
                ids[0].clone()
            } else {
                format!("{} phones", ids.len())
            };
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            out.push_str(&reason_block(provider, &who, reason, &ids, layout));
        }
    }
    let phones: std::collections::BTreeSet<(&str, &str)> = report
        .results
        .iter()
        .filter(|r| r.action.is_some())
        .map(|r| (r.provider.as_str(), r.phone_id.as_str()))
        .collect();
    let mut last = format!(
        "Apply: {} ok, {} failed, {} blocked, {} skipped ({} to {}).",
        c.ok,
        c.failed,
        c.blocked,
        c.skipped,
        super::counted(c.ok + c.failed + c.skipped, "change", "changes"),
        super::counted(phones.len(), "phone", "phones")
    );
    if retryable + c.skipped > 0 {
        last.push_str(" Run apply again to finish the job.");
    }
    if for_a_person > 0 {
        let _ = write!(
            last,
            " {for_a_person} failure{} need{} a person first (see \"to do\").",
            plural(for_a_person),
            if for_a_person == 1 { "s" } else { "" }
        );
    }
    let _ = writeln!(out, "\n{}", color.bold(&last));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::PhoneResult;
    use crate::provider::PhoneError;

    #[test]
    fn skipped_and_blocked_phones_fold_by_reason() {
        let mut results = Vec::new();
        for i in 0..311 {
            results.push(PhoneResult {
                provider: "gl".into(),
                phone_id: format!("g{i:03}"),
                name: (i == 0).then(|| "growth-000".into()),
                action: Some(Action::Stop),
                keys: Vec::new(),
                outcome: Outcome::Skipped("interrupted before this batch was sent".into()),
            });
        }
        for i in 0..66 {
            results.push(PhoneResult {
                provider: "kp".into(),
                phone_id: format!("k{i:02}"),
                name: None,
                action: None,
                keys: Vec::new(),
                outcome: Outcome::Blocked("koophone offers no API to start or stop".into()),
            });
        }
        results.push(PhoneResult {
            provider: "gl".into(),
            phone_id: "g999".into(),
            name: None,
            action: Some(Action::Stop),
            keys: Vec::new(),
            outcome: Outcome::Ok,
        });
        results.push(PhoneResult {
            provider: "gl".into(),
            phone_id: "g998".into(),
            name: None,
            action: Some(Action::Stop),
            keys: Vec::new(),
            outcome: Outcome::Failed(PhoneError {
                code: "43006".into(),
                message: "the cloud phone is being remotely connected".into(),
            }),
        });
        let text = report(
            &ApplyReport {
                results,
                interrupted: true,
                overridden_guards: Vec::new(),
                already_done: Vec::new(),
            },
            Layout::plain(),
        );
        assert!(text.starts_with("Done: 1 stopped, 0 started"), "{text}");
        assert!(text.contains("Skipped (311):\n! gl / 311 phones: interrupted before this batch was sent\n  ids: growth-000 (g000), g001,"), "{text}");
        assert!(
            text.contains("Blocked (66):\n! kp / 66 phones: koophone offers no API"),
            "{text}"
        );
        assert!(text.lines().count() < 25, "folded: {text}");
        assert!(text.lines().all(|l| l.len() <= 160), "{text}");
        assert!(text.trim_end().ends_with(
            "Apply: 1 ok, 1 failed, 66 blocked, 311 skipped (313 changes to 313 phones). Run apply again to finish the job. 1 failure needs a person first (see \"to do\")."
        ), "{text}");
    }
}
