//! Schedules in the spec: when phones should run (`schedules:`), and the schedule a declared phone
//! follows ([`crate::schedule`] resolves it for a moment).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A schedule: inside one of its windows its phones should run, outside every window they should be
/// stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// An IANA time zone (`Europe/Berlin`, `America/New_York`, `UTC`); daylight saving is followed.
    #[schemars(length(min = 1))]
    pub timezone: String,
    /// Windows, each `DAYS HH:MM-HH:MM` in that zone: DAYS is `daily`, `weekdays`, `weekends`, a day
    /// (`mon`), a range (`mon-fri`) or a list (`sat,sun`); an end at or before the start is the next
    /// day (`daily 22:00-06:00`); `24:00` ends at midnight. (An empty list is refused with an
    /// example, by the semantic checks.)
    pub running: Vec<String>,
}

/// The schedule a declared phone follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    /// The schedule's name.
    pub name: String,
    /// Why its `state` is what it is, once resolved for a moment (`schedule office-hours, until 18:00
    /// CET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}
