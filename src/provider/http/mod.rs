//! The one HTTP layer every provider client goes through: one reqwest client, timeouts, per-route
//! request-rate windows, per-provider concurrency, retries (see [`super::retry`]), `-v` call logs, and
//! [`HttpError`] ([`error`]), which says method, URL, status, provider code and message, and request id.
//!
//! Mutating calls are never re-sent when their outcome is unknown (timeout or 5xx after the request went
//! out): the error says so and the apply executor reads the phones again instead.
//!
//! Hostile answers are bounded here: redirects are never followed (a 3xx is an error naming the status and
//! the `Location` host, so credentials and change bodies go only to the endpoint the spec names), bodies
//! are read up to [`MAX_BODY_BYTES`] and no further, and every text taken from an answer is cleaned by
//! [`crate::redact`] (secrets masked, control characters escaped) before anyone can print it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

use reqwest::Method;
use tokio::sync::Semaphore;

use super::retry::{self, Cause};

mod error;

#[cfg(test)]
use error::redact_url;
pub use error::{HttpError, HttpErrorKind, decode, error_fields, text_field};

/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one whole request (never more than what is left before the run's deadline).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest body excerpt kept in an error.
const BODY_EXCERPT: usize = 300;
/// Largest answer read, in bytes (32 MiB). A 200-phone CPH list page is about 200 KB and a GeeLark or
/// KooPhone status page far less; a larger answer is an error naming the call, and reading stops there,
/// so memory stays near this cap whatever a provider sends.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The shared client.
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    verbose: bool,
    /// The deadline of the operation under way (`--timeout` of a run, or of one `watch` tick): no call
    /// starts, waits or retries past it. Set per operation with [`Http::set_deadline`].
    deadline: std::sync::Mutex<Instant>,
    /// How long to wait before a retry.
    policy: retry::Policy,
}

impl Http {
    /// Build the one client of the process; every call ends by `deadline`.
    pub fn new(verbose: bool, deadline: Instant) -> anyhow::Result<Http> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A redirect would carry the credential headers and change bodies to a host the spec does
            // not name: 3xx answers come back to `send`, which refuses them.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("phonefleet/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Http {
            client,
            verbose,
            deadline: std::sync::Mutex::new(deadline),
            policy: retry::Policy::default(),
        })
    }

    /// The same client with another retry policy (tests make waits pass faster).
    pub fn with_policy(mut self, policy: retry::Policy) -> Http {
        self.policy = policy;
        self
    }

    /// Give the next operation its own deadline (a long-lived fleet handle runs many).
    pub fn set_deadline(&self, deadline: Instant) {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner()) = deadline;
    }

    fn deadline(&self) -> Instant {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Per-provider throttles: a request-rate window per API route and a cap on calls in flight.
#[derive(Debug)]
pub struct Throttle {
    provider: String,
    /// (window length, calls allowed in it): a minute and an hour, as the provider documents.
    limits: Vec<(Duration, usize)>,
    /// Per route, when its calls in the longest window went (tokio's clock, so a test can pause it).
    windows: Mutex<HashMap<String, VecDeque<tokio::time::Instant>>>,
    in_flight: Semaphore,
    /// Calls sent and not answered yet.
    waiting: std::sync::atomic::AtomicUsize,
    /// When the provider last answered (anything: an error is an answer too).
    last_answer: Mutex<Option<Instant>>,
    /// Tries so far by how they ended (`200`, `429`, `throttled`, `error`...), for `watch`'s metrics.
    answers: Mutex<std::collections::BTreeMap<String, u64>>,
}

/// What a provider's calls are doing now, for progress: a hang shows as calls in flight and a growing
/// time since the last answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Calls sent and not answered yet.
    pub in_flight: usize,
    /// Time since the provider last answered, if it ever did.
    pub since_answer: Option<Duration>,
}

impl Activity {
    /// `3 in flight, last answer 12s ago`, or nothing worth saying.
    pub fn describe(&self) -> Option<String> {
        if self.in_flight == 0 {
            return None;
        }
        Some(match self.since_answer {
            Some(d) => format!(
                "{} in flight, last answer {}s ago",
                self.in_flight,
                d.as_secs()
            ),
            None => format!("{} in flight, no answer yet", self.in_flight),
        })
    }
}

