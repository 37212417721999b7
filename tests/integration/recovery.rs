//! A bad day and the way forward (issue: "every interrupted or partial apply has a way forward"):
//! phones in transition, interrupted and partial applies, saved plans finished after the fact, counts
//! that stay true.

use serde_json::Value;

use crate::support::{Dir, Sim, pf, providers};

#[test]
fn a_phone_in_transition_is_drift_only_when_something_is_to_change() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: 4, traffic: direct}
  - {provider: huawei-cph, id: c2, project_id: p1, status: 7, traffic: direct}
  - {provider: huawei-cph, id: c3, project_id: p1, status: 1, traffic: direct}
  - {provider: huawei-cph, id: c4, project_id: p1, status: 4, traffic: routing}
  - {provider: geelark, id: g1, status: 1}
",
    );
    let converging = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, state: running, traffic: direct}}
  - {{id: c4, provider: cph, traffic: routing}}
  - {{id: g1, provider: gl, state: running}}
",
        providers(&sim.url())
    ));
    // Restarting towards running, a matching route, starting towards running: not drift.
    let out = pf(&["plan", &converging.spec(), "--detailed-exitcode"]).run();
    out.code(0)
        .stdout_has("No changes. The fleet matches the spec.")
        .stdout_has("Converging (2 phones on their way to the declared state")
        .stdout_has("cph / c1: status 4 (restarting), on its way to running")
        .stdout_has("gl / g1: status 1 (starting), on its way to running")
        .stdout_has("1 phone already matches the spec");
    let json: Value = pf(&["plan", &converging.spec(), "--json"]).run().json();
    assert_eq!(json["summary"]["converging"].as_array().unwrap().len(), 2);
    assert_eq!(json["summary"]["blocked"], 0);
    // Stopping while declared running, and creating with a route to change: drift, blocked.
    let drift = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c2, provider: cph, state: running}}
  - {{id: c3, provider: cph, traffic: routing}}
",
        providers(&sim.url())
    ));
    pf(&["plan", &drift.spec(), "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has("status 7 (stopping): wait for it to settle and plan again")
        .stdout_has("status 1 (creating): wait for it to settle and plan again");
}

#[test]
fn a_saved_plan_interrupted_half_way_is_finished_by_applying_it_again() {
    // Ten CPH phones, stopped, to get new properties and start: two waves (properties, then start),
    // with jobs that take a while. SIGTERM during the first wave: the property jobs in flight finish,
    // the starts are never sent.
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..10 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i}, project_id: p1, status: stopped, properties: {{k: old}}}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: c{i}, provider: cph, state: running, properties: {{k: new}}}}\n"
        ));
    }
    let sim = Sim::with_transition(&fixture, 1500);
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    let cmd = pf(&["apply", &plan_file, "--json"]);
    let out = crate::support::signal_when(
        cmd,
        "Applying",
        std::time::Duration::from_millis(300),
        libc::SIGTERM,
    );
    assert_eq!(out.code, 143, "{}", out.stderr);
    let report: Value = out.json();
    let outcomes: Vec<(&str, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(outcomes.contains(&("set_properties", "ok")), "{outcomes:?}");
    assert!(outcomes.contains(&("start", "skipped")), "{outcomes:?}");
    // The same plan again: the properties are set (done), the starts are what is left.
    let calls_before = sim.calls().len();
    let again = pf(&["apply", &plan_file, "--json"]).run();
    again.code(0);
    let report: Value = again.json();
    let actions: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["start"; 10], "{}", again.stdout);
    assert!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "ok")
    );
    let calls = sim.calls();
    assert!(
        calls[calls_before..]
            .iter()
            .all(|(route, _)| route == "batch-restart"),
        "only the starts were sent: {calls:?}"
    );
    pf(&["plan", &dir.spec(), "--detailed-exitcode"])
        .run()
        .code(0);
}

#[test]
fn a_phone_on_its_way_is_waited_for_then_counted_done() {
    let sim = Sim::with_transition(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, traffic: direct}
",
        1500,
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, name: store-1, state: stopped}}
  - {{id: c2, provider: cph, traffic: routing}}
",
        providers(&sim.url())
    ));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    // Someone stops c1 by hand just before the apply: it is stopping when apply reads it.
    let url = format!("{}/v1/p1/cloud-phone/phones/batch-stop", sim.url());
    sim.block_on(async {
        let status = reqwest::Client::new()
            .post(url)
            .header("X-Auth-Token", "x")
            .json(&serde_json::json!({"phone_ids": ["c1"]}))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success());
    });
    let out = pf(&["apply", &plan_file]).run();
    out.code(0)
        .stdout_has("Already done (1 phone of the plan already as it wants; nothing was sent to it):\n  cph: store-1 (c1)")
        .stdout_has("Apply: 1 ok");
    let calls = sim.calls();
    assert_eq!(
        calls.len(),
        2,
        "the hand's stop and the re-route: {calls:?}"
    );
    assert_eq!(calls[1].0, "phones-traffic");
}

