//! Operations the commands compose: each returns values and never prints (a command renders what it
//! gets back). `plan`, `apply`, `show` and the coming `status` and `watch` are short compositions of
//! these.
//!
//! - [`saved`]: a plan as a plan file (format "2") and back: writing it with keyed digests and seals,
//!   checking its age, and what `show` renders of it.
//! - [`lock`]: one apply per provider account at a time on a machine.

pub mod lock;
pub mod saved;
