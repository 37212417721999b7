//! `plan` through the binary: JSON read into types defined here, markdown, saved plans and `show`,
//! `--detailed-exitcode`, `--target`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::support::{Dir, Sim, pf, providers};

#[derive(Debug, Deserialize)]
struct PlanJson {
    format_version: String,
    spec_digest: String,
    changes: Vec<Change>,
    batches: Vec<BatchJson>,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct Change {
    provider: String,
    phone_id: String,
    name: Option<String>,
    actions: Vec<ActionJson>,
    before: serde_json::Value,
    after: serde_json::Value,
    blocked: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ActionJson {
    action: String,
    before: serde_json::Value,
    after: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct BatchJson {
    provider: String,
    action: String,
    traffic: Option<String>,
    phone_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    start: usize,
    stop: usize,
    set_traffic: usize,
    set_properties: usize,
    blocked: usize,
    unchanged: usize,
    api_calls: BTreeMap<String, usize>,
    total_api_calls: usize,
}

pub const FIXTURE: &str = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, traffic: direct, properties: {sys.prop.writewifissid: old}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: stopped, traffic: direct}
  - {provider: huawei-cph, id: c3, project_id: p1, status: 7}
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: running}
  - {provider: geelark, id: g3, status: stopped}
  - {provider: koophone, id: k1, status: 5}
  - {provider: koophone, id: k2, status: running}
";

pub fn spec(url: &str) -> String {
    format!(
        "{}phones:
  - id: c1
    provider: cph
    name: bot-1
    state: running
    traffic: routing
    properties: {{sys.prop.writewifissid: new, com.cph.mainkeys: \"1\"}}
  - {{id: c2, provider: cph, state: running}}
  - {{id: c3, provider: cph, state: running}}
  - {{id: c9, provider: cph, state: running}}
  - {{id: k1, provider: kp, state: running}}
  - {{id: k2, provider: kp, state: running}}
groups:
  - provider: gl
    ids: [g1, g2]
    state: stopped
  - provider: gl
    ids: [g3]
    state: stopped
",
        providers(url)
    )
}

#[test]
fn json_plan_is_complete_sorted_and_stable() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let out = pf(&["plan", &dir.spec(), "--json"]).run();
    out.code(0);
    let plan: PlanJson = out.json();
    assert_eq!(plan.format_version, "1");
    assert!(plan.spec_digest.starts_with("sha256:"));
    let ids: Vec<(&str, &str)> = plan
        .changes
        .iter()
        .map(|c| (c.provider.as_str(), c.phone_id.as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("cph", "c1"),
            ("cph", "c2"),
            ("cph", "c3"),
            ("cph", "c9"),
            ("gl", "g1"),
            ("gl", "g2"),
            ("kp", "k1")
        ]
    );
    let c1 = &plan.changes[0];
    assert_eq!(c1.name.as_deref(), Some("bot-1"));
    let actions: Vec<&str> = c1.actions.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, vec!["set_properties", "set_traffic"]);
    assert_eq!(
        c1.actions[0].before,
        serde_json::json!({"com.cph.mainkeys": null, "sys.prop.writewifissid": "old"})
    );
    assert_eq!(
        c1.actions[0].after,
        serde_json::json!({"com.cph.mainkeys": "1", "sys.prop.writewifissid": "new"})
    );
    assert_eq!(
        (c1.actions[1].before.as_str(), c1.actions[1].after.as_str()),
        (Some("direct"), Some("routing"))
    );
    assert_eq!(c1.before["state"], "running");
    assert_eq!(c1.after["traffic"], "routing");
    assert!(
        plan.changes[2]
            .blocked
            .as_deref()
            .unwrap()
            .starts_with("status 7 (stopping)")
    );
    assert_eq!(
        plan.changes[3].blocked.as_deref(),
        Some("phone not found at provider `cph`")
    );
    assert!(
        plan.changes[6]
            .blocked
            .as_deref()
            .unwrap()
            .contains("no API to start or stop")
    );
    assert_eq!(
        (
            plan.summary.start,
            plan.summary.stop,
            plan.summary.set_traffic,
            plan.summary.set_properties
        ),
        (1, 2, 1, 1)
    );
    assert_eq!((plan.summary.blocked, plan.summary.unchanged), (3, 2));
    assert_eq!(plan.summary.api_calls.get("cph"), Some(&3));
    assert_eq!(plan.summary.api_calls.get("gl"), Some(&1));
    assert_eq!(plan.summary.total_api_calls, 4);
    let batches: Vec<(&str, &str, Option<&str>, usize)> = plan
        .batches
        .iter()
        .map(|b| {
            (
                b.provider.as_str(),
                b.action.as_str(),
                b.traffic.as_deref(),
                b.phone_ids.len(),
            )
        })
        .collect();
    assert_eq!(
        batches,
        vec![
            // The schedule's waves: c1's properties and c2's start go first, c1's route after.
            ("cph", "set_properties", None, 1),
            ("cph", "start", None, 1),
            ("cph", "set_traffic", Some("routing"), 1),
            ("gl", "stop", None, 2)
        ]
    );
    // Stable: the same fleet gives the same document.
    assert_eq!(
        pf(&["plan", &dir.spec(), "--json"]).run().stdout,
        out.stdout
    );
}

#[test]
fn text_plan_folds_identical_changes_and_counts_the_rest() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let out = pf(&["plan", &dir.spec()]).run();
    out.code(0)
        .stdout_has("- gl / 2 phones: stop\n  phones: g1, g2\n  -state: running\n  +state: stopped")
        .stdout_has("~ cph / bot-1 (c1): set_properties, set_traffic")
        .stdout_has("note: `com.cph.mainkeys` takes effect after restart")
        .stdout_has("! cph / c9: phone not found at provider `cph`")
        .stdout_has("2 phones already match the spec (not shown).")
        .stdout_has("Plan: 4 phones, 5 changes: 2 to stop, 1 to start, 1 to re-route, 1 to update properties; 3 blocked. 4 API calls on 2 providers.")
        .stderr_has("Reading 9 phones from 3 providers");
    assert!(
        !out.stdout.contains('\x1b'),
        "no colors when stdout is not a terminal"
    );
    let md = pf(&["plan", &dir.spec(), "--markdown"]).run();
    md.code(0)
        .stdout_has("| `cph` | 1 | 0 | 1 | 1 | 2 | 3 |")
        .stdout_has("<details><summary>Changes (4 phones)</summary>")
        .stdout_has("```diff");
}

