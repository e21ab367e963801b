//! The hub's wire protocol against a real socket: negotiate, handshake,
//! dispatch, price streams, keep-alive, timeout and injected faults.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "hub_support/client.rs"]
mod client;

use client::{HUB, KEY, Msg, connect, freeze_clock, http, negotiate, negotiate_v1, open};
use hercle_models::{OrderStatus, Pair, TradeExecution};
use hercle_sandbox::{Config, HubFault, Sandbox};
use serde_json::json;
use std::time::Duration;

async fn sandbox() -> Sandbox {
    Sandbox::start(Config::default()).await.unwrap()
}

fn bearer() -> String {
    format!("Bearer {KEY}")
}

#[tokio::test]
async fn negotiate_versions_and_shapes() {
    let sb = sandbox().await;
    let v1 = negotiate(sb.addr(), "?negotiateVersion=1").await;
    assert_eq!(v1.status, 200);
    let v1 = v1.json();
    assert_eq!(v1["negotiateVersion"], 1);
    assert!(v1["connectionId"].is_string() && v1["connectionToken"].is_string());
    assert_ne!(v1["connectionId"], v1["connectionToken"]);
    assert_eq!(
        v1["availableTransports"],
        json!([
            {"transport":"WebSockets","transferFormats":["Text","Binary"]},
            {"transport":"ServerSentEvents","transferFormats":["Text"]},
            {"transport":"LongPolling","transferFormats":["Text","Binary"]}
        ])
    );

    // No parameter means version 0: no token, the id doubles as one.
    let v0 = negotiate(sb.addr(), "").await.json();
    assert_eq!(v0["negotiateVersion"], 0);
    assert!(v0["connectionId"].is_string());
    assert!(v0.get("connectionToken").is_none());
    // …and the v0 id is what the socket presents (signalrcore does this).
    let mut hub = open(
        sb.addr(),
        &format!("?id={}", v0["connectionId"].as_str().unwrap()),
        Some(&bearer()),
    )
    .await
    .unwrap();
    hub.handshake().await;
    // Asking for more than the server has gets its maximum.
    assert_eq!(
        negotiate(sb.addr(), "?negotiateVersion=5").await.json()["negotiateVersion"],
        1
    );

    // The token may come in the query instead of the header.
    let q = http(
        sb.addr(),
        "POST",
        &format!("{HUB}/negotiate?negotiateVersion=1&access_token={KEY}"),
        &[],
        "",
    )
    .await;
    assert_eq!(q.status, 200);
}

#[tokio::test]
async fn negotiate_refusals() {
    let sb = sandbox().await;
    let path = format!("{HUB}/negotiate?negotiateVersion=1");
    assert_eq!(http(sb.addr(), "POST", &path, &[], "").await.status, 401);
    assert_eq!(
        http(
            sb.addr(),
            "POST",
            &path,
            &[("Authorization", "Bearer wrong")],
            ""
        )
        .await
        .status,
        401
    );
    let bad_query = format!("{path}&access_token=wrong");
    assert_eq!(
        http(sb.addr(), "POST", &bad_query, &[], "").await.status,
        401
    );
    assert_eq!(
        http(sb.addr(), "GET", &path, &[("Authorization", &bearer())], "")
            .await
            .status,
        405
    );
    sb.start_maintenance(Duration::from_secs(60));
    assert_eq!(
        negotiate(sb.addr(), "?negotiateVersion=1").await.status,
        503
    );
}

