//! The session driven end to end over in-memory duplex streams, on tokio's
//! paused clock: every wait below is virtual time the runtime advances only
//! when every task is idle, so the assertions on instants are exact.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "toy/protocol.rs"]
mod toy;

use std::time::Duration;

use session_core::{
    Backoff, CloseReason, ConnectError, ConnectStage, DeliveryPolicy, DisconnectReason, Events,
    FixedDelays, KeepAlive, KeepAliveMode, NotSent, ReconnectPolicy, RequestError, SessionConfig,
    SessionEvent, SessionHandle, Unanswered, Update,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use toy::{By, Key, Msg, Peer, Req, Toy, ToyConnector, ToyError};

const S: fn(u64) -> Duration = Duration::from_secs;

fn config(policy: impl ReconnectPolicy) -> SessionConfig {
    SessionConfig {
        reconnect: Box::new(policy),
        ..SessionConfig::default()
    }
}

struct Harness {
    handle: SessionHandle<Toy>,
    events: Events,
    accepts: mpsc::UnboundedReceiver<Peer>,
    #[allow(dead_code)]
    connector: ToyConnector,
}

fn start(toy: Toy, config: SessionConfig) -> Harness {
    let (connector, accepts) = ToyConnector::new();
    let (handle, events) = session_core::spawn(toy, connector.clone(), config);
    Harness {
        handle,
        events,
        accepts,
        connector,
    }
}

impl Harness {
    async fn accept(&mut self) -> Peer {
        toy::guard("a connection", self.accepts.recv())
            .await
            .expect("connector gone")
    }

    /// Accept and complete the handshake; returns the peer.
    async fn connect(&mut self) -> Peer {
        let mut peer = self.accept().await;
        peer.handshake().await;
        peer
    }

    async fn event(&mut self) -> SessionEvent {
        toy::guard("an event", self.events.recv())
            .await
            .expect("events ended")
    }

    async fn event_matching(&mut self, f: impl Fn(&SessionEvent) -> bool) -> SessionEvent {
        loop {
            let e = self.event().await;
            if f(&e) {
                return e;
            }
        }
    }
}

fn reason_of(e: &SessionEvent) -> &DisconnectReason {
    match e {
        SessionEvent::Reconnecting { reason, .. } => reason,
        other => panic!("not Reconnecting: {other:?}"),
    }
}

// ---- keep-alive ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn keep_alive_after_send_silence_on_schedule() {
    let mut toy = Toy::new();
    toy.keep_alive = Some(KeepAlive {
        interval: S(15),
        mode: KeepAliveMode::SendIdle,
        reply_within: None,
    });
    let mut h = start(toy, config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    assert_eq!(h.event().await, SessionEvent::Connected);
    let t0 = Instant::now();

    let mut pings = Vec::new();
    for _ in 0..2 {
        let ping = peer.recv().await;
        assert!(ping.is("ping"), "{ping:?}");
        pings.push(Instant::now() - t0);
        peer.reply(&ping, "pong").await;
    }
    assert_eq!(pings, [S(15), S(30)]);

    // A request 5 s after the second ping postpones the next one: the
    // interval counts from the last frame sent, not the last ping.
    tokio::time::sleep(S(5)).await;
    let h2 = h.handle.clone();
    let call = tokio::spawn(async move { h2.request(Req::new("echo", "x", By::Id)).await });
    let req = peer.recv().await;
    assert!(req.is("echo"));
    assert_eq!(Instant::now() - t0, S(35));
    peer.reply(&req, "x").await;
    assert_eq!(call.await.unwrap(), Ok("x".to_owned()));
    let ping = peer.recv().await;
    assert!(ping.is("ping"));
    assert_eq!(Instant::now() - t0, S(50));
}

#[tokio::test(start_paused = true)]
async fn keep_alive_every_interval_ignores_other_traffic() {
    let mut toy = Toy::new();
    toy.keep_alive = Some(KeepAlive {
        interval: S(10),
        mode: KeepAliveMode::Every,
        reply_within: None,
    });
    let mut h = start(toy, config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let t0 = Instant::now();
    // Fire-and-forget requests every 3 s do not delay the pings.
    let handle = h.handle.clone();
    tokio::spawn(async move {
        for _ in 0..10 {
            tokio::time::sleep(S(3)).await;
            handle
                .request(Req::new("note", "n", By::Fire))
                .await
                .unwrap();
        }
    });
    let mut pings = Vec::new();
    while pings.len() < 3 {
        let m = peer.recv().await;
        if m.is("ping") {
            pings.push(Instant::now() - t0);
        } else {
            assert!(m.is("note"));
        }
    }
    assert_eq!(pings, [S(10), S(20), S(30)]);
}

// ---- liveness -------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn silent_peer_is_declared_dead_at_the_liveness_deadline() {
    let mut toy = Toy::new();
    toy.liveness = Some(S(30));
    let mut h = start(toy, config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    assert_eq!(h.event().await, SessionEvent::Connected);
    let t0 = Instant::now();
    // Traffic at 20 s moves the deadline to 50 s.
    tokio::time::sleep(S(20)).await;
    peer.send_raw("not json").await;
    let e = h.event().await;
    assert!(
        matches!(e, SessionEvent::Malformed { ref raw, .. } if raw == "not json"),
        "{e:?}"
    );
    let e = h.event().await;
    assert_eq!(reason_of(&e), &DisconnectReason::Silent(S(30)));
    assert_eq!(Instant::now() - t0, S(50));
    // The dead link was closed on our side.
    assert!(peer.try_recv().await.is_none());
    // And the session reconnects (first SignalR delay is 0).
    let _peer = h.connect().await;
    assert!(matches!(h.event().await, SessionEvent::Reconnected { downtime } if downtime == S(0)));
}

#[tokio::test(start_paused = true)]
async fn unanswered_keep_alive_drops_the_link() {
    let mut toy = Toy::new();
    toy.keep_alive = Some(KeepAlive {
        interval: S(50),
        mode: KeepAliveMode::Every,
        reply_within: Some(S(10)),
    });
    let mut h = start(toy, config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let t0 = Instant::now();
    let ping = peer.recv().await;
    assert!(ping.is("ping"));
    peer.reply(&ping, "pong").await; // answered: fine
    let ping = peer.recv().await; // at 100 s; left unanswered
    assert!(ping.is("ping"));
    assert_eq!(Instant::now() - t0, S(100));
    let e = h
        .event_matching(|e| matches!(e, SessionEvent::Reconnecting { .. }))
        .await;
    assert_eq!(reason_of(&e), &DisconnectReason::KeepAliveUnanswered(S(10)));
    assert_eq!(Instant::now() - t0, S(110));
}

// ---- establish steps --------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn handshake_step_timeout_then_recovery() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.accept().await;
    let t0 = Instant::now();
    let hello = peer.recv().await;
    assert!(hello.is("hello"));
    // No answer: the step's 5 s timeout ends the attempt.
    let e = h.event().await;
    assert_eq!(
        reason_of(&e),
        &DisconnectReason::StepTimeout {
            step: "hello",
            after: S(5)
        }
    );
    assert_eq!(Instant::now() - t0, S(5));
    assert!(matches!(e, SessionEvent::Reconnecting { attempt: 1, .. }));
    // Second connection: a fresh token from a fresh pre-connect.
    let mut peer = h.connect().await;
    assert_eq!(peer.token, "token-2");
    assert_eq!(h.event().await, SessionEvent::Connected);
    // A request made now works.
    let handle = h.handle.clone();
    let call = tokio::spawn(async move { handle.request(Req::new("echo", "y", By::Id)).await });
    let req = peer.recv().await;
    peer.reply(&req, "y").await;
    assert_eq!(call.await.unwrap(), Ok("y".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn refused_handshake_that_must_not_retry_closes() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.accept().await;
    let hello = peer.recv().await;
    peer.send(Msg {
        id: hello.id,
        error: Some("denied".into()),
        ..Msg::default()
    })
    .await;
    let e = h.event().await;
    assert_eq!(
        e,
        SessionEvent::Closed {
            reason: CloseReason::Fatal(DisconnectReason::StepFailed {
                step: "hello",
                message: "denied".into()
            })
        }
    );
    assert!(h.events.recv().await.is_none(), "events end after Closed");
    let r = h.handle.request(Req::new("echo", "z", By::Id)).await;
    assert!(matches!(r, Err(RequestError::NotSent(_))), "{r:?}");
}

// ---- reconnect policies -----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn fixed_delays_then_give_up() {
    let (connector, _accepts) = ToyConnector::new();
    for _ in 0..5 {
        connector.fail_next(ConnectError::retryable(ConnectStage::PreConnect, "503"));
    }
    let t0 = Instant::now();
    let (_handle, mut events) = session_core::spawn(
        Toy::new(),
        connector.clone(),
        config(FixedDelays::signalr_default()),
    );
    let mut delays = Vec::new();
    loop {
        match events.recv().await.unwrap() {
            SessionEvent::Reconnecting {
                attempt,
                delay,
                reason,
            } => {
                assert_eq!(attempt as usize, delays.len() + 1);
                assert!(matches!(reason, DisconnectReason::Connect(ref e) if e.message == "503"));
                delays.push(delay);
            }
            SessionEvent::Closed { reason } => {
                assert!(
                    matches!(reason, CloseReason::GaveUp { attempts: 4, .. }),
                    "{reason:?}"
                );
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(delays, [S(0), S(2), S(10), S(30)]);
    let at: Vec<Duration> = connector.attempt_times().iter().map(|t| *t - t0).collect();
    assert_eq!(at, [S(0), S(0), S(2), S(12), S(42)]);
}

#[tokio::test(start_paused = true)]
async fn not_before_hint_stretches_a_delay_and_fatal_connect_error_closes() {
    let (connector, _accepts) = ToyConnector::new();
    let mut slow = ConnectError::retryable(ConnectStage::PreConnect, "429");
    slow.retry = session_core::Retry::NotBefore(S(60));
    connector.fail_next(slow);
    connector.fail_next(ConnectError::fatal(ConnectStage::PreConnect, "401"));
    let (_handle, mut events) = session_core::spawn(
        Toy::new(),
        connector.clone(),
        config(FixedDelays::signalr_default()),
    );
    assert!(
        matches!(events.recv().await.unwrap(), SessionEvent::Reconnecting { delay, .. } if delay == S(60))
    );
    let e = events.recv().await.unwrap();
    assert!(
        matches!(e, SessionEvent::Closed { reason: CloseReason::Fatal(DisconnectReason::Connect(ref c)) } if c.message == "401"),
        "{e:?}"
    );
}

/// A link that flaps (ready, then dropped at once) keeps counting attempts;
/// one that stayed up for `stable_after` starts again from attempt 1.
#[tokio::test(start_paused = true)]
async fn backoff_resets_only_after_a_stable_period() {
    let policy = Backoff::new()
        .base(S(1))
        .cap(S(8))
        .stable_after(S(60))
        .seed(7);
    let reference = Backoff::new().base(S(1)).cap(S(8)).stable_after(S(60));
    let mut h = start(Toy::new(), config(policy));
    let mut attempts = Vec::new();
    for _ in 0..4 {
        let peer = h.connect().await;
        peer.close().await; // drop right after the handshake
        let e = h
            .event_matching(|e| matches!(e, SessionEvent::Reconnecting { .. }))
            .await;
        let SessionEvent::Reconnecting { attempt, delay, .. } = e else {
            unreachable!()
        };
        assert!(
            delay <= reference.window(attempt),
            "{delay:?} over window of attempt {attempt}"
        );
        attempts.push(attempt);
    }
    assert_eq!(attempts, [1, 2, 3, 4]);
    // Now a connection that stays up 60 s.
    let peer = h.connect().await;
    tokio::time::sleep(S(60)).await;
    peer.close().await;
    let e = h
        .event_matching(|e| matches!(e, SessionEvent::Reconnecting { .. }))
        .await;
    assert!(
        matches!(e, SessionEvent::Reconnecting { attempt: 1, .. }),
        "{e:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn fixed_delays_reset_on_every_successful_connect() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    for _ in 0..3 {
        let peer = h.connect().await;
        peer.close().await;
        let e = h
            .event_matching(|e| matches!(e, SessionEvent::Reconnecting { .. }))
            .await;
        assert!(
            matches!(e, SessionEvent::Reconnecting { attempt: 1, delay, .. } if delay == S(0)),
            "{e:?}"
        );
    }
}

// ---- subscriptions ------------------------------------------------------------------

/// 100 subscriptions across 10 forced reconnects: every connection gets each
/// topic exactly once, and every stream sees every connection's update once.
#[tokio::test(start_paused = true)]
async fn hundred_subscriptions_survive_ten_reconnects() {
    const TOPICS: usize = 100;
    const DROPS: usize = 10;
    let mut h = start(
        Toy::new(),
        config(FixedDelays::signalr_default().repeat_last()),
    );
    let topic = |i: usize| format!("t{i:03}");

    // Half subscribed before the first connection exists, half once ready.
    let mut subs = Vec::new();
    for i in 0..TOPICS / 2 {
        subs.push(
            h.handle
                .subscribe(topic(i), DeliveryPolicy::Buffered { capacity: 64 })
                .await
                .unwrap(),
        );
    }
    let mut accepts = std::mem::replace(&mut h.accepts, mpsc::unbounded_channel().1);
    let server = tokio::spawn(async move {
        for conn in 0..=DROPS {
            let mut peer = toy::guard("a connection", accepts.recv()).await.unwrap();
            peer.handshake().await;
            let mut seen = std::collections::BTreeSet::new();
            while seen.len() < TOPICS {
                let m = peer.recv().await;
                assert!(m.is("subscribe"), "connection {conn}: {m:?}");
                assert!(
                    seen.insert(m.param(0).to_owned()),
                    "connection {conn}: duplicate {m:?}"
                );
            }
            for t in &seen {
                peer.update(t, &format!("c{conn}")).await;
            }
            // Anything before the client's sync request would be a stray
            // (duplicate) subscribe.
            let sync = peer.recv().await;
            assert!(sync.is("sync"), "connection {conn}: {sync:?}");
            peer.reply(&sync, "ok").await;
            if conn < DROPS {
                peer.close().await;
            } else {
                return peer;
            }
        }
        unreachable!()
    });
    assert_eq!(h.event().await, SessionEvent::Connected);
    for i in TOPICS / 2..TOPICS {
        subs.push(
            h.handle
                .subscribe(topic(i), DeliveryPolicy::Buffered { capacity: 64 })
                .await
                .unwrap(),
        );
    }
    let mut history: Vec<Vec<Update<String>>> = vec![Vec::new(); TOPICS];
    for conn in 0..=DROPS {
        for (i, sub) in subs.iter_mut().enumerate() {
            loop {
                let u = toy::guard("an update", sub.recv()).await.unwrap();
                let done = matches!(u, Update::Item(_));
                history[i].push(u);
                if done {
                    break;
                }
            }
        }
        let r = h
            .handle
            .request(Req::new("sync", &conn.to_string(), By::Id))
            .await;
        assert_eq!(r, Ok("ok".to_owned()));
        if conn < DROPS {
            h.event_matching(|e| matches!(e, SessionEvent::Reconnected { .. }))
                .await;
        }
    }
    let _last = server.await.unwrap();
    for (i, hist) in history.iter().enumerate() {
        let mut expected = Vec::new();
        for conn in 0..=DROPS {
            if conn > 0 {
                expected.push(Update::Gap);
            }
            expected.push(Update::Item(format!("c{conn}")));
        }
        assert_eq!(hist, &expected, "topic {i}");
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_a_subscription_unsubscribes_and_it_is_not_replayed() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let a = h
        .handle
        .subscribe("a".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    let b = h
        .handle
        .subscribe("b".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    assert_eq!(peer.recv().await.param(0), "a");
    assert_eq!(peer.recv().await.param(0), "b");
    // Subscribing twice to one topic is refused.
    let dup = h.handle.subscribe("a".into(), DeliveryPolicy::Latest).await;
    assert_eq!(
        dup.err(),
        Some(session_core::SubscribeError::AlreadySubscribed)
    );
    drop(a);
    let m = peer.recv().await;
    assert!(m.is("unsubscribe") && m.param(0) == "a", "{m:?}");
    peer.close().await;
    let mut peer = h.connect().await;
    let m = peer.recv().await;
    assert!(m.is("subscribe") && m.param(0) == "b", "{m:?}");
    // Nothing else was replayed: the next frame is our request.
    let handle = h.handle.clone();
    tokio::spawn(async move { handle.request(Req::new("after", "", By::Fire)).await });
    assert!(peer.recv().await.is("after"));
    drop(b);
}

#[tokio::test(start_paused = true)]
async fn rejected_subscription_ends_its_stream() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let mut s = h
        .handle
        .subscribe("bad".into(), DeliveryPolicy::Buffered { capacity: 4 })
        .await
        .unwrap();
    peer.recv().await;
    peer.send(Msg::method("rejected").params(&["bad", "no such market"]))
        .await;
    assert_eq!(
        s.recv().await,
        Some(Update::Rejected("no such market".into()))
    );
    assert_eq!(s.recv().await, None);
    // It is no longer desired: a reconnect does not replay it.
    peer.close().await;
    let mut peer = h.connect().await;
    let handle = h.handle.clone();
    tokio::spawn(async move { handle.request(Req::new("after", "", By::Fire)).await });
    assert!(peer.recv().await.is("after"));
}

// ---- delivery policies ----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn buffered_delivery_signals_lag_and_latest_conflates() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let mut every = h
        .handle
        .subscribe("every".into(), DeliveryPolicy::Buffered { capacity: 4 })
        .await
        .unwrap();
    let mut latest = h
        .handle
        .subscribe("latest".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    peer.recv().await;
    peer.recv().await;
    let handle = h.handle.clone();
    let sync = tokio::spawn(async move { handle.request(Req::new("sync", "", By::Id)).await });
    let sync_msg = peer.recv().await;
    for i in 0..10 {
        peer.update("every", &i.to_string()).await;
        peer.update("latest", &i.to_string()).await;
    }
    // The reply follows the updates on the wire, so once it is here every
    // update has been delivered to the mailboxes.
    peer.reply(&sync_msg, "ok").await;
    sync.await.unwrap().unwrap();

    assert_eq!(every.recv().await, Some(Update::Lagged { missed: 6 }));
    for i in 6..10 {
        assert_eq!(every.recv().await, Some(Update::Item(i.to_string())));
    }
    assert_eq!(latest.recv().await, Some(Update::Item("9".into())));
    // Nothing else is queued: the next update is the next thing read.
    peer.update("latest", "10").await;
    peer.update("every", "10").await;
    assert_eq!(latest.recv().await, Some(Update::Item("10".into())));
    assert_eq!(every.recv().await, Some(Update::Item("10".into())));
}

#[tokio::test(start_paused = true)]
async fn a_flood_of_buffered_frames_is_delivered_whole_and_in_order() {
    // Far more frames than the driver handles per round, written before it
    // reads any: none may be lost or reordered at a round's boundary.
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let mut every = h
        .handle
        .subscribe(
            "every".into(),
            DeliveryPolicy::Buffered { capacity: 10_000 },
        )
        .await
        .unwrap();
    peer.recv().await;
    // Unconstrained: the writer is not made to yield by tokio's budget, so
    // every line is buffered before the session reads the first.
    tokio::task::unconstrained(async {
        for i in 0..1_000 {
            peer.update("every", &i.to_string()).await;
        }
    })
    .await;
    for i in 0..1_000 {
        assert_eq!(every.recv().await, Some(Update::Item(i.to_string())));
    }
    // A request written after the flood is still answered.
    let handle = h.handle.clone();
    let sync = tokio::spawn(async move { handle.request(Req::new("sync", "", By::Id)).await });
    let sync_msg = peer.recv().await;
    peer.reply(&sync_msg, "ok").await;
    sync.await.unwrap().unwrap();
}

// ---- correlation ------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn answers_match_by_numeric_id_invocation_id_and_business_key() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let call = |req: Req| {
        let handle = h.handle.clone();
        tokio::spawn(async move { handle.request(req).await })
    };
    let by_id = call(Req::new("a", "1", By::Id));
    let a = peer.recv().await;
    let by_inv = call(Req::new("b", "2", By::Invocation));
    let b = peer.recv().await;
    let by_client = call(Req::new("c", "3", By::ClientId("client-42".into())));
    let c = peer.recv().await;
    let refused = call(Req::new("d", "4", By::Id));
    let d = peer.recv().await;
    assert!(
        a.id.is_some() && b.invocation_id.is_some() && c.client_id.as_deref() == Some("client-42")
    );

    // Answers in reverse order, plus noise that matches nothing.
    peer.send(Msg {
        id: d.id,
        error: Some("insufficient funds".into()),
        ..Msg::default()
    })
    .await;
    peer.send(Msg {
        client_id: Some("someone-else".into()),
        result: Some("x".into()),
        ..Msg::method("execution")
    })
    .await;
    peer.send(Msg {
        client_id: Some("client-42".into()),
        result: Some("C".into()),
        ..Msg::method("execution")
    })
    .await;
    peer.reply(&b, "B").await;
    peer.send(Msg {
        id: Some(9999),
        result: Some("stray".into()),
        ..Msg::default()
    })
    .await;
    peer.reply(&a, "A").await;

    assert_eq!(by_id.await.unwrap(), Ok("A".into()));
    assert_eq!(by_inv.await.unwrap(), Ok("B".into()));
    assert_eq!(by_client.await.unwrap(), Ok("C".into()));
    assert_eq!(
        refused.await.unwrap(),
        Err(RequestError::Rejected(ToyError(
            "insufficient funds".into()
        )))
    );
    // Fire-and-forget resolves once written; an unencodable one is not sent.
    assert_eq!(
        h.handle.request(Req::new("note", "", By::Fire)).await,
        Ok("sent".into())
    );
    assert!(peer.recv().await.is("note"));
    assert_eq!(
        h.handle.request(Req::new("", "", By::Id)).await,
        Err(RequestError::Encode(ToyError("empty method".into())))
    );
    let _ = Key::Id(0);
}

#[tokio::test(start_paused = true)]
async fn a_reused_business_key_is_not_misattributed() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let handle = h.handle.clone();
    let first = tokio::spawn(async move {
        handle
            .request(Req::new("a", "", By::ClientId("k".into())))
            .await
    });
    peer.recv().await;
    let second = h
        .handle
        .request(Req::new("b", "", By::ClientId("k".into())))
        .await;
    assert_eq!(
        second,
        Err(RequestError::OutcomeUnknown(Unanswered::DuplicateKey(
            r#"Client("k")"#.into()
        )))
    );
    peer.send(Msg {
        client_id: Some("k".into()),
        result: Some("A".into()),
        ..Msg::method("execution")
    })
    .await;
    assert_eq!(first.await.unwrap(), Ok("A".into()));
}

// ---- outcome unknown ----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn in_flight_requests_fail_with_outcome_unknown_when_the_link_drops() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let handle = h.handle.clone();
    let order = tokio::spawn(async move {
        handle
            .request(Req::new("order", "buy", By::ClientId("o-1".into())))
            .await
    });
    assert!(peer.recv().await.is("order"));
    peer.close().await;
    let r = order.await.unwrap();
    assert_eq!(
        r,
        Err(RequestError::OutcomeUnknown(Unanswered::LinkDropped(
            DisconnectReason::PeerClosed
        )))
    );
    assert!(r.unwrap_err().is_outcome_unknown());

    // A request made while the link is down waits unsent and goes out on
    // the next connection; nothing is resent automatically.
    let handle = h.handle.clone();
    let later = tokio::spawn(async move { handle.request(Req::new("later", "", By::Id)).await });
    tokio::task::yield_now().await;
    let mut peer = h.connect().await;
    let m = peer.recv().await;
    assert!(m.is("later"), "the dropped order must not be resent: {m:?}");
    peer.reply(&m, "done").await;
    assert_eq!(later.await.unwrap(), Ok("done".into()));
}

#[tokio::test(start_paused = true)]
async fn request_timeouts_say_whether_the_request_was_sent() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    // Not connected yet (the handshake is never answered): times out unsent.
    let mut peer = h.accept().await;
    let r = h
        .handle
        .request_within(Req::new("x", "", By::Id), Some(S(2)))
        .await;
    assert_eq!(r, Err(RequestError::NotSent(NotSent::TimedOut(S(2)))));
    let hello = peer.recv().await;
    peer.reply(&hello, "ok").await;
    peer.recv().await; // start
    // Sent but never answered: outcome unknown.
    let r = h
        .handle
        .request_within(Req::new("y", "", By::Id), Some(S(3)))
        .await;
    assert_eq!(
        r,
        Err(RequestError::OutcomeUnknown(Unanswered::TimedOut(S(3))))
    );
    assert!(peer.recv().await.is("y"));
}

// ---- close -----------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn server_close_without_retry_stops_with_its_reason() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let mut sub = h
        .handle
        .subscribe("p".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    peer.recv().await;
    let handle = h.handle.clone();
    let pending = tokio::spawn(async move { handle.request(Req::new("slow", "", By::Id)).await });
    peer.recv().await;
    peer.send(Msg::method("close").params(&["maintenance", "stop"]))
        .await;
    let e = h
        .event_matching(|e| matches!(e, SessionEvent::Closed { .. }))
        .await;
    assert_eq!(
        e,
        SessionEvent::Closed {
            reason: CloseReason::Fatal(DisconnectReason::Protocol("maintenance".into()))
        }
    );
    assert!(pending.await.unwrap().unwrap_err().is_outcome_unknown());
    assert_eq!(sub.recv().await, None);
    assert!(peer.try_recv().await.is_none(), "link closed");
    assert!(matches!(
        h.handle.request(Req::new("x", "", By::Id)).await,
        Err(RequestError::NotSent(
            NotSent::SessionGone | NotSent::SessionClosed(_)
        ))
    ));
}

#[tokio::test(start_paused = true)]
async fn server_close_with_retry_reconnects() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    peer.send(Msg::method("close").params(&["restart", "retry"]))
        .await;
    let e = h
        .event_matching(|e| matches!(e, SessionEvent::Reconnecting { .. }))
        .await;
    assert_eq!(reason_of(&e), &DisconnectReason::Protocol("restart".into()));
    let _peer = h.connect().await;
    h.event_matching(|e| matches!(e, SessionEvent::Reconnected { .. }))
        .await;
}

#[tokio::test(start_paused = true)]
async fn user_close_says_goodbye_and_ends_everything() {
    let mut h = start(Toy::new(), config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let mut sub = h
        .handle
        .subscribe("p".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    peer.recv().await;
    h.handle.close().await;
    assert!(peer.recv().await.is("bye"));
    assert!(peer.try_recv().await.is_none());
    assert_eq!(sub.recv().await, None);
    assert_eq!(
        h.event_matching(|e| matches!(e, SessionEvent::Closed { .. }))
            .await,
        SessionEvent::Closed {
            reason: CloseReason::User
        }
    );
}

// ---- resume and protocol timers -------------------------------------------------------

/// A protocol that can resume (SignalR stateful reconnect) gets one attempt
/// at the same logical connection: same setup, no pre-connect, requests in
/// flight survive, subscriptions are not replayed and see no gap.
#[tokio::test(start_paused = true)]
async fn a_resumed_link_keeps_requests_and_subscriptions() {
    let mut toy = Toy::new();
    toy.resume = Some(S(15));
    let mut h = start(toy, config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    assert_eq!(h.event().await, SessionEvent::Connected);
    let mut sub = h
        .handle
        .subscribe("p".into(), DeliveryPolicy::Buffered { capacity: 8 })
        .await
        .unwrap();
    assert!(peer.recv().await.is("subscribe"));
    let handle = h.handle.clone();
    let call = tokio::spawn(async move { handle.request(Req::new("order", "1", By::Id)).await });
    let order = peer.recv().await;
    peer.close().await;
    assert_eq!(
        h.event().await,
        SessionEvent::Resuming {
            reason: DisconnectReason::PeerClosed
        }
    );

    let mut peer = h.accept().await;
    assert_eq!(peer.token, "token-1", "no new pre-connect");
    assert_eq!(h.connector.attempt_times().len(), 1);
    let hello = peer.recv().await;
    assert_eq!(hello.param(1), "resume");
    peer.reply(&hello, "ok").await;
    assert!(peer.recv().await.is("start"));
    assert!(matches!(h.event().await, SessionEvent::Resumed { .. }));
    // The answer to the request written before the drop still lands.
    peer.reply(&order, "filled").await;
    assert_eq!(call.await.unwrap(), Ok("filled".into()));
    peer.update("p", "after").await;
    assert_eq!(
        sub.recv().await,
        Some(Update::Item("after".into())),
        "no replay gap"
    );
    // No subscribe was replayed: the next client frame is a new request.
    let handle = h.handle.clone();
    tokio::spawn(async move { handle.request(Req::new("next", "", By::Fire)).await });
    assert!(peer.recv().await.is("next"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_resume_falls_back_to_a_full_reconnect() {
    let mut toy = Toy::new();
    toy.resume = Some(S(15));
    let mut h = start(toy, config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let _sub = h
        .handle
        .subscribe("p".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    peer.recv().await;
    let handle = h.handle.clone();
    let call = tokio::spawn(async move { handle.request(Req::new("order", "1", By::Id)).await });
    peer.recv().await;
    peer.close().await;
    // The resume attempt's handshake is never answered.
    let mut stuck = h.accept().await;
    assert_eq!(stuck.recv().await.param(1), "resume");
    let r = call.await.unwrap();
    assert_eq!(
        r,
        Err(RequestError::OutcomeUnknown(Unanswered::LinkDropped(
            DisconnectReason::StepTimeout {
                step: "hello",
                after: S(5)
            }
        )))
    );
    // Then a fresh connection: new pre-connect, subscriptions replayed.
    let mut peer = h.connect().await;
    assert_eq!(peer.token, "token-2");
    let m = peer.recv().await;
    assert!(m.is("subscribe") && m.param(0) == "p", "{m:?}");
    h.event_matching(|e| matches!(e, SessionEvent::Reconnected { .. }))
        .await;
}

#[tokio::test(start_paused = true)]
async fn protocol_timer_fires_once_per_burst() {
    let mut toy = Toy::new();
    toy.ack_every = Some(S(1));
    let mut h = start(toy, config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let _sub = h
        .handle
        .subscribe("p".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    peer.recv().await;
    let t0 = Instant::now();
    for i in 0..5 {
        peer.update("p", &i.to_string()).await;
    }
    assert!(peer.recv().await.is("ack"));
    assert_eq!(Instant::now() - t0, S(1));
    // Quiet link: no further ack until more updates arrive.
    tokio::time::sleep(S(10)).await;
    peer.update("p", "5").await;
    let t1 = Instant::now();
    assert!(peer.recv().await.is("ack"));
    assert_eq!(Instant::now() - t1, S(1));
}

// ---- a peer that stops reading ----------------------------------------------------------

/// Writes are bounded: a peer that stops reading fills the in-memory pipe,
/// and the stuck write fails the link after `send_timeout` instead of
/// freezing the session (and its timers) forever.
#[tokio::test(start_paused = true)]
async fn a_stuck_write_fails_the_link_after_the_send_timeout() {
    let cfg = SessionConfig {
        send_timeout: S(10),
        ..config(FixedDelays::new([S(60)]))
    };
    let mut h = start(Toy::new(), cfg);
    let _peer = h.connect().await; // handshake done, then never read again
    assert_eq!(h.event().await, SessionEvent::Connected);
    let big = "x".repeat(4096);
    let t0 = Instant::now();
    let mut calls = Vec::new();
    for _ in 0..40 {
        let handle = h.handle.clone();
        let arg = big.clone();
        calls.push(tokio::spawn(async move {
            handle.request(Req::new("bulk", &arg, By::Id)).await
        }));
    }
    let e = h
        .event_matching(|e| matches!(e, SessionEvent::Reconnecting { .. }))
        .await;
    assert!(
        matches!(reason_of(&e), DisconnectReason::Transport(t) if t.message.contains("longer than 10s")),
        "{e:?}"
    );
    assert_eq!(Instant::now() - t0, S(10));
    let (phase, stats) = h.handle.stats().await.unwrap();
    assert_eq!(phase, session_core::Phase::Waiting);
    assert_eq!(stats.links_lost, 1);
    // The request whose frame was stuck may have been partly written: its
    // outcome is unknown, like every other one that was in flight.
    let mut unknown = 0;
    for c in calls {
        if let Err(e) = c.await.unwrap() {
            assert!(
                e.is_outcome_unknown() || matches!(e, RequestError::NotSent(_)),
                "{e:?}"
            );
            unknown += usize::from(e.is_outcome_unknown());
        }
    }
    assert!(unknown > 0);
}

/// Subscription changes made while a resume is under way reach the peer
/// once the link is back: the new topic is subscribed, the dropped one
/// unsubscribed, the untouched one left alone.
#[tokio::test(start_paused = true)]
async fn subscription_changes_during_a_resume_are_sent_after_it() {
    let mut toy = Toy::new();
    toy.resume = Some(S(15));
    let mut h = start(toy, config(FixedDelays::signalr_default()));
    let mut peer = h.connect().await;
    let keep = h
        .handle
        .subscribe("keep".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    let gone = h
        .handle
        .subscribe("gone".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    peer.recv().await;
    peer.recv().await;
    peer.close().await;
    h.event_matching(|e| matches!(e, SessionEvent::Resuming { .. }))
        .await;
    let mut peer = h.accept().await;
    // While the resume handshake waits: one new, one dropped.
    let new = h
        .handle
        .subscribe("new".into(), DeliveryPolicy::Latest)
        .await
        .unwrap();
    drop(gone);
    let _ = h.handle.stats().await; // the drop's unsubscribe command is processed
    let hello = peer.recv().await;
    assert_eq!(hello.param(1), "resume");
    peer.reply(&hello, "ok").await;
    assert!(peer.recv().await.is("start"));
    let mut sent = Vec::new();
    for _ in 0..2 {
        let m = peer.recv().await;
        sent.push(format!("{} {}", m.method.as_deref().unwrap(), m.param(0)));
    }
    sent.sort();
    assert_eq!(sent, ["subscribe new", "unsubscribe gone"]);
    let handle = h.handle.clone();
    tokio::spawn(async move { handle.request(Req::new("next", "", By::Fire)).await });
    assert!(
        peer.recv().await.is("next"),
        "nothing else: `keep` is not re-sent"
    );
    drop((keep, new));
}

// ---- connect timeout and a slow event reader -------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_hanging_pre_connect_is_cut_by_the_connect_timeout() {
    let (connector, mut accepts) = ToyConnector::new();
    *connector.stalls.lock().unwrap() = 1;
    let cfg = SessionConfig {
        connect_timeout: S(7),
        ..config(FixedDelays::signalr_default())
    };
    let t0 = Instant::now();
    let (_handle, mut events) = session_core::spawn(Toy::new(), connector.clone(), cfg);
    let e = toy::guard("an event", events.recv()).await.unwrap();
    assert_eq!(reason_of(&e), &DisconnectReason::ConnectTimeout(S(7)));
    assert_eq!(Instant::now() - t0, S(7));
    // The next attempt goes through.
    let mut peer = toy::guard("a connection", accepts.recv()).await.unwrap();
    peer.handshake().await;
    assert_eq!(
        toy::guard("an event", events.recv()).await.unwrap(),
        SessionEvent::Connected
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_event_reader_is_told_how_many_events_it_missed() {
    let (connector, _accepts) = ToyConnector::new();
    for _ in 0..10 {
        connector.fail_next(ConnectError::retryable(ConnectStage::Open, "refused"));
    }
    let cfg = SessionConfig {
        event_capacity: 3,
        ..config(FixedDelays::new([S(1)]).repeat_last())
    };
    let (handle, mut events) = session_core::spawn(Toy::new(), connector.clone(), cfg);
    // Let ten failures happen without reading an event.
    tokio::time::sleep(S(20)).await;
    handle.close().await;
    let mut seen = Vec::new();
    while let Some(e) = events.recv().await {
        seen.push(e);
    }
    assert!(
        matches!(seen.first(), Some(SessionEvent::Lagged { missed }) if *missed > 0),
        "{seen:?}"
    );
    assert!(
        seen.len() <= 4,
        "at most the capacity after the lag marker: {seen:?}"
    );
    assert!(matches!(
        seen.last(),
        Some(SessionEvent::Closed {
            reason: CloseReason::User
        })
    ));
}
