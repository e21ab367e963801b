//! The retry policy, sans-IO: given what happened on an attempt, decide
//! whether and when to try again. No clock, no sockets, no randomness of its
//! own (the caller passes a random number), so it is tested exhaustively
//! without a network.
//!
//! What is retried:
//! - 429 and 503 (the server says it did not process the request) for every
//!   operation;
//! - a connection that failed before the request was written, for every
//!   operation;
//! - 502 and 504, a timeout, or a connection lost after the request was
//!   written (the request may have been executed) only when repeating it is
//!   safe: `GET`/`DELETE`, or a `POST` carrying an idempotency key
//!   (`Client-Id`) the server deduplicates on.
//!
//! Delays are capped full-jitter exponential backoff (uniform in
//! `[0, min(cap, base * 2^retry)]`); a `Retry-After` the server sent is used
//! instead, clamped to [`RetryPolicy::max_retry_after`]. A per-client token
//! bucket ([`RetryBudget`]) bounds how many retries an outage can cause.

use std::time::Duration;

/// How a client retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry (upper bound of its jitter).
    pub base_delay: Duration,
    /// Largest backoff.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured; longer ones are clamped to this.
    pub max_retry_after: Duration,
    /// Budget shared by all calls of one client.
    pub budget: BudgetConfig,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            budget: BudgetConfig::default(),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// Token bucket sizes (the AWS SDKs' scheme: retries spend tokens, successes
/// earn a little back, so a long outage stops retrying instead of
/// multiplying the load).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetConfig {
    /// Tokens when full.
    pub capacity: u32,
    /// Cost of one retry.
    pub retry_cost: u32,
    /// Earned back by each success.
    pub success_refund: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            capacity: 500,
            retry_cost: 5,
            success_refund: 1,
        }
    }
}

/// The per-client retry budget.
#[derive(Debug)]
pub struct RetryBudget {
    config: BudgetConfig,
    tokens: u32,
}

impl RetryBudget {
    /// A full bucket.
    pub fn new(config: BudgetConfig) -> Self {
        RetryBudget {
            config,
            tokens: config.capacity,
        }
    }

    /// Takes the cost of one retry; `false` (and nothing taken) when empty.
    pub fn try_spend(&mut self) -> bool {
        match self.tokens.checked_sub(self.config.retry_cost) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
        }
    }

    /// A call succeeded.
    pub fn refund(&mut self) {
        self.tokens = (self.tokens + self.config.success_refund).min(self.config.capacity);
    }

    /// Tokens left.
    pub fn tokens(&self) -> u32 {
        self.tokens
    }
}

/// What went wrong on one attempt, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The connection could not be opened; nothing was written.
    ConnectBeforeWrite,
    /// Timeout or connection lost after the request was written.
    AfterWrite,
    /// An HTTP status (with its `Retry-After`, if any).
    Status(u16, Option<Duration>),
    /// Anything else (decoding, building, in-band failure): never retried.
    Final,
}

/// The decision for one failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop and report the failure.
    GiveUp(GiveUpReason),
}

/// Why a failure is not retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The failure is not one that retrying can fix.
    NotRetryable,
    /// Repeating could execute it twice (no idempotency key).
    Unsafe,
    /// `max_attempts` reached.
    Attempts,
    /// The client's retry budget is empty.
    Budget,
}

/// Decides after attempt number `attempt` (1-based) failed with `failure`.
/// `safe_to_repeat`: the method is idempotent or the request carries an
/// idempotency key. `random` is any uniformly random `u64` (jitter).
pub fn decide(
    policy: &RetryPolicy,
    budget: &mut RetryBudget,
    attempt: u32,
    failure: Failure,
    safe_to_repeat: bool,
    random: u64,
) -> Decision {
    let (retryable, may_have_executed, retry_after) = match failure {
        Failure::ConnectBeforeWrite => (true, false, None),
        Failure::AfterWrite => (true, true, None),
        Failure::Status(429 | 503, ra) => (true, false, ra),
        Failure::Status(502 | 504, ra) => (true, true, ra),
        Failure::Status(..) | Failure::Final => (false, false, None),
    };
    if !retryable {
        return Decision::GiveUp(GiveUpReason::NotRetryable);
    }
    if may_have_executed && !safe_to_repeat {
        return Decision::GiveUp(GiveUpReason::Unsafe);
    }
    if attempt >= policy.max_attempts {
        return Decision::GiveUp(GiveUpReason::Attempts);
    }
    if !budget.try_spend() {
        return Decision::GiveUp(GiveUpReason::Budget);
    }
    let delay = match retry_after {
        Some(ra) => ra.min(policy.max_retry_after),
        None => jitter(backoff_cap(policy, attempt), random),
    };
    Decision::RetryAfter(delay)
}