#[tokio::test]
async fn transport_requests_are_checked() {
    let sb = sandbox().await;
    let auth = bearer();
    let (_, token) = negotiate_v1(sb.addr()).await;
    // No credentials on the upgrade.
    assert_eq!(
        open(sb.addr(), &format!("?id={token}"), None).await.err(),
        Some(401)
    );
    // Unknown id.
    assert_eq!(
        open(sb.addr(), "?id=nope", Some(&auth)).await.err(),
        Some(404)
    );
    // The token works once; a second socket for it is a conflict.
    let mut first = open(sb.addr(), &format!("?id={token}"), Some(&auth))
        .await
        .unwrap();
    first.handshake().await;
    assert_eq!(
        open(sb.addr(), &format!("?id={token}"), Some(&auth))
            .await
            .err(),
        Some(409)
    );
    // A connection with a WebSocket takes no polls, sends or event streams.
    for (method, accept) in [
        ("GET", "*/*"),
        ("GET", "text/event-stream"),
        ("POST", "*/*"),
    ] {
        let r = http(
            sb.addr(),
            method,
            &format!("{HUB}?id={token}"),
            &[("Accept", accept), ("Authorization", &auth)],
            "",
        )
        .await;
        assert!(
            [404, 409].contains(&r.status),
            "{method} {accept}: {}",
            r.status
        );
    }
    // skipNegotiation, with the key in the query as browsers send it.
    let mut direct = open(sb.addr(), &format!("?access_token={KEY}"), None)
        .await
        .unwrap();
    direct.handshake().await;
}

#[tokio::test]
async fn handshake_versions_and_errors() {
    let sb = sandbox().await;
    let auth = bearer();
    // signalrcore sends version 0; stateful-reconnect clients send 2.
    for version in [0, 1, 2] {
        let mut hub = open(sb.addr(), "", Some(&auth)).await.unwrap();
        hub.send_raw(format!("{{\"protocol\":\"json\",\"version\":{version}}}\u{1e}").as_bytes())
            .await;
        assert_eq!(hub.handshake_response().await, None);
    }
    let mut hub = open(sb.addr(), "", Some(&auth)).await.unwrap();
    hub.send_raw(b"{\"protocol\":\"messagepack\",\"version\":1}\x1e")
        .await;
    let err = hub.handshake_response().await.unwrap();
    assert!(err.contains("messagepack"), "{err}");
    assert_eq!(hub.next().await, Msg::Ended { clean: true });

    let mut hub = open(sb.addr(), "", Some(&auth)).await.unwrap();
    hub.send_raw(b"{\"protocol\":\"json\",\"version\":3}\x1e")
        .await;
    assert!(
        hub.handshake_response()
            .await
            .unwrap()
            .contains("version 3")
    );

    let mut hub = open(sb.addr(), "", Some(&auth)).await.unwrap();
    hub.send_raw(b"{\"type\":6}\x1e").await;
    assert!(hub.handshake_response().await.is_some());
}

#[tokio::test]
async fn get_pairs_in_both_argument_shapes() {
    let sb = sandbox().await;
    let (mut hub, _) = connect(sb.addr()).await;
    for (id, args) in [("1", json!([["cid-array"]])), ("2", json!(["cid-spread"]))] {
        let (events, completion) = hub.call(id, "GetPairs", &args).await;
        assert_eq!(
            completion,
            Msg::Completion {
                id: id.into(),
                error: None,
                result: None
            }
        );
        assert_eq!(events.len(), 1);
        let (target, env) = &events[0];
        assert_eq!(target, "executionEvents");
        assert_eq!(env["subject"], "execution.pairs");
        assert_eq!(env["channel"], "executionEvents");
        assert_eq!(env["type"], "message");
        let expected_cid = if id == "1" { "cid-array" } else { "cid-spread" };
        assert_eq!(env["clientId"], expected_cid);
        let pairs: Vec<Pair> = hercle_models::decode_str(env["data"].as_str().unwrap()).unwrap();
        assert!(pairs.iter().any(|p| p.name == "BTCUSDT"), "{pairs:?}");
    }
    // Non-blocking call: the event comes, no Completion.
    hub.invoke(None, "getpairs", &json!([["quiet"]])).await;
    let m = hub.next_non_ping().await;
    assert_eq!(m.event().unwrap().1["clientId"], "quiet");
    let (events, _) = hub.call("3", "GetPairs", &json!([["after"]])).await;
    assert_eq!(
        events.len(),
        1,
        "no stray completion for the non-blocking call"
    );
}

