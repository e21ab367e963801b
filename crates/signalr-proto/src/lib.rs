//! Sans-IO implementation of the ASP.NET Core SignalR **JSON hub protocol**:
//! negotiate bodies, the handshake, all hub message types (1–9), an
//! incremental zero-copy [`Decoder`] and an [`encode`]r.
//!
//! No async runtime and no I/O: feed bytes from any transport (WebSocket text
//! frames, long-polling bodies, SSE `data`), get borrowed messages back; write
//! messages into a `Vec<u8>` and send it however you like. Usable by clients
//! and servers alike.
//!
//! Payloads (`arguments`, `item`, `result`) stay as borrowed
//! [`RawValue`](serde_json::value::RawValue) text, so the layer that knows the
//! method signatures decodes them straight into its own types.
//!
//! Behaviour follows the official implementations where the spec is stricter:
//! unknown message types and unknown properties are skipped, `headers` are
//! accepted everywhere, JSON `null` counts as absent for optional strings,
//! while an Invocation without `arguments` is an error.
//!
//! ```
//! use signalr_proto::{encode, Decoder, HubMessage, HandshakeRequest};
//!
//! // Client: handshake, then one invocation.
//! let mut wire = Vec::new();
//! encode::handshake_request(&mut wire, &HandshakeRequest::json());
//! encode::invocation(&mut wire, Some("1"), "Add", &(40, 2))?;
//!
//! // Server: the same bytes, split anywhere.
//! let mut dec = Decoder::new();
//! let (a, b) = wire.split_at(10);
//! dec.push(a);
//! assert!(dec.next_handshake_request()?.is_none());
//! dec.push(b);
//! let hs = dec.next_handshake_request()?.expect("complete");
//! assert_eq!(hs.protocol, "json");
//! let Some(HubMessage::Invocation(inv)) = dec.next_message()? else { panic!() };
//! let (x, y): (i32, i32) = (inv.argument(0)?.unwrap(), inv.argument(1)?.unwrap());
//! assert_eq!(x + y, 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decoder;
pub mod encode;
mod error;
mod handshake;
mod message;
pub mod negotiate;
mod raw;

pub use decoder::{
    DEFAULT_MAX_MESSAGE_SIZE, DOTNET_SERVER_MAX_MESSAGE_SIZE, Decoder, RECORD_SEPARATOR,
    split_record,
};
pub use error::{DecodeError, EncodeError, RecordKind};
pub use handshake::{
    DEFAULT_PROTOCOL_VERSION, HandshakeRequest, HandshakeResponse, JSON_PROTOCOL,
    MAX_PROTOCOL_VERSION, parse_handshake_request, parse_handshake_response,
};
pub use message::{
    Ack, CancelInvocation, Close, Completion, CompletionOutcome, Headers, HubMessage, Invocation,
    MessageType, Payload, Sequence, StreamInvocation, StreamItem, parse_message,
};
