//! One descriptor per provider kind: the one place a kind's facts live (what it can do and its limits,
//! its dialect, its official hosts and default endpoint, which variables and spec fields it takes, how
//! it authenticates, how its client is made). Each vendor module owns its `DESCRIPTOR`; [`of`] is the
//! only `match` on a kind outside the simulator. A fourth kind is a vendor module with its descriptor,
//! one arm here and one variant of [`ProviderKind`], plus its simulator routes (ARCHITECTURE.md).

use futures::future::LocalBoxFuture;

use super::credentials::{Auth, Env};
use super::dialect::Dialect;
use super::{BatchResults, Ctx, Listed, ObserveTarget, PendingJob, Polled, ProviderError};
use crate::capability::Capability;
use crate::plan::Batch;
use crate::spec::{Credentials, ProviderConfig, ProviderKind};
use crate::state::Observation;

/// Everything phonefleet knows about one kind.
pub struct Descriptor {
    /// The kind.
    pub kind: ProviderKind,
    /// What it can do, its batch sizes and documented rates.
    pub capability: &'static Capability,
    /// Its status codes, error classes and advice.
    pub dialect: &'static Dialect,
    /// Its official API hosts, in words (`cph.{region}.myhuaweicloud.com`).
    pub official_hosts: &'static str,
    /// Whether a host (lowercase) is one of them.
    pub is_official_host: fn(&str) -> bool,
    /// Its default base URL (for CPH, of a region); no trailing slash.
    pub default_endpoint: fn(Option<&str>) -> Option<String>,
    /// Prefixes of the variables a spec may name for it without consent.
    pub env_prefixes: &'static [&'static str],
    /// The optional fields of a provider entry it takes (`region`, `project_id`, `trace_id_format`,
    /// `credentials.ak_env`, ...): another kind's field is a validation error naming who takes it.
    pub fields: &'static [&'static str],
    /// What its entry must say beyond the common fields: (JSON pointer suffix, problem) pairs.
    pub required: fn(&ProviderConfig) -> Vec<(&'static str, String)>,
    /// Its credentials, read from the variables the entry names (or the kind's usual ones).
    pub auth: fn(&Credentials, &mut Env<'_>) -> Auth,
    /// Its client.
    pub connect: fn(Ctx, &ProviderConfig) -> Box<dyn Vendor>,
}

/// The descriptor of `kind`.
pub fn of(kind: ProviderKind) -> &'static Descriptor {
    match kind {
        ProviderKind::HuaweiCph => &super::huawei_cph::DESCRIPTOR,
        ProviderKind::Geelark => &super::geelark::DESCRIPTOR,
        ProviderKind::Koophone => &super::koophone::DESCRIPTOR,
    }
}

/// The kinds that take an optional entry field, for "`x` is for huawei-cph and koophone only".
pub fn takers(field: &str) -> Vec<ProviderKind> {
    ProviderKind::ALL
        .into_iter()
        .filter(|k| of(*k).fields.contains(&field))
        .collect()
}