#[tokio::test]
async fn bad_arguments_and_unknown_methods() {
    let sb = sandbox().await;
    let (mut hub, _) = connect(sb.addr()).await;
    let (events, completion) = hub
        .call(
            "1",
            "SubscribePairPriceChannel",
            &json!([["c1", "BTCUSDT", "lots"]]),
        )
        .await;
    assert_eq!(
        completion,
        Msg::Completion {
            id: "1".into(),
            error: None,
            result: None
        }
    );
    assert_eq!(events[0].1["subject"], "preChecksError");
    assert_eq!(events[0].1["clientId"], "c1");
    let (events, _) = hub.call("2", "GetPairs", &json!([])).await;
    assert_eq!(events[0].1["subject"], "preChecksError");

    // Unknown method: a Completion error as the .NET server sends, and the
    // connection stays.
    hub.invoke(Some("3"), "NoSuchMethod", &json!([])).await;
    let Msg::Completion {
        id,
        error: Some(error),
        ..
    } = hub.next_non_ping().await
    else {
        panic!()
    };
    assert_eq!(id, "3");
    assert!(error.contains("NoSuchMethod"));
    // Streaming invocation of a plain method.
    hub.send_raw(
        b"{\"type\":4,\"invocationId\":\"4\",\"target\":\"GetPairs\",\"arguments\":[[\"c\"]]}\x1e",
    )
    .await;
    assert!(matches!(
        hub.next_non_ping().await,
        Msg::Completion { error: Some(_), .. }
    ));
    let (events, _) = hub.call("5", "GetPairs", &json!([["still-here"]])).await;
    assert_eq!(events[0].1["subject"], "execution.pairs");

    // Unknown fields, headers and message types are ignored; two records in
    // one frame and one record over two frames are read.
    hub.send_raw(b"{\"type\":99}\x1e{\"type\":1,\"invocationId\":\"6\",\"target\":\"GetPairs\",\"headers\":{\"a\":\"b\"},\"x\":1,\"argu").await;
    hub.send_raw(b"ments\":[[\"split\"]]}\x1e").await;
    let m = hub.next_non_ping().await;
    assert_eq!(m.event().unwrap().1["clientId"], "split");
    assert!(matches!(hub.next_non_ping().await, Msg::Completion { .. }));

    // A protocol error (no `arguments`) closes the connection with an error.
    hub.send_raw(b"{\"type\":1,\"target\":\"GetPairs\"}\x1e")
        .await;
    let Msg::Close {
        error: Some(_),
        allow_reconnect: false,
    } = hub.next_non_ping().await
    else {
        panic!()
    };
    assert_eq!(hub.next().await, Msg::Ended { clean: true });
}

