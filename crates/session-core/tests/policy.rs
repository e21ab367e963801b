//! Reconnect policies: exact fixed delays, and property tests of the
//! jittered backoff's bounds.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use proptest::prelude::*;
use session_core::{Backoff, FixedDelays, ReconnectPolicy};

#[test]
fn signalr_default_is_0_2_10_30_then_give_up() {
    let mut p = FixedDelays::signalr_default();
    let got: Vec<Option<Duration>> = (1..=5).map(|a| p.delay(a)).collect();
    let s = Duration::from_secs;
    assert_eq!(
        got,
        [Some(s(0)), Some(s(2)), Some(s(10)), Some(s(30)), None]
    );
    assert_eq!(p.stable_after(), Duration::ZERO);
    let mut forever = FixedDelays::signalr_default().repeat_last();
    assert_eq!(forever.delay(1000), Some(s(30)));
    assert_eq!(FixedDelays::new([]).delay(1), None);
}

#[test]
fn backoff_windows_double_up_to_the_cap() {
    let b = Backoff::new()
        .base(Duration::from_millis(100))
        .cap(Duration::from_secs(1));
    let w: Vec<u128> = (1..=6).map(|a| b.window(a).as_millis()).collect();
    assert_eq!(w, [100, 200, 400, 800, 1000, 1000]);
    // A zero window means no wait at all (an immediate first retry).
    let mut zero = Backoff::new().base(Duration::ZERO).seed(3);
    assert!((1..=5).all(|a| zero.delay(a) == Some(Duration::ZERO)));
    // Huge attempt numbers saturate at the cap instead of overflowing.
    assert_eq!(b.window(u32::MAX), Duration::from_secs(1));
}

#[test]
fn backoff_jitter_spreads_over_the_window() {
    // Full jitter: over many draws both halves of the window are used.
    let mut b = Backoff::new()
        .base(Duration::from_secs(8))
        .cap(Duration::from_secs(8))
        .seed(1);
    let draws: Vec<Duration> = (0..200).map(|_| b.delay(1).unwrap()).collect();
    let low = draws
        .iter()
        .filter(|d| **d < Duration::from_secs(4))
        .count();
    assert!(
        (50..150).contains(&low),
        "{low} of 200 draws in the lower half"
    );
    assert!(draws.windows(2).any(|w| w[0] != w[1]));
}

proptest! {
    #[test]
    fn backoff_delay_never_exceeds_its_window_or_the_cap(
        base_ms in prop_oneof![Just(0u64), 0u64..10_000],
        cap_ms in 0u64..600_000,
        seed in any::<u64>(),
        attempts in proptest::collection::vec(1u32..=u32::MAX, 1..50),
    ) {
        let base = Duration::from_millis(base_ms);
        let cap = Duration::from_millis(cap_ms);
        let mut b = Backoff::new().base(base).cap(cap).seed(seed);
        for a in attempts {
            let window = b.window(a);
            prop_assert!(window <= cap);
            let shift = (a - 1).min(60);
            let unclamped = base.as_nanos().saturating_mul(1u128 << shift);
            prop_assert!(window.as_nanos() <= unclamped);
            let d = b.delay(a).unwrap();
            prop_assert!(d <= window, "attempt {a}: {d:?} > {window:?}");
        }
    }

    #[test]
    fn backoff_is_reproducible_for_a_seed_and_respects_max_attempts(
        seed in any::<u64>(),
        max in 1u32..20,
    ) {
        let mk = || Backoff::new().seed(seed).max_attempts(max);
        let (mut a, mut b) = (mk(), mk());
        for n in 1..=max {
            let (da, db) = (a.delay(n), b.delay(n));
            prop_assert!(da.is_some());
            prop_assert_eq!(da, db);
        }
        prop_assert_eq!(a.delay(max + 1), None);
    }

    #[test]
    fn fixed_delays_are_exactly_the_list(delays in proptest::collection::vec(0u64..100_000, 0..10)) {
        let list: Vec<Duration> = delays.iter().map(|ms| Duration::from_millis(*ms)).collect();
        let mut p = FixedDelays::new(list.clone());
        for (i, d) in list.iter().enumerate() {
            prop_assert_eq!(p.delay(u32::try_from(i).unwrap() + 1), Some(*d));
        }
        prop_assert_eq!(p.delay(u32::try_from(list.len()).unwrap() + 1), None);
    }
}
