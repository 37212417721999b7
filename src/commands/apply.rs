//! `phonefleet apply SPEC|PLANFILE`: from a spec, plan then ask (or `--auto-approve`); from a saved plan,
//! bind it to the spec it was made from, check that no covered phone moved since, and apply the batches
//! its changes make (see [`crate::plan::verify`]).

use std::io::{BufRead, Write};

use anyhow::{Context, bail};

use crate::apply::{self, ApplyReport, Cancel, Options};
use crate::cli::settings::{ApplySettings, GlobalSettings};
use crate::error::ExitStatus;
use crate::plan::saved::{PlanFile, damaged_plan, looks_like_plan};
use crate::plan::verify;
use crate::plan::{Batch, GuardCheck, Plan};
use crate::render;
use crate::session::{self, Overrides, Session};
use crate::signals;

/// `apply`. Ctrl-C (SIGINT) and SIGTERM are caught from the start: before the first change they stop the
/// run with nothing changed; during the changes they stop new batches and wait for those in flight,
/// then the report is printed (exit 130 or 143). A second signal quits at once.
pub async fn apply(
    settings: &ApplySettings,
    global: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    // The whole run, reads included, ends by this.
    let deadline = std::time::Instant::now() + settings.timeout;
    // A directory is a spec; a file is a spec or a saved plan.
    let bytes = if settings.file.is_dir() {
        Vec::new()
    } else {
        let cap = crate::spec::load::MAX_SPEC_BYTES.max(crate::plan::saved::MAX_PLAN_BYTES);
        crate::fs::read_capped(&settings.file, cap)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", settings.file.display()))?
    };
    let cancel = Cancel::default();
    let mut signals = signals::Watcher::new();
    let watcher = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let first = signals.next().await;
            let name = first.name();
            if cancel.is_applying() {
                eprintln!(
                    "\n{name}: no new batches will be sent; waiting for those in flight \
                     ({name} again to quit at once, leaving their outcome unknown)..."
                );
            } else {
                eprintln!("\n{name}: stopping before any change; nothing has been sent.");
            }
            cancel.cancel(first);
            let second = signals.next().await;
            eprintln!(
                "\nQuit without waiting: the outcome of the batches in flight is unknown; run plan."
            );
            std::process::exit(second.exit_code());
        })
    };
    if let Some(why) = damaged_plan(&bytes) {
        bail!(
            "{} is a damaged or truncated phonefleet plan ({why}); nothing was applied. Make a new plan",
            settings.file.display()
        );
    }
    let result = if looks_like_plan(&bytes) {
        from_saved(&bytes, settings, global, &cancel, deadline).await
    } else {
        from_spec(settings, global, &cancel, deadline).await
    };
    watcher.abort();
    result
}

fn overrides(settings: &ApplySettings) -> Overrides {
    Overrides {
        max_batch: settings.max_batch,
        parallelism: settings.parallelism,
    }
}

async fn from_spec(
    settings: &ApplySettings,
    global: &GlobalSettings,
    cancel: &Cancel,
    deadline: std::time::Instant,
) -> anyhow::Result<ExitStatus> {
    if !settings.auto_approve && !global.interactive {
        bail!(
            "refusing to apply without confirmation: there is no terminal to ask on. \
             Review the changes with `phonefleet plan`, then pass --auto-approve (or apply a saved plan file)"
        );
    }
    let loaded = crate::spec::load_file(&settings.file)?;
    let in_scope = session::in_scope(
        &loaded.spec.providers,
        &session::select(loaded.spec.desired_phones(), &settings.connect.targets)?,
    );
    let _lock = lock(&in_scope, settings)?;
    let made = super::plan::make(
        loaded,
        &settings.connect,
        overrides(settings),
        false,
        settings.canary,
        global,
        deadline,
    );
    // Reads are dropped mid-flight on a signal: nothing has been sent yet.
    let (planned, session) = tokio::select! {
        made = made => made?,
        () = cancel.cancelled() => return Ok(stopped_reading(cancel)),
    };
    let plan = planned.plan;
    // The plan goes where the user reads it: stdout, unless stdout carries the JSON report.
    let shown = render::text::plan(&plan, global.layout(settings.json, settings.full));
    if settings.json {
        eprint!("{shown}");
    } else if write_stdout(&shown).is_err() {
        // Nobody reads stdout: show the plan where the question is asked.
        eprint!("{shown}");
    }
    super::plan::report_unreadable(&plan);
    let overridden = match guard_gate(&plan, settings) {
        Ok(o) => o,
        Err(e) => {
            session.close().await?;
            return Err(e);
        }
    };
    if !plan.batches.is_empty() && !settings.auto_approve {
        let answer = tokio::select! {
            a = confirm() => Some(a?),
            () = cancel.cancelled() => None,
        };
        if answer != Some(true) {
            session.close().await?;
            eprintln!("Apply cancelled; nothing was changed.");
            return Ok(match cancel.signal() {
                Some(signal) if answer.is_none() => signal.status(),
                _ => ExitStatus::Failure,
            });
        }
    }
    run(
        &plan, session, settings, global, cancel, deadline, overridden,
    )
    .await
}

