//! `hercle-bench signalr-server [PORT [RATE]]`: the local hub every SignalR
//! contestant reads the same price stream from.
//!
//! It speaks just enough of ASP.NET Core SignalR for a real client:
//! `POST {hub}/negotiate` (version 1, WebSockets only), the WebSocket
//! upgrade (both refused with 401 without an access token), the JSON handshake, and a `SubscribePairPriceChannel` call (one
//! array argument or spread arguments; a Completion when the call carries
//! an invocation id). Then it pushes price updates to `subscriptions`
//! shaped as HercleX sends them: the envelope as a JSON string whose `data`
//! is a JSON string holding the quote. The record is built once from the
//! models (the docs' `PriceQuote` fixture, with the subscribed pair, size and
//! clientId) and each update only fills in its own `id` and `timestamp`:
//! CLOCK_MONOTONIC nanoseconds read just before the socket write.
//!
//! `RATE` 0 (the default) sends as fast as the client reads (TCP
//! back-pressure: batches of [`BATCH`] records per write); a positive `RATE`
//! sends that many updates a second, each written on its own. Every
//! connection ends after `BENCH_HUB_MAX_UPDATES` updates (default 10 M) or
//! `BENCH_HUB_MAX_S` seconds (default 300), or when the client leaves.
//! Binds 127.0.0.1 only and prints `PORT <n>` once listening.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use hercle_hub::feed::{PRICE_UPDATE_SUBJECT, SUBSCRIPTIONS_TARGET};
use hercle_models::{EmbeddedJson, HubChannel, HubEnvelope, HubMessageType, PriceQuote, Timestamp};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use signalr_proto::negotiate::{
    AvailableTransport, NegotiateResponse, TransferFormat, TransportType,
};
use signalr_proto::{Decoder, HubMessage, encode, parse_handshake_request, parse_message};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The docs' price update `data`: the shape every pushed quote has.
const QUOTE: &str = include_str!("../../../fixtures/hub/SubscribePairPriceChannel/data-docs.json");
/// The hub path of the contract's `HERCLE_HUB_URL`.
const HUB_PATH: &str = hercle_hub::HUB_PATH;
/// Records per write when sending as fast as the client reads.
const BATCH: usize = 32;
/// Placeholders the record template is cut at: a quote id no quote has, and
/// a timestamp of 18 digits (the real one is at most that long).
const ID_MARK: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";
const TS_MARK: i64 = 987_654_321_987_654_321;

type Body = Full<Bytes>;

/// Per-connection limits and pace.
#[derive(Clone, Copy, Debug)]
struct Pace {
    /// Updates a second; 0 = as fast as the client reads.
    rate: u64,
    max_updates: u64,
    max_time: Duration,
}

pub(crate) fn main(port: Option<&str>, rate: Option<&str>) -> Result<(), String> {
    let port: u16 = port
        .unwrap_or("0")
        .parse()
        .map_err(|_| "bad port".to_owned())?;
    let pace = Pace {
        rate: rate
            .unwrap_or("0")
            .parse()
            .map_err(|_| "bad rate".to_owned())?,
        max_updates: crate::report::var("BENCH_HUB_MAX_UPDATES", Some(10_000_000))?,
        max_time: Duration::from_secs(crate::report::var("BENCH_HUB_MAX_S", Some(300))?),
    };
    // One thread: the hub keeps to one core and leaves the other to the
    // client under test.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(serve(port, pace))
}

async fn serve(port: u16, pace: Pace) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("PORT {}", addr.port());
    let _ = std::io::stdout().flush();
    let connections = Arc::new(AtomicU64::new(0));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let connections = Arc::clone(&connections);
                async move { Ok::<_, std::convert::Infallible>(route(req, pace, &connections)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp
}

/// Whether the request carries an access token, as the contract asks of
/// every client: `Authorization: Bearer KEY` or the `access_token` query
/// parameter. Any key will do; the point is that clients send one.
fn has_token(req: &Request<Incoming>) -> bool {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| !k.trim().is_empty());
    let query = req.uri().query().unwrap_or("").split('&').any(|kv| {
        kv.strip_prefix("access_token=")
            .is_some_and(|k| !k.is_empty())
    });
    header || query
}

