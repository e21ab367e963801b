//! Property tests: encode→decode round trips for every message type, and
//! chunking independence of the incremental decoder.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::borrow::Cow;

use proptest::prelude::*;
use serde_json::Value;
use serde_json::value::{RawValue, to_raw_value};
use signalr_proto::{
    CancelInvocation, Close, Completion, CompletionOutcome, DecodeError, Decoder, HubMessage,
    Invocation, Payload, StreamInvocation, StreamItem, encode, parse_message,
};

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Void,
    Result(Value),
    Error(String),
}

/// An owned stand-in for `HubMessage`, comparable after a round trip.
#[derive(Debug, Clone, PartialEq)]
enum Model {
    Invocation {
        id: Option<String>,
        target: String,
        args: Vec<Value>,
        stream_ids: Vec<String>,
        headers: Vec<(String, String)>,
    },
    StreamInvocation {
        id: String,
        target: String,
        args: Vec<Value>,
        stream_ids: Vec<String>,
        headers: Vec<(String, String)>,
    },
    StreamItem {
        id: String,
        item: Value,
        headers: Vec<(String, String)>,
    },
    Completion {
        id: String,
        outcome: Outcome,
        headers: Vec<(String, String)>,
    },
    Cancel {
        id: String,
        headers: Vec<(String, String)>,
    },
    Ping,
    Close {
        error: Option<String>,
        allow_reconnect: bool,
    },
    Ack(u64),
    Sequence(u64),
}

fn text() -> impl Strategy<Value = String> {
    // Mostly plain ids and names, sometimes anything (escapes, controls, non-ASCII).
    prop_oneof![3 => "[A-Za-z0-9_.-]{0,12}", 1 => any::<String>()]
}

fn json() -> impl Strategy<Value = Value> {
    // Integers only: float text is not guaranteed to survive a parse/print cycle.
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop_oneof![
        2 => Just(Vec::new()),
        1 => prop::collection::vec((text(), text()), 1..3),
    ]
}

fn model() -> impl Strategy<Value = Model> {
    let args = || prop::collection::vec(json(), 0..4);
    let ids = || prop::collection::vec(text(), 0..3);
    prop_oneof![
        (prop::option::of(text()), text(), args(), ids(), headers()).prop_map(
            |(id, target, args, stream_ids, headers)| Model::Invocation {
                id,
                target,
                args,
                stream_ids,
                headers
            }
        ),
        (text(), text(), args(), ids(), headers()).prop_map(
            |(id, target, args, stream_ids, headers)| Model::StreamInvocation {
                id,
                target,
                args,
                stream_ids,
                headers
            }
        ),
        (text(), json(), headers()).prop_map(|(id, item, headers)| Model::StreamItem {
            id,
            item,
            headers
        }),
        (
            text(),
            prop_oneof![
                Just(Outcome::Void),
                json().prop_map(Outcome::Result),
                text().prop_map(Outcome::Error)
            ],
            headers()
        )
            .prop_map(|(id, outcome, headers)| Model::Completion {
                id,
                outcome,
                headers
            }),
        (text(), headers()).prop_map(|(id, headers)| Model::Cancel { id, headers }),
        Just(Model::Ping),
        (prop::option::of(text()), any::<bool>()).prop_map(|(error, allow_reconnect)| {
            Model::Close {
                error,
                allow_reconnect,
            }
        }),
        any::<u64>().prop_map(Model::Ack),
        any::<u64>().prop_map(Model::Sequence),
    ]
}

fn value(p: Payload<'_>) -> Value {
    serde_json::from_str(p.get()).unwrap()
}

