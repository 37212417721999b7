//! `phonefleet completions SHELL` and `phonefleet man`: generated from the clap definitions, so they
//! never drift from the real flags.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::ExitStatus;

/// Print the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "phonefleet", &mut out);
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// Print the man page (the subcommands are listed in it; each has `--help` with examples).
pub fn man() -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
