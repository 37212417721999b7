//! `state`: the power state (`running` / `stopped`), on every kind that offers start and stop.

use super::Attribute;
use crate::plan::{Action, PhoneView};
use crate::spec::{DesiredPhone, PowerState, ProviderKind};
use crate::state::{self, ObservedPhone, Power};

/// The power attribute.
pub(super) struct PowerAttr;

impl Attribute for PowerAttr {
    fn key(&self) -> &'static str {
        "state"
    }

    fn owns(&self, action: &Action) -> bool {
        matches!(action, Action::Start | Action::Stop)
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        d.state.is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        let cap = crate::capability::of(kind);
        if cap.power {
            Ok(())
        } else {
            Err(cap.no_power_reason)
        }
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.state = d.state.map(|s| s.as_str().to_owned());
    }

    fn observed(
        &self,
        kind: ProviderKind,
        _d: &DesiredPhone,
        o: &ObservedPhone,
        view: &mut PhoneView,
    ) {
        view.state = Some(match o.power {
            Power::Running => "running".to_owned(),
            Power::Stopped => "stopped".to_owned(),
            Power::Transitioning | Power::Failed => {
                format!("{} ({})", o.raw_status, state::meaning(kind, o.raw_status))
            }
        });
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        match (d.state, o.power) {
            (Some(PowerState::Running), Power::Stopped) => Some(Action::Start),
            (Some(PowerState::Stopped), Power::Running) => Some(Action::Stop),
            _ => None,
        }
    }

    fn reached(
        &self,
        action: &Action,
        _d: &DesiredPhone,
        o: &ObservedPhone,
        in_progress: bool,
    ) -> bool {
        let goal = if *action == Action::Start {
            Power::Running
        } else {
            Power::Stopped
        };
        o.power == goal || (in_progress && o.power == Power::Transitioning)
    }

    fn goal(&self, action: &Action, _d: &DesiredPhone) -> String {
        let s = if *action == Action::Start {
            PowerState::Running
        } else {
            PowerState::Stopped
        };
        s.as_str().to_owned()
    }
}
