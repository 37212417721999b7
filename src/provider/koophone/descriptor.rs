//! KooPhone as a kind: its capability row, official host, variables, entry fields, credentials and
//! client, in one [`DESCRIPTOR`].

use super::{DIALECT, Koophone};
use crate::capability::{BatchLimit, Capability, DEFAULT_CONCURRENCY, NOT_OFFERED};
use crate::provider::Ctx;
use crate::provider::credentials::{Auth, Env};
use crate::provider::kind::{Descriptor, Vendor};
use crate::spec::{Credentials, ProviderConfig, ProviderKind};

/// What it can do and its limits (providers.md 0.1).
static CAPABILITY: Capability = Capability {
    kind: ProviderKind::Koophone,
    power: false,
    traffic: false,
    properties: false,
    id_max_len: Some(32),
    // 32 per the 2024 page; newer pages say 100, so `limits.batch_size` may raise it that far (with
    // the workflow's PHONEFLEET_ALLOW_RAISED_LIMITS=1: a spec may only lower the defaults).
    observe: BatchLimit {
        default: 32,
        max: Some(100),
    },
    power_batch: NOT_OFFERED,
    traffic_batch: NOT_OFFERED,
    properties_batch: NOT_OFFERED,
    job_query: NOT_OFFERED,
    requests_per_minute: None,
    requests_per_hour: None,
    concurrency: DEFAULT_CONCURRENCY,
    no_power_reason: "koophone offers no API to start or stop an instance; change it in the KooPhone console",
    name_rule: None,
    details: false,
    // `plan --restart`: CPH batch-restart; KooPhone reboot (100 a call, all running); GeeLark
    // documents none (its CLI's `phone/restart` is not in the API docs).
    pool_batch: crate::capability::NOT_OFFERED,
    // `/v1/instances/batch-reset`: 100 ids a call, each at most 32 characters (providers.md 10.3).
    reset_batch: BatchLimit {
        default: 100,
        max: Some(100),
    },
    reset_says: "batch-reset: the instance's data and apps are cleared",
    image: false,
    restart_batch: BatchLimit {
        default: 100,
        max: Some(100),
    },
};

/// AK/SK with an optional security token, or a tenant token.
fn auth(c: &Credentials, env: &mut Env<'_>) -> Auth {
    match (&c.ak_env, &c.sk_env) {
        (Some(ak), Some(sk)) => Auth::AkSk {
            ak: env.secret(ak),
            sk: env.secret(sk),
            security_token: c.security_token_env.as_deref().map(|v| env.secret(v)),
        },
        _ => Auth::Token(env.secret(c.token_env.as_deref().unwrap_or("KOOPHONE_TOKEN"))),
    }
}

fn connect(ctx: Ctx, config: &ProviderConfig) -> Box<dyn Vendor> {
    Box::new(Koophone::new(ctx, config.project_id.clone()))
}

/// Huawei KooPhone.
pub static DESCRIPTOR: Descriptor = Descriptor {
    kind: ProviderKind::Koophone,
    capability: &CAPABILITY,
    dialect: &DIALECT,
    official_hosts: "koophone.myhuaweicloud.com",
    is_official_host: |host| host == "koophone.myhuaweicloud.com",
    default_endpoint: |_| Some("https://koophone.myhuaweicloud.com".into()),
    env_prefixes: &[
        "HUAWEICLOUD_",
        "KOOPHONE_",
        "PHONEFLEET_HUAWEICLOUD_",
        "PHONEFLEET_KOOPHONE_",
    ],
    // KooPhone paths carry no project; a project id there is sent as `X-Project-Id` with AK/SK.
    fields: &[
        "project_id",
        "credentials/ak_env",
        "credentials/sk_env",
        "credentials/security_token_env",
    ],
    required: |_| Vec::new(),
    auth,
    connect,
};

crate::provider::kind::vendor!(Koophone, poll);
