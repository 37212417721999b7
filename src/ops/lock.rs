//! One apply per provider account at a time on a machine. An account is its kind, endpoint and project;
//! its lock is a file in the user's runtime directory (`$XDG_RUNTIME_DIR/phonefleet/locks`, else the
//! cache directory), held with an advisory lock of the operating system, so a lock whose process is gone
//! is free again at once (the kernel lets go of it), without a stale-file dance. The file names its
//! holder (pid, command, since when) for the refusal a second apply prints.
//!
//! Between machines the CI's concurrency group is the lock; this one guards a runner or a laptop.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::spec::ProviderConfig;

/// Locks held until dropped.
#[derive(Debug)]
pub struct Held {
    _files: Vec<File>,
}

/// Where lock files live.
pub fn dir() -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("phonefleet").join("locks")
}

/// The account a provider entry names: kind, effective endpoint, project (or the simulator of this
/// directory, for `--simulate`).
pub fn account(config: &ProviderConfig, simulated: bool) -> String {
    if simulated {
        let here = std::env::current_dir().unwrap_or_default();
        return format!("simulator {}", here.display());
    }
    let endpoint = crate::capability::endpoint_of(config).unwrap_or_default();
    format!(
        "{} {} {}",
        config.kind,
        canonical(&endpoint),
        config.project_id.as_deref().unwrap_or("-")
    )
}

/// One spelling of an endpoint per account: host lower-case without a trailing dot, every loopback
/// form (`localhost`, `127.0.0.1`, `[::1]`) as one, the port always written (`:443` or not), no
/// trailing slash, no scheme (one port serves one of them). Two specs that spell one account apart
/// must not both hold "its" lock.
fn canonical(endpoint: &str) -> String {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return endpoint.trim_end_matches('/').to_ascii_lowercase();
    };
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host = if crate::spec::validate::is_loopback_host(&host) {
        "loopback".to_owned()
    } else {
        host
    };
    let port = url
        .port_or_known_default()
        .map_or_else(String::new, |p| format!(":{p}"));
    format!("{host}{port}{}", url.path().trim_end_matches('/'))
}

/// Take the locks at once or refuse naming the holder (`watch`: a heal never waits for a lock).
pub fn acquire_now(
    dir: &std::path::Path,
    providers: &BTreeMap<String, ProviderConfig>,
    simulated: bool,
    command: &str,
) -> anyhow::Result<Held> {
    // With no wait, `acquire` never sleeps: it finishes on its first poll.
    use futures::FutureExt;
    acquire(dir, providers, simulated, Duration::ZERO, command)
        .now_or_never()
        .expect("a lock taken without waiting never sleeps")
}

/// Take the lock of every account of `providers` in `dir` (the commands pass [`dir`]), in a fixed order;
/// wait up to `wait` for one held by another process (on the runtime's clock, polling every 100 ms),
/// then refuse naming the holder.
pub async fn acquire(
    dir: &std::path::Path,
    providers: &BTreeMap<String, ProviderConfig>,
    simulated: bool,
    wait: Duration,
    command: &str,
) -> anyhow::Result<Held> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the lock directory {}", dir.display()))?;
    let mut accounts: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, config) in providers {
        accounts
            .entry(account(config, simulated))
            .or_default()
            .push(name);
    }
    let mut files = Vec::new();
    for (account, names) in accounts {
        let id = hex::encode(&Sha256::digest(account.as_bytes())[..12]);
        let path = dir.join(format!("{id}.lock"));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = crate::redact::controls(holder.trim()).into_owned();
                    bail!(
                        "another apply is running against provider {} ({account}): {}; nothing was sent. \
                         Wait for it to finish, or pass --lock-timeout SECONDS to wait here{}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if holder.is_empty() {
                            "holder unknown".to_owned()
                        } else {
                            holder
                        },
                        if wait.is_zero() { "" } else { " longer" }
                    );
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", path.display()));
                }
            }
        }
        let since = crate::plan::saved::now();
        let note = format!(
            "held by pid {} (`phonefleet {command}`) since {} ({} UTC)",
            std::process::id(),
            since,
            crate::render::time::utc(since)
        );
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(note.as_bytes())?;
        file.flush()?;
        files.push(file);
    }
    Ok(Held { _files: files })
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn one_account_whatever_the_spelling() {
        for (a, b) in [
            ("http://127.0.0.1:8080", "http://localhost:8080/"),
            ("http://127.0.0.1:8080", "http://LOCALHOST.:8080"),
            ("http://[::1]:8080", "http://127.0.0.1:8080//"),
            (
                "https://cph.cn-east-3.myhuaweicloud.com",
                "https://CPH.cn-east-3.myhuaweicloud.com.:443/",
            ),
            (
                "https://openapi.geelark.com/",
                "HTTPS://openapi.geelark.com",
            ),
        ] {
            assert_eq!(canonical(a), canonical(b), "{a} vs {b}");
        }
        for (a, b) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8081"),
            (
                "https://cph.cn-east-3.myhuaweicloud.com",
                "https://cph.cn-north-4.myhuaweicloud.com",
            ),
            (
                "https://proxy.example/cph",
                "https://proxy.example/koophone",
            ),
        ] {
            assert_ne!(canonical(a), canonical(b), "{a} vs {b}");
        }
    }
}
