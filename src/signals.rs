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

/// SIGINT and SIGTERM handlers, registered when it is made: a signal that comes before the first
/// wait is kept, not lost to the default action (which would kill the process without a word).
#[derive(Debug)]
pub struct Watcher {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Watcher {
    /// Register the handlers now (inside the runtime).
    pub fn new() -> Watcher {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(int), Ok(term)) => Some((int, term)),
                _ => None,
            };
            Watcher { streams }
        }
        #[cfg(not(unix))]
        {
            Watcher {}
        }
    }

    /// Wait for the next SIGINT or SIGTERM.
    pub async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.streams {
            return tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
    }
}

impl Default for Watcher {
    fn default() -> Watcher {
        Watcher::new()
    }
}
