//! Seeding a simulated fleet from a fleet spec: every declared phone the fleet does not hold yet is
//! created as the spec wants it, with a visible drift (every third phone's power where the provider can
//! change it, every third route, every second property set), so that the first plan has something to
//! show. Pools are left empty (the first apply creates their members). Used by `--simulate` (on top of the saved sandbox) and by `simulate --fixture SPEC`.

use std::collections::BTreeMap;

use super::{Fixture, FixturePhone, FixtureStatus};
use crate::spec::{DesiredPhone, PowerState, ProviderConfig, ProviderKind, Traffic};

/// Add every phone of `desired` that `fixture` does not hold yet, seeded with a drift.
pub fn add_declared(
    fixture: &mut Fixture,
    providers: &BTreeMap<String, ProviderConfig>,
    desired: &[DesiredPhone],
) {
    let known: std::collections::HashSet<(ProviderKind, String)> = fixture
        .phones
        .iter()
        .map(|p| (p.provider, p.id.clone()))
        .collect();
    let (mut powered, mut routed, mut propertied) = (0usize, 0usize, 0usize);
    for d in desired {
        let Some(config) = providers.get(&d.provider) else {
            continue;
        };
        // A pool is not a phone: its members are made by the first apply, as on a real account.
        if d.pool.is_some() {
            continue;
        }
        if known.contains(&(config.kind, d.id.clone())) {
            continue;
        }
        let cap = crate::capability::of(config.kind);
        let drift = Drift {
            power: cap.power && d.state.is_some() && count(&mut powered).is_multiple_of(3),
            traffic: d.traffic.is_some() && count(&mut routed) % 3 == 1,
            properties: !d.properties.is_empty() && count(&mut propertied).is_multiple_of(2),
        };
        fixture.phones.push(seed_phone(config, d, drift));
    }
}

/// A fixture holding every phone a spec declares, seeded as `--simulate` seeds them.
pub fn from_spec(spec: &crate::spec::FleetSpec) -> Fixture {
    let mut fixture = Fixture::default();
    add_declared(&mut fixture, &spec.providers, &spec.desired_phones());
    fixture
}

fn count(n: &mut usize) -> usize {
    *n += 1;
    *n - 1
}

/// Which attributes of a seeded phone are off.
#[derive(Debug, Clone, Copy, Default)]
pub struct Drift {
    /// In the other power state.
    pub power: bool,
    /// On the other route.
    pub traffic: bool,
    /// First declared property has another value.
    pub properties: bool,
}

/// One phone as the spec wants it, except for the attributes `drift` names. `--simulate` drifts every
/// third phone's power (where the provider can change it), every third route and every second property
/// set, so that the first plan has something to show.
pub fn seed_phone(config: &ProviderConfig, d: &DesiredPhone, drift: Drift) -> FixturePhone {
    let kind = config.kind;
    let wanted = d.state.unwrap_or(PowerState::Running);
    let state = if drift.power {
        match wanted {
            PowerState::Running => PowerState::Stopped,
            PowerState::Stopped => PowerState::Running,
        }
    } else {
        wanted
    };
    let cph = kind == ProviderKind::HuaweiCph;
    let traffic = d.traffic.unwrap_or(Traffic::Direct);
    let traffic = if drift.traffic {
        match traffic {
            Traffic::Direct => Traffic::Routing,
            Traffic::Routing => Traffic::Direct,
        }
    } else {
        traffic
    };
    let mut properties: BTreeMap<String, serde_json::Value> = d
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
        .collect();
    if drift.properties
        && let Some((_, v)) = properties.iter_mut().next()
    {
        *v = serde_json::Value::String("0".into());
    }
    FixturePhone {
        provider: kind,
        id: d.id.clone(),
        project_id: cph.then(|| config.project_id.clone().unwrap_or_default()),
        status: FixtureStatus::Named(state),
        traffic: cph.then(|| traffic.as_str().to_owned()),
        properties: (cph && !properties.is_empty()).then_some(properties),
        busy: None,
        job_error: None,
        unreadable: false,
        koophone_code: None,
        job_fails: None,
        name: d.name.clone(),
        custom_property: None,
        // Seeded as declared: the sandbox starts with the spec's groups, tags and remarks.
        group: d.group.clone(),
        tags: d.tags.iter().flatten().cloned().collect(),
        remark: d.remark.clone(),
        proxy: None,
        image: d.image.clone(),
        resets: 0,
        no_reset: false,
    }
}
