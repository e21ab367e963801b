//! Reconnect policies: how long to wait before each attempt, and when to give up.

use std::fmt;
use std::time::Duration;

/// Decides the delay before each reconnect attempt.
///
/// The session counts attempts per outage, starting at 1. A connection that
/// reached the ready state resets the count only if it stayed up for at least
/// [`stable_after`](Self::stable_after); a link that flaps (connects, then
/// drops at once) keeps counting, so the delays keep growing.
pub trait ReconnectPolicy: Send + 'static {
    /// The delay before attempt `attempt` (1-based), or `None` to give up.
    fn delay(&mut self, attempt: u32) -> Option<Duration>;

    /// How long a connection must stay ready before the next outage starts
    /// again from attempt 1. Zero: every successful connect resets.
    fn stable_after(&self) -> Duration {
        Duration::ZERO
    }
}

/// A fixed list of delays, like the SignalR clients' automatic reconnect
/// (0, 2, 10, 30 s, then give up), optionally repeating the last one forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedDelays {
    delays: Vec<Duration>,
    repeat_last: bool,
}

impl FixedDelays {
    /// These delays, in order, then give up.
    pub fn new(delays: impl IntoIterator<Item = Duration>) -> Self {
        FixedDelays {
            delays: delays.into_iter().collect(),
            repeat_last: false,
        }
    }

    /// The SignalR clients' default and HercleX's documented delays: 0, 2, 10, 30 s.
    pub fn signalr_default() -> Self {
        FixedDelays::new([0, 2, 10, 30].map(Duration::from_secs))
    }

    /// Keep retrying with the last delay instead of giving up.
    #[must_use]
    pub fn repeat_last(mut self) -> Self {
        self.repeat_last = true;
        self
    }
}

impl ReconnectPolicy for FixedDelays {
    fn delay(&mut self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt.max(1) - 1).unwrap_or(usize::MAX);
        match self.delays.get(index) {
            Some(d) => Some(*d),
            None if self.repeat_last => self.delays.last().copied(),
            None => None,
        }
    }
}

/// Capped exponential backoff with full jitter: attempt `n` waits a uniformly
/// random time in `[0, min(cap, base × 2^(n-1))]`, and the count resets only
/// after a connection has been stable for `stable_after`.
///
/// Full jitter spreads many clients that lost the same server over the whole
/// window instead of reconnecting in lockstep. Integer arithmetic only.
pub struct Backoff {
    base: Duration,
    cap: Duration,
    stable_after: Duration,
    max_attempts: Option<u32>,
    rng: SplitMix64,
}

impl Backoff {
    /// Base 500 ms, cap 30 s, stable after 10 s, unlimited attempts, seeded
    /// from the process's hash randomness.
    pub fn new() -> Self {
        Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            stable_after: Duration::from_secs(10),
            max_attempts: None,
            rng: SplitMix64::from_entropy(),
        }
    }

    /// The window of the first attempt.
    #[must_use]
    pub fn base(mut self, base: Duration) -> Self {
        self.base = base;
        self
    }

    /// The largest window.
    #[must_use]
    pub fn cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// How long a connection must stay up to reset the attempt count.
    #[must_use]
    pub fn stable_after(mut self, stable_after: Duration) -> Self {
        self.stable_after = stable_after;
        self
    }

    /// Give up after this many attempts in one outage.
    #[must_use]
    pub fn max_attempts(mut self, max: u32) -> Self {
        self.max_attempts = Some(max);
        self
    }

    /// A fixed seed, for reproducible delays in tests.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = SplitMix64(seed);
        self
    }

    /// The upper bound of attempt `attempt`'s window: `min(cap, base × 2^(attempt-1))`.
    pub fn window(&self, attempt: u32) -> Duration {
        let shift = attempt.max(1) - 1;
        let base = self.base.as_nanos();
        let scaled = match 1u128.checked_shl(shift) {
            Some(factor) => base.saturating_mul(factor),
            // Past 2^127 only a zero base stays finite.
            None if base == 0 => 0,
            None => u128::MAX,
        };
        let cap = self.cap.as_nanos();
        nanos(scaled.min(cap))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("base", &self.base)
            .field("cap", &self.cap)
            .field("stable_after", &self.stable_after)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl ReconnectPolicy for Backoff {
    fn delay(&mut self, attempt: u32) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        let window = self.window(attempt).as_nanos();
        // Uniform in [0, window]: the modulo bias over 128 random bits is
        // far below anything a reconnect delay can notice.
        let r = (u128::from(self.rng.next()) << 64) | u128::from(self.rng.next());
        let pick = r % window.saturating_add(1).max(1);
        Some(nanos(pick))
    }

    fn stable_after(&self) -> Duration {
        self.stable_after
    }
}

fn nanos(n: u128) -> Duration {
    let secs = u64::try_from(n / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder is below 1e9, so it always fits.
    let sub = u32::try_from(n % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, sub)
}

/// SplitMix64: tiny, fast, good enough for jitter; no dependency needed.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn from_entropy() -> Self {
        use std::hash::{BuildHasher, Hasher};
        // std's RandomState is seeded from the OS once per process and
        // perturbed per instance: enough entropy to decorrelate clients.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x5e55_10c0);
        SplitMix64(h.finish())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
