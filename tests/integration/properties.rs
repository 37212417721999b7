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
fn restart_when_needed_restarts_running_phones_after_their_property_job() {
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
  - {{id: c1, provider: cph, restart: when-needed, properties: {{com.cph.mainkeys: 1}}}}
  - {{id: c2, provider: cph, properties: {{com.cph.mainkeys: 1}}}}
  - {{id: c3, provider: cph, restart: when-needed, protect: true, properties: {{com.cph.mainkeys: 1}}}}
  - {{id: c4, provider: cph, restart: when-needed, properties: {{ro.install.auto: 1}}}}
",
        providers(&sim.url())
    ));
    let plan = pf(&["plan", &dir.spec()]).run();
    plan.code(0)
        .stdout_has("Plan: 0 to stop, 0 to start, 0 to re-route, 4 to update properties, 1 to restart; 0 blocked. 2 API calls on 1 provider.")
        .stdout_has("To restart (after their new properties, which need one) (1 phone):\n^ cph / c1: set_properties, restart")
        .stdout_has("note: `com.cph.mainkeys` takes effect after restart: restarted after its property job")
        .stdout_has_text("the phone is protected, so phonefleet does not restart it");
    let md = pf(&["plan", &dir.spec(), "--markdown"]).run();
    md.code(0)
        .stdout_has("| provider | start | stop | re-route | update properties | restart | blocked | API calls |")
        .stdout_has("| `cph` | 0 | 0 | 0 | 4 | 1 | 0 | 2 |");
    let out = pf(&["apply", &dir.spec(), "--auto-approve"]).run();
    out.code(0)
        .stdout_has("Done: 0 stopped, 0 started, 0 re-routed, 4 with new properties, 1 restarted.");
    let strings = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        sim.calls(),
        [
            (
                "batch-update-property".to_owned(),
                strings(&["c1", "c2", "c3", "c4"])
            ),
            ("batch-restart".to_owned(), strings(&["c1"])),
        ]
    );
    let log = sim.log();
    assert_eq!(log[1].jobs_running_for_ids, 0, "after its property job");
    assert_eq!(sim.phones()["c1"]["status"], 2);
    pf(&["plan", &dir.spec(), "--detailed-exitcode"])
        .run()
        .code(0);
}