/// Price updates on `subscriptions` until unsubscribed, counted on a
/// frozen clock moved by hand, so every interval is exact.
#[tokio::test(start_paused = true)]
async fn subscribe_stream_and_unsubscribe() {
    freeze_clock();
    let sb = sandbox().await;
    let (mut hub, _) = connect(sb.addr()).await;
    let sub = json!([["sub-1", "BTCUSDT", 0.5]]);
    let count = |events: &[(String, serde_json::Value)]| {
        events.iter().filter(|(t, _)| t == "subscriptions").count()
    };
    let (events, _) = hub.call_all("s1", "SubscribePairPriceChannel", &sub).await;
    assert!(
        events.iter().all(|(t, _)| t == "subscriptions"),
        "no documented answer to a subscription"
    );
    let mut at_start = count(&events);
    // Subscribing the same (clientId, pair, size) again replaces the
    // stream (the size written differently is the same size).
    let (events, _) = hub
        .call_all(
            "s2",
            "SubscribePairPriceChannel",
            &json!([["sub-1", "BTCUSDT", "0.50"]]),
        )
        .await;
    at_start += count(&events);
    let (events, _) = hub.call_all("b0", "GetPairs", &json!([["barrier"]])).await;
    at_start += count(&events);
    // Each start sends one update at once (the first stream's may be
    // replaced before it is produced).
    assert!((1..=2).contains(&at_start), "{at_start}");
    let mut ids = Vec::new();
    for step in 1..=4 {
        tokio::time::advance(Duration::from_secs(1)).await;
        let (events, _) = hub
            .call_all(&format!("b{step}"), "GetPairs", &json!([["barrier"]]))
            .await;
        let updates: Vec<_> = events
            .iter()
            .filter(|(t, _)| t == "subscriptions")
            .map(|(_, e)| e)
            .collect();
        assert_eq!(updates.len(), 1, "one update per interval, step {step}");
        let env = updates[0];
        assert_eq!(env["subject"], "execution.feeds.priceUpdate");
        assert_eq!(env["channel"], "subscriptions");
        assert_eq!(env["clientId"], "sub-1");
        let quote: serde_json::Value = serde_json::from_str(env["data"].as_str().unwrap()).unwrap();
        assert_eq!(quote["pair"], "BTCUSDT");
        ids.push(quote["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 4, "a fresh price id each time");
    // A fresh clientId, as clients use per request, still stops the stream.
    hub.call(
        "u",
        "UnsubscribePairPriceChannel",
        &json!([["unsub-1", "BTCUSDT", 0.5]]),
    )
    .await;
    for step in 1..=3 {
        tokio::time::advance(Duration::from_secs(1)).await;
        let (events, _) = hub
            .call_all(&format!("q{step}"), "GetPairs", &json!([["barrier"]]))
            .await;
        assert!(
            events.iter().all(|(t, _)| t != "subscriptions"),
            "update after unsubscribe"
        );
    }
}

#[tokio::test]
async fn order_from_a_streamed_price() {
    let sb = sandbox().await;
    let (mut hub, _) = connect(sb.addr()).await;
    hub.call(
        "1",
        "SubscribePairPriceChannel",
        &json!([["px", "BTCUSDT", 0.01]]),
    )
    .await;
    let m = hub.next_non_ping().await;
    let (_, env) = m.event().unwrap();
    let quote: serde_json::Value = serde_json::from_str(env["data"].as_str().unwrap()).unwrap();
    let price_id = quote["id"].as_str().unwrap().to_owned();
    let (events, _) = hub
        .call(
            "2",
            "PlaceOtcOrder",
            &json!([["order-1", price_id, "buy", 0.5]]),
        )
        .await;
    let (_, env) = &events[0];
    assert_eq!(env["subject"], "execution.order.executed", "{env}");
    assert_eq!(env["clientId"], "order-1");
    let trade: TradeExecution = hercle_models::decode_str(env["data"].as_str().unwrap()).unwrap();
    assert_eq!(trade.status, OrderStatus::Executed);
}

/// Keep-alive and client timeout, on a frozen clock moved by hand.
#[tokio::test(start_paused = true)]
async fn ping_after_silence_then_timeout() {
    freeze_clock();
    let sb = sandbox().await;
    let (mut hub, _) = connect(sb.addr()).await;
    // No ping before 15 s of send-silence (the reply restarts the count).
    tokio::time::advance(Duration::from_secs(14)).await;
    let (events, _) = hub.call_all("1", "GetPairs", &json!([["a"]])).await;
    assert_eq!(events.len(), 1);
    tokio::time::advance(Duration::from_secs(15)).await;
    assert_eq!(hub.next().await, Msg::Ping);
    // Nothing from the client for 30 s since its call: Close, reconnect allowed.
    tokio::time::advance(Duration::from_secs(15)).await;
    loop {
        match hub.next().await {
            Msg::Ping => {}
            Msg::Close {
                error: None,
                allow_reconnect: true,
            } => break,
            m => panic!("{m:?}"),
        }
    }
    assert_eq!(hub.next().await, Msg::Ended { clean: true });
}

/// Any client message (Pings included) restarts the client timeout.
#[tokio::test(start_paused = true)]
async fn client_pings_keep_the_connection() {
    freeze_clock();
    let sb = sandbox().await;
    let (mut hub, _) = connect(sb.addr()).await;
    for i in 0..6 {
        tokio::time::advance(Duration::from_secs(20)).await;
        hub.ping().await;
        // The call is a barrier: the server has read the ping.
        let (events, completion) = hub.call(&i.to_string(), "GetPairs", &json!([["k"]])).await;
        assert_eq!(events.len(), 1, "{completion:?}");
    }
}

#[tokio::test]
async fn fault_drop_ends_without_close() {
    let sb = sandbox().await;
    let (mut hub, id) = connect(sb.addr()).await;
    let (mut other, _) = connect(sb.addr()).await;
    assert_eq!(
        sb.inject_hub_fault(HubFault::Drop {
            connection: Some(id)
        }),
        2
    );
    assert_eq!(hub.next().await, Msg::Ended { clean: false });
    // Only the targeted connection.
    let (events, _) = other.call("1", "GetPairs", &json!([["x"]])).await;
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn fault_close_with_reconnect() {
    let sb = sandbox().await;
    let (mut hub, _) = connect(sb.addr()).await;
    let error = Some("maintenance".to_owned());
    sb.inject_hub_fault(HubFault::Close {
        connection: None,
        allow_reconnect: true,
        error: error.clone(),
    });
    assert_eq!(
        hub.next().await,
        Msg::Close {
            error,
            allow_reconnect: true
        }
    );
    assert_eq!(hub.next().await, Msg::Ended { clean: true });
}

#[tokio::test]
async fn fault_close_via_admin_api() {
    let sb = sandbox().await;
    let (mut hub, id) = connect(sb.addr()).await;
    let body = json!({"action": "close", "connectionId": id}).to_string();
    let r = http(
        sb.addr(),
        "POST",
        "/_sandbox/faults/hub",
        &[("Content-Type", "application/json")],
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        hub.next().await,
        Msg::Close {
            error: None,
            allow_reconnect: false
        }
    );
}

/// A stalled connection sends nothing, pings, replies and price updates
/// included, while the socket stays open. Real time with short intervals:
/// there is nothing to wait for but silence.
#[tokio::test]
async fn fault_stall_goes_silent() {
    let config = Config {
        keep_alive: Duration::from_millis(50),
        price_interval: Duration::from_millis(20),
        client_timeout: Duration::from_secs(60),
        ..Config::default()
    };
    let sb = Sandbox::start(config).await.unwrap();
    let (mut hub, id) = connect(sb.addr()).await;
    hub.call(
        "1",
        "SubscribePairPriceChannel",
        &json!([["s", "BTCUSDT", 0.5]]),
    )
    .await;
    // Updates and pings flow before the stall.
    let mut seen = 0;
    while seen < 5 {
        assert!(matches!(
            hub.next().await,
            Msg::Ping | Msg::Invocation { .. }
        ));
        seen += 1;
    }
    sb.inject_hub_fault(HubFault::Stall {
        connection: Some(id.clone()),
    });
    hub.invoke(Some("x"), "GetPairs", &json!([["x"]])).await;
    // What was in flight may still arrive, never the reply; then silence
    // for many keep-alive and price intervals.
    let mut late = 0;
    loop {
        match tokio::time::timeout(Duration::from_millis(500), hub.next()).await {
            Err(_) => break,
            Ok(m @ (Msg::Ended { .. } | Msg::Completion { .. } | Msg::Close { .. })) => {
                panic!("during a stall: {m:?}")
            }
            Ok(m) => {
                assert_ne!(
                    m.event().map(|(t, _)| t.to_owned()),
                    Some("executionEvents".to_owned())
                );
                late += 1;
                assert!(late <= 3, "still sending after the stall");
            }
        }
    }
    // The socket is still open: an explicit close gets through.
    sb.inject_hub_fault(HubFault::Close {
        connection: Some(id),
        allow_reconnect: false,
        error: None,
    });
    assert_eq!(
        hub.next().await,
        Msg::Close {
            error: None,
            allow_reconnect: false
        }
    );
}

/// `METHOD {hub}?id=…` without credentials (the `id` is the secret).
async fn transport_request(
    sb: &Sandbox,
    method: &str,
    query: &str,
    body: &str,
) -> client::HttpReply {
    http(sb.addr(), method, &format!("{HUB}{query}"), &[], body).await
}

#[tokio::test]
async fn long_polling_follows_the_aspnet_semantics() {
    let sb = sandbox().await;
    let (_, token) = negotiate_v1(sb.addr()).await;
    let id = format!("?id={token}");
    // Missing and unknown ids.
    assert_eq!(transport_request(&sb, "GET", "", "").await.status, 400);
    assert_eq!(
        transport_request(&sb, "GET", "?id=nope", "").await.status,
        404
    );
    assert_eq!(
        transport_request(&sb, "POST", "?id=nope", "x").await.status,
        404
    );
    // A handshake POSTed before the first poll is kept (signalrcore's order).
    let hs = "{\"protocol\":\"json\",\"version\":1}\u{1e}";
    assert_eq!(transport_request(&sb, "POST", &id, hs).await.status, 200);
    // The first poll only sets the connection up: 200, empty, at once.
    let first = transport_request(&sb, "GET", &id, "").await;
    assert_eq!((first.status, first.body.as_str()), (200, ""));
    let answer = transport_request(&sb, "GET", &id, "").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "{}\u{1e}"));
    // A blocking call: the envelope and the Completion, one record a poll.
    let call = "{\"type\":1,\"invocationId\":\"7\",\"target\":\"GetPairs\",\"arguments\":[[\"lp\"]]}\u{1e}";
    assert_eq!(transport_request(&sb, "POST", &id, call).await.status, 200);
    let event = transport_request(&sb, "GET", &id, "").await;
    assert!(event.body.contains("execution.pairs"), "{}", event.body);
    assert_eq!(event.body.matches('\u{1e}').count(), 1);
    let done = transport_request(&sb, "GET", &id, "").await;
    assert_eq!(done.body, "{\"type\":3,\"invocationId\":\"7\"}\u{1e}");
    // Two polls at once: the newer replaces the held one, which gets 204.
    let (a, b) = (
        tokio::spawn(transport_request_owned(sb.addr(), "GET", id.clone())),
        tokio::spawn(transport_request_owned(sb.addr(), "GET", id.clone())),
    );
    let (first_done, _, mut rest) = tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::future::select_all([a, b]),
    )
    .await
    .expect("a replaced poll ends at once");
    assert_eq!(first_done.unwrap(), 204);
    // DELETE ends the connection: the held poll gets 204, later requests 404.
    assert_eq!(transport_request(&sb, "DELETE", &id, "").await.status, 202);
    assert_eq!(rest.pop().unwrap().await.unwrap(), 204);
    let after = transport_request(&sb, "GET", &id, "").await.status;
    assert!([204, 404].contains(&after), "{after}");
    assert_eq!(transport_request(&sb, "POST", &id, "{}").await.status, 404);
}

async fn transport_request_owned(addr: std::net::SocketAddr, method: &str, query: String) -> u16 {
    http(addr, method, &format!("{HUB}{query}"), &[], "")
        .await
        .status
}

#[tokio::test]
async fn server_sent_events_carry_records_as_data_lines() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sb = sandbox().await;
    let (_, token) = negotiate_v1(sb.addr()).await;
    let id = format!("?id={token}");
    let mut stream = tokio::net::TcpStream::connect(sb.addr()).await.unwrap();
    let req = format!(
        "GET {HUB}{id}&access_token={KEY} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut seen = String::new();
    let mut read_until = async |stream: &mut tokio::net::TcpStream, needle: &str| {
        let mut buf = [0u8; 4096];
        while !seen.contains(needle) {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "stream ended before {needle:?}: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        seen.clone()
    };
    let head = read_until(&mut stream, "\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    let hs = "{\"protocol\":\"json\",\"version\":1}\u{1e}";
    assert_eq!(transport_request(&sb, "POST", &id, hs).await.status, 200);
    read_until(&mut stream, "data: {}\u{1e}\r\n\r\n").await;
    let call = "{\"type\":1,\"target\":\"GetPairs\",\"arguments\":[[\"sse\"]]}\u{1e}";
    assert_eq!(transport_request(&sb, "POST", &id, call).await.status, 200);
    let events = read_until(&mut stream, "execution.pairs").await;
    assert!(
        events.contains("data: {\"type\":1,\"target\":\"executionEvents\""),
        "{events}"
    );
    // DELETE ends the connection and with it the event stream (the chunked
    // body's last chunk).
    assert_eq!(transport_request(&sb, "DELETE", &id, "").await.status, 202);
    tokio::time::timeout(
        Duration::from_secs(10),
        read_until(&mut stream, "\r\n0\r\n\r\n"),
    )
    .await
    .expect("the stream ends");
}
