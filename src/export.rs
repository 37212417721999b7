//! Exporting an existing fleet: the phones one provider account holds, written as a valid fleet spec.
//! Pure: takes the listing, returns YAML text (with comments, which is why it is written by hand; every
//! scalar is quoted as JSON, which YAML reads as it is).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::provider::Listed;
use crate::spec::{Properties, ProviderConfig, ProviderKind};
use crate::state::{self, Power};

/// How exported phones are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One `phones` entry each.
    Phones,
    /// Phones with identical settings folded into `groups`.
    GroupByState,
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// Settings of one settled phone, as they go in a spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Settings {
    state: Option<&'static str>,
    traffic: Option<&'static str>,
    properties: Option<Properties>,
}

fn settings_of(kind: ProviderKind, l: &Listed, with_properties: bool) -> Settings {
    let cph = kind == ProviderKind::HuaweiCph;
    Settings {
        state: match l.phone.power {
            Power::Running => Some("running"),
            Power::Stopped => Some("stopped"),
            Power::Transitioning | Power::Failed => None,
        },
        traffic: if cph {
            l.phone.traffic.map(|t| t.as_str())
        } else {
            None
        },
        properties: if cph && with_properties {
            l.phone.properties.clone()
        } else {
            None
        },
    }
}

fn write_settings(out: &mut String, s: &Settings, indent: &str) {
    if let Some(state) = s.state {
        let _ = writeln!(out, "{indent}state: {state}");
    }
    if let Some(t) = s.traffic {
        let _ = writeln!(out, "{indent}traffic: {t}");
    }
    if let Some(props) = &s.properties {
        if props.is_empty() {
            let _ = writeln!(out, "{indent}properties: {{}}");
        } else {
            let _ = writeln!(out, "{indent}properties:");
            for (k, v) in props {
                let _ = writeln!(out, "{indent}  {}: {}", q(k), q(v));
            }
        }
    }
}

/// The exported spec.
pub fn spec_yaml(
    name: &str,
    config: &ProviderConfig,
    phones: &[Listed],
    with_properties: bool,
    layout: Layout,
) -> String {
    let kind = config.kind;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Exported by phonefleet {} from provider `{name}` ({kind}): {} phone{}.",
        env!("CARGO_PKG_VERSION"),
        phones.len(),
        if phones.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "# Check it with `phonefleet validate`; `phonefleet plan` on it shows no changes."
    );
    let _ = writeln!(out, "version: 1\nproviders:");
    let mut providers = BTreeMap::new();
    providers.insert(name, config);
    let yaml = serde_yaml::to_string(&providers).expect("provider settings serialize");
    for line in yaml.lines() {
        let _ = writeln!(out, "  {line}");
    }
    let mut sorted: Vec<&Listed> = phones.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let unsettled: Vec<&Listed> = sorted
        .iter()
        .copied()
        .filter(|l| matches!(l.phone.power, Power::Transitioning | Power::Failed))
        .collect();
    let single = |out: &mut String, l: &Listed| {
        let s = settings_of(kind, l, with_properties);
        if s.state.is_none() {
            let meaning = state::meaning(kind, l.phone.raw_status);
            let why = if l.phone.power == Power::Transitioning {
                "transitional"
            } else {
                "needs a person"
            };
            let _ = writeln!(
                out,
                "  # status {} ({meaning}): {why}; exported without a state",
                l.phone.raw_status
            );
        }
        let _ = writeln!(out, "  - id: {}\n    provider: {name}", q(&l.id));
        write_settings(out, &s, "    ");
    };
    match layout {
        Layout::Phones => {
            if sorted.is_empty() {
                out.push_str("phones: []\n");
            } else {
                out.push_str("phones:\n");
                for l in &sorted {
                    single(&mut out, l);
                }
            }
        }
        Layout::GroupByState => {
            if !unsettled.is_empty() {
                out.push_str("phones:\n");
                for l in &unsettled {
                    single(&mut out, l);
                }
            }
            let mut groups: BTreeMap<Settings, Vec<&str>> = BTreeMap::new();
            for l in sorted
                .iter()
                .filter(|l| matches!(l.phone.power, Power::Running | Power::Stopped))
            {
                groups
                    .entry(settings_of(kind, l, with_properties))
                    .or_default()
                    .push(&l.id);
            }
            if !groups.is_empty() {
                out.push_str("groups:\n");
                for (s, ids) in &groups {
                    let _ = writeln!(out, "  - provider: {name}");
                    write_settings(&mut out, s, "    ");
                    out.push_str("    ids: [");
                    for (i, id) in ids.iter().enumerate() {
                        if i > 0 {
                            out.push_str(if i % 6 == 0 { ",\n      " } else { ", " });
                        }
                        out.push_str(&q(id));
                    }
                    out.push_str("]\n");
                }
            }
        }
    }
    out
}
