//! `traffic`: the CPH traffic route (`direct` / `routing`).

use super::Attribute;
use crate::plan::{Action, PhoneView};
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::ObservedPhone;

/// The route attribute.
pub(super) struct Route;

impl Attribute for Route {
    fn key(&self) -> &'static str {
        "traffic"
    }

    fn owns(&self, action: &Action) -> bool {
        matches!(action, Action::SetTraffic(_))
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        d.traffic.is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        if crate::capability::of(kind).traffic {
            Ok(())
        } else {
            Err("only huawei-cph has a traffic route")
        }
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.traffic = d.traffic.map(|t| t.as_str().to_owned());
    }

    fn observed(
        &self,
        _: ProviderKind,
        _d: &DesiredPhone,
        o: &ObservedPhone,
        view: &mut PhoneView,
    ) {
        view.traffic = Some(
            o.traffic
                .map_or_else(|| "unknown".to_owned(), |t| t.as_str().to_owned()),
        );
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        d.traffic
            .filter(|t| o.traffic != Some(*t))
            .map(Action::SetTraffic)
    }

    fn reached(&self, action: &Action, _d: &DesiredPhone, o: &ObservedPhone, _: bool) -> bool {
        matches!(action, Action::SetTraffic(t) if o.traffic == Some(*t))
    }

    fn goal(&self, action: &Action, _d: &DesiredPhone) -> String {
        match action {
            Action::SetTraffic(t) => format!("traffic {}", t.as_str()),
            _ => String::new(),
        }
    }
}
