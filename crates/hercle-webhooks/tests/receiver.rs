//! The receive path over loopback: rejections store nothing, accepted events
//! are stored durably, deduplicated and handed to the handler once.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "util/support.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hercle_webhooks::{
    Event, EventStore, ManualClock, Receiver, ReceiverConfig, SqliteStore, StoredEvent, Verifier,
    WebhookEvent,
};
use support::{body, post, public_key, signer, temp_dir};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Harness {
    addr: std::net::SocketAddr,
    db: std::path::PathBuf,
    seen: Arc<Mutex<Vec<String>>>,
    clock: ManualClock,
    receiver: Receiver<SqliteStore>,
}

async fn start(config: ReceiverConfig) -> Harness {
    let dir = temp_dir("recv");
    let db = dir.join("events.db");
    let store = SqliteStore::open(&db).unwrap();
    let clock = ManualClock::new(now());
    let verifier = Verifier::new(public_key("primary")).with_clock(clock.clone());
    let receiver = Receiver::with_config(verifier, store, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let r = receiver.clone();
    tokio::spawn(async move {
        hercle_webhooks::serve(listener, r.service(), std::future::pending::<()>())
            .await
            .unwrap();
    });
    Harness {
        addr,
        db,
        seen: Arc::new(Mutex::new(Vec::new())),
        clock,
        receiver,
    }
}

impl Harness {
    /// Runs the dispatcher until the store is drained; returns the handled ids.
    async fn drain(&self) -> Vec<String> {
        let seen = self.seen.clone();
        let d = self.receiver.dispatcher(move |e: StoredEvent| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(e.event_id().to_owned());
                Ok(())
            }
        });
        d.drain().await;
        self.seen.lock().unwrap().clone()
    }

    fn counts(&self) -> (i64, i64) {
        SqliteStore::count_events(&self.db).unwrap()
    }

    async fn send_signed(&self, b: Vec<u8>) -> (u16, String) {
        let h = signer("primary")
            .sign_at(&self.clock.now().to_string(), &b)
            .unwrap();
        post(self.addr, &h.pairs(), b).await
    }
}

trait Now {
    fn now(&self) -> i64;
}
impl Now for ManualClock {
    fn now(&self) -> i64 {
        hercle_webhooks::Clock::now_unix(self)
    }
}