/// The upper bound of the jittered delay after attempt `attempt` failed:
/// `min(max_delay, base_delay * 2^(attempt - 1))`.
pub fn backoff_cap(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(31);
    policy
        .base_delay
        .checked_mul(1u32 << exp)
        .map_or(policy.max_delay, |d| d.min(policy.max_delay))
}

/// A uniform delay in `[0, cap]` from `random` (nanosecond resolution).
fn jitter(cap: Duration, random: u64) -> Duration {
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    match nanos.checked_add(1) {
        Some(span) => Duration::from_nanos(random % span),
        None => Duration::from_nanos(random),
    }
}

/// A small, fast generator for jitter (xorshift64*), seeded from the OS.
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn from_os() -> Self {
        let mut seed = [0u8; 8];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed);
        Jitter(u64::from_le_bytes(seed) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A fresh idempotency key: a random (version 4) UUID, 36 characters, the
/// documented maximum length of `Client-Id`.
pub fn new_client_id() -> String {
    let mut b = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn budget() -> RetryBudget {
        RetryBudget::new(BudgetConfig::default())
    }

    #[test]
    fn what_is_retried() {
        let p = RetryPolicy::default();
        let retry = |f, safe| {
            matches!(
                decide(&p, &mut budget(), 1, f, safe, 7),
                Decision::RetryAfter(_)
            )
        };
        for safe in [false, true] {
            assert!(retry(Failure::Status(429, None), safe));
            assert!(retry(Failure::Status(503, None), safe));
            assert!(retry(Failure::ConnectBeforeWrite, safe));
            assert!(!retry(Failure::Status(400, None), safe));
            assert!(!retry(Failure::Status(500, None), safe));
            assert!(!retry(Failure::Final, safe));
        }
        // May have executed: only when repeating is safe.
        assert!(retry(Failure::Status(502, None), true));
        assert!(retry(Failure::Status(504, None), true));
        assert!(retry(Failure::AfterWrite, true));
        assert_eq!(
            decide(&p, &mut budget(), 1, Failure::AfterWrite, false, 0),
            Decision::GiveUp(GiveUpReason::Unsafe)
        );
        assert_eq!(
            decide(&p, &mut budget(), 1, Failure::Status(502, None), false, 0),
            Decision::GiveUp(GiveUpReason::Unsafe)
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::default();
        let f = Failure::Status(503, None);
        assert!(matches!(
            decide(&p, &mut budget(), 3, f, true, 0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            decide(&p, &mut budget(), 4, f, true, 0),
            Decision::GiveUp(GiveUpReason::Attempts)
        );
        assert_eq!(
            decide(&RetryPolicy::never(), &mut budget(), 1, f, true, 0),
            Decision::GiveUp(GiveUpReason::Attempts)
        );
    }

    #[test]
    fn retry_after_is_honoured_and_clamped() {
        let p = RetryPolicy::default();
        let d = |ra| {
            decide(
                &p,
                &mut budget(),
                1,
                Failure::Status(429, Some(ra)),
                false,
                99,
            )
        };
        assert_eq!(
            d(Duration::from_secs(2)),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(
            d(Duration::from_secs(3600)),
            Decision::RetryAfter(p.max_retry_after)
        );
    }

    #[test]
    fn budget_runs_out_and_refills() {
        let p = RetryPolicy {
            budget: BudgetConfig {
                capacity: 10,
                retry_cost: 5,
                success_refund: 5,
            },
            ..RetryPolicy::default()
        };
        let mut b = RetryBudget::new(p.budget);
        let f = Failure::Status(503, None);
        assert!(matches!(
            decide(&p, &mut b, 1, f, true, 0),
            Decision::RetryAfter(_)
        ));
        assert!(matches!(
            decide(&p, &mut b, 1, f, true, 0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            decide(&p, &mut b, 1, f, true, 0),
            Decision::GiveUp(GiveUpReason::Budget)
        );
        b.refund();
        assert_eq!(b.tokens(), 5);
        assert!(matches!(
            decide(&p, &mut b, 1, f, true, 0),
            Decision::RetryAfter(_)
        ));
        b.refund();
        b.refund();
        b.refund();
        assert_eq!(b.tokens(), 10, "never above capacity");
    }

    #[test]
    fn client_ids_are_uuids() {
        let a = new_client_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert_ne!(a, new_client_id());
    }

    proptest! {
        #[test]
        fn backoff_is_full_jitter_within_the_cap(attempt in 1u32..40, random: u64) {
            let p = RetryPolicy { max_attempts: 100, ..RetryPolicy::default() };
            let cap = backoff_cap(&p, attempt);
            prop_assert!(cap <= p.max_delay);
            let expected = p.base_delay.saturating_mul(1 << (attempt - 1).min(20)).min(p.max_delay);
            prop_assert_eq!(cap, expected);
            match decide(&p, &mut budget(), attempt, Failure::Status(503, None), false, random) {
                Decision::RetryAfter(d) => prop_assert!(d <= cap),
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
