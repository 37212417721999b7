//! JSON wire types (`format_version` "1"), separate from the internal types so the internals can change
//! without breaking scripts. Documented in the README.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::apply::{ApplyReport, Outcome};
use crate::plan::{Action, ActionKind, GuardCheck, PhoneChange, PhoneView, Plan};

/// Wire format version of every JSON document phonefleet prints.
pub const FORMAT_VERSION: &str = "1";

/// `plan --json`.
#[derive(Debug, Serialize)]
pub struct PlanJson<'a> {
    format_version: &'static str,
    spec_digest: &'a str,
    /// The guard rails' verdicts.
    guards: Vec<GuardJson<'a>>,
    /// `--canary N`, or null.
    canary: Option<usize>,
    changes: Vec<ChangeJson<'a>>,
    batches: Vec<BatchJson<'a>>,
    summary: SummaryJson<'a>,
    /// When a phone follows a schedule: the moment planned for (RFC 3339) and what each schedule does.
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    schedules: &'a [crate::schedule::Review],
}

#[derive(Debug, Serialize)]
struct ChangeJson<'a> {
    provider: &'a str,
    phone_id: &'a str,
    name: Option<&'a str>,
    /// With `plan --base`: `pull_request` (this pull request's own change) or `drift` (the base spec
    /// would make it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'static str>,
    /// The phone's labels from the spec.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    labels: &'a std::collections::BTreeMap<String, String>,
    actions: Vec<ActionJson>,
    before: &'a PhoneView,
    after: &'a PhoneView,
    blocked: Option<&'a str>,
    notes: &'a [String],
}

#[derive(Debug, Serialize)]
struct ActionJson {
    action: &'static str,
    before: serde_json::Value,
    after: serde_json::Value,
}

#[derive(Debug, Serialize)]
struct BatchJson<'a> {
    provider: &'a str,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    traffic: Option<&'static str>,
    phone_ids: Vec<&'a str>,
    /// Sent first, alone, with `--canary`.
    canary: bool,
}

/// One guard's verdict.
#[derive(Debug, Serialize)]
pub struct GuardJson<'a> {
    guard: &'static str,
    provider: Option<&'a str>,
    /// `key=value`, for `max_stop_percent_by_label`.
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    limit: u64,
    planned: u64,
    broken: bool,
    /// Whether `apply --override-guards` lets it pass.
    overridable: bool,
    /// `max_stop_percent`: the stops and declared phones behind `planned`.
    #[serde(skip_serializing_if = "Option::is_none")]
    stops: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    declared: Option<u64>,
    /// `protect`: the protected phones the plan would stop.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    phones: &'a [String],
}

/// The wire form of guard verdicts.
pub fn guards(checks: &[GuardCheck]) -> Vec<GuardJson<'_>> {
    checks
        .iter()
        .map(|g| GuardJson {
            guard: g.guard.name(),
            provider: g.provider.as_deref(),
            label: g.label.as_deref(),
            limit: g.limit,
            planned: g.planned,
            broken: g.broken(),
            overridable: g.guard.overridable(),
            stops: g.of.map(|(n, _)| n),
            declared: g.of.map(|(_, d)| d),
            phones: &g.phones,
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct SummaryJson<'a> {
    /// `start`, `stop`, `set_traffic`, `set_properties`, `restart`, `rename`: phones per action.
    #[serde(flatten)]
    actions: ActionCounts<'a>,
    blocked: usize,
    /// Of the blocked phones, those that could not be read.
    unreadable: usize,
    unchanged: usize,
    api_calls: &'a BTreeMap<String, usize>,
    total_api_calls: usize,
    /// Per provider; `null` when the count failed (only informs: the plan is complete without it).
    unmanaged: BTreeMap<&'a str, Option<usize>>,
    /// Why a provider's unmanaged phones could not be counted.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    unmanaged_unknown: BTreeMap<&'a str, &'a str>,
    /// Providers that could not be read at all, and why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    failed_providers: BTreeMap<&'a str, &'a str>,
    /// Providers whose endpoint is not their kind's default, and that endpoint.
    endpoints: &'a BTreeMap<String, String>,
    /// Phones on their way to their declared power state (not drift).
    converging: &'a [crate::plan::Converging],
    /// Phones whose properties wait for a restart an earlier apply did not make.
    restart_pending: &'a [crate::plan::RestartPending],
}

/// A count for every kind of action, 0 included, in [`ActionKind::ALL`]'s order: a script reads the
/// same keys whatever the plan holds.
#[derive(Debug)]
struct ActionCounts<'a>(&'a crate::plan::Summary);

