//! Load test of the sandbox hub: N WebSocket hub connections (default
//! 1000), most subscribed to a price stream (1 update/s), a few left idle so
//! that the server's keep-alive Pings are exercised too; runs for a bounded
//! time and reports what each connection saw plus the process's memory and
//! CPU.
//!
//! ```text
//! ulimit -n 4096   # two sockets per connection when the sandbox is in-process
//! cargo run --release -p hercle-sandbox --example hub_load -- \
//!     [--connections 1000] [--duration 60] [--idle-percent 10] \
//!     [--url http://127.0.0.1:5080 --server-pid PID] [--key sandbox-key]
//! ```
//!
//! Without `--url` the sandbox runs in this process (default config), so
//! RSS and CPU cover server and clients together; with `--url` and
//! `--server-pid` the server's own figures are read from `/proc/PID`.
//!
//! What is measured per connection:
//! * updates received vs expected: one at subscription, then one per
//!   `price_interval` (1 s) until the end;
//! * the longest silence from the server, and "missed keep-alives": gaps
//!   longer than keep-alive (15 s) + 2 s. The server pings only after 15 s
//!   of *send* silence, so a subscribed connection normally gets no Ping at
//!   all (its updates keep the line busy); idle connections get one every
//!   15 s. Either way a gap above 17 s means the server neither sent data
//!   nor pinged in time;
//! * drops: connections that ended before the run did.
//!
//! The clients behave like the official ones: negotiate v1, bearer header on
//! the upgrade, handshake, and a Ping every 15 s of their own send-silence.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use futures_util::{SinkExt, StreamExt};
use hercle_sandbox::{Config, Sandbox};
use signalr_proto::{Decoder, HandshakeRequest, HubMessage, encode};
use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type BoxError = Box<dyn Error + Send + Sync>;

const HUB: &str = "/ExecutionLiveServer/v1";
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const GAP_MARGIN: Duration = Duration::from_secs(2);
const PRICE_INTERVAL: Duration = Duration::from_secs(1);
/// Connections being set up at once.
const CONNECT_CONCURRENCY: usize = 64;

struct Options {
    connections: usize,
    duration: Duration,
    idle_percent: usize,
    url: Option<String>,
    server_pid: Option<u32>,
    key: String,
}

fn options() -> Result<Options, BoxError> {
    let mut o = Options {
        connections: 1000,
        duration: Duration::from_secs(60),
        idle_percent: 10,
        url: None,
        server_pid: None,
        key: "sandbox-key".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--connections" => o.connections = value()?.parse()?,
            "--duration" => o.duration = Duration::from_secs(value()?.parse()?),
            "--idle-percent" => o.idle_percent = value()?.parse::<usize>()?.min(100),
            "--url" => o.url = Some(value()?),
            "--server-pid" => o.server_pid = Some(value()?.parse()?),
            "--key" => o.key = value()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(o)
}

/// What one connection saw.
#[derive(Default)]
struct ConnStats {
    established: bool,
    dropped: bool,
    subscribed: bool,
    updates: u64,
    expected_updates: u64,
    pings: u64,
    max_gap: Duration,
    missed_keep_alives: u64,
}

/// Memory and CPU of a process from /proc.
struct ProcSample {
    rss_kib: u64,
    cpu_ticks: u64,
    at: Instant,
}

fn proc_sample(pid: &str) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, i.e. the 12th and 13th after it.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(ProcSample {
        rss_kib,
        cpu_ticks: utime + stime,
        at: Instant::now(),
    })
}

/// The soft limit on open files, from /proc/self/limits.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

async fn negotiate(addr: SocketAddr, key: &str) -> Result<String, BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    let req = format!(
        "POST {HUB}/negotiate?negotiateVersion=1 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or("no HTTP body")?;
    let v: serde_json::Value = serde_json::from_str(body)?;
    Ok(v.get("connectionToken")
        .and_then(|t| t.as_str())
        .ok_or("no connectionToken")?
        .to_owned())
}

