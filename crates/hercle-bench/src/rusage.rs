//! Process CPU time (user + system, all threads), as the contract asks.

use nix::sys::resource::{UsageWho, getrusage};

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
