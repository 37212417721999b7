//! Saved plan files (`plan --out FILE`), format "2": a wire type of its own, holding what `apply` needs to
//! check the plan against the spec and the fleet, and nothing more. Never an internal type.
//!
//! What a file holds: when it was made; the spec's path and digest; per provider its kind, its effective
//! endpoint and a digest of its spec entry; per phone the actions, the property *keys* it changes, what
//! a reviewer saw (sensitive values masked) and two keyed digests: of what was observed and of what the
//! spec declares; the batches as ids; the guard verdicts; a content digest and, per provider, a seal.
//!
//! What it never holds: a secret, or a sensitive property value (live or desired), in any form. The
//! keyed digests and seals use a [`PlanKey`] derived from the provider's credentials, which the file
//! does not hold and `apply` has anyway: a reader of the file cannot test a guess (an 11-digit phone
//! number against an unkeyed hash), and cannot re-seal an edited file. A rotated credential makes an
//! open plan unusable (its seal no longer verifies): make a new plan.
//!
//! The content digest only catches a damaged file; the seal catches an edited one; what makes a
//! saved plan safe to apply is still [`super::verify`]: everything that runs is derived again from the
//! reviewed spec and the phones as they are now.
//!
//! Writing never clobbers: `--out` refuses the spec itself, a symbolic link, or any existing file that is
//! not a phonefleet plan, and the file is replaced whole ([`crate::fs::write_atomic`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Batch, GuardCheck, PhoneView, Plan};
use crate::spec::{DesiredPhone, ProviderConfig, ProviderKind};

/// The `kind` field of a plan file.
pub const KIND: &str = "phonefleet-plan";

/// The format this phonefleet writes and reads.
pub const FORMAT: &str = "2";

/// The largest plan file read (a 100,000-phone plan is about 40 MiB).
pub const MAX_PLAN_BYTES: u64 = 64 * 1024 * 1024;

/// A key for one provider's digests and seal, derived from its credentials; never written anywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct PlanKey([u8; 32]);

impl std::fmt::Debug for PlanKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlanKey(***)")
    }
}

impl PlanKey {
    /// Derive the key from secret parts (a token; an AK and SK; an app id and API key).
    pub fn derive(parts: &[&str]) -> PlanKey {
        let mut mac = <Hmac<Sha256>>::new_from_slice(b"phonefleet plan key, format 2")
            .expect("HMAC takes any key length");
        for p in parts {
            mac.update(&(p.len() as u64).to_le_bytes());
            mac.update(p.as_bytes());
        }
        PlanKey(mac.finalize().into_bytes().into())
    }

