//! The crash matrix: a real receiver process (this test binary re-executed in
//! "child" mode) is SIGKILLed at each of five points, for the at-least-once
//! handler and for the transactional (exactly-once) handler, then restarted
//! while the sender redelivers every event.
//!
//! The point is chosen by environment variables (`CRASH_AT`, `CRASH_EVENT`):
//! when the child reaches it for that event it prints `AT <point>` and stops
//! there; the test then SIGKILLs it. Synchronisation is by lines on the
//! child's stdout, never sleeps.
//!
//! Points, in the order an event passes them:
//! 1. `before_store`: verified, not yet stored (no 200 sent);
//! 2. `after_store`: durably stored, the 200 not yet sent (the dispatcher
//!    processes the stored event meanwhile; the kill follows that);
//! 3. `before_handler`: 200 sent, the handler not yet called;
//! 4. `inside_handler`: the handler's effect is written, the handler has not returned;
//! 5. `after_handler`: the handler returned, the event is not yet marked processed.
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

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use hercle_webhooks::{
    AtLeastOnce, EventStore, ExactlyOnce, HandlerError, InsertOutcome, NewEvent, Process, Receiver,
    SqliteStore, SqliteTxHandler, StoreError, StoredEvent, TransactionalStore, Verifier,
};
use support::{body, post, public_key, signer, temp_dir};
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const CHILD_ENV: &str = "HERCLE_WEBHOOKS_CRASH_CHILD";
const BOUND: Duration = Duration::from_secs(60);
const TARGET: &str = "evt_2";

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Where the child is told to stop.
#[derive(Clone)]
struct Crash {
    point: Option<String>,
    event: String,
}

impl Crash {
    fn from_env() -> Self {
        Crash {
            point: std::env::var("CRASH_AT").ok(),
            event: std::env::var("CRASH_EVENT").unwrap_or_default(),
        }
    }

    fn hit(&self, point: &str, event_id: &str) -> bool {
        let hit = self.point.as_deref() == Some(point) && event_id == self.event;
        if hit {
            say(&format!("AT {point} {event_id}"));
        }
        hit
    }

    /// At the crash point for this event: report it and never return (the
    /// test SIGKILLs the process). For the store's writer thread, where the
    /// transactional handler runs and there is no await point.
    fn at(&self, point: &str, event_id: &str) {
        if self.hit(point, event_id) {
            loop {
                std::thread::park();
            }
        }
    }

    /// The same in async code: parks the task, not a runtime thread.
    async fn at_async(&self, point: &str, event_id: &str) {
        if self.hit(point, event_id) {
            std::future::pending::<()>().await;
        }
    }
}

/// The child's store: SQLite with the two receive-path crash points around
/// the insert and the at-least-once one before the mark.
struct CrashStore {
    inner: SqliteStore,
    crash: Crash,
}

impl EventStore for CrashStore {
    async fn insert_if_new(&self, event: NewEvent) -> Result<InsertOutcome, StoreError> {
        let id = event.event_id.clone();
        self.crash.at_async("before_store", &id).await;
        let outcome = self.inner.insert_if_new(event).await?;
        self.crash.at_async("after_store", &id).await;
        Ok(outcome)
    }

    async fn next_unprocessed(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.next_unprocessed(limit).await
    }

    async fn mark_processed(&self, event_ids: Vec<String>) -> Result<(), StoreError> {
        for id in &event_ids {
            self.crash.at_async("after_handler", id).await;
        }
        self.inner.mark_processed(event_ids).await
    }
}

impl TransactionalStore for CrashStore {
    type TxHandler = dyn SqliteTxHandler;

    async fn process_in_tx(
        &self,
        event: StoredEvent,
        handler: Arc<dyn SqliteTxHandler>,
    ) -> Result<bool, HandlerError> {
        self.inner.process_in_tx(event, handler).await
    }
}

/// Reports each processed event (after its processing is durable).
struct Reported<P>(P);

impl<S: EventStore, P: Process<S>> Process<S> for Reported<P> {
    async fn process(&self, store: &S, event: StoredEvent) -> Result<(), HandlerError> {
        let id = event.event_id().to_owned();
        self.0.process(store, event).await?;
        say(&format!("PROCESSED {id}"));
        Ok(())
    }
}

