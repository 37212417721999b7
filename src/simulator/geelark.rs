//! GeeLark routes: `phone/status` (100 ids), `phone/start` and `phone/stop` (200 ids), `phone/list`
//! (pages, or up to 100 `ids`), `phone/detail/update` (one phone: its name).
//! Answers use the `{traceId, code, msg, data}` envelope; per-phone failures go in `failDetails`
//! (42001 not found, 43004 expired, 43005 executing a task, 43006 remotely connected), with code 0, as
//! the status and stop pages' own examples answer.

use tokio::time::Instant;

use serde_json::{Value, json};

use super::world::{Busy, Registry, SimPhone, World};
use super::{Req, Resp, SimConfig};
use crate::spec::ProviderKind;

const KIND: ProviderKind = ProviderKind::Geelark;

pub(super) fn envelope(req: &Req, code: i64, msg: &str, data: Value) -> Resp {
    let trace = req.header("traceid").unwrap_or_default();
    Resp::ok(json!({ "traceId": trace, "code": code, "msg": msg, "data": data }))
}

pub(super) fn invalid(req: &Req, msg: &str) -> Resp {
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
fn list_item(w: &World, p: &SimPhone, name: &str, status: i64) -> Value {
    let id = &p.id;
    let group = p.group.as_deref().map_or_else(
        || json!({ "id": "0", "name": "", "remark": "" }),
        |g| {
            let gid = w
                .registry(Registry::Group)
                .iter()
                .find(|(_, n)| *n == g)
                .map(|(id, _)| id.clone())
                .unwrap_or_default();
            json!({ "id": gid, "name": g, "remark": "" })
        },
    );
    let tags: Vec<Value> = p.tags.iter().map(|t| json!({ "name": t })).collect();
    json!({
        "id": id,
        "serialName": name,
        "serialNo": "1",
        "group": group,
        "remark": p.remark,
        "status": status,
        "tags": tags,
        "equipmentInfo": {
            "countryName": "", "phoneNumber": "", "enableSim": 0,
            "imei": format!("8600000{:08}", p.resets), "osVersion": "Android 11.0",
            "wifiBssid": "", "mac": "", "bluetoothMac": "", "timeZone": "UTC", "deviceBrand": "",
            "deviceModel": "", "deviceName": "", "netType": 0, "language": "en-US", "province": "",
            "city": ""
        },
        "proxy": p.proxy.clone().unwrap_or_else(
            || json!({ "type": "", "server": "", "port": 0, "username": "", "password": "" })
        ),
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
    let (mut order, page) = match asked {
        Some(ids) => (ids, 1),
        None => (
            w.order
                .get(&(KIND, String::new()))
                .cloned()
                .unwrap_or_default(),
            page,
        ),
    };
    // `serialName` filters by a part of the name (as a console search does).
    if let Some(part) = body.get("serialName").and_then(Value::as_str) {
        order.retain(|id| w.peek(KIND, id).is_some_and(|p| serial(p).contains(part)));
    }
    let total = order.len();
    let items: Vec<Value> = order
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .filter_map(|id| {
            w.phone(KIND, id, now).map(|p| {
                // The list reports 0 started, 1 starting, 2 shut down; an expired phone shows as shut down.
                let status = if p.status == 3 { 2 } else { p.status };
                (p.clone(), serial(p), status)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(p, name, status)| list_item(w, &p, &name, status))
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
    if let Some(other) = body.as_object().and_then(|o| {
        o.keys().find(|k| {
            !matches!(
                k.as_str(),
                "id" | "name" | "remark" | "groupID" | "tagIDs" | "proxyConfig"
            )
        })
    }) {
        return invalid(req, &format!("{other}: not modelled by the simulator"));
    }
    let name = body.get("name").and_then(Value::as_str);
    if name.is_some_and(|n| n.chars().count() > 100) {
        return invalid(req, "name: at most 100 characters");
    }
    let remark = body.get("remark").and_then(Value::as_str);
    if remark.is_some_and(|r| r.chars().count() > 1500) {
        return invalid(req, "remark: at most 1500 characters");
    }
    let trace = req.header("traceid").unwrap_or_default();
    // Tags by id: unknown ones are reported in `failDetails` (43022), all unknown is an error.
    let mut tags: Option<Vec<String>> = None;
    let mut fails = Vec::new();
    if let Some(ids) = body.get("tagIDs").and_then(Value::as_array) {
        let mut names = Vec::new();
        for v in ids {
            let tid = v.as_str().unwrap_or_default();
            match w.registry(Registry::Tag).get(tid) {
                Some(n) => names.push(n.clone()),
                None => fails.push(json!({ "code": 43022, "id": tid, "msg": "tag not found" })),
            }
        }
        if !ids.is_empty() && names.is_empty() {
            return Resp::ok(json!({ "traceId": trace, "code": 43022, "msg": "tag not found" }));
        }
        tags = Some(names);
    }
    // A static proxyConfig: typeId 1 socks5, 2 http, 3 https; every field required (45003 otherwise).
    let proxy = match body.get("proxyConfig") {
        None => None,
        Some(c) => {
            let scheme = match c.get("typeId").and_then(Value::as_i64) {
                Some(1) => "socks5",
                Some(2) => "http",
                Some(3) => "https",
                _ => {
                    return Resp::ok(
                        json!({ "traceId": trace, "code": 45003, "msg": "proxy type error" }),
                    );
                }
            };
            let complete = ["server", "port", "username", "password"]
                .iter()
                .all(|k| c.get(*k).is_some());
            if !complete {
                return Resp::ok(
                    json!({ "traceId": trace, "code": 45004, "msg": "proxy information incomplete" }),
                );
            }
            Some(json!({
                "type": scheme,
                "server": c["server"],
                "port": c["port"],
                "username": c["username"],
                "password": c["password"],
            }))
        }
    };
    let group = match body.get("groupID").and_then(Value::as_str) {
        Some("0") => Some(None),
        Some(gid) => match w.registry(Registry::Group).get(gid) {
            Some(n) => Some(Some(n.clone())),
            None => {
                return Resp::ok(
                    json!({ "traceId": trace, "code": 43032, "msg": "group not found" }),
                );
            }
        },
        None => None,
    };
    match w.phone(KIND, id, now) {
        None => Resp::ok(json!({ "traceId": trace, "code": 42001, "msg": "env not found" })),
        Some(p) => {
            if let Some(n) = name {
                p.name = Some(n.to_owned());
            }
            if let Some(r) = remark {
                p.remark = r.to_owned();
            }
            if let Some(t) = tags {
                p.tags = t;
            }
            if let Some(g) = group {
                p.group = g;
            }
            if let Some(x) = proxy {
                p.proxy = Some(x);
            }
            let data = (!fails.is_empty()).then(|| json!({ "failDetails": fails }));
            Resp::ok(json!({ "traceId": trace, "code": 0, "msg": "success", "data": data }))
        }
    }
}

/// `phone/moveGroup` (providers.md 10.2.3): `envIds` (at most 100) into `groupId` (`"0"`: ungrouped);
/// an unknown group is 43032.
pub(super) fn move_group(w: &mut World, req: &Req, now: Instant) -> Resp {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
    let trace = req.header("traceid").unwrap_or_default();
    let Some(ids) = body.get("envIds").and_then(Value::as_array) else {
        return invalid(req, "envIds: required");
    };
    if ids.is_empty() || ids.len() > 100 {
        return invalid(req, "envIds: between 1 and 100 ids");
    }
    let group = match body.get("groupId").and_then(Value::as_str) {
        Some("0") => None,
        Some(gid) => match w.registry(Registry::Group).get(gid) {
            Some(n) => Some(n.clone()),
            None => {
                return Resp::ok(
                    json!({ "traceId": trace, "code": 43032, "msg": "group not found" }),
                );
            }
        },
        None => return invalid(req, "groupId: required"),
    };
    for id in ids.iter().filter_map(Value::as_str) {
        if let Some(p) = w.phone(KIND, id, now) {
            p.group.clone_from(&group);
        }
    }
    Resp::ok(json!({ "traceId": trace, "code": 0, "msg": "success" }))
}

/// `group/list` and `tag/list`: pages of `{id, name, ...}`, filtered by `names`.
pub(super) fn registry_list(w: &mut World, req: &Req, registry: Registry) -> Resp {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
    let size = body.get("pageSize").and_then(Value::as_u64).unwrap_or(0) as usize;
    let page = body.get("page").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
    if !(1..=100).contains(&size) {
        return invalid(req, "pageSize: required, at most 100");
    }
    let names: Option<Vec<&str>> = body
        .get("names")
        .and_then(Value::as_array)
        .map(|n| n.iter().filter_map(Value::as_str).collect());
    let all: Vec<Value> = w
        .registry(registry)
        .iter()
        .filter(|(_, n)| names.as_ref().is_none_or(|want| want.contains(&n.as_str())))
        .map(|(id, n)| match registry {
            Registry::Group => json!({ "id": id, "name": n, "remark": "" }),
            Registry::Tag => json!({ "id": id, "name": n, "color": "white" }),
        })
        .collect();
    let total = all.len();
    let list: Vec<Value> = all.into_iter().skip((page - 1) * size).take(size).collect();
    envelope(
        req,
        0,
        "success",
        json!({ "total": total, "page": page, "pageSize": size, "list": list }),
    )
}

/// `group/add` and `tag/add`: `{list: [{name}]}`; a name that exists fails (43031 group, 43021 tag).
pub(super) fn registry_add(w: &mut World, req: &Req, registry: Registry) -> Resp {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
    let Some(list) = body.get("list").and_then(Value::as_array) else {
        return invalid(req, "list: required");
    };
    let (max, exists) = match registry {
        Registry::Group => (50, 43031),
        Registry::Tag => (30, 43021),
    };
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for item in list {
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() || name.chars().count() > max {
            failed.push(json!({ "code": 40004, "name": name, "msg": "invalid name" }));
        } else if w.registry(registry).values().any(|n| n == name) {
            failed.push(json!({ "code": exists, "name": name, "msg": "name already exists" }));
        } else {
            let id = w.ensure(registry, name);
            ok.push(json!({ "id": id, "name": name }));
        }
    }
    envelope(
        req,
        0,
        "success",
        json!({
            "totalAmount": list.len(),
            "successAmount": ok.len(),
            "failAmount": failed.len(),
            "successDetails": ok,
            "failDetails": failed,
        }),
    )
}
