//! `hercle-bench signalr`: the hercle-rs hub client receiving a price feed,
//! as the contract's SignalR suite asks (shared/reference/bench-contract.md).
//!
//! It connects the way an application would, through
//! [`hercle_hub::HubBuilder`]: negotiate, WebSocket, JSON hub protocol, the
//! key as a Bearer token. It subscribes with
//! [`subscribe_prices`](hercle_hub::HubClient::subscribe_prices) (one array
//! argument `[clientId, "BTCUSDT", 0.01]`) and reads `BENCH_COUNT` typed
//! updates from the stream, every update kept (a bounded buffer: a lag
//! would show as errors, never silently). The hub client decodes each record
//! (envelope, `subject`, the `data` string, exact decimals) before the
//! application sees it, so latency is taken where the application holds the
//! typed [`PriceQuote`](hercle_models::PriceQuote): the CLOCK_MONOTONIC time
//! then minus `data.timestamp`, the hub's CLOCK_MONOTONIC nanoseconds (an
//! integer, which the models keep as received: [`Timestamp::unix_millis`]
//! hands back the number whatever unit it is in).
//!
//! One tokio current-thread runtime: the session driver and the application
//! share one core, the cheapest way to run it and the one the CPU figure
//! is about.

use std::io::Write as _;
use std::time::Duration;

use hercle_hub::{DeliveryPolicy, HubBuilder, Update};
use hercle_models::{PriceQuote, Timestamp};

use crate::report::{ratio, var, write_latencies};
use crate::rusage::{cpu_micros, monotonic_ns};

/// The pair and size the contract subscribes to.
const PAIR: &str = "BTCUSDT";
const SIZE: &str = "0.01";
/// Updates the stream may hold before the reader is told it lagged.
const BUFFER: usize = 65_536;

/// What a run collected.
#[derive(Debug, Default)]
struct Tally {
    received: u64,
    errors: u64,
    latencies: Vec<i64>,
    /// Monotonic ns and CPU µs at the first and the last message.
    first: (i64, u64),
    last: (i64, u64),
}

/// The contract's settings.
struct Settings {
    url: String,
    key: String,
    count: u64,
    warmup: u64,
}

pub(crate) fn main() -> Result<(), String> {
    let settings = Settings {
        url: var("HERCLE_HUB_URL", None)?,
        key: var("HERCLE_API_KEY", Some(String::new()))?,
        count: var("BENCH_COUNT", Some(100_000))?,
        warmup: var("BENCH_WARMUP", Some(0))?,
    };
    let timeout = Duration::from_secs(var("BENCH_TIMEOUT_S", Some(60))?);
    let lat_file: Option<String> = std::env::var("BENCH_LAT_FILE").ok();
    let expected = settings.count;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let outcome = rt.block_on(async { tokio::time::timeout(timeout, run(settings)).await });
    let tally = match outcome {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return fail(expected, &e),
        Err(_) => return fail(expected, "timeout"),
    };
    if let Some(path) = lat_file {
        write_latencies(&path, &tally.latencies)?;
    }
    let ns = u64::try_from(tally.last.0.saturating_sub(tally.first.0))
        .unwrap_or(0)
        .max(1);
    let cpu_us = tally.last.1.saturating_sub(tally.first.1);
    println!(
        "{{\"contestant\":\"hercle-rs\",\"kind\":\"signalr\",\"library\":\"hercle-hub {}\",\"runtime\":\"tokio current_thread\",\"expected\":{expected},\"received\":{},\"errors\":{},\"first_to_last_s\":{},\"msgs_per_s\":{},\"cpu_s\":{},\"cpu_s_per_million\":{},\"lat_samples\":{}}}",
        env!("CARGO_PKG_VERSION"),
        tally.received,
        tally.errors,
        ratio(ns, 1_000_000_000, 6),
        ratio(
            tally
                .received
                .saturating_sub(1)
                .saturating_mul(1_000_000_000),
            ns,
            1
        ),
        ratio(cpu_us, 1_000_000, 6),
        ratio(cpu_us, tally.received.saturating_sub(1), 3),
        tally.latencies.len()
    );
    let _ = std::io::stdout().flush();
    Ok(())
}

/// The contract's failure line, and a non-zero exit.
fn fail(expected: u64, why: &str) -> Result<(), String> {
    let why = why.replace(['"', '\\'], "'");
    println!(
        "{{\"contestant\":\"hercle-rs\",\"kind\":\"signalr\",\"expected\":{expected},\"error\":\"{why}\"}}"
    );
    let _ = std::io::stdout().flush();
    Err(format!("hercle-bench signalr: {why}"))
}

/// What the guide's handler checks and uses: the fields of the update.
fn usable(q: &PriceQuote) -> bool {
    q.pair == PAIR
        && !q.id.is_empty()
        && !q.buy_price.is_zero()
        && q.sell_price.is_some()
        && q.mark_price.is_some()
}

async fn run(s: Settings) -> Result<Tally, String> {
    let size = SIZE.parse().map_err(|e| format!("size: {e}"))?;
    let (hub, _events) = HubBuilder::new(&s.url)
        .api_key(s.key)
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut prices = hub
        .subscribe_prices(PAIR, size, DeliveryPolicy::Buffered { capacity: BUFFER })
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let mut t = Tally {
        latencies: Vec::with_capacity(
            usize::try_from(s.count.saturating_sub(s.warmup)).unwrap_or(0),
        ),
        ..Tally::default()
    };
    while t.received < s.count {
        match prices.recv().await {
            Some(Update::Item(quote)) => {
                let now = monotonic_ns();
                if t.received == 0 {
                    t.first = (now, cpu_micros());
                }
                t.received += 1;
                if !usable(&quote) {
                    t.errors += 1;
                }
                let sent = quote.timestamp.as_ref().and_then(Timestamp::unix_millis);
                match sent {
                    Some(sent) if t.received > s.warmup => t.latencies.push(now - sent),
                    Some(_) => {}
                    None => t.errors += 1,
                }
            }
            // Updates the stream dropped: each one is an error.
            Some(Update::Lagged { missed }) => t.errors += missed,
            Some(Update::Gap) => t.errors += 1,
            Some(Update::Rejected(why)) => return Err(format!("subscription refused: {why}")),
            None => return Err(format!("stream ended after {} updates", t.received)),
        }
    }
    t.last = (monotonic_ns(), cpu_micros());
    drop(prices);
    hub.close().await;
    Ok(t)
}
