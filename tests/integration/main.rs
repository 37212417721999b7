//! One integration test binary: the real `phonefleet` executable against the real simulator on
//! 127.0.0.1 (port 0). See `support` for the builder and the simulator handle.

// Test modules share helpers with `pub`; they are not an API.
#![allow(unreachable_pub)]

mod apply;
mod attack;
mod cli;
mod clock;
mod details;
mod directory;
mod docs;
mod export;
mod fidelity;
mod guards;
mod isolation;
mod names;
mod ops;
mod packaging;
mod pipeline;
mod plan;
mod pools;
mod properties;
mod providers;
mod quickstart;
mod recovery;
mod rename;
mod resets;
mod restart_pending;
mod schedules;
mod simulate_command;
mod simulator;
mod support;
mod terminal;
mod trust;
mod validate;
mod watch;
