//! `/metrics` (Prometheus text format) and `/healthz` (200 while ticks succeed, 503 once the last
//! successful tick is older than three intervals), served on `watch --listen`.
//!
//! Bounded, because whatever can reach the port can try to freeze it (a Kubernetes liveness probe on
//! `/healthz` turns a frozen server into a restart loop): request headers must arrive within
//! [`Bounds::header_read`], a connection lives at most [`Bounds::connection`], headers and bodies are
//! small, and at most [`Bounds::connections`] are open; at the cap, the oldest connection is closed to
//! make room for the new one, so half-open connections cannot crowd out a probe.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::metrics::Metrics;

/// What the endpoints read, shared with the loop.
#[derive(Debug)]
pub struct Shared {
    /// The metrics.
    pub metrics: Mutex<Metrics>,
    /// When the last successful tick ended (the start, before the first).
    pub last_success: Mutex<Instant>,
    /// The tick interval in force (`--interval`, or longer when the rate limits ask for it).
    pub interval: Mutex<Duration>,
}

impl Shared {
    /// Fresh state for a watcher ticking every `interval`.
    pub fn new(interval: Duration) -> Arc<Shared> {
        Arc::new(Shared {
            metrics: Mutex::new(Metrics::new()),
            last_success: Mutex::new(Instant::now()),
            interval: Mutex::new(interval),
        })
    }

    /// The interval in force changed.
    pub fn set_interval(&self, interval: Duration) {
        *self.interval.lock().unwrap_or_else(|p| p.into_inner()) = interval;
    }

    /// The metrics, to read or update.
    pub fn metrics(&self) -> std::sync::MutexGuard<'_, Metrics> {
        self.metrics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A tick succeeded now.
    pub fn succeeded(&self) {
        *self.last_success.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let text = shared.metrics().encode();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

async fn healthz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let age = shared
        .last_success
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .elapsed();
    let interval = *shared.interval.lock().unwrap_or_else(|p| p.into_inner());
    if age <= interval * 3 {
        (
            StatusCode::OK,
            format!("ok: last successful tick {}s ago\n", age.as_secs()),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "stale: the last successful tick was {}s ago, more than three intervals ({}s)\n",
                age.as_secs(),
                (interval * 3).as_secs()
            ),
        )
    }
}

/// The limits of the server.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Connections open at once; a new one past this closes the oldest.
    pub connections: usize,
    /// Time for a request's headers to arrive.
    pub header_read: Duration,
    /// Time a connection may stay open (keep-alive included).
    pub connection: Duration,
    /// Largest request body read (the endpoints read none).
    pub body: usize,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            // Below the usual 1,024 open files, with room for the provider connections.
            connections: 256,
            header_read: Duration::from_secs(3),
            connection: Duration::from_secs(30),
            body: 1024,
        }
    }
}

/// Bind `addr` now (so a taken port is an error at start) and serve until the process ends, on a thread
/// of its own: a tick busy on the command's runtime never keeps a probe waiting (nor lets the kernel's
/// accept queue overflow under a flood of connections).
pub async fn serve(addr: &str, shared: Arc<Shared>) -> anyhow::Result<std::net::SocketAddr> {
    let cannot = |e: std::io::Error| anyhow::anyhow!("cannot listen on {addr} (--listen): {e}");
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(cannot)?;
    let bound = listener.local_addr()?;
    let listener = listener.into_std().map_err(cannot)?;
    let bounds = Bounds::default();
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .layer(axum::extract::DefaultBodyLimit::max(bounds.body))
        .with_state(shared);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("watch-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    accept(listener, app, bounds).await;
                }
            });
        })?;
    Ok(bound)
}

/// Accept connections for ever, each served on its own task within `bounds`.
async fn accept(listener: tokio::net::TcpListener, app: Router, bounds: Bounds) {
    let mut open: std::collections::VecDeque<tokio::task::AbortHandle> =
        std::collections::VecDeque::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors or the like: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        open.retain(|task| !task.is_finished());
        while open.len() >= bounds.connections {
            if let Some(oldest) = open.pop_front() {
                oldest.abort();
            }
        }
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let task = tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(bounds.header_read)
                .max_buf_size(16 * 1024)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(bounds.connection, connection).await;
        });
        open.push_back(task.abort_handle());
    }
}
