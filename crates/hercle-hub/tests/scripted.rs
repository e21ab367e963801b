//! SignalR conformance against a scripted peer on 127.0.0.1: what the
//! sandbox never does (bad records, oversized records, server invocations,
//! redirects, version-0 servers, drops with a call in flight).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hercle_hub::{DeliveryPolicy, HubBuilder, HubError, SessionEvent, Update};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

const WAIT: Duration = Duration::from_secs(10);
const RS: char = '\u{1e}';

type Ws = WebSocketStream<TcpStream>;

/// What the peer saw of each request: (first line, authorization header).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A peer: `negotiate(path_and_query)` answers negotiate POSTs with
/// (status, body); every WebSocket connection runs `script(ws, n)`.
async fn peer<N, S, F>(negotiate: N, script: S) -> (String, Seen)
where
    N: Fn(&str) -> (u16, String) + Send + Sync + 'static,
    S: Fn(Ws, usize) -> F + Send + Sync + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let seen2 = Arc::clone(&seen);
    let negotiate = Arc::new(negotiate);
    let script = Arc::new(script);
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 4];
            tcp.peek(&mut head).await.unwrap();
            if &head == b"POST" {
                let mut buf = Vec::new();
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let mut chunk = [0u8; 1024];
                    let k = tcp.read(&mut chunk).await.unwrap();
                    if k == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                let line = text.lines().next().unwrap_or("").to_owned();
                let auth = text
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                    .map(|l| l[14..].trim().to_owned());
                seen2.lock().unwrap().push((line.clone(), auth));
                let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                let (status, body) = negotiate(&path);
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(resp.as_bytes()).await;
                continue;
            }
            let seen3 = Arc::clone(&seen2);
            let cb = move |req: &Request, resp: Response| {
                let auth = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                seen3
                    .lock()
                    .unwrap()
                    .push((format!("GET {}", req.uri()), auth));
                Ok(resp)
            };
            let ws = tokio_tungstenite::accept_hdr_async(tcp, cb).await.unwrap();
            n += 1;
            tokio::spawn(script(ws, n));
        }
    });
    (base, seen)
}

fn ok_negotiate(_: &str) -> (u16, String) {
    (
        200,
        r#"{"negotiateVersion":1,"connectionId":"pub","connectionToken":"tok","availableTransports":[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]}"#.into(),
    )
}

/// Reads the handshake and accepts it.
async fn handshake(ws: &mut Ws) {
    let m = ws.next().await.unwrap().unwrap();
    assert!(m.to_text().unwrap().contains("\"protocol\":\"json\""));
    ws.send(Message::text(format!("{{}}{RS}"))).await.unwrap();
}

/// The next hub record that is not a Ping.
async fn record(ws: &mut Ws) -> serde_json::Value {
    loop {
        let m = ws.next().await.unwrap().unwrap();
        for r in m.to_text().unwrap().split(RS).filter(|r| !r.is_empty()) {
            let v: serde_json::Value = serde_json::from_str(r).unwrap();
            if v["type"] != 6 {
                return v;
            }
        }
    }
}

async fn send(ws: &mut Ws, record: &str) {
    ws.send(Message::text(format!("{record}{RS}")))
        .await
        .unwrap();
}

fn envelope(target: &str, client_id: &str, subject: &str, data: &str) -> String {
    let env = format!(
        r#"{{"channel":"{target}","subject":"{subject}","type":"message","clientId":"{client_id}","data":{}}}"#,
        serde_json::to_string(data).unwrap()
    );
    format!(
        r#"{{"type":1,"target":"{target}","arguments":[{}]}}"#,
        serde_json::to_string(&env).unwrap()
    )
}

fn hub(base: &str) -> HubBuilder {
    HubBuilder::new(format!("{base}/hub"))
        .api_key("secret-key")
        .reconnect(hercle_hub::FixedDelays::new([Duration::ZERO; 5]))
}

async fn event(
    events: &mut hercle_hub::Events,
    want: impl Fn(&SessionEvent) -> bool,
) -> SessionEvent {
    loop {
        let e = timeout(WAIT, events.recv()).await.unwrap().unwrap();
        if want(&e) {
            return e;
        }
    }
}