/// Child mode: a receiver with the plain (`HANDLER=plain`: appends the event
/// id to a file, fsynced) or transactional (`HANDLER=tx`: inserts a row in
/// the store's transaction) handler.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // Not in child mode: nothing to do.
    };
    let dir = PathBuf::from(dir);
    let crash = Crash::from_env();
    let transactional = std::env::var("HANDLER").as_deref() == Ok("tx");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let inner = SqliteStore::open(dir.join("events.db")).unwrap();
        let store = CrashStore {
            inner,
            crash: crash.clone(),
        };
        let receiver = Receiver::new(Verifier::new(public_key("primary")), store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        say(&format!("READY {}", listener.local_addr().unwrap()));
        // The 200 is written after the store answered; a handler can start
        // before the sender has read it, so the dispatcher's first point is
        // "the handler is about to be called", reached only after the insert
        // completed (and the response is on its way).
        if transactional {
            let handler = move |tx: &rusqlite::Savepoint<'_>, e: &StoredEvent| {
                crash.at("before_handler", e.event_id());
                tx.execute(
                    "CREATE TABLE IF NOT EXISTS effects (n INTEGER PRIMARY KEY, event_id TEXT NOT NULL)",
                    [],
                )?;
                tx.execute("INSERT INTO effects (event_id) VALUES (?1)", [e.event_id()])?;
                crash.at("inside_handler", e.event_id());
                Ok::<(), HandlerError>(())
            };
            // `after_handler` for the transactional handler: the handler
            // returned, the mark (same transaction) is not yet written.
            let crash2 = Crash::from_env();
            let wrapped = move |tx: &rusqlite::Savepoint<'_>, e: &StoredEvent| {
                handler(tx, e)?;
                crash2.at("after_handler", e.event_id());
                Ok(())
            };
            let handler: Arc<dyn SqliteTxHandler> = Arc::new(wrapped);
            receiver
                .serve_with(
                    listener,
                    Reported(ExactlyOnce(handler)),
                    std::future::pending(),
                )
                .await
                .unwrap();
        } else {
            let log = dir.join("processed.log");
            let handler = move |e: StoredEvent| {
                let log = log.clone();
                let crash = crash.clone();
                async move {
                    crash.at_async("before_handler", e.event_id()).await;
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&log)?;
                    writeln!(f, "{}", e.event_id())?;
                    f.sync_all()?;
                    crash.at_async("inside_handler", e.event_id()).await;
                    Ok(())
                }
            };
            receiver
                .serve_with(
                    listener,
                    Reported(AtLeastOnce(handler)),
                    std::future::pending(),
                )
                .await
                .unwrap();
        }
    });
}

struct ChildProc {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    addr: std::net::SocketAddr,
}

async fn spawn_child(dir: &Path, handler: &str, crash_at: Option<&str>) -> ChildProc {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env("HANDLER", handler)
        .env("CRASH_EVENT", TARGET)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    match crash_at {
        Some(p) => cmd.env("CRASH_AT", p),
        None => cmd.env_remove("CRASH_AT"),
    };
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = wait_for(&mut lines, "READY ").await;
    let addr = ready.trim_start_matches("READY ").parse().unwrap();
    ChildProc { child, lines, addr }
}

/// Reads child lines until one starts with `prefix` (bounded in time).
async fn wait_for(lines: &mut Lines<BufReader<ChildStdout>>, prefix: &str) -> String {
    tokio::time::timeout(BOUND, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest prints "test crash_child ... " without a newline first.
            if let Some(at) = line.find(prefix) {
                return line[at..].to_owned();
            }
        }
        panic!("child exited before printing {prefix:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {prefix:?}"))
}

