//! A plan as a plan file and back. Writing: the plan's changes in the wire form of
//! [`crate::plan::saved`], keyed with each provider's [`PlanKey`] and sealed. Reading for `show`: a plan
//! to render, rebuilt from what the file holds (sensitive values stay masked: the file has no other).
//! Checking before apply: the plan's age and seals (the rest is [`crate::plan::verify`]).

use std::collections::BTreeMap;

use anyhow::bail;

use crate::plan::saved::{
    FORMAT, FileBatch, FileGuard, FileProvider, KIND, PlanFile, PlanKey, endpoint_of, entry_digest,
    phones_of,
};
use crate::plan::{Action, Batch, BatchPhone, PhoneChange, Plan, Summary};
use crate::spec::{DesiredPhone, LoadedSpec, PowerState, Traffic};

/// The plan file of a plan made from `spec`, made at `created_at`, for the providers whose keys are
/// given (those of the session that read the fleet).
pub fn to_file(
    plan: &Plan,
    spec: &LoadedSpec,
    simulated: bool,
    created_at: u64,
    keys: &BTreeMap<String, PlanKey>,
    selection: &crate::select::Selection,
) -> anyhow::Result<PlanFile> {
    let used: std::collections::BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| !c.actions.is_empty())
        .map(|c| c.provider.as_str())
        .collect();
    let providers = spec
        .spec
        .providers
        .iter()
        .filter(|(n, _)| used.contains(n.as_str()))
        .map(|(n, p)| {
            let entry = FileProvider {
                kind: p.kind,
                endpoint: endpoint_of(p, simulated),
                entry: entry_digest(p),
            };
            (n.clone(), entry)
        })
        .collect();
    PlanFile {
        kind: KIND.into(),
        format_version: FORMAT.into(),
        phonefleet_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        spec_path: spec.path.clone(),
        spec_digest: spec.digest.clone(),
        safety: crate::plan::saved::safety_digest(&spec.spec.safety()),
        simulated,
        canary: plan.canary,
        restart_pending: plan.restart_pending,
        at: plan.at,
        restart: plan.restart.iter().cloned().collect(),
        reset: plan.reset.iter().cloned().collect(),
        selectors: selection
            .targets
            .iter()
            .map(|t| format!("--target {t}"))
            .chain(selection.excludes.iter().map(|e| format!("--exclude {e}")))
            .collect(),
        providers,
        phones: phones_of(plan, keys)?,
        batches: plan.batches.iter().map(FileBatch::of).collect(),
        guards: plan.guards.iter().map(FileGuard::of).collect(),
        blocked: plan.summary.blocked,
        digest: String::new(),
        seals: BTreeMap::new(),
    }
    .sealed(keys)
}

