//! `phonefleet simulate`: a local fake cloud speaking Huawei CPH, GeeLark and KooPhone at their real paths
//! and shapes on one port, stateful, with real-time transitions and seeded faults. Users try phonefleet
//! with it (and `--simulate`); every test stands on it; the benchmark measures against it.
//!
//! One axum fallback handler routes by path so that latency, statistics, authentication, throttling and
//! errors apply to every route the same way. Introspection: `GET /_sim/phones`, `GET /_sim/stats`; a
//! test bench's admin routes (loopback only) in [`admin`].

mod admin;
mod auth;
mod cph;
mod geelark;
mod geelark_pool;
mod geelark_proxy;
mod koophone;
mod route;
pub mod sandbox;
pub mod seed;
mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::provider::signer::percent_decode;
use crate::spec::ProviderKind;
use route::Route;
pub use route::is_mutating_route;
use world::World;
pub use world::{
    Busy, CallLog, CredentialSet, Fixture, FixtureCredentials, FixturePhone, FixtureStatus,
    JobError,
};

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Time from a call's arrival to its answer; the simulator's own work happens within it.
    pub latency: Duration,
    /// Duration of each transition (stopping, starting, jobs).
    pub transition: Duration,
    /// Share of calls answered 500/502/503.
    pub error_rate: f64,
    /// Share of calls answered as throttled.
    pub throttle_rate: f64,
    /// Seed of the fault dice and ids.
    pub seed: u64,
    /// Lose the answer of every change after making it (a 502), for tests of the client's recovery.
    /// Library only: the command line's `--error-rate` covers the random case.
    pub lose_answers_after_change: bool,
    /// Refuse the whole-account listings, as a sub-account without list permission sees them: GeeLark
    /// `phone/list` answers 40015, KooPhone `batch-query` answers `KOOPHONE.API.1001` (HTTP 401).
    pub refuse_listing: bool,
    /// After this many provider calls, accept every further call and never answer it (a hung provider).
    pub hang_after: Option<u64>,
    /// GeeLark's 40007 as documented carries no `Retry-After`: it is lifted "in the next minute"
    /// (`None`, the default). `Some(d)` adds `Retry-After: d` for tests and trials that should not wait
    /// for a wall-clock minute.
    pub geelark_retry_after: Option<Duration>,
    /// Every GeeLark call is answered with this envelope code and no data (HTTP 200): 40014 (the API is
    /// locked for two hours), 40017 (too many requests), 47002 (too many concurrent requests, or all
    /// devices in use) — GeeLark's documented codes that the dice do not play.
    pub geelark_code: Option<i64>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            latency: Duration::ZERO,
            transition: Duration::from_millis(1000),
            error_rate: 0.0,
            throttle_rate: 0.0,
            seed: 1,
            lose_answers_after_change: false,
            refuse_listing: false,
            hang_after: None,
            geelark_retry_after: None,
            geelark_code: None,
        }
    }
}

pub(crate) struct Shared {
    world: Mutex<World>,
    /// Changed while running by `POST /_sim/faults`.
    config: std::sync::RwLock<SimConfig>,
}