/// One connection, from negotiate to the end of the run.
async fn connection(
    addr: SocketAddr,
    key: Arc<str>,
    index: usize,
    subscribe: bool,
    gate: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<()>,
    end: Instant,
) -> ConnStats {
    let mut stats = ConnStats {
        subscribed: subscribe,
        ..ConnStats::default()
    };
    let setup = async {
        let _permit = gate.acquire().await?;
        let token = negotiate(addr, &key).await?;
        let mut req = format!("ws://{addr}{HUB}?id={token}").into_client_request()?;
        req.headers_mut()
            .insert("Authorization", format!("Bearer {key}").parse()?);
        let (mut ws, _) =
            tokio_tungstenite::client_async(req, TcpStream::connect(addr).await?).await?;
        let mut out = Vec::new();
        encode::handshake_request(&mut out, &HandshakeRequest::json());
        if subscribe {
            let args = serde_json::json!([[format!("load-{index}"), "BTCUSDT", 0.01]]);
            encode::invocation(&mut out, Some("1"), "SubscribePairPriceChannel", &args)?;
        }
        ws.send(Message::text(String::from_utf8(out)?)).await?;
        Ok::<_, BoxError>(ws)
    };
    let setup = timeout(Duration::from_secs(30), setup).await;
    // Counted whatever the outcome, so the main task knows setup is over.
    let _ = ready.send(());
    let mut ws = match setup {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            eprintln!("connection {index}: {e}");
            return stats;
        }
        Err(_) => {
            eprintln!("connection {index}: setup timed out");
            return stats;
        }
    };
    stats.established = true;
    let mut dec = Decoder::new();
    let mut handshaken = false;
    let mut last_recv = Instant::now();
    let mut last_sent = Instant::now();
    let mut first_update: Option<Instant> = None;
    loop {
        let ping_at = last_sent + KEEP_ALIVE;
        tokio::select! {
            () = sleep_until(end) => break,
            () = sleep_until(ping_at) => {
                let mut out = Vec::new();
                encode::ping(&mut out);
                let Ok(text) = String::from_utf8(out) else { break };
                if ws.send(Message::text(text)).await.is_err() {
                    stats.dropped = true;
                    break;
                }
                last_sent = Instant::now();
            }
            frame = ws.next() => {
                let bytes = match frame {
                    Some(Ok(Message::Text(t))) => bytes::Bytes::from(t),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    _ => {
                        stats.dropped = true;
                        break;
                    }
                };
                let now = Instant::now();
                let gap = now.duration_since(last_recv);
                stats.max_gap = stats.max_gap.max(gap);
                if gap > KEEP_ALIVE + GAP_MARGIN {
                    stats.missed_keep_alives += 1;
                }
                last_recv = now;
                dec.push(&bytes);
                if !handshaken {
                    match dec.next_handshake_response() {
                        Ok(Some(r)) if r.error.is_none() => handshaken = true,
                        Ok(None) => continue,
                        _ => {
                            stats.dropped = true;
                            break;
                        }
                    }
                }
                let mut closed = false;
                while let Ok(Some(msg)) = dec.next_message() {
                    match msg {
                        HubMessage::Ping => stats.pings += 1,
                        HubMessage::Invocation(inv) if inv.target == "subscriptions" => {
                            stats.updates += 1;
                            first_update.get_or_insert(now);
                        }
                        HubMessage::Close(_) => closed = true,
                        _ => {}
                    }
                }
                if closed {
                    stats.dropped = true;
                    break;
                }
            }
        }
    }
    // From the first update on: one at once, then one per interval.
    if let Some(first) = first_update {
        let span = Instant::now().min(end).duration_since(first);
        stats.expected_updates = 1 + span.as_secs() / PRICE_INTERVAL.as_secs().max(1);
    } else if subscribe {
        stats.expected_updates = 1;
    }
    // Tail silence counts too: a connection that went quiet at the end.
    let tail = Instant::now().duration_since(last_recv);
    stats.max_gap = stats.max_gap.max(tail);
    if tail > KEEP_ALIVE + GAP_MARGIN {
        stats.missed_keep_alives += 1;
    }
    let _ = timeout(Duration::from_secs(2), ws.close(None)).await;
    stats
}

fn main() -> Result<(), BoxError> {
    let opts = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(opts))
}

async fn run(opts: Options) -> Result<(), BoxError> {
    let in_process = opts.url.is_none();
    let needed_fds = opts.connections as u64 * if in_process { 2 } else { 1 } + 100;
    if let Some(limit) = open_files_limit()
        && limit < needed_fds
    {
        return Err(
            format!("open-file limit {limit} < {needed_fds}: run `ulimit -n 4096` first").into(),
        );
    }
    let (sandbox, addr) = match &opts.url {
        None => {
            let sb = Sandbox::start(Config::default()).await?;
            let addr = sb.addr();
            (Some(sb), addr)
        }
        Some(url) => {
            let hostport = url.trim_start_matches("http://").trim_end_matches('/');
            let addr: SocketAddr = hostport.parse()?;
            (None, addr)
        }
    };
    let server_pid = match (in_process, opts.server_pid) {
        (true, _) => Some("self".to_owned()),
        (false, Some(pid)) => Some(pid.to_string()),
        (false, None) => None,
    };
    let sample = || server_pid.as_deref().and_then(proc_sample);
    let before = sample();
    let client_before = proc_sample("self");
    let started = Instant::now();
    let end = started + opts.duration;
    let idle_every = if opts.idle_percent == 0 {
        usize::MAX
    } else {
        100 / opts.idle_percent.max(1)
    };
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let key: Arc<str> = Arc::from(opts.key.as_str());
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let tasks: Vec<_> = (0..opts.connections)
        .map(|i| {
            let subscribe = idle_every == usize::MAX || i % idle_every != 0;
            tokio::spawn(connection(
                addr,
                Arc::clone(&key),
                i,
                subscribe,
                Arc::clone(&gate),
                ready_tx.clone(),
                end,
            ))
        })
        .collect();
    drop(ready_tx);
    // Wait until every connection had its chance to connect, then sample
    // memory with all of them open and streaming.
    for _ in 0..opts.connections {
        if timeout(
            end.saturating_duration_since(Instant::now()),
            ready_rx.recv(),
        )
        .await
        .is_err()
        {
            break;
        }
    }
    let established_after = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5).min(opts.duration / 4)).await;
    let steady = sample();
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.unwrap_or_default());
    }
    let after = sample();
    let client_after = proc_sample("self");
    drop(sandbox);
    report(
        &opts,
        in_process,
        established_after,
        &results,
        before,
        steady,
        after,
        client_before,
        client_after,
    );
    Ok(())
}

