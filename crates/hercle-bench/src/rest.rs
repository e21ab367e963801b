//! `hercle-bench rest`: alternate `GetPairs` and `GetBalances` through the
//! hercle-rs client, decoding every answer into its type and checking it,
//! with `BENCH_CONCURRENCY` calls in flight; print one JSON line.

use crate::report::{ratio, var, write_latencies};
use crate::rusage::cpu_micros;
use hercle_rest::{Client, RetryPolicy};
use std::cell::RefCell;
use std::io::Write as _;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What the measured window collected.
#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    latencies: Vec<i64>,
}

pub(crate) fn main() -> Result<(), String> {
    let concurrency: usize = var("BENCH_CONCURRENCY", Some(1))?;
    let warmup = Duration::from_secs_f64(var("BENCH_WARMUP_S", Some(1.0))?);
    let duration = Duration::from_secs_f64(var("BENCH_DURATION_S", Some(5.0))?);
    let max_requests: u64 = var("BENCH_MAX_REQUESTS", Some(u64::MAX))?;
    let timeout = Duration::from_secs_f64(var("BENCH_TIMEOUT_S", Some(60.0))?);
    let lat_file: Option<String> = std::env::var("BENCH_LAT_FILE").ok();
    // One thread: the cheapest per request, and the contract compares CPU.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = Client::builder()
        .from_env()
        .retry(RetryPolicy::never())
        .pool_max_idle_per_host(concurrency.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let run = rt.block_on(async {
        tokio::time::timeout(
            timeout,
            run(client, concurrency.max(1), warmup, duration, max_requests),
        )
        .await
    });
    let (tally, measured, cpu) = match run {
        Ok(r) => r,
        Err(_) => {
            println!(
                "{{\"contestant\":\"hercle-rs\",\"kind\":\"rest\",\"concurrency\":{concurrency},\"error\":\"timeout\"}}"
            );
            return Err("timed out".into());
        }
    };
    if let Some(path) = lat_file {
        write_latencies(&path, &tally.latencies)?;
    }
    let us = u64::try_from(measured.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    let cpu_us = u64::try_from(cpu.as_micros()).unwrap_or(u64::MAX);
    println!(
        "{{\"contestant\":\"hercle-rs\",\"kind\":\"rest\",\"library\":\"hercle-rest {}\",\"runtime\":\"tokio current_thread\",\"concurrency\":{concurrency},\"requests\":{},\"errors\":{},\"duration_s\":{},\"req_per_s\":{},\"cpu_s\":{},\"cpu_us_per_req\":{},\"lat_samples\":{}}}",
        env!("CARGO_PKG_VERSION"),
        tally.requests,
        tally.errors,
        ratio(us, 1_000_000, 6),
        ratio(tally.requests.saturating_mul(1_000_000), us, 1),
        ratio(cpu_us, 1_000_000, 6),
        ratio(cpu_us, tally.requests, 2),
        tally.latencies.len()
    );
    let _ = std::io::stdout().flush();
    Ok(())
}

/// Runs the loop: warm-up, then the measured window; returns the tally,
/// the measured wall time and the process CPU over that window.
async fn run(
    client: Client,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    max_requests: u64,
) -> (Tally, Duration, Duration) {
    let start = Instant::now();
    let measure_from = start + warmup;
    let stop_at = measure_from + duration;
    let tally = Rc::new(RefCell::new(Tally::default()));
    let cpu_start = Rc::new(RefCell::new(None::<(Instant, u64)>));
    let local = tokio::task::LocalSet::new();
    for worker in 0..concurrency {
        let (client, tally, cpu_start) = (client.clone(), Rc::clone(&tally), Rc::clone(&cpu_start));
        local.spawn_local(async move {
            let mut i = worker;
            loop {
                let now = Instant::now();
                if now >= stop_at || tally.borrow().requests >= max_requests {
                    break;
                }
                let counted = now >= measure_from;
                if counted && cpu_start.borrow().is_none() {
                    *cpu_start.borrow_mut() = Some((now, cpu_micros()));
                }
                let t0 = Instant::now();
                let ok = if i % 2 == 0 {
                    matches!(client.get_pairs().await, Ok(p) if p.first().is_some_and(|p| p.name == "BTCUSDT"))
                } else {
                    matches!(client.get_balances().await, Ok(b) if b.first().is_some_and(|b| b.user_id.is_some() && b.assets.as_ref().is_some_and(|a| a.len() == 2)))
                };
                let latency = t0.elapsed();
                i += 1;
                if counted {
                    let mut t = tally.borrow_mut();
                    t.requests += 1;
                    if !ok {
                        t.errors += 1;
                    }
                    t.latencies.push(i64::try_from(latency.as_nanos()).unwrap_or(i64::MAX));
                }
            }
        });
    }
    local.await;
    let end = Instant::now();
    let cpu_end = cpu_micros();
    let (t0, c0) = cpu_start.borrow().unwrap_or((end, cpu_end));
    let tally = Rc::try_unwrap(tally)
        .map(RefCell::into_inner)
        .unwrap_or_default();
    (
        tally,
        end.duration_since(t0),
        Duration::from_micros(cpu_end.saturating_sub(c0)),
    )
}