fn owned_headers(h: &[(Cow<'_, str>, Cow<'_, str>)]) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(v: &[Cow<'_, str>]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn to_model(msg: &HubMessage<'_>) -> Model {
    match msg {
        HubMessage::Invocation(m) => Model::Invocation {
            id: m.invocation_id.as_ref().map(|s| s.to_string()),
            target: m.target.to_string(),
            args: m.arguments.iter().map(|a| value(*a)).collect(),
            stream_ids: strings(&m.stream_ids),
            headers: owned_headers(&m.headers),
        },
        HubMessage::StreamInvocation(m) => Model::StreamInvocation {
            id: m.invocation_id.to_string(),
            target: m.target.to_string(),
            args: m.arguments.iter().map(|a| value(*a)).collect(),
            stream_ids: strings(&m.stream_ids),
            headers: owned_headers(&m.headers),
        },
        HubMessage::StreamItem(m) => Model::StreamItem {
            id: m.invocation_id.to_string(),
            item: value(m.item),
            headers: owned_headers(&m.headers),
        },
        HubMessage::Completion(m) => Model::Completion {
            id: m.invocation_id.to_string(),
            outcome: match &m.outcome {
                CompletionOutcome::Void => Outcome::Void,
                CompletionOutcome::Result(r) => Outcome::Result(value(*r)),
                CompletionOutcome::Error(e) => Outcome::Error(e.to_string()),
            },
            headers: owned_headers(&m.headers),
        },
        HubMessage::CancelInvocation(m) => Model::Cancel {
            id: m.invocation_id.to_string(),
            headers: owned_headers(&m.headers),
        },
        HubMessage::Ping => Model::Ping,
        HubMessage::Close(m) => Model::Close {
            error: m.error.as_ref().map(|s| s.to_string()),
            allow_reconnect: m.allow_reconnect,
        },
        HubMessage::Ack(a) => Model::Ack(a.sequence_id),
        HubMessage::Sequence(s) => Model::Sequence(s.sequence_id),
        other => panic!("unexpected {other:?}"),
    }
}

/// Encodes with the typed writers where they cover the message (no headers,
/// no stream ids), otherwise through `encode::message`.
fn encode_model(m: &Model, out: &mut Vec<u8>) {
    match m {
        Model::Invocation {
            id,
            target,
            args,
            stream_ids,
            headers,
        } if stream_ids.is_empty() && headers.is_empty() => {
            encode::invocation(out, id.as_deref(), target, args).unwrap();
        }
        Model::StreamInvocation {
            id,
            target,
            args,
            stream_ids,
            headers,
        } if stream_ids.is_empty() && headers.is_empty() => {
            encode::stream_invocation(out, id, target, args).unwrap();
        }
        Model::StreamItem { id, item, headers } if headers.is_empty() => {
            encode::stream_item(out, id, item).unwrap();
        }
        Model::Completion {
            id,
            outcome,
            headers,
        } if headers.is_empty() => match outcome {
            Outcome::Void => encode::completion_void(out, id),
            Outcome::Result(r) => encode::completion_result(out, id, r).unwrap(),
            Outcome::Error(e) => encode::completion_error(out, id, e),
        },
        Model::Cancel { id, headers } if headers.is_empty() => {
            encode::cancel_invocation(out, id);
        }
        Model::Ping => encode::ping(out),
        Model::Close {
            error,
            allow_reconnect,
        } => encode::close(out, error.as_deref(), *allow_reconnect),
        Model::Ack(n) => encode::ack(out, *n),
        Model::Sequence(n) => encode::sequence(out, *n),
        general => with_message(general, |msg| encode::message(out, msg)),
    }
}

// Takes `&String` so it can be passed to `map` over `&String` items.
#[allow(clippy::ptr_arg)]
fn cow(s: &String) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

fn hdr(h: &[(String, String)]) -> signalr_proto::Headers<'_> {
    h.iter().map(|(k, v)| (cow(k), cow(v))).collect()
}

