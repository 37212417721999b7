//! Exit codes (the only place that knows their numbers), hints attached to error types, and printing
//! the final error at the edge.

use std::process::ExitCode;

/// Process exit status; the only type that knows numeric codes (a public contract, see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done; for `plan --detailed-exitcode`, no differences.
    Success,
    /// 1: an error: invalid spec, provider failure, stale or edited saved plan, a phone failed in apply.
    Failure,
    /// 2: only with `--detailed-exitcode`: for `plan`, the fleet differs from the spec (changes or
    /// blocked drift); for `apply`, changes were made and all succeeded.
    Drift,
    /// 130: interrupted by Ctrl-C.
    Interrupted,
    /// 143: stopped by SIGTERM.
    Terminated,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Drift => 2,
            ExitStatus::Interrupted => 130,
            ExitStatus::Terminated => 143,
        })
    }
}

/// An error that knows how the user can fix it.
pub trait Hint {
    /// One sentence of advice, if there is one.
    fn hint(&self) -> Option<String>;
}

/// Print an error chain (`error: outer: inner`) and the hints found on the way, to stderr.
pub fn report(err: &anyhow::Error) {
    // Diagnostics are a list, printed as they are, one per line.
    if let Some(d) = err.downcast_ref::<crate::spec::Diagnostics>() {
        for item in &d.0 {
            eprintln!("error: {item}");
        }
        let n = d.0.len();
        eprintln!("error: {n} problem{} found", if n == 1 { "" } else { "s" });
        return;
    }
    eprintln!("error: {err:#}");
    for cause in err.chain() {
        let hint = if let Some(e) = cause.downcast_ref::<crate::provider::ProviderError>() {
            e.hint()
        } else {
            None
        };
        if let Some(h) = hint {
            eprintln!("  hint: {h}");
        }
    }
}
