//! Huawei CPH routes: list, detail, batch-stop, batch-restart, phones-traffic, batch-update-property,
//! jobs. Per-phone errors ride inside `jobs[]` with HTTP 200; malformed or over-limit requests get a 400
//! `{error_code, error_msg}`. Codes the docs do not give for a case use `CPS.0100` (documented in the
//! README as the simulator's own).

use std::collections::BTreeMap;
use tokio::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use super::world::{SimJob, World, unix_now, utc_text};
use super::{Req, Resp, Route, SimConfig};
use crate::spec::ProviderKind;

const KIND: ProviderKind = ProviderKind::HuaweiCph;
/// Documented maximum ids per phones-traffic call.
const TRAFFIC_MAX: usize = 100;
/// No documented maximum for the other batch calls; the simulator refuses absurd ones.
const BATCH_MAX: usize = 1000;
/// Documented maximum length of a property string.
const PROPERTY_MAX: usize = 2048;

fn project(req: &Req) -> &str {
    &req.segs[1]
}

fn bad(msg: &str) -> Resp {
    Resp::error(400, "CPS.0100", msg)
}

/// A phone as the list returns it (`Phone`, providers.md 1.4); the detail adds [`Detail`]. Typed, so
/// that a 200-phone page costs no map per phone.
#[derive(Serialize)]
struct PhoneBody<'a> {
    phone_name: String,
    server_id: &'static str,
    phone_id: &'a str,
    phone_model_name: &'static str,
    image_id: &'a str,
    image_version: &'static str,
    vnc_enable: &'static str,
    status: i64,
    #[serde(rename = "type")]
    phone_type: u8,
    imei: String,
    traffic_type: &'a str,
    volume_mode: u8,
    availability_zone: &'static str,
    metadata: Metadata,
    has_encrypt: bool,
    create_time: &'a str,
    update_time: &'a str,
    #[serde(flatten)]
    detail: Option<Detail<'a>>,
}

#[derive(Serialize)]
struct Metadata {
    order_id: &'static str,
    product_id: &'static str,
}

/// The fields only `ShowCloudPhoneDetail` has.
#[derive(Serialize)]
struct Detail<'a> {
    request_id: &'static str,
    access_infos: [(); 0],
    property: String,
    /// A map of string to string beside `property` (PySDK `show_cloud_phone_detail_response.py`):
    /// the fixture's, empty unless given (phonefleet never sets it).
    custom_property: &'a BTreeMap<String, String>,
    phone_data_volume: Empty,
}

#[derive(Serialize)]
struct Empty {}

static NO_CUSTOM: BTreeMap<String, String> = BTreeMap::new();

/// Creation and update times, made once per answer.
struct Times {
    created: String,
    updated: String,
}

impl Times {
    fn now() -> Times {
        Times {
            created: utc_text(1_700_000_000),
            updated: utc_text(unix_now()),
        }
    }
}

fn phone_body<'a>(p: &'a super::world::SimPhone, times: &'a Times, detail: bool) -> PhoneBody<'a> {
    PhoneBody {
        phone_name: p
            .name
            .clone()
            .unwrap_or_else(|| format!("phone-{}", &p.id[..p.id.len().min(8)])),
        server_id: "sim-server",
        phone_id: &p.id,
        phone_model_name: "kc1.large.2",
        image_id: p.image.as_deref().unwrap_or("sim-image"),
        image_version: "1",
        vnc_enable: "false",
        status: p.status,
        phone_type: 0,
        imei: format!("8600000{:08}", p.resets),
        traffic_type: &p.traffic,
        volume_mode: 0,
        availability_zone: "sim-az1",
        metadata: Metadata {
            order_id: "",
            product_id: "",
        },
        has_encrypt: false,
        create_time: &times.created,
        update_time: &times.updated,
        detail: detail.then(|| Detail {
            request_id: "sim",
            access_infos: [],
            property: serde_json::to_string(&p.properties).unwrap_or_default(),
            custom_property: p.custom_property.as_ref().unwrap_or(&NO_CUSTOM),
            phone_data_volume: Empty {},
        }),
    }
}

