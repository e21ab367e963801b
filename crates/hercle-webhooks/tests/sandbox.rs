//! End to end with the sandbox: it delivers each of the 12 event types over
//! HTTP to a real receiver (SQLite store), with its duplicate-delivery fault
//! on (every attempt sent twice) and the receiver answering 500 to the first
//! attempt at one event, which the sandbox then redelivers. Each event is
//! verified, stored, decoded into its typed event (Data in its documented
//! string form) and handled exactly once.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "util/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hercle_sandbox::{Config, Sandbox};
use hercle_webhooks::{
    AtLeastOnce, Event, EventStore, HandlerError, Process, Receiver, SqliteStore, StoredEvent,
    Verifier, WebhookEvent,
};
use http_body_util::{BodyExt as _, Full};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const BOUND: Duration = Duration::from_secs(30);
/// The event whose first attempt is answered 500.
const FAIL_FIRST: &str = "Banking.Deposit.StatusUpdated";

/// Every documented type, as the typed variant must name it.
const ALL_TYPES: [&str; 12] = [
    "Balance.Updated",
    "Banking.Deposit.StatusUpdated",
    "Banking.Payout.Created",
    "Banking.Payout.StatusUpdated",
    "Banking.Withdrawal.Created",
    "Banking.Withdrawal.StatusUpdated",
    "EndUser.Registered",
    "EndUser.StatusUpdated",
    "EndUser.Updated",
    "Payee.Registered",
    "PayeeAddress.StatusUpdated",
    "VirtualAccount.Registered",
];

/// Reports each event, typed, after its processing is durably recorded.
struct Reported<P>(P, mpsc::UnboundedSender<(StoredEvent, Event)>);

impl<S: EventStore, P: Process<S>> Process<S> for Reported<P> {
    async fn process(&self, store: &S, event: StoredEvent) -> Result<(), HandlerError> {
        self.0.process(store, event.clone()).await?;
        let typed = event.parse()?;
        let _ = self.1.send((event, typed));
        Ok(())
    }
}

