//! Credentials: the secrets a provider entry names, read from the environment (and registered with
//! [`crate::redact`] before any call, so that an answer echoing one is masked), and how each kind
//! authenticates: a token, Huawei AK/SK signing (CPH, KooPhone), or GeeLark's key mode.

use std::fmt;

use super::ProviderError;
use crate::spec::{ProviderConfig, ProviderKind};

/// A secret read from the environment. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value, for building a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How requests to a provider are authenticated.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `X-Auth-Token` (huawei-cph, koophone) or `Authorization: Bearer` (geelark).
    Token(Secret),
    /// huawei-cph and koophone AK/SK signing, with `X-Security-Token` for temporary keys.
    AkSk {
        /// Access key id.
        ak: Secret,
        /// Secret access key.
        sk: Secret,
        /// Security token of a temporary key.
        security_token: Option<Secret>,
    },
    /// geelark key mode (`appId`, `traceId`, `ts`, `nonce`, `sign`).
    AppKey {
        /// Team AppId.
        app_id: Secret,
        /// API key.
        api_key: Secret,
    },
}

impl Auth {
    /// The key of this account's plan files: derived from the long-lived secrets (a temporary security
    /// token is left out, as it changes every few hours).
    pub fn plan_key(&self) -> crate::plan::saved::PlanKey {
        use crate::plan::saved::PlanKey;
        match self {
            Auth::Token(t) => PlanKey::derive(&["token", t.expose()]),
            Auth::AkSk { ak, sk, .. } => PlanKey::derive(&["aksk", ak.expose(), sk.expose()]),
            Auth::AppKey { app_id, api_key } => {
                PlanKey::derive(&["appkey", app_id.expose(), api_key.expose()])
            }
        }
    }
}

fn env_secret(provider: &str, var: &str) -> Result<Secret, ProviderError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => {
            // Known before any call, so that an answer echoing it is masked.
            crate::redact::register(&v);
            Ok(Secret::new(v))
        }
        _ => Err(ProviderError::MissingCredentials {
            provider: provider.to_owned(),
            var: var.to_owned(),
        }),
    }
}

/// Read the credentials a provider entry names (or the kind's usual variables) from the environment.
pub fn resolve_auth(name: &str, config: &ProviderConfig) -> Result<Auth, ProviderError> {
    let c = config.credentials.clone().unwrap_or_default();
    let security_token = |explicit: Option<&String>| -> Result<Option<Secret>, ProviderError> {
        match explicit {
            Some(var) => env_secret(name, var).map(Some),
            None => Ok(env_secret(name, "HUAWEICLOUD_SDK_SECURITY_TOKEN").ok()),
        }
    };
    match config.kind {
        ProviderKind::HuaweiCph => {
            if let Some(var) = &c.token_env {
                return Ok(Auth::Token(env_secret(name, var)?));
            }
            let ak_var = c.ak_env.as_deref().unwrap_or("HUAWEICLOUD_SDK_AK");
            let sk_var = c.sk_env.as_deref().unwrap_or("HUAWEICLOUD_SDK_SK");
            Ok(Auth::AkSk {
                ak: env_secret(name, ak_var)?,
                sk: env_secret(name, sk_var)?,
                security_token: security_token(c.security_token_env.as_ref())?,
            })
        }
        ProviderKind::Geelark => {
            if let (Some(app), Some(key)) = (&c.app_id_env, &c.api_key_env) {
                return Ok(Auth::AppKey {
                    app_id: env_secret(name, app)?,
                    api_key: env_secret(name, key)?,
                });
            }
            Ok(Auth::Token(env_secret(
                name,
                c.token_env.as_deref().unwrap_or("GEELARK_TOKEN"),
            )?))
        }
        ProviderKind::Koophone => {
            if let (Some(ak), Some(sk)) = (&c.ak_env, &c.sk_env) {
                return Ok(Auth::AkSk {
                    ak: env_secret(name, ak)?,
                    sk: env_secret(name, sk)?,
                    security_token: c
                        .security_token_env
                        .as_deref()
                        .map(|v| env_secret(name, v))
                        .transpose()?,
                });
            }
            Ok(Auth::Token(env_secret(
                name,
                c.token_env.as_deref().unwrap_or("KOOPHONE_TOKEN"),
            )?))
        }
    }
}
