//! Command-line syntax (clap derive) and nothing else: no module outside `cli` imports clap.
//! [`settings`] turns these raw arguments into resolved settings once.

pub mod settings;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keep fleets of cloud phones in the state declared in a YAML spec.
///
/// Huawei Cloud CPH, GeeLark and KooPhone; validate offline, plan, apply, or try it all against a local
/// simulated cloud.
#[derive(Debug, Parser)]
#[command(
    name = "phonefleet",
    version,
    about,
    after_help = "\
Examples:
  phonefleet validate fleet.yaml               # check a spec offline
  phonefleet plan fleet.yaml                   # show what would change
  phonefleet plan fleet.yaml --out plan.json   # save the plan for review
  phonefleet apply plan.json                   # apply the reviewed plan
  phonefleet export --provider gl fleet.yaml   # adopt an existing account
  # try it with no account:
  phonefleet apply --simulate examples/quickstart.yaml --auto-approve

Exit codes: 0 success, 1 error, 2 drift (plan --detailed-exitcode),
130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Log one line per API call to stderr (method, route, ids, status, duration); secrets redacted.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Never use colors (also: NO_COLOR=1).
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check spec files offline: YAML, schema and semantic checks, every problem at once.
    #[command(after_help = "Example:\n  phonefleet validate fleet.yaml examples/*.yaml")]
    Validate {
        /// Spec files (or spec directories) to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How problems are written: `text` (stderr, for a person) or `github` (`::error` workflow
        /// commands on stdout, shown as annotations on the pull request's files).
        #[arg(long, value_enum, default_value = "text", conflicts_with = "json")]
        format: ValidateFormat,
        /// Every problem as JSON on stdout (format_version 1).
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the fleet spec.
    #[command(after_help = "Example:\n  phonefleet schema > schemas/fleet.schema.json")]
    Schema,
    /// Read the live state of every declared phone and show what apply would change.
    #[command(after_help = "\
Examples:
  phonefleet plan fleet.yaml
  phonefleet plan fleet.yaml --markdown --out plan.json > comment.md
  phonefleet plan fleet.yaml --detailed-exitcode   # 2: the fleet drifted
  phonefleet plan fleet.yaml --canary 5 --out plan.json")]
    Plan(PlanArgs),
    /// Render a saved plan file as text, JSON or markdown.
    #[command(after_help = "Example:\n  phonefleet show plan.json --markdown")]
    Show(ShowArgs),
    /// Make the changes: from a spec (plans first and asks) or from a saved plan file (no question).
    #[command(after_help = "\
Examples:
  phonefleet apply fleet.yaml     # plan, ask, apply
  # apply a reviewed plan (refused if the spec or the fleet moved since):
  phonefleet apply plan.json
  phonefleet apply fleet.yaml --auto-approve --json
  phonefleet apply plan.json --canary 5   # 5 phones per action first")]
    Apply(ApplyArgs),
    /// Show the selected phones as they are now: live power state and route beside the declared state,
    /// in sync or what differs (the same batched reads as plan; nothing is changed).
    #[command(after_help = "\
Examples:
  phonefleet status fleet.yaml
  phonefleet status fleet/ --target team=growth
  phonefleet status fleet.yaml --target store12-a --json")]
    Status(StatusArgs),
    /// Keep the fleet as declared: every interval, read and plan; heal what the spec's `watch.heal`
    /// allows (through the guards); report the rest (log, webhooks, /metrics) until SIGINT/SIGTERM.
    #[command(after_help = "\
Examples:
  phonefleet watch fleet/
  phonefleet watch fleet.yaml --interval 120 --listen 0.0.0.0:9464 --log-format json
  phonefleet watch fleet/ --target team=growth")]
    Watch(WatchArgs),
    /// Write the phones provider accounts already hold as one fleet spec (adopt an existing fleet).
    #[command(after_help = "\
Examples:
  phonefleet export fleet.yaml > adopted.yaml   # every provider of fleet.yaml
  phonefleet export --provider cph-sh fleet.yaml > adopted.yaml
  # a short file for a big fleet:
  phonefleet export --provider gl fleet.yaml --group-by state")]
    Export(ExportArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = "\
Examples:
  phonefleet completions bash > /etc/bash_completion.d/phonefleet
  phonefleet completions zsh > \"${fpath[1]}/_phonefleet\"
  phonefleet completions fish > ~/.config/fish/completions/phonefleet.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(after_help = "Example:\n  phonefleet man > /usr/local/share/man/man1/phonefleet.1")]
    Man,
    /// Run the local simulated cloud (all three providers on one port) until Ctrl-C.
    #[command(after_help = "\
Example:
  phonefleet simulate --listen 127.0.0.1:8080 --fixture phones.yaml")]
    Simulate(SimulateArgs),
}