fn route(mut req: Request<Incoming>, pace: Pace, connections: &AtomicU64) -> Response<Body> {
    if !has_token(&req) {
        return respond(StatusCode::UNAUTHORIZED, "");
    }
    let path = req.uri().path().trim_end_matches('/');
    if req.method() == Method::POST && path == format!("{HUB_PATH}/negotiate") {
        let n = connections.fetch_add(1, Ordering::Relaxed);
        let transports = vec![AvailableTransport {
            transport: TransportType::WebSockets,
            transfer_formats: vec![TransferFormat::Text, TransferFormat::Binary],
        }];
        let body = NegotiateResponse::connect(
            1,
            format!("bench-{n}"),
            format!("bench-token-{n}"),
            transports,
        )
        .to_vec();
        let mut resp = respond(StatusCode::OK, body);
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return resp;
    }
    if req.method() != Method::GET || path != HUB_PATH {
        return respond(StatusCode::NOT_FOUND, "");
    }
    let Some(accept) = req
        .headers()
        .get("sec-websocket-key")
        .map(|k| derive_accept_key(k.as_bytes()))
        .and_then(|a| HeaderValue::from_str(&a).ok())
    else {
        return respond(StatusCode::BAD_REQUEST, "Not a WebSocket request");
    };
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        if let Err(e) = hub_session(ws, pace).await {
            eprintln!("hub connection: {e}");
        }
    });
    let mut resp = respond(StatusCode::SWITCHING_PROTOCOLS, "");
    let h = resp.headers_mut();
    h.insert("upgrade", HeaderValue::from_static("websocket"));
    h.insert("connection", HeaderValue::from_static("Upgrade"));
    h.insert("sec-websocket-accept", accept);
    resp
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// What the client subscribed to.
struct Subscription {
    client_id: String,
    pair: String,
    size: hercle_models::Decimal,
}

/// Handshake, the subscribe call, then the push until a limit or the client's exit.
async fn hub_session(mut ws: Socket, pace: Pace) -> Result<(), String> {
    let mut decoder = Decoder::new();
    let mut handshaken = false;
    let sub = 'read: loop {
        let msg = ws
            .next()
            .await
            .ok_or("client left before subscribing")?
            .map_err(|e| e.to_string())?;
        let payload = match msg {
            Message::Text(t) => Bytes::from(t),
            Message::Binary(b) => b,
            Message::Close(_) => return Ok(()),
            _ => continue,
        };
        decoder.push(&payload);
        while let Some(record) = decoder.next_record().map_err(|e| e.to_string())? {
            if !handshaken {
                parse_handshake_request(record).map_err(|e| e.to_string())?;
                let mut out = Vec::new();
                encode::handshake_response(&mut out, None);
                send_text(&mut ws, out).await?;
                handshaken = true;
                continue;
            }
            let Ok(Some(HubMessage::Invocation(inv))) = parse_message(record) else {
                continue;
            };
            if inv.target != "SubscribePairPriceChannel" {
                continue;
            }
            let args: Vec<&str> = inv.arguments.iter().map(|a| a.get()).collect();
            let sub = subscription(&args)?;
            if let Some(id) = &inv.invocation_id {
                let mut out = Vec::new();
                encode::completion_void(&mut out, id);
                send_text(&mut ws, out).await?;
            }
            break 'read sub;
        }
    };
    let template = Template::new(&sub)?;
    let (mut sink, mut stream) = ws.split();
    // The client's pings and its Close are read (and dropped) on the side;
    // its leaving stops the push.
    let gone = Arc::new(AtomicBool::new(false));
    let reader = {
        let gone = Arc::clone(&gone);
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                if msg.is_close() {
                    break;
                }
            }
            gone.store(true, Ordering::Relaxed);
        })
    };
    let result = push(&mut sink, &template, pace, &gone).await;
    reader.abort();
    let _ = sink.close().await;
    result
}

