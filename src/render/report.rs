//! An apply report as text, read like the plan: the counts per action first; each failure with its code,
//! message and what to do; phones that could not be read apart from failed changes; blocked and skipped
//! phones folded by reason with capped id lists, each phone once; the summary line last, which counts
//! changes and phones apart and says what to do next: "run apply again" only when a second try now may
//! pass (not while a provider has locked its API for hours, and with a longer `--timeout` when the
//! deadline is what stopped it).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::wrap::{Layout, by_reason, reason_block, wrap};
use crate::apply::{ApplyReport, Outcome};
use crate::plan::{Action, ActionKind};
use crate::provider::advice::{self, Advice};

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "12 stopped, 3 started, 1 re-routed, 2 with new properties" for the changes that succeeded (the
/// actions of the first format always; the others when some were done).
fn done_line(report: &ApplyReport) -> String {
    let mut done: BTreeMap<ActionKind, usize> = BTreeMap::new();
    for r in &report.results {
        if let (Outcome::Ok, Some(a)) = (&r.outcome, r.action) {
            *done.entry(a.kind()).or_default() += 1;
        }
    }
    let parts = super::action_counts(|k| done.get(&k).copied().unwrap_or(0), |w| w.done);
    format!("Done: {parts}.")
}

/// Phones with the same reason, folded: (provider, reason) -> `name (id)` labels, in report order, each
/// phone once (a phone with two skipped changes is one phone).
fn folded<'a>(
    report: &'a ApplyReport,
    pick: impl Fn(&'a crate::apply::PhoneResult) -> Option<&'a str>,
) -> Vec<(&'a str, &'a str, Vec<String>)> {
    let mut seen: std::collections::HashSet<(&str, &str, &str)> = Default::default();
    by_reason(report.results.iter().filter_map(|r| {
        let reason = pick(r)?;
        seen.insert((r.provider.as_str(), r.phone_id.as_str(), reason))
            .then(|| (r.provider.as_str(), reason, r.label()))
    }))
}

/// What to do next, when `unfinished` changes or phones are left: run apply again, but not while a
/// provider has locked its API for hours, and with a longer `--timeout` when the deadline stopped it.
fn next_step(report: &ApplyReport, unfinished: usize) -> String {
    if unfinished == 0 {
        return String::new();
    }
    let says = |needle: &str| {
        report.results.iter().any(|r| match &r.outcome {
            Outcome::Failed(e) => e.code.contains(needle) || e.message.contains(needle),
            Outcome::Skipped(reason) => reason.contains(needle),
            _ => false,
        })
    };
    if says("40014") {
        " GeeLark locked its API for two hours (40014, too many requests in an hour): running apply \
         again before then fails the same way; run it after the lock lifts."
            .to_owned()
    } else if says("deadline passed (--timeout)") || says("at the deadline") {
        " The run's deadline (--timeout) passed before everything was sent or confirmed: run apply \
         again, with a longer --timeout for a fleet this size."
            .to_owned()
    } else {
        " Run apply again to finish the job.".to_owned()
    }
}

/// The report as text.
pub fn report(report: &ApplyReport, layout: Layout) -> String {
    let color = layout.color;
    let mut out = String::new();
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
    if !report.restart_pending.is_empty() {
        out.push('\n');
        out.push_str(
            super::text::restart_pending_lines(&report.restart_pending, layout).trim_end(),
        );
        out.push('\n');
    }
    let mut retryable = 0;
    let mut for_a_person = 0;
    // Failed changes; a phone that could not be read has no change and is shown apart.
    let failures: Vec<_> = report
        .results
        .iter()
        .filter_map(|r| match (&r.outcome, r.action) {
            (Outcome::Failed(e), Some(_)) => Some((r, e)),
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
        // (line, phones, code, action, kind)
        type Group<'a> = (
            String,
            Vec<String>,
            &'a str,
            Option<&'a str>,
            crate::spec::ProviderKind,
        );
        let mut groups: Vec<Group<'_>> = Vec::new();
        let mut index: std::collections::BTreeMap<String, usize> = Default::default();
        for (r, e) in &failures {
            let action = r.action.as_ref().map_or("change", Action::name);
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
                    groups.push((line, vec![r.label()], e.code.as_str(), name, r.kind));
                }
            }
            match advice::for_failure(r.kind, &e.code, r.action.as_ref().map(Action::name)) {
                Advice::Retry => retryable += 1,
                Advice::Person(_) => for_a_person += 1,
            }
        }
        for (line, ids, code, action, kind) in &groups {
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
            if let Advice::Person(what) = advice::for_failure(*kind, code, *action) {
                out.push_str(&wrap(what, layout.width, "    to do: ", "           "));
            }
        }
    }
    let c = report.counts();
    for (title, what, blocks) in [
        (
            "Not read",
            "nothing was sent to them",
            folded(report, |r| match (&r.outcome, r.action) {
                (Outcome::Failed(e), None) => Some(e.message.as_str()),
                _ => None,
            }),
        ),
        (
            "Blocked",
            "",
            folded(report, |r| match &r.outcome {
                Outcome::Blocked(reason) => Some(reason.as_str()),
                _ => None,
            }),
        ),
        (
            "Skipped",
            "",
            folded(report, |r| match &r.outcome {
                Outcome::Skipped(reason) => Some(reason.as_str()),
                _ => None,
            }),
        ),
    ] {
        if blocks.is_empty() {
            continue;
        }
        let n: usize = blocks.iter().map(|b| b.2.len()).sum();
        let count = match title {
            "Skipped" => format!(
                "{} to {}",
                super::counted(c.skipped, "change", "changes"),
                super::counted(n, "phone", "phones")
            ),
            _ => super::counted(n, "phone", "phones"),
        };
        let what = if what.is_empty() {
            String::new()
        } else {
            format!("; {what}")
        };
        let _ = writeln!(
            out,
            "\n{}",
            color.warn(&color.bold(&format!("{title} ({count}{what}):")))
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
    let n = super::count;
    let mut last = format!(
        "Apply: {} ok, {} failed, {} blocked, {} skipped ({} to {}).",
        n(c.ok),
        n(c.failed),
        n(c.blocked),
        n(c.skipped),
        super::counted(c.ok + c.failed + c.skipped, "change", "changes"),
        super::counted(c.phones, "phone", "phones")
    );
    if c.unread > 0 {
        let _ = write!(
            last,
            " {} could not be read; nothing was sent to {}.",
            super::counted(c.unread, "phone", "phones"),
            if c.unread == 1 { "it" } else { "them" }
        );
    }
    last.push_str(&next_step(report, retryable + c.skipped + c.unread));
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
                kind: crate::spec::ProviderKind::Geelark,
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
                kind: crate::spec::ProviderKind::Koophone,
                phone_id: format!("k{i:02}"),
                name: None,
                action: None,
                keys: Vec::new(),
                outcome: Outcome::Blocked("koophone offers no API to start or stop".into()),
            });
        }
        results.push(PhoneResult {
            provider: "gl".into(),
            kind: crate::spec::ProviderKind::Geelark,
            phone_id: "g999".into(),
            name: None,
            action: Some(Action::Stop),
            keys: Vec::new(),
            outcome: Outcome::Ok,
        });
        results.push(PhoneResult {
            provider: "gl".into(),
            kind: crate::spec::ProviderKind::Geelark,
            phone_id: "g998".into(),
            name: None,
            action: Some(Action::Stop),
            keys: Vec::new(),
            outcome: Outcome::Failed(PhoneError {
                code: "43006".into(),
                message: "the cloud phone is being remotely connected".into(),
            }),
        });
        // A phone with two changes skipped is one phone; a phone that could not be read is not a
        // failed change.
        results.push(PhoneResult {
            provider: "gl".into(),
            kind: crate::spec::ProviderKind::Geelark,
            phone_id: "g000".into(),
            name: Some("growth-000".into()),
            action: Some(Action::Start),
            keys: Vec::new(),
            outcome: Outcome::Skipped("interrupted before this batch was sent".into()),
        });
        results.push(PhoneResult {
            provider: "cph".into(),
            kind: crate::spec::ProviderKind::HuaweiCph,
            phone_id: "c1".into(),
            name: None,
            action: None,
            keys: Vec::new(),
            outcome: Outcome::Failed(PhoneError {
                code: "unreadable".into(),
                message: "the read timed out".into(),
            }),
        });
        let text = report(
            &ApplyReport {
                results,
                interrupted: true,
                overridden_guards: Vec::new(),
                already_done: Vec::new(),
                restart_pending: Vec::new(),
            },
            Layout::plain(),
        );
        assert!(text.starts_with("Done: 1 stopped, 0 started"), "{text}");
        assert!(text.contains("Skipped (312 changes to 311 phones):\n! gl / 311 phones: interrupted before this batch was sent\n  ids: growth-000 (g000), g001,"), "{text}");
        assert_eq!(text.matches("growth-000").count(), 1, "once: {text}");
        assert!(
            text.contains(
                "Not read (1 phone; nothing was sent to them):\n! cph / c1: the read timed out"
            ),
            "{text}"
        );
        assert!(text.contains("Failed (1):"), "{text}");
        assert!(
            text.contains("Blocked (66 phones):\n! kp / 66 phones: koophone offers no API"),
            "{text}"
        );
        assert!(text.lines().count() < 30, "folded: {text}");
        // Every line but the summary (one line, for scripts that grep it) within 160 characters.
        assert!(
            text.lines()
                .all(|l| l.len() <= 160 || l.starts_with("Apply: ")),
            "{text}"
        );
        assert!(text.trim_end().ends_with(
            "Apply: 1 ok, 1 failed, 66 blocked, 312 skipped (314 changes to 313 phones). 1 phone could not be read; nothing was sent to it. Run apply again to finish the job. 1 failure needs a person first (see \"to do\")."
        ), "{text}");
    }

    #[test]
    fn a_locked_provider_or_a_passed_deadline_says_what_to_do_instead_of_run_again() {
        let skipped = |reason: &str| ApplyReport {
            results: vec![PhoneResult {
                provider: "gl".into(),
                kind: crate::spec::ProviderKind::Geelark,
                phone_id: "g1".into(),
                name: None,
                action: Some(Action::Stop),
                keys: Vec::new(),
                outcome: Outcome::Skipped(reason.into()),
            }],
            interrupted: false,
            overridden_guards: Vec::new(),
            already_done: Vec::new(),
            restart_pending: Vec::new(),
        };
        let locked = report(
            &skipped("not sent: 40014: GeeLark locked this API for two hours"),
            Layout::plain(),
        );
        assert!(locked.contains("run it after the lock lifts"), "{locked}");
        assert!(!locked.contains("Run apply again to finish"), "{locked}");
        let late = report(
            &skipped("not sent: the run's deadline passed (--timeout)"),
            Layout::plain(),
        );
        assert!(late.contains("with a longer --timeout"), "{late}");
    }
}