pub(super) fn list(w: &mut World, req: &Req, now: Instant) -> Resp {
    let offset = match req.query("offset").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(o)) => o,
        Some(Err(_)) => return Resp::error(400, "CPS.0002", "Invalid offset or limit"),
    };
    let limit = match req.query("limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(l)) if (1..=200).contains(&l) => l,
        _ => {
            return Resp::error(
                400,
                "CPS.0002",
                "Invalid offset or limit: limit must be 1 to 200",
            );
        }
    };
    let status = match req.query("status").map(str::parse::<i64>) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => return Resp::error(400, "CPS.0010", "The status parameter is invalid"),
    };
    let key = (KIND, project(req).to_owned());
    // Newest first: the fixture order is creation order.
    let (count, page_ids): (usize, Vec<String>) = match status {
        None => {
            // Only the page's ids are copied: a 100,000-phone project costs no more than a small one.
            let order = w.order.get(&key).map(Vec::as_slice).unwrap_or_default();
            let page = order
                .iter()
                .rev()
                .skip(offset)
                .take(limit)
                .cloned()
                .collect();
            (order.len(), page)
        }
        Some(s) => {
            let all: Vec<String> = w
                .order
                .get(&key)
                .map(|v| v.iter().rev().cloned().collect())
                .unwrap_or_default();
            let matching: Vec<String> = all
                .into_iter()
                .filter(|id| w.phone(KIND, id, now).is_some_and(|p| p.status == s))
                .collect();
            let n = matching.len();
            (n, matching.into_iter().skip(offset).take(limit).collect())
        }
    };
    for id in &page_ids {
        // Settle each phone to now before the page borrows them all.
        let _ = w.phone(KIND, id, now);
    }
    #[derive(Serialize)]
    struct ListBody<'a> {
        request_id: String,
        count: usize,
        phones: Vec<PhoneBody<'a>>,
    }
    let request_id = w.new_id();
    let times = Times::now();
    let phones = page_ids
        .iter()
        .filter_map(|id| w.peek(KIND, id))
        .map(|p| phone_body(p, &times, false))
        .collect();
    Resp::ok(ListBody {
        request_id,
        count,
        phones,
    })
}

pub(super) fn detail(w: &mut World, req: &Req, now: Instant) -> Resp {
    let id = req.segs[4].clone();
    let proj = project(req).to_owned();
    match w.phone(KIND, &id, now) {
        Some(p) if p.project_id == proj => Resp::ok(phone_body(p, &Times::now(), true)),
        _ => Resp::error(400, "CPS.0005", "Parameter: Phone not found."),
    }
}

/// `update_phone_name` (providers.md 10.1.1): `{"phone_name"}`, letters, digits, `-`, `_` and Chinese
/// characters, at most 60; answered `{"request_id"}` without a job.
pub(super) fn rename(w: &mut World, req: &Req, now: Instant) -> Resp {
    let id = req.segs[4].clone();
    let proj = project(req).to_owned();
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => return bad("the request body is not JSON"),
    };
    let Some(name) = body.get("phone_name").and_then(Value::as_str) else {
        return bad("phone_name is required");
    };
    if crate::attribute::check_name(KIND, name).is_err() {
        return bad("phone_name: 1 to 60 letters, digits, '-', '_' or Chinese characters");
    }
    let request_id = w.new_id();
    match w.phone(KIND, &id, now) {
        Some(p) if p.project_id == proj => {
            p.name = Some(name.to_owned());
            Resp::ok(json!({ "request_id": request_id }))
        }
        _ => Resp::error(400, "CPS.0005", "Parameter: Phone not found."),
    }
}

/// A job as `ListJobs` and `ShowJob` return it.
#[derive(Serialize)]
struct JobBody<'a> {
    /// `ShowJob` only: the request that made the job.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    phone_id: &'a str,
    server_id: &'static str,
    /// `ListJobs` items only (deprecated there).
    #[serde(skip_serializing_if = "Option::is_none")]
    node_id: Option<&'static str>,
    job_id: &'a str,
    begin_time: String,
    // Absent, as the SDKs' `omitempty` models leave them, until there is something to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<String>,
    status: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_msg: Option<&'a str>,
    execute_msg: &'static str,
}

fn job_body<'a>(w: &World, j: &'a SimJob, now: Instant) -> JobBody<'a> {
    let running = j.done_at > now;
    let gone = w.peek(KIND, &j.phone_id).is_none();
    let failed = gone || j.fails.is_some();
    let (code, message) = match &j.fails {
        Some(e) if !gone => (e.code.as_str(), e.message.as_str()),
        _ => ("CPS.0005", "Parameter: Phone not found."),
    };
    let failed_done = failed && !running;
    JobBody {
        request_id: None,
        phone_id: &j.phone_id,
        server_id: "sim-server",
        node_id: Some(""),
        job_id: &j.job_id,
        begin_time: utc_text(j.begin),
        end_time: (!running).then(|| utc_text(j.begin + 1)),
        status: if running {
            1
        } else if failed {
            -1
        } else {
            2
        },
        error_code: failed_done.then_some(code),
        error_msg: failed_done.then_some(message),
        execute_msg: "",
    }
}

/// One phone of a change call: its id, `property` and `custom_property` (property updates only).
type Item = (String, Option<Value>, Option<Value>);

