//! What a spec may reach. A spec is written by whoever can push a branch, and `plan` runs on it with the
//! CI's secrets in its environment; so a spec may send requests only to its kind's official hosts or to
//! loopback (the simulator, a local proxy), and may name only environment variables meant for
//! phonefleet. Anything else needs the workflow's consent, given outside the spec:
//!
//! - `PHONEFLEET_ALLOW_ENDPOINTS`: comma-separated exact host names a spec may also send to;
//! - `PHONEFLEET_ALLOW_ENV`: comma-separated variable names a spec may also name.
//!
//! A variable that holds a signing key (`sk_env`, `api_key_env`, and `HUAWEICLOUD_SDK_SK`, which AK/SK
//! signing reads by default) is never sent as it is: naming it where a value goes over the wire
//! (`token_env`, `ak_env`, `app_id_env`, `security_token_env`) is refused, allowed or not.
//!
//! Checked with the rest of the spec (so `validate`, `plan`, `apply`, `export` all refuse before any
//! connection), reading the two variables of the process; the checks themselves are pure.

use super::report::Report;
use super::{Credentials, FleetSpec, ProviderKind};

/// The variable that lists extra hosts a spec may send to.
pub const ALLOW_ENDPOINTS: &str = "PHONEFLEET_ALLOW_ENDPOINTS";
/// The variable that lists extra environment variables a spec may name.
pub const ALLOW_ENV: &str = "PHONEFLEET_ALLOW_ENV";

/// Prefixes of the variables a spec may name without consent.
pub const ENV_PREFIXES: &[&str] = &[
    "PHONEFLEET_",
    "HUAWEICLOUD_",
    "CPH_",
    "GEELARK_",
    "KOOPHONE_",
];

/// Huawei's SDKs read the secret access key from this variable; phonefleet only signs with it.
const DEFAULT_SK: &str = "HUAWEICLOUD_SDK_SK";

/// The consent given outside the spec.
#[derive(Debug, Clone, Default)]
pub struct Allow {
    /// Extra hosts, lower-case.
    pub hosts: Vec<String>,
    /// Extra variable names.
    pub vars: Vec<String>,
}