#[test]
fn detailed_exitcode_says_whether_the_fleet_drifted() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    pf(&["plan", &dir.spec(), "--detailed-exitcode"])
        .run()
        .code(2);
    pf(&["plan", &dir.spec()]).run().code(0);
    let clean = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: k2, provider: kp, state: running}}\n",
        providers(&sim.url())
    ));
    pf(&["plan", &clean.spec(), "--detailed-exitcode"])
        .run()
        .code(0)
        .stdout_has("No changes. The fleet matches the spec.");
    // Blocked drift alone counts as drift.
    let blocked = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: k1, provider: kp, state: running}}\n",
        providers(&sim.url())
    ));
    pf(&["plan", &blocked.spec(), "--detailed-exitcode"])
        .run()
        .code(2);
    let broken = Dir::with_spec("version: 3\n");
    pf(&["plan", &broken.spec(), "--detailed-exitcode"])
        .run()
        .code(1);
}

#[test]
fn targets_limit_the_plan_to_phones_and_providers() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let out = pf(&["plan", &dir.spec(), "--json", "--target", "c2"]).run();
    out.stderr_has("warning: --target c2 is in effect: this plan covers 1 of the spec's 9 phones");
    let by_id: PlanJson = out.json();
    assert_eq!(by_id.changes.len(), 1);
    assert_eq!(by_id.changes[0].phone_id, "c2");
    let by_provider: PlanJson = pf(&[
        "plan",
        &dir.spec(),
        "--json",
        "--target",
        "gl",
        "--target",
        "c1",
    ])
    .run()
    .json();
    let ids: Vec<&str> = by_provider
        .changes
        .iter()
        .map(|c| c.phone_id.as_str())
        .collect();
    assert_eq!(ids, vec!["c1", "g1", "g2"]);
    assert_eq!(
        sim.stats().get("POST /v1/instances/batch-query-status"),
        None,
        "kp is never read when not targeted"
    );
    pf(&["plan", &dir.spec(), "--target", "nope"])
        .run()
        .code(1)
        .stderr_has("`--target nope` names no phone id, phone name or provider");
}

