//! `name`: the phone's name at the provider, managed where the provider entry says `names: manage`
//! (otherwise the spec's name is a label, shown and never sent). The rules a name must keep are the
//! kind's ([`crate::capability::NameRule`]).

use super::Attribute;
use crate::plan::{Action, BatchPhone, PhoneView};
use crate::provider::ObserveTarget;
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::ObservedPhone;

/// The name attribute.
pub(super) struct Name;

impl Attribute for Name {
    fn key(&self) -> &'static str {
        "name"
    }

    fn owns(&self, action: &Action) -> bool {
        *action == Action::Rename
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        d.managed_name().is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        match crate::capability::of(kind).name_rule {
            Some(_) => Ok(()),
            None => Err(
                "koophone has no API to rename an instance: rename it in the KooPhone console, \
                 or leave `names` at `show`",
            ),
        }
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.name = d.managed_name().map(str::to_owned);
    }

    fn observed(
        &self,
        _: ProviderKind,
        _d: &DesiredPhone,
        o: &ObservedPhone,
        view: &mut PhoneView,
    ) {
        view.name = Some(o.name.clone().unwrap_or_default());
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        let want = d.managed_name()?;
        (o.name.as_deref() != Some(want)).then_some(Action::Rename)
    }

    fn reached(&self, _: &Action, d: &DesiredPhone, o: &ObservedPhone, _: bool) -> bool {
        d.managed_name()
            .is_some_and(|n| o.name.as_deref() == Some(n))
    }

    fn read(&self, target: &mut ObserveTarget) {
        target.listed = true;
    }

    fn payload(
        &self,
        _: ProviderKind,
        _: &Action,
        d: &DesiredPhone,
        _: Option<&ObservedPhone>,
        phone: &mut BatchPhone,
    ) {
        phone.name = d.managed_name().map(str::to_owned);
    }

    fn goal(&self, _: &Action, d: &DesiredPhone) -> String {
        format!(
            "the name {}",
            serde_json::to_string(d.managed_name().unwrap_or_default()).unwrap_or_default()
        )
    }
}

/// Whether `name` keeps the naming rules of `kind`: `Err` says which rule it breaks.
pub fn check(kind: ProviderKind, name: &str) -> Result<(), String> {
    let Some(rule) = crate::capability::of(kind).name_rule else {
        return Err(Name.supported_by(kind).unwrap_err().to_owned());
    };
    let chars = name.chars().count();
    if chars == 0 || chars > rule.max_chars {
        return Err(format!(
            "a {kind} phone name has 1 to {} characters ({}); this one has {chars}",
            rule.max_chars, rule.says
        ));
    }
    if let Some(c) = name.chars().find(|c| !(rule.allowed)(*c)) {
        return Err(format!(
            "a {kind} phone name may hold {}; {c:?} is not allowed",
            rule.says
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_each_kinds_rules() {
        assert!(check(ProviderKind::HuaweiCph, "growth-001_a").is_ok());
        assert!(check(ProviderKind::HuaweiCph, "增长-1").is_ok());
        let e = check(ProviderKind::HuaweiCph, "growth 1").unwrap_err();
        assert!(e.contains("' '"), "{e}");
        assert!(check(ProviderKind::HuaweiCph, &"a".repeat(61)).is_err());
        assert!(check(ProviderKind::HuaweiCph, &"a".repeat(60)).is_ok());
        assert!(check(ProviderKind::Geelark, "Growth #1 (US)").is_ok());
        assert!(check(ProviderKind::Geelark, &"a".repeat(101)).is_err());
        assert!(check(ProviderKind::Geelark, "").is_err());
        assert!(check(ProviderKind::Koophone, "a").is_err());
    }
}
