//! The rate limiter: a token bucket per API key.

use crate::config::RateLimit;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// One token, in the micro-tokens the buckets count in: integer arithmetic
/// keeps refills exact at any rate without floats.
const TOKEN: u64 = 1_000_000;

/// A token bucket per key, on tokio time: `burst` tokens at most, refilled
/// at `per_second`.
#[derive(Default)]
pub(super) struct Limiter {
    buckets: HashMap<String, (u64, Instant)>,
}

impl Limiter {
    /// Takes one token for `key`, or says how long until one is there.
    pub(super) fn take(
        &mut self,
        key: &str,
        limit: RateLimit,
        now: Instant,
    ) -> Result<(), Duration> {
        let capacity = u64::from(limit.burst.max(1)) * TOKEN;
        let rate = u64::from(limit.per_second.max(1));
        let (tokens, since) = self
            .buckets
            .entry(key.to_owned())
            .or_insert((capacity, now));
        let elapsed = u64::try_from(now.duration_since(*since).as_micros()).unwrap_or(u64::MAX);
        // micro-tokens gained = elapsed µs × rate tokens/s.
        *tokens = tokens
            .saturating_add(elapsed.saturating_mul(rate))
            .min(capacity);
        *since = now;
        if *tokens >= TOKEN {
            *tokens -= TOKEN;
            return Ok(());
        }
        Err(Duration::from_micros((TOKEN - *tokens).div_ceil(rate)))
    }
}
