//! `phonefleet status SPEC`: the selected phones as they are now, beside what the spec declares.
//! Glue: settings -> [`crate::ops::plan`] (the same batched reads) -> [`crate::ops::status`] -> render.

use std::io::Write;

use crate::capability::Overrides;
use crate::cli::settings::{GlobalSettings, StatusSettings};
use crate::error::ExitStatus;
use crate::ops::plan::Count;
use crate::render;

/// `status`.
pub async fn status(
    settings: &StatusSettings,
    global: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let deadline = tokio::time::Instant::now() + settings.timeout;
    let mut signals = crate::signals::Watcher::new();
    let (loaded, scope) =
        super::read::prepare(&settings.spec, &settings.connect, Overrides::default())?;
    let how = super::read::Read {
        every_account: false,
        count: Count::No,
        asked: Default::default(),
        deadline,
    };
    let read = super::read::read(
        &loaded,
        &scope,
        &settings.connect,
        global,
        how,
        signals.next(),
    )
    .await?;
    let (fleet, planned) = match read {
        Ok(read) => read,
        Err(signal) => {
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
