//! Resets, restarts and images as planned, guarded operations: `--reset SELECTOR` (CPH and KooPhone
//! batch-reset, GeeLark phone/newOne) says what it destroys, counts toward `safety.max_resets`
//! (default 0), never touches a protected phone, heads the PR comment, goes through canaries and saved
//! plans; a CPH phone's declared `image` is reached with batch-reset carrying the image. The simulator
//! gives a reset phone a new identity, so a reset is told from a restart.

use serde_json::{Value, json};

use crate::support::{Dir, Sim, pf, providers};

const FIXTURE: &str = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, image: img-v1}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running}
  - {provider: huawei-cph, id: c3, project_id: p1, status: running}
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: running}
  - {provider: koophone, id: k1, status: running}
";

fn spec(url: &str, safety: &str) -> String {
    format!(
        "{}phones:
  - {{id: c1, provider: cph, name: checkout-1, state: running}}
  - {{id: c2, provider: cph, name: checkout-2, state: running}}
  - {{id: c3, provider: cph, name: checkout-3, state: running, protect: true}}
  - {{id: g1, provider: gl, name: growth-1, state: running}}
  - {{id: g2, provider: gl, name: growth-2, state: running}}
  - {{id: k1, provider: kp, name: kp-1}}
{safety}",
        providers(url)
    )
}

fn resets(sim: &Sim) -> std::collections::BTreeMap<String, u64> {
    sim.phones()
        .into_iter()
        .map(|(id, p)| (id, p["resets"].as_u64().unwrap_or(0)))
        .collect()
}

#[test]
fn asked_resets_say_what_they_destroy_are_guarded_and_made_by_each_kinds_call() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url(), ""));
    let spec_path = dir.spec();
    let plan_args = vec![
        "plan",
        spec_path.as_str(),
        "--reset",
        "growth-*",
        "--reset",
        "checkout-*",
        "--reset",
        "kp-1",
    ];
    let out = pf(&plan_args).run();
    out.code(0)
        .stdout_has("5 to reset")
        .stdout_has("To reset (data and apps cleared) (5 phones):")
        .stdout_has("note: reset: batch-reset: the phone's data is cleared")
        .stdout_has("note: reset: phone/newOne: a new device identity; data and apps are cleared")
        .stdout_has("note: reset: batch-reset: the instance's data and apps are cleared")
        .stderr_has("--reset selected 1 phone this plan does not reset (cph / checkout-3 (c3))")
        .stdout_has("BROKEN max_resets at cph: 2 phones reset, limit 0")
        .stdout_has("BROKEN max_resets at gl: 2 phones reset, limit 0")
        .stdout_has("BROKEN max_resets at kp: 1 phone reset, limit 0");
    // Per provider, as a share of its declared phones.
    let share = Dir::with_spec(&spec(&sim.url(), "safety: {max_resets: \"50%\"}\n"));
    let mut share_args = plan_args.clone();
    let share_spec = share.spec();
    share_args[1] = share_spec.as_str();
    pf(&share_args)
        .run()
        .code(0)
        .stdout_has("BROKEN max_resets at gl: 100% (2 of 2 declared phones reset), limit 50%")
        .stdout_has("BROKEN max_resets at kp: 100% (1 of 1 declared phone reset), limit 50%")
        .stdout_has("max_resets at cph: 67% (2 of 3 declared phones reset), limit 50%");
    let mut md_args = plan_args.clone();
    md_args.push("--markdown");
    let md = pf(&md_args).run();
    assert!(
        md.stdout.contains(
            "> [!CAUTION]\n> This plan **resets 5 phones** (their data and apps are cleared)"
        ),
        "{}",
        md.stdout
    );
    // The default guard refuses any reset.
    pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--reset",
        "growth-1",
    ])
    .run()
    .code(1)
    .stderr_has("max_resets");
    assert!(resets(&sim).values().all(|n| *n == 0), "nothing was reset");
    // Allowed: each kind's call, the protected phone untouched, a restart is no reset.
    let allowed = Dir::with_spec(&spec(&sim.url(), "safety: {max_resets: 5}\n"));
    let apply = pf(&[
        "apply",
        &allowed.spec(),
        "--auto-approve",
        "--reset",
        "growth-*",
        "--reset",
        "checkout-*",
        "--reset",
        "kp-1",
        "--restart",
        "checkout-3",
    ])
    .run();
    apply
        .code(0)
        .stdout_has("5 reset")
        .stdout_has("1 restarted");
    let r = resets(&sim);
    assert_eq!(
        r,
        [
            ("c1", 1),
            ("c2", 1),
            ("c3", 0),
            ("g1", 1),
            ("g2", 1),
            ("k1", 1)
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    );
    let stats = sim.stats();
    let n = |route: &str| stats.get(route).copied().unwrap_or(0);
    assert_eq!(
        n("POST /v1/{project_id}/cloud-phone/phones/batch-reset"),
        1,
        "{stats:?}"
    );
    assert_eq!(
        n("POST /open/v2/phone/newOne"),
        2,
        "one GeeLark phone a call"
    );
    assert_eq!(n("POST /v1/instances/batch-reset"), 1);
    // KooPhone's reset task is followed until its job is done.
    assert!(n("GET /v1/instances/tasks/{task_id}") >= 1, "{stats:?}");
    // The reset phone is another device: GeeLark's list shows another identity.
    let listed = crate::simulator::call(
        &sim,
        "POST",
        "/open/v1/phone/list",
        crate::simulator::GL,
        Some(json!({"page": 1, "pageSize": 10, "ids": ["g1"]})),
    );
    assert_eq!(
        listed.body["data"]["items"][0]["equipmentInfo"]["imei"],
        "860000000000001"
    );
    // Asked once: a plan without --reset has nothing to do.
    pf(&["plan", &allowed.spec()])
        .run()
        .code(0)
        .stdout_has("No changes.");
}

