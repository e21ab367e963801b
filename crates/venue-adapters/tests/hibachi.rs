//! Hibachi account stream against its loopback simulator, on tokio's
//! paused clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use session_core::{
    CloseReason, DeliveryPolicy, DisconnectReason, Events, RequestError, SessionConfig,
    SessionEvent, SessionHandle, Subscription, Update,
};
use venue_adapters::hibachi::{
    self, Event, EventKind, Hibachi, HibachiConfig, HibachiError, Request, Topic,
};
use venue_adapters::simulator::Sim;
use venue_adapters::simulator::hibachi::{Cmd, Config, HibachiSim};
use venue_adapters::ws::Secret;

const BUF: DeliveryPolicy = DeliveryPolicy::Buffered { capacity: 1024 };

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn start() -> Arc<Sim<HibachiSim>> {
    Arc::new(
        Sim::start(HibachiSim::new(Config::default()))
            .await
            .unwrap(),
    )
}

fn client(sim: &Sim<HibachiSim>, key: &str) -> (SessionHandle<Hibachi>, Events) {
    let config = HibachiConfig {
        url: sim.url("/ws/account"),
        ..HibachiConfig::new("128", Secret::new(key))
    };
    hibachi::connect(config, SessionConfig::default())
}

async fn next_event(events: &mut Events, want: impl Fn(&SessionEvent) -> bool) -> SessionEvent {
    loop {
        let e = events.recv().await.expect("session ended");
        if want(&e) {
            return e;
        }
    }
}

async fn next(sub: &mut Subscription<Hibachi>) -> Update<Event> {
    sub.recv().await.expect("subscription ended")
}

async fn item(sub: &mut Subscription<Hibachi>) -> Event {
    loop {
        if let Update::Item(e) = next(sub).await {
            return e;
        }
    }
}

fn pings_with(t: &[(u64, String)], key: &str) -> usize {
    t.iter()
        .filter(|(_, f)| {
            f.contains("stream.ping") && f.contains(&format!(r#""listenKey":"{key}""#))
        })
        .count()
}

#[tokio::test(start_paused = true)]
async fn start_gives_a_key_and_a_snapshot_and_answers_match_requests() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, "hibachi-key");
    let mut acct = h.subscribe(Topic::Account, BUF).await.unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    match item(&mut acct).await.kind {
        EventKind::Snapshot(s) => {
            assert_eq!(s.account_id.as_deref(), Some("128"));
            assert_eq!(s.balance, Some(dec("910.997790")));
            assert_eq!(s.balance.unwrap().to_string(), "910.997790");
            assert_eq!(s.positions[0].quantity.unwrap().to_string(), "0.002552700");
            assert_eq!(
                s.positions[0].unrealized_trading_pnl,
                Some(dec("-0.003021"))
            );
        }
        other => panic!("{other:?}"),
    }
    let (a, b) = tokio::join!(h.request(Request::Ping), h.request(Request::Ping));
    a.unwrap();
    b.unwrap();
    let t = sim.transcript();
    assert!(
        t[0].1.contains(r#""method":"stream.start""#) && t[0].1.contains(r#""accountId":"128""#)
    );
    let ids: Vec<u64> = t
        .iter()
        .map(|(_, f)| {
            serde_json::from_str::<serde_json::Value>(f).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let mut dedup = ids.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(dedup.len(), ids.len());
    // A refused ping is a typed error.
    sim.venue().fail_pings(1);
    match h.request(Request::Ping).await {
        Err(RequestError::Rejected(HibachiError::Status {
            status: 500,
            error: Some(e),
        })) => {
            assert_eq!(e.get(), r#""internal""#);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn pings_keep_the_key_alive_well_inside_its_expiry() {
    let sim = start().await;
    let (_h, mut ev) = client(&sim, "hibachi-key");
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let t0 = tokio::time::Instant::now();
    sim.wait_for(|t, _| pings_with(t, "128-k1") >= 12).await;
    // A minute on one key, which would have expired six times over.
    assert!(t0.elapsed() >= Duration::from_secs(60));
    assert_eq!(sim.venue().starts(), 1);
    assert_eq!(sim.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_ping_restarts_the_stream_with_a_new_key() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, "hibachi-key");
    let mut acct = h.subscribe(Topic::Account, BUF).await.unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    sim.set_stalled(true);
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnecting { .. })).await {
        SessionEvent::Reconnecting { reason, .. } => {
            assert_eq!(
                reason,
                DisconnectReason::KeepAliveUnanswered(Duration::from_secs(5))
            );
        }
        other => panic!("{other:?}"),
    }
    sim.set_stalled(false);
    next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnected { .. })).await;
    assert!(matches!(
        next(&mut acct).await,
        Update::Item(Event {
            kind: EventKind::Snapshot(_),
            ..
        })
    ));
    assert_eq!(next(&mut acct).await, Update::Gap);
    assert!(matches!(
        next(&mut acct).await,
        Update::Item(Event {
            kind: EventKind::Snapshot(_),
            ..
        })
    ));
    // The stall swallowed a start (k2) too; pings now use the newest key.
    let key = format!("128-k{}", sim.venue().starts());
    sim.wait_for(|t, _| pings_with(t, &key) >= 1).await;
}

#[tokio::test(start_paused = true)]
async fn stream_expired_restarts_the_stream_and_close_stops_it() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, "hibachi-key");
    let mut acct = h.subscribe(Topic::Account, BUF).await.unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    assert!(matches!(item(&mut acct).await.kind, EventKind::Snapshot(_)));
    sim.command(Cmd::Expire);
    match item(&mut acct).await.kind {
        EventKind::StreamExpired(d) => assert_eq!(d.listen_key.as_deref(), Some("128-k1")),
        other => panic!("{other:?}"),
    }
    next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnected { .. })).await;
    assert_eq!(next(&mut acct).await, Update::Gap);
    assert!(matches!(item(&mut acct).await.kind, EventKind::Snapshot(_)));
    assert_eq!(sim.venue().starts(), 2);
    sim.wait_for(|t, _| pings_with(t, "128-k2") >= 1).await;
    // A refused ping (the key died without an event) also restarts.
    sim.venue().fail_pings(1);
    next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnected { .. })).await;
    assert_eq!(sim.venue().starts(), 3);
    h.close().await;
    sim.wait_for(|t, _| {
        t.iter()
            .any(|(_, f)| f.contains("stream.stop") && f.contains("128-k3"))
    })
    .await;
    assert_eq!(sim.venue().stops(), 1);
}

