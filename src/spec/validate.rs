//! Semantic checks: what the JSON Schema cannot say. Undefined providers, phones declared twice,
//! attributes a provider kind cannot manage, unsafe ids, oversized property sets, literal secrets,
//! plain-http endpoints off loopback.
//!
//! Pure: takes the parsed spec (or its JSON form) and reports into a [`Report`]; no I/O but the two
//! allow variables of [`super::reach`].

use foldhash::{HashMap, HashMapExt};

use serde_json::Value;

use super::diagnostic::escape_segment;
use super::report::{At, Report};
use super::{FleetSpec, ProviderKind};
use crate::capability;

/// Keys that would hold a secret literally. A spec names environment variables instead.
const SECRET_KEYS: &[&str] = &[
    "token",
    "ak",
    "sk",
    "api_key",
    "apikey",
    "app_key",
    "secret",
    "secret_key",
    "access_key",
    "password",
    "security_token",
];

/// Whether CPH's attribute list types `key` as String (`sys.prop.*`, `persist.sys.locale`,
/// `com.cph.bandwidth_limit`): a number there would be sent as a JSON number.
fn is_text_attribute(key: &str) -> bool {
    key.starts_with("sys.prop.") || matches!(key, "persist.sys.locale" | "com.cph.bandwidth_limit")
}

/// Whether CPH documents `key` as an Integer attribute (`cph_api_appendix_03`): sent and exported as
/// a JSON number.
pub(crate) fn is_integer_attribute(key: &str) -> bool {
    matches!(
        key,
        "com.cph.mainkeys" | "disable.status.bar" | "ro.permission.changed" | "ro.install.auto"
    ) || key.starts_with("ro.com.cph.")
}

/// The most property JSON a phone may declare. CPH documents two numbers: `batch-update-property`
/// takes `property` and `custom_property` together up to 7800 bytes (PySDK `property_to_update.py`),
/// but the detail answer shows `property` only up to 2048 bytes (`show_cloud_phone_detail_response.py`).
/// phonefleet reads every change back to confirm it, so the smaller number binds: a larger set could be
/// written but never confirmed (and its next plan could not compare it).
pub const MAX_PROPERTY_JSON_BYTES: usize = 2048;

/// CPH's limit on what one `batch-update-property` entry may write (`property` and `custom_property`
/// together).
pub const MAX_PROPERTY_UPDATE_BYTES: usize = 7800;

/// Whether a mapping key looks like a literal secret (`token:`, `sk:`, `api_key:`...).
pub(crate) fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str())
}

