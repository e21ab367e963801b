//! Third-party SignalR clients against the sandbox hub: the official
//! `@microsoft/signalr` Node client and the Python `signalrcore` client (the
//! one HercleX's docs recommend), each forced onto every transport
//! (WebSockets, Server-Sent Events, long polling). Each script connects,
//! calls GetPairs in both argument shapes, subscribes to prices, places an
//! order from a streamed price id, survives an injected drop with automatic
//! reconnect and subscribes again, printing a `CHECK` line per step.
//!
//! Their packages are installed on first use (`npm ci` into
//! `interop/node/node_modules`, `pip install --target interop/python/.deps`;
//! `.ci/run` does it up front), so this needs node/npm and python3/pip on
//! PATH. A missing peer fails the test: it never passes by skipping.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hercle_sandbox::{Config, Sandbox};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What each script prints, in order, when everything worked.
const CHECKS: &[&str] = &[
    "connected",
    "pairs",
    "spread",
    "price",
    "order",
    "reconnected",
    "price-after-reconnect",
    "done",
];

/// Longest a script may run (each has a shorter deadline of its own).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn run_install(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run ({e})"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `npm ci` unless the client package is already there.
fn ensure_node_deps() -> PathBuf {
    let dir = interop_dir().join("node");
    if !dir
        .join("node_modules/@microsoft/signalr/package.json")
        .exists()
    {
        run_install(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir),
            "npm ci",
        );
    }
    dir
}

/// `pip install --target .deps` unless done. Installed into a scratch folder
/// first and renamed, so an interrupted install is not mistaken for one.
fn ensure_python_deps() -> PathBuf {
    let dir = interop_dir().join("python");
    let deps = dir.join(".deps");
    if !deps.join("signalrcore").exists() {
        let scratch = dir.join(format!(".deps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        run_install(
            Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--target",
                ])
                .arg(&scratch)
                .arg("-r")
                .arg(dir.join("requirements.txt")),
            "pip install",
        );
        let _ = std::fs::remove_dir_all(&deps);
        std::fs::rename(&scratch, &deps).unwrap();
    }
    dir
}

/// Runs a client script against a fresh sandbox; returns its stdout after
/// checking it exited 0.
async fn run_client(
    program: &str,
    script: &Path,
    transport: &str,
    env: &[(&str, &Path)],
) -> String {
    let sandbox = Sandbox::start(Config::default()).await.unwrap();
    run_script(&sandbox, program, script, &[transport], env).await
}

/// Runs `script <hub url> <key> <base url> <args…>` against `sandbox`.
async fn run_script(
    sandbox: &Sandbox,
    program: &str,
    script: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
) -> String {
    let transport = args.join("-");
    // Files, not pipes: nothing can block on a full pipe while we wait.
    let logs = std::env::temp_dir().join(format!(
        "hercle-hub-interop-{}-{program}-{transport}",
        std::process::id()
    ));
    std::fs::create_dir_all(&logs).unwrap();
    let (out_path, err_path) = (logs.join("stdout"), logs.join("stderr"));
    let mut cmd = Command::new(program);
    cmd.arg(script)
        .args([
            sandbox.hub_url(),
            "sandbox-key".to_owned(),
            sandbox.base_url(),
        ])
        .args(args)
        .current_dir(script.parent().unwrap())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e})"));
    // The sandbox runs on this runtime's workers while we poll the child.
    let deadline = tokio::time::Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&logs);
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!(
            "{program} {} ({transport}) exited with {s}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            script.display()
        ),
        None => panic!(
            "{program} {} ({transport}) timed out\nstdout:\n{stdout}\nstderr:\n{stderr}",
            script.display()
        ),
    }
    stdout
}

/// Every expected checkpoint, in order.
fn assert_checks(stdout: &str) {
    let seen: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("CHECK "))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    let expected: Vec<&str> = CHECKS.to_vec();
    let in_order: Vec<&str> = seen
        .iter()
        .copied()
        .filter(|s| CHECKS.contains(s))
        .collect();
    assert_eq!(in_order, expected, "stdout:\n{stdout}");
}

async fn official_node_client(transport: &str) {
    let dir = ensure_node_deps();
    let stdout = run_client("node", &dir.join("client.mjs"), transport, &[]).await;
    assert_checks(&stdout);
    // The drop was seen as a lost connection (no Close message).
    assert!(stdout.contains("CHECK reconnecting"), "{stdout}");
}

async fn python_signalrcore_client(transport: &str) {
    let dir = ensure_python_deps();
    let deps = dir.join(".deps");
    let stdout = run_client(
        "python3",
        &dir.join("client.py"),
        transport,
        &[("PYTHONPATH", &deps)],
    )
    .await;
    assert_checks(&stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_node_client_websockets() {
    official_node_client("ws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_node_client_server_sent_events() {
    official_node_client("sse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_node_client_long_polling() {
    official_node_client("lp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_signalrcore_client_websockets() {
    python_signalrcore_client("ws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_signalrcore_client_server_sent_events() {
    python_signalrcore_client("sse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_signalrcore_client_long_polling() {
    python_signalrcore_client("lp").await;
}

/// Stateful reconnect with the official client: a WebSocket dropped in the
/// middle of a 1,000-update price stream is reopened, the hub replays what
/// was not acknowledged, and the application sees updates 1..=1000 each
/// once, in order, with no reconnect (checked by the script).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_node_client_stateful_reconnect_loses_and_repeats_nothing() {
    let dir = ensure_node_deps();
    let sandbox = Sandbox::start(Config {
        price_interval: Duration::from_millis(1),
        ..Config::default()
    })
    .await
    .unwrap();
    let stdout = run_script(&sandbox, "node", &dir.join("stateful.mjs"), &["1000"], &[]).await;
    for step in ["connected", "dropped 500", "every-update-once 1000", "done"] {
        assert!(
            stdout.contains(&format!("CHECK {step}")),
            "{step}: {stdout}"
        );
    }
}
