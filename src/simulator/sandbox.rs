//! The `--simulate` sandbox: the local simulator started from the fleet kept in
//! `.phonefleet/simulator.json` (seeded with the spec's declared phones), and that fleet saved back when
//! the run is over. Saving is the guard's job: [`Sandbox::close`] saves and reports a failure; a sandbox
//! dropped without it (an early return, an error) still saves, so no code path can forget.

use std::path::PathBuf;

use anyhow::{Context, bail};

use super::{Fixture, SimConfig, Simulator};
use crate::spec::{DesiredPhone, ProviderConfig};

/// Where `--simulate` keeps the simulated fleet, under the current directory.
pub const STATE: &str = ".phonefleet/simulator.json";

/// A running simulator whose fleet is saved when it ends.
#[derive(Debug)]
pub struct Sandbox {
    sim: Option<Simulator>,
    path: PathBuf,
}

impl Sandbox {
    /// Start the simulator from the saved fleet (or anew with `reset`), with the spec's declared phones
    /// added.
    pub async fn open(
        providers: &std::collections::BTreeMap<String, ProviderConfig>,
        desired: &[DesiredPhone],
        reset: bool,
    ) -> anyhow::Result<Sandbox> {
        let path = PathBuf::from(STATE);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            bail!(
                "{} is a symbolic link; phonefleet neither reads nor writes its state through links. \
                 Remove it (the simulated fleet starts anew)",
                path.display()
            );
        }
        let mut fixture = if !reset && path.exists() {
            Fixture::read(&path)
                .with_context(|| format!("delete {} or pass --simulate-reset", path.display()))?
        } else {
            Fixture::default()
        };
        super::seed::add_declared(&mut fixture, providers, desired);
        let config = SimConfig {
            transition: std::time::Duration::from_millis(200),
            ..SimConfig::default()
        };
        let sim = Simulator::start(([127, 0, 0, 1], 0).into(), fixture, config)
            .await
            .context("cannot start the local simulator")?;
        Ok(Sandbox {
            sim: Some(sim),
            path,
        })
    }

    /// `http://127.0.0.1:PORT` of the simulator.
    pub fn base_url(&self) -> String {
        self.sim
            .as_ref()
            .map(Simulator::base_url)
            .unwrap_or_default()
    }

    /// Stop the simulator and save its fleet for the next `--simulate` run.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let result = self.save();
        if let Some(sim) = self.sim.take() {
            sim.stop().await;
        }
        result
    }

    fn save(&self) -> anyhow::Result<()> {
        let Some(sim) = &self.sim else { return Ok(()) };
        let text = serde_json::to_string_pretty(&sim.snapshot())?;
        crate::fs::write_atomic(&self.path, text.as_bytes())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Best effort on an early return: the error of a save is reported by `close` only.
        if self.sim.is_some() {
            let _ = self.save();
        }
    }
}
