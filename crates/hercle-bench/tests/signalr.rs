//! `hercle-bench signalr` (and the `signalr-floor` it is read against)
//! against `hercle-bench signalr-server`, both as the run script starts
//! them, at a tiny count: the contract's JSON line, the latency file, both
//! paces. No timing is asserted (benchmarks measure,
//! tests don't).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hercle-bench");

/// The hub, killed when dropped.
struct Hub(Child, u16);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hub(rate: u32) -> Hub {
    let mut child = Command::new(BIN)
        .args(["signalr-server", "0", &rate.to_string()])
        .env("BENCH_HUB_MAX_S", "60")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    Hub(child, port)
}

/// A contestant: `signalr`, or `signalr-floor` with `BENCH_FLOOR_IO`.
#[derive(Clone, Copy)]
enum Suite {
    Ours,
    Floor(&'static str),
}

impl Suite {
    fn contestant(self) -> &'static str {
        match self {
            Suite::Ours => "hercle-rs",
            Suite::Floor("tokio") => "floor-tokio",
            Suite::Floor(_) => "floor",
        }
    }
}

fn client(hub: &Hub, suite: Suite, key: &str, count: u64, warmup: u64) -> Command {
    let mut cmd = Command::new(BIN);
    match suite {
        Suite::Ours => cmd.arg("signalr"),
        Suite::Floor(io) => cmd.arg("signalr-floor").env("BENCH_FLOOR_IO", io),
    };
    cmd.env(
        "HERCLE_HUB_URL",
        format!("http://127.0.0.1:{}/ExecutionLiveServer/v1", hub.1),
    )
    .env("HERCLE_API_KEY", key)
    .env("BENCH_COUNT", count.to_string())
    .env("BENCH_WARMUP", warmup.to_string())
    .env("BENCH_TIMEOUT_S", "30");
    cmd
}

fn receive(
    hub: &Hub,
    suite: Suite,
    count: u64,
    warmup: u64,
    name: &str,
) -> (serde_json::Value, Vec<i64>) {
    let lat = std::env::temp_dir().join(format!("hercle-bench-{}-{name}.lat", std::process::id()));
    let out = client(hub, suite, "bench-key", count, warmup)
        .env("BENCH_LAT_FILE", &lat)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap();
    let bytes = std::fs::read(&lat).unwrap();
    let _ = std::fs::remove_file(&lat);
    let lats = bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (serde_json::from_str(line).unwrap(), lats)
}

fn check(suite: Suite, line: &serde_json::Value, lats: &[i64], count: u64, warmup: u64) {
    assert_eq!(line["contestant"], suite.contestant());
    assert_eq!(line["kind"], "signalr");
    assert_eq!(line["expected"].as_u64(), Some(count));
    assert_eq!(line["received"].as_u64(), Some(count));
    assert_eq!(line["errors"].as_u64(), Some(0), "{line}");
    assert_eq!(line["lat_samples"].as_u64(), Some(count - warmup));
    for key in [
        "first_to_last_s",
        "msgs_per_s",
        "cpu_s",
        "cpu_s_per_million",
    ] {
        assert!(line[key].is_number(), "{key} in {line}");
    }
    assert_eq!(lats.len() as u64, count - warmup);
    // The hub's send precedes the client's receive on the same clock.
    assert!(lats.iter().all(|&l| l > 0), "{lats:?}");
}

#[test]
fn the_client_reads_the_hub_as_fast_as_it_can() {
    let hub = hub(0);
    let (line, lats) = receive(&hub, Suite::Ours, 500, 50, "max");
    check(Suite::Ours, &line, &lats, 500, 50);
}

#[test]
fn both_floors_read_the_same_stream_at_both_paces() {
    for rate in [0, 2_000] {
        let hub = hub(rate);
        for suite in [Suite::Floor("blocking"), Suite::Floor("tokio")] {
            let name = format!("floor-{}-{rate}", suite.contestant());
            let (line, lats) = receive(&hub, suite, 300, 30, &name);
            check(suite, &line, &lats, 300, 30);
        }
    }
}

#[test]
fn an_unknown_floor_io_is_refused() {
    let hub = hub(0);
    let out = client(&hub, Suite::Floor("threads"), "bench-key", 10, 0)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BENCH_FLOOR_IO"));
}

#[test]
fn the_hub_paces_a_fixed_rate_and_serves_client_after_client() {
    let hub = hub(2_000);
    for run in 0..2 {
        let (line, lats) = receive(&hub, Suite::Ours, 100, 10, &format!("paced-{run}"));
        check(Suite::Ours, &line, &lats, 100, 10);
    }
}

#[test]
fn a_client_without_a_key_gets_the_error_line_and_fails() {
    let hub = hub(0);
    let out = client(&hub, Suite::Ours, "", 10, 0).output().unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap();
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["contestant"], "hercle-rs");
    assert!(line["error"].as_str().unwrap().contains("401"), "{line}");
}
