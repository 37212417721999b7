//! The capability table of providers.md section 0.1 as data: what each provider kind can read and change,
//! its batch limits, rate limits and default host. `validate`, `plan`, `apply` and the provider clients all
//! read it from here and nowhere else.

use crate::plan::Action;
use crate::spec::{Limits, ProviderKind};

/// A batch size: the default phonefleet uses and the documented maximum, when one is documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimit {
    /// Used unless the spec's `limits.batch_size` says otherwise.
    pub default: usize,
    /// The provider's documented maximum; `limits.batch_size` is capped to it.
    pub max: Option<usize>,
}

/// The limit of a call the provider does not offer.
pub const NOT_OFFERED: BatchLimit = BatchLimit {
    default: 0,
    max: Some(0),
};

/// What one provider kind can do, and its limits.
#[derive(Debug, Clone, Copy)]
pub struct Capability {
    /// Which kind this row describes.
    pub kind: ProviderKind,
    /// Start and stop are offered.
    pub power: bool,
    /// The traffic route can be read and set.
    pub traffic: bool,
    /// `sys.prop` properties can be read and set.
    pub properties: bool,
    /// Longest documented phone id, in bytes.
    pub id_max_len: Option<usize>,
    /// Ids per status read (CPH reads by list page instead; this is its page size).
    pub observe: BatchLimit,
    /// Ids per start / stop call.
    pub power_batch: BatchLimit,
    /// Ids per traffic call.
    pub traffic_batch: BatchLimit,
    /// Phones per property call.
    pub properties_batch: BatchLimit,
    /// Request ids per asynchronous-job query (CPH only).
    pub job_query: BatchLimit,
    /// Requests a minute per API route the provider documents, if it documents a limit (GeeLark: 200).
    /// phonefleet keeps [`DEFAULT_RATE_MARGIN`] percent under it.
    pub requests_per_minute: Option<u32>,
    /// Requests an hour per API route the provider documents (GeeLark: 24,000; going over locks the API
    /// for two hours).
    pub requests_per_hour: Option<u32>,
    /// Calls in flight at once.
    pub concurrency: u32,
    /// Why power cannot be managed, for blocked plan entries.
    pub no_power_reason: &'static str,
    /// The names a phone may be given, when the kind can rename one (one phone a call).
    pub name_rule: Option<NameRule>,
    /// Groups, tags and remarks of phones (GeeLark), read from the phone list.
    pub details: bool,
    /// Ids per restart call (`plan --restart`); not offered where the kind documents no restart.
    pub restart_batch: BatchLimit,
    /// Phones per create and per delete call (pools); not offered where the kind cannot make them.
    pub pool_batch: BatchLimit,
    /// Phones per reset call.
    pub reset_batch: BatchLimit,
    /// What a reset does and by which call, said beside it in plans.
    pub reset_says: &'static str,
    /// Whether a phone's image is read and can be declared (CPH `image_id`).
    pub image: bool,
}

/// The names a kind accepts for a phone.
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    /// Longest name, in characters.
    pub max_chars: usize,
    /// Whether a character may appear in a name.
    pub allowed: fn(char) -> bool,
    /// The rule in words, for validation errors.
    pub says: &'static str,
}

/// GeeLark's `phone/moveGroup`: at most 100 phones into one group a call.
const MOVE_GROUP: BatchLimit = BatchLimit {
    default: 100,
    max: Some(100),
};

/// Renames go one phone a call (CPH update_phone_name, GeeLark phone/detail/update).
pub const ONE_A_CALL: BatchLimit = BatchLimit {
    default: 1,
    max: Some(1),
};

/// How far under a provider's documented rate limits phonefleet keeps, in percent, unless the spec's
/// `limits.rate_margin_percent` says otherwise: the edges of phonefleet's sliding window and of the
/// provider's count never line up exactly (requests in flight, clock skew, the provider counting a retry
/// or another tool on the same account), and going over costs a minute (GeeLark 40007) or two hours
/// (40014). 10% is what GeeLark's own MCP server keeps to (180 of 200).
pub const DEFAULT_RATE_MARGIN: u32 = 10;

/// Calls in flight per provider when neither the spec nor the command line says: no provider documents
/// a concurrency limit, so phonefleet uses Terraform's default parallelism. Rate limits and HTTP 429 are
/// handled on their own (see `provider::http`).
pub const DEFAULT_CONCURRENCY: u32 = 10;

