//! Shared test helpers (included with `#[path]`).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use hercle_webhooks::{PublicKey, Signer, SigningKey};

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../../fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn signing_key(name: &str) -> SigningKey {
    SigningKey::from_pem(&fixture(&format!("test-only-{name}-private-pkcs8.pem"))).unwrap()
}

pub fn public_key(name: &str) -> PublicKey {
    PublicKey::from_pem(&fixture(&format!("test-only-{name}-public-spki.pem"))).unwrap()
}

pub fn signer(name: &str) -> Signer {
    Signer::new(signing_key(name))
}

pub fn body(event_id: &str) -> Vec<u8> {
    format!(
        r#"{{"EventId":"{event_id}","EventType":"Banking.Deposit.StatusUpdated","Timestamp":"2025-01-15T14:30:00Z","Data":"{{\"StatusChange\":{{\"Previous\":\"REVIEWING\",\"Current\":\"APPROVED\"}}}}"}}"#
    )
    .into_bytes()
}

pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let mut bytes = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("hercle-webhooks-{tag}-{hex}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Minimal HTTP/1.1 POST over loopback with hyper's client connection API.
pub async fn post(
    addr: std::net::SocketAddr,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    use http_body_util::{BodyExt as _, Full};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::post("/webhooks/hercle")
        .header("content-type", "application/json")
        .header("host", "127.0.0.1");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(bytes::Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&text).into_owned())
}
