//! AllenHark client against its loopback simulator, on tokio's paused
//! clock.

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
    CloseReason, DeliveryPolicy, DisconnectReason, Events, SessionConfig, SessionEvent,
    SessionHandle, Subscription, Update,
};
use venue_adapters::allenhark::{
    self, AllenHark, AllenHarkConfig, AuthReply, Event, Request, Topic,
};
use venue_adapters::simulator::Sim;
use venue_adapters::simulator::allenhark::{AllenHarkSim, AuthMode, Cmd, Config};
use venue_adapters::ws::Secret;

const BUF: DeliveryPolicy = DeliveryPolicy::Buffered { capacity: 1024 };

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn start(config: Config) -> Arc<Sim<AllenHarkSim>> {
    Arc::new(Sim::start(AllenHarkSim::new(config)).await.unwrap())
}

fn client(
    sim: &Sim<AllenHarkSim>,
    key: &str,
    auth: AuthReply,
) -> (SessionHandle<AllenHark>, Events) {
    let config = AllenHarkConfig {
        url: sim.url("/v1/ws"),
        auth,
        ..AllenHarkConfig::new(Secret::new(key))
    };
    allenhark::connect(config, SessionConfig::default())
}

async fn next_event(events: &mut Events, want: impl Fn(&SessionEvent) -> bool) -> SessionEvent {
    loop {
        let e = events.recv().await.expect("session ended");
        if want(&e) {
            return e;
        }
    }
}

async fn item(sub: &mut Subscription<AllenHark>) -> Event {
    loop {
        match sub.recv().await.expect("subscription ended") {
            Update::Item(e) => return e,
            Update::Rejected(r) => panic!("rejected: {r}"),
            _ => {}
        }
    }
}

