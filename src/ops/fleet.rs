//! The fleet handle: one HTTP client, one client per provider (with its rate windows and throttles) and,
//! for `--simulate`, the sandbox behind them. It outlives one operation: each operation gives its own
//! deadline ([`Fleet::set_deadline`]), so a `watch` keeps GeeLark's per-minute window (and a 40014 lock)
//! from tick to tick instead of forgetting it.
//!
//! Reads fan out here: one batched pass per provider, providers side by side, what was read told to an
//! [`Events`] sink (the terminal's bars, or nothing). Nothing here prints.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::capability::EffectiveLimits;
use crate::census::Census;
use crate::plan::saved::PlanKey;
use crate::provider::{Client, Http, ObserveTarget, Target};
use crate::redact::Masks;
use crate::simulator::sandbox::Sandbox;
use crate::spec::{DesiredPhone, Fate, ProviderConfig};
use crate::state::{FleetState, Observation};

/// What a read tells whoever watches it: the terminal's progress bars, later `watch`'s metrics.
pub trait Events: Send + Sync {
    /// Reading starts: phones to read per provider.
    fn reading(&self, _phones: &BTreeMap<String, usize>) {}
    /// Phones read so far per provider and what its calls are doing, every 100 ms while reading.
    fn read_progress(&self, _read: &BTreeMap<String, ReadProgress>) {}
    /// Reading is over.
    fn read_done(&self) {}
}

/// One provider's reading so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadProgress {
    /// Phones read.
    pub read: usize,
    /// Calls in flight, time since the last answer.
    pub activity: crate::provider::Activity,
}

/// An [`Events`] sink that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Events for Quiet {}

/// Connected providers (or the simulator standing in for them).
pub struct Fleet {
    /// One client per provider name.
    pub clients: BTreeMap<String, Client>,
    http: Arc<Http>,
    sandbox: Option<Sandbox>,
    /// [`PLAN_KEY_ENV`], when the workflow sets it.
    plan_key: Option<crate::provider::Secret>,
    /// What this handle masks in provider text: its credentials, the plan key, the sensitive values
    /// of its spec and of its last read. Its operations run in their scope ([`Fleet::run`]).
    masks: Arc<Masks>,
}

/// The variable of a key that seals plan files instead of the providers' credentials, for pipelines
/// whose plan job reads with other (read-only) credentials than the apply job writes with. Set by the
/// workflow, never by a spec; its value is a secret like the credentials.
pub const PLAN_KEY_ENV: &str = "PHONEFLEET_PLAN_KEY";

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("clients", &self.clients.keys())
            .finish_non_exhaustive()
    }
}

/// How to reach the providers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Reach {
    /// The endpoints and credentials of the spec.
    #[default]
    Spec,
    /// The `--simulate` sandbox, its saved fleet kept (or, with `reset`, started anew).
    Simulate {
        /// `--simulate-reset`.
        reset: bool,
    },
    /// A simulator already running at this base URL (`phonefleet simulate`, a test's): no credentials
    /// are read.
    Simulator(String),
}

impl Fleet {
    /// Connect to these providers (callers pass only those in scope), or start the sandbox for
    /// `--simulate`, seeded from `desired`. Every credential is read (and registered for masking) here,
    /// before any call; every missing one is named at once.
    pub async fn open(
        providers: &BTreeMap<String, ProviderConfig>,
        desired: &[DesiredPhone],
        limits: &BTreeMap<String, EffectiveLimits>,
        reach: Reach,
        verbose: bool,
        deadline: tokio::time::Instant,
    ) -> anyhow::Result<Fleet> {
        let http = Http::new(verbose, deadline)?;
        Self::open_with(providers, desired, limits, reach, http).await
    }