/// Reads child lines until every one of `wanted` has been seen (bounded in time).
async fn wait_all(lines: &mut Lines<BufReader<ChildStdout>>, wanted: &[String]) {
    let mut missing: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
    tokio::time::timeout(BOUND, async {
        while !missing.is_empty() {
            let Some(line) = lines.next_line().await.unwrap() else {
                panic!("child exited still missing {missing:?}");
            };
            missing.retain(|w| !line.contains(w));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {wanted:?}"));
}

/// One delivery attempt; `None` if the connection died without an answer.
async fn try_deliver(addr: std::net::SocketAddr, id: String) -> Option<u16> {
    let b = body(&id);
    let h = signer("primary").sign(&b).unwrap();
    let pairs: Vec<(String, String)> = h
        .pairs()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::spawn(async move {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        post(addr, &refs, b).await.0
    })
    .await
    .ok()
}

fn ids() -> Vec<String> {
    (0..5).map(|i| format!("evt_{i}")).collect()
}

/// How many times each event's effect is present after both runs.
fn effect_counts(dir: &Path, handler: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    if handler == "tx" {
        let conn = rusqlite::Connection::open(dir.join("events.db")).unwrap();
        let mut stmt = conn.prepare("SELECT event_id FROM effects").unwrap();
        for id in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            *counts.entry(id.unwrap()).or_default() += 1;
        }
    } else {
        let log = std::fs::read_to_string(dir.join("processed.log")).unwrap();
        for id in log.lines() {
            *counts.entry(id.to_owned()).or_default() += 1;
        }
    }
    counts
}

fn processed_ids(dir: &Path) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(dir.join("events.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT event_id FROM webhook_events WHERE processed_at IS NOT NULL")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Run 1 stops at `point` on evt_2 and is SIGKILLed; run 2 gets every event
/// redelivered. Returns each event's effect count.
async fn crash_and_recover(handler: &str, point: &str) -> BTreeMap<String, usize> {
    let dir = temp_dir(&format!("crash-{handler}-{point}"));
    let mut run1 = spawn_child(&dir, handler, Some(point)).await;
    // Deliveries are sequential, like a sender working through its queue; the
    // one that reaches a receive-path crash point never gets its answer.
    let addr = run1.addr;
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel();
    let sending = tokio::spawn(async move {
        for id in ids() {
            match try_deliver(addr, id.clone()).await {
                Some(200) => drop(ack_tx.send(id)),
                _ => break,
            }
        }
    });
    // Events before evt_2 are processed in order before the dispatcher can
    // reach evt_2, so every other event's state at the kill is known.
    let receive_path = matches!(point, "before_store" | "after_store");
    let mut wanted = vec![format!("AT {point} {TARGET}")];
    if receive_path {
        wanted.extend(["PROCESSED evt_0".to_owned(), "PROCESSED evt_1".to_owned()]);
    }
    if point == "after_store" {
        // Stored, so the dispatcher goes on to process it while the 200 is
        // held back; kill once that is done, so the state is one known state.
        wanted.push(format!("PROCESSED {TARGET}"));
    }
    wait_all(&mut run1.lines, &wanted).await;
    let mut acked = Vec::new();
    if !receive_path {
        // The 200 for evt_2 was sent before the dispatcher saw the event;
        // wait until the sender has it, then kill.
        while !acked.iter().any(|i| i == TARGET) {
            let id = tokio::time::timeout(BOUND, ack_rx.recv()).await.unwrap();
            acked.push(id.expect("evt_2 acknowledged"));
        }
    }
    run1.child.kill().await.unwrap(); // SIGKILL
    sending.await.unwrap();
    while let Ok(id) = ack_rx.try_recv() {
        acked.push(id);
    }
    // At a receive-path point evt_2 has no 200: the sender must redeliver it.
    assert_eq!(
        acked.iter().any(|i| i == TARGET),
        !receive_path,
        "{acked:?}"
    );

    // Run 2: the sender redelivers everything (acknowledged or not);
    // duplicates of stored events are answered 200 and not processed again.
    let already = processed_ids(&dir);
    assert_eq!(
        already.contains(TARGET),
        point == "after_store",
        "{already:?}"
    );
    let mut run2 = spawn_child(&dir, handler, None).await;
    for id in ids() {
        assert_eq!(try_deliver(run2.addr, id.clone()).await, Some(200), "{id}");
    }
    let mut waiting: BTreeSet<String> =
        ids().into_iter().filter(|i| !already.contains(i)).collect();
    while !waiting.is_empty() {
        let line = wait_for(&mut run2.lines, "PROCESSED ").await;
        waiting.remove(line.trim_start_matches("PROCESSED "));
    }
    run2.child.kill().await.unwrap();
    assert_eq!(processed_ids(&dir).len(), 5, "every event marked processed");
    let counts = effect_counts(&dir, handler);
    let _ = std::fs::remove_dir_all(&dir);
    counts
}

const POINTS: [&str; 5] = [
    "before_store",
    "after_store",
    "before_handler",
    "inside_handler",
    "after_handler",
];

fn expect(target_count: usize) -> BTreeMap<String, usize> {
    ids()
        .into_iter()
        .map(|i| {
            let n = if i == TARGET { target_count } else { 1 };
            (i, n)
        })
        .collect()
}

macro_rules! matrix {
    ($($name:ident: $handler:literal at $point:literal => $target_count:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            assert!(POINTS.contains(&$point));
            assert_eq!(crash_and_recover($handler, $point).await, expect($target_count));
        }
    )*};
}

// The transactional handler: the effect is present exactly once at every point.
matrix! {
    tx_killed_before_store: "tx" at "before_store" => 1;
    tx_killed_after_store_before_200: "tx" at "after_store" => 1;
    tx_killed_after_200_before_handler: "tx" at "before_handler" => 1;
    tx_killed_inside_handler_after_effect: "tx" at "inside_handler" => 1;
    tx_killed_after_handler_before_mark: "tx" at "after_handler" => 1;
}

// The plain handler: at least once. Killed after its effect and before the
// mark, the effect is repeated (exactly twice here: one crash, one rerun).
matrix! {
    plain_killed_before_store: "plain" at "before_store" => 1;
    plain_killed_after_store_before_200: "plain" at "after_store" => 1;
    plain_killed_after_200_before_handler: "plain" at "before_handler" => 1;
    plain_killed_inside_handler_after_effect: "plain" at "inside_handler" => 2;
    plain_killed_after_handler_before_mark: "plain" at "after_handler" => 2;
}
