//! `/metrics` (Prometheus text format) and `/healthz` (200 while ticks succeed, 503 once the last
//! successful tick is older than three intervals), served on `watch --listen`.

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

/// Bind `addr` now (so a taken port is an error at start) and serve until the process ends.
pub async fn serve(addr: &str, shared: Arc<Shared>) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (--listen): {e}"))?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(shared);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}