    /// [`Fleet::open`] over a given HTTP layer (a test's, with a faster retry policy).
    pub async fn open_with(
        providers: &BTreeMap<String, ProviderConfig>,
        desired: &[DesiredPhone],
        limits: &BTreeMap<String, EffectiveLimits>,
        reach: Reach,
        http: Http,
    ) -> anyhow::Result<Fleet> {
        let http = Arc::new(http);
        // The values this handle masks are its own, registered as its credentials are read.
        let masks = Masks::new();
        let (target, sandbox) = match reach {
            Reach::Spec => (Target::Spec, None),
            Reach::Simulate { reset } => {
                let sandbox = Sandbox::open(providers, desired, reset).await?;
                (Target::Simulator(sandbox.base_url()), Some(sandbox))
            }
            Reach::Simulator(url) => (Target::Simulator(url), None),
        };
        let mut clients = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, config) in providers {
            let connected = crate::redact::sync_scoped(&masks, || {
                Client::connect(name, config, limits[name], http.clone(), &target)
            });
            match connected {
                Ok(client) => {
                    clients.insert(name.clone(), client);
                }
                Err(e @ crate::provider::ProviderError::MissingCredentials { .. }) => {
                    missing.push(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        match missing.len() {
            0 => {}
            1 => return Err(missing.remove(0).into()),
            _ => {
                let lines: Vec<String> = missing.iter().map(ToString::to_string).collect();
                anyhow::bail!(
                    "credentials are missing for {} providers (nothing was sent):\n  {}\n  hint: set \
                     them in the environment; the spec names them under `providers.<name>.credentials`",
                    lines.len(),
                    lines.join("\n  ")
                );
            }
        }
        let plan_key = std::env::var(PLAN_KEY_ENV)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| {
                crate::redact::sync_scoped(&masks, || crate::redact::register(&v));
                crate::provider::Secret::new(v)
            });
        Ok(Fleet {
            clients,
            http,
            sandbox,
            plan_key,
            masks,
        })
    }

    /// What this handle masks.
    pub fn masks(&self) -> &Arc<Masks> {
        &self.masks
    }

    /// Run an operation on this handle (a plan's checks, an apply) with its masks in force, so that
    /// every answer it reads is cleaned of its secrets and sensitive values.
    pub async fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        crate::redact::scoped(&self.masks, f).await
    }

    /// The deadline of the next operation.
    pub fn set_deadline(&self, deadline: tokio::time::Instant) {
        self.http.set_deadline(deadline);
    }

    /// Each provider's plan-file key, derived from its credentials, or from [`PLAN_KEY_ENV`] and the
    /// provider's name when that is set.
    pub fn plan_keys(&self) -> BTreeMap<String, PlanKey> {
        self.clients
            .iter()
            .map(|(n, c)| {
                let key = match &self.plan_key {
                    Some(k) => PlanKey::derive(&["plan key", n, k.expose()]),
                    None => c.plan_key(),
                };
                (n.clone(), key)
            })
            .collect()
    }

    /// Read every declared phone, one batched pass per provider, providers side by side. Never fails
    /// as a whole: a phone that cannot be read is [`Observation::Unreadable`], and a provider that cannot
    /// be read at all makes its own phones unreadable, nobody else's.
    pub async fn observe(&self, desired: &[DesiredPhone], events: &dyn Events) -> FleetState {
        self.observe_with(desired, &Default::default(), events)
            .await
    }

    /// [`Fleet::observe`], reading the phones of `identify` (provider, id) where their device identity
    /// shows (GeeLark's list, `equipmentInfo`): the phones a plan resets, so that a saved plan tells a
    /// phone reset since from one to reset.
    pub async fn observe_with(
        &self,
        desired: &[DesiredPhone],
        identify: &std::collections::BTreeSet<(String, String)>,
        events: &dyn Events,
    ) -> FleetState {
        self.run(self.observe_scoped(desired, identify, events))
            .await
    }

    async fn observe_scoped(
        &self,
        desired: &[DesiredPhone],
        identify: &std::collections::BTreeSet<(String, String)>,
        events: &dyn Events,
    ) -> FleetState {
        // Sensitive values the last read registered are this read's to register again.
        crate::redact::begin_read();
        let mut per_provider: BTreeMap<&str, Vec<ObserveTarget>> = BTreeMap::new();
        // A pool's phones without an id yet are found by name; they are not read by id.
        let by_name = |d: &DesiredPhone| matches!(d.fate(), Some(Fate::Create | Fate::Unlisted));
        let named: Vec<&DesiredPhone> = desired.iter().filter(|d| by_name(d)).collect();
        for d in desired.iter().filter(|d| !by_name(d)) {
            per_provider.entry(d.provider.as_str()).or_default().push({
                let mut t = ObserveTarget::for_phone(d);
                if !identify.is_empty() && identify.contains(&(d.provider.clone(), d.id.clone())) {
                    t.listed = true;
                }
                t
            });
        }
        let base: BTreeMap<String, usize> = self
            .clients
            .iter()
            .map(|(n, c)| (n.clone(), c.read_so_far()))
            .collect();
        events.reading(
            &per_provider
                .iter()
                .map(|(n, t)| ((*n).to_owned(), t.len()))
                .collect(),
        );
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
        let tick = async {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let read = self
                    .clients
                    .iter()
                    .map(|(n, c)| {
                        let from = base.get(n).copied().unwrap_or(0);
                        let progress = ReadProgress {
                            read: c.read_so_far().saturating_sub(from),
                            activity: c.activity(),
                        };
                        (n.clone(), progress)
                    })
                    .collect();
                events.read_progress(&read);
            }
        };
        let done = tokio::select! {
            done = futures::future::join_all(reads) => done,
            () = tick => unreachable!("the ticker never ends"),
        };
        events.read_done();
        let mut state = self.find_by_name(&named).await;
        for (name, targets, r) in done {
            match r {
                Ok(found) => state.insert_all(name, found),
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

    /// The phones of pools that have no id yet, found by name: a member to create is `Found` when a
    /// phone of that name exists (it was created since), `NotFound` otherwise; a pool not yet listed
    /// is unreadable. One listing per pool.
    async fn find_by_name(&self, phones: &[&DesiredPhone]) -> FleetState {
        let mut state = FleetState::default();
        let mut pools: BTreeMap<(&str, &str), Vec<&DesiredPhone>> = BTreeMap::new();
        for d in phones {
            match &d.pool {
                Some(p) if p.fate == Fate::Create => pools
                    .entry((d.provider.as_str(), p.pool.as_str()))
                    .or_default()
                    .push(d),
                _ => state.insert(
                    &d.provider,
                    d.id.clone(),
                    Observation::unreadable("the pool's members were not listed"),
                ),
            }
        }
        let lists = pools
            .into_iter()
            .map(|((provider, pool), want)| async move {
                let listed = self.list_pool(provider, pool).await;
                (provider, want, listed)
            });
        for (provider, want, listed) in futures::future::join_all(lists).await {
            for d in want {
                let obs = match &listed {
                    Ok(all) => all
                        .iter()
                        .find(|l| l.name == d.name)
                        .map_or(Observation::NotFound, |l| {
                            Observation::Found(l.phone.clone())
                        }),
                    Err(reason) => Observation::unreadable(reason),
                };
                state.insert(provider, d.id.clone(), obs);
            }
        }
        state
    }

    /// The images each provider with a declared `image` can use (CPH lists them): the lists, and
    /// why a list could not be read. A kind that lists none is left out.
    pub async fn images(
        &self,
        desired: &[DesiredPhone],
    ) -> (
        BTreeMap<String, std::collections::BTreeSet<String>>,
        Vec<(String, String)>,
    ) {
        let providers: std::collections::BTreeSet<&str> = desired
            .iter()
            .filter(|d| d.image.is_some())
            .map(|d| d.provider.as_str())
            .collect();
        let reads = providers.into_iter().filter_map(|p| {
            let client = self.clients.get(p)?;
            Some(async move { (p, client.list_images().await) })
        });
        let mut lists = BTreeMap::new();
        let mut failed = Vec::new();
        for (provider, r) in self.run(futures::future::join_all(reads)).await {
            match r {
                Ok(Some(list)) => {
                    lists.insert(provider.to_owned(), list.into_iter().collect());
                }
                Ok(None) => {}
                Err(e) => failed.push((
                    provider.to_owned(),
                    crate::redact::text(&crate::provider::chain(&e)),
                )),
            }
        }
        (lists, failed)
    }

    /// One pool's phones as listed: those whose name begins `NAME-`.
    async fn list_pool(
        &self,
        provider: &str,
        pool: &str,
    ) -> Result<Vec<crate::provider::Listed>, String> {
        let Some(client) = self.clients.get(provider) else {
            return Err(format!("no client for provider `{provider}`"));
        };
        client
            .list_named(&crate::pool::prefix(pool))
            .await
            .map_err(|e| crate::redact::text(&crate::provider::chain(&e)))
    }

    /// The declared phones with each pool replaced by its members ([`crate::pool::expand`]), listed by
    /// name (one paged call per pool), and what the listing showed of each (members found, phones to
    /// create not found). A pool whose listing fails stays one unreadable entry. `None` when the
    /// phones hold no pool.
    pub async fn expand_pools(
        &self,
        desired: &[DesiredPhone],
    ) -> Option<(Vec<DesiredPhone>, FleetState)> {
        self.run(self.expand_pools_scoped(desired)).await
    }

    async fn expand_pools_scoped(
        &self,
        desired: &[DesiredPhone],
    ) -> Option<(Vec<DesiredPhone>, FleetState)> {
        let pools: Vec<&DesiredPhone> = desired
            .iter()
            .filter(|d| d.fate() == Some(Fate::Unlisted))
            .collect();
        if pools.is_empty() {
            return None;
        }
        let lists = pools.iter().map(|d| async move {
            let pool = d.pool.as_ref().map_or("", |p| p.pool.as_str());
            (*d, self.list_pool(&d.provider, pool).await)
        });
        let listed = futures::future::join_all(lists).await;
        let mut out: Vec<DesiredPhone> = Vec::with_capacity(desired.len());
        let mut known = FleetState::default();
        let elsewhere: std::collections::HashSet<(&str, &str)> = desired
            .iter()
            .filter(|d| d.pool.is_none())
            .map(|d| (d.provider.as_str(), d.id.as_str()))
            .collect();
        out.extend(desired.iter().filter(|d| d.pool.is_none()).cloned());
        for (d, result) in listed {
            match result {
                Ok(all) => {
                    let names: Vec<(&str, &str)> = all
                        .iter()
                        .filter_map(|l| Some((l.id.as_str(), l.name.as_deref()?)))
                        .collect();
                    let here: std::collections::HashSet<&str> = all
                        .iter()
                        .map(|l| l.id.as_str())
                        .filter(|id| elsewhere.contains(&(d.provider.as_str(), *id)))
                        .collect();
                    let by_id: std::collections::HashMap<&str, &crate::provider::Listed> =
                        all.iter().map(|l| (l.id.as_str(), l)).collect();
                    for m in crate::pool::expand(d, &names, &here) {
                        let obs = match by_id.get(m.id.as_str()) {
                            Some(l) => Observation::Found(l.phone.clone()),
                            None => Observation::NotFound,
                        };
                        known.insert(&m.provider, m.id.clone(), obs);
                        out.push(m);
                    }
                }
                Err(reason) => {
                    known.insert(
                        &d.provider,
                        d.id.clone(),
                        Observation::unreadable(format!(
                            "could not list the pool's members: {reason}"
                        )),
                    );
                    out.push(d.clone());
                }
            }
        }
        Some((out, known))
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
        self.run(futures::future::join_all(reads))
            .await
            .into_iter()
            .collect()
    }

    /// Close; the simulated fleet is saved for the next `--simulate` run (dropping the fleet saves too,
    /// but only `close` reports a failure to save).
    pub async fn close(mut self) -> anyhow::Result<()> {
        match self.sandbox.take() {
            Some(sandbox) => sandbox.close().await,
            None => Ok(()),
        }
    }
}
