//! Process CPU time (user + system, all threads) and the system-wide
//! monotonic clock, as the contract asks.

use nix::sys::resource::{UsageWho, getrusage};
use nix::time::{ClockId, clock_gettime};

/// CPU time used by this process so far, in microseconds.
pub(crate) fn cpu_micros() -> u64 {
    let Ok(u) = getrusage(UsageWho::RUSAGE_SELF) else {
        return 0;
    };
    let micros = |t: nix::sys::time::TimeVal| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec()).unwrap_or(0)
    };
    micros(u.user_time()) + micros(u.system_time())
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds: one clock for every
/// process on the machine, so the hub's send time and a client's receive
/// time compare (`std::time::Instant` reads the same clock but cannot be
/// turned into a number another process understands).
pub(crate) fn monotonic_ns() -> i64 {
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| {
            t.tv_sec()
                .saturating_mul(1_000_000_000)
                .saturating_add(t.tv_nsec())
        })
        .unwrap_or(0)
}