#[tokio::test]
async fn accepted_events_are_stored_deduplicated_and_handled_once() {
    let h = start(ReceiverConfig::default()).await;
    for i in 0..5 {
        let (status, text) = h.send_signed(body(&format!("evt_{i}"))).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(text, r#"{"success":true}"#);
    }
    // Redeliveries (new signature, same EventId) answer 200 and are not stored again.
    let (status, text) = h.send_signed(body("evt_2")).await;
    assert_eq!(
        (status, text.as_str()),
        (200, r#"{"success":true,"duplicate":true}"#)
    );
    assert_eq!(h.counts(), (5, 0));
    assert_eq!(
        h.drain().await,
        ["evt_0", "evt_1", "evt_2", "evt_3", "evt_4"]
    );
    assert_eq!(h.counts(), (5, 5));
    // A redelivery after processing is still a no-op.
    let (status, _) = h.send_signed(body("evt_0")).await;
    assert_eq!(status, 200);
    assert_eq!(h.drain().await.len(), 5);
    assert_eq!(h.counts(), (5, 5));
}

#[tokio::test]
async fn rejections_answer_400_with_a_reason_and_store_nothing() {
    let h = start(ReceiverConfig {
        max_body_bytes: 4096,
        ..ReceiverConfig::default()
    })
    .await;
    let now = h.clock.now().to_string();
    let b = body("evt_bad");
    let good = signer("primary").sign_at(&now, &b).unwrap();
    let mut tampered = b.clone();
    *tampered.last_mut().unwrap() = b' ';
    let wrong = signer("wrong").sign_at(&now, &b).unwrap();
    let stale = signer("primary")
        .sign_at(&(h.clock.now() - 301).to_string(), &b)
        .unwrap();
    let future = signer("primary")
        .sign_at(&(h.clock.now() + 301).to_string(), &b)
        .unwrap();
    let nonnum = signer("primary").sign_at("soon", &b).unwrap();
    let big = {
        let mut v = b"{\"EventId\":\"evt_big\",\"EventType\":\"X\",\"Data\":\"".to_vec();
        v.extend(std::iter::repeat_n(b'a', 5000));
        v.extend_from_slice(b"\"}");
        v
    };
    let big_sig = signer("primary").sign_at(&now, &big).unwrap();
    let not_json = b"not json".to_vec();
    let not_json_sig = signer("primary").sign_at(&now, &not_json).unwrap();
    let no_id = br#"{"EventType":"Balance.Updated","Data":{}}"#.to_vec();
    let no_id_sig = signer("primary").sign_at(&now, &no_id).unwrap();
    let sig = |s: &hercle_webhooks::SignedHeaders| s.signature.clone();

    type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<u8>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "tampered",
            vec![
                ("X-Webhook-Timestamp", now.clone()),
                ("X-Webhook-Signature", sig(&good)),
            ],
            tampered,
            "invalid signature",
        ),
        (
            "wrong key",
            vec![
                ("X-Webhook-Timestamp", now.clone()),
                ("X-Webhook-Signature", sig(&wrong)),
            ],
            b.clone(),
            "invalid signature",
        ),
        (
            "stale",
            vec![
                ("X-Webhook-Timestamp", stale.timestamp.clone()),
                ("X-Webhook-Signature", sig(&stale)),
            ],
            b.clone(),
            "timestamp too old",
        ),
        (
            "future",
            vec![
                ("X-Webhook-Timestamp", future.timestamp.clone()),
                ("X-Webhook-Signature", sig(&future)),
            ],
            b.clone(),
            "timestamp in the future",
        ),
        (
            "non-numeric",
            vec![
                ("X-Webhook-Timestamp", "soon".into()),
                ("X-Webhook-Signature", sig(&nonnum)),
            ],
            b.clone(),
            "X-Webhook-Timestamp is not numeric",
        ),
        (
            "no signature",
            vec![("X-Webhook-Timestamp", now.clone())],
            b.clone(),
            "missing X-Webhook-Signature header",
        ),
        (
            "no timestamp",
            vec![("X-Webhook-Signature", sig(&good))],
            b.clone(),
            "missing X-Webhook-Timestamp header",
        ),
        (
            "no headers",
            vec![],
            b.clone(),
            "missing X-Webhook-Timestamp header",
        ),
        (
            "oversize",
            vec![
                ("X-Webhook-Timestamp", now.clone()),
                ("X-Webhook-Signature", sig(&big_sig)),
            ],
            big,
            "body too large",
        ),
        (
            "not json",
            vec![
                ("X-Webhook-Timestamp", now.clone()),
                ("X-Webhook-Signature", sig(&not_json_sig)),
            ],
            not_json,
            "malformed body",
        ),
        (
            "no EventId",
            vec![
                ("X-Webhook-Timestamp", now.clone()),
                ("X-Webhook-Signature", sig(&no_id_sig)),
            ],
            no_id,
            "missing EventId",
        ),
    ];
    for (name, headers, body, reason) in cases {
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, text) = post(h.addr, &hs, body).await;
        assert_eq!(status, 400, "{name}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"], reason, "{name}");
    }
    assert_eq!(h.counts(), (0, 0));
    assert!(h.drain().await.is_empty());
    // And the good one still goes through.
    let (status, _) = post(h.addr, &good.pairs(), b).await;
    assert_eq!(status, 200);
    assert_eq!(h.counts(), (1, 0));
}

