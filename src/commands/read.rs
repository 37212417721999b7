//! The read sequence `plan`, `status` and `apply SPEC` share: load the spec (checked for the way this
//! run reaches the providers), select the phones, then say what is read, connect, and read and plan
//! with the bars, dropping the reads at once on a signal (nothing has been sent).

use crate::capability::Overrides;
use crate::cli::settings::{ConnectSettings, GlobalSettings};
use crate::ops::fleet::Fleet;
use crate::ops::plan::{Count, Planned, Scope};
use crate::render;
use crate::signals::Signal;
use crate::spec::{self, LoadedSpec};

/// The spec, and what of it the run covers.
pub fn prepare(
    path: &std::path::Path,
    connect: &ConnectSettings,
    overrides: Overrides,
) -> anyhow::Result<(LoadedSpec, Scope)> {
    let loaded = spec::load_file_for(path, &spec::Use::of(connect.simulate))?;
    let scope = Scope::of(&loaded, &connect.selection, overrides)?;
    Ok((loaded, scope))
}

/// How a read is asked for.
#[derive(Debug, Clone)]
pub struct Read {
    /// Connect to every account the scope counts (a plan's census), not only those its phones need.
    pub every_account: bool,
    /// Count the accounts' other phones.
    pub count: Count,
    /// `--canary N`, `--restart-pending`.
    pub asked: crate::ops::plan::Asked,
    /// The run's deadline.
    pub deadline: tokio::time::Instant,
}

/// Connect and read: the fleet handle (to close, and to apply with) and the plan, or the signal that
/// stopped the reads (`stop` ends when one comes).
pub async fn read(
    loaded: &LoadedSpec,
    scope: &Scope,
    connect: &ConnectSettings,
    global: &GlobalSettings,
    how: Read,
    stop: impl std::future::Future<Output = Signal>,
) -> anyhow::Result<Result<(Fleet, Planned), Signal>> {
    eprintln!("{}", render::status::reading(scope, connect.simulate));
    let fleet = Fleet::open(
        if how.every_account {
            &scope.accounts
        } else {
            &scope.providers
        },
        &scope.desired,
        &scope.limits,
        connect.reach.clone(),
        global.verbose > 0,
        how.deadline,
    )
    .await?;
    let bars = render::progress::ReadBars::new(global.progress);
    let made = crate::ops::plan::plan(loaded, scope, &fleet, how.count, how.asked, &bars);
    let planned = tokio::select! {
        planned = made => planned,
        signal = stop => {
            let _ = fleet.close().await;
            return Ok(Err(signal));
        }
    };
    Ok(Ok((fleet, planned)))
}
