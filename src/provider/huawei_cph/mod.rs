//! Huawei Cloud CPH client (providers.md section 1 and 0.5).
//!
//! Reads: `GET /v1/{project_id}/cloud-phone/phones` pages of 200 (only as many as needed to find the
//! declared phones), and `GET .../phones/{id}` only for phones whose spec declares properties.
//! Changes: batch-update-property, phones-traffic, batch-stop, batch-restart (which also powers on a stopped
//! phone); all asynchronous, finished through `GET .../jobs?request_ids=` (20 request ids a call, fewer
//! under `--max-batch`): see [`jobs`]. Renames (`names: manage`): one `PUT .../phones/{id}` a phone,
//! without a job ([`rename`]).
//! Auth: `X-Auth-Token`, or AK/SK signing (`SDK-HMAC-SHA256`) with `X-Security-Token` for temporary keys
//! ([`super::huawei_auth`]).

use foldhash::{HashMap, HashMapExt, HashSet};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::http::{Attempt, Call, HttpError, Reply};
use super::{Accepted, Ctx, ObserveTarget, PendingJob, PhoneError, ProviderError};
use crate::plan::{Action, Batch};
use crate::spec::{Properties, ProviderKind, Traffic};
use crate::state::{self, Observation, ObservedPhone};

mod descriptor;
mod images;
mod jobs;
pub use descriptor::DESCRIPTOR;
mod rename;

/// The CPH client.
#[derive(Debug)]
pub struct HuaweiCph {
    pub(super) ctx: Ctx,
    project_id: String,
    /// List page size in use: 200, or 100 once the service has refused 200 (older API versions).
    page: AtomicUsize,
    /// The project's phone count from the latest list page, or [`UNKNOWN`].
    count: AtomicUsize,
}

/// CPH's dialect (providers.md 0.2, 0.4, 0.6; API gateway error codes).
pub const DIALECT: super::dialect::Dialect = super::dialect::Dialect {
    power: |raw| match raw {
        2 => state::Power::Running,
        8 => state::Power::Stopped,
        0 | 1 | 3 | 4 | 7 => state::Power::Transitioning,
        _ => state::Power::Failed,
    },
    meaning: |raw| match raw {
        0 | 1 => "creating",
        2 => "running",
        3 => "resetting",
        4 => "restarting",
        6 => "frozen",
        7 => "stopping",
        8 => "stopped",
        -5 => "reset failed",
        -6 => "restart failed",
        -7 => "phone abnormal",
        -8 => "creation failed",
        -9 => "stop failed",
        _ => "undocumented status",
    },
    raw_for: |power| match power {
        crate::spec::PowerState::Running => 2,
        crate::spec::PowerState::Stopped => 8,
    },
    // Creating, resetting and restarting end running; stopping ends stopped.
    toward: |raw| match raw {
        0 | 1 | 3 | 4 => Some(crate::spec::PowerState::Running),
        7 => Some(crate::spec::PowerState::Stopped),
        _ => None,
    },
    classify: |status, code| {
        use super::dialect::Class;
        // A 404 from Huawei's API gateway (APIGW.0101: no such API) means a wrong host or path.
        if status == Some(404) && code.starts_with("APIGW.") {
            Class::Endpoint
        } else if code.starts_with("APIGW.0301") || code == "CPS.0001" {
            Class::Auth
        } else {
            super::dialect::by_status(status)
        }
    },
    // reset failed, restart failed, phone abnormal, stop failed (not frozen, not a failed creation).
    restart_cures: |raw| matches!(raw, -5 | -6 | -7 | -9),
    restart_keys: &["com.cph.mainkeys", "disable.status.bar"],
    error_fields: super::dialect::huawei_error_fields,
    advice: |code, _action| {
        use super::advice::Advice;
        Some(match code {
            "CPS.0003" => Advice::Retry,
            "CPS.0004" | "CPS.0005" => super::advice::NO_SUCH_PHONE,
            "CPS.0001" => Advice::Person(
                "the credentials have no permission on this project: grant it in IAM or use other credentials",
            ),
            "CPS.0006" | "CPS.0007" | "CPS.0008" => Advice::Person(
                "the Huawei Cloud account is restricted (arrears, frozen or not verified): resolve it in the console",
            ),
            c if c.starts_with("APIGW.0301") => Advice::Person(
                "the provider refused the credentials: check the variables the spec names",
            ),
            _ => return None,
        })
    },
};

