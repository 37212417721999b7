//! `apply` end to end against the simulator: all three providers, per-phone failures, faults converging,
//! saved plans (stale and edited ones refused before any change), confirmation, convergence timeouts,
//! Ctrl-C, and secrets kept out of every output.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use phonefleet::simulator::SimConfig;
use serde::Deserialize;

use crate::plan::{FIXTURE, spec};
use crate::support::{CPH_TOKEN, Dir, GL_TOKEN, KP_TOKEN, Sim, pf, providers};

/// `apply --json`, read into types of the tests' own (shared by the test modules).
#[derive(Debug, Deserialize)]
pub struct Report {
    pub format_version: String,
    pub results: Vec<ResultJson>,
    pub summary: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct ResultJson {
    pub provider: String,
    pub phone_id: String,
    pub action: Option<String>,
    pub outcome: String,
    pub error: Option<ErrorJson>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorJson {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
struct PlanIds {
    changes: Vec<PlanChange>,
}

#[derive(Debug, Deserialize)]
struct PlanChange {
    actions: Vec<serde_json::Value>,
}

#[test]
fn all_three_providers_converge_and_plan_then_shows_no_changes() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let out = pf(&["apply", &dir.spec(), "--auto-approve", "--json"]).run();
    out.code(0);
    let report: Report = out.json();
    assert_eq!(report.format_version, "1");
    let outcomes: BTreeSet<(String, String, Option<String>, String)> = report
        .results
        .iter()
        .map(|r| {
            (
                r.provider.clone(),
                r.phone_id.clone(),
                r.action.clone(),
                r.outcome.clone(),
            )
        })
        .collect();
    let expect = |p: &str, id: &str, a: Option<&str>, o: &str| {
        (
            p.to_owned(),
            id.to_owned(),
            a.map(str::to_owned),
            o.to_owned(),
        )
    };
    for e in [
        expect("cph", "c1", Some("set_properties"), "ok"),
        expect("cph", "c1", Some("set_traffic"), "ok"),
        expect("cph", "c2", Some("start"), "ok"),
        expect("gl", "g1", Some("stop"), "ok"),
        expect("gl", "g2", Some("stop"), "ok"),
        expect("cph", "c3", None, "blocked"),
        expect("cph", "c9", None, "blocked"),
        expect("kp", "k1", None, "blocked"),
    ] {
        assert!(outcomes.contains(&e), "missing {e:?} in {outcomes:?}");
    }
    assert_eq!(report.results.len(), 8);
    assert_eq!(report.summary["ok"], 5);
    let phones = sim.phones();
    assert_eq!(phones["c1"]["traffic"], "routing");
    assert_eq!(phones["c1"]["properties"]["sys.prop.writewifissid"], "new");
    assert_eq!(phones["c2"]["status"], 2);
    assert_eq!(phones["g1"]["status"], 2);
    // Only the batch calls the plan named: one per (provider, action).
    let stats = sim.stats();
    assert_eq!(
        stats.get("POST /v1/{project_id}/cloud-phone/phones/batch-update-property"),
        Some(&1)
    );
    assert_eq!(
        stats.get("POST /v1/{project_id}/cloud-phone/phones-traffic"),
        Some(&1)
    );
    assert_eq!(
        stats.get("POST /v1/{project_id}/cloud-phone/phones/batch-restart"),
        Some(&1)
    );
    assert_eq!(stats.get("POST /open/v1/phone/stop"), Some(&1));
    assert_eq!(
        stats.get("POST /v1/{project_id}/cloud-phone/phones/batch-stop"),
        None
    );
    let again: PlanIds = pf(&["plan", &dir.spec(), "--json"]).run().json();
    assert!(
        again.changes.iter().all(|c| c.actions.is_empty()),
        "only blocked phones remain: {again:?}"
    );
}

#[test]
fn busy_geelark_phones_fail_per_phone_and_a_second_apply_only_retries_them() {
    let fixture = "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: running, busy: remote}
  - {provider: geelark, id: g3, status: running, busy: task}
  - {provider: geelark, id: g4, status: running}
";
    let sim = Sim::start(fixture);
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: gl, ids: [g1, g2, g3, g4], state: stopped}}\n",
        providers(&sim.url())
    ));
    let out = pf(&["apply", &dir.spec(), "--auto-approve"]).run();
    // The report reads like the plan: what was done first, each failure with what to do, and "run
    // apply again" because one failure (a task in progress) may pass on a second try.
    out.code(1)
        .stdout_has("Done: 2 stopped, 0 started, 0 re-routed, 0 with new properties.")
        .stdout_has("Failed (2):")
        .stdout_has("x gl / g2: stop: 43006: the cloud phone is being remotely connected\n    to do: someone is connected to the phone remotely: end that session")
        .stdout_has("x gl / g3: stop: 43005: the cloud phone is executing a task\n")
        .stdout_has(
            "Apply: 2 ok, 2 failed, 0 blocked, 0 skipped (4 changes to 4 phones). Run apply again to finish the job. 1 failure needs a person first (see \"to do\").",
        );
    assert!(
        !out.stdout
            .contains("x gl / g3: stop: 43005: the cloud phone is executing a task\n    to do")
    );
    let second = pf(&["apply", &dir.spec(), "--auto-approve", "--json"]).run();
    let report: Report = second.json();
    let ids: Vec<&str> = report.results.iter().map(|r| r.phone_id.as_str()).collect();
    assert_eq!(ids, vec!["g2", "g3"], "only what is left");
    assert_eq!(report.results[0].error.as_ref().unwrap().code, "43006");
    let raw: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(raw["results"][0]["error"]["retryable"], false);
    assert_eq!(raw["results"][1]["error"]["retryable"], true);
    assert!(
        raw["results"][0]["error"]["to_do"]
            .as_str()
            .unwrap()
            .contains("remotely")
    );
}

