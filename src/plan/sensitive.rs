//! Sensitive properties: keys whose values are personal data (a phone number, an IMSI) or otherwise not
//! for every reader of a plan. Their values never appear in a rendered plan (text, markdown, JSON) or
//! report; the diff still shows that such a value changes. The plan in memory keeps the values, since
//! apply must send them; a saved plan file never holds them (apply takes them from the spec).
//!
//! Patterns are globs over the whole key: `*` matches any run of characters (dots included), `?` one
//! character. [`ALWAYS`] is sensitive whatever the spec says.

use serde::{Deserialize, Serialize};

use super::{PhoneView, Plan};
use crate::spec::{DesiredPhone, Safety};
use crate::state::{FleetState, Observation};

/// Keys that are always sensitive: CPH writes them into the phone as its number and IMSI.
pub const ALWAYS: &[&str] = &["sys.prop.writephonenum", "sys.prop.writeimsi"];

/// What a sensitive value is shown as.
pub const HIDDEN: &str = "(sensitive)";

/// What a sensitive value that changes is shown as on the desired side.
pub const HIDDEN_NEW: &str = "(sensitive, new value)";

/// The sensitive-key patterns in force for a plan: the spec's, on top of [`ALWAYS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive {
    patterns: Vec<String>,
}

impl Sensitive {
    /// The spec's patterns.
    pub fn of(safety: &Safety) -> Sensitive {
        Sensitive {
            patterns: safety.sensitive_properties.clone(),
        }
    }

    /// Whether `key`'s value must not be shown.
    pub fn covers(&self, key: &str) -> bool {
        ALWAYS.contains(&key) || self.patterns.iter().any(|p| crate::select::glob(p, key))
    }

    /// Before any call: register the sensitive values the spec sets for these phones, and which keys are
    /// sensitive, so that a provider message echoing one (or a live value, registered as it is read) is
    /// masked from the first answer on.
    pub fn install(&self, desired: &[DesiredPhone]) {
        self.register_values(desired, &FleetState::default());
        let keys = self.clone();
        crate::redact::set_private_keys(move |k| keys.covers(k));
    }

    /// Register every sensitive value the spec sets or a provider reported for these phones, so that a
    /// provider message echoing one shows it masked ([`crate::redact::register_private`]).
    pub fn register_values(&self, desired: &[DesiredPhone], observed: &FleetState) {
        for d in desired {
            for (k, v) in &d.properties {
                if !self.covers(k) {
                    continue;
                }
                crate::redact::register_private(&v.text());
                if let Some(Observation::Found(o)) = observed.get(&d.provider, &d.id)
                    && let Some(now) = o.properties.as_ref().and_then(|p| p.get(k))
                {
                    crate::redact::register_private_read(now);
                }
            }
        }
    }

    /// The plan as it may be shown: masked, or borrowed as is when `reveal` is asked for or no change
    /// touches a sensitive key.
    pub fn shown<'a>(&self, plan: &'a Plan, reveal: bool) -> std::borrow::Cow<'a, Plan> {
        let touches = plan
            .changes
            .iter()
            .any(|c| c.desired.properties.keys().any(|k| self.covers(k)));
        if reveal || !touches {
            std::borrow::Cow::Borrowed(plan)
        } else {
            std::borrow::Cow::Owned(self.mask(plan))
        }
    }

    /// A copy of `plan` fit to show: every sensitive value in the phones' views (and in what apply would
    /// send) replaced by [`HIDDEN`], or by [`HIDDEN_NEW`] on the desired side when it changes.
    pub fn mask(&self, plan: &Plan) -> Plan {
        let mut shown = plan.clone();
        for c in &mut shown.changes {
            self.mask_views(&mut c.before, &mut c.after);
            for (k, v) in &mut c.desired.properties {
                if self.covers(k) {
                    *v = HIDDEN.into();
                }
            }
        }
        for b in &mut shown.batches {
            for p in &mut b.phones {
                for (k, v) in &mut p.properties {
                    if self.covers(k) {
                        *v = HIDDEN.into();
                    }
                }
            }
        }
        shown
    }

    /// Mask one before/after pair so that a diff of the two still tells "changes" from "stays".
    pub fn mask_views(&self, before: &mut PhoneView, after: &mut PhoneView) {
        for (k, want) in &mut after.properties {
            if !self.covers(k) {
                continue;
            }
            let was = before.properties.get_mut(k);
            let same = was.as_deref() == Some(&*want);
            if let Some(was) = was {
                *was = HIDDEN.to_owned();
            }
            *want = if same { HIDDEN } else { HIDDEN_NEW }.to_owned();
        }
        for (k, was) in &mut before.properties {
            if self.covers(k) {
                *was = HIDDEN.to_owned();
            }
        }
    }
}

/// Why a pattern cannot be used, if so.
pub fn pattern_problem(pattern: &str) -> Option<String> {
    if pattern.trim().is_empty() {
        return Some("the pattern is empty".into());
    }
    if let Some(c) = pattern
        .chars()
        .find(|c| c.is_control() || c.is_whitespace())
    {
        return Some(format!(
            "the pattern contains {c:?}; property keys have none"
        ));
    }
    if let Some(c) = pattern.chars().find(|c| matches!(c, '[' | ']' | '{' | '}')) {
        return Some(format!(
            "the pattern contains `{c}`: only `*` and `?` are wildcards here"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_and_imsis_are_always_sensitive() {
        let s = Sensitive::default();
        assert!(s.covers("sys.prop.writephonenum"));
        assert!(s.covers("sys.prop.writeimsi"));
        assert!(!s.covers("ro.product.model"));
    }

    #[test]
    fn masked_views_still_tell_a_change() {
        let s = Sensitive::default();
        let view = |v: &[(&str, &str)]| PhoneView {
            properties: v
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..PhoneView::default()
        };
        let (mut before, mut after) = (
            view(&[("sys.prop.writeimsi", "460001"), ("a", "1")]),
            view(&[("sys.prop.writeimsi", "460002"), ("a", "2")]),
        );
        s.mask_views(&mut before, &mut after);
        assert_eq!(before.properties["sys.prop.writeimsi"], HIDDEN);
        assert_eq!(after.properties["sys.prop.writeimsi"], HIDDEN_NEW);
        assert_eq!(after.properties["a"], "2");
        let (mut before, mut after) = (
            view(&[("sys.prop.writeimsi", "460001")]),
            view(&[("sys.prop.writeimsi", "460001")]),
        );
        s.mask_views(&mut before, &mut after);
        assert_eq!(before, after, "an unchanged value shows no change");
    }

    #[test]
    fn bad_patterns() {
        assert!(pattern_problem("persist.*").is_none());
        assert!(pattern_problem("").is_some());
        assert!(pattern_problem("a b").is_some());
        assert!(pattern_problem("ro.[ab]").is_some());
    }
}
