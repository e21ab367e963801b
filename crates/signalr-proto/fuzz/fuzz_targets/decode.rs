//! Feeds arbitrary bytes to the decoder, whole and in small chunks, and checks
//! that (1) nothing panics, (2) chunking never changes the outcome, (3) every
//! decoded message re-encodes to bytes that decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signalr_proto::negotiate::NegotiateResponse;
use signalr_proto::{
    DecodeError, Decoder, encode, parse_handshake_request, parse_handshake_response,
    parse_message, split_record,
};

fn run(data: &[u8], chunk: usize, max: usize) -> Vec<String> {
    let mut dec = Decoder::with_max_message_size(max);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        dec.push(piece);
        loop {
            match dec.next_message() {
                Ok(Some(msg)) => {
                    buf.clear();
                    encode::message(&mut buf, &msg);
                    assert_eq!(buf.last(), Some(&0x1E));
                    let again = parse_message(&buf[..buf.len() - 1]);
                    assert_eq!(again, Ok(Some(msg.clone())), "re-encoded: {buf:?}");
                    out.push(format!("{msg:?}"));
                }
                Ok(None) => break,
                // How much of an oversized record was seen depends on the cuts.
                Err(DecodeError::TooLarge { max, .. }) => out.push(format!("TooLarge {max}")),
                Err(e) => {
                    let _ = e.to_string();
                    out.push(format!("{e:?}"));
                }
            }
        }
        assert!(dec.buffered_len() <= max.saturating_add(data.len()));
    }
    out.push(format!("{:?}", dec.finish()));
    out
}

/// `run`'s outcome through `Decoder::records`, which reads whole records in
/// place: it must be the same.
fn run_in_place(data: &[u8], chunk: usize, max: usize) -> Vec<String> {
    let mut dec = Decoder::with_max_message_size(max);
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        dec.records(piece, |r| {
            match r.and_then(parse_message) {
                Ok(Some(msg)) => out.push(format!("{msg:?}")),
                Ok(None) => {}
                Err(DecodeError::TooLarge { max, .. }) => out.push(format!("TooLarge {max}")),
                Err(e) => out.push(format!("{e:?}")),
            }
            std::ops::ControlFlow::Continue(())
        });
    }
    out.push(format!("{:?}", dec.finish()));
    out
}

fuzz_target!(|data: &[u8]| {
    let chunk = 1 + data.first().map_or(0, |b| usize::from(b % 16));
    for max in [1 << 20, 48] {
        let whole = run(data, data.len(), max);
        assert_eq!(whole, run(data, chunk, max), "chunk {chunk} max {max}");
        assert_eq!(whole, run_in_place(data, chunk, max), "in place, chunk {chunk} max {max}");
    }
    let mut rest = data;
    while let Some((record, tail)) = split_record(rest) {
        let _ = parse_handshake_request(record);
        let _ = parse_handshake_response(record);
        rest = tail;
    }
    if let Ok(resp) = NegotiateResponse::from_slice(data) {
        let _ = resp.into_negotiation();
    }
});
