//! [`HttpError`]: what went wrong with one call, said with its method, URL (secret query values
//! redacted), status, the provider's code and message, and request id; and reading those fields out of
//! the error bodies of every provider's dialect.

use std::fmt;

use reqwest::Method;

use super::{BODY_EXCERPT, Call, Reply};

/// What went wrong with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// The provider answered with an error status or an error code.
    Status,
    /// Could not reach the provider.
    Transport,
    /// A mutating request went out and no trustworthy answer came back.
    OutcomeUnknown,
    /// Still throttled after every retry.
    Throttled,
    /// The provider answered with a redirect (3xx), which is never followed.
    Redirect,
    /// The answer was larger than [`MAX_BODY_BYTES`].
    TooLarge,
    /// The run's deadline (`--timeout`) passed before the call could be made or finished.
    Deadline,
}

/// A failed call, with everything needed to find it in the provider's logs.
#[derive(Debug, Clone)]
pub struct HttpError {
    /// What kind of failure.
    pub kind: HttpErrorKind,
    /// Method.
    pub method: Method,
    /// URL with secret-looking query values removed.
    pub url: String,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Provider error code (`CPS.0005`, `40014`, `KOOPHONE.API.1001`).
    pub code: Option<String>,
    /// Provider error message.
    pub message: Option<String>,
    /// Request id header or body field.
    pub request_id: Option<String>,
    /// Short body excerpt or transport error text.
    pub detail: String,
    /// How many retries were made.
    pub retries: u32,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)?;
        match self.kind {
            HttpErrorKind::Transport => write!(f, ": {}", self.detail)?,
            HttpErrorKind::OutcomeUnknown => write!(f, ": outcome unknown ({})", self.detail)?,
            HttpErrorKind::Throttled => write!(f, ": still throttled")?,
            HttpErrorKind::Redirect => write!(f, ": {}", self.detail)?,
            HttpErrorKind::TooLarge => write!(f, ": {}", self.detail)?,
            HttpErrorKind::Deadline => write!(f, ": timed out: {}", self.detail)?,
            HttpErrorKind::Status => {}
        }
        if let Some(s) = self.status {
            let reason = reqwest::StatusCode::from_u16(s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("");
            write!(f, ": HTTP {s} {reason}")?;
        }
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, ", {c}: {m}")?,
            (Some(c), None) => write!(f, ", code {c}")?,
            (None, Some(m)) => write!(f, ", {m}")?,
            (None, None) if self.kind == HttpErrorKind::Status && !self.detail.is_empty() => {
                write!(f, ", body: {}", self.detail)?
            }
            (None, None) => {}
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if self.retries > 0 {
            write!(
                f,
                " after {} retr{}",
                self.retries,
                if self.retries == 1 { "y" } else { "ies" }
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpError {}

impl HttpError {
    /// An error built from an answer the provider considers failed.
    pub fn from_reply(call: &Call, reply: &Reply) -> HttpError {
        let (code, message, body_request_id) = error_fields(call.dialect, &reply.body);
        HttpError {
            kind: HttpErrorKind::Status,
            method: call.method.clone(),
            url: redact_url(&call.url),
            status: Some(reply.status),
            code: code.map(|c| crate::redact::text(&c)),
            message: message.map(|m| crate::redact::text(&m)),
            request_id: reply
                .request_id
                .clone()
                .or(body_request_id)
                .map(|r| crate::redact::text(&r)),
            detail: excerpt(&reply.body),
            retries: reply.retries,
        }
    }

    /// An answer that could not be understood.
    pub fn malformed(call: &Call, reply: &Reply, why: &str) -> HttpError {
        let mut e = HttpError::from_reply(call, reply);
        let why = crate::redact::text(why);
        e.detail = format!("{why}; body: {}", excerpt(&reply.body));
        e.code.get_or_insert_with(|| "malformed-response".into());
        e.message.get_or_insert(why);
        e
    }

    pub(super) fn bare(
        kind: HttpErrorKind,
        call: &Call,
        detail: String,
        retries: u32,
    ) -> HttpError {
        HttpError {
            kind,
            method: call.method.clone(),
            url: redact_url(&call.url),
            status: None,
            code: None,
            message: None,
            request_id: None,
            detail: crate::redact::text(&detail),
            retries,
        }
    }

    /// A redirect that was not followed, naming the status and where it pointed.
    pub(super) fn redirect(
        call: &Call,
        status: u16,
        location: Option<&str>,
        retries: u32,
    ) -> HttpError {
        let host = location
            .and_then(|l| call.url.join(l).ok())
            .map(|u| match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => "(no host)".to_owned(),
            })
            .unwrap_or_else(|| "(no Location header)".to_owned());
        let mut e = HttpError::bare(
            HttpErrorKind::Redirect,
            call,
            format!(
                "the provider redirected the call (HTTP {status}) to `{host}`; phonefleet does not \
                 follow redirects: check the endpoint in the spec"
            ),
            retries,
        );
        e.status = Some(status);
        e.code = Some(format!("HTTP {status}"));
        e
    }
}

/// Decode a successful answer's JSON, or say what was wrong with it.
// Same error type as `Http::send`, which callers wrap at once into a boxed `ProviderError`.
#[allow(clippy::result_large_err)]
pub fn decode<T: serde::de::DeserializeOwned>(call: &Call, reply: &Reply) -> Result<T, HttpError> {
    serde_json::from_slice(&reply.body)
        .map_err(|e| HttpError::malformed(call, reply, &format!("unexpected JSON: {e}")))
}

/// A provider's code, message and request id in an error body, read the way its dialect says.
pub fn error_fields(
    dialect: &super::super::dialect::Dialect,
    body: &[u8],
) -> super::super::dialect::ErrorFields {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => (dialect.error_fields)(&v),
        Err(_) => (None, None, None),
    }
}

/// A field of an error body as text (a string, or a number such as GeeLark's codes); empty is none.
pub fn text_field(obj: &serde_json::Value, key: &str) -> Option<String> {
    obj.get(key).and_then(|x| match x {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(BODY_EXCERPT * 4)]);
    let s = s.trim();
    let s = if s.chars().count() > BODY_EXCERPT {
        let cut: String = s.chars().take(BODY_EXCERPT).collect();
        format!("{cut}...")
    } else {
        s.to_owned()
    };
    crate::redact::text(&s)
}

/// Remove values of query parameters whose names suggest secrets.
pub(super) fn redact_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let secret = ["token", "sign", "key", "secret", "password", "signature"]
                    .iter()
                    .any(|s| k.to_ascii_lowercase().contains(s));
                (
                    k.into_owned(),
                    if secret {
                        "REDACTED".into()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let _ = u.set_password(None);
    u.to_string()
}
