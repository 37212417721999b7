//! The per-phone schedule of apply, shown by the simulator's call log (each change call with the jobs
//! still running when it arrived), never by a timing: independent changes go in one wave, a chained
//! phone gets its properties before its start, and a failed job skips only that phone's later change.

use std::time::Duration;

use phonefleet::simulator::SimConfig;

use crate::apply::Report;
use crate::support::{Dir, Sim, pf, providers};

fn slow_jobs() -> SimConfig {
    SimConfig {
        transition: Duration::from_millis(1000),
        ..SimConfig::default()
    }
}

#[test]
fn independent_changes_all_go_in_the_first_wave() {
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..10 {
        fixture.push_str(&format!("  - {{provider: huawei-cph, id: c{i:02}, project_id: p1, status: running, properties: {{k: old}}}}\n"));
        phones.push_str(&format!(
            "  - {{id: c{i:02}, provider: cph, properties: {{k: new}}}}\n"
        ));
        fixture.push_str(&format!("  - {{provider: huawei-cph, id: t{i:02}, project_id: p1, status: running, traffic: direct}}\n"));
        phones.push_str(&format!(
            "  - {{id: t{i:02}, provider: cph, traffic: routing}}\n"
        ));
    }
    for i in 0..20 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: s{i:02}, project_id: p1, status: running}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: s{i:02}, provider: cph, state: stopped}}\n"
        ));
    }
    let sim = Sim::with(&fixture, slow_jobs());
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    let out = pf(&["apply", &dir.spec(), "--auto-approve"]).run();
    out.code(0).stdout_has("Apply: 40 ok");
    let log = sim.log();
    assert_eq!(log.len(), 3, "one call per action, the minimum: {log:?}");
    // Every call arrived while every job of the calls before it was still running: none waited.
    let mut sent_before = 0;
    for call in &log {
        assert_eq!(call.jobs_running, sent_before, "{log:?}");
        sent_before += call.ids.len();
    }
    assert!(
        log.iter()
            .any(|c| c.route.ends_with("batch-stop") && c.ids.len() == 20)
    );
}

#[test]
fn a_chained_phone_gets_its_properties_before_its_start() {
    let fixture = "phones:
  - {provider: huawei-cph, id: p1, project_id: p1, status: stopped, properties: {k: old}}
  - {provider: huawei-cph, id: q1, project_id: p1, status: stopped}
";
    let sim = Sim::with(fixture, slow_jobs());
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: p1, provider: cph, state: running, properties: {{k: new}}}}\n  - {{id: q1, provider: cph, state: running}}\n",
        providers(&sim.url())
    ));
    pf(&["apply", &dir.spec(), "--auto-approve"]).run().code(0);
    let log = sim.log();
    let at = |route: &str, id: &str| {
        log.iter()
            .position(|c| c.route.ends_with(route) && c.ids.iter().any(|i| i == id))
            .unwrap_or_else(|| panic!("no {route} for {id}: {log:?}"))
    };
    // q1 starts in the first wave, beside p1's properties; p1 starts once its property job is done.
    let props = at("batch-update-property", "p1");
    let p1_start = at("batch-restart", "p1");
    let q1_start = at("batch-restart", "q1");
    assert!(props < p1_start && q1_start < p1_start, "{log:?}");
    assert_eq!(log[p1_start].jobs_running_for_ids, 0, "{log:?}");
    assert_eq!(log[q1_start].ids, ["q1"], "{log:?}");
    let phones = sim.phones();
    assert_eq!(phones["p1"]["status"], 2);
    assert_eq!(phones["p1"]["properties"]["k"], "new");
}

#[test]
fn a_failed_property_job_skips_that_phone_s_start_only() {
    let fixture = "phones:
  - {provider: huawei-cph, id: f1, project_id: p1, status: stopped, properties: {k: old}, job_fails: {code: CPS.0003, message: 'internal error, retry later'}}
  - {provider: huawei-cph, id: g1, project_id: p1, status: stopped, properties: {k: old}}
";
    let sim = Sim::with_transition(fixture, 300);
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: cph, ids: [f1, g1], state: running, properties: {{k: new}}}}\n",
        providers(&sim.url())
    ));
    let out = pf(&["apply", &dir.spec(), "--auto-approve", "--json"]).run();
    out.code(1);
    let report: Report = out.json();
    let outcome = |id: &str, action: &str| {
        report
            .results
            .iter()
            .find(|r| r.phone_id == id && r.action.as_deref() == Some(action))
            .map(|r| {
                (
                    r.outcome.clone(),
                    r.error.as_ref().map(|e| e.message.clone()),
                )
            })
            .unwrap()
    };
    assert_eq!(outcome("f1", "set_properties").0, "failed");
    assert_eq!(
        outcome("f1", "start"),
        (
            "skipped".to_owned(),
            Some("an earlier change to this phone failed".to_owned())
        )
    );
    assert_eq!(outcome("g1", "set_properties").0, "ok");
    assert_eq!(outcome("g1", "start").0, "ok");
    let restarts: Vec<_> = sim
        .log()
        .into_iter()
        .filter(|c| c.route.ends_with("batch-restart"))
        .collect();
    assert_eq!(restarts.len(), 1);
    assert_eq!(restarts[0].ids, ["g1"], "f1 was never started");
    assert_eq!(sim.phones()["f1"]["status"], 8);
}

/// More one-phone batches than calls in flight, with jobs to poll: the poll never waits for the
/// concurrency permits that batches in flight hold (it once did, forever).
#[test]
fn job_polls_and_batches_share_the_provider_s_concurrency_without_a_deadlock() {
    let mut fixture = String::from("phones:\n");
    let mut ids = Vec::new();
    for i in 0..24 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i:02}, project_id: p1, status: stopped}}\n"
        ));
        ids.push(format!("c{i:02}"));
    }
    let sim = Sim::with(
        &fixture,
        SimConfig {
            latency: Duration::from_millis(30),
            transition: Duration::ZERO,
            ..SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: cph, state: running, ids: [{}]}}\n",
        providers(&sim.url()),
        ids.join(", ")
    ));
    pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--max-batch",
        "1",
        "--parallelism",
        "2",
    ])
    .run_within(Duration::from_secs(60))
    .code(0)
    .stdout_has("Apply: 24 ok");
}