/// Refuse a plan that breaks a guard, before any call: `protect` always, the limits unless
/// `--override-guards`. Returns the broken checks that were overridden, for the report.
fn guard_gate(plan: &Plan, settings: &ApplySettings) -> anyhow::Result<Vec<GuardCheck>> {
    let broken: Vec<&GuardCheck> = crate::plan::guard::broken(&plan.guards).collect();
    let list = |gs: &[&GuardCheck]| {
        gs.iter()
            .map(|g| g.describe())
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    let protect: Vec<&GuardCheck> = broken
        .iter()
        .copied()
        .filter(|g| !g.guard.overridable())
        .collect();
    if !protect.is_empty() {
        bail!(
            "refusing to apply: the plan would stop protected phones; nothing was applied \
             (--override-guards does not change this).\n  {}",
            list(&protect)
        );
    }
    if broken.is_empty() {
        return Ok(Vec::new());
    }
    if !settings.override_guards {
        bail!(
            "refusing to apply: the plan breaks {} guard{} of the spec's `safety`; nothing was applied. \
             Check the plan; if it is meant, apply again with --override-guards.\n  {}",
            broken.len(),
            if broken.len() == 1 { "" } else { "s" },
            list(&broken)
        );
    }
    eprintln!(
        "warning: --override-guards: applying a plan that breaks {} guard{}:\n  {}",
        broken.len(),
        if broken.len() == 1 { "" } else { "s" },
        list(&broken)
    );
    Ok(broken.into_iter().cloned().collect())
}

/// A signal came while the fleet was being read: nothing was sent, no plan was shown.
fn stopped_reading(cancel: &Cancel) -> ExitStatus {
    eprintln!("Stopped while reading the fleet: nothing was sent and nothing was changed.");
    cancel
        .signal()
        .map_or(ExitStatus::Interrupted, signals::Signal::status)
}

async fn confirm() -> anyhow::Result<bool> {
    eprint!("\nApply these changes? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await??;
    Ok(line.trim() == "yes")
}

/// Take the account locks of these providers for this apply (see [`crate::ops::lock`]).
fn lock(
    providers: &std::collections::BTreeMap<String, crate::spec::ProviderConfig>,
    settings: &ApplySettings,
) -> anyhow::Result<crate::ops::lock::Held> {
    crate::ops::lock::acquire(
        providers,
        settings.connect.simulate,
        settings.lock_timeout,
        &format!("apply {}", settings.file.display()),
    )
}

async fn from_saved(
    bytes: &[u8],
    settings: &ApplySettings,
    global: &GlobalSettings,
    cancel: &Cancel,
    deadline: std::time::Instant,
) -> anyhow::Result<ExitStatus> {
    let saved = PlanFile::parse(bytes)
        .with_context(|| format!("{} is not a usable plan file", settings.file.display()))?;
    if saved.simulated != settings.connect.simulate {
        if saved.simulated {
            bail!("this plan was made with --simulate; apply it with --simulate too");
        }
        bail!(
            "this plan was made against the real providers; it cannot be applied with --simulate"
        );
    }
    if !settings.connect.targets.is_empty() {
        bail!("--target cannot narrow a saved plan; make a new plan with --target instead");
    }
    // Everything that decides where calls go and what they do comes from the reviewed spec, checked
    // against the plan before any network call.
    let spec = crate::spec::load_file(std::path::Path::new(&saved.spec_path)).map_err(|d| {
        anyhow::anyhow!(
            "the plan was made from the spec {}, which cannot be loaded here; nothing was applied \
             (apply a plan from the directory it was made in):\n  {}",
            saved.spec_path,
            d.0.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    })?;
    let bound = verify::against_spec(&saved, &spec)?;
    let _lock = lock(&bound.providers, settings)?;
    crate::plan::Sensitive::of(&spec.spec.safety()).install(&bound.covered);
    let limits = session::limits_for(&bound.providers, overrides(settings));
    let simulate = settings.connect.simulate.then_some(false);
    let mut session = Session::open(
        &bound.providers,
        &bound.covered,
        &limits,
        simulate,
        global.verbose > 0,
        deadline,
    )
    .await?;
    let keys = session.plan_keys();
    // Age and seals, then the declarations: still before any call.
    let checked = crate::ops::saved::check_file(
        &saved,
        crate::plan::saved::now(),
        settings.max_plan_age.as_secs(),
        &keys,
    )
    .and_then(|()| verify::declared_as_planned(&saved, &bound, &keys));
    if let Err(e) = checked {
        session.close().await?;
        return Err(e);
    }
    session.show_progress(global.progress);
    eprintln!(
        "Spec {} is unchanged since the plan. Checking that the {} phones of the plan have not moved...",
        spec.path,
        bound.covered.len()
    );
    let observed = tokio::select! {
        observed = session.observe(&bound.covered) => observed,
        () = cancel.cancelled() => return Ok(stopped_reading(cancel)),
    };
    let stale = verify::stale_phones(&saved, &bound, &observed, &keys, &bound.policy);
    let plan_limits = session::limits_for(&bound.providers, Overrides::default());
    if !stale.is_empty() && verify::already_applied(&bound, &observed, &plan_limits) {
        session.close().await?;
        let n = bound.covered.len();
        eprintln!(
            "This plan was already applied: its {n} phone{} as it wants. Nothing was sent.",
            if n == 1 { " is" } else { "s are" }
        );
        return Ok(ExitStatus::Success);
    }
    if !stale.is_empty() {
        session.close().await?;
        bail!(
            "the plan is stale: {} phone{} changed since it was made; nothing was applied. Make a new plan.\n  {}",
            stale.len(),
            if stale.len() == 1 { "" } else { "s" },
            stale.join("\n  ")
        );
    }
    // Batches are compared at the sizes `plan` used (no command-line overrides), then split further
    // for `--max-batch`.
    let mut plan = match verify::rederive(&saved, &bound, &observed, &plan_limits) {
        Ok(p) => p,
        Err(e) => {
            session.close().await?;
            return Err(e);
        }
    };
    plan.sensitive.register_values(&bound.covered, &observed);
    if let Some(n) = settings.canary
        && plan.canary != Some(n)
    {
        // The same calls, with another canary split: the plan's phones and changes stay as reviewed.
        plan.canary = Some(n);
        plan.batches =
            crate::plan::batches_for(&plan.changes, &observed, &plan_limits, plan.canary);
    }
    if let Some(max) = settings.max_batch {
        plan.batches = split(plan.batches, max);
    }
    eprint!(
        "{}",
        render::text::plan(&plan, global.layout(true, settings.full))
    );
    let overridden = match guard_gate(&plan, settings) {
        Ok(o) => o,
        Err(e) => {
            session.close().await?;
            return Err(e);
        }
    };
    run(
        &plan, session, settings, global, cancel, deadline, overridden,
    )
    .await
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

async fn run(
    plan: &Plan,
    session: Session,
    settings: &ApplySettings,
    global: &GlobalSettings,
    cancel: &Cancel,
    deadline: std::time::Instant,
    overridden: Vec<GuardCheck>,
) -> anyhow::Result<ExitStatus> {
    cancel.start_applying();
    if cancel.is_cancelled() {
        // The signal came after the reads: still nothing sent.
        session.close().await?;
        return Ok(stopped_reading(cancel));
    }
    if !plan.batches.is_empty() {
        eprintln!(
            "Applying {} change{} in {} call{}...",
            total(plan),
            plural(total(plan)),
            plan.batches.len(),
            plural(plan.batches.len())
        );
        let canary: usize = plan
            .batches
            .iter()
            .filter(|b| b.canary)
            .map(|b| b.phones.len())
            .sum();
        if canary > 0 {
            eprintln!(
                "Canary first: {canary} change{}; the rest follow, per provider, once they all converged.",
                plural(canary)
            );
        }
    }
    let opts = Options {
        deadline,
        progress: global.progress && !plan.batches.is_empty(),
        cancel: cancel.clone(),
    };
    // With no batches this only turns blocked phones into report lines.
    let mut report: ApplyReport = apply::execute(plan, &session.clients, &opts).await;
    report.overridden_guards = overridden;
    session.close().await?;
    let text = if settings.json {
        let mut text = serde_json::to_string_pretty(&render::json::report(&report))?;
        text.push('\n');
        text
    } else {
        render::report::report(&report, global.layout(false, settings.full))
    };
    let status = match cancel.signal() {
        Some(signal) if report.interrupted => signal.status(),
        _ if report.succeeded() => ExitStatus::Success,
        _ => ExitStatus::Failure,
    };
    // The changes are made: the report must reach someone. When stdout cannot take it (a full disk, a
    // closed pipe), it goes to stderr, and the run fails.
    if let Err(e) = write_stdout(&text) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "error: cannot write the report to stdout ({e}); here it is on stderr:"
        );
        let _ = err.write_all(text.as_bytes());
        return Ok(ExitStatus::Failure);
    }
    Ok(status)
}

/// Write all of `text` to stdout and flush it, returning the error instead of panicking as `print!`
/// does.
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn total(plan: &Plan) -> usize {
    plan.batches.iter().map(|b| b.phones.len()).sum()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
