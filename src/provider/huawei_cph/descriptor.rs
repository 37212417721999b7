//! Huawei CPH as a kind: its capability row, official hosts, variables, entry fields, credentials and
//! client, in one [`DESCRIPTOR`].

use super::{DIALECT, HuaweiCph};
use crate::capability::{BatchLimit, Capability, DEFAULT_CONCURRENCY, NameRule, UNDOCUMENTED_100};
use crate::provider::Ctx;
use crate::provider::credentials::{Auth, Env};
use crate::provider::kind::{Descriptor, Vendor};
use crate::spec::{Credentials, ProviderConfig, ProviderKind};

/// What it can do and its limits (providers.md 0.1).
static CAPABILITY: Capability = Capability {
    kind: ProviderKind::HuaweiCph,
    power: true,
    traffic: true,
    properties: true,
    id_max_len: Some(32),
    observe: BatchLimit {
        default: 200,
        max: Some(200),
    },
    power_batch: UNDOCUMENTED_100,
    traffic_batch: BatchLimit {
        default: 100,
        max: Some(100),
    },
    properties_batch: UNDOCUMENTED_100,
    job_query: BatchLimit {
        default: 20,
        max: Some(20),
    },
    requests_per_minute: None,
    requests_per_hour: None,
    concurrency: DEFAULT_CONCURRENCY,
    no_power_reason: "",
    name_rule: Some(NameRule {
        max_chars: 60,
        allowed: cph_name_char,
        says: "letters, digits, `-`, `_` and Chinese characters",
    }),
    details: false,
    // `plan --restart`: CPH batch-restart; KooPhone reboot (100 a call, all running); GeeLark
    // documents none (its CLI's `phone/restart` is not in the API docs).
    pool_batch: crate::capability::NOT_OFFERED,
    // batch-reset documents no maximum: the batch size of the other calls.
    reset_batch: BatchLimit {
        default: 100,
        max: None,
    },
    reset_says: "batch-reset: the phone's data is cleared",
    image: true,
    restart_batch: UNDOCUMENTED_100,
};

/// CPH phone names (providers.md 10.1.1): letters, digits, `-`, `_` and Chinese characters, at most 60.
/// The English page leaves Chinese out; the Chinese page and the SDK's model allow it.
fn cph_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || ('\u{4e00}'..='\u{9fa5}').contains(&c)
}

/// `cph.{region}.myhuaweicloud.com`.
fn is_official_host(host: &str) -> bool {
    host.strip_prefix("cph.")
        .and_then(|rest| rest.strip_suffix(".myhuaweicloud.com"))
        .is_some_and(|region| {
            !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

/// A token, or AK/SK (the SDK's usual variables by default) with an optional security token.
fn auth(c: &Credentials, env: &mut Env<'_>) -> Auth {
    match &c.token_env {
        Some(var) => Auth::Token(env.secret(var)),
        None => Auth::AkSk {
            ak: env.secret(c.ak_env.as_deref().unwrap_or("HUAWEICLOUD_SDK_AK")),
            sk: env.secret(c.sk_env.as_deref().unwrap_or("HUAWEICLOUD_SDK_SK")),
            security_token: match &c.security_token_env {
                Some(var) => Some(env.secret(var)),
                None => env.optional("HUAWEICLOUD_SDK_SECURITY_TOKEN"),
            },
        },
    }
}

/// A project id, and a region unless an endpoint is given.
fn required(p: &ProviderConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if p.project_id.as_deref().is_none_or(str::is_empty) {
        out.push(("", "huawei-cph needs `project_id`".to_owned()));
    }
    if p.region.is_none() && p.endpoint.is_none() {
        out.push((
            "",
            "huawei-cph needs `region` (or an `endpoint`)".to_owned(),
        ));
    }
    out
}

fn connect(ctx: Ctx, config: &ProviderConfig) -> Box<dyn Vendor> {
    Box::new(HuaweiCph::new(
        ctx,
        config.project_id.clone().unwrap_or_default(),
    ))
}

/// Huawei CPH.
pub static DESCRIPTOR: Descriptor = Descriptor {
    kind: ProviderKind::HuaweiCph,
    capability: &CAPABILITY,
    dialect: &DIALECT,
    official_hosts: "cph.{region}.myhuaweicloud.com",
    is_official_host,
    default_endpoint: |region| region.map(|r| format!("https://cph.{r}.myhuaweicloud.com")),
    env_prefixes: &[
        "HUAWEICLOUD_",
        "CPH_",
        "PHONEFLEET_HUAWEICLOUD_",
        "PHONEFLEET_CPH_",
    ],
    fields: &[
        "region",
        "project_id",
        "credentials/ak_env",
        "credentials/sk_env",
        "credentials/security_token_env",
    ],
    required,
    auth,
    connect,
};

crate::provider::kind::vendor!(HuaweiCph, poll | list_images);
