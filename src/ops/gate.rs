//! The guard gate: whether a plan may be applied, decided from its guard verdicts before any call.
//! `protect` is never overridden; the limits (`max_changes`, `max_stop_percent`) pass only with
//! `--override-guards`, and the report records that they did.
//!
//! Pure: a plan and a flag in, a verdict out.

use crate::plan::{GuardCheck, Plan};

/// Why the gate refused a plan (the message says what to do).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Let the plan through, returning the broken checks that `override_guards` let pass (for the report
/// and a warning), or refuse it.
pub fn gate(plan: &Plan, override_guards: bool) -> Result<Vec<GuardCheck>, Refused> {
    let broken: Vec<&GuardCheck> = crate::plan::guard::broken(&plan.guards).collect();
    let protect: Vec<&GuardCheck> = broken
        .iter()
        .copied()
        .filter(|g| !g.guard.overridable())
        .collect();
    if !protect.is_empty() {
        return Err(Refused(format!(
            "refusing to apply: the plan would stop protected phones; nothing was applied \
             (--override-guards does not change this).\n  {}",
            list(&protect)
        )));
    }
    if broken.is_empty() {
        return Ok(Vec::new());
    }
    if !override_guards {
        return Err(Refused(format!(
            "refusing to apply: the plan breaks {} guard{} of the spec's `safety`; nothing was applied. \
             Check the plan; if it is meant, apply again with --override-guards.\n  {}",
            broken.len(),
            if broken.len() == 1 { "" } else { "s" },
            list(&broken)
        )));
    }
    Ok(broken.into_iter().cloned().collect())
}

/// The checks, one per line, for a message.
pub fn list(checks: &[&GuardCheck]) -> String {
    checks
        .iter()
        .map(|g| g.describe())
        .collect::<Vec<_>>()
        .join("\n  ")
}
