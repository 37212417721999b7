//! Which phones a run covers: selectors (`--target`, `--exclude`) over the spec's declared phones, the
//! provider entries those phones need, and the one glob matcher (`*` any run of characters, `?` one
//! character) that selectors and sensitive keys share.
//!
//! One selector syntax, tried in this order:
//! - `key=value` / `key!=value`: a label (a phone without the key matches `!=`);
//! - a spec file of a directory (ends in `.yaml` or `.yml`): the phones it declares;
//! - a glob (holds `*` or `?`): over phone names and ids;
//! - anything else: a phone id, a provider name or a phone name, exactly.
//!
//! Targets unite (none: every phone), excludes subtract. A selector that selects nothing is an error,
//! with a "did you mean" when one is close. Pure: values in, values out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::bail;

use crate::spec::{DesiredPhone, LoadedSpec, ProviderConfig};

/// One parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `key=value`, or `key!=value` when `negated`.
    Label {
        /// Label key.
        key: String,
        /// Label value.
        value: String,
        /// `!=`.
        negated: bool,
    },
    /// A spec file of a directory.
    File(String),
    /// A glob over names and ids.
    Glob(String),
    /// An id, a provider or a name.
    Exact(String),
}

impl Selector {
    /// Parse one `--target` / `--exclude` value.
    pub fn parse(text: &str) -> anyhow::Result<Selector> {
        let text = text.trim();
        if text.is_empty() {
            bail!("an empty selector selects nothing");
        }
        if let Some((key, value)) = text.split_once("!=") {
            return Ok(Selector::Label {
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
                negated: true,
            });
        }
        if let Some((key, value)) = text.split_once('=') {
            return Ok(Selector::Label {
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
                negated: false,
            });
        }
        if text.ends_with(".yaml") || text.ends_with(".yml") {
            return Ok(Selector::File(text.to_owned()));
        }
        if text.contains(['*', '?']) {
            return Ok(Selector::Glob(text.to_owned()));
        }
        Ok(Selector::Exact(text.to_owned()))
    }

    /// Whether phone `d`, declared in `file`, is selected.
    fn matches(&self, d: &DesiredPhone, file: &str) -> bool {
        match self {
            Selector::Label {
                key,
                value,
                negated,
            } => (d.labels.get(key) == Some(value)) != *negated,
            Selector::File(f) => same_file(file, f),
            Selector::Glob(g) => glob(g, &d.id) || d.name.as_deref().is_some_and(|n| glob(g, n)),
            Selector::Exact(x) => {
                &d.id == x || &d.provider == x || d.name.as_deref() == Some(x.as_str())
            }
        }
    }
}

/// Whether `file` (as the spec shows it) is the file a selector names: the same path, or a path ending
/// in the selector's components (`team-b.yaml` names `fleet/team-b.yaml`).
fn same_file(file: &str, selector: &str) -> bool {
    let (file, wanted) = (Path::new(file), Path::new(selector));
    file == wanted || file.ends_with(wanted)
}

/// What selected a run: the selectors as given (recorded in saved plans and shown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--target` values.
    pub targets: Vec<String>,
    /// `--exclude` values.
    pub excludes: Vec<String>,
}

impl Selection {
    /// Whether anything narrows the run.
    pub fn narrows(&self) -> bool {
        !self.targets.is_empty() || !self.excludes.is_empty()
    }

    /// `--target a --exclude b`, for a person.
    pub fn describe(&self) -> String {
        let t = self.targets.iter().map(|t| format!("--target {t}"));
        let e = self.excludes.iter().map(|e| format!("--exclude {e}"));
        t.chain(e).collect::<Vec<_>>().join(" ")
    }
}

/// The file each declared phone comes from, in the order of [`crate::spec::FleetSpec::desired_phones`]
/// (phones, then each group's ids): one pass, not a search per phone.
fn files_in_order(spec: &LoadedSpec) -> Vec<&str> {
    let o = &spec.origin;
    let file = |i: Option<&usize>| {
        i.and_then(|f| o.files.get(*f))
            .map_or(spec.path.as_str(), String::as_str)
    };
    let mut out = Vec::with_capacity(spec.spec.phones.len());
    for i in 0..spec.spec.phones.len() {
        out.push(file(o.phones.get(i)));
    }
    for (i, g) in spec.spec.groups.iter().enumerate() {
        let f = file(o.groups.get(i));
        out.extend(std::iter::repeat_n(f, g.ids.len()));
    }
    for i in 0..spec.spec.pools.len() {
        out.push(file(o.pools.get(i)));
    }
    out
}

