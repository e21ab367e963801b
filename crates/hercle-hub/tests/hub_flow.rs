//! The `hub_flow` example, run as its own process against the sandbox.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hercle_sandbox::{Config, Sandbox};

fn example_binary() -> std::path::PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/examples/hub_flow;
    // `cargo test` builds the examples before running tests.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    dir.join("examples")
        .join(format!("hub_flow{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_flow_succeeds_against_the_sandbox() {
    let sb = Sandbox::start(Config {
        price_interval: Duration::from_millis(50),
        ..Config::default()
    })
    .await
    .unwrap();
    let bin = example_binary();
    assert!(bin.exists(), "example not built at {}", bin.display());
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(&bin)
            .env("HERCLE_BASE_URL", sb.base_url())
            .env("HERCLE_API_KEY", "sandbox-key")
            .output(),
    )
    .await
    .expect("hub_flow finished within 60 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 12, "{stdout}");
    assert!(lines[0].starts_with("connect: ok"));
    assert!(
        lines[8].starts_with("PlaceOtcOrder:") && lines[8].contains("Executed"),
        "{stdout}"
    );
    assert!(lines[11].starts_with("close: ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_flow_exits_non_zero_with_a_bad_key() {
    let sb = Sandbox::start(Config::default()).await.unwrap();
    let out = tokio::process::Command::new(example_binary())
        .env("HERCLE_BASE_URL", sb.base_url())
        .env("HERCLE_API_KEY", "wrong-key")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401") || stderr.contains("API key"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-key"), "the key leaked: {stderr}");
}
