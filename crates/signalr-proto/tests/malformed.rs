//! One test per class of bad input: each must come back as the right typed
//! error, never a panic, and the decoder must stay usable afterwards.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use signalr_proto::{
    DecodeError, Decoder, HubMessage, MessageType, RecordKind, parse_handshake_request,
    parse_handshake_response, parse_message,
};

const INV: RecordKind = RecordKind::Message(MessageType::Invocation);

fn err(record: &str) -> DecodeError {
    parse_message(record.as_bytes()).unwrap_err()
}

#[test]
fn invalid_utf8() {
    let e = parse_message(b"{\"type\":1,\"target\":\"\xff\"}").unwrap_err();
    assert_eq!(e, DecodeError::InvalidUtf8 { valid_up_to: 20 });
}

#[test]
fn malformed_json_reports_position() {
    match err("{\"type\":1,\n\"target\":}") {
        DecodeError::MalformedJson { line, column, .. } => assert_eq!((line, column), (2, 10)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn trailing_bytes_after_object() {
    assert!(matches!(
        err("{\"type\":6} x"),
        DecodeError::MalformedJson { .. }
    ));
    assert!(matches!(
        err("{\"type\":6}{}"),
        DecodeError::MalformedJson { .. }
    ));
}

#[test]
fn empty_record() {
    assert!(matches!(err(""), DecodeError::MalformedJson { .. }));
    assert!(matches!(err("  "), DecodeError::MalformedJson { .. }));
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    let nest = |n| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    // Payloads are only scanned, not built: depth is the binder's business.
    let deep = format!(
        r#"{{"type":1,"target":"t","arguments":[{}]}}"#,
        nest(100_000)
    );
    let Ok(Some(HubMessage::Invocation(inv))) = parse_message(deep.as_bytes()) else {
        panic!("deep payload rejected")
    };
    assert_eq!(inv.arguments.len(), 1);
    // A deep value where a protocol field belongs is skipped, then reported.
    let deep = format!(
        r#"{{"type":5,"invocationId":"1","headers":{}}}"#,
        nest(100_000)
    );
    assert!(matches!(
        err(&deep),
        DecodeError::InvalidField {
            field: "headers",
            ..
        }
    ));
    let deep = format!(
        r#"{{"type":5,"invocationId":"1","headers":{{"a":{}}}}}"#,
        nest(100_000)
    );
    assert!(matches!(
        err(&deep),
        DecodeError::InvalidField {
            field: "headers",
            ..
        }
    ));
}

#[test]
fn not_an_object() {
    let untyped = RecordKind::UntypedMessage;
    assert_eq!(err("[1]"), DecodeError::NotAnObject { record: untyped });
    assert_eq!(err("6"), DecodeError::NotAnObject { record: untyped });
    assert_eq!(
        parse_handshake_request(b"\"json\"").unwrap_err(),
        DecodeError::NotAnObject {
            record: RecordKind::HandshakeRequest
        }
    );
}

#[test]
fn missing_type() {
    assert_eq!(
        err(r#"{"target":"x","arguments":[]}"#),
        DecodeError::MissingField {
            record: RecordKind::UntypedMessage,
            field: "type"
        }
    );
}

#[test]
fn mistyped_type() {
    for bad in [r#""1""#, "-1", "1.0", "1e3", "true", "[1]", "{}"] {
        assert_eq!(
            err(&format!(r#"{{"type":{bad}}}"#)),
            DecodeError::InvalidField {
                record: RecordKind::UntypedMessage,
                field: "type",
                expected: "non-negative integer"
            },
            "type {bad}"
        );
    }
}

#[test]
fn invocation_without_arguments() {
    assert_eq!(
        err(r#"{"type":1,"invocationId":"1","target":"Send"}"#),
        DecodeError::MissingField {
            record: INV,
            field: "arguments"
        }
    );
    assert_eq!(
        err(r#"{"type":4,"invocationId":"1","target":"Send"}"#),
        DecodeError::MissingField {
            record: RecordKind::Message(MessageType::StreamInvocation),
            field: "arguments"
        }
    );
}

#[test]
fn mistyped_fields() {
    let cases = [
        (r#"{"type":1,"target":7,"arguments":[]}"#, INV, "target"),
        (
            r#"{"type":1,"target":"t","arguments":{}}"#,
            INV,
            "arguments",
        ),
        (
            r#"{"type":1,"target":"t","arguments":"[]"}"#,
            INV,
            "arguments",
        ),
        (
            r#"{"type":1,"invocationId":3,"target":"t","arguments":[]}"#,
            INV,
            "invocationId",
        ),
        (
            r#"{"type":1,"target":"t","arguments":[],"streamIds":[1]}"#,
            INV,
            "streamIds",
        ),
        (
            r#"{"type":1,"target":"t","arguments":[],"headers":{"a":1}}"#,
            INV,
            "headers",
        ),
        (
            r#"{"type":1,"target":"t","arguments":[],"headers":["a"]}"#,
            INV,
            "headers",
        ),
        (
            r#"{"type":3,"invocationId":"1","error":{"message":"x"}}"#,
            RecordKind::Message(MessageType::Completion),
            "error",
        ),
        (
            r#"{"type":7,"allowReconnect":"true"}"#,
            RecordKind::Message(MessageType::Close),
            "allowReconnect",
        ),
        (
            r#"{"type":8,"sequenceId":-1}"#,
            RecordKind::Message(MessageType::Ack),
            "sequenceId",
        ),
        (
            r#"{"type":9,"sequenceId":18446744073709551616}"#,
            RecordKind::Message(MessageType::Sequence),
            "sequenceId",
        ),
    ];
    for (record, kind, field) in cases {
        match err(record) {
            DecodeError::InvalidField {
                record: k,
                field: f,
                ..
            } => assert_eq!((k, f), (kind, field), "{record}"),
            other => panic!("{record}: {other:?}"),
        }
    }
}

#[test]
fn missing_required_fields() {
    let cases = [
        (r#"{"type":1,"arguments":[]}"#, "target"),
        (r#"{"type":2,"item":1}"#, "invocationId"),
        (r#"{"type":2,"invocationId":"1"}"#, "item"),
        (r#"{"type":3}"#, "invocationId"),
        (r#"{"type":4,"target":"t","arguments":[]}"#, "invocationId"),
        (r#"{"type":5}"#, "invocationId"),
        (r#"{"type":8}"#, "sequenceId"),
        (r#"{"type":9}"#, "sequenceId"),
    ];
    for (record, field) in cases {
        match err(record) {
            DecodeError::MissingField { field: f, .. } => assert_eq!(f, field, "{record}"),
            other => panic!("{record}: {other:?}"),
        }
    }
}

#[test]
fn completion_with_result_and_error() {
    assert_eq!(
        err(r#"{"type":3,"invocationId":"1","result":1,"error":"e"}"#),
        DecodeError::ResultAndError
    );
}

#[test]
fn handshake_response_with_type() {
    assert_eq!(
        parse_handshake_response(br#"{"type":6}"#).unwrap_err(),
        DecodeError::HandshakeResponseHasType
    );
}

#[test]
fn handshake_request_fields() {
    assert_eq!(
        parse_handshake_request(br#"{"version":1}"#).unwrap_err(),
        DecodeError::MissingField {
            record: RecordKind::HandshakeRequest,
            field: "protocol"
        }
    );
    assert!(matches!(
        parse_handshake_request(br#"{"protocol":"json","version":"1"}"#).unwrap_err(),
        DecodeError::InvalidField {
            field: "version",
            ..
        }
    ));
}

#[test]
fn oversized_complete_record_is_skipped_in_order() {
    let mut dec = Decoder::with_max_message_size(16);
    dec.push(b"{\"type\":6}\x1e{\"type\":7,\"error\":\"far too long\"}\x1e{\"type\":6}\x1e");
    assert_eq!(dec.next_message(), Ok(Some(HubMessage::Ping)));
    assert_eq!(
        dec.next_message(),
        Err(DecodeError::TooLarge { size: 33, max: 16 })
    );
    assert_eq!(dec.next_message(), Ok(Some(HubMessage::Ping)));
    assert_eq!(dec.next_message(), Ok(None));
}

#[test]
fn oversized_partial_record_is_dropped_and_reported_in_order() {
    let mut dec = Decoder::with_max_message_size(16);
    dec.push(b"{\"type\":6}\x1e{\"type\":7,\"error\":\"far");
    // Bytes past the limit are not kept.
    assert!(dec.buffered_len() <= 11);
    dec.push(b" too long\"}\x1e{\"type\":6}\x1e");
    assert_eq!(dec.next_message(), Ok(Some(HubMessage::Ping)));
    assert!(matches!(
        dec.next_message(),
        Err(DecodeError::TooLarge { max: 16, .. })
    ));
    assert_eq!(dec.next_message(), Ok(Some(HubMessage::Ping)));
    assert_eq!(dec.next_message(), Ok(None));
    dec.finish().unwrap();
}

#[test]
fn buffer_stays_bounded_without_terminators() {
    let mut dec = Decoder::with_max_message_size(1024);
    let chunk = [b'x'; 700];
    for _ in 0..10_000 {
        dec.push(&chunk);
        assert!(dec.buffered_len() <= 1024);
    }
    assert!(matches!(
        dec.next_message(),
        Err(DecodeError::TooLarge { .. })
    ));
    assert_eq!(dec.next_message(), Ok(None));
}

#[test]
fn truncated_at_close() {
    let mut dec = Decoder::new();
    dec.push(b"{\"type\":6}\x1e{\"type\":1,\"tar");
    assert_eq!(dec.next_message(), Ok(Some(HubMessage::Ping)));
    assert_eq!(dec.next_message(), Ok(None));
    assert_eq!(dec.finish(), Err(DecodeError::Truncated { buffered: 14 }));
    // Whitespace after the last record is not a record.
    let mut dec = Decoder::new();
    dec.push(b"{\"type\":6}\x1e\r\n");
    assert_eq!(dec.next_message(), Ok(Some(HubMessage::Ping)));
    dec.finish().unwrap();
}

#[test]
fn decoder_continues_after_a_bad_record() {
    let mut dec = Decoder::new();
    dec.push(b"{\"type\":1}\x1enot json\x1e{\"type\":6}\x1e");
    assert!(matches!(
        dec.next_message(),
        Err(DecodeError::MissingField { .. })
    ));
    assert!(matches!(
        dec.next_message(),
        Err(DecodeError::MalformedJson { .. })
    ));
    assert_eq!(dec.next_message(), Ok(Some(HubMessage::Ping)));
    assert_eq!(dec.records_read(), 3);
}

#[test]
fn errors_display_context() {
    let e = err(r#"{"type":1,"target":"t","arguments":{}}"#);
    assert_eq!(
        e.to_string(),
        "Invocation message property 'arguments' must be of type array"
    );
}
