//! A ready webhook receiver (what `hercle webhooks listen` wraps), used by the benchmark.
//!
//! `cargo run --release --example receiver -- --mode durable|durable-normal|verify-only|postgres \
//!     --public-key fixtures/webhooks/test-only-primary-public-spki.pem --db /tmp/w.db --port 0`
//! (`--pg "host=127.0.0.1 port=5432 user=postgres dbname=postgres"` for `postgres`).
//! Prints `READY <addr>` once listening.
#![allow(missing_docs, clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;

use hercle_webhooks::{
    Durability, NoStore, PgConfig, PgStore, Receiver, SqliteStore, StoredEvent, Verifier,
};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn noop(_e: StoredEvent) -> Result<(), hercle_webhooks::HandlerError> {
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = arg("--mode").unwrap_or_else(|| "durable".into());
    let key = arg("--public-key").ok_or("--public-key is required")?;
    let port = arg("--port").unwrap_or_else(|| "0".into());
    let db = arg("--db").unwrap_or_else(|| "webhooks.db".into());
    let threads: usize = arg("--threads").map_or(Ok(2), |t| t.parse())?;
    let verifier = Verifier::from_pems([std::fs::read_to_string(key)?.as_str()])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        let addr = listener.local_addr()?;
        let ready = move || {
            println!("READY {addr}");
            let _ = std::io::stdout().flush();
        };
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match mode.as_str() {
            "verify-only" => {
                let r = Receiver::new(verifier, NoStore);
                ready();
                r.serve(listener, noop, stop).await?;
            }
            "durable" | "durable-normal" => {
                let d = if mode == "durable" {
                    Durability::Full
                } else {
                    Durability::Normal
                };
                let r = Receiver::new(verifier, SqliteStore::open_with(&db, d)?);
                ready();
                r.serve(listener, noop, stop).await?;
            }
            "postgres" => {
                let conn = arg("--pg").ok_or("--pg is required for --mode postgres")?;
                let config = PgConfig {
                    connections: arg("--pg-connections").map_or(Ok(8), |n| n.parse())?,
                    ..PgConfig::default()
                };
                let r = Receiver::new(verifier, PgStore::connect(&conn, config).await?);
                ready();
                r.serve(listener, noop, stop).await?;
            }
            other => return Err(format!("unknown mode {other}").into()),
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
