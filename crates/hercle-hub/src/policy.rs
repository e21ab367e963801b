//! Reconnect policies beyond session-core's: HercleX's weekly maintenance.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use session_core::ReconnectPolicy;

/// The documented weekly maintenance: Wednesday 10:00–11:00 GMT+1, that is
/// 09:00–10:00 UTC (the API README: "expect disconnects").
pub const MAINTENANCE_WEEKDAY: u64 = 3; // 0 = Sunday
/// Start of the window, seconds after midnight UTC.
pub const MAINTENANCE_START_UTC: u64 = 9 * 3600;
/// Length of the window.
pub const MAINTENANCE_LENGTH: Duration = Duration::from_secs(3600);

/// Whether `unix_seconds` (UTC) falls in the weekly maintenance window.
pub fn in_maintenance(unix_seconds: u64) -> bool {
    let days = unix_seconds / 86_400;
    // 1970-01-01 was a Thursday (4).
    let weekday = (days + 4) % 7;
    let second = unix_seconds % 86_400;
    weekday == MAINTENANCE_WEEKDAY
        && (MAINTENANCE_START_UTC..MAINTENANCE_START_UTC + MAINTENANCE_LENGTH.as_secs())
            .contains(&second)
}

/// Wraps a policy: inside the maintenance window it never gives up and
/// retries every `interval` (quietly: no growing delays, no closing), and
/// outside it defers to the inner policy.
pub struct MaintenanceAware {
    inner: Box<dyn ReconnectPolicy>,
    interval: Duration,
    clock: Box<dyn Fn() -> u64 + Send>,
}

impl fmt::Debug for MaintenanceAware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaintenanceAware")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl MaintenanceAware {
    /// `inner` outside the window; a retry every 30 s inside it.
    pub fn new(inner: impl ReconnectPolicy) -> Self {
        MaintenanceAware {
            inner: Box::new(inner),
            interval: Duration::from_secs(30),
            clock: Box::new(wall_clock),
        }
    }

    /// The retry interval inside the window.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Read UTC unix seconds from `clock` instead of the system clock (tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }
}

impl ReconnectPolicy for MaintenanceAware {
    fn delay(&mut self, attempt: u32) -> Option<Duration> {
        if in_maintenance((self.clock)()) {
            return Some(self.interval);
        }
        self.inner.delay(attempt)
    }

    fn stable_after(&self) -> Duration {
        self.inner.stable_after()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_core::FixedDelays;

    // 2026-12-02 is a Wednesday.
    const WED_0930_UTC: u64 = 1_796_203_800;

    #[test]
    fn the_window_is_wednesday_nine_to_ten_utc() {
        assert!(in_maintenance(WED_0930_UTC));
        assert!(!in_maintenance(WED_0930_UTC - 3600)); // 08:30
        assert!(!in_maintenance(WED_0930_UTC + 1800)); // 10:00 sharp: over
        assert!(!in_maintenance(WED_0930_UTC + 86_400)); // Thursday
    }

    #[test]
    fn inside_the_window_it_never_gives_up() {
        let mut p =
            MaintenanceAware::new(FixedDelays::new([Duration::ZERO])).clock(|| WED_0930_UTC);
        assert_eq!(p.delay(50), Some(Duration::from_secs(30)));
        let mut p =
            MaintenanceAware::new(FixedDelays::new([Duration::ZERO])).clock(|| WED_0930_UTC - 3600);
        assert_eq!(p.delay(1), Some(Duration::ZERO));
        assert_eq!(p.delay(2), None);
    }
}
