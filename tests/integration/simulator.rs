//! Conformance of the simulated cloud: each route's shapes, limits, error bodies, transitions, auth and
//! faults, spoken to over raw HTTP.

use std::time::Duration;

use phonefleet::provider::geelark::key_sign;
use phonefleet::provider::signer::{self, SignRequest};
use phonefleet::simulator::SimConfig;
use serde_json::{Value, json};

use crate::support::Sim;

pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

/// One raw HTTP call to the simulator.
pub fn call(
    sim: &Sim,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let url = format!("{}{path}", sim.url());
    sim.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().unwrap(), url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = resp.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            retry_after,
            body,
        }
    })
}

pub const CPH: &[(&str, &str)] = &[("X-Auth-Token", "t")];
pub const GL: &[(&str, &str)] = &[
    ("traceId", "0123456789ABCDEF0123456789ABCDEF"),
    ("Authorization", "Bearer t"),
];
pub const KP: &[(&str, &str)] = &[("X-Auth-Token", "t"), ("x-request-id", "r-1")];

fn cph_fleet(n: usize) -> String {
    let mut s = String::from("phones:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  - {{provider: huawei-cph, id: s{i:03}, project_id: p1, status: running, traffic: direct, properties: {{sys.prop.writewifissid: test_wifi}}}}\n"
        ));
    }
    s
}

#[test]
fn cph_list_pages_detail_and_limits() {
    let sim = Sim::start(&cph_fleet(450));
    let a = call(
        &sim,
        "GET",
        "/v1/p1/cloud-phone/phones?offset=0&limit=200",
        CPH,
        None,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.body["count"], 450);
    assert_eq!(a.body["phones"].as_array().unwrap().len(), 200);
    // Newest first: the last phone of the fixture leads.
    assert_eq!(a.body["phones"][0]["phone_id"], "s449");
    assert_eq!(a.body["phones"][0]["traffic_type"], "direct");
    assert!(
        a.body["phones"][0].get("property").is_none(),
        "list items carry no property"
    );
    let last = call(
        &sim,
        "GET",
        "/v1/p1/cloud-phone/phones?offset=400&limit=200",
        CPH,
        None,
    );
    assert_eq!(last.body["phones"].as_array().unwrap().len(), 50);
    let bad = call(
        &sim,
        "GET",
        "/v1/p1/cloud-phone/phones?limit=201",
        CPH,
        None,
    );
    assert_eq!(
        (bad.status, bad.body["error_code"].as_str()),
        (400, Some("CPS.0002"))
    );
    let filtered = call(&sim, "GET", "/v1/p1/cloud-phone/phones?status=8", CPH, None);
    assert_eq!(filtered.body["count"], 0);
    let other_project = call(&sim, "GET", "/v1/p2/cloud-phone/phones", CPH, None);
    assert_eq!(other_project.body["count"], 0);
    let d = call(&sim, "GET", "/v1/p1/cloud-phone/phones/s001", CPH, None);
    assert_eq!(d.status, 200);
    let property: Value = serde_json::from_str(
        d.body["property"]
            .as_str()
            .expect("property is a JSON string"),
    )
    .unwrap();
    assert_eq!(property["sys.prop.writewifissid"], "test_wifi");
    let missing = call(&sim, "GET", "/v1/p1/cloud-phone/phones/nope", CPH, None);
    assert_eq!(
        (missing.status, missing.body["error_code"].as_str()),
        (400, Some("CPS.0005"))
    );
}