impl Throttle {
    /// A throttle for one provider.
    pub fn new(
        provider: &str,
        requests_per_minute: Option<u32>,
        requests_per_hour: Option<u32>,
        concurrency: usize,
    ) -> Throttle {
        let limits = [
            (Duration::from_secs(60), requests_per_minute),
            (Duration::from_secs(3600), requests_per_hour),
        ]
        .into_iter()
        .filter_map(|(window, n)| n.map(|n| (window, n.max(1) as usize)))
        .collect();
        Throttle {
            provider: provider.to_owned(),
            limits,
            windows: Mutex::new(HashMap::new()),
            in_flight: Semaphore::new(concurrency.max(1)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            last_answer: Mutex::new(None),
            answers: Mutex::new(Default::default()),
        }
    }

    /// Every try so far, counted by how it ended: the HTTP status, `throttled` (a "slow down" inside
    /// a 200), `error` (no answer) or `too_large`.
    pub fn answers(&self) -> std::collections::BTreeMap<String, u64> {
        self.answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Calls in flight and time since the last answer.
    pub fn activity(&self) -> Activity {
        let in_flight = self.waiting.load(std::sync::atomic::Ordering::Relaxed);
        let since_answer = self
            .last_answer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|t| t.elapsed());
        Activity {
            in_flight,
            since_answer,
        }
    }

    fn answered(&self) {
        *self.last_answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// Wait until one more request on `route` stays within every limit (so many a sliding minute, so
    /// many a sliding hour); false when that would be after `deadline`.
    async fn admit(&self, route: &str, deadline: Instant) -> bool {
        let Some(longest) = self.limits.iter().map(|(w, _)| *w).max() else {
            return true;
        };
        loop {
            let wait = {
                let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
                let q = windows.entry(route.to_owned()).or_default();
                let now = tokio::time::Instant::now();
                while q.front().is_some_and(|t| now.duration_since(*t) >= longest) {
                    q.pop_front();
                }
                // For each window that already holds `allowed` calls: the wait until the
                // `allowed`-th newest of them leaves it (no allocation: the hour's window is long).
                let waits = self.limits.iter().filter_map(|(window, allowed)| {
                    q.iter()
                        .rev()
                        .take_while(|t| now.duration_since(**t) < *window)
                        .nth(*allowed - 1)
                        .map(|t| window.saturating_sub(now.duration_since(*t)))
                });
                let wait = waits.max();
                if wait.is_none() {
                    q.push_back(now);
                }
                wait
            };
            match wait {
                None => return true,
                Some(d) if d >= deadline.saturating_duration_since(Instant::now()) => return false,
                Some(d) => tokio::time::sleep(d + Duration::from_millis(1)).await,
            }
        }
    }
}

/// A call counted in flight until it is answered or dropped (a run stopped mid-call counts it out too).
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(counter: &'a std::sync::atomic::AtomicUsize) -> InFlight<'a> {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One logical call, before each attempt's headers and body are made.
#[derive(Debug, Clone)]
pub struct Call {
    /// The dialect of the provider called: how its error answers read.
    pub dialect: &'static super::dialect::Dialect,
    /// HTTP method.
    pub method: Method,
    /// Full URL.
    pub url: reqwest::Url,
    /// Route template for logs and rate windows, e.g. `POST /open/v1/phone/stop`.
    pub route: &'static str,
    /// Number of phone ids in the request, for logs.
    pub ids: usize,
    /// Changes something at the provider: never re-sent when its outcome is unknown.
    pub mutating: bool,
}

impl Call {
    /// A read: `GET url`, for `ids` phones (0 for a listing), changing nothing.
    pub fn get(
        dialect: &'static super::dialect::Dialect,
        url: reqwest::Url,
        route: &'static str,
        ids: usize,
    ) -> Call {
        Call {
            dialect,
            method: Method::GET,
            url,
            route,
            ids,
            mutating: false,
        }
    }
}

/// Headers and body of one attempt (made fresh for each attempt: signatures and request ids change).
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    /// Header name and value pairs.
    pub headers: Vec<(String, String)>,
    /// Body bytes, sent as `application/json`.
    pub body: Option<Vec<u8>>,
}

/// An answer that is not a transport failure (2xx or 4xx; 5xx only for reads that ran out of retries).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Request id header, if any.
    pub request_id: Option<String>,
    /// Retries that preceded this answer.
    pub retries: u32,
}

/// Why reading an answer stopped.
enum ReadError {
    Transport(reqwest::Error),
    TooLarge,
}

/// Read a body up to [`MAX_BODY_BYTES`]; a larger one is refused as soon as it is known to be larger.
async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

const REQUEST_ID_HEADERS: &[&str] = &["x-request-id", "x-openstack-request-id", "traceid"];

impl Http {
    /// Send a call with retries; `attempt` makes each try's headers and body; `throttled` recognises a
    /// provider's in-body "slow down" answer (GeeLark 40007 with HTTP 200). Returns 2xx and 4xx answers
    /// to the caller, which knows the provider's error dialect.
    pub async fn send(
        &self,
        throttle: &Throttle,
        call: &Call,
        attempt: &(dyn Fn() -> Attempt + Sync),
        throttled: &(dyn Fn(u16, &[u8]) -> bool + Sync),
    ) -> Result<Reply, HttpError> {
        let mut retries = 0u32;
        let deadline = self.deadline();
        let out_of_time = |retries: u32, last: Option<&str>| {
            let mut detail = "the run's deadline passed (set with --timeout)".to_owned();
            if let Some(last) = last {
                detail.push_str(&format!("; the last try: {last}"));
            }
            HttpError::bare(HttpErrorKind::Deadline, call, detail, retries)
        };
        // Sleep before the next try, unless the deadline comes first; `-v` says which.
        let pause = |d: Duration, retries: u32, why: &'static str| {
            let fits = Instant::now() + d < deadline;
            if self.verbose {
                let wait = format!("{:.1}s", d.as_secs_f64());
                if fits {
                    tracing::info!(
                        "{}: {}: retry {} in {wait} ({why})",
                        throttle.provider,
                        call.route,
                        retries + 1
                    );
                } else {
                    tracing::info!(
                        "{}: {}: no retry: waiting {wait} ({why}) would pass the run's deadline",
                        throttle.provider,
                        call.route
                    );
                }
            }
            async move {
                if fits {
                    tokio::time::sleep(d).await;
                }
                fits
            }
        };
        // Errors and throttled answers are counted apart (see `retry::Policy`); a read's error budget
        // starts at its first error.
        let (mut errors, mut throttles) = (0u32, 0u32);
        let mut errors_since: Option<(Instant, Duration)> = None;
        let read_wait = |since: &mut Option<(Instant, Duration)>, errors: u32, cause: Cause| {
            let now = Instant::now();
            let (first, budget) = *since.get_or_insert_with(|| {
                (
                    now,
                    self.policy.budget(deadline.saturating_duration_since(now)),
                )
            });
            self.policy
                .read_delay(errors, cause, now.duration_since(first), budget)
        };
        loop {
            if !throttle.admit(call.route, deadline).await {
                return Err(out_of_time(
                    retries,
                    Some("waiting for the request-rate window"),
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let permit = match tokio::time::timeout(left, throttle.in_flight.acquire()).await {
                Ok(p) => p.expect("the semaphore is never closed"),
                Err(_) => return Err(out_of_time(retries, None)),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(out_of_time(retries, None));
            }
            let parts = attempt();
            let mut req = self
                .client
                .request(call.method.clone(), call.url.clone())
                .timeout(REQUEST_TIMEOUT.min(left));
            for (k, v) in &parts.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            if let Some(body) = parts.body {
                req = req.header("Content-Type", "application/json").body(body);
            }
            let started = Instant::now();
            let waiting = InFlight::new(&throttle.waiting);
            let result = async {
                let resp = req.send().await.map_err(ReadError::Transport)?;
                throttle.answered();
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let mut body = read_capped(resp).await?;
                crate::redact::secrets_in_bytes(&mut body);
                Ok::<_, ReadError>((status, headers, body))
            }
            .await;
            drop(waiting);
            drop(permit);
            let elapsed = started.elapsed();
            match result {
                Err(ReadError::TooLarge) => {
                    self.log(throttle, call, retries, "too large", elapsed);
                    let detail = format!(
                        "the answer is larger than {} MiB, the most phonefleet reads; reading stopped",
                        MAX_BODY_BYTES / (1024 * 1024)
                    );
                    let kind = if call.mutating {
                        HttpErrorKind::OutcomeUnknown
                    } else {
                        HttpErrorKind::TooLarge
                    };
                    return Err(HttpError::bare(kind, call, detail, retries));
                }
                Err(ReadError::Transport(e)) => {
                    self.log(throttle, call, retries, "error", elapsed);
                    let detail = transport_text(&e);
                    // A connection that never opened carried nothing: safe to try again even for a change.
                    let sent = !e.is_connect();
                    if call.mutating && sent {
                        return Err(HttpError::bare(
                            HttpErrorKind::OutcomeUnknown,
                            call,
                            detail,
                            retries,
                        ));
                    }
                    if Instant::now() >= deadline {
                        return Err(out_of_time(retries, Some(&detail)));
                    }
                    let wait = if call.mutating {
                        self.policy.delay(errors, Cause::Transport, None)
                    } else {
                        read_wait(&mut errors_since, errors, Cause::Transport)
                    };
                    errors += 1;
                    match wait {
                        Some(d) if pause(d, retries, "connection failed").await => {}
                        Some(_) => return Err(out_of_time(retries, Some(&detail))),
                        None => {
                            return Err(HttpError::bare(
                                HttpErrorKind::Transport,
                                call,
                                detail,
                                retries,
                            ));
                        }
                    }
                }
                Ok((status, headers, body)) => {
                    // Some providers say "slow down" inside a 200 (GeeLark's 40007): the log says so.
                    let slow_down = status == 429 || throttled(status, &body);
                    let outcome = if slow_down && status != 429 {
                        format!("{status} throttled")
                    } else {
                        status.to_string()
                    };
                    self.log(throttle, call, retries, &outcome, elapsed);
                    let request_id = REQUEST_ID_HEADERS.iter().find_map(|h| {
                        headers
                            .get(*h)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    });
                    let reply = Reply {
                        status,
                        body,
                        request_id,
                        retries,
                    };
                    if (300..400).contains(&status) {
                        let location = headers.get("location").and_then(|v| v.to_str().ok());
                        return Err(HttpError::redirect(call, status, location, retries));
                    }
                    if slow_down {
                        let after = headers
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(Duration::from_secs);
                        let (cause, why) = if status == 429 {
                            (Cause::Throttled, "throttled")
                        } else if after.is_some() {
                            (Cause::MinuteWindow, "throttled; Retry-After")
                        } else {
                            // An in-body "slow down" (GeeLark 40007/40017) is lifted with the next
                            // minute window.
                            (Cause::MinuteWindow, "throttled; next minute window")
                        };
                        // Asked to come back later: waited out as asked, never counted against the
                        // error budget; only the deadline ends it.
                        let d = self.policy.throttle_delay(throttles, cause, after);
                        throttles += 1;
                        if !pause(d, retries, why).await {
                            let mut e = HttpError::from_reply(call, &reply);
                            e.kind = HttpErrorKind::Throttled;
                            e.detail = "still throttled when the run's deadline came".into();
                            return Err(e);
                        }
                    } else if status >= 500 {
                        if call.mutating {
                            let mut e = HttpError::from_reply(call, &reply);
                            e.kind = HttpErrorKind::OutcomeUnknown;
                            e.detail = format!("HTTP {status} after the request was sent");
                            return Err(e);
                        }
                        let wait = read_wait(&mut errors_since, errors, Cause::ServerError);
                        errors += 1;
                        match wait {
                            Some(d) if pause(d, retries, "server error").await => {}
                            _ => return Err(HttpError::from_reply(call, &reply)),
                        }
                    } else {
                        return Ok(reply);
                    }
                }
            }
            retries += 1;
        }
    }

    /// One `-v` line per try: provider, route, how many phone ids it carried, the try's number when it
    /// is a retry, the answer and the time taken.
    fn log(
        &self,
        throttle: &Throttle,
        call: &Call,
        retries: u32,
        outcome: &str,
        elapsed: Duration,
    ) {
        let class = match outcome {
            "too large" => "too_large",
            o if o.ends_with(" throttled") => "throttled",
            o => o,
        };
        *throttle
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(class.to_owned())
            .or_default() += 1;
        if self.verbose {
            let attempt = if retries > 0 {
                format!(" attempt {}", retries + 1)
            } else {
                String::new()
            };
            tracing::info!(
                "{}: {} ids={}{attempt} -> {outcome} in {}ms",
                throttle.provider,
                call.route,
                call.ids,
                elapsed.as_millis()
            );
        }
    }
}

fn transport_text(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    match last {
        Some(s) => format!("{what}: {s}"),
        None => what.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_query_values_are_redacted() {
        let u = reqwest::Url::parse("https://u:p@x.test/a?limit=2&token=abc&sign=z").unwrap();
        let r = redact_url(&u);
        assert!(
            !r.contains("abc") && !r.contains(":p@") && !r.contains("sign=z"),
            "{r}"
        );
        assert!(r.contains("limit=2"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_window_spreads_calls_over_minutes_on_a_paused_clock() {
        let throttle = Throttle::new("gl", Some(3), None, 10);
        let deadline = Instant::now() + Duration::from_secs(3600);
        let start = tokio::time::Instant::now();
        let mut admitted_at = Vec::new();
        for _ in 0..7 {
            assert!(throttle.admit("POST /open/v1/phone/status", deadline).await);
            admitted_at.push(start.elapsed().as_secs());
        }
        // Three a minute: 0, 0, 0, then 60 (+1 ms), ..., then 120.
        assert_eq!(admitted_at, [0, 0, 0, 60, 60, 60, 120]);
        // Another route has its own window.
        assert!(throttle.admit("POST /open/v1/phone/stop", deadline).await);
        assert_eq!(start.elapsed().as_secs(), 120);
        // A wait past the deadline is refused at once.
        let soon = Instant::now() + Duration::from_secs(5);
        for _ in 0..2 {
            assert!(throttle.admit("POST /open/v1/phone/status", soon).await);
        }
        assert!(!throttle.admit("POST /open/v1/phone/status", soon).await);
    }

    #[tokio::test(start_paused = true)]
    async fn the_hourly_window_holds_too() {
        let throttle = Throttle::new("gl", Some(100), Some(4), 10);
        let deadline = Instant::now() + Duration::from_secs(7200);
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        for _ in 0..6 {
            assert!(throttle.admit("POST /open/v1/phone/stop", deadline).await);
            at.push(start.elapsed().as_secs());
        }
        assert_eq!(at, [0, 0, 0, 0, 3600, 3600]);
    }

    #[test]
    fn error_bodies_of_every_dialect() {
        use crate::provider::dialect;
        use crate::spec::ProviderKind::{Geelark, HuaweiCph, Koophone};
        let (c, m, _) = error_fields(
            dialect::of(HuaweiCph),
            br#"{"error_code":"CPS.0005","error_msg":"Phone not found."}"#,
        );
        assert_eq!(
            (c.as_deref(), m.as_deref()),
            (Some("CPS.0005"), Some("Phone not found."))
        );
        let (c, m, t) = error_fields(
            dialect::of(Geelark),
            br#"{"code":40014,"msg":"locked","traceId":"t1"}"#,
        );
        assert_eq!(
            (c.as_deref(), m.as_deref(), t.as_deref()),
            (Some("40014"), Some("locked"), Some("t1"))
        );
        // Each kind reads only its own fields.
        let (c, _, _) = error_fields(dialect::of(HuaweiCph), br#"{"code":40014}"#);
        assert_eq!(c, None);
        let (c, m, _) = error_fields(
            dialect::of(Koophone),
            br#"{"data":{"error_code":"KOOPHONE.API.1000","error_msg":"bad"}}"#,
        );
        assert_eq!(
            (c.as_deref(), m.as_deref()),
            (Some("KOOPHONE.API.1000"), Some("bad"))
        );
    }
}
