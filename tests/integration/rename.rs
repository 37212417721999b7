//! `names: manage`: the spec's name becomes the phone's name at CPH and GeeLark, planned as a change,
//! renamed through each provider's documented route, confirmed by reading back, reported per phone;
//! `show` (the default) never plans a rename; KooPhone cannot; a saved plan notices a phone renamed
//! since.

use serde_json::{Value, json};

use crate::simulator::{CPH, call};
use crate::support::{Dir, Sim, pf};

const FIXTURE: &str = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, name: old-c1}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, name: store-2}
  - {provider: geelark, id: g1, status: running, name: old g1}
  - {provider: geelark, id: g2, status: stopped, name: old-g2}
";

fn spec(url: &str, names: &str) -> String {
    format!(
        "version: 1
providers:
  cph: {{kind: huawei-cph, project_id: p1, endpoint: {url}, credentials: {{token_env: PHONEFLEET_CPH_TOKEN}}{names}}}
  gl: {{kind: geelark, endpoint: {url}, credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}{names}}}
phones:
  - {{id: c1, provider: cph, name: store-1, state: running}}
  - {{id: c2, provider: cph, name: store-2, state: running}}
  - {{id: g1, provider: gl, name: 'Growth #1', state: running}}
  - {{id: g2, provider: gl, name: growth-02, state: running}}
"
    )
}

const MANAGE: &str = ", names: manage";
const CPH_RENAME: &str = "PUT /v1/{project_id}/cloud-phone/phones/{phone_id}";
const GL_UPDATE: &str = "POST /open/v1/phone/detail/update";

#[test]
fn managed_names_are_planned_renamed_confirmed_and_reported() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url(), MANAGE));
    let text = pf(&["plan", &dir.spec()]).run();
    text.code(0)
        .stdout_has("-name: \"old-c1\"\n")
        .stdout_has("+name: \"store-1\"\n")
        .stdout_has("+name: \"Growth #1\"\n")
        .stdout_has("To rename (2 phones):")
        .stdout_has("Plan: 3 phones, 4 changes: 0 to stop, 1 to start, 0 to re-route, 0 to update properties, 3 to rename; 0 blocked. 4 API calls on 2 providers.");
    let json: Value = pf(&["plan", &dir.spec(), "--json"]).run().json();
    assert_eq!(json["summary"]["rename"], 3);
    assert_eq!(json["summary"]["start"], 1);
    let c1 = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phone_id"] == "c1")
        .unwrap();
    assert_eq!(
        c1["actions"],
        json!([{"action": "rename", "before": "old-c1", "after": "store-1"}])
    );
    // One call a phone, at each provider's documented route.
    let renames: Vec<&Value> = json["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["action"] == "rename")
        .collect();
    assert_eq!(renames.len(), 3);
    assert!(
        renames
            .iter()
            .all(|b| b["phone_ids"].as_array().unwrap().len() == 1)
    );
    let md = pf(&["plan", &dir.spec(), "--markdown"]).run();
    md.code(0).stdout_has(
        "| provider | start | stop | re-route | update properties | rename | blocked | API calls |",
    );

    let apply = pf(&["apply", &dir.spec(), "--auto-approve"]).run();
    apply
        .code(0)
        .stdout_has("Done: 0 stopped, 1 started, 0 re-routed, 0 with new properties, 3 renamed.")
        .stdout_has("Apply: 4 ok");
    let phones = sim.phones();
    assert_eq!(phones["c1"]["name"], "store-1");
    assert_eq!(phones["g1"]["name"], "Growth #1");
    assert_eq!(phones["g2"]["name"], "growth-02");
    assert_eq!(phones["c2"]["name"], "store-2", "already named so");
    let stats = sim.stats();
    assert_eq!(stats.get(CPH_RENAME), Some(&1), "{stats:?}");
    assert_eq!(stats.get(GL_UPDATE), Some(&2), "{stats:?}");
    // GeeLark: the name before the start (its docs: no detail update while a phone starts).
    let calls = sim.calls();
    let at = |route: &str| {
        calls
            .iter()
            .position(|(r, ids)| r == route && ids.contains(&"g2".to_owned()))
            .unwrap_or_else(|| panic!("{route} for g2 in {calls:?}"))
    };
    assert!(at("update") < at("start"), "{calls:?}");
    // Reported per phone, then nothing left to do.
    let report: Value = pf(&["plan", &dir.spec(), "--json"]).run().json();
    assert_eq!(report["summary"]["rename"], 0, "{report}");
    pf(&["plan", &dir.spec()])
        .run()
        .code(0)
        .stdout_has("No changes. The fleet matches the spec.");
}

#[test]
fn names_stay_labels_unless_managed_and_koophone_cannot_manage_them() {
    let sim = Sim::start(FIXTURE);
    // `show`, the default: a spec written before `names` existed plans no rename.
    let dir = Dir::with_spec(&spec(&sim.url(), ""));
    let plan = pf(&["plan", &dir.spec(), "--json"]).run();
    plan.code(0);
    let json: Value = plan.json();
    assert_eq!(json["summary"]["rename"], 0);
    assert_eq!(json["summary"]["start"], 1);
    // KooPhone has no rename API: a validation error at the field, exit 1.
    let kp = Dir::with_spec(&format!(
        "version: 1\nproviders:\n  kp:\n    kind: koophone\n    endpoint: {}\n    names: manage\n    credentials: {{token_env: PHONEFLEET_KOOPHONE_TOKEN}}\nphones:\n  - {{id: k1, provider: kp, name: a}}\n",
        sim.url()
    ));
    pf(&["validate", &kp.spec()])
        .run()
        .code(1)
        .stderr_has("spec.yaml:6:")
        .stderr_has("koophone has no API to rename an instance");
    // A name CPH would refuse is refused before any call, at its line.
    let bad = Dir::with_spec(&spec(&sim.url(), MANAGE).replace("name: store-1", "name: store 1"));
    let out = pf(&["plan", &bad.spec()]).run();
    out.code(1)
        .stderr_has("spec.yaml:6:")
        .stderr_has("a huawei-cph phone name may hold letters, digits, `-`, `_` and Chinese characters; ' ' is not allowed");
    assert_eq!(sim.mutating_calls(), 0);
}

/// A saved plan renames c1 `old-c1 -> store-1`; someone renames it `console-c1` in the console
/// meanwhile: the plan is stale for it, named with what moved, and nothing is sent.
#[test]
fn a_phone_renamed_since_the_plan_makes_it_stale() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url(), MANAGE));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    assert!(dir.read("plan.json").contains("store-1"));
    let r = call(
        &sim,
        "POST",
        "/_sim/phones/huawei-cph/c1",
        &[],
        Some(json!({ "name": "console-c1" })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let before = sim.mutating_calls();
    pf(&["apply", &plan_file])
        .run()
        .code(1)
        .stderr_has("the plan is stale for 1 phone")
        .stderr_has("name: \"old-c1\" -> \"console-c1\"");
    assert_eq!(sim.mutating_calls(), before, "nothing was sent");
    // The raw route answers as its page says.
    let r = call(
        &sim,
        "PUT",
        "/v1/p1/cloud-phone/phones/c1",
        CPH,
        Some(json!({ "phone_name": "newName" })),
    );
    assert_eq!(r.status, 200);
    assert!(r.body["request_id"].is_string(), "{}", r.body);
}