#[test]
fn cph_stop_and_restart_take_real_time_and_report_jobs() {
    let sim = Sim::with(
        &cph_fleet(3),
        SimConfig {
            transition: Duration::from_millis(400),
            ..SimConfig::default()
        },
    );
    let a = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones/batch-stop",
        CPH,
        Some(json!({"phone_ids": ["s000", "nope"]})),
    );
    assert_eq!(a.status, 200);
    let jobs = a.body["jobs"].as_array().unwrap();
    assert_eq!(jobs[0]["phone_id"], "s000");
    assert!(jobs[0]["job_id"].is_string());
    assert_eq!(jobs[1]["error_code"], "CPS.0005");
    assert_eq!(jobs[1]["error_msg"], "Parameter: Phone not found.");
    let request_id = a.body["request_id"].as_str().unwrap().to_owned();
    let detail = call(&sim, "GET", "/v1/p1/cloud-phone/phones/s000", CPH, None);
    assert_eq!(detail.body["status"], 7, "stopping first");
    let q = format!("/v1/p1/cloud-phone/jobs?request_ids={request_id}");
    assert_eq!(
        call(&sim, "GET", &q, CPH, None).body["jobs"][0]["status"],
        1
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        call(&sim, "GET", "/v1/p1/cloud-phone/phones/s000", CPH, None).body["status"],
        8
    );
    let done = call(&sim, "GET", &q, CPH, None);
    assert_eq!(done.body["jobs"][0]["status"], 2);
    let job_id = done.body["jobs"][0]["job_id"].as_str().unwrap().to_owned();
    let one = call(
        &sim,
        "GET",
        &format!("/v1/p1/cloud-phone/jobs/{job_id}"),
        CPH,
        None,
    );
    assert_eq!(
        (one.body["status"].as_i64(), one.body["request_id"].as_str()),
        (Some(2), Some(request_id.as_str()))
    );
    // batch-restart powers a stopped phone on, through 4.
    let r = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones/batch-restart",
        CPH,
        Some(json!({"phones": [{"phone_id": "s000"}]})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        call(&sim, "GET", "/v1/p1/cloud-phone/phones/s000", CPH, None).body["status"],
        4
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        call(&sim, "GET", "/v1/p1/cloud-phone/phones/s000", CPH, None).body["status"],
        2
    );
    // request_ids: at most 20.
    let many = vec!["x"; 21].join(",");
    let over = call(
        &sim,
        "GET",
        &format!("/v1/p1/cloud-phone/jobs?request_ids={many}"),
        CPH,
        None,
    );
    assert_eq!(over.status, 400);
    assert!(over.body["error_code"].is_string() && over.body["error_msg"].is_string());
}

#[test]
fn cph_traffic_and_property_shapes_and_limits() {
    let sim = Sim::with(
        &cph_fleet(2),
        SimConfig {
            transition: Duration::from_millis(100),
            ..SimConfig::default()
        },
    );
    let ids: Vec<String> = (0..101).map(|i| format!("x{i}")).collect();
    let over = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones-traffic",
        CPH,
        Some(json!({"traffic_type": "routing", "phone_ids": ids})),
    );
    assert_eq!(over.status, 400);
    let bad_type = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones-traffic",
        CPH,
        Some(json!({"traffic_type": "fast", "phone_ids": ["s000"]})),
    );
    assert_eq!(bad_type.status, 400);
    let ok = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones-traffic",
        CPH,
        Some(json!({"traffic_type": "routing", "phone_ids": ["s000"]})),
    );
    assert_eq!(ok.status, 200);
    let not_string = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones/batch-update-property",
        CPH,
        Some(json!({"phones": [{"phone_id": "s000", "property": {"a": "1"}}]})),
    );
    assert_eq!(
        not_string.status, 400,
        "property must be a string holding a JSON object"
    );
    let long = format!("{{\"a\":\"{}\"}}", "x".repeat(2100));
    let too_long = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones/batch-update-property",
        CPH,
        Some(json!({"phones": [{"phone_id": "s000", "property": long}]})),
    );
    assert_eq!(too_long.status, 400);
    let empty = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones/batch-stop",
        CPH,
        Some(json!({"phone_ids": []})),
    );
    assert_eq!(
        (empty.status, empty.body["error_code"].as_str()),
        (400, Some("CPS.0009"))
    );
    let good = call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones/batch-update-property",
        CPH,
        Some(
            json!({"phones": [{"phone_id": "s000", "property": "{\"sys.prop.writeimsi\":\"460021624617113\"}"}]}),
        ),
    );
    assert_eq!(good.status, 200);
    std::thread::sleep(Duration::from_millis(200));
    let phones = sim.phones();
    assert_eq!(phones["s000"]["traffic"], "routing");
    assert_eq!(
        phones["s000"]["properties"]["sys.prop.writeimsi"],
        "460021624617113"
    );
    assert_eq!(
        phones["s000"]["properties"]["sys.prop.writewifissid"], "test_wifi",
        "properties merge"
    );
}