/// Each selector of a flag parsed, with how it was given (`--target growth-*`) for messages.
fn parse_all(list: &[String], flag: &str) -> anyhow::Result<Vec<(String, Selector)>> {
    list.iter()
        .map(|t| Ok((format!("{flag} {t}"), Selector::parse(t)?)))
        .collect()
}

/// Keep the declared phones of `spec` that the selection picks: the union of the targets (every phone
/// without targets), less the union of the excludes. Each selector must select at least one phone.
pub fn select(spec: &LoadedSpec, selection: &Selection) -> anyhow::Result<Vec<DesiredPhone>> {
    let desired = spec.spec.desired_phones();
    if !selection.narrows() {
        return Ok(desired);
    }
    let files = files_in_order(spec);
    let targets = parse_all(&selection.targets, "--target")?;
    let excludes = parse_all(&selection.excludes, "--exclude")?;
    for (shown, s) in targets.iter().chain(&excludes) {
        let hit = desired.iter().zip(&files).any(|(d, f)| s.matches(d, f));
        if !hit {
            bail!("{}", nothing_selected(shown, s, spec, &desired));
        }
    }
    let kept = desired
        .into_iter()
        .zip(files)
        .filter(|(d, f)| {
            (targets.is_empty() || targets.iter().any(|(_, s)| s.matches(d, f)))
                && !excludes.iter().any(|(_, s)| s.matches(d, f))
        })
        .map(|(d, _)| d)
        .collect::<Vec<_>>();
    if kept.is_empty() {
        bail!(
            "`{}` selects no phone: the excludes remove every phone the targets select",
            selection.describe()
        );
    }
    Ok(kept)
}

/// Selectors applied to the phones provider accounts list (`export`): ids, names (the listed name, or
/// the declared one) and providers as for declared phones; labels and files select the listed phones
/// the spec declares with them.
pub struct Listing<'a> {
    targets: Vec<(String, Selector)>,
    excludes: Vec<(String, Selector)>,
    /// Declared phones by provider and id, with their file.
    declared: std::collections::HashMap<
        String,
        std::collections::HashMap<String, (DesiredPhone, &'a str)>,
    >,
    hits: std::cell::RefCell<BTreeSet<String>>,
}

