//! Trust, tried as an attacker would: forged and re-sealed plan files, a spec changed since its plan, a
//! provider that redirects, floods, or echoes secrets and terminal escapes, markdown-breaking names, and
//! `--out` pointed at files it must not replace.

use serde_json::{Value, json};

use crate::plan::{FIXTURE, spec};
use crate::support::fake::{Fake, Reply};
use crate::support::{Dir, GL_TOKEN, Sim, one_provider, pf, providers, redigest, reseal};

/// The content digest of a JSON value as a plan file computes it, whatever its fields.
fn digest_raw(mut plan: Value) -> String {
    use sha2::Digest;
    let map = plan.as_object_mut().unwrap();
    map.remove("digest");
    let seals = map.remove("seals");
    let text = serde_json::to_string(&plan).unwrap();
    plan["digest"] = json!(format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text))
    ));
    plan["seals"] = seals.unwrap_or_default();
    serde_json::to_string_pretty(&plan).unwrap()
}

fn read_json(dir: &Dir, name: &str) -> Value {
    serde_json::from_str(&dir.read(name)).unwrap()
}

const WITH_UNMANAGED: &str = "  - {provider: geelark, id: g9, status: running}\n";

#[test]
fn a_resealed_plan_runs_only_what_its_spec_and_review_show() {
    let sim = Sim::start(&format!("{FIXTURE}{WITH_UNMANAGED}"));
    let dir = Dir::with_spec(&spec(&sim.url()));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    let original = read_json(&dir, "plan.json");

    // (a) An extra batch stopping a phone the spec does not manage.
    let mut extra = original.clone();
    extra["batches"]
        .as_array_mut()
        .unwrap()
        .push(json!({"provider": "gl", "action": "stop", "phone_ids": ["g9"]}));
    // (b) The stop batch turned into a start (a reboot of running phones, reported "skipped" before).
    let mut flipped = original.clone();
    for b in flipped["batches"].as_array_mut().unwrap() {
        if b["provider"] == "gl" && b["action"] == "stop" {
            b["action"] = json!("start");
        }
    }
    // (c) Changes and batches altered together, so that `show` renders the forged change.
    let mut both = flipped.clone();
    for c in both["phones"].as_array_mut().unwrap() {
        if c["provider"] == "gl" && c["actions"] == json!(["stop"]) {
            c["actions"] = json!(["start"]);
        }
    }
    // (d) A change for a phone the spec does not declare, with a batch to match.
    let mut undeclared = original.clone();
    let mut forged = undeclared["phones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phone_id"] == "g1")
        .unwrap()
        .clone();
    forged["phone_id"] = json!("g9");
    undeclared["phones"].as_array_mut().unwrap().push(forged);
    undeclared["batches"]
        .as_array_mut()
        .unwrap()
        .push(json!({"provider": "gl", "action": "stop", "phone_ids": ["g9"]}));
    // (e) The extra batch again, by someone without the credentials: the seal gives it away.
    let outsider = dir.write("outsider.json", &redigest(extra.clone()));
    pf(&["apply", &outsider])
        .run()
        .code(1)
        .no_panic()
        .stderr_has("the plan's seal does not verify for `cph`, `gl`");
    assert_eq!(sim.mutating_calls(), 0);

    for (name, forged, says) in [
        ("extra", extra, "batches are not the calls its changes make"),
        (
            "flipped",
            flipped,
            "batches are not the calls its changes make",
        ),
        (
            "both",
            both,
            "changes are not what its spec and the phones' state make",
        ),
        ("undeclared", undeclared, "which the spec"),
    ] {
        let file = dir.write(&format!("{name}.json"), &reseal(forged));
        pf(&["show", &file]).run().code(0);
        pf(&["apply", &file])
            .run()
            .code(1)
            .no_panic()
            .stderr_has(says)
            .stderr_has("nothing was applied");
        assert_eq!(sim.mutating_calls(), 0, "{name}: no change was sent");
    }
    let phones = sim.phones();
    assert_eq!(phones["g9"]["meaning"], "started", "{phones:?}");

    // The untouched plan still applies, and reports every phone of its changes (blocked phones are not
    // in a plan file: apply does nothing to them).
    let out = pf(&["apply", &plan_file]).run();
    out.code(0)
        .stdout_has("Apply: 5 ok, 0 failed, 0 blocked, 0 skipped (5 changes to 4 phones).");
    assert_eq!(sim.phones()["g9"]["meaning"], "started");
}

