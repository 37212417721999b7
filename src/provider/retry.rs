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
    /// 429 or a provider's "too many requests" code.
    Throttled,
}

/// Tries after the first, at most.
pub const MAX_RETRIES: u32 = 6;

/// Delay before retry number `retries + 1`, or `None` when it is time to give up.
pub fn delay(retries: u32, cause: Cause, retry_after: Option<Duration>) -> Option<Duration> {
    if retries >= MAX_RETRIES {
        return None;
    }
    let base_ms: u64 = match cause {
        Cause::Transport | Cause::ServerError => 200,
        Cause::Throttled => 500,
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
}
