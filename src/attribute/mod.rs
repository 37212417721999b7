//! The managed attributes of a phone, one module each: how an attribute is declared, read from an
//! observation, compared, which action it plans, which kinds can do it, how its values are shown and how
//! apply confirms it. `plan`, `apply`, the capability table and the views ask the registry
//! ([`ALL`]) instead of naming attributes; a new attribute is a module here, its action in
//! [`crate::plan::Action`], its provider calls and its simulator routes (ARCHITECTURE.md counts them).

mod group;
mod image;
mod name;
mod pool;
mod power;
mod properties;
mod proxy;
mod remark;
mod route;
mod tags;
mod text;

pub use image::{asked_reset, reset_note};
pub use name::check as check_name;
pub use pool::{DELETED, to_create};
pub use properties::{asked_restart, pending_rule, restart_rule};

use serde_json::Value;

use crate::plan::{Action, BatchPhone, PhoneView};
use crate::provider::ObserveTarget;
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::ObservedPhone;

/// One managed attribute.
pub trait Attribute: Sync {
    /// Its key in the spec, in views and in JSON: `name`, `properties`, `traffic`, `state`.
    fn key(&self) -> &'static str;
    /// Whether `action` is one of this attribute's.
    fn owns(&self, action: &Action) -> bool;
    /// Whether the spec manages it on this phone.
    fn declared(&self, d: &DesiredPhone) -> bool;
    /// Whether this kind can manage it: `Err` says why not (validation and blocked phones print it).
    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str>;
    /// Whether this kind can make one of its actions (the attribute's support, unless an action
    /// has its own).
    fn supports_action(&self, kind: ProviderKind, _action: &Action) -> Result<(), &'static str> {
        self.supported_by(kind)
    }
    /// The declared value, into a view.
    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView);
    /// The observed value of a declared attribute, into a view.
    fn observed(
        &self,
        kind: ProviderKind,
        d: &DesiredPhone,
        o: &ObservedPhone,
        view: &mut PhoneView,
    );
    /// Why the phone cannot be brought to the declared value, when no call can (the phone is
    /// blocked, saying so).
    fn blocked(&self, _d: &DesiredPhone, _o: &ObservedPhone) -> Option<String> {
        None
    }
    /// The change a phone that is settled needs, if its value differs.
    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action>;
    /// Whether a read shows `action` done (or, with `in_progress_counts`, on its way).
    fn reached(
        &self,
        action: &Action,
        d: &DesiredPhone,
        o: &ObservedPhone,
        in_progress_counts: bool,
    ) -> bool;
    /// What a phone that did not converge failed to show: `running`, `traffic direct`.
    fn goal(&self, action: &Action, d: &DesiredPhone) -> String;
    /// How its values are kept from output.
    fn sensitivity(&self) -> Sensitivity {
        Sensitivity::Shown
    }
    /// Whether reading it takes a call per phone (CPH properties: the detail route).
    fn read_per_phone(&self, _d: &DesiredPhone) -> bool {
        false
    }
    /// Ask the read of one phone for what this attribute needs beyond its status.
    fn read(&self, _target: &mut ObserveTarget) {}
    /// What an action's call carries for one phone beyond its id (the properties to write, the name
    /// to give), from the declaration and what was read.
    fn payload(
        &self,
        _kind: ProviderKind,
        _action: &Action,
        _d: &DesiredPhone,
        _o: Option<&ObservedPhone>,
        _phone: &mut BatchPhone,
    ) {
    }
    /// Which phones of one action may share a call: the same key (the group they move to).
    fn batch_key(&self, _phone: &BatchPhone) -> String {
        String::new()
    }
    /// An action's `before` and `after` in `plan --json`: the attribute's value in each view.
    fn json_change(
        &self,
        _action: &Action,
        before: &PhoneView,
        after: &PhoneView,
    ) -> (Value, Value) {
        let text = |v: &PhoneView| {
            v.scalar(self.key())
                .map_or(Value::Null, |s| Value::String(s.clone()))
        };
        (text(before), text(after))
    }
}

/// The batch key of phones whose calls share a value (`set[key]`: the group they move to, the pool
/// they are created in, the image they are reset onto): its JSON text, or empty.
fn shared_value(phone: &BatchPhone, key: &str) -> String {
    phone
        .set
        .get(key)
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// What must be read of a declared phone to plan it: what its declared attributes need.
pub fn target_for(d: &DesiredPhone) -> ObserveTarget {
    let mut t = ObserveTarget {
        id: d.id.clone(),
        properties: false,
        listed: false,
    };
    for a in ALL.iter().filter(|a| a.declared(d)) {
        a.read(&mut t);
    }
    t
}

/// How an attribute's values are kept from output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Shown as they are.
    Shown,
    /// Some values are sensitive by key (`safety.sensitive_properties`, String-typed CPH attributes):
    /// masked in every view and output, compared by keyed digest in plan files ([`crate::plan::sensitive`]).
    ByKey,
    /// Its secrets never reach a view: the client compares them when it reads and keeps a name
    /// (a proxy's credentials, read from variables and masked in every answer).
    Secret,
}

/// Every attribute, in the order one phone's changes run.
pub static ALL: [&dyn Attribute; 10] = [
    &image::Image,
    &name::Name,
    &group::GROUP,
    &tags::Tags,
    &remark::REMARK,
    &proxy::PROXY,
    &properties::PropertiesAttr,
    &route::Route,
    &power::PowerAttr,
    &pool::Pool,
];

/// GeeLark's groups, tags and remarks: read from its phone list, set by its detail routes.
fn details_supported(kind: ProviderKind) -> Result<(), &'static str> {
    if crate::capability::of(kind).details {
        Ok(())
    } else {
        Err("only geelark has groups, tags and remarks")
    }
}

/// The attribute an action belongs to.
pub fn of(action: &Action) -> &'static dyn Attribute {
    ALL.iter()
        .copied()
        .find(|a| a.owns(action))
        .expect("every action belongs to one attribute")
}

/// Whether `kind` can carry out `action`, and why not.
pub fn supports_why(kind: ProviderKind, action: &Action) -> Result<(), &'static str> {
    of(action).supports_action(kind, action)
}

/// Whether `kind` can carry out `action` at all.
pub fn supports(kind: ProviderKind, action: &Action) -> bool {
    of(action).supports_action(kind, action).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ActionKind;

    #[test]
    fn every_action_belongs_to_exactly_one_attribute() {
        for k in ActionKind::ALL {
            let a = Action::from_name(k.name(), Some(crate::spec::Traffic::Direct)).unwrap();
            assert_eq!(ALL.iter().filter(|x| x.owns(&a)).count(), 1, "{}", k.name());
        }
        let keys: std::collections::BTreeSet<&str> = ALL.iter().map(|a| a.key()).collect();
        assert_eq!(keys.len(), ALL.len());
        let of = |s: Sensitivity| -> Vec<&str> {
            ALL.iter()
                .filter(|a| a.sensitivity() == s)
                .map(|a| a.key())
                .collect()
        };
        assert_eq!(of(Sensitivity::ByKey), ["properties"]);
        assert_eq!(of(Sensitivity::Secret), ["proxy"]);
    }
}