#[test]
fn a_cph_image_is_declared_state_reached_with_batch_reset() {
    // The account can use img-v2 (and sim-image, img-v1); img-nope it cannot.
    let sim = Sim::start(&format!("cph_images: [img-v2]\n{FIXTURE}"));
    let text = spec(&sim.url(), "safety: {max_resets: 2}\n")
        .replace(
            "name: checkout-1, state: running}",
            "name: checkout-1, state: running, image: img-v2}",
        )
        .replace(
            "name: checkout-2, state: running}",
            "name: checkout-2, state: running, image: img-nope}",
        )
        .replace(
            "name: checkout-3, state: running, protect: true}",
            "name: checkout-3, state: running, protect: true, image: img-v2}",
        );
    let dir = Dir::with_spec(&text);
    let out = pf(&["plan", &dir.spec()]).run();
    out.code(0)
        .stdout_has("! cph / checkout-1 (c1): reset")
        .stdout_has("-image: \"img-v1\"")
        .stdout_has("+image: \"img-v2\"")
        .stdout_has_text(
            "and protected (`protect: true`): phonefleet never resets a protected phone",
        )
        .stdout_has_text(
            "image `img-nope` is not one the account can use (its phone-images list holds 3 images",
        );
    let json: Value = pf(&["plan", &dir.spec(), "--json"]).run().json();
    let c1 = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phone_id"] == "c1")
        .unwrap();
    assert_eq!(
        c1["actions"],
        json!([{"action": "reset", "before": "img-v1", "after": "img-v2"}])
    );
    // The protected phone is blocked (a warning), the other reset.
    pf(&["apply", &dir.spec(), "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("1 reset");
    let phones = sim.phones();
    assert_eq!(phones["c1"]["image"], "img-v2");
    assert_eq!(phones["c1"]["resets"], 1);
    assert!(phones["c3"].get("resets").is_none(), "protected");
    // c1 matches now; c2 and c3 stay blocked (a person decides).
    let again = pf(&["plan", &dir.spec()]).run();
    again.code(0).stdout_has("Blocked (2 phones");
    assert!(
        !again.stdout.contains("checkout-1 (c1): reset"),
        "{}",
        again.stdout
    );
    // Only huawei-cph declares an image.
    let bad = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, image: img-v2}}\n",
        providers("http://127.0.0.1:9")
    ));
    pf(&["validate", &bad.spec()])
        .run()
        .code(1)
        .stderr_has("geelark cannot manage `image` (huawei-cph only");
}