#[test]
fn a_plan_cannot_choose_endpoints_or_credential_variables() {
    let sim = Sim::start(FIXTURE);
    let attacker = Fake::start(|_| Reply::Json(200, vec![], "{}".into()));
    let dir = Dir::with_spec(&spec(&sim.url()));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    let calls_before = sim.stats().values().sum::<u64>();
    let original = read_json(&dir, "plan.json");

    let mut redirected = original.clone();
    redirected["providers"]["gl"]["endpoint"] = json!(attacker.url);
    let mut broken = original.clone();
    broken["providers"]["gl"]["endpoint"] = json!("not a url");
    let mut ftp = original.clone();
    ftp["providers"]["gl"]["endpoint"] = json!("ftp://127.0.0.1/x");
    let mut entry = original.clone();
    entry["providers"]["gl"]["entry"] = json!(format!("sha256:{}", "0".repeat(64)));

    for (name, forged) in [
        ("redirected", redirected),
        ("broken", broken),
        ("ftp", ftp),
        ("entry", entry),
    ] {
        let file = dir.write(&format!("{name}.json"), &reseal(forged));
        let out = pf(&["apply", &file, "-v"])
            .env("SOME_OTHER_SECRET", "value-an-attacker-wants")
            .run();
        out.code(1)
            .no_panic()
            .stderr_has("the plan's provider entries differ from the spec's (`gl`)");
        assert!(!out.stderr.contains("value-an-attacker-wants"));
    }
    // Credential variables are not a field of a plan file at all.
    let mut variables = original;
    variables["providers"]["gl"]["credentials"] = json!({"token_env": "SOME_OTHER_SECRET"});
    let file = dir.write("variables.json", &digest_raw(variables));
    pf(&["apply", &file])
        .env("SOME_OTHER_SECRET", "value-an-attacker-wants")
        .run()
        .code(1)
        .no_panic()
        .stderr_has("does not match its format");
    assert!(
        attacker.requests().is_empty(),
        "nothing reached the attacker"
    );
    assert_eq!(
        sim.stats().values().sum::<u64>(),
        calls_before,
        "not even the staleness read was sent"
    );
}

#[test]
fn a_plan_applies_only_to_the_spec_it_was_made_from() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    let calls_before = sim.stats().values().sum::<u64>();
    // A one-line edit of a phone the plan covers: g1 and g2 are no longer to be stopped. Refused before
    // any call, naming the file, the phone and the field.
    let reviewed = dir.read("spec.yaml");
    let edited = reviewed.replace(
        "ids: [g1, g2]\n    state: stopped",
        "ids: [g1, g2]\n    state: running",
    );
    assert_ne!(edited, reviewed);
    dir.write("spec.yaml", &edited);
    pf(&["apply", &plan_file])
        .run()
        .code(1)
        .stderr_has("spec.yaml: phone `g1` of provider `gl` is declared otherwise than when the plan was made (state: stopped -> running)")
        .stderr_has("nothing was applied");
    assert_eq!(
        sim.stats().values().sum::<u64>(),
        calls_before,
        "refused before any network call"
    );
    // A spec that is gone.
    std::fs::remove_file(dir.spec()).unwrap();
    pf(&["apply", &plan_file])
        .run()
        .code(1)
        .stderr_has("which cannot be loaded here");
    assert_eq!(
        sim.stats().values().sum::<u64>(),
        calls_before,
        "refused before any network call"
    );
    // An edit elsewhere (g9 joins g3's group, which the plan does not cover) leaves the plan
    // applicable: it runs what was reviewed, and nothing for g9.
    dir.write("spec.yaml", &reviewed.replace("ids: [g3]", "ids: [g3, g9]"));
    pf(&["apply", &plan_file])
        .run()
        .code(0)
        .stdout_has("Apply: 5 ok");
    assert!(
        sim.calls()
            .iter()
            .all(|(_, ids)| !ids.contains(&"g9".to_owned())),
        "{:?}",
        sim.calls()
    );
}

/// A GeeLark account on a fake server, with one phone to stop.
fn geelark_spec(url: &str) -> String {
    one_provider(
        "geelark",
        url,
        "  - {id: g1, provider: gl, state: stopped}\n",
    )
}

fn status_running() -> Reply {
    Reply::Json(
        200,
        vec![],
        json!({"code": 0, "msg": "success", "traceId": "t", "data": {"totalAmount": 1,
            "successAmount": 1, "failAmount": 0,
            "successDetails": [{"id": "g1", "serialName": "n", "status": 0}], "failDetails": []}})
        .to_string(),
    )
}