/// The receiver behind a front that answers 500 to the first two requests
/// carrying `FAIL_FIRST` (the sandbox's first attempt, sent twice by the
/// duplicate fault), and hands everything else to the receiver unchanged.
async fn start_receiver(
    verifier: Verifier,
    db: std::path::PathBuf,
) -> (String, mpsc::UnboundedReceiver<(StoredEvent, Event)>) {
    let receiver = Receiver::new(verifier, SqliteStore::open(db).unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    // The handler decodes the typed event (a decode error would be retried);
    // the test hears of each event once its processed mark is durable.
    let handler = |e: StoredEvent| async move {
        e.parse()?;
        Ok(())
    };
    tokio::spawn(
        receiver
            .dispatcher_with(Reported(AtLeastOnce(handler), tx))
            .run(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/hercle", listener.local_addr().unwrap());
    let refused = Arc::new(Mutex::new(0u32));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (receiver, refused) = (receiver.clone(), refused.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (receiver, refused) = (receiver.clone(), refused.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            let fail = String::from_utf8_lossy(&body).contains(FAIL_FIRST) && {
                                let mut n = refused.lock().unwrap();
                                *n += 1;
                                *n <= 2
                            };
                            if fail {
                                let mut resp = hyper::Response::new(Full::new(Bytes::new()));
                                *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                                return Ok::<_, std::convert::Infallible>(resp);
                            }
                            let req = hyper::Request::from_parts(parts, Full::new(body));
                            Ok(receiver.handle(req).await)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, rx)
}

/// A REST call to the sandbox as a user would make it; returns the JSON body.
async fn call(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    base: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> serde_json::Value {
    let req = hyper::Request::post(format!("{base}{path}"))
        .header("authorization", "Bearer sandbox-key")
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).unwrap()
}

fn json(v: &serde_json::Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn id_of(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_is_verified_stored_typed_and_handled_once() {
    let dir = support::temp_dir("sandbox-e2e");
    let sandbox = Sandbox::start(Config {
        webhook_retry: vec![Duration::from_millis(50); 3],
        webhook_poll: Duration::from_millis(20),
        ..Config::default()
    })
    .await
    .unwrap();
    let verifier = Verifier::from_pems([sandbox.webhook_public_key_pem().as_str()]).unwrap();
    let (url, mut handled) = start_receiver(verifier, dir.join("events.db")).await;
    sandbox.add_webhook_url(&url);

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let base = sandbox.base_url();
    let post = |path: &'static str, body: serde_json::Value| {
        let (client, base) = (client.clone(), base.clone());
        async move { call(&client, &base, path, "application/json", json(&body)).await }
    };
    // The duplicate-delivery fault: every attempt is sent twice.
    let req = hyper::Request::post(format!("{base}/_sandbox/faults/webhooks"))
        .body(Full::new(Bytes::from_static(br#"{"duplicate":true}"#)))
        .unwrap();
    assert_eq!(client.request(req).await.unwrap().status(), 200);

    // A user's banking flow, which between them emit all 12 event types.
    let user = post(
        "/api/v1/end-users/individuals",
        serde_json::json!({
            "person": {"firstName": "Ada", "lastName": "Lovelace"},
            "ipAddress": "127.0.0.1"
        }),
    )
    .await;
    let boundary = "hercle-boundary";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nIDENTITY_VERIFICATION\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"id.png\"\r\n\
         Content-Type: image/png\r\n\r\nPNG\r\n--{boundary}--\r\n"
    );
    let path = format!("/api/v1/end-users/{}/documents", id_of(&user));
    call(
        &client,
        &base,
        &path,
        &format!("multipart/form-data; boundary={boundary}"),
        multipart.into_bytes(),
    )
    .await;
    let payee = post(
        "/api/v1/payee",
        serde_json::json!({
            "type": 1, "name": "Bob", "surname": "Smith", "company": "Smith Ltd", "country": "GB",
            "state": "London", "city": "London", "address": "1 High St", "postalCode": "E1 1AA"
        }),
    )
    .await;
    let path = format!("/api/v1/payees/{}/addresses", id_of(&payee));
    let address = call(
        &client,
        &base,
        &path,
        "application/json",
        json(&serde_json::json!({
            "name": "Bob GBP", "asset": "GBP", "network": "Faster Payments", "address": "12345678",
            "addressParams": {"sortcode": "200000"}
        })),
    )
    .await;
    post(
        "/api/v1/transfer",
        serde_json::json!({
            "asset": "GBP", "amount": 10, "internalAddressId": "fac_1",
            "payeeAddressId": id_of(&address), "description": "rent"
        }),
    )
    .await;
    let account = post(
        "/api/v1/deposit-accounts",
        serde_json::json!({"asset": "EUR", "network": "Sepa", "fiatAccountId": "fac_1"}),
    )
    .await;
    post(
        "/api/v1/simulate-payin",
        serde_json::json!({
            "amount": 250.75, "toAddress": account["refAccountId"], "from": {"iban": "DE89370400440532013000"},
            "fromType": "PERSON", "paymentScheme": "SCT", "reference": "inv-7"
        }),
    )
    .await;
    post(
        "/api/v1/addresses/whitelist",
        serde_json::json!({"name": "cold", "asset": "BTC", "address": "bc1qcold", "network": "Bitcoin"}),
    )
    .await;
    post(
        "/api/v1/withdrawals",
        serde_json::json!({"asset": "BTC", "amount": 0.1, "address": "bc1qcold", "network": "Bitcoin"}),
    )
    .await;

    // Collect handled events until every type has been handled (status
    // updates follow on the sandbox clock, within a few seconds).
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_type: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    while ALL_TYPES.iter().any(|t| !by_type.contains_key(*t)) {
        let (stored, event) = tokio::time::timeout(BOUND, handled.recv())
            .await
            .unwrap_or_else(|_| panic!("missing types after {BOUND:?}: {:?}", by_type.keys()))
            .unwrap();
        *by_id.entry(stored.event_id().to_owned()).or_default() += 1;
        assert_eq!(event.event_id, stored.event_id());
        assert_eq!(event.event.event_type(), stored.event.event_type);
        assert!(
            event.envelope.data.as_ref().is_some_and(|d| d.was_string()),
            "{}: Data arrives as a JSON string",
            stored.event.event_type
        );
        by_type
            .entry(event.event.event_type().to_owned())
            .or_default()
            .push(event);
    }

    // Each type decoded into its own variant, with its payload.
    for (ty, events) in &by_type {
        for e in events {
            let ok = match &e.event {
                WebhookEvent::DepositStatusUpdated(d)
                | WebhookEvent::WithdrawalStatusUpdated(d)
                | WebhookEvent::PayoutStatusUpdated(d)
                | WebhookEvent::EndUserStatusUpdated(d)
                | WebhookEvent::PayeeAddressStatusUpdated(d) => d
                    .status_change
                    .as_ref()
                    .is_some_and(|c| c.current.is_some()),
                WebhookEvent::WithdrawalCreated(d)
                | WebhookEvent::PayoutCreated(d)
                | WebhookEvent::VirtualAccountRegistered(d)
                | WebhookEvent::BalanceUpdated(d)
                | WebhookEvent::EndUserRegistered(d)
                | WebhookEvent::EndUserUpdated(d)
                | WebhookEvent::PayeeRegistered(d) => d.is_some(),
                other => panic!("{ty} decoded as {other:?}"),
            };
            assert!(ok, "{ty}: payload missing in {:?}", e.event);
        }
    }
    let deposit = &by_type[FAIL_FIRST][0];
    let WebhookEvent::DepositStatusUpdated(d) = &deposit.event else {
        panic!("{:?}", deposit.event)
    };
    assert_eq!(
        d.status_change.as_ref().unwrap().current.as_deref(),
        Some("APPROVED")
    );

    // Handled once each, although every attempt was sent twice.
    let repeated: Vec<_> = by_id.iter().filter(|(_, n)| **n != 1).collect();
    assert!(repeated.is_empty(), "handled more than once: {repeated:?}");

    // The sandbox's own log: the deposit's first attempt (both copies) got
    // 500, its redelivery 200; every other event's one attempt got 200 twice.
    let deposit_id = deposit.event_id.clone();
    let mut changes = sandbox.watch_webhook_deliveries();
    let attempts = |id: &str| -> Vec<(u32, Option<u16>)> {
        sandbox
            .webhook_deliveries()
            .iter()
            .filter(|d| d.event_id == id)
            .map(|d| (d.attempt, d.status))
            .collect()
    };
    let other = by_type["Payee.Registered"][0].event_id.clone();
    // An attempt is logged once its answer is read: wait for the log.
    while attempts(&deposit_id).len() < 4 || attempts(&other).len() < 2 {
        tokio::time::timeout(BOUND, changes.changed())
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        attempts(&deposit_id),
        [
            (1, Some(500)),
            (1, Some(500)),
            (2, Some(200)),
            (2, Some(200))
        ]
    );
    assert_eq!(attempts(&other), [(1, Some(200)), (1, Some(200))]);

    // The store holds each handled event once, marked processed.
    let conn = rusqlite::Connection::open(dir.join("events.db")).unwrap();
    for id in by_id.keys() {
        let (rows, processed): (i64, i64) = conn
            .query_row(
                "SELECT COUNT(*), COUNT(processed_at) FROM webhook_events WHERE event_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((rows, processed), (1, 1), "{id}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
