//! The handshake: the first record in each direction, always JSON text.
//!
//! The client sends `{"protocol":"json","version":1}` + 0x1E; the server
//! answers `{}` + 0x1E, or `{"error":"…"}` + 0x1E and then closes. Nothing
//! else may be sent before the handshake completes. Hub messages may follow
//! the server's answer in the same transport frame: use
//! [`Decoder::next_handshake_response`](crate::Decoder::next_handshake_response)
//! (the rest stays buffered) or [`split_record`](crate::split_record).

use std::borrow::Cow;

use crate::error::{DecodeError, RecordKind};
use crate::message::{optional, required};
use crate::raw::{Slot, parse_record};

/// Protocol name of the JSON hub protocol.
pub const JSON_PROTOCOL: &str = "json";

/// Handshake version clients normally request.
pub const DEFAULT_PROTOCOL_VERSION: u64 = 1;

/// Highest version a .NET 8+ server accepts for `json`: 2 enables stateful
/// reconnect (Ack/Sequence) and clients ask for it only when negotiate
/// returned `useStatefulReconnect: true`. Servers accept anything up to this,
/// including 0 (signalrcore sends 0).
pub const MAX_PROTOCOL_VERSION: u64 = 2;

/// The client's handshake request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest<'a> {
    /// Hub protocol name: `"json"` or `"messagepack"`.
    pub protocol: Cow<'a, str>,
    /// Hub protocol version.
    pub version: u64,
}

impl HandshakeRequest<'static> {
    /// `{"protocol":"json","version":1}`.
    pub fn json() -> Self {
        HandshakeRequest {
            protocol: Cow::Borrowed(JSON_PROTOCOL),
            version: DEFAULT_PROTOCOL_VERSION,
        }
    }
}

/// The server's handshake response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HandshakeResponse<'a> {
    /// Why the server refused, if it did. A server sending this closes next.
    pub error: Option<Cow<'a, str>>,
}

/// Parses a handshake request record (without its 0x1E terminator).
///
/// ```
/// use signalr_proto::parse_handshake_request;
/// let req = parse_handshake_request(br#"{"protocol":"json","version":1}"#)?;
/// assert_eq!((&*req.protocol, req.version), ("json", 1));
/// # Ok::<(), signalr_proto::DecodeError>(())
/// ```
pub fn parse_handshake_request(record: &[u8]) -> Result<HandshakeRequest<'_>, DecodeError> {
    let kind = RecordKind::HandshakeRequest;
    let raw = parse_record(record, kind)?;
    Ok(HandshakeRequest {
        protocol: required(raw.protocol, kind, "protocol", "string")?,
        version: required(raw.version, kind, "version", "non-negative integer")?,
    })
}

/// Parses a handshake response record (without its 0x1E terminator).
///
/// A record with a `type` property is rejected with
/// [`DecodeError::HandshakeResponseHasType`], as the official clients do.
pub fn parse_handshake_response(record: &[u8]) -> Result<HandshakeResponse<'_>, DecodeError> {
    let kind = RecordKind::HandshakeResponse;
    let raw = parse_record(record, kind)?;
    if !matches!(raw.type_, Slot::Absent) {
        return Err(DecodeError::HandshakeResponseHasType);
    }
    Ok(HandshakeResponse {
        error: optional(raw.error, kind, "error", "string")?,
    })
}