/// Refuse a plan older than `max_age` seconds at `now`, or one whose seals do not verify with the
/// credentials in force.
pub fn check_file(
    file: &PlanFile,
    now: u64,
    max_age: u64,
    keys: &BTreeMap<String, PlanKey>,
) -> anyhow::Result<()> {
    let age = file.age(now);
    if age > max_age {
        bail!(
            "the plan was made {} ago, longer than --max-plan-age allows ({}); nothing was applied. \
             An old plan may undo what was changed since: make a fresh one with `phonefleet plan --out`",
            duration(age),
            duration(max_age)
        );
    }
    let unsealed = file.unsealed(keys);
    if !unsealed.is_empty() {
        bail!(
            "the plan's seal does not verify for {} with the credentials in force: the credentials \
             changed since the plan was made (rotated?), or the file was edited; nothing was applied. \
             Make a new plan",
            unsealed
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// `90s`, `5m`, `3h 20m`, `2d 4h`.
pub fn duration(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A plan to render from a plan file (`show`): its phones, batches and verdicts, values as the file
/// keeps them (sensitive ones masked).
pub fn to_display(file: &PlanFile) -> Plan {
    let action = crate::plan::saved::action_from_name;
    let mut summary = Summary::default();
    let changes = file
        .phones
        .iter()
        .map(|p| {
            let actions: Vec<Action> = p.actions.iter().filter_map(|a| action(a)).collect();
            for a in &actions {
                summary.count(a);
            }
            let kind = file.providers.get(&p.provider).map(|f| f.kind);
            PhoneChange {
                provider: p.provider.clone(),
                kind: kind.unwrap_or(crate::spec::ProviderKind::HuaweiCph),
                phone_id: p.phone_id.clone(),
                name: p.name.clone(),
                actions,
                before: p.before.clone(),
                after: p.after.clone(),
                blocked: None,
                notes: p.notes.clone(),
                desired: DesiredPhone {
                    provider: p.provider.clone(),
                    id: p.phone_id.clone(),
                    name: p.name.clone(),
                    state: p.after.state.as_deref().and_then(|s| match s {
                        "running" => Some(PowerState::Running),
                        "stopped" => Some(PowerState::Stopped),
                        _ => None,
                    }),
                    traffic: p.after.traffic.as_deref().and_then(Traffic::parse),
                    properties: p
                        .after
                        .properties
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().into()))
                        .collect(),
                    protect: false,
                    restart: crate::spec::RestartPolicy::Never,
                    labels: Default::default(),
                    manage_name: p.after.name.is_some(),
                    group: p.after.group.clone(),
                    tags: p.after.tags.as_deref().map(crate::plan::view::tag_set),
                    remark: p.after.remark.clone(),
                    proxy: p.after.proxy.clone(),
                    image: p.after.image.clone(),
                    pool: None,
                    schedule: None,
                },
                fingerprint: String::new(),
                read_properties: false,
                unreadable: false,
                identity: None,
            }
        })
        .collect();
    let batches = file
        .batches
        .iter()
        .filter_map(|b| {
            Some(Batch {
                provider: b.provider.clone(),
                action: action(&b.action)?,
                phones: b
                    .phone_ids
                    .iter()
                    .map(|id| BatchPhone {
                        id: id.clone(),
                        properties: Default::default(),
                        name: None,
                        marks: Default::default(),
                        set: Default::default(),
                    })
                    .collect(),
                canary: b.canary,
            })
        })
        .collect::<Vec<_>>();
    for b in &batches {
        *summary.calls.entry(b.provider.clone()).or_default() += 1;
    }
    summary.phones = file.phones.len();
    summary.blocked = file.blocked;
    Plan {
        at: file.at,
        schedules: Vec::new(),
        changes,
        batches,
        summary,
        guards: file.guards.iter().filter_map(FileGuard::check).collect(),
        sensitive: Default::default(),
        canary: file.canary,
        restart_pending: file.restart_pending,
        restart: file.restart.iter().cloned().collect(),
        reset: file.reset.iter().cloned().collect(),
        base: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_plainly() {
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(600), "10m");
        assert_eq!(duration(86_400 + 3 * 3600), "1d 3h");
        assert_eq!(duration(3 * 3600 + 20 * 60), "3h 20m");
    }
}

/// How a saved plan is to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds since the Unix epoch, now.
    pub now: u64,
    /// `--max-plan-age`, in seconds.
    pub max_age: u64,
    /// `apply --canary N`: another canary split of the same changes.
    pub canary: Option<usize>,
    /// `--max-batch`: split batches further (never merge).
    pub max_batch: Option<usize>,
    /// The run's deadline: converging phones are waited for until two minutes, or a third of the time
    /// left, have passed.
    pub deadline: tokio::time::Instant,
    /// Phones an earlier apply of this file reset ([`read_receipt`]): not reset again.
    pub already_reset: std::collections::BTreeSet<(String, String)>,
}

/// Where the resets an apply of the plan file at `plan` made are recorded: beside it.
pub fn receipt_path(plan: &std::path::Path) -> std::path::PathBuf {
    let mut name = plan.as_os_str().to_owned();
    name.push(".resets");
    std::path::PathBuf::from(name)
}

/// One reset an apply of a plan file made, sealed with its provider's plan key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Receipt {
    /// The plan file's digest.
    plan: String,
    /// (provider, phone id, seal).
    reset: Vec<(String, String, String)>,
}

fn seal(key: &PlanKey, plan: &str, provider: &str, id: &str) -> String {
    key.mac(
        "reset receipt",
        format!("{plan}\0{provider}\0{id}").as_bytes(),
    )
}

/// The phones an earlier apply of `saved` reset, from the receipt at `path`: only entries for this
/// file whose seal the credentials in force make (a receipt of another plan, or forged, counts for
/// nothing).
pub fn read_receipt(
    path: &std::path::Path,
    saved: &PlanFile,
    keys: &BTreeMap<String, PlanKey>,
) -> std::collections::BTreeSet<(String, String)> {
    let Ok(bytes) = crate::fs::read_capped(path, 16 << 20) else {
        return Default::default();
    };
    let Ok(receipt) = serde_json::from_slice::<Receipt>(&bytes) else {
        return Default::default();
    };
    if receipt.plan != saved.digest {
        return Default::default();
    }
    receipt
        .reset
        .into_iter()
        .filter(|(p, id, s)| {
            keys.get(p)
                .is_some_and(|k| seal(k, &saved.digest, p, id) == *s)
        })
        .map(|(p, id, _)| (p, id))
        .collect()
}

