//! The hub end to end: connect, GetPairs, subscribe to the first pair at its
//! minimum size, 5 price updates, an order from the last price id,
//! GetBalances, unsubscribe, close. One line per step; exits non-zero on the
//! first failure.
//!
//! ```text
//! HERCLE_BASE_URL=http://127.0.0.1:8080 HERCLE_API_KEY=sandbox-key \
//!     cargo run -p hercle-hub --example hub_flow
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use hercle_hub::{DeliveryPolicy, HubBuilder, Update};

type Failure = Box<dyn std::error::Error>;

fn env(name: &str) -> Result<String, Failure> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

async fn flow() -> Result<(), Failure> {
    let base = env("HERCLE_BASE_URL")?;
    let key = env("HERCLE_API_KEY")?;
    let (hub, _events) = HubBuilder::for_base_url(&base)
        .api_key(key)
        .connect()
        .await?;
    println!("connect: ok");

    let pairs = hub.get_pairs(&[]).await?;
    let first = pairs.first().ok_or("GetPairs returned no pair")?;
    let pair = first.name.clone();
    let size = first.min_size.ok_or("first pair has no minSize")?;
    println!(
        "GetPairs: {} pairs, first {pair} (min size {size})",
        pairs.len()
    );

    let mut prices = hub
        .subscribe_prices(&pair, size, DeliveryPolicy::Buffered { capacity: 64 })
        .await?;
    println!("subscribe: {pair} at {size}");

    let mut last = None;
    let mut received = 0;
    while received < 5 {
        let update = tokio::time::timeout(Duration::from_secs(30), prices.next())
            .await
            .map_err(|_| "no price update within 30 s")?
            .ok_or("the price stream ended")?;
        match update {
            Update::Item(q) => {
                received += 1;
                println!(
                    "price {received}: id {} buy {} sell {}",
                    q.id,
                    q.buy_price,
                    q.sell_price.map_or_else(|| "?".into(), |d| d.to_string()),
                );
                last = Some(q);
            }
            Update::Rejected(r) => return Err(format!("subscription refused: {r}").into()),
            Update::Gap | Update::Lagged { .. } => {}
        }
    }
    let price_id = last.map(|q| q.id).ok_or("no price update")?;

    let order = hub
        .place_otc_order(&[
            price_id.clone().into(),
            "buy".into(),
            "0.5".parse::<hercle_hub::Decimal>()?.into(),
        ])
        .await?;
    println!(
        "PlaceOtcOrder: price {price_id}, trade {} status {:?}",
        order.trade_id.as_deref().unwrap_or("?"),
        order.status
    );

    let balances = hub.get_balances(&[]).await?;
    println!(
        "GetBalances: {} assets",
        balances.assets.as_ref().map_or(0, Vec::len)
    );

    drop(prices);
    println!("unsubscribe: {pair} at {size}");
    hub.close().await;
    println!("close: ok");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match flow().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub_flow failed: {e}");
            ExitCode::FAILURE
        }
    }
}
