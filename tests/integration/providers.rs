//! Provider clients, driven through the binary against the simulator: both auth modes of each provider,
//! wrong and missing credentials, minimal batched reads, retries under faults, `-v` logs without
//! secrets, and the odd answers the simulator does not make (a tiny responder for those).

use std::time::Duration;

use phonefleet::simulator::SimConfig;

use crate::support::{CPH_TOKEN, Dir, GL_TOKEN, KP_TOKEN, Sim, pf, providers};

fn mixed_fleet(cph: usize, gl: usize, kp: usize) -> (String, String) {
    let mut fixture = String::from("phones:\n");
    let mut phones = String::from("phones:\n");
    for i in 0..cph {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i:04}, project_id: p1, status: running}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: c{i:04}, provider: cph, state: running}}\n"
        ));
    }
    for i in 0..gl {
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: g{i:04}, status: running}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: g{i:04}, provider: gl, state: running}}\n"
        ));
    }
    for i in 0..kp {
        fixture.push_str(&format!(
            "  - {{provider: koophone, id: k{i:04}, status: running}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: k{i:04}, provider: kp, state: running}}\n"
        ));
    }
    (fixture, phones)
}

#[test]
fn reads_use_the_fewest_batched_calls() {
    let (fixture, phones) = mixed_fleet(450, 250, 70);
    let sim = Sim::start(&fixture);
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    pf(&["plan", &dir.spec()])
        .run()
        .code(0)
        .stdout_has("No changes");
    let stats = sim.stats();
    // ceil(450/200) pages, plus one `limit=1` call counting the phones the spec does not manage.
    assert_eq!(
        stats.get("GET /v1/{project_id}/cloud-phone/phones"),
        Some(&(3 + 1))
    );
    assert_eq!(
        stats.get("POST /open/v1/phone/list"),
        Some(&1),
        "the unmanaged count"
    );
    assert_eq!(
        stats.get("GET /v1/instances/batch-query"),
        Some(&1),
        "the unmanaged count"
    );
    assert_eq!(
        stats.get("POST /open/v1/phone/status"),
        Some(&3),
        "ceil(250/100)"
    );
    assert_eq!(
        stats.get("POST /v1/instances/batch-query-status"),
        Some(&3),
        "ceil(70/32)"
    );
    assert_eq!(
        stats.get("GET /v1/{project_id}/cloud-phone/phones/{phone_id}"),
        None,
        "no detail without properties"
    );
}

#[test]
fn list_pages_stop_once_every_declared_phone_is_found() {
    let (fixture, _) = mixed_fleet(1000, 0, 0);
    let sim = Sim::start(&fixture);
    // The newest phones come first: c0999 is on the first page.
    let spec = format!(
        "{}phones:\n  - {{id: c0999, provider: cph, state: running}}\n",
        providers(&sim.url())
    );
    let dir = Dir::with_spec(&spec);
    // `--target` skips the count of unmanaged phones, so only the list pages remain.
    pf(&["plan", &dir.spec(), "--target", "cph"]).run().code(0);
    assert_eq!(
        sim.stats().get("GET /v1/{project_id}/cloud-phone/phones"),
        Some(&1)
    );
}

#[test]
fn a_few_phones_deep_in_a_big_account_are_read_by_detail_instead_of_every_page() {
    let (fixture, _) = mixed_fleet(1000, 0, 0);
    let sim = Sim::start(&fixture);
    // The oldest phones are on the last page: 2 detail calls beat 4 more pages.
    let spec = format!(
        "{}phones:\n  - {{id: c0000, provider: cph, state: running}}\n  - {{id: c0001, provider: cph, state: stopped}}\n  - {{id: nope, provider: cph, state: running}}\n",
        providers(&sim.url())
    );
    let dir = Dir::with_spec(&spec);
    let out = pf(&["plan", &dir.spec(), "--target", "cph"]).run();
    out.code(0)
        .stdout_has("- cph / c0001: stop")
        .stdout_has("! cph / nope: phone not found at provider `cph`");
    let stats = sim.stats();
    assert_eq!(
        stats.get("GET /v1/{project_id}/cloud-phone/phones"),
        Some(&1)
    );
    assert_eq!(
        stats.get("GET /v1/{project_id}/cloud-phone/phones/{phone_id}"),
        Some(&3)
    );
}