impl Shared {
    /// The settings in force for this call.
    fn config(&self) -> SimConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A running simulator; dropping it (or [`Simulator::stop`]) shuts the server down.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A parsed request.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) segs: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Req {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, JSON body, extra headers.
pub(crate) struct Resp {
    pub(crate) status: u16,
    /// The JSON body, serialized when the answer is made (typed bodies skip `Value`'s allocations).
    pub(crate) body: Vec<u8>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Resp {
    pub(crate) fn ok(body: impl serde::Serialize) -> Resp {
        Resp::status(200, body)
    }
    pub(crate) fn status(status: u16, body: impl serde::Serialize) -> Resp {
        Resp {
            status,
            body: serde_json::to_vec(&body).unwrap_or_default(),
            headers: Vec::new(),
        }
    }
    /// Huawei-style error body (`error_code`, `error_msg`).
    pub(crate) fn error(status: u16, code: &str, msg: &str) -> Resp {
        Resp::status(status, json!({ "error_code": code, "error_msg": msg }))
    }
}

/// What the fault dice decided for one call.
enum Fault {
    None,
    Throttle,
    ErrorBefore(u16),
    ErrorAfter(u16),
}

fn throttled(kind: ProviderKind, cfg: &SimConfig) -> Resp {
    match kind {
        // GeeLark says "slow down" inside a normal answer, lifted in the next minute; no `Retry-After`
        // is documented (GLD `Request_Instructions.md`), so none is sent unless a test asks for one.
        ProviderKind::Geelark => {
            let mut r = Resp::ok(
                json!({ "code": 40007, "msg": "too many requests, try again next minute" }),
            );
            if let Some(after) = cfg.geelark_retry_after {
                r.headers
                    .push(("Retry-After", after.as_secs().max(1).to_string()));
            }
            r
        }
        ProviderKind::HuaweiCph => {
            let mut r = Resp::error(
                429,
                "APIGW.0308",
                "The throttling threshold has been reached",
            );
            r.headers.push(("Retry-After", "1".into()));
            r
        }
        ProviderKind::Koophone => {
            let mut r = Resp::error(429, "KOOPHONE.API.9998", "too many requests");
            r.headers.push(("Retry-After", "1".into()));
            r
        }
    }
}

fn server_error(status: u16) -> Resp {
    Resp::error(status, "SIM.5000", "simulated server error")
}

fn dispatch(shared: &Shared, req: &Req) -> Resp {
    let route = Route::of(&req.method, &req.segs);
    let now = Instant::now();
    let mut world = shared.world.lock().unwrap_or_else(|p| p.into_inner());
    match route {
        Route::SimSetPhone => {
            return admin::set_phone(&mut world, &req.segs[2], &req.segs[3], &req.body);
        }
        Route::SimFaults => return Resp::ok(admin::faults_json(&shared.config())),
        Route::SimSetFaults => {
            let mut config = shared.config.write().unwrap_or_else(|p| p.into_inner());
            return admin::set_faults(&mut config, &req.body);
        }
        Route::SimPhones => {
            let phones: Vec<Value> = world.all_phones(now).iter().map(sim_phone_json).collect();
            return Resp::ok(Value::Array(phones));
        }
        Route::SimStats => {
            return Resp::ok(json!({ "total": world.total, "by_route": world.stats }));
        }
        Route::SimLog => return Resp::ok(&world.log),
        Route::Unknown => {
            return Resp::error(
                404,
                "APIGW.0101",
                "The API does not exist or has not been published in the environment",
            );
        }
        _ => {}
    }
    world.total += 1;
    *world.stats.entry(route.template().to_owned()).or_default() += 1;
    let kind = route.kind().expect("provider routes have a kind");
    if let Some(denied) = auth::check(&world.credentials, kind, req) {
        return denied;
    }
    let cfg = &shared.config();
    if let Some(refused) = persistent_fault(&mut world, cfg, route, req, now) {
        return refused;
    }
    if route.mutating() {
        record_call(&mut world, route, req, now);
    }
    let fault = if cfg.lose_answers_after_change && route.mutating() {
        Fault::ErrorAfter(502)
    } else {
        let rng = &mut world.rng;
        let throttle_roll: f64 = rng.random();
        let error_roll: f64 = rng.random();
        let status = [500u16, 502, 503][rng.random_range(0..3)];
        let after: bool = rng.random();
        if throttle_roll < cfg.throttle_rate {
            Fault::Throttle
        } else if error_roll < cfg.error_rate {
            if after && route.mutating() {
                Fault::ErrorAfter(status)
            } else {
                Fault::ErrorBefore(status)
            }
        } else {
            Fault::None
        }
    };
    match fault {
        Fault::Throttle => throttled(kind, cfg),
        Fault::ErrorBefore(s) => server_error(s),
        Fault::ErrorAfter(s) => {
            // The change is made, then the answer is lost.
            let _ = handle(&mut world, cfg, route, req, now);
            server_error(s)
        }
        Fault::None => handle(&mut world, cfg, route, req, now),
    }
}

/// Log a change call: its phones, and the jobs still running when it arrived.
fn record_call(world: &mut World, route: Route, req: &Req, now: Instant) {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let ids: Vec<String> = ["phone_ids", "ids"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_array))
        .map(|a| a.iter().filter_map(text).collect())
        .or_else(|| {
            body.get("phones").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|p| p.get("phone_id").and_then(text))
                    .collect()
            })
        })
        .or_else(|| {
            body.get("instance_ids")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(text).collect())
        })
        .or_else(|| {
            body.get("envIds")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(text).collect())
        })
        // One phone a call: GeeLark's detail update names it in `id`, CPH's rename in its path.
        .or_else(|| body.get("id").and_then(text).map(|id| vec![id]))
        .or_else(|| (route == Route::CphRename).then(|| req.segs[4..5].to_vec()))
        .unwrap_or_default();
    let running: Vec<&str> = world
        .jobs
        .values()
        .filter(|j| j.done_at > now)
        .map(|j| j.phone_id.as_str())
        .collect();
    let for_ids = running
        .iter()
        .filter(|p| ids.iter().any(|i| i == *p))
        .count();
    let entry = world::CallLog {
        route: route.template().to_owned(),
        jobs_running: running.len(),
        jobs_running_for_ids: for_ids,
        ids,
    };
    world.log.push(entry);
}

