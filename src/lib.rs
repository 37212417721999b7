//! phonefleet keeps fleets of cloud phones (Huawei Cloud CPH, GeeLark, KooPhone) in the state their owners
//! declared in a YAML spec.
//!
//! Architecture, one line per module (ARCHITECTURE.md tells how a plan and an apply flow through them):
//! - [`cli`]: clap syntax, and `settings`: raw args + environment -> resolved settings, once.
//! - [`commands`]: one function per subcommand; glue (settings -> ops -> render -> exit status).
//! - [`ops`]: the operations the commands compose: the fleet handle, planning, the guard gate, plan
//!   files, account locks. They return values and never print.
//! - [`spec`]: the fleet spec format (serde + schemars types), loading with line-accurate diagnostics,
//!   semantic validation, what a spec may reach.
//! - [`select`]: which phones a run covers (`--target`), the providers they need, the glob matcher.
//! - [`capability`]: the provider capability table (what each kind can read/change, batch and rate limits)
//!   and the limits in force.
//! - [`provider`]: real HTTP clients for the three providers behind one `Client`; shared HTTP layer with
//!   retries, rate windows and typed errors; AK/SK signing.
//! - [`state`]: the observed fleet, and normalisation of raw status codes.
//! - [`census`]: the phones an account holds that the spec does not declare.
//! - [`plan`]: pure `compute(desired, observed) -> Plan`; batches; guards; plan files and their checks.
//! - [`apply`]: the executor: runs a plan's batches, waits for jobs and convergence, returns outcomes.
//! - [`redact`]: provider text made safe to show: secrets masked, control characters escaped.
//! - [`render`]: text, JSON and markdown output, status lines and progress bars, apart from computing.
//! - [`export`]: an existing account's phones written as a spec.
//! - [`fs`]: capped reads of regular files only; atomic writes that never follow a link.
//! - [`signals`]: SIGINT and SIGTERM, and the exit status of a run they stop.
//! - [`simulator`]: the local fake cloud of all three providers (`phonefleet simulate`), and the
//!   `--simulate` sandbox.
//! - [`error`]: exit codes, hints, printing the final error.

pub mod apply;
pub mod attribute;
pub mod capability;
pub mod census;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod error;
pub mod export;
pub mod fs;
pub mod ops;
pub mod plan;
pub mod pool;
pub mod provider;
pub mod redact;
pub mod render;
pub mod schedule;
pub mod select;
pub mod signals;
pub mod simulator;
pub mod spec;
pub mod state;
pub mod watch;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use error::ExitStatus;

/// Parse the command line, run the command, and turn the result into an exit code.
pub fn main() -> ExitCode {
    // Usage errors exit 1 (clap's own default is 2, which `plan --detailed-exitcode` reserves for
    // drift: a typo in a CI workflow must fail it, not read as "changes pending").
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `--help` and `--version` succeed; a bare `phonefleet` (help for a missing subcommand)
            // and every real usage error fail.
            let shown = matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            return if shown {
                ExitStatus::Success.into()
            } else {
                ExitStatus::Failure.into()
            };
        }
    };
    let global = cli.global_settings();
    render::log::init(global.verbose);
    let result = run(cli, global);
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            // A closed stdout (`phonefleet plan | head`) is not an error worth a message.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitStatus::Success.into();
            }
            error::report(&err);
            ExitStatus::Failure.into()
        }
    }
}

fn run(cli: Cli, global: cli::settings::GlobalSettings) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Validate {
            files,
            format,
            json,
        } => commands::validate::validate(files, *format, *json),
        Command::Schema => commands::schema::schema(),
        Command::Show(args) => commands::show::show(&args.into(), &global),
        Command::Completions { shell } => commands::completions::completions(*shell),
        Command::Man => commands::completions::man(),
        command => {
            // The simulator serves many clients at once on two threads; the other commands are
            // HTTP-bound clients, for which one thread does the same work without the hand-offs
            // between workers (a tenth of a 100,000-phone plan's CPU went to switching threads).
            let runtime = if matches!(command, Command::Simulate(_)) {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?
            } else {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
            };
            let result = runtime.block_on(async {
                match command {
                    Command::Plan(args) => commands::plan::plan(&args.into(), &global).await,
                    Command::Apply(args) => commands::apply::apply(&args.into(), &global).await,
                    Command::Simulate(args) => commands::simulate::simulate(args).await,
                    Command::Export(args) => commands::export::export(&args.into(), &global).await,
                    Command::Status(args) => commands::status::status(&args.into(), &global).await,
                    Command::Watch(args) => commands::watch::watch(&args.into(), &global).await,
                    Command::Validate { .. }
                    | Command::Schema
                    | Command::Show(_)
                    | Command::Completions { .. }
                    | Command::Man => {
                        unreachable!("handled above")
                    }
                }
            });
            runtime.shutdown_background();
            result
        }
    }
}
