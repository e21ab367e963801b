//! Crash and restart: the receiver runs as a real child process (this test
//! binary re-executed in "child" mode), is SIGKILLed at a deterministic point
//! after events are durably stored and before they are processed, and is
//! restarted; every event must reach the handler exactly once.
//!
//! Synchronisation is by readiness lines on the child's stdout, never sleeps.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "util/support.rs"]
mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hercle_webhooks::{Receiver, SqliteStore, StoredEvent, Verifier};
use support::{body, post, public_key, signer, temp_dir};
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const CHILD_ENV: &str = "HERCLE_WEBHOOKS_CRASH_CHILD";
const BOUND: Duration = Duration::from_secs(60);

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Child mode: a receiver whose handler appends each event id to a file
/// (fsynced) and, if told to, blocks forever on one event id (the fault point).
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // Not in child mode: nothing to do.
    };
    let dir = PathBuf::from(dir);
    let block_at = std::env::var("BLOCK_AT").ok();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = SqliteStore::open(dir.join("events.db")).unwrap();
        let receiver = Receiver::new(Verifier::new(public_key("primary")), store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        say(&format!("READY {}", listener.local_addr().unwrap()));
        let log = dir.join("processed.log");
        let handler = move |e: StoredEvent| {
            let log = log.clone();
            let block_at = block_at.clone();
            async move {
                if block_at.as_deref() == Some(e.event_id()) {
                    say(&format!("BLOCKED {}", e.event_id()));
                    std::future::pending::<()>().await;
                }
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)?;
                writeln!(f, "{}", e.event_id())?;
                f.sync_all()?;
                say(&format!("PROCESSED {}", e.event_id()));
                Ok(())
            }
        };
        receiver
            .serve(listener, handler, std::future::pending())
            .await
            .unwrap();
    });
}

struct ChildProc {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    addr: std::net::SocketAddr,
}

async fn spawn_child(dir: &Path, block_at: Option<&str>) -> ChildProc {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    match block_at {
        Some(id) => cmd.env("BLOCK_AT", id),
        None => cmd.env_remove("BLOCK_AT"),
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

async fn deliver(addr: std::net::SocketAddr, id: &str) -> String {
    let b = body(id);
    let h = signer("primary").sign(&b).unwrap();
    let (status, text) = post(addr, &h.pairs(), b).await;
    assert_eq!(status, 200, "{id}: {text}");
    text
}

#[tokio::test]
async fn killed_between_storing_and_processing_loses_nothing_and_repeats_nothing() {
    let dir = temp_dir("crash");
    let ids: Vec<String> = (0..10).map(|i| format!("evt_{i}")).collect();

    // Run 1: the handler blocks on evt_5 (the fault point); evt_0..4 are
    // processed and marked, evt_5..9 are stored (200 = durable) but not processed.
    let mut run1 = spawn_child(&dir, Some("evt_5")).await;
    for id in &ids {
        deliver(run1.addr, id).await;
    }
    wait_for(&mut run1.lines, "BLOCKED evt_5").await;
    run1.child.kill().await.unwrap(); // SIGKILL
    let (total, processed) = SqliteStore::count_events(dir.join("events.db")).unwrap();
    assert_eq!((total, processed), (10, 5));

    // Run 2: restart; redeliveries of stored events are no-ops; a new event flows.
    let mut run2 = spawn_child(&dir, None).await;
    assert!(deliver(run2.addr, "evt_3").await.contains("duplicate"));
    assert!(deliver(run2.addr, "evt_7").await.contains("duplicate"));
    assert!(!deliver(run2.addr, "evt_10").await.contains("duplicate"));
    wait_for(&mut run2.lines, "PROCESSED evt_10").await;
    run2.child.kill().await.unwrap();

    let log = std::fs::read_to_string(dir.join("processed.log")).unwrap();
    let got: Vec<&str> = log.lines().collect();
    let mut expected: Vec<String> = ids.clone();
    expected.push("evt_10".into());
    assert_eq!(got, expected, "each event processed exactly once, in order");
    let _ = std::fs::remove_dir_all(&dir);
}
