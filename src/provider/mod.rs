//! Provider clients: real HTTP to Huawei CPH, GeeLark and KooPhone, behind one [`Client`] that `plan` and
//! `apply` use without knowing the vendor. Two operations: [`Client::observe`] reads the state of a set
//! of phones; [`Client::submit`] sends one batch of one action and returns one result per phone
//! ([`Client::wait`] then finishes asynchronous jobs).
//!
//! Owns the typed [`ProviderError`]; credentials are [`credentials`]'. Does not decide what to change:
//! that is `plan`.

pub mod advice;
pub mod credentials;
pub mod dialect;
pub mod geelark;
pub mod http;
mod huawei_auth;
pub mod huawei_cph;
pub mod kind;
pub mod koophone;
pub mod retry;
pub mod signer;

use foldhash::{HashMap, HashSet, HashSetExt};
use std::sync::Arc;

use crate::capability::EffectiveLimits;
use crate::plan::Batch;
use crate::spec::{ProviderConfig, ProviderKind};
use crate::state::Observation;
pub use credentials::{Auth, Secret, resolve_auth};
pub use http::{Activity, Http, HttpError, HttpErrorKind};

/// What went wrong talking to a provider, as a caller can react to it.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Credential variables are not set.
    #[error("provider `{provider}`: {}", missing_vars(vars))]
    MissingCredentials {
        /// Provider name.
        provider: String,
        /// Every variable of the entry that is missing.
        vars: Vec<String>,
    },
    /// The provider refused the credentials.
    #[error("provider `{provider}`: the provider refused the credentials")]
    Auth {
        /// Provider name.
        provider: String,
        /// The call.
        #[source]
        source: Box<HttpError>,
    },
    /// The credentials were accepted but may not call this API (GeeLark 40015/40016, HTTP 403).
    #[error("provider `{provider}`: the credentials lack permission for this API")]
    Permission {
        /// Provider name.
        provider: String,
        /// The call.
        #[source]
        source: Box<HttpError>,
    },
    /// GeeLark locked the API for two hours (code 40014).
    #[error(
        "provider `{provider}`: GeeLark locked this API for two hours (40014: hourly request limit exceeded)"
    )]
    Locked {
        /// Provider name.
        provider: String,
        /// The call.
        #[source]
        source: Box<HttpError>,
    },
    /// The endpoint does not serve this provider's API (a gateway 404 such as `APIGW.0101`).
    #[error("provider `{provider}`: the endpoint does not serve this API (wrong host or path)")]
    Endpoint {
        /// Provider name.
        provider: String,
        /// The call.
        #[source]
        source: Box<HttpError>,
    },
    /// A call failed.
    #[error("provider `{provider}`: call failed")]
    Http {
        /// Provider name.
        provider: String,
        /// The call.
        #[source]
        source: Box<HttpError>,
    },
}

impl ProviderError {
    /// Wrap a failed call, classifying authentication and lock-out answers.
    pub fn from_http(provider: &str, kind: ProviderKind, source: HttpError) -> ProviderError {
        use dialect::Class;
        let provider = provider.to_owned();
        let code = source.code.clone().unwrap_or_default();
        let class = (dialect::of(kind).classify)(source.status, &code);
        let status_error = source.kind == HttpErrorKind::Status;
        let source = Box::new(source);
        match class {
            Class::Locked => ProviderError::Locked { provider, source },
            Class::Endpoint => ProviderError::Endpoint { provider, source },
            Class::Permission if status_error => ProviderError::Permission { provider, source },
            Class::Auth if status_error => ProviderError::Auth { provider, source },
            _ => ProviderError::Http { provider, source },
        }
    }

