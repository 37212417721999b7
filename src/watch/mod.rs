//! `phonefleet watch`: the pieces of the loop that keeps a fleet as declared between pull requests.
//! The loop itself is `commands/watch.rs`, a thin repetition of [`crate::ops::reconcile::tick`]; this
//! module owns what a long-running watcher has beyond one tick:
//!
//! - [`events`]: drift episodes and the events one tick makes of them (pure);
//! - [`backoff`]: which phones' heals wait after a failure (pure);
//! - [`metrics`]: the Prometheus registry and its update from a tick;
//! - [`pace`]: the shortest interval the providers' rate limits allow (pure);
//! - [`notify`]: webhook delivery, queued and retried in the background, never blocking a tick;
//! - [`server`]: `/metrics` and `/healthz`.

pub mod backoff;
pub mod events;
pub mod metrics;
pub mod notify;
pub mod pace;
pub mod server;
