//! `remark`: a GeeLark phone's remark, set by `phone/detail/update`, one phone a call.

use serde_json::Value;

use super::Attribute;
use crate::plan::{Action, BatchPhone, PhoneView};
use crate::provider::ObserveTarget;
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::ObservedPhone;

/// The remark attribute.
pub(super) struct Remark;

impl Attribute for Remark {
    fn key(&self) -> &'static str {
        "remark"
    }

    fn owns(&self, action: &Action) -> bool {
        *action == Action::SetRemark
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        d.remark.is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        super::details_supported(kind)
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.remark.clone_from(&d.remark);
    }

    fn observed(&self, _: ProviderKind, _: &DesiredPhone, o: &ObservedPhone, view: &mut PhoneView) {
        view.remark = Some(
            o.details
                .as_ref()
                .map(|x| x.remark.clone())
                .unwrap_or_default(),
        );
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        let want = d.remark.as_deref()?;
        let now = o.details.as_ref().map(|x| x.remark.as_str());
        (now != Some(want)).then_some(Action::SetRemark)
    }

    fn reached(&self, _: &Action, d: &DesiredPhone, o: &ObservedPhone, _: bool) -> bool {
        self.diff(d, o).is_none()
    }

    fn goal(&self, _: &Action, _: &DesiredPhone) -> String {
        "its remark".to_owned()
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
        if let Some(r) = &d.remark {
            phone
                .set
                .insert(self.key().to_owned(), Value::from(r.as_str()));
        }
    }
}