/// A batch size phonefleet picks where none is documented.
pub const UNDOCUMENTED_100: BatchLimit = BatchLimit {
    default: 100,
    max: None,
};

/// The row for one kind (each vendor module keeps its own, in its descriptor).
pub fn of(kind: ProviderKind) -> &'static Capability {
    crate::provider::kind::of(kind).capability
}

impl Capability {
    /// Whether this kind can carry out `action` at all.
    pub fn supports(&self, action: &Action) -> bool {
        crate::attribute::supports(self.kind, action)
    }

    /// The batch limit row for an action.
    pub fn batch_limit(&self, action: &Action) -> BatchLimit {
        match action {
            Action::Start | Action::Stop => self.power_batch,
            Action::Restart => self.restart_batch,
            Action::SetTraffic(_) => self.traffic_batch,
            Action::SetProperties | Action::ClearRestartPending => self.properties_batch,
            Action::Rename if self.name_rule.is_some() => ONE_A_CALL,
            Action::Rename => NOT_OFFERED,
            Action::SetGroup if self.details => MOVE_GROUP,
            Action::SetTags | Action::SetRemark | Action::SetProxy if self.details => ONE_A_CALL,
            Action::SetGroup | Action::SetTags | Action::SetRemark | Action::SetProxy => {
                NOT_OFFERED
            }
            Action::Create | Action::Delete => self.pool_batch,
            Action::Reset => self.reset_batch,
        }
    }

    /// The largest documented maximum over every call this kind makes, for validating `batch_size`.
    pub fn largest_documented_batch(&self) -> Option<usize> {
        let rows = [
            self.observe,
            self.power_batch,
            self.traffic_batch,
            self.properties_batch,
        ];
        if rows.iter().any(|r| r.default > 0 && r.max.is_none()) {
            return None;
        }
        rows.iter().filter_map(|r| r.max).max()
    }

    /// Default base URL (no trailing slash).
    pub fn default_endpoint(&self, region: Option<&str>) -> Option<String> {
        (crate::provider::kind::of(self.kind).default_endpoint)(region)
    }
}

/// Limits in force for one provider: the table's defaults with the spec's and the command line's
/// overrides applied, resolved once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    kind: ProviderKind,
    batch_size: Option<usize>,
    /// Requests a minute per API route, if limited.
    pub requests_per_minute: Option<u32>,
    /// Requests an hour per API route, if limited.
    pub requests_per_hour: Option<u32>,
    /// Calls in flight at once.
    pub concurrency: usize,
}

/// A documented limit less the margin (the spec's, or [`DEFAULT_RATE_MARGIN`]); at least 1.
pub fn under(documented: u32, margin: Option<u32>) -> u32 {
    let margin = u64::from(margin.unwrap_or(DEFAULT_RATE_MARGIN).min(90));
    ((u64::from(documented) * (100 - margin)) / 100).max(1) as u32
}

impl EffectiveLimits {
    /// Resolve: command line (`--max-batch`, `--parallelism`) over spec `limits` over the table.
    pub fn resolve(
        kind: ProviderKind,
        spec: Option<&Limits>,
        max_batch: Option<usize>,
        parallelism: Option<usize>,
    ) -> EffectiveLimits {
        let cap = of(kind);
        let spec = spec.copied().unwrap_or_default();
        EffectiveLimits {
            kind,
            batch_size: max_batch.or(spec.batch_size.map(|b| b as usize)),
            requests_per_minute: spec.requests_per_minute.or_else(|| {
                cap.requests_per_minute
                    .map(|n| under(n, spec.rate_margin_percent))
            }),
            requests_per_hour: spec.requests_per_hour.or_else(|| {
                cap.requests_per_hour
                    .map(|n| under(n, spec.rate_margin_percent))
            }),
            concurrency: parallelism
                .or(spec.concurrency.map(|c| c as usize))
                .unwrap_or(cap.concurrency as usize)
                .max(1),
        }
    }

    fn apply(&self, row: BatchLimit) -> usize {
        let wanted = self.batch_size.unwrap_or(row.default);
        let capped = match row.max {
            Some(max) => wanted.min(max),
            None => wanted,
        };
        capped.max(1)
    }