#[test]
fn redirects_are_refused_and_nothing_reaches_their_target() {
    let target = Fake::start(|_| status_running());
    let location = format!("{}/open/v1/phone/status", target.url);
    let reads = Fake::start(move |_| {
        Reply::Json(
            307,
            vec![("Location".into(), location.clone())],
            "{}".into(),
        )
    });
    let dir = Dir::with_spec(&geelark_spec(&reads.url));
    let target_host = target.url.trim_start_matches("http://").to_owned();
    pf(&["plan", &dir.spec()])
        .run()
        .code(1)
        .no_panic()
        .stderr_has(&format!(
            "redirected the call (HTTP 307) to `{target_host}`"
        ));
    let status_calls = reads
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/status"))
        .count();
    assert_eq!(status_calls, 1, "a redirect is not retried");

    // A change redirected: the phone fails with the redirect named; the body and token go nowhere else.
    let stop_to = format!("{}/open/v1/phone/stop", target.url);
    let changes = Fake::start(move |req| {
        if req.path.ends_with("/stop") {
            Reply::Json(308, vec![("Location".into(), stop_to.clone())], "{}".into())
        } else {
            status_running()
        }
    });
    let dir = Dir::with_spec(&geelark_spec(&changes.url));
    let out = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--json",
        "--timeout",
        "5",
    ])
    .run();
    out.code(1).no_panic();
    assert!(out.stdout.contains("HTTP 308"), "{}", out.stdout);
    assert!(out.stdout.contains(&target_host), "{}", out.stdout);
    let stops = changes
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/stop"))
        .count();
    assert_eq!(stops, 1, "the change was sent once");
    assert!(
        target.requests().is_empty(),
        "nothing reached the redirect target"
    );
}

#[test]
fn an_endless_answer_is_cut_at_the_cap_with_memory_near_it() {
    // 512 MiB on offer; a client without a cap would hold all of it.
    let flood = Fake::start(|_| Reply::Endless { total: 512 << 20 });
    let dir = Dir::with_spec(&geelark_spec(&flood.url));
    let child = pf(&["plan", &dir.spec()]).spawn();
    let (code, max_rss_kib) = crate::support::wait_with_rusage(&child);
    let out = crate::support::collect(child, code);
    out.code(1)
        .no_panic()
        .stdout_has_text("POST ")
        .stdout_has_text("/open/v1/phone/status: the answer is larger than 32 MiB")
        .stderr_has("1 phone could not be read");
    eprintln!("peak RSS with a 512 MiB answer on offer: {max_rss_kib} KiB");
    assert!(
        max_rss_kib < 128 * 1024,
        "peak memory {max_rss_kib} KiB is far above the 32 MiB cap"
    );
}

#[test]
fn provider_text_never_prints_a_secret_or_a_terminal_escape() {
    // Whatever token comes in is echoed, literally and JSON-escaped (`\u00XX` for its first letter),
    // with escapes that would clear the screen and fake a clean result.
    fn message(req: &crate::support::fake::Req) -> String {
        let token = req
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.trim_start_matches("Bearer ").to_owned())
            .unwrap_or_default();
        let first = token.chars().next().unwrap_or('x');
        let escaped = format!("\\u{:04x}{}", first as u32, &token[first.len_utf8()..]);
        format!(
            "token {token} or {escaped} refused \\u001b[2J\\u001b[H\\nNo changes. The fleet matches the spec."
        )
    }
    let fake = Fake::start(|req| {
        let m = message(req);
        if req.path.ends_with("/stop") {
            Reply::Json(
                200,
                vec![],
                format!(
                    "{{\"code\":40006,\"msg\":\"partial\",\"data\":{{\"totalAmount\":1,\"successAmount\":0,\
                     \"failAmount\":1,\"successDetails\":[],\"failDetails\":[{{\"code\":43006,\"id\":\"g1\",\"msg\":\"{m}\"}}]}}}}"
                ),
            )
        } else if m.contains("wrong-token-value") {
            Reply::Json(401, vec![], format!("{{\"code\":40003,\"msg\":\"{m}\"}}"))
        } else {
            status_running()
        }
    });
    let dir = Dir::with_spec(&geelark_spec(&fake.url));
    let outs = [
        pf(&["apply", &dir.spec(), "--auto-approve", "-v"]).run(),
        pf(&["apply", &dir.spec(), "--auto-approve", "--json"]).run(),
        pf(&["plan", &dir.spec()])
            .env("PHONEFLEET_GEELARK_TOKEN", "wrong-token-value")
            .run(),
    ];
    for out in &outs {
        out.code(1).no_panic();
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains(GL_TOKEN), "token printed:\n{all}");
        assert!(!all.contains("wrong-token-value"), "token printed:\n{all}");
        assert!(!all.contains('\u{1b}'), "escape printed:\n{all}");
        assert!(all.contains("***"), "masked:\n{all}");
        assert!(all.contains("\\u{1b}[2J"), "escape shown as text:\n{all}");
    }
}

