//! `properties`: CPH `sys.prop`-style properties, and the restart some of them need to take effect.

use super::Attribute;
use serde_json::Value;

use crate::plan::{Action, BatchPhone, PhoneView};
use crate::provider::ObserveTarget;
use crate::spec::{DesiredPhone, ProviderKind, RestartPolicy};
use crate::state::{ObservedPhone, Power};

/// The properties attribute (its actions: `set_properties`, and `restart`, which carries them).
pub(super) struct PropertiesAttr;

/// The declared keys whose value differs from what was read.
fn changed<'a>(d: &'a DesiredPhone, o: &ObservedPhone) -> impl Iterator<Item = &'a String> {
    d.properties
        .iter()
        .filter(|(k, v)| !v.matches(o.properties.as_ref().and_then(|p| p.get(*k))))
        .map(|(k, _)| k)
}

impl Attribute for PropertiesAttr {
    fn key(&self) -> &'static str {
        "properties"
    }

    fn owns(&self, action: &Action) -> bool {
        action.carries_properties() || *action == Action::ClearRestartPending
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        !d.properties.is_empty()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        if crate::capability::of(kind).properties {
            Ok(())
        } else {
            Err("only huawei-cph has properties")
        }
    }

    // A restart alone (`plan --restart`) is offered wherever the kind documents one.
    fn supports_action(&self, kind: ProviderKind, action: &Action) -> Result<(), &'static str> {
        if *action != Action::Restart {
            return self.supported_by(kind);
        }
        if crate::capability::of(kind).restart_batch.default > 0 {
            Ok(())
        } else {
            Err("this provider documents no restart API")
        }
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.properties = d
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.text().into_owned()))
            .collect();
    }

    fn observed(&self, _: ProviderKind, d: &DesiredPhone, o: &ObservedPhone, view: &mut PhoneView) {
        if let Some(current) = &o.properties {
            view.properties = d
                .properties
                .keys()
                .filter_map(|k| current.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
        }
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        changed(d, o).next().map(|_| Action::SetProperties)
    }

    // A running phone shows no sign of a restart: after a lost answer only one on its way counts (a
    // second restart is harmless); once its job is done, running is the restart's result. It carried
    // the phone's new properties: done when the phone runs with them.
    fn reached(
        &self,
        action: &Action,
        d: &DesiredPhone,
        o: &ObservedPhone,
        in_progress: bool,
    ) -> bool {
        let set = changed(d, o).next().is_none();
        match action {
            Action::Restart if in_progress => o.power == Power::Transitioning,
            Action::Restart => o.power == Power::Running && set,
            Action::ClearRestartPending => o.restart_pending.is_empty(),
            _ => set,
        }
    }

    fn goal(&self, action: &Action, _d: &DesiredPhone) -> String {
        match action {
            Action::Restart => "running".to_owned(),
            Action::ClearRestartPending => "its restart mark cleared".to_owned(),
            _ => "the new properties".to_owned(),
        }
    }

    fn read_per_phone(&self, d: &DesiredPhone) -> bool {
        self.declared(d)
    }

    fn sensitivity(&self) -> super::Sensitivity {
        super::Sensitivity::ByKey
    }

    fn read(&self, target: &mut ObserveTarget) {
        target.properties = true;
    }

    // A restart after property changes carries them (see `restart_rule`).
    // A restart after property changes carries them (see `restart_rule`). Keys that wait for a
    // restart on a phone that stays running are marked with the phone, in the same call, so that
    // another run (a CI runner starts empty) knows the restart is owed; clearing writes the mark empty.
    fn payload(
        &self,
        kind: ProviderKind,
        action: &Action,
        d: &DesiredPhone,
        o: Option<&ObservedPhone>,
        phone: &mut BatchPhone,
    ) {
        if *action == Action::ClearRestartPending {
            phone.marks.insert(MARK.to_owned(), String::new());
            return;
        }
        let current = o.and_then(|o| o.properties.as_ref());
        phone.properties = d
            .properties
            .iter()
            .filter(|(k, v)| !v.matches(current.and_then(|c| c.get(*k))))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let Some(o) = o.filter(|o| *action == Action::SetProperties && o.power == Power::Running)
        else {
            return;
        };
        let restart_keys = crate::provider::dialect::of(kind).restart_keys;
        let mut owed: std::collections::BTreeSet<String> =
            o.restart_pending.iter().cloned().collect();
        owed.extend(
            phone
                .properties
                .keys()
                .filter(|k| restart_keys.contains(&k.as_str()))
                .cloned(),
        );
        if owed.len() > o.restart_pending.len() {
            phone.marks.insert(
                MARK.to_owned(),
                owed.into_iter().collect::<Vec<_>>().join(","),
            );
        }
    }

    // The keys that change, each with its value before and after.
    fn json_change(
        &self,
        action: &Action,
        before: &PhoneView,
        after: &PhoneView,
    ) -> (Value, Value) {
        let keys: Vec<&String> = after
            .properties
            .iter()
            .filter(|(k, v)| before.properties.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        let side = |view: &PhoneView| -> Value {
            keys.iter()
                .map(|k| {
                    let v = view
                        .properties
                        .get(*k)
                        .cloned()
                        .map_or(Value::Null, Value::String);
                    ((*k).clone(), v)
                })
                .collect::<serde_json::Map<String, Value>>()
                .into()
        };
        if *action == Action::Restart {
            let state = |v: &PhoneView| v.state.clone().map_or(Value::Null, Value::String);
            return (state(before), Value::from("restarted"));
        }
        if *action == Action::ClearRestartPending {
            return (Value::from("restart pending"), Value::Null);
        }
        (side(before), side(after))
    }
}

/// The `custom_property` key of the mark (see [`crate::provider::huawei_cph::RESTART_PENDING`]).
const MARK: &str = crate::provider::huawei_cph::RESTART_PENDING;

/// A phone an earlier apply left waiting for a restart (its mark read from the provider): when this
/// plan boots it anyway (a start, or a restart for new properties) the mark is cleared after; a
/// running phone is restarted when asked (`--restart-pending`, or `restart: when-needed` and not
/// protected), else the plan notes what waits.
pub fn pending_rule(
    kind: ProviderKind,
    d: &DesiredPhone,
    o: &ObservedPhone,
    asked: bool,
    actions: &mut Vec<Action>,
    notes: &mut Vec<String>,
) {
    if o.restart_pending.is_empty() || !super::supports(kind, &Action::ClearRestartPending) {
        return;
    }
    let keys = o
        .restart_pending
        .iter()
        .map(|k| format!("`{}`", crate::redact::controls(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let boots = actions
        .iter()
        .any(|a| matches!(a, Action::Start | Action::Restart));
    if boots {
        actions.push(Action::ClearRestartPending);
        return;
    }
    if o.power != Power::Running {
        notes.push(format!(
            "restart pending: {keys} take effect when it starts"
        ));
        return;
    }
    let restart = (asked || d.restart == RestartPolicy::WhenNeeded) && !d.protect;
    if restart && !actions.contains(&Action::Stop) {
        notes.push(format!("restart pending: {keys}: restarted now"));
        actions.retain(|a| *a != Action::SetProperties);
        actions.push(Action::Restart);
        actions.push(Action::ClearRestartPending);
    }
}

/// `--restart SELECTOR` selected this phone: restart it once when it runs and nothing else in this plan
/// boots or stops it; otherwise say why it is not restarted.
pub fn asked_restart(
    kind: ProviderKind,
    o: &ObservedPhone,
    actions: &mut Vec<Action>,
    notes: &mut Vec<String>,
) {
    if actions
        .iter()
        .any(|a| matches!(a, Action::Start | Action::Stop | Action::Restart))
    {
        return;
    }
    if let Err(why) = super::supports_why(kind, &Action::Restart) {
        notes.push(format!("--restart: {why}; not restarted"));
    } else if o.power != Power::Running {
        notes.push("--restart: not running, so not restarted (a start boots it)".to_owned());
    } else {
        actions.push(Action::Restart);
    }
}

/// Properties that take effect only after a restart, on a phone that stays running: a note per key,
/// and with `restart: when-needed` (not on a protected phone) the restart, which carries the new
/// properties in the same call so that no interruption can leave them set and the restart owed.
pub fn restart_rule(
    kind: ProviderKind,
    d: &DesiredPhone,
    o: &ObservedPhone,
    actions: &mut Vec<Action>,
    notes: &mut Vec<String>,
) {
    let powers = actions
        .iter()
        .any(|a| matches!(a, Action::Start | Action::Stop));
    if o.power != Power::Running || powers {
        return;
    }
    let restart_keys = crate::provider::dialect::of(kind).restart_keys;
    let needs: Vec<&String> = changed(d, o)
        .filter(|k| restart_keys.contains(&k.as_str()))
        .collect();
    if needs.is_empty() {
        return;
    }
    let wanted = d.restart == RestartPolicy::WhenNeeded && super::supports(kind, &Action::Restart);
    // A protected phone carries live work: phonefleet does not restart it either.
    let restart = wanted && !d.protect;
    for k in &needs {
        notes.push(if restart {
            format!("`{k}` takes effect after restart: set with the restart, in one call")
        } else if wanted {
            format!("`{k}` takes effect after restart; the phone is protected, so phonefleet does not restart it")
        } else {
            format!("`{k}` takes effect after restart")
        });
    }
    if restart {
        actions.retain(|a| *a != Action::SetProperties);
        actions.push(Action::Restart);
    }
}