/// The body's phone ids: `phone_ids` for stop and traffic, `phones[].phone_id` for restart and properties.
fn ids_of(route: Route, body: &Value) -> Result<Vec<Item>, String> {
    let list = match route {
        Route::CphStop | Route::CphTraffic => body
            .get("phone_ids")
            .and_then(Value::as_array)
            .ok_or("`phone_ids` must be a list of phone ids")?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(|s| (s.to_owned(), None, None))
                    .ok_or("`phone_ids` must hold strings")
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => body
            .get("phones")
            .and_then(Value::as_array)
            .ok_or("`phones` must be a list of {phone_id, ...}")?
            .iter()
            .map(|v| {
                let id = v
                    .get("phone_id")
                    .and_then(Value::as_str)
                    .ok_or("each phone needs a `phone_id` string")?;
                Ok((
                    id.to_owned(),
                    v.get("property").cloned(),
                    v.get("custom_property").cloned(),
                ))
            })
            .collect::<Result<Vec<_>, &str>>()?,
    };
    Ok(list)
}

pub(super) fn mutate(
    w: &mut World,
    cfg: &SimConfig,
    route: Route,
    req: &Req,
    now: Instant,
) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return bad("the request body is not JSON");
    };
    let items = match ids_of(route, &body) {
        Ok(i) => i,
        Err(e) => return bad(&e),
    };
    if items.is_empty() {
        return Resp::error(400, "CPS.0009", "The phone_id list is empty");
    }
    let max = if route == Route::CphTraffic {
        TRAFFIC_MAX
    } else {
        BATCH_MAX
    };
    if items.len() > max {
        return bad(&format!(
            "at most {max} phones per call, got {}",
            items.len()
        ));
    }
    let traffic = if route == Route::CphTraffic {
        match body.get("traffic_type").and_then(Value::as_str) {
            Some(t @ ("direct" | "routing")) => Some(t.to_owned()),
            _ => return bad("`traffic_type` must be \"direct\" or \"routing\""),
        }
    } else {
        None
    };
    // Validate every property string before changing anything.
    let mut props = Vec::with_capacity(items.len());
    let mut customs = Vec::with_capacity(items.len());
    for (id, property, custom) in &items {
        // `custom_property`: a map of strings, beside `property` on batch-update-property only; the
        // two together at most 7800 bytes (PySDK `property_to_update.py`).
        let custom = match (route, custom) {
            (Route::CphProperty, Some(Value::Object(map))) => {
                if map.values().any(|v| !v.is_string()) {
                    return bad(&format!(
                        "phone {id}: `custom_property` must map strings to strings"
                    ));
                }
                let size = Value::Object(map.clone()).to_string().len()
                    + property
                        .as_ref()
                        .and_then(Value::as_str)
                        .map_or(0, str::len);
                if size > 7800 {
                    return bad(&format!(
                        "phone {id}: `property` and `custom_property` are {size} bytes; at most 7800"
                    ));
                }
                Some(map.clone())
            }
            (_, None) => None,
            (_, Some(_)) => {
                return bad(&format!("phone {id}: `custom_property` must be an object"));
            }
        };
        customs.push(custom);
        // batch-update-property requires `property`; batch-restart takes it optionally, per phone, and
        // sets those properties with the restart (one job: both happen, or neither).
        let optional = route == Route::CphRestart;
        if route != Route::CphProperty && !(optional && property.is_some()) {
            props.push(None);
            continue;
        }
        let Some(Value::String(text)) = property else {
            return bad(&format!(
                "phone {id}: `property` must be a string holding a JSON object"
            ));
        };
        if text.len() > PROPERTY_MAX {
            return bad(&format!(
                "phone {id}: `property` is {} bytes; at most {PROPERTY_MAX}",
                text.len()
            ));
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => props.push(Some(map)),
            _ => {
                return bad(&format!(
                    "phone {id}: `property` must be a string holding a JSON object"
                ));
            }
        }
    }
    let request_id = w.new_id();
    let proj = project(req).to_owned();
    let done_at = now + cfg.transition;
    let mut jobs = Vec::with_capacity(items.len());
    for (((id, _, _), prop), custom) in items.into_iter().zip(props).zip(customs) {
        let exists = w
            .phone(KIND, &id, now)
            .is_some_and(|p| p.project_id == proj);
        if !exists {
            jobs.push(json!({ "phone_id": id, "error_code": "CPS.0005", "error_msg": "Parameter: Phone not found." }));
            continue;
        }
        let p = w.phone(KIND, &id, now).expect("checked above");
        if let Some(e) = &p.job_error {
            jobs.push(json!({ "phone_id": id, "error_code": e.code, "error_msg": e.message }));
            continue;
        }
        let fails = p.job_fails.clone();
        match route {
            // The job runs, then fails: nothing changes.
            _ if fails.is_some() => {}
            Route::CphStop => {
                p.status = 7;
                p.transition = Some((done_at, 8));
            }
            // A reset: a new device (identity), on the call's image when it names one.
            Route::CphReset => {
                p.status = 3;
                p.transition = Some((done_at, 2));
                p.resets += 1;
                if let Some(image) = body.get("image_id").and_then(Value::as_str) {
                    p.image = Some(image.to_owned());
                }
            }
            Route::CphRestart => {
                p.status = 4;
                p.transition = Some((done_at, 2));
                if let Some(map) = prop {
                    p.pending_properties.push((done_at, map));
                }
            }
            Route::CphTraffic => {
                p.pending_traffic = Some((done_at, traffic.clone().unwrap_or_default()))
            }
            _ => {
                if let Some(map) = prop {
                    p.pending_properties.push((done_at, map));
                }
                if let Some(map) = custom {
                    let kept = p.custom_property.get_or_insert_with(Default::default);
                    for (k, v) in map {
                        kept.insert(k, v.as_str().unwrap_or_default().to_owned());
                    }
                }
            }
        }
        let job_id = w.new_id();
        let job = SimJob {
            job_id: job_id.clone(),
            request_id: request_id.clone(),
            phone_id: id.clone(),
            begin: unix_now(),
            done_at,
            fails,
        };
        w.jobs_by_request
            .entry(request_id.clone())
            .or_default()
            .push(job_id.clone());
        w.jobs.insert(job_id.clone(), job);
        jobs.push(json!({ "phone_id": id, "job_id": job_id }));
    }
    Resp::ok(json!({ "request_id": request_id, "jobs": jobs }))
}