impl Serialize for ActionCounts<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(ActionKind::ALL.len()))?;
        for k in ActionKind::ALL {
            map.serialize_entry(k.name(), &self.0.of(k))?;
        }
        map.end()
    }
}

fn action_json(c: &PhoneChange, a: &Action) -> ActionJson {
    let (before, after) = crate::attribute::of(a).json_change(a, &c.before, &c.after);
    ActionJson {
        action: a.name(),
        before,
        after,
    }
}

/// The plan as JSON text (sensitive values masked: the JSON says which keys change, never their values).
pub fn plan(plan: &Plan, spec_digest: &str) -> String {
    let shown = plan.shown(false);
    let mut text = serde_json::to_string_pretty(&plan_json(&shown, spec_digest))
        .expect("plan JSON serializes");
    text.push('\n');
    text
}

/// The wire form of a plan (as given: [`plan`] masks first).
fn plan_json<'a>(plan: &'a Plan, spec_digest: &'a str) -> PlanJson<'a> {
    PlanJson {
        at: plan
            .at
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map(|t| t.to_string()),
        schedules: &plan.schedules,
        format_version: FORMAT_VERSION,
        spec_digest,
        guards: guards(&plan.guards),
        canary: plan.canary,
        changes: plan
            .changes
            .iter()
            .map(|c| ChangeJson {
                provider: &c.provider,
                phone_id: &c.phone_id,
                labels: &c.desired.labels,
                origin: plan.base.as_ref().map(|b| {
                    if b.is_drift(c) {
                        "drift"
                    } else {
                        "pull_request"
                    }
                }),
                name: c.name.as_deref(),
                actions: c.actions.iter().map(|a| action_json(c, a)).collect(),
                before: &c.before,
                after: &c.after,
                blocked: c.blocked.as_deref(),
                notes: &c.notes,
            })
            .collect(),
        batches: plan
            .batches
            .iter()
            .map(|b| BatchJson {
                provider: &b.provider,
                action: b.action.name(),
                traffic: match b.action {
                    Action::SetTraffic(t) => Some(t.as_str()),
                    _ => None,
                },
                phone_ids: b.ids().collect(),
                canary: b.canary,
            })
            .collect(),
        summary: SummaryJson {
            actions: ActionCounts(&plan.summary),
            blocked: plan.summary.blocked,
            unreadable: plan.summary.unreadable,
            unchanged: plan.summary.unchanged,
            api_calls: &plan.summary.calls,
            total_api_calls: plan.summary.total_calls(),
            unmanaged: plan
                .summary
                .unmanaged
                .iter()
                .map(|(p, u)| (p.as_str(), u.unknown.is_none().then_some(u.count)))
                .collect(),
            unmanaged_unknown: plan
                .summary
                .unmanaged
                .iter()
                .filter_map(|(p, u)| u.unknown.as_deref().map(|r| (p.as_str(), r)))
                .collect(),
            failed_providers: plan
                .summary
                .failed_providers
                .iter()
                .map(|(p, f)| (p.as_str(), f.reason.as_str()))
                .collect(),
            endpoints: &plan.summary.endpoints,
            converging: &plan.summary.converging,
            restart_pending: &plan.summary.restart_pending,
        },
    }
}

