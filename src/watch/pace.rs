//! How often `watch` may read a fleet without running into a provider's rate limits. A tick reads each
//! provider's phones in batches (and, on CPH, one detail call per phone that declares properties); a
//! provider that limits its calls a minute and an hour (GeeLark: 180 and 21,600 by default,
//! phonefleet's margin under the documented 200 and 24,000; any provider: the spec's `limits`) allows
//! one tick every so many seconds. A shorter `--interval` is stretched to that (and said), so that ticks are spread
//! instead of throttled into errors. Pure.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::capability::EffectiveLimits;
use crate::spec::DesiredPhone;

/// A provider whose limits set a longer interval than asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The provider.
    pub provider: String,
    /// Calls one tick makes to its read route.
    pub calls: u64,
    /// The shortest interval its limits allow.
    pub interval: Duration,
    /// `180 calls a minute` or `21,600 calls an hour`: the limit that binds.
    pub limit: String,
}

/// The providers whose rate limits need a longer interval than `asked`, the one that binds first.
pub fn bounds(
    desired: &[DesiredPhone],
    limits: &BTreeMap<String, EffectiveLimits>,
    asked: Duration,
) -> Vec<Bound> {
    // (phones, phones that declare properties) per provider.
    let mut per_provider: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for d in desired {
        let e = per_provider.entry(d.provider.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(!d.properties.is_empty());
    }
    let mut out: Vec<Bound> = per_provider
        .into_iter()
        .filter_map(|(provider, (phones, with_properties))| {
            let l = limits.get(provider)?;
            // The batched reads, and on CPH one detail call per phone that declares properties (CPH
            // lists no properties).
            let detail = if l.reads_properties_per_phone() {
                with_properties
            } else {
                0
            };
            let calls = phones.div_ceil(l.observe_batch().max(1) as u64) + detail;
            let per = |limit: Option<u32>, window: u64, word: &str| {
                limit.map(|n| {
                    let secs = (calls * window).div_ceil(u64::from(n.max(1)));
                    (
                        Duration::from_secs(secs),
                        format!("{} calls {word}", crate::render::count(n as usize)),
                    )
                })
            };
            let (interval, limit) = [
                per(l.requests_per_minute, 60, "a minute"),
                per(l.requests_per_hour, 3600, "an hour"),
            ]
            .into_iter()
            .flatten()
            .max_by_key(|(d, _)| *d)?;
            (interval > asked).then(|| Bound {
                provider: provider.to_owned(),
                calls,
                interval,
                limit,
            })
        })
        .collect();
    out.sort_by_key(|b| std::cmp::Reverse(b.interval));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{PhoneSettings, ProviderKind};

    #[test]
    fn geelark_limits_stretch_a_short_interval() {
        let desired: Vec<DesiredPhone> = (0..40_000)
            .map(|i| DesiredPhone::new("gl", &format!("g{i}"), None, &PhoneSettings::default()))
            .chain((0..1_000).map(|i| {
                DesiredPhone::new("cph", &format!("c{i}"), None, &PhoneSettings::default())
            }))
            .collect();
        let limits: BTreeMap<String, EffectiveLimits> = [
            (
                "gl".to_owned(),
                EffectiveLimits::resolve(ProviderKind::Geelark, None, None, None),
            ),
            (
                "cph".to_owned(),
                EffectiveLimits::resolve(ProviderKind::HuaweiCph, None, None, None),
            ),
        ]
        .into();
        // 400 status calls a tick: 180 a minute allow one every 134 s; 21,600 an hour one every 67 s.
        let b = bounds(&desired, &limits, Duration::from_secs(60));
        assert_eq!(
            b,
            [Bound {
                provider: "gl".into(),
                calls: 400,
                interval: Duration::from_secs(134),
                limit: "180 calls a minute".into(),
            }]
        );
        assert!(bounds(&desired, &limits, Duration::from_secs(600)).is_empty());
        // 1,000 GeeLark phones: 10 calls a tick, one tick every 4 s at most (10 x 60 / 180 = 3.3).
        assert!(bounds(&desired[39_000..], &limits, Duration::from_secs(5)).is_empty());
        assert_eq!(
            bounds(&desired[39_000..], &limits, Duration::from_secs(1))[0].interval,
            Duration::from_secs(4)
        );
    }

    /// Any provider's limits count, the spec's included: a CPH account limited to 60 calls a minute,
    /// with 400 phones of which 100 declare properties, makes 2 list pages and 100 detail calls a tick.
    #[test]
    fn cph_detail_reads_count_and_any_provider_s_limits_stretch() {
        use crate::spec::PropertyValue;
        let desired: Vec<DesiredPhone> = (0..400)
            .map(|i| {
                let mut settings = PhoneSettings::default();
                if i % 4 == 0 {
                    settings.properties = Some([("k".to_owned(), PropertyValue::from("v"))].into());
                }
                DesiredPhone::new("cph", &format!("c{i}"), None, &settings)
            })
            .collect();
        let spec_limits = crate::spec::Limits {
            requests_per_minute: Some(60),
            ..crate::spec::Limits::default()
        };
        let limits: BTreeMap<String, EffectiveLimits> = [(
            "cph".to_owned(),
            EffectiveLimits::resolve(ProviderKind::HuaweiCph, Some(&spec_limits), None, None),
        )]
        .into();
        let b = bounds(&desired, &limits, Duration::from_secs(10));
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(b[0].calls, 102);
        assert_eq!(b[0].interval, Duration::from_secs(102));
        // Without limits of its own, CPH documents none: nothing stretches.
        let open: BTreeMap<String, EffectiveLimits> = [(
            "cph".to_owned(),
            EffectiveLimits::resolve(ProviderKind::HuaweiCph, None, None, None),
        )]
        .into();
        assert!(bounds(&desired, &open, Duration::from_secs(1)).is_empty());
    }
}
