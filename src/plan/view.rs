//! The managed attributes of one phone as a plain view (what the plan shows before and after), its YAML
//! text for diffs, and the fingerprint a saved plan keeps to notice that a phone moved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::Observation;

/// Managed attributes only: an attribute the spec leaves out is not shown. Each is filled by its
/// module in [`crate::attribute`]; the fields are the wire form (plan files, `plan --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhoneView {
    /// Pools: the pool of a phone to create or delete (`(deleted)` after a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The phone's name at the provider (`names: manage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// GeeLark: its group's name (`""`: ungrouped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// GeeLark: its tags, sorted and comma-separated (`""`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// GeeLark: its remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// GeeLark: the name of its proxy (`none`, or `(another proxy)`): never its server or secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// huawei-cph: the image it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `running`, `stopped`, or a raw status with its meaning (`7 (stopping)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `direct` or `routing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<String>,
    /// Managed keys that have a value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl PhoneView {
    /// The one-value attributes by key, in the order they are shown.
    fn scalars(&self) -> [(&'static str, &Option<String>); 9] {
        [
            ("pool", &self.pool),
            ("name", &self.name),
            ("group", &self.group),
            ("tags", &self.tags),
            ("remark", &self.remark),
            ("proxy", &self.proxy),
            ("image", &self.image),
            ("state", &self.state),
            ("traffic", &self.traffic),
        ]
    }

    /// A one-value attribute by key (`state`, `traffic`, `name`).
    pub fn scalar(&self, key: &str) -> Option<&String> {
        self.scalars()
            .into_iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.as_ref())
    }

    fn scalars_mut(&mut self) -> [&mut Option<String>; 9] {
        [
            &mut self.pool,
            &mut self.name,
            &mut self.group,
            &mut self.tags,
            &mut self.remark,
            &mut self.proxy,
            &mut self.image,
            &mut self.state,
            &mut self.traffic,
        ]
    }

    /// The attributes of `before` and `after` that differ (what a change is, without the attributes
    /// that stay as they are).
    pub fn changed_only(before: &PhoneView, after: &PhoneView) -> (PhoneView, PhoneView) {
        let mut b = PhoneView::default();
        let mut a = PhoneView::default();
        for ((bs, as_), (x, y)) in b
            .scalars_mut()
            .into_iter()
            .zip(a.scalars_mut())
            .zip(before.scalars().into_iter().zip(after.scalars()))
        {
            if x.1 != y.1 {
                bs.clone_from(x.1);
                as_.clone_from(y.1);
            }
        }
        let keys: std::collections::BTreeSet<&String> = before
            .properties
            .keys()
            .chain(after.properties.keys())
            .collect();
        for k in keys {
            let (x, y) = (before.properties.get(k), after.properties.get(k));
            if x != y {
                if let Some(x) = x {
                    b.properties.insert(k.clone(), x.clone());
                }
                if let Some(y) = y {
                    a.properties.insert(k.clone(), y.clone());
                }
            }
        }
        (b, a)
    }

    /// What the spec wants.
    pub fn desired(d: &DesiredPhone) -> PhoneView {
        let mut view = PhoneView::default();
        for a in crate::attribute::ALL {
            if a.declared(d) {
                a.desired(d, &mut view);
            }
        }
        view
    }

    /// What the provider reports, restricted to the attributes `d` manages.
    pub fn observed(kind: ProviderKind, d: &DesiredPhone, obs: &Observation) -> PhoneView {
        // A phone to create has nothing to show before it exists.
        if d.fate() == Some(crate::spec::Fate::Create) && *obs == Observation::NotFound {
            return PhoneView::default();
        }
        let o = match obs {
            Observation::Found(o) => o,
            Observation::NotFound | Observation::Unreadable(_) => {
                let what = if *obs == Observation::NotFound {
                    "not found"
                } else {
                    "could not read"
                };
                return PhoneView {
                    state: Some(what.into()),
                    ..PhoneView::default()
                };
            }
        };
        let mut view = PhoneView::default();
        for a in crate::attribute::ALL {
            if a.declared(d) {
                a.observed(kind, d, o, &mut view);
            }
        }
        view
    }

    /// What moved from `self` to `now`, one entry per field: `state: running -> stopped`,
    /// `properties.k: "a" -> (unset)`.
    pub fn moves(&self, now: &PhoneView) -> Vec<String> {
        let show = |v: Option<&String>| v.map_or_else(|| "(unset)".to_owned(), |s| quote(s));
        let mut out = Vec::new();
        for ((field, was), (_, is)) in self.scalars().into_iter().zip(now.scalars()) {
            if was != is {
                let text = |v: &Option<String>| match (field, v) {
                    ("pool" | "name" | "group" | "remark" | "proxy" | "image", Some(n)) => quote(n),
                    (_, v) => v.clone().unwrap_or_else(|| "(unset)".into()),
                };
                out.push(format!("{field}: {} -> {}", text(was), text(is)));
            }
        }
        let keys: std::collections::BTreeSet<&String> = self
            .properties
            .keys()
            .chain(now.properties.keys())
            .collect();
        for k in keys {
            let (was, is) = (self.properties.get(k), now.properties.get(k));
            if was != is {
                out.push(format!(
                    "properties.{}: {} -> {}",
                    key(k),
                    show(was),
                    show(is)
                ));
            }
        }
        out
    }

    /// What moved from `self` (the plan's before) to `now` that is not the plan's `after` either: a
    /// field at a third value, as in [`PhoneView::moves`].
    pub fn moved_elsewhere(&self, after: &PhoneView, now: &PhoneView) -> Vec<String> {
        let mut toward = now.clone();
        // A field at the plan's result counts as unmoved from the plan's point of view.
        for ((t, was), wanted) in toward
            .scalars_mut()
            .into_iter()
            .zip(self.scalars())
            .zip(after.scalars())
        {
            if t.is_some() && *t == *wanted.1 {
                t.clone_from(was.1);
            }
        }
        for (k, v) in &after.properties {
            if toward.properties.get(k) == Some(v) {
                match self.properties.get(k) {
                    Some(was) => toward.properties.insert(k.clone(), was.clone()),
                    None => toward.properties.remove(k),
                };
            }
        }
        self.moves(&toward)
    }

    /// The view as YAML lines, for unified diffs. Values are quoted, so the text is valid YAML.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        // Free text is always quoted (`"007"` must not read as a number); tags are a YAML list.
        for (field, v) in self.scalars().into_iter().take(7) {
            match (field, v) {
                ("tags", Some(t)) => {
                    let list: Vec<String> = tag_set(t).iter().map(|t| quote(t)).collect();
                    out.push_str(&format!("tags: [{}]\n", list.join(", ")));
                }
                (_, Some(v)) => out.push_str(&format!("{field}: {}\n", quote(v))),
                (_, None) => {}
            }
        }
        for (field, v) in self.scalars().into_iter().skip(7) {
            if let Some(v) = v {
                out.push_str(&format!("{field}: {}\n", scalar(v)));
            }
        }
        if !self.properties.is_empty() {
            out.push_str("properties:\n");
            for (k, v) in &self.properties {
                out.push_str(&format!("  {}: {}\n", key(k), quote(v)));
            }
        }
        out
    }
}

