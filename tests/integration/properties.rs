//! CPH properties as the attribute list types them: integers sent as JSON numbers inside the `property`
//! string, compared with what the phone reports by their text (no endless diff).

use crate::support::{Dir, Sim, pf, providers};

#[test]
fn integer_values_are_sent_as_numbers_and_compared_by_their_text() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {com.cph.mainkeys: 0, ro.install.auto: '1', sys.prop.writewifissid: old}}
",
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - id: c1
    provider: cph
    properties:
      com.cph.mainkeys: 1          # Integer in CPH's attribute list: sent as 1
      ro.install.auto: 1           # reported as the string \"1\": already as wanted
      sys.prop.writewifissid: '7'  # String: sent as \"7\"
",
        providers(&sim.url())
    ));
    let plan = pf(&["plan", &dir.spec()]).run();
    plan.code(0)
        .stdout_has("-  com.cph.mainkeys: \"0\"")
        .stdout_has("+  com.cph.mainkeys: \"1\"");
    assert!(
        !plan.stdout.contains("+  ro.install.auto"),
        "observed \"1\" equals desired 1:\n{}",
        plan.stdout
    );
    pf(&["apply", &dir.spec(), "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("Apply: 1 ok");
    // What the simulator received, as it parsed the `property` string.
    let props = &sim.phones()["c1"]["properties"];
    assert_eq!(props["com.cph.mainkeys"], serde_json::json!(1));
    assert_eq!(props["sys.prop.writewifissid"], serde_json::json!("7"));
    assert_eq!(
        props["ro.install.auto"],
        serde_json::json!("1"),
        "not sent again"
    );
    pf(&["plan", &dir.spec(), "--detailed-exitcode"])
        .run()
        .code(0)
        .stdout_has("No changes.");
}

#[test]
fn restart_when_needed_sends_the_properties_with_the_restart_in_one_call() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {com.cph.mainkeys: 0}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, properties: {com.cph.mainkeys: 0}}
  - {provider: huawei-cph, id: c3, project_id: p1, status: running, properties: {com.cph.mainkeys: 0}}
  - {provider: huawei-cph, id: c4, project_id: p1, status: running, properties: {ro.install.auto: 0}}
",
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, restart: when-needed, properties: {{com.cph.mainkeys: 1, ro.team: a}}}}
  - {{id: c2, provider: cph, properties: {{com.cph.mainkeys: 1}}}}
  - {{id: c3, provider: cph, restart: when-needed, protect: true, properties: {{com.cph.mainkeys: 1}}}}
  - {{id: c4, provider: cph, restart: when-needed, properties: {{ro.install.auto: 1}}}}
",
        providers(&sim.url())
    ));
    let plan = pf(&["plan", &dir.spec()]).run();
    plan.code(0)
        .stdout_has("Plan: 4 phones, 4 changes: 0 to stop, 0 to start, 0 to re-route, 3 to update properties, 1 to restart; 0 blocked. 2 API calls on 1 provider.")
        .stdout_has("To restart (properties that need a restart travel with it; one call each batch) (1 phone):\n^ cph / c1: restart")
        .stdout_has("note: `com.cph.mainkeys` takes effect after restart: set with the restart, in one call")
        .stdout_has_text("the phone is protected, so phonefleet does not restart it");
    let md = pf(&["plan", &dir.spec(), "--markdown"]).run();
    md.code(0)
        .stdout_has("| provider | start | stop | re-route | update properties | restart | blocked | API calls |")
        .stdout_has("| `cph` | 0 | 0 | 0 | 3 | 1 | 0 | 2 |");
    let out = pf(&["apply", &dir.spec(), "--auto-approve", "--json"]).run();
    out.code(0);
    let report: serde_json::Value = out.json();
    let c1 = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["phone_id"] == "c1")
        .unwrap();
    assert_eq!(c1["action"], "restart");
    assert_eq!(
        c1["keys"],
        serde_json::json!(["com.cph.mainkeys", "ro.team"])
    );
    let strings = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // One call for c1: the restart carried its properties; no property call for it at all. Both
    // batches go in the first wave, in either order.
    let mut calls = sim.calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            ("batch-restart".to_owned(), strings(&["c1"])),
            (
                "batch-update-property".to_owned(),
                strings(&["c2", "c3", "c4"])
            ),
        ]
    );
    let c1 = &sim.phones()["c1"];
    assert_eq!(c1["status"], 2);
    assert_eq!(c1["properties"]["com.cph.mainkeys"], serde_json::json!(1));
    assert_eq!(c1["properties"]["ro.team"], serde_json::json!("a"));
    pf(&["plan", &dir.spec(), "--detailed-exitcode"])
        .run()
        .code(0);
}

#[test]
fn a_failed_restart_leaves_its_properties_unset_and_the_next_apply_does_both() {
    // The restart's job fails: neither the restart nor its properties happen, so nothing is owed in
    // secret; the next plan shows the restart again, and the next apply makes both.
    let fixture = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {com.cph.mainkeys: 0}, job_fails: {code: CPH.0099, message: restart failed}}
";
    let sim = Sim::start(fixture);
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, restart: when-needed, properties: {{com.cph.mainkeys: 1}}}}
",
        providers(&sim.url())
    ));
    pf(&["apply", &dir.spec(), "--auto-approve"])
        .run()
        .code(1)
        .stdout_has("CPH.0099");
    assert_eq!(
        sim.phones()["c1"]["properties"]["com.cph.mainkeys"],
        serde_json::json!(0)
    );
    pf(&["plan", &dir.spec(), "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has("^ cph / c1: restart");
    // The same fleet, the failure gone: the next apply restarts with the properties.
    let healthy = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {com.cph.mainkeys: 0}}
",
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, restart: when-needed, properties: {{com.cph.mainkeys: 1}}}}
",
        providers(&healthy.url())
    ));
    pf(&["apply", &dir.spec(), "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("1 restarted");
    assert_eq!(
        healthy.phones()["c1"]["properties"]["com.cph.mainkeys"],
        serde_json::json!(1)
    );
}
