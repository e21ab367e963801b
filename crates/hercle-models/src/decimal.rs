//! Exact decimal numbers on the wire.
//!
//! serde_json hands a plain number to a visitor as `f64` unless the
//! `arbitrary_precision` feature is on, and that feature would change
//! `serde_json` for every crate in a user's build. Instead each money field
//! reads the number's own text through `RawValue` and parses it with
//! `rust_decimal`, and writes it back as a raw JSON number with the same
//! digits. No value ever passes through `f64`.

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;
use std::str::FromStr;

/// Marker at the start of a number error's message, so that
/// [`DecodeError::kind`](crate::DecodeError::kind) can tell it apart from
/// other data errors after serde has turned it into text.
pub(crate) const NUMBER_ERROR_MARKER: &str = "number not representable as a decimal";

/// Why a JSON number's text cannot be held exactly by [`Decimal`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberError {
    text: String,
}

impl NumberError {
    /// The number's text as it appeared on the wire.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{NUMBER_ERROR_MARKER} without loss (beyond 96 bits or 28 fractional digits): {}",
            self.text
        )
    }
}

impl std::error::Error for NumberError {}

/// Parses a JSON number's text exactly: plain (`26844.07`), exponent
/// (`1e-8`), or integer. Text that `Decimal` would have to round is an error.
///
/// ```
/// use hercle_models::decimal::parse_exact;
/// assert_eq!(parse_exact("1e-8").unwrap().to_string(), "0.00000001");
/// assert!(parse_exact("79228162514264337593543950336").is_err());
/// ```
pub fn parse_exact(text: &str) -> Result<Decimal, NumberError> {
    let err = || NumberError {
        text: text.to_owned(),
    };
    if !is_json_number(text) {
        return Err(err());
    }
    if text.contains(['e', 'E']) {
        let d = Decimal::from_scientific(text).map_err(|_| err())?;
        // from_scientific rounds silently when the mantissa has more digits
        // than the scale allows: check that nothing was lost.
        if significant_digits(text) != significant_digits(&d.to_string()) {
            return Err(err());
        }
        Ok(d)
    } else {
        Decimal::from_str_exact(text).map_err(|_| err())
    }
}

/// The digits of a number with its decimal point moved so that the value
/// is `digits × 10^exp`, with leading and trailing zeros stripped: equal
/// values give equal results whatever their notation.
pub(crate) fn significant_digits(text: &str) -> (bool, String, i64) {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = int.chars().chain(frac.chars()).collect();
    let mut exp = exp - i64::try_from(frac.len()).unwrap_or(i64::MAX);
    while digits.ends_with('0') {
        digits.pop();
        exp += 1;
    }
    let digits = digits.trim_start_matches('0').to_owned();
    if digits.is_empty() {
        return (false, String::new(), 0);
    }
    (negative, digits, exp)
}

/// Whether two JSON number texts denote the same value, compared digit by
/// digit (`0.10` = `0.1` = `1e-1`), never through a float.
pub fn same_number(a: &str, b: &str) -> bool {
    is_json_number(a) && is_json_number(b) && significant_digits(a) == significant_digits(b)
}

pub(crate) fn is_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// A [`Decimal`] that (de)serializes as a JSON number with its exact digits.
///
/// Generated models use it for every `number` field; it is public so that
/// hand-written types elsewhere can do the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ExactDecimal(pub Decimal);

impl<'de> Deserialize<'de> for ExactDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <Box<RawValue>>::deserialize(deserializer)?;
        let text = raw.get();
        if text.starts_with('"') {
            // Strings are not numbers on this API; say so instead of guessing.
            return Err(D::Error::custom(format_args!(
                "expected a JSON number, found string {text}"
            )));
        }
        parse_exact(text)
            .map(ExactDecimal)
            .map_err(D::Error::custom)
    }
}

impl Serialize for ExactDecimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

/// Writes `value` as a raw JSON number keeping its scale (`0.10` stays `0.10`).
pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(value.to_string()).map_err(serde::ser::Error::custom)?;
    raw.serialize(serializer)
}

impl FromStr for ExactDecimal {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_exact(s).map(ExactDecimal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_notation_exactly() {
        for (text, want) in [
            ("0.1", "0.1"),
            ("26844.07", "26844.07"),
            ("26844.070", "26844.070"),
            ("1e-8", "0.00000001"),
            ("1E-8", "0.00000001"),
            ("0.00000001", "0.00000001"),
            (
                "79228162514264337593543950335",
                "79228162514264337593543950335",
            ),
            (
                "-79228162514264337593543950335",
                "-79228162514264337593543950335",
            ),
            ("2.5e3", "2500"),
            ("0", "0"),
            ("-0.0", "0.0"),
        ] {
            assert_eq!(parse_exact(text).unwrap().to_string(), want, "{text}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_hold() {
        for text in [
            "79228162514264337593543950336",
            "1e29",
            "0.00000000000000000000000000001",
            "1e-29",
            "NaN",
            "1.",
            ".5",
            "01x",
            "",
            "1e",
        ] {
            assert!(parse_exact(text).is_err(), "{text}");
        }
    }

    #[test]
    fn compares_numbers_by_value_not_notation() {
        assert!(same_number("0.10", "1e-1"));
        assert!(same_number("100", "1E2"));
        assert!(same_number("0", "-0.000"));
        assert!(!same_number("0.1", "0.11"));
        assert!(!same_number("-1", "1"));
    }
}