/// The phones an apply reset, or may have reset (its answer lost, or the phone not back by the
/// deadline): a reset is never made again on its own.
pub fn resets_made(report: &crate::apply::ApplyReport) -> Vec<(String, String)> {
    report
        .results
        .iter()
        .filter(|r| r.action == Some(crate::plan::Action::Reset))
        .filter(|r| match &r.outcome {
            crate::apply::Outcome::Ok => true,
            crate::apply::Outcome::Failed(e) => {
                matches!(
                    e.code.as_str(),
                    "outcome-unknown" | "not-converged" | "no-answer"
                )
            }
            _ => false,
        })
        .map(|r| (r.provider.clone(), r.phone_id.clone()))
        .collect()
}

/// Record the phones this apply of `saved` reset (with those recorded before), so that applying the
/// file again does not reset them twice where no device identity tells (KooPhone).
pub fn write_receipt(
    path: &std::path::Path,
    saved: &PlanFile,
    keys: &BTreeMap<String, PlanKey>,
    reset: impl IntoIterator<Item = (String, String)>,
) -> std::io::Result<()> {
    let mut all = read_receipt(path, saved, keys);
    let before = all.len();
    all.extend(reset);
    if all.len() == before {
        return Ok(());
    }
    let receipt = Receipt {
        plan: saved.digest.clone(),
        reset: all
            .into_iter()
            .filter_map(|(p, id)| {
                let s = seal(keys.get(&p)?, &saved.digest, &p, &id);
                Some((p, id, s))
            })
            .collect(),
    };
    let bytes = serde_json::to_vec_pretty(&receipt).expect("a receipt serializes");
    crate::fs::write_atomic(path, &bytes)
}

/// What a saved plan comes to, once checked against the credentials, the spec and the fleet.
#[derive(Debug)]
pub enum Prepared {
    /// Every phone of the plan is already as it wants: nothing to send.
    AlreadyApplied {
        /// The plan's phones.
        phones: usize,
    },
    /// The plan to run for the phones that still owe changes, derived again from the spec and the
    /// phones as they are now, and the phones that are done already (`provider`, `phone id`).
    Ready(Box<Plan>, Vec<crate::apply::Done>),
}

/// Check a saved plan bound to its spec (`bound`, see [`crate::plan::verify::against_spec`]) before it
/// runs: its age and seals and every phone's declaration (before any call); then the phones read
/// again through `fleet` and a verdict for each: done ones are left alone, converging ones waited for
/// and confirmed, a moved one makes the plan stale (named, with what moved), and the plan derived
/// again for the phones that owe changes must be the file's. Refusals are errors that say what to do.
pub async fn prepare(
    saved: &PlanFile,
    bound: &crate::plan::verify::Bound,
    fleet: &crate::ops::fleet::Fleet,
    opts: Options,
    events: &dyn crate::ops::fleet::Events,
) -> anyhow::Result<Prepared> {
    fleet
        .run(prepare_scoped(saved, bound, fleet, opts, events))
        .await
}