#[tokio::test]
async fn malformed_records_and_envelopes_are_reported_and_the_stream_goes_on() {
    let (base, _) = peer(ok_negotiate, |mut ws, _| async move {
        handshake(&mut ws).await;
        let sub = record(&mut ws).await;
        assert_eq!(sub["target"], "SubscribePairPriceChannel");
        let cid = sub["arguments"][0][0].as_str().unwrap().to_owned();
        send(&mut ws, "{not json").await;
        send(
            &mut ws,
            &envelope(
                "subscriptions",
                &cid,
                "execution.feeds.priceUpdate",
                r#"{"id":"p1","pair":"BTCUSDT","buyPrice":"abc"}"#,
            ),
        )
        .await;
        send(
            &mut ws,
            &envelope(
                "subscriptions",
                &cid,
                "execution.feeds.priceUpdate",
                r#"{"id":"p2","pair":"BTCUSDT","buyPrice":26798.123456789}"#,
            ),
        )
        .await;
        let _ = ws.next().await;
    })
    .await;
    let (hub, mut events) = hub(&base).connect().await.unwrap();
    let mut s = hub
        .subscribe_prices(
            "BTCUSDT",
            "0.1".parse().unwrap(),
            DeliveryPolicy::Buffered { capacity: 8 },
        )
        .await
        .unwrap();
    let SessionEvent::Malformed { raw, .. } =
        event(&mut events, |e| matches!(e, SessionEvent::Malformed { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(raw, "{not json");
    let SessionEvent::Malformed { raw, detail } =
        event(&mut events, |e| matches!(e, SessionEvent::Malformed { .. })).await
    else {
        unreachable!()
    };
    assert!(raw.contains("abc"), "{raw}");
    assert!(detail.contains("buyPrice"), "the JSON path: {detail}");
    let Some(Update::Item(q)) = timeout(WAIT, s.next()).await.unwrap() else {
        panic!()
    };
    assert_eq!(q.id, "p2");
    assert_eq!(q.buy_price.to_string(), "26798.123456789");
    assert_eq!(hub.stats().await.unwrap().malformed, 2);
}

#[tokio::test]
async fn an_oversized_record_ends_the_link_with_a_clear_reason_and_the_session_reconnects() {
    let (base, _) = peer(ok_negotiate, |mut ws, n| async move {
        handshake(&mut ws).await;
        if n == 1 {
            let big = format!(
                r#"{{"type":1,"target":"executionEvents","arguments":["{}"]}}"#,
                "x".repeat(4096)
            );
            send(&mut ws, &big).await;
        }
        while ws.next().await.is_some() {}
    })
    .await;
    let (_hub, mut events) = hub(&base).max_record(1024).connect().await.unwrap();
    let SessionEvent::Reconnecting { reason, .. } = event(&mut events, |e| {
        matches!(e, SessionEvent::Reconnecting { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        reason.to_string().contains("exceeds the 1024-byte limit"),
        "{reason}"
    );
    event(&mut events, |e| {
        matches!(e, SessionEvent::Reconnected { .. })
    })
    .await;
}

#[tokio::test]
async fn server_invocations_with_an_id_get_a_completion() {
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = Arc::clone(&got);
    let (base, _) = peer(ok_negotiate, move |mut ws, _| {
        let got = Arc::clone(&got2);
        async move {
            handshake(&mut ws).await;
            send(
                &mut ws,
                r#"{"type":1,"invocationId":"7","target":"unknownMethod","arguments":[]}"#,
            )
            .await;
            send(
                &mut ws,
                r#"{"type":1,"invocationId":"8","target":"Echo","arguments":[41]}"#,
            )
            .await;
            for _ in 0..2 {
                let r = record(&mut ws).await;
                got.lock().unwrap().push(r);
            }
            while ws.next().await.is_some() {}
        }
    })
    .await;
    let (_hub, _events) = hub(&base)
        .client_method("echo", |args| Ok(format!("[{}]", args.join(","))))
        .connect()
        .await
        .unwrap();
    timeout(WAIT, async {
        while got.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got[0]["type"], 3);
    assert_eq!(got[0]["invocationId"], "7");
    assert_eq!(got[0]["error"], "Client didn't provide a result.");
    assert_eq!(got[1]["invocationId"], "8");
    assert_eq!(got[1]["result"], serde_json::json!([41]));
}

#[tokio::test]
async fn a_call_in_flight_when_the_link_drops_has_an_unknown_outcome() {
    let (base, _) = peer(ok_negotiate, |mut ws, n| async move {
        handshake(&mut ws).await;
        if n == 1 {
            let call = record(&mut ws).await;
            assert_eq!(call["target"], "PlaceOtcOrder");
            return; // dropped without an answer
        }
        while ws.next().await.is_some() {}
    })
    .await;
    let (hub, _events) = hub(&base).connect().await.unwrap();
    let err = hub
        .place_otc_order(&[
            "price".into(),
            "buy".into(),
            "1".parse::<hercle_hub::Decimal>().unwrap().into(),
        ])
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(matches!(err, HubError::OutcomeUnknown { .. }));
}

#[tokio::test]
async fn negotiate_follows_redirects_falls_back_to_v0_and_puts_the_token_in_the_query() {
    let (base, seen) = peer(
        |path| {
            if path.contains("negotiateVersion") {
                // A server predating negotiate versions.
                (404, String::new())
            } else {
                (
                    200,
                    r#"{"connectionId":"v0 id","availableTransports":[]}"#.into(),
                )
            }
        },
        |mut ws, _| async move {
            handshake(&mut ws).await;
            while ws.next().await.is_some() {}
        },
    )
    .await;
    // The first peer redirects to the second, which is a version-0 server.
    let (base2, seen2) = peer(
        {
            let target = format!("{base}/other");
            move |path: &str| {
                if path.starts_with("/hub/negotiate") {
                    (
                        200,
                        format!(r#"{{"url":"{target}","accessToken":"redirected token"}}"#),
                    )
                } else {
                    (404, String::new())
                }
            }
        },
        |_, _| async {},
    )
    .await;
    let (_hub, _events) = HubBuilder::new(format!("{base2}/hub"))
        .api_key("secret-key")
        .token_in_query(true)
        .reconnect(hercle_hub::FixedDelays::new([]))
        .connect()
        .await
        .unwrap();
    let first = seen2.lock().unwrap().clone();
    assert_eq!(first.len(), 1);
    assert!(first[0].0.contains("negotiateVersion=1"), "{first:?}");
    assert_eq!(first[0].1.as_deref(), Some("Bearer secret-key"));
    let then = seen.lock().unwrap().clone();
    // v1 refused (404), v0 accepted, then the socket with the v0 id and the
    // redirect's token in the query (no header).
    assert!(
        then[0]
            .0
            .starts_with("POST /other/negotiate?negotiateVersion=1"),
        "{then:?}"
    );
    assert!(!then[1].0.contains("negotiateVersion"), "{then:?}");
    assert_eq!(then[1].1.as_deref(), Some("Bearer redirected token"));
    assert!(
        then[2]
            .0
            .starts_with("GET /other?id=v0%20id&access_token=redirected%20token"),
        "{then:?}"
    );
    assert_eq!(then[2].1, None);
}

/// Stops the paused clock from advancing by itself (the runtime would
/// auto-advance whenever it parks on a socket); only `advance` moves it.
/// The same caveat and remedy as the sandbox's hub tests.
fn freeze_clock() {
    tokio::spawn(async {
        loop {
            tokio::task::yield_now().await;
        }
    });
}

/// Advances virtual time in 100 ms steps (letting socket I/O run between
/// steps) until `events` yields a matching event; returns it and the
/// virtual time taken.
async fn step_until(
    events: &mut hercle_hub::Events,
    want: impl Fn(&SessionEvent) -> bool,
) -> (SessionEvent, Duration) {
    use futures_util::FutureExt;
    let start = tokio::time::Instant::now();
    for _ in 0..1000 {
        while let Some(Some(e)) = events.recv().now_or_never() {
            if want(&e) {
                return (e, start.elapsed());
            }
        }
        tokio::time::advance(Duration::from_millis(100)).await;
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }
    panic!("no matching event within 100 s of virtual time")
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_handshake_times_out_after_15_s() {
    freeze_clock();
    let (base, _) = peer(ok_negotiate, |mut ws, _| async move {
        let _ = ws.next().await; // the handshake, never answered
        while ws.next().await.is_some() {}
    })
    .await;
    let (_hub, mut events) = hub(&base).start();
    let (e, took) = step_until(&mut events, |e| {
        matches!(e, SessionEvent::Reconnecting { .. })
    })
    .await;
    let SessionEvent::Reconnecting { reason, .. } = e else {
        unreachable!()
    };
    assert_eq!(
        reason,
        hercle_hub::DisconnectReason::StepTimeout {
            step: "handshake",
            after: Duration::from_secs(15)
        }
    );
    assert!(
        took >= Duration::from_secs(15) && took <= Duration::from_millis(15_200),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_gets_a_ping_at_15_s_and_is_dead_at_30_s() {
    freeze_clock();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (base, _) = peer(ok_negotiate, move |mut ws, n| {
        let tx = tx.clone();
        async move {
            handshake(&mut ws).await;
            if n == 1 {
                // Say nothing; report what the client sends, with the time.
                while let Some(Ok(m)) = ws.next().await {
                    let _ = tx.send((
                        tokio::time::Instant::now(),
                        m.to_text().unwrap_or("").to_owned(),
                    ));
                }
            } else {
                while ws.next().await.is_some() {}
            }
        }
    })
    .await;
    let (_hub, mut events) = hub(&base).connect().await.unwrap();
    let connected = tokio::time::Instant::now();
    let (e, took) = step_until(&mut events, |e| {
        matches!(e, SessionEvent::Reconnecting { .. })
    })
    .await;
    let SessionEvent::Reconnecting { reason, .. } = e else {
        unreachable!()
    };
    assert_eq!(
        reason,
        hercle_hub::DisconnectReason::Silent(Duration::from_secs(30))
    );
    assert!(
        took >= Duration::from_secs(30) && took <= Duration::from_millis(30_200),
        "{took:?}"
    );
    let (at, text) = rx.recv().await.unwrap();
    assert_eq!(text, format!("{{\"type\":6}}{RS}"));
    let after = at - connected;
    assert!(
        after >= Duration::from_secs(15) && after <= Duration::from_millis(15_200),
        "first ping after {after:?}"
    );
}

#[tokio::test]
async fn negotiate_error_and_classic_servers_stop_the_session_with_the_reason() {
    for (body, expect) in [
        (
            r#"{"error":"Negotiate is disabled for maintenance"}"#,
            "Negotiate is disabled for maintenance",
        ),
        (
            r#"{"Url":"/signalr","ConnectionToken":"x","ProtocolVersion":"1.5"}"#,
            "classic ASP.NET SignalR",
        ),
    ] {
        let (base, _) = peer(move |_| (200, body.to_owned()), |_, _| async {}).await;
        let err = hub(&base).connect().await.unwrap_err();
        assert!(
            matches!(&err, HubError::Closed(r) if r.contains(expect)),
            "{err}"
        );
    }
    // 401 is fatal too, and the key is not in the error.
    let (base, _) = peer(|_| (401, String::new()), |_, _| async {}).await;
    let err = hub(&base).connect().await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert!(!err.to_string().contains("secret-key"), "{err}");
}

#[tokio::test]
async fn a_call_resolves_on_its_own_subject_and_reports_a_stray_one() {
    let (base, _) = peer(ok_negotiate, |mut ws, _| async move {
        handshake(&mut ws).await;
        let call = record(&mut ws).await;
        assert_eq!(call["target"], "GetBalances");
        let cid = call["arguments"][0][0].as_str().unwrap().to_owned();
        send(
            &mut ws,
            &envelope("executionEvents", &cid, "account.trades.snapshot", "[]"),
        )
        .await;
        send(
            &mut ws,
            &envelope(
                "executionEvents",
                &cid,
                "account.balances.snapshot",
                r#"{"userId":"u1","sequence":7}"#,
            ),
        )
        .await;
        while ws.next().await.is_some() {}
    })
    .await;
    let (hub, mut events) = hub(&base).connect().await.unwrap();
    let balances = hub.get_balances(&[]).await.unwrap();
    assert_eq!(balances.sequence, Some(7));
    let SessionEvent::Malformed { detail, .. } =
        event(&mut events, |e| matches!(e, SessionEvent::Malformed { .. })).await
    else {
        unreachable!()
    };
    assert!(detail.contains("account.trades.snapshot"), "{detail}");
}
