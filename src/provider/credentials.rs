//! Credentials: the secrets a provider entry names, read from the environment (and registered with
//! [`crate::redact`] before any call, so that an answer echoing one is masked), and how each kind
//! authenticates: a token, Huawei AK/SK signing (CPH, KooPhone), or GeeLark's key mode.

use std::fmt;

use super::ProviderError;
use crate::spec::ProviderConfig;

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

/// The environment variables of one provider entry, read one by one; every missing one is noted, so
/// that all of them are named at once.
pub struct Env<'a> {
    provider: &'a str,
    missing: Vec<String>,
}

impl Env<'_> {
    /// The variable's value (registered for masking before any call), or a placeholder and a note.
    pub fn secret(&mut self, var: &str) -> Secret {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => {
                // Known before any call, so that an answer echoing it is masked.
                crate::redact::register(&v);
                Secret::new(v)
            }
            _ => {
                self.missing.push(var.to_owned());
                Secret::new("")
            }
        }
    }

    /// An optional variable: its value if set.
    pub fn optional(&mut self, var: &str) -> Option<Secret> {
        let v = std::env::var(var).ok().filter(|v| !v.is_empty())?;
        crate::redact::register(&v);
        Some(Secret::new(v))
    }

    fn done(self, auth: Auth) -> Result<Auth, ProviderError> {
        if self.missing.is_empty() {
            Ok(auth)
        } else {
            Err(ProviderError::MissingCredentials {
                provider: self.provider.to_owned(),
                vars: self.missing,
            })
        }
    }
}

/// A proxy its provider entry declares, its secrets read from their variables.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// `socks5`, `http` or `https`.
    pub scheme: crate::spec::ProxyScheme,
    /// Host.
    pub server: String,
    /// Port.
    pub port: u32,
    /// Username, when declared.
    pub username: Option<Secret>,
    /// Password, when declared.
    pub password: Option<Secret>,
}

/// The proxies an entry declares, by name, their secrets read like credentials (registered for
/// masking; every missing variable named at once); `simulated` makes placeholder secrets instead.
pub fn resolve_proxies(
    name: &str,
    config: &ProviderConfig,
    simulated: bool,
) -> Result<Vec<(String, Proxy)>, ProviderError> {
    let mut env = Env {
        provider: name,
        missing: Vec::new(),
    };
    let mut out = Vec::new();
    for (proxy, p) in &config.proxies {
        let mut read = |var: &Option<String>, what: &str| {
            var.as_deref().map(|v| {
                if simulated {
                    // A secret like any other: masked in answers, so that the sandbox's phones match.
                    let value = format!("simulated-{proxy}-{what}");
                    crate::redact::register(&value);
                    Secret::new(value)
                } else {
                    env.secret(v)
                }
            })
        };
        let username = read(&p.username_env, "user");
        let password = read(&p.password_env, "password");
        out.push((
            proxy.clone(),
            Proxy {
                scheme: p.scheme,
                server: p.server.clone(),
                port: p.port,
                username,
                password,
            },
        ));
    }
    env.done(Auth::Token(Secret::new(""))).map(|_| out)
}

/// Read the credentials a provider entry names (or the kind's usual variables) from the environment;
/// every missing variable is named in one error.
pub fn resolve_auth(name: &str, config: &ProviderConfig) -> Result<Auth, ProviderError> {
    let c = config.credentials.clone().unwrap_or_default();
    let mut env = Env {
        provider: name,
        missing: Vec::new(),
    };
    let auth = (super::kind::of(config.kind).auth)(&c, &mut env);
    env.done(auth)
}
