//! Every example of the SignalR specs (and our own traffic samples) under
//! `fixtures/signalr/`, decoded and snapshotted.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt::Write as _;

use signalr_proto::negotiate::NegotiateResponse;
use signalr_proto::{Decoder, RECORD_SEPARATOR, parse_handshake_request, parse_handshake_response};

fn framed(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    bytes.push(RECORD_SEPARATOR);
    bytes
}

#[test]
fn hub_messages() {
    insta::glob!("../../../fixtures/signalr/hub", "*.json", |path| {
        let mut dec = Decoder::new();
        dec.push(&framed(path));
        let first = format!("{:#?}", dec.next_message());
        assert!(matches!(dec.next_message(), Ok(None)));
        dec.finish().unwrap();
        insta::assert_snapshot!(first);
    });
}

#[test]
fn handshakes() {
    insta::glob!("../../../fixtures/signalr/handshake", "*.json", |path| {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        let decoded = if name.contains("request") {
            format!("{:#?}", parse_handshake_request(&bytes))
        } else {
            format!("{:#?}", parse_handshake_response(&bytes))
        };
        insta::assert_snapshot!(decoded);
    });
}

#[test]
fn negotiate_responses() {
    insta::glob!("../../../fixtures/signalr/negotiate", "*.json", |path| {
        let bytes = std::fs::read(path).unwrap();
        let parsed = NegotiateResponse::from_slice(&bytes).unwrap();
        // What a server would send back for the same data: round trip.
        let reparsed = NegotiateResponse::from_slice(&parsed.to_vec()).unwrap();
        assert_eq!(
            NegotiateResponse {
                classic_protocol_version: parsed.classic_protocol_version.clone(),
                ..reparsed
            },
            parsed
        );
        insta::assert_snapshot!(format!("{:#?}", parsed.into_negotiation()));
    });
}

/// Multi-record streams: the first record is a handshake, and hub messages may
/// follow it in the same frame.
#[test]
fn streams() {
    insta::glob!("../../../fixtures/signalr/streams", "*.records", |path| {
        let bytes = std::fs::read(path).unwrap();
        let mut dec = Decoder::new();
        dec.push(&bytes);
        let mut out = String::new();
        let first = dec.next_record().unwrap().unwrap().to_vec();
        if first.starts_with(b"{\"protocol\"") {
            writeln!(out, "{:?}", parse_handshake_request(&first)).unwrap();
        } else {
            writeln!(out, "{:?}", parse_handshake_response(&first)).unwrap();
        }
        while let Some(msg) = dec.next_message().unwrap() {
            writeln!(out, "{msg:?}").unwrap();
        }
        dec.finish().unwrap();
        insta::assert_snapshot!(out);
    });
}