impl Allow {
    /// Read [`ALLOW_ENDPOINTS`] and [`ALLOW_ENV`] from the environment.
    pub fn from_env() -> Allow {
        let list = |var: &str| -> Vec<String> {
            std::env::var(var)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Allow {
            hosts: list(ALLOW_ENDPOINTS)
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            vars: list(ALLOW_ENV),
        }
    }
}

/// Whether `host` is one of `kind`'s official API hosts.
pub fn is_official_host(kind: ProviderKind, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    match kind {
        ProviderKind::HuaweiCph => host
            .strip_prefix("cph.")
            .and_then(|rest| rest.strip_suffix(".myhuaweicloud.com"))
            .is_some_and(|region| {
                !region.is_empty()
                    && region
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            }),
        ProviderKind::Koophone => host == "koophone.myhuaweicloud.com",
        ProviderKind::Geelark => host == "openapi.geelark.com",
    }
}

/// Why a spec may not send to `endpoint`, if it may not. A URL that does not parse is reported by the
/// endpoint's own check.
pub fn endpoint_problem(kind: ProviderKind, endpoint: &str, allow: &Allow) -> Option<String> {
    let url = reqwest::Url::parse(endpoint).ok()?;
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let host = host.to_ascii_lowercase();
    if is_official_host(kind, &host)
        || super::validate::is_loopback_host(&host)
        || allow.hosts.contains(&host)
    {
        return None;
    }
    let official = match kind {
        ProviderKind::HuaweiCph => "cph.{region}.myhuaweicloud.com",
        ProviderKind::Koophone => "koophone.myhuaweicloud.com",
        ProviderKind::Geelark => "openapi.geelark.com",
    };
    Some(format!(
        "endpoint host `{host}` is not an official {kind} host ({official}) nor loopback; a spec may \
         not send requests (and credentials) anywhere else"
    ))
}

/// The hint that goes with [`endpoint_problem`].
pub fn endpoint_hint(endpoint: &str) -> String {
    let host = reqwest::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    format!(
        "if this host is meant (a proxy or a private endpoint), allow it where the workflow runs, \
         never in the spec: {ALLOW_ENDPOINTS}={host}"
    )
}

/// Whether a spec may name `var` without consent.
pub fn is_meant_for_phonefleet(var: &str) -> bool {
    ENV_PREFIXES.iter().any(|p| var.starts_with(p))
}

/// The variables of one credentials block: (field, variable, whether its value goes over the wire).
fn named(c: &Credentials) -> Vec<(&'static str, &str, bool)> {
    [
        ("token_env", &c.token_env, true),
        ("ak_env", &c.ak_env, true),
        ("sk_env", &c.sk_env, false),
        ("security_token_env", &c.security_token_env, true),
        ("app_id_env", &c.app_id_env, true),
        ("api_key_env", &c.api_key_env, false),
    ]
    .into_iter()
    .filter_map(|(field, var, sent)| var.as_deref().map(|v| (field, v, sent)))
    .collect()
}

static SIMULATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Say that this run is `--simulate`: the local simulator stands in for every provider, and no spec
/// endpoint or credential variable is used, so none is checked (`--simulate` is unaffected by these
/// rules; `validate` and every real run still apply them).
pub fn simulating() {
    SIMULATED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Report every endpoint and variable of the spec that it may not reach.
pub(crate) fn check(spec: &FleetSpec, report: &mut Report<'_>, allow: &Allow) {
    if SIMULATED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let signing: Vec<&str> = spec
        .providers
        .values()
        .filter_map(|p| p.credentials.as_ref())
        .flat_map(named)
        .filter(|(_, _, sent)| !sent)
        .map(|(_, var, _)| var)
        .chain([DEFAULT_SK])
        .collect();
    for (name, p) in &spec.providers {
        let base = format!("/providers/{}", super::diagnostic::escape_segment(name));
        // An endpoint that is not a usable URL is reported by its own check, once.
        if let Some(endpoint) = &p.endpoint
            && super::validate::check_endpoint(endpoint).is_ok()
            && let Some(problem) = endpoint_problem(p.kind, endpoint, allow)
        {
            report.push(
                &format!("{base}/endpoint"),
                problem,
                Some(endpoint_hint(endpoint)),
            );
        }
        let Some(c) = &p.credentials else { continue };
        for (field, var, sent) in named(c) {
            let pointer = format!("{base}/credentials/{field}");
            if sent && signing.contains(&var) {
                report.push(
                    &pointer,
                    format!(
                        "`{var}` holds a signing key, which phonefleet never sends; it cannot be used \
                         as `{field}`, whose value goes over the wire"
                    ),
                    None,
                );
            } else {
                not_meant(var, &pointer, report, allow);
            }
        }
    }
    // A webhook URL is read from a variable too: one meant for phonefleet, and never a credential
    // (the URL's host and path would carry it to wherever the request goes).
    let credentials: Vec<&str> = spec
        .providers
        .values()
        .filter_map(|p| p.credentials.as_ref())
        .flat_map(named)
        .map(|(_, var, _)| var)
        .chain(DEFAULT_CREDENTIALS.iter().copied())
        .collect();
    for (i, n) in spec.watch.iter().flat_map(|w| w.notify.iter()).enumerate() {
        let pointer = format!("/watch/notify/{i}/url_env");
        if credentials.contains(&n.url_env.as_str()) {
            report.push(
                &pointer,
                format!(
                    "`{}` holds a provider credential; a webhook URL is sent to its host, so it must \
                     come from a variable of its own",
                    n.url_env
                ),
                None,
            );
        } else {
            not_meant(&n.url_env, &pointer, report, allow);
        }
    }
}

/// The variables credentials are read from when a provider entry names none.
const DEFAULT_CREDENTIALS: &[&str] = &[
    "HUAWEICLOUD_SDK_AK",
    DEFAULT_SK,
    "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "GEELARK_TOKEN",
    "KOOPHONE_TOKEN",
];

/// Report `var` at `pointer` unless it is meant for phonefleet or allowed.
fn not_meant(var: &str, pointer: &str, report: &mut Report<'_>, allow: &Allow) {
    if is_meant_for_phonefleet(var) || allow.vars.iter().any(|a| a == var) {
        return;
    }
    report.push(
        pointer,
        format!(
            "`{var}` is not a variable meant for phonefleet; a spec may name only variables starting \
             with {}",
            ENV_PREFIXES.join(", ")
        ),
        Some(format!(
            "rename the variable, or allow it where the workflow runs, never in the spec: \
             {ALLOW_ENV}={var}"
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_hosts_loopback_and_allowed_hosts_only() {
        let none = Allow::default();
        let cph = ProviderKind::HuaweiCph;
        for ok in [
            "https://cph.cn-east-3.myhuaweicloud.com",
            "https://CPH.ap-southeast-1.myhuaweicloud.com:443/",
            "http://127.0.0.1:8080",
            "http://[::1]:9",
            "http://localhost",
        ] {
            assert_eq!(endpoint_problem(cph, ok, &none), None, "{ok}");
        }
        for bad in [
            "https://collector.attacker.example",
            "https://cph.cn-east-3.myhuaweicloud.com.attacker.example",
            "https://cph.myhuaweicloud.com",
            "https://x.cph.cn-east-3.myhuaweicloud.com",
            "https://openapi.geelark.com",
        ] {
            assert!(endpoint_problem(cph, bad, &none).is_some(), "{bad}");
        }
        assert!(
            endpoint_problem(ProviderKind::Geelark, "https://openapi.geelark.com", &none).is_none()
        );
        assert!(
            endpoint_problem(
                ProviderKind::Koophone,
                "https://koophone.myhuaweicloud.com",
                &none
            )
            .is_none()
        );
        let allow = Allow {
            hosts: vec!["proxy.corp.example".into()],
            vars: vec![],
        };
        assert!(endpoint_problem(cph, "https://proxy.corp.example:8443/cph", &allow).is_none());
        assert!(endpoint_problem(cph, "https://other.corp.example", &allow).is_some());
    }

    #[test]
    fn variables_meant_for_phonefleet() {
        for ok in [
            "PHONEFLEET_X",
            "HUAWEICLOUD_SDK_AK",
            "CPH_TOKEN",
            "GEELARK_TOKEN",
            "KOOPHONE_TOKEN",
        ] {
            assert!(is_meant_for_phonefleet(ok), "{ok}");
        }
        for bad in [
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "PF_TOKEN",
            "phonefleet_x",
        ] {
            assert!(!is_meant_for_phonefleet(bad), "{bad}");
        }
    }
}