/// The page size older CPH versions accept (`limit` 1–100).
const OLD_PAGE_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
struct ListResponse {
    #[serde(default)]
    count: Option<usize>,
    #[serde(default)]
    phones: Vec<ListedPhone>,
}

#[derive(Debug, Deserialize)]
struct ListedPhone {
    phone_id: String,
    status: i64,
    #[serde(default)]
    traffic_type: Option<String>,
    /// Only shown (export): any other type than text is left out, never an error.
    #[serde(default)]
    phone_name: Option<serde_json::Value>,
    /// The image the phone runs (compared with a declared `image`).
    #[serde(default)]
    image_id: Option<serde_json::Value>,
    /// Its device identity: a reset gives it another.
    #[serde(default)]
    imei: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct DetailResponse {
    status: i64,
    #[serde(default)]
    traffic_type: Option<String>,
    #[serde(default)]
    property: Option<String>,
    /// Set beside `property` by other tools (PySDK `show_cloud_phone_detail_response.py`: a map of
    /// text); phonefleet never writes it, and only an export names its keys.
    #[serde(default)]
    custom_property: Option<serde_json::Value>,
    #[serde(default)]
    phone_name: Option<serde_json::Value>,
    #[serde(default)]
    image_id: Option<serde_json::Value>,
    #[serde(default)]
    imei: Option<serde_json::Value>,
}

/// The keys of a `custom_property` answer ([`custom_map`]), cleaned for showing.
fn custom_keys(map: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    map.keys().map(|k| crate::redact::text(k)).collect()
}

/// A `custom_property` answer as a map: a map, or a string holding one (as `property` is); anything
/// else is an empty one.
fn custom_map(v: Option<&serde_json::Value>) -> serde_json::Map<String, serde_json::Value> {
    match v {
        Some(serde_json::Value::Object(m)) => m.clone(),
        Some(serde_json::Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        _ => serde_json::Map::new(),
    }
}

/// What one detail answer showed, and its `custom_property` keys.
type Detail = (Observation, Vec<String>);

/// A detail answer: the phone, what it showed, and its `custom_property` keys.
type Detailed = (String, Observation, Vec<String>);

/// Decode a CPH `property` string (a JSON object as a string) into string values. An absent or empty
/// string is no properties; anything else that is not a JSON object is an error (an empty map would
/// plan writes over values nobody could read).
pub fn parse_property(text: Option<&str>) -> Result<Properties, String> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Properties::new());
    };
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
        Ok(map) => Ok(map
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                // Shown in plans and saved in plan files: a secret echoed here is masked. Control
                // characters stay (values are compared with the spec) and are quoted when shown.
                (
                    crate::redact::secrets(&k).into_owned(),
                    crate::redact::secrets(&s).into_owned(),
                )
            })
            .collect()),
        Err(e) => Err(format!(
            "the phone's `property` answer is not a JSON object ({e}), so its properties are unknown"
        )),
    }
}

fn observed(
    status: i64,
    traffic: Option<&str>,
    properties: Option<Properties>,
    (name, image): (Option<&serde_json::Value>, Option<&serde_json::Value>),
) -> ObservedPhone {
    ObservedPhone {
        raw_status: status,
        power: state::normalise(ProviderKind::HuaweiCph, status),
        traffic: traffic.and_then(Traffic::parse),
        properties,
        name: None,
        restart_pending: Vec::new(),
        details: None,
        device: text(image).map(|image| {
            Box::new(state::Device {
                image: Some(image),
                identity: None,
            })
        }),
    }
    .named(name.and_then(serde_json::Value::as_str))
}

