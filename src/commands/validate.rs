//! `phonefleet validate FILE...`: every problem in every file, at once.

use std::path::PathBuf;

use crate::error::ExitStatus;
use crate::spec;

/// Check each file; print each problem on stderr and a one-line verdict per valid file.
pub fn validate(files: &[PathBuf]) -> ExitStatus {
    let mut problems = 0;
    for file in files {
        match spec::load_file(file) {
            Ok(loaded) => {
                let phones = loaded.spec.desired_phones().len();
                eprintln!(
                    "{}: valid ({} provider{}, {phones} phone{})",
                    file.display(),
                    loaded.spec.providers.len(),
                    plural(loaded.spec.providers.len()),
                    plural(phones)
                );
            }
            Err(diags) => {
                for d in &diags.0 {
                    eprintln!("error: {d}");
                }
                problems += diags.0.len();
            }
        }
    }
    if problems == 0 {
        ExitStatus::Success
    } else {
        eprintln!("error: {problems} problem{} found", plural(problems));
        ExitStatus::Failure
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