#[test]
fn every_missing_credential_variable_is_named_at_once() {
    let sim = Sim::start("phones:\n  - {provider: geelark, id: g1, status: running}\n");
    let dir = Dir::with_spec(&format!(
        "version: 1
providers:
  cph:
    kind: huawei-cph
    project_id: p1
    endpoint: {url}
    credentials: {{ak_env: PHONEFLEET_CPH_NO_AK, sk_env: PHONEFLEET_CPH_NO_SK}}
  gl:
    kind: geelark
    endpoint: {url}
    credentials: {{token_env: PHONEFLEET_GEELARK_NO_TOKEN}}
phones:
  - {{id: c1, provider: cph, state: running}}
  - {{id: g1, provider: gl, state: running}}
",
        url = sim.url()
    ));
    pf(&["plan", &dir.spec()])
        .run()
        .code(1)
        .no_panic()
        .stderr_has("credentials are missing for 2 providers (nothing was sent)")
        .stderr_has("provider `cph`: environment variables `PHONEFLEET_CPH_NO_AK` and `PHONEFLEET_CPH_NO_SK` are not set")
        .stderr_has("provider `gl`: environment variable `PHONEFLEET_GEELARK_NO_TOKEN` is not set");
    assert_eq!(sim.stats().values().sum::<u64>(), 0, "no call");
}

#[test]
fn an_unread_declared_phone_is_never_counted_as_unmanaged() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {k: a}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, properties: {k: a}, unreadable: true}
  - {provider: huawei-cph, id: c3, project_id: p1, status: running}
",
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, properties: {{k: a}}}}
  - {{id: c2, provider: cph, properties: {{k: a}}}}
",
        providers(&sim.url())
    ));
    // c2 cannot be read: it is unread, not unmanaged; only c3 is not managed by the spec.
    let out = pf(&["plan", &dir.spec(), "--timeout", "3"]).run();
    out.code(1)
        .stderr_has("1 phone could not be read")
        .stdout_has("1 phone at `cph` is not managed by this spec");
    let listed = pf(&["plan", &dir.spec(), "--timeout", "3", "-v"]).run();
    listed
        .code(1)
        .stdout_has_text("1 phone at `cph` is not managed by this spec (never changed). ids: c3");
}

#[test]
fn a_phone_that_keeps_failing_is_reported_within_the_read_budget_not_at_the_deadline() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {k: a}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, properties: {k: a}, unreadable: true}
",
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, properties: {{k: b}}}}
  - {{id: c2, provider: cph, properties: {{k: b}}}}
",
        providers(&sim.url())
    ));
    // A 6 s run gives a read 2 s of error retries (a third of the time left): c2 is reported with its
    // own error, and the run still has the time to plan c1.
    let out = pf(&["plan", &dir.spec(), "--timeout", "6", "--json"]).run();
    out.code(1).stderr_has("1 phone could not be read");
    let plan: Value = out.json();
    let c2 = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phone_id"] == "c2")
        .unwrap();
    let reason = c2["blocked"].as_str().unwrap();
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert!(!reason.contains("deadline"), "{reason}");
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["phone_id"] == "c1" && c["actions"][0]["action"] == "set_properties")
    );
    // Applied: c1's change is the one change; c2 is a phone that could not be read, not a failed
    // change, and is counted as a phone.
    let out = pf(&["apply", &dir.spec(), "--timeout", "6", "--auto-approve"]).run();
    out.code(1)
        .stdout_has("Not read (1 phone; nothing was sent to them):")
        .stdout_has("Apply: 1 ok, 0 failed, 0 blocked, 0 skipped (1 change to 1 phone). 1 phone could not be read; nothing was sent to it. Run apply again to finish the job.");
    assert!(!out.stdout.contains("Failed ("), "{}", out.stdout);
    let report: Value = pf(&[
        "apply",
        &dir.spec(),
        "--timeout",
        "6",
        "--auto-approve",
        "--json",
    ])
    .run()
    .json();
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["unread"], 1);
}

#[test]
fn a_provider_that_stops_answering_reads_as_such_in_one_folded_block() {
    // 20 CPH phones to stop; the provider accepts the stop, then never answers again (its job
    // queries hang). At the deadline every phone fails the same way: one block, named for what
    // happened (not "job still running").
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..20 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i:02}, project_id: p1, status: running}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: c{i:02}, provider: cph, state: stopped}}\n"
        ));
    }
    let sim = Sim::with(
        &fixture,
        phonefleet::simulator::SimConfig {
            transition: std::time::Duration::from_secs(30),
            hang_after: Some(2),
            ..Default::default()
        },
    );
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    let out = pf(&["apply", &dir.spec(), "--auto-approve", "--timeout", "6"]).run();
    out.code(1).no_panic();
    assert_eq!(sim.mutating_calls(), 1, "{}", out.stdout);
    out.stdout_has("Failed (20):")
        .stdout_has_text("x cph / 20 phones: stop: no-answer: accepted, outcome unknown: the provider stopped answering job queries");
    assert!(
        !out.stdout.contains("still running at the deadline"),
        "{}",
        out.stdout
    );
    let report = &out.stdout[out.stdout.find("Done:").unwrap()..];
    assert!(report.lines().count() < 15, "a screenful:\n{report}");
}

#[test]
fn unreadable_phones_fold_into_one_block_though_each_message_names_its_phone() {
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..12 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i:02}, project_id: p1, status: running, properties: {{k: a}}, unreadable: true}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: c{i:02}, provider: cph, properties: {{k: b}}}}\n"
        ));
    }
    let sim = Sim::start(&fixture);
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    let out = pf(&["plan", &dir.spec(), "--timeout", "3"]).run();
    out.code(1)
        .stdout_has("Blocked (12 phones; nothing will be done to them):")
        .stdout_has_text("! cph / 12 phones: could not read:")
        .stdout_has("phones/<phone>");
    let blocked = &out.stdout[out.stdout.find("Blocked (").unwrap()..];
    assert!(blocked.lines().count() < 12, "folded:\n{blocked}");
}
