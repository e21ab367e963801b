//! Writers for every record, each appending one JSON object and its 0x1E
//! terminator to a `Vec<u8>`.
//!
//! Output is compact JSON with `type` first. Functions that take a user
//! payload can fail only in that payload's `Serialize`; on failure `out` is
//! left exactly as it was. Several records may be written into one buffer and
//! sent as one transport frame.
//!
//! ```
//! use signalr_proto::encode;
//! let mut out = Vec::new();
//! encode::invocation(&mut out, Some("7"), "SubscribePairPriceChannel", &(("c1", "BTCUSDT"),))?;
//! encode::ping(&mut out);
//! assert_eq!(
//!     out,
//!     b"{\"type\":1,\"invocationId\":\"7\",\"target\":\"SubscribePairPriceChannel\",\
//! \"arguments\":[[\"c1\",\"BTCUSDT\"]]}\x1e{\"type\":6}\x1e"
//! );
//! # Ok::<(), signalr_proto::EncodeError>(())
//! ```

use serde::Serialize;

use crate::decoder::RECORD_SEPARATOR;
use crate::error::EncodeError;
use crate::handshake::HandshakeRequest;
use crate::message::{CompletionOutcome, HubMessage, MessageType, Payload};

/// Handshake request, e.g. `{"protocol":"json","version":1}`.
pub fn handshake_request(out: &mut Vec<u8>, request: &HandshakeRequest<'_>) {
    out.extend_from_slice(b"{\"protocol\":");
    write_str(out, &request.protocol);
    out.extend_from_slice(b",\"version\":");
    write_u64(out, request.version);
    end(out);
}

/// Handshake response: `{}` on success, `{"error":…}` on refusal.
pub fn handshake_response(out: &mut Vec<u8>, error: Option<&str>) {
    out.push(b'{');
    if let Some(error) = error {
        out.extend_from_slice(b"\"error\":");
        write_str(out, error);
    }
    end(out);
}

/// Invocation (type 1). `invocation_id: None` makes it non-blocking.
///
/// `arguments` must serialize to a JSON array: a tuple (`&(a, b)`, `&(a,)`),
/// slice or `Vec`. Always sends `arguments`, even when empty: the .NET server
/// rejects an invocation without it.
pub fn invocation<A: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    invocation_id: Option<&str>,
    target: &str,
    arguments: &A,
) -> Result<(), EncodeError> {
    call(
        out,
        MessageType::Invocation,
        invocation_id,
        target,
        arguments,
    )
}

/// StreamInvocation (type 4).
pub fn stream_invocation<A: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    invocation_id: &str,
    target: &str,
    arguments: &A,
) -> Result<(), EncodeError> {
    call(
        out,
        MessageType::StreamInvocation,
        Some(invocation_id),
        target,
        arguments,
    )
}

/// Invocation and StreamInvocation share their layout.
fn call<A: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    kind: MessageType,
    invocation_id: Option<&str>,
    target: &str,
    arguments: &A,
) -> Result<(), EncodeError> {
    let mark = out.len();
    begin(out, kind);
    if let Some(id) = invocation_id {
        field_str(out, "invocationId", id);
    }
    field_str(out, "target", target);
    guard(out, mark, |out| write_arguments(out, arguments))?;
    end(out);
    Ok(())
}

/// StreamItem (type 2).
pub fn stream_item<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    invocation_id: &str,
    item: &T,
) -> Result<(), EncodeError> {
    id_and_value(out, MessageType::StreamItem, invocation_id, "item", item)
}

/// StreamItem and a Completion with a result share their layout.
fn id_and_value<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    kind: MessageType,
    invocation_id: &str,
    name: &'static str,
    value: &T,
) -> Result<(), EncodeError> {
    let mark = out.len();
    begin(out, kind);
    field_str(out, "invocationId", invocation_id);
    out.push(b',');
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    guard(out, mark, |out| write_value(out, name, value))?;
    end(out);
    Ok(())
}

/// Completion (type 3) with a `result`.
pub fn completion_result<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    invocation_id: &str,
    result: &T,
) -> Result<(), EncodeError> {
    id_and_value(
        out,
        MessageType::Completion,
        invocation_id,
        "result",
        result,
    )
}

/// Completion (type 3) of a void method or a stream: no `result`, no `error`.
pub fn completion_void(out: &mut Vec<u8>, invocation_id: &str) {
    begin(out, MessageType::Completion);
    field_str(out, "invocationId", invocation_id);
    end(out);
}

/// Completion (type 3) with an `error`.
pub fn completion_error(out: &mut Vec<u8>, invocation_id: &str, error: &str) {
    begin(out, MessageType::Completion);
    field_str(out, "invocationId", invocation_id);
    field_str(out, "error", error);
    end(out);
}

/// CancelInvocation (type 5).
pub fn cancel_invocation(out: &mut Vec<u8>, invocation_id: &str) {
    begin(out, MessageType::CancelInvocation);
    field_str(out, "invocationId", invocation_id);
    end(out);
}

/// Ping (type 6): `{"type":6}`.
pub fn ping(out: &mut Vec<u8>) {
    begin(out, MessageType::Ping);
    end(out);
}

/// Close (type 7). `allowReconnect` is written only when true, like the .NET server.
pub fn close(out: &mut Vec<u8>, error: Option<&str>, allow_reconnect: bool) {
    begin(out, MessageType::Close);
    if let Some(error) = error {
        field_str(out, "error", error);
    }
    if allow_reconnect {
        out.extend_from_slice(b",\"allowReconnect\":true");
    }
    end(out);
}

