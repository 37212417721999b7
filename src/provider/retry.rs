//! Retry policy, kept apart from the code that sends: how long to wait before the next try, or `None`
//! to give up. Exponential backoff with jitter; a server's `Retry-After` is honoured.

use std::time::Duration;

/// Why a try failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// No connection, or it broke.
    Transport,
    /// 5xx on a read.
    ServerError,
    /// 429.
    Throttled,
    /// A provider's per-minute limit, lifted "in the next minute" (GeeLark 40007/40017): wait for the
    /// next wall-clock minute, plus up to two seconds of jitter so that parallel callers spread out (or
    /// as long as a `Retry-After` says, when the answer has one).
    MinuteWindow,
}

/// Tries after the first, at most.
pub const MAX_RETRIES: u32 = 6;

/// How long a read keeps retrying errors (5xx, broken connections), from its first error: reads are
/// idempotent, so they are patient, but a phone that keeps failing must still be reported long before
/// the run's deadline. The budget is this, or a third of the time left at the first error if less.
pub const READ_ERROR_BUDGET: Duration = Duration::from_secs(20);

/// The retry policy in force: a value the HTTP layer holds, so that a test can make its waits pass
/// faster without touching the code that sends (production uses [`Policy::default`]).
///
/// Errors and throttling are counted apart. A throttled answer asks to come back later: it is waited
/// out as asked (Retry-After, GeeLark's minute window) and never spends the error budget; only the
/// run's deadline ends it. An error is retried with backoff: a read within its time budget
/// ([`READ_ERROR_BUDGET`]), a change only when its connection never opened, at most [`MAX_RETRIES`]
/// times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Every wait is multiplied by this: 1 for real use; a test of retries and windows sets, say, 0.01.
    pub time_scale: f64,
    /// How long a read retries errors at most ([`READ_ERROR_BUDGET`]).
    pub read_budget: Duration,
    /// Where the wall time of a minute window comes from.
    pub clock: crate::clock::Clock,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            time_scale: 1.0,
            read_budget: READ_ERROR_BUDGET,
            clock: crate::clock::Clock::system(),
        }
    }
}

impl Policy {
    /// A policy whose waits are `scale` times the real ones (for tests).
    pub fn scaled(scale: f64) -> Policy {
        Policy {
            time_scale: scale.clamp(0.0, 1.0),
            ..Policy::default()
        }
    }

    /// [`delay`], scaled: the wait before error retry number `errors + 1` of a change, or `None`.
    pub fn delay(
        &self,
        retries: u32,
        cause: Cause,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        delay_at(retries, cause, retry_after, self.clock.wall()).map(|d| d.mul_f64(self.time_scale))
    }

    /// The wait before the next try of a read after its `errors`-th error, or `None` once the wait would
    /// end past its budget (`spent` since its first error, `budget` for it).
    pub fn read_delay(
        &self,
        errors: u32,
        cause: Cause,
        spent: Duration,
        budget: Duration,
    ) -> Option<Duration> {
        let d = delay_at(errors.min(MAX_RETRIES - 1), cause, None, self.clock.wall())?
            .mul_f64(self.time_scale);
        (spent + d <= budget).then_some(d)
    }

    /// The wait after the `n`-th throttled answer: as asked, never given up on (the deadline ends it).
    pub fn throttle_delay(&self, n: u32, cause: Cause, retry_after: Option<Duration>) -> Duration {
        delay_at(
            n.min(MAX_RETRIES - 1),
            cause,
            retry_after,
            self.clock.wall(),
        )
        .unwrap_or(Duration::from_secs(1))
        .mul_f64(self.time_scale)
    }

    /// The error budget of a read whose first error came with `left` before the deadline.
    pub fn budget(&self, left: Duration) -> Duration {
        self.read_budget.min(left / 3)
    }
}

/// Delay before retry number `retries + 1`, or `None` when it is time to give up (a minute window
/// read on the machine's wall clock).
pub fn delay(retries: u32, cause: Cause, retry_after: Option<Duration>) -> Option<Duration> {
    delay_at(retries, cause, retry_after, std::time::SystemTime::now())
}

/// [`delay`] at wall time `wall`.
pub fn delay_at(
    retries: u32,
    cause: Cause,
    retry_after: Option<Duration>,
    wall: std::time::SystemTime,
) -> Option<Duration> {
    if retries >= MAX_RETRIES {
        return None;
    }
    let base_ms: u64 = match cause {
        Cause::Transport | Cause::ServerError => 200,
        Cause::Throttled => 500,
        Cause::MinuteWindow => {
            return Some(retry_after.map_or_else(
                || until_next_minute(wall),
                |after| after.min(Duration::from_secs(120)),
            ));
        }
    };
    let ceiling = base_ms.saturating_mul(1 << retries.min(10)).min(10_000);
    // "Equal jitter": half fixed, half random, so retries spread out but never collapse to zero.
    let jittered = ceiling / 2 + rand::random_range(0..=ceiling / 2);
    let d = Duration::from_millis(jittered);
    Some(match retry_after {
        Some(after) => after.min(Duration::from_secs(120)).max(d / 4),
        None => d,
    })
}

/// From `now` to the start of the next wall-clock minute, plus 0.1 to 2 s of jitter.
fn until_next_minute(now: std::time::SystemTime) -> Duration {
    let into = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 60_000) as u64;
    Duration::from_millis(60_000 - into + rand::random_range(100..=2_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_gives_up_and_honours_retry_after() {
        let first = delay(0, Cause::Transport, None).unwrap();
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
        let later = delay(4, Cause::Transport, None).unwrap();
        assert!(later >= Duration::from_millis(1600));
        assert!(delay(MAX_RETRIES, Cause::Throttled, None).is_none());
        assert_eq!(
            delay(0, Cause::Throttled, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn a_minute_window_waits_for_the_next_minute() {
        let at = |ms: u64| std::time::UNIX_EPOCH + Duration::from_millis(ms);
        let d = until_next_minute(at(60_000 * 1000 + 45_000));
        assert!(
            d >= Duration::from_millis(15_100) && d <= Duration::from_millis(17_000),
            "{d:?}"
        );
        let d = until_next_minute(at(60_000 * 1000 + 59_900));
        assert!(
            d >= Duration::from_millis(200) && d <= Duration::from_millis(2_100),
            "{d:?}"
        );
        assert!(delay(MAX_RETRIES, Cause::MinuteWindow, None).is_none());
    }

    #[test]
    fn reads_retry_errors_within_their_budget_and_wait_out_throttling() {
        let p = Policy::default();
        let budget = p.budget(Duration::from_secs(300));
        assert_eq!(budget, READ_ERROR_BUDGET);
        assert_eq!(p.budget(Duration::from_secs(9)), Duration::from_secs(3));
        // Many errors, time left in the budget: still retried; past it: given up.
        assert!(
            p.read_delay(20, Cause::ServerError, Duration::ZERO, budget)
                .is_some()
        );
        assert!(
            p.read_delay(0, Cause::ServerError, budget, budget)
                .is_none()
        );
        // Throttling has no count: the 50th throttled answer is still waited out (at least as long as
        // asked, at most the backoff's ceiling), never given up on.
        for _ in 0..100 {
            let d = p.throttle_delay(50, Cause::Throttled, Some(Duration::from_secs(2)));
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_secs(10),
                "{d:?}"
            );
        }
    }
}
