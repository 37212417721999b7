//! `remark`: a GeeLark phone's remark, set by `phone/detail/update`, one phone a call.

use super::Sensitivity;
use super::text::{Text, never};
use crate::plan::Action;

/// The remark attribute.
pub(super) static REMARK: Text = Text {
    key: "remark",
    action: Action::SetRemark,
    declared: |d| d.remark.as_ref(),
    seen: |x| x.remark.clone(),
    view: |v| &mut v.remark,
    shared_call: false,
    goal_names_value: false,
    blocked: never,
    sensitivity: Sensitivity::Shown,
};