/// Ack (type 8).
pub fn ack(out: &mut Vec<u8>, sequence_id: u64) {
    begin(out, MessageType::Ack);
    out.extend_from_slice(b",\"sequenceId\":");
    write_u64(out, sequence_id);
    end(out);
}

/// Sequence (type 9).
pub fn sequence(out: &mut Vec<u8>, sequence_id: u64) {
    begin(out, MessageType::Sequence);
    out.extend_from_slice(b",\"sequenceId\":");
    write_u64(out, sequence_id);
    end(out);
}

/// Any decoded message, with its headers and stream ids, payloads copied as
/// they were received. Decoding the output gives back an equal message.
pub fn message(out: &mut Vec<u8>, msg: &HubMessage<'_>) {
    begin(out, msg.message_type());
    match msg {
        HubMessage::Invocation(m) => {
            if let Some(id) = &m.invocation_id {
                field_str(out, "invocationId", id);
            }
            field_str(out, "target", &m.target);
            raw_array(out, "arguments", &m.arguments);
            str_array(out, "streamIds", &m.stream_ids);
            headers(out, &m.headers);
        }
        HubMessage::StreamInvocation(m) => {
            field_str(out, "invocationId", &m.invocation_id);
            field_str(out, "target", &m.target);
            raw_array(out, "arguments", &m.arguments);
            str_array(out, "streamIds", &m.stream_ids);
            headers(out, &m.headers);
        }
        HubMessage::StreamItem(m) => {
            field_str(out, "invocationId", &m.invocation_id);
            out.extend_from_slice(b",\"item\":");
            out.extend_from_slice(m.item.get().as_bytes());
            headers(out, &m.headers);
        }
        HubMessage::Completion(m) => {
            field_str(out, "invocationId", &m.invocation_id);
            match &m.outcome {
                CompletionOutcome::Void => {}
                CompletionOutcome::Result(r) => {
                    out.extend_from_slice(b",\"result\":");
                    out.extend_from_slice(r.get().as_bytes());
                }
                CompletionOutcome::Error(e) => field_str(out, "error", e),
            }
            headers(out, &m.headers);
        }
        HubMessage::CancelInvocation(m) => {
            field_str(out, "invocationId", &m.invocation_id);
            headers(out, &m.headers);
        }
        HubMessage::Ping => {}
        HubMessage::Close(m) => {
            if let Some(error) = &m.error {
                field_str(out, "error", error);
            }
            if m.allow_reconnect {
                out.extend_from_slice(b",\"allowReconnect\":true");
            }
        }
        HubMessage::Ack(m) => {
            out.extend_from_slice(b",\"sequenceId\":");
            write_u64(out, m.sequence_id);
        }
        HubMessage::Sequence(m) => {
            out.extend_from_slice(b",\"sequenceId\":");
            write_u64(out, m.sequence_id);
        }
    }
    end(out);
}

fn guard(
    out: &mut Vec<u8>,
    mark: usize,
    f: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    f(out).inspect_err(|_| out.truncate(mark))
}

fn begin(out: &mut Vec<u8>, t: MessageType) {
    out.extend_from_slice(b"{\"type\":");
    write_u64(out, u64::from(t.code()));
}

fn end(out: &mut Vec<u8>) {
    out.push(b'}');
    out.push(RECORD_SEPARATOR);
}

fn field_str(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b',');
    write_str(out, name);
    out.push(b':');
    write_str(out, value);
}

fn write_arguments<A: Serialize + ?Sized>(out: &mut Vec<u8>, args: &A) -> Result<(), EncodeError> {
    out.extend_from_slice(b",\"arguments\":");
    let at = out.len();
    write_value(out, "arguments", args)?;
    if out.get(at) == Some(&b'[') {
        Ok(())
    } else {
        Err(EncodeError::ArgumentsNotArray)
    }
}

fn write_value<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    field: &'static str,
    value: &T,
) -> Result<(), EncodeError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| EncodeError::Serialize {
        field,
        reason: e.to_string(),
    })
}

fn raw_array(out: &mut Vec<u8>, name: &str, items: &[Payload<'_>]) {
    out.push(b',');
    write_str(out, name);
    out.extend_from_slice(b":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.get().as_bytes());
    }
    out.push(b']');
}

fn str_array(out: &mut Vec<u8>, name: &str, items: &[std::borrow::Cow<'_, str>]) {
    if items.is_empty() {
        return;
    }
    out.push(b',');
    write_str(out, name);
    out.extend_from_slice(b":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, item);
    }
    out.push(b']');
}

fn headers(out: &mut Vec<u8>, headers: &crate::message::Headers<'_>) {
    if headers.is_empty() {
        return;
    }
    out.extend_from_slice(b",\"headers\":{");
    for (i, (k, v)) in headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_str(out, v);
    }
    out.push(b'}');
}

fn write_u64(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            // `n % 10` is below 10, so the cast cannot truncate.
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}

/// JSON string with the escapes RFC 8259 requires (quote, backslash, control
/// characters); everything else, including non-ASCII, is copied as UTF-8.
fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(run..i).unwrap_or_default());
        if esc.is_empty() {
            let hex = |n: u8| HEX.get(usize::from(n & 0xF)).copied().unwrap_or(b'0');
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(b >> 4), hex(b)]);
        } else {
            out.extend_from_slice(esc);
        }
        run = i + 1;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
    out.push(b'"');
}
