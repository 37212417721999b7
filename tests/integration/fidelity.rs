//! Simulator fidelity: every answer of every route, field by field, against the providers' documented
//! shapes: each documented field present (unless documented as optional) with its documented JSON type,
//! and no field the documentation does not name. The shapes are transcribed here from the sources named
//! beside each, not from the simulator, so a drift on either side fails.
//!
//! A shape is JSON: an object lists its fields; a one-element array is "an array of these"; a string
//! names a type (`string`, `integer`, `boolean`, `object`), with `?` for a field that may be absent.

use serde_json::{Value, json};

use crate::simulator::{CPH, GL, KP, call};
use crate::support::Sim;

/// Problems of `value` against `shape`, each with its path.
fn mismatches(value: &Value, shape: &Value, at: &str, out: &mut Vec<String>) {
    match shape {
        Value::String(t) => {
            let t = t.trim_end_matches('?');
            let ok = match t {
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "boolean" => value.is_boolean(),
                "object" => value.is_object(),
                other => panic!("unknown type {other} in a shape"),
            };
            if !ok {
                out.push(format!("{at}: {t} expected, got {value}"));
            }
        }
        Value::Array(item) => match value.as_array() {
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    mismatches(v, &item[0], &format!("{at}[{i}]"), out);
                }
            }
            None => out.push(format!("{at}: array expected, got {value}")),
        },
        Value::Object(fields) => {
            let Some(obj) = value.as_object() else {
                out.push(format!("{at}: object expected, got {value}"));
                return;
            };
            for (k, s) in fields {
                let optional = s.as_str().is_some_and(|t| t.ends_with('?'));
                match obj.get(k) {
                    Some(v) => mismatches(v, s, &format!("{at}.{k}"), out),
                    None if optional => {}
                    None => out.push(format!("{at}.{k}: documented, missing")),
                }
            }
            for k in obj.keys().filter(|k| !fields.contains_key(*k)) {
                out.push(format!("{at}.{k}: not documented"));
            }
        }
        other => panic!("bad shape {other}"),
    }
}

#[track_caller]
fn conforms(value: &Value, shape: &Value) {
    let mut out = Vec::new();
    mismatches(value, shape, "$", &mut out);
    assert!(out.is_empty(), "{}\nin {value:#}", out.join("\n"));
}

// ---- Huawei CPH: GoSDK `services/cph/v1/model` (model_phone.go, model_show_cloud_phone_detail_response.go,
// model_phone_job.go, model_job.go, model_show_job_response.go), providers.md 1.2-1.4.

fn cph_phone() -> Value {
    json!({
        "phone_name": "string", "server_id": "string", "phone_id": "string", "phone_model_name": "string",
        "image_id": "string", "image_version": "string", "vnc_enable": "string", "status": "integer",
        "type": "integer", "imei": "string", "traffic_type": "string", "volume_mode": "integer",
        "availability_zone": "string", "metadata": {"order_id": "string", "product_id": "string"},
        "has_encrypt": "boolean", "create_time": "string", "update_time": "string"
    })
}

fn cph_detail() -> Value {
    let mut d = cph_phone();
    // `custom_property` (a string map beside `property`): PySDK `show_cloud_phone_detail_response.py`.
    let extra = json!({
        "request_id": "string", "access_infos": [ "object" ], "property": "string",
        "custom_property": "object", "phone_data_volume": "object"
    });
    d.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    d
}

fn cph_change() -> Value {
    json!({
        "request_id": "string",
        "jobs": [{"phone_id": "string?", "job_id": "string?", "error_code": "string?", "error_msg": "string?"}]
    })
}

fn cph_job() -> Value {
    json!({
        "phone_id": "string?", "server_id": "string?", "node_id": "string?", "job_id": "string?",
        "begin_time": "string?", "end_time": "string?", "status": "integer?", "error_code": "string?",
        "error_msg": "string?", "execute_msg": "string?"
    })
}

