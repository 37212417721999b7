//! `phonefleet show PLANFILE`: render a saved plan.

use crate::cli::settings::{GlobalSettings, ShowSettings};
use crate::error::ExitStatus;
use crate::plan::saved::PlanFile;

/// Read the plan file (its digest checked) and print it.
pub fn show(settings: &ShowSettings, global: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let saved = PlanFile::read(&settings.plan)?;
    eprintln!(
        "Plan made {} UTC from {} ({} phone{} to change); sensitive values are never in a plan file.",
        crate::render::time::utc(saved.created_at),
        saved.spec_path,
        saved.phones.len(),
        if saved.phones.len() == 1 { "" } else { "s" }
    );
    if !saved.selectors.is_empty() {
        eprintln!(
            "Selected with {}: the plan covers only those phones of the spec.",
            crate::redact::controls(&saved.selectors.join(" "))
        );
    }
    super::plan::print(
        &crate::ops::saved::to_display(&saved),
        &saved.spec_digest,
        settings.format,
        global.layout(false, settings.full),
        false,
    )?;
    Ok(ExitStatus::Success)
}
