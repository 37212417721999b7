//! Apply as operations: what is checked before anything is read, for a spec and for a saved plan,
//! returned as a value or as a typed [`Refusal`] the command renders. Nothing here prints or asks.

use std::path::Path;

use crate::plan::saved::{PlanFile, damaged_plan, looks_like_plan};
use crate::plan::verify::{self, Bound};
use crate::spec::LoadedSpec;

/// Why an apply refuses to start. Nothing was sent anywhere when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The file starts like a plan but is not a whole one.
    #[error(
        "{file} is a damaged or truncated phonefleet plan ({why}); nothing was applied. Make a new plan"
    )]
    DamagedPlan {
        /// The file, as named.
        file: String,
        /// What is wrong with it.
        why: String,
    },
    /// The plan file does not parse as a plan of this version.
    #[error("{file} is not a usable plan file: {error}")]
    UnusablePlan {
        /// The file, as named.
        file: String,
        /// The parse error.
        error: String,
    },
    /// A simulated plan applied for real, or the other way round.
    #[error("{}", if *.plan_simulated {
        "this plan was made with --simulate; apply it with --simulate too"
    } else {
        "this plan was made against the real providers; it cannot be applied with --simulate"
    })]
    SimulationMismatch {
        /// Whether the plan was made with `--simulate`.
        plan_simulated: bool,
    },
    /// `--target` or `--exclude` with a saved plan.
    #[error("--target and --exclude cannot narrow a saved plan; make a new plan with them instead")]
    NarrowedSavedPlan,
    /// The spec the plan was made from cannot be loaded here.
    #[error(
        "the plan was made from the spec {path}, which cannot be loaded here; nothing was applied \
         (apply a plan from the directory it was made in):\n  {}",
        problems.join("\n  ")
    )]
    SpecUnloadable {
        /// The spec's path, as the plan records it.
        path: String,
        /// What loading it said.
        problems: Vec<String>,
    },
    /// The plan does not hold to the spec it was made from (entries, guard rails, covered phones).
    #[error("{0}")]
    NotBound(String),
    /// No terminal to ask on, and no `--auto-approve`.
    #[error(
        "refusing to apply without confirmation: there is no terminal to ask on. Review the changes \
         with `phonefleet plan`, then pass --auto-approve (or apply a saved plan file)"
    )]
    NoConfirmation,
    /// The guard rails refuse the plan.
    #[error("{0}")]
    Guard(String),
}

/// What an apply's file is.
#[derive(Debug)]
pub enum Source {
    /// A spec (a directory, or a file that is not a plan).
    Spec,
    /// A saved plan, parsed, bound to the spec it was made from.
    Saved(Box<Saved>),
}

/// A saved plan ready to be checked against the fleet.
#[derive(Debug)]
pub struct Saved {
    /// The file.
    pub file: PlanFile,
    /// The spec it was made from, loaded again.
    pub spec: LoadedSpec,
    /// What of the spec it may touch.
    pub bound: Bound,
}

/// Tell a spec from a saved plan, and for a plan run every check that needs no network: whole and
/// parsable, made as simulated as this run, not narrowed, its spec loadable here and still declaring
/// what the plan covers.
pub fn source(
    file: &Path,
    bytes: &[u8],
    simulate: bool,
    narrowed: bool,
) -> Result<Source, Refusal> {
    let name = file.display().to_string();
    if let Some(why) = damaged_plan(bytes) {
        return Err(Refusal::DamagedPlan { file: name, why });
    }
    if !looks_like_plan(bytes) {
        return Ok(Source::Spec);
    }
    let saved = PlanFile::parse(bytes).map_err(|e| Refusal::UnusablePlan {
        file: name,
        error: format!("{e:#}"),
    })?;
    if saved.simulated != simulate {
        return Err(Refusal::SimulationMismatch {
            plan_simulated: saved.simulated,
        });
    }
    if narrowed {
        return Err(Refusal::NarrowedSavedPlan);
    }
    // Everything that decides where calls go and what they do comes from the reviewed spec, checked
    // against the plan before any network call.
    let spec =
        crate::spec::load_file_for(Path::new(&saved.spec_path), &crate::spec::Use::of(simulate))
            .map_err(|d| Refusal::SpecUnloadable {
                path: saved.spec_path.clone(),
                problems: d.0.iter().map(ToString::to_string).collect(),
            })?;
    let bound =
        verify::against_spec(&saved, &spec).map_err(|e| Refusal::NotBound(format!("{e:#}")))?;
    Ok(Source::Saved(Box::new(Saved {
        file: saved,
        spec,
        bound,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_is_a_spec_and_a_broken_plan_is_refused_by_kind() {
        let spec = b"version: 1\nproviders: {}\n";
        assert!(matches!(
            source(Path::new("spec.yaml"), spec, false, false),
            Ok(Source::Spec)
        ));
        let damaged = format!(
            r#"{{"kind": "{}", "format_version": "#,
            crate::plan::saved::KIND
        );
        let damaged = damaged.as_bytes();
        assert!(matches!(
            source(Path::new("plan.json"), damaged, false, false),
            Err(Refusal::DamagedPlan { .. })
        ));
        let not_a_plan = format!(
            r#"{{"kind": "{}", "format_version": 99}}"#,
            crate::plan::saved::KIND
        );
        let not_a_plan = not_a_plan.as_bytes();
        let refused = source(Path::new("plan.json"), not_a_plan, false, false);
        assert!(
            matches!(refused, Err(Refusal::UnusablePlan { .. })),
            "{refused:?}"
        );
    }
}
