//! The simulated fleet: phones of the three providers, CPH jobs, call statistics, the seeded random
//! source for faults, and fixtures (the YAML a simulator starts from, also its saved form).
//!
//! Time is real and lazy: a phone in transition carries the instant it settles, and every read settles
//! what is due first, so no background task is needed and 100,000 phones cost nothing while idle.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use std::time::Duration;
use tokio::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::spec::{PowerState, ProviderKind};
use crate::state::raw_for;

/// A phone's status in a fixture: `running`, `stopped`, or a raw provider code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FixtureStatus {
    /// `running` or `stopped`.
    Named(PowerState),
    /// A raw code such as 7, -7 or 3.
    Raw(i64),
}

impl<'de> Deserialize<'de> for FixtureStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FixtureStatus, D::Error> {
        struct Status;
        const WANT: &str = "`running`, `stopped`, or a provider's raw status code (a whole number such as 7 or -7)";
        impl serde::de::Visitor<'_> for Status {
            type Value = FixtureStatus;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(WANT)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FixtureStatus, E> {
                Ok(FixtureStatus::Raw(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FixtureStatus, E> {
                i64::try_from(v)
                    .map(FixtureStatus::Raw)
                    .map_err(|_| E::custom(format!("status {v} is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FixtureStatus, E> {
                match v {
                    "running" => Ok(FixtureStatus::Named(PowerState::Running)),
                    "stopped" => Ok(FixtureStatus::Named(PowerState::Stopped)),
                    other => Err(E::custom(format!("status `{other}` is not one of {WANT}"))),
                }
            }
        }
        d.deserialize_any(Status)
    }
}

/// Why a GeeLark phone refuses to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Busy {
    /// Remotely connected (43006).
    Remote,
    /// Executing a task (43005).
    Task,
}

/// One phone of a fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixturePhone {
    /// Which provider kind serves it.
    pub provider: ProviderKind,
    /// Phone id.
    pub id: String,
    /// huawei-cph project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Starting status.
    pub status: FixtureStatus,
    /// huawei-cph route (`direct` when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<String>,
    /// huawei-cph properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<BTreeMap<String, serde_json::Value>>,
    /// geelark: refuse to stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<Busy>,
    /// huawei-cph: every change to this phone is refused inside `jobs[]` with this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_error: Option<JobError>,
    /// Every read of this phone fails, however often it is tried: huawei-cph answers its detail call
    /// with HTTP 500, geelark a status call holding it with HTTP 500, koophone a status call holding it
    /// with `KOOPHONE.API.1001` (no permission on this instance, HTTP 401).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreadable: bool,
    /// koophone: a status call holding this instance answers this code with HTTP 200
    /// (`KOOPHONE.API.2004` frozen, `2005` restoring, `2006` backing up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub koophone_code: Option<String>,
    /// huawei-cph: every change to this phone is accepted, its job runs, and then fails (status -1)
    /// with this error; the change is not made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_fails: Option<JobError>,
    /// The name the provider lists (CPH `phone_name`, GeeLark `serialName`, KooPhone
    /// `instance_name`); a made-up one from the id when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// huawei-cph: the detail answer's `custom_property` (a string map another tool, or phonefleet's
    /// restart mark, keeps with the phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_property: Option<BTreeMap<String, String>>,
    /// geelark: its group's name (the group exists from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// geelark: its tags' names (the tags exist from the start).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// geelark: its remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// geelark: its proxy, as the phone list shows it (`type`, `server`, `port`, `username`,
    /// `password`, the password in plain text as GeeLark's docs show it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<serde_json::Value>,
    /// huawei-cph: the image it runs (`image_id`; `sim-image` when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// How many times it was reset: its device identity (CPH `imei`, GeeLark `equipmentInfo`) is made
    /// from it, so a reset phone comes back as another device.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resets: u32,
    /// geelark: its model cannot be reset (`phone/newOne` answers 43015).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_reset: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A per-phone error the simulated CPH puts in `jobs[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobError {
    /// e.g. `CPS.0021`.
    pub code: String,
    /// The message.
    pub message: String,
}

/// Credentials the simulator demands, per provider kind (when given).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureCredentials {
    /// Huawei CPH: token and/or AK/SK.
    #[serde(
        default,
        rename = "huawei-cph",
        skip_serializing_if = "Option::is_none"
    )]
    pub huawei_cph: Option<CredentialSet>,
    /// GeeLark: bearer token and/or app id + API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geelark: Option<CredentialSet>,
    /// KooPhone: token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub koophone: Option<CredentialSet>,
}