    /// Nothing more can be done against this provider in this run.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ProviderError::MissingCredentials { .. }
                | ProviderError::Auth { .. }
                | ProviderError::Permission { .. }
                | ProviderError::Locked { .. }
                | ProviderError::Endpoint { .. }
        )
    }

    /// A change was sent and its answer was lost: read the phones again before doing anything else.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, ProviderError::Http { source, .. } if source.kind == HttpErrorKind::OutcomeUnknown)
    }

    /// The per-phone form of this error, for reports.
    pub fn as_phone_error(&self) -> PhoneError {
        match self {
            ProviderError::MissingCredentials { vars, .. } => PhoneError {
                code: "missing-credentials".into(),
                message: missing_vars(vars),
            },
            ProviderError::Auth { source, .. }
            | ProviderError::Permission { source, .. }
            | ProviderError::Locked { source, .. }
            | ProviderError::Endpoint { source, .. }
            | ProviderError::Http { source, .. } => PhoneError {
                code: source
                    .code
                    .clone()
                    .or_else(|| source.status.map(|s| format!("HTTP {s}")))
                    .unwrap_or_else(|| match source.kind {
                        HttpErrorKind::OutcomeUnknown => "outcome-unknown".into(),
                        HttpErrorKind::Throttled => "throttled".into(),
                        _ => "transport".into(),
                    }),
                message: source.message.clone().unwrap_or_else(|| source.to_string()),
            },
        }
    }
}

impl crate::error::Hint for ProviderError {
    fn hint(&self) -> Option<String> {
        match self {
            ProviderError::MissingCredentials { vars, .. } => Some(format!(
                "{}; the spec names credential variables under `providers.<name>.credentials`",
                vars.iter()
                    .map(|v| format!("export {v}=..."))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            ProviderError::Auth { .. } => Some(
                "check the credential variables named in the spec; Huawei IAM tokens expire after 24 hours".into(),
            ),
            ProviderError::Permission { .. } => Some(
                "the credentials work but may not call this API: grant the account (or sub-account) \
                 permission for it, or add this machine's IP to the provider's allow-list"
                    .into(),
            ),
            ProviderError::Locked { .. } => Some(
                "wait two hours before calling this GeeLark API again, and lower `limits.requests_per_minute`".into(),
            ),
            ProviderError::Endpoint { .. } => Some(
                "check `endpoint` (or `region`) of this provider in the spec: the host answered that it has no such API".into(),
            ),
            ProviderError::Http { .. } => None,
        }
    }
}

/// A per-phone failure reported by a provider.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhoneError {
    /// Provider error code (`43006`, `CPS.0005`...) or a phonefleet code (`not-converged`).
    pub code: String,
    /// The provider's message.
    pub message: String,
}

impl PhoneError {
    /// A failure as a provider worded it: its code and message cleaned ([`crate::redact::text`]).
    pub fn from_provider(code: &str, message: &str) -> PhoneError {
        PhoneError {
            code: crate::redact::text(code),
            message: crate::redact::text(message),
        }
    }
}

/// `environment variable `A` is not set` / `environment variables `A` and `B` are not set`.
fn missing_vars(vars: &[String]) -> String {
    let quoted: Vec<String> = vars.iter().map(|v| format!("`{v}`")).collect();
    match quoted.as_slice() {
        [one] => format!("environment variable {one} is not set"),
        [rest @ .., last] => format!(
            "environment variables {} and {last} are not set",
            rest.join(", ")
        ),
        [] => "a credential variable is not set".to_owned(),
    }
}

/// Every phone of a batch the kind cannot make, refused as `unsupported`.
pub(crate) fn unsupported(kind: ProviderKind, batch: &Batch) -> BatchResults {
    batch
        .ids()
        .map(|id| {
            let e = PhoneError {
                code: "unsupported".into(),
                message: format!("{kind} cannot {}", batch.action.name()),
            };
            (id.to_owned(), Err(e))
        })
        .collect()
}

/// A rename whose phone carries no name (a forged or damaged plan): refused, never sent.
pub(crate) fn no_name() -> PhoneError {
    PhoneError {
        code: "no-name".into(),
        message: "the plan names no new name for this phone; run plan again".into(),
    }
}

/// A call whose phone carries no value to set (a forged or damaged plan): refused, never sent.
pub(crate) fn no_value(what: &str) -> PhoneError {
    PhoneError {
        code: "no-value".into(),
        message: format!("the plan names no {what} for this phone; run plan again"),
    }
}

/// One result per phone of a submitted batch.
pub type BatchResults = Vec<(String, Result<Accepted, PhoneError>)>;

/// A provider's asynchronous job for one phone (huawei-cph).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJob {
    /// Phone id.
    pub phone_id: String,
    /// `request_id` of the batch call.
    pub request_id: String,
    /// The job's id.
    pub job_id: String,
    /// How many jobs its request made (the job listing gives no count: it says how many pages to read).
    pub request_size: usize,
}