    /// Ids per call for a mutating action.
    pub fn batch(&self, action: &Action) -> usize {
        self.apply(of(self.kind).batch_limit(action))
    }

    /// Request ids per job query (CPH): 20, or fewer under `--max-batch` / `limits.batch_size`, so that
    /// `--max-batch 1` polls each phone's job on its own, as a per-phone tool does.
    pub fn job_query_batch(&self) -> usize {
        self.apply(of(self.kind).job_query)
    }

    /// Whether reading a phone's properties takes a call of its own (CPH: the detail route).
    pub fn reads_properties_per_phone(&self) -> bool {
        of(self.kind).properties
    }

    /// Ids per status call (GeeLark, KooPhone); for CPH the list page size (200 unless lowered).
    pub fn observe_batch(&self) -> usize {
        self.apply(of(self.kind).observe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Traffic;

    #[test]
    fn batch_sizes_follow_the_table_and_overrides() {
        let gl = EffectiveLimits::resolve(ProviderKind::Geelark, None, None, None);
        assert_eq!(gl.batch(&Action::Stop), 200);
        assert_eq!(gl.observe_batch(), 100);
        assert_eq!(
            gl.requests_per_minute,
            Some(180),
            "200 documented, less 10%"
        );
        assert_eq!(
            gl.requests_per_hour,
            Some(21_600),
            "24,000 documented, less 10%"
        );
        let margin = |m: u32| {
            let spec = crate::spec::Limits {
                rate_margin_percent: Some(m),
                ..Default::default()
            };
            let l = EffectiveLimits::resolve(ProviderKind::Geelark, Some(&spec), None, None);
            (l.requests_per_minute, l.requests_per_hour)
        };
        assert_eq!(
            margin(0),
            (Some(200), Some(24_000)),
            "the documented limits"
        );
        assert_eq!(margin(25), (Some(150), Some(18_000)));
        assert_eq!(margin(95), (Some(20), Some(2_400)), "at most 90% under");
        let gl_small = EffectiveLimits::resolve(ProviderKind::Geelark, None, Some(1), Some(10));
        assert_eq!(
            (gl_small.batch(&Action::Start), gl_small.concurrency),
            (1, 10)
        );
        let kp = EffectiveLimits::resolve(
            ProviderKind::Koophone,
            Some(&Limits {
                batch_size: Some(500),
                ..Limits::default()
            }),
            None,
            None,
        );
        assert_eq!(kp.observe_batch(), 100);
        let cph = EffectiveLimits::resolve(ProviderKind::HuaweiCph, None, Some(300), None);
        assert_eq!(cph.batch(&Action::SetTraffic(Traffic::Direct)), 100);
        assert_eq!(cph.batch(&Action::Stop), 300);
        assert_eq!(cph.observe_batch(), 200);
        let per_phone = EffectiveLimits::resolve(ProviderKind::HuaweiCph, None, Some(1), None);
        assert_eq!(per_phone.observe_batch(), 1);
        assert_eq!(per_phone.job_query_batch(), 1);
        assert_eq!(cph.job_query_batch(), 20);
        let default = EffectiveLimits::resolve(ProviderKind::Koophone, None, None, None);
        assert_eq!(default.concurrency, DEFAULT_CONCURRENCY as usize);
    }
}

/// Where a provider entry's calls go: its `endpoint`, or its kind's default host (for CPH, of its
/// region). `None` only for a CPH entry with neither, which validation refuses.
pub fn endpoint_of(config: &crate::spec::ProviderConfig) -> Option<String> {
    config
        .endpoint
        .clone()
        .or_else(|| of(config.kind).default_endpoint(config.region.as_deref()))
}

/// Command-line overrides of every provider's limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--max-batch`.
    pub max_batch: Option<usize>,
    /// `--parallelism`.
    pub parallelism: Option<usize>,
}

/// Limits in force for each provider of a spec.
pub fn limits_for(
    providers: &std::collections::BTreeMap<String, crate::spec::ProviderConfig>,
    o: Overrides,
) -> std::collections::BTreeMap<String, EffectiveLimits> {
    providers
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                EffectiveLimits::resolve(p.kind, p.limits.as_ref(), o.max_batch, o.parallelism),
            )
        })
        .collect()
}
