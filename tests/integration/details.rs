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

const PROXY_USER: &str = "proxy-user-7f3a51";
const PROXY_PASS: &str = "proxy-pass-9c2e1d88";
/// What GeeLark's list shows of a proxy nobody declared: in plain text, as its docs show it.
const LISTED_PASS: &str = "listed-secret-password-123";

fn proxied(url: &str, password_env: &str) -> String {
    format!(
        "version: 1
providers:
  gl:
    kind: geelark
    endpoint: {url}
    credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}
    proxies:
      us-east-a: {{scheme: socks5, server: 203.0.113.7, port: 1080, username_env: GEELARK_PROXY_USER, password_env: {password_env}}}
phones:
  - {{id: g1, provider: gl, name: growth-1, proxy: us-east-a}}
  - {{id: g2, provider: gl, name: growth-2, proxy: us-east-a}}
  - {{id: g3, provider: gl, name: growth-3, proxy: us-east-a}}
"
    )
}

#[test]
fn proxies_are_declared_once_and_their_secrets_appear_nowhere() {
    use base64::Engine;
    let sim = Sim::start(&format!(
        "phones:
  - {{provider: geelark, id: g1, status: running, proxy: {{type: socks5, server: 203.0.113.7, port: 1080, username: someone, password: {LISTED_PASS}}}}}
  - {{provider: geelark, id: g2, status: running}}
  - {{provider: geelark, id: g3, status: running, proxy: {{type: socks5, server: 203.0.113.7, port: 1080, username: {PROXY_USER}, password: {PROXY_PASS}}}}}
"
    ));
    let dir = Dir::with_spec(&proxied(&sim.url(), "GEELARK_PROXY_PASS"));
    let with = |cmd: crate::support::Cmd| {
        cmd.env("GEELARK_PROXY_USER", PROXY_USER)
            .env("GEELARK_PROXY_PASS", PROXY_PASS)
    };
    let plan_file = dir.path("plan.json");
    let plan = with(pf(&["plan", &dir.spec(), "--out", &plan_file])).run();
    plan.code(0)
        .stdout_has("Plan: 2 phones, 2 changes:")
        .stdout_has("-proxy: \"(another proxy)\"")
        .stdout_has("-proxy: \"none\"")
        .stdout_has("+proxy: \"us-east-a\"");
    let json = with(pf(&["plan", &dir.spec(), "--json", "-v"])).run();
    let apply = with(pf(&["apply", &dir.spec(), "--auto-approve", "-v"])).run();
    apply.code(0).stdout_has("Apply: 2 ok");
    // The proxy the phones now use carries the declared secrets (GeeLark's list shows them).
    let listed = crate::simulator::call(
        &sim,
        "POST",
        "/open/v1/phone/list",
        crate::simulator::GL,
        Some(json!({"page": 1, "pageSize": 10, "ids": ["g1"]})),
    );
    assert_eq!(
        listed.body["data"]["items"][0]["proxy"]["password"],
        PROXY_PASS
    );
    let again = with(pf(&["plan", &dir.spec()])).run();
    again
        .code(0)
        .stdout_has("No changes. The fleet matches the spec.");
    let mut everything = String::new();
    for out in [&plan, &json, &apply, &again] {
        everything.push_str(&out.stdout);
        everything.push_str(&out.stderr);
    }
    everything.push_str(&dir.read("plan.json"));
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for secret in [PROXY_USER, PROXY_PASS, LISTED_PASS] {
        for form in [secret.to_owned(), b64(secret)] {
            assert!(!everything.contains(&form), "{form} leaked:\n{everything}");
        }
    }
    // Secrets only from variables: a missing one is named, and one meant for another kind refused.
    pf(&["plan", &dir.spec()])
        .env("GEELARK_PROXY_USER", PROXY_USER)
        .run()
        .code(1)
        .stderr_has("environment variable `GEELARK_PROXY_PASS` is not set");
    let foreign = Dir::with_spec(&proxied(&sim.url(), "CPH_PROXY_PASS"));
    pf(&["validate", &foreign.spec()])
        .run()
        .code(1)
        .stderr_has("proxies.us-east-a.password_env");
}
