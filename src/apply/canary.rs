//! `--canary N`: a plan's canary batches (see [`crate::plan::canary_phones`]) run first, alone, on the
//! usual schedule, and are confirmed (their phones read until they show the desired state). Only then
//! do the other batches run, and only for the providers whose canary all succeeded: a provider with a
//! failed canary gets nothing more, its other phones reported skipped with the canary's failure.
//!
//! Providers' canaries run side by side; the rest starts once every canary is settled.

use std::collections::{BTreeMap, BTreeSet};

use super::{ApplyReport, Options, Outcome, PhoneResult};
use crate::plan::Plan;
use crate::provider::Client;

/// Whether `plan` has a canary.
pub(crate) fn has_canary(plan: &Plan) -> bool {
    plan.batches.iter().any(|b| b.canary)
}

/// Run the canary, then the rest where the canary passed.
pub(crate) async fn execute(
    plan: &Plan,
    clients: &BTreeMap<String, Client>,
    opts: &Options,
) -> ApplyReport {
    let canaries: BTreeSet<(&str, &str)> = plan
        .canary_by_provider()
        .into_iter()
        .flat_map(|(provider, ids)| ids.into_iter().map(move |id| (provider, id)))
        .collect();
    let is_canary = |provider: &str, id: &str| canaries.contains(&(provider, id));
    let first = Plan {
        changes: plan
            .changes
            .iter()
            .filter(|c| is_canary(&c.provider, &c.phone_id))
            .cloned()
            .collect(),
        batches: plan.batches.iter().filter(|b| b.canary).cloned().collect(),
        ..Plan::default()
    };
    let canary = super::execute_now(&first, clients, opts).await;
    // The first failure of each provider's canary (results are in plan order). A canary phone skipped
    // for a signal or the deadline is no verdict on the provider: the rest stops for the same reason.
    let mut failed: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    for r in &canary.results {
        let why = match &r.outcome {
            Outcome::Failed(e) => format!("{}: {}", e.code, e.message),
            Outcome::Ok | Outcome::Blocked(_) | Outcome::Skipped(_) => continue,
        };
        let entry = failed
            .entry(r.provider.as_str())
            .or_insert_with(|| (0, format!("{} {}", r.phone_id, why)));
        entry.0 += 1;
    }
    let rest = Plan {
        changes: plan
            .changes
            .iter()
            .filter(|c| !is_canary(&c.provider, &c.phone_id))
            .cloned()
            .collect(),
        batches: plan
            .batches
            .iter()
            .filter(|b| !b.canary && !failed.contains_key(b.provider.as_str()))
            .cloned()
            .collect(),
        ..Plan::default()
    };
    let mut after = super::execute_now(&rest, clients, opts).await;
    for r in &mut after.results {
        if let (Some((n, first)), Outcome::Skipped(_)) =
            (failed.get(r.provider.as_str()), &r.outcome)
        {
            let others = if *n > 1 {
                format!(" (and {} more)", n - 1)
            } else {
                String::new()
            };
            r.outcome = Outcome::Skipped(format!("canary failed: {first}{others}"));
        }
    }
    let mut results: Vec<PhoneResult> = canary.results;
    results.append(&mut after.results);
    // Stable: each phone's actions keep their order.
    results.sort_by(|a, b| (&a.provider, &a.phone_id).cmp(&(&b.provider, &b.phone_id)));
    ApplyReport {
        results,
        interrupted: canary.interrupted || after.interrupted,
        overridden_guards: Vec::new(),
        already_done: Vec::new(),
        restart_pending: Vec::new(),
    }
}