    /// `hmac-sha256:<hex>` of `what` and `data`.
    pub fn mac(&self, what: &str, data: &[u8]) -> String {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(what.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The keyed digest of what was observed of a phone ([`super::fingerprint`]).
    pub fn observed(&self, fingerprint: &str) -> String {
        self.mac("observed", fingerprint.as_bytes())
    }

    /// The keyed digest of a phone's device identity (a reset changes it).
    pub fn identity(&self, identity: &str) -> String {
        self.mac("identity", identity.as_bytes())
    }

    /// The keyed digest of what the spec declares for a phone.
    pub fn desired(&self, d: &DesiredPhone) -> String {
        self.mac(
            "desired",
            &serde_json::to_vec(d).expect("a declared phone serializes"),
        )
    }
}

/// A plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Always [`KIND`].
    pub kind: String,
    /// Always [`FORMAT`].
    pub format_version: String,
    /// The phonefleet version that wrote it.
    pub phonefleet_version: String,
    /// When the plan was made, in seconds since the Unix epoch (`apply --max-plan-age` refuses old ones).
    pub created_at: u64,
    /// The spec as named on the command line.
    pub spec_path: String,
    /// `sha256:` digest of the spec (its file, or a directory's files) when the plan was made: shown,
    /// not required (a change elsewhere in the spec leaves the plan applicable).
    pub spec_digest: String,
    /// `sha256:` of the spec's `safety`, which must be unchanged.
    pub safety: String,
    /// Made against the simulator (`--simulate`): apply it with `--simulate` too.
    pub simulated: bool,
    /// `--canary N` of the plan.
    pub canary: Option<usize>,
    /// `--restart-pending` of the plan: applied with the same, so its restarts are derived again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restart_pending: bool,
    /// The moment the plan was made for (Unix seconds; `plan --at`, or when it was made), kept when a
    /// phone follows a schedule: apply binds scheduled phones as their schedule wanted then, and a
    /// phone whose schedule wants another state now makes the plan stale for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// `--restart SELECTOR` of the plan: the (provider, phone id) it restarts once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart: Vec<(String, String)>,
    /// `--reset SELECTOR` of the plan: the (provider, phone id) it resets once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reset: Vec<(String, String)>,
    /// The selectors the plan was made with (`--target growth-*`, `--exclude team=night`): shown, so
    /// that a reviewer knows the plan covers part of the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<String>,
    /// The providers of the phones the plan changes.
    pub providers: BTreeMap<String, FileProvider>,
    /// The phones the plan changes.
    pub phones: Vec<FilePhone>,
    /// The calls, in order.
    pub batches: Vec<FileBatch>,
    /// The guard rails' verdicts.
    pub guards: Vec<FileGuard>,
    /// How many phones were blocked when the plan was made (nothing is planned for them, so they are not
    /// among `phones`; `show` says how many there were).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub blocked: usize,
    /// `sha256:` over the canonical JSON of every other field but `seals`.
    pub digest: String,
    /// Per provider: the digest sealed with its [`PlanKey`].
    pub seals: BTreeMap<String, String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One provider of a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileProvider {
    /// `huawei-cph`, `geelark` or `koophone`.
    pub kind: ProviderKind,
    /// Where its calls go (for the reader; the spec decides).
    pub endpoint: String,
    /// `sha256:` of the spec's entry for it (endpoint, region, project, variable names; no secret).
    pub entry: String,
}

/// One phone of a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePhone {
    /// Provider name.
    pub provider: String,
    /// Phone id.
    pub phone_id: String,
    /// Name from the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For a phone the plan resets: the keyed digest of its device identity when the plan was made
    /// (CPH `imei`); another one at apply means it was reset since, and it is not reset again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The pool that declares it, if one does (its fate follows from its id and actions: `new:`
    /// ids are created, a `delete` deletes, others are members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Actions in order: `set_properties`, `set_traffic:routing`, `stop`, `start`, `restart`.
    pub actions: Vec<String>,
    /// Property keys it sets (never values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// What a reviewer saw as before (sensitive values masked).
    pub before: PhoneView,
    /// What a reviewer saw as after (sensitive values masked).
    pub after: PhoneView,
    /// Remarks shown with the phone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Keyed digest of what was observed.
    pub observed: String,
    /// Keyed digest of what the spec declared.
    pub desired: String,
}

/// One call of a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBatch {
    /// Provider name.
    pub provider: String,
    /// `set_properties`, `set_traffic:routing`, `stop`, `start` or `restart`.
    pub action: String,
    /// The phones, in order.
    pub phone_ids: Vec<String>,
    /// Part of the canary.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
}

/// One guard verdict of a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileGuard {
    /// `max_changes`, `max_stop_percent` or `protect`.
    pub guard: String,
    /// For per-provider guards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `key=value`, for `max_stop_percent_by_label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The limit.
    pub limit: u64,
    /// What the plan does.
    pub planned: u64,
    /// `max_stop_percent`: the stops and the declared phones the percentage is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<(u64, u64)>,
    /// `protect`: the protected phones the plan would stop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
}

