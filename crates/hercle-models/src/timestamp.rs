//! Timestamps as HercleX sends them.
//!
//! The API mixes RFC 3339 with 0–9 fractional digits, `Z` or `±hh:mm`
//! offsets, offset-less local times (.NET `DateTime`), `""` and
//! `0001-01-01T00:00:00` for "no value", unix milliseconds on the banking
//! endpoints, and at least one impossible date (quirk 3). A [`Timestamp`]
//! keeps what was sent, exactly, and offers the parsed instant when there
//! is one: a bad date never fails the payload around it.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A wire timestamp: its original form plus the instant it denotes, if any.
///
/// ```
/// use hercle_models::Timestamp;
/// let t: Timestamp = serde_json::from_str(r#""2023-10-11T23:00:57.93094Z""#).unwrap();
/// assert_eq!(t.get().unwrap().nanosecond(), 930_940_000);
///
/// let bad: Timestamp = serde_json::from_str(r#""2023-07-23T32:35.000Z""#).unwrap();
/// assert!(bad.get().is_none() && bad.is_invalid());
/// assert_eq!(bad.raw_text(), Some("2023-07-23T32:35.000Z"));
///
/// let none: Timestamp = serde_json::from_str(r#""0001-01-01T00:00:00""#).unwrap();
/// assert!(none.is_absent());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    wire: Wire,
}

// `parsed` is a function of `raw`, so the derived comparisons and hash
// agree with comparing what was sent.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Wire {
    /// Parsed once, on arrival: the lenient parse is the costly part.
    Text {
        raw: Box<str>,
        parsed: Option<OffsetDateTime>,
    },
    /// Converted when asked ([`Timestamp::get`]): cheap, and a price feed
    /// stamped in milliseconds need not pay for it on every update.
    UnixMillis(i64),
}

/// The instant `millis` after the unix epoch, if `time` can represent it.
/// Seconds, then the millisecond: no 128-bit division.
fn from_millis(millis: i64) -> Option<OffsetDateTime> {
    let ms = u16::try_from(millis.rem_euclid(1000)).ok()?;
    OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()?
        .replace_millisecond(ms)
        .ok()
}

impl Timestamp {
    /// Reads the text form. Never fails: unparseable text is kept as invalid.
    pub fn from_text(text: &str) -> Self {
        Timestamp {
            wire: Wire::Text {
                parsed: parse_rfc3339_lenient(text).filter(|t| !is_sentinel(*t)),
                raw: text.into(),
            },
        }
    }

    /// A unix-millisecond timestamp, as the banking endpoints send.
    pub fn from_unix_millis(millis: i64) -> Self {
        Timestamp {
            wire: Wire::UnixMillis(millis),
        }
    }

    /// The instant, when the wire value denotes one (not absent, not invalid).
    pub fn get(&self) -> Option<OffsetDateTime> {
        match self.wire {
            Wire::Text { parsed, .. } => parsed,
            Wire::UnixMillis(ms) => from_millis(ms),
        }
    }

    /// `""` or `0001-01-01T00:00:00` (.NET's `DateTime.MinValue`): the API's
    /// ways of saying "no value".
    pub fn is_absent(&self) -> bool {
        match &self.wire {
            Wire::Text { raw, .. } => {
                raw.trim().is_empty() || parse_rfc3339_lenient(raw).is_some_and(is_sentinel)
            }
            Wire::UnixMillis(_) => false,
        }
    }

    /// Present but not a valid date-time (e.g. `2023-07-23T32:35.000Z`).
    pub fn is_invalid(&self) -> bool {
        self.get().is_none() && !self.is_absent()
    }

    /// The text exactly as received, for text timestamps.
    pub fn raw_text(&self) -> Option<&str> {
        match &self.wire {
            Wire::Text { raw, .. } => Some(raw),
            Wire::UnixMillis(_) => None,
        }
    }

    /// The number exactly as received, for unix-millisecond timestamps.
    pub fn unix_millis(&self) -> Option<i64> {
        match self.wire {
            Wire::UnixMillis(ms) => Some(ms),
            Wire::Text { .. } => None,
        }
    }
}

