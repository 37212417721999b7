//! Status lines for stderr: what a run is doing and what a person should know, apart from the plan and
//! the report (which go to stdout). Each function returns text; the command writes it.

use crate::ops::plan::Scope;
use crate::plan::{GuardCheck, Plan};

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `Reading 12 phones from 2 providers (simulated)...`, or `Reading 10 phones and 1 pool from ...`.
pub fn reading(scope: &Scope, simulated: bool) -> String {
    let providers = scope.providers.len();
    let pools = scope.desired.iter().filter(|d| d.pool.is_some()).count();
    let phones = scope.desired.len() - pools;
    let what = match (phones, pools) {
        (_, 0) => format!("{phones} phone{}", plural(phones)),
        (0, _) => format!("{pools} pool{}", plural(pools)),
        _ => format!(
            "{phones} phone{} and {pools} pool{}",
            plural(phones),
            plural(pools)
        ),
    };
    format!(
        "Reading {what} from {providers} provider{}{}...",
        plural(providers),
        if simulated { " (simulated)" } else { "" }
    )
}

/// Each broken guard, and what apply will do about it.
pub fn guards(plan: &Plan) -> Vec<String> {
    crate::plan::guard::broken(&plan.guards)
        .map(|g| {
            if g.guard.overridable() {
                format!(
                    "warning: the plan breaks a guard: {}; apply will refuse it unless --override-guards is given",
                    g.describe()
                )
            } else {
                format!("error: {}", g.describe())
            }
        })
        .collect()
}

/// The broken guards `--override-guards` lets pass.
pub fn overridden(checks: &[GuardCheck]) -> String {
    let refs: Vec<&GuardCheck> = checks.iter().collect();
    format!(
        "warning: --override-guards: applying a plan that breaks {} guard{}:\n  {}",
        checks.len(),
        plural(checks.len()),
        crate::ops::gate::list(&refs)
    )
}

/// Each provider that could not be read at all, with advice.
pub fn unreadable_providers(plan: &Plan) -> Vec<String> {
    plan.summary
        .failed_providers
        .iter()
        .map(|(name, f)| {
            let mut line = format!(
                "error: provider `{name}` could not be read, so none of its phones: {}",
                f.reason
            );
            if let Some(h) = &f.hint {
                line.push_str(&format!("\n  hint: {h}"));
            }
            line
        })
        .collect()
}

/// The error line for a plan with unread phones.
pub fn unreadable_phones(n: usize) -> String {
    format!(
        "error: {n} phone{} could not be read; {} shown above as blocked (\"could not read\"), and the \
         plan is incomplete for {}. Plan again once the provider answers",
        plural(n),
        if n == 1 { "it is" } else { "they are" },
        if n == 1 { "it" } else { "them" },
    )
}