/// Secrets a simulated provider accepts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSet {
    /// Token (`X-Auth-Token` or Bearer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Huawei access key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ak: Option<String>,
    /// Huawei secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sk: Option<String>,
    /// Huawei security token of a temporary AK/SK: required as `X-Security-Token` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_token: Option<String>,
    /// GeeLark app id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// GeeLark API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// What a simulator starts from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The phones, in creation order (CPH lists newest first).
    #[serde(default)]
    pub phones: Vec<FixturePhone>,
    /// Required credentials; any credential is accepted for a provider left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<FixtureCredentials>,
    /// geelark: how many phones the team's plan allows (`phone/addNew` answers 44002 beyond it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geelark_plan_limit: Option<usize>,
    /// huawei-cph: images the account can use beyond `sim-image` and those its phones run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cph_images: Vec<String>,
}

impl Fixture {
    /// Read a fixture file (YAML or JSON), or a fleet spec (a file with `version`, or a directory):
    /// then every phone it declares, seeded as `--simulate` does ([`super::seed`]).
    pub fn read(path: &std::path::Path) -> anyhow::Result<Fixture> {
        use anyhow::Context;
        if path.is_dir() {
            return Ok(super::seed::from_spec(&crate::spec::load_file(path)?.spec));
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read fixture {}", path.display()))?;
        // A spec has a top-level `version`; the word alone is a cheap first test (the saved sandbox of a
        // large fleet is not parsed twice).
        let is_spec = text.contains("version")
            && serde_yaml::from_str::<serde_yaml::Value>(&text)
                .ok()
                .and_then(|v| v.as_mapping().map(|m| m.contains_key("version")))
                .unwrap_or(false);
        if is_spec {
            return Ok(super::seed::from_spec(&crate::spec::load_file(path)?.spec));
        }
        serde_yaml::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid simulator fixture (nor a fleet spec, which starts with `version: 1`)",
                path.display()
            )
        })
    }
}

/// One simulated phone.
#[derive(Debug, Clone)]
pub(crate) struct SimPhone {
    pub(crate) kind: ProviderKind,
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) status: i64,
    pub(crate) traffic: String,
    pub(crate) properties: serde_json::Map<String, serde_json::Value>,
    pub(crate) busy: Option<Busy>,
    pub(crate) job_error: Option<JobError>,
    pub(crate) unreadable: bool,
    pub(crate) koophone_code: Option<String>,
    pub(crate) job_fails: Option<JobError>,
    pub(crate) name: Option<String>,
    pub(crate) custom_property: Option<BTreeMap<String, String>>,
    /// geelark: its group's name (`None`: ungrouped), its tags' names, its remark.
    pub(crate) group: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) remark: String,
    pub(crate) proxy: Option<serde_json::Value>,
    pub(crate) image: Option<String>,
    pub(crate) resets: u32,
    pub(crate) no_reset: bool,
    /// Status to reach, and when.
    pub(crate) transition: Option<(Instant, i64)>,
    /// Route to take, and when (a phones-traffic job in flight).
    pub(crate) pending_traffic: Option<(Instant, String)>,
    /// Properties to merge, and when (a batch-update-property job in flight).
    pub(crate) pending_properties: Vec<(Instant, serde_json::Map<String, serde_json::Value>)>,
}

impl SimPhone {
    /// A phone of `kind` with this id, status and name, and nothing else set.
    pub(crate) fn new(kind: ProviderKind, id: &str, status: i64, name: Option<String>) -> SimPhone {
        SimPhone {
            kind,
            id: id.to_owned(),
            project_id: String::new(),
            status,
            traffic: "direct".into(),
            properties: Default::default(),
            busy: None,
            job_error: None,
            unreadable: false,
            koophone_code: None,
            job_fails: None,
            name,
            custom_property: None,
            group: None,
            tags: Vec::new(),
            remark: String::new(),
            proxy: None,
            image: None,
            resets: 0,
            no_reset: false,
            transition: None,
            pending_traffic: None,
            pending_properties: Vec::new(),
        }
    }

    /// Apply every change that is due.
    pub(crate) fn settle(&mut self, now: Instant) {
        if let Some((at, to)) = self.transition
            && at <= now
        {
            self.status = to;
            self.transition = None;
        }
        if let Some((at, t)) = &self.pending_traffic
            && *at <= now
        {
            self.traffic = t.clone();
            self.pending_traffic = None;
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending_properties)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        for (_, props) in due {
            self.properties.extend(props);
        }
        self.pending_properties = later;
    }

    /// Settle everything at once, as if all the time in the world had passed.
    fn settle_all(&mut self) {
        self.settle(Instant::now() + Duration::from_secs(365 * 86_400));
    }