/// What one poll of jobs found.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    /// Jobs that finished, with their result.
    pub finished: Vec<(PendingJob, Result<(), PhoneError>)>,
    /// Why the poll (or part of it) failed after its retries; the unfinished jobs are polled again.
    pub failed_poll: Option<String>,
}

/// A phone's answer to a submitted batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Done (synchronous providers).
    Done,
    /// Accepted; finished when the job is.
    Job(PendingJob),
    /// Created, with the id the provider gave it.
    Created(String),
}

/// A phone found by listing the whole account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Phone id.
    pub id: String,
    /// What the listing (and, for CPH properties, the detail call) showed.
    pub phone: crate::state::ObservedPhone,
    /// The name the provider shows (CPH `phone_name`, GeeLark `serialName`, KooPhone
    /// `instance_name`), cleaned like any provider text.
    pub name: Option<String>,
    /// What the listing says that a spec cannot declare (KooPhone frozen, CPH `custom_property`
    /// keys), for a person reading an export.
    pub notes: Vec<String>,
}

/// A listed field that is only shown (a name): its text, or nothing when the provider sent another
/// type (never an error).
fn text_of(v: Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Phones listed page after page, each kept where it was first seen: a phone created while the pages
/// are read shifts them, and may show up twice.
/// `expected` is the provider's own count, only a hint: bounded, so that a wrong count cannot ask for
/// absurd memory up front.
pub(crate) fn first_sightings(
    listed: impl IntoIterator<Item = Listed>,
    expected: usize,
) -> Vec<Listed> {
    let capacity = expected.min(1 << 20);
    let mut seen = HashSet::with_capacity(capacity);
    let mut out = Vec::with_capacity(capacity);
    for mut l in listed {
        // Listed ids are shown (unmanaged phones, export): cleaned like any provider text.
        l.id = crate::redact::text(&l.id);
        l.name = l
            .name
            .as_deref()
            .map(crate::redact::text)
            .filter(|n| !n.is_empty());
        if seen.insert(l.id.clone()) {
            out.push(l);
        }
    }
    out
}

/// One phone to read, and whether its properties are needed (one detail call each on CPH).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObserveTarget {
    /// Phone id.
    pub id: String,
    /// Read the properties too.
    pub properties: bool,
    /// Read what the account's listing shows of it (its name; GeeLark: its group, tags, remark and
    /// device identity, by `phone/list` with its id instead of `phone/status`; CPH: its image and
    /// device identity, kept only for such phones).
    pub listed: bool,
}

impl ObserveTarget {
    /// What must be read of a declared phone to plan it ([`crate::attribute::target_for`]).
    pub fn for_phone(d: &crate::spec::DesiredPhone) -> ObserveTarget {
        crate::attribute::target_for(d)
    }
}

/// Shared parts of every client.
#[derive(Debug)]
pub struct Ctx {
    /// Provider name from the spec.
    pub name: String,
    /// Provider kind (for classifying errors).
    pub kind: ProviderKind,
    /// Base URL, no trailing slash.
    pub base: String,
    /// The process's HTTP layer.
    pub http: Arc<Http>,
    /// Rate window and in-flight cap.
    pub throttle: http::Throttle,
    /// Batch sizes and concurrency.
    pub limits: EffectiveLimits,
    /// Credentials.
    pub auth: Auth,
    /// Phones read so far in this run (for progress on a terminal).
    pub read: std::sync::atomic::AtomicUsize,
    /// The proxies the entry declares (GeeLark), by name, secrets read.
    pub proxies: Vec<(String, credentials::Proxy)>,
}

