//! Retries on tokio's paused clock: attempt counts, delays within the
//! jitter bounds, `Retry-After`, one `Client-Id` per logical call, the
//! budget, and no unsafe repeats.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use hercle_models::ops;
use hercle_rest::{BudgetConfig, CallOptions, Client, ErrorKind, Input, Outcome, RetryPolicy};
use hercle_sandbox::{Config, RestFault};
use std::time::Duration;
use support::*;
use tokio::time::Instant;

const TRADE: &str = r#"{"tradeId":"t1","side":"buy","pair":"BTCUSDT","price":26800.5,"size":0.1,"notional":2680.05,"status":1}"#;
const RFQ: &str = r#"{"requestForQuoteId":"r1","instrument":"BTCUSDT","side":"buy","size":0.1,"price":26800.5,"amount":0,"status":0}"#;
const ORDER: &str = r#"{"priceId":"p1","side":"buy","slippage":1}"#;

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(10),
        budget: BudgetConfig::default(),
    }
}

fn canned_client(url: &str, retry: RetryPolicy) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(url)
        .retry(retry)
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_with_backoff_within_the_jitter_bounds() {
    let (url, seen) = canned(vec![
        answer(503, "{}"),
        answer(502, "{}"),
        answer(504, "{}"),
        answer(200, r#"[{"name":"BTCUSDT"}]"#),
    ])
    .await;
    let c = canned_client(&url, policy());
    let t0 = Instant::now();
    let pairs = c.get_pairs().await.unwrap();
    let elapsed = t0.elapsed();
    assert_eq!(pairs.len(), 1);
    assert_eq!(seen.lock().unwrap().len(), 4, "three retries");
    // Full jitter: each delay in [0, min(cap, base * 2^n)] = 100 + 200 + 400 ms at most.
    assert!(elapsed <= Duration::from_millis(700), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn attempts_stop_at_the_maximum() {
    let (url, seen) = canned(vec![answer(503, r#"{"code":"busy","message":"later"}"#)]).await;
    let c = canned_client(&url, policy());
    let e = c.get_pairs().await.unwrap_err();
    assert_eq!(e.attempts(), 4);
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert_eq!((e.status(), e.code()), (Some(503), Some("busy")));
    assert!(e.to_string().contains("after 4 attempts"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_clamped() {
    let mut limited = answer(429, "{}");
    limited.headers.push(("retry-after", "3".to_owned()));
    let (url, _) = canned(vec![limited, answer(200, "[]")]).await;
    let c = canned_client(&url, policy());
    let t0 = Instant::now();
    c.get_pairs().await.unwrap();
    assert_eq!(t0.elapsed().as_secs(), 3);

    let mut long = answer(429, "{}");
    long.headers.push(("retry-after", "3600".to_owned()));
    let (url, _) = canned(vec![long, answer(200, "[]")]).await;
    let c = canned_client(&url, policy());
    let t0 = Instant::now();
    c.get_pairs().await.unwrap();
    assert_eq!(t0.elapsed().as_secs(), 10, "clamped to max_retry_after");
}

#[tokio::test(start_paused = true)]
async fn one_client_id_per_logical_call_on_every_attempt() {
    let (url, seen) = canned(vec![
        answer(502, "{}"),
        answer(504, "{}"),
        answer(201, TRADE),
        answer(502, "{}"),
        answer(201, TRADE),
    ])
    .await;
    let c = canned_client(&url, policy());
    c.place_otc_order(body(ORDER)).await.unwrap();
    c.call_with::<ops::PlaceOtcOrder>(
        Input {
            path: (),
            query: (),
            body: body(ORDER),
        },
        CallOptions {
            client_id: Some("mine-1".into()),
            ..CallOptions::default()
        },
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    let ids: Vec<&str> = seen
        .iter()
        .map(|(_, _, id)| id.as_deref().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(ids[0].len(), 36, "a generated UUID");
    assert!(ids[0] == ids[1] && ids[1] == ids[2], "{ids:?}");
    assert_eq!(&ids[3..], ["mine-1", "mine-1"]);
}

#[tokio::test(start_paused = true)]
async fn a_post_without_idempotency_key_is_not_repeated_once_it_may_have_run() {
    // CreateRfq is a POST the API does not deduplicate.
    let (url, seen) = canned(vec![answer(502, "{}"), answer(201, "{}")]).await;
    let c = canned_client(&url, policy());
    let e = c
        .create_rfq(body(r#"{"pair":"BTCUSDT","side":"buy","size":0.1}"#))
        .await
        .unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(e.outcome(), Outcome::Unknown);
    assert!(e.may_have_executed());
    assert!(e.client_id().is_none());
    assert!(seen.lock().unwrap()[0].2.is_none(), "no Client-Id sent");

    // 429 and 503 say it did not run: those are retried even so.
    let (url, seen) = canned(vec![answer(503, "{}"), answer(429, "{}"), answer(201, RFQ)]).await;
    let c = canned_client(&url, policy());
    c.create_rfq(body(r#"{"pair":"BTCUSDT","side":"buy","size":0.1}"#))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_budget_stops_retries_during_an_outage() {
    let (url, seen) = canned(vec![answer(503, "{}")]).await;
    let c = canned_client(
        &url,
        RetryPolicy {
            budget: BudgetConfig {
                capacity: 10,
                retry_cost: 5,
                success_refund: 1,
            },
            ..policy()
        },
    );
    let first = c.get_pairs().await.unwrap_err();
    assert_eq!(first.attempts(), 3, "two retries empty the bucket");
    let second = c.get_pairs().await.unwrap_err();
    assert_eq!(second.attempts(), 1, "no budget left");
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert_eq!(c.retry_budget(), 0);
}

#[tokio::test(start_paused = true)]
async fn connection_refused_is_retried_and_reported_as_not_sent() {
    // Bind then drop: nothing listens on that port any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = canned_client(&format!("http://127.0.0.1:{port}"), policy());
    let e = c.place_otc_order(body(ORDER)).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Connect(_)), "{e:?}");
    assert_eq!(e.outcome(), Outcome::NotSent);
    assert_eq!(e.attempts(), 4);
}

#[tokio::test(start_paused = true)]
async fn sandbox_faults_are_ridden_out() {
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, policy());
    sb.inject_rest_fault(RestFault {
        status: Some(503),
        delay: None,
        count: 3,
    });
    assert_eq!(c.get_pairs().await.unwrap().len(), 5);

    // A slow answer times out; a GET may be repeated, and the next answers.
    sb.inject_rest_fault(RestFault {
        status: None,
        delay: Some(Duration::from_secs(60)),
        count: 1,
    });
    let c = Client::builder()
        .api_key(KEY)
        .base_url(sb.base_url())
        .retry(policy())
        .request_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let t0 = Instant::now();
    c.get_balances().await.unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(1));

    // Without retries the timeout is reported, outcome unknown.
    sb.inject_rest_fault(RestFault {
        status: None,
        delay: Some(Duration::from_secs(60)),
        count: 1,
    });
    let c = Client::builder()
        .api_key(KEY)
        .base_url(sb.base_url())
        .retry(RetryPolicy::never())
        .request_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let e = c.get_balances().await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Timeout(_)), "{e:?}");
    assert_eq!(e.outcome(), Outcome::Unknown);
}
