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

/// Print the man page: one page, with a section per subcommand (its synopsis, description and options),
/// so that it names no other page.
pub fn man() -> anyhow::Result<ExitStatus> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let page = clap_mangen::Man::new(cmd.clone());
    let mut text: Vec<u8> = Vec::new();
    page.render_title(&mut text)?;
    page.render_name_section(&mut text)?;
    page.render_synopsis_section(&mut text)?;
    page.render_description_section(&mut text)?;
    page.render_options_section(&mut text)?;
    for sub in cmd.get_subcommands() {
        let name = format!("phonefleet {}", sub.get_name());
        let sub_page = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
        let mut part: Vec<u8> = Vec::new();
        sub_page.render_synopsis_section(&mut part)?;
        sub_page.render_description_section(&mut part)?;
        sub_page.render_options_section(&mut part)?;
        if sub.get_after_help().is_some() || sub.get_after_long_help().is_some() {
            sub_page.render_extra_section(&mut part)?;
        }
        let part = String::from_utf8_lossy(&part)
            .replace(".SH SYNOPSIS\n", "")
            .replace(".SH DESCRIPTION\n", ".PP\n")
            .replace(".SH OPTIONS\n", ".SS Options\n")
            .replace(".SH EXTRA\n", ".SS Examples\n");
        text.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        text.extend_from_slice(part.as_bytes());
    }
    if cmd.get_after_help().is_some() || cmd.get_after_long_help().is_some() {
        let mut extra: Vec<u8> = Vec::new();
        page.render_extra_section(&mut extra)?;
        text.extend_from_slice(
            String::from_utf8_lossy(&extra)
                .replace(".SH EXTRA\n", ".SH EXAMPLES\n")
                .as_bytes(),
        );
    }
    page.render_version_section(&mut text)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&text)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
