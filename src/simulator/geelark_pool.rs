//! GeeLark's create, delete and reset (providers.md 10.2.7, 10.2.8): `phone/addNew` (a template and up to 100 rows,
//! each with a name and a proxy; groups and tags created by name; 44002 once the plan's phone limit
//! is reached) and `phone/delete` (up to 100 ids; 43009 for a started phone, 43010 for a starting one,
//! 42001 for an unknown one). New phones are shut down (status 2).

use serde_json::{Value, json};
use tokio::time::Instant;

use super::world::{Registry, SimPhone, World};
use super::{Req, Resp, SimConfig};
use crate::spec::ProviderKind;

const KIND: ProviderKind = ProviderKind::Geelark;

use super::geelark::{envelope as answer, invalid};

/// `scheme://user:password@server:port` (user and password percent-decoded) as the phone list shows
/// a proxy, or `None` when it does not parse.
fn parse_proxy(text: &str) -> Option<Value> {
    let (scheme, rest) = text.split_once("://")?;
    if !matches!(scheme, "socks5" | "http" | "https") {
        return None;
    }
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let (server, port) = host.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let decode = |s: &str| -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    };
    let (user, pass) = match auth {
        Some(a) => {
            let (u, p) = a.split_once(':').unwrap_or((a, ""));
            (decode(u)?, decode(p)?)
        }
        None => (String::new(), String::new()),
    };
    if server.is_empty() {
        return None;
    }
    Some(
        json!({ "type": scheme, "server": server, "port": port, "username": user, "password": pass }),
    )
}

/// `POST /open/v1/phone/addNew`.
pub(super) fn add_new(w: &mut World, req: &Req, _now: Instant) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return answer(req, 40001, "failed to read the request body", Value::Null);
    };
    let mobile = body.get("mobileType").and_then(Value::as_str).unwrap_or("");
    let known = (9..=15).any(|v| mobile == format!("Android {v}"));
    if !known {
        return invalid(req, "mobileType: Android 9 to Android 15");
    }
    if let Some(r) = body.get("region")
        && !matches!(r.as_str(), Some("cn" | "sgp"))
    {
        return invalid(req, "region: cn or sgp");
    }
    if let Some(m) = body.get("chargeMode")
        && !matches!(m.as_i64(), Some(0 | 1))
    {
        return invalid(req, "chargeMode: 0 or 1");
    }
    let Some(rows) = body.get("data").and_then(Value::as_array) else {
        return invalid(req, "data: required");
    };
    if rows.is_empty() || rows.len() > 100 {
        return invalid(req, "data: between 1 and 100 rows");
    }
    let mut details = Vec::with_capacity(rows.len());
    let mut made = 0usize;
    for (index, row) in rows.iter().enumerate() {
        let name = row.get("profileName").and_then(Value::as_str).unwrap_or("");
        let fail = |code: i64, msg: &str| json!({ "index": index, "code": code, "msg": msg, "profileName": name });
        if name.is_empty() || name.chars().count() > 100 {
            details.push(fail(40004, "profileName: required, at most 100 characters"));
            continue;
        }
        let proxy = match row.get("proxyInformation").and_then(Value::as_str) {
            Some(text) => match parse_proxy(text) {
                Some(p) => p,
                None => {
                    details.push(fail(45003, "proxy information could not be parsed"));
                    continue;
                }
            },
            None => {
                details.push(fail(40004, "a proxy is required"));
                continue;
            }
        };
        let held = w.phones.get(&KIND).map_or(0, |m| m.len());
        if w.geelark_plan_limit.is_some_and(|limit| held >= limit) {
            details.push(fail(
                44002,
                "the number of cloud phones has reached the plan's limit",
            ));
            continue;
        }
        let group = row
            .get("profileGroup")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(g) = &group {
            w.ensure(Registry::Group, g);
        }
        let tags: Vec<String> = row
            .get("profileTags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for t in &tags {
            w.ensure(Registry::Tag, t);
        }
        let id = w.new_id();
        let remark = row
            .get("profileNote")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        w.add(SimPhone {
            group,
            tags,
            remark,
            proxy: Some(proxy),
            ..SimPhone::new(KIND, &id, 2, Some(name.to_owned()))
        });
        made += 1;
        details.push(json!({
            "index": index, "code": 0, "msg": "success", "id": id, "profileName": name,
            "envSerialNo": format!("{}", 1000 + made),
            "equipmentInfo": { "deviceBrand": "Google", "deviceModel": "Pixel", "osVersion": mobile }
        }));
    }
    let total = rows.len();
    let data = json!({
        "totalAmount": total, "successAmount": made, "failAmount": total - made, "details": details
    });
    match made {
        0 => {
            // Every row failed: the first row's code is the call's.
            let code = details
                .first()
                .and_then(|d| d.get("code"))
                .and_then(Value::as_i64)
                .unwrap_or(40009);
            answer(req, code, "create failed", data)
        }
        n if n < total => answer(req, 40006, "partial success", data),
        _ => answer(req, 0, "success", data),
    }
}