const CPH_ERROR: &str = r#"{"error_code": "string", "error_msg": "string"}"#;

#[test]
fn cph_answers_have_the_documented_fields_and_types() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {k: v}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: stopped, job_fails: {code: CPS.0003, message: boom}}
",
    );
    let list = call(
        &sim,
        "GET",
        "/v1/p1/cloud-phone/phones?offset=0&limit=200",
        CPH,
        None,
    );
    conforms(
        &list.body,
        &json!({"request_id": "string", "count": "integer", "phones": [cph_phone()]}),
    );
    let detail = call(&sim, "GET", "/v1/p1/cloud-phone/phones/c1", CPH, None);
    conforms(&detail.body, &cph_detail());
    let mut requests = Vec::new();
    for (path, body) in [
        ("phones/batch-stop", json!({"phone_ids": ["c1", "nope"]})),
        (
            "phones/batch-restart",
            json!({"phones": [{"phone_id": "c2"}]}),
        ),
        (
            "phones-traffic",
            json!({"traffic_type": "routing", "phone_ids": ["c1"]}),
        ),
        (
            "phones/batch-update-property",
            json!({"phones": [{"phone_id": "c1", "property": "{\"k\":1}"}]}),
        ),
    ] {
        let a = call(
            &sim,
            "POST",
            &format!("/v1/p1/cloud-phone/{path}"),
            CPH,
            Some(body),
        );
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        conforms(&a.body, &cph_change());
        requests.push(a.body["request_id"].as_str().unwrap().to_owned());
    }
    // Jobs while running and once done (c2's fails): both shapes.
    for _ in 0..2 {
        let q = format!("/v1/p1/cloud-phone/jobs?request_ids={}", requests.join(","));
        let jobs = call(&sim, "GET", &q, CPH, None);
        conforms(
            &jobs.body,
            &json!({"request_id": "string", "jobs": [cph_job()]}),
        );
        let job_id = jobs.body["jobs"][0]["job_id"].as_str().unwrap();
        let one = call(
            &sim,
            "GET",
            &format!("/v1/p1/cloud-phone/jobs/{job_id}"),
            CPH,
            None,
        );
        let mut show = cph_job();
        let fields = show.as_object_mut().unwrap();
        fields.remove("node_id");
        fields.insert("request_id".into(), json!("string"));
        conforms(&one.body, &show);
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let missing = call(&sim, "GET", "/v1/p1/cloud-phone/phones/nope", CPH, None);
    conforms(&missing.body, &serde_json::from_str(CPH_ERROR).unwrap());
}

// ---- GeeLark: geelark-tech/geelark-openapi `docs/en/Cloud Phone API/Cloud Phone Management/`
// (Query_status.md, Start_cloud_phone.md, Stop_cloud_phone.md, Get_all_cloud_phones.md), providers.md 2.2.

fn gl_envelope(data: Value) -> Value {
    json!({"traceId": "string", "code": "integer", "msg": "string", "data": data})
}

fn gl_batch(success: Value) -> Value {
    gl_envelope(json!({
        "totalAmount": "integer", "successAmount": "integer", "failAmount": "integer",
        "successDetails": [success],
        "failDetails": [{"code": "integer", "id": "string", "msg": "string"}]
    }))
}

fn gl_phone() -> Value {
    json!({
        "id": "string", "serialName": "string", "serialNo": "string",
        "group": {"id": "string", "name": "string", "remark": "string"},
        "remark": "string", "status": "integer", "tags": [{"name": "string"}],
        "equipmentInfo": {
            "countryName": "string", "phoneNumber": "string", "enableSim": "integer", "imei": "string",
            "osVersion": "string", "wifiBssid": "string", "mac": "string", "bluetoothMac": "string",
            "timeZone": "string", "deviceBrand": "string", "deviceModel": "string", "deviceName": "string",
            "netType": "integer", "language": "string", "province": "string", "city": "string"
        },
        "proxy": {"type": "string", "server": "string", "port": "integer", "username": "string", "password": "string"},
        "chargeMode": "integer", "hasBind": "boolean", "monthlyExpire": "integer", "rpaStatus": "integer"
    })
}

