//! KooPhone client (providers.md section 3 and 0.5): power state only, through
//! `POST /v1/instances/batch-query-status` (32 ids by default; newer docs say 100, so `limits.batch_size`
//! may raise it). Every request carries a fresh `x-request-id` and `X-Auth-Token` or an AK/SK signature
//! ([`super::huawei_auth`]). KooPhone offers no
//! start or stop API, so this client changes nothing.

use foldhash::{HashMap, HashMapExt};

use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::http::{Attempt, Call, HttpError};
use super::{Ctx, ObserveTarget, ProviderError};
use crate::spec::ProviderKind;
use crate::state::{Observation, ObservedPhone};

mod descriptor;
mod tasks;
pub use descriptor::DESCRIPTOR;

/// The KooPhone client.
#[derive(Debug)]
pub struct Koophone {
    pub(super) ctx: Ctx,
    /// Sent as `X-Project-Id` with AK/SK signing, when the spec gives one.
    project_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StatusResponse {
    #[serde(default)]
    data: Option<StatusData>,
    /// The page's own example puts the results at the top level: accept both shapes.
    #[serde(default)]
    status_results: Option<Vec<StatusResult>>,
}

#[derive(Debug, Deserialize)]
struct StatusData {
    #[serde(default)]
    status_results: Vec<StatusResult>,
}

#[derive(Debug, Deserialize)]
struct StatusResult {
    instance_id: String,
    status: i64,
}

/// KooPhone's dialect (providers.md 0.2, 0.6, 3; the Java SDK's `StatusResult`).
pub const DIALECT: super::dialect::Dialect = super::dialect::Dialect {
    power: |raw| match raw {
        2 => crate::state::Power::Running,
        1 | 5 => crate::state::Power::Stopped,
        3 | 4 | -2005 | -2006 => crate::state::Power::Transitioning,
        _ => crate::state::Power::Failed,
    },
    meaning: |raw| match raw {
        0 => "unknown",
        1 => "stopped",
        2 => "running",
        3 => "going offline",
        4 => "starting",
        5 => "shut down",
        // The per-instance state codes (see `state_code`).
        -2004 => "frozen, KOOPHONE.API.2004",
        -2005 => "restoring, KOOPHONE.API.2005",
        -2006 => "backing up, KOOPHONE.API.2006",
        _ => "undocumented status",
    },
    raw_for: |power| match power {
        crate::spec::PowerState::Running => 2,
        crate::spec::PowerState::Stopped => 1,
    },
    // Starting ends running; going offline ends stopped.
    toward: |raw| match raw {
        4 => Some(crate::spec::PowerState::Running),
        3 => Some(crate::spec::PowerState::Stopped),
        _ => None,
    },
    classify: |status, code| {
        use super::dialect::Class;
        // 1001 ("no permission on this instance") comes with HTTP 401 but speaks of one instance, not
        // of the credentials: the client asks id by id and blocks only that phone.
        if matches!(code, NO_PERMISSION | NOT_IN_TENANT) {
            Class::PerPhone
        } else {
            super::dialect::by_status(status)
        }
    },
    // Unknown or frozen: a person, not a reboot.
    restart_cures: |_| false,
    restart_keys: &[],
    // Huawei's fields; the list answer keeps them inside `data` (the Java SDK's model).
    error_fields: |v| {
        let (code, message, request_id) = super::dialect::huawei_error_fields(v);
        let data = v.get("data").unwrap_or(&serde_json::Value::Null);
        (
            code.or_else(|| super::http::text_field(data, "error_code")),
            message.or_else(|| super::http::text_field(data, "error_msg")),
            request_id,
        )
    },
    advice: |code, _action| {
        use super::advice::Advice;
        Some(match code {
            NOT_EXIST => super::advice::NO_SUCH_PHONE,
            FROZEN => Advice::Person(
                "the instance is frozen: resolve it (billing, abuse review) in KooPhone's console",
            ),
            RESTORING | BACKING_UP => Advice::Retry,
            NO_PERMISSION | NOT_IN_TENANT => Advice::Person(
                "the credentials have no permission on this instance, or it belongs to another tenant: \
                 check its id in the spec",
            ),
            "KOOPHONE.API.9999" => Advice::Retry,
            _ => return None,
        })
    },
};

const NOT_EXIST: &str = "KOOPHONE.API.4001";
/// Instances per `batch-query` page.
const LIST_PAGE: usize = 100;

/// Pages read at most when the list answer gives no `total_count` (100,000 instances).
const MAX_UNCOUNTED_PAGES: usize = 1_000;

#[derive(Debug, Deserialize)]
struct ListResponse {
    data: ListData,
}

#[derive(Debug, Deserialize)]
struct ListData {
    #[serde(default)]
    result: Vec<ListedInstance>,
    /// Absent when null (the Java SDK's model is NON_NULL): then pages are read until a short one.
    #[serde(default)]
    total_count: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct ListedInstance {
    instance_id: String,
    running_status: i64,
    #[serde(default)]
    instance_name: Option<serde_json::Value>,
    /// 0 normal, 1 frozen (`ListInstances`).
    #[serde(default)]
    frozen_status: Option<serde_json::Value>,
    #[serde(default)]
    backup_status: Option<serde_json::Value>,
    #[serde(default)]
    restore_status: Option<serde_json::Value>,
}

/// A status flag set (not 0) as a number or its text; anything else is read as not set (only shown).
fn flag(v: &Option<serde_json::Value>) -> Option<i64> {
    let n = match v.as_ref()? {
        serde_json::Value::Number(n) => n.as_i64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (n != 0).then_some(n)
}

impl ListedInstance {
    /// What a person adopting this instance should know: frozen, or a backup or restore under way.
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if flag(&self.frozen_status).is_some() {
            notes.push(
                "frozen (frozen_status 1): KooPhone refuses every change until it is unfrozen"
                    .into(),
            );
        }
        for (field, v, what) in [
            ("restore_status", &self.restore_status, "being restored"),
            ("backup_status", &self.backup_status, "being backed up"),
        ] {
            if let Some(v) = flag(v) {
                notes.push(format!(
                    "{what} ({field} {v}): changes wait until it is done"
                ));
            }
        }
        notes
    }
}

/// KooPhone codes that speak of one instance of a batch, not of the caller: the instance does not
/// exist (4001), the caller has no permission on it (1001, with HTTP 401), or it is not in this tenant
/// (1012). A batch refused with one of them is asked again id by id, so that only the offending phones
/// are blocked.
const PER_INSTANCE: &[&str] = &[
    NOT_EXIST,
    NO_PERMISSION,
    NOT_IN_TENANT,
    FROZEN,
    RESTORING,
    BACKING_UP,
];

/// The instance is frozen (HTTP 200; `api-koophone/ErrorCode.html`).
const FROZEN: &str = "KOOPHONE.API.2004";
/// The instance is being restored.
const RESTORING: &str = "KOOPHONE.API.2005";
/// The instance is being backed up.
const BACKING_UP: &str = "KOOPHONE.API.2006";

/// The status a per-instance state code stands for: no status number exists for these, so each is
/// given one of its own below zero (`-2004` frozen: needs a person; `-2005` restoring and `-2006`
/// backing up: wait), which the dialect names.
fn state_code(code: &str) -> Option<i64> {
    match code {
        FROZEN => Some(-2004),
        RESTORING => Some(-2005),
        BACKING_UP => Some(-2006),
        _ => None,
    }
}
/// "No permission on this instance" (HTTP 401), per KooPhone's error code page.
pub const NO_PERMISSION: &str = "KOOPHONE.API.1001";
/// "The instance is not in this tenant" (HTTP 200).
pub const NOT_IN_TENANT: &str = "KOOPHONE.API.1012";

enum Query {
    Found(Vec<StatusResult>),
    /// Refused for an instance of the batch: the code and the provider's message.
    Refused(String, String),
}

impl Koophone {
    /// The changes KooPhone offers: a restart, `POST /v1/instances/reboot` with up to 100 instance
    /// ids, all of which must be running (`KOOPHONE.API.5005` otherwise, for the whole call), and a
    /// reset, `POST /v1/instances/batch-reset` (up to 100 ids; its answer differs by doc page, so only
    /// its code is read). Both are confirmed by reading the instances running again.
    pub(super) async fn submit(
        &self,
        batch: &crate::plan::Batch,
    ) -> Result<super::BatchResults, ProviderError> {
        let (path, route) = match batch.action {
            crate::plan::Action::Restart => ("/v1/instances/reboot", "POST /v1/instances/reboot"),
            crate::plan::Action::Reset => (
                "/v1/instances/batch-reset",
                "POST /v1/instances/batch-reset",
            ),
            _ => return Ok(super::unsupported(ProviderKind::Koophone, batch)),
        };
        let ids: Vec<&str> = batch.ids().collect();
        let call = Call {
            dialect: &DIALECT,
            method: Method::POST,
            url: self.ctx.url(path),
            route,
            ids: ids.len(),
            mutating: true,
        };
        let body =
            serde_json::to_vec(&json!({ "instance_ids": ids })).expect("a JSON value serializes");
        let attempt = || self.attempt(&call, super::new_uuid(), Some(&body));
        let never = |_: u16, _: &[u8]| false;
        let reply = match self.ctx.send(&call, &attempt, &never).await {
            Ok(r) => r,
            Err(e) if e.is_fatal() || e.is_outcome_unknown() => return Err(e),
            Err(e) => {
                let pe = e.as_phone_error();
                return Ok(ids
                    .iter()
                    .map(|id| ((*id).to_owned(), Err(pe.clone())))
                    .collect());
            }
        };
        let (code, message, _) = super::http::error_fields(&DIALECT, &reply.body);
        if !(200..300).contains(&reply.status) || code.as_deref().is_some_and(|c| c != "0") {
            let e = super::PhoneError::from_provider(
                code.as_deref().unwrap_or("error"),
                message.as_deref().unwrap_or_default(),
            );
            return Ok(ids
                .iter()
                .map(|id| ((*id).to_owned(), Err(e.clone())))
                .collect());
        }
        // A reset answered with a task and a job per instance (KPDOC BatchReset.html) is followed
        // until its jobs end; an answer without them (the other doc page) is confirmed by status.
        let jobs = tasks::jobs_of(&reply.body);
        Ok(ids
            .iter()
            .map(|id| {
                let accepted = match jobs.iter().find(|(i, _, _)| i == id) {
                    Some((_, task, job)) if batch.action == crate::plan::Action::Reset => {
                        super::Accepted::Job(super::PendingJob {
                            phone_id: (*id).to_owned(),
                            request_id: task.clone(),
                            job_id: job.clone(),
                            request_size: jobs.len(),
                        })
                    }
                    _ => super::Accepted::Done,
                };
                ((*id).to_owned(), Ok(accepted))
            })
            .collect())
    }

