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
pub(crate) const PAIR: &str = "BTCUSDT";
pub(crate) const SIZE: &str = "0.01";
/// Updates the stream may hold before the reader is told it lagged.
const BUFFER: usize = 65_536;

/// What a run collected.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) received: u64,
    pub(crate) errors: u64,
    latencies: Vec<i64>,
    /// Monotonic ns and CPU µs at the first and the last message.
    first: (i64, u64),
    last: (i64, u64),
    warmup: u64,
}

impl Tally {
    pub(crate) fn new(count: u64, warmup: u64) -> Tally {
        Tally {
            latencies: Vec::with_capacity(
                usize::try_from(count.saturating_sub(warmup)).unwrap_or(0),
            ),
            warmup,
            ..Tally::default()
        }
    }

    /// One update in the application's hands at `now`, stamped `sent` by
    /// the hub (`None`: no readable stamp, an error).
    pub(crate) fn update(&mut self, now: i64, sent: Option<i64>) {
        if self.received == 0 {
            self.first = (now, cpu_micros());
        }
        self.received += 1;
        match sent {
            Some(sent) if self.received > self.warmup => self.latencies.push(now - sent),
            Some(_) => {}
            None => self.errors += 1,
        }
    }

    /// The run is over: the last figures.
    pub(crate) fn stop(&mut self) {
        self.last = (monotonic_ns(), cpu_micros());
    }
}

/// The contract's settings.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) url: String,
    pub(crate) key: String,
    pub(crate) count: u64,
    pub(crate) warmup: u64,
    pub(crate) timeout: Duration,
    lat_file: Option<String>,
}

impl Settings {
    pub(crate) fn from_env() -> Result<Settings, String> {
        Ok(Settings {
            url: var("HERCLE_HUB_URL", None)?,
            key: var("HERCLE_API_KEY", Some(String::new()))?,
            count: var("BENCH_COUNT", Some(100_000))?,
            warmup: var("BENCH_WARMUP", Some(0))?,
            timeout: Duration::from_secs(var("BENCH_TIMEOUT_S", Some(60))?),
            lat_file: std::env::var("BENCH_LAT_FILE").ok(),
        })
    }
}

pub(crate) fn main() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // The application is a task, not `block_on`'s own future: on a
    // current-thread runtime every wake of that future costs an extra
    // non-blocking poll of the driver (an `epoll_wait`) before the thread
    // parks, which doubled the CPU per update at 5,000/s. See the
    // `hercle_hub` docs, "Running on a current-thread runtime".
    let (timeout, s) = (settings.timeout, settings.clone());
    let app = rt.spawn(async move { tokio::time::timeout(timeout, run(s)).await });
    let outcome = match rt.block_on(app) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => Err("timeout".to_owned()),
        Err(e) => Err(format!("the application task failed: {e}")),
    };
    let library = concat!("hercle-hub ", env!("CARGO_PKG_VERSION"));
    report(
        "hercle-rs",
        library,
        "tokio current_thread",
        &settings,
        outcome,
    )
}

/// Prints the contract's result line (or its failure line and a non-zero
/// exit) and writes the latency file.
pub(crate) fn report(
    contestant: &str,
    library: &str,
    runtime: &str,
    settings: &Settings,
    outcome: Result<Tally, String>,
) -> Result<(), String> {
    let expected = settings.count;
    let tally = match outcome {
        Ok(t) => t,
        Err(why) => {
            let why = why.replace(['"', '\\'], "'");
            println!(
                "{{\"contestant\":\"{contestant}\",\"kind\":\"signalr\",\"expected\":{expected},\"error\":\"{why}\"}}"
            );
            let _ = std::io::stdout().flush();
            return Err(format!("hercle-bench {contestant}: {why}"));
        }
    };
    if let Some(path) = &settings.lat_file {
        write_latencies(path, &tally.latencies)?;
    }
    let ns = u64::try_from(tally.last.0.saturating_sub(tally.first.0))
        .unwrap_or(0)
        .max(1);
    let cpu_us = tally.last.1.saturating_sub(tally.first.1);
    println!(
        "{{\"contestant\":\"{contestant}\",\"kind\":\"signalr\",\"library\":\"{library}\",\"runtime\":\"{runtime}\",\"expected\":{expected},\"received\":{},\"errors\":{},\"first_to_last_s\":{},\"msgs_per_s\":{},\"cpu_s\":{},\"cpu_s_per_million\":{},\"lat_samples\":{}}}",
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
    let mut t = Tally::new(s.count, s.warmup);
    while t.received < s.count {
        match prices.recv().await {
            Some(Update::Item(quote)) => {
                let sent = quote.timestamp.as_ref().and_then(Timestamp::unix_millis);
                t.update(monotonic_ns(), sent);
                if !usable(&quote) {
                    t.errors += 1;
                }
            }
            // Updates the stream dropped: each one is an error.
            Some(Update::Lagged { missed }) => t.errors += missed,
            Some(Update::Gap) => t.errors += 1,
            Some(Update::Rejected(why)) => return Err(format!("subscription refused: {why}")),
            None => return Err(format!("stream ended after {} updates", t.received)),
        }
    }
    t.stop();
    drop(prices);
    hub.close().await;
    Ok(t)
}