#[test]
fn geelark_answers_have_the_documented_fields_and_types() {
    let sim = Sim::start(
        "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: stopped}
  - {provider: geelark, id: g3, status: 3}
",
    );
    let post = |path: &str, body: Value| call(&sim, "POST", path, GL, Some(body)).body;
    let detail = json!({"id": "string", "serialName": "string", "status": "integer"});
    conforms(
        &post("/open/v1/phone/status", json!({"ids": ["g1", "nope"]})),
        &gl_batch(detail.clone()),
    );
    conforms(
        &post("/open/v1/phone/start", json!({"ids": ["g2", "g3", "nope"]})),
        &gl_batch(json!({"id": "string", "url": "string", "chargingMethod": "string"})),
    );
    conforms(
        &post("/open/v1/phone/stop", json!({"ids": ["g1", "nope"]})),
        &gl_batch(detail),
    );
    conforms(
        &post("/open/v1/phone/list", json!({"page": 1, "pageSize": 10})),
        &gl_envelope(
            json!({"total": "integer", "page": "integer", "pageSize": "integer", "items": [gl_phone()]}),
        ),
    );
    // An error answer: the envelope without data.
    let bad = post("/open/v1/phone/list", json!({"page": 1, "pageSize": 1000}));
    conforms(
        &bad,
        &json!({"traceId": "string", "code": "integer", "msg": "string"}),
    );
}

// ---- KooPhone: huaweicloud-sdk-java-v3 `services/koophone` (InstanceBatchQueryRspData,
// InstanceBatchQueryRspDataResult, StatusResult), KP-doc batch-query-status, providers.md 0.5 and 3.

#[test]
fn koophone_answers_have_the_documented_fields_and_types() {
    let sim = Sim::start("phones:\n  - {provider: koophone, id: k1, status: running}\n");
    let status = call(
        &sim,
        "POST",
        "/v1/instances/batch-query-status",
        KP,
        Some(json!({"instance_ids": ["k1"]})),
    );
    conforms(
        &status.body,
        &json!({
            "error_code": "string", "error_msg": "string",
            "data": {"status_results": [{"instance_id": "string", "status": "integer"}]}
        }),
    );
    let list = call(
        &sim,
        "GET",
        "/v1/instances/batch-query?page_no=1&page_size=10&x-request-id=r-1",
        KP,
        None,
    );
    conforms(
        &list.body,
        &json!({"data": {
            "result": [{
                "instance_id": "string", "instance_name": "string", "region": "string",
                "instance_sku": "string", "frozen_status": "integer", "running_status": "integer",
                "login_status": "integer", "assign_status": "integer", "assign_user": "string",
                "billing_mode": "string", "project_id": "string", "project_name": "string",
                "phone_id": "string", "member_name": "string", "account_name": "string",
                "region_name": "string", "region_name_en": "string", "backup_status": "integer",
                "backup_time": "string", "restore_status": "integer", "restore_time": "string"
            }],
            "page_no": "integer", "page_size": "integer", "total_count": "integer",
            "error_code": "string", "error_msg": "string"
        }}),
    );
    let bad = call(
        &sim,
        "POST",
        "/v1/instances/batch-query-status",
        KP,
        Some(json!({"instance_ids": []})),
    );
    conforms(
        &bad.body,
        &json!({"error_code": "string", "error_msg": "string"}),
    );
}

#[test]
fn the_checker_catches_a_wrong_type_a_missing_and_an_extra_field() {
    let mut out = Vec::new();
    mismatches(
        &json!({"a": 1, "c": true}),
        &json!({"a": "string", "b": "integer"}),
        "$",
        &mut out,
    );
    assert_eq!(
        out,
        [
            "$.a: string expected, got 1",
            "$.b: documented, missing",
            "$.c: not documented"
        ]
    );
}

