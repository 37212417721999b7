//! `phonefleet plan SPEC`: read the declared phones, compute the plan, render it, optionally save it.
//! Glue: settings -> [`crate::ops::plan`] -> render -> exit status.

use std::io::Write;

use anyhow::Context;

use crate::capability::Overrides;
use crate::cli::settings::{GlobalSettings, PlanSettings};
use crate::error::ExitStatus;
use crate::ops::plan::Count;
use crate::plan::Plan;
use crate::plan::saved::PlanKey;
use crate::render::wrap::Layout;
use crate::render::{self, OutputFormat};
use crate::spec::{self, LoadedSpec};

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
fn save(
    plan: &Plan,
    spec: &LoadedSpec,
    simulated: bool,
    keys: &std::collections::BTreeMap<String, PlanKey>,
    path: &std::path::Path,
    selection: &crate::select::Selection,
) -> anyhow::Result<()> {
    let now = crate::plan::saved::now();
    let file = crate::ops::saved::to_file(plan, spec, simulated, now, keys, selection)?;
    file.write(path, std::path::Path::new(&spec.path))
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

/// `plan`.
pub async fn plan(settings: &PlanSettings, global: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    if let Some(out) = &settings.out {
        crate::plan::saved::check_out_path(out, &settings.spec)?;
    }
    let deadline = tokio::time::Instant::now() + settings.timeout;
    let mut signals = crate::signals::Watcher::new();
    let (loaded, scope) =
        super::read::prepare(&settings.spec, &settings.connect, Overrides::default())?;
    // The base spec is checked like the head (reach, hidden characters) before any call.
    let base = match &settings.base {
        Some(path) => Some(
            spec::load_file_for(path, &spec::Use::of(settings.connect.simulate)).map_err(|d| {
                anyhow::anyhow!("the base spec {} cannot be loaded:\n{d}", path.display())
            })?,
        ),
        None => None,
    };
    let how = super::read::Read {
        every_account: true,
        count: if global.verbose > 0 {
            Count::Ids
        } else {
            Count::Total
        },
        asked: crate::ops::plan::Asked {
            canary: settings.canary,
            restart_pending: settings.restart_pending,
            restart: crate::ops::plan::restart_set(&loaded, &settings.restart)?,
            reset: crate::ops::plan::restart_set(&loaded, &settings.reset)?,
            restart_failed: false,
            at: Some(settings.at.unwrap_or_else(crate::ops::plan::wall_now)),
        },
        deadline,
    };
    // Ctrl-C or SIGTERM while reading: the reads are dropped at once; a plan only reads.
    let (fleet, mut planned) = match super::read::read(
        &loaded,
        &scope,
        &settings.connect,
        global,
        how,
        signals.next(),
    )
    .await?
    {
        Ok(read) => read,
        Err(signal) => {
            eprintln!(
                "\n{}: stopped while reading the fleet; no plan was made (a plan changes nothing).",
                signal.name()
            );
            return Ok(signal.status());
        }
    };
    if let Some(base) = &base {
        crate::ops::plan::split_by_base(&mut planned, &loaded, base, &scope);
    }
    let keys = fleet.plan_keys();
    fleet.close().await?;
    for w in &planned.warnings {
        eprintln!("warning: {w}");
    }
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
    let plan = &planned.plan;
    print(
        plan,
        &loaded.digest,
        settings.format,
        global.layout(false, settings.full),
        settings.show_sensitive,
    )?;
    for line in render::status::guards(plan) {
        eprintln!("{line}");
    }
    let protected = plan.breaks_protection();
    if let Some(out) = &settings.out {
        if protected {
            eprintln!(
                "error: no plan was saved to {}: apply would refuse it (see above)",
                out.display()
            );
        } else {
            save(
                plan,
                &loaded,
                settings.connect.simulate,
                &keys,
                out,
                &scope.selection,
            )?;
        }
    }
    if protected {
        return Ok(ExitStatus::Failure);
    }
    for line in render::status::unreadable_providers(plan) {
        eprintln!("{line}");
    }
    let unreadable = plan.summary.unreadable;
    if unreadable > 0 {
        eprintln!("{}", render::status::unreadable_phones(unreadable));
        return Ok(ExitStatus::Failure);
    }
    Ok(if settings.detailed_exitcode && plan.summary.has_drift() {
        ExitStatus::Drift
    } else {
        ExitStatus::Success
    })
}
