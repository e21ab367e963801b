//! The PostgreSQL store on a real server (started by the harness in
//! `util/pg.rs`): deduplication, leasing and takeover, the transactional
//! handler, and a fleet of three receiver processes, one SIGKILLed midway.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

#[path = "util/support.rs"]
mod support;

#[path = "util/pg.rs"]
mod pg;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hercle_webhooks::{
    EventStore, HandlerError, InsertOutcome, ManualClock, NewEvent, PgConfig, PgStore, PgTxHandler,
    Receiver, StoredEvent, TransactionalStore, Verifier,
};
use pg::Pg;
use support::{body, public_key, signer};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

const CHILD_ENV: &str = "HERCLE_WEBHOOKS_FLEET_CHILD";
const BOUND: Duration = Duration::from_secs(90);

fn new_event(id: &str) -> NewEvent {
    NewEvent {
        event_id: id.to_owned(),
        event_type: "Banking.Deposit.StatusUpdated".into(),
        delivery_id: None,
        signed_at: 1,
        received_at: 1,
        body: Bytes::from(body(id)),
    }
}

/// Records each event's effect in the store's transaction. No unique
/// constraint: a second commit for one event would show as a second row.
struct Effects {
    instance: String,
}

impl PgTxHandler for Effects {
    fn handle<'a>(
        &'a self,
        tx: &'a tokio_postgres::Transaction<'_>,
        event: &'a StoredEvent,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<(), HandlerError>> + Send + 'a>> {
        Box::pin(async move {
            tx.execute(
                "INSERT INTO effects (event_id, instance) VALUES ($1, $2)",
                &[&event.event_id(), &self.instance],
            )
            .await?;
            Ok(())
        })
    }
}

async fn create_effects(pg: &Pg) {
    pg.client()
        .await
        .batch_execute(
            "CREATE TABLE effects (n BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL, instance TEXT NOT NULL)",
        )
        .await
        .unwrap();
}

fn config(instance: &str, lease_secs: u64) -> PgConfig {
    PgConfig {
        connections: 2,
        lease: Duration::from_secs(lease_secs),
        instance: Some(instance.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_leases_takeover_and_transactional_processing() {
    let pg = Pg::start(false);
    create_effects(&pg).await;
    let clock = ManualClock::new(1_000);
    let a = PgStore::connect_with_clock(&pg.conn_str(), config("a", 30), Arc::new(clock.clone()))
        .await
        .unwrap();
    let b = PgStore::connect_with_clock(&pg.conn_str(), config("b", 30), Arc::new(clock.clone()))
        .await
        .unwrap();

    // Dedup across instances by EventId.
    for i in 0..4 {
        let id = format!("evt_{i}");
        assert_eq!(
            a.insert_if_new(new_event(&id)).await.unwrap(),
            InsertOutcome::Inserted
        );
        assert_eq!(
            b.insert_if_new(new_event(&id)).await.unwrap(),
            InsertOutcome::Duplicate
        );
    }

    // A leases two; B gets the other two, never A's.
    let got_a: Vec<String> = a
        .next_unprocessed(2)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event_id().to_owned())
        .collect();
    let got_b: Vec<String> = b
        .next_unprocessed(10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event_id().to_owned())
        .collect();
    assert_eq!(got_a, ["evt_0", "evt_1"]);
    assert_eq!(got_b, ["evt_2", "evt_3"]);
    assert!(
        b.next_unprocessed(10)
            .await
            .unwrap()
            .iter()
            .all(|e| !got_a.contains(&e.event_id().to_owned()))
    );

    // A "dies" holding evt_0 and evt_1. Before the lease runs out B cannot
    // take them; after it, B takes them over.
    let b_handler: Arc<dyn PgTxHandler> = Arc::new(Effects {
        instance: "b".into(),
    });
    for e in b.next_unprocessed(10).await.unwrap() {
        assert!(b.process_in_tx(e, b_handler.clone()).await.unwrap());
    }
    clock.advance(30);
    assert!(
        b.next_unprocessed(10).await.unwrap().is_empty(),
        "lease still valid at its last second"
    );
    clock.advance(1);
    let taken: Vec<StoredEvent> = b.next_unprocessed(10).await.unwrap();
    assert_eq!(
        taken.iter().map(StoredEvent::event_id).collect::<Vec<_>>(),
        ["evt_0", "evt_1"]
    );

    // A comes back late: its transactional processing of an event now
    // leased to B does nothing; B's does it once; a repeat does nothing.
    let a_handler: Arc<dyn PgTxHandler> = Arc::new(Effects {
        instance: "a".into(),
    });
    let stale = taken[0].clone();
    assert!(
        !a.process_in_tx(stale.clone(), a_handler.clone())
            .await
            .unwrap()
    );
    for e in taken {
        assert!(b.process_in_tx(e, b_handler.clone()).await.unwrap());
    }
    assert!(!b.process_in_tx(stale, b_handler.clone()).await.unwrap());

    let c = pg.client().await;
    let rows = c
        .query(
            "SELECT event_id, instance FROM effects ORDER BY event_id",
            &[],
        )
        .await
        .unwrap();
    let effects: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        effects,
        [
            ("evt_0", "b"),
            ("evt_1", "b"),
            ("evt_2", "b"),
            ("evt_3", "b")
        ]
        .map(|(e, i)| (e.to_owned(), i.to_owned()))
    );
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM webhook_events WHERE processed_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_transactional_handler_leaves_no_effect() {
    struct Fails;
    impl PgTxHandler for Fails {
        fn handle<'a>(
            &'a self,
            tx: &'a tokio_postgres::Transaction<'_>,
            event: &'a StoredEvent,
        ) -> Pin<Box<dyn std::future::Future<Output = Result<(), HandlerError>> + Send + 'a>>
        {
            Box::pin(async move {
                tx.execute(
                    "INSERT INTO effects (event_id, instance) VALUES ($1, 'x')",
                    &[&event.event_id()],
                )
                .await?;
                Err("downstream refused".into())
            })
        }
    }
    let pg = Pg::start(false);
    create_effects(&pg).await;
    let s = PgStore::connect(&pg.conn_str(), config("a", 30))
        .await
        .unwrap();
    s.insert_if_new(new_event("evt_x")).await.unwrap();
    let e = s.next_unprocessed(1).await.unwrap().remove(0);
    assert!(s.process_in_tx(e.clone(), Arc::new(Fails)).await.is_err());
    let c = pg.client().await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM effects", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the handler's write was rolled back");
    // Still unprocessed, still this instance's: it is handed out again.
    assert_eq!(s.next_unprocessed(1).await.unwrap(), vec![e]);
}

