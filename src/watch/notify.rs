//! Webhooks: where `watch` says what changed. The spec names a variable (`watch.notify[].url_env`),
//! the environment holds the URL (a secret: masked everywhere, like credentials), `https://` or
//! `http://` to loopback only. Each tick with new events hands one digest to a background task, which
//! POSTs it to every target in order, retrying a failed target with backoff (1 s doubling up to 5 min)
//! and keeping up to [`QUEUE`] digests per target meanwhile: a webhook that is down never slows or stops
//! the loop. Redirects are not followed (they would carry the digest elsewhere).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::spec::{NotifyFormat, WatchSpec};

/// Digests kept per target while it fails; older ones are dropped (and counted in the next).
pub const QUEUE: usize = 100;
/// Time allowed for one POST.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// One webhook.
#[derive(Debug, Clone)]
pub struct Target {
    /// The variable its URL came from (what messages name; the URL itself is a secret, never said:
    /// a failed delivery is told by its kind only, and each fleet handle of `watch` masks it too).
    pub var: String,
    url: reqwest::Url,
    /// The body it takes.
    pub format: NotifyFormat,
}

/// The URLs of `targets`, to be masked like secrets.
pub fn urls(targets: &[Target]) -> Vec<String> {
    targets.iter().map(|t| t.url.as_str().to_owned()).collect()
}

/// Whether `host` is a loopback address.
fn loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The webhooks of a spec's `watch.notify`, each URL read from its variable and checked: set,
/// a URL, `https://` (or `http://` to loopback). Errors name the variable, never the value.
pub fn targets(watch: &WatchSpec) -> anyhow::Result<Vec<Target>> {
    watch
        .notify
        .iter()
        .map(|n| {
            let var = &n.url_env;
            let value = std::env::var(var).unwrap_or_default();
            let value = value.trim();
            if value.is_empty() {
                anyhow::bail!("watch.notify: the variable `{var}` (a webhook URL) is not set");
            }
            let url = reqwest::Url::parse(value).map_err(|_| {
                anyhow::anyhow!(
                    "watch.notify: `{var}` does not hold a URL (its value is not shown)"
                )
            })?;
            let host = url.host_str().unwrap_or_default();
            match url.scheme() {
                "https" => {}
                "http" if loopback(host) => {}
                _ => anyhow::bail!(
                    "watch.notify: `{var}` must hold an https:// URL (http:// only to loopback)"
                ),
            }
            Ok(Target {
                var: var.clone(),
                url,
                format: n.format,
            })
        })
        .collect()
}

/// One tick's events, rendered for both formats.
#[derive(Debug)]
pub struct Digest {
    /// The JSON body (`phonefleet.watch/v1`).
    pub json: String,
    /// The Slack body (`{"text": ...}`).
    pub slack: String,
}

enum Message {
    Digest(Arc<Digest>),
    Targets(Vec<Target>),
}

/// The handle of the delivery task.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Message>,
}

/// What the delivery task reports (a line for the log).
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

struct Queue {
    target: Target,
    pending: VecDeque<Arc<Digest>>,
    dropped: usize,
    failures: u32,
    next_try: Instant,
}

impl Notifier {
    /// Start the delivery task for `targets`; `log` hears of failures and recoveries.
    pub fn start(targets: Vec<Target>, log: Log) -> Notifier {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(deliver(rx, targets, log));
        Notifier { tx }
    }

    /// Queue a digest for every target.
    pub fn send(&self, digest: Digest) {
        let _ = self.tx.send(Message::Digest(Arc::new(digest)));
    }

    /// Replace the targets (a new spec was loaded); digests queued for a target that stays are kept.
    pub fn set_targets(&self, targets: Vec<Target>) {
        let _ = self.tx.send(Message::Targets(targets));
    }
}

fn queue(target: Target) -> Queue {
    Queue {
        target,
        pending: VecDeque::new(),
        dropped: 0,
        failures: 0,
        next_try: Instant::now(),
    }
}

async fn deliver(mut rx: mpsc::UnboundedReceiver<Message>, targets: Vec<Target>, log: Log) {
    let client = match reqwest::Client::builder()
        .timeout(POST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("phonefleet/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            log(format!(
                "webhooks disabled: cannot build an HTTP client: {e}"
            ));
            return;
        }
    };
    let mut queues: Vec<Queue> = targets.into_iter().map(queue).collect();
    loop {
        let due = queues
            .iter()
            .filter(|q| !q.pending.is_empty())
            .map(|q| q.next_try)
            .min();
        let message = match due {
            Some(at) => tokio::select! {
                m = rx.recv() => Some(m),
                _ = tokio::time::sleep_until(at) => None,
            },
            None => Some(rx.recv().await),
        };
        match message {
            Some(None) => return,
            Some(Some(Message::Digest(d))) => {
                for q in &mut queues {
                    if q.pending.len() == QUEUE {
                        q.pending.pop_front();
                        q.dropped += 1;
                    }
                    q.pending.push_back(d.clone());
                }
            }
            Some(Some(Message::Targets(targets))) => {
                let mut old = std::mem::take(&mut queues);
                for t in targets {
                    match old.iter().position(|q| q.target.url == t.url) {
                        Some(i) => {
                            let mut q = old.swap_remove(i);
                            q.target = t;
                            queues.push(q);
                        }
                        None => queues.push(queue(t)),
                    }
                }
            }
            None => {}
        }
        let now = Instant::now();
        for q in queues.iter_mut().filter(|q| q.next_try <= now) {
            while let Some(d) = q.pending.front().cloned() {
                let body = match q.target.format {
                    NotifyFormat::Json => d.json.clone(),
                    NotifyFormat::Slack => d.slack.clone(),
                };
                let sent = client
                    .post(q.target.url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await;
                let failure = match sent {
                    Ok(r) if r.status().is_success() => None,
                    Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
                    // The error may hold the URL: only its kind is said.
                    Err(e) if e.is_timeout() => Some("timed out".to_owned()),
                    Err(e) if e.is_connect() => Some("cannot connect".to_owned()),
                    Err(_) => Some("the request failed".to_owned()),
                };
                match failure {
                    None => {
                        if q.failures > 0 {
                            log(format!(
                                "webhook `{}` delivers again{}",
                                q.target.var,
                                if q.dropped > 0 {
                                    format!(" ({} older digests were dropped meanwhile)", q.dropped)
                                } else {
                                    String::new()
                                }
                            ));
                        }
                        q.pending.pop_front();
                        q.failures = 0;
                        q.dropped = 0;
                    }
                    Some(why) => {
                        q.failures += 1;
                        let wait =
                            Duration::from_secs(1u64 << (q.failures - 1).min(9)).min(MAX_BACKOFF);
                        q.next_try = Instant::now() + wait;
                        log(format!(
                            "webhook `{}`: {why}; {} digest{} kept, next try in {}s",
                            q.target.var,
                            q.pending.len(),
                            if q.pending.len() == 1 { "" } else { "s" },
                            wait.as_secs()
                        ));
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(loopback("127.0.0.1"));
        assert!(loopback("[::1]"));
        assert!(loopback("localhost"));
        assert!(!loopback("example.com"));
        assert!(!loopback("10.0.0.1"));
    }
}