/// Output format flags shared by plan, show and apply.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Machine-readable JSON on stdout (format_version 1, documented in the README).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Markdown for a pull-request comment.
    #[arg(long)]
    pub markdown: bool,
    /// Text: list every phone id instead of the first lines of each list (so does -v).
    #[arg(long)]
    pub full: bool,
}

/// Flags shared by commands that talk to providers.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Limit to the phones a selector selects (repeatable; targets unite): a phone id, provider or
    /// phone name, a glob over names and ids (`growth-0*`), a label (`team=growth`, `tier!=a`) or a
    /// spec file of a directory (`team-b.yaml`).
    #[arg(long = "target", value_name = "SELECTOR")]
    pub targets: Vec<String>,
    /// Leave out the phones a selector selects (repeatable; same syntax as --target).
    #[arg(long = "exclude", value_name = "SELECTOR")]
    pub excludes: Vec<String>,
    /// Point every provider at a local simulated cloud seeded from the spec (kept in .phonefleet/).
    #[arg(long)]
    pub simulate: bool,
    /// With --simulate: forget the simulated fleet and seed it anew.
    #[arg(long, requires = "simulate")]
    pub simulate_reset: bool,
}

/// `plan` arguments.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The fleet spec.
    pub spec: PathBuf,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Also save the plan (JSON) to this file, for `apply FILE` and `show FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing differs, 2 when the fleet differs from the spec, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Text output: show the values of sensitive properties (for a person at a terminal; markdown and
    /// JSON never show them).
    #[arg(long)]
    pub show_sensitive: bool,
    /// The spec at the pull request's base (a file or directory, e.g. from `git worktree`): changes
    /// are split into this pull request's own and drift the base spec would also fix. Made from the
    /// same reads; nothing more is read.
    #[arg(long, value_name = "SPEC")]
    pub base: Option<PathBuf>,
    /// Plan a canary: for each provider and action, the first N phones go first, alone (see apply).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub canary: Option<u32>,
    /// Restart the running phones whose properties wait for a restart an earlier apply did not make
    /// (`restart pending`), and clear their mark (huawei-cph; protected phones are never restarted).
    #[arg(long)]
    pub restart_pending: bool,
    /// Restart the selected running phones once (the selector grammar of --target; repeatable):
    /// huawei-cph batch-restart, koophone reboot. Saved in a plan file and derived again on apply.
    #[arg(long = "restart", value_name = "SELECTOR")]
    pub restart: Vec<String>,
    /// Reset the selected phones once, clearing their data and apps (the selector grammar of
    /// --target; repeatable): huawei-cph and koophone batch-reset, geelark phone/newOne. Within
    /// `safety.max_resets`; never a protected phone. Saved in a plan file and derived again on apply.
    #[arg(long = "reset", value_name = "SELECTOR")]
    pub reset: Vec<String>,
    /// Plan scheduled phones for this moment instead of now (RFC 3339, e.g. 2026-12-07T09:00:00+01:00):
    /// "what happens Monday 09:00?". Phones are read as they are now.
    #[arg(long, value_name = "TIME", value_parser = parse_at)]
    pub at: Option<jiff::Timestamp>,
    /// Seconds the whole run may take, reads and retries included.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT))]
    pub timeout: u64,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How `validate` writes problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    /// `file:line:column: field: message` on stderr.
    Text,
    /// GitHub Actions annotations (`::error file=...,line=...,col=...::message`) on stdout.
    Github,
}

/// How `watch` writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatArg {
    /// One line per tick for a person, and one per event.
    Text,
    /// JSON lines.
    Json,
}

/// `watch` arguments.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The fleet spec (a file or a directory), read again when its files change.
    pub spec: PathBuf,
    /// Seconds from the start of one tick to the start of the next (a tick that takes longer is
    /// followed at once; ticks never overlap).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: u64,
    /// Where to serve /metrics and /healthz.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    pub listen: String,
    /// The log on stderr: text, or JSON lines.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormatArg,
    /// Seconds one tick may take, reads, heals and waits included.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT))]
    pub timeout: u64,
    /// Stop after this many ticks (for trials; default: until SIGINT/SIGTERM).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_ticks: Option<u64>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `status` arguments.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The fleet spec (a file or a directory).
    pub spec: PathBuf,
    /// JSON on stdout (format_version 1).
    #[arg(long)]
    pub json: bool,
    /// Seconds the whole run may take, reads and retries included.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT))]
    pub timeout: u64,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// The longest `--timeout` (a week): a deadline further out is a typo, and would overflow the clock.
pub const MAX_TIMEOUT: u64 = 7 * 24 * 3600;

/// `show` arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file written by `plan --out`.
    pub plan: PathBuf,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Accepted for symmetry with plan and apply: show reads only the file, simulated plan or not.
    #[arg(long)]
    pub simulate: bool,
}

/// `apply` arguments.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A fleet spec (YAML) or a saved plan (JSON from `plan --out`).
    pub file: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Print the per-phone results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there was nothing to apply, 2 when changes were made and all succeeded, 1 on any
    /// failure (so a pipeline can tell "applied" from "nothing to apply").
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// List every phone id in the plan shown, instead of the first lines of each list (so does -v).
    #[arg(long)]
    pub full: bool,
    /// Ids per batch call for every provider (capped by each call's documented maximum).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_batch: Option<u32>,
    /// Calls in flight at once per provider.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub parallelism: Option<u32>,
    /// For each provider and action, send the first N phones alone and wait until they converge; if
    /// one fails, nothing more is sent to that provider.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub canary: Option<u32>,
    /// With a spec: also restart the phones waiting for a restart (see `plan --restart-pending`). A
    /// saved plan keeps what it was made with.
    #[arg(long)]
    pub restart_pending: bool,
    /// With a spec: reset the selected phones once (see `plan --reset`).
    #[arg(long = "reset", value_name = "SELECTOR")]
    pub reset: Vec<String>,
    /// With a spec: restart the selected running phones once (see `plan --restart`).
    #[arg(long = "restart", value_name = "SELECTOR")]
    pub restart: Vec<String>,
    /// Apply a plan that breaks `max_changes` or `max_stop_percent` (the report records it). Nothing
    /// overrides `protect`.
    #[arg(long)]
    pub override_guards: bool,
    /// Seconds the whole run may take: reads, calls, jobs and convergence. No batch is sent after it.
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT))]
    pub timeout: u64,
    /// A saved plan older than this many seconds is refused (make a fresh one).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT * 52))]
    pub max_plan_age: u64,
    /// When another apply holds a provider account's lock on this machine, wait this many seconds for
    /// it instead of refusing at once.
    #[arg(long, value_name = "SECONDS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT))]
    pub lock_timeout: u64,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How `export` lays phones out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// Fold phones with identical settings into `groups`.
    State,
}

/// `export` arguments.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Export only this provider entry of the spec (default: every provider).
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// A spec that defines the provider (endpoint, credentials).
    pub spec: PathBuf,
    /// huawei-cph: also export each phone's properties (one detail call per phone).
    #[arg(long)]
    pub with_properties: bool,
    /// Fold phones with identical settings into groups.
    #[arg(long, value_enum, value_name = "FIELD")]
    pub group_by: Option<GroupBy>,
    /// Export only the phones a selector selects (repeatable; as for plan: ids, names, providers,
    /// globs; labels and spec files select the listed phones the spec declares with them).
    #[arg(long = "target", value_name = "SELECTOR")]
    pub targets: Vec<String>,
    /// Leave out the phones a selector selects (repeatable).
    #[arg(long = "exclude", value_name = "SELECTOR")]
    pub excludes: Vec<String>,
    /// Write phones (and groups) only, no `providers` block: a file for a spec directory whose
    /// providers are declared in another file.
    #[arg(long)]
    pub phones_only: bool,
    /// Export from the local simulated cloud (`.phonefleet/simulator.json`).
    #[arg(long)]
    pub simulate: bool,
    /// Seconds the whole run may take, reads and retries included.
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT))]
    pub timeout: u64,
}

/// `simulate` arguments.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// YAML file with the phones (and optionally credentials) to start with.
    #[arg(long, value_name = "FILE")]
    pub fixture: Option<PathBuf>,
    /// Latency of every call, in milliseconds: the answer leaves this long after the request arrived.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub latency_ms: u64,
    /// How long each state transition (stopping, starting, jobs) takes, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub transition_ms: u64,
    /// Share of calls answered with 500/502/503 (some after the change was made).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of calls answered as throttled (429 or GeeLark 40007).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Seed for the fault injection.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Refuse the whole-account listings (GeeLark 40015, KooPhone KOOPHONE.API.1001), as a sub-account
    /// without list permission sees them.
    #[arg(long)]
    pub refuse_listing: bool,
    /// After N provider calls, accept every further call and never answer it.
    #[arg(long, value_name = "N")]
    pub hang_after: Option<u64>,
    /// Send `Retry-After: SECONDS` with GeeLark's 40007, which GeeLark does not document (by default
    /// the window lifts in the next wall-clock minute, as documented).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=120))]
    pub geelark_retry_after: Option<u64>,
    /// Answer every GeeLark call with this code: 40014 (locked for two hours), 40017 (too many
    /// requests) or 47002 (too many concurrent requests).
    #[arg(long, value_name = "CODE", value_parser = ["40014", "40017", "47002"])]
    pub geelark_code: Option<String>,
}

/// `--at`: an RFC 3339 moment with its offset.
fn parse_at(s: &str) -> Result<jiff::Timestamp, String> {
    s.parse::<jiff::Timestamp>().map_err(|_| {
        format!("`{s}` is not an RFC 3339 time with an offset, such as 2026-12-07T09:00:00+01:00 or 2026-12-07T08:00:00Z")
    })
}