// ---- The fleet: three receiver processes on one database ----

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Child mode: one receiver instance with the transactional handler.
#[test]
fn fleet_child() {
    let Ok(conn) = std::env::var(CHILD_ENV) else {
        return; // Not in child mode.
    };
    let instance = std::env::var("INSTANCE").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = PgStore::connect(&conn, config(&instance, 2)).await.unwrap();
        let mut rc = hercle_webhooks::ReceiverConfig::default();
        rc.dispatch.batch = 64;
        rc.dispatch.idle_poll = Duration::from_millis(200);
        let receiver = Receiver::with_config(Verifier::new(public_key("primary")), store, rc);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        say(&format!("READY {}", listener.local_addr().unwrap()));
        let handler: Arc<dyn PgTxHandler> = Arc::new(Effects { instance });
        receiver
            .serve_exactly_once(listener, handler, std::future::pending())
            .await
            .unwrap();
    });
}

struct Instance {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
}

async fn spawn_instance(conn: &str, name: &str) -> Instance {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fleet_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, conn)
        .env("INSTANCE", name)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(BOUND, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(at) = line.find("READY ") {
                return line[at + 6..].trim().parse().unwrap();
            }
        }
        panic!("instance {name} exited before READY");
    })
    .await
    .unwrap();
    // Keep reading its stdout so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Instance { child, addr }
}

/// A keep-alive HTTP/1.1 connection to one instance.
type Conn = hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>;

async fn connect(addr: std::net::SocketAddr) -> Option<Conn> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

struct Delivery {
    body: Bytes,
    headers: Vec<(String, String)>,
}