impl From<OffsetDateTime> for Timestamp {
    /// Formats as RFC 3339 in UTC, the form the API's own examples use.
    fn from(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        let text = t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Timestamp {
            wire: Wire::Text {
                raw: text.into(),
                parsed: Some(t),
            },
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.wire, self.get()) {
            (_, Some(t)) => write!(f, "Timestamp({t})"),
            (Wire::Text { raw, .. }, None) if self.is_absent() => {
                write!(f, "Timestamp(absent {raw:?})")
            }
            (Wire::Text { raw, .. }, None) => write!(f, "Timestamp(invalid {raw:?})"),
            (Wire::UnixMillis(ms), None) => write!(f, "Timestamp(invalid ms {ms})"),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.wire {
            Wire::Text { raw, .. } => f.write_str(raw),
            Wire::UnixMillis(ms) => write!(f, "{ms}"),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.wire {
            Wire::Text { raw, .. } => serializer.serialize_str(raw),
            Wire::UnixMillis(ms) => serializer.serialize_i64(*ms),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time string or unix milliseconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Ok(Timestamp::from_text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp::from_unix_millis(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(Timestamp::from_unix_millis)
                    .map_err(|_| E::custom(format_args!("unix milliseconds out of range: {v}")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

fn is_sentinel(t: OffsetDateTime) -> bool {
    t.year() == 1 && t.ordinal() == 1 && t.time() == Time::MIDNIGHT
}

/// `YYYY-MM-DD[T| ]HH:MM:SS[.f{1,9}][Z|±HH:MM]`; no offset means UTC.
fn parse_rfc3339_lenient(text: &str) -> Option<OffsetDateTime> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(13) != Some(&b':') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(16) != Some(&b':') {
        return None;
    }
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    let hour = u8::try_from(num(11..13)?).ok()?;
    let minute = u8::try_from(num(14..16)?).ok()?;
    let second = u8::try_from(num(17..19)?).ok()?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let count = i - start;
        if count == 0 || count > 9 {
            return None;
        }
        nanos = num(start..i)? * 10u32.pow(u32::try_from(9 - count).ok()?);
    }
    let offset = match b.get(i..)? {
        [] | [b'Z' | b'z'] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let h = i8::try_from(num(i + 1..i + 3)?).ok()?;
            let m = i8::try_from(num(i + 4..i + 6)?).ok()?;
            let s = if *sign == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(s * h, s * m, 0).ok()?
        }
        _ => return None,
    };
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quirk_5_accepts_every_format_seen() {
        for (text, unix_nanos) in [
            ("2023-10-11T23:00:57.93094Z", 1_697_065_257_930_940_000_i128),
            ("2023-10-11T23:00:57.000Z", 1_697_065_257_000_000_000),
            ("2023-10-11T23:00:57Z", 1_697_065_257_000_000_000),
            ("2023-10-11T23:00:57+00:00", 1_697_065_257_000_000_000),
            ("2023-10-12T01:00:57+02:00", 1_697_065_257_000_000_000),
            ("2023-10-11T23:00:57", 1_697_065_257_000_000_000),
            ("2023-10-11T23:00:57.123456789Z", 1_697_065_257_123_456_789),
            ("2023-10-11T23:00:57.1-01:30", 1_697_070_657_100_000_000),
        ] {
            let t = Timestamp::from_text(text);
            assert_eq!(
                t.get().map(|t| t.unix_timestamp_nanos()),
                Some(unix_nanos),
                "{text}"
            );
            assert_eq!(t.raw_text(), Some(text));
        }
    }

    #[test]
    fn quirk_4_and_5_absent_values() {
        for text in [
            "",
            "0001-01-01T00:00:00",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00.000+00:00",
        ] {
            let t = Timestamp::from_text(text);
            assert!(
                t.is_absent() && !t.is_invalid() && t.get().is_none(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn quirk_3_invalid_text_is_kept() {
        for text in [
            "2023-07-23T32:35.000Z",
            "2023-02-30T00:00:00Z",
            "2023-10-11T23:00:57.1234567890Z",
            "yesterday",
            "2023-10-11T23:00:57+0000",
        ] {
            let t = Timestamp::from_text(text);
            assert!(t.is_invalid(), "{text}");
            assert_eq!(t.to_string(), text);
        }
    }

    #[test]
    fn unix_millis_are_the_instant_they_count() {
        let edges = [
            0,
            1,
            -1,
            999,
            -999,
            -1000,
            1_718_000_000_123,
            -62_135_596_800_000, // 0001-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // a year too far
            -377_705_116_800_001,
            987_654_321_987_654_321,
            i64::MAX,
            i64::MIN,
        ];
        for millis in edges {
            let want =
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok();
            assert_eq!(Timestamp::from_unix_millis(millis).get(), want, "{millis}");
        }
    }

    #[test]
    fn quirk_5_unix_milliseconds() {
        let t: Timestamp = serde_json::from_str("1718000000123").unwrap();
        assert_eq!(
            t.get().unwrap().unix_timestamp_nanos(),
            1_718_000_000_123_000_000
        );
        assert_eq!(serde_json::to_string(&t).unwrap(), "1718000000123");
    }
}
