//! Documentation quirks (shared/hercle-api/README.md) tested where they
//! bite: the client decoding real sandbox answers, or canned answers for
//! what the sandbox never sends. Also gzip, the body limit and decode paths.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use hercle_models::ops;
use hercle_rest::{Client, ErrorKind, Outcome, RetryPolicy};
use hercle_sandbox::{ApiKey, Config};
use std::io::Write as _;
use support::*;

fn canned_client(url: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(url)
        .retry(RetryPolicy::never())
        .build()
        .unwrap()
}

const TRADE: &str = r#"{"tradeId":"t1","side":"buy","pair":"BTCUSDT","price":26800.5,"size":0.1,"notional":2680.05,"status":1}"#;

#[tokio::test]
async fn quirk_17_create_deposit_address_201_with_an_empty_body() {
    let (url, _) = canned(vec![answer(201, ""), answer(201, r#"{"address":"bc1q"}"#)]).await;
    let c = canned_client(&url);
    let b = || body(r#"{"asset":"EUR","network":"Sepa"}"#);
    assert!(c.create_deposit_address(b()).await.unwrap().is_none());
    let made = c.create_deposit_address(b()).await.unwrap().unwrap();
    assert_eq!(made.address.as_deref(), Some("bc1q"));
    // Elsewhere an empty 2xx body is a decode error, not a silent default.
    let (url, _) = canned(vec![answer(200, "")]).await;
    let e = canned_client(&url).get_pairs().await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Decode { .. }), "{e:?}");
    assert_eq!(e.outcome(), Outcome::Processed);
}

#[tokio::test]
async fn quirk_13_both_error_formats_and_in_band_failures() {
    let (url, _) = canned(vec![
        answer(400, r#"{"code":"bad_pair","message":"Unknown pair"}"#),
        answer(
            400,
            r#"{"error":{"code":"invalid_request","message":"m","param":"size","type":"invalid_request_error"}}"#,
        ),
        answer(201, r#"{"httpStatusCode":409,"message":"Address already whitelisted"}"#),
        answer(500, "<html>oops</html>"),
    ])
    .await;
    let c = canned_client(&url);
    let e = c.get_pairs().await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Some("bad_pair"), Some("Unknown pair"))
    );
    let e = c.get_pairs().await.unwrap_err();
    assert_eq!(
        (e.code(), e.param()),
        (Some("invalid_request"), Some("size"))
    );
    let e = c
        .whitelist_address(body(
            r#"{"name":"n","asset":"BTC","address":"a","network":"Bitcoin"}"#,
        ))
        .await
        .unwrap_err();
    let ErrorKind::InBand {
        status,
        http_status_code,
        message,
    } = e.kind()
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*status, *http_status_code, message.as_deref()),
        (201, Some(409), Some("Address already whitelisted"))
    );
    assert_eq!(e.outcome(), Outcome::Processed);
    // A body that is no documented format is kept out, the status stays.
    let e = c.get_pairs().await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(500), None));
    assert_eq!(e.outcome(), Outcome::Unknown);
}

#[tokio::test]
async fn a_rejected_order_is_a_201_reported_in_band() {
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::never());
    let e = c
        .place_otc_order(body(r#"{"priceId":"nope","side":"sell","slippage":0.5}"#))
        .await
        .unwrap_err();
    let ErrorKind::InBand {
        status, message, ..
    } = e.kind()
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*status, message.as_deref()),
        (201, Some("Price not found"))
    );
    assert!(e.may_have_executed() && e.client_id().is_some());
}

