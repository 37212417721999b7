//! GeeLark routes: `phone/status` (100 ids), `phone/start` and `phone/stop` (200 ids), `phone/list`
//! (pages, or up to 100 `ids`), `phone/detail/update` (one phone: its name).
//! Answers use the `{traceId, code, msg, data}` envelope; per-phone failures go in `failDetails`
//! (42001 not found, 43004 expired, 43005 executing a task, 43006 remotely connected), with code 0, as
//! the status and stop pages' own examples answer.

use tokio::time::Instant;

use serde_json::{Value, json};

use super::world::{Busy, SimPhone, World};
use super::{Req, Resp, SimConfig};
use crate::spec::ProviderKind;

const KIND: ProviderKind = ProviderKind::Geelark;

fn envelope(req: &Req, code: i64, msg: &str, data: Value) -> Resp {
    let trace = req.header("traceid").unwrap_or_default();
    Resp::ok(json!({ "traceId": trace, "code": code, "msg": msg, "data": data }))
}

fn invalid(req: &Req, msg: &str) -> Resp {
    let trace = req.header("traceid").unwrap_or_default();
    Resp::ok(json!({ "traceId": trace, "code": 40004, "msg": msg }))
}

fn ids(req: &Req, max: usize) -> Result<Vec<String>, Resp> {
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| {
        let trace = req.header("traceid").unwrap_or_default();
        Resp::ok(
            json!({ "traceId": trace, "code": 40001, "msg": "failed to read the request body" }),
        )
    })?;
    let list = body
        .get("ids")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(req, "ids: must be a list of phone ids"))?;
    if list.is_empty() || list.len() > max {
        return Err(invalid(
            req,
            &format!("ids: between 1 and {max} ids, got {}", list.len()),
        ));
    }
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(req, "ids: must hold strings"))
        })
        .collect()
}

fn fail(code: i64, id: &str, msg: &str) -> Value {
    json!({ "code": code, "id": id, "msg": msg })
}

fn batch_answer(req: &Req, total: usize, success: Vec<Value>, failed: Vec<Value>) -> Resp {
    // The status and stop pages' own examples answer code 0 with the failures in `failDetails`
    // (GLD `Query_status.md`, `Stop_cloud_phone.md`); the global table's 40006/40009 are never shown for
    // these calls, and the client reads both.
    let (code, msg) = (0, "success");
    envelope(
        req,
        code,
        msg,
        json!({
            "totalAmount": total,
            "successAmount": success.len(),
            "failAmount": failed.len(),
            "successDetails": success,
            "failDetails": failed,
        }),
    )
}

/// The phone's `serialName`: its fixture name, or one made from its id.
fn serial(p: &super::world::SimPhone) -> String {
    p.name
        .clone()
        .unwrap_or_else(|| format!("phone-{}", &p.id[..p.id.len().min(8)]))
}

/// Read `ids` (at most `max`), answer each with `each` (a success or a failure detail), and wrap the
/// results in the batch envelope.
fn per_id(
    w: &mut World,
    req: &Req,
    max: usize,
    now: Instant,
    mut each: impl FnMut(Option<&mut SimPhone>, &str) -> Result<Value, Value>,
) -> Resp {
    let ids = match ids(req, max) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for id in &ids {
        match each(w.phone(KIND, id, now), id) {
            Ok(v) => ok.push(v),
            Err(v) => failed.push(v),
        }
    }
    batch_answer(req, ids.len(), ok, failed)
}

pub(super) fn status(w: &mut World, req: &Req, now: Instant) -> Resp {
    per_id(w, req, 100, now, |phone, id| match phone {
        Some(p) => Ok(json!({ "id": id, "serialName": serial(p), "status": p.status })),
        None => Err(fail(42001, id, "env not found")),
    })
}

pub(super) fn start(w: &mut World, cfg: &SimConfig, req: &Req, now: Instant) -> Resp {
    per_id(w, req, 200, now, |phone, id| match phone {
        None => Err(fail(42001, id, "env not found")),
        Some(p) if p.status == 3 => Err(fail(43004, id, "env is expired")),
        Some(p) => {
            if p.status == 2 {
                p.status = 1;
                p.transition = Some((now + cfg.transition, 0));
            }
            // `chargingMethod` is text: "Per-minute usage", "Monthly rental" or "Parallels".
            Ok(
                json!({ "id": id, "url": format!("https://sim.invalid/phone/{id}"), "chargingMethod": "Per-minute usage" }),
            )
        }
    })
}

