//! `watch --simulate`: each venue's events as NDJSON, money as strings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use clap::Parser;
use serde_json::Value;
use venue_adapters::cli::{VenueName, VenueWatchArgs, WatchError, watch};

#[derive(Parser)]
struct Cmd {
    #[arg(value_enum)]
    venue: VenueName,
    #[command(flatten)]
    args: VenueWatchArgs,
}

async fn run(argv: &[&str]) -> Result<Vec<Value>, WatchError> {
    let cmd = Cmd::try_parse_from(std::iter::once("watch").chain(argv.iter().copied())).unwrap();
    let mut out = Vec::new();
    watch(cmd.venue, cmd.args, &mut out).await?;
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with('\n'));
    Ok(text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect())
}

fn events(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["kind"] == "event").collect()
}

#[tokio::test(start_paused = true)]
async fn whitebit_prices_and_balances_stream_as_ndjson() {
    let lines = run(&[
        "whitebit",
        "--simulate",
        "-s",
        "lastprice:BTC_USDT",
        "-s",
        "balanceSpot:USDT",
        "--count",
        "6",
    ])
    .await
    .unwrap();
    let ev = events(&lines);
    assert_eq!(ev.len(), 6);
    for l in &ev {
        assert_eq!(l["venue"], "whitebit");
        let e = &l["event"];
        match e["event"].as_str().unwrap() {
            "last_price" => {
                assert_eq!(l["topic"], "lastprice:BTC_USDT");
                let p = e["price"].as_str().expect("price is a string");
                assert!(p.starts_with("10") && p.contains('.'), "{p}");
            }
            "balance_spot" => {
                assert_eq!(l["topic"], "balanceSpot:USDT");
                assert_eq!(e["freeze"], "0.000000001");
                assert!(e["available"].is_string());
            }
            other => panic!("{other}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn hibachi_account_events_stream_as_ndjson() {
    let lines = run(&["hibachi", "--simulate", "--count", "25"])
        .await
        .unwrap();
    let ev = events(&lines);
    assert_eq!(ev.len(), 25);
    assert_eq!(ev[0]["event"]["event"], "snapshot");
    assert_eq!(ev[0]["event"]["data"]["balance"], "910.997790");
    let funding = ev
        .iter()
        .find(|l| l["event"]["event"] == "funding_settlement")
        .expect("seed events");
    assert_eq!(
        funding["event"]["data"]["settledAmount"],
        "0.8618780736305764"
    );
    let deposit = ev
        .iter()
        .find(|l| l["event"]["event"] == "deposit_status_update")
        .unwrap();
    assert_eq!(deposit["event"]["data"]["depositQuantity"], "1234");
}

#[tokio::test(start_paused = true)]
async fn allenhark_prices_stream_and_the_duration_bounds_the_watch() {
    let lines = run(&[
        "allenhark",
        "--simulate",
        "-s",
        "price:MintA",
        "-s",
        "bot:b1",
        "--duration",
        "1s",
    ])
    .await
    .unwrap();
    let ev = events(&lines);
    assert!(ev.len() >= 6, "{lines:?}");
    let price = ev.iter().find(|l| l["topic"] == "price:MintA").unwrap();
    assert!(
        price["event"]["price"]
            .as_str()
            .unwrap()
            .starts_with("1.000")
    );
    let bot = ev.iter().find(|l| l["topic"] == "bot:b1").unwrap();
    assert!(
        bot["event"]["data"]["profit"]
            .as_str()
            .unwrap()
            .starts_with("0.0")
    );
}

#[test]
fn credentials_stay_out_of_debug() {
    let cmd = Cmd::try_parse_from([
        "watch",
        "hibachi",
        "--api-key",
        "hush-key",
        "--account-id",
        "1",
        "--token",
        "hush-token",
    ])
    .unwrap();
    let shown = format!("{:?}", cmd.args);
    assert!(!shown.contains("hush"), "{shown}");
}

#[tokio::test(start_paused = true)]
async fn bad_topics_and_missing_credentials_are_clear_errors() {
    match run(&["hibachi", "-s", "orders:x", "--simulate"]).await {
        Err(WatchError::Args(m)) => assert!(m.contains("orders:x"), "{m}"),
        other => panic!("{other:?}"),
    }
    match run(&["allenhark"]).await {
        Err(WatchError::Args(m)) => assert!(m.contains("--api-key"), "{m}"),
        other => panic!("{other:?}"),
    }
}