fn cph_spec(url: &str, credentials: &str) -> String {
    format!(
        "version: 1\nproviders:\n  cph:\n    kind: huawei-cph\n    project_id: p1\n    endpoint: {url}\n{credentials}phones:\n  - {{id: s1, provider: cph, state: running, properties: {{sys.prop.writewifissid: w}}}}\n"
    )
}

#[test]
fn huawei_cph_token_and_aksk() {
    let fixture = format!(
        "phones: [{{provider: huawei-cph, id: s1, project_id: p1, status: running, properties: {{sys.prop.writewifissid: w}}}}]\ncredentials:\n  huawei-cph: {{token: {CPH_TOKEN}, ak: AK-TEST, sk: SK-TEST-secret, security_token: STS-TEST-secret}}\n"
    );
    let sim = Sim::start(&fixture);
    let token = Dir::with_spec(&cph_spec(
        &sim.url(),
        "    credentials: {token_env: PHONEFLEET_CPH_TOKEN}\n",
    ));
    pf(&["plan", &token.spec()])
        .run()
        .code(0)
        .stdout_has("No changes");
    // Default variables: HUAWEICLOUD_SDK_AK / _SK, with the security token when set.
    let aksk = Dir::with_spec(&cph_spec(&sim.url(), ""));
    pf(&["plan", &aksk.spec()])
        .env("HUAWEICLOUD_SDK_AK", "AK-TEST")
        .env("HUAWEICLOUD_SDK_SK", "SK-TEST-secret")
        .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "STS-TEST-secret")
        .run()
        .code(0)
        .stdout_has("No changes");
    let out = pf(&["plan", &aksk.spec()])
        .env("HUAWEICLOUD_SDK_AK", "AK-TEST")
        .env("HUAWEICLOUD_SDK_SK", "SK-wrong")
        .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "STS-TEST-secret")
        .run();
    out.code(1)
        .stderr_has("refused the credentials")
        .stderr_has("APIGW.0301")
        .stderr_has("hint:");
    assert!(!out.stderr.contains("SK-wrong"));
    let wrong_token = pf(&["plan", &token.spec()])
        .env("PHONEFLEET_CPH_TOKEN", "nope")
        .run();
    wrong_token
        .code(1)
        .stderr_has("HTTP 401")
        .stderr_has("GET http://127.0.0.1");
    let missing = pf(&["plan", &aksk.spec()]).run();
    missing
        .code(1)
        .stderr_has(
            "environment variables `HUAWEICLOUD_SDK_AK` and `HUAWEICLOUD_SDK_SK` are not set",
        )
        .stderr_has("hint: export HUAWEICLOUD_SDK_AK=...; export HUAWEICLOUD_SDK_SK=...");
}

