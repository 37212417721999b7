//! The signals that stop a run: Ctrl-C (SIGINT) and SIGTERM (what CI cancellation, `timeout`, systemd
//! and Kubernetes send), with the exit status each gives.

use crate::error::ExitStatus;

/// Which one came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT.
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// How it is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "Interrupted",
            Signal::Terminate => "Terminated (SIGTERM)",
        }
    }
    /// The exit status of a run it stopped.
    pub fn status(self) -> ExitStatus {
        match self {
            Signal::Interrupt => ExitStatus::Interrupted,
            Signal::Terminate => ExitStatus::Terminated,
        }
    }
    /// The exit code of a run it quits at once.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

/// Wait for the next SIGINT or SIGTERM.
pub async fn next() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                Signal::Interrupt
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
    }
}