impl Ctx {
    /// Count `n` more phones read.
    pub fn count_read(&self, n: usize) {
        self.read.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// A failed call as this provider's error (auth and lock-out classified).
    pub fn err(&self, e: HttpError) -> ProviderError {
        ProviderError::from_http(&self.name, self.kind, e)
    }

    /// Send a call through the shared HTTP layer; `throttled` recognises in-body "slow down" answers.
    pub async fn send(
        &self,
        call: &http::Call,
        attempt: &(dyn Fn() -> http::Attempt + Sync),
        throttled: &(dyn Fn(u16, &[u8]) -> bool + Sync),
    ) -> Result<http::Reply, ProviderError> {
        self.http
            .send(&self.throttle, call, attempt, throttled)
            .await
            .map_err(|e| self.err(e))
    }

    /// `base` + `path_and_query` as a URL.
    pub fn url(&self, path_and_query: &str) -> reqwest::Url {
        reqwest::Url::parse(&format!("{}{path_and_query}", self.base))
            .expect("the endpoint was validated and paths are built from URL-safe parts")
    }
}

/// Where to send calls: the spec's endpoints and credentials, or the simulator.
#[derive(Debug, Clone)]
pub enum Target {
    /// Real providers.
    Spec,
    /// Every provider at this base URL, with placeholder credentials.
    Simulator(String),
}

/// A client for one provider of the spec: its vendor's client behind one interface
/// ([`kind::Vendor`]), made by its kind's descriptor.
#[derive(Debug)]
pub struct Client {
    kind: ProviderKind,
    vendor: Box<dyn kind::Vendor>,
}

impl Client {
    /// A client for provider `name` of the spec.
    pub fn connect(
        name: &str,
        config: &ProviderConfig,
        limits: EffectiveLimits,
        http: Arc<Http>,
        target: &Target,
    ) -> Result<Client, ProviderError> {
        let (base, auth, proxies) = match target {
            Target::Simulator(base) => (
                base.clone(),
                Auth::Token(Secret::new("simulated")),
                credentials::resolve_proxies(name, config, true)?,
            ),
            Target::Spec => {
                let base = crate::capability::endpoint_of(config)
                    .expect("validation requires a region or an endpoint");
                (
                    base,
                    resolve_auth(name, config)?,
                    credentials::resolve_proxies(name, config, false)?,
                )
            }
        };
        let ctx = Ctx {
            name: name.to_owned(),
            kind: config.kind,
            base: base.trim_end_matches('/').to_owned(),
            http,
            throttle: http::Throttle::new(
                name,
                limits.requests_per_minute,
                limits.requests_per_hour,
                limits.concurrency,
            ),
            limits,
            auth,
            read: std::sync::atomic::AtomicUsize::new(0),
            proxies,
        };
        Ok(Client {
            kind: config.kind,
            vendor: (kind::of(config.kind).connect)(ctx, config),
        })
    }

    fn ctx(&self) -> &Ctx {
        self.vendor.ctx()
    }

    /// The provider's kind.
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// The key of this account's plan files, derived from its credentials (see
    /// [`crate::plan::saved::PlanKey`]).
    pub fn plan_key(&self) -> crate::plan::saved::PlanKey {
        self.ctx().auth.plan_key()
    }

    /// Its calls in flight and the time since its provider last answered.
    pub fn activity(&self) -> Activity {
        self.ctx().throttle.activity()
    }

    /// Every try so far by how it ended (see [`http::Throttle::answers`]).
    pub fn answers(&self) -> std::collections::BTreeMap<String, u64> {
        self.ctx().throttle.answers()
    }

