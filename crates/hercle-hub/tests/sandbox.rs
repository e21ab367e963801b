//! The client against the in-process sandbox on 127.0.0.1: calls, price
//! streams, and the sandbox's fault injection (drops, stalls, Close, 503).
//!
//! Real sockets on a running clock: the sandbox's own timers (price pushes,
//! keep-alives) are tokio timers too, and a paused clock would advance them
//! while bytes are in flight. Timeouts are made short through the builder
//! instead, and every wait is bounded.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use hercle_hub::{
    Arg, Backoff, DeliveryPolicy, HubBuilder, HubClient, HubError, Refusal, SessionEvent, Update,
};
use hercle_models::{Decimal, PriceQuote};
use hercle_sandbox::{Config, HubFault, Sandbox};
use tokio::time::timeout;

const KEY: &str = "sandbox-key";
const WAIT: Duration = Duration::from_secs(20);

async fn sandbox(price_interval: Duration) -> Sandbox {
    Sandbox::start(Config {
        price_interval,
        ..Config::default()
    })
    .await
    .unwrap()
}

fn builder(sb: &Sandbox) -> HubBuilder {
    HubBuilder::for_base_url(&sb.base_url())
        .api_key(KEY)
        .call_timeout(Duration::from_secs(10))
        .reconnect(
            Backoff::new()
                .base(Duration::from_millis(20))
                .cap(Duration::from_millis(200))
                .max_attempts(1000),
        )
}

async fn next_event(events: &mut hercle_hub::Events) -> SessionEvent {
    timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("events open")
}

async fn wait_for(
    events: &mut hercle_hub::Events,
    want: impl Fn(&SessionEvent) -> bool,
) -> SessionEvent {
    loop {
        let e = next_event(events).await;
        if want(&e) {
            return e;
        }
    }
}

async fn next_quote(s: &mut hercle_hub::PriceStream) -> PriceQuote {
    loop {
        match timeout(WAIT, s.next()).await.expect("an update in time") {
            Some(Update::Item(q)) => return q,
            Some(Update::Rejected(r)) => panic!("subscription rejected: {r}"),
            Some(_) => {}
            None => panic!("stream ended"),
        }
    }
}

/// The per-subscription number the sandbox puts in the last 12 hex digits.
fn number(q: &PriceQuote) -> u64 {
    let id = q.id.as_str();
    u64::from_str_radix(&id[id.len() - 12..], 16).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn pairs_prices_order_and_balances() {
    let sb = sandbox(Duration::from_millis(20)).await;
    let (hub, _events) = builder(&sb).connect().await.unwrap();
    let pairs = hub.get_pairs(&[]).await.unwrap();
    assert!(pairs.len() >= 5, "{pairs:?}");
    let first = &pairs[0];
    let pair = first.name.clone();
    let size = first.min_size.unwrap();
    let mut stream = hub
        .subscribe_prices(&pair, size, DeliveryPolicy::Buffered { capacity: 64 })
        .await
        .unwrap();
    let mut last = None;
    for _ in 0..5 {
        let q = next_quote(&mut stream).await;
        assert_eq!(q.pair, pair);
        last = Some(q);
    }
    let price_id = last.unwrap().id;
    let order_id = hub.fresh_client_id();
    let trade: hercle_models::TradeExecution = hub
        .call_with_id(
            "PlaceOtcOrder",
            &order_id,
            &[price_id.into(), "buy".into(), dec("0.5").into()],
        )
        .await
        .unwrap();
    assert_eq!(
        trade.status,
        hercle_models::OrderStatus::Executed,
        "{trade:?}"
    );
    let orders = hub.reconcile_order(&order_id).await.unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    let balances = hub.get_balances(&[]).await.unwrap();
    assert!(!balances.assets.unwrap_or_default().is_empty());
    drop(stream);
    hub.close().await;
}

#[tokio::test]
async fn quirk_09_array_and_spread_arguments_both_reach_the_sandbox() {
    // The docs invoke methods with one array argument and with spread
    // arguments; the client sends either, the server binds both alike.
    let sb = sandbox(Duration::from_secs(1)).await;
    let mut answers = Vec::new();
    for spread in [false, true] {
        let (hub, _events) = builder(&sb)
            .spread_arguments(spread)
            .connect()
            .await
            .unwrap();
        let size = hub
            .get_pair_size_by_amount(&["BTCUSDT".into(), "buy".into(), dec("1000").into()])
            .await
            .unwrap();
        assert!(size.size > dec("0"), "spread={spread}: {size:?}");
        answers.push(size.pair);
        hub.close().await;
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], "BTCUSDT");
}

