//! Saved plan files (`plan --out FILE`): the plan, the provider entries it needs (environment variable
//! names only, never secrets), the spec's digest, and a digest over the whole content so that an edited
//! file is refused.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Plan;
use crate::spec::ProviderConfig;

/// The `kind` field of a plan file.
pub const KIND: &str = "phonefleet-plan";

/// A plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always `"1"` for this layout.
    pub format_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// The phonefleet version that wrote it.
    pub phonefleet_version: String,
    /// The spec file as named on the command line.
    pub spec_path: String,
    /// `sha256:` digest of the spec file's bytes.
    pub spec_digest: String,
    /// Made against the simulator (`--simulate`): apply it with `--simulate` too.
    pub simulated: bool,
    /// Provider entries of the phones in the plan.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// The plan itself.
    pub plan: Plan,
    /// `sha256:` over the canonical JSON of every other field.
    #[serde(default)]
    pub digest: String,
}

fn content_digest(value: &serde_json::Value) -> String {
    let mut v = value.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("digest");
    }
    // serde_json's map is ordered by key, so this text is canonical.
    let text = serde_json::to_string(&v).expect("a JSON value serializes");
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

impl SavedPlan {
    /// Seal the plan: compute the digest.
    pub fn sealed(mut self) -> SavedPlan {
        self.digest.clear();
        let value = serde_json::to_value(&self).expect("a plan serializes");
        self.digest = content_digest(&value);
        self
    }

    /// Write the file.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(path, text)
            .with_context(|| format!("cannot write the plan to {}", path.display()))
    }

    /// Read a plan file, refusing one whose content does not match its digest.
    pub fn read(path: &Path) -> anyhow::Result<SavedPlan> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the plan file {}", path.display()))?;
        Self::parse(&bytes).with_context(|| format!("{} is not a usable plan file", path.display()))
    }

    /// Parse and check plan file bytes.
    pub fn parse(bytes: &[u8]) -> anyhow::Result<SavedPlan> {
        let value: serde_json::Value = serde_json::from_slice(bytes).context("not JSON")?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
            bail!("not a phonefleet plan (no \"kind\": \"{KIND}\")");
        }
        match value.get("format_version").and_then(|k| k.as_str()) {
            Some("1") => {}
            other => {
                bail!("plan format version {other:?} is not supported; this phonefleet reads \"1\"")
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
