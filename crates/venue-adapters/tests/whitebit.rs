//! WhiteBIT client against its loopback simulator, on tokio's paused clock.

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
    DeliveryPolicy, DisconnectReason, Events, RequestError, SessionConfig, SessionEvent,
    SessionHandle, Subscription, Update,
};
use venue_adapters::simulator::Sim;
use venue_adapters::simulator::whitebit::{Cmd, Config, WhiteBitSim};
use venue_adapters::whitebit::{
    self, ErrorCode, Event, Request, Response, TokenProvider, Topic, WhiteBit, WhiteBitConfig,
    WhiteBitError,
};
use venue_adapters::ws::Secret;

const BUF: DeliveryPolicy = DeliveryPolicy::Buffered { capacity: 1024 };

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn start() -> Arc<Sim<WhiteBitSim>> {
    Arc::new(
        Sim::start(WhiteBitSim::new(Config::default()))
            .await
            .unwrap(),
    )
}

fn provider(sim: &Arc<Sim<WhiteBitSim>>) -> Arc<dyn TokenProvider> {
    let sim = Arc::clone(sim);
    Arc::new(move || {
        let token = sim.venue().issue_token();
        async move { Ok::<Secret, String>(token) }
    })
}

fn client(
    sim: &Arc<Sim<WhiteBitSim>>,
    tokens: Option<Arc<dyn TokenProvider>>,
    tweak: impl FnOnce(&mut WhiteBitConfig),
) -> (SessionHandle<WhiteBit>, Events) {
    let mut config = WhiteBitConfig {
        url: sim.url("/ws"),
        ..WhiteBitConfig::default()
    };
    tweak(&mut config);
    whitebit::connect(config, tokens, SessionConfig::default())
}

async fn next_event(events: &mut Events, want: impl Fn(&SessionEvent) -> bool) -> SessionEvent {
    loop {
        let e = events.recv().await.expect("session ended");
        if want(&e) {
            return e;
        }
    }
}

async fn item(sub: &mut Subscription<WhiteBit>) -> Event {
    loop {
        match sub.recv().await.expect("subscription ended") {
            Update::Item(e) => return e,
            Update::Gap | Update::Lagged { .. } => {}
            Update::Rejected(r) => panic!("rejected: {r}"),
        }
    }
}

fn is_reconnected(e: &SessionEvent) -> bool {
    matches!(e, SessionEvent::Reconnected { .. })
}