#[test]
fn koophone_aksk_signs_like_the_official_sdk_and_tokens_still_work() {
    let sim = Sim::start(
        "phones: [{provider: koophone, id: k1, status: running}]\ncredentials:\n  koophone: {token: kp-token-1a2b3c, ak: KP-AK-TEST, sk: KP-SK-secret-9z, security_token: KP-STS-secret-7y}\n",
    );
    let spec = |credentials: &str| {
        format!(
            "version: 1\nproviders:\n  kp:\n    kind: koophone\n    project_id: kp-project-1\n    endpoint: {}\n    credentials: {credentials}\nphones:\n  - {{id: k1, provider: kp, state: running}}\n",
            sim.url()
        )
    };
    let aksk = Dir::with_spec(&spec(
        "{ak_env: PHONEFLEET_KOOPHONE_AK, sk_env: PHONEFLEET_KOOPHONE_SK, security_token_env: PHONEFLEET_KOOPHONE_STS}",
    ));
    pf(&["validate", &aksk.spec()]).run().code(0);
    // The simulator checks the signature over the headers it lists, as the gateway does.
    let ok = pf(&["plan", &aksk.spec(), "-v"])
        .env("PHONEFLEET_KOOPHONE_AK", "KP-AK-TEST")
        .env("PHONEFLEET_KOOPHONE_SK", "KP-SK-secret-9z")
        .env("PHONEFLEET_KOOPHONE_STS", "KP-STS-secret-7y")
        .run();
    ok.code(0).stdout_has("No changes");
    for secret in ["KP-SK-secret-9z", "KP-STS-secret-7y"] {
        assert!(!ok.stderr.contains(secret) && !ok.stdout.contains(secret));
    }
    let bad = pf(&["plan", &aksk.spec()])
        .env("PHONEFLEET_KOOPHONE_AK", "KP-AK-TEST")
        .env("PHONEFLEET_KOOPHONE_SK", "KP-SK-wrong")
        .env("PHONEFLEET_KOOPHONE_STS", "KP-STS-secret-7y")
        .run();
    bad.code(1)
        .stderr_has("APIGW.0301")
        .stderr_has("signature mismatch");
    assert!(!bad.stderr.contains("KP-SK-wrong"));
    let no_token = pf(&["plan", &aksk.spec()])
        .env("PHONEFLEET_KOOPHONE_AK", "KP-AK-TEST")
        .env("PHONEFLEET_KOOPHONE_SK", "KP-SK-secret-9z")
        .run();
    no_token
        .code(1)
        .stderr_has("environment variable `PHONEFLEET_KOOPHONE_STS` is not set");
    // Token mode stays.
    let token = Dir::with_spec(&spec("{token_env: PHONEFLEET_KOOPHONE_TOKEN}"));
    pf(&["plan", &token.spec()])
        .env("PHONEFLEET_KOOPHONE_TOKEN", "kp-token-1a2b3c")
        .run()
        .code(0);
    // A GeeLark account takes no AK/SK.
    let wrong = Dir::with_spec(
        "version: 1\nproviders:\n  gl:\n    kind: geelark\n    credentials: {ak_env: GEELARK_A, sk_env: GEELARK_B}\n",
    );
    pf(&["validate", &wrong.spec()])
        .run()
        .code(1)
        .stderr_has("`ak_env` is for huawei-cph and koophone only, not geelark");
}

