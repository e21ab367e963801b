//! Hub messages (types 1–9) as borrowed views of a JSON record.

use std::borrow::Cow;

use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{DecodeError, RecordKind};
use crate::raw::{RawRecord, Slot, parse_record};

/// `headers` of a message: string keys and values, in wire order.
///
/// No header is defined by the spec; peers must accept and ignore them.
/// Some clients (signalrcore, pysignalr) copy their HTTP headers here, so
/// treat values as possibly sensitive when logging.
pub type Headers<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// A JSON value exactly as received (an argument, stream item or result),
/// borrowed from the decoder's buffer.
///
/// Equality compares the JSON text, not the value (`1.0` differs from `1`).
#[derive(Clone, Copy)]
pub struct Payload<'a>(&'a RawValue);

impl<'a> Payload<'a> {
    /// Wraps raw JSON.
    pub fn new(raw: &'a RawValue) -> Self {
        Payload(raw)
    }

    /// The JSON text.
    pub fn get(self) -> &'a str {
        self.0.get()
    }

    /// The underlying [`RawValue`].
    pub fn as_raw(self) -> &'a RawValue {
        self.0
    }

    /// Decodes the value into `T`, borrowing strings from the record when `T`
    /// does (`&'a str`, `Cow<'a, str>`, nested `&'a RawValue`).
    pub fn decode<T: Deserialize<'a>>(self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for Payload<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Payload<'_> {}

impl fmt::Debug for Payload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Payload<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(d).map(Payload)
    }
}

/// The numeric `type` of a hub message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// 1: call a method, with or without an `invocationId`.
    Invocation,
    /// 2: one item of a stream (either direction).
    StreamItem,
    /// 3: end of an invocation or stream.
    Completion,
    /// 4: call a streaming method.
    StreamInvocation,
    /// 5: ask the callee to stop.
    CancelInvocation,
    /// 6: keep-alive.
    Ping,
    /// 7: the sender is closing the connection.
    Close,
    /// 8: stateful reconnect: received up to `sequenceId`.
    Ack,
    /// 9: stateful reconnect: replay starts at `sequenceId`.
    Sequence,
}

impl MessageType {
    /// The wire number.
    pub fn code(self) -> u8 {
        match self {
            MessageType::Invocation => 1,
            MessageType::StreamItem => 2,
            MessageType::Completion => 3,
            MessageType::StreamInvocation => 4,
            MessageType::CancelInvocation => 5,
            MessageType::Ping => 6,
            MessageType::Close => 7,
            MessageType::Ack => 8,
            MessageType::Sequence => 9,
        }
    }

    /// The type for a wire number, `None` for numbers this crate does not know
    /// (which the official implementations skip).
    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            1 => MessageType::Invocation,
            2 => MessageType::StreamItem,
            3 => MessageType::Completion,
            4 => MessageType::StreamInvocation,
            5 => MessageType::CancelInvocation,
            6 => MessageType::Ping,
            7 => MessageType::Close,
            8 => MessageType::Ack,
            9 => MessageType::Sequence,
            _ => return None,
        })
    }
}