    fn to_fixture(&self) -> FixturePhone {
        let named = [PowerState::Running, PowerState::Stopped]
            .into_iter()
            .find(|p| {
                raw_for(self.kind, *p) == self.status
                    && !(self.kind == ProviderKind::Koophone && self.status == 5)
            });
        FixturePhone {
            provider: self.kind,
            id: self.id.clone(),
            project_id: (self.kind == ProviderKind::HuaweiCph).then(|| self.project_id.clone()),
            status: named.map_or(FixtureStatus::Raw(self.status), FixtureStatus::Named),
            traffic: (self.kind == ProviderKind::HuaweiCph).then(|| self.traffic.clone()),
            properties: (self.kind == ProviderKind::HuaweiCph && !self.properties.is_empty())
                .then(|| self.properties.clone().into_iter().collect()),
            busy: self.busy,
            job_error: self.job_error.clone(),
            unreadable: self.unreadable,
            koophone_code: self.koophone_code.clone(),
            job_fails: self.job_fails.clone(),
            name: self.name.clone(),
            custom_property: self.custom_property.clone(),
            group: self.group.clone(),
            tags: self.tags.clone(),
            remark: (!self.remark.is_empty()).then(|| self.remark.clone()),
            proxy: self.proxy.clone(),
            image: self.image.clone(),
            resets: self.resets,
            no_reset: self.no_reset,
        }
    }
}

/// GeeLark's groups or tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registry {
    Group,
    Tag,
}

/// A CPH job.
#[derive(Debug, Clone)]
pub(crate) struct SimJob {
    pub(crate) job_id: String,
    /// The change request that made it (ShowJob answers with it).
    pub(crate) request_id: String,
    pub(crate) phone_id: String,
    pub(crate) begin: u64,
    pub(crate) done_at: Instant,
    /// The job fails with this error when it ends.
    pub(crate) fails: Option<JobError>,
}

/// One change call as the simulator received it, for tests of the client's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallLog {
    /// The documented route.
    pub route: String,
    /// The phones it named.
    pub ids: Vec<String>,
    /// Jobs still running when it arrived.
    pub jobs_running: usize,
    /// Of those, the jobs of the phones it named.
    pub jobs_running_for_ids: usize,
}

/// Everything behind the simulator's one lock.
#[derive(Debug)]
pub(crate) struct World {
    /// Phones by provider kind, then id (two levels, so lookups by `&str` allocate nothing).
    pub(crate) phones: HashMap<ProviderKind, HashMap<String, SimPhone>>,
    /// Creation order per (kind, project) — CPH lists newest first.
    pub(crate) order: HashMap<(ProviderKind, String), Vec<String>>,
    pub(crate) jobs: HashMap<String, SimJob>,
    pub(crate) jobs_by_request: HashMap<String, Vec<String>>,
    pub(crate) stats: BTreeMap<String, u64>,
    pub(crate) total: u64,
    /// Every change call, in arrival order.
    pub(crate) log: Vec<CallLog>,
    /// The fault dice: one roll set per provider call, in arrival order, so a seed repeats its faults.
    pub(crate) rng: StdRng,
    /// Ids draw from their own source, so that answers with ids do not shift the dice.
    id_rng: StdRng,
    next_id: u64,
    pub(crate) credentials: FixtureCredentials,
    /// geelark: groups and tags, id -> name.
    pub(crate) groups: BTreeMap<String, String>,
    pub(crate) tags: BTreeMap<String, String>,
    /// geelark: the plan's phone limit.
    pub(crate) geelark_plan_limit: Option<usize>,
    /// geelark: the proxy registry, as `proxy/list` shows it.
    pub(crate) proxies: Vec<serde_json::Value>,
    /// huawei-cph: images listed beyond those of its phones.
    pub(crate) cph_images: Vec<String>,
}

impl World {
    pub(crate) fn new(fixture: Fixture, seed: u64) -> World {
        let mut w = World {
            phones: HashMap::new(),
            order: HashMap::new(),
            jobs: HashMap::new(),
            jobs_by_request: HashMap::new(),
            stats: BTreeMap::new(),
            total: 0,
            log: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            id_rng: StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
            next_id: seed.wrapping_mul(1_000_003),
            credentials: fixture.credentials.unwrap_or_default(),
            groups: BTreeMap::new(),
            tags: BTreeMap::new(),
            geelark_plan_limit: fixture.geelark_plan_limit,
            proxies: Vec::new(),
            cph_images: fixture.cph_images.clone(),
        };
        for p in fixture.phones {
            // A fixture's groups and tags exist from the start.
            if let Some(g) = &p.group {
                w.ensure(Registry::Group, g);
            }
            for t in &p.tags {
                w.ensure(Registry::Tag, t);
            }
            let status = match p.status {
                FixtureStatus::Named(s) => raw_for(p.provider, s),
                FixtureStatus::Raw(r) => r,
            };
            let project = if p.provider == ProviderKind::HuaweiCph {
                p.project_id.unwrap_or_default()
            } else {
                String::new()
            };
            w.order
                .entry((p.provider, project.clone()))
                .or_default()
                .push(p.id.clone());
            w.phones.entry(p.provider).or_default().insert(
                p.id.clone(),
                SimPhone {
                    kind: p.provider,
                    id: p.id,
                    project_id: project,
                    status,
                    traffic: p.traffic.unwrap_or_else(|| "direct".into()),
                    properties: p.properties.unwrap_or_default().into_iter().collect(),
                    busy: p.busy,
                    job_error: p.job_error,
                    unreadable: p.unreadable,
                    koophone_code: p.koophone_code,
                    job_fails: p.job_fails,
                    name: p.name,
                    custom_property: p.custom_property,
                    group: p.group,
                    tags: p.tags,
                    remark: p.remark.unwrap_or_default(),
                    proxy: p.proxy,
                    image: p.image,
                    resets: p.resets,
                    no_reset: p.no_reset,
                    transition: None,
                    pending_traffic: None,
                    pending_properties: Vec::new(),
                },
            );
        }
        w
    }

