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
