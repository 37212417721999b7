//! `phonefleet status SPEC`: the selected phones as they are now, beside what the spec declares.
//! Glue: settings -> [`crate::ops::plan`] (the same batched reads) -> [`crate::ops::status`] -> render.

use std::io::Write;

use crate::capability::Overrides;
use crate::cli::settings::{GlobalSettings, StatusSettings};
use crate::error::ExitStatus;
use crate::ops::plan::{Count, Scope};
use crate::render;
use crate::spec;

/// `status`.
pub async fn status(
    settings: &StatusSettings,
    global: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let deadline = tokio::time::Instant::now() + settings.timeout;
    let mut signals = crate::signals::Watcher::new();
    let loaded = spec::load_file_for(&settings.spec, &spec::Use::of(settings.connect.simulate))?;
    let scope = Scope::of(&loaded, &settings.connect.selection, Overrides::default())?;
    let fleet = super::plan::open_fleet(&scope, &settings.connect, global, deadline, false).await?;
    let bars = render::progress::ReadBars::new(global.progress);
    let made = crate::ops::plan::plan(&loaded, &scope, &fleet, Count::No, None, &bars);
    let planned = tokio::select! {
        planned = made => planned,
        signal = signals.next() => {
            eprintln!("\n{}: stopped while reading the fleet.", signal.name());
            return Ok(signal.status());
        }
    };
    fleet.close().await?;
    let (rows, tallies) = crate::ops::status::rows(&scope, &planned);
    let warnings: Vec<String> = planned.warnings.iter().map(ToString::to_string).collect();
    let text = if settings.json {
        render::live::json(&rows, &tallies, warnings)
    } else {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        render::live::text(&rows, &tallies, global.layout(false, false).color)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let unreadable = planned.plan.summary.unreadable;
    if unreadable > 0 {
        eprintln!(
            "error: {} could not be read (see above)",
            render::counted(unreadable, "phone", "phones")
        );
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}
