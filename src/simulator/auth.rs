//! Authentication as each provider checks it: CPH `X-Auth-Token` or an `SDK-HMAC-SHA256` signature,
//! GeeLark `traceId` plus Bearer or key-mode `sign`, KooPhone `x-request-id` plus `X-Auth-Token` or a
//! signature.
//! Secrets are checked only when the fixture gives them; otherwise any credential of the right shape passes.

use serde_json::json;

use super::world::FixtureCredentials;
use super::{Req, Resp};
use crate::provider::geelark::key_sign;
use crate::provider::signer::{self, SignRequest};
use crate::spec::ProviderKind;

/// `None` when the request may proceed; the refusal otherwise.
pub(super) fn check(creds: &FixtureCredentials, kind: ProviderKind, req: &Req) -> Option<Resp> {
    match kind {
        ProviderKind::HuaweiCph => cph(creds, req),
        ProviderKind::Geelark => geelark(creds, req),
        ProviderKind::Koophone => koophone(creds, req),
    }
}

fn cph_denied(why: &str) -> Option<Resp> {
    Some(Resp::error(
        401,
        "APIGW.0301",
        &format!("Incorrect IAM authentication information: {why}"),
    ))
}

/// An `SDK-HMAC-SHA256` signature checked against the keys of `set` (any well-formed one passes when the
/// fixture gives none): `None` when the request carries no `Authorization` header.
fn signature(set: &super::world::CredentialSet, req: &Req) -> Option<Result<(), &'static str>> {
    let auth = req.header("authorization")?;
    let Some(parsed) = signer::parse_authorization(auth) else {
        return Some(Err("unsupported Authorization header"));
    };
    let Some(date) = req.header("x-sdk-date") else {
        return Some(Err("X-Sdk-Date is missing"));
    };
    if !parsed.signed_headers.iter().any(|h| h == "x-sdk-date") {
        return Some(Err("X-Sdk-Date must be signed"));
    }
    let (Some(ak), Some(sk)) = (set.ak.as_deref(), set.sk.as_deref()) else {
        return Some(Ok(()));
    };
    if parsed.access != ak {
        return Some(Err("unknown access key"));
    }
    if let Some(want) = set.security_token.as_deref()
        && req.header("x-security-token") != Some(want)
    {
        return Some(Err(
            "X-Security-Token is missing or wrong for this temporary key",
        ));
    }
    let headers: Vec<(String, String)> = parsed
        .signed_headers
        .iter()
        .map(|h| (h.clone(), req.header(h).unwrap_or_default().to_owned()))
        .collect();
    let sreq = SignRequest {
        method: req.method.as_str(),
        path: &req.path_decoded(),
        query: &req.query,
        headers: &headers,
        body: &req.body,
    };
    let expected = signer::signature(
        sk,
        date,
        &signer::canonical_request(&sreq, &parsed.signed_headers),
    );
    Some(if expected == parsed.signature {
        Ok(())
    } else {
        Err("signature mismatch")
    })
}

/// A token checked against the fixture's: `Err` with why it is refused.
fn token(set: &super::world::CredentialSet, got: Option<&str>, header: &str) -> Result<(), String> {
    match (got, set.token.as_deref()) {
        (None, _) => Err(format!("no {header} or Authorization header")),
        (Some(got), Some(want)) if got != want => Err("the token is not valid".into()),
        (Some(_), Some(_)) => Ok(()),
        (Some(_), None) if set.ak.is_some() => {
            Err("this account only accepts AK/SK signatures".into())
        }
        (Some(_), None) => Ok(()),
    }
}

fn cph(creds: &FixtureCredentials, req: &Req) -> Option<Resp> {
    let set = creds.huawei_cph.clone().unwrap_or_default();
    let verdict = match signature(&set, req) {
        Some(signed) => signed.map_err(str::to_owned),
        None => token(&set, req.header("x-auth-token"), "X-Auth-Token"),
    };
    verdict.err().and_then(|why| cph_denied(&why))
}

fn gl(code: i64, msg: &str) -> Option<Resp> {
    Some(Resp::ok(json!({ "code": code, "msg": msg, "traceId": "" })))
}

fn geelark(creds: &FixtureCredentials, req: &Req) -> Option<Resp> {
    let set = creds.geelark.clone().unwrap_or_default();
    let Some(trace) = req.header("traceid").filter(|t| !t.is_empty()) else {
        return gl(40002, "traceId is empty");
    };
    if let Some(bearer) = req.header("authorization") {
        let Some(token) = bearer.strip_prefix("Bearer ") else {
            return gl(40003, "authorization must be a Bearer token");
        };
        return match set.token.as_deref() {
            Some(want) if want != token => gl(40003, "token verification failed"),
            None if set.app_id.is_some() => gl(40003, "this team only accepts key-mode signatures"),
            _ => None,
        };
    }
    let (Some(app_id), Some(ts), Some(nonce), Some(sign)) = (
        req.header("appid"),
        req.header("ts"),
        req.header("nonce"),
        req.header("sign"),
    ) else {
        return gl(
            40003,
            "missing Authorization or appId/ts/nonce/sign headers",
        );
    };
    match (set.app_id.as_deref(), set.api_key.as_deref()) {
        (Some(want_app), Some(key)) => {
            if app_id != want_app
                || !sign.eq_ignore_ascii_case(&key_sign(app_id, trace, ts, nonce, key))
            {
                gl(40003, "signature verification failed")
            } else {
                None
            }
        }
        _ if set.token.is_some() => gl(40003, "this team only accepts Bearer tokens"),
        _ => None,
    }
}

/// KooPhone sits behind the same API gateway: a signature or a token is checked there, and refused
/// with the gateway's HTTP 401 `APIGW.0301` (providers.md 9: a bad token is not a KooPhone code). A
/// missing `x-request-id` is KooPhone's own `KOOPHONE.API.0002`, documented with HTTP 200
/// (`api-koophone/ErrorCode.html`).
fn koophone(creds: &FixtureCredentials, req: &Req) -> Option<Resp> {
    let set = creds.koophone.clone().unwrap_or_default();
    let denied = match signature(&set, req) {
        Some(Ok(())) => None,
        Some(Err(why)) => cph_denied(why),
        None => token(&set, req.header("x-auth-token"), "X-Auth-Token")
            .err()
            .and_then(|why| cph_denied(&why)),
    };
    if denied.is_some() {
        return denied;
    }
    if req.header("x-request-id").is_none_or(str::is_empty)
        && req.query("x-request-id").is_none_or(str::is_empty)
    {
        return Some(Resp::error(
            200,
            "KOOPHONE.API.0002",
            "x-request-id is missing",
        ));
    }
    None
}

impl Req {
    /// The path with its segments percent-decoded, as the signer expects.
    pub(crate) fn path_decoded(&self) -> String {
        let mut p = String::new();
        for s in &self.segs {
            p.push('/');
            p.push_str(s);
        }
        if self.path.ends_with('/') {
            p.push('/');
        }
        if p.is_empty() { "/".into() } else { p }
    }
}