    pub(super) fn new(ctx: Ctx, project_id: Option<String>) -> Koophone {
        Koophone { ctx, project_id }
    }

    /// One attempt's headers: a fresh `x-request-id`, and a token or a fresh AK/SK signature over it.
    fn attempt(&self, call: &Call, request_id: String, body: Option<&[u8]>) -> Attempt {
        Attempt {
            headers: super::huawei_auth::headers(
                &self.ctx.auth,
                call,
                body,
                self.project_id.as_deref(),
                vec![("x-request-id".into(), request_id)],
            ),
            body: body.map(<[u8]>::to_vec),
        }
    }

    async fn query(&self, ids: &[&str]) -> Result<Query, ProviderError> {
        let call = Call {
            dialect: &DIALECT,
            method: Method::POST,
            url: self.ctx.url("/v1/instances/batch-query-status"),
            route: "POST /v1/instances/batch-query-status",
            ids: ids.len(),
            mutating: false,
        };
        let body =
            serde_json::to_vec(&json!({ "instance_ids": ids })).expect("a JSON value serializes");
        let attempt = || self.attempt(&call, super::new_uuid(), Some(&body));
        let never = |_: u16, _: &[u8]| false;
        let reply = self.ctx.send(&call, &attempt, &never).await?;
        let (code, message, _) = super::http::error_fields(&DIALECT, &reply.body);
        if let Some(code) = code.as_deref().filter(|c| PER_INSTANCE.contains(c)) {
            let message = crate::redact::text(&message.unwrap_or_default());
            return Ok(Query::Refused(code.to_owned(), message));
        }
        // Error codes other than "0" come with HTTP 200 too.
        if !(200..300).contains(&reply.status) || code.as_deref().is_some_and(|c| c != "0") {
            return Err(self.ctx.err(HttpError::from_reply(&call, &reply)));
        }
        let resp: StatusResponse =
            super::http::decode(&call, &reply).map_err(|e| self.ctx.err(e))?;
        let results = match (resp.data, resp.status_results) {
            (Some(d), _) if !d.status_results.is_empty() => d.status_results,
            (_, Some(top)) => top,
            (Some(d), None) => d.status_results,
            (None, None) => Vec::new(),
        };
        Ok(Query::Found(results))
    }

