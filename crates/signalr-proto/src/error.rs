//! Typed errors for decoding and encoding.

use std::fmt;

use crate::message::MessageType;

/// Which kind of record an error was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// The client's first record, `{"protocol":…,"version":…}`.
    HandshakeRequest,
    /// The server's answer to the handshake, `{}` or `{"error":…}`.
    HandshakeResponse,
    /// A hub message whose `type` is known.
    Message(MessageType),
    /// A hub message whose `type` is missing or not a number.
    UntypedMessage,
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordKind::HandshakeRequest => f.write_str("handshake request"),
            RecordKind::HandshakeResponse => f.write_str("handshake response"),
            RecordKind::Message(t) => write!(f, "{t:?} message"),
            RecordKind::UntypedMessage => f.write_str("hub message"),
        }
    }
}

/// Everything that can go wrong while reading SignalR JSON records.
///
/// Each variant carries what a log line needs: the kind of record, the field
/// and what was expected, or the sizes involved. After any of these errors the
/// faulty record has been dropped and the [`Decoder`](crate::Decoder) can keep
/// going, but the protocol says the peer may be disconnected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The record is not valid UTF-8.
    InvalidUtf8 {
        /// Bytes of the record that were valid before the first bad sequence.
        valid_up_to: usize,
    },
    /// The record is not well-formed JSON (or has bytes after the object).
    MalformedJson {
        /// 1-based line of the problem inside the record.
        line: usize,
        /// 1-based column of the problem inside the record.
        column: usize,
        /// serde_json's description of the problem.
        reason: String,
    },
    /// The record is valid JSON but not an object.
    NotAnObject {
        /// What the record was supposed to be.
        record: RecordKind,
    },
    /// A required property is absent.
    MissingField {
        /// The record it was missing from.
        record: RecordKind,
        /// The JSON property name.
        field: &'static str,
    },
    /// A property has the wrong JSON type (or an out-of-range number).
    InvalidField {
        /// The record it was found in.
        record: RecordKind,
        /// The JSON property name.
        field: &'static str,
        /// What the protocol expects there, e.g. `"string"`.
        expected: &'static str,
    },
    /// A Completion carries both `result` and `error`, which the spec forbids.
    ResultAndError,
    /// A handshake response has a `type` property: the peer is already sending
    /// hub messages, so it was not in handshake mode.
    HandshakeResponseHasType,
    /// A record (or the unterminated tail of one) is longer than the decoder's
    /// maximum message size. The record is skipped.
    TooLarge {
        /// Bytes seen for this record when the limit was crossed (a lower bound
        /// when the record was still incomplete).
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The input ended in the middle of a record (no 0x1E terminator).
    Truncated {
        /// Bytes of the incomplete record.
        buffered: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::InvalidUtf8 { valid_up_to } => {
                write!(f, "record is not UTF-8 (valid up to byte {valid_up_to})")
            }
            DecodeError::MalformedJson {
                line,
                column,
                reason,
            } => write!(
                f,
                "malformed JSON record at line {line} column {column}: {reason}"
            ),
            DecodeError::NotAnObject { record } => {
                write!(f, "{record} is not a JSON object")
            }
            DecodeError::MissingField { record, field } => {
                write!(f, "{record} is missing required property '{field}'")
            }
            DecodeError::InvalidField {
                record,
                field,
                expected,
            } => write!(f, "{record} property '{field}' must be of type {expected}"),
            DecodeError::ResultAndError => {
                f.write_str("Completion message has both 'result' and 'error'")
            }
            DecodeError::HandshakeResponseHasType => {
                f.write_str("expected a handshake response but got a hub message")
            }
            DecodeError::TooLarge { size, max } => {
                write!(
                    f,
                    "record of {size} bytes or more exceeds the {max}-byte limit"
                )
            }
            DecodeError::Truncated { buffered } => write!(
                f,
                "input ended inside a record ({buffered} bytes without a 0x1E terminator)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        let reason = err.to_string();
        // serde_json appends " at line L column C"; the fields already say that.
        let reason = match reason.rfind(" at line ") {
            Some(i) => reason.get(..i).unwrap_or(&reason).to_owned(),
            None => reason,
        };
        DecodeError::MalformedJson {
            line: err.line(),
            column: err.column(),
            reason,
        }
    }
}

/// Errors from the encoder: only user payloads can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The payload's `Serialize` implementation failed.
    Serialize {
        /// Which part of the message was being written, e.g. `"arguments"`.
        field: &'static str,
        /// The serializer's message.
        reason: String,
    },
    /// `arguments` did not serialize to a JSON array (use a tuple, slice or `Vec`).
    ArgumentsNotArray,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Serialize { field, reason } => {
                write!(f, "could not serialize '{field}': {reason}")
            }
            EncodeError::ArgumentsNotArray => {
                f.write_str("'arguments' must serialize to a JSON array")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