/// A text field of an answer, cleaned; nothing when it is empty or not text.
fn text(v: Option<&serde_json::Value>) -> Option<String> {
    v.and_then(serde_json::Value::as_str)
        .map(crate::redact::text)
        .filter(|t| !t.is_empty())
}

/// The mark phonefleet keeps in a phone's `custom_property` when it set properties that wait for a
/// restart: the keys, comma-separated.
pub const RESTART_PENDING: &str = "phonefleet.restart_pending";

/// The keys a `custom_property` answer ([`custom_map`]) marks as waiting for a restart.
fn pending_keys(map: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    map.get(RESTART_PENDING)
        .and_then(serde_json::Value::as_str)
        .map(|s| {
            s.split(',')
                .map(|k| crate::redact::text(k.trim()))
                .filter(|k| !k.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Move the phones of a list page that are still `missing` into `out`; the image and identity of those
/// in `device` only (a declared image, a reset), so that 100,000 observations stay small.
fn take_found(
    page: ListResponse,
    missing: &mut HashSet<&str>,
    device: &HashSet<&str>,
    out: &mut HashMap<String, Observation>,
) {
    for p in page.phones {
        // A declared phone seen again (pages shift while they are read) must say the same thing.
        if missing.remove(p.phone_id.as_str()) || out.contains_key(&p.phone_id) {
            let wanted = device.contains(p.phone_id.as_str());
            let mut obs = observed(
                p.status,
                p.traffic_type.as_deref(),
                None,
                (
                    p.phone_name.as_ref(),
                    p.image_id.as_ref().filter(|_| wanted),
                ),
            );
            if let Some(identity) = text(p.imei.as_ref().filter(|_| wanted)) {
                obs.device.get_or_insert_default().identity = Some(identity);
            }
            super::record(out, p.phone_id, Observation::Found(obs));
        }
    }
}

/// `count` not yet known.
const UNKNOWN: usize = usize::MAX;

impl HuaweiCph {
    pub(super) fn new(ctx: Ctx, project_id: String) -> HuaweiCph {
        let page = AtomicUsize::new(ctx.limits.observe_batch());
        HuaweiCph {
            ctx,
            project_id,
            page,
            count: AtomicUsize::new(UNKNOWN),
        }
    }

    /// The project's phone count as the last list page gave it.
    fn known_count(&self) -> Option<usize> {
        Some(self.count.load(Ordering::Relaxed)).filter(|c| *c != UNKNOWN)
    }

    fn path(&self, rest: &str) -> String {
        format!("/v1/{}/cloud-phone/{rest}", self.project_id)
    }

    /// Headers (and the body) of one attempt: a token, or a fresh AK/SK signature.
    fn attempt(&self, call: &Call, body: Option<&[u8]>) -> Attempt {
        Attempt {
            headers: super::huawei_auth::headers(
                &self.ctx.auth,
                call,
                body,
                Some(&self.project_id),
                Vec::new(),
            ),
            body: body.map(<[u8]>::to_vec),
        }
    }

    async fn call(&self, call: Call, body: Option<Vec<u8>>) -> Result<Reply, ProviderError> {
        let attempt = || self.attempt(&call, body.as_deref());
        let never = |_: u16, _: &[u8]| false;
        let reply = self.ctx.send(&call, &attempt, &never).await?;
        if !(200..300).contains(&reply.status) {
            return Err(self.ctx.err(HttpError::from_reply(&call, &reply)));
        }
        Ok(reply)
    }

    fn decode<T: for<'de> Deserialize<'de>>(
        &self,
        call: &Call,
        reply: &Reply,
    ) -> Result<T, ProviderError> {
        serde_json::from_slice(&reply.body).map_err(|e| {
            self.ctx.err(HttpError::malformed(
                call,
                reply,
                &format!("unexpected JSON: {e}"),
            ))
        })
    }

    /// List page size: 200 (the documented maximum), or less under `--max-batch` / `limits.batch_size`.
    fn page(&self) -> usize {
        self.page.load(Ordering::Relaxed)
    }

    async fn list_page(&self, offset: usize) -> Result<ListResponse, ProviderError> {
        self.list(offset, self.page()).await
    }

    /// One list page. Older CPH versions accept `limit` up to 100 only: when the service refuses a larger
    /// page as an invalid limit (`CPS.0002`), phonefleet uses 100 from then on.
    async fn list(&self, offset: usize, limit: usize) -> Result<ListResponse, ProviderError> {
        match self.list_once(offset, limit).await {
            Err(ProviderError::Http { source, .. })
                if limit > OLD_PAGE_LIMIT && source.code.as_deref() == Some("CPS.0002") =>
            {
                self.page.store(OLD_PAGE_LIMIT, Ordering::Relaxed);
                self.list_once(offset, OLD_PAGE_LIMIT).await
            }
            other => other,
        }
    }

    async fn list_once(&self, offset: usize, limit: usize) -> Result<ListResponse, ProviderError> {
        let path = format!("{}?offset={offset}&limit={limit}", self.path("phones"));
        let call = Call::get(
            &DIALECT,
            self.ctx.url(&path),
            "GET /v1/{project_id}/cloud-phone/phones",
            0,
        );
        let reply = self.call(call.clone(), None).await?;
        let page: ListResponse = self.decode(&call, &reply)?;
        if let Some(count) = page.count {
            self.count.store(count, Ordering::Relaxed);
        }
        Ok(page)
    }

    /// One phone's detail, and the keys of its `custom_property`.
    async fn detail(&self, id: &str) -> Result<Detail, ProviderError> {
        let call = Call::get(
            &DIALECT,
            self.ctx.url(&self.path(&format!("phones/{id}"))),
            "GET /v1/{project_id}/cloud-phone/phones/{phone_id}",
            1,
        );
        match self.call(call.clone(), None).await {
            Ok(reply) => {
                let d: DetailResponse = self.decode(&call, &reply)?;
                // Parsed once: the keys an export names, and phonefleet's restart mark.
                let custom_map = custom_map(d.custom_property.as_ref());
                let custom = custom_keys(&custom_map);
                let pending = pending_keys(&custom_map);
                let observation = match parse_property(d.property.as_deref()) {
                    Ok(props) => Observation::Found(ObservedPhone {
                        restart_pending: pending,
                        device: Some(Box::new(state::Device {
                            image: text(d.image_id.as_ref()),
                            identity: text(d.imei.as_ref()),
                        })),
                        ..observed(
                            d.status,
                            d.traffic_type.as_deref(),
                            Some({
                                // Masked from here on, in every message of the run.
                                crate::redact::private_properties(&props);
                                props
                            }),
                            (d.phone_name.as_ref(), d.image_id.as_ref()),
                        )
                    }),
                    Err(why) => Observation::unreadable(why),
                };
                Ok((observation, custom))
            }
            // Only CPH's own "phone not found" codes mean that; a 404 from the API gateway (`APIGW.*`:
            // no such API at this host or path) is an endpoint error, classified in `ProviderError`.
            Err(ProviderError::Http { source, .. })
                if matches!(source.code.as_deref(), Some("CPS.0005" | "CPS.0004")) =>
            {
                Ok((Observation::NotFound, Vec::new()))
            }
            Err(e) => Err(e),
        }
    }

    /// Read the declared phones: list pages until every phone without properties is found (or the list
    /// ends), and one detail call per phone whose properties are managed.
    pub(super) async fn observe(
        &self,
        targets: &[ObserveTarget],
    ) -> Result<HashMap<String, Observation>, ProviderError> {
        let missing: HashSet<&str> = targets
            .iter()
            .filter(|t| !t.properties)
            .map(|t| t.id.as_str())
            .collect();
        // `listed`: what the list shows beyond the status (its image and device identity).
        let device: HashSet<&str> = targets
            .iter()
            .filter(|t| t.listed)
            .map(|t| t.id.as_str())
            .collect();
        let with_properties: Vec<&str> = targets
            .iter()
            .filter(|t| t.properties)
            .map(|t| t.id.as_str())
            .collect();
        // Phones with properties are read by detail beside the list pages (the throttle keeps the calls
        // in flight within the provider's concurrency); phones the pages leave to detail calls follow.
        let (pages, details) = futures::join!(
            self.read_pages(missing, &device),
            self.details(with_properties)
        );
        let (mut out, rest) = pages?;
        let drop_custom = |d: Vec<Detailed>| d.into_iter().map(|(id, o, _)| (id, o));
        out.extend(drop_custom(details?));
        out.extend(drop_custom(self.details(rest).await?));
        Ok(out)
    }

    /// Find `missing` phones in list pages, until each is found or the list ends; returns what was
    /// found (and not found), and the phones that are cheaper to read by detail than by more pages.
    async fn read_pages<'a>(
        &self,
        mut missing: HashSet<&'a str>,
        device: &HashSet<&str>,
    ) -> Result<(HashMap<String, Observation>, Vec<&'a str>), ProviderError> {
        let mut out = HashMap::with_capacity(missing.len());
        let mut by_detail = Vec::new();
        if missing.is_empty() {
            return Ok((out, by_detail));
        }
        let wave = self.ctx.limits.concurrency;
        // Later reads of a run (confirming changes, re-reading after a lost answer) know the
        // project's size. The first does not: it asks for as many pages as the declared phones fill,
        // so that a project holding just those phones is read in one round, and learns the size from
        // the answers.
        let mut count = self.known_count();
        // Offsets to read before `next`: the first wave, and the rest of pages that came back short.
        let mut todo: VecDeque<usize> = VecDeque::new();
        let mut next = 0;
        if count.is_none() {
            let page = self.page();
            let first = missing.len().div_ceil(page).min(wave);
            todo.extend((0..first).map(|i| i * page));
            next = first * page;
        }
        let mut decide = true;
        while !missing.is_empty() {
            let limit = self.page();
            if let Some(c) = count {
                // Once the size is known: the rest by whichever needs fewer calls, the remaining
                // pages or one detail per phone.
                let pages_left = todo.len() + c.saturating_sub(next).div_ceil(limit);
                if std::mem::take(&mut decide) && missing.len() < pages_left {
                    by_detail.extend(missing.drain());
                    break;
                }
                // Follows the count if phones are added meanwhile.
                while todo.len() < wave && next < c {
                    todo.push_back(next);
                    next += limit;
                }
            }
            if todo.is_empty() {
                break;
            }
            let offsets: Vec<usize> = todo.drain(..todo.len().min(wave)).collect();
            let pages: Vec<(usize, Result<ListResponse, ProviderError>)> = stream::iter(offsets)
                .map(|o| async move { (o, self.list(o, limit).await) })
                .buffered(wave)
                .collect()
                .await;
            let mut end = 0;
            let mut short = Vec::new();
            let mut failed = None;
            let mut any_phones = false;
            for (offset, p) in pages {
                let p = match p {
                    Ok(p) => p,
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => {
                        failed = Some(e);
                        continue;
                    }
                };
                let got = p.phones.len();
                any_phones |= got > 0;
                end = end.max(offset + got);
                // A page shorter than asked (a service with smaller pages) leaves the rest of its
                // range unread, unless the list ends there.
                if got < limit && got > 0 {
                    short.push(offset + got);
                }
                let before = missing.len();
                take_found(p, &mut missing, device, &mut out);
                self.ctx.count_read(before - missing.len());
            }
            if failed.is_some() {
                // A page that still fails after its retries: the phones not found so far are read one
                // by one instead, so that one bad page costs only what it must.
                by_detail.extend(missing.drain());
                break;
            }
            let c = self.known_count().unwrap_or(end);
            // Paging stops at an empty round whatever the provider's count says: a count of 10^15
            // cannot keep it going.
            if !any_phones {
                break;
            }
            count = Some(c);
            todo.extend(short.into_iter().filter(|o| *o < c));
        }
        self.ctx.count_read(missing.len());
        for id in missing {
            out.insert(id.to_owned(), Observation::NotFound);
        }
        Ok((out, by_detail))
    }

    /// One detail call per phone, up to the provider's concurrency. A phone whose call fails (after
    /// retries) is unreadable on its own; only an error that stops the whole provider (credentials,
    /// endpoint) fails the read.
    async fn details(&self, ids: Vec<&str>) -> Result<Vec<Detailed>, ProviderError> {
        let answers: Vec<(String, Result<Detail, ProviderError>)> = stream::iter(ids)
            .map(|id| async move {
                let r = self.detail(id).await;
                self.ctx.count_read(1);
                (id.to_owned(), r)
            })
            .buffer_unordered(self.ctx.limits.concurrency)
            .collect()
            .await;
        answers
            .into_iter()
            .map(|(id, obs)| match obs {
                Ok((o, custom)) => Ok((id, o, custom)),
                Err(e) if e.is_fatal() => Err(e),
                Err(e) => Ok((id, Observation::unreadable(super::chain(&e)), Vec::new())),
            })
            .collect()
    }

    /// How many phones the project holds: one list call of one item.
    pub(super) async fn count_all(&self) -> Result<usize, ProviderError> {
        let page = self.list(0, 1).await?;
        Ok(page.count.unwrap_or(page.phones.len()))
    }

    /// Every phone of the project, pages read side by side; with `properties`, one detail call each.
    pub(super) async fn list_all(
        &self,
        properties: bool,
    ) -> Result<Vec<super::Listed>, ProviderError> {
        let first = self.list_page(0).await?;
        let count = first.count.unwrap_or(first.phones.len());
        let page = self.page();
        let pages = super::all_pages(
            first,
            count,
            page,
            self.ctx.limits.concurrency,
            // Only an empty page ends a CPH listing: some services answer shorter pages than asked.
            |p| if p.phones.is_empty() { 0 } else { page },
            |i| self.list_page(i * page),
        )
        .await?;
        let listed = pages
            .into_iter()
            .flat_map(|p| p.phones)
            .map(|p| super::Listed {
                phone: observed(
                    p.status,
                    p.traffic_type.as_deref(),
                    None,
                    (p.phone_name.as_ref(), p.image_id.as_ref()),
                ),
                name: super::text_of(p.phone_name),
                notes: Vec::new(),
                id: p.phone_id,
            });
        let mut out = super::first_sightings(listed, count);
        if properties {
            let ids: Vec<&str> = out.iter().map(|l| l.id.as_str()).collect();
            let mut found: HashMap<String, Detail> = self
                .details(ids)
                .await?
                .into_iter()
                .map(|(id, o, custom)| (id, (o, custom)))
                .collect();
            for l in &mut out {
                match found.remove(&l.id) {
                    Some((Observation::Found(o), custom)) => {
                        l.phone = o;
                        if !custom.is_empty() {
                            l.notes.push(format!(
                                "custom_property (not managed by phonefleet): {}",
                                custom.join(", ")
                            ));
                        }
                    }
                    // An export is a spec people adopt: a phone whose properties could not be read is
                    // not written as a phone without properties.
                    Some((Observation::Unreadable(why), _)) => {
                        return Err(self.ctx.err(HttpError {
                            kind: super::HttpErrorKind::Status,
                            method: Method::GET,
                            url: self
                                .ctx
                                .url(&self.path(&format!("phones/{}", l.id)))
                                .to_string(),
                            status: None,
                            code: Some("unreadable".into()),
                            message: Some(format!(
                                "the properties of phone {} could not be read: {why}",
                                l.id
                            )),
                            request_id: None,
                            detail: String::new(),
                            retries: 0,
                        }));
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_strings() {
        let p = parse_property(Some(r#"{"a":"1","b":2}"#)).unwrap();
        assert_eq!(p.get("a").map(String::as_str), Some("1"));
        assert_eq!(p.get("b").map(String::as_str), Some("2"));
        assert!(parse_property(Some("")).unwrap().is_empty());
        assert!(parse_property(None).unwrap().is_empty());
        let e = parse_property(Some("not json")).unwrap_err();
        assert!(e.contains("not a JSON object"), "{e}");
        assert!(parse_property(Some("[1,2]")).is_err());
    }
}