fn subscription(args: &[&str]) -> Result<Subscription, String> {
    let owned: Vec<Box<serde_json::value::RawValue>>;
    let args: Vec<&str> = match args {
        [one] if one.trim_start().starts_with('[') => {
            owned = serde_json::from_str(one).map_err(|e| format!("arguments: {e}"))?;
            owned.iter().map(|a| a.get()).collect()
        }
        spread => spread.to_vec(),
    };
    let [client_id, pair, size, ..] = args.as_slice() else {
        return Err("SubscribePairPriceChannel needs [clientId, pair, size]".into());
    };
    let text =
        |v: &str| serde_json::from_str::<String>(v).map_err(|e| format!("argument {v}: {e}"));
    Ok(Subscription {
        client_id: text(client_id)?,
        pair: text(pair)?,
        size: hercle_models::decimal::parse_exact(size.trim())
            .map_err(|e| format!("size {size}: {e}"))?,
    })
}

/// The record of one update, cut where its `id` and `timestamp` go.
struct Template {
    head: Vec<u8>,
    middle: Vec<u8>,
    tail: Vec<u8>,
}

impl Template {
    fn new(sub: &Subscription) -> Result<Self, String> {
        let mut quote: PriceQuote =
            hercle_models::decode(QUOTE.as_bytes()).map_err(|e| format!("quote fixture: {e}"))?;
        quote.id = ID_MARK.to_owned();
        quote.pair = sub.pair.clone();
        quote.size = Some(sub.size);
        quote.timestamp = Some(Timestamp::from_unix_millis(TS_MARK));
        let envelope = HubEnvelope {
            channel: Some(HubChannel::Subscriptions),
            topic: Some("Execution".to_owned()),
            subject: Some(PRICE_UPDATE_SUBJECT.to_owned()),
            r#type: Some(HubMessageType::Message),
            client_id: Some(sub.client_id.clone()),
            data: Some(EmbeddedJson::encode_as_string(&quote).map_err(|e| e.to_string())?),
            extra: Default::default(),
        };
        let envelope = serde_json::to_string(&envelope).map_err(|e| e.to_string())?;
        let mut record = Vec::new();
        encode::invocation(
            &mut record,
            None,
            SUBSCRIPTIONS_TARGET,
            &[envelope.as_str()],
        )
        .map_err(|e| e.to_string())?;
        // Record separator: one WebSocket message is one record.
        let record = String::from_utf8(record).map_err(|e| e.to_string())?;
        let (head, rest) = record
            .split_once(ID_MARK)
            .ok_or("template: no id placeholder")?;
        let (middle, tail) = rest
            .split_once(&TS_MARK.to_string())
            .ok_or("template: no timestamp placeholder")?;
        Ok(Template {
            head: head.as_bytes().to_vec(),
            middle: middle.as_bytes().to_vec(),
            tail: tail.as_bytes().to_vec(),
        })
    }

    /// Update `n`, stamped now.
    fn render(&self, n: u64) -> String {
        let mut out =
            Vec::with_capacity(self.head.len() + self.middle.len() + self.tail.len() + 64);
        out.extend_from_slice(&self.head);
        // A UUID-shaped id (hex digits and dashes need no escaping).
        let _ = write!(out, "00000000-0000-4000-8000-{n:012x}");
        out.extend_from_slice(&self.middle);
        let _ = write!(out, "{}", crate::rusage::monotonic_ns());
        out.extend_from_slice(&self.tail);
        // Only ASCII digits went into a valid UTF-8 template.
        String::from_utf8(out).unwrap_or_default()
    }
}

