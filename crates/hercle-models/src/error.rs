//! Decoding errors that say where in the payload things went wrong.

use serde::Deserialize;
use std::fmt;

/// What kind of problem stopped decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Not JSON at all.
    Syntax,
    /// The input ended in the middle of a value.
    Truncated,
    /// Valid JSON of the wrong shape or type.
    Shape,
    /// A number that `rust_decimal::Decimal` cannot hold exactly.
    Number,
}

/// A payload that could not be decoded, with the JSON path of the failure
/// (`items[3].price`); the payload's values are not echoed beyond what the
/// JSON parser quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    path: String,
    kind: DecodeErrorKind,
    message: String,
}

impl DecodeError {
    pub(crate) fn from_serde(path: impl Into<String>, err: serde_json::Error) -> Self {
        let message = err.to_string();
        let kind = match err.classify() {
            serde_json::error::Category::Eof => DecodeErrorKind::Truncated,
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                DecodeErrorKind::Syntax
            }
            serde_json::error::Category::Data
                if message.contains(crate::decimal::NUMBER_ERROR_MARKER) =>
            {
                DecodeErrorKind::Number
            }
            serde_json::error::Category::Data => DecodeErrorKind::Shape,
        };
        DecodeError {
            path: path.into(),
            kind,
            message,
        }
    }

    /// The JSON path where decoding failed; empty for the top level.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What kind of problem it was.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// The parser's description of the problem.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "cannot decode payload: {}", self.message)
        } else {
            write!(
                f,
                "cannot decode payload at `{}`: {}",
                self.path, self.message
            )
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a JSON payload into `T`, naming the JSON path on failure.
///
/// ```
/// use hercle_models::{decode, PriceQuote};
/// let err = decode::<PriceQuote>(br#"{"buyPrice": "cheap"}"#).unwrap_err();
/// assert_eq!(err.path(), "buyPrice");
/// ```
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    // Fast path without path tracking (it allocates every key); only a
    // failure pays for a second, tracking pass to name the path.
    serde_json::from_slice(bytes)
        .or_else(|_| with_path(&mut serde_json::Deserializer::from_slice(bytes)))
}

/// [`decode`] for text.
pub fn decode_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, DecodeError> {
    serde_json::from_str(text).or_else(|_| with_path(&mut serde_json::Deserializer::from_str(text)))
}

fn with_path<'a, R: serde_json::de::Read<'a>, T: Deserialize<'a>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<T, DecodeError> {
    let value = serde_path_to_error::deserialize(&mut *de)
        .map_err(|e| DecodeError::from_serde(e.path().to_string(), e.into_inner()))?;
    de.end().map_err(|e| DecodeError::from_serde("", e))?;
    Ok(value)
}
