//! A session with the providers of one spec: one client per provider (real endpoints, or the local
//! simulator for `--simulate`, kept in `.phonefleet/simulator.json` between runs and seeded by
//! [`crate::simulator::seed`]), and batched observation of the declared phones.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::capability::EffectiveLimits;
use crate::provider::{Client, Http, ObserveTarget, Target};
use crate::simulator::{Fixture, SimConfig, Simulator};
use crate::spec::{DesiredPhone, ProviderConfig};
use crate::state::{FleetState, Observation};

/// Where `--simulate` keeps the simulated fleet, under the current directory.
pub const SIMULATOR_STATE: &str = ".phonefleet/simulator.json";

/// Command-line overrides of every provider's limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--max-batch`.
    pub max_batch: Option<usize>,
    /// `--parallelism`.
    pub parallelism: Option<usize>,
}

/// Limits in force for each provider of a spec.
pub fn limits_for(
    providers: &BTreeMap<String, ProviderConfig>,
    o: Overrides,
) -> BTreeMap<String, EffectiveLimits> {
    providers
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                EffectiveLimits::resolve(p.kind, p.limits.as_ref(), o.max_batch, o.parallelism),
            )
        })
        .collect()
}

/// Open clients, and the simulator behind them when simulating.
pub struct Session {
    /// One client per provider name.
    pub clients: BTreeMap<String, Client>,
    sim: Option<(Simulator, PathBuf)>,
    /// Draw read progress on stderr (a terminal).
    progress: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("clients", &self.clients.keys())
            .finish_non_exhaustive()
    }
}

/// What a provider account holds in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Census {
    /// How many phones.
    Total(usize),
    /// Every phone id.
    Ids(Vec<String>),
    /// The count failed: why.
    Unknown(String),
}

/// Phones each provider holds that `desired` does not declare.
pub fn unmanaged(
    census: BTreeMap<String, Census>,
    desired: &[DesiredPhone],
    state: &FleetState,
) -> BTreeMap<String, crate::state::Unmanaged> {
    census
        .into_iter()
        .map(|(name, c)| {
            let declared: foldhash::HashSet<&str> = desired
                .iter()
                .filter(|d| d.provider == name)
                .map(|d| d.id.as_str())
                .collect();
            let u = match c {
                Census::Unknown(reason) => crate::state::Unmanaged {
                    count: 0,
                    unknown: Some(reason),
                    ids: None,
                },
                Census::Ids(all) => {
                    let mut extra: Vec<String> = all
                        .into_iter()
                        .filter(|id| !declared.contains(id.as_str()))
                        .collect();
                    extra.sort();
                    crate::state::Unmanaged {
                        count: extra.len(),
                        unknown: None,
                        ids: Some(extra),
                    }
                }
                Census::Total(total) => {
                    let found = declared
                        .iter()
                        .filter(|id| matches!(state.get(&name, id), Some(Observation::Found(_))))
                        .count();
                    crate::state::Unmanaged {
                        count: total.saturating_sub(found),
                        unknown: None,
                        ids: None,
                    }
                }
            };
            (name, u)
        })
        .collect()
}

/// The provider entries that have phones in `desired` (the others' credentials are not needed).
pub fn in_scope(
    providers: &BTreeMap<String, ProviderConfig>,
    desired: &[DesiredPhone],
) -> BTreeMap<String, ProviderConfig> {
    let used: std::collections::BTreeSet<&str> =
        desired.iter().map(|d| d.provider.as_str()).collect();
    providers
        .iter()
        .filter(|(n, _)| used.contains(n.as_str()))
        .map(|(n, p)| (n.clone(), p.clone()))
        .collect()
}

/// Keep the phones of `desired` whose id or provider is named by a `--target`; refuse targets that
/// name nothing.
pub fn select(desired: Vec<DesiredPhone>, targets: &[String]) -> anyhow::Result<Vec<DesiredPhone>> {
    if targets.is_empty() {
        return Ok(desired);
    }
    for t in targets {
        if !desired.iter().any(|d| &d.provider == t || &d.id == t) {
            bail!("--target `{t}` names no phone id or provider of the spec");
        }
    }
    Ok(desired
        .into_iter()
        .filter(|d| targets.iter().any(|t| t == &d.provider || t == &d.id))
        .collect())
}

