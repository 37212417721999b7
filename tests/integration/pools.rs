//! GeeLark pools: a number of alike phones, named `NAME-001`, `NAME-002`, ... Plans show the members a
//! pool creates or deletes; apply creates them with `phone/addNew` (the pool's template, each member's
//! name, group, tags, remark and proxy; up to 100 a call), confirms them by listing, starts them, and
//! deletes members beyond the count (stopped first) only within `safety.max_deletes`. Saved plans
//! re-derive their creates from the spec by name.

use serde_json::{Value, json};

use crate::support::{Dir, Sim, pf};

const USER: &str = "pool-proxy-user-41c9";
const PASS: &str = "pool-proxy-pass-8e77a3";

fn spec(url: &str, count: u32, extra: &str) -> String {
    format!(
        "version: 1
providers:
  gl:
    kind: geelark
    endpoint: {url}
    credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}
    proxies:
      us-east-a: {{scheme: socks5, server: 203.0.113.7, port: 1080, username_env: GEELARK_PROXY_USER, password_env: GEELARK_PROXY_PASS}}
pools:
  - name: growth
    provider: gl
    count: {count}
    template: {{mobile_type: Android 12, region: sgp, charge_mode: 0}}
    group: growth
    tags: [tiktok]
    remark: pool of growth
    proxy: us-east-a
    state: running
    labels: {{team: growth}}
{extra}"
    )
}

/// The pool of [`spec`] with only a proxy and a state.
fn lean(url: &str, count: u32, state: &str, extra: &str) -> String {
    spec(url, count, extra)
        .replace("    state: running\n", &format!("    state: {state}\n"))
        .replace(
            "    group: growth\n    tags: [tiktok]\n    remark: pool of growth\n",
            "",
        )
}

fn with(cmd: crate::support::Cmd) -> crate::support::Cmd {
    cmd.env("GEELARK_PROXY_USER", USER)
        .env("GEELARK_PROXY_PASS", PASS)
}

/// The simulated team's phones named `growth-...`, by name.
fn members(sim: &Sim) -> std::collections::BTreeMap<String, Value> {
    sim.phones()
        .into_values()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with("growth-")))
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p))
        .collect()
}

#[test]
fn a_pool_creates_its_missing_members_with_its_settings_and_starts_them() {
    // Two members exist (one with a gap before it), one other phone is not a member.
    let sim = Sim::start(
        "phones:
  - {provider: geelark, id: m1, status: running, name: growth-001, group: growth, tags: [tiktok], remark: pool of growth}
  - {provider: geelark, id: m3, status: stopped, name: growth-003, group: growth, tags: [tiktok], remark: pool of growth}
  - {provider: geelark, id: x1, status: running, name: growthy-002}
",
    );
    let dir = Dir::with_spec(&spec(&sim.url(), 5, ""));
    let plan_out = with(pf(&["plan", &dir.spec()])).run();
    plan_out
        .code(0)
        .stdout_has("3 to create")
        .stdout_has("+ gl / 3 phones in pool growth (growth-002 ... growth-005): create, start")
        .stdout_has("+pool: \"growth\"");
    let json: Value = with(pf(&["plan", &dir.spec(), "--json"])).run().json();
    assert_eq!(json["summary"]["create"], 3);
    let creates: Vec<&Value> = json["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["action"] == "create")
        .collect();
    assert_eq!(creates.len(), 1, "one addNew for the pool: {creates:?}");
    assert_eq!(
        creates[0]["phone_ids"],
        json!(["new:growth-002", "new:growth-004", "new:growth-005"])
    );
    // The two members the spec can see are read from the listing: m3 is to start, m1 and m3 get the
    // pool's proxy.
    let ids: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phone_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"m3") && !ids.contains(&"x1"), "{ids:?}");
    // Creates count toward `max_changes`, like any change.
    let capped = Dir::with_spec(&spec(&sim.url(), 5, "safety: {max_changes: 2}\n"));
    with(pf(&["plan", &capped.spec()]))
        .run()
        .code(0)
        .stdout_has("BROKEN max_changes: 5 phones change, limit 2");

    let apply = with(pf(&["apply", &dir.spec(), "--auto-approve"])).run();
    apply.code(0).stdout_has("3 created").stdout_has("Apply: ");
    let made = members(&sim);
    assert_eq!(
        made.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "growth-001",
            "growth-002",
            "growth-003",
            "growth-004",
            "growth-005"
        ]
    );
    for name in ["growth-002", "growth-004", "growth-005"] {
        let p = &made[name];
        assert_eq!(p["status"], 0, "{name} was started: {p}");
        assert_eq!(p["group"], "growth");
        assert_eq!(p["tags"], json!(["tiktok"]));
        assert_eq!(p["remark"], "pool of growth");
        assert_eq!(p["proxy_server"], "203.0.113.7");
    }
    // The created phone carries the declared proxy secrets (GeeLark's list shows them), and no output
    // or file of phonefleet does.
    let id = made["growth-002"]["id"].as_str().unwrap().to_owned();
    let listed = crate::simulator::call(
        &sim,
        "POST",
        "/open/v1/phone/list",
        crate::simulator::GL,
        Some(json!({"page": 1, "pageSize": 10, "ids": [id]})),
    );
    assert_eq!(listed.body["data"]["items"][0]["proxy"]["password"], PASS);
    assert_eq!(listed.body["data"]["items"][0]["proxy"]["username"], USER);
    let stats = sim.stats();
    assert_eq!(
        stats.get("POST /open/v1/phone/addNew"),
        Some(&1),
        "{stats:?}"
    );
    // The report names the new phones by the ids GeeLark gave them.
    assert!(
        apply.stdout.contains(&id) || !apply.stdout.contains("new:"),
        "{}",
        apply.stdout
    );
    let again = with(pf(&["plan", &dir.spec()])).run();
    again
        .code(0)
        .stdout_has("No changes. The fleet matches the spec.");
    let everything = format!(
        "{}{}{}{}{}",
        plan_out.stdout, plan_out.stderr, apply.stdout, apply.stderr, again.stdout
    );
    for secret in [USER, PASS] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    // `--target pool=growth` selects the pool (a label every member has), and the team label too.
    with(pf(&["plan", &dir.spec(), "--target", "pool=growth"]))
        .run()
        .code(0)
        .stdout_has("No changes.");
    with(pf(&["plan", &dir.spec(), "--target", "pool=other"]))
        .run()
        .code(1)
        .stderr_has("pool=other");
}

