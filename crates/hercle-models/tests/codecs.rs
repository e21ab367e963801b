//! Property tests of the hand-written codecs: exact decimals and lenient
//! timestamps, 10,000 cases each.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hercle_models::decimal::{ExactDecimal, parse_exact};
use hercle_models::{Decimal, DecodeErrorKind, PriceQuote, Timestamp, decode};
use proptest::prelude::*;
use time::OffsetDateTime;

fn any_decimal() -> impl Strategy<Value = Decimal> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
        0u32..=28,
    )
        .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// decode(encode(d)) == d, with the same scale (trailing zeros kept).
    #[test]
    fn decimal_round_trips_exactly(d in any_decimal()) {
        let json = serde_json::to_string(&ExactDecimal(d)).unwrap();
        prop_assert_eq!(&json, &d.to_string());
        let back: ExactDecimal = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.0, d);
        prop_assert_eq!(back.0.scale(), d.scale());
    }

    /// Numbers written by other serializers: exponent notation as Python,
    /// JavaScript or .NET may print it, upper or lower case, signed exponent.
    #[test]
    fn decimal_reads_other_serializers_notation(d in any_decimal(), upper in any::<bool>(), plus in any::<bool>()) {
        let mantissa = d.mantissa();
        let e = if upper { 'E' } else { 'e' };
        let text = if d.scale() == 0 {
            format!("{mantissa}{e}{}0", if plus { "+" } else { "" })
        } else {
            format!("{mantissa}{e}-{}", d.scale())
        };
        let parsed = parse_exact(&text).unwrap();
        prop_assert_eq!(parsed, d, "{}", text);
        let q: PriceQuote = decode(
            format!(r#"{{"id":"q","pair":"BTCUSDT","buyPrice":{text}}}"#).as_bytes(),
        )
        .unwrap();
        prop_assert_eq!(q.buy_price, d);
    }

    /// Out of range numbers are typed errors naming the field, never
    /// rounded, never a panic.
    #[test]
    fn decimal_out_of_range_is_a_named_error(extra in 1u32..1000, frac_digits in 29usize..40) {
        let too_big = format!("79228162514264337593543950{:03}", 335 + extra);
        let err = decode::<PriceQuote>(format!(r#"{{"sellPrice":{too_big}}}"#).as_bytes()).unwrap_err();
        prop_assert_eq!(err.kind(), DecodeErrorKind::Number);
        prop_assert_eq!(err.path(), "sellPrice");
        let too_fine = format!("0.{}1", "0".repeat(frac_digits - 1));
        let err = decode::<PriceQuote>(format!(r#"{{"markPrice":{too_fine}}}"#).as_bytes()).unwrap_err();
        prop_assert_eq!(err.kind(), DecodeErrorKind::Number);
        prop_assert_eq!(err.path(), "markPrice");
    }

    /// Every RFC 3339 shape the API uses parses to the right instant and
    /// keeps its text.
    #[test]
    fn timestamp_parses_every_form(
        secs in -62_135_596_800i64..253_402_300_799,
        nanos in 0u32..1_000_000_000,
        digits in 0usize..=9,
        offset_min in -840i32..=840,
        form in 0u8..4,
    ) {
        let truncated = if digits == 0 { 0 } else { nanos / 10u32.pow(9 - digits as u32) * 10u32.pow(9 - digits as u32) };
        let instant = OffsetDateTime::from_unix_timestamp(secs).unwrap().replace_nanosecond(truncated).unwrap();
        let offset = match form {
            0 | 1 => time::UtcOffset::UTC,
            _ => time::UtcOffset::from_whole_seconds(offset_min * 60).unwrap(),
        };
        let local = instant.to_offset(offset);
        prop_assume!(local.year() >= 1 && local.year() <= 9999);
        let frac = if digits == 0 { String::new() } else { format!(".{:09}", truncated).chars().take(digits + 1).collect() };
        let zone = match form {
            0 => "Z".to_owned(),
            1 => String::new(),
            _ => {
                let (h, m, _) = offset.as_hms();
                format!("{}{:02}:{:02}", if offset.is_negative() { '-' } else { '+' }, h.abs(), m.abs())
            }
        };
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{zone}",
            local.year(), u8::from(local.month()), local.day(), local.hour(), local.minute(), local.second()
        );
        let t = Timestamp::from_text(&text);
        if t.is_absent() {
            prop_assert_eq!(local.year(), 1);
        } else {
            prop_assert_eq!(t.get(), Some(instant), "{}", text);
        }
        prop_assert_eq!(t.raw_text(), Some(text.as_str()));
        prop_assert_eq!(serde_json::to_string(&t).unwrap(), serde_json::to_string(&text).unwrap());
    }

    /// Arbitrary text never fails decoding and is kept verbatim.
    #[test]
    fn timestamp_keeps_any_text(text in ".{0,40}") {
        let json = serde_json::to_string(&text).unwrap();
        let t: Timestamp = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(t.raw_text(), Some(text.as_str()));
        prop_assert_eq!(serde_json::to_string(&t).unwrap(), json);
        prop_assert!(t.get().is_some() || t.is_absent() || t.is_invalid());
    }

    /// Unix milliseconds anywhere in time's range map to the same instant.
    #[test]
    fn timestamp_unix_millis(ms in -62_135_596_800_000i64..253_402_300_799_000) {
        let t: Timestamp = serde_json::from_str(&ms.to_string()).unwrap();
        prop_assert_eq!(t.get().map(|t| t.unix_timestamp_nanos()), Some(i128::from(ms) * 1_000_000));
        prop_assert_eq!(serde_json::to_string(&t).unwrap(), ms.to_string());
    }
}
