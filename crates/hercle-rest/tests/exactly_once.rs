//! Exactly once under faults: the sandbox processes every request but drops
//! the connection unanswered for 20% of them. 1,000 orders later it holds
//! exactly 1,000, and every call returned either its order or an error
//! saying the outcome is unknown that a `Client-Id` retry resolved.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use futures_util::StreamExt as _;
use hercle_models::ops;
use hercle_models::{OrderStatus, TradeExecution};
use hercle_rest::paging::collect_bounded;
use hercle_rest::{BudgetConfig, CallOptions, Client, Input, Outcome, RetryPolicy};
use hercle_sandbox::Config;
use std::collections::BTreeSet;
use support::*;
use time::macros::datetime;

const ORDERS: usize = 1_000;

async fn quote(c: &Client) -> String {
    c.get_pair_price(ops::GetPairPricePath {
        pair: "BTCUSDT".into(),
        size: d("0.001"),
    })
    .await
    .unwrap()
    .id
}

fn order(price_id: &str) -> Input<ops::PlaceOtcOrder> {
    Input {
        path: (),
        query: (),
        body: body(&format!(
            r#"{{"priceId":"{price_id}","side":"buy","slippage":1}}"#
        )),
    }
}

fn executed(t: &TradeExecution) {
    assert_eq!(t.status, OrderStatus::Executed, "{t:?}");
}

#[tokio::test(start_paused = true)]
async fn a_thousand_orders_with_a_fifth_of_the_answers_lost() {
    let sb = sandbox(Config::default()).await;
    sb.drop_responses(200);
    // Losing a fifth of all answers is an outage by the default budget's
    // measure (it would stop retrying, as it should); this test is about
    // what the retries do, so it gives them room (and enough attempts that
    // four losses in a row, 1 in 625 at this rate, do not end a call).
    let retrying = client(
        &sb,
        RetryPolicy {
            max_attempts: 12,
            budget: BudgetConfig {
                capacity: 100_000,
                ..BudgetConfig::default()
            },
            ..RetryPolicy::default()
        },
    );
    let once = client(&sb, RetryPolicy::never());

    // Half without automatic retries: the caller sees the unknown outcomes
    // and resolves each by repeating the call with the key the error names.
    let mut unknown = 0;
    for _ in 0..ORDERS / 2 {
        let price = quote(&retrying).await;
        match once.call::<ops::PlaceOtcOrder>(order(&price)).await {
            Ok(t) => executed(&t),
            Err(e) => {
                assert_eq!(e.outcome(), Outcome::Unknown, "{e}");
                assert!(e.to_string().contains("outcome unknown"), "{e}");
                let key = e.client_id().expect("the key is reported").to_owned();
                let t = retrying
                    .call_with::<ops::PlaceOtcOrder>(
                        order(&price),
                        CallOptions {
                            client_id: Some(key),
                            ..CallOptions::default()
                        },
                    )
                    .await
                    .unwrap();
                executed(&t);
                unknown += 1;
            }
        }
    }
    assert!(unknown > 0, "some answers were dropped");

    // Half with the client's own retries: every call returns its order.
    for _ in 0..ORDERS / 2 {
        let price = quote(&retrying).await;
        executed(
            &retrying
                .call::<ops::PlaceOtcOrder>(order(&price))
                .await
                .unwrap(),
        );
    }

    // Read them all back through the offset pager, over a range longer than
    // the operation's 30-day limit (split into windows), answers still dropped.
    let all = retrying.offset_items_in_range::<ops::GetOrdersPaginated>(
        Input {
            path: ops::GetOrdersPaginatedPath {
                start_date: String::new(),
                end_date: String::new(),
                page: 0,
                page_size: 50,
            },
            query: (),
            body: (),
        },
        datetime!(2024-12-01 00:00 UTC),
        datetime!(2025-02-20 00:00 UTC),
    );
    let got = collect_bounded(all, 10 * ORDERS).await.unwrap();
    assert!(!got.truncated);
    assert_eq!(got.items.len(), ORDERS, "exactly once");
    let ids: BTreeSet<_> = got.items.iter().map(|o| o.client_id.clone()).collect();
    assert_eq!(ids.len(), ORDERS, "distinct orders");

    // The lazy stream fetches only what is read.
    sb.drop_responses(0);
    let first_three: Vec<_> = retrying
        .offset_items::<ops::GetOrdersPaginated>(Input {
            path: ops::GetOrdersPaginatedPath {
                start_date: "2025-01-01T00:00:00Z".into(),
                end_date: "2025-01-02T00:00:00Z".into(),
                page: 0,
                page_size: 5,
            },
            query: (),
            body: (),
        })
        .take(3)
        .collect()
        .await;
    assert_eq!(first_three.len(), 3);
}