/// The wire name of an action: `set_traffic:routing` carries its route.
pub fn action_name(a: &super::Action) -> String {
    match a {
        super::Action::SetTraffic(t) => format!("set_traffic:{}", t.as_str()),
        other => other.name().to_owned(),
    }
}

/// The action a wire name of [`action_name`] stands for.
pub fn action_from_name(name: &str) -> Option<super::Action> {
    match name.split_once(':') {
        Some(("set_traffic", route)) => {
            crate::spec::Traffic::parse(route).map(super::Action::SetTraffic)
        }
        _ => super::Action::from_name(name, None),
    }
}

impl FileBatch {
    /// The wire form of a batch.
    pub fn of(b: &Batch) -> FileBatch {
        FileBatch {
            provider: b.provider.clone(),
            action: action_name(&b.action),
            phone_ids: b.ids().map(str::to_owned).collect(),
            canary: b.canary,
        }
    }
}

impl FileGuard {
    /// The wire form of a verdict.
    pub fn of(g: &GuardCheck) -> FileGuard {
        FileGuard {
            guard: g.guard.name().to_owned(),
            provider: g.provider.clone(),
            label: g.label.clone(),
            limit: g.limit,
            planned: g.planned,
            of: g.of,
            phones: g.phones.clone(),
        }
    }

    /// The verdict again, for rendering a plan file (`show`); `None` for a guard this phonefleet does
    /// not know.
    pub fn check(&self) -> Option<GuardCheck> {
        Some(GuardCheck {
            guard: super::guard::Guard::from_name(&self.guard)?,
            provider: self.provider.clone(),
            label: self.label.clone(),
            limit: self.limit,
            planned: self.planned,
            of: self.of,
            phones: self.phones.clone(),
        })
    }
}

/// Where a provider's calls go, as a plan file records it.
pub fn endpoint_of(config: &ProviderConfig, simulated: bool) -> String {
    if simulated {
        return "(the local simulator)".to_owned();
    }
    crate::capability::endpoint_of(config).unwrap_or_default()
}

