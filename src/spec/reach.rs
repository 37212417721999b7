//! What a spec may reach. A spec is written by whoever can push a branch, and `plan` runs on it with the
//! CI's secrets in its environment; so a spec may send requests only to its kind's official hosts or to
//! loopback (the simulator, a local proxy), and may name only environment variables meant for the kind
//! of provider it names them for: `HUAWEICLOUD_*` and `CPH_*` for huawei-cph, `HUAWEICLOUD_*` and
//! `KOOPHONE_*` for koophone (both Huawei's), `GEELARK_*` for geelark, and `PHONEFLEET_<KIND>_*`
//! (`PHONEFLEET_CPH_`, `PHONEFLEET_HUAWEICLOUD_`, `PHONEFLEET_KOOPHONE_`, `PHONEFLEET_GEELARK_`). So a
//! pull request cannot send Huawei's key to GeeLark as a bearer token, whatever the reviewed spec
//! called it. A webhook URL comes from a `PHONEFLEET_*` variable bound to no kind. Anything else needs
//! the workflow's consent, given outside the spec:
//!
//! - `PHONEFLEET_ALLOW_ENDPOINTS`: comma-separated exact host names a spec may also send to;
//! - `PHONEFLEET_ALLOW_ENV`: comma-separated variable names a spec may also name, for any kind
//!   (`NAME`) or for one (`NAME:geelark`);
//! - `PHONEFLEET_ALLOW_RAISED_LIMITS=1`: the spec's `limits` may go past the documented ones (a spec may
//!   only lower them; see [`limits_problems`]).
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

/// The variable that lets a spec's `limits` go past the documented ones.
pub const ALLOW_RAISED_LIMITS: &str = "PHONEFLEET_ALLOW_RAISED_LIMITS";

/// Prefixes of the variables a spec may name for a provider of `kind` without consent (its
/// descriptor's).
pub fn env_prefixes(kind: ProviderKind) -> &'static [&'static str] {
    crate::provider::kind::of(kind).env_prefixes
}

/// Every kind-bound prefix (a webhook variable may start with none of them).
fn kind_bound(var: &str) -> bool {
    ProviderKind::ALL
        .iter()
        .any(|k| env_prefixes(*k).iter().any(|p| var.starts_with(p)))
}

/// Huawei's SDKs read the secret access key from this variable; phonefleet only signs with it.
const DEFAULT_SK: &str = "HUAWEICLOUD_SDK_SK";

/// Which providers an allowed variable may be named for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowedFor {
    /// `NAME`: any kind, and webhooks.
    Any,
    /// `NAME:kind`: that kind only.
    Kind(ProviderKind),
    /// `NAME:` followed by no known kind: nothing (a typo fails closed).
    Nothing,
}

/// The consent given outside the spec.
#[derive(Debug, Clone, Default)]
pub struct Allow {
    /// Extra hosts, lower-case.
    pub hosts: Vec<String>,
    /// Extra variable names, each with the kinds it is allowed for.
    pub vars: Vec<(String, AllowedFor)>,
    /// Whether the spec's `limits` may go past the documented ones.
    pub raised_limits: bool,
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
            vars: list(ALLOW_ENV)
                .into_iter()
                .map(|v| match v.split_once(':') {
                    Some((name, kind)) => (
                        name.trim().to_owned(),
                        ProviderKind::parse(kind.trim())
                            .map_or(AllowedFor::Nothing, AllowedFor::Kind),
                    ),
                    None => (v, AllowedFor::Any),
                })
                .collect(),
            raised_limits: std::env::var(ALLOW_RAISED_LIMITS).is_ok_and(|v| v == "1"),
        }
    }

    /// Whether the workflow allows `var` for a provider of `kind` (`None`: a webhook).
    fn allows(&self, var: &str, kind: Option<ProviderKind>) -> bool {
        self.vars.iter().any(|(name, scope)| {
            name == var
                && match (scope, kind) {
                    (AllowedFor::Any, _) => true,
                    (AllowedFor::Kind(k), Some(kind)) => *k == kind,
                    _ => false,
                }
        })
    }
}