/// Builds the borrowed `HubMessage` for a model and hands it to `f`.
fn with_message<R>(m: &Model, f: impl FnOnce(&HubMessage<'_>) -> R) -> R {
    let raw = |v: &Value| -> Box<RawValue> { to_raw_value(v).unwrap() };
    match m {
        Model::Invocation {
            id,
            target,
            args,
            stream_ids,
            headers,
        } => {
            let boxes: Vec<Box<RawValue>> = args.iter().map(raw).collect();
            f(&HubMessage::Invocation(Invocation {
                invocation_id: id.as_ref().map(cow),
                target: cow(target),
                arguments: boxes.iter().map(|b| Payload::new(b)).collect(),
                stream_ids: stream_ids.iter().map(cow).collect(),
                headers: hdr(headers),
            }))
        }
        Model::StreamInvocation {
            id,
            target,
            args,
            stream_ids,
            headers,
        } => {
            let boxes: Vec<Box<RawValue>> = args.iter().map(raw).collect();
            f(&HubMessage::StreamInvocation(StreamInvocation {
                invocation_id: cow(id),
                target: cow(target),
                arguments: boxes.iter().map(|b| Payload::new(b)).collect(),
                stream_ids: stream_ids.iter().map(cow).collect(),
                headers: hdr(headers),
            }))
        }
        Model::StreamItem { id, item, headers } => {
            let b = raw(item);
            f(&HubMessage::StreamItem(StreamItem {
                invocation_id: cow(id),
                item: Payload::new(&b),
                headers: hdr(headers),
            }))
        }
        Model::Completion {
            id,
            outcome,
            headers,
        } => {
            let b = match outcome {
                Outcome::Result(r) => Some(raw(r)),
                _ => None,
            };
            let outcome = match (outcome, &b) {
                (Outcome::Error(e), _) => CompletionOutcome::Error(cow(e)),
                (_, Some(b)) => CompletionOutcome::Result(Payload::new(b)),
                _ => CompletionOutcome::Void,
            };
            f(&HubMessage::Completion(Completion {
                invocation_id: cow(id),
                outcome,
                headers: hdr(headers),
            }))
        }
        Model::Cancel { id, headers } => f(&HubMessage::CancelInvocation(CancelInvocation {
            invocation_id: cow(id),
            headers: hdr(headers),
        })),
        Model::Close {
            error,
            allow_reconnect,
        } => f(&HubMessage::Close(Close {
            error: error.as_ref().map(cow),
            allow_reconnect: *allow_reconnect,
        })),
        Model::Ping => f(&HubMessage::Ping),
        Model::Ack(n) => f(&HubMessage::Ack(signalr_proto::Ack { sequence_id: *n })),
        Model::Sequence(n) => f(&HubMessage::Sequence(signalr_proto::Sequence {
            sequence_id: *n,
        })),
    }
}

/// A record in a random stream: a message, an unknown type, or junk.
#[derive(Debug, Clone)]
enum Record {
    Message(Model),
    Unknown(u64),
    Junk(Vec<u8>),
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        6 => model().prop_map(Record::Message),
        1 => (10u64..1000).prop_map(Record::Unknown),
        1 => prop::collection::vec(any::<u8>().prop_filter("no separator", |b| *b != 0x1E), 0..40)
            .prop_map(Record::Junk),
    ]
}

fn stream_bytes(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        match r {
            Record::Message(m) => encode_model(m, &mut out),
            Record::Unknown(t) => {
                out.extend_from_slice(format!(r#"{{"type":{t},"x":[1]}}"#).as_bytes());
                out.push(0x1E);
            }
            Record::Junk(j) => {
                out.extend_from_slice(j);
                out.push(0x1E);
            }
        }
    }
    out
}

fn outcome_text(r: Result<Option<HubMessage<'_>>, DecodeError>) -> Option<String> {
    match r {
        Ok(Some(m)) => Some(format!("{m:?}")),
        Ok(None) => None,
        // The size seen for an oversized record depends on where it was cut.
        Err(DecodeError::TooLarge { max, .. }) => Some(format!("TooLarge(max {max})")),
        Err(e) => Some(format!("{e:?}")),
    }
}

fn decode_chunks(bytes: &[u8], cuts: &[usize], max: usize) -> Vec<String> {
    let mut dec = Decoder::with_max_message_size(max);
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&bytes.len())) {
        dec.push(&bytes[from..to]);
        from = to;
        while let Some(t) = outcome_text(dec.next_message()) {
            out.push(t);
        }
    }
    out.push(format!("{:?}", dec.finish()));
    out
}