#[test]
fn resets_go_through_canaries_and_saved_plans_and_a_lost_answer_is_not_sent_again() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url(), "safety: {max_resets: 5}\n"));
    // --canary 1: the first reset of each provider goes alone.
    let json: Value = pf(&[
        "plan",
        &dir.spec(),
        "--reset",
        "growth-*",
        "--canary",
        "1",
        "--json",
    ])
    .run()
    .json();
    let resets_json: Vec<&Value> = json["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["action"] == "reset")
        .collect();
    assert_eq!(resets_json.len(), 2, "{resets_json:?}");
    assert_eq!(resets_json[0]["canary"], true);
    assert_eq!(resets_json[0]["phone_ids"], json!(["g1"]));
    // A saved plan keeps its resets and derives them again.
    let file = dir.path("reset.plan");
    pf(&["plan", &dir.spec(), "--reset", "growth-1", "--out", &file])
        .run()
        .code(0);
    let saved: Value = serde_json::from_str(&dir.read("reset.plan")).unwrap();
    assert_eq!(saved["reset"], json!([["gl", "g1"]]));
    pf(&["apply", &file]).run().code(0).stdout_has("1 reset");
    assert_eq!(resets(&sim)["g1"], 1);
    // A reset whose answer was lost is not sent again.
    let lossy = Sim::with(
        FIXTURE,
        phonefleet::simulator::SimConfig {
            lose_answers_after_change: true,
            ..Default::default()
        },
    );
    let lossy_dir = Dir::with_spec(&spec(&lossy.url(), "safety: {max_resets: 5}\n"));
    pf(&[
        "apply",
        &lossy_dir.spec(),
        "--auto-approve",
        "--reset",
        "growth-1",
        "--timeout",
        "60",
    ])
    .run()
    .code(1)
    .stdout_has("not sent again");
    assert_eq!(lossy.stats().get("POST /open/v2/phone/newOne"), Some(&1));
    assert_eq!(resets(&lossy)["g1"], 1, "reset once");
}

/// A CPH phone a saved plan resets that was reset since (its identity changed) is done: it is not
/// reset twice.
#[test]
fn a_phone_reset_since_the_plan_was_made_is_not_reset_again() {
    let sim = Sim::with_transition(FIXTURE, 0);
    let dir = Dir::with_spec(&spec(&sim.url(), "safety: {max_resets: 5}\n"));
    let file = dir.path("reset.plan");
    pf(&[
        "plan",
        &dir.spec(),
        "--reset",
        "checkout-2",
        "--reset",
        "growth-1",
        "--reset",
        "growth-2",
        "--out",
        &file,
    ])
    .run()
    .code(0);
    // Someone resets two of them in the consoles first: CPH's imei and GeeLark's equipmentInfo change.
    let by_hand = crate::simulator::call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones/batch-reset",
        crate::simulator::CPH,
        Some(json!({"phones": [{"phone_id": "c2"}]})),
    );
    assert!(
        by_hand.body["jobs"][0]["job_id"].is_string(),
        "{:?}",
        by_hand.body
    );
    let new_one = crate::simulator::call(
        &sim,
        "POST",
        "/open/v2/phone/newOne",
        crate::simulator::GL,
        Some(json!({"id": "g1"})),
    );
    assert_eq!(new_one.body["code"], 0);
    let apply = pf(&["apply", &file]).run();
    apply.code(0).stdout_has("1 reset");
    let r = resets(&sim);
    assert_eq!(
        (r["c2"], r["g1"], r["g2"]),
        (1, 1, 1),
        "the two reset by hand are not reset twice; the third is reset once"
    );
}

