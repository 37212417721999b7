//! `phonefleet validate FILE...`: every problem in every file, at once: for a person (stderr), as GitHub
//! annotations (`--format github`), or as JSON (`--json`).

use std::io::Write;
use std::path::PathBuf;

use crate::cli::ValidateFormat;
use crate::error::ExitStatus;
use crate::render::diagnostics::{self, Checked};
use crate::spec;

/// Check each file and report every problem in the format asked for.
pub fn validate(
    files: &[PathBuf],
    format: ValidateFormat,
    json: bool,
) -> anyhow::Result<ExitStatus> {
    let checked: Vec<Checked> = files
        .iter()
        .map(|file| {
            let shown = file.display().to_string();
            match spec::load_file(file) {
                Ok(loaded) => Checked::Valid {
                    file: shown,
                    providers: loaded.spec.providers.len(),
                    phones: loaded.spec.declared_count(),
                },
                Err(diags) => Checked::Invalid {
                    file: shown,
                    problems: diags.0,
                },
            }
        })
        .collect();
    let problems: usize = checked.iter().map(Checked::problems).sum();
    let mut out = std::io::stdout().lock();
    if json {
        out.write_all(diagnostics::json(&checked).as_bytes())?;
    } else if format == ValidateFormat::Github {
        out.write_all(diagnostics::github(&checked).as_bytes())?;
    }
    out.flush()?;
    if !json {
        eprint!(
            "{}",
            diagnostics::text(&checked, format == ValidateFormat::Text)
        );
    }
    Ok(if problems == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
