//! Raw arguments + environment -> settings, resolved once at the edge. Every decision that depends on a
//! terminal (colors, progress bars, whether a question can be asked) is made here.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    ApplyArgs, Cli, ConnectArgs, ExportArgs, FormatArgs, GlobalArgs, LogFormatArg, PlanArgs,
    ShowArgs, StatusArgs, WatchArgs,
};
use crate::render::OutputFormat;
use crate::render::color::Color;
use crate::render::wrap::{Layout, PIPED_WIDTH};

/// Settings every command shares.
#[derive(Debug, Clone, Copy)]
pub struct GlobalSettings {
    /// Color on stdout.
    pub color: bool,
    /// Color on stderr.
    pub color_stderr: bool,
    /// `-v` count.
    pub verbose: u8,
    /// A person can answer a question (stdin and stderr are terminals).
    pub interactive: bool,
    /// Draw progress bars (stderr is a terminal).
    pub progress: bool,
    /// Columns of stdout: the terminal's, or 100 when it is not one.
    pub width: usize,
    /// Columns of stderr, likewise.
    pub width_stderr: usize,
}

impl GlobalSettings {
    /// Resolve: `--no-color` over `NO_COLOR` over "is it a terminal".
    pub fn resolve(args: &GlobalArgs) -> GlobalSettings {
        let no_color = args.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stderr_tty = std::io::stderr().is_terminal();
        GlobalSettings {
            color: !no_color && std::io::stdout().is_terminal(),
            color_stderr: !no_color && stderr_tty,
            verbose: args.verbose,
            interactive: stderr_tty && std::io::stdin().is_terminal(),
            progress: stderr_tty,
            width: columns(&console::Term::stdout()),
            width_stderr: columns(&console::Term::stderr()),
        }
    }

    /// How a text plan is laid out on stdout (or stderr): colors, width, and whether every id is
    /// listed (`--full`, or `-v`).
    pub fn layout(&self, stderr: bool, full: bool) -> Layout {
        Layout {
            color: Color::new(if stderr {
                self.color_stderr
            } else {
                self.color
            }),
            width: if stderr {
                self.width_stderr
            } else {
                self.width
            },
            full: full || self.verbose > 0,
        }
    }
}

/// A terminal's width (at least 60 columns), or the piped width.
fn columns(term: &console::Term) -> usize {
    match term.size_checked() {
        Some((_, cols)) if term.is_term() => usize::from(cols).max(60),
        _ => PIPED_WIDTH,
    }
}

/// Where the provider calls go and which phones are in scope.
#[derive(Debug, Clone, Default)]
pub struct ConnectSettings {
    /// `--target` and `--exclude` values.
    pub selection: crate::select::Selection,
    /// Use the local simulated cloud.
    pub simulate: bool,
    /// Forget the simulated fleet first.
    pub simulate_reset: bool,
    /// Where the calls go, resolved once: the spec's providers or the sandbox.
    pub reach: crate::ops::fleet::Reach,
}

impl From<&ConnectArgs> for ConnectSettings {
    fn from(a: &ConnectArgs) -> Self {
        ConnectSettings {
            selection: crate::select::Selection {
                targets: a.targets.clone(),
                excludes: a.excludes.clone(),
            },
            simulate: a.simulate,
            simulate_reset: a.simulate_reset,
            reach: if a.simulate {
                crate::ops::fleet::Reach::Simulate {
                    reset: a.simulate_reset,
                }
            } else {
                crate::ops::fleet::Reach::Spec
            },
        }
    }
}

fn format_of(f: &FormatArgs) -> OutputFormat {
    if f.json {
        OutputFormat::Json
    } else if f.markdown {
        OutputFormat::Markdown
    } else {
        OutputFormat::Text
    }
}

/// `plan` settings.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// The spec file.
    pub spec: PathBuf,
    /// Output format on stdout.
    pub format: OutputFormat,
    /// List every id (`--full`).
    pub full: bool,
    /// Save the plan here.
    pub out: Option<PathBuf>,
    /// Exit 2 on drift.
    pub detailed_exitcode: bool,
    /// Show sensitive values in text output.
    pub show_sensitive: bool,
    /// `--canary N`.
    pub canary: Option<usize>,
    /// `--restart-pending`.
    pub restart_pending: bool,
    /// `--restart SELECTOR`.
    pub restart: Vec<String>,
    /// `--reset SELECTOR`.
    pub reset: Vec<String>,
    /// `--at TIME`.
    pub at: Option<jiff::Timestamp>,
    /// `--base SPEC`.
    pub base: Option<PathBuf>,
    /// How long the whole run may take.
    pub timeout: Duration,
    /// Targets and simulation.
    pub connect: ConnectSettings,
}

impl From<&PlanArgs> for PlanSettings {
    fn from(a: &PlanArgs) -> Self {
        PlanSettings {
            spec: a.spec.clone(),
            format: format_of(&a.format),
            full: a.format.full,
            out: a.out.clone(),
            detailed_exitcode: a.detailed_exitcode,
            show_sensitive: a.show_sensitive,
            canary: a.canary.map(|n| n as usize),
            restart_pending: a.restart_pending,
            restart: a.restart.clone(),
            reset: a.reset.clone(),
            at: a.at,
            base: a.base.clone(),
            timeout: Duration::from_secs(a.timeout),
            connect: (&a.connect).into(),
        }
    }
}

