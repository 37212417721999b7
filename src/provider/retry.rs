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

/// The retry policy in force: a value the HTTP layer holds, so that a test can make its waits pass
/// faster without touching the code that sends (production uses [`Policy::default`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Every wait is multiplied by this: 1 for real use; a test of retries and windows sets, say, 0.01.
    pub time_scale: f64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { time_scale: 1.0 }
    }
}

impl Policy {
    /// A policy whose waits are `scale` times the real ones (for tests).
    pub fn scaled(scale: f64) -> Policy {
        Policy {
            time_scale: scale.clamp(0.0, 1.0),
        }
    }

    /// [`delay`], scaled.
    pub fn delay(
        &self,
        retries: u32,
        cause: Cause,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        delay(retries, cause, retry_after).map(|d| d.mul_f64(self.time_scale))
    }
}

/// Delay before retry number `retries + 1`, or `None` when it is time to give up.
pub fn delay(retries: u32, cause: Cause, retry_after: Option<Duration>) -> Option<Duration> {
    if retries >= MAX_RETRIES {
        return None;
    }
    let base_ms: u64 = match cause {
        Cause::Transport | Cause::ServerError => 200,
        Cause::Throttled => 500,
        Cause::MinuteWindow => {
            return Some(retry_after.map_or_else(
                || until_next_minute(std::time::SystemTime::now()),
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
}
