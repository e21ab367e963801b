//! Interop: the client against a SignalR server nobody here wrote, PyPI
//! `aiosignalr` 0.1.1, hosting a small HercleX-like hub
//! (`interop/python/hercle_hub_server.py`). aiosignalr sends its JSON
//! records in binary WebSocket frames, which the client must accept.
//!
//! The peer is installed by `.ci/run` into `interop/python/.deps`; when it
//! is missing this test FAILS (it never passes by skipping).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use hercle_hub::{DeliveryPolicy, HubBuilder, HubError, Refusal, Update};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/python")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_flow_against_an_aiosignalr_hub() {
    let deps = dir().join(".deps");
    assert!(
        deps.join("aiosignalr").is_dir(),
        "aiosignalr is not installed in {}: run `python3 -m pip install --target {} -r {}` (.ci/run does)",
        deps.display(),
        deps.display(),
        dir().join("requirements.txt").display()
    );
    let mut child = tokio::process::Command::new("python3")
        .arg(dir().join("hercle_hub_server.py"))
        .env("PYTHONPATH", &deps)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = timeout(WAIT, lines.next_line())
        .await
        .expect("the peer starts in time")
        .unwrap()
        .expect("the peer printed its port");
    let port: u16 = line.strip_prefix("LISTENING ").unwrap().parse().unwrap();
    let base = format!("http://127.0.0.1:{port}");

    let (hub, _events) = timeout(WAIT, HubBuilder::for_base_url(&base).api_key("k").connect())
        .await
        .unwrap()
        .unwrap();
    let pairs = hub.get_pairs(&[]).await.unwrap();
    let first = &pairs.first().unwrap();
    assert_eq!(first.name, "BTCUSDT");
    let size = first.min_size.unwrap();
    assert_eq!(size.to_string(), "0.0001");
    let mut prices = hub
        .subscribe_prices("BTCUSDT", size, DeliveryPolicy::Buffered { capacity: 64 })
        .await
        .unwrap();
    let mut last = None;
    for n in 1..=5u64 {
        let Some(Update::Item(q)) = timeout(WAIT, prices.next()).await.unwrap() else {
            panic!("price update {n}")
        };
        assert!(q.id.ends_with(&format!("{n:012x}")), "{q:?}");
        last = Some(q);
    }
    let price_id = last.unwrap().id;
    let trade = hub
        .place_otc_order(&[
            price_id.into(),
            "buy".into(),
            "0.5".parse::<hercle_hub::Decimal>().unwrap().into(),
        ])
        .await
        .unwrap();
    assert_eq!(trade.status, hercle_models::OrderStatus::Executed);
    let err = hub
        .place_otc_order(&[
            "nope".into(),
            "buy".into(),
            "0.5".parse::<hercle_hub::Decimal>().unwrap().into(),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HubError::Refused {
                refusal: Refusal::PreChecks { .. },
                ..
            }
        ),
        "{err}"
    );
    let balances = hub.get_balances(&[]).await.unwrap();
    let btc = &balances.assets.unwrap()[0];
    // Exact to the last digit through a Python server.
    assert!(
        format!("{btc:?}").contains("10.123456789012345678"),
        "{btc:?}"
    );
    drop(prices);
    hub.close().await;
    assert_eq!(
        hub.stats().await.map(|s| s.malformed),
        None,
        "session ended after close"
    );
}