/// A decoded hub message borrowing from the record it was read from.
///
/// Strings are [`Cow::Borrowed`] unless they contained JSON escapes; payloads
/// (`arguments`, `item`, `result`) are the untouched JSON text, to be decoded
/// by the layer that knows their types.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HubMessage<'a> {
    /// Type 1.
    Invocation(Invocation<'a>),
    /// Type 2.
    StreamItem(StreamItem<'a>),
    /// Type 3.
    Completion(Completion<'a>),
    /// Type 4.
    StreamInvocation(StreamInvocation<'a>),
    /// Type 5.
    CancelInvocation(CancelInvocation<'a>),
    /// Type 6. Carries nothing, not even headers.
    Ping,
    /// Type 7.
    Close(Close<'a>),
    /// Type 8.
    Ack(Ack),
    /// Type 9.
    Sequence(Sequence),
}

impl HubMessage<'_> {
    /// The message's `type`.
    pub fn message_type(&self) -> MessageType {
        match self {
            HubMessage::Invocation(_) => MessageType::Invocation,
            HubMessage::StreamItem(_) => MessageType::StreamItem,
            HubMessage::Completion(_) => MessageType::Completion,
            HubMessage::StreamInvocation(_) => MessageType::StreamInvocation,
            HubMessage::CancelInvocation(_) => MessageType::CancelInvocation,
            HubMessage::Ping => MessageType::Ping,
            HubMessage::Close(_) => MessageType::Close,
            HubMessage::Ack(_) => MessageType::Ack,
            HubMessage::Sequence(_) => MessageType::Sequence,
        }
    }

    /// Whether stateful reconnect numbers this message (Invocation,
    /// StreamInvocation, StreamItem, Completion, CancelInvocation).
    pub fn is_trackable(&self) -> bool {
        matches!(
            self,
            HubMessage::Invocation(_)
                | HubMessage::StreamItem(_)
                | HubMessage::Completion(_)
                | HubMessage::StreamInvocation(_)
                | HubMessage::CancelInvocation(_)
        )
    }
}

/// A method call (type 1). Without `invocation_id` it is non-blocking: the
/// callee must not answer at all.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation<'a> {
    /// Caller-chosen id, absent for non-blocking calls.
    pub invocation_id: Option<Cow<'a, str>>,
    /// Method name (case-sensitive on the wire).
    pub target: Cow<'a, str>,
    /// Positional arguments as raw JSON.
    pub arguments: Vec<Payload<'a>>,
    /// Ids of upload streams the caller will feed with StreamItems; empty when absent.
    pub stream_ids: Vec<Cow<'a, str>>,
    /// Headers; empty when absent.
    pub headers: Headers<'a>,
}

impl<'a> Invocation<'a> {
    /// Decodes argument `index` into `T`, borrowing from the record where `T` allows.
    ///
    /// ```
    /// # use signalr_proto::{parse_message, HubMessage};
    /// let msg = parse_message(br#"{"type":1,"target":"Add","arguments":[40,2]}"#)?.unwrap();
    /// let HubMessage::Invocation(inv) = msg else { unreachable!() };
    /// assert_eq!(inv.argument::<u32>(1)?, Some(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn argument<T: Deserialize<'a>>(&self, index: usize) -> serde_json::Result<Option<T>> {
        self.arguments
            .get(index)
            .map(|raw| raw.decode())
            .transpose()
    }
}

/// A streaming method call (type 4); the id is mandatory.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInvocation<'a> {
    /// Caller-chosen id, repeated in every StreamItem and the Completion.
    pub invocation_id: Cow<'a, str>,
    /// Method name.
    pub target: Cow<'a, str>,
    /// Positional arguments as raw JSON.
    pub arguments: Vec<Payload<'a>>,
    /// Upload stream ids; empty when absent.
    pub stream_ids: Vec<Cow<'a, str>>,
    /// Headers; empty when absent.
    pub headers: Headers<'a>,
}

/// One streamed value (type 2). `item` is required but may be JSON `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamItem<'a> {
    /// The stream's invocation id (or upload stream id).
    pub invocation_id: Cow<'a, str>,
    /// The value as raw JSON.
    pub item: Payload<'a>,
    /// Headers; empty when absent.
    pub headers: Headers<'a>,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CompletionOutcome<'a> {
    /// No `result` and no `error`: a void method or the end of a stream.
    Void,
    /// `result` was present; `"result": null` is `Result(null)`, not `Void`.
    Result(Payload<'a>),
    /// `error` was present.
    Error(Cow<'a, str>),
}

/// End of an invocation or stream (type 3).
#[derive(Debug, Clone, PartialEq)]
pub struct Completion<'a> {
    /// The id being completed.
    pub invocation_id: Cow<'a, str>,
    /// Void, result or error.
    pub outcome: CompletionOutcome<'a>,
    /// Headers; empty when absent.
    pub headers: Headers<'a>,
}

/// Cancel a stream or invocation (type 5).
#[derive(Debug, Clone, PartialEq)]
pub struct CancelInvocation<'a> {
    /// The id to cancel.
    pub invocation_id: Cow<'a, str>,
    /// Headers; empty when absent.
    pub headers: Headers<'a>,
}

/// The sender is closing the connection (type 7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Close<'a> {
    /// Why, when it was an error.
    pub error: Option<Cow<'a, str>>,
    /// Whether clients with automatic reconnect should reconnect.
    pub allow_reconnect: bool,
}

/// Stateful reconnect acknowledgement (type 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Highest trackable message id processed by the sender.
    pub sequence_id: u64,
}

/// Stateful reconnect replay start (type 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequence {
    /// Id of the first trackable message the sender is about to (re)send.
    pub sequence_id: u64,
}

/// Parses one hub message record (without its 0x1E terminator).
///
/// Returns `Ok(None)` for a message `type` this crate does not know: like the
/// official clients and server, such records are skipped so that newer peers
/// can add types. Unknown properties are ignored too.
///
/// ```
/// use signalr_proto::{parse_message, HubMessage, CompletionOutcome};
/// let msg = parse_message(br#"{"type":3,"invocationId":"7"}"#)?;
/// let Some(HubMessage::Completion(c)) = msg else { panic!() };
/// assert_eq!(c.outcome, CompletionOutcome::Void);
/// # Ok::<(), signalr_proto::DecodeError>(())
/// ```
pub fn parse_message(record: &[u8]) -> Result<Option<HubMessage<'_>>, DecodeError> {
    let raw = parse_record(record, RecordKind::UntypedMessage)?;
    from_raw(raw)
}