    /// Phones read so far by this client (every read counts: plan, staleness, confirmation).
    pub fn read_so_far(&self) -> usize {
        self.ctx().read.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The limits in force.
    pub fn limits(&self) -> &EffectiveLimits {
        &self.ctx().limits
    }

    /// Read the state of these phones; phones the provider does not know come back as `NotFound`.
    pub async fn observe(
        &self,
        targets: &[ObserveTarget],
    ) -> Result<HashMap<String, Observation>, ProviderError> {
        self.vendor.observe(targets).await
    }

    /// Every phone of the account (`export`); CPH properties need one detail call per phone.
    pub async fn list_all(&self, properties: bool) -> Result<Vec<Listed>, ProviderError> {
        self.vendor.list_all(properties).await
    }

    /// The phone images the account can use, when its kind lists them (CPH).
    pub async fn list_images(&self) -> Result<Option<Vec<String>>, ProviderError> {
        self.vendor.list_images().await
    }

    /// The account's phones whose name begins with `prefix` (a pool's members).
    pub async fn list_named(&self, prefix: &str) -> Result<Vec<Listed>, ProviderError> {
        self.vendor.list_named(prefix).await
    }

    /// How many phones the account holds, in one call.
    pub async fn count_all(&self) -> Result<usize, ProviderError> {
        self.vendor.count_all().await
    }

    /// Send one batch; one result per phone of the batch.
    pub async fn submit(&self, batch: &Batch) -> Result<BatchResults, ProviderError> {
        // The capability table is the one source of what a kind can do; a plan never asks for more.
        if !crate::capability::of(self.kind).supports(&batch.action) {
            return Ok(unsupported(self.kind, batch));
        }
        self.vendor.submit(batch).await
    }

    /// One poll of asynchronous jobs: those that finished (the others are still running).
    pub async fn poll(&self, jobs: &[PendingJob]) -> Result<Polled, ProviderError> {
        self.vendor.poll(jobs).await
    }
}

/// Every page of a paged listing: the first page (already read, holding the provider's `total`), then
/// pages 1, 2, ... (`fetch` takes the 0-based page index), read side by side in waves of `concurrency`.
/// The provider's total is only an upper bound: paging stops after a wave holding an empty or short
/// page, so a total of 10^12 neither pages forever nor sizes any allocation.
pub(crate) async fn all_pages<T, F, Fut>(
    first: T,
    total: usize,
    page_size: usize,
    concurrency: usize,
    len: impl Fn(&T) -> usize,
    fetch: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    use futures::stream::{self, StreamExt};
    let page_size = page_size.max(1);
    let pages = total.div_ceil(page_size);
    let mut ended = len(&first) < page_size;
    let mut out = vec![first];
    let mut next = 1;
    while !ended && next < pages {
        let wave = (next..pages.min(next + concurrency.max(1))).collect::<Vec<_>>();
        next += wave.len();
        let got: Vec<Result<T, ProviderError>> = stream::iter(wave)
            .map(&fetch)
            .buffered(concurrency.max(1))
            .collect()
            .await;
        for page in got {
            let page = page?;
            ended |= len(&page) < page_size;
            out.push(page);
        }
    }
    Ok(out)
}

/// Record what an answer says of one phone. A second, different answer about the same phone in one
/// read makes it ambiguous: unreadable (blocked in a plan, failed in an apply), never acted on.
pub(crate) fn record(out: &mut HashMap<String, Observation>, id: String, obs: Observation) {
    use std::collections::hash_map::Entry;
    match out.entry(id) {
        Entry::Vacant(v) => {
            v.insert(obs);
        }
        Entry::Occupied(mut o) => {
            if *o.get() != obs && !matches!(o.get(), Observation::Unreadable(_)) {
                let describe = |x: &Observation| match x {
                    Observation::Found(p) => format!("status {}", p.raw_status),
                    Observation::NotFound => "not found".to_owned(),
                    Observation::Unreadable(_) => "unreadable".to_owned(),
                };
                let reason = format!(
                    "ambiguous answer: the provider reported this phone twice, as {} and as {}",
                    describe(o.get()),
                    describe(&obs)
                );
                o.insert(Observation::unreadable(reason));
            }
        }
    }
}

/// An error with its causes, one line (`provider `x`: call failed: POST ...: HTTP 500`).
pub fn chain(e: &ProviderError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A fresh random UUID v4 in its dashed lowercase form (request ids, trace ids).
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
