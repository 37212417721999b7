//! `tags`: a GeeLark phone's whole set of tags, by name, set by `phone/detail/update` (one phone a call,
//! with the tags' ids; a tag that does not exist yet is created first). Shown as `tags: +us -eu`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Attribute;
use crate::plan::view::tag_text;
use crate::plan::{Action, BatchPhone, PhoneView};
use crate::provider::ObserveTarget;
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::ObservedPhone;

/// The tags attribute.
pub(super) struct Tags;

fn observed_tags(o: &ObservedPhone) -> Option<&BTreeSet<String>> {
    o.details.as_ref().map(|x| &x.tags)
}

impl Attribute for Tags {
    fn key(&self) -> &'static str {
        "tags"
    }

    fn owns(&self, action: &Action) -> bool {
        *action == Action::SetTags
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        d.tags.is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        super::details_supported(kind)
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.tags = d.tags.as_ref().map(tag_text);
    }

    fn observed(&self, _: ProviderKind, _: &DesiredPhone, o: &ObservedPhone, view: &mut PhoneView) {
        view.tags = Some(observed_tags(o).map(tag_text).unwrap_or_default());
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        let want = d.tags.as_ref()?;
        (observed_tags(o) != Some(want)).then_some(Action::SetTags)
    }

    fn reached(&self, _: &Action, d: &DesiredPhone, o: &ObservedPhone, _: bool) -> bool {
        self.diff(d, o).is_none()
    }

    fn goal(&self, _: &Action, d: &DesiredPhone) -> String {
        format!(
            "tags [{}]",
            d.tags.as_ref().map(tag_text).unwrap_or_default()
        )
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
        if let Some(t) = &d.tags {
            phone.set.insert(
                self.key().to_owned(),
                Value::from(t.iter().cloned().collect::<Vec<_>>()),
            );
        }
    }

    // `+us -eu`: what is added and what is taken away.
    fn json_change(&self, _: &Action, before: &PhoneView, after: &PhoneView) -> (Value, Value) {
        let set = |v: &PhoneView| {
            v.tags
                .as_deref()
                .map(crate::plan::view::tag_set)
                .unwrap_or_default()
        };
        let list = |s: BTreeSet<String>| Value::from(s.into_iter().collect::<Vec<_>>());
        (list(set(before)), list(set(after)))
    }
}