#[test]
fn a_pool_whose_count_drops_deletes_its_highest_members_only_within_max_deletes() {
    let fixture = "phones:
  - {provider: geelark, id: m1, status: running, name: growth-001}
  - {provider: geelark, id: m2, status: running, name: growth-002}
  - {provider: geelark, id: m3, status: stopped, name: growth-003}
  - {provider: geelark, id: m4, status: running, name: growth-004}
";
    let sim = Sim::start(fixture);
    let lean = |extra: &str| lean(&sim.url(), 2, "running", extra);
    let dir = Dir::with_spec(&lean(""));
    let out = with(pf(&["plan", &dir.spec()])).run();
    out.code(0)
        .stdout_has("2 to delete")
        .stdout_has("To delete (stopped first) (2 phones):")
        .stdout_has("growth-003 (m3)")
        .stdout_has("growth-004 (m4)")
        .stdout_has("max_deletes: 2 phones deleted, limit 0");
    let md = with(pf(&["plan", &dir.spec(), "--markdown"])).run();
    let first = md
        .stdout
        .lines()
        .position(|l| l.contains("[!CAUTION]"))
        .expect("a caution banner");
    assert!(
        md.stdout
            .lines()
            .nth(first + 1)
            .unwrap()
            .contains("**deletes 2 phones**")
    );
    assert!(
        md.stdout.find("[!CAUTION]") < md.stdout.find("[!WARNING]"),
        "the delete banner comes first:\n{}",
        md.stdout
    );
    // The default guard refuses any delete, naming it.
    with(pf(&["apply", &dir.spec(), "--auto-approve"]))
        .run()
        .code(1)
        .stderr_has("max_deletes");
    assert_eq!(members(&sim).len(), 4, "nothing was deleted");
    // Deletes count as stops for the stop guards.
    let stops = Dir::with_spec(&lean("safety: {max_deletes: 5, max_stop_percent: 50}\n"));
    with(pf(&["plan", &stops.spec()]))
        .run()
        .code(0)
        .stdout_has("max_stop_percent at gl: 100% (2 of 2 declared phones stop), limit 50%");
    // Allowed: the running one is stopped, then both are deleted.
    let allowed = Dir::with_spec(&lean("safety: {max_deletes: 2}\n"));
    with(pf(&["apply", &allowed.spec(), "--auto-approve"]))
        .run()
        .code(0)
        .stdout_has("2 deleted");
    assert_eq!(
        members(&sim).keys().map(String::as_str).collect::<Vec<_>>(),
        ["growth-001", "growth-002"]
    );
    let calls = sim.calls();
    let stop = calls
        .iter()
        .position(|(r, ids)| r == "stop" && ids == &["m4"]);
    let delete = calls
        .iter()
        .position(|(r, ids)| r == "delete" && ids.contains(&"m4".to_owned()));
    assert!(
        stop.is_some() && stop < delete,
        "stopped before deleted: {calls:?}"
    );
    with(pf(&["plan", &allowed.spec()]))
        .run()
        .code(0)
        .stdout_has("No changes.");
}

