//! The GeeLark details that are one piece of text (`group`, `remark`, `proxy`): read from the phone
//! list, compared as text, carried to the call by value. Each attribute's module says what differs
//! (its field, its action, whether phones bound for the same value share a call, how an absent value
//! reads); this is the one implementation of the interface they share.

use serde_json::Value;

use super::{Attribute, Sensitivity};
use crate::plan::{Action, BatchPhone, PhoneView};
use crate::provider::ObserveTarget;
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::{Details, ObservedPhone};

/// One text detail.
pub(super) struct Text {
    /// Its key in the spec, views and JSON.
    pub(super) key: &'static str,
    /// Its action.
    pub(super) action: Action,
    /// What the spec declares.
    pub(super) declared: fn(&DesiredPhone) -> Option<&String>,
    /// What the listing showed, as the spec would write it.
    pub(super) seen: fn(&Details) -> String,
    /// Its field of a view.
    pub(super) view: fn(&mut PhoneView) -> &mut Option<String>,
    /// Phones bound for the same value share a call (`phone/moveGroup`).
    pub(super) shared_call: bool,
    /// Whether a failed confirmation names the value (`group "growth"`) or only the attribute.
    pub(super) goal_names_value: bool,
    /// Why no call can bring the phone to the declared value, if so.
    pub(super) blocked: fn(&DesiredPhone) -> Option<String>,
    /// How its values are kept from output.
    pub(super) sensitivity: Sensitivity,
}

impl Text {
    /// The value the listing showed; `None` when the phone was not read through the listing (then
    /// it differs from any declared value, and a view shows the empty reading).
    fn now(&self, o: &ObservedPhone) -> Option<String> {
        o.details.as_ref().map(self.seen)
    }
}

impl Attribute for Text {
    fn key(&self) -> &'static str {
        self.key
    }

    fn owns(&self, action: &Action) -> bool {
        *action == self.action
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        (self.declared)(d).is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        super::details_supported(kind)
    }

    fn sensitivity(&self) -> Sensitivity {
        self.sensitivity
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        (self.view)(view).clone_from(&(self.declared)(d).cloned());
    }

    fn observed(&self, _: ProviderKind, _: &DesiredPhone, o: &ObservedPhone, view: &mut PhoneView) {
        *(self.view)(view) = Some(
            self.now(o)
                .unwrap_or_else(|| (self.seen)(&Details::default())),
        );
    }

    fn blocked(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<String> {
        self.diff(d, o)?;
        (self.blocked)(d)
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        let want = (self.declared)(d)?;
        (self.now(o).as_ref() != Some(want)).then_some(self.action)
    }

    fn reached(&self, _: &Action, d: &DesiredPhone, o: &ObservedPhone, _: bool) -> bool {
        self.diff(d, o).is_none()
    }

    fn goal(&self, _: &Action, d: &DesiredPhone) -> String {
        if self.goal_names_value {
            let want = (self.declared)(d).map_or("", String::as_str);
            format!("{} {want:?}", self.key)
        } else {
            format!("its {}", self.key)
        }
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
        if let Some(v) = (self.declared)(d) {
            phone
                .set
                .insert(self.key.to_owned(), Value::from(v.as_str()));
        }
    }

    fn batch_key(&self, phone: &BatchPhone) -> String {
        if !self.shared_call {
            return String::new();
        }
        super::shared_value(phone, self.key)
    }
}

/// Nothing stands in the way of a call.
pub(super) fn never(_: &DesiredPhone) -> Option<String> {
    None
}
