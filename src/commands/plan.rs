//! `phonefleet plan SPEC`: read the declared phones, compute the plan, render it, optionally save it.

use std::io::Write;

use anyhow::Context;

use crate::cli::settings::{GlobalSettings, PlanSettings};
use crate::error::ExitStatus;
use crate::plan::{self, Plan, PlanInput};
use crate::render::wrap::Layout;
use crate::render::{self, OutputFormat};
use crate::session::{self, Overrides, Session};
use crate::spec::{self, LoadedSpec};

/// A spec, its plan, and whether it was made against the simulator.
#[derive(Debug)]
pub struct Planned {
    /// The spec.
    pub spec: LoadedSpec,
    /// The plan.
    pub plan: Plan,
}

/// Load the spec, read the fleet and compute the plan. The session stays open for apply. With
/// `census` (and no `--target`), each provider's phones that the spec does not declare are counted.
pub async fn make(
    loaded: LoadedSpec,
    connect: &crate::cli::settings::ConnectSettings,
    overrides: Overrides,
    census: bool,
    canary: Option<usize>,
    global: &GlobalSettings,
    deadline: std::time::Instant,
) -> anyhow::Result<(Planned, Session)> {
    let declared = loaded.spec.desired_phones();
    let all = declared.len();
    let desired = session::select(declared, &connect.targets)?;
    if !connect.targets.is_empty() {
        eprintln!(
            "warning: --target is in effect: this plan covers {} of the spec's {all} phones; the others \
             are neither read nor changed, and phones the spec does not manage are not counted.",
            desired.len()
        );
    }
    let limits = session::limits_for(&loaded.spec.providers, overrides);
    let simulate = connect.simulate.then_some(connect.simulate_reset);
    let providers: std::collections::BTreeSet<&str> =
        desired.iter().map(|d| d.provider.as_str()).collect();
    eprintln!(
        "Reading {} phone{} from {} provider{}{}...",
        desired.len(),
        if desired.len() == 1 { "" } else { "s" },
        providers.len(),
        if providers.len() == 1 { "" } else { "s" },
        if connect.simulate { " (simulated)" } else { "" }
    );
    // Masked before the first call: the spec's sensitive values, and live ones as they are read.
    crate::plan::Sensitive::of(&loaded.spec.safety()).install(&desired);
    let mut session = Session::open(
        &session::in_scope(&loaded.spec.providers, &desired),
        &desired,
        &limits,
        simulate,
        global.verbose > 0,
        deadline,
    )
    .await?;
    session.show_progress(global.progress);
    let wants_census = census && connect.targets.is_empty();
    let (mut observed, counted) = tokio::join!(session.observe(&desired), async {
        if wants_census {
            Some(session.census(global.verbose > 0).await)
        } else {
            None
        }
    });
    if let Some(counted) = counted {
        for (name, c) in &counted {
            if let session::Census::Unknown(reason) = c {
                eprintln!(
                    "warning: could not count the phones of provider `{name}` that the spec does not \
                     manage (the plan is complete without it): {reason}"
                );
            }
        }
        observed.unmanaged = session::unmanaged(counted, &desired, &observed);
    }
    let plan = plan::compute(&PlanInput {
        providers: &loaded.spec.providers,
        desired: &desired,
        observed: &observed,
        limits: &limits,
        policy: &plan::Policy::of(&loaded.spec, canary),
    });
    plan.sensitive.register_values(&desired, &observed);
    Ok((Planned { spec: loaded, plan }, session))
}

/// Write a plan to stdout in a format; `reveal` shows sensitive values in text only.
pub fn print(
    plan: &Plan,
    spec_digest: &str,
    format: OutputFormat,
    layout: Layout,
    reveal: bool,
) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Text => render::text::plan_with(plan, layout, reveal),
        OutputFormat::Markdown => render::markdown::plan(plan),
        OutputFormat::Json => render::json::plan(plan, spec_digest),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Save a plan file, keyed and sealed with each provider's key.
