//! Time as a value. phonefleet reads two clocks: the runtime's monotonic one (tokio's `Instant`, for
//! deadlines, waits, ticks and timeouts, which a test pauses and advances) and the wall clock, read only
//! where a provider's rule is written in wall time (GeeLark lifts a rate limit "in the next minute").
//! [`Clock`] gives both from one origin, so that a test can say what time it is.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// The run's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    origin: Instant,
    origin_wall: SystemTime,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl Clock {
    /// The machine's clocks, from now.
    pub fn system() -> Clock {
        Clock::at(SystemTime::now())
    }

    /// A clock whose wall time is `wall` now and moves with the runtime's clock (paused in a test).
    pub fn at(wall: SystemTime) -> Clock {
        Clock {
            origin: Instant::now(),
            origin_wall: wall,
        }
    }

    /// The runtime's monotonic now.
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// The wall time now.
    pub fn wall(&self) -> SystemTime {
        self.origin_wall + Instant::now().saturating_duration_since(self.origin)
    }

    /// Milliseconds since the Unix epoch now.
    pub fn unix_ms(&self) -> u64 {
        self.wall()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wall_time_moves_with_the_runtime_clock() {
        let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = Clock::at(noon);
        tokio::time::sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.wall(), noon + Duration::from_secs(90));
        assert_eq!(clock.unix_ms(), 1_800_000_090_000);
    }
}