#[test]
fn geelark_bearer_and_key_mode_and_koophone_token() {
    let fixture = format!(
        "phones:\n  - {{provider: geelark, id: g1, status: running}}\n  - {{provider: koophone, id: k1, status: running}}\ncredentials:\n  geelark: {{app_id: APP-1, api_key: KEY-secret-1}}\n  koophone: {{token: {KP_TOKEN}}}\n"
    );
    let sim = Sim::start(&fixture);
    let url = sim.url();
    let key_mode = format!(
        "version: 1\nproviders:\n  gl:\n    kind: geelark\n    endpoint: {url}\n    credentials: {{app_id_env: PHONEFLEET_GEELARK_APP, api_key_env: PHONEFLEET_GEELARK_KEY}}\n  kp:\n    kind: koophone\n    endpoint: {url}\n    credentials: {{token_env: PHONEFLEET_KOOPHONE_TOKEN}}\nphones:\n  - {{id: g1, provider: gl, state: running}}\n  - {{id: k1, provider: kp, state: running}}\n"
    );
    let dir = Dir::with_spec(&key_mode);
    pf(&["plan", &dir.spec()])
        .env("PHONEFLEET_GEELARK_APP", "APP-1")
        .env("PHONEFLEET_GEELARK_KEY", "KEY-secret-1")
        .run()
        .code(0)
        .stdout_has("No changes");
    let bad = pf(&["plan", &dir.spec()])
        .env("PHONEFLEET_GEELARK_APP", "APP-1")
        .env("PHONEFLEET_GEELARK_KEY", "KEY-wrong")
        .run();
    bad.code(1)
        .stderr_has("refused the credentials")
        .stderr_has("40003");
    let bearer_sim = Sim::start(
        "phones: [{provider: geelark, id: g1, status: running}]\ncredentials:\n  geelark: {token: gl-secret-token-5b2e8d}\n",
    );
    let bearer = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: running}}\n",
        providers(&bearer_sim.url())
    ));
    pf(&["plan", &bearer.spec()]).run().code(0);
    pf(&["plan", &bearer.spec()])
        .env("PHONEFLEET_GEELARK_TOKEN", "wrong")
        .run()
        .code(1)
        .stderr_has("40003");
    let kp_wrong = pf(&["plan", &dir.spec()])
        .env("PHONEFLEET_GEELARK_APP", "APP-1")
        .env("PHONEFLEET_GEELARK_KEY", "KEY-secret-1")
        .env("PHONEFLEET_KOOPHONE_TOKEN", "wrong")
        .run();
    kp_wrong
        .code(1)
        .stderr_has("APIGW.0301")
        .stderr_has("refused the credentials");
    assert_eq!(GL_TOKEN, "gl-secret-token-5b2e8d");
}

