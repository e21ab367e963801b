//! Bounded HTTP/1.1 load generator for the webhook benchmark.
//!
//! Pre-signs `--requests` distinct deliveries (unique `EventId`s, documented
//! double-hash scheme, current time), then sends them over `--concurrency`
//! keep-alive connections to `--url`, stopping at the request count or the
//! `--time-cap` seconds, whichever comes first. Prints one result line:
//! `RESULT <label> c=<c> ok=<n> non200=<n> rps=<r> p50_us=<p> p99_us=<p>`.
//!
//! `--raw-verify <secs>` instead measures ring's raw RSA-2048 verify rate on
//! one thread and on `--threads` threads (the ceiling).
#![allow(missing_docs, clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hercle_webhooks::{Signer, SigningKey};
use http_body_util::{BodyExt as _, Full};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

struct Prepared {
    ts: String,
    sig: String,
    id: String,
    body: Bytes,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = SigningKey::from_pem(&std::fs::read_to_string(
        arg("--private-key").ok_or("--private-key is required")?,
    )?)?;
    let threads: usize = arg("--threads").map_or(Ok(2), |t| t.parse())?;
    if let Some(secs) = arg("--raw-verify") {
        return raw_verify(key, secs.parse()?, threads);
    }
    let url: hyper::Uri = arg("--url").ok_or("--url is required")?.parse()?;
    let conc: usize = arg("--concurrency").map_or(Ok(1), |t| t.parse())?;
    let total: usize = arg("--requests").map_or(Ok(2000), |t| t.parse())?;
    let cap = Duration::from_secs(arg("--time-cap").map_or(Ok(20), |t| t.parse())?);
    let label = arg("--label").unwrap_or_else(|| "target".into());
    let prefix = arg("--id-prefix").unwrap_or_else(|| "evt".into());

    // Sign everything up front (in parallel) so signing cost is not measured.
    let signer = Arc::new(Signer::new(key));
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)?
        .as_secs()
        .to_string();
    let prepared: Vec<Prepared> = std::thread::scope(|s| {
        let chunks: Vec<_> = (0..threads.max(1))
            .map(|t| {
                let signer = signer.clone();
                let ts = ts.clone();
                let prefix = prefix.clone();
                s.spawn(move || {
                    (0..total)
                        .filter(|i| i % threads.max(1) == t)
                        .map(|i| {
                            let body = format!(
                                r#"{{"EventId":"{prefix}_{i}","EventType":"Banking.Deposit.StatusUpdated","Timestamp":"2025-01-15T14:30:00Z","Data":"{{\"StatusChange\":{{\"Previous\":\"REVIEWING\",\"Current\":\"APPROVED\"}}}}"}}"#
                            );
                            let h = signer.sign_at(&ts, body.as_bytes()).map_err(|e| e.to_string())?;
                            Ok(Prepared { ts: h.timestamp, sig: h.signature, id: h.webhook_id, body: Bytes::from(body) })
                        })
                        .collect::<Result<Vec<_>, String>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in chunks {
            all.extend(c.join().map_err(|_| "signer thread panicked")??);
        }
        Ok::<_, Box<dyn std::error::Error>>(all)
    })?;
    let prepared = Arc::new(prepared);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    let (lat, non200, elapsed) = rt.block_on(async move {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let deadline = start + cap;
        let mut tasks = Vec::new();
        for _ in 0..conc {
            let next = next.clone();
            let prepared = prepared.clone();
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut non200 = 0usize;
                let authority = url.authority().map(|a| a.to_string()).unwrap_or_default();
                // Reconnects when the server closes the connection (gunicorn's
                // sync workers close after every response).
                let connect = |authority: String| async move {
                    let stream = tokio::net::TcpStream::connect(authority.as_str()).await?;
                    stream.set_nodelay(true)?;
                    let (sender, conn) =
                        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                            .await?;
                    tokio::spawn(conn);
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(sender)
                };
                let mut sender = connect(authority.clone()).await?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = prepared.get(i) else { break };
                    if Instant::now() > deadline {
                        break;
                    }
                    let req = hyper::Request::post(url.path())
                        .header("host", authority.as_str())
                        .header("content-type", "application/json")
                        .header("x-webhook-timestamp", p.ts.as_str())
                        .header("x-webhook-signature", p.sig.as_str())
                        .header("x-webhook-id", p.id.as_str())
                        .body(Full::new(p.body.clone()))?;
                    let t0 = Instant::now();
                    if sender.ready().await.is_err() {
                        sender = connect(authority.clone()).await?;
                    }
                    let resp = sender.send_request(req).await?;
                    let status = resp.status();
                    resp.into_body().collect().await?;
                    lat.push(t0.elapsed());
                    if status != hyper::StatusCode::OK {
                        non200 += 1;
                    }
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((lat, non200))
            }));
        }
        let mut lat = Vec::new();
        let mut non200 = 0;
        for t in tasks {
            match t.await {
                Ok(Ok((l, n))) => {
                    lat.extend(l);
                    non200 += n;
                }
                Ok(Err(e)) => eprintln!("worker error: {e}"),
                Err(e) => eprintln!("worker panicked: {e}"),
            }
        }
        (lat, non200, start.elapsed())
    });
    let mut lat = lat;
    lat.sort();
    let n = lat.len();
    let pct = |p: usize| {
        lat.get((n * p / 100).min(n.saturating_sub(1)))
            .map_or(0, |d| d.as_micros())
    };
    let ok = n - non200;
    let rps = u128::try_from(ok).unwrap_or(0) * 1_000_000 / elapsed.as_micros().max(1);
    println!(
        "RESULT {label} c={conc} ok={ok} non200={non200} rps={rps} p50_us={} p99_us={}",
        pct(50),
        pct(99)
    );
    Ok(())
}

fn raw_verify(
    key: SigningKey,
    secs: u64,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    use base64::Engine as _;
    let public = key.public_key();
    let body = b"{\"EventId\":\"evt_raw\"}";
    let h = Signer::new(key).sign_at("1705329000", body)?;
    let sig = base64::engine::general_purpose::STANDARD.decode(&h.signature)?;
    let mut m = b"1705329000.".to_vec();
    m.extend_from_slice(body);
    let d1 = ring::digest::digest(&ring::digest::SHA256, &m);
    let run = |n_threads: usize| -> u128 {
        let dur = Duration::from_secs(secs);
        let count = AtomicUsize::new(0);
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..n_threads {
                s.spawn(|| {
                    let k = ring::signature::UnparsedPublicKey::new(
                        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                        public.pkcs1_der(),
                    );
                    let mut local = 0usize;
                    while start.elapsed() < dur {
                        for _ in 0..64 {
                            if k.verify(d1.as_ref(), &sig).is_ok() {
                                local += 1;
                            }
                        }
                    }
                    count.fetch_add(local, Ordering::Relaxed);
                });
            }
        });
        u128::try_from(count.load(Ordering::Relaxed)).unwrap_or(0) * 1_000_000
            / start.elapsed().as_micros().max(1)
    };
    println!("RAW ring_verify threads=1 per_s={}", run(1));
    println!("RAW ring_verify threads={threads} per_s={}", run(threads));
    Ok(())
}