/// Every record and error, exactly (sizes included), and what is left:
/// `push` then `next_record`, or `records` reading in place; the handler
/// stops after the items whose numbers are in `stops`, as a protocol does
/// at a fatal error, and the rest waits for the next chunk.
fn split_records(
    bytes: &[u8],
    cuts: &[usize],
    max: usize,
    stops: &[usize],
    in_place: bool,
) -> Vec<String> {
    let mut dec = Decoder::with_max_message_size(max);
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let chunk = &bytes[from..to];
        from = to;
        let mut each = |r: Result<&[u8], DecodeError>| {
            out.push(match r {
                Ok(rec) => format!("{:?}", String::from_utf8_lossy(rec)),
                Err(e) => format!("{e:?}"),
            });
            if stops.contains(&out.len()) {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        };
        if in_place {
            dec.records(chunk, each);
        } else {
            dec.push(chunk);
            loop {
                let r = match dec.next_record() {
                    Ok(None) => break,
                    Ok(Some(rec)) => Ok(rec),
                    Err(e) => Err(e),
                };
                if each(r).is_break() {
                    break;
                }
            }
        }
        out.push(format!("| {}", dec.buffered_len()));
    }
    out.push(format!("{:?} {}", dec.finish(), dec.records_read()));
    out
}

fn cuts(len: usize, picks: &[prop::sample::Index]) -> Vec<usize> {
    let mut c: Vec<usize> = picks.iter().map(|i| i.index(len + 1)).collect();
    c.sort_unstable();
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn typed_encode_then_decode_round_trips(m in model()) {
        let mut out = Vec::new();
        encode_model(&m, &mut out);
        prop_assert_eq!(out.iter().filter(|b| **b == 0x1E).count(), 1);
        prop_assert_eq!(out.last(), Some(&0x1E));
        let msg = parse_message(&out[..out.len() - 1]).unwrap().unwrap();
        prop_assert_eq!(to_model(&msg), m);
    }

    #[test]
    fn message_encode_then_decode_is_identity(m in model()) {
        with_message(&m, |msg| {
            let mut out = Vec::new();
            encode::message(&mut out, msg);
            let mut dec = Decoder::new();
            dec.push(&out);
            let back = dec.next_message().unwrap().unwrap();
            assert_eq!(&back, msg);
            assert_eq!(dec.next_message(), Ok(None));
        });
    }

    #[test]
    fn any_chunking_yields_the_same_messages(
        records in prop::collection::vec(record(), 0..12),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..24),
        tail in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes = stream_bytes(&records);
        bytes.extend_from_slice(&tail);
        let whole = decode_chunks(&bytes, &[], usize::MAX);
        let split = decode_chunks(&bytes, &cuts(bytes.len(), &picks), usize::MAX);
        prop_assert_eq!(&whole, &split);
        let known = records.iter().filter(|r| matches!(r, Record::Message(_))).count();
        prop_assert!(whole.len() > known);
        // With a small limit, oversized records are reported in place whatever the cuts.
        let whole = decode_chunks(&bytes, &[], 64);
        let split = decode_chunks(&bytes, &cuts(bytes.len(), &picks), 64);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let whole = decode_chunks(&bytes, &[], 32);
        let split = decode_chunks(&bytes, &cuts(bytes.len(), &picks), 32);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn records_read_in_place_are_those_push_yields(
        records in prop::collection::vec(record(), 0..12),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..24),
        tail in prop::collection::vec(any::<u8>(), 0..8),
        max in prop_oneof![Just(1 << 20), 0usize..80],
        stops in prop::collection::vec(0usize..30, 0..4),
    ) {
        let mut bytes = stream_bytes(&records);
        bytes.extend_from_slice(&tail);
        let cuts = cuts(bytes.len(), &picks);
        prop_assert_eq!(
            split_records(&bytes, &cuts, max, &stops, false),
            split_records(&bytes, &cuts, max, &stops, true)
        );
    }
}