#[test]
fn cph_auth_token_and_aksk() {
    let fixture = format!(
        "{}credentials:\n  huawei-cph: {{token: good, ak: AK1, sk: SK1}}\n",
        cph_fleet(1)
    );
    let sim = Sim::start(&fixture);
    let path = "/v1/p1/cloud-phone/phones";
    assert_eq!(call(&sim, "GET", path, &[], None).status, 401);
    let wrong = call(&sim, "GET", path, &[("X-Auth-Token", "bad")], None);
    assert_eq!(
        (wrong.status, wrong.body["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );
    assert_eq!(
        call(&sim, "GET", path, &[("X-Auth-Token", "good")], None).status,
        200
    );
    let host = sim.url().trim_start_matches("http://").to_owned();
    let sign = |sk: &str| {
        let headers = vec![
            ("Host".to_owned(), host.clone()),
            ("X-Sdk-Date".to_owned(), "20261122T031500Z".to_owned()),
        ];
        let req = SignRequest {
            method: "GET",
            path,
            query: &[],
            headers: &headers,
            body: b"",
        };
        signer::authorization("AK1", sk, &req)
    };
    let good = sign("SK1");
    let a = call(
        &sim,
        "GET",
        path,
        &[
            ("X-Sdk-Date", "20261122T031500Z"),
            ("Authorization", good.as_str()),
        ],
        None,
    );
    assert_eq!(a.status, 200);
    let bad = sign("SK2");
    let b = call(
        &sim,
        "GET",
        path,
        &[
            ("X-Sdk-Date", "20261122T031500Z"),
            ("Authorization", bad.as_str()),
        ],
        None,
    );
    assert_eq!(b.status, 401);
}

#[test]
fn geelark_routes() {
    let fixture = "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: running, busy: remote}
  - {provider: geelark, id: g3, status: running, busy: task}
  - {provider: geelark, id: g4, status: stopped}
  - {provider: geelark, id: g5, status: 3}
";
    let sim = Sim::with(
        fixture,
        SimConfig {
            transition: Duration::from_millis(300),
            ..SimConfig::default()
        },
    );
    let no_trace = call(
        &sim,
        "POST",
        "/open/v1/phone/status",
        &[("Authorization", "Bearer t")],
        Some(json!({"ids": ["g1"]})),
    );
    assert_eq!(no_trace.body["code"], 40002);
    let s = call(
        &sim,
        "POST",
        "/open/v1/phone/status",
        GL,
        Some(json!({"ids": ["g1", "g4", "nope"]})),
    );
    // Code 0 with the unknown id in failDetails, as GLD `Query_status.md`'s own example answers.
    assert_eq!(s.body["code"], 0);
    assert_eq!(s.body["data"]["successDetails"][0]["status"], 0);
    assert_eq!(s.body["data"]["successDetails"][1]["status"], 2);
    assert_eq!(s.body["data"]["failDetails"][0]["code"], 42001);
    let ids: Vec<String> = (0..101).map(|i| format!("x{i}")).collect();
    assert_eq!(
        call(
            &sim,
            "POST",
            "/open/v1/phone/status",
            GL,
            Some(json!({"ids": ids}))
        )
        .body["code"],
        40004
    );
    let stop = call(
        &sim,
        "POST",
        "/open/v1/phone/stop",
        GL,
        Some(json!({"ids": ["g1", "g2", "g3"]})),
    );
    // Code 0 with failDetails, as the stop page's example (providers.md 0.5).
    assert_eq!(stop.body["code"], 0);
    let fails: Vec<i64> = stop.body["data"]["failDetails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_i64().unwrap())
        .collect();
    assert_eq!(fails, vec![43006, 43005]);
    let all_fail = call(
        &sim,
        "POST",
        "/open/v1/phone/stop",
        GL,
        Some(json!({"ids": ["g2"]})),
    );
    assert_eq!(all_fail.body["code"], 0);
    let start = call(
        &sim,
        "POST",
        "/open/v1/phone/start",
        GL,
        Some(json!({"ids": ["g4", "g5"]})),
    );
    assert_eq!(start.body["data"]["failDetails"][0]["code"], 43004);
    assert_eq!(sim.phones()["g4"]["status"], 1, "starting first");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(sim.phones()["g4"]["status"], 0);
    let ids: Vec<String> = (0..201).map(|i| format!("x{i}")).collect();
    assert_eq!(
        call(
            &sim,
            "POST",
            "/open/v1/phone/start",
            GL,
            Some(json!({"ids": ids}))
        )
        .body["code"],
        40004
    );
    let list = call(
        &sim,
        "POST",
        "/open/v1/phone/list",
        GL,
        Some(json!({"page": 1, "pageSize": 2})),
    );
    assert_eq!(list.body["data"]["total"], 5);
    assert_eq!(list.body["data"]["items"].as_array().unwrap().len(), 2);
}

#[test]
fn geelark_auth_modes() {
    let fixture = "phones: [{provider: geelark, id: g1, status: running}]
credentials:
  geelark: {app_id: APP1, api_key: KEY1}
";
    let sim = Sim::start(fixture);
    let trace = "0123456789ABCDEF0123456789ABCDEF";
    let sign = key_sign("APP1", trace, "1700000000000", "012345", "KEY1");
    let ok = call(
        &sim,
        "POST",
        "/open/v1/phone/status",
        &[
            ("traceId", trace),
            ("appId", "APP1"),
            ("ts", "1700000000000"),
            ("nonce", "012345"),
            ("sign", &sign),
        ],
        Some(json!({"ids": ["g1"]})),
    );
    assert_eq!(ok.body["code"], 0);
    let bad = call(
        &sim,
        "POST",
        "/open/v1/phone/status",
        &[
            ("traceId", trace),
            ("appId", "APP1"),
            ("ts", "1700000000001"),
            ("nonce", "012345"),
            ("sign", &sign),
        ],
        Some(json!({"ids": ["g1"]})),
    );
    assert_eq!(bad.body["code"], 40003);
    let bearer = call(
        &sim,
        "POST",
        "/open/v1/phone/status",
        GL,
        Some(json!({"ids": ["g1"]})),
    );
    assert_eq!(
        bearer.body["code"], 40003,
        "this team only accepts key mode"
    );
}

#[test]
fn koophone_routes() {
    let mut fixture = String::from("phones:\n");
    for i in 0..40 {
        fixture.push_str(&format!(
            "  - {{provider: koophone, id: k{i:02}, status: {}}}\n",
            i % 6
        ));
    }
    let sim = Sim::start(&fixture);
    let no_req_id = call(
        &sim,
        "POST",
        "/v1/instances/batch-query-status",
        &[("X-Auth-Token", "t")],
        Some(json!({"instance_ids": ["k01"]})),
    );
    // Documented with HTTP 200 (api-koophone/ErrorCode.html).
    assert_eq!(
        (no_req_id.status, no_req_id.body["error_code"].as_str()),
        (200, Some("KOOPHONE.API.0002"))
    );
    let no_token = call(
        &sim,
        "POST",
        "/v1/instances/batch-query-status",
        &[("x-request-id", "r")],
        Some(json!({"instance_ids": ["k01"]})),
    );
    // Refused by the API gateway, not with a KooPhone code (providers.md 9).
    assert_eq!(
        (no_token.status, no_token.body["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );
    let s = call(
        &sim,
        "POST",
        "/v1/instances/batch-query-status",
        KP,
        Some(json!({"instance_ids": ["k01", "k05", "nope"]})),
    );
    assert_eq!(s.body["error_code"], "0");
    let results = s.body["data"]["status_results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "unknown ids are left out");
    assert_eq!(
        (
            results[0]["instance_id"].as_str(),
            results[0]["status"].as_i64()
        ),
        (Some("k01"), Some(1))
    );
    // 100 ids a call (the 2025 pages; 32 on the 2024 one): 101 is refused.
    let ids: Vec<String> = (0..101).map(|i| format!("k{i:02}")).collect();
    let over = call(
        &sim,
        "POST",
        "/v1/instances/batch-query-status",
        KP,
        Some(json!({"instance_ids": ids})),
    );
    assert_eq!(
        (over.status, over.body["error_code"].as_str()),
        (400, Some("KOOPHONE.API.1000"))
    );
    let page = call(
        &sim,
        "GET",
        "/v1/instances/batch-query?page_no=2&page_size=30",
        KP,
        None,
    );
    assert_eq!(page.body["data"]["total_count"], 40);
    assert_eq!(page.body["data"]["result"].as_array().unwrap().len(), 10);
}

#[test]
fn faults_throttle_and_errors_are_seeded_and_lose_answers_after_changes() {
    let fleet = cph_fleet(1);
    let throttled = Sim::with(
        &fleet,
        SimConfig {
            throttle_rate: 1.0,
            ..SimConfig::default()
        },
    );
    let t = call(&throttled, "GET", "/v1/p1/cloud-phone/phones", CPH, None);
    assert_eq!((t.status, t.retry_after.as_deref()), (429, Some("1")));
    let gl = Sim::with(
        "phones: [{provider: geelark, id: g1, status: running}]",
        SimConfig {
            throttle_rate: 1.0,
            ..SimConfig::default()
        },
    );
    // GeeLark's 40007 carries no Retry-After (GLD `Request_Instructions.md`: lifted in the next
    // minute), unless a test asks for one.
    let t = call(
        &gl,
        "POST",
        "/open/v1/phone/status",
        GL,
        Some(json!({"ids": ["g1"]})),
    );
    assert_eq!(
        (t.body["code"].as_i64(), t.retry_after.as_deref()),
        (Some(40007), None)
    );
    let quick = Sim::with(
        "phones: [{provider: geelark, id: g1, status: running}]",
        SimConfig {
            throttle_rate: 1.0,
            geelark_retry_after: Some(std::time::Duration::from_secs(1)),
            ..SimConfig::default()
        },
    );
    let t = call(
        &quick,
        "POST",
        "/open/v1/phone/status",
        GL,
        Some(json!({"ids": ["g1"]})),
    );
    assert_eq!(t.retry_after.as_deref(), Some("1"));
    // Every call fails; about half of the changes are made before the answer is lost.
    let broken = Sim::with(
        &cph_fleet(40),
        SimConfig {
            error_rate: 1.0,
            transition: Duration::ZERO,
            ..SimConfig::default()
        },
    );
    for i in 0..40 {
        let a = call(
            &broken,
            "POST",
            "/v1/p1/cloud-phone/phones/batch-stop",
            CPH,
            Some(json!({"phone_ids": [format!("s{i:03}")]})),
        );
        assert!([500, 502, 503].contains(&a.status));
    }
    let stopped = broken
        .phones()
        .values()
        .filter(|p| p["status"] == 8)
        .count();
    assert!(
        stopped > 5 && stopped < 35,
        "some changes happened before the answer was lost: {stopped}"
    );
    // Same seed, same dice.
    let again = Sim::with(
        &cph_fleet(40),
        SimConfig {
            error_rate: 1.0,
            transition: Duration::ZERO,
            ..SimConfig::default()
        },
    );
    for i in 0..40 {
        call(
            &again,
            "POST",
            "/v1/p1/cloud-phone/phones/batch-stop",
            CPH,
            Some(json!({"phone_ids": [format!("s{i:03}")]})),
        );
    }
    assert_eq!(
        again.phones().values().filter(|p| p["status"] == 8).count(),
        stopped
    );
}

#[test]
fn introspection_counts_calls_by_route() {
    let sim = Sim::start(&cph_fleet(1));
    call(&sim, "GET", "/v1/p1/cloud-phone/phones", CPH, None);
    call(
        &sim,
        "POST",
        "/v1/p1/cloud-phone/phones/batch-stop",
        CPH,
        Some(json!({"phone_ids": ["s000"]})),
    );
    let stats = call(&sim, "GET", "/_sim/stats", &[], None).body;
    assert_eq!(stats["total"], 2);
    assert_eq!(
        stats["by_route"]["POST /v1/{project_id}/cloud-phone/phones/batch-stop"],
        1
    );
    assert_eq!(
        stats["by_route"]["GET /v1/{project_id}/cloud-phone/phones"],
        1
    );
    let phones = call(&sim, "GET", "/_sim/phones", &[], None).body;
    assert_eq!(phones[0]["id"], "s000");
    assert_eq!(call(&sim, "GET", "/nope", CPH, None).status, 404);
}

/// The simulator as a test bench: a phone changed as if in a console, and faults changed while it runs,
/// without re-seeding; plan sees both. Admin calls are not counted as provider calls.
#[test]
fn admin_routes_change_phones_and_faults_while_running() {
    let sim = Sim::start(
        "phones:\n  - {provider: geelark, id: g1, status: running}\n  - {provider: huawei-cph, id: c1, project_id: p1, status: running, traffic: direct, properties: {k: a}}\n",
    );
    let dir = crate::support::Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: running}}\n  - {{id: c1, provider: cph, state: running, traffic: direct, properties: {{k: a}}}}\n",
        crate::support::providers(&sim.url())
    ));
    crate::support::pf(&["plan", &dir.spec(), "--detailed-exitcode"])
        .run()
        .code(0);
    // Someone in the console: g1 stopped, c1 re-routed with another property value and renamed.
    let r = call(
        &sim,
        "POST",
        "/_sim/phones/geelark/g1",
        &[],
        Some(json!({"state": "stopped"})),
    );
    assert_eq!(
        (r.status, r.body["status"].clone()),
        (200, json!(2)),
        "{}",
        r.body
    );
    let r = call(
        &sim,
        "POST",
        "/_sim/phones/huawei-cph/c1",
        &[],
        Some(json!({"traffic": "routing", "properties": {"k": "b"}, "name": "moved-by-hand"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["traffic"], "routing");
    crate::support::pf(&["plan", &dir.spec()])
        .run()
        .code(0)
        .stdout_has("1 to start, 1 to re-route, 1 to update properties");
    // Mistakes are named.
    for (path, body, want) in [
        (
            "/_sim/phones/geelark/g1",
            json!({"traffic": "direct"}),
            "huawei-cph's",
        ),
        ("/_sim/phones/gl/g1", json!({}), "unknown provider kind"),
        (
            "/_sim/phones/geelark/g1",
            json!({"stat": "x"}),
            "unknown field",
        ),
        (
            "/_sim/faults",
            json!({"error_rate": 2.0}),
            "not between 0 and 1",
        ),
        (
            "/_sim/faults",
            json!({"geelark_code": 1}),
            "not 40014, 40017 or 47002",
        ),
    ] {
        let r = call(&sim, "POST", path, &[], Some(body));
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(
            r.body["error"].as_str().unwrap().contains(want),
            "{}",
            r.body
        );
    }
    assert_eq!(
        call(
            &sim,
            "POST",
            "/_sim/phones/geelark/nope",
            &[],
            Some(json!({}))
        )
        .status,
        404
    );
    // GeeLark locks its API from now on: the next plan cannot read it; then it lifts.
    let r = call(
        &sim,
        "POST",
        "/_sim/faults",
        &[],
        Some(json!({"geelark_code": 40014})),
    );
    assert_eq!(r.body["geelark_code"], 40014);
    crate::support::pf(&["plan", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("GeeLark locked this API for two hours");
    call(
        &sim,
        "POST",
        "/_sim/faults",
        &[],
        Some(json!({"geelark_code": null, "latency_ms": 5})),
    );
    let r = call(&sim, "GET", "/_sim/faults", &[], None);
    assert_eq!(
        (r.body["geelark_code"].clone(), r.body["latency_ms"].clone()),
        (json!(null), json!(5))
    );
    crate::support::pf(&["plan", &dir.spec()]).run().code(0);
    // The fleet was never re-seeded: g1 is still stopped.
    assert_eq!(sim.phones()["g1"]["status"], 2);
    let stats = call(&sim, "GET", "/_sim/stats", &[], None);
    assert!(
        !stats.body["by_route"].to_string().contains("_sim"),
        "{}",
        stats.body
    );
}