#[tokio::test]
async fn quirk_14_accept_rfq_answers_200_or_201() {
    let (url, _) = canned(vec![answer(200, TRADE), answer(201, TRADE)]).await;
    let c = canned_client(&url);
    for _ in 0..2 {
        let t = c
            .accept_rfq(body(r#"{"requestForQuoteId":"r1"}"#))
            .await
            .unwrap();
        assert_eq!(t.price, Some(d("26800.5")));
    }
}

#[tokio::test]
async fn required_fields_the_examples_omit_are_named_by_the_server() {
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::never());
    // Quirk 21: the docs' example omits isInstant.
    let e = c
        .withdraw_with_address_params(body(
            r#"{"asset":"GBP","amount":1000,"address":"GB33BUKB20201555555555","addressParams":{},"network":"Faster Payments"}"#,
        ))
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.param()), (Some(400), Some("isInstant")));
    // Quirk 26: fiatAccountId is required for fiat assets only.
    let e = c
        .create_deposit_account(body(r#"{"asset":"EUR","network":"Sepa"}"#))
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.param()), (Some(400), Some("fiatAccountId")));
    // Quirk 28: ranges are not refused client-side; the server's answer surfaces.
    let e = c
        .get_trades_paginated(ops::GetTradesPaginatedPath {
            start_date: "2025-01-01T00:00:00Z".into(),
            end_date: "2025-01-20T00:00:00Z".into(),
            page: 0,
            page_size: 5,
        })
        .await
        .unwrap_err();
    // A well-formed range the server refuses: 422, as the docs' errors page
    // has it (api/README.md).
    assert_eq!((e.status(), e.param()), (Some(422), Some("endDate")));
}

#[tokio::test]
async fn quirk_36_the_key_is_an_opaque_bearer_string() {
    let jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    let mut config = Config::default();
    config.api_keys.push(ApiKey {
        key: jwt_like.into(),
        kyc_approved: true,
    });
    let sb = sandbox(config).await;
    let c = Client::builder()
        .api_key(jwt_like)
        .base_url(sb.base_url())
        .build()
        .unwrap();
    assert!(!c.get_pairs().await.unwrap().is_empty());
    assert!(!format!("{c:?}").contains("eyJ"));
}

#[tokio::test]
async fn gzip_bodies_are_inflated_within_the_limit() {
    let json = format!(
        "[{}]",
        vec![r#"{"name":"BTCUSDT","minSize":0.0001}"#; 200].join(",")
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json.as_bytes()).unwrap();
    let zipped = gz.finish().unwrap();
    let mut a = answer(200, "");
    a.body = zipped;
    a.headers.push(("content-encoding", "gzip".to_owned()));
    let (url, _) = canned(vec![a]).await;
    let pairs = canned_client(&url).get_pairs().await.unwrap();
    assert_eq!(pairs.len(), 200);
    assert_eq!(pairs[199].min_size, Some(d("0.0001")));
    // The limit applies to what the body inflates to.
    let small = Client::builder()
        .api_key(KEY)
        .base_url(&url)
        .max_body_bytes(1_000)
        .build()
        .unwrap();
    let e = small.get_pairs().await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BodyTooLarge(1_000)), "{e:?}");
}

#[tokio::test]
async fn decode_errors_name_the_json_path() {
    let (url, _) = canned(vec![answer(
        200,
        r#"{"id":"q1","buyPrice":"not a number","pair":"BTCUSDT"}"#,
    )])
    .await;
    let e = canned_client(&url)
        .get_pair_price(ops::GetPairPricePath {
            pair: "BTCUSDT".into(),
            size: d("1"),
        })
        .await
        .unwrap_err();
    let ErrorKind::Decode { status, error } = e.kind() else {
        panic!("{e:?}")
    };
    assert_eq!((*status, error.path()), (200, "buyPrice"));
    assert!(
        e.to_string().starts_with("GetPairPrice: HTTP 200, but"),
        "{e}"
    );
}