/// `sha256:` of the spec's `safety` (guard rails and sensitive keys): a plan binds to it.
pub fn safety_digest(safety: &crate::spec::Safety) -> String {
    let bytes = serde_json::to_vec(safety).expect("safety serializes");
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `sha256:` of a provider's spec entry.
pub fn entry_digest(config: &ProviderConfig) -> String {
    let bytes = serde_json::to_vec(config).expect("a provider entry serializes");
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl FilePhone {
    /// What becomes of it in its pool, by its id and actions.
    pub fn fate(&self) -> crate::spec::Fate {
        use crate::spec::Fate;
        if self.phone_id.starts_with(crate::spec::NEW_ID_PREFIX) {
            Fate::Create
        } else if self.actions.iter().any(|a| a == "delete") {
            Fate::Delete
        } else {
            Fate::Member
        }
    }
}

/// The wire form of a plan's phones with changes (blocked ones are not applied, so not kept).
pub fn phones_of(plan: &Plan, keys: &BTreeMap<String, PlanKey>) -> anyhow::Result<Vec<FilePhone>> {
    let shown = plan.sensitive.mask(plan);
    let mut out = Vec::new();
    for (c, masked) in plan.changes.iter().zip(&shown.changes) {
        if c.actions.is_empty() {
            continue;
        }
        let Some(key) = keys.get(&c.provider) else {
            bail!("no plan key for provider `{}`", c.provider);
        };
        out.push(FilePhone {
            provider: c.provider.clone(),
            phone_id: c.phone_id.clone(),
            name: c.name.clone(),
            pool: c.desired.pool.as_ref().map(|p| p.pool.clone()),
            identity: c
                .actions
                .contains(&super::Action::Reset)
                .then(|| c.identity.as_deref().map(|i| key.identity(i)))
                .flatten(),
            actions: c.actions.iter().map(action_name).collect(),
            keys: if c.actions.iter().any(super::Action::carries_properties) {
                c.desired
                    .properties
                    .iter()
                    .filter(|(k, v)| !v.matches(c.before.properties.get(*k)))
                    .map(|(k, _)| k.clone())
                    .collect()
            } else {
                Vec::new()
            },
            before: masked.before.clone(),
            after: masked.after.clone(),
            notes: masked.notes.clone(),
            observed: key.observed(&c.fingerprint),
            desired: key.desired(&c.desired),
        });
    }
    Ok(out)
}

fn content_digest(value: &serde_json::Value) -> String {
    let mut v = value.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("digest");
        map.remove("seals");
    }
    // serde_json's map is ordered by key, so this text is canonical.
    let text = serde_json::to_string(&v).expect("a JSON value serializes");
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

impl PlanFile {
    /// Compute the content digest, leaving the seals as they are (which then no longer verify, unless
    /// nothing changed).
    pub fn digested(mut self) -> PlanFile {
        let value = serde_json::to_value(&self).expect("a plan file serializes");
        self.digest = content_digest(&value);
        self
    }

    /// Compute the digest and seal it with each provider's key.
    pub fn sealed(self, keys: &BTreeMap<String, PlanKey>) -> anyhow::Result<PlanFile> {
        let mut this = self.digested();
        this.seals.clear();
        for name in this.providers.keys() {
            let Some(key) = keys.get(name) else {
                bail!("no plan key for provider `{name}`");
            };
            this.seals
                .insert(name.clone(), key.mac("seal", this.digest.as_bytes()));
        }
        Ok(this)
    }

    /// Providers whose seal does not verify with their key now (credentials rotated, or the file edited).
    pub fn unsealed(&self, keys: &BTreeMap<String, PlanKey>) -> Vec<String> {
        self.providers
            .keys()
            .filter(|name| {
                let want = keys
                    .get(*name)
                    .map(|k| k.mac("seal", self.digest.as_bytes()));
                want.is_none() || self.seals.get(*name) != want.as_ref()
            })
            .cloned()
            .collect()
    }

    /// Write the file, replacing it whole (see [`check_out_path`] for what it refuses to replace).
    pub fn write(&self, path: &Path, spec: &Path) -> anyhow::Result<()> {
        check_out_path(path, spec)?;
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        crate::fs::write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write the plan to {}", path.display()))
    }

    /// Read a plan file (at most [`MAX_PLAN_BYTES`], a regular file), refusing one that is damaged.
    pub fn read(path: &Path) -> anyhow::Result<PlanFile> {
        let bytes = crate::fs::read_capped(path, MAX_PLAN_BYTES)
            .map_err(|e| anyhow::anyhow!("cannot read the plan file {}: {e}", path.display()))?;
        Self::parse(&bytes).with_context(|| format!("{} is not a usable plan file", path.display()))
    }

    /// Parse plan file bytes and check the content digest (the seals need the keys: [`Self::unsealed`]).
    pub fn parse(bytes: &[u8]) -> anyhow::Result<PlanFile> {
        if let Some(why) = damaged_plan(bytes) {
            bail!("a damaged or truncated phonefleet plan ({why}); make a new plan");
        }
        let value: serde_json::Value = serde_json::from_slice(bytes).context("not JSON")?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
            bail!("not a phonefleet plan (no \"kind\": \"{KIND}\")");
        }
        match value.get("format_version").and_then(|k| k.as_str()) {
            Some(FORMAT) => {}
            Some("1") => bail!(
                "this plan file has format \"1\", written by an older phonefleet; this one reads only \
                 format \"{FORMAT}\" (which keeps no sensitive value). Make a new plan with `phonefleet \
                 plan --out`"
            ),
            other => {
                bail!(
                    "plan format version {other:?} is not supported; this phonefleet reads \"{FORMAT}\". \
                     Make a new plan"
                )
            }
        }
        let recorded = value
            .get("digest")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .to_owned();
        if recorded != content_digest(&value) {
            bail!(
                "the plan file was edited after it was written (its digest does not match); make a new plan"
            );
        }
        serde_json::from_value(value).context("the plan file's content does not match its format")
    }

    /// How old the plan is at `now` (seconds since the Unix epoch); a plan from the future is age 0.
    pub fn age(&self, now: u64) -> u64 {
        now.saturating_sub(self.created_at)
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Refuse to write a plan over the spec, through a symbolic link, over a directory, or over an existing
/// file that is not a phonefleet plan. Called before planning too, so that a refusal costs no calls.
pub fn check_out_path(path: &Path, spec: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    // A `.yaml` file written into a spec directory would become part of the spec.
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let inside = spec.is_dir()
        && matches!(
            (std::fs::canonicalize(parent), std::fs::canonicalize(spec)),
            (Ok(a), Ok(b)) if a == b
        );
    if yaml && inside {
        bail!(
            "refusing to write the plan to {shown}: a .yaml file in the spec directory would become part \
             of the spec; name a .json file or another directory"
        );
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        bail!(
            "refusing to write the plan to {shown}: it is a symbolic link (phonefleet does not write through links)"
        );
    }
    if meta.is_dir() {
        bail!("refusing to write the plan to {shown}: it is a directory");
    }
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(path, spec) {
        bail!("refusing to write the plan to {shown}: it is the spec itself; name another file");
    }
    let is_plan = crate::fs::read_capped(path, MAX_PLAN_BYTES).is_ok_and(|b| looks_like_plan(&b));
    if !is_plan {
        bail!(
            "refusing to write the plan to {shown}: the file exists and is not a phonefleet plan; \
             remove it or name another file"
        );
    }
    Ok(())
}

/// A plan file that is not whole: it starts like a plan (a JSON object naming the plan kind) but does
/// not parse. `Some(why)` for such a file, `None` for anything else.
pub fn damaged_plan(bytes: &[u8]) -> Option<String> {
    let head = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if head != Some(&b'{') {
        return None;
    }
    let start = &bytes[..bytes.len().min(4096)];
    let names_kind = String::from_utf8_lossy(start).contains(&format!("\"{KIND}\""));
    if !names_kind {
        return None;
    }
    serde_json::from_slice::<serde_json::Value>(bytes)
        .err()
        .map(|e| e.to_string())
}

/// Whether a file looks like a saved plan rather than a spec (JSON object with the plan kind).
pub fn looks_like_plan(bytes: &[u8]) -> bool {
    let head = bytes.iter().find(|b| !b.is_ascii_whitespace());
    head == Some(&b'{')
        && serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(|k| k == KIND))
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_digests_need_the_key_and_differ_between_keys() {
        let a = PlanKey::derive(&["token-aaaaaa"]);
        let b = PlanKey::derive(&["token-bbbbbb"]);
        assert_eq!(
            a.observed("fp"),
            PlanKey::derive(&["token-aaaaaa"]).observed("fp")
        );
        assert_ne!(a.observed("fp"), b.observed("fp"));
        assert_ne!(
            a.observed("fp"),
            a.mac("desired", b"fp"),
            "domains are separate"
        );
        // Parts are length-prefixed: ("ab", "c") is not ("a", "bc").
        assert_ne!(PlanKey::derive(&["ab", "c"]), PlanKey::derive(&["a", "bc"]));
        assert_eq!(format!("{a:?}"), "PlanKey(***)");
    }

    #[test]
    fn action_names_read_back() {
        use super::super::Action;
        for a in [
            Action::SetProperties,
            Action::SetTraffic(crate::spec::Traffic::Routing),
            Action::Stop,
            Action::Start,
            Action::Restart,
            Action::Rename,
        ] {
            assert_eq!(action_from_name(&action_name(&a)), Some(a));
        }
        assert_eq!(action_from_name("set_traffic:sideways"), None);
    }
}
