//! `phonefleet apply SPEC|PLANFILE`: from a spec, plan then ask (or `--auto-approve`); from a saved plan,
//! bind it to the spec it was made from and let [`crate::ops::saved::prepare`] check it against the
//! credentials and the fleet. Glue: settings -> ops -> render -> exit status.

use std::io::{BufRead, Write};

use crate::apply::{ApplyReport, Cancel, Options};
use crate::capability::Overrides;
use crate::cli::settings::{ApplySettings, GlobalSettings};
use crate::error::ExitStatus;
use crate::ops::apply::{Refusal, Saved, Source};
use crate::ops::fleet::Fleet;
use crate::ops::plan::Count;
use crate::ops::saved::Prepared;
use crate::plan::{GuardCheck, Plan};
use crate::render;
use crate::signals;

/// `apply`. Ctrl-C (SIGINT) and SIGTERM are caught from the start: before the first change they stop the
/// run with nothing changed; during the changes they stop new batches and wait for those in flight,
/// then the report is printed (exit 130 or 143). A second signal quits at once.
pub async fn apply(
    settings: &ApplySettings,
    global: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    // The whole run, reads included, ends by this.
    let deadline = tokio::time::Instant::now() + settings.timeout;
    // A directory is a spec; a file is a spec or a saved plan.
    let bytes = if settings.file.is_dir() {
        Vec::new()
    } else {
        let cap = crate::spec::load::MAX_SPEC_BYTES.max(crate::plan::saved::MAX_PLAN_BYTES);
        crate::fs::read_capped(&settings.file, cap)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", settings.file.display()))?
    };
    let cancel = Cancel::default();
    let watcher = watch_signals(cancel.clone());
    let source = crate::ops::apply::source(
        &settings.file,
        &bytes,
        settings.connect.simulate,
        settings.connect.selection.narrows(),
    );
    let result = match source {
        Ok(Source::Spec) => from_spec(settings, global, &cancel, deadline).await,
        Ok(Source::Saved(saved)) => from_saved(*saved, settings, global, &cancel, deadline).await,
        Err(refusal) => Err(refusal.into()),
    };
    watcher.abort();
    result
}

/// The first signal cancels (before the changes: nothing is sent; during them: no new batch); the
/// second quits at once.
fn watch_signals(cancel: Cancel) -> tokio::task::JoinHandle<()> {
    let mut signals = signals::Watcher::new();
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
}

fn overrides(settings: &ApplySettings) -> Overrides {
    Overrides {
        max_batch: settings.max_batch,
        parallelism: settings.parallelism,
    }
}

/// Take the account locks of these providers for this apply (see [`crate::ops::lock`]), waiting up to
/// `--lock-timeout` on the runtime's timer, so that signals and the bars stay live meanwhile.
async fn lock(
    providers: &std::collections::BTreeMap<String, crate::spec::ProviderConfig>,
    settings: &ApplySettings,
) -> anyhow::Result<crate::ops::lock::Held> {
    crate::ops::lock::acquire(
        &crate::ops::lock::dir(),
        providers,
        settings.connect.simulate,
        settings.lock_timeout,
        &format!("apply {}", settings.file.display()),
    )
    .await
}

