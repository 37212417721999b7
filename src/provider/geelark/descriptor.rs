//! GeeLark as a kind: its capability row, official host, variables, entry fields, credentials and
//! client, in one [`DESCRIPTOR`].

use super::{DIALECT, Geelark};
use crate::capability::{BatchLimit, Capability, DEFAULT_CONCURRENCY, NOT_OFFERED, NameRule};
use crate::provider::Ctx;
use crate::provider::credentials::{Auth, Env};
use crate::provider::kind::{Descriptor, Vendor};
use crate::spec::{Credentials, ProviderConfig, ProviderKind};

/// What it can do and its limits (providers.md 0.1).
static CAPABILITY: Capability = Capability {
    kind: ProviderKind::Geelark,
    power: true,
    traffic: false,
    properties: false,
    id_max_len: None,
    observe: BatchLimit {
        default: 100,
        max: Some(100),
    },
    power_batch: BatchLimit {
        default: 200,
        max: Some(200),
    },
    traffic_batch: NOT_OFFERED,
    properties_batch: NOT_OFFERED,
    job_query: NOT_OFFERED,
    requests_per_minute: Some(200),
    requests_per_hour: Some(24_000),
    concurrency: DEFAULT_CONCURRENCY,
    no_power_reason: "",
    name_rule: Some(NameRule {
        max_chars: 100,
        allowed: geelark_name_char,
        says: "any printable character",
    }),
    details: true,
    // `plan --restart`: GeeLark's own CLI restarts with `POST /open/v1/phone/restart {"id"}`, one
    // phone a call (providers.md 0.6; not in its API docs).
    restart_batch: crate::capability::ONE_A_CALL,
    // `phone/addNew` and `phone/delete`: 100 a call (providers.md 10.2.7).
    pool_batch: BatchLimit {
        default: 100,
        max: Some(100),
    },
    // `phone/newOne`: one phone a call (providers.md 10.2.8).
    reset_batch: crate::capability::ONE_A_CALL,
    reset_says: "phone/newOne: a new device identity; data and apps are cleared",
    image: false,
};

/// GeeLark documents only a length (`name`, at most 100): any printable character.
fn geelark_name_char(c: char) -> bool {
    !c.is_control()
}

/// Key mode (AppId and API key), or a bearer token.
fn auth(c: &Credentials, env: &mut Env<'_>) -> Auth {
    match (&c.app_id_env, &c.api_key_env) {
        (Some(app), Some(key)) => Auth::AppKey {
            app_id: env.secret(app),
            api_key: env.secret(key),
        },
        _ => Auth::Token(env.secret(c.token_env.as_deref().unwrap_or("GEELARK_TOKEN"))),
    }
}

fn connect(ctx: Ctx, config: &ProviderConfig) -> Box<dyn Vendor> {
    Box::new(Geelark::new(
        ctx,
        config.trace_id_format.unwrap_or_default(),
    ))
}

/// GeeLark's open API.
pub static DESCRIPTOR: Descriptor = Descriptor {
    kind: ProviderKind::Geelark,
    capability: &CAPABILITY,
    dialect: &DIALECT,
    official_hosts: "openapi.geelark.com",
    is_official_host: |host| host == "openapi.geelark.com",
    default_endpoint: |_| Some("https://openapi.geelark.com".into()),
    env_prefixes: &["GEELARK_", "PHONEFLEET_GEELARK_"],
    fields: &[
        "trace_id_format",
        "credentials/app_id_env",
        "credentials/api_key_env",
    ],
    required: |_| Vec::new(),
    auth,
    connect,
};

crate::provider::kind::vendor!(Geelark; list_named);
