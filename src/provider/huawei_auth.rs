//! How a request to a Huawei Cloud API (CPH, KooPhone) is authenticated: an `X-Auth-Token`, or an
//! `SDK-HMAC-SHA256` signature ([`super::signer`]) over the headers Huawei's official SDKs send with
//! `BasicCredentials`: `Host`, `X-Sdk-Date`, `X-Project-Id` (when a project is given),
//! `X-Security-Token` (temporary keys), and the request's own headers (KooPhone's `x-request-id`).
//! Signed afresh for every attempt, so a retry carries a current date.

use std::time::SystemTime;

use super::http::Call;
use super::signer::{self, SignRequest};
use super::{Auth, Secret};

/// `headers` (the request's own) with the authentication headers added.
pub(super) fn headers(
    auth: &Auth,
    call: &Call,
    body: Option<&[u8]>,
    project_id: Option<&str>,
    mut headers: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let (ak, sk, security_token) = match auth {
        Auth::AkSk {
            ak,
            sk,
            security_token,
        } => (ak, sk, security_token.as_ref()),
        Auth::Token(t) | Auth::AppKey { api_key: t, .. } => {
            headers.push(("X-Auth-Token".into(), t.expose().to_owned()));
            return headers;
        }
    };
    sign(ak, sk, security_token, call, body, project_id, &mut headers);
    headers
}

fn sign(
    ak: &Secret,
    sk: &Secret,
    security_token: Option<&Secret>,
    call: &Call,
    body: Option<&[u8]>,
    project_id: Option<&str>,
    headers: &mut Vec<(String, String)>,
) {
    let host = match call.url.port() {
        Some(p) => format!("{}:{p}", call.url.host_str().unwrap_or_default()),
        None => call.url.host_str().unwrap_or_default().to_owned(),
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    headers.push(("Host".into(), host));
    headers.push(("X-Sdk-Date".into(), signer::sdk_date(now)));
    if let Some(p) = project_id {
        headers.push(("X-Project-Id".into(), p.to_owned()));
    }
    if let Some(t) = security_token {
        headers.push(("X-Security-Token".into(), t.expose().to_owned()));
    }
    let path = signer::percent_decode(call.url.path());
    let query: Vec<(String, String)> = call
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let req = SignRequest {
        method: call.method.as_str(),
        path: &path,
        query: &query,
        headers,
        body: body.unwrap_or_default(),
    };
    let auth = signer::authorization(ak.expose(), sk.expose(), &req);
    headers.push(("Authorization".into(), auth));
}
