//! Exporting an existing fleet: the phones provider accounts hold, written as one valid fleet spec.
//! Pure: takes the listing, returns YAML text (with comments, which is why it is written by hand; every
//! scalar is quoted as JSON, which YAML reads as it is).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::provider::Listed;
use crate::spec::{Properties, ProviderConfig, ProviderKind};
use crate::state::{self, Power};

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// huawei-cph properties (read with one detail call per phone).
    pub with_properties: bool,
    /// One entry per phone, or groups.
    pub layout: Layout,
    /// Only `phones` and `groups`, no `providers` block: a file for a spec directory whose providers
    /// are declared in another file.
    pub phones_only: bool,
}

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

/// A property value as the spec should declare it: a number for an attribute CPH types as Integer
/// (sent back as a JSON number), quoted text otherwise.
fn property_value(key: &str, value: &str) -> String {
    match value.parse::<i64>() {
        Ok(n) if crate::spec::validate::is_integer_attribute(key) && n.to_string() == value => {
            n.to_string()
        }
        _ => q(value),
    }
}

/// A provider's text made safe for one comment line.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Settings of one settled phone, as they go in a spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Settings {
    state: Option<&'static str>,
    traffic: Option<&'static str>,
    properties: Option<Properties>,
    /// GeeLark: group, tags and remark, as listed (what is empty is left out).
    details: Option<crate::state::Details>,
}

fn settings_of(kind: ProviderKind, l: &Listed, with_properties: bool) -> Settings {
    let cap = crate::capability::of(kind);
    Settings {
        state: match l.phone.power {
            Power::Running => Some("running"),
            Power::Stopped => Some("stopped"),
            Power::Transitioning | Power::Failed => None,
        },
        traffic: if cap.traffic {
            l.phone.traffic.map(|t| t.as_str())
        } else {
            None
        },
        properties: if cap.properties && with_properties {
            l.phone.properties.clone()
        } else {
            None
        },
        details: l.phone.details.clone(),
    }
}

fn write_settings(out: &mut String, s: &Settings, indent: &str) {
    if let Some(state) = s.state {
        let _ = writeln!(out, "{indent}state: {state}");
    }
    if let Some(t) = s.traffic {
        let _ = writeln!(out, "{indent}traffic: {t}");
    }
    if let Some(d) = &s.details {
        if !d.group.is_empty() {
            let _ = writeln!(out, "{indent}group: {}", q(&d.group));
        }
        if !d.tags.is_empty() {
            let tags: Vec<String> = d.tags.iter().map(|t| q(t)).collect();
            let _ = writeln!(out, "{indent}tags: [{}]", tags.join(", "));
        }
        if !d.remark.is_empty() {
            let _ = writeln!(out, "{indent}remark: {}", q(&d.remark));
        }
    }
    if let Some(props) = &s.properties {
        if props.is_empty() {
            let _ = writeln!(out, "{indent}properties: {{}}");
        } else {
            let _ = writeln!(out, "{indent}properties:");
            for (k, v) in props {
                let _ = writeln!(out, "{indent}  {}: {}", q(k), property_value(k, v));
            }
        }
    }
}

/// One provider account's listing.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    /// The provider's name in the spec.
    pub name: &'a str,
    /// Its entry (endpoint, credentials' variable names).
    pub config: &'a ProviderConfig,
    /// Every phone it holds.
    pub phones: &'a [Listed],
}