#[tokio::test]
async fn concurrent_duplicates_store_one() {
    let h = start(ReceiverConfig::default()).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let b = body("evt_same");
        let ts = h.clock.now().to_string();
        let addr = h.addr;
        tasks.push(tokio::spawn(async move {
            let s = signer("primary").sign_at(&ts, &b).unwrap();
            post(addr, &s.pairs(), b).await
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        let (status, text) = t.await.unwrap();
        assert_eq!(status, 200);
        if !text.contains("duplicate") {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(h.counts(), (1, 0));
    assert_eq!(h.drain().await, ["evt_same"]);
}

#[tokio::test]
async fn handler_errors_are_retried_in_order() {
    let h = start(ReceiverConfig::default()).await;
    for i in 0..3 {
        assert_eq!(h.send_signed(body(&format!("evt_r{i}"))).await.0, 200);
    }
    let calls = Arc::new(Mutex::new(Vec::<String>::new()));
    let c = calls.clone();
    let d = h.receiver.dispatcher(move |e: StoredEvent| {
        let c = c.clone();
        async move {
            let mut g = c.lock().unwrap();
            g.push(e.event_id().to_owned());
            let failures = g.iter().filter(|x| *x == "evt_r1").count();
            if e.event_id() == "evt_r1" && failures < 3 {
                return Err("transient".into());
            }
            Ok(())
        }
    });
    d.drain().await;
    assert_eq!(
        *calls.lock().unwrap(),
        ["evt_r0", "evt_r1", "evt_r1", "evt_r1", "evt_r2"]
    );
    assert_eq!(h.counts(), (3, 3));
}

#[tokio::test]
async fn handler_gets_typed_events() {
    let h = start(ReceiverConfig::default()).await;
    assert_eq!(h.send_signed(body("evt_typed")).await.0, 200);
    let stored = h.receiver.store().next_unprocessed(10).await.unwrap();
    let ev: Event = stored[0].parse().unwrap();
    assert_eq!(ev.event_id, "evt_typed");
    match ev.event {
        WebhookEvent::DepositStatusUpdated(d) => {
            let sc = d.status_change.unwrap();
            assert_eq!(sc.previous.as_deref(), Some("REVIEWING"));
            assert_eq!(sc.current.as_deref(), Some("APPROVED"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failing_transactional_handler_leaves_no_effect_and_a_done_event_is_not_rerun() {
    use hercle_webhooks::{HandlerError, NewEvent, SqliteTxHandler, TransactionalStore};
    let dir = temp_dir("tx");
    let store = SqliteStore::open(dir.join("events.db")).unwrap();
    let new = |id: &str| NewEvent {
        event_id: id.to_owned(),
        event_type: "Banking.Deposit.StatusUpdated".into(),
        delivery_id: None,
        signed_at: 1,
        received_at: 1,
        body: bytes::Bytes::from(body(id)),
    };
    store.insert_if_new(new("evt_a")).await.unwrap();
    store.insert_if_new(new("evt_b")).await.unwrap();
    let write = |tx: &rusqlite::Savepoint<'_>, e: &StoredEvent| -> Result<(), HandlerError> {
        tx.execute(
            "CREATE TABLE IF NOT EXISTS effects (event_id TEXT NOT NULL)",
            [],
        )?;
        tx.execute("INSERT INTO effects VALUES (?1)", [e.event_id()])?;
        Ok(())
    };
    let fails: Arc<dyn SqliteTxHandler> =
        Arc::new(move |tx: &rusqlite::Savepoint<'_>, e: &StoredEvent| {
            write(tx, e)?;
            Err::<(), HandlerError>("downstream refused".into())
        });
    let works: Arc<dyn SqliteTxHandler> = Arc::new(write);
    let pending = store.next_unprocessed(10).await.unwrap();
    let (a, b) = (pending[0].clone(), pending[1].clone());

    // evt_a fails: its write is rolled back and it stays unprocessed, while
    // evt_b (possibly in the same group commit) is applied.
    let (ra, rb) = tokio::join!(
        store.process_in_tx(a.clone(), fails),
        store.process_in_tx(b.clone(), works.clone())
    );
    assert!(ra.is_err());
    assert!(rb.unwrap());
    assert_eq!(store.next_unprocessed(10).await.unwrap(), vec![a.clone()]);
    assert!(store.process_in_tx(a.clone(), works.clone()).await.unwrap());
    // Already processed: the handler does not run again.
    assert!(!store.process_in_tx(a, works.clone()).await.unwrap());
    assert!(!store.process_in_tx(b, works).await.unwrap());

    let conn = rusqlite::Connection::open(dir.join("events.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT event_id FROM effects ORDER BY event_id")
        .unwrap();
    let effects: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(effects, ["evt_a", "evt_b"]);
    let _ = std::fs::remove_dir_all(&dir);
}