#[test]
fn reads_survive_throttling_and_server_errors() {
    // Enough CPH and KooPhone calls (about 40) that some are throttled with a 429 whatever order the
    // concurrent calls draw the seeded faults in, and few enough faults that no call runs out of retries.
    let (fixture, phones) = mixed_fleet(3000, 300, 640);
    let sim = Sim::with(
        &fixture,
        SimConfig {
            error_rate: 0.05,
            throttle_rate: 0.2,
            seed: 7,
            transition: Duration::from_millis(100),
            // Through the binary at real time: a one-second window rather than GeeLark's minute.
            geelark_retry_after: Some(Duration::from_secs(1)),
            ..SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    pf(&["plan", &dir.spec(), "-v"])
        .run()
        .code(0)
        .stdout_has("No changes")
        .stderr_has("-> 429");
}

#[test]
fn verbose_logs_one_line_per_call_without_secrets() {
    let (fixture, phones) = mixed_fleet(3, 3, 3);
    let sim = Sim::start(&fixture);
    let dir = Dir::with_spec(&format!("{}{phones}", providers(&sim.url())));
    let out = pf(&["plan", &dir.spec(), "-v"]).run();
    out.code(0);
    let calls: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("phonefleet: "))
        .collect();
    assert_eq!(calls.len(), 6, "three reads, three counts: {}", out.stderr);
    assert!(
        calls
            .iter()
            .any(|l| l.contains("cph: GET /v1/{project_id}/cloud-phone/phones ids=0 -> 200 in "))
    );
    assert!(
        calls
            .iter()
            .any(|l| l.contains("gl: POST /open/v1/phone/status ids=3 -> 200"))
    );
    assert!(
        calls
            .iter()
            .any(|l| l.contains("kp: POST /v1/instances/batch-query-status ids=3 -> 200"))
    );
    for secret in [CPH_TOKEN, GL_TOKEN, KP_TOKEN] {
        assert!(!out.stderr.contains(secret) && !out.stdout.contains(secret));
    }
}

/// A tiny responder for answers the simulator never gives: GeeLark's two-hour lock and KooPhone's
/// top-level `status_results`.
fn odd_responder(body: serde_json::Value) -> (tokio::runtime::Runtime, String) {
    responder(vec![body])
}

/// A server answering its n-th call, whatever it asks, with `bodies[n]` (the last one from then on).
fn responder(bodies: Vec<serde_json::Value>) -> (tokio::runtime::Runtime, String) {
    let rt = one_worker();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = rt.block_on(async move {
        let app = axum::Router::new().fallback(move || {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = bodies[n.min(bodies.len() - 1)].clone();
            async move { axum::Json(body) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    });
    (rt, url)
}

/// GeeLark says "slow down" inside an HTTP 200 (code 40007), to be "lifted in the next minute": the
/// call is retried when the next minute window opens (or after a `Retry-After`, when the answer has
/// one), `-v` says it was throttled and which wait it chose, and the wait never outlives the run.
#[test]
fn geelark_throttle_inside_a_200_waits_for_the_next_minute_window() {
    use crate::support::fake::{Fake, Reply};
    let ok = serde_json::json!({"code": 0, "msg": "success", "traceId": "T2", "data": {"totalAmount": 1, "successAmount": 1, "failAmount": 0, "successDetails": [{"id": "g1", "serialName": "g1", "status": 0}], "failDetails": []}}).to_string();
    let slow =
        serde_json::json!({"code": 40007, "msg": "too many requests", "traceId": "T1"}).to_string();
    let fake = |retry_after: Option<&'static str>| {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (ok, slow) = (ok.clone(), slow.clone());
        Fake::start(move |_| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                let headers = retry_after.map(|v| ("Retry-After".to_owned(), v.to_owned()));
                Reply::Json(200, headers.into_iter().collect(), slow.clone())
            } else {
                Reply::Json(200, vec![], ok.clone())
            }
        })
    };
    let plan = |url: &str, timeout: &str| {
        let dir = Dir::with_spec(&format!(
            "{}phones:\n  - {{id: g1, provider: gl, state: running}}\n",
            providers(url)
        ));
        pf(&[
            "plan",
            &dir.spec(),
            "--target",
            "gl",
            "-v",
            "--timeout",
            timeout,
        ])
        .run()
    };
    // With a Retry-After, that wait.
    let with_header = fake(Some("1"));
    plan(&with_header.url, "30")
        .code(0)
        .stdout_has("No changes")
        .stderr_has("gl: POST /open/v1/phone/status ids=1 -> 200 throttled in ")
        .stderr_has("retry 1 in 1.0s (throttled; Retry-After)")
        .stderr_has("gl: POST /open/v1/phone/status ids=1 attempt 2 -> 200 in ");
    // Without one, the next minute window, read on the wall clock: tests/integration/clock.rs sets
    // the time (`a_minute_window_is_waited_for_when_it_fits_the_run_and_never_past_it`).
    let without = fake(None);
    let out = plan(&without.url, "2");
    out.no_panic().stderr_has("(throttled; next minute window)");
}

#[test]
fn geelark_lock_stops_with_a_clear_error() {
    let (_rt, url) = odd_responder(
        serde_json::json!({"code": 40014, "msg": "hourly limit exceeded", "traceId": "T1"}),
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: running}}\n",
        providers(&url)
    ));
    let out = pf(&["plan", &dir.spec()]).run();
    out.code(1)
        .stderr_has("GeeLark locked this API for two hours")
        .stderr_has("hint: wait two hours");
}

#[test]
fn koophone_top_level_status_results_are_accepted() {
    let (_rt, url) = odd_responder(
        serde_json::json!({"error_code": "0", "error_msg": "OK", "status_results": [{"instance_id": "k1", "status": 2}]}),
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: k1, provider: kp, state: running}}\n",
        providers(&url)
    ));
    pf(&["plan", &dir.spec(), "--target", "kp"])
        .run()
        .code(0)
        .stdout_has("No changes");
}