fn subscribes(t: &[(u64, String)], conn: u64) -> usize {
    t.iter()
        .filter(|(c, f)| *c == conn && f.contains(r#""type":"subscribe""#))
        .count()
}

#[tokio::test(start_paused = true)]
async fn updates_reach_the_subscription_they_name() {
    let sim = start(Config {
        auth: AuthMode::Ack("auth_success".into()),
        ..Config::default()
    })
    .await;
    let auth = AuthReply::Await {
        success_types: vec!["auth_success".into()],
        timeout: Duration::from_secs(5),
    };
    let (h, mut ev) = client(&sim, "ah-key", auth);
    let mut p1 = h
        .subscribe(Topic::Price("MintA".into()), BUF)
        .await
        .unwrap();
    let mut p2 = h
        .subscribe(Topic::Price("MintB".into()), BUF)
        .await
        .unwrap();
    let mut bot = h
        .subscribe(Topic::Bot("bot_abc123".into()), BUF)
        .await
        .unwrap();
    let mut tx = h
        .subscribe(Topic::Transactions("Wallet1".into()), BUF)
        .await
        .unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    sim.wait_for(|t, _| subscribes(t, 1) == 4).await;
    let t = sim.transcript();
    // Compared as JSON: key order is serde_json's choice (it changes with
    // its `preserve_order` feature, which another crate may turn on).
    assert!(
        same_json(&t[0].1, r#"{"apiKey":"ah-key","type":"auth"}"#),
        "{}",
        t[0].1
    );
    assert!(t.iter().any(|(_, f)| same_json(
        f,
        r#"{"botId":"bot_abc123","channel":"bot","type":"subscribe"}"#
    )));
    sim.command(Cmd::Price {
        mint: "MintB".into(),
        price: "1.0001".into(),
    });
    sim.command(Cmd::Price {
        mint: "MintA".into(),
        price: "0.000000000000000000123456789".into(),
    });
    sim.command(Cmd::Bot {
        bot_id: "bot_abc123".into(),
        profit: "0.15".into(),
    });
    sim.command(Cmd::Confirmed {
        wallet: "Wallet1".into(),
        slot: 250123456,
        name_wallet: false,
    });
    match item(&mut p1).await {
        Event::PriceUpdate {
            mint,
            price,
            volume,
            timestamp,
        } => {
            assert_eq!(mint, "MintA");
            assert_eq!(price.unwrap().to_string(), "0.000000000000000000123456789");
            assert_eq!(volume, Some(dec("1000000")));
            assert!(timestamp.unwrap().get().is_some());
        }
        other => panic!("{other:?}"),
    }
    match item(&mut p2).await {
        Event::PriceUpdate { price, .. } => assert_eq!(price, Some(dec("1.0001"))),
        other => panic!("{other:?}"),
    }
    match item(&mut bot).await {
        Event::BotUpdate {
            bot_id,
            event,
            data,
        } => {
            assert_eq!(bot_id, "bot_abc123");
            assert_eq!(event.as_deref(), Some("trade_executed"));
            assert_eq!(data.unwrap().profit, Some(dec("0.15")));
        }
        other => panic!("{other:?}"),
    }
    match item(&mut tx).await {
        Event::TransactionConfirmed { slot, status, .. } => {
            assert_eq!(slot, Some(250123456));
            assert_eq!(status.as_deref(), Some("confirmed"));
        }
        other => panic!("{other:?}"),
    }
    // A request is a message written as is, done once written.
    let raw = hercle_models::RawJson::from_text(r#"{"type":"ping"}"#).unwrap();
    h.request(Request(raw)).await.unwrap();
    // Unsubscribe on drop.
    drop(p2);
    sim.wait_for(|t, _| {
        t.iter()
            .any(|(_, f)| f.contains("unsubscribe") && f.contains("MintB"))
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn pings_every_thirty_seconds_keep_the_link() {
    let sim = start(Config::default()).await;
    let (_h, mut ev) = client(&sim, "ah-key", AuthReply::Assume);
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let t0 = tokio::time::Instant::now();
    sim.wait_for(|t, _| t.iter().filter(|(_, f)| f == r#"{"type":"ping"}"#).count() >= 6)
        .await;
    assert!(t0.elapsed() >= Duration::from_secs(180));
    assert_eq!(sim.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_missing_pong_is_found_and_subscriptions_are_replayed_after_auth() {
    let sim = start(Config::default()).await;
    let (h, mut ev) = client(&sim, "ah-key", AuthReply::Assume);
    let mut p = h
        .subscribe(Topic::Price("MintA".into()), BUF)
        .await
        .unwrap();
    let _b = h.subscribe(Topic::Bot("b1".into()), BUF).await.unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    sim.set_stalled(true);
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnecting { .. })).await {
        SessionEvent::Reconnecting { reason, .. } => {
            assert_eq!(
                reason,
                DisconnectReason::KeepAliveUnanswered(Duration::from_secs(10))
            );
        }
        other => panic!("{other:?}"),
    }
    sim.set_stalled(false);
    next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnected { .. })).await;
    sim.wait_for(|t, _| subscribes(t, 2) == 2).await;
    let second: Vec<String> = sim
        .transcript()
        .into_iter()
        .filter(|(c, _)| *c == 2)
        .map(|(_, f)| f)
        .collect();
    assert!(second[0].contains(r#""type":"auth""#), "{second:?}");
    assert_eq!(p.recv().await, Some(Update::Gap));
    sim.command(Cmd::Price {
        mint: "MintA".into(),
        price: "2".into(),
    });
    assert!(matches!(item(&mut p).await, Event::PriceUpdate { .. }));
}

#[tokio::test(start_paused = true)]
async fn errors_are_typed_and_refusals_end_their_subscription() {
    let sim = start(Config::default()).await;
    sim.venue().refuse("price", "Bad");
    let (h, mut ev) = client(&sim, "ah-key", AuthReply::Assume);
    let mut other = h.subscribe(Topic::Unrouted, BUF).await.unwrap();
    let mut bad = h.subscribe(Topic::Price("Bad".into()), BUF).await.unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    match bad.recv().await {
        Some(Update::Rejected(r)) => assert_eq!(r, "subscription refused"),
        other => panic!("{other:?}"),
    }
    assert_eq!(bad.recv().await, None);
    // An error naming no subscription goes to the catch-all topic.
    sim.inject(r#"{"type":"error","message":"slow down","code":429}"#);
    match item(&mut other).await {
        Event::Error { message, code, raw } => {
            assert_eq!(message.as_deref(), Some("slow down"));
            assert_eq!(code.as_deref(), Some("429"));
            assert!(raw.get().contains("slow down"));
        }
        other => panic!("{other:?}"),
    }

    // Awaiting an auth answer: a wrong key's error closes the session.
    let sim2 = start(Config {
        auth: AuthMode::Ack("auth_success".into()),
        ..Config::default()
    })
    .await;
    let auth = AuthReply::Await {
        success_types: vec!["auth_success".into()],
        timeout: Duration::from_secs(5),
    };
    let (_h2, mut ev2) = client(&sim2, "wrong", auth);
    match next_event(&mut ev2, |e| matches!(e, SessionEvent::Closed { .. })).await {
        SessionEvent::Closed {
            reason: CloseReason::Fatal(DisconnectReason::StepFailed { step, message }),
        } => {
            assert_eq!(step, "auth");
            assert!(message.contains("unauthorized"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn malformed_and_unknown_messages_are_kept_and_the_stream_goes_on() {
    let sim = start(Config::default()).await;
    let (h, mut ev) = client(&sim, "ah-key", AuthReply::Assume);
    let mut other = h.subscribe(Topic::Unrouted, BUF).await.unwrap();
    let mut p = h
        .subscribe(Topic::Price("MintA".into()), BUF)
        .await
        .unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    sim.wait_for(|t, _| subscribes(t, 1) == 1).await;
    sim.inject("<<garbage>>");
    sim.inject(r#"{"type":"price_update","price":1}"#);
    sim.inject(r#"{"type":"liquidation","size":12345678901234567890.5}"#);
    sim.command(Cmd::Price {
        mint: "MintA".into(),
        price: "3.14".into(),
    });
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Malformed { .. })).await {
        SessionEvent::Malformed { raw, .. } => assert_eq!(raw, "<<garbage>>"),
        other => panic!("{other:?}"),
    }
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Malformed { .. })).await {
        SessionEvent::Malformed { detail, .. } => assert!(detail.contains("mint"), "{detail}"),
        other => panic!("{other:?}"),
    }
    match item(&mut other).await {
        Event::Unknown { name, raw } => {
            assert_eq!(name, "liquidation");
            assert!(raw.get().contains("12345678901234567890.5"));
        }
        other => panic!("{other:?}"),
    }
    match item(&mut p).await {
        Event::PriceUpdate { price, .. } => assert_eq!(price, Some(dec("3.14"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_hundred_subscriptions_survive_ten_forced_reconnects() {
    let sim = start(Config::default()).await;
    let (h, mut ev) = client(&sim, "ah-key", AuthReply::Assume);
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let topic = |i: usize| match i % 3 {
        0 => Topic::Price(format!("Mint{i}")),
        1 => Topic::Bot(format!("bot{i}")),
        _ => Topic::Transactions(format!("Wallet{i}")),
    };
    let mut subs = Vec::new();
    for i in 0..100 {
        subs.push(h.subscribe(topic(i), BUF).await.unwrap());
    }
    for round in 0..10u64 {
        sim.drop_all();
        next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnected { .. })).await;
        sim.wait_for(|t, _| subscribes(t, round + 2) == 100).await;
    }
    for i in 0..100 {
        let cmd = match topic(i) {
            Topic::Price(mint) => Cmd::Price {
                mint,
                price: format!("{i}.5"),
            },
            Topic::Bot(bot_id) => Cmd::Bot {
                bot_id,
                profit: format!("{i}.25"),
            },
            Topic::Transactions(wallet) => Cmd::Confirmed {
                wallet,
                slot: i as u64,
                name_wallet: true,
            },
            Topic::Unrouted => unreachable!(),
        };
        sim.command(cmd);
    }
    for (i, sub) in subs.iter_mut().enumerate() {
        let mut gaps = 0;
        let e = loop {
            match sub.recv().await.unwrap() {
                Update::Gap => gaps += 1,
                Update::Item(e) => break e,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(gaps, 10, "subscription {i}");
        match e {
            Event::PriceUpdate { price, .. } => assert_eq!(price, Some(dec(&format!("{i}.5")))),
            Event::BotUpdate { data, .. } => {
                assert_eq!(data.unwrap().profit, Some(dec(&format!("{i}.25"))))
            }
            Event::TransactionConfirmed { slot, .. } => assert_eq!(slot, Some(i as i64)),
            other => panic!("{other:?}"),
        }
    }
}

fn same_json(a: &str, b: &str) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    parse(a).is_some() && parse(a) == parse(b)
}
