//! The unit a transport carries.

use bytes::Bytes;

/// One message on the wire, as a message-oriented transport (WebSocket, a
/// line-framed byte stream) delivers it.
///
/// Payloads are [`Bytes`] so that a WebSocket library's buffers (tungstenite's
/// `Utf8Bytes` and `Bytes`) are handed to the protocol without a copy. A
/// `Text` frame is UTF-8 as far as the transport promises; protocols parse it
/// as JSON anyway, which checks it again, so the type does not.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame (WebSocket opcode 1, or one line of a line-framed stream).
    Text(Bytes),
    /// A binary frame (WebSocket opcode 2). Some SignalR servers (aiosignalr)
    /// send JSON this way, so protocols should accept both kinds.
    Binary(Bytes),
}

impl Frame {
    /// A text frame holding `text`.
    pub fn text(text: impl Into<String>) -> Self {
        Frame::Text(Bytes::from(text.into()))
    }

    /// The payload, whatever the kind.
    pub fn payload(&self) -> &[u8] {
        match self {
            Frame::Text(b) | Frame::Binary(b) => b,
        }
    }

    /// The payload as text, if it is valid UTF-8 (either kind).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.payload()).ok()
    }
}

/// Shows the kind and the size only: frames may carry credentials (an `auth`
/// step) and must not reach logs through `Debug`.
impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Text(b) => write!(f, "Text({} bytes)", b.len()),
            Frame::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
        }
    }
}