async fn prepare_scoped(
    saved: &PlanFile,
    bound: &crate::plan::verify::Bound,
    fleet: &crate::ops::fleet::Fleet,
    opts: Options,
    events: &dyn crate::ops::fleet::Events,
) -> anyhow::Result<Prepared> {
    use crate::plan::verify::{self, Verdict};
    let keys = fleet.plan_keys();
    check_file(saved, opts.now, opts.max_age, &keys)?;
    verify::declared_as_planned(saved, bound, &keys)?;
    let now = jiff::Timestamp::from_second(opts.now as i64).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let moved = verify::schedule_moved(bound, now);
    if !moved.is_empty() {
        bail!(
            "the plan is stale for {} scheduled phone{}: a schedule wants another state now than when \
             the plan was made; nothing was applied. Make a new plan.\n  {}",
            moved.len(),
            if moved.len() == 1 { "" } else { "s" },
            moved.join("\n  ")
        );
    }
    crate::plan::Sensitive::of(&bound.policy.safety).install(&bound.covered);
    // Batches are compared at the sizes `plan` used (no command-line overrides).
    let limits = crate::capability::limits_for(&bound.providers, Default::default());
    let mut wait = std::time::Duration::from_millis(250);
    // Phones on their way are waited for, but not forever: a phone stuck in transition must not hold the
    // plan to its deadline (two minutes, or a third of the time left if less).
    let left = opts
        .deadline
        .saturating_duration_since(tokio::time::Instant::now());
    let settle_by =
        tokio::time::Instant::now() + (left / 3).min(std::time::Duration::from_secs(120));
    let mut bound = bound.clone();
    for id in &opts.already_reset {
        bound.policy.reset.remove(id);
    }
    let (observed, now, verdicts) = loop {
        let observed = fleet
            .observe_with(&bound.covered, &bound.policy.reset, events)
            .await;
        // A phone the plan resets that has another device identity now was reset since: it is not
        // reset again.
        for id in verify::reset_since(saved, &observed, &keys) {
            bound.policy.reset.remove(&id);
        }
        let now = verify::fresh(&bound, &observed, &limits);
        let verdicts = verify::verdicts(saved, &bound, &observed, &now, &keys);
        let converging = verdicts
            .iter()
            .any(|v| matches!(v.verdict, Verdict::Converging { .. }));
        let left = settle_by.saturating_duration_since(tokio::time::Instant::now());
        if !converging || left.is_zero() {
            break (observed, now, verdicts);
        }
        tokio::time::sleep(wait.min(left)).await;
        wait = (wait * 2).min(std::time::Duration::from_secs(5));
    };
    if verdicts.iter().any(|v| v.verdict == Verdict::Altered) {
        bail!(
            "the plan file's changes are not what its spec and the phones' state make; it was altered \
             after it was made; nothing was applied. Make a new plan"
        );
    }
    let stale: Vec<String> = verdicts
        .iter()
        .filter_map(|v| match &v.verdict {
            Verdict::Moved { what } => Some(format!("{} / {}: {what}", v.provider, v.phone_id)),
            Verdict::Converging { status } => Some(format!(
                "{} / {}: still in transition after waiting for it: status {status}",
                v.provider, v.phone_id
            )),
            Verdict::Owed | Verdict::Done | Verdict::Altered => None,
        })
        .collect();
    if !stale.is_empty() {
        bail!(
            "the plan is stale for {} phone{} (moved elsewhere since it was made); nothing was applied. \
             Make a new plan; the other phones of this one are still as it expects.\n  {}",
            stale.len(),
            if stale.len() == 1 { "" } else { "s" },
            stale.join("\n  ")
        );
    }
    // Names by phone, looked up once each (a plan may cover 100,000 phones).
    let names: std::collections::HashMap<(&str, &str), &str> = bound
        .covered
        .iter()
        .filter_map(|d| Some(((d.provider.as_str(), d.id.as_str()), d.name.as_deref()?)))
        .collect();
    let done: Vec<crate::apply::Done> = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Done)
        .map(|v| {
            let name = names
                .get(&(v.provider.as_str(), v.phone_id.as_str()))
                .map(|n| (*n).to_owned());
            (v.provider.clone(), v.phone_id.clone(), name)
        })
        .collect();
    if done.len() == verdicts.len() {
        return Ok(Prepared::AlreadyApplied {
            phones: bound.covered.len(),
        });
    }
    let mut plan = verify::rederive(saved, &verdicts, &now)?;
    plan.sensitive.register_values(&bound.covered, &observed);
    if let Some(n) = opts.canary
        && plan.canary != Some(n)
    {
        // The same calls, with another canary split: the plan's phones and changes stay as reviewed.
        plan.canary = Some(n);
        plan.batches = crate::plan::batches_for(&plan.changes, &observed, &limits, plan.canary);
    }
    if let Some(max) = opts.max_batch {
        plan.batches = split(std::mem::take(&mut plan.batches), max);
    }
    Ok(Prepared::Ready(Box::new(plan), done))
}

/// Split batches further (never merge): `--max-batch` on a saved plan.
fn split(batches: Vec<Batch>, max: usize) -> Vec<Batch> {
    batches
        .into_iter()
        .flat_map(|b| {
            b.phones
                .chunks(max.max(1))
                .map(|c| Batch {
                    provider: b.provider.clone(),
                    action: b.action,
                    phones: c.to_vec(),
                    canary: b.canary,
                })
                .collect::<Vec<_>>()
        })
        .collect()
}
