//! The simulator as a test bench: admin routes that change the world while it runs, without
//! re-seeding it, for trying phonefleet (and `watch`) against a fleet that moves.
//!
//! - `POST /_sim/phones/{provider}/{id}` with `{"state", "traffic", "properties", "name"}` (each
//!   optional): the phone is set at once, as if someone did it in the provider's console (`state` is
//!   `running`, `stopped` or a raw status; a transition in flight is dropped; `properties` are merged,
//!   a `null` value removes a key; `traffic` and `properties` on CPH phones only).
//! - `GET /_sim/faults` and `POST /_sim/faults` with any of `error_rate`, `throttle_rate`,
//!   `latency_ms`, `transition_ms`, `hang_after` (a number or `null`), `refuse_listing`,
//!   `geelark_code` (40014, 40017, 47002 or `null`), `geelark_retry_after_s` (a number or `null`):
//!   the fault dice and timings from the next call on.
//!
//! Loopback only: a request from any other address is refused (403), whatever address the simulator
//! listens on. Not counted in `/_sim/stats`. Each answers with what it set, or 400 naming the field.

use std::time::Duration;
use tokio::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use super::world::World;
use super::{Resp, SimConfig};
use crate::spec::{PowerState, ProviderKind};

/// What a console change sets on a phone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneChange {
    state: Option<Value>,
    traffic: Option<String>,
    properties: Option<serde_json::Map<String, Value>>,
    name: Option<String>,
}

fn bad(message: String) -> Resp {
    Resp::status(400, json!({ "error": message }))
}

/// `POST /_sim/phones/{provider}/{id}`.
pub(crate) fn set_phone(world: &mut World, provider: &str, id: &str, body: &[u8]) -> Resp {
    let Some(kind) = ProviderKind::parse(provider) else {
        return bad(format!(
            "unknown provider kind `{provider}`: huawei-cph, geelark or koophone"
        ));
    };
    let change: PhoneChange = match serde_json::from_slice(body) {
        Ok(c) => c,
        Err(e) => return bad(format!("not a phone change: {e}")),
    };
    let Some(phone) = world.phones.get_mut(&kind).and_then(|m| m.get_mut(id)) else {
        return Resp::status(404, json!({ "error": format!("no {kind} phone `{id}`") }));
    };
    phone.settle(Instant::now());
    if let Some(state) = change.state {
        let raw = match &state {
            Value::String(s) if s == "running" => crate::state::raw_for(kind, PowerState::Running),
            Value::String(s) if s == "stopped" => crate::state::raw_for(kind, PowerState::Stopped),
            Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
            other => {
                return bad(format!(
                    "state: `{other}` is neither running, stopped nor a raw status"
                ));
            }
        };
        phone.status = raw;
        phone.transition = None;
    }
    if (change.traffic.is_some() || change.properties.is_some()) && kind != ProviderKind::HuaweiCph
    {
        return bad(format!(
            "traffic and properties are huawei-cph's; this is {kind}"
        ));
    }
    if let Some(traffic) = change.traffic {
        if traffic != "direct" && traffic != "routing" {
            return bad(format!(
                "traffic: `{traffic}` is neither direct nor routing"
            ));
        }
        phone.traffic = traffic;
        phone.pending_traffic = None;
    }
    if let Some(properties) = change.properties {
        phone.pending_properties.clear();
        for (k, v) in properties {
            if v.is_null() {
                phone.properties.remove(&k);
            } else {
                phone.properties.insert(k, v);
            }
        }
    }
    if let Some(name) = change.name {
        phone.name = Some(name);
    }
    Resp::ok(super::sim_phone_json(phone))
}

/// What `POST /_sim/faults` may change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Faults {
    error_rate: Option<f64>,
    throttle_rate: Option<f64>,
    latency_ms: Option<u64>,
    transition_ms: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    hang_after: Option<Option<u64>>,
    refuse_listing: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    geelark_code: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    geelark_retry_after_s: Option<Option<u64>>,
}

/// A field that may be given as `null` (to clear it) or left out (to keep it).
fn nullable<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The settings `GET /_sim/faults` shows.
pub(crate) fn faults_json(c: &SimConfig) -> Value {
    json!({
        "error_rate": c.error_rate,
        "throttle_rate": c.throttle_rate,
        "latency_ms": c.latency.as_millis() as u64,
        "transition_ms": c.transition.as_millis() as u64,
        "hang_after": c.hang_after,
        "refuse_listing": c.refuse_listing,
        "geelark_code": c.geelark_code,
        "geelark_retry_after_s": c.geelark_retry_after.map(|d| d.as_secs()),
    })
}

/// `POST /_sim/faults`: checks everything first, then changes what was given.
pub(crate) fn set_faults(config: &mut SimConfig, body: &[u8]) -> Resp {
    let f: Faults = match serde_json::from_slice(body) {
        Ok(f) => f,
        Err(e) => return bad(format!("not a faults change: {e}")),
    };
    for (field, rate) in [
        ("error_rate", f.error_rate),
        ("throttle_rate", f.throttle_rate),
    ] {
        if let Some(r) = rate
            && !(0.0..=1.0).contains(&r)
        {
            return bad(format!("{field}: {r} is not between 0 and 1"));
        }
    }
    if let Some(Some(code)) = f.geelark_code
        && ![40014, 40017, 47002].contains(&code)
    {
        return bad(format!("geelark_code: {code} is not 40014, 40017 or 47002"));
    }
    if let Some(r) = f.error_rate {
        config.error_rate = r;
    }
    if let Some(r) = f.throttle_rate {
        config.throttle_rate = r;
    }
    if let Some(ms) = f.latency_ms {
        config.latency = Duration::from_millis(ms.min(60_000));
    }
    if let Some(ms) = f.transition_ms {
        config.transition = Duration::from_millis(ms.min(600_000));
    }
    if let Some(h) = f.hang_after {
        config.hang_after = h;
    }
    if let Some(r) = f.refuse_listing {
        config.refuse_listing = r;
    }
    if let Some(c) = f.geelark_code {
        config.geelark_code = c;
    }
    if let Some(s) = f.geelark_retry_after_s {
        config.geelark_retry_after = s.map(|s| Duration::from_secs(s.clamp(1, 120)));
    }
    Resp::ok(faults_json(config))
}
