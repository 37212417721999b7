//! `phonefleet simulate`: serve the simulated cloud until Ctrl-C or SIGTERM.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::SimulateArgs;
use crate::error::ExitStatus;
use crate::simulator::{Fixture, SimConfig, Simulator};

/// Start, print `listening on http://ADDR` as the first line on stdout, serve, stop cleanly.
pub async fn simulate(args: &SimulateArgs) -> anyhow::Result<ExitStatus> {
    for (name, p) in [
        ("--error-rate", args.error_rate),
        ("--throttle-rate", args.throttle_rate),
    ] {
        if !(0.0..=1.0).contains(&p) {
            bail!("{name} must be between 0 and 1, got {p}");
        }
    }
    let fixture = match &args.fixture {
        Some(path) => Fixture::read(path)?,
        None => Fixture::default(),
    };
    let phones = fixture.phones.len();
    let config = SimConfig {
        latency: Duration::from_millis(args.latency_ms),
        transition: Duration::from_millis(args.transition_ms),
        error_rate: args.error_rate,
        throttle_rate: args.throttle_rate,
        seed: args.seed,
        lose_answers_after_change: false,
        refuse_listing: args.refuse_listing,
        hang_after: args.hang_after,
        geelark_retry_after: args.geelark_retry_after.map(Duration::from_secs),
        geelark_code: args.geelark_code.as_deref().and_then(|c| c.parse().ok()),
    };
    // Before the address is printed: whoever reads it may send SIGTERM at once.
    let mut signals = crate::signals::Watcher::new();
    let sim = Simulator::start(args.listen, fixture, config)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", sim.base_url())?;
        out.flush()?;
    }
    eprintln!("simulating {phones} phones; Ctrl-C to stop");
    signals.next().await;
    sim.stop().await;
    eprintln!("simulator stopped");
    Ok(ExitStatus::Success)
}
