//! Which phones a run covers: `--target` narrowing the spec's declared phones, the provider entries
//! those phones need, and the one glob matcher (`*` any run of characters, `?` one character) that
//! selection, sensitive keys and the coming selectors share.
//!
//! Pure: values in, values out.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;

use crate::spec::{DesiredPhone, ProviderConfig};

/// Keep the phones of `desired` whose id or provider is named by a `--target`; refuse targets that
/// name nothing. No targets: every phone.
pub fn select(desired: Vec<DesiredPhone>, targets: &[String]) -> anyhow::Result<Vec<DesiredPhone>> {
    if targets.is_empty() {
        return Ok(desired);
    }
    for t in targets {
        if !desired.iter().any(|d| &d.provider == t || &d.id == t) {
            bail!("--target `{t}` names no phone id or provider of the spec");
        }
    }
    Ok(desired
        .into_iter()
        .filter(|d| targets.iter().any(|t| t == &d.provider || t == &d.id))
        .collect())
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

    fn phone(provider: &str, id: &str) -> DesiredPhone {
        DesiredPhone {
            provider: provider.into(),
            id: id.into(),
            name: None,
            state: None,
            traffic: None,
            properties: Default::default(),
            protect: false,
            restart: Default::default(),
        }
    }

    #[test]
    fn targets_name_ids_or_providers_and_must_name_something() {
        let all = vec![phone("gl", "g1"), phone("gl", "g2"), phone("cph", "c1")];
        let ids = |v: Vec<DesiredPhone>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(ids(select(all.clone(), &[]).unwrap()), ["g1", "g2", "c1"]);
        assert_eq!(
            ids(select(all.clone(), &["gl".into()]).unwrap()),
            ["g1", "g2"]
        );
        assert_eq!(
            ids(select(all.clone(), &["c1".into(), "g2".into()]).unwrap()),
            ["g2", "c1"]
        );
        let err = select(all, &["nope".into()]).unwrap_err().to_string();
        assert!(err.contains("--target `nope` names no phone id or provider"));
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