/// How `watch` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// For a person.
    Text,
    /// JSON lines.
    Json,
}

/// `watch` settings.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// The spec.
    pub spec: PathBuf,
    /// From one tick's start to the next's.
    pub interval: Duration,
    /// Where /metrics and /healthz are served.
    pub listen: String,
    /// The log's format.
    pub log_format: LogFormat,
    /// How long one tick may take.
    pub timeout: Duration,
    /// Stop after this many ticks.
    pub max_ticks: Option<u64>,
    /// Selectors and simulation.
    pub connect: ConnectSettings,
}

impl From<&WatchArgs> for WatchSettings {
    fn from(a: &WatchArgs) -> Self {
        WatchSettings {
            spec: a.spec.clone(),
            interval: Duration::from_secs(a.interval),
            listen: a.listen.clone(),
            log_format: match a.log_format {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            },
            timeout: Duration::from_secs(a.timeout),
            max_ticks: a.max_ticks,
            connect: (&a.connect).into(),
        }
    }
}

/// `status` settings.
#[derive(Debug, Clone)]
pub struct StatusSettings {
    /// The spec.
    pub spec: PathBuf,
    /// JSON on stdout.
    pub json: bool,
    /// How long the whole run may take.
    pub timeout: Duration,
    /// Selectors and simulation.
    pub connect: ConnectSettings,
}

impl From<&StatusArgs> for StatusSettings {
    fn from(a: &StatusArgs) -> Self {
        StatusSettings {
            spec: a.spec.clone(),
            json: a.json,
            timeout: Duration::from_secs(a.timeout),
            connect: (&a.connect).into(),
        }
    }
}

/// `show` settings.
#[derive(Debug, Clone)]
pub struct ShowSettings {
    /// The saved plan.
    pub plan: PathBuf,
    /// Output format.
    pub format: OutputFormat,
    /// List every id (`--full`).
    pub full: bool,
}

impl From<&ShowArgs> for ShowSettings {
    fn from(a: &ShowArgs) -> Self {
        ShowSettings {
            plan: a.plan.clone(),
            format: format_of(&a.format),
            full: a.format.full,
        }
    }
}

/// `apply` settings.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    /// A spec or a saved plan.
    pub file: PathBuf,
    /// Skip the question.
    pub auto_approve: bool,
    /// JSON results on stdout.
    pub json: bool,
    /// Exit 2 when changes were made.
    pub detailed_exitcode: bool,
    /// List every id (`--full`).
    pub full: bool,
    /// `--max-batch` override.
    pub max_batch: Option<usize>,
    /// `--parallelism` override.
    pub parallelism: Option<usize>,
    /// `--canary N`.
    pub canary: Option<usize>,
    /// `--restart-pending`.
    pub restart_pending: bool,
    /// `--restart SELECTOR`.
    pub restart: Vec<String>,
    /// `--reset SELECTOR`.
    pub reset: Vec<String>,
    /// `--override-guards`.
    pub override_guards: bool,
    /// How long the whole run may take.
    pub timeout: Duration,
    /// The oldest saved plan that is applied.
    pub max_plan_age: Duration,
    /// How long to wait for another apply's account lock (zero: refuse at once).
    pub lock_timeout: Duration,
    /// Targets and simulation.
    pub connect: ConnectSettings,
}

impl From<&ApplyArgs> for ApplySettings {
    fn from(a: &ApplyArgs) -> Self {
        ApplySettings {
            file: a.file.clone(),
            auto_approve: a.auto_approve,
            json: a.json,
            detailed_exitcode: a.detailed_exitcode,
            full: a.full,
            max_batch: a.max_batch.map(|n| n as usize),
            parallelism: a.parallelism.map(|n| n as usize),
            canary: a.canary.map(|n| n as usize),
            restart_pending: a.restart_pending,
            restart: a.restart.clone(),
            reset: a.reset.clone(),
            override_guards: a.override_guards,
            timeout: Duration::from_secs(a.timeout),
            max_plan_age: Duration::from_secs(a.max_plan_age),
            lock_timeout: Duration::from_secs(a.lock_timeout),
            connect: (&a.connect).into(),
        }
    }
}

/// `export` settings.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// Provider entry to export (`None`: every provider).
    pub provider: Option<String>,
    /// The spec defining it.
    pub spec: PathBuf,
    /// Include CPH properties.
    pub with_properties: bool,
    /// Fold identical settings into groups.
    pub group_by_state: bool,
    /// No `providers` block.
    pub phones_only: bool,
    /// `--target` and `--exclude`.
    pub selection: crate::select::Selection,
    /// Use the simulator.
    pub simulate: bool,
    /// How long the whole run may take.
    pub timeout: Duration,
}

impl From<&ExportArgs> for ExportSettings {
    fn from(a: &ExportArgs) -> Self {
        ExportSettings {
            provider: a.provider.clone(),
            spec: a.spec.clone(),
            with_properties: a.with_properties,
            group_by_state: a.group_by.is_some(),
            phones_only: a.phones_only,
            selection: crate::select::Selection {
                targets: a.targets.clone(),
                excludes: a.excludes.clone(),
            },
            simulate: a.simulate,
            timeout: Duration::from_secs(a.timeout),
        }
    }
}

impl Cli {
    /// Global settings for this invocation.
    pub fn global_settings(&self) -> GlobalSettings {
        GlobalSettings::resolve(&self.global)
    }
}
