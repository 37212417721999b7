//! Progress on a terminal: one bar per provider while the fleet is read, drawn on stderr. An
//! [`Events`] sink of the fleet handle; the fleet itself knows nothing of terminals.

use std::collections::BTreeMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ops::fleet::{Events, ReadProgress};

/// The bars' one place on stderr: every bar of the run is drawn through it, and `-v` log lines are
/// printed above it ([`super::log`]). stderr is one per process, so this is too.
pub fn terminal() -> &'static MultiProgress {
    static TERMINAL: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    TERMINAL.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// Read bars, drawn only when `on` (stderr is a terminal).
#[derive(Debug)]
pub struct ReadBars {
    on: bool,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl ReadBars {
    /// Bars that draw when `on`, and stay silent otherwise.
    pub fn new(on: bool) -> ReadBars {
        ReadBars {
            on,
            bars: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Events for ReadBars {
    fn reading(&self, phones: &BTreeMap<String, usize>) {
        if !self.on {
            return;
        }
        let all = terminal();
        let style = ProgressStyle::with_template(
            "{spinner} reading {prefix} [{bar:16}] {pos}/{len} ({elapsed}) {wide_msg}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for (name, n) in phones {
            let bar = all.add(ProgressBar::new(*n as u64));
            bar.set_style(style.clone());
            bar.set_prefix(name.clone());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bars.insert(name.clone(), bar);
        }
    }

    fn read_progress(&self, read: &BTreeMap<String, ReadProgress>) {
        let bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for (name, bar) in bars.iter() {
            let len = bar.length().unwrap_or(0);
            let now = read.get(name).copied().unwrap_or_default();
            bar.set_position((now.read as u64).min(len));
            // A hang shows: calls in flight and a growing time since the last answer.
            bar.set_message(now.activity.describe().unwrap_or_default());
        }
    }

    fn read_done(&self) {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for (_, bar) in std::mem::take(&mut *bars) {
            bar.finish_and_clear();
        }
    }
}

/// The apply bar: changes settled of those planned, with what is going on, drawn only when `on`.
/// Skipped changes are not progress: they are counted apart in the message.
#[derive(Debug)]
pub struct ApplyBar {
    bar: ProgressBar,
    skipped: std::sync::atomic::AtomicU64,
    /// (status, activity), shown together.
    message: Mutex<(String, String)>,
}

impl ApplyBar {
    /// A bar that draws when `on` (stderr is a terminal), and stays hidden otherwise.
    pub fn new(on: bool) -> ApplyBar {
        let bar = if on {
            let bar = terminal().add(ProgressBar::new(0));
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} applying [{bar:30}] {pos}/{len} changes ({elapsed}) {wide_msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        ApplyBar {
            bar,
            skipped: std::sync::atomic::AtomicU64::new(0),
            message: Mutex::new((String::new(), String::new())),
        }
    }

    fn show(&self, status: Option<&str>, activity: Option<&str>) {
        let mut m = self.message.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = status {
            m.0 = s.to_owned();
        }
        if let Some(a) = activity {
            m.1 = a.to_owned();
        }
        let skipped = self.skipped.load(std::sync::atomic::Ordering::Relaxed);
        let parts: Vec<String> = [
            m.0.clone(),
            m.1.clone(),
            if skipped > 0 {
                format!("{skipped} skipped")
            } else {
                String::new()
            },
        ]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
        self.bar.set_message(parts.join(" · "));
    }
}

impl crate::apply::Progress for ApplyBar {
    fn start(&self, changes: u64) {
        self.bar.set_length(changes);
        // The spinner and clock move while jobs run, so a long wait never looks like a hang.
        self.bar
            .enable_steady_tick(std::time::Duration::from_millis(120));
    }

    fn advance(&self) {
        self.bar.inc(1);
    }

    fn status(&self, what: &str) {
        self.show(Some(what), None);
    }

    fn skipped(&self) {
        self.skipped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.show(None, None);
    }

    fn activity(&self, what: &str) {
        self.show(None, Some(what));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::Progress;

    #[test]
    fn skipped_changes_are_not_progress_and_are_said_apart() {
        let bar = ApplyBar::new(false);
        bar.start(3);
        bar.advance();
        bar.status("gl: waiting for 1 jobs");
        bar.skipped();
        bar.skipped();
        bar.activity("gl: 1 in flight, last answer 4s ago");
        assert_eq!(bar.bar.position(), 1, "only the settled change counts");
        assert_eq!(
            bar.bar.message(),
            "gl: waiting for 1 jobs · gl: 1 in flight, last answer 4s ago · 2 skipped"
        );
    }
}