/// The faults that do not come from the dice: GeeLark's fixed codes, refused listings, and phones that
/// cannot be read.
fn persistent_fault(
    world: &mut World,
    cfg: &SimConfig,
    route: Route,
    req: &Req,
    now: Instant,
) -> Option<Resp> {
    if let (Some(code), Some(ProviderKind::Geelark)) = (cfg.geelark_code, route.kind()) {
        let msg = match code {
            40014 => "the hourly limit was exceeded: this API is locked for 2 hours",
            40017 => "too many requests",
            47002 => "too many concurrent requests",
            _ => "simulated error",
        };
        let mut r = Resp::ok(json!({ "code": code, "msg": msg, "traceId": "SIMTRACE" }));
        if code == 40017
            && let Some(after) = cfg.geelark_retry_after
        {
            r.headers
                .push(("Retry-After", after.as_secs().max(1).to_string()));
        }
        return Some(r);
    }
    match route {
        Route::GlList if cfg.refuse_listing => Some(Resp::ok(json!({
            "code": 40015, "msg": "no permission to call this API", "traceId": "SIMTRACE"
        }))),
        Route::KpList if cfg.refuse_listing => Some(Resp::error(
            401,
            "KOOPHONE.API.1001",
            "no permission on this instance",
        )),
        Route::CphDetail => {
            let id = req.segs.get(4)?;
            let bad = world.phone(ProviderKind::HuaweiCph, id, now)?.unreadable;
            bad.then(|| server_error(500))
        }
        Route::GlStatus | Route::KpStatus => {
            let body: Value = serde_json::from_slice(&req.body).ok()?;
            let key = if route == Route::GlStatus {
                "ids"
            } else {
                "instance_ids"
            };
            let kind = route.kind()?;
            // A KooPhone instance with a state code answers it for the whole call (HTTP 200).
            let state = (kind == ProviderKind::Koophone)
                .then(|| {
                    body.get(key)?
                        .as_array()?
                        .iter()
                        .find_map(|v| world.phone(kind, v.as_str()?, now)?.koophone_code.clone())
                })
                .flatten();
            if let Some(code) = state {
                return Some(Resp::error(200, &code, "the instance is not available now"));
            }
            let bad = body.get(key)?.as_array()?.iter().any(|v| {
                v.as_str()
                    .and_then(|id| world.phone(kind, id, now))
                    .is_some_and(|p| p.unreadable)
            });
            bad.then(|| match kind {
                ProviderKind::Koophone => {
                    Resp::error(401, "KOOPHONE.API.1001", "no permission on this instance")
                }
                _ => server_error(500),
            })
        }
        _ => None,
    }
}

fn handle(world: &mut World, cfg: &SimConfig, route: Route, req: &Req, now: Instant) -> Resp {
    match route {
        Route::CphList => cph::list(world, req, now),
        Route::CphDetail => cph::detail(world, req, now),
        Route::CphStop
        | Route::CphRestart
        | Route::CphReset
        | Route::CphProperty
        | Route::CphTraffic => cph::mutate(world, cfg, route, req, now),
        Route::CphRename => cph::rename(world, req, now),
        Route::CphJobs => cph::jobs(world, req, now),
        Route::CphImages => cph::images(world, req),
        Route::CphJob => cph::job(world, req, now),
        Route::GlStatus => geelark::status(world, req, now),
        Route::GlStart => geelark::start(world, cfg, req, now),
        Route::GlStop => geelark::stop(world, req, now),
        Route::GlList => geelark::list(world, req, now),
        Route::GlUpdate => geelark::update(world, req, now),
        Route::GlMoveGroup => geelark::move_group(world, req, now),
        Route::GlGroupList => geelark::registry_list(world, req, world::Registry::Group),
        Route::GlGroupAdd => geelark::registry_add(world, req, world::Registry::Group),
        Route::GlTagList => geelark::registry_list(world, req, world::Registry::Tag),
        Route::GlTagAdd => geelark::registry_add(world, req, world::Registry::Tag),
        Route::GlAddNew => geelark_pool::add_new(world, req, now),
        Route::GlDelete => geelark_pool::delete(world, req, now),
        Route::GlProxyList => geelark_proxy::list(world, req),
        Route::GlProxyAdd => geelark_proxy::add(world, req),
        Route::KpStatus => koophone::status(world, req, now),
        Route::KpList => koophone::list(world, req, now),
        Route::KpReboot => koophone::reboot(world, cfg, req, now),
        Route::KpReset => koophone::reset(world, cfg, req, now),
        Route::KpTask => koophone::task(world, req, now),
        Route::GlNewOne => geelark_pool::new_one(world, cfg, req, now),
        Route::GlRestart => geelark_pool::restart(world, cfg, req, now),
        // The simulator's own routes were answered above; an unknown one never comes this far.
        _ => Resp::error(404, "SIM.404", "not found"),
    }
}

