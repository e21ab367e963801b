//! The newline framing used by the tests and scripted peers.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic)]

use session_core::{Frame, Lines, Transport};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn frames_survive_any_chunking_and_limits_are_enforced() {
    let (client, mut raw) = tokio::io::duplex(1024);
    let mut lines = Lines::new(client).max_line(8);
    raw.write_all(b"ab").await.unwrap();
    raw.write_all(b"c\nde\n\nf").await.unwrap();
    raw.write_all(b"g\n0123456789\nok\nhalf").await.unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(lines.recv().await.unwrap().unwrap());
    }
    assert_eq!(
        got,
        [
            Frame::text("abc"),
            Frame::text("de"),
            Frame::text(""),
            Frame::text("fg")
        ]
    );
    let too_long = lines.recv().await.unwrap();
    assert!(too_long.is_err(), "a 10-byte line passes an 8-byte limit");
    assert_eq!(lines.recv().await.unwrap().unwrap(), Frame::text("ok"));
    drop(raw);
    assert!(
        lines.recv().await.unwrap().is_err(),
        "stream ended inside a line"
    );
    assert!(lines.recv().await.is_none());
}

#[tokio::test]
async fn a_frame_with_a_newline_is_refused_not_split() {
    let (client, _raw) = tokio::io::duplex(1024);
    let mut lines = Lines::new(client);
    assert!(lines.send(Frame::text("a\nb")).await.is_err());
}