#[tokio::test]
async fn refusals_are_typed_and_say_nothing_ran() {
    let sb = sandbox(Duration::from_secs(1)).await;
    let (hub, _events) = builder(&sb).connect().await.unwrap();
    // An unknown price id: the order is refused, not executed.
    let err = hub
        .place_otc_order(&["no-such-price".into(), "buy".into(), dec("0.5").into()])
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::Refused { .. }), "{err}");
    assert!(!err.is_outcome_unknown());
    // A negative page size is refused before anything runs.
    let err = hub
        .get_pair_size_by_amount(&["BTCUSDT".into(), "Sideways".into(), dec("-1").into()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            HubError::Refused {
                refusal: Refusal::PreChecks { .. } | Refusal::Failed { .. },
                ..
            }
        ),
        "{err}"
    );
    // Wrong arity never reaches the wire.
    let err = hub.get_pairs(&["extra".into()]).await.unwrap_err();
    assert!(
        matches!(
            err,
            HubError::Arguments {
                expected: 0,
                got: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        hub.call::<()>("NoSuchMethod", &[]).await,
        Err(HubError::UnknownMethod(_))
    ));
}

#[tokio::test]
async fn a_drop_mid_stream_reconnects_and_every_subscription_streams_again() {
    let sb = sandbox(Duration::from_millis(20)).await;
    let (hub, mut events) = builder(&sb).connect().await.unwrap();
    let mut a = hub
        .subscribe_prices(
            "BTCUSDT",
            dec("0.1"),
            DeliveryPolicy::Buffered { capacity: 1024 },
        )
        .await
        .unwrap();
    let mut b = hub
        .subscribe_prices("ETHUSDT", dec("1"), DeliveryPolicy::Latest)
        .await
        .unwrap();
    next_quote(&mut a).await;
    next_quote(&mut b).await;
    assert!(sb.inject_hub_fault(HubFault::Drop { connection: None }) >= 1);
    wait_for(&mut events, |e| {
        matches!(e, SessionEvent::Reconnecting { .. })
    })
    .await;
    wait_for(&mut events, |e| {
        matches!(e, SessionEvent::Reconnected { .. })
    })
    .await;
    // Each stream marks the break, then streams from the new subscription.
    for s in [&mut a, &mut b] {
        let mut saw_gap = false;
        loop {
            match timeout(WAIT, s.next()).await.unwrap().unwrap() {
                Update::Gap => saw_gap = true,
                Update::Item(q) if saw_gap => {
                    assert!(number(&q) >= 1);
                    break;
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn a_stalled_server_is_found_dead_within_the_server_timeout() {
    let sb = sandbox(Duration::from_millis(50)).await;
    let (hub, mut events) = builder(&sb)
        .server_timeout(Duration::from_millis(600))
        .keep_alive(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    let _s = hub
        .subscribe_prices("BTCUSDT", dec("0.1"), DeliveryPolicy::Latest)
        .await
        .unwrap();
    sb.inject_hub_fault(HubFault::Stall { connection: None });
    let e = wait_for(&mut events, |e| {
        matches!(e, SessionEvent::Reconnecting { .. })
    })
    .await;
    let SessionEvent::Reconnecting { reason, .. } = e else {
        unreachable!()
    };
    assert_eq!(
        reason,
        hercle_hub::DisconnectReason::Silent(Duration::from_millis(600))
    );
    wait_for(&mut events, |e| {
        matches!(e, SessionEvent::Reconnected { .. })
    })
    .await;
}

#[tokio::test]
async fn close_without_allow_reconnect_stops_with_the_servers_error() {
    let sb = sandbox(Duration::from_secs(1)).await;
    let (hub, mut events) = builder(&sb).connect().await.unwrap();
    sb.inject_hub_fault(HubFault::Close {
        connection: None,
        allow_reconnect: false,
        error: Some("account suspended".into()),
    });
    let e = wait_for(&mut events, |e| matches!(e, SessionEvent::Closed { .. })).await;
    assert!(e.to_owned_string().contains("account suspended"), "{e:?}");
    let err = hub.get_pairs(&[]).await.unwrap_err();
    assert!(matches!(err, HubError::NotSent { .. }), "{err}");
}

#[tokio::test]
async fn close_with_allow_reconnect_reconnects() {
    let sb = sandbox(Duration::from_secs(1)).await;
    let (hub, mut events) = builder(&sb).connect().await.unwrap();
    sb.inject_hub_fault(HubFault::Close {
        connection: None,
        allow_reconnect: true,
        error: Some("rolling restart".into()),
    });
    let e = wait_for(&mut events, |e| {
        matches!(e, SessionEvent::Reconnecting { .. })
    })
    .await;
    assert!(e.to_owned_string().contains("rolling restart"), "{e:?}");
    wait_for(&mut events, |e| {
        matches!(e, SessionEvent::Reconnected { .. })
    })
    .await;
    hub.get_pairs(&[]).await.unwrap();
}

#[tokio::test]
async fn negotiate_refused_with_503_backs_off_then_recovers() {
    let sb = sandbox(Duration::from_secs(1)).await;
    sb.start_maintenance(Duration::from_millis(800));
    let (hub, mut events) = builder(&sb).start();
    let mut refusals = 0;
    loop {
        match next_event(&mut events).await {
            SessionEvent::Reconnecting { reason, delay, .. } => {
                assert!(reason.to_string().contains("503"), "{reason}");
                assert!(delay <= Duration::from_millis(200));
                refusals += 1;
            }
            SessionEvent::Connected => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(refusals >= 1);
    hub.get_pairs(&[]).await.unwrap();
}

#[tokio::test]
async fn a_hundred_subscriptions_survive_ten_reconnects_none_lost_none_duplicated() {
    let sb = sandbox(Duration::from_millis(100)).await;
    let (hub, mut events) = builder(&sb).connect().await.unwrap();
    let pairs = ["BTCUSDT", "ETHUSDT", "BTCEUR", "ETHEUR", "USDTEUR"];
    let mut streams = Vec::new();
    for p in pairs {
        for i in 1..=20 {
            let size = Decimal::new(i, 1);
            streams.push(
                hub.subscribe_prices(p, size, DeliveryPolicy::Buffered { capacity: 4096 })
                    .await
                    .unwrap(),
            );
        }
    }
    assert_eq!(streams.len(), 100);
    for _ in 0..10 {
        sb.inject_hub_fault(HubFault::Drop { connection: None });
        wait_for(&mut events, |e| {
            matches!(e, SessionEvent::Reconnected { .. })
        })
        .await;
    }
    // After the last Gap each stream counts 1, 2, 3…: a duplicated
    // subscription would interleave two counts, a lost one would be silent.
    for s in &mut streams {
        let mut after_gap: Vec<u64> = Vec::new();
        let mut gaps = 0;
        loop {
            match timeout(WAIT, s.next()).await.unwrap().unwrap() {
                Update::Gap => {
                    gaps += 1;
                    after_gap.clear();
                }
                Update::Item(q) => after_gap.push(number(&q)),
                other => panic!("{other:?}"),
            }
            if gaps == 10 && after_gap.len() >= 3 {
                break;
            }
        }
        for w in after_gap.windows(2) {
            assert_eq!(w[1], w[0] + 1, "{after_gap:?}");
        }
    }
    let stats = hub.stats().await.unwrap();
    assert_eq!(stats.malformed, 0);
}

#[tokio::test]
async fn every_hub_method_is_called_and_decoded() {
    let sb = sandbox(Duration::from_millis(50)).await;
    let (hub, _events) = builder(&sb).connect().await.unwrap();
    let mut done: HashMap<&str, bool> = HashMap::new();
    let from = Arg::from("2024-12-29T00:00:00Z");
    let to = Arg::from("2025-01-05T00:00:00Z");
    let page = || -> [Arg; 2] { [1i64.into(), 10i64.into()] };
    macro_rules! ok {
        ($name:literal, $call:expr) => {{
            let r = $call.await;
            assert!(r.is_ok(), "{}: {:?}", $name, r.err());
            done.insert($name, true);
            r.unwrap()
        }};
    }
    ok!("GetPairs", hub.get_pairs(&[]));
    ok!("GetAssetNetworks", hub.get_asset_networks(&["BTC".into()]));
    ok!(
        "GetPairSizeByAmount",
        hub.get_pair_size_by_amount(&["BTCUSDT".into(), "buy".into(), dec("1000").into()])
    );
    let quote = ok!(
        "SubscribePairPriceChannel",
        hub.subscribe_pair_price_channel(&["BTCUSDT".into(), dec("0.1").into()])
    );
    let _ = quote;
    ok!(
        "UnsubscribePairPriceChannel",
        hub.unsubscribe_pair_price_channel(&["BTCUSDT".into(), dec("0.1").into()])
    );
    let mut s = hub
        .subscribe_prices("BTCUSDT", dec("0.1"), DeliveryPolicy::Latest)
        .await
        .unwrap();
    let price = next_quote(&mut s).await.id;
    let oid = hub.fresh_client_id();
    let _: hercle_models::PlaceOtcOrderData = hub
        .call_with_id(
            "PlaceOtcOrder",
            &oid,
            &[price.into(), "buy".into(), dec("0.5").into()],
        )
        .await
        .unwrap();
    done.insert("PlaceOtcOrder", true);
    let p = page();
    ok!(
        "GetOrdersPaginated",
        hub.get_orders_paginated(&[from.clone(), to.clone(), p[0].clone(), p[1].clone()])
    );
    ok!(
        "GetOrdersByClientId",
        hub.get_orders_by_client_id(&[oid.clone().into()])
    );
    ok!(
        "GetTradesPaginated",
        hub.get_trades_paginated(&[from.clone(), to.clone(), p[0].clone(), p[1].clone()])
    );
    ok!(
        "GetHistoricalTradesPaginated",
        hub.get_historical_trades_paginated(&[
            from.clone(),
            to.clone(),
            p[0].clone(),
            p[1].clone()
        ])
    );
    ok!(
        "GetTradesByClientId",
        hub.get_trades_by_client_id(&[oid.clone().into()])
    );
    ok!(
        "GetTransactionsPaginated",
        hub.get_transactions_paginated(&[from.clone(), to.clone(), p[0].clone(), p[1].clone()])
    );
    ok!(
        "GetHistoricalTransactionsPaginated",
        hub.get_historical_transactions_paginated(&[
            from.clone(),
            to.clone(),
            p[0].clone(),
            p[1].clone()
        ])
    );
    ok!(
        "CreateRequestForQuote",
        hub.create_request_for_quote(&[
            "BTCUSDT".into(),
            "buy".into(),
            dec("0.5").into(),
            Arg::Null
        ])
    );
    let rfq = ok!(
        "CreateRequestForQuoteWithCustomExpiration",
        hub.create_request_for_quote_with_custom_expiration(&[
            "BTCUSDT".into(),
            "buy".into(),
            dec("0.5").into(),
            Arg::Null,
            60i64.into()
        ])
    );
    let rfq_id = rfq.request_for_quote_id.clone();
    ok!(
        "AcceptRequestForQuote",
        hub.accept_request_for_quote(&[rfq_id.into()])
    );
    ok!("GetBalances", hub.get_balances(&[]));
    let addr = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
    ok!(
        "WhitelistAddress",
        hub.whitelist_address(&["cold".into(), "BTC".into(), addr.into(), "BTC".into()])
    );
    ok!(
        "GetWhitelistedAddresses",
        hub.get_whitelisted_addresses(&[])
    );
    let wid = hub.fresh_client_id();
    let _: hercle_models::WithdrawFundsData = hub
        .call_with_id(
            "WithdrawFunds",
            &wid,
            &["BTC".into(), dec("0.01").into(), addr.into(), "BTC".into()],
        )
        .await
        .unwrap();
    done.insert("WithdrawFunds", true);
    ok!(
        "WithdrawFundsWithAddressParams",
        hub.withdraw_funds_with_address_params(&[
            "BTC".into(),
            dec("0.01").into(),
            addr.into(),
            Arg::Null,
            "BTC".into(),
            false.into()
        ])
    );
    ok!(
        "WithdrawInstantFunds",
        hub.withdraw_instant_funds(&["BTC".into(), dec("0.01").into(), addr.into(), "BTC".into()])
    );
    ok!(
        "GetWithdrawalsPaginated",
        hub.get_withdrawals_paginated(&[from.clone(), to.clone(), p[0].clone(), p[1].clone()])
    );
    ok!(
        "GetWithdrawalsByClientId",
        hub.get_withdrawals_by_client_id(&[wid.into()])
    );
    ok!(
        "CreateDepositAddress",
        hub.create_deposit_address(&["BTC".into(), "BTC".into()])
    );
    ok!("GetDepositAddress", hub.get_deposit_address(&[]));
    ok!(
        "GetPayeesPaginated",
        hub.get_payees_paginated(&[from.clone(), to.clone(), p[0].clone(), p[1].clone()])
    );
    let payee = ok!(
        "RegisterPayee",
        hub.register_payee(&[
            0i64.into(),
            "Ada".into(),
            "Lovelace".into(),
            Arg::Null,
            "GB".into(),
            Arg::Null,
            "London".into(),
            "1 Analytical St".into(),
            "N1".into()
        ])
    );
    let payee_id = payee_id(&payee);
    ok!(
        "GetPayeeAddressesPaginated",
        hub.get_payee_addresses_paginated(&[
            payee_id.clone().into(),
            from.clone(),
            to.clone(),
            p[0].clone(),
            p[1].clone()
        ])
    );
    let pa = ok!(
        "RegisterPayeeAddress",
        hub.register_payee_address(&[
            payee_id.into(),
            "main".into(),
            "BTC".into(),
            addr.into(),
            Arg::Null,
            "BTC".into(),
            Arg::Null
        ])
    );
    let pa_id = payee_address_id(&pa);
    ok!(
        "TransferFunds",
        hub.transfer_funds(&[
            "BTC".into(),
            dec("0.01").into(),
            "fac_1".into(),
            pa_id.into(),
            "rent".into()
        ])
    );
    ok!(
        "GetTransfersPaginated",
        hub.get_transfers_paginated(&[from.clone(), to.clone(), p[0].clone(), p[1].clone()])
    );
    // A ledger lookup of an id the account never had: a typed refusal
    // (nothing decodes into the type), or the decoded ledger.
    match hub
        .get_transaction_ledger(&["00000000-0000-0000-0000-000000000000".into()])
        .await
    {
        Ok(_) | Err(HubError::Refused { .. }) => {
            done.insert("GetTransactionLedger", true);
        }
        Err(e) => panic!("GetTransactionLedger: {e}"),
    }
    ok!(
        "CreateLightningInvoice",
        hub.create_lightning_invoice(&[dec("0.0001").into(), "coffee".into(), 1i64.into()])
    );
    ok!("GetLightningInvoices", hub.get_lightning_invoices(&[]));
    ok!(
        "WithdrawLightning",
        hub.withdraw_lightning(&["lnbc10n1hash".into()])
    );
    let missing: Vec<_> = hercle_hub::COVERED_METHODS
        .iter()
        .filter(|m| !done.contains_key(*m))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}

trait EventText {
    fn to_owned_string(&self) -> String;
}

impl EventText for SessionEvent {
    fn to_owned_string(&self) -> String {
        match self {
            SessionEvent::Closed { reason } => reason.to_string(),
            SessionEvent::Reconnecting { reason, .. } => reason.to_string(),
            other => format!("{other:?}"),
        }
    }
}

#[allow(dead_code)]
fn _assert_client_is_clone(h: &HubClient) -> HubClient {
    h.clone()
}

fn payee_id(p: &hercle_models::RegisterPayeeData) -> String {
    let json = serde_json::to_string(p).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.get("id")
        .or_else(|| v.get("payeeId"))
        .and_then(|x| x.as_str())
        .unwrap_or_else(|| panic!("no payee id in {json}"))
        .to_owned()
}

fn payee_address_id(p: &hercle_models::RegisterPayeeAddressData) -> String {
    let json = serde_json::to_string(p).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.get("id")
        .or_else(|| v.get("payeeAddressId"))
        .and_then(|x| x.as_str())
        .unwrap_or_else(|| panic!("no address id in {json}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stateful_reconnect_a_drop_mid_stream_loses_and_repeats_nothing() {
    let sb = sandbox(Duration::from_micros(500)).await;
    let (hub, mut events) = builder(&sb)
        .stateful_reconnect(true)
        .ack_interval(Duration::from_millis(20))
        .connect()
        .await
        .unwrap();
    let mut s = hub
        .subscribe_prices(
            "BTCUSDT",
            dec("0.1"),
            DeliveryPolicy::Buffered { capacity: 20_000 },
        )
        .await
        .unwrap();
    let mut numbers = Vec::with_capacity(10_000);
    let mut dropped = false;
    while numbers.len() < 10_000 {
        match timeout(WAIT, s.next())
            .await
            .expect("an update in time")
            .unwrap()
        {
            Update::Item(q) => numbers.push(number(&q)),
            other => {
                let mut seen = Vec::new();
                while let Ok(Some(e)) = timeout(Duration::from_millis(200), events.recv()).await {
                    seen.push(e);
                }
                panic!(
                    "after {} updates: {other:?}; events {seen:?}",
                    numbers.len()
                )
            }
        }
        if numbers.len() == 5_000 && !dropped {
            assert!(sb.inject_hub_fault(HubFault::Drop { connection: None }) >= 1);
            dropped = true;
        }
    }
    let expected: Vec<u64> = (1..=10_000).collect();
    assert!(
        numbers == expected,
        "first mismatch at {:?}",
        numbers.iter().zip(&expected).position(|(a, b)| a != b)
    );
    // The drop was resumed, not reconnected.
    let e = wait_for(&mut events, |e| {
        matches!(
            e,
            SessionEvent::Resumed { .. } | SessionEvent::Reconnected { .. }
        )
    })
    .await;
    assert!(matches!(e, SessionEvent::Resumed { .. }), "{e:?}");
}

#[tokio::test]
async fn a_slow_reader_gets_an_explicit_lag_signal_or_only_the_latest_price() {
    let sb = sandbox(Duration::from_millis(5)).await;
    let (hub, _events) = builder(&sb).connect().await.unwrap();
    let mut buffered = hub
        .subscribe_prices(
            "BTCUSDT",
            dec("0.1"),
            DeliveryPolicy::Buffered { capacity: 2 },
        )
        .await
        .unwrap();
    let mut latest = hub
        .subscribe_prices("ETHUSDT", dec("1"), DeliveryPolicy::Latest)
        .await
        .unwrap();
    let mut pace = hub
        .subscribe_prices(
            "BTCEUR",
            dec("0.1"),
            DeliveryPolicy::Buffered { capacity: 1024 },
        )
        .await
        .unwrap();
    // Let 20 updates of a third stream go by without reading the other two.
    for _ in 0..20 {
        next_quote(&mut pace).await;
    }
    let Some(Update::Lagged { missed }) = timeout(WAIT, buffered.next()).await.unwrap() else {
        panic!("a full buffer says how much was dropped first")
    };
    assert!(missed >= 1);
    let a = next_quote(&mut buffered).await;
    let b = next_quote(&mut buffered).await;
    assert!(
        number(&b) > number(&a),
        "the newest two are kept, oldest first"
    );
    // Latest-only: one item, the newest; the next read is a newer one.
    let first = next_quote(&mut latest).await;
    assert!(
        number(&first) >= 10,
        "only the newest is kept: got #{}",
        number(&first)
    );
    let second = next_quote(&mut latest).await;
    assert!(number(&second) > number(&first));
}