pub(crate) fn sim_phone_json(p: &world::SimPhone) -> Value {
    let mut v = json!({
        "provider": p.kind.as_str(),
        "id": p.id,
        "status": p.status,
        "meaning": crate::state::meaning(p.kind, p.status),
    });
    if p.kind == ProviderKind::HuaweiCph {
        v["project_id"] = json!(p.project_id);
        v["traffic"] = json!(p.traffic);
        v["properties"] = Value::Object(p.properties.clone());
        if let Some(custom) = &p.custom_property {
            v["custom_property"] = json!(custom);
        }
    }
    if let Some(b) = p.busy {
        v["busy"] = json!(b);
    }
    if let Some(n) = &p.name {
        v["name"] = json!(n);
    }
    if p.resets > 0 {
        v["resets"] = json!(p.resets);
    }
    if let Some(i) = &p.image {
        v["image"] = json!(i);
    }
    if p.kind == ProviderKind::Geelark {
        v["group"] = json!(p.group);
        v["tags"] = json!(p.tags);
        v["remark"] = json!(p.remark);
        v["proxy_server"] = json!(p.proxy.as_ref().and_then(|x| x.get("server")));
    }
    v
}

/// Query strings may encode a space as '+'.
fn query_decode(s: &str) -> String {
    percent_decode(&s.replace('+', "%20"))
}

async fn serve(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    // The admin routes change the world: only from this machine, whatever address is listened on.
    if request.method() == Method::POST
        && request.uri().path().starts_with("/_sim/")
        && !peer.ip().is_loopback()
    {
        return (
            StatusCode::FORBIDDEN,
            "the simulator's admin routes answer loopback only",
        )
            .into_response();
    }
    let config = shared.config();
    // The call's latency runs from its arrival: the simulator's own work happens inside it, so that a
    // busy simulator does not add its service time to every call.
    let due = tokio::time::Instant::now() + config.latency;
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    let path = parts.uri.path().to_owned();
    let segs = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let query = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (query_decode(k), query_decode(v))
        })
        .collect();
    let req = Req {
        method: parts.method,
        path,
        segs,
        query,
        headers: parts.headers,
        body,
    };
    if let Some(n) = config.hang_after
        && !req.path.starts_with("/_sim/")
    {
        let total = shared.world.lock().unwrap_or_else(|p| p.into_inner()).total;
        if total >= n {
            // Accept, and never answer: the client's own deadline must end the call.
            std::future::pending::<()>().await;
        }
    }
    let resp = dispatch(&shared, &req);
    if !config.latency.is_zero() && !req.path.starts_with("/_sim/") {
        tokio::time::sleep_until(due).await;
    }
    let mut response = (
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        resp.body,
    )
        .into_response();
    for (k, v) in resp.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            response.headers_mut().insert(k, v);
        }
    }
    if let Some(id) = req.header("x-request-id").map(str::to_owned)
        && let Ok(v) = HeaderValue::from_str(&id)
    {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

impl Simulator {
    /// Start serving on `listen` (port 0 picks a free port).
    pub async fn start(
        listen: SocketAddr,
        fixture: Fixture,
        config: SimConfig,
    ) -> std::io::Result<Simulator> {
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(fixture, config.seed)),
            config: std::sync::RwLock::new(config),
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Simulator {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The fleet now, every transition finished, as a fixture.
    pub fn snapshot(&self) -> Fixture {
        self.shared
            .world
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .to_fixture()
    }

    /// Every change call so far, in arrival order, with the jobs running when it came.
    pub fn log(&self) -> Vec<CallLog> {
        let w = self.shared.world.lock().unwrap_or_else(|p| p.into_inner());
        w.log.clone()
    }

    /// Calls answered so far, per documented route.
    pub fn stats(&self) -> (u64, std::collections::BTreeMap<String, u64>) {
        let w = self.shared.world.lock().unwrap_or_else(|p| p.into_inner());
        (w.total, w.stats.clone())
    }

    /// Shut down and wait for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