/// The exported spec: every account's provider entry (unless `phones_only`), then their phones (by
/// provider, then id).
pub fn spec_yaml(accounts: &[Account<'_>], options: Options) -> String {
    let Options {
        with_properties,
        layout,
        phones_only,
    } = options;
    let mut out = String::new();
    let total: usize = accounts.iter().map(|a| a.phones.len()).sum();
    let names: Vec<String> = accounts
        .iter()
        .map(|a| format!("`{}` ({})", a.name, a.config.kind))
        .collect();
    let _ = writeln!(
        out,
        "# Exported by phonefleet {} from provider{} {}: {total} phone{}.",
        env!("CARGO_PKG_VERSION"),
        if accounts.len() == 1 { "" } else { "s" },
        names.join(", "),
        if total == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "# Check it with `phonefleet validate`; `phonefleet plan` on it shows no changes."
    );
    let _ = writeln!(out, "version: 1");
    if phones_only {
        let _ = writeln!(
            out,
            "# Phones only: the provider entries ({}) are declared in another file of the spec.",
            accounts
                .iter()
                .map(|a| a.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Declares no provider (so it cannot clash with the providers file), and satisfies an editor
        // that checks each file against the schema.
        let _ = writeln!(out, "providers: {{}}");
    } else {
        let _ = writeln!(out, "providers:");
        let providers: BTreeMap<&str, &ProviderConfig> =
            accounts.iter().map(|a| (a.name, a.config)).collect();
        let yaml = serde_yaml::to_string(&providers).expect("provider settings serialize");
        for line in yaml.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let mut singles = String::new();
    let mut grouped = String::new();
    for a in accounts {
        write_phones(&mut singles, &mut grouped, a, with_properties, layout);
    }
    match (layout, singles.is_empty()) {
        (Layout::Phones, true) => out.push_str("phones: []\n"),
        (_, true) => {}
        (_, false) => {
            out.push_str("phones:\n");
            out.push_str(&singles);
        }
    }
    if !grouped.is_empty() {
        out.push_str("groups:\n");
        out.push_str(&grouped);
    }
    out
}

/// One account's `phones` entries and `groups` entries.
fn write_phones(
    singles: &mut String,
    grouped: &mut String,
    account: &Account<'_>,
    with_properties: bool,
    layout: Layout,
) {
    let (name, kind) = (account.name, account.config.kind);
    let mut sorted: Vec<&Listed> = account.phones.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let notes = |out: &mut String, l: &Listed, indent: &str| {
        for n in &l.notes {
            let _ = writeln!(out, "{indent}# {}", comment(n));
        }
    };
    let single = |out: &mut String, l: &Listed| {
        let s = settings_of(kind, l, with_properties);
        notes(out, l, "  ");
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
        if let Some(n) = &l.name {
            let _ = writeln!(out, "    name: {}", q(n));
        }
        write_settings(out, &s, "    ");
    };
    let settled = |l: &Listed| matches!(l.phone.power, Power::Running | Power::Stopped);
    match layout {
        Layout::Phones => {
            for l in &sorted {
                single(singles, l);
            }
        }
        Layout::GroupByState => {
            for l in sorted.iter().filter(|l| !settled(l)) {
                single(singles, l);
            }
            let mut groups: BTreeMap<Settings, Vec<&Listed>> = BTreeMap::new();
            for l in sorted.iter().filter(|l| settled(l)) {
                groups
                    .entry(settings_of(kind, l, with_properties))
                    .or_default()
                    .push(l);
            }
            for (s, members) in &groups {
                let _ = writeln!(grouped, "  - provider: {name}");
                write_settings(grouped, s, "    ");
                // Groups hold ids only: each phone's name (and what a person should know) stays
                // beside its id as a comment.
                if members
                    .iter()
                    .all(|l| l.name.is_none() && l.notes.is_empty())
                {
                    grouped.push_str("    ids: [");
                    for (i, l) in members.iter().enumerate() {
                        if i > 0 {
                            grouped.push_str(if i % 6 == 0 { ",\n      " } else { ", " });
                        }
                        grouped.push_str(&q(&l.id));
                    }
                    grouped.push_str("]\n");
                } else {
                    grouped.push_str("    ids:\n");
                    for l in members {
                        notes(grouped, l, "      ");
                        let _ = match &l.name {
                            Some(n) => writeln!(grouped, "      - {}  # {}", q(&l.id), comment(n)),
                            None => writeln!(grouped, "      - {}", q(&l.id)),
                        };
                    }
                }
            }
        }
    }
}
