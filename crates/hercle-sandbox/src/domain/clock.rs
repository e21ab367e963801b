//! The sandbox's time: tokio's clock, offset to a configured wall time, so
//! tests on tokio's paused clock control every expiry and timestamp.

use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

/// Wall time derived from tokio time.
#[derive(Clone, Debug)]
pub struct Clock {
    start: Instant,
    wall: OffsetDateTime,
}

impl Clock {
    /// A clock reading `wall` now.
    pub fn starting_at(wall: OffsetDateTime) -> Self {
        Clock {
            start: Instant::now(),
            wall,
        }
    }

    /// Time since the sandbox started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The sandbox's wall time now (millisecond precision, as the API sends).
    pub fn now(&self) -> OffsetDateTime {
        let t = self.wall + self.elapsed();
        t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(t)
    }
}