pub(super) fn jobs(w: &mut World, req: &Req, now: Instant) -> Resp {
    let ids: Vec<String> = match (req.query("request_ids"), req.query("request_id")) {
        (Some(list), _) => list
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        (None, Some(one)) => vec![one.to_owned()],
        (None, None) => return bad("`request_id` or `request_ids` is required"),
    };
    if ids.len() > 20 {
        return bad(&format!(
            "at most 20 request ids per call, got {}",
            ids.len()
        ));
    }
    let offset = req
        .query("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let limit = match req.query("limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        _ => {
            return Resp::error(
                400,
                "CPS.0002",
                "Invalid offset or limit: limit must be 1 to 100",
            );
        }
    };
    #[derive(Serialize)]
    struct JobsBody<'a> {
        request_id: String,
        jobs: Vec<JobBody<'a>>,
    }
    let request_id = w.new_id();
    // Only the page's jobs are made into JSON.
    let jobs = ids
        .iter()
        .filter_map(|r| w.jobs_by_request.get(r))
        .flatten()
        .filter_map(|j| w.jobs.get(j))
        .skip(offset)
        .take(limit)
        .map(|job| job_body(w, job, now))
        .collect();
    Resp::ok(JobsBody { request_id, jobs })
}

pub(super) fn job(w: &mut World, req: &Req, now: Instant) -> Resp {
    let id = &req.segs[4];
    match w.jobs.get(id) {
        Some(j) => Resp::ok(JobBody {
            request_id: Some(j.request_id.clone()),
            node_id: None,
            ..job_body(w, j, now)
        }),
        None => Resp::error(404, "CPS.0100", "job not found"),
    }
}

/// `GET .../phone-images` (providers.md 10.1.4): `sim-image`, the images its phones run and the
/// fixture's `cph_images`, one page (`limit` 1-500), `image_type` one of public, private, share, all.
pub(super) fn images(w: &mut World, req: &Req) -> Resp {
    if let Some(t) = req.query("image_type")
        && !matches!(t, "public" | "private" | "share" | "all")
    {
        return bad("`image_type` must be public, private, share or all");
    }
    if let Some(l) = req.query("limit")
        && !l.parse::<usize>().is_ok_and(|l| (1..=500).contains(&l))
    {
        return bad("`limit` must be 1 to 500");
    }
    let mut ids: std::collections::BTreeSet<String> = w.cph_images.iter().cloned().collect();
    ids.insert("sim-image".into());
    if let Some(phones) = w.phones.get(&KIND) {
        ids.extend(phones.values().filter_map(|p| p.image.clone()));
    }
    let list: Vec<Value> = ids
        .into_iter()
        .map(|id| {
            json!({
                "image_name": id, "os_type": "Android", "is_public": 2, "os_name": "Android 11",
                "image_label": "cloud_phone", "image_id": id, "is_support_encrypt": false,
                "receive_status": null
            })
        })
        .collect();
    Resp::ok(
        json!({ "request_id": "sim", "phone_images": list, "page_info": { "next_marker": null } }),
    )
}
