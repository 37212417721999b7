//! `phonefleet show PLANFILE`: render a saved plan.

use crate::cli::settings::{GlobalSettings, ShowSettings};
use crate::error::ExitStatus;
use crate::plan::saved::SavedPlan;

/// Read the plan file (its digest checked) and print it.
pub fn show(settings: &ShowSettings, global: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let saved = SavedPlan::read(&settings.plan)?;
    super::plan::print(
        &saved.plan,
        &saved.spec_digest,
        settings.format,
        global.layout(false, settings.full),
        false,
    )?;
    Ok(ExitStatus::Success)
}