#[test]
fn cph_per_job_errors_are_reported_per_phone() {
    let fixture = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, job_error: {code: CPS.0021, message: 'Parameter: not available phone.'}}
";
    let sim = Sim::start(fixture);
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: cph, ids: [c1, c2], state: stopped}}\n",
        providers(&sim.url())
    ));
    let out = pf(&["apply", &dir.spec(), "--auto-approve"]).run();
    // A permanent failure alone: no "run apply again", but what a person must do.
    out.code(1)
        .stdout_has("x cph / c2: stop: CPS.0021: Parameter: not available phone.\n    to do: ")
        .stdout_has("Apply: 1 ok, 1 failed, 0 blocked, 0 skipped (2 changes to 2 phones). 1 failure needs a person first");
    assert!(!out.stdout.contains("Run apply again"), "{}", out.stdout);
    assert_eq!(sim.phones()["c1"]["status"], 8);
}

#[test]
fn every_planned_phone_is_in_the_report_under_faults() {
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..40 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i:02}, project_id: p1, status: running}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: c{i:02}, provider: cph, state: stopped}}\n"
        ));
    }
    let config = SimConfig {
        error_rate: 0.2,
        throttle_rate: 0.1,
        seed: 3,
        transition: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let sim = Sim::with(&fixture, config);
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    let out = pf(&["apply", &plan_file, "--json", "--max-batch", "5"]).run();
    let report: Report = out.json();
    let ids: BTreeSet<&str> = report.results.iter().map(|r| r.phone_id.as_str()).collect();
    assert_eq!(ids.len(), 40, "every planned phone has an outcome");
    assert!(
        report
            .results
            .iter()
            .all(|r| ["ok", "failed", "skipped"].contains(&r.outcome.as_str()))
    );
    for r in report.results.iter().filter(|r| r.outcome == "failed") {
        let e = r.error.as_ref().unwrap();
        assert!(!e.code.is_empty() && !e.message.is_empty());
    }
}