async fn from_spec(
    settings: &ApplySettings,
    global: &GlobalSettings,
    cancel: &Cancel,
    deadline: tokio::time::Instant,
) -> anyhow::Result<ExitStatus> {
    if !settings.auto_approve && !global.interactive {
        return Err(Refusal::NoConfirmation.into());
    }
    let (loaded, scope) =
        super::read::prepare(&settings.file, &settings.connect, overrides(settings))?;
    let _lock = lock(&scope.providers, settings).await?;
    let how = super::read::Read {
        every_account: false,
        count: Count::No,
        asked: crate::ops::plan::Asked {
            canary: settings.canary,
            restart_pending: settings.restart_pending,
            at: Some(crate::ops::plan::wall_now()),
            restart: crate::ops::plan::restart_set(&loaded, &settings.restart)?,
            reset: crate::ops::plan::restart_set(&loaded, &settings.reset)?,
            restart_failed: false,
        },
        deadline,
    };
    // Reads are dropped mid-flight on a signal (the command's watcher cancels): nothing has been
    // sent yet.
    let stop = async {
        cancel.cancelled().await;
        cancel.signal().unwrap_or(crate::signals::Signal::Interrupt)
    };
    let read = super::read::read(&loaded, &scope, &settings.connect, global, how, stop).await?;
    let Ok((fleet, planned)) = read else {
        return Ok(stopped_reading(cancel));
    };
    for w in &planned.warnings {
        eprintln!("warning: {w}");
    }
    let plan = planned.plan;
    // The plan goes where the user reads it: stdout, unless stdout carries the JSON report.
    let shown = render::text::plan(&plan, global.layout(settings.json, settings.full));
    if settings.json || write_stdout(&shown).is_err() {
        // Nobody reads stdout (or it carries the JSON report): show the plan where the question is asked.
        eprint!("{shown}");
    }
    for line in render::status::unreadable_providers(&plan) {
        eprintln!("{line}");
    }
    let overridden = gate(&plan, settings)?;
    if !plan.batches.is_empty() && !settings.auto_approve {
        let answer = tokio::select! {
            a = confirm() => Some(a?),
            () = cancel.cancelled() => None,
        };
        if answer != Some(true) {
            fleet.close().await?;
            eprintln!("Apply cancelled; nothing was changed.");
            return Ok(match cancel.signal() {
                Some(signal) if answer.is_none() => signal.status(),
                _ => ExitStatus::Failure,
            });
        }
    }
    run(
        &plan,
        fleet,
        settings,
        global,
        cancel,
        deadline,
        overridden,
        Vec::new(),
        &|_| {},
    )
    .await
}