impl Session {
    /// Connect to these providers (callers pass only those in scope), or start the simulator for
    /// `--simulate`, seeded from `desired`.
    pub async fn open(
        providers: &BTreeMap<String, ProviderConfig>,
        desired: &[DesiredPhone],
        limits: &BTreeMap<String, EffectiveLimits>,
        simulate: Option<bool>,
        verbose: bool,
        deadline: std::time::Instant,
    ) -> anyhow::Result<Session> {
        let http = Arc::new(Http::new(verbose, deadline)?);
        let (target, sim) = match simulate {
            None => (Target::Spec, None),
            Some(reset) => {
                let path = PathBuf::from(SIMULATOR_STATE);
                if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    bail!(
                        "{} is a symbolic link; phonefleet neither reads nor writes its state through \
                         links. Remove it (the simulated fleet starts anew)",
                        path.display()
                    );
                }
                let mut fixture = if !reset && path.exists() {
                    Fixture::read(&path).with_context(|| {
                        format!("delete {} or pass --simulate-reset", path.display())
                    })?
                } else {
                    Fixture::default()
                };
                crate::simulator::seed::add_declared(&mut fixture, providers, desired);
                let config = SimConfig {
                    transition: std::time::Duration::from_millis(200),
                    ..SimConfig::default()
                };
                let sim = Simulator::start(([127, 0, 0, 1], 0).into(), fixture, config)
                    .await
                    .context("cannot start the local simulator")?;
                (Target::Simulator(sim.base_url()), Some((sim, path)))
            }
        };
        let mut clients = BTreeMap::new();
        for (name, config) in providers {
            let l = limits[name];
            let client = Client::connect(name, config, l, http.clone(), &target)?;
            clients.insert(name.clone(), client);
        }
        Ok(Session {
            clients,
            sim,
            progress: false,
        })
    }

    /// Each provider's plan-file key, derived from its credentials.
    pub fn plan_keys(&self) -> BTreeMap<String, crate::plan::saved::PlanKey> {
        self.clients
            .iter()
            .map(|(n, c)| (n.clone(), c.plan_key()))
            .collect()
    }

    /// Draw a bar per provider while reading (phones read / declared), on stderr; only for a terminal.
    pub fn show_progress(&mut self, on: bool) {
        self.progress = on;
    }

    /// Read every declared phone, one batched pass per provider, providers side by side. Never fails
    /// as a whole: a phone that cannot be read is [`Observation::Unreadable`], and a provider that cannot
    /// be read at all makes its own phones unreadable, nobody else's.
    pub async fn observe(&self, desired: &[DesiredPhone]) -> FleetState {
        let mut per_provider: BTreeMap<&str, Vec<ObserveTarget>> = BTreeMap::new();
        for d in desired {
            per_provider
                .entry(d.provider.as_str())
                .or_default()
                .push(ObserveTarget {
                    id: d.id.clone(),
                    properties: !d.properties.is_empty(),
                });
        }
        let bars = self.progress.then(|| self.read_bars(&per_provider));
        let reads = per_provider.into_iter().map(|(name, targets)| async move {
            let r = match self.clients.get(name) {
                Some(client) => client.observe(&targets).await.map_err(|e| {
                    use crate::error::Hint;
                    crate::state::ProviderFailure {
                        hint: e.hint(),
                        reason: crate::redact::text(&crate::provider::chain(&e)),
                    }
                }),
                None => Err(crate::state::ProviderFailure {
                    reason: format!("no client for provider `{name}`"),
                    hint: None,
                }),
            };
            (name, targets, r)
        });
        let done = match &bars {
            Some(bars) => {
                let tick = async {
                    loop {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        bars.update(&self.clients);
                    }
                };
                tokio::select! {
                    done = futures::future::join_all(reads) => done,
                    () = tick => unreachable!("the ticker never ends"),
                }
            }
            None => futures::future::join_all(reads).await,
        };
        if let Some(bars) = bars {
            bars.finish();
        }
        let mut state = FleetState::default();
        for (name, targets, r) in done {
            match r {
                Ok(found) => {
                    for (id, obs) in found {
                        state.insert(name, id, obs);
                    }
                }
                Err(failure) => {
                    for t in targets {
                        state.insert(name, t.id, Observation::unreadable(&failure.reason));
                    }
                    state.failed_providers.insert(name.to_owned(), failure);
                }
            }
        }
        state
    }

    fn read_bars(&self, per_provider: &BTreeMap<&str, Vec<ObserveTarget>>) -> ReadBars {
        let all =
            indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} reading {prefix:>12} [{bar:24}] {pos}/{len} phones ({elapsed})",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        let bars = per_provider
            .iter()
            .map(|(name, targets)| {
                let bar = all.add(indicatif::ProgressBar::new(targets.len() as u64));
                bar.set_style(style.clone());
                bar.set_prefix((*name).to_owned());
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                let base = self.clients.get(*name).map_or(0, Client::read_so_far);
                ((*name).to_owned(), bar, base)
            })
            .collect();
        ReadBars { bars }
    }

    /// What each provider holds in all: one count call per provider, or (with `ids`) the whole account
    /// listed. Independent of the observation, so it runs beside it. Only informs: a provider whose
    /// count fails is [`Census::Unknown`].
    pub async fn census(&self, ids: bool) -> BTreeMap<String, Census> {
        let reads = self.clients.iter().map(|(name, client)| async move {
            let r = if ids {
                client
                    .list_all(false)
                    .await
                    .map(|all| Census::Ids(all.into_iter().map(|l| l.id).collect()))
            } else {
                client.count_all().await.map(Census::Total)
            };
            let c = r.unwrap_or_else(|e| Census::Unknown(format!("{:#}", anyhow::Error::new(e))));
            (name.clone(), c)
        });
        futures::future::join_all(reads).await.into_iter().collect()
    }

    /// Close; the simulated fleet is saved for the next `--simulate` run.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Some((sim, path)) = self.sim {
            let fixture = sim.snapshot();
            sim.stop().await;
            let text = serde_json::to_string_pretty(&fixture)?;
            crate::fs::write_atomic(&path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

/// One bar per provider during a read: phones read (counted by the clients) of those declared.
struct ReadBars {
    bars: Vec<(String, indicatif::ProgressBar, usize)>,
}

impl ReadBars {
    fn update(&self, clients: &BTreeMap<String, Client>) {
        for (name, bar, base) in &self.bars {
            if let Some(c) = clients.get(name) {
                let len = bar.length().unwrap_or(0);
                bar.set_position((c.read_so_far().saturating_sub(*base) as u64).min(len));
            }
        }
    }

    fn finish(self) {
        for (_, bar, _) in self.bars {
            bar.finish_and_clear();
        }
    }
}