    /// The id of the group or tag `name`, made when it does not exist yet.
    pub(crate) fn ensure(&mut self, registry: Registry, name: &str) -> String {
        let found = self
            .registry(registry)
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id.clone());
        if let Some(id) = found {
            return id;
        }
        let id = self.new_id();
        self.registry_mut(registry)
            .insert(id.clone(), name.to_owned());
        id
    }

    /// Groups or tags, id -> name.
    pub(crate) fn registry(&self, registry: Registry) -> &BTreeMap<String, String> {
        match registry {
            Registry::Group => &self.groups,
            Registry::Tag => &self.tags,
        }
    }

    fn registry_mut(&mut self, registry: Registry) -> &mut BTreeMap<String, String> {
        match registry {
            Registry::Group => &mut self.groups,
            Registry::Tag => &mut self.tags,
        }
    }

    /// A fresh 32-hex-digit id.
    pub(crate) fn new_id(&mut self) -> String {
        self.next_id = self.next_id.wrapping_add(1);
        let salt: u64 = self.id_rng.random();
        format!("{:016x}{:016x}", self.next_id, salt)
    }

    /// A new phone, listed last.
    pub(crate) fn add(&mut self, p: SimPhone) {
        self.order
            .entry((p.kind, p.project_id.clone()))
            .or_default()
            .push(p.id.clone());
        self.phones
            .entry(p.kind)
            .or_default()
            .insert(p.id.clone(), p);
    }

    /// A phone deleted.
    pub(crate) fn remove(&mut self, kind: ProviderKind, id: &str) {
        if let Some(p) = self.phones.get_mut(&kind).and_then(|m| m.remove(id))
            && let Some(order) = self.order.get_mut(&(kind, p.project_id))
        {
            order.retain(|x| x != id);
        }
    }

    /// The phone, settled to now.
    pub(crate) fn phone(
        &mut self,
        kind: ProviderKind,
        id: &str,
        now: Instant,
    ) -> Option<&mut SimPhone> {
        let p = self.phones.get_mut(&kind)?.get_mut(id)?;
        p.settle(now);
        Some(p)
    }

    /// The phone as it was last settled.
    pub(crate) fn peek(&self, kind: ProviderKind, id: &str) -> Option<&SimPhone> {
        self.phones.get(&kind)?.get(id)
    }

    fn phone_count(&self) -> usize {
        self.phones.values().map(HashMap::len).sum()
    }

    /// Every phone, settled to now, in creation order per provider.
    pub(crate) fn all_phones(&mut self, now: Instant) -> Vec<SimPhone> {
        let mut keys: Vec<&(ProviderKind, String)> = self.order.keys().collect();
        keys.sort();
        let mut out = Vec::with_capacity(self.phone_count());
        for key in keys {
            for id in &self.order[key] {
                if let Some(p) = self.peek(key.0, id) {
                    let mut p = p.clone();
                    p.settle(now);
                    out.push(p);
                }
            }
        }
        out
    }

    /// The fleet as a fixture, every transition finished (how `--simulate` keeps it between runs).
    pub(crate) fn to_fixture(&self) -> Fixture {
        let mut keys: Vec<&(ProviderKind, String)> = self.order.keys().collect();
        keys.sort();
        let mut phones = Vec::with_capacity(self.phone_count());
        for key in keys {
            for id in &self.order[key] {
                if let Some(p) = self.peek(key.0, id) {
                    let mut p = p.clone();
                    p.settle_all();
                    phones.push(p.to_fixture());
                }
            }
        }
        let creds = self.credentials.clone();
        Fixture {
            phones,
            credentials: (creds != FixtureCredentials::default()).then_some(creds),
            geelark_plan_limit: self.geelark_plan_limit,
            cph_images: self.cph_images.clone(),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time.
pub(crate) fn utc_text(unix: u64) -> String {
    let s = crate::provider::signer::sdk_date(unix);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    )
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