#[allow(
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    clippy::too_many_arguments
)]
fn report(
    opts: &Options,
    in_process: bool,
    established_after: Duration,
    results: &[ConnStats],
    before: Option<ProcSample>,
    steady: Option<ProcSample>,
    after: Option<ProcSample>,
    client_before: Option<ProcSample>,
    client_after: Option<ProcSample>,
) {
    let n = results.len();
    let established = results.iter().filter(|r| r.established).count();
    let dropped = results.iter().filter(|r| r.dropped).count();
    let subscribed: Vec<&ConnStats> = results
        .iter()
        .filter(|r| r.established && r.subscribed)
        .collect();
    let idle: Vec<&ConnStats> = results
        .iter()
        .filter(|r| r.established && !r.subscribed)
        .collect();
    let updates: u64 = subscribed.iter().map(|r| r.updates).sum();
    let expected: u64 = subscribed.iter().map(|r| r.expected_updates).sum();
    let worst_ratio = subscribed
        .iter()
        .map(|r| r.updates as f64 / r.expected_updates.max(1) as f64)
        .fold(f64::INFINITY, f64::min);
    let missed: u64 = results.iter().map(|r| r.missed_keep_alives).sum();
    let conns_with_missed = results.iter().filter(|r| r.missed_keep_alives > 0).count();
    let max_gap = results.iter().map(|r| r.max_gap).max().unwrap_or_default();
    let pings_sub: u64 = subscribed.iter().map(|r| r.pings).sum();
    let pings_idle: u64 = idle.iter().map(|r| r.pings).sum();
    // A ping due exactly at the end of the run is not counted.
    let expected_idle_pings = opts.duration.as_secs().saturating_sub(1) / KEEP_ALIVE.as_secs();
    println!(
        "hub load test: {n} connections for {} s ({} subscribed, {} idle)",
        opts.duration.as_secs(),
        subscribed.len(),
        idle.len()
    );
    println!(
        "  established          {established}/{n} (all set up after {:.1} s)",
        established_after.as_secs_f64()
    );
    println!("  dropped              {dropped}");
    println!(
        "  price updates        {updates} received / {expected} expected ({:.2}%), worst connection {:.2}%",
        100.0 * updates as f64 / expected.max(1) as f64,
        100.0
            * if worst_ratio.is_finite() {
                worst_ratio
            } else {
                0.0
            }
    );
    println!(
        "  pings                subscribed: {pings_sub} in total (none expected: updates reset the keep-alive); idle: {:.2} per connection (expected {expected_idle_pings})",
        pings_idle as f64 / idle.len().max(1) as f64
    );
    println!(
        "  missed keep-alives   {missed} on {conns_with_missed} connections (gap > {} s); longest silence {:.1} s",
        (KEEP_ALIVE + GAP_MARGIN).as_secs(),
        max_gap.as_secs_f64()
    );
    let who = if in_process {
        "process (server + clients)"
    } else {
        "server process"
    };
    if let (Some(b), Some(s), Some(a)) = (&before, &steady, &after) {
        let per_conn = (s.rss_kib.saturating_sub(b.rss_kib)) as f64 / established.max(1) as f64;
        println!(
            "  RSS of {who}   {} MiB before, {} MiB with all connections, {} MiB at the end: {per_conn:.1} KiB per connection",
            b.rss_kib / 1024,
            s.rss_kib / 1024,
            a.rss_kib / 1024
        );
        // /proc times are in clock ticks of 1/100 s on Linux.
        let cpu_s = a.cpu_ticks.saturating_sub(s.cpu_ticks) as f64 / 100.0;
        let wall = a.at.duration_since(s.at).as_secs_f64();
        let total_cpu = a.cpu_ticks.saturating_sub(b.cpu_ticks) as f64 / 100.0;
        println!(
            "  CPU of {who}   {:.1}% of one core in steady state ({cpu_s:.1} s over {wall:.1} s); {total_cpu:.1} s in total incl. setup",
            100.0 * cpu_s / wall.max(0.001)
        );
    } else {
        println!("  (no --server-pid: server RSS/CPU not measured)");
    }
    if !in_process && let (Some(b), Some(a)) = (&client_before, &client_after) {
        println!(
            "  (load generator: RSS {} MiB, CPU {:.1} s)",
            a.rss_kib / 1024,
            a.cpu_ticks.saturating_sub(b.cpu_ticks) as f64 / 100.0
        );
    }
}
