//! Progress on a terminal: one bar per provider while the fleet is read, drawn on stderr. An
//! [`Events`] sink of the fleet handle; the fleet itself knows nothing of terminals.

use std::collections::BTreeMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ops::fleet::Events;

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
        let all = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} reading {prefix:>12} [{bar:24}] {pos}/{len} phones ({elapsed})",
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

    fn read_progress(&self, read: &BTreeMap<String, usize>) {
        let bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for (name, bar) in bars.iter() {
            let len = bar.length().unwrap_or(0);
            let n = read.get(name).copied().unwrap_or(0) as u64;
            bar.set_position(n.min(len));
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
#[derive(Debug)]
pub struct ApplyBar {
    bar: ProgressBar,
}

impl ApplyBar {
    /// A bar that draws when `on` (stderr is a terminal), and stays hidden otherwise.
    pub fn new(on: bool) -> ApplyBar {
        let bar = if on {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} applying [{bar:30}] {pos}/{len} changes ({elapsed}) {wide_msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        ApplyBar { bar }
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
        self.bar.set_message(what.to_owned());
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