/// The Java SDK puts KooPhone's list error fields inside `data`: an error there, with HTTP 200, is an
/// error, never an empty account.
#[test]
fn a_koophone_list_error_inside_data_is_an_error() {
    use crate::support::fake::{Fake, Reply};
    use crate::support::{Dir, one_provider, pf};
    let kp = Fake::start(|_| {
        Reply::Json(
            200,
            vec![],
            json!({"data": {"error_code": "KOOPHONE.API.1004", "error_msg": "service not subscribed"}})
                .to_string(),
        )
    });
    let dir = Dir::with_spec(&one_provider(
        "koophone",
        &kp.url,
        "  - {id: k1, provider: kp}\n",
    ));
    pf(&["export", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("KOOPHONE.API.1004")
        .stderr_has("service not subscribed");
}

/// KooPhone's list answer may leave `total_count` out (the Java SDK's `InstanceBatchQueryRspData` is
/// `@JsonInclude(NON_NULL)`): the client pages until a short page, and export still lists every
/// instance. A small fake server plays that answer.
#[test]
fn a_koophone_list_without_a_total_count_is_paged_until_a_short_page() {
    use crate::support::fake::{Fake, Reply};
    use crate::support::{Dir, one_provider, pf};
    let kp = Fake::start(|req| {
        let page: usize = req
            .path
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("page_no="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let size: usize = req
            .path
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("page_size="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        // 150 instances in all, `total_count` never given.
        let ids: Vec<usize> = ((page - 1) * size..(page * size).min(150)).collect();
        let result: Vec<Value> = ids
            .iter()
            .map(|i| json!({"instance_id": format!("k{i:03}"), "running_status": 2}))
            .collect();
        Reply::Json(
            200,
            vec![],
            json!({"data": {"result": result, "page_no": page, "page_size": size}}).to_string(),
        )
    });
    let dir = Dir::with_spec(&one_provider(
        "koophone",
        &kp.url,
        "  - {id: k000, provider: kp}\n",
    ));
    let out = pf(&["export", "--provider", "kp", &dir.spec()]).run();
    out.code(0).no_panic().stdout_has("k149");
    assert_eq!(
        out.stdout.matches("provider: kp").count(),
        150,
        "{}",
        out.stdout
    );
}

/// KooPhone's per-instance state codes, documented with HTTP 200 (`api-koophone/ErrorCode.html`): 2004
/// frozen, 2005 restoring, 2006 backing up. The batch is asked again id by id; each such instance is
/// blocked with its meaning (frozen for a person, the others to wait), the rest are read as usual.
#[test]
fn koophone_frozen_restoring_and_backing_up_instances_are_blocked_with_their_meaning() {
    use crate::support::{Dir, one_provider, pf};
    let sim = Sim::start(
        "phones:
  - {provider: koophone, id: k1, status: running}
  - {provider: koophone, id: k2, status: running, koophone_code: KOOPHONE.API.2004}
  - {provider: koophone, id: k3, status: running, koophone_code: KOOPHONE.API.2005}
  - {provider: koophone, id: k4, status: running, koophone_code: KOOPHONE.API.2006}
",
    );
    let dir = Dir::with_spec(&one_provider(
        "koophone",
        &sim.url(),
        "  - {id: k1, provider: kp, state: running}
  - {id: k2, provider: kp, state: running}
  - {id: k3, provider: kp, state: running}
  - {id: k4, provider: kp, state: running}
",
    ));
    let out = pf(&["plan", &dir.spec(), "--json"]).run();
    out.code(0).no_panic();
    let plan: Value = out.json();
    let blocked = |id: &str| {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["phone_id"] == id)
            .and_then(|c| c["blocked"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        blocked("k2").contains("(frozen, KOOPHONE.API.2004): needs a person"),
        "{plan}"
    );
    assert!(
        blocked("k3").contains("(restoring, KOOPHONE.API.2005): wait"),
        "{plan}"
    );
    assert!(
        blocked("k4").contains("(backing up, KOOPHONE.API.2006): wait"),
        "{plan}"
    );
    assert_eq!(blocked("k1"), "", "k1 is read and matches");
    assert_eq!(
        plan["summary"]["unreadable"], 0,
        "they were read: blocked, not unreadable"
    );
}

/// GeeLark's documented codes that the fault dice do not play (GLD `Request_Instructions.md` and the
/// error-code table): 40014 locks the API for two hours (the run stops, saying so), 40017 asks to slow
/// down (waited out until the deadline, then said), 47002 is an error of the call.
#[test]
fn geelark_lock_slow_down_and_concurrency_codes_read_as_documented() {
    use crate::support::{Dir, one_provider, pf};
    use phonefleet::simulator::SimConfig;
    for (code, says) in [
        (40014, "locked"),
        (
            40017,
            "still throttled: HTTP 200 OK, 40017: too many requests",
        ),
        (47002, "47002"),
    ] {
        let sim = Sim::with(
            "phones: [{provider: geelark, id: g1, status: running}]",
            SimConfig {
                geelark_code: Some(code),
                geelark_retry_after: Some(std::time::Duration::from_secs(1)),
                ..SimConfig::default()
            },
        );
        let dir = Dir::with_spec(&one_provider(
            "geelark",
            &sim.url(),
            "  - {id: g1, provider: gl, state: running}\n",
        ));
        let out = pf(&["plan", &dir.spec(), "--timeout", "3"]).run();
        out.code(1).no_panic();
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains(says), "{code}: {all}");
        if code == 40014 {
            assert!(all.contains("wait two hours"), "{all}");
        }
    }
}

/// Fixture options for what the providers list about a phone beyond its state: the name each API
/// lists (CPH `phone_name`, GeeLark `serialName`, KooPhone `instance_name`), CPH's `custom_property`
/// map (PySDK `show_cloud_phone_detail_response.py`: `dict(str, str)`), and KooPhone's
/// `frozen_status` (KP-doc `ListInstances`: 0 normal, 1 frozen), `restore_status` and `backup_status`
/// for an instance whose status call answers 2004, 2005 or 2006.
#[test]
fn names_custom_properties_and_koophone_flags_are_listed_as_documented() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, name: store-1, custom_property: {vendor.tag: blue}}
  - {provider: geelark, id: g1, status: running, name: growth-1}
  - {provider: koophone, id: k1, status: stopped, name: kp-1, koophone_code: KOOPHONE.API.2004}
  - {provider: koophone, id: k2, status: stopped, koophone_code: KOOPHONE.API.2005}
  - {provider: koophone, id: k3, status: stopped, koophone_code: KOOPHONE.API.2006}
",
    );
    let detail = call(&sim, "GET", "/v1/p1/cloud-phone/phones/c1", CPH, None);
    assert_eq!(detail.body["phone_name"], "store-1");
    assert_eq!(
        detail.body["custom_property"],
        json!({"vendor.tag": "blue"})
    );
    let gl = call(
        &sim,
        "POST",
        "/open/v1/phone/list",
        GL,
        Some(json!({"page": 1, "pageSize": 10})),
    );
    assert_eq!(gl.body["data"]["items"][0]["serialName"], "growth-1");
    let list = call(
        &sim,
        "GET",
        "/v1/instances/batch-query?page_no=1&page_size=10&x-request-id=r-1",
        KP,
        None,
    );
    let flags: Vec<(Value, Value, Value, Value)> = list.body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["instance_name"].clone(),
                i["frozen_status"].clone(),
                i["restore_status"].clone(),
                i["backup_status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            (json!("kp-1"), json!(1), json!(0), json!(0)),
            (json!("instance-k2"), json!(0), json!(1), json!(0)),
            (json!("instance-k3"), json!(0), json!(0), json!(1)),
        ]
    );
}