#[test]
fn saved_plans_apply_exactly_and_stale_or_edited_ones_are_refused_before_any_change() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    // Edited: refused.
    let edited = dir.write(
        "edited.json",
        &dir.read("plan.json").replace("\"g2\"", "\"g7\""),
    );
    pf(&["apply", &edited])
        .run()
        .code(1)
        .stderr_has("edited after it was written");
    // After the plan, by hand: g2 stopped (as the plan wants: done), c2 started (its plan was a start:
    // done), and c1 stopped (its plan was a re-route and properties: it moved elsewhere).
    let by_hand = |path: &str, body: serde_json::Value| {
        let url = format!("{}{path}", sim.url());
        sim.block_on(async {
            let req = reqwest::Client::new().post(url).json(&body);
            let req = if path.starts_with("/open/") {
                req.header("traceId", "ABCDEF0123456789ABCDEF0123456789")
                    .header("Authorization", "Bearer x")
            } else {
                req.header("X-Auth-Token", "x")
            };
            let status = req.send().await.unwrap().status();
            assert!(status.is_success(), "{path}: {status}");
        });
    };
    by_hand("/open/v1/phone/stop", serde_json::json!({"ids": ["g2"]}));
    by_hand(
        "/v1/p1/cloud-phone/phones/batch-stop",
        serde_json::json!({"phone_ids": ["c1"]}),
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    let before = sim.mutating_calls();
    let out = pf(&["apply", &plan_file]).run();
    out.code(1)
        .stderr_has("the plan is stale for 1 phone (moved elsewhere since it was made)")
        .stderr_has("cph / c1: state: running -> stopped")
        .stderr_has("the other phones of this one are still as it expects");
    assert!(
        !out.stderr.contains("g2"),
        "g2 is done, not stale: {}",
        out.stderr
    );
    assert_eq!(
        sim.mutating_calls(),
        before,
        "no mutating call for a stale plan"
    );
    // c1 back where the plan found it: the plan finishes what is left, and says what was done already.
    by_hand(
        "/v1/p1/cloud-phone/phones/batch-restart",
        serde_json::json!({"phones": [{"phone_id": "c1"}]}),
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    let out = pf(&["apply", &plan_file]).run();
    out.code(0)
        .stderr_has("1 phone of the plan is already as it wants (applied since it was made)")
        .stdout_has("Already done (1 phone of the plan already as it wants; nothing was sent to it):\n  gl: g2")
        .stdout_has("Apply: 4 ok, 0 failed, 0 blocked, 0 skipped (4 changes to 3 phones).");
    // The same plan again: already applied, nothing sent.
    let sent = sim.mutating_calls();
    pf(&["apply", &plan_file]).run().code(0).stderr_has(
        "This plan was already applied: its 4 phones are as it wants. Nothing was sent.",
    );
    assert_eq!(sim.mutating_calls(), sent);
    let fresh = dir.path("fresh.json");
    pf(&["plan", &dir.spec(), "--out", &fresh]).run().code(0);
    // A truncated plan is named as such, by apply and show.
    let whole = dir.read("fresh.json");
    let cut = dir.write("cut.json", &whole[..whole.len() / 2]);
    for cmd in ["apply", "show"] {
        pf(&[cmd, &cut])
            .run()
            .code(1)
            .stderr_has("damaged or truncated phonefleet plan");
    }
    pf(&["apply", &fresh, "--simulate"])
        .run()
        .code(1)
        .stderr_has("made against the real providers");
}

#[test]
fn without_a_terminal_apply_needs_auto_approve_and_changes_nothing() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let out = pf(&["apply", &dir.spec()]).stdin("yes\n").run();
    out.code(1)
        .stderr_has("refusing to apply without confirmation");
    assert_eq!(sim.stats().values().sum::<u64>(), 0, "not even a read");
}

#[test]
fn a_change_that_does_not_show_up_in_time_is_not_converged() {
    let sim = Sim::with(
        "phones: [{provider: huawei-cph, id: c1, project_id: p1, status: running}]",
        SimConfig {
            transition: Duration::from_secs(30),
            ..SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: c1, provider: cph, state: stopped}}\n",
        providers(&sim.url())
    ));
    let out = pf(&["apply", &dir.spec(), "--auto-approve", "--timeout", "1"]).run();
    out.code(1)
        .stdout_has("x cph / c1: stop: not-converged: accepted but not converged")
        .stdout_has(
            "The run's deadline (--timeout) passed before everything was sent or confirmed: run \
             apply again, with a longer --timeout for a fleet this size.",
        );
}

#[test]
fn per_phone_batches_with_parallelism_make_one_call_per_phone() {
    let mut fixture = String::from("phones:\n");
    for i in 0..12 {
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: g{i:02}, status: running}}\n"
        ));
    }
    for i in 0..5 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i:02}, project_id: p1, status: stopped}}\n"
        ));
    }
    let sim = Sim::with(
        &fixture,
        SimConfig {
            transition: Duration::ZERO,
            ..SimConfig::default()
        },
    );
    let ids: Vec<String> = (0..12).map(|i| format!("g{i:02}")).collect();
    let cph: Vec<String> = (0..5).map(|i| format!("c{i:02}")).collect();
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: gl, ids: [{}], state: stopped}}\n  - {{provider: cph, ids: [{}], state: running}}\n",
        providers(&sim.url()),
        ids.join(", "),
        cph.join(", ")
    ));
    pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--max-batch",
        "1",
        "--parallelism",
        "10",
    ])
    .run()
    .code(0);
    let stats = sim.stats();
    assert_eq!(stats.get("POST /open/v1/phone/stop"), Some(&12));
    assert_eq!(
        stats.get("POST /v1/{project_id}/cloud-phone/phones/batch-restart"),
        Some(&5)
    );
    // Each phone's job is polled on its own, as a per-phone tool does (20 request ids a call otherwise).
    assert_eq!(stats.get("GET /v1/{project_id}/cloud-phone/jobs"), Some(&5));
}

#[test]
fn ctrl_c_stops_new_batches_reports_and_exits_130() {
    interrupted_apply(libc::SIGINT, 130);
}