    async fn list_page(&self, page_no: usize, page_size: usize) -> Result<ListData, ProviderError> {
        let request_id = super::new_uuid();
        // The docs list `x-request-id` as a query parameter of this API; it goes in both places.
        let call = Call::get(
            &DIALECT,
            self.ctx.url(&format!(
                "/v1/instances/batch-query?page_no={page_no}&page_size={page_size}&x-request-id={request_id}"
            )),
            "GET /v1/instances/batch-query",
            0,
        );
        let attempt = || self.attempt(&call, request_id.clone(), None);
        let never = |_: u16, _: &[u8]| false;
        let reply = self.ctx.send(&call, &attempt, &never).await?;
        let (code, _, _) = super::http::error_fields(&DIALECT, &reply.body);
        if !(200..300).contains(&reply.status) || code.as_deref().is_some_and(|c| c != "0") {
            return Err(self.ctx.err(HttpError::from_reply(&call, &reply)));
        }
        let resp: ListResponse = super::http::decode(&call, &reply).map_err(|e| self.ctx.err(e))?;
        Ok(resp.data)
    }

    /// How many instances the account holds: one list call of one item, or (when the answer gives no
    /// `total_count`) the whole account listed.
    pub(super) async fn count_all(&self) -> Result<usize, ProviderError> {
        match self.list_page(1, 1).await?.total_count {
            Some(n) => Ok(n),
            None => Ok(self.list_all(false).await?.len()),
        }
    }