/// A view's tags (sorted, comma-separated) as a set.
pub fn tag_set(text: &str) -> std::collections::BTreeSet<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A set of tags as a view shows it.
pub fn tag_text(tags: &std::collections::BTreeSet<String>) -> String {
    tags.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn scalar(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        s.to_owned()
    } else {
        quote(s)
    }
}

fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        s.to_owned()
    } else {
        quote(s)
    }
}

/// A digest of what the provider reported for the attributes `d` manages (and the raw status): if it
/// differs when a saved plan is applied, the phone moved since the plan. Internal only: a plan file keeps
/// it keyed ([`super::saved::PlanKey::observed`]), since an unkeyed digest of a phone number can be
/// reversed by trying every number.
pub fn fingerprint(d: &DesiredPhone, obs: &Observation) -> String {
    #[derive(Serialize)]
    struct Print<'a> {
        found: bool,
        raw_status: Option<i64>,
        traffic: Option<&'a str>,
        properties: BTreeMap<&'a str, Option<&'a str>>,
        /// Only when the name is managed, so that a plan of phones without one prints as before.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<Option<&'a str>>,
        /// GeeLark details, only those declared (the same reason).
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<Option<&'a str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tags: Option<Option<&'a std::collections::BTreeSet<String>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        remark: Option<Option<&'a str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        proxy: Option<Option<&'a str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        image: Option<Option<&'a str>>,
    }
    let p = match obs {
        Observation::NotFound | Observation::Unreadable(_) => Print {
            found: false,
            raw_status: None,
            traffic: None,
            properties: BTreeMap::new(),
            name: None,
            group: None,
            tags: None,
            remark: None,
            proxy: None,
            image: None,
        },
        Observation::Found(o) => Print {
            found: true,
            raw_status: Some(o.raw_status),
            traffic: d.traffic.and(o.traffic).map(|t| t.as_str()),
            properties: d
                .properties
                .keys()
                .map(|k| {
                    let v = o
                        .properties
                        .as_ref()
                        .and_then(|p| p.get(k))
                        .map(String::as_str);
                    (k.as_str(), v)
                })
                .collect(),
            name: d.manage_name.then_some(o.name.as_deref()),
            group: d
                .group
                .as_ref()
                .map(|_| o.details.as_ref().map(|x| x.group.as_str())),
            tags: d.tags.as_ref().map(|_| o.details.as_ref().map(|x| &x.tags)),
            remark: d
                .remark
                .as_ref()
                .map(|_| o.details.as_ref().map(|x| x.remark.as_str())),
            proxy: d
                .proxy
                .as_ref()
                .map(|_| o.details.as_ref().map(|x| x.proxy.as_str())),
            image: d.image.as_ref().map(|_| o.image()),
        },
    };
    let bytes = serde_json::to_vec(&p).expect("a fingerprint serializes");
    hex::encode(Sha256::digest(&bytes))
}