pub(super) fn stop(w: &mut World, req: &Req, now: Instant) -> Resp {
    per_id(w, req, 200, now, |phone, id| match phone {
        None => Err(fail(42001, id, "env not found")),
        Some(p) => match p.busy {
            Some(Busy::Remote) => Err(fail(
                43006,
                id,
                "the cloud phone is being remotely connected",
            )),
            Some(Busy::Task) => Err(fail(43005, id, "the cloud phone is executing a task")),
            None => {
                p.status = 2;
                p.transition = None;
                Ok(json!({ "id": id, "serialName": serial(p), "status": 2 }))
            }
        },
    })
}

/// One `phone/list` item with every documented field (`Phone`, with its `Group`, `Tag`,
/// `EquipmentInfo` and `Proxy`), each of its documented type.
fn list_item(id: &str, name: &str, status: i64) -> Value {
    json!({
        "id": id,
        "serialName": name,
        "serialNo": "1",
        "group": { "id": "", "name": "", "remark": "" },
        "remark": "",
        "status": status,
        "tags": [],
        "equipmentInfo": {
            "countryName": "", "phoneNumber": "", "enableSim": 0, "imei": "", "osVersion": "Android 11.0",
            "wifiBssid": "", "mac": "", "bluetoothMac": "", "timeZone": "UTC", "deviceBrand": "",
            "deviceModel": "", "deviceName": "", "netType": 0, "language": "en-US", "province": "",
            "city": ""
        },
        "proxy": { "type": "", "server": "", "port": 0, "username": "", "password": "" },
        "chargeMode": 0,
        "hasBind": false,
        "monthlyExpire": 0,
        "rpaStatus": 0
    })
}

pub(super) fn list(w: &mut World, req: &Req, now: Instant) -> Resp {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
    let page = body.get("page").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
    let size = body.get("pageSize").and_then(Value::as_u64).unwrap_or(10) as usize;
    if !(1..=100).contains(&size) {
        let trace = req.header("traceid").unwrap_or_default();
        return Resp::ok(
            json!({ "traceId": trace, "code": 40008, "msg": "pageSize out of range" }),
        );
    }
    // `ids` (at most 100) overrides paging (providers.md 10.2.2).
    let asked: Option<Vec<String>> = body.get("ids").and_then(Value::as_array).map(|ids| {
        ids.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    });
    if asked.as_ref().is_some_and(|ids| ids.len() > 100) {
        return invalid(req, "ids: at most 100 ids");
    }
    let (order, page) = match asked {
        Some(ids) => (ids, 1),
        None => (
            w.order
                .get(&(KIND, String::new()))
                .cloned()
                .unwrap_or_default(),
            page,
        ),
    };
    let total = order.len();
    let items: Vec<Value> = order
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .filter_map(|id| {
            w.phone(KIND, id, now).map(|p| {
                // The list reports 0 started, 1 starting, 2 shut down; an expired phone shows as shut down.
                let status = if p.status == 3 { 2 } else { p.status };
                list_item(id, &serial(p), status)
            })
        })
        .collect();
    envelope(
        req,
        0,
        "success",
        json!({ "total": total, "page": page, "pageSize": size, "items": items }),
    )
}

/// `phone/detail/update` (providers.md 10.2.1): `id` required, `name` at most 100 characters; the other
/// fields (remark, group, tags, proxy) are not modelled and refused, so that a client relying on them
/// is noticed. Answers `{"code":0}`; an unknown phone is 42001.
pub(super) fn update(w: &mut World, req: &Req, now: Instant) -> Resp {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
    let Some(id) = body.get("id").and_then(Value::as_str) else {
        return invalid(req, "id: required");
    };
    if let Some(other) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| !matches!(k.as_str(), "id" | "name")))
    {
        return invalid(req, &format!("{other}: not modelled by the simulator"));
    }
    let name = body.get("name").and_then(Value::as_str);
    if name.is_some_and(|n| n.chars().count() > 100) {
        return invalid(req, "name: at most 100 characters");
    }
    let trace = req.header("traceid").unwrap_or_default();
    match w.phone(KIND, id, now) {
        None => Resp::ok(json!({ "traceId": trace, "code": 42001, "msg": "env not found" })),
        Some(p) => {
            if let Some(n) = name {
                p.name = Some(n.to_owned());
            }
            Resp::ok(json!({ "traceId": trace, "code": 0, "msg": "success" }))
        }
    }
}