/// `POST /open/v1/phone/delete`.
pub(super) fn delete(w: &mut World, req: &Req, now: Instant) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return answer(req, 40001, "failed to read the request body", Value::Null);
    };
    let Some(ids) = body.get("ids").and_then(Value::as_array) else {
        return invalid(req, "ids: required");
    };
    if ids.is_empty() || ids.len() > 100 {
        return invalid(req, "ids: between 1 and 100 ids");
    }
    let mut failed = Vec::new();
    let mut done = 0;
    for id in ids {
        let id = id.as_str().unwrap_or_default();
        let code = match w.phone(KIND, id, now) {
            None => Some((42001, "env not found")),
            Some(p) if p.status == 0 => Some((43009, "env is started")),
            Some(p) if p.status == 1 => Some((43010, "env is starting")),
            Some(p) if p.busy.is_some() => Some((43021, "env is in use")),
            Some(_) => None,
        };
        match code {
            Some((code, msg)) => failed.push(json!({ "code": code, "id": id, "msg": msg })),
            None => {
                w.remove(KIND, id);
                done += 1;
            }
        }
    }
    let data = json!({
        "totalAmount": ids.len(), "successAmount": done, "failAmount": failed.len(),
        "failDetails": failed
    });
    answer(req, 0, "success", data)
}

/// The phone a one-phone call (`{"id"}`) names, free to be acted on: or the answer that refuses it
/// (40001 unreadable body, 40004 no id, 42001 unknown, 43005 executing a task, 43006 remotely
/// controlled).
fn free_phone<'w>(w: &'w mut World, req: &Req, now: Instant) -> Result<&'w mut SimPhone, Resp> {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return Err(answer(
            req,
            40001,
            "failed to read the request body",
            Value::Null,
        ));
    };
    let Some(id) = body.get("id").and_then(Value::as_str) else {
        return Err(invalid(req, "id: required"));
    };
    let Some(p) = w.phone(KIND, id, now) else {
        return Err(answer(req, 42001, "env not found", Value::Null));
    };
    match p.busy {
        Some(super::world::Busy::Task) => Err(answer(
            req,
            43005,
            "the cloud phone is executing a task",
            Value::Null,
        )),
        Some(super::world::Busy::Remote) => Err(answer(
            req,
            43006,
            "the cloud phone is under remote control",
            Value::Null,
        )),
        None => Ok(p),
    }
}

/// `{"code": 0}`.
fn done(req: &Req) -> Resp {
    let trace = req.header("traceid").unwrap_or_default();
    Resp::ok(json!({ "traceId": trace, "code": 0, "msg": "success" }))
}

/// `POST /open/v2/phone/newOne` (providers.md 10.2.8): one phone, a new device identity (its
/// `equipmentInfo` changes); 43015 not supported, and the refusals of [`free_phone`].
pub(super) fn new_one(w: &mut World, cfg: &SimConfig, req: &Req, now: Instant) -> Resp {
    let p = match free_phone(w, req, now) {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    if p.no_reset {
        return answer(
            req,
            43015,
            "this cloud phone does not support one-click new machine",
            Value::Null,
        );
    }
    p.resets += 1;
    if p.status == 0 {
        // It boots again as the new device.
        p.status = 1;
        p.transition = Some((now + cfg.transition, 0));
    }
    done(req)
}

/// `POST /open/v1/phone/restart` (the route GeeLark's own CLI uses; providers.md 0.6): one running
/// phone starts again; 42002 not running, and the refusals of [`free_phone`].
pub(super) fn restart(w: &mut World, cfg: &SimConfig, req: &Req, now: Instant) -> Resp {
    let p = match free_phone(w, req, now) {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    if p.status != 0 {
        return answer(req, 42002, "the cloud phone is not running", Value::Null);
    }
    p.status = 1;
    p.transition = Some((now + cfg.transition, 0));
    done(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_parse_with_encoded_userinfo() {
        assert_eq!(
            parse_proxy("socks5://u%40x:p%3Aw@203.0.113.7:1080").unwrap(),
            json!({ "type": "socks5", "server": "203.0.113.7", "port": 1080, "username": "u@x", "password": "p:w" })
        );
        assert!(parse_proxy("ftp://h:1").is_none());
        assert!(parse_proxy("socks5://h").is_none());
    }
}
