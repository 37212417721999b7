//! One function per subcommand, each taking resolved settings and returning an [`ExitStatus`]. They glue
//! spec loading, providers, `plan`, `apply` and rendering together; the work itself lives in those modules.

pub mod apply;
pub mod completions;
pub mod export;
pub mod plan;
pub mod read;
pub mod schema;
pub mod show;
pub mod simulate;
pub mod status;
pub mod validate;
pub mod watch;

pub use crate::error::ExitStatus;
