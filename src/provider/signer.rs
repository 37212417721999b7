//! Huawei Cloud AK/SK request signing, algorithm `SDK-HMAC-SHA256` (providers.md 1.6), shared by the
//! CPH and KooPhone clients (to sign) and the simulator (to verify).
//!
//! Canonical request = method, canonical URI (each segment percent-encoded, always ending in '/'),
//! canonical query (keys and values encoded and sorted), `name:value` lines of the signed headers, the
//! signed header names joined by ';', and the hex SHA-256 of the body. String to sign =
//! `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex sha256 of canonical request>`; signature = hex HMAC-SHA256 keyed
//! with the SK. Header names are lower-cased; `content-type` and names containing '_' are not signed.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name, first word of the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// What is signed of one request.
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    /// `GET`, `POST`...
    pub method: &'a str,
    /// The URL path, unencoded segments (`/v1/p1/cloud-phone/phones`).
    pub path: &'a str,
    /// Query pairs, unencoded.
    pub query: &'a [(String, String)],
    /// Headers as (name, value); filtered and lower-cased here.
    pub headers: &'a [(String, String)],
    /// The exact body bytes sent.
    pub body: &'a [u8],
}

/// Percent-encode everything but `A-Z a-z 0-9 - _ . ~`, uppercase hex.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode `%XX` escapes (invalid ones are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a header takes part in the signature.
pub fn is_signed_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !n.starts_with("content-type") && !n.contains('_')
}

/// The signed header names, lower-cased, sorted, deduplicated.
pub fn signed_header_names(headers: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| is_signed_header(n))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The canonical request for the given signed header names.
pub fn canonical_request(req: &SignRequest<'_>, signed: &[String]) -> String {
    let mut uri: String = req
        .path
        .split('/')
        .map(escape)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let mut query: Vec<(String, String)> = req
        .query
        .iter()
        .map(|(k, v)| (escape(k), escape(v)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in signed {
        let mut values: Vec<&str> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        values.sort_unstable();
        for v in values {
            headers.push_str(name);
            headers.push(':');
            headers.push_str(v);
            headers.push('\n');
        }
    }
    format!(
        "{}\n{uri}\n{query}\n{headers}\n{}\n{}",
        req.method,
        signed.join(";"),
        hex::encode(Sha256::digest(req.body))
    )
}

/// The hex signature of a canonical request.
pub fn signature(sk: &str, sdk_date: &str, canonical: &str) -> String {
    let to_sign = format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut mac =
        Hmac::<Sha256>::new_from_slice(sk.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value for a request whose headers already include `Host` and
/// `X-Sdk-Date`.
pub fn authorization(ak: &str, sk: &str, req: &SignRequest<'_>) -> String {
    let signed = signed_header_names(req.headers);
    let date = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-sdk-date"))
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let sig = signature(sk, date, &canonical_request(req, &signed));
    format!(
        "{ALGORITHM} Access={ak}, SignedHeaders={}, Signature={sig}",
        signed.join(";")
    )
}

/// The parts of a received `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    /// The access key id.
    pub access: String,
    /// Signed header names.
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

/// Parse `SDK-HMAC-SHA256 Access=.., SignedHeaders=a;b, Signature=..`.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let rest = value.strip_prefix(ALGORITHM)?.trim_start();
    let (mut access, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Access" => access = Some(v.to_owned()),
            "SignedHeaders" => signed = Some(v.split(';').map(str::to_owned).collect()),
            "Signature" => sig = Some(v.to_owned()),
            _ => {}
        }
    }
    Some(ParsedAuthorization {
        access: access?,
        signed_headers: signed?,
        signature: sig?,
    })
}

/// `X-Sdk-Date` format (`20060102T150405Z`) for a Unix time in seconds.
pub fn sdk_date(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(sdk_date(0), "19700101T000000Z");
        assert_eq!(sdk_date(1_700_000_000), "20231114T221320Z");
        assert_eq!(sdk_date(951_782_400), "20000229T000000Z");
    }

    #[test]
    fn escaping_and_parsing() {
        assert_eq!(escape("a b/c~"), "a%20b%2Fc~");
        assert_eq!(percent_decode("/v1/a%20b/x%2"), "/v1/a b/x%2");
        let p = parse_authorization(
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=ab12",
        )
        .unwrap();
        assert_eq!(p.access, "AK1");
        assert_eq!(p.signed_headers, vec!["host", "x-sdk-date"]);
        assert_eq!(p.signature, "ab12");
        assert!(parse_authorization("Bearer x").is_none());
    }
}

/// Vectors made once with Huawei's official Python SDK (`huaweicloudsdkcore` 3.1.219, `Signer.sign`) by
/// `tests/fixtures/signing/make_vectors.py`: an independent implementation of the same algorithm.
#[cfg(test)]
mod vectors {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        method: String,
        path: String,
        query: Vec<(String, String)>,
        headers: std::collections::BTreeMap<String, String>,
        body: String,
        authorization: String,
    }

    const AK: &str = "AKTESTPHONEFLEET0001";
    const SK: &str = "sktestphonefleetsecret0123456789abcdefgh";

    fn vectors() -> Vec<Vector> {
        serde_json::from_str(include_str!("../../tests/fixtures/signing/vectors.json")).unwrap()
    }

    #[test]
    fn signing_matches_the_official_python_sdk() {
        let mut signed_by_us = 0;
        for v in vectors() {
            let headers: Vec<(String, String)> = v.headers.clone().into_iter().collect();
            let req = SignRequest {
                method: &v.method,
                path: &v.path,
                query: &v.query,
                headers: &headers,
                body: v.body.as_bytes(),
            };
            // Verification path (what the simulator does): recompute with the header's own SignedHeaders.
            let parsed = parse_authorization(&v.authorization).unwrap();
            let date = &v.headers["X-Sdk-Date"];
            let sig = signature(SK, date, &canonical_request(&req, &parsed.signed_headers));
            assert_eq!(sig, parsed.signature, "{} {}", v.method, v.path);
            // Signing path (what the client does): phonefleet never signs Content-Type.
            if !v.headers.contains_key("Content-Type") {
                assert_eq!(
                    authorization(AK, SK, &req),
                    v.authorization,
                    "{} {}",
                    v.method,
                    v.path
                );
                signed_by_us += 1;
            }
        }
        // Four CPH requests and two KooPhone ones (one with a temporary key's security token).
        assert_eq!(signed_by_us, 6);
    }
}