/// `impl Vendor for $t` by its inherent `observe`, `list_all`, `count_all` and `submit` (and `poll`,
/// when named), which every vendor module writes as plain `async fn`s.
macro_rules! vendor {
    ($t:ty $(, $poll:ident)? $(; $named:ident)? $(| $images:ident)?) => {
        impl $crate::provider::kind::Vendor for $t {
            fn ctx(&self) -> &$crate::provider::Ctx {
                &self.ctx
            }

            fn observe<'a>(
                &'a self,
                targets: &'a [$crate::provider::ObserveTarget],
            ) -> futures::future::LocalBoxFuture<
                'a,
                Result<
                    foldhash::HashMap<String, $crate::state::Observation>,
                    $crate::provider::ProviderError,
                >,
            > {
                Box::pin(<$t>::observe(self, targets))
            }

            fn list_all(
                &self,
                properties: bool,
            ) -> futures::future::LocalBoxFuture<
                '_,
                Result<Vec<$crate::provider::Listed>, $crate::provider::ProviderError>,
            > {
                Box::pin(<$t>::list_all(self, properties))
            }

            fn count_all(
                &self,
            ) -> futures::future::LocalBoxFuture<'_, Result<usize, $crate::provider::ProviderError>>
            {
                Box::pin(<$t>::count_all(self))
            }

            fn submit<'a>(
                &'a self,
                batch: &'a $crate::plan::Batch,
            ) -> futures::future::LocalBoxFuture<
                'a,
                Result<$crate::provider::BatchResults, $crate::provider::ProviderError>,
            > {
                Box::pin(<$t>::submit(self, batch))
            }

            $(
                fn $images(
                    &self,
                ) -> futures::future::LocalBoxFuture<
                    '_,
                    Result<Option<Vec<String>>, $crate::provider::ProviderError>,
                > {
                    Box::pin(async move { <$t>::list_images(self).await.map(Some) })
                }
            )?

            $(
                fn $named<'a>(
                    &'a self,
                    prefix: &'a str,
                ) -> futures::future::LocalBoxFuture<
                    'a,
                    Result<Vec<$crate::provider::Listed>, $crate::provider::ProviderError>,
                > {
                    Box::pin(<$t>::list_named(self, prefix))
                }
            )?

            $(
                fn $poll<'a>(
                    &'a self,
                    jobs: &'a [$crate::provider::PendingJob],
                ) -> futures::future::LocalBoxFuture<
                    'a,
                    Result<$crate::provider::Polled, $crate::provider::ProviderError>,
                > {
                    Box::pin(<$t>::poll(self, jobs))
                }
            )?
        }
    };
}
pub(crate) use vendor;

/// What a vendor's client does; the shared [`super::Client`] holds one.
pub trait Vendor: std::fmt::Debug + Send + Sync {
    /// Its shared parts.
    fn ctx(&self) -> &Ctx;
    /// Read these phones; phones the provider does not know come back as `NotFound`.
    fn observe<'a>(
        &'a self,
        targets: &'a [ObserveTarget],
    ) -> LocalBoxFuture<'a, Result<foldhash::HashMap<String, Observation>, ProviderError>>;
    /// Every phone of the account; with `properties`, CPH reads each one's detail.
    fn list_all(&self, properties: bool) -> LocalBoxFuture<'_, Result<Vec<Listed>, ProviderError>>;
    /// How many phones the account holds, in one call.
    fn count_all(&self) -> LocalBoxFuture<'_, Result<usize, ProviderError>>;
    /// The phone images the account can use, when the kind lists them (CPH); `None` otherwise.
    fn list_images(&self) -> LocalBoxFuture<'_, Result<Option<Vec<String>>, ProviderError>> {
        Box::pin(async { Ok(None) })
    }
    /// The account's phones whose name begins with `prefix`: the whole account listed and filtered,
    /// unless the kind can filter by name (GeeLark `serialName`).
    fn list_named<'a>(
        &'a self,
        prefix: &'a str,
    ) -> LocalBoxFuture<'a, Result<Vec<Listed>, ProviderError>> {
        Box::pin(async move {
            let all = self.list_all(false).await?;
            Ok(all
                .into_iter()
                .filter(|l| l.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
                .collect())
        })
    }
    /// Send one batch (the capability table was checked: the kind can do it).
    fn submit<'a>(
        &'a self,
        batch: &'a Batch,
    ) -> LocalBoxFuture<'a, Result<BatchResults, ProviderError>>;
    /// One poll of asynchronous jobs; a kind without jobs finished them when it answered.
    fn poll<'a>(
        &'a self,
        jobs: &'a [PendingJob],
    ) -> LocalBoxFuture<'a, Result<Polled, ProviderError>> {
        Box::pin(async move {
            Ok(Polled {
                finished: jobs.iter().map(|j| (j.clone(), Ok(()))).collect(),
                failed_poll: None,
            })
        })
    }
}
