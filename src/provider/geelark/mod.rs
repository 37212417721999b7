//! GeeLark open API client (providers.md section 2 and 0.5).
//!
//! Every call is `POST` with a JSON body under `/open/v1/phone/`: `status` (100 ids), `start` and `stop`
//! (200 ids). Answers come in the envelope `{traceId, code, msg, data}`; per-phone failures arrive as
//! `data.failDetails` with code 0, 40006 (partial) or 40009 (all failed). 40007/40017 mean "slow down" and
//! are retried by the HTTP layer; 40014 locks the API for two hours and stops the run.
//! Auth: `Authorization: Bearer` + `traceId`, or key mode (`appId`, `traceId`, `ts`, `nonce`, `sign`).

use foldhash::{HashMap, HashMapExt};
use std::time::SystemTime;

use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::http::{Attempt, Call, HttpError, Reply};
use super::{Accepted, Auth, Ctx, ObserveTarget, PhoneError, ProviderError};
use crate::plan::{Action, Batch};
use crate::spec::{ProviderKind, TraceIdFormat};
use crate::state::{Observation, ObservedPhone};

mod descriptor;
mod details;
mod pool;
mod reset;
pub use descriptor::DESCRIPTOR;

/// The GeeLark client.
#[derive(Debug)]
pub struct Geelark {
    pub(super) ctx: Ctx,
    trace_format: TraceIdFormat,
    /// Group and tag ids by (registry, name), learnt or created in this run.
    known: std::sync::Mutex<HashMap<(&'static str, String), String>>,
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    #[serde(deserialize_with = "lenient_int")]
    code: i64,
    #[serde(default = "Option::default")]
    data: Option<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchData {
    #[serde(default)]
    success_details: Vec<SuccessDetail>,
    #[serde(default)]
    fail_details: Vec<FailDetail>,
}

/// GeeLark's dialect (providers.md 0.2, 2.2-2.4).
pub const DIALECT: super::dialect::Dialect = super::dialect::Dialect {
    power: |raw| match raw {
        0 => crate::state::Power::Running,
        2 => crate::state::Power::Stopped,
        1 => crate::state::Power::Transitioning,
        _ => crate::state::Power::Failed,
    },
    meaning: |raw| match raw {
        0 => "started",
        1 => "starting",
        2 => "shut down",
        3 => "expired",
        _ => "undocumented status",
    },
    raw_for: |power| match power {
        crate::spec::PowerState::Running => 0,
        crate::spec::PowerState::Stopped => 2,
    },
    toward: |raw| (raw == 1).then_some(crate::spec::PowerState::Running),
    classify: |status, code| {
        use super::dialect::Class;
        match code {
            "40014" => Class::Locked,
            // 40015: insufficient permissions; 40016: the caller's IP is not on the allow-list.
            "40015" | "40016" => Class::Permission,
            "40003" | "40013" => Class::Auth,
            _ => super::dialect::by_status(status),
        }
    },
    // Its one failed status is "expired": renewed in its console, never by a restart.
    restart_cures: |_| false,
    restart_keys: &[],
    // GeeLark's envelope: `code` (a number), `msg`, `traceId`.
    error_fields: |v| {
        use super::http::text_field;
        (
            text_field(v, "code"),
            text_field(v, "msg"),
            text_field(v, "traceId"),
        )
    },
    advice: |code, action| {
        use super::advice::Advice;
        Some(match code {
            "43005" | "43010" | "43029" | "45002" | "47002" | "50000" => Advice::Retry,
            // "Unavailable, try later" on the start page; "backup data exception" in the global table.
            "43020" if action == Some("start") => Advice::Retry,
            "43020" => Advice::Person(
                "GeeLark reports a backup data exception for this phone: check it in GeeLark's console",
            ),
            "43006" => Advice::Person(
                "someone is connected to the phone remotely: end that session, then apply again",
            ),
            "43007" | "43021" => {
                Advice::Person("another user is using the phone: free it, then apply again")
            }
            "42001" | "47004" => super::advice::NO_SUCH_PHONE,
            "43004" => Advice::Person("the phone has expired: renew it in GeeLark's console"),
            "43008" => Advice::Person(
                "GeeLark's daily start limit is reached: apply again after 00:00 UTC",
            ),
            _ => return None,
        })
    },
};

/// Phones per `phone/list` page (the documented maximum).
const LIST_PAGE: usize = 100;

#[derive(Debug, Default, Deserialize)]
struct ListData {
    total: usize,
    #[serde(default)]
    items: Vec<ListItem>,
}

#[derive(Debug, Deserialize)]
struct ListItem {
    id: serde_json::Value,
    #[serde(default, deserialize_with = "lenient_opt_int")]
    status: Option<i64>,
    /// A name is only shown: any other type than text is left out, never an error.
    #[serde(default, rename = "serialName")]
    serial_name: Option<serde_json::Value>,
    /// The rest of the item: group, tags, remark ([`details::details_of`]).
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct SuccessDetail {
    id: serde_json::Value,
    #[serde(default, deserialize_with = "lenient_opt_int")]
    status: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct FailDetail {
    #[serde(deserialize_with = "lenient_int")]
    code: i64,
    id: serde_json::Value,
    #[serde(default)]
    msg: String,
}

/// A number, or a string holding one: the docs type codes as integers, but a lenient reader costs
/// nothing and survives a gateway that quotes them.
fn lenient_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("not an integer")),
        serde_json::Value::String(s) => s.trim().parse().map_err(serde::de::Error::custom),
        other => Err(serde::de::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

fn lenient_opt_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    lenient_int(d).map(Some)
}

/// The doc's table types `failDetails.id` as an integer and its example as a string: accept both.
fn id_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A listed phone's device identity (`equipmentInfo.imei`), which `phone/newOne` changes.
fn identity(
    rest: &serde_json::Map<String, serde_json::Value>,
) -> Option<Box<crate::state::Device>> {
    let imei = rest.get("equipmentInfo")?.get("imei")?.as_str()?;
    (!imei.is_empty()).then(|| {
        Box::new(crate::state::Device {
            image: None,
            identity: Some(crate::redact::text(imei)),
        })
    })
}

/// Envelope codes that ask the client to slow down and try again.
fn is_slow_down(status: u16, body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Code {
        #[serde(deserialize_with = "lenient_int")]
        code: i64,
    }
    (200..300).contains(&status)
        && serde_json::from_slice::<Code>(body).is_ok_and(|c| c.code == 40007 || c.code == 40017)
}

/// A fresh trace id: a dashed lowercase UUID v4 (the doc's header example), or 32 uppercase hex digits
/// (its JavaScript sample).
fn trace_id(format: TraceIdFormat) -> String {
    let id = super::new_uuid();
    match format {
        TraceIdFormat::Uuid => id,
        TraceIdFormat::Hex32 => id.replace('-', "").to_uppercase(),
    }
}

/// `sign` of key mode: uppercase hex SHA-256 of appId + traceId + ts + nonce + apiKey.
pub fn key_sign(app_id: &str, trace_id: &str, ts: &str, nonce: &str, api_key: &str) -> String {
    let mut h = Sha256::new();
    for part in [app_id, trace_id, ts, nonce, api_key] {
        h.update(part.as_bytes());
    }
    hex::encode_upper(h.finalize())
}

impl Geelark {
    pub(super) fn new(ctx: Ctx, trace_format: TraceIdFormat) -> Geelark {
        Geelark {
            ctx,
            trace_format,
            known: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn attempt(&self, body: &[u8]) -> Attempt {
        let trace = trace_id(self.trace_format);
        let mut headers = vec![("traceId".to_owned(), trace.clone())];
        match &self.ctx.auth {
            Auth::AppKey { app_id, api_key } => {
                let ts = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0)
                    .to_string();
                let nonce: String = trace.chars().take(6).collect();
                let sign = key_sign(app_id.expose(), &trace, &ts, &nonce, api_key.expose());
                headers.push(("appId".into(), app_id.expose().to_owned()));
                headers.push(("ts".into(), ts));
                headers.push(("nonce".into(), nonce));
                headers.push(("sign".into(), sign));
            }
            Auth::Token(t) | Auth::AkSk { ak: t, .. } => {
                headers.push(("Authorization".into(), format!("Bearer {}", t.expose())));
            }
        }
        Attempt {
            headers,
            body: Some(body.to_vec()),
        }
    }

    /// POST a JSON body and open the envelope; `data` when `code` is one of `accepted`.
    async fn post<T: serde::de::DeserializeOwned + Default>(
        &self,
        call: &Call,
        body: serde_json::Value,
        accepted: &[i64],
    ) -> Result<T, ProviderError> {
        let body = serde_json::to_vec(&body).expect("a JSON value serializes");
        let attempt = || self.attempt(&body);
        let reply: Reply = self.ctx.send(call, &attempt, &is_slow_down).await?;
        if !(200..300).contains(&reply.status) {
            return Err(self.ctx.err(HttpError::from_reply(call, &reply)));
        }
        let env: Envelope<T> = super::http::decode(call, &reply).map_err(|e| self.ctx.err(e))?;
        if accepted.contains(&env.code) {
            Ok(env.data.unwrap_or_default())
        } else {
            Err(self.ctx.err(HttpError::from_reply(call, &reply)))
        }
    }

    /// POST `{"ids": [...]}`; the batch data on success (code 0, 40006 partial or 40009 all failed).
    async fn post_ids(
        &self,
        route: &'static str,
        path: &str,
        ids: &[&str],
        mutating: bool,
    ) -> Result<BatchData, ProviderError> {
        let call = Call {
            dialect: &DIALECT,
            method: Method::POST,
            url: self.ctx.url(path),
            route,
            ids: ids.len(),
            mutating,
        };
        self.post(&call, json!({ "ids": ids }), &[0, 40006, 40009])
            .await
    }

    fn call_list(&self) -> Call {
        Call {
            dialect: &DIALECT,
            method: Method::POST,
            url: self.ctx.url("/open/v1/phone/list"),
            route: "POST /open/v1/phone/list",
            ids: 0,
            mutating: false,
        }
    }

    async fn list_page(&self, page: usize, size: usize) -> Result<ListData, ProviderError> {
        let call = self.call_list();
        self.post(&call, json!({ "page": page, "pageSize": size }), &[0])
            .await
    }

    /// A listed phone: its status, name and details.
    fn listed(&self, item: ListItem) -> super::Listed {
        let name = super::text_of(item.serial_name);
        super::Listed {
            id: id_text(&item.id),
            phone: ObservedPhone {
                device: identity(&item.rest),
                details: Some(details::details_of(
                    &serde_json::Value::Object(item.rest),
                    &self.ctx.proxies,
                )),
                ..ObservedPhone::power_only(ProviderKind::Geelark, item.status.unwrap_or(-1))
                    .named(name.as_deref())
            },
            name,
            notes: Vec::new(),
        }
    }

    /// How many phones the team holds: one list call of one item.
    pub(super) async fn count_all(&self) -> Result<usize, ProviderError> {
        Ok(self.list_page(1, 1).await?.total)
    }

    /// Every phone of the team, 100 a page.
    /// Every phone of the team (GeeLark has no properties to read: `_properties` is moot).
    pub(super) async fn list_all(
        &self,
        _properties: bool,
    ) -> Result<Vec<super::Listed>, ProviderError> {
        let first = self.list_page(1, LIST_PAGE).await?;
        let total = first.total;
        let pages = super::all_pages(
            first,
            total,
            LIST_PAGE,
            self.ctx.limits.concurrency,
            |p| p.items.len(),
            |i| self.list_page(i + 1, LIST_PAGE),
        )
        .await?;
        let listed = pages
            .into_iter()
            .flat_map(|p| p.items)
            .map(|item| self.listed(item));
        Ok(super::first_sightings(listed, total))
    }

    /// Read power states, 100 ids a call; 42001 (and ids the answer leaves out) mean "not found".
    /// Phones whose name is managed are read by `phone/list` with their ids instead, which answers
    /// the name beside the status at the same cost.
    pub(super) async fn observe(
        &self,
        targets: &[ObserveTarget],
    ) -> Result<HashMap<String, Observation>, ProviderError> {
        let named: Vec<&str> = targets
            .iter()
            .filter(|t| t.listed)
            .map(|t| t.id.as_str())
            .collect();
        let mut out = self.observe_named(&named).await?;
        let ids: Vec<&str> = targets
            .iter()
            .filter(|t| !t.listed)
            .map(|t| t.id.as_str())
            .collect();
        let chunks: Vec<&[&str]> = ids.chunks(self.ctx.limits.observe_batch()).collect();
        let pages: Vec<(&[&str], Result<BatchData, ProviderError>)> = stream::iter(chunks)
            .map(|c| async move {
                let r = self
                    .post_ids(
                        "POST /open/v1/phone/status",
                        "/open/v1/phone/status",
                        c,
                        false,
                    )
                    .await;
                self.ctx.count_read(c.len());
                (c, r)
            })
            .buffer_unordered(self.ctx.limits.concurrency)
            .collect()
            .await;
        out.reserve(ids.len());
        for (chunk, page) in pages {
            let page = match page {
                Ok(p) => p,
                Err(e) if e.is_fatal() => return Err(e),
                // A call that still fails after its retries makes its own phones unreadable.
                Err(e) => {
                    let reason = super::chain(&e);
                    for id in chunk {
                        out.insert((*id).to_owned(), Observation::unreadable(&reason));
                    }
                    continue;
                }
            };
            for s in page.success_details {
                let raw = s.status.unwrap_or(-1);
                super::record(
                    &mut out,
                    id_text(&s.id),
                    Observation::Found(ObservedPhone::power_only(ProviderKind::Geelark, raw)),
                );
            }
            for f in page.fail_details {
                // 42001 is "not found"; any other code is a failure to read that phone, not an answer.
                let obs = if f.code == 42001 {
                    Observation::NotFound
                } else {
                    Observation::unreadable(format!("GeeLark answered {}: {}", f.code, f.msg))
                };
                super::record(&mut out, id_text(&f.id), obs);
            }
        }
        for id in ids {
            out.entry(id.to_owned()).or_insert(Observation::NotFound);
        }
        Ok(out)
    }

    /// Read phones by `phone/list` with their ids (at most 100 a call): status and `serialName`.
    async fn observe_named(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, Observation>, ProviderError> {
        let size = self.ctx.limits.observe_batch().min(LIST_PAGE);
        let chunks: Vec<&[&str]> = ids.chunks(size).collect();
        let pages: Vec<(&[&str], Result<ListData, ProviderError>)> = stream::iter(chunks)
            .map(|c| async move {
                let call = Call {
                    dialect: &DIALECT,
                    method: Method::POST,
                    url: self.ctx.url("/open/v1/phone/list"),
                    route: "POST /open/v1/phone/list",
                    ids: c.len(),
                    mutating: false,
                };
                let body = json!({ "page": 1, "pageSize": c.len(), "ids": c });
                let r = self.post(&call, body, &[0]).await;
                self.ctx.count_read(c.len());
                (c, r)
            })
            .buffer_unordered(self.ctx.limits.concurrency)
            .collect()
            .await;
        let mut out: HashMap<String, Observation> = HashMap::with_capacity(ids.len());
        for (chunk, page) in pages {
            match page {
                Ok(p) => {
                    for item in p.items {
                        let id = id_text(&item.id);
                        // Only the ids asked for: a list that answers others says nothing of them.
                        if !chunk.contains(&id.as_str()) {
                            continue;
                        }
                        let phone = ObservedPhone::power_only(
                            ProviderKind::Geelark,
                            item.status.unwrap_or(-1),
                        )
                        .named(item.serial_name.as_ref().and_then(|v| v.as_str()));
                        let phone = ObservedPhone {
                            device: identity(&item.rest),
                            details: Some(details::details_of(
                                &serde_json::Value::Object(item.rest),
                                &self.ctx.proxies,
                            )),
                            ..phone
                        };
                        super::record(&mut out, id, Observation::Found(phone));
                    }
                    for id in chunk {
                        out.entry((*id).to_owned()).or_insert(Observation::NotFound);
                    }
                }
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    let reason = super::chain(&e);
                    for id in chunk {
                        out.insert((*id).to_owned(), Observation::unreadable(&reason));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Start or stop one batch; `failDetails` become per-phone failures with their code and message.
    pub(super) async fn submit(&self, batch: &Batch) -> Result<super::BatchResults, ProviderError> {
        let (route, path) = match batch.action {
            Action::SetGroup => return self.move_group(batch).await,
            Action::Rename | Action::SetTags | Action::SetRemark | Action::SetProxy => {
                return self.update_details(batch).await;
            }
            Action::Create => return self.create(batch).await,
            Action::Reset | Action::Restart => return self.one_by_one(batch).await,
            Action::Delete => return self.delete(batch).await,
            Action::Start => ("POST /open/v1/phone/start", "/open/v1/phone/start"),
            Action::Stop => ("POST /open/v1/phone/stop", "/open/v1/phone/stop"),
            Action::SetTraffic(_) | Action::SetProperties | Action::ClearRestartPending => {
                return Ok(super::unsupported(ProviderKind::Geelark, batch));
            }
        };
        self.per_phone(route, path, batch).await
    }

    /// POST a batch's ids to a route that answers `failDetails` per phone: each phone's result.
    async fn per_phone(
        &self,
        route: &'static str,
        path: &str,
        batch: &Batch,
    ) -> Result<super::BatchResults, ProviderError> {
        let ids: Vec<&str> = batch.ids().collect();
        let data = self.post_ids(route, path, &ids, true).await?;
        let failed: HashMap<String, FailDetail> = data
            .fail_details
            .into_iter()
            .map(|f| (id_text(&f.id), f))
            .collect();
        Ok(ids
            .into_iter()
            .map(|id| {
                let result = match failed.get(id) {
                    Some(f) => Err(PhoneError::from_provider(&f.code.to_string(), &f.msg)),
                    None => Ok(Accepted::Done),
                };
                (id.to_owned(), result)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_is_uppercase_sha256_of_the_concatenation() {
        // sha256("a" "b" "c" "d" "e") = sha256("abcde")
        assert_eq!(
            key_sign("a", "b", "c", "d", "e"),
            "36BBE50ED96841D10443BCB670D6554F0A34B761BE67EC9C4A8AD2C0C44CA42C"
        );
        let hex = trace_id(TraceIdFormat::Hex32);
        assert!(
            hex.len() == 32
                && hex
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        let uuid = trace_id(TraceIdFormat::Uuid);
        assert_eq!(
            (uuid.len(), &uuid[14..15], uuid.matches('-').count()),
            (36, "4", 4)
        );
        assert!(is_slow_down(200, br#"{"code":40007}"#));
        assert!(is_slow_down(200, br#"{"code":"40017","msg":"slow down"}"#));
        let env: Envelope<BatchData> = serde_json::from_str(
            r#"{"code":"40006","data":{"failDetails":[{"code":"43006","id":7,"msg":"m"}]}}"#,
        )
        .unwrap();
        assert_eq!(
            (env.code, env.data.unwrap().fail_details[0].code),
            (40006, 43006)
        );
        assert!(!is_slow_down(200, br#"{"code":0}"#));
    }
}