#[test]
fn names_cannot_break_out_of_the_markdown_comment() {
    let sim = Sim::start(FIXTURE);
    let hostile = "x ```` </details> <!-- y";
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: g1, provider: gl, name: \"{hostile}\", state: stopped}}
  - {{id: k1, provider: kp, name: \"k ``` <!--\", state: running}}
",
        providers(&sim.url())
    ));
    let out = pf(&["plan", &dir.spec(), "--markdown"]).run();
    out.code(0);
    let md = &out.stdout;
    // The diff fence is longer than any backtick run of the names, and closes before our </details>.
    assert!(md.contains("`````diff\n"), "{md}");
    assert!(md.contains(&format!("# gl / {hostile} (g1): stop")), "{md}");
    assert!(md.contains("\n`````\n\n</details>"), "{md}");
    assert_eq!(md.matches("`````diff").count(), 1);
    // Outside the diff, names are escaped text: the blocked line and the stops warning.
    assert!(md.contains("k \\`\\`\\` &lt;!-- (k1)"), "{md}");
    assert!(
        md.contains("This plan **stops 1 phone**: x \\`\\`\\`\\` &lt;/details&gt; &lt;!-- y\n"),
        "{md}"
    );
    // Outside the diff block and the code span, only our own marker and tags remain.
    let start = md.find("`````diff\n").unwrap();
    let end = md[start..].find("\n`````\n").unwrap() + start;
    let outside = format!("{}{}", &md[..start], &md[end..]);
    assert_eq!(outside.matches("<!--").count(), 1, "{outside}");
    assert_eq!(outside.matches("</details>").count(), 1, "{outside}");
}

#[test]
fn out_never_replaces_the_spec_a_link_or_a_file_that_is_not_a_plan() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let spec_text = dir.read("spec.yaml");
    pf(&["plan", &dir.spec(), "--out", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("it is the spec itself");
    assert_eq!(dir.read("spec.yaml"), spec_text);
    let notes = dir.write("notes.txt", "keep me\n");
    pf(&["plan", &dir.spec(), "--out", &notes])
        .run()
        .code(1)
        .stderr_has("the file exists and is not a phonefleet plan");
    assert_eq!(dir.read("notes.txt"), "keep me\n");
    let link = dir.path("link.json");
    std::os::unix::fs::symlink(&notes, &link).unwrap();
    pf(&["plan", &dir.spec(), "--out", &link])
        .run()
        .code(1)
        .stderr_has("it is a symbolic link");
    assert_eq!(dir.read("notes.txt"), "keep me\n");
    assert_eq!(
        sim.stats().values().sum::<u64>(),
        0,
        "refused before planning"
    );
    // An existing plan is replaced.
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    assert!(dir.read("plan.json").contains("phonefleet-plan"));
}

/// A name written to reach people (`@org/fleet-admins`, a link, an issue reference) pings no one and
/// links nowhere in the pull-request comment: mentions, references and bare links are broken by an
/// invisible joiner, the text reads the same.
#[test]
fn names_in_the_comment_cannot_ping_or_link() {
    let sim = Sim::start(FIXTURE);
    let hostile = "@org/fleet-admins approve at https://evil.example/ok see #12 www.evil.example";
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: g1, provider: gl, name: \"{hostile}\", state: stopped}}
",
        providers(&sim.url())
    ));
    let out = pf(&["plan", &dir.spec(), "--markdown"]).run();
    out.code(0);
    let md = &out.stdout;
    // Inside code (the diff block) nothing is a mention or a link; everywhere else none may stand.
    let start = md.find("```diff\n").unwrap();
    let end = md[start..].find("\n```\n").unwrap() + start;
    let outside = format!("{}{}", &md[..start], &md[end..]);
    assert!(outside.contains("**stops 1 phone**"), "{outside}");
    for bad in ["@org", "https://evil", "#12", "www.evil"] {
        assert!(!outside.contains(bad), "{bad} in:\n{outside}");
    }
    assert!(
        outside.replace('\u{2060}', "").contains(
            "@org/fleet-admins approve at https://evil.example/ok see #12 www.evil.example"
        ),
        "the name reads the same: {outside}"
    );
}

