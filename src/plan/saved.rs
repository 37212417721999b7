//! Saved plan files (`plan --out FILE`): the plan, the provider entries it needs (environment variable
//! names only, never secrets), the spec's path and digest, and a digest over the whole content.
//!
//! The content digest only catches a damaged or hand-edited file: anyone can recompute it, so it is no
//! signature. What makes a saved plan safe to apply is [`super::verify`]: the spec it names must be
//! unchanged, and everything that runs is derived again from that spec.
//!
//! Writing never clobbers: `--out` refuses the spec itself, a symbolic link, or any existing file that is
//! not a phonefleet plan, and the file is replaced whole (written aside, then renamed).

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

    /// Write the file, replacing it whole (see [`check_out_path`] for what it refuses to replace).
    pub fn write(&self, path: &Path, spec: &Path) -> anyhow::Result<()> {
        check_out_path(path, spec)?;
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map_or_else(|| "plan".to_owned(), |n| n.to_string_lossy().into_owned());
        let aside = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&aside)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(text.as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&aside, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&aside);
        }
        written.with_context(|| format!("cannot write the plan to {}", path.display()))
    }

    /// Read a plan file, refusing one whose content does not match its digest.
    pub fn read(path: &Path) -> anyhow::Result<SavedPlan> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the plan file {}", path.display()))?;
        Self::parse(&bytes).with_context(|| format!("{} is not a usable plan file", path.display()))
    }

    /// Parse and check plan file bytes.
    pub fn parse(bytes: &[u8]) -> anyhow::Result<SavedPlan> {
        if let Some(why) = damaged_plan(bytes) {
            bail!("a damaged or truncated phonefleet plan ({why}); make a new plan");
        }
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
    // A plan is a few MB at most per 10,000 phones; anything far larger is not one.
    let is_plan = meta.len() < 1 << 30 && std::fs::read(path).is_ok_and(|b| looks_like_plan(&b));
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