#[test]
fn protected_and_declared_members_are_never_deleted() {
    let fixture = "phones:
  - {provider: geelark, id: m1, status: stopped, name: growth-001}
  - {provider: geelark, id: m2, status: stopped, name: growth-002}
  - {provider: geelark, id: m3, status: stopped, name: growth-003}
";
    let sim = Sim::start(fixture);
    let plain = |extra: &str| lean(&sim.url(), 2, "stopped", extra);
    // growth-003 is declared by id with `protect`: it counts as a member and stays; of the other two,
    // the highest goes.
    let dir = Dir::with_spec(&plain(
        "phones:\n  - {id: m3, provider: gl, protect: true}\nsafety: {max_deletes: 5}\n",
    ));
    let out = with(pf(&["plan", &dir.spec(), "--json"])).run();
    let json: Value = out.json();
    let deleted: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["action"] == "delete")
        })
        .map(|c| c["phone_id"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["m2"], "{json}");
    // A protected pool deletes nothing: the members its count would drop are blocked, saying why.
    let protected = Dir::with_spec(&plain("safety: {max_deletes: 5}\n").replace(
        "    state: stopped\n",
        "    state: stopped\n    protect: true\n",
    ));
    with(pf(&["plan", &protected.spec()]))
        .run()
        .code(0)
        .stdout_has("the pool is protected");
    with(pf(&["apply", &protected.spec(), "--auto-approve"])).run();
    assert_eq!(members(&sim).len(), 3);
}

#[test]
fn a_partial_create_is_reported_per_phone_and_the_next_plan_creates_only_what_is_missing() {
    // GeeLark's plan allows 3 phones: one exists, two more fit, the third is refused with 44002.
    let sim = Sim::start(
        "geelark_plan_limit: 3
phones:
  - {provider: geelark, id: m1, status: running, name: growth-001, group: growth, tags: [tiktok], remark: pool of growth}
",
    );
    let dir = Dir::with_spec(&spec(&sim.url(), 4, ""));
    let apply = with(pf(&["apply", &dir.spec(), "--auto-approve"])).run();
    apply
        .code(1)
        .stdout_has("44002")
        .stdout_has("growth-004 (new)")
        .stdout_has("Run apply again");
    assert_eq!(members(&sim).len(), 3);
    let again = with(pf(&["plan", &dir.spec()])).run();
    again
        .code(0)
        .stdout_has("+ gl / 1 phone in pool growth (growth-004): create, start");
}

#[test]
fn a_create_whose_answer_was_lost_is_not_sent_again() {
    let sim = Sim::with(
        "phones: []\n",
        phonefleet::simulator::SimConfig {
            lose_answers_after_change: true,
            ..Default::default()
        },
    );
    let dir = Dir::with_spec(&spec(&sim.url(), 3, ""));
    let apply = with(pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--timeout",
        "60",
    ]))
    .run();
    apply.code(1).stdout_has("not sent again");
    assert_eq!(
        sim.stats().get("POST /open/v1/phone/addNew"),
        Some(&1),
        "a lost create is never re-sent"
    );
    assert_eq!(members(&sim).len(), 3, "made once");
}

#[test]
fn a_saved_plan_re_derives_its_creates_by_name_and_counts_a_phone_made_meanwhile_as_created() {
    let sim = Sim::start("phones: []\n");
    let dir = Dir::with_spec(&spec(&sim.url(), 3, ""));
    let file = dir.path("pool.plan");
    with(pf(&["plan", &dir.spec(), "--out", &file]))
        .run()
        .code(0)
        .stdout_has("3 phones in pool growth (growth-001 ... growth-003)");
    assert!(!dir.read("pool.plan").contains(PASS));
    // Someone makes growth-002 in the console before the plan is applied.
    let made = crate::simulator::call(
        &sim,
        "POST",
        "/open/v1/phone/addNew",
        crate::simulator::GL,
        Some(json!({"mobileType": "Android 12", "data": [
            {"profileName": "growth-002", "proxyInformation": "socks5://203.0.113.7:1080"}
        ]})),
    );
    assert_eq!(made.body["code"], 0, "{:?}", made.body);
    let apply = with(pf(&["apply", &file])).run();
    apply.code(0).stdout_has("2 created");
    let names: Vec<String> = members(&sim).into_keys().collect();
    assert_eq!(names, ["growth-001", "growth-002", "growth-003"]);
    // A spec whose pool changed since is refused, naming the file.
    let plan2 = dir.path("pool2.plan");
    let sim2 = Sim::start("phones: []\n");
    let dir2 = Dir::with_spec(&spec(&sim2.url(), 2, ""));
    with(pf(&["plan", &dir2.spec(), "--out", &plan2]))
        .run()
        .code(0);
    dir2.write(
        "spec.yaml",
        &spec(&sim2.url(), 2, "").replace("tags: [tiktok]", "tags: [tiktok, us]"),
    );
    with(pf(&["apply", &plan2]))
        .run()
        .code(1)
        .stderr_has("declared otherwise than when the plan was made");
    assert!(members(&sim2).is_empty());
}