async fn send(conn: &mut Conn, d: &Delivery) -> Option<u16> {
    let mut req = hyper::Request::post("/webhooks/hercle")
        .header("content-type", "application/json")
        .header("host", "127.0.0.1");
    for (k, v) in &d.headers {
        req = req.header(k, v);
    }
    conn.ready().await.ok()?;
    let resp = conn
        .send_request(req.body(http_body_util::Full::new(d.body.clone())).unwrap())
        .await
        .ok()?;
    let status = resp.status().as_u16();
    http_body_util::BodyExt::collect(resp.into_body())
        .await
        .ok()?;
    Some(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_three_with_one_killed_processes_every_event_exactly_once() {
    const DELIVERIES: usize = 10_000;
    const SENDERS: usize = 12;
    let pg = Pg::start(false);
    create_effects(&pg).await;
    // Create the schema once so the three instances start on it.
    drop(
        PgStore::connect(&pg.conn_str(), PgConfig::default())
            .await
            .unwrap(),
    );

    // 9,000 events, 1,000 of them delivered a second time (10% of the
    // deliveries are duplicates), signed once each (signing is the costly part).
    let unique = DELIVERIES - DELIVERIES / 10;
    let signed: Vec<Arc<Delivery>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                s.spawn(move || {
                    let signer = signer("primary");
                    (0..unique)
                        .filter(|i| i % 2 == t)
                        .map(|i| {
                            let b = body(&format!("evt_{i:05}"));
                            let h = signer.sign(&b).unwrap();
                            let headers = h
                                .pairs()
                                .iter()
                                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                                .collect();
                            (
                                i,
                                Arc::new(Delivery {
                                    body: Bytes::from(b),
                                    headers,
                                }),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Arc<Delivery>)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, d)| d).collect()
    });
    let mut plan: Vec<Arc<Delivery>> = Vec::with_capacity(DELIVERIES);
    for (i, d) in signed.iter().enumerate() {
        plan.push(d.clone());
        if i % 9 == 8 {
            // A duplicate of an event sent a little earlier.
            plan.push(signed[i - 4].clone());
        }
    }
    assert_eq!(plan.len(), DELIVERIES);
    let plan = Arc::new(plan);

    let conn = pg.conn_str();
    let mut instances = Vec::new();
    for name in ["i0", "i1", "i2"] {
        instances.push(spawn_instance(&conn, name).await);
    }
    let addrs: Vec<std::net::SocketAddr> = instances.iter().map(|i| i.addr).collect();
    let addrs = Arc::new(addrs);

    // The round-robin sender: SENDERS workers take deliveries in order; each
    // delivery goes to the next instance in turn; a failed attempt (no
    // answer, or not 200) goes to the next instance, as a load balancer would.
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let turn = Arc::new(AtomicUsize::new(0));
    let (half_tx, half_rx) = tokio::sync::oneshot::channel::<()>();
    let half_tx = Arc::new(std::sync::Mutex::new(Some(half_tx)));
    let mut workers = Vec::new();
    for _ in 0..SENDERS {
        let (plan, addrs, next, acked, turn, half_tx) = (
            plan.clone(),
            addrs.clone(),
            next.clone(),
            acked.clone(),
            turn.clone(),
            half_tx.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut conns: Vec<Option<Conn>> = vec![None, None, None];
            let mut attempts = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(d) = plan.get(i) else {
                    return attempts;
                };
                loop {
                    attempts += 1;
                    assert!(attempts < 3 * DELIVERIES, "a delivery keeps failing");
                    let k = turn.fetch_add(1, Ordering::Relaxed) % addrs.len();
                    if conns[k].is_none() {
                        conns[k] = connect(addrs[k]).await;
                    }
                    let status = match conns[k].as_mut() {
                        Some(c) => send(c, d).await,
                        None => None,
                    };
                    if status == Some(200) {
                        break;
                    }
                    conns[k] = None; // Reconnect next time (the instance may be gone).
                }
                if acked.fetch_add(1, Ordering::Relaxed) + 1 == DELIVERIES / 2
                    && let Some(tx) = half_tx.lock().unwrap().take()
                {
                    let _ = tx.send(());
                }
            }
        }));
    }

    // Midway, SIGKILL instance i1 (it may hold leases and open transactions).
    tokio::time::timeout(BOUND, half_rx).await.unwrap().unwrap();
    instances[1].child.kill().await.unwrap();
    let client = pg.client().await;
    let held: i64 = client
        .query_one(
            "SELECT count(*) FROM webhook_events WHERE lease_owner = 'i1' AND processed_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    println!("instance i1 killed holding {held} leased events");

    let mut attempts = 0;
    for w in workers {
        attempts += tokio::time::timeout(BOUND, w).await.unwrap().unwrap();
    }
    assert!(attempts >= DELIVERIES);

    // Wait until the survivors have processed everything, including what i1
    // held (its leases expire after 2 s). Bounded; each look is one query.
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let left: i64 = client
            .query_one(
                "SELECT count(*) FROM webhook_events WHERE processed_at IS NULL",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{left} events never processed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let stored: i64 = client
        .query_one("SELECT count(*) FROM webhook_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored,
        i64::try_from(unique).unwrap(),
        "one row per EventId"
    );
    let rows = client
        .query(
            "SELECT event_id, count(*) FROM effects GROUP BY event_id",
            &[],
        )
        .await
        .unwrap();
    let counts: BTreeMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(counts.len(), unique, "every event's effect is present");
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(repeated.is_empty(), "effects repeated: {repeated:?}");
    let by_instance = client
        .query(
            "SELECT instance, count(*) FROM effects GROUP BY instance ORDER BY instance",
            &[],
        )
        .await
        .unwrap();
    for r in &by_instance {
        println!("{}: {} events", r.get::<_, String>(0), r.get::<_, i64>(1));
    }
    assert_eq!(by_instance.len(), 3, "all three instances took part");
}
