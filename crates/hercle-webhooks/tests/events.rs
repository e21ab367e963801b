//! Envelope and typed events: Data as a string or an object, unknown types kept raw.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic)]

use hercle_webhooks::{Event, EventError, WebhookEvent, parse_envelope};

#[test]
fn data_as_string_and_as_object_type_the_same() {
    let as_string = br#"{"EventId":"evt_1","EventType":"Banking.Deposit.StatusUpdated","Timestamp":"2025-01-15T14:30:00Z","Data":"{\"StatusChange\":{\"Previous\":\"REVIEWING\",\"Current\":\"APPROVED\"},\"Resource\":{\"Id\":\"payee-001\",\"Name\":\"John Doe\"}}"}"#;
    let as_object = br#"{"EventId":"evt_1","EventType":"Banking.Deposit.StatusUpdated","Timestamp":"2025-01-15T14:30:00Z","Data":{"StatusChange":{"Previous":"REVIEWING","Current":"APPROVED"},"Resource":{"Id":"payee-001","Name":"John Doe"}}}"#;
    let a = Event::parse(as_string).unwrap();
    let b = Event::parse(as_object).unwrap();
    assert_eq!(a.event, b.event);
    assert_eq!(a.event_id, "evt_1");
    assert!(a.timestamp.is_some());
    let WebhookEvent::DepositStatusUpdated(d) = a.event else {
        panic!("wrong variant")
    };
    assert_eq!(
        d.status_change.unwrap().current.as_deref(),
        Some("APPROVED")
    );
    assert_eq!(d.resource.unwrap().id.as_deref(), Some("payee-001"));
}

#[test]
fn unknown_event_types_keep_the_raw_json() {
    let e = Event::parse(br#"{"EventId":"e","EventType":"Some.Future.Event","Data":{"X":[1,2]}}"#)
        .unwrap();
    match &e.event {
        WebhookEvent::Unknown { event_type, raw } => {
            assert_eq!(event_type, "Some.Future.Event");
            assert_eq!(raw.as_ref().unwrap().json_text(), r#"{"X":[1,2]}"#);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.event.event_type(), "Some.Future.Event");
}

#[test]
fn known_names_without_schema_keep_data_untyped() {
    let e = Event::parse(br#"{"EventId":"e","EventType":"Balance.Updated","Data":"{\"A\":1}"}"#)
        .unwrap();
    match e.event {
        WebhookEvent::BalanceUpdated(Some(d)) => assert_eq!(d.json_text(), r#"{"A":1}"#),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_envelopes() {
    assert!(matches!(parse_envelope(b"nope"), Err(EventError::Json(_))));
    assert!(matches!(parse_envelope(b"[]"), Err(EventError::Json(_))));
    assert_eq!(
        parse_envelope(br#"{"EventType":"X"}"#).map(|_| ()),
        Err(EventError::MissingEventId)
    );
    assert_eq!(
        parse_envelope(br#"{"EventId":"","EventType":"X"}"#).map(|_| ()),
        Err(EventError::MissingEventId)
    );
    assert_eq!(
        parse_envelope(br#"{"EventId":"e"}"#).map(|_| ()),
        Err(EventError::MissingEventType)
    );
    // Data that is not the status-change shape is a typed-payload error, naming the path.
    let err = Event::parse(
        br#"{"EventId":"e","EventType":"Banking.Deposit.StatusUpdated","Data":{"StatusChange":5}}"#,
    )
    .unwrap_err();
    assert!(matches!(err, EventError::Data(_)), "{err}");
    assert!(err.to_string().contains("StatusChange"), "{err}");
}