/// KooPhone shows no device identity: the resets an apply of a plan file made are recorded beside the
/// file (sealed), so applying it again does not reset an instance twice; a forged record counts for
/// nothing.
#[test]
fn a_plan_file_applied_twice_resets_a_koophone_instance_once() {
    let sim = Sim::with_transition(FIXTURE, 0);
    let dir = Dir::with_spec(&spec(&sim.url(), "safety: {max_resets: 5}\n"));
    let file = dir.path("reset.plan");
    pf(&["plan", &dir.spec(), "--reset", "kp-1", "--out", &file])
        .run()
        .code(0);
    pf(&["apply", &file]).run().code(0).stdout_has("1 reset");
    assert_eq!(resets(&sim)["k1"], 1);
    let receipt = dir.read("reset.plan.resets");
    assert!(receipt.contains("\"k1\""), "{receipt}");
    let again = pf(&["apply", &file]).run();
    again.code(0);
    assert!(!again.stdout.contains("1 reset"), "{}", again.stdout);
    assert_eq!(resets(&sim)["k1"], 1, "not reset twice");
    // A record whose seal the credentials do not make is ignored: the reset runs again.
    let forged = receipt.replace("hmac-sha256:", "hmac-sha256:00");
    dir.write("reset.plan.resets", &forged);
    pf(&["apply", &file]).run().code(0).stdout_has("1 reset");
    assert_eq!(resets(&sim)["k1"], 2);
}

#[test]
fn the_simulator_refuses_a_reset_as_geelark_documents() {
    let sim = Sim::start(
        "phones:\n  - {provider: geelark, id: g1, status: running, busy: task}\n  - {provider: geelark, id: g2, status: running, busy: remote}\n  - {provider: geelark, id: g3, status: running, no_reset: true}\n",
    );
    let call = |id: &str| {
        crate::simulator::call(
            &sim,
            "POST",
            "/open/v2/phone/newOne",
            crate::simulator::GL,
            Some(json!({ "id": id })),
        )
        .body
    };
    assert_eq!(call("g1")["code"], 43005);
    assert_eq!(call("g2")["code"], 43006);
    assert_eq!(call("nope")["code"], 42001);
    assert_eq!(call("g3")["code"], 43015);
    // Restart (the route GeeLark's CLI uses): a busy phone 43005, a stopped one 42002.
    let restart = |id: &str| {
        crate::simulator::call(
            &sim,
            "POST",
            "/open/v1/phone/restart",
            crate::simulator::GL,
            Some(json!({ "id": id })),
        )
        .body
    };
    assert_eq!(restart("g1")["code"], 43005);
    assert_eq!(restart("g3")["code"], 0);
    assert_eq!(restart("nope")["code"], 42001);
}

/// A reset that does not come back by the deadline (GeeLark's phone still starting, CPH's job still
/// running) is reported per phone with what to do (a reset is never re-sent on its own).
#[test]
fn a_reset_that_never_comes_back_is_reported_with_what_to_do() {
    let sim = Sim::with_transition(
        "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: huawei-cph, id: c1, project_id: p1, status: running}
",
        60_000,
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, name: growth-1}}\n  - {{id: c1, provider: cph, name: checkout-1}}\nsafety: {{max_resets: 2}}\n",
        providers(&sim.url())
    ));
    let out = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--reset",
        "growth-1",
        "--reset",
        "checkout-1",
        "--timeout",
        "3",
    ])
    .run();
    out.code(1)
        .stdout_has("growth-1 (g1): reset: not-converged")
        .stdout_has_text(
            "the phone did not show that its reset finished: check it in the provider's console",
        )
        .stdout_has_text("checkout-1 (c1): reset: not-converged: accepted but not converged: job");
    assert_eq!(
        out.stdout
            .matches("check it in the provider's console")
            .count(),
        2,
        "a to-do for each: {}",
        out.stdout
    );
    assert_eq!(
        sim.stats().get("POST /open/v2/phone/newOne"),
        Some(&1),
        "not re-sent"
    );
}
