//! The real `hercle` binary against a sandbox: outputs snapshotted with
//! insta (times, ids, ports and prices redacted), exit codes checked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hercle_sandbox::{Config, Sandbox};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hercle");

fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"127\.0\.0\.1:\d+", "[ADDR]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        ),
        (r"evt_[0-9a-f]+", "evt_[ID]"),
        (r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})?", "[TIME]"),
        (r"\b\d{3,}\.\d+\b", "[PRICE]"),
        (r"after \d+ ms", "after [MS] ms"),
        (r"done in \d+\.\d s", "done in [S] s"),
        (r"hercle \d+\.\d+\.\d+", "hercle [VERSION]"),
        // Column widths follow the redacted values: normalise them.
        (r"(\S)  +", "$1  "),
    ]
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ filters => filters(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn output(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

fn hercle(base: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("HERCLE_API_KEY")
        .env_remove("HERCLE_BASE_URL")
        .stdin(Stdio::null());
    if let Some(base) = base {
        cmd.arg("--base-url")
            .arg(base)
            .env("HERCLE_API_KEY", "sandbox-key");
    }
    output(cmd.output().unwrap())
}

async fn sandbox() -> Sandbox {
    Sandbox::start(Config {
        start_time: time::OffsetDateTime::now_utc(),
        price_interval: Duration::from_millis(20),
        ..Config::default()
    })
    .await
    .unwrap()
}

/// Runs the blocking binary off the async runtime the sandbox serves on.
async fn run(base: &str, args: &[&str]) -> Run {
    let base = base.to_owned();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hercle(Some(&base), &args)
    })
    .await
    .unwrap()
}