/// A saved plan sets a property `a -> b`; someone sets the phone to `c` meanwhile. The plan's changes
/// for it are the same (set properties), but the phone moved to a third state nobody reviewed: the plan
/// is stale for it, named with what moved, and nothing is sent. Moved to the plan's value by hand, it is
/// done.
#[test]
fn a_phone_moved_to_a_third_state_makes_the_plan_stale() {
    let sim = Sim::start(
        "phones:\n  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {sys.prop.writewifissid: a}}\n  - {provider: huawei-cph, id: c2, project_id: p1, status: running, properties: {sys.prop.writewifissid: a}}\n",
    );
    let dir = Dir::with_spec(&one_provider(
        "huawei-cph",
        &sim.url(),
        "  - {id: c1, provider: cph, properties: {sys.prop.writewifissid: b}}\n  - {id: c2, provider: cph, properties: {sys.prop.writewifissid: b}}\n",
    ));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    let set = |id: &str, value: &str| {
        let r = crate::simulator::call(
            &sim,
            "POST",
            "/v1/p1/cloud-phone/phones/batch-update-property",
            crate::simulator::CPH,
            Some(
                json!({"phones": [{"phone_id": id, "property": format!("{{\"sys.prop.writewifissid\":\"{value}\"}}")}]}),
            ),
        );
        assert!(r.body["jobs"].is_array(), "{}", r.body);
        std::thread::sleep(std::time::Duration::from_millis(400));
    };
    set("c1", "c");
    let before = sim.mutating_calls();
    pf(&["apply", &plan_file])
        .run()
        .code(1)
        .stderr_has("the plan is stale for 1 phone (moved elsewhere since it was made)")
        .stderr_has("cph / c1: properties.sys.prop.writewifissid: \"a\" -> \"c\"");
    assert_eq!(sim.mutating_calls(), before, "nothing was sent");
    // Set to the plan's value by hand: done, not stale; the other phone is applied.
    set("c1", "b");
    pf(&["apply", &plan_file])
        .run()
        .code(0)
        .stderr_has("1 phone of the plan is already as it wants")
        .stdout_has("Apply: 1 ok");
}

/// A pipeline plans with read-only credentials and applies with write credentials: the plan file is
/// sealed with `PHONEFLEET_PLAN_KEY`, which both jobs hold, instead of with the credentials, which
/// differ. Without the same key the seal does not verify and nothing is applied; the key appears in no
/// output and not in the file.
#[test]
fn a_plan_made_with_read_credentials_applies_with_write_credentials_under_one_plan_key() {
    let sim = Sim::start("phones:\n  - {provider: geelark, id: g1, status: running}\n");
    let dir = Dir::with_spec(&one_provider(
        "geelark",
        &sim.url(),
        "  - {id: g1, provider: gl, state: stopped}\n",
    ));
    let plan_file = dir.path("plan.json");
    let key = "plan-key-0123456789abcdef";
    let plan = pf(&["plan", &dir.spec(), "--out", &plan_file])
        .env("PHONEFLEET_GEELARK_TOKEN", "read-only-token-aaaaaa")
        .env("PHONEFLEET_PLAN_KEY", key)
        .run();
    plan.code(0);
    assert!(!dir.read("plan.json").contains(key));
    let apply = |plan_key: Option<&str>| {
        let mut cmd =
            pf(&["apply", &plan_file]).env("PHONEFLEET_GEELARK_TOKEN", "write-token-bbbbbb");
        if let Some(k) = plan_key {
            cmd = cmd.env("PHONEFLEET_PLAN_KEY", k);
        }
        cmd.run()
    };
    apply(None)
        .code(1)
        .stderr_has("the plan's seal does not verify for `gl`");
    apply(Some("another-key-0123456789"))
        .code(1)
        .stderr_has("the plan's seal does not verify for `gl`");
    assert_eq!(sim.mutating_calls(), 0);
    let out = apply(Some(key));
    // The plan on stdout, as `apply SPEC` shows it, then the report.
    out.code(0)
        .stdout_has("Plan: 1 phone, 1 change: 1 to stop")
        .stdout_has("Apply: 1 ok");
    assert!(!format!("{}{}{}", plan.stderr, out.stdout, out.stderr).contains(key));
}