/// Report every literal secret anywhere in the document, without echoing its value.
pub(crate) fn literal_secrets(json: &Value, report: &mut Report<'_>) {
    // Iterative walk: the document depth is already bounded by the YAML parser, but stay cheap.
    let mut stack = vec![(String::new(), json)];
    while let Some((pointer, v)) = stack.pop() {
        match v {
            Value::Object(map) => {
                let child_pointer = |k: &str| format!("{pointer}/{}", escape_segment(k));
                for (k, child) in map {
                    if is_secret_key(k) {
                        report.push_pointer(
                            &child_pointer(k),
                            At::Key,
                            format!("literal secret `{k}`: a spec never holds secrets"),
                            Some(format!(
                                "put the secret in an environment variable and name it here: `{}_env: MY_VARIABLE`",
                                k.to_ascii_lowercase()
                            )),
                        );
                    } else if is_container(child) {
                        stack.push((child_pointer(k), child));
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    if is_container(child) {
                        stack.push((format!("{pointer}/{i}"), child));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Only mappings and sequences can hold a secret key (scalars are not walked, nor given a pointer).
fn is_container(v: &Value) -> bool {
    matches!(v, Value::Object(_) | Value::Array(_))
}

/// Whether `host` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Check an endpoint URL: `https://` (or `http://` to loopback), a host, an optional port and path; no
/// user name or password, query or fragment (the endpoint is written into plan files and logs, and
/// request paths are appended to it). Returns the problem, if any.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(endpoint).map_err(|e| format!("not a valid URL: {e}"))?;
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h,
        _ => return Err("the endpoint has no host; write it as https://HOST[:PORT][/PATH]".into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" => {
            return Err(format!(
                "plain http:// is allowed only for loopback addresses, not `{host}`; use https://"
            ));
        }
        other => return Err(format!("unsupported scheme `{other}`; use https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the endpoint holds a user name or password; credentials come only from the variables under `credentials`"
                .into(),
        );
    }
    if url.query().is_some() {
        return Err(
            "the endpoint has a query (`?...`); write it as https://HOST[:PORT][/PATH], and credentials only under `credentials`"
                .into(),
        );
    }
    if url.fragment().is_some() {
        return Err(
            "the endpoint has a fragment (`#...`); write it as https://HOST[:PORT][/PATH]".into(),
        );
    }
    Ok(())
}

/// A huawei-cph region is part of the default host name: lowercase letters, digits and `-`.
fn region_problem(region: &str) -> Option<String> {
    let ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (!ok).then(|| {
        format!(
            "region `{}` must use lowercase letters, digits and '-' (such as `cn-east-3`)",
            crate::redact::controls(region)
        )
    })
}

/// A value that becomes one segment of a request path: URL-safe characters only, and not `.` or `..`
/// (which a URL parser would turn into "this" or "the parent" directory).
fn path_segment_problem(what: &str, value: &str) -> Option<String> {
    if value == "." || value == ".." {
        return Some(format!(
            "{what} `{value}` would change the request path; it cannot be `.` or `..`"
        ));
    }
    value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
        .map(|bad| {
            format!(
                "{what} contains {bad:?}, which is not safe in a URL path (allowed: letters, digits, '-', '_', '.', '~')"
            )
        })
}

fn id_problem(id: &str, kind: ProviderKind) -> Option<String> {
    if id.is_empty() {
        return Some("the phone id is empty".into());
    }
    if let Some(max) = capability::of(kind).id_max_len
        && id.len() > max
    {
        return Some(format!(
            "phone id is {} characters; {kind} ids are at most {max}",
            id.len()
        ));
    }
    path_segment_problem("phone id", id)
}

/// What the schema refused, set aside by the loader: the semantic checks skip it (its problems are
/// reported already), so that one mistake is not reported twice or hides nothing else.
#[derive(Debug, Default)]
pub(crate) struct Skips {
    /// `version` was not a number.
    pub(crate) version: bool,
    /// Provider entries with a problem.
    pub(crate) providers: std::collections::HashSet<String>,
    /// Indices of `phones` entries with a problem.
    pub(crate) phones: std::collections::HashSet<usize>,
    /// Indices of `groups` entries with a problem.
    pub(crate) groups: std::collections::HashSet<usize>,
}

/// The format version: phonefleet reads version 1 (checked per file of a directory too).
pub(crate) fn version(spec: &FleetSpec, report: &mut Report<'_>, skips: &Skips) {
    if spec.version != 1 && !skips.version {
        report.push(
            "/version",
            format!(
                "unsupported spec version {}; this phonefleet reads version 1",
                spec.version
            ),
            None,
        );
    }
}

/// Everything the schema cannot check, over what the schema did not refuse; what the spec may reach
/// only when `allow` is given (a real run; `--simulate` reaches nothing of the spec's).
pub(crate) fn semantic(
    spec: &FleetSpec,
    report: &mut Report<'_>,
    skips: &Skips,
    allow: Option<&super::reach::Allow>,
) {
    version(spec, report, skips);
    if let Some(allow) = allow {
        super::reach::check(spec, report, allow);
    }
    for (name, p) in spec
        .providers
        .iter()
        .filter(|(n, _)| !skips.providers.contains(*n))
    {
        let base = format!("/providers/{name}");
        let valid_name = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.is_empty();
        if !valid_name {
            report.push_pointer(
                &base,
                At::Key,
                format!("provider name `{name}` must use lowercase letters, digits and '-'"),
                None,
            );
        }
        let kind = crate::provider::kind::of(p.kind);
        for (at, problem) in (kind.required)(p) {
            report.push(&format!("{base}{at}"), problem, None);
        }
        if let Some(problem) = p
            .project_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .and_then(|id| path_segment_problem("project_id", id))
        {
            report.push(&format!("{base}/project_id"), problem, None);
        }
        if let Some(problem) = p.region.as_deref().and_then(region_problem) {
            report.push(&format!("{base}/region"), problem, None);
        }
        // The optional fields only some kinds take: another kind's is named with who takes it.
        let c = p.credentials.clone().unwrap_or_default();
        for (field, given) in [
            ("region", p.region.is_some()),
            ("project_id", p.project_id.is_some()),
            ("trace_id_format", p.trace_id_format.is_some()),
            ("credentials/ak_env", c.ak_env.is_some()),
            ("credentials/sk_env", c.sk_env.is_some()),
            (
                "credentials/security_token_env",
                c.security_token_env.is_some(),
            ),
            ("credentials/app_id_env", c.app_id_env.is_some()),
            ("credentials/api_key_env", c.api_key_env.is_some()),
        ] {
            if given && !kind.fields.contains(&field) {
                let names: Vec<&str> = crate::provider::kind::takers(field)
                    .iter()
                    .map(|k| k.as_str())
                    .collect();
                let short = field.rsplit('/').next().unwrap_or(field);
                report.push_pointer(
                    &format!("{base}/{field}"),
                    At::Key,
                    format!(
                        "`{short}` is for {} only, not {}",
                        names.join(" and "),
                        p.kind
                    ),
                    None,
                );
            }
        }
        if let Some(endpoint) = &p.endpoint
            && let Err(problem) = check_endpoint(endpoint)
        {
            report.push(&format!("{base}/endpoint"), problem, None);
        }
        if let Some(c) = &p.credentials {
            let cred = format!("{base}/credentials");
            if c.ak_env.is_some() != c.sk_env.is_some() {
                report.push(&cred, "`ak_env` and `sk_env` go together".into(), None);
            }
            if c.app_id_env.is_some() != c.api_key_env.is_some() {
                report.push(
                    &cred,
                    "`app_id_env` and `api_key_env` go together".into(),
                    None,
                );
            }
            if c.token_env.is_some() && (c.ak_env.is_some() || c.app_id_env.is_some()) {
                report.push(
                    &cred,
                    "give either `token_env` or a key pair, not both".into(),
                    None,
                );
            }
        }
        if p.names == super::NamePolicy::Manage
            && capability::of(p.kind).name_rule.is_none()
            && let Err(why) = crate::attribute::check_name(p.kind, "")
        {
            report.push_pointer(
                &format!("{base}/names"),
                At::Value,
                why,
                Some(
                    "write `names: show` (the default): the names are then labels, never sent"
                        .into(),
                ),
            );
        }
        if !p.proxies.is_empty() && !capability::of(p.kind).details {
            report.push_pointer(
                &format!("{base}/proxies"),
                At::Key,
                format!("`proxies` is for geelark only, not {}", p.kind),
                None,
            );
        }
        let mut places = std::collections::BTreeMap::new();
        for (proxy, spec) in &p.proxies {
            let place = (
                spec.scheme.as_str(),
                spec.server.to_ascii_lowercase(),
                spec.port,
            );
            if let Some(first) = places.insert(place, proxy) {
                report.push(
                    &format!("{base}/proxies/{}", escape_segment(proxy)),
                    format!(
                        "proxies `{first}` and `{proxy}` share a scheme, server and port; GeeLark lists a \
                         phone's proxy credentials, which phonefleet masks as they arrive, so the two \
                         could not be told apart"
                    ),
                    Some("declare one proxy per server and port".into()),
                );
            }
            let server = spec.server.trim();
            if server.is_empty() || server.contains('/') || server.contains(char::is_whitespace) {
                report.push(
                    &format!("{base}/proxies/{}/server", escape_segment(proxy)),
                    format!("`server` is a host name or address, not {:?}", spec.server),
                    Some(
                        "write the host alone: the scheme and the port have their own fields"
                            .into(),
                    ),
                );
            }
        }
        if let Some(batch) = p.limits.and_then(|l| l.batch_size)
            && let Some(max) = capability::of(p.kind).largest_documented_batch()
            && batch as usize > max
        {
            report.push(
                &format!("{base}/limits/batch_size"),
                format!("{} documents at most {max} ids per call", p.kind),
                None,
            );
        }
    }

    for (i, p) in spec.phones.iter().enumerate() {
        let Some(name) = &p.name else {
            continue;
        };
        let managed = spec.providers.get(&p.provider).filter(|c| {
            c.names == super::NamePolicy::Manage && capability::of(c.kind).name_rule.is_some()
        });
        if name.chars().any(char::is_control) {
            report.push(
                &format!("/phones/{i}/name"),
                "the name contains a control character (a line break, tab or escape); names are one line of text".into(),
                None,
            );
        } else if let Some(c) = managed
            && let Err(why) = crate::attribute::check_name(c.kind, name)
        {
            report.push(
                &format!("/phones/{i}/name"),
                format!("{why} (provider `{}` has `names: manage`)", p.provider),
                None,
            );
        }
    }

    if let Some(safety) = &spec.safety {
        for (i, pattern) in safety.sensitive_properties.iter().enumerate() {
            if let Some(problem) = crate::plan::sensitive::pattern_problem(pattern) {
                report.push(
                    &format!("/safety/sensitive_properties/{i}"),
                    problem,
                    Some(
                        "write a property key, with `*` for any run of characters and `?` for one"
                            .into(),
                    ),
                );
            }
        }
        for key in safety.max_stop_percent_by_label.keys() {
            let labelled = spec.phones.iter().map(|p| &p.settings.labels);
            let mut all = labelled.chain(spec.groups.iter().map(|g| &g.settings.labels));
            if !all.any(|l| l.contains_key(key)) {
                report.push(
                    &format!("/safety/max_stop_percent_by_label/{}", escape_segment(key)),
                    format!(
                        "no phone or group has the label `{key}`, so this guard guards nothing"
                    ),
                    Some(format!(
                        "add `labels: {{{key}: ...}}` to the phones it should guard"
                    )),
                );
            }
        }
    }

    for (name, s) in &spec.schedules {
        if let Err((field, problem)) = crate::schedule::Schedule::new(name, s) {
            report.push(
                &format!("/schedules/{}/{field}", escape_segment(name)),
                problem,
                None,
            );
        }
    }
    // Entry-level checks (provider defined, attributes it can manage), then every id. Pointers are built
    // only for problems: a valid 100,000-phone spec allocates nothing per phone here.
    let entries = spec
        .phones
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("/phones/{i}"), &p.provider, &p.settings))
        .chain(
            spec.groups
                .iter()
                .enumerate()
                .map(|(i, g)| (format!("/groups/{i}"), &g.provider, &g.settings)),
        );
    let mut known = Vec::with_capacity(spec.phones.len() + spec.groups.len());
    for (i, (entry, provider, settings)) in entries.enumerate() {
        let set_aside = if i < spec.phones.len() {
            skips.phones.contains(&i)
        } else {
            skips.groups.contains(&(i - spec.phones.len()))
        };
        // An entry the schema refused, or one of a provider it refused: already reported.
        let ok = !set_aside
            && !skips.providers.contains(provider.as_str())
            && check_entry(spec, report, &entry, provider, settings);
        known.push(ok);
    }
    check_pools(spec, report, skips);
    // Where each id stands: (index in `phones`) or (group, index in its `ids`).
    #[derive(Clone, Copy)]
    enum Spot {
        Phone(usize),
        Group(usize, usize),
    }
    let pointer = |at: Spot| match at {
        Spot::Phone(i) => format!("/phones/{i}/id"),
        Spot::Group(g, j) => format!("/groups/{g}/ids/{j}"),
    };
    let ids = spec
        .phones
        .iter()
        .enumerate()
        .map(|(i, p)| (i, &p.provider, p.id.as_str(), Spot::Phone(i)))
        .chain(spec.groups.iter().enumerate().flat_map(|(g, grp)| {
            let entry = spec.phones.len() + g;
            grp.ids
                .iter()
                .enumerate()
                .map(move |(j, id)| (entry, &grp.provider, id.as_str(), Spot::Group(g, j)))
        }));
    let group_ids: usize = spec.groups.iter().map(|g| g.ids.len()).sum();
    let mut seen: HashMap<(&str, &str), Spot> =
        HashMap::with_capacity(spec.phones.len() + group_ids);
    for (entry, provider, id, at) in ids {
        if !known[entry] {
            continue;
        }
        let kind = spec.providers[provider].kind;
        if let Some(problem) = id_problem(id, kind) {
            report.push(&pointer(at), problem, None);
            continue;
        }
        match seen.get(&(provider.as_str(), id)) {
            Some(first) => {
                let here = pointer(at);
                let place = report.place_of(&pointer(*first), &here);
                report.push(
                    &here,
                    format!(
                        "phone `{id}` of provider `{provider}` is declared twice (first at {place})"
                    ),
                    None,
                );
            }
            None => {
                seen.insert((provider.as_str(), id), at);
            }
        }
    }
}

/// Checks of `pools`: each entry's settings as a phone's, a provider that can create and delete
/// phones, a proxy (GeeLark's create requires one), one name per pool and provider, a `pool` label left
/// to phonefleet.
fn check_pools(spec: &FleetSpec, report: &mut Report<'_>, skips: &Skips) {
    let mut names: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, pool) in spec.pools.iter().enumerate() {
        let entry = format!("/pools/{i}");
        if skips.providers.contains(pool.provider.as_str())
            || !check_entry(spec, report, &entry, &pool.provider, &pool.settings)
        {
            continue;
        }
        let kind = spec.providers[&pool.provider].kind;
        if capability::of(kind).pool_batch.default == 0 {
            report.push(
                &format!("{entry}/provider"),
                format!("{kind} cannot create or delete phones: pools are geelark only"),
                Some("declare this provider's phones by id under `phones` or `groups`".into()),
            );
            continue;
        }
        if pool.settings.proxy.is_none() || pool.settings.proxy.as_deref() == Some("none") {
            report.push_pointer(
                &entry,
                At::Key,
                format!(
                    "pool `{}` names no proxy: GeeLark's create requires one",
                    pool.name
                ),
                Some(format!(
                    "add `proxy: NAME`, a proxy declared under `providers.{}.proxies`",
                    pool.provider
                )),
            );
        }
        if pool.settings.labels.contains_key("pool") {
            report.push(
                &format!("{entry}/labels/pool"),
                "the label `pool` is phonefleet's: every member has `pool: <the pool's name>`"
                    .into(),
                Some("select a pool's phones with `--target pool=NAME`; pick another key".into()),
            );
        }
        if let Some(first) = names.insert((pool.provider.as_str(), pool.name.as_str()), i) {
            let place = report.place_of(&format!("/pools/{first}/name"), &format!("{entry}/name"));
            report.push(
                &format!("{entry}/name"),
                format!(
                    "pool `{}` of provider `{}` is declared twice (first at {place})",
                    pool.name, pool.provider
                ),
                None,
            );
        }
    }
}

/// Checks of one `phones` or `groups` entry; false when its provider is not defined.
fn check_entry(
    spec: &FleetSpec,
    report: &mut Report<'_>,
    entry: &str,
    provider: &str,
    settings: &super::PhoneSettings,
) -> bool {
    let traffic = settings.traffic.is_some();
    let properties = settings.properties.as_ref();
    let restart = settings.restart.is_some();
    let Some(p) = spec.providers.get(provider) else {
        let known: Vec<&str> = spec.providers.keys().map(String::as_str).collect();
        let hint = if known.is_empty() {
            "add it under `providers:`".into()
        } else {
            let listed = format!("defined providers: {}", known.join(", "));
            match super::suggest::hint(provider, known.iter().copied()) {
                Some(mean) => format!("{mean} ({listed})"),
                None => listed,
            }
        };
        report.push(
            &format!("{entry}/provider"),
            format!("provider `{provider}` is not defined under `providers`"),
            Some(hint),
        );
        return false;
    };
    let cap = capability::of(p.kind);
    if let Some(name) = &settings.schedule {
        if settings.state.is_some() {
            report.push_pointer(
                &format!("{entry}/schedule"),
                At::Key,
                "`state` and `schedule` on one entry: a schedule decides the power state".into(),
                Some("keep one: `schedule` to follow it, `state` for a fixed state".into()),
            );
        } else if !spec.schedules.contains_key(name) {
            let known: Vec<&str> = spec.schedules.keys().map(String::as_str).collect();
            let listed = if known.is_empty() {
                "declare it under `schedules:` (timezone, running windows)".to_owned()
            } else {
                format!("schedules: {}", known.join(", "))
            };
            report.push(
                &format!("{entry}/schedule"),
                format!("schedule `{name}` is not defined under `schedules`"),
                Some(match super::suggest::hint(name, known.iter().copied()) {
                    Some(mean) => format!("{mean} ({listed})"),
                    None => listed,
                }),
            );
        }
    }
    // GeeLark's details: its own field limits (providers.md 10.2.1, 10.2.3, 10.2.4).
    // The proxy a phone names must be one its entry declares (or `none`).
    if let Some(name) = &settings.proxy
        && cap.details
        && name != "none"
        && !p.proxies.contains_key(name)
    {
        let declared: Vec<&str> = p.proxies.keys().map(String::as_str).collect();
        report.push(
            &format!("{entry}/proxy"),
            format!("proxy `{name}` is not declared under `providers.{provider}.proxies`"),
            Some(if declared.is_empty() {
                "declare it there (scheme, server, port, username_env, password_env), or write `none`".into()
            } else {
                format!("declared: {}, or `none`", declared.join(", "))
            }),
        );
    }
    let texts: [(&str, Vec<&str>, usize); 4] = [
        (
            "group",
            settings.group.iter().map(String::as_str).collect(),
            50,
        ),
        (
            "tags",
            settings.tags.iter().flatten().map(String::as_str).collect(),
            30,
        ),
        (
            "remark",
            settings.remark.iter().map(String::as_str).collect(),
            1500,
        ),
        (
            "proxy",
            settings.proxy.iter().map(String::as_str).collect(),
            100,
        ),
    ];
    for (field, values, max) in texts {
        let given = match field {
            "group" => settings.group.is_some(),
            "tags" => settings.tags.is_some(),
            "proxy" => settings.proxy.is_some(),
            _ => settings.remark.is_some(),
        };
        if given && !cap.details {
            report.push_pointer(
                &format!("{entry}/{field}"),
                At::Key,
                format!("{} cannot manage `{field}` (geelark only)", p.kind),
                None,
            );
            continue;
        }
        for v in values {
            let chars = v.chars().count();
            let problem = if v.chars().any(char::is_control) {
                Some("holds a control character".to_owned())
            } else if chars > max {
                Some(format!(
                    "is {chars} characters; geelark takes at most {max}"
                ))
            } else if field != "remark" && v.trim().is_empty() {
                Some("is empty".to_owned())
            } else if field == "tags" && v.contains(',') {
                Some("holds a comma (tags are shown comma-separated)".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                report.push(
                    &format!("{entry}/{field}"),
                    format!("`{field}` {v:?} {problem}"),
                    None,
                );
            }
        }
    }
    if settings.image.is_some() && !cap.image {
        report.push_pointer(
            &format!("{entry}/image"),
            At::Key,
            format!(
                "{} cannot manage `image` (huawei-cph only; `plan --reset` resets other phones)",
                p.kind
            ),
            None,
        );
    }
    if traffic && !cap.traffic {
        report.push_pointer(
            &format!("{entry}/traffic"),
            At::Key,
            format!("{} cannot manage `traffic` (huawei-cph only)", p.kind),
            None,
        );
    }
    if restart && !cap.properties {
        report.push_pointer(
            &format!("{entry}/restart"),
            At::Key,
            format!(
                "{} cannot manage `restart` (huawei-cph only: it makes CPH properties take effect)",
                p.kind
            ),
            None,
        );
    }
    if let Some(props) = properties {
        if !cap.properties {
            report.push_pointer(
                &format!("{entry}/properties"),
                At::Key,
                format!("{} cannot manage `properties` (huawei-cph only)", p.kind),
                None,
            );
        } else {
            let size = serde_json::to_string(props).map(|s| s.len()).unwrap_or(0);
            if size > MAX_PROPERTY_JSON_BYTES {
                report.push(
                    &format!("{entry}/properties"),
                    format!(
                        "the properties make a {size}-byte JSON string; huawei-cph shows at most \
                         {MAX_PROPERTY_JSON_BYTES} bytes of a phone's properties (it accepts \
                         {MAX_PROPERTY_UPDATE_BYTES} in an update, but phonefleet confirms every change \
                         by reading it back)"
                    ),
                    Some("split the properties over fewer keys or shorter values".into()),
                );
            }
            for (k, v) in props {
                if matches!(v, super::PropertyValue::Integer(_)) && is_text_attribute(k) {
                    report.push(
                        &format!("{entry}/properties/{}", escape_segment(k)),
                        format!(
                            "CPH documents `{k}` as a String attribute, and this value is a number"
                        ),
                        Some(format!("quote the value: \"{}\"", v.text())),
                    );
                }
            }
            if props.keys().any(String::is_empty) {
                report.push(
                    &format!("{entry}/properties"),
                    "a property key is empty".into(),
                    None,
                );
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert!(check_endpoint("https://cph.cn-east-3.myhuaweicloud.com").is_ok());
        assert!(check_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(check_endpoint("http://[::1]:8080").is_ok());
        assert!(check_endpoint("http://localhost").is_ok());
        assert!(check_endpoint("http://10.0.0.1").is_err());
        assert!(check_endpoint("ftp://x").is_err());
        assert!(check_endpoint("nope").is_err());
        assert!(check_endpoint("not a url").is_err());
        assert!(check_endpoint("https://u:p@x.test").is_err());
        assert!(check_endpoint("https://x.test/api?access_token=1").is_err());
        assert!(check_endpoint("https://x.test/api#frag").is_err());
        assert!(check_endpoint("https://x.test:8443/api/v2").is_ok());
    }

    #[test]
    fn regions_and_project_ids() {
        assert!(region_problem("cn-east-3").is_none());
        assert!(region_problem("x@127.0.0.1:29443/#").is_some());
        assert!(region_problem("CN-EAST").is_some());
        assert!(path_segment_problem("project_id", "0a1b2c").is_none());
        assert!(path_segment_problem("project_id", "p1/../../../open/v1/phone/stop?x=").is_some());
        assert!(path_segment_problem("project_id", "..").is_some());
        assert!(id_problem(".", ProviderKind::Geelark).is_some());
        assert!(id_problem("..", ProviderKind::Geelark).is_some());
    }

    #[test]
    fn ids() {
        assert!(id_problem("a7f3a1c5258347d6b6f1def79e11f2bc", ProviderKind::HuaweiCph).is_none());
        assert!(id_problem("a7f3a1c5258347d6b6f1def79e11f2bcX", ProviderKind::HuaweiCph).is_some());
        assert!(id_problem("a7f3a1c5258347d6b6f1def79e11f2bcX", ProviderKind::Geelark).is_none());
        assert!(id_problem("a/b", ProviderKind::Geelark).is_some());
        assert!(id_problem("", ProviderKind::Geelark).is_some());
    }
}