    /// Every instance, 100 a page.
    /// Every instance of the tenant (no properties to read: `_properties` is moot).
    pub(super) async fn list_all(
        &self,
        _properties: bool,
    ) -> Result<Vec<super::Listed>, ProviderError> {
        let first = self.list_page(1, LIST_PAGE).await?;
        let total = first.total_count;
        let pages = match total {
            Some(total) => {
                super::all_pages(
                    first,
                    total,
                    LIST_PAGE,
                    self.ctx.limits.concurrency,
                    |p| p.result.len(),
                    |i| self.list_page(i + 1, LIST_PAGE),
                )
                .await?
            }
            // No count: one page after another until a short (or empty) one, bounded so that an
            // answer that never ends cannot keep the run paging.
            None => {
                let mut pages = vec![first];
                while pages.last().is_some_and(|p| p.result.len() >= LIST_PAGE)
                    && pages.len() < MAX_UNCOUNTED_PAGES
                {
                    let next = self.list_page(pages.len() + 1, LIST_PAGE).await?;
                    pages.push(next);
                }
                pages
            }
        };
        let total = total.unwrap_or_else(|| pages.iter().map(|p| p.result.len()).sum());
        let listed = pages
            .into_iter()
            .flat_map(|p| p.result)
            .map(|i| super::Listed {
                notes: i.notes(),
                phone: ObservedPhone::power_only(ProviderKind::Koophone, i.running_status),
                name: super::text_of(i.instance_name),
                id: i.instance_id,
            });
        Ok(super::first_sightings(listed, total))
    }

    /// Read power states; ids the answer leaves out are "not found". When a batch is refused for one of
    /// its instances ([`PER_INSTANCE`]), its ids are asked one by one: a missing instance is "not found",
    /// one refused for permission or tenancy is unreadable with KooPhone's message, and only those
    /// phones are blocked.
    pub(super) async fn observe(
        &self,
        targets: &[ObserveTarget],
    ) -> Result<HashMap<String, Observation>, ProviderError> {
        let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
        let chunks: Vec<&[&str]> = ids.chunks(self.ctx.limits.observe_batch()).collect();
        let answers: Vec<(&[&str], Result<Query, ProviderError>)> = stream::iter(chunks)
            .map(|c| async move {
                let r = self.query(c).await;
                self.ctx.count_read(c.len());
                (c, r)
            })
            .buffer_unordered(self.ctx.limits.concurrency)
            .collect()
            .await;
        let mut out = HashMap::with_capacity(ids.len());
        let record = |results: Vec<StatusResult>, out: &mut HashMap<String, Observation>| {
            for r in results {
                let obs =
                    Observation::Found(ObservedPhone::power_only(ProviderKind::Koophone, r.status));
                super::record(out, crate::redact::text(&r.instance_id), obs);
            }
        };
        for (chunk, answer) in answers {
            match answer {
                Ok(Query::Found(results)) => record(results, &mut out),
                Ok(Query::Refused(..)) => {
                    for id in chunk {
                        match self.query(&[id]).await {
                            Ok(Query::Found(results)) => record(results, &mut out),
                            Ok(Query::Refused(code, _)) if code == NOT_EXIST => {
                                out.insert((*id).to_owned(), Observation::NotFound);
                            }
                            Ok(Query::Refused(code, _)) if state_code(&code).is_some() => {
                                let raw = state_code(&code).unwrap_or_default();
                                let obs = ObservedPhone::power_only(ProviderKind::Koophone, raw);
                                out.insert((*id).to_owned(), Observation::Found(obs));
                            }
                            Ok(Query::Refused(code, message)) => {
                                let reason = format!("KooPhone answered {code}: {message}");
                                out.insert((*id).to_owned(), Observation::unreadable(reason));
                            }
                            Err(e) if e.is_fatal() => return Err(e),
                            Err(e) => {
                                out.insert(
                                    (*id).to_owned(),
                                    Observation::unreadable(super::chain(&e)),
                                );
                            }
                        }
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
        for id in ids {
            out.entry(id.to_owned()).or_insert(Observation::NotFound);
        }
        Ok(out)
    }
}