/// An apply of 30 one-phone batches, one at a time, stopped by `signal` once the changes have started:
/// exit `code`, every phone in the report, and what was reported done was done.
pub fn interrupted_apply(signal: i32, code: i32) {
    let mut fixture = String::from("phones:\n");
    for i in 0..30 {
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: g{i:02}, status: running}}\n"
        ));
    }
    let sim = Sim::with(
        &fixture,
        SimConfig {
            latency: Duration::from_millis(50),
            transition: Duration::ZERO,
            ..SimConfig::default()
        },
    );
    let ids: Vec<String> = (0..30).map(|i| format!("g{i:02}")).collect();
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: gl, ids: [{}], state: stopped}}\n",
        providers(&sim.url()),
        ids.join(", ")
    ));
    let cmd = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--json",
        "--max-batch",
        "1",
        "--parallelism",
        "1",
    ]);
    // Signal once the changes have started (reading the fleet comes first and takes a while).
    let out = crate::support::signal_when(cmd, "Applying", Duration::from_millis(400), signal);
    assert_eq!(out.code, code, "{}", out.stderr);
    let report: Report = out.json();
    assert_eq!(report.results.len(), 30, "every phone is accounted for");
    let skipped = report
        .results
        .iter()
        .filter(|r| r.outcome == "skipped")
        .count();
    let ok = report.results.iter().filter(|r| r.outcome == "ok").count();
    assert!(skipped > 0 && ok > 0, "{ok} ok, {skipped} skipped");
    assert_eq!(report.summary["interrupted"], true);
    let stopped = sim.phones().values().filter(|p| p["status"] == 2).count();
    assert_eq!(
        stopped, ok,
        "what was reported done was done, and nothing else"
    );
}

#[test]
fn no_secret_in_any_output_log_or_file() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let plan_file = dir.path("plan.json");
    let mut everything = String::new();
    for out in [
        pf(&["plan", &dir.spec(), "-v", "--out", &plan_file]).run(),
        pf(&["plan", &dir.spec(), "-v", "--json"]).run(),
        pf(&["plan", &dir.spec(), "-v", "--markdown"]).run(),
        pf(&["apply", &plan_file, "-v", "--json"]).run(),
        pf(&["apply", &dir.spec(), "-vv", "--auto-approve"]).run(),
        pf(&["plan", &dir.spec(), "-v"])
            .env("PHONEFLEET_CPH_TOKEN", "wrong-but-secret-value")
            .run(),
    ] {
        everything.push_str(&out.stdout);
        everything.push_str(&out.stderr);
    }
    everything.push_str(&dir.read("plan.json"));
    assert!(
        everything.contains("phonefleet: cph: "),
        "the -v logs were captured"
    );
    for secret in [CPH_TOKEN, GL_TOKEN, KP_TOKEN, "wrong-but-secret-value"] {
        assert!(!everything.contains(secret), "secret {secret} leaked");
    }
}

#[test]
fn a_change_whose_answer_is_lost_is_read_back_not_sent_again() {
    let fixture = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running}
  - {provider: geelark, id: g1, status: running}
";
    let config = SimConfig {
        lose_answers_after_change: true,
        transition: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let sim = Sim::with(fixture, config);
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: cph, ids: [c1, c2], state: stopped}}\n  - {{provider: gl, ids: [g1], state: stopped}}\n",
        providers(&sim.url())
    ));
    let out = pf(&["apply", &dir.spec(), "--auto-approve", "-v"]).run();
    out.code(0)
        .stderr_has("batch-stop ids=2 -> 502")
        .stdout_has("Apply: 3 ok, 0 failed");
    let stats = sim.stats();
    assert_eq!(
        stats.get("POST /v1/{project_id}/cloud-phone/phones/batch-stop"),
        Some(&1),
        "sent once"
    );
    assert_eq!(stats.get("POST /open/v1/phone/stop"), Some(&1), "sent once");
}

/// Ctrl-C or SIGTERM while the fleet is being read (plan, apply from a spec, apply of a saved plan) stops
/// the run at once: nothing is sent, and the message says so.
#[test]
fn a_signal_during_the_reads_stops_at_once_with_nothing_sent() {
    let fixture = "phones:\n  - {provider: geelark, id: g1, status: running}\n";
    let slow = SimConfig {
        latency: Duration::from_secs(2),
        ..SimConfig::default()
    };
    let sim = Sim::with(fixture, slow);
    let dir = Dir::with_spec(&crate::support::one_provider(
        "geelark",
        &sim.url(),
        "  - {id: g1, provider: gl, state: stopped}\n",
    ));
    let out = crate::support::signal_when(
        pf(&["plan", &dir.spec()]),
        "Reading",
        Duration::from_millis(300),
        libc::SIGINT,
    );
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert!(
        out.stderr.contains("stopped while reading the fleet"),
        "{}",
        out.stderr
    );
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let out = crate::support::signal_when(
            pf(&["apply", &dir.spec(), "--auto-approve"]),
            "Reading",
            Duration::from_millis(300),
            sig,
        );
        let want = if sig == libc::SIGINT { 130 } else { 143 };
        assert_eq!(out.code, want, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("Stopped while reading the fleet: nothing was sent"),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("waiting for those in flight"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(sim.mutating_calls(), 0);
}