#[test]
fn pools_are_geelark_only_need_a_proxy_and_the_simulator_keeps_geelark_rules() {
    let dir = Dir::with_spec(
        "version: 1
providers:
  cph: {kind: huawei-cph, project_id: p1, region: cn-east-3}
  gl: {kind: geelark}
pools:
  - {name: a, provider: cph, count: 1, template: {mobile_type: Android 12}}
  - {name: b, provider: gl, count: 1, template: {mobile_type: Android 12}}
  - {name: b, provider: gl, count: 1, template: {mobile_type: Android 12}, proxy: none, labels: {pool: x}}
",
    );
    pf(&["validate", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("huawei-cph cannot create or delete phones: pools are geelark only")
        .stderr_has("pool `b` names no proxy: GeeLark's create requires one")
        .stderr_has("pool `b` of provider `gl` is declared twice")
        .stderr_has("the label `pool` is phonefleet's");
    let bad = Dir::with_spec(
        "version: 1\nproviders:\n  gl: {kind: geelark}\npools:\n  - {name: a, provider: gl, count: 1, template: {mobile_type: Android 99}}\n",
    );
    pf(&["validate", &bad.spec()])
        .run()
        .code(1)
        .stderr_has("spec.yaml:5:")
        .stderr_has("mobile_type");
    // The simulator: a started phone is not deleted (43009), an unknown one is 42001, a create
    // without a proxy or beyond 100 rows is refused.
    let sim = Sim::start("phones:\n  - {provider: geelark, id: r1, status: running}\n");
    let del = crate::simulator::call(
        &sim,
        "POST",
        "/open/v1/phone/delete",
        crate::simulator::GL,
        Some(json!({"ids": ["r1", "nope"]})),
    );
    let fails = &del.body["data"]["failDetails"];
    assert_eq!(fails[0]["code"], 43009, "{:?}", del.body);
    assert_eq!(fails[1]["code"], 42001);
    let no_proxy = crate::simulator::call(
        &sim,
        "POST",
        "/open/v1/phone/addNew",
        crate::simulator::GL,
        Some(json!({"mobileType": "Android 12", "data": [{"profileName": "x"}]})),
    );
    assert_ne!(no_proxy.body["code"], 0, "{:?}", no_proxy.body);
    let rows: Vec<Value> = (0..101)
        .map(|i| json!({"profileName": format!("x{i}"), "proxyInformation": "socks5://h:1"}))
        .collect();
    let too_many = crate::simulator::call(
        &sim,
        "POST",
        "/open/v1/phone/addNew",
        crate::simulator::GL,
        Some(json!({"mobileType": "Android 12", "data": rows})),
    );
    assert_eq!(too_many.body["code"], 40004);
    // Proxies: an identical one gets the id it has, the same place with other credentials is 45007.
    let add = |user: &str| {
        crate::simulator::call(
            &sim,
            "POST",
            "/open/v1/proxy/add",
            crate::simulator::GL,
            Some(json!({"list": [{"scheme": "socks5", "server": "203.0.113.7", "port": 1080, "username": user, "password": "p"}]})),
        )
        .body
    };
    let first = add("u");
    let id = first["data"]["successDetails"][0]["id"].clone();
    assert_eq!(add("u")["data"]["successDetails"][0]["id"], id);
    let clash = add("v");
    assert_eq!(clash["data"]["failDetails"][0]["code"], 45007, "{clash}");
    let listed = crate::simulator::call(
        &sim,
        "POST",
        "/open/v1/proxy/list",
        crate::simulator::GL,
        Some(json!({"page": 1, "pageSize": 10})),
    );
    assert_eq!(listed.body["data"]["total"], 1);
}
