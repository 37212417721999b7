//! `phonefleet schema`: the JSON Schema generated from the spec types.

use std::io::Write;

use crate::error::ExitStatus;

/// Print the schema to stdout.
pub fn schema() -> anyhow::Result<ExitStatus> {
    std::io::stdout().write_all(crate::spec::json_schema_text().as_bytes())?;
    Ok(ExitStatus::Success)
}