async fn send_text(ws: &mut Socket, record: Vec<u8>) -> Result<(), String> {
    let text = String::from_utf8(record).map_err(|e| e.to_string())?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| e.to_string())
}

type Sink = futures_util::stream::SplitSink<Socket, Message>;

async fn push(
    sink: &mut Sink,
    template: &Template,
    pace: Pace,
    gone: &AtomicBool,
) -> Result<(), String> {
    let start = Instant::now();
    // Nanoseconds between updates, when paced.
    let interval = (pace.rate > 0).then(|| 1_000_000_000 / pace.rate);
    let mut n = 0;
    while n < pace.max_updates && !gone.load(Ordering::Relaxed) && start.elapsed() < pace.max_time {
        match interval {
            None => {
                for _ in 0..BATCH.min(usize::try_from(pace.max_updates - n).unwrap_or(BATCH)) {
                    if sink.feed(Message::text(template.render(n))).await.is_err() {
                        return Ok(());
                    }
                    n += 1;
                }
            }
            Some(interval) => {
                let due = start + Duration::from_nanos(n.saturating_mul(interval));
                wait_until(due).await;
                if sink.feed(Message::text(template.render(n))).await.is_err() {
                    return Ok(());
                }
                n += 1;
            }
        }
        // The client leaving shows as a failed write: the run is over.
        if sink.flush().await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Sleeps until `due`: tokio's timer (1 ms ticks) for the bulk, then the
/// thread's own sleep for the last stretch, so a fixed rate of tens of
/// thousands a second is paced by the update and not by the millisecond.
/// Blocking this runtime's only thread is fine: it serves one client.
async fn wait_until(due: Instant) {
    let now = Instant::now();
    if due <= now {
        return;
    }
    let left = due - now;
    if left > Duration::from_millis(2) {
        tokio::time::sleep_until((due - Duration::from_millis(1)).into()).await;
    }
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use hercle_hub::feed::{self, FeedRecord};

    #[test]
    fn updates_are_the_documented_record_and_take_the_feed_fast_path() {
        let sub = subscription(&[r#"["cid-1","BTCUSDT",0.010]"#]).unwrap();
        let template = Template::new(&sub).unwrap();
        let before = crate::rusage::monotonic_ns();
        let text = template.render(42);
        let record = text.strip_suffix('\u{1e}').unwrap().as_bytes();
        // The general path (signalr-proto, then the models) reads it as a
        // price update: envelope string, subject, `data` string.
        let Ok(FeedRecord::Price(general)) = feed::decode_general(record) else {
            panic!("not a price update: {text}");
        };
        // And the hub client's scanner recognises it, as it does HercleX's.
        assert!(feed::decode_fast(record).unwrap().identical(&general));
        assert_eq!(general.envelope.client_id.as_deref(), Some("cid-1"));
        let q = general.quote;
        assert_eq!(q.id, "00000000-0000-4000-8000-00000000002a");
        assert_eq!(q.pair, "BTCUSDT");
        assert_eq!(q.size.unwrap().to_string(), "0.010");
        assert_eq!(q.buy_price.to_string(), "26798.5");
        let stamp = q.timestamp.unwrap().unix_millis().unwrap();
        assert!(stamp >= before && stamp <= crate::rusage::monotonic_ns());
    }

    #[test]
    fn the_subscribe_call_is_read_as_one_array_or_spread() {
        for args in [
            vec![r#"["a","ETHUSDT",1.5]"#],
            vec![r#""a""#, r#""ETHUSDT""#, "1.5"],
        ] {
            let sub = subscription(&args).unwrap();
            assert_eq!(
                (sub.client_id.as_str(), sub.pair.as_str()),
                ("a", "ETHUSDT")
            );
            assert_eq!(sub.size.to_string(), "1.5");
        }
        assert!(subscription(&[r#"["a"]"#]).is_err());
    }
}