/// Whether `host` is one of `kind`'s official API hosts (its descriptor says which).
pub fn is_official_host(kind: ProviderKind, host: &str) -> bool {
    (crate::provider::kind::of(kind).is_official_host)(&host.to_ascii_lowercase())
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
    let official = crate::provider::kind::of(kind).official_hosts;
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

/// Whether a spec may name `var` for a provider of `kind` (`None`: a webhook URL) without consent.
pub fn is_meant_for(var: &str, kind: Option<ProviderKind>) -> bool {
    match kind {
        Some(kind) => env_prefixes(kind).iter().any(|p| var.starts_with(p)),
        None => var.starts_with("PHONEFLEET_") && !kind_bound(var),
    }
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

/// Report every endpoint and variable of the spec that it may not reach.
pub(crate) fn check(spec: &FleetSpec, report: &mut Report<'_>, allow: &Allow) {
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
        // A proxy's username and password are secrets of the account, under the same rules.
        for (proxy, spec) in &p.proxies {
            for (field, var) in [
                ("username_env", &spec.username_env),
                ("password_env", &spec.password_env),
            ] {
                if let Some(var) = var {
                    let pointer = format!(
                        "{base}/proxies/{}/{field}",
                        super::diagnostic::escape_segment(proxy)
                    );
                    not_meant(var, Some(p.kind), &pointer, report, allow);
                }
            }
        }
        let Some(c) = &p.credentials else { continue };
        for (field, var, sent) in named(c) {
            let pointer = format!("{base}/credentials/{field}");
            // A name that reads as a secret key (`CPH_SK`) is one even where no entry signs with it.
            if sent && (signing.contains(&var) || var.ends_with("_SK")) {
                report.push(
                    &pointer,
                    format!(
                        "`{var}` holds a signing key, which phonefleet never sends; it cannot be used \
                         as `{field}`, whose value goes over the wire"
                    ),
                    None,
                );
            } else {
                not_meant(var, Some(p.kind), &pointer, report, allow);
            }
        }
    }
    if !allow.raised_limits {
        for (name, p) in &spec.providers {
            let Some(limits) = &p.limits else { continue };
            for (field, problem) in limits_problems(p.kind, limits) {
                report.push(
                    &format!(
                        "/providers/{}/limits/{field}",
                        super::diagnostic::escape_segment(name)
                    ),
                    problem,
                    Some(format!(
                        "a spec may only lower the limits; raising them is the workflow's decision: \
                         set {ALLOW_RAISED_LIMITS}=1 where it runs, never in the spec"
                    )),
                );
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
            not_meant(&n.url_env, None, &pointer, report, allow);
        }
    }
}

/// The fields of a provider entry's `limits` that go past what phonefleet keeps to by default (the
/// documented rate limits less the default margin, the default batch sizes, the default concurrency):
/// `plan` runs on a pull request's spec with CI's credentials before anyone reviews it, and a raised
/// limit there can lock a provider's API for hours (GeeLark 40014).
pub fn limits_problems(kind: ProviderKind, limits: &super::Limits) -> Vec<(&'static str, String)> {
    use crate::capability::{DEFAULT_CONCURRENCY, DEFAULT_RATE_MARGIN};
    let cap = crate::capability::of(kind);
    let mut out = Vec::new();
    if let Some(batch) = limits.batch_size {
        let raised = [
            cap.observe,
            cap.power_batch,
            cap.traffic_batch,
            cap.properties_batch,
        ]
        .into_iter()
        .filter(|r| r.default > 0)
        .find(|r| r.max.map_or(batch as usize, |m| m.min(batch as usize)) > r.default);
        if let Some(row) = raised {
            out.push((
                "batch_size",
                format!(
                    "{batch} raises {kind}'s default batch size ({} ids a call)",
                    row.default
                ),
            ));
        }
    }
    if let Some(c) = limits.concurrency
        && c > DEFAULT_CONCURRENCY
    {
        out.push((
            "concurrency",
            format!("{c} raises the default concurrency ({DEFAULT_CONCURRENCY} calls in flight)"),
        ));
    }
    for (field, set, documented, per) in [
        (
            "requests_per_minute",
            limits.requests_per_minute,
            cap.requests_per_minute,
            "a minute",
        ),
        (
            "requests_per_hour",
            limits.requests_per_hour,
            cap.requests_per_hour,
            "an hour",
        ),
    ] {
        if let (Some(set), Some(documented)) = (set, documented) {
            let kept = crate::capability::under(documented, None);
            if set > kept {
                out.push((
                    field,
                    format!(
                        "{set} raises {kind}'s rate limit ({kept} {per}: its documented {documented} \
                         less the {DEFAULT_RATE_MARGIN}% margin)"
                    ),
                ));
            }
        }
    }
    if let Some(margin) = limits.rate_margin_percent
        && margin < DEFAULT_RATE_MARGIN
        && (cap.requests_per_minute.is_some() || cap.requests_per_hour.is_some())
    {
        out.push((
            "rate_margin_percent",
            format!(
                "{margin} narrows the margin under {kind}'s documented rate limits (default \
                 {DEFAULT_RATE_MARGIN}%), which raises them"
            ),
        ));
    }
    out
}

/// The variables credentials are read from when a provider entry names none.
const DEFAULT_CREDENTIALS: &[&str] = &[
    "HUAWEICLOUD_SDK_AK",
    DEFAULT_SK,
    "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "GEELARK_TOKEN",
    "KOOPHONE_TOKEN",
];

/// Report `var` at `pointer` unless it is meant for `kind` (`None`: a webhook URL) or allowed.
fn not_meant(
    var: &str,
    kind: Option<ProviderKind>,
    pointer: &str,
    report: &mut Report<'_>,
    allow: &Allow,
) {
    if is_meant_for(var, kind) || allow.allows(var, kind) {
        return;
    }
    let (what, prefixes, allowance) = match kind {
        Some(kind) => (
            format!("a {kind} provider"),
            env_prefixes(kind).join(", "),
            format!("{ALLOW_ENV}={var}:{kind}"),
        ),
        None => (
            "a webhook URL".to_owned(),
            "PHONEFLEET_ (and not a provider kind's PHONEFLEET_<KIND>_)".to_owned(),
            format!("{ALLOW_ENV}={var}"),
        ),
    };
    let meant_elsewhere: Vec<&str> = ProviderKind::ALL
        .iter()
        .filter(|k| Some(**k) != kind && is_meant_for(var, Some(**k)))
        .map(|k| k.as_str())
        .collect();
    let why = if !meant_elsewhere.is_empty() {
        format!(
            "is meant for {} providers, not for {what}",
            meant_elsewhere.join(" and ")
        )
    } else if var.starts_with("PHONEFLEET_") && kind.is_some() {
        format!(
            "names no provider kind (a credential's is PHONEFLEET_<KIND>_...) so it is not meant for {what}"
        )
    } else {
        "is not a variable meant for phonefleet".to_owned()
    };
    report.push(
        pointer,
        format!(
            "`{var}` {why}; a spec may name for {what} only variables starting with {prefixes}"
        ),
        Some(format!(
            "rename the variable, or allow it where the workflow runs, never in the spec: \
             {allowance}"
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
            ..Allow::default()
        };
        assert!(endpoint_problem(cph, "https://proxy.corp.example:8443/cph", &allow).is_none());
        assert!(endpoint_problem(cph, "https://other.corp.example", &allow).is_some());
    }

    #[test]
    fn variables_are_meant_for_one_kind() {
        use ProviderKind::{Geelark, HuaweiCph, Koophone};
        for (var, kind) in [
            ("HUAWEICLOUD_SDK_AK", HuaweiCph),
            ("HUAWEICLOUD_SDK_AK", Koophone),
            ("CPH_TOKEN", HuaweiCph),
            ("PHONEFLEET_CPH_TOKEN", HuaweiCph),
            ("GEELARK_TOKEN", Geelark),
            ("PHONEFLEET_GEELARK_TOKEN", Geelark),
            ("KOOPHONE_TOKEN", Koophone),
            ("PHONEFLEET_KOOPHONE_TOKEN", Koophone),
        ] {
            assert!(is_meant_for(var, Some(kind)), "{var} {kind}");
        }
        for (var, kind) in [
            ("CPH_SK", Geelark),
            ("HUAWEICLOUD_SDK_SK", Geelark),
            ("GEELARK_TOKEN", HuaweiCph),
            ("KOOPHONE_TOKEN", HuaweiCph),
            ("CPH_TOKEN", Koophone),
            ("PHONEFLEET_X", Geelark),
            ("PHONEFLEET_CPH_TOKEN", Geelark),
            ("GITHUB_TOKEN", Geelark),
            ("phonefleet_geelark_x", Geelark),
        ] {
            assert!(!is_meant_for(var, Some(kind)), "{var} {kind}");
        }
        assert!(is_meant_for("PHONEFLEET_WEBHOOK_URL", None));
        assert!(!is_meant_for("PHONEFLEET_GEELARK_TOKEN", None));
        assert!(!is_meant_for("GEELARK_HOOK", None));
        let allow = Allow {
            vars: vec![
                ("ANY_TOKEN".into(), AllowedFor::Any),
                ("GL_ONLY".into(), AllowedFor::Kind(Geelark)),
                ("TYPO".into(), AllowedFor::Nothing),
            ],
            ..Allow::default()
        };
        assert!(allow.allows("ANY_TOKEN", Some(HuaweiCph)) && allow.allows("ANY_TOKEN", None));
        assert!(allow.allows("GL_ONLY", Some(Geelark)));
        assert!(!allow.allows("GL_ONLY", Some(HuaweiCph)) && !allow.allows("GL_ONLY", None));
        assert!(!allow.allows("TYPO", Some(Geelark)));
    }
}
