//! An owed restart is never forgotten: properties that take effect only after a restart, set on a
//! running phone without one (`restart: never`, the default, or a protected phone), leave a mark with
//! the phone (CPH `custom_property`), so that the apply report, every later plan, `status` and a
//! machine that never saw the apply (a CI runner starts empty) list the phone as waiting;
//! `--restart-pending` restarts it and clears the mark.

use serde_json::Value;

use crate::support::{Dir, Sim, pf, providers};

const FIXTURE: &str = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {com.cph.mainkeys: '0'}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, properties: {com.cph.mainkeys: '0'}}
";

fn spec(url: &str) -> String {
    format!(
        "{}phones:
  - {{id: c1, provider: cph, name: store-1, properties: {{com.cph.mainkeys: 1}}}}
  - {{id: c2, provider: cph, name: store-2, properties: {{com.cph.mainkeys: 1}}, protect: true, restart: when-needed}}
",
        providers(url)
    )
}

#[test]
fn a_restart_owed_is_listed_until_it_is_made_and_restart_pending_makes_it() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    // The properties are set without a restart: the report lists both phones as waiting, and the mark
    // is kept with each phone, in the same call.
    let apply = pf(&["apply", &dir.spec(), "--auto-approve"]).run();
    apply
        .code(0)
        .stdout_has("Restart pending (2 phones; properties set without the restart they need; `plan --restart-pending` restarts them):")
        .stdout_has("waits for a restart: com.cph.mainkeys");
    let phones = sim.phones();
    assert_eq!(
        phones["c1"]["custom_property"]["phonefleet.restart_pending"], "com.cph.mainkeys",
        "{phones:?}"
    );
    // Another run, which saw nothing of the apply: the plan has nothing to change and lists them.
    let plan = pf(&["plan", &dir.spec()]).run();
    plan.code(0)
        .stdout_has("No changes. The fleet matches the spec.")
        .stdout_has("Restart pending (2 phones;");
    let json: Value = pf(&["plan", &dir.spec(), "--json"]).run().json();
    let pending = json["summary"]["restart_pending"].as_array().unwrap();
    assert_eq!(pending.len(), 2, "{json}");
    assert_eq!(pending[0]["keys"], serde_json::json!(["com.cph.mainkeys"]));
    let status = pf(&["status", &dir.spec()]).run();
    status
        .code(0)
        .stdout_has("restart pending")
        .stdout_has("waits for a restart: com.cph.mainkeys");
    // Asked for: the unprotected phone is restarted and unmarked; the protected one waits on.
    let asked = pf(&["plan", &dir.spec(), "--restart-pending"]).run();
    asked
        .code(0)
        .stdout_has("store-1 (c1): restart, clear_restart_pending")
        .stdout_has("Restart pending (1 phone;");
    let before = sim.stats();
    pf(&["apply", &dir.spec(), "--auto-approve", "--restart-pending"])
        .run()
        .code(0)
        .stdout_has("1 restarted, 1 unmarked as waiting for a restart.");
    let after = sim.stats();
    let calls = |route: &str| {
        after.get(route).copied().unwrap_or(0) - before.get(route).copied().unwrap_or(0)
    };
    assert_eq!(
        calls("POST /v1/{project_id}/cloud-phone/phones/batch-restart"),
        1
    );
    assert_eq!(
        calls("POST /v1/{project_id}/cloud-phone/phones/batch-update-property"),
        1
    );
    let phones = sim.phones();
    assert_eq!(
        phones["c1"]["custom_property"]["phonefleet.restart_pending"],
        ""
    );
    assert_eq!(
        phones["c2"]["custom_property"]["phonefleet.restart_pending"],
        "com.cph.mainkeys"
    );
    let json: Value = pf(&["plan", &dir.spec(), "--json"]).run().json();
    let pending = json["summary"]["restart_pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{json}");
    assert_eq!(pending[0]["phone_id"], "c2");
}

/// `--restart SELECTOR` restarts the selected running phones once, with each kind's documented call
/// (CPH batch-restart, KooPhone reboot); GeeLark documents none, so its phones are not restarted. A
/// saved plan keeps the restarts and applies them.
#[test]
fn restart_selector_restarts_the_selected_phones_once() {
    let sim = Sim::with_transition(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running}
  - {provider: koophone, id: k1, status: running}
  - {provider: geelark, id: g1, status: running}
",
        100,
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, name: store-1, state: running}}
  - {{id: c2, provider: cph, name: store-2, state: running}}
  - {{id: k1, provider: kp, name: kiosk-1}}
  - {{id: g1, provider: gl, name: growth-1, state: running}}
",
        providers(&sim.url())
    ));
    pf(&["plan", &dir.spec()])
        .run()
        .code(0)
        .stdout_has("No changes. The fleet matches the spec.");
    let plan_file = dir.path("plan.json");
    let plan = pf(&[
        "plan",
        &dir.spec(),
        "--restart",
        "store-1",
        "--restart",
        "kp",
        "--restart",
        "gl",
        "--out",
        &plan_file,
    ])
    .run();
    plan.code(0)
        .stdout_has("Plan: 3 phones, 3 changes:")
        .stdout_has("3 to restart")
        .stdout_has("store-1 (c1)")
        .stdout_has("kiosk-1 (k1)")
        .stdout_has("growth-1 (g1)");
    assert!(!plan.stdout.contains("store-2"), "{}", plan.stdout);
    let before = sim.stats();
    pf(&["apply", &plan_file])
        .run()
        .code(0)
        .stdout_has("3 restarted");
    let after = sim.stats();
    let calls = |route: &str| {
        after.get(route).copied().unwrap_or(0) - before.get(route).copied().unwrap_or(0)
    };
    assert_eq!(
        calls("POST /v1/{project_id}/cloud-phone/phones/batch-restart"),
        1
    );
    assert_eq!(calls("POST /v1/instances/reboot"), 1);
    // GeeLark: the route its own CLI uses, one phone a call.
    assert_eq!(calls("POST /open/v1/phone/restart"), 1);
    assert_eq!(sim.mutating_calls(), 3, "{after:?}");
    // Once: the next plan has nothing to do.
    pf(&["plan", &dir.spec()])
        .run()
        .code(0)
        .stdout_has("No changes. The fleet matches the spec.");
}