pub fn save(
    planned: &Planned,
    simulated: bool,
    keys: &std::collections::BTreeMap<String, crate::plan::saved::PlanKey>,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let file = crate::ops::saved::to_file(
        &planned.plan,
        &planned.spec,
        simulated,
        crate::plan::saved::now(),
        keys,
    )?;
    file.write(path, std::path::Path::new(&planned.spec.path))
        .with_context(|| format!("cannot save the plan to {}", path.display()))?;
    eprintln!(
        "Saved the plan to {}; apply it with `phonefleet apply {}{}` within {} (--max-plan-age).",
        path.display(),
        path.display(),
        if simulated { " --simulate" } else { "" },
        crate::ops::saved::duration(86_400)
    );
    Ok(())
}

/// On stderr: each broken guard, and what apply will do about it. Returns whether a protected phone
/// would be stopped (the plan is refused; nothing overrides it).
pub fn report_guards(plan: &Plan) -> bool {
    for g in crate::plan::guard::broken(&plan.guards) {
        if g.guard.overridable() {
            eprintln!(
                "warning: the plan breaks a guard: {}; apply will refuse it unless --override-guards is given",
                g.describe()
            );
        } else {
            eprintln!("error: {}", g.describe());
        }
    }
    plan.breaks_protection()
}

/// On stderr: each provider that could not be read at all, with advice.
pub fn report_unreadable(plan: &Plan) {
    for (name, f) in &plan.summary.failed_providers {
        eprintln!(
            "error: provider `{name}` could not be read, so none of its phones: {}",
            f.reason
        );
        if let Some(h) = &f.hint {
            eprintln!("  hint: {h}");
        }
    }
}

/// `plan`.
pub async fn plan(settings: &PlanSettings, global: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    if let Some(out) = &settings.out {
        crate::plan::saved::check_out_path(out, &settings.spec)?;
    }
    let deadline = std::time::Instant::now() + settings.timeout;
    let mut signals = crate::signals::Watcher::new();
    let made = make(
        spec::load_file(&settings.spec)?,
        &settings.connect,
        Overrides::default(),
        true,
        settings.canary,
        global,
        deadline,
    );
    // Ctrl-C or SIGTERM while reading: the reads are dropped at once; a plan only reads.
    let (planned, session) = tokio::select! {
        made = made => made?,
        signal = signals.next() => {
            eprintln!(
                "\n{}: stopped while reading the fleet; no plan was made (a plan changes nothing).",
                signal.name()
            );
            return Ok(signal.status());
        }
    };
    let keys = session.plan_keys();
    session.close().await?;
    if settings.show_sensitive && settings.format != OutputFormat::Text {
        eprintln!(
            "warning: --show-sensitive shows values in text output only; this {} output keeps them masked",
            if settings.format == OutputFormat::Json {
                "JSON"
            } else {
                "markdown"
            }
        );
    }
    print(
        &planned.plan,
        &planned.spec.digest,
        settings.format,
        global.layout(false, settings.full),
        settings.show_sensitive,
    )?;
    let protected = report_guards(&planned.plan);
    if let Some(out) = &settings.out {
        if protected {
            eprintln!(
                "error: no plan was saved to {}: apply would refuse it (see above)",
                out.display()
            );
        } else {
            save(&planned, settings.connect.simulate, &keys, out)?;
        }
    }
    if protected {
        return Ok(ExitStatus::Failure);
    }
    let unreadable = planned.plan.summary.unreadable;
    report_unreadable(&planned.plan);
    if unreadable > 0 {
        eprintln!(
            "error: {unreadable} phone{} could not be read; {} shown above as blocked (\"could not read\"), \
             and the plan is incomplete for {}. Plan again once the provider answers",
            if unreadable == 1 { "" } else { "s" },
            if unreadable == 1 { "it is" } else { "they are" },
            if unreadable == 1 { "it" } else { "them" },
        );
        return Ok(ExitStatus::Failure);
    }
    Ok(
        if settings.detailed_exitcode && planned.plan.summary.has_drift() {
            ExitStatus::Drift
        } else {
            ExitStatus::Success
        },
    )
}
