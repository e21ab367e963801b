//! Field codecs for venue JSON, where the same field arrives as a string in
//! one message and as a number in the next.
//!
//! Money is read exactly through the number's own text
//! ([`hercle_models::decimal::parse_exact`], the models' codec): a JSON
//! number via `RawValue`, a string by its content. It never passes through
//! `f64`. Written back (NDJSON, simulators) as a JSON **string** holding the
//! same digits, so no consumer's JSON parser can round it.

use hercle_models::decimal::parse_exact;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::value::RawValue;

/// The text of a JSON scalar: a string's content or a number's digits.
fn scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = <Box<RawValue>>::deserialize(d)?;
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(D::Error::custom)
    } else if text.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
        Ok(text.to_owned())
    } else {
        Err(D::Error::custom(format_args!(
            "expected a number or a string, found {text}"
        )))
    }
}

/// An exact decimal from a JSON number or a string holding one.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let text = scalar_text(d)?;
    parse_exact(text.trim()).map_err(D::Error::custom)
}

/// A decimal written as a JSON string with its exact digits.
pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// `Option<Decimal>`: absent or `null` is `None`.
pub mod opt {
    use super::*;

    /// See [`super::deserialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(deserialize_with = "super::deserialize")] Decimal);
        Ok(Option::<W>::deserialize(d)?.map(|W(v)| v))
    }

    /// See [`super::serialize`].
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
}

/// An identifier that may be a JSON number (possibly above 2^53) or a
/// string, kept as its exact text.
pub mod id {
    use super::*;

    /// Reads either form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        scalar_text(d)
    }
}

/// `Option` of [`id`].
pub mod opt_id {
    use super::*;

    /// Reads either form; absent or `null` is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(deserialize_with = "super::id::deserialize")] String);
        Ok(Option::<W>::deserialize(d)?.map(|W(v)| v))
    }
}

/// An integer (a timestamp, a slot) from a number or a numeric string.
pub mod opt_int {
    use super::*;

    /// Reads either form; absent or `null` is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(deserialize_with = "super::id::deserialize")] String);
        match Option::<W>::deserialize(d)? {
            None => Ok(None),
            Some(W(t)) => t
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| D::Error::custom(format_args!("expected an integer, found {t}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Deserialize, serde::Serialize)]
    struct M {
        #[serde(with = "super")]
        v: Decimal,
        #[serde(default, with = "super::opt")]
        o: Option<Decimal>,
    }

    #[test]
    fn strings_and_numbers_read_exactly_and_write_as_strings() {
        for (json, want) in [
            (r#"{"v":"910.997790"}"#, "910.997790"),
            (r#"{"v":1234}"#, "1234"),
            (r#"{"v":1.0001}"#, "1.0001"),
            (r#"{"v":"0.8618780736305764"}"#, "0.8618780736305764"),
            (r#"{"v":1e-8}"#, "0.00000001"),
        ] {
            let m: M = serde_json::from_str(json).unwrap();
            assert_eq!(m.v.to_string(), want);
            let back = serde_json::to_string(&m).unwrap();
            assert_eq!(back, format!(r#"{{"v":"{want}","o":null}}"#));
        }
        assert!(serde_json::from_str::<M>(r#"{"v":"abc"}"#).is_err());
        assert!(serde_json::from_str::<M>(r#"{"v":true}"#).is_err());
        assert!(serde_json::from_str::<M>(r#"{"v":"79228162514264337593543950336"}"#).is_err());
    }
}