impl<'a> Listing<'a> {
    /// The selection, ready to test listed phones against the declarations of `spec`.
    pub fn new(spec: &'a LoadedSpec, selection: &Selection) -> anyhow::Result<Listing<'a>> {
        let mut declared: std::collections::HashMap<String, std::collections::HashMap<_, _>> =
            std::collections::HashMap::new();
        if selection.narrows() {
            for (d, f) in spec
                .spec
                .desired_phones()
                .into_iter()
                .zip(files_in_order(spec))
            {
                declared
                    .entry(d.provider.clone())
                    .or_default()
                    .insert(d.id.clone(), (d, f));
            }
        }
        Ok(Listing {
            targets: parse_all(&selection.targets, "--target")?,
            excludes: parse_all(&selection.excludes, "--exclude")?,
            declared,
            hits: Default::default(),
        })
    }

    /// Whether the listed phone `id` (named `name` by its provider) of `provider` is kept.
    pub fn keeps(&self, provider: &str, id: &str, name: Option<&str>) -> bool {
        let declared = self.declared.get(provider).and_then(|m| m.get(id));
        let matches = |s: &Selector| match (s, declared) {
            (Selector::Label { .. } | Selector::File(_), Some((d, f))) => s.matches(d, f),
            (Selector::Label { .. } | Selector::File(_), None) => false,
            (Selector::Glob(g), _) => {
                glob(g, id)
                    || name.is_some_and(|n| glob(g, n))
                    || declared.is_some_and(|(d, _)| s.matches(d, ""))
            }
            (Selector::Exact(x), _) => {
                id == x
                    || provider == x
                    || name == Some(x.as_str())
                    || declared.is_some_and(|(d, _)| s.matches(d, ""))
            }
        };
        let hit = |list: &[(String, Selector)]| {
            let mut any = false;
            for (shown, s) in list {
                if matches(s) {
                    self.hits.borrow_mut().insert(shown.clone());
                    any = true;
                }
            }
            any
        };
        // `|`, not `||`: every matching selector is recorded as used.
        let targeted = self.targets.is_empty() | hit(&self.targets);
        let excluded = hit(&self.excludes);
        targeted && !excluded
    }

    /// Refuse selectors that kept or left out no listed phone.
    pub fn check_all_used(&self) -> anyhow::Result<()> {
        let hits = self.hits.borrow();
        for (shown, _) in self.targets.iter().chain(&self.excludes) {
            if !hits.contains(shown) {
                bail!("`{shown}` selects no phone the provider accounts list");
            }
        }
        Ok(())
    }
}

/// Why a selector selected nothing, with what it could have meant.
fn nothing_selected(
    shown: &str,
    s: &Selector,
    spec: &LoadedSpec,
    desired: &[DesiredPhone],
) -> String {
    let close = |word: &str, candidates: Vec<&str>| {
        crate::spec::suggest::closest(word, candidates)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default()
    };
    match s {
        Selector::Label { key, value, .. } => {
            let keys: BTreeSet<&str> = desired
                .iter()
                .flat_map(|d| d.labels.keys().map(String::as_str))
                .collect();
            if keys.is_empty() {
                return format!("`{shown}` selects no phone: no phone of the spec has labels");
            }
            if !keys.contains(key.as_str()) {
                return format!(
                    "`{shown}` selects no phone: no phone has the label `{key}` (labels: {}){}",
                    keys.iter().copied().collect::<Vec<_>>().join(", "),
                    close(key, keys.iter().copied().collect())
                );
            }
            let values: BTreeSet<&str> = desired
                .iter()
                .filter_map(|d| d.labels.get(key).map(String::as_str))
                .collect();
            format!(
                "`{shown}` selects no phone: `{key}` takes the values {}{}",
                values.iter().copied().collect::<Vec<_>>().join(", "),
                close(value, values.iter().copied().collect())
            )
        }
        Selector::File(f) => {
            let files: Vec<&str> = if spec.origin.files.is_empty() {
                vec![spec.path.as_str()]
            } else {
                spec.origin.files.iter().map(String::as_str).collect()
            };
            let names: Vec<&str> = files
                .iter()
                .filter_map(|f| Path::new(f).file_name()?.to_str())
                .collect();
            let wanted = Path::new(f)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(f);
            format!(
                "`{shown}` selects no phone: no phone is declared in a file named so (files: {}){}",
                files.join(", "),
                close(wanted, names)
            )
        }
        Selector::Glob(g) => {
            format!("`{shown}` selects no phone: `{g}` matches no phone name or id")
        }
        Selector::Exact(x) => {
            let mut words: BTreeSet<&str> =
                spec.spec.providers.keys().map(String::as_str).collect();
            for d in desired {
                words.insert(&d.id);
                if let Some(n) = &d.name {
                    words.insert(n);
                }
            }
            let hint = close(x, words.into_iter().collect());
            let glob_hint = if hint.is_empty() {
                "; a glob such as `growth-*` selects by pattern, `key=value` by label"
            } else {
                ""
            };
            format!(
                "`{shown}` names no phone id, phone name or provider of the spec{hint}{glob_hint}"
            )
        }
    }
}

/// The provider entries that have phones in `desired` (the others' credentials are not needed).
pub fn in_scope(
    providers: &BTreeMap<String, ProviderConfig>,
    desired: &[DesiredPhone],
) -> BTreeMap<String, ProviderConfig> {
    let used: BTreeSet<&str> = desired.iter().map(|d| d.provider.as_str()).collect();
    providers
        .iter()
        .filter(|(n, _)| used.contains(n.as_str()))
        .map(|(n, p)| (n.clone(), p.clone()))
        .collect()
}

/// Whether `text` matches `pattern` as a whole: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let k: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in practice, never exponential.
    let (mut pi, mut ki) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ki < k.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == k[ki]) {
            pi += 1;
            ki += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ki));
            pi += 1;
        } else if let Some((sp, sk)) = star {
            pi = sp + 1;
            ki = sk + 1;
            star = Some((sp, sk + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "version: 1
providers:
  gl: {kind: geelark, credentials: {token_env: GEELARK_T}}
  cph: {kind: huawei-cph, region: cn-east-3, project_id: p, credentials: {token_env: CPH_T}}
phones:
  - {id: g1, provider: gl, name: growth-01, labels: {team: growth, tier: a}}
  - {id: g2, provider: gl, name: growth-02, labels: {team: growth}}
  - {id: c1, provider: cph, name: store12-a, labels: {team: checkout}}
groups:
  - {provider: gl, ids: [g3, g4], labels: {team: night}}
";

    fn ids(targets: &[&str], excludes: &[&str]) -> anyhow::Result<Vec<String>> {
        let spec = crate::spec::load_str("spec.yaml", SPEC.as_bytes())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sel = Selection {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            excludes: excludes.iter().map(|s| s.to_string()).collect(),
        };
        Ok(select(&spec, &sel)?.into_iter().map(|d| d.id).collect())
    }

    #[test]
    fn every_selector_form_selects_and_excludes() {
        assert_eq!(ids(&[], &[]).unwrap(), ["g1", "g2", "c1", "g3", "g4"]);
        assert_eq!(ids(&["gl"], &[]).unwrap(), ["g1", "g2", "g3", "g4"]);
        assert_eq!(ids(&["c1", "g2"], &[]).unwrap(), ["g2", "c1"]);
        assert_eq!(ids(&["store12-a"], &[]).unwrap(), ["c1"]);
        assert_eq!(ids(&["growth-0*"], &[]).unwrap(), ["g1", "g2"]);
        assert_eq!(ids(&["g?"], &["g3"]).unwrap(), ["g1", "g2", "g4"]);
        assert_eq!(ids(&["team=growth"], &[]).unwrap(), ["g1", "g2"]);
        assert_eq!(ids(&["gl"], &["team!=night"]).unwrap(), ["g3", "g4"]);
        assert_eq!(
            ids(&["spec.yaml"], &["team=night"]).unwrap(),
            ["g1", "g2", "c1"]
        );
        assert_eq!(ids(&[], &["gl"]).unwrap(), ["c1"]);
    }

    #[test]
    fn a_selector_that_selects_nothing_says_what_it_could_mean() {
        let e = |t: &[&str], x: &[&str]| ids(t, x).unwrap_err().to_string();
        let err = e(&["growth-1"], &[]);
        assert!(
            err.contains("`--target growth-1` names no phone id, phone name or provider"),
            "{err}"
        );
        assert!(err.contains("did you mean"), "{err}");
        let err = e(&["checkout-store00-00"], &[]);
        assert!(err.contains("a glob such as `growth-*`"), "{err}");
        let err = e(&["tem=growth"], &[]);
        assert!(err.contains("no phone has the label `tem`"), "{err}");
        assert!(err.contains("did you mean `team`?"), "{err}");
        let err = e(&["team=growht"], &[]);
        assert!(err.contains("did you mean `growth`?"), "{err}");
        let err = e(&[], &["nope-*"]);
        assert!(err.contains("`--exclude nope-*` selects no phone"), "{err}");
        let err = e(&["team-b.yaml"], &[]);
        assert!(err.contains("files: spec.yaml"), "{err}");
        let err = e(&["gl"], &["gl"]);
        assert!(err.contains("the excludes remove every phone"), "{err}");
    }

    #[test]
    fn globs_match_whole_texts() {
        assert!(glob("persist.sys.*", "persist.sys.locale"));
        assert!(glob("persist.sys.*", "persist.sys.a.b"));
        assert!(!glob("persist.sys.*", "xpersist.sys.a"));
        assert!(glob("*imsi*", "sys.prop.writeimsi"));
        assert!(glob("ro.?", "ro.x"));
        assert!(!glob("ro.?", "ro.xy"));
        assert!(glob("*", ""));
        assert!(!glob("a", "ab"));
        assert!(glob("a*b*c", "a-b-b-c"));
        // No blow-up on a pattern built to backtrack.
        assert!(!glob(&"*a".repeat(30), &"a".repeat(29)));
    }
}
