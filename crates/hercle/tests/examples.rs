//! Every example runs against an in-process sandbox: they are the docs'
//! flows, and a flow that stops working fails here, not in a user's hands.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    dead_code,
    missing_docs,
    unreachable_pub
)]

#[path = "../examples/listen.rs"]
mod listen;
#[path = "../examples/prices.rs"]
mod prices;
#[path = "../examples/quote_and_order.rs"]
mod quote_and_order;
#[path = "../examples/reconcile.rs"]
mod reconcile;
#[path = "../examples/rfq.rs"]
mod rfq;
#[path = "../examples/trades.rs"]
mod trades;
#[cfg(feature = "webhooks")]
#[path = "../examples/verify_webhook.rs"]
mod verify_webhook;

use hercle_sandbox::{Config, Sandbox};
use std::time::Duration;

async fn sandbox() -> (Sandbox, hercle::Client) {
    let config = Config {
        start_time: time::OffsetDateTime::now_utc(),
        price_interval: Duration::from_millis(50),
        ..Config::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let client = hercle::Client::builder()
        .base_url(sandbox.base_url())
        .api_key("sandbox-key")
        .build()
        .unwrap();
    (sandbox, client)
}

#[tokio::test]
async fn listen() {
    let (_s, c) = sandbox().await;
    listen::run(&c).await.unwrap();
}

#[tokio::test]
async fn prices() {
    let (_s, c) = sandbox().await;
    prices::run(&c).await.unwrap();
}

#[tokio::test]
async fn quote_and_order() {
    let (_s, c) = sandbox().await;
    quote_and_order::run(&c).await.unwrap();
}

#[tokio::test]
async fn rfq() {
    let (_s, c) = sandbox().await;
    rfq::run(&c).await.unwrap();
}

#[tokio::test]
async fn trades_after_an_order() {
    let (_s, c) = sandbox().await;
    quote_and_order::run(&c).await.unwrap();
    trades::run(&c).await.unwrap();
}

#[tokio::test]
async fn reconcile() {
    let (_s, c) = sandbox().await;
    reconcile::run(&c).await.unwrap();
}

#[cfg(feature = "webhooks")]
#[test]
fn verify_webhook() {
    use hercle_webhooks::{Signer, SigningKey};
    let private = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/webhooks/test-only-primary-private-pkcs8.pem"
    ))
    .unwrap();
    let public = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/webhooks/test-only-primary-public-spki.pem"
    ))
    .unwrap();
    let body = br#"{"EventId":"e-1","EventType":"Banking.Deposit.StatusUpdated","Timestamp":"2026-11-30T12:00:00Z","Data":{"Amount":1000.50}}"#;
    let signed = Signer::new(SigningKey::from_pem(&private).unwrap())
        .sign(body)
        .unwrap();
    let (ts, sig) = (signed.timestamp.as_str(), signed.signature.as_str());
    let event = verify_webhook::run(&public, ts, sig, body).unwrap();
    assert_eq!(event.event_id, "e-1");
    // A changed byte fails verification.
    let mut tampered = body.to_vec();
    tampered[100] ^= 1;
    assert!(verify_webhook::run(&public, ts, sig, &tampered).is_err());
}