#[test]
fn saved_plans_render_with_show_and_detect_edits() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let plan_file = dir.path("plan.json");
    let out = pf(&["plan", &dir.spec(), "--out", &plan_file]).run();
    out.code(0).stderr_has("Saved the plan to");
    // `show` renders what the file keeps: the phones to change and the calls, as plan showed them
    // (blocked phones are not kept: apply does not act on them).
    let shown = pf(&["show", &plan_file]).run();
    shown.code(0).stderr_has("Plan made ");
    let plan_json: PlanJson = pf(&["plan", &dir.spec(), "--json"]).run().json();
    let json: PlanJson = pf(&["show", &plan_file, "--json"]).run().json();
    let to_change = plan_json
        .changes
        .iter()
        .filter(|c| !c.actions.is_empty())
        .count();
    assert_eq!(json.changes.len(), to_change);
    for c in json.changes.iter() {
        assert!(
            shown.stdout.contains(&c.phone_id),
            "{} is shown:\n{}",
            c.phone_id,
            shown.stdout
        );
    }
    pf(&["show", &plan_file, "--markdown"])
        .run()
        .code(0)
        .stdout_has("### phonefleet plan");
    let saved: serde_json::Value = serde_json::from_str(&dir.read("plan.json")).unwrap();
    assert_eq!(saved["format_version"], "2");
    assert!(saved["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(
        saved["phones"][0]["observed"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    let edited = dir.read("plan.json").replace("\"stop\"", "\"start\"");
    let edited_file = dir.write("edited.json", &edited);
    pf(&["show", &edited_file])
        .run()
        .code(1)
        .stderr_has("edited after it was written");
}

#[test]
fn a_large_drifted_fleet_fits_a_github_comment() {
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..3000 {
        fixture.push_str(&format!("  - {{provider: huawei-cph, id: c{i:05}, project_id: p1, status: running, traffic: direct, properties: {{k: old{i}}}}}\n"));
        phones.push_str(&format!(
            "  - {{id: c{i:05}, provider: cph, state: running, properties: {{k: new{i}}}}}\n"
        ));
    }
    let sim = Sim::start(&fixture);
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    let out = pf(&["plan", &dir.spec(), "--markdown"]).run();
    out.code(0)
        .stdout_has(" phones: set_properties (not listed: the comment is full");
    assert!(out.stdout.len() < 60_000, "{} characters", out.stdout.len());
    assert!(out.stdout.trim_end().ends_with("</details>"));
}

/// A long id list is capped in the text plan, and `--full` or `-v` lists every id; piped lines stay
/// within 160 characters.
#[test]
fn long_id_lists_are_capped_unless_full_or_verbose() {
    let mut fixture = String::from("phones:\n");
    let mut ids = Vec::new();
    for i in 0..300 {
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: G{i:011}, status: running}}\n"
        ));
        ids.push(format!("G{i:011}"));
    }
    let sim = Sim::start(&fixture);
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: gl, state: stopped, ids: [{}]}}\n",
        providers(&sim.url()),
        ids.join(", ")
    ));
    let capped = pf(&["plan", &dir.spec()]).run();
    capped.code(0).stdout_has("more (see --json, or --full)");
    assert!(capped.stdout.lines().all(|l| l.chars().count() <= 160));
    assert!(!capped.stdout.contains(ids.last().unwrap().as_str()));
    for flag in ["--full", "-v"] {
        let out = pf(&["plan", &dir.spec(), flag]).run();
        out.code(0);
        assert!(!out.stdout.contains("more (see --json"), "{flag}");
        assert!(
            ids.iter().all(|id| out.stdout.contains(id.as_str())),
            "{flag}"
        );
    }
}

