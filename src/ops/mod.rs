//! Operations the commands compose: each returns values and never prints (a command renders what it
//! gets back). `plan`, `apply`, `show` and the coming `status` and `watch` are short compositions of
//! these (`status` is).
//!
//! - [`saved`]: a plan as a plan file (format "2") and back: writing it with keyed digests and seals,
//!   checking its age, and what `show` renders of it.
//! - [`fleet`]: the long-lived handle on the providers (or the `--simulate` sandbox): reads fan out
//!   here, each operation with its own deadline.
//! - [`gate`]: whether a plan's guard verdicts let it be applied (pure).
//! - [`plan`]: read the selected phones and compute the plan, with its warnings as values.
//! - [`reconcile`]: one tick of `watch`: read, plan, heal what the policy allows, report the rest.
//! - [`lock`]: one apply per provider account at a time on a machine.
//! - [`status`]: the fleet as it is now, a row per phone and a tally per provider (pure, from a plan).

pub mod apply;
pub mod controller;
pub mod fleet;
pub mod gate;
pub mod lock;
pub mod plan;
pub mod reconcile;
pub mod saved;
pub mod status;
