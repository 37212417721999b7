//! `group`: a GeeLark phone's group, by name. Phones moving to one group share a `phone/moveGroup`
//! call (100 a call); a group that does not exist yet is created first.

use serde_json::Value;

use super::Attribute;
use crate::plan::{Action, BatchPhone, PhoneView};
use crate::provider::ObserveTarget;
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::ObservedPhone;

/// The group attribute.
pub(super) struct Group;

impl Attribute for Group {
    fn key(&self) -> &'static str {
        "group"
    }

    fn owns(&self, action: &Action) -> bool {
        *action == Action::SetGroup
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        d.group.is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        super::details_supported(kind)
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.group.clone_from(&d.group);
    }

    fn observed(&self, _: ProviderKind, _: &DesiredPhone, o: &ObservedPhone, view: &mut PhoneView) {
        view.group = Some(
            o.details
                .as_ref()
                .map(|x| x.group.clone())
                .unwrap_or_default(),
        );
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        let want = d.group.as_deref()?;
        let now = o.details.as_ref().map(|x| x.group.as_str());
        (now != Some(want)).then_some(Action::SetGroup)
    }

    fn reached(&self, _: &Action, d: &DesiredPhone, o: &ObservedPhone, _: bool) -> bool {
        self.diff(d, o).is_none()
    }

    fn goal(&self, _: &Action, d: &DesiredPhone) -> String {
        format!("group {:?}", d.group.as_deref().unwrap_or_default())
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
        if let Some(g) = &d.group {
            phone
                .set
                .insert(self.key().to_owned(), Value::from(g.as_str()));
        }
    }

    fn batch_key(&self, phone: &BatchPhone) -> String {
        phone
            .set
            .get(self.key())
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}