/// The guard gate, with the warning for what `--override-guards` let pass.
fn gate(plan: &Plan, settings: &ApplySettings) -> anyhow::Result<Vec<GuardCheck>> {
    let overridden =
        crate::ops::gate::gate(plan, settings.override_guards).map_err(|r| Refusal::Guard(r.0))?;
    if !overridden.is_empty() {
        eprintln!("{}", render::status::overridden(&overridden));
    }
    Ok(overridden)
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

async fn from_saved(
    saved: Saved,
    settings: &ApplySettings,
    global: &GlobalSettings,
    cancel: &Cancel,
    deadline: tokio::time::Instant,
) -> anyhow::Result<ExitStatus> {
    let Saved {
        file: saved,
        spec,
        bound,
    } = saved;
    let _lock = lock(&bound.providers, settings).await?;
    let limits = crate::capability::limits_for(&bound.providers, overrides(settings));
    // A saved simulated plan runs against the saved simulated fleet, never a reset one.
    let reach = if settings.connect.simulate {
        crate::ops::fleet::Reach::Simulate { reset: false }
    } else {
        crate::ops::fleet::Reach::Spec
    };
    let fleet = Fleet::open(
        &bound.providers,
        &bound.covered,
        &limits,
        reach,
        global.verbose > 0,
        deadline,
    )
    .await?;
    eprintln!(
        "Spec {} still has the plan's providers, guard rails and {} phones. Checking how they are declared, and that they have not moved...",
        spec.path,
        bound.covered.len()
    );
    if !saved.selectors.is_empty() {
        eprintln!(
            "The plan was made with {}: it changes only those phones of the spec.",
            crate::redact::controls(&saved.selectors.join(" "))
        );
    }
    // Phones an earlier apply of this file reset are not reset again.
    let receipt = crate::ops::saved::receipt_path(&settings.file);
    let keys = fleet.plan_keys();
    let opts = crate::ops::saved::Options {
        deadline,
        now: crate::plan::saved::now(),
        max_age: settings.max_plan_age.as_secs(),
        canary: settings.canary,
        max_batch: settings.max_batch,
        already_reset: crate::ops::saved::read_receipt(&receipt, &saved, &keys),
    };
    let bars = render::progress::ReadBars::new(global.progress);
    let prepared = tokio::select! {
        p = crate::ops::saved::prepare(&saved, &bound, &fleet, opts, &bars) => p?,
        () = cancel.cancelled() => return Ok(stopped_reading(cancel)),
    };
    let plan = match prepared {
        Prepared::AlreadyApplied { phones } => {
            fleet.close().await?;
            eprintln!(
                "This plan was already applied: its {phones} phone{} as it wants. Nothing was sent.",
                if phones == 1 { " is" } else { "s are" }
            );
            return Ok(ExitStatus::Success);
        }
        Prepared::Ready(plan, done) => (plan, done),
    };
    let (plan, done) = plan;
    if !done.is_empty() {
        eprintln!(
            "{} phone{} of the plan {} already as it wants (applied since it was made): nothing is sent \
             to {}.",
            done.len(),
            if done.len() == 1 { "" } else { "s" },
            if done.len() == 1 { "is" } else { "are" },
            if done.len() == 1 { "it" } else { "them" }
        );
    }
    // The plan goes where `apply SPEC` shows it: stdout, unless stdout carries the JSON report.
    let shown = render::text::plan(&plan, global.layout(settings.json, settings.full));
    if settings.json || write_stdout(&shown).is_err() {
        eprint!("{shown}");
    }
    let overridden = gate(&plan, settings)?;
    // The resets this apply makes are recorded beside the file: applied again, it does not reset
    // them twice, where no device identity would tell (KooPhone).
    let record = |report: &ApplyReport| {
        let made = crate::ops::saved::resets_made(report);
        if let Err(e) = crate::ops::saved::write_receipt(&receipt, &saved, &keys, made) {
            eprintln!(
                "warning: cannot record this apply's resets in {} ({e}): applying this plan file again \
                 may reset a KooPhone instance twice",
                receipt.display()
            );
        }
    };
    run(
        &plan, fleet, settings, global, cancel, deadline, overridden, done, &record,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn run(
    plan: &Plan,
    fleet: Fleet,
    settings: &ApplySettings,
    global: &GlobalSettings,
    cancel: &Cancel,
    deadline: tokio::time::Instant,
    overridden: Vec<GuardCheck>,
    already_done: Vec<crate::apply::Done>,
    record: &dyn Fn(&ApplyReport),
) -> anyhow::Result<ExitStatus> {
    cancel.start_applying();
    if cancel.is_cancelled() {
        // The signal came after the reads: still nothing sent.
        fleet.close().await?;
        return Ok(stopped_reading(cancel));
    }
    if !plan.batches.is_empty() {
        let changes: usize = plan.batches.iter().map(|b| b.phones.len()).sum();
        let phones: std::collections::BTreeSet<(&str, &str)> = plan
            .batches
            .iter()
            .flat_map(|b| b.ids().map(move |id| (b.provider.as_str(), id)))
            .collect();
        eprintln!(
            "Applying {} to {} in {}...",
            render::counted(changes, "change", "changes"),
            render::counted(phones.len(), "phone", "phones"),
            render::counted(plan.batches.len(), "call", "calls"),
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
        progress: std::sync::Arc::new(render::progress::ApplyBar::new(
            global.progress && !plan.batches.is_empty(),
        )),
        cancel: cancel.clone(),
    };
    // With no batches this only turns blocked phones into report lines.
    let mut report: ApplyReport = fleet
        .run(crate::apply::execute(plan, &fleet.clients, &opts))
        .await;
    report.overridden_guards = overridden;
    report.already_done = already_done;
    record(&report);
    fleet.close().await?;
    let text = if settings.json {
        let mut text = serde_json::to_string_pretty(&render::json::report(&report))?;
        text.push('\n');
        text
    } else {
        render::report::report(&report, global.layout(false, settings.full))
    };
    let status = match cancel.signal() {
        Some(signal) if report.interrupted => signal.status(),
        // `--detailed-exitcode`: 2 when something was changed and everything succeeded.
        _ if report.succeeded() && settings.detailed_exitcode && report.counts().ok > 0 => {
            ExitStatus::Drift
        }
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