/// An older CPH holding `total` phones `c000`, `c001`, ... that accepts `limit` up to 100 only.
fn old_cph_service(rt: &tokio::runtime::Runtime, total: usize) -> String {
    rt.block_on(async move {
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
            let query = uri.query().unwrap_or_default().to_owned();
            let param = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.parse::<usize>().ok())
            };
            let limit = param("limit").unwrap_or(100);
            let offset = param("offset").unwrap_or(0);
            if limit > 100 {
                let body = serde_json::json!({"error_code": "CPS.0002", "error_msg": "Invalid offset or limit"});
                return (axum::http::StatusCode::BAD_REQUEST, axum::Json(body));
            }
            let phones: Vec<serde_json::Value> = (offset..(offset + limit).min(total))
                .map(|i| serde_json::json!({"phone_id": format!("c{i:03}"), "status": 2, "traffic_type": "direct"}))
                .collect();
            (axum::http::StatusCode::OK, axum::Json(serde_json::json!({"count": total, "phones": phones})))
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    })
}

fn one_worker() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// An older CPH that accepts `limit` up to 100 only: phonefleet falls back to pages of 100.
#[test]
fn cph_list_falls_back_to_pages_of_100_on_older_services() {
    let rt = one_worker();
    let url = old_cph_service(&rt, 150);
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: c000, provider: cph, state: running}}\n  - {{id: c149, provider: cph, state: running}}\n",
        providers(&url)
    ));
    let out = pf(&["plan", &dir.spec(), "--target", "cph", "-v"]).run();
    out.code(0).stdout_has("No changes");
    assert_eq!(
        out.stderr.matches("-> 400").count(),
        1,
        "one refused page, then pages of 100:\n{}",
        out.stderr
    );
}

/// The first read asks for every page the declared phones fill at once; on an older CPH each of
/// those pages is refused, read as 100 phones, and the other half of it read after.
#[test]
fn cph_list_on_older_services_reads_the_rest_of_every_refused_page() {
    let rt = one_worker();
    let url = old_cph_service(&rt, 450);
    let ids: Vec<String> = (0..450).map(|i| format!("c{i:03}")).collect();
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: cph, state: running, ids: [{}]}}\n",
        providers(&url),
        ids.join(", ")
    ));
    let out = pf(&["plan", &dir.spec(), "--target", "cph", "-v"]).run();
    out.code(0).stdout_has("No changes");
    // Pages at 0, 200 and 400 refused and read as 100 phones; then 100 and 300.
    assert_eq!(out.stderr.matches("-> 400").count(), 3, "{}", out.stderr);
    assert_eq!(out.stderr.matches("-> 200").count(), 5, "{}", out.stderr);
}

/// A KooPhone that refuses a whole batch when one instance does not exist (`KOOPHONE.API.4001`):
/// phonefleet asks the batch's ids one by one and reports only the missing one as not found.
#[test]
fn koophone_batches_refused_for_a_missing_instance_are_asked_one_by_one() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(async {
        let app = axum::Router::new().fallback(|body: axum::body::Bytes| async move {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let ids: Vec<String> = v["instance_ids"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            if ids.iter().any(|id| id == "gone") {
                let body = serde_json::json!({"error_code": "KOOPHONE.API.4001", "error_msg": "instance does not exist"});
                return (axum::http::StatusCode::BAD_REQUEST, axum::Json(body));
            }
            let results: Vec<serde_json::Value> =
                ids.iter().map(|id| serde_json::json!({"instance_id": id, "status": 2})).collect();
            let body = serde_json::json!({"error_code": "0", "error_msg": "OK", "data": {"status_results": results}});
            (axum::http::StatusCode::OK, axum::Json(body))
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    });
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: kp, ids: [k1, gone, k2], state: running}}\n",
        providers(&url)
    ));
    let out = pf(&["plan", &dir.spec(), "--target", "kp", "-v"]).run();
    out.code(0)
        .stdout_has("! kp / gone: phone not found at provider `kp`")
        .stdout_has("2 phones already match the spec");
    assert_eq!(
        out.stderr.matches("batch-query-status ids=1 ").count(),
        3,
        "{}",
        out.stderr
    );
}
