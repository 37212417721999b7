//! GeeLark's proxy registry (providers.md 10.2.5): `proxy/list` (pages of `{id, serialNo, scheme,
//! server, port, username, password}`, passwords in plain text as the docs show them) and `proxy/add`
//! (up to 100 items; an identical item gets the id it already has; one on the same scheme, server and
//! port with other credentials fails with 45007, a bad scheme or port with 45003).

use serde_json::{Value, json};

use super::Req;
use super::Resp;
use super::geelark::{envelope, invalid};
use super::world::World;

/// `POST /open/v1/proxy/list`.
pub(super) fn list(w: &mut World, req: &Req) -> Resp {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
    let size = body.get("pageSize").and_then(Value::as_u64).unwrap_or(0) as usize;
    let page = body.get("page").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
    if !(1..=100).contains(&size) {
        return invalid(req, "pageSize: required, at most 100");
    }
    let list: Vec<&Value> = w
        .proxies
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    envelope(
        req,
        0,
        "success",
        json!({ "total": w.proxies.len(), "page": page, "pageSize": size, "list": list }),
    )
}

/// `POST /open/v1/proxy/add`.
pub(super) fn add(w: &mut World, req: &Req) -> Resp {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
    let Some(items) = body.get("list").and_then(Value::as_array) else {
        return invalid(req, "list: required");
    };
    if items.is_empty() || items.len() > 100 {
        return invalid(req, "list: between 1 and 100 proxies");
    }
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for (index, item) in items.iter().enumerate() {
        let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default();
        let (scheme, server) = (text("scheme"), text("server"));
        let port = item.get("port").and_then(Value::as_u64).unwrap_or(0);
        let (username, password) = (text("username"), text("password"));
        if !matches!(scheme, "socks5" | "http" | "https")
            || server.is_empty()
            || !(1..=65535).contains(&port)
        {
            failed.push(json!({ "index": index, "code": 45003, "msg": "invalid proxy" }));
            continue;
        }
        let same_place =
            |p: &&Value| p["scheme"] == scheme && p["server"] == server && p["port"] == port;
        match w.proxies.iter().find(same_place) {
            Some(p) if p["username"] == username && p["password"] == password => {
                ok.push(json!({ "index": index, "id": p["id"] }));
            }
            Some(_) => {
                failed.push(
                    json!({ "index": index, "code": 45007, "msg": "the proxy already exists" }),
                );
            }
            None => {
                let id = w.new_id();
                let serial = w.proxies.len() + 1;
                w.proxies.push(json!({
                    "id": id, "serialNo": serial, "scheme": scheme, "server": server, "port": port,
                    "username": username, "password": password
                }));
                ok.push(json!({ "index": index, "id": id }));
            }
        }
    }
    let code = match (ok.len(), failed.len()) {
        (_, 0) => 0,
        (0, _) => 40009,
        _ => 40006,
    };
    envelope(
        req,
        code,
        if code == 0 {
            "success"
        } else {
            "partial success"
        },
        json!({
            "totalAmount": items.len(), "successAmount": ok.len(), "failAmount": failed.len(),
            "successDetails": ok, "failDetails": failed
        }),
    )
}