#[tokio::test(start_paused = true)]
async fn answers_match_their_requests_and_ids_are_never_reused() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, Some(provider(&sim)), |_| {});
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let (a, b, c, d) = tokio::join!(
        h.request(Request::BalanceSpot {
            assets: vec!["USDT".into()]
        }),
        h.request(Request::LastPrice {
            market: "BTC_USDT".into()
        }),
        h.request(Request::Time),
        h.request(Request::OrdersPending {
            market: "ETH_USDT".into(),
            offset: 0,
            limit: 10
        }),
    );
    match a.unwrap() {
        Response::BalanceSpot(m) => {
            assert_eq!(m.len(), 1);
            assert_eq!(m["USDT"].available.to_string(), "100.123456789");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.unwrap(), Response::LastPrice(dec("68421.37")));
    assert_eq!(c.unwrap(), Response::Time(1_700_000_000));
    match d.unwrap() {
        Response::OrdersPending { total, records } => {
            assert_eq!(total, Some(1));
            assert_eq!(records[0].market, "ETH_USDT");
            assert_eq!(records[0].id, "4986126152");
            assert_eq!(records[0].ctime, Some(dec("1693.123456")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.request(Request::Ping).await.unwrap(), Response::Pong);
    // Reconnect, then more requests: ids keep growing.
    sim.drop_all();
    next_event(&mut ev, is_reconnected).await;
    h.request(Request::Time).await.unwrap();
    let ids: Vec<u64> = sim
        .transcript()
        .iter()
        .map(|(_, t)| {
            serde_json::from_str::<serde_json::Value>(t).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(ids.iter().all(|&i| i > 0), "{ids:?}");
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "an id was reused: {ids:?}");
    // authorize first on each connection, each with its own token.
    let t = sim.transcript();
    assert!(
        t.iter()
            .any(|(c, f)| *c == 1 && f.contains(r#""authorize","params":["wbt-1",""]"#))
    );
    assert!(
        t.iter()
            .any(|(c, f)| *c == 2 && f.contains(r#""authorize","params":["wbt-2",""]"#))
    );
    assert!(
        t.iter()
            .find(|(c, _)| *c == 2)
            .unwrap()
            .1
            .contains("authorize")
    );
}

#[tokio::test(start_paused = true)]
async fn pings_keep_an_idle_link_past_the_inactivity_close() {
    let sim = start().await;
    let (_h, mut ev) = client(&sim, None, |_| {});
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let started = tokio::time::Instant::now();
    // The simulator closes after 60 s without a client message; five
    // pings take the link past four minutes on one connection.
    sim.wait_for(|t, _| {
        t.iter()
            .filter(|(_, f)| f.contains(r#""method":"ping""#))
            .count()
            >= 5
    })
    .await;
    assert!(started.elapsed() >= Duration::from_secs(250));
    assert_eq!(sim.connections(), 1);
    let pings: Vec<_> = sim.transcript();
    assert!(pings.iter().all(|(c, _)| *c == 1));
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_ping_is_found_and_the_link_replaced() {
    let sim = start().await;
    let (_h, mut ev) = client(&sim, None, |_| {});
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    sim.set_stalled(true);
    let e = next_event(&mut ev, |e| matches!(e, SessionEvent::Reconnecting { .. })).await;
    match e {
        SessionEvent::Reconnecting { reason, .. } => {
            assert_eq!(
                reason,
                DisconnectReason::KeepAliveUnanswered(Duration::from_secs(10))
            );
        }
        other => panic!("{other:?}"),
    }
    sim.set_stalled(false);
    next_event(&mut ev, is_reconnected).await;
    assert_eq!(sim.connections(), 2);
}

#[tokio::test(start_paused = true)]
async fn reconnect_replays_subscriptions_with_a_fresh_token() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, Some(provider(&sim)), |_| {});
    let mut bal = h.subscribe(Topic::balance_spot("USDT"), BUF).await.unwrap();
    let mut px = h
        .subscribe(Topic::last_price("BTC_USDT"), BUF)
        .await
        .unwrap();
    let mut px2 = h
        .subscribe(Topic::last_price("ETH_USDT"), BUF)
        .await
        .unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    sim.wait_for(|t, _| {
        t.iter()
            .any(|(_, f)| f.contains(r#"["BTC_USDT","ETH_USDT"]"#))
    })
    .await;
    sim.drop_all();
    next_event(&mut ev, is_reconnected).await;
    assert_eq!(sim.venue().tokens_issued(), 2);
    // Gap markers first.
    assert_eq!(bal.recv().await, Some(Update::Gap));
    assert_eq!(px.recv().await, Some(Update::Gap));
    sim.wait_for(|t, _| t.iter().filter(|(c, _)| *c == 2).count() >= 3)
        .await;
    let second: Vec<String> = sim
        .transcript()
        .into_iter()
        .filter(|(c, _)| *c == 2)
        .map(|(_, f)| f)
        .collect();
    assert!(
        second[0].contains(r#""authorize","params":["wbt-2",""]"#),
        "{second:?}"
    );
    assert!(
        second
            .iter()
            .any(|f| f.contains(r#""balanceSpot_subscribe","params":["USDT"]"#)),
        "{second:?}"
    );
    // One merged request per channel.
    assert_eq!(
        second
            .iter()
            .filter(|f| f.contains("lastprice_subscribe"))
            .count(),
        1
    );
    assert!(
        second
            .iter()
            .any(|f| f.contains(r#""lastprice_subscribe","params":["BTC_USDT","ETH_USDT"]"#))
    );
    sim.command(Cmd::Balance {
        asset: "USDT".into(),
        available: "42.000000001".into(),
        freeze: "1".into(),
    });
    sim.command(Cmd::LastPrice {
        market: "ETH_USDT".into(),
        price: "3000.5".into(),
    });
    match item(&mut bal).await {
        Event::BalanceSpot { asset, balance } => {
            assert_eq!(asset, "USDT");
            assert_eq!(balance.available.to_string(), "42.000000001");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        item(&mut px2).await,
        Event::LastPrice {
            market: "ETH_USDT".into(),
            price: dec("3000.5")
        }
    );
    // Unsubscribing one market resends the channel's remaining list.
    drop(px);
    sim.wait_for(|t, _| {
        t.iter()
            .any(|(c, f)| *c == 2 && f.contains(r#""lastprice_subscribe","params":["ETH_USDT"]"#))
    })
    .await;
    drop(px2);
    sim.wait_for(|t, _| {
        t.iter()
            .any(|(c, f)| *c == 2 && f.contains("lastprice_unsubscribe"))
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn error_codes_are_typed() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, None, |_| {});
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let rpc = |r: Result<Response, RequestError<WhiteBitError>>| match r {
        Err(RequestError::Rejected(WhiteBitError::Rpc { code, .. })) => code,
        other => panic!("{other:?}"),
    };
    sim.venue().fail_next("lastprice_request", 5, "");
    assert_eq!(
        rpc(h
            .request(Request::LastPrice {
                market: "BTC_USDT".into()
            })
            .await),
        ErrorCode::ServiceTimeout
    );
    sim.venue().fail_next("time", 3, "");
    assert_eq!(
        rpc(h.request(Request::Time).await),
        ErrorCode::ServiceUnavailable
    );
    sim.venue().fail_next("time", 2, "");
    assert_eq!(
        rpc(h.request(Request::Time).await),
        ErrorCode::InternalError
    );
    assert_eq!(
        rpc(h.request(Request::BalanceSpot { assets: vec![] }).await),
        ErrorCode::RequireAuthentication
    );
    let raw = hercle_models::RawJson::from_text("[]").unwrap();
    assert_eq!(
        rpc(h
            .request(Request::Raw {
                method: "nope".into(),
                params: raw
            })
            .await),
        ErrorCode::MethodNotFound
    );
    assert_eq!(
        rpc(h
            .request(Request::LastPrice {
                market: "NOPE".into()
            })
            .await),
        ErrorCode::InvalidArgument
    );
    // A private subscription without a token is refused, and ends.
    let mut bal = h.subscribe(Topic::balance_spot("USDT"), BUF).await.unwrap();
    match bal.recv().await {
        Some(Update::Rejected(r)) => assert!(r.contains("code 6"), "{r}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(bal.recv().await, None);
}

#[tokio::test(start_paused = true)]
async fn a_stale_token_is_refreshed_once_then_the_session_stops() {
    let sim = start().await;
    // First token unknown to the venue: refused with code 1, the next is fresh.
    let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let tokens: Arc<dyn TokenProvider> = {
        let (sim, calls) = (Arc::clone(&sim), Arc::clone(&calls));
        Arc::new(move || {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let t = if n == 0 {
                Secret::new("wbt-unknown")
            } else {
                sim.venue().issue_token()
            };
            async move { Ok::<Secret, String>(t) }
        })
    };
    let (_h, mut ev) = client(&sim, Some(tokens), |_| {});
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);

    // A provider that only ever gives bad tokens: two refusals, then closed.
    let bad: Arc<dyn TokenProvider> =
        Arc::new(|| async { Ok::<Secret, String>(Secret::new("bad")) });
    let (_h2, mut ev2) = client(&sim, Some(bad), |_| {});
    match next_event(&mut ev2, |e| matches!(e, SessionEvent::Closed { .. })).await {
        SessionEvent::Closed { reason } => {
            let text = reason.to_string();
            assert!(text.contains("authorize"), "{text}");
            assert!(!text.contains("bad"), "the token leaked into {text}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn malformed_and_unknown_messages_do_not_break_the_stream() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, None, |_| {});
    let mut px = h
        .subscribe(Topic::last_price("BTC_USDT"), BUF)
        .await
        .unwrap();
    let mut other = h.subscribe(Topic::unrouted(), BUF).await.unwrap();
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    sim.wait_for(|t, _| t.iter().any(|(_, f)| f.contains("lastprice_subscribe")))
        .await;
    sim.inject("this is not json");
    sim.inject(r#"{"id":null,"method":"lastprice_update","params":["BTC_USDT",{"x":1}]}"#);
    sim.inject(r#"{"id":null,"method":"mystery_update","params":[1.000000000000000000001,"a"]}"#);
    sim.command(Cmd::LastPrice {
        market: "BTC_USDT".into(),
        price: "1.10".into(),
    });
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Malformed { .. })).await {
        SessionEvent::Malformed { raw, .. } => assert_eq!(raw, "this is not json"),
        other => panic!("{other:?}"),
    }
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Malformed { .. })).await {
        SessionEvent::Malformed { detail, .. } => {
            assert!(detail.contains("lastprice_update"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    match item(&mut other).await {
        Event::Raw { method, params } => {
            assert_eq!(method, "mystery_update");
            assert_eq!(params.get(), r#"[1.000000000000000000001,"a"]"#);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        item(&mut px).await,
        Event::LastPrice {
            market: "BTC_USDT".into(),
            price: dec("1.10")
        }
    );
    assert_eq!(sim.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_client_keeps_under_the_request_budget() {
    let sim = Arc::new(
        Sim::start(WhiteBitSim::new(Config {
            rate_limit: 20,
            ..Config::default()
        }))
        .await
        .unwrap(),
    );
    let (h, mut ev) = client(&sim, None, |c| c.rate_limit = 20);
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let started = tokio::time::Instant::now();
    let calls: Vec<_> = (0..45)
        .map(|_| h.request_within(Request::Time, Some(Duration::from_secs(300))))
        .collect();
    for r in futures_join_all(calls).await {
        assert_eq!(
            r.unwrap(),
            Response::Time(1_700_000_000),
            "the venue's limit was hit"
        );
    }
    // 18 a minute (2 kept for pings): the 45th goes out in the third window.
    assert!(
        started.elapsed() >= Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}

async fn futures_join_all<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let handles: Vec<_> = fs.into_iter().collect();
    // Drive them together: spawn-free, sequential awaiting of already
    // started requests is not possible, so poll with a local set.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    for r in results {
        out.extend(r);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_hundred_subscriptions_survive_ten_forced_reconnects() {
    let sim = start().await;
    let (h, mut ev) = client(&sim, Some(provider(&sim)), |_| {});
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    let mut subs = Vec::new();
    for i in 0..100 {
        let topic = if i % 2 == 0 {
            Topic::last_price(format!("M{i:03}_USDT"))
        } else {
            Topic::balance_spot(format!("A{i:03}"))
        };
        subs.push(h.subscribe(topic, BUF).await.unwrap());
    }
    for round in 0..10 {
        sim.drop_all();
        next_event(&mut ev, is_reconnected).await;
        let conn = round + 2;
        sim.wait_for(|t, _| {
            t.iter()
                .filter(|(c, f)| *c == conn && f.contains("_subscribe"))
                .count()
                == 2
        })
        .await;
    }
    assert_eq!(sim.connections(), 11);
    assert_eq!(sim.venue().tokens_issued(), 11);
    for i in 0..100 {
        if i % 2 == 0 {
            sim.command(Cmd::LastPrice {
                market: format!("M{i:03}_USDT"),
                price: format!("{i}.5"),
            });
        } else {
            sim.command(Cmd::Balance {
                asset: format!("A{i:03}"),
                available: format!("{i}.25"),
                freeze: "0".into(),
            });
        }
    }
    for (i, sub) in subs.iter_mut().enumerate() {
        let mut gaps = 0;
        let got = loop {
            match sub.recv().await.unwrap() {
                Update::Gap => gaps += 1,
                Update::Item(e) => break e,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(gaps, 10, "subscription {i}");
        match got {
            Event::LastPrice { price, .. } => assert_eq!(price, dec(&format!("{i}.5"))),
            Event::BalanceSpot { balance, .. } => {
                assert_eq!(balance.available, dec(&format!("{i}.25")))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_venue_rate_refusal_pauses_sending_and_a_refused_subscribe_is_retried() {
    // The venue allows 5 a minute, the client believes 200.
    let sim = Arc::new(
        Sim::start(WhiteBitSim::new(Config {
            rate_limit: 5,
            ..Config::default()
        }))
        .await
        .unwrap(),
    );
    let (h, mut ev) = client(&sim, None, |_| {});
    next_event(&mut ev, |e| matches!(e, SessionEvent::Connected)).await;
    for _ in 0..5 {
        h.request(Request::Time).await.unwrap();
    }
    match h.request(Request::Time).await {
        Err(RequestError::Rejected(WhiteBitError::Rpc {
            code: ErrorCode::TooManyRequests,
            ..
        })) => {}
        other => panic!("{other:?}"),
    }
    let t0 = tokio::time::Instant::now();
    // The subscribe waits out the pause, is then refused once more (code
    // 7) and goes out again under a new id.
    sim.venue().fail_next("lastprice_subscribe", 7, "");
    let mut px = h
        .subscribe(Topic::last_price("BTC_USDT"), BUF)
        .await
        .unwrap();
    // Refused while the venue's minute runs, re-sent once the client's
    // window has aged out, then accepted.
    let mut got = None;
    for _ in 0..30 {
        sim.command(Cmd::LastPrice {
            market: "BTC_USDT".into(),
            price: "7".into(),
        });
        if let Ok(u) = tokio::time::timeout(Duration::from_secs(5), px.recv()).await {
            got = u;
            break;
        }
    }
    match got {
        Some(Update::Item(e)) => assert_eq!(
            e,
            Event::LastPrice {
                market: "BTC_USDT".into(),
                price: dec("7")
            }
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        t0.elapsed() >= Duration::from_secs(55),
        "sent again without a pause: {:?}",
        t0.elapsed()
    );
    let subs: Vec<u64> = sim
        .transcript()
        .iter()
        .filter(|(_, f)| f.contains("lastprice_subscribe"))
        .map(|(_, f)| {
            serde_json::from_str::<serde_json::Value>(f).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(subs.len(), 2, "{subs:?}");
    let mut d = subs.clone();
    d.dedup();
    assert_eq!(d.len(), subs.len(), "a re-sent subscribe reused its id");
    // A raw request whose params are not an array is refused unsent.
    let raw = hercle_models::RawJson::from_text(r#"{"a":1}"#).unwrap();
    match h
        .request(Request::Raw {
            method: "time".into(),
            params: raw,
        })
        .await
    {
        Err(RequestError::Encode(WhiteBitError::Invalid(_))) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn plain_ws_is_refused_beyond_loopback() {
    let config = WhiteBitConfig {
        url: "ws://api.whitebit.com/ws".into(),
        ..WhiteBitConfig::default()
    };
    let (_h, mut ev) = whitebit::connect(config, None, SessionConfig::default());
    match next_event(&mut ev, |e| matches!(e, SessionEvent::Closed { .. })).await {
        SessionEvent::Closed { reason } => {
            assert!(
                reason.to_string().contains("only allowed to loopback"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}
