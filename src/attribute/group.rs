//! `group`: a GeeLark phone's group, by name. Phones moving to one group share a `phone/moveGroup`
//! call (100 a call); a group that does not exist yet is created first.

use super::Sensitivity;
use super::text::{Text, never};
use crate::plan::Action;

/// The group attribute.
pub(super) static GROUP: Text = Text {
    key: "group",
    action: Action::SetGroup,
    declared: |d| d.group.as_ref(),
    seen: |x| x.group.clone(),
    view: |v| &mut v.group,
    shared_call: true,
    goal_names_value: true,
    blocked: never,
    sensitivity: Sensitivity::Shown,
};