fn from_raw(raw: RawRecord<'_>) -> Result<Option<HubMessage<'_>>, DecodeError> {
    let untyped = RecordKind::UntypedMessage;
    let code = match raw.type_ {
        Slot::Absent => {
            return Err(DecodeError::MissingField {
                record: untyped,
                field: "type",
            });
        }
        Slot::Wrong => {
            return Err(DecodeError::InvalidField {
                record: untyped,
                field: "type",
                expected: "non-negative integer",
            });
        }
        Slot::Ok(code) => code,
    };
    let Some(kind) = MessageType::from_code(code) else {
        return Ok(None);
    };
    let rec = RecordKind::Message(kind);
    let msg = match kind {
        MessageType::Invocation => HubMessage::Invocation(Invocation {
            invocation_id: optional(raw.invocation_id, rec, "invocationId", "string")?,
            target: required(raw.target, rec, "target", "string")?,
            arguments: required(raw.arguments, rec, "arguments", "array")?,
            stream_ids: optional(raw.stream_ids, rec, "streamIds", "array of strings")?
                .unwrap_or_default(),
            headers: headers(raw.headers, rec)?,
        }),
        MessageType::StreamInvocation => HubMessage::StreamInvocation(StreamInvocation {
            invocation_id: required(raw.invocation_id, rec, "invocationId", "string")?,
            target: required(raw.target, rec, "target", "string")?,
            arguments: required(raw.arguments, rec, "arguments", "array")?,
            stream_ids: optional(raw.stream_ids, rec, "streamIds", "array of strings")?
                .unwrap_or_default(),
            headers: headers(raw.headers, rec)?,
        }),
        MessageType::StreamItem => HubMessage::StreamItem(StreamItem {
            invocation_id: required(raw.invocation_id, rec, "invocationId", "string")?,
            item: raw.item.ok_or(DecodeError::MissingField {
                record: rec,
                field: "item",
            })?,
            headers: headers(raw.headers, rec)?,
        }),
        MessageType::Completion => {
            let invocation_id = required(raw.invocation_id, rec, "invocationId", "string")?;
            let error = optional(raw.error, rec, "error", "string")?;
            let outcome = match (raw.result, error) {
                (Some(_), Some(_)) => return Err(DecodeError::ResultAndError),
                (Some(result), None) => CompletionOutcome::Result(result),
                (None, Some(error)) => CompletionOutcome::Error(error),
                (None, None) => CompletionOutcome::Void,
            };
            HubMessage::Completion(Completion {
                invocation_id,
                outcome,
                headers: headers(raw.headers, rec)?,
            })
        }
        MessageType::CancelInvocation => HubMessage::CancelInvocation(CancelInvocation {
            invocation_id: required(raw.invocation_id, rec, "invocationId", "string")?,
            headers: headers(raw.headers, rec)?,
        }),
        MessageType::Ping => HubMessage::Ping,
        MessageType::Close => HubMessage::Close(Close {
            error: optional(raw.error, rec, "error", "string")?,
            allow_reconnect: optional(raw.allow_reconnect, rec, "allowReconnect", "boolean")?
                .unwrap_or(false),
        }),
        MessageType::Ack => HubMessage::Ack(Ack {
            sequence_id: required(raw.sequence_id, rec, "sequenceId", "non-negative integer")?,
        }),
        MessageType::Sequence => HubMessage::Sequence(Sequence {
            sequence_id: required(raw.sequence_id, rec, "sequenceId", "non-negative integer")?,
        }),
    };
    Ok(Some(msg))
}

pub(crate) fn required<T>(
    slot: Slot<T>,
    record: RecordKind,
    field: &'static str,
    expected: &'static str,
) -> Result<T, DecodeError> {
    match slot {
        Slot::Ok(v) => Ok(v),
        Slot::Absent => Err(DecodeError::MissingField { record, field }),
        Slot::Wrong => Err(DecodeError::InvalidField {
            record,
            field,
            expected,
        }),
    }
}

/// Optional fields also accept JSON `null` as "absent" (the slot reader maps
/// `null` to `Absent` for them), as the .NET reader does for nullable strings.
pub(crate) fn optional<T>(
    slot: Slot<T>,
    record: RecordKind,
    field: &'static str,
    expected: &'static str,
) -> Result<Option<T>, DecodeError> {
    match slot {
        Slot::Ok(v) => Ok(Some(v)),
        Slot::Absent => Ok(None),
        Slot::Wrong => Err(DecodeError::InvalidField {
            record,
            field,
            expected,
        }),
    }
}

fn headers<'a>(slot: Slot<Headers<'a>>, record: RecordKind) -> Result<Headers<'a>, DecodeError> {
    Ok(optional(slot, record, "headers", "object of strings")?.unwrap_or_default())
}
