//! GeeLark's fleet shape as declared: `group`, `tags` and `remark` on GeeLark phones are planned as
//! changes, applied with the cheapest documented calls (one `phone/moveGroup` for the phones bound for
//! one group, `phone/detail/update` per phone for tags and remarks), with missing groups and tags
//! created, confirmed by reading the list back; other kinds refuse them.

use serde_json::{Value, json};

use crate::support::{Dir, Sim, pf, providers};

const FIXTURE: &str = "phones:
  - {provider: geelark, id: g1, status: running, group: growth, tags: [tiktok, eu], remark: old}
  - {provider: geelark, id: g2, status: running}
  - {provider: geelark, id: g3, status: running, group: support}
";

fn spec(url: &str) -> String {
    format!(
        "{}phones:
  - {{id: g1, provider: gl, name: growth-1, group: growth, tags: [tiktok, us], remark: new}}
  - {{id: g2, provider: gl, name: growth-2, group: growth-us, tags: [], remark: ''}}
  - {{id: g3, provider: gl, name: growth-3, group: growth-us}}
",
        providers(url)
    )
}

#[test]
fn groups_tags_and_remarks_are_planned_applied_with_the_cheapest_calls_and_confirmed() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let text = pf(&["plan", &dir.spec()]).run();
    text.code(0)
        .stdout_has("Plan: 3 phones, 4 changes:")
        .stdout_has("2 to move to a group, 1 to retag, 1 to change the remark")
        .stdout_has("-tags: [\"eu\", \"tiktok\"]")
        .stdout_has("+tags: [\"tiktok\", \"us\"]")
        .stdout_has("-remark: \"old\"")
        .stdout_has("+group: \"growth-us\"");
    let json: Value = pf(&["plan", &dir.spec(), "--json"]).run().json();
    let g1 = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phone_id"] == "g1")
        .unwrap();
    assert_eq!(
        g1["actions"],
        json!([
            {"action": "set_tags", "before": ["eu", "tiktok"], "after": ["tiktok", "us"]},
            {"action": "set_remark", "before": "old", "after": "new"}
        ])
    );
    // The two phones bound for one group share one call.
    let moves: Vec<&Value> = json["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["action"] == "set_group")
        .collect();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0]["phone_ids"], json!(["g2", "g3"]));

    pf(&["apply", &dir.spec(), "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("Apply: 4 ok");
    let phones = sim.phones();
    assert_eq!(phones["g1"]["tags"], json!(["tiktok", "us"]));
    assert_eq!(phones["g1"]["remark"], "new");
    assert_eq!(phones["g1"]["group"], "growth", "unchanged");
    assert_eq!(phones["g2"]["group"], "growth-us");
    assert_eq!(phones["g3"]["group"], "growth-us");
    let stats = sim.stats();
    let n = |r: &str| stats.get(r).copied().unwrap_or(0);
    assert_eq!(n("POST /open/v1/phone/moveGroup"), 1, "{stats:?}");
    assert_eq!(n("POST /open/v1/group/add"), 1, "growth-us was created");
    assert_eq!(n("POST /open/v1/tag/add"), 1, "us was created");
    assert_eq!(
        n("POST /open/v1/phone/detail/update"),
        2,
        "tags and remark of g1"
    );
    pf(&["plan", &dir.spec()])
        .run()
        .code(0)
        .stdout_has("No changes. The fleet matches the spec.");
    // Export writes them, and a plan of the export has nothing to change.
    let out = pf(&["export", "--provider", "gl", &dir.spec()]).run();
    out.code(0)
        .stdout_has("group: \"growth-us\"")
        .stdout_has("tags: [\"tiktok\", \"us\"]")
        .stdout_has("remark: \"new\"");
    let exported = dir.write("gl.yaml", &out.stdout);
    pf(&["plan", &exported])
        .run()
        .code(0)
        .stdout_has("No changes. The fleet matches the spec.");
}

#[test]
fn only_geelark_has_groups_tags_and_remarks_and_their_limits_hold() {
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: c1, provider: cph, group: growth}}\n  - {{id: g1, provider: gl, tags: ['a,b'], group: '{}'}}\n",
        providers("http://127.0.0.1:9"),
        "x".repeat(51)
    ));
    pf(&["validate", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("huawei-cph cannot manage `group` (geelark only)")
        .stderr_has("holds a comma")
        .stderr_has("is 51 characters; geelark takes at most 50");
}
