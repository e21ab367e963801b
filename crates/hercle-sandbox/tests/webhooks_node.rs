//! The docs' Node (Express) webhook sample, as written, verifies the
//! sandbox's deliveries with the public key the sandbox exports.
//!
//! Needs `node` and `npm`; installs the sample's one dependency (express) on
//! first run. The sample is shared with the webhook benchmark
//! (`crates/hercle-webhooks/bench-peers/node/server.js`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hercle_sandbox::{Config, Sandbox};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hercle-webhooks/bench-peers/node")
}

async fn ensure_express() {
    let dir = sample_dir();
    if dir.join("node_modules/express").is_dir() {
        return;
    }
    let status = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status(),
    )
    .await
    .expect("npm install within 5 minutes")
    .expect("npm runs");
    assert!(status.success(), "npm install failed in {}", dir.display());
}

#[tokio::test]
async fn the_docs_express_sample_accepts_every_delivery() {
    ensure_express().await;
    let dir = tempdir();
    let sandbox_key = {
        // Only to export the public key before the receiver exists.
        let probe = Sandbox::start(Config::default()).await.unwrap();
        probe.webhook_public_key_pem()
    };
    let key_path = dir.join("hercle-public.pem");
    std::fs::write(&key_path, sandbox_key).unwrap();

    let mut node = Command::new("node")
        .arg("server.js")
        .current_dir(sample_dir())
        .env("PUBLIC_KEY_PATH", &key_path)
        .env("PORT", "0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(node.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(addr) = line.strip_prefix("READY ") {
                return addr.to_owned();
            }
        }
        panic!("the sample exited before listening");
    })
    .await
    .expect("the sample listens within 30 s");

    let config = Config {
        webhook_urls: vec![format!("http://{addr}/webhooks/hercle")],
        webhook_poll: Duration::from_millis(20),
        ..Config::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let mut changes = sandbox.watch_webhook_deliveries();
    for amount in ["1.5", "0.00000001", "2"] {
        sandbox.deposit("sandbox-key", "BTC", amount.parse().unwrap());
    }
    let deliveries = loop {
        let log = sandbox.webhook_deliveries();
        if log.len() >= 3 {
            break log;
        }
        tokio::time::timeout(Duration::from_secs(20), changes.changed())
            .await
            .expect("deliveries within 20 s")
            .unwrap();
    };
    for d in &deliveries {
        assert_eq!(d.status, Some(200), "the docs' sample rejected {d:?}");
        assert_eq!(d.attempt, 1);
    }
    let _ = node.kill().await;
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hercle-sandbox-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