/// `apply --json`.
#[derive(Debug, Serialize)]
pub struct ApplyJson<'a> {
    format_version: &'static str,
    /// Broken guards that `--override-guards` let pass.
    guards_overridden: Vec<GuardJson<'a>>,
    results: Vec<ResultJson<'a>>,
    /// Phones of a saved plan already as it wants: nothing was sent to them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    already_done: Vec<AlreadyDoneJson<'a>>,
    /// Phones whose properties wait for a restart after this apply.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    restart_pending: &'a [crate::plan::RestartPending],
    summary: ApplySummaryJson,
}

#[derive(Debug, Serialize)]
struct AlreadyDoneJson<'a> {
    provider: &'a str,
    name: Option<&'a str>,
    phone_id: &'a str,
}

#[derive(Debug, Serialize)]
struct ResultJson<'a> {
    provider: &'a str,
    phone_id: &'a str,
    name: Option<&'a str>,
    action: Option<&'static str>,
    /// `set_properties`: the keys it changes, never their values.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    keys: &'a [String],
    outcome: &'static str,
    error: Option<ErrorJson<'a>>,
}

#[derive(Debug, Serialize)]
struct ErrorJson<'a> {
    code: &'a str,
    message: &'a str,
    /// Failures only: whether a second apply may pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    retryable: Option<bool>,
    /// Failures only: what a person must do first, when a retry will not do.
    #[serde(skip_serializing_if = "Option::is_none")]
    to_do: Option<&'static str>,
}

impl<'a> ErrorJson<'a> {
    fn note(code: &'a str, message: &'a str) -> ErrorJson<'a> {
        ErrorJson {
            code,
            message,
            retryable: None,
            to_do: None,
        }
    }

    fn failure(
        kind: crate::spec::ProviderKind,
        code: &'a str,
        message: &'a str,
        action: Option<&str>,
    ) -> ErrorJson<'a> {
        use crate::provider::advice::{self, Advice};
        let advice = advice::for_failure(kind, code, action);
        ErrorJson {
            code,
            message,
            retryable: Some(advice == Advice::Retry),
            to_do: match advice {
                Advice::Retry => None,
                Advice::Person(what) => Some(what),
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct ApplySummaryJson {
    /// Changes.
    ok: usize,
    /// Changes.
    failed: usize,
    /// Phones.
    blocked: usize,
    /// Changes.
    skipped: usize,
    /// Phones that could not be read (their results have no action).
    unread: usize,
    /// Phones the changes were for.
    phones: usize,
    interrupted: bool,
}

/// The wire form of an apply report.
pub fn report(report: &ApplyReport) -> ApplyJson<'_> {
    let c = report.counts();
    ApplyJson {
        format_version: FORMAT_VERSION,
        guards_overridden: guards(&report.overridden_guards),
        restart_pending: &report.restart_pending,
        already_done: report
            .already_done
            .iter()
            .map(|(provider, phone_id, name)| AlreadyDoneJson {
                provider,
                phone_id,
                name: name.as_deref(),
            })
            .collect(),
        results: report
            .results
            .iter()
            .map(|r| {
                let (outcome, error) = match &r.outcome {
                    Outcome::Ok => ("ok", None),
                    Outcome::Failed(e) => (
                        "failed",
                        Some(ErrorJson::failure(
                            r.kind,
                            &e.code,
                            &e.message,
                            r.action.as_ref().map(Action::name),
                        )),
                    ),
                    Outcome::Blocked(reason) => {
                        ("blocked", Some(ErrorJson::note("blocked", reason)))
                    }
                    Outcome::Skipped(reason) => {
                        ("skipped", Some(ErrorJson::note("skipped", reason)))
                    }
                };
                ResultJson {
                    provider: &r.provider,
                    phone_id: &r.phone_id,
                    name: r.name.as_deref(),
                    action: r.action.as_ref().map(Action::name),
                    keys: &r.keys,
                    outcome,
                    error,
                }
            })
            .collect(),
        summary: ApplySummaryJson {
            ok: c.ok,
            failed: c.failed,
            blocked: c.blocked,
            skipped: c.skipped,
            unread: c.unread,
            phones: c.phones,
            interrupted: report.interrupted,
        },
    }
}
