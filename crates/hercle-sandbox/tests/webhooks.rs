//! Webhook deliveries from the sandbox to a receiver on 127.0.0.1: signed so
//! that `hercle-webhooks` verifies them with the exported public key,
//! redelivered after a non-2xx, logged.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use hercle_models::{WebhookEnvelope, WebhookEventType, WebhookStatusChangeData, decode};
use hercle_sandbox::{Config, Sandbox};
use hercle_webhooks::Verifier;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

struct Captured {
    headers: hyper::HeaderMap,
    body: Bytes,
}

/// A receiver that answers 500 to the first `failures` deliveries of events
/// whose body mentions `fail_on`, and 200 to everything else.
async fn capture(
    fail_on: &'static str,
    failures: u32,
) -> (String, mpsc::UnboundedReceiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicU32::new(0));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (tx, seen) = (tx.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (tx, seen) = (tx.clone(), Arc::clone(&seen));
                        async move {
                            let headers = req.headers().clone();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let targeted = String::from_utf8_lossy(&body).contains(fail_on);
                            let n = if targeted {
                                seen.fetch_add(1, Ordering::SeqCst)
                            } else {
                                u32::MAX
                            };
                            let _ = tx.send(Captured { headers, body });
                            let status = if n < failures { 500 } else { 200 };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Captured>) -> Captured {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a delivery within 20 s")
        .unwrap()
}

#[tokio::test]
async fn deposits_are_delivered_signed_and_redelivered_after_a_failure() {
    let (url, mut rx) = capture("Banking.Deposit.StatusUpdated", 1).await;
    let config = Config {
        webhook_urls: vec![url],
        webhook_retry: vec![Duration::from_millis(50), Duration::from_millis(50)],
        webhook_poll: Duration::from_millis(20),
        ..Config::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let verifier = Verifier::from_pems([sandbox.webhook_public_key_pem().as_str()]).unwrap();

    // A simulated pay-in: deposit account, then the pay-in itself.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let post = |path: &str, body: String| {
        hyper::Request::post(format!("{}{path}", sandbox.base_url()))
            .header("authorization", "Bearer sandbox-key")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let resp = client
        .request(post(
            "/api/v1/deposit-accounts",
            r#"{"asset":"EUR","network":"Sepa","fiatAccountId":"fac_1"}"#.into(),
        ))
        .await
        .unwrap();
    let account: hercle_models::DepositAccount =
        decode(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let payin = format!(
        r#"{{"amount":250.75,"toAddress":"{}","from":{{"iban":"DE89370400440532013000"}},"fromType":"PERSON","paymentScheme":"SCT","reference":"inv-7"}}"#,
        account.ref_account_id.unwrap()
    );
    assert_eq!(
        client
            .request(post("/api/v1/simulate-payin", payin))
            .await
            .unwrap()
            .status(),
        200
    );

    // Collect deliveries until the deposit event has been seen twice (the
    // first answer was a 500).
    let mut deposit = Vec::new();
    while deposit.len() < 2 {
        let c = next(&mut rx).await;
        verifier
            .verify_headers(&c.headers, &c.body)
            .expect("signature verifies with the exported key");
        let env: WebhookEnvelope = decode(&c.body).unwrap();
        assert!(
            env.data.as_ref().unwrap().was_string(),
            "Data is a JSON string, as documented"
        );
        if env.event_type == Some(WebhookEventType::BankingDepositStatusUpdated) {
            deposit.push((c.headers.get("x-webhook-id").unwrap().clone(), env));
        }
    }
    let (first_id, first) = &deposit[0];
    let (second_id, second) = &deposit[1];
    assert_eq!(
        first.event_id, second.event_id,
        "a redelivery keeps its EventId"
    );
    assert_ne!(first_id, second_id, "each attempt has its own X-Webhook-Id");
    let data: WebhookStatusChangeData = second.data.as_ref().unwrap().decode_owned().unwrap();
    assert_eq!(
        data.status_change.unwrap().current.as_deref(),
        Some("APPROVED")
    );

    // The sandbox logs an attempt once it has the answer: wait for it.
    let mut changes = sandbox.watch_webhook_deliveries();
    let attempts = loop {
        let log = sandbox.webhook_deliveries();
        let attempts: Vec<_> = log
            .iter()
            .filter(|d| Some(&d.event_id) == first.event_id.as_ref())
            .map(|d| (d.attempt, d.status))
            .collect();
        if attempts.len() >= 2 {
            break attempts;
        }
        tokio::time::timeout(Duration::from_secs(20), changes.changed())
            .await
            .unwrap()
            .unwrap();
    };
    assert_eq!(attempts, [(1, Some(500)), (2, Some(200))]);
}

#[tokio::test]
async fn the_duplicate_fault_delivers_each_event_twice_with_one_event_id() {
    let (url, mut rx) = capture("never-fails", 0).await;
    let config = Config {
        webhook_urls: vec![url],
        webhook_poll: Duration::from_millis(20),
        ..Config::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let req = hyper::Request::post(format!("{}/_sandbox/faults/webhooks", sandbox.base_url()))
        .body(Full::new(Bytes::from_static(br#"{"duplicate":true}"#)))
        .unwrap();
    assert_eq!(client.request(req).await.unwrap().status(), 200);
    sandbox.deposit("sandbox-key", "ETH", "3".parse().unwrap());
    let (a, b) = (next(&mut rx).await, next(&mut rx).await);
    let (ea, eb): (WebhookEnvelope, WebhookEnvelope) =
        (decode(&a.body).unwrap(), decode(&b.body).unwrap());
    assert_eq!(ea.event_type, Some(WebhookEventType::BalanceUpdated));
    assert_eq!(ea.event_id, eb.event_id);
    assert_ne!(a.headers.get("x-webhook-id"), b.headers.get("x-webhook-id"));
}