/// `plan --base SPEC` splits the changes into the pull request's own and drift the base spec would
/// also fix (Terraform's "changed outside of Terraform"), from the same reads.
#[test]
fn base_splits_this_pull_request_from_drift() {
    let sim = Sim::start(
        "phones:
  - {provider: geelark, id: g1, status: stopped}
  - {provider: geelark, id: g2, status: running}
  - {provider: geelark, id: g3, status: running}
",
    );
    let head = Dir::with_spec(&format!(
        "{}phones:
  - {{id: g1, provider: gl, name: drifted-1, state: running}}
  - {{id: g2, provider: gl, name: pr-stop, state: stopped}}
  - {{id: g3, provider: gl, state: running}}
",
        providers(&sim.url())
    ));
    let base = head.write(
        "base.yaml",
        &format!(
            "{}phones:
  - {{id: g1, provider: gl, name: drifted-1, state: running}}
  - {{id: g2, provider: gl, name: pr-stop, state: running}}
  - {{id: g3, provider: gl, state: running}}
",
            providers(&sim.url())
        ),
    );
    let md = pf(&["plan", &head.spec(), "--base", &base, "--markdown"]).run();
    md.code(0)
        .stdout_has("**This pull request** changes 1 phone; **1 phone** drifted outside it")
        .stdout_has("<details><summary>This pull request (1 phone)</summary>")
        .stdout_has("<details><summary>Drift the base spec would also fix (1 phone)</summary>");
    let md = &md.stdout;
    let own = md.find("This pull request (1 phone)").unwrap();
    let drift = md.find("Drift the base spec would also fix").unwrap();
    let stop = md.find("# gl / pr-stop (g2): stop").unwrap();
    let start = md.find("# gl / drifted-1 (g1): start").unwrap();
    assert!(own < stop && stop < drift && drift < start, "{md}");
    let text = pf(&["plan", &head.spec(), "--base", &base]).run();
    text.code(0)
        .stdout_has("This pull request changes 1 phone; 1 phone drifted outside it")
        .stdout_has("  drift: drifted-1 (g1)\n");
    let json: serde_json::Value = pf(&["plan", &head.spec(), "--base", &base, "--json"])
        .run()
        .code(0)
        .json();
    let origins: Vec<(&str, &str)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["phone_id"].as_str().unwrap(),
                c["origin"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(origins, [("g1", "drift"), ("g2", "pull_request")]);
    // The same reads as a plan without --base: one status call.
    assert_eq!(sim.stats().get("POST /open/v1/phone/status"), Some(&3));
    pf(&["plan", &head.spec(), "--base", &head.path("missing.yaml")])
        .run()
        .code(1)
        .stderr_has("the base spec");
}

/// `show` of a saved plan says what the plan said: the same summary line, blocked phones counted.
#[test]
fn show_repeats_the_plan_s_summary_blocked_phones_included() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let plan_file = dir.path("plan.json");
    let planned = pf(&["plan", &dir.spec(), "--out", &plan_file]).run();
    let summary = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("Plan: "))
            .unwrap_or_default()
            .to_owned()
    };
    let said = summary(&planned.stdout);
    assert!(said.contains(" blocked"), "{said}");
    assert!(
        !said.contains(" 0 blocked"),
        "the fixture has blocked phones: {said}"
    );
    let shown = pf(&["show", &plan_file]).run();
    shown.code(0);
    assert_eq!(summary(&shown.stdout), said);
}