#[tokio::test]
async fn quirk_15_custom_rfq_needs_every_field_and_amount_0_skips() {
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::never());
    // The docs' example omits expirationInSeconds: the server names it.
    let e = c
        .create_rfq_custom_expiration(body(
            r#"{"pair":"BTCUSDT","side":"buy","size":0.1,"amount":0}"#,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.param()),
        (Some(400), Some("expirationInSeconds"))
    );
    // Every field sent, the unused amount as 0: a quote for the size.
    let rfq = c
        .create_rfq_custom_expiration(body(
            r#"{"pair":"BTCUSDT","side":"buy","size":0.1,"amount":0,"expirationInSeconds":60}"#,
        ))
        .await
        .unwrap();
    assert!(!rfq.request_for_quote_id.is_empty());
    assert!(rfq.expire_date_time.unwrap().get().is_some());
}

#[tokio::test]
async fn quirk_32_instruments_are_opaque_and_pairs_go_without_separator() {
    // Trades carry the instrument in any of the formats the sources show.
    let trades = r#"[{"id":"1","instrument":"BTC/USDT","side":"buy","price":1},{"id":"2","instrument":"BTC-USD","side":"sell","price":2},{"id":"3","instrument":"BTCUSDT","side":"buy","price":3}]"#;
    let (url, _) = canned(vec![answer(200, trades)]).await;
    let got = canned_client(&url)
        .get_trades_by_client_id(ops::GetTradesByClientIdPath {
            trade_client_id: "t".into(),
        })
        .await
        .unwrap();
    let names: Vec<_> = got.iter().map(|t| t.instrument.as_str()).collect();
    assert_eq!(names, ["BTC/USDT", "BTC-USD", "BTCUSDT"]);
    // Pairs are sent without separator; a separated one is refused by name.
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::never());
    let price = |pair: &str| ops::GetPairPricePath {
        pair: pair.into(),
        size: d("0.5"),
    };
    assert_eq!(
        c.get_pair_price(price("BTCUSDT")).await.unwrap().pair,
        "BTCUSDT"
    );
    let e = c.get_pair_price(price("BTC/USDT")).await.unwrap_err();
    assert_eq!((e.status(), e.param()), (Some(400), Some("pair")), "{e}");
}

#[tokio::test]
async fn quirk_33_networks_match_case_insensitively_and_come_back_as_sent() {
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::never());
    c.whitelist_address(body(
        r#"{"name":"cold","asset":"ETH","address":"0x000000000000000000000000000000000000dEaD","network":"Ethereum"}"#,
    ))
    .await
    .unwrap();
    // Postman's lower-case `ethereum` still reaches the whitelisted address.
    let made = c
        .withdraw(body(
            r#"{"asset":"ETH","amount":0.5,"address":"0x000000000000000000000000000000000000dEaD","network":"ethereum"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(made.first().unwrap().amount, Some(d("0.5")));
    let listed = c
        .get_withdrawals(ops::GetWithdrawalsQuery {
            network: Some("ETHEREUM".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

#[test]
fn quirk_35_presets_are_the_documented_hosts_not_postmans_dev_host() {
    let c = Client::builder().api_key(KEY).build().unwrap();
    assert_eq!(c.base_url(), "https://publicapi.hercle.financial");
    let c = Client::builder().api_key(KEY).sandbox().build().unwrap();
    assert_eq!(c.base_url(), "https://publicapi.sandbox.hercle.financial");
    // Nothing falls back to the collection's host.
    let c = Client::builder()
        .api_key(KEY)
        .from_vars(|_| None)
        .build()
        .unwrap();
    assert!(!c.base_url().contains(".dev."));
}

#[tokio::test]
async fn quirk_38_pair_limits_are_the_servers_data() {
    let mut config = Config::default();
    let mut pair = hercle_sandbox::PairConfig::new("BTCUSDT", "BTC", "USDT", d("26800"), 2);
    pair.min_quote_size = d("15");
    pair.max_size = d("7");
    config.pairs = vec![pair];
    let sb = sandbox(config).await;
    let pairs = client(&sb, RetryPolicy::never()).get_pairs().await.unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(
        (pairs[0].min_quote_size, pairs[0].max_size),
        (Some(d("15")), Some(d("7")))
    );
}