#[tokio::test(start_paused = true)]
async fn every_seed_event_is_typed_despite_its_inconsistencies() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, "hibachi-key");
    let mut acct = h.subscribe(Topic::Account, BUF).await.unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    assert!(matches!(item(&mut acct).await.kind, EventKind::Snapshot(_)));
    sim.command(Cmd::SeedEvents);
    let mut got = Vec::new();
    for _ in 0..19 {
        got.push(item(&mut acct).await);
    }
    let names: Vec<String> = got
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for name in hibachi::EVENT_NAMES {
        if *name != "stream_expired" {
            assert!(
                names.iter().any(|n| n == name),
                "{name} missing from {names:?}"
            );
        }
    }
    assert!(
        !got.iter()
            .any(|e| matches!(e.kind, EventKind::Unknown { .. }))
    );
    match &got[0].kind {
        EventKind::OrderCreation(d) => {
            assert_eq!(d.order_id.as_deref(), Some("578745035695106058"));
            assert_eq!(d.price, Some(dec("69762.24077")));
            assert_eq!(d.nonce, Some(1714701600000000));
        }
        other => panic!("{other:?}"),
    }
    match &got[1].kind {
        EventKind::OrderUpdate(d) => assert_eq!(d.executed_quantity, Some(dec("0.096987527"))),
        other => panic!("{other:?}"),
    }
    let by = |n: &str| {
        got.iter()
            .find(|e| serde_json::to_value(e).unwrap()["event"] == n)
            .unwrap()
            .clone()
    };
    match by("deposit_status_update").kind {
        EventKind::DepositStatusUpdate(d) => assert_eq!(d.deposit_quantity, Some(dec("1234"))),
        other => panic!("{other:?}"),
    }
    let nf = by("order_not_fully_matched");
    assert_eq!(nf.account.as_deref(), Some("2"));
    let tr = by("transfer_status_update");
    assert_eq!(tr.account.as_deref(), Some("128"));
    match tr.kind {
        EventKind::TransferStatusUpdate(d) => assert_eq!(d.is_instant_withdrawal, Some(true)),
        other => panic!("{other:?}"),
    }
    match by("withdraw_rejection").kind {
        EventKind::WithdrawRejection(d) => assert_eq!(d.withdraw_quantity, Some(dec("1234"))),
        other => panic!("{other:?}"),
    }
    match by("funding_settlement").kind {
        EventKind::FundingSettlement(d) => {
            assert_eq!(d.settled_amount.unwrap().to_string(), "0.8618780736305764");
        }
        other => panic!("{other:?}"),
    }
    // Money leaves as strings with every digit.
    let line = serde_json::to_string(&by("funding_settlement")).unwrap();
    assert!(
        line.contains(r#""settledAmount":"0.8618780736305764""#),
        "{line}"
    );
    assert_eq!(sim.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn malformed_and_unknown_events_are_kept_and_the_stream_goes_on() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, "hibachi-key");
    let mut acct = h.subscribe(Topic::Account, BUF).await.unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    assert!(matches!(item(&mut acct).await.kind, EventKind::Snapshot(_)));
    sim.inject("{not json");
    sim.inject(r#"{"event":"trade_update","account":"128","data":{"price":{"oops":1}}}"#);
    sim.inject(r#"{"event":"margin_call","account":"128","data":{"level":0.000000000000000000000000000001}}"#);
    sim.inject(r#"{"event":"ORDER_CREATED","account":128,"data":{"orderId":"7","symbol":"X","quantity":2}}"#);
    sim.command(Cmd::Trade {
        symbol: "BTC/USDT-P".into(),
        price: "70000.000001".into(),
    });
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Malformed { .. })).await {
        SessionEvent::Malformed { raw, .. } => assert_eq!(raw, "{not json"),
        other => panic!("{other:?}"),
    }
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Malformed { .. })).await {
        SessionEvent::Malformed { detail, .. } => {
            assert!(detail.contains("trade_update"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    match item(&mut acct).await.kind {
        EventKind::Unknown { name, raw } => {
            assert_eq!(name, "margin_call");
            assert!(raw.get().contains("0.000000000000000000000000000001"));
        }
        other => panic!("{other:?}"),
    }
    let created = item(&mut acct).await;
    assert_eq!(created.account.as_deref(), Some("128"));
    match created.kind {
        EventKind::OrderCreation(d) => assert_eq!(d.quantity, Some(dec("2"))),
        other => panic!("{other:?}"),
    }
    match item(&mut acct).await.kind {
        EventKind::TradeUpdate(d) => assert_eq!(d.price, Some(dec("70000.000001"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_key_closes_the_session() {
    let sim = start().await;
    let (_h, mut ev) = client(&sim, "wrong-key");
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Closed { .. })).await {
        SessionEvent::Closed {
            reason: CloseReason::Fatal(DisconnectReason::Connect(e)),
        } => {
            assert!(e.message.contains("401"), "{}", e.message);
            assert!(!e.message.contains("wrong-key"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.refused(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_hundred_subscriptions_survive_ten_forced_reconnects() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, "hibachi-key");
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let mut subs = Vec::new();
    for i in 0..100 {
        subs.push(
            h.subscribe(Topic::Symbol(format!("S{i:03}/USDT-P")), BUF)
                .await
                .unwrap(),
        );
    }
    for round in 0..10u64 {
        sim.drop_all();
        next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnected { .. })).await;
        sim.wait_for(|_, c| c == round + 2).await;
    }
    assert_eq!(sim.venue().starts(), 11);
    for i in 0..100 {
        sim.command(Cmd::Trade {
            symbol: format!("S{i:03}/USDT-P"),
            price: format!("{i}.01"),
        });
    }
    for (i, sub) in subs.iter_mut().enumerate() {
        let mut gaps = 0;
        let e = loop {
            match next(sub).await {
                Update::Gap => gaps += 1,
                Update::Item(e) => break e,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(gaps, 10, "subscription {i}");
        match e.kind {
            EventKind::TradeUpdate(d) => {
                assert_eq!(d.symbol, Some(format!("S{i:03}/USDT-P")));
                assert_eq!(d.price, Some(dec(&format!("{i}.01"))));
            }
            other => panic!("{other:?}"),
        }
    }
}