#[test]
fn help_of_every_command() {
    let top = hercle(None, &["--help"]);
    assert_eq!(top.code, 0);
    snapshot!("help", top.stdout);
    for sub in [
        "pairs",
        "price",
        "watch",
        "buy",
        "sell",
        "rfq",
        "balances",
        "orders",
        "trades",
        "transactions",
        "withdraw",
        "addresses",
        "call",
        "webhooks",
        "webhooks listen",
        "webhooks verify",
        "venue",
        "venue whitebit watch",
        "sandbox",
        "demo",
        "completions",
        "man",
    ] {
        let mut args: Vec<&str> = sub.split(' ').collect();
        args.push("--help");
        let r = hercle(None, &args);
        assert_eq!(r.code, 0, "{sub}: {}", r.stderr);
        snapshot!(format!("help-{}", sub.replace(' ', "-")), r.stdout);
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["price", "BTCUSDT"][..],
        &["watch", "BTCUSDT"],
        &["buy", "BTCUSDT", "x"],
        &["orders", "--from", "yesterday"],
        &["no-such-command"],
    ] {
        let r = hercle(None, args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error:"), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn production_is_never_the_default() {
    // A production URL without --env production is refused before any request.
    let r = hercle(
        None,
        &["--base-url", "https://publicapi.hercle.financial", "pairs"],
    );
    assert_eq!(r.code, 2);
    snapshot!("production-refused", r.stderr);
    // No key for a remote environment: a usage error, not a request.
    let r = hercle(None, &["--env", "sandbox", "pairs"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("HERCLE_API_KEY"), "{}", r.stderr);
}

#[test]
fn unreachable_server_exits_3_with_a_hint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Nothing listens there any more.
    let r = hercle(Some(&format!("http://127.0.0.1:{port}")), &["pairs"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("hint: is the server running?"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "printed once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_commands() {
    let s = sandbox().await;
    let base = s.base_url();
    let r = run(&base, &["pairs"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    snapshot!("pairs", r.stdout);
    let r = run(&base, &["--json", "pairs"]).await;
    assert_eq!(r.stdout.lines().count(), 5);
    snapshot!("pairs-json", r.stdout);
    let r = run(&base, &["price", "BTCUSDT", "0.1"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    snapshot!("price", r.stdout);
    let r = run(&base, &["balances"]).await;
    snapshot!("balances", r.stdout);
    // A refused request: exit 1, the API's message and parameter.
    let r = run(&base, &["price", "NOPE", "0.1"]).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    snapshot!("price-unknown-pair", r.stderr);
    // Piped, `watch` prints one plain line per update and stops at --count.
    let r = run(
        &base,
        &["watch", "BTCUSDT:0.1", "ETHUSDT:2", "--count", "6"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 6, "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .all(|l| l.contains(" bid ") && l.contains(" ask "))
    );
    let r = run(&base, &["--json", "watch", "BTCUSDT:0.1", "--count", "3"]).await;
    for line in r.stdout.lines() {
        assert!(
            line.starts_with('{') && line.contains("\"buyPrice\":"),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_key_exits_5() {
    let s = sandbox().await;
    let base = s.base_url();
    let r = tokio::task::spawn_blocking(move || {
        output(
            Command::new(BIN)
                .args(["--base-url", &base, "balances"])
                .env("HERCLE_API_KEY", "wrong-key")
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-key"), "the key never shows");
    snapshot!("bad-key", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_commands() {
    let s = sandbox().await;
    let base = s.base_url();
    // Without --yes and without a terminal there is nobody to confirm.
    let r = run(&base, &["buy", "BTCUSDT", "0.1"]).await;
    assert_eq!(r.code, 1);
    snapshot!("buy-unconfirmed", r.stderr);
    let r = run(&base, &["buy", "BTCUSDT", "0.1", "--yes"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    snapshot!("buy", r.stdout);
    let r = run(
        &base,
        &[
            "--json",
            "sell",
            "BTCUSDT",
            "0.1",
            "--slippage",
            "1",
            "--yes",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(r.stdout.contains("\"side\":\"sell\""), "{}", r.stdout);
    let r = run(
        &base,
        &["rfq", "ETHUSDT", "1", "--side", "sell", "--accept", "--yes"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    snapshot!("rfq-accept", r.stdout);
    let r = run(&base, &["--json", "trades"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 3, "three fills: {}", r.stdout);
    let r = run(&base, &["orders"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("orderId"), "{}", r.stdout);
    let r = run(&base, &["--json", "trades", "--limit", "2"]).await;
    assert_eq!(r.stdout.lines().count(), 2);
    assert!(r.stderr.contains("--limit 2"), "{}", r.stderr);
    let r = run(&base, &["transactions", "--from", "2020-01-01"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn funding_and_call() {
    let s = sandbox().await;
    let base = s.base_url();
    let address = "0x5a0b54d5dc17e0aadc383d2db43b0a0d3e029c4c";
    let body = format!(r#"{{"name":"cold","asset":"USDT","address":"{address}","network":"ETH"}}"#);
    let r = run(&base, &["call", "WhitelistAddress", "--body", &body]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&base, &["addresses", "--whitelisted"]).await;
    assert!(r.stdout.contains(address), "{}", r.stdout);
    let r = run(
        &base,
        &[
            "withdraw",
            "USDT",
            "1000.50",
            address,
            "--network",
            "ETH",
            "--yes",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The amount keeps its digits all the way to the terminal.
    assert!(r.stdout.contains("1000.50"), "{}", r.stdout);
    snapshot!("withdraw", r.stdout);
    let r = run(
        &base,
        &[
            "call",
            "GetPairPrice",
            "-p",
            "pair=BTCUSDT",
            "-p",
            "size=0.10",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    snapshot!("call-price", r.stdout);
    let r = run(&base, &["call", "--list"]).await;
    assert_eq!(r.stdout.lines().count(), 47);
    snapshot!("call-list", r.stdout);
    for (args, why) in [
        (
            &["call", "GetPairPrice", "-p", "pair=BTCUSDT"][..],
            "needs --param size",
        ),
        (
            &[
                "call",
                "GetPairPrice",
                "-p",
                "pair=B",
                "-p",
                "size=1",
                "-p",
                "x=1",
            ],
            "no parameter \"x\"",
        ),
        (&["call", "GetPairs", "--body", "{}"], "takes no body"),
        (&["call", "PlaceOtcOrder", "--body", "{nope"], "not JSON"),
        (&["call", "Nope"], "unknown operation"),
    ] {
        let r = run(&base, args).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_is_not_an_error() {
    let s = sandbox().await;
    let base = s.base_url();
    let code = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args([
                "--base-url",
                &base,
                "watch",
                "BTCUSDT:0.1",
                "--count",
                "100000",
            ])
            .env("HERCLE_API_KEY", "sandbox-key")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains(" bid "), "{line}");
        drop(stdout); // like `| head -1`
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(err.is_empty(), "{err}");
        status.code()
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0));
}

fn signed_delivery(body: &[u8]) -> (String, String) {
    use hercle_webhooks::{Signer, SigningKey};
    let private = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/webhooks/test-only-primary-private-pkcs8.pem"
    ))
    .unwrap();
    let h = Signer::new(SigningKey::from_pem(&private).unwrap())
        .sign(body)
        .unwrap();
    (h.timestamp, h.signature)
}

const PUBLIC_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/webhooks/test-only-primary-public-spki.pem"
);
const BODY: &[u8] = br#"{"EventId":"evt_0123abcd","EventType":"Banking.Withdrawal.Created","Timestamp":"2026-11-30T12:00:00Z","Data":{"Id":"w-1","Status":"CREATED","Amount":1000.50,"Asset":"USDT"}}"#;

#[test]
fn webhooks_verify_a_saved_delivery() {
    let (ts, sig) = signed_delivery(BODY);
    let dir = std::env::temp_dir().join(format!("hercle-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.http");
    let mut raw = format!(
        "POST /webhooks HTTP/1.1\r\nX-Webhook-Timestamp: {ts}\r\nX-Webhook-Signature: {sig}\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(BODY);
    std::fs::write(&good, &raw).unwrap();
    let r = hercle(
        None,
        &[
            "webhooks",
            "verify",
            "--public-key",
            PUBLIC_KEY,
            good.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    snapshot!("webhooks-verify", r.stdout);
    // One changed byte of the body: rejected.
    let bad = dir.join("bad.http");
    let mut tampered = raw.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 1;
    std::fs::write(&bad, &tampered).unwrap();
    let r = hercle(
        None,
        &[
            "webhooks",
            "verify",
            "--public-key",
            PUBLIC_KEY,
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("rejected"), "{}", r.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn webhooks_listen_verifies_and_prints_each_event_once() {
    let mut child = Command::new(BIN)
        .args([
            "webhooks",
            "listen",
            "--public-key",
            PUBLIC_KEY,
            "--port",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let post = |body: &[u8], ts: &str, sig: &str| {
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = format!(
            "POST /webhooks HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-Webhook-Timestamp: {ts}\r\nX-Webhook-Signature: {sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).unwrap();
        conn.write_all(body).unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        answer
    };
    let (ts, sig) = signed_delivery(BODY);
    assert!(post(BODY, &ts, &sig).starts_with("HTTP/1.1 200"));
    // The same delivery again (a retry): accepted, not printed twice.
    assert!(post(BODY, &ts, &sig).starts_with("HTTP/1.1 200"));
    assert!(post(BODY, &ts, "AAAA").starts_with("HTTP/1.1 400"));
    // Another event marks the end: events are printed in the order they
    // arrive, so whatever the retry printed would come before it.
    let marker = std::str::from_utf8(BODY)
        .unwrap()
        .replace("evt_0123abcd", "evt_marker01");
    let (ts2, sig2) = signed_delivery(marker.as_bytes());
    assert!(post(marker.as_bytes(), &ts2, &sig2).starts_with("HTTP/1.1 200"));
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_owned());
    }
    let printed = |id: &str| format!("Banking.Withdrawal.Created {id} ({} bytes)", BODY.len());
    assert_eq!(
        lines,
        [printed("evt_0123abcd"), printed("evt_marker01")],
        "each event printed once, in order"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn completions_and_man_page() {
    let r = hercle(None, &["completions", "bash"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("hercle") && r.stdout.contains("withdraw"));
    let r = hercle(None, &["man"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH hercle"),
        "{}",
        &r.stdout[..80]
    );
}

#[test]
fn demo_runs_end_to_end() {
    let r = hercle(None, &["demo"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    snapshot!("demo", r.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_ends_watch_cleanly() {
    let s = sandbox().await;
    let base = s.base_url();
    let (code, err) = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(["--base-url", &base, "watch", "BTCUSDT:0.1"])
            .env("HERCLE_API_KEY", "sandbox-key")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        // Streaming: the subscription is live before the interrupt.
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains(" bid "), "{line}");
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code(), err)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn venue_watch_streams_a_simulator_as_ndjson() {
    for venue in ["whitebit", "hibachi", "allenhark"] {
        let r = hercle(
            None,
            &["venue", venue, "watch", "--simulate", "--count", "3"],
        );
        assert_eq!(r.code, 0, "{venue}: {}", r.stderr);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert!(!lines.is_empty(), "{venue}");
        for line in lines {
            assert!(
                line.starts_with('{') && line.contains(&format!("\"venue\":\"{venue}\"")),
                "{venue}: {line}"
            );
        }
    }
    let r = hercle(
        None,
        &["venue", "whitebit", "watch", "--simulate", "-s", "nope"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}
