//! `hercle-bench signalr-floor`: the least a client can do with the same
//! stream, to show what the kernel alone costs per update.
//!
//! One thread, no async runtime, blocking `tungstenite` over a std
//! `TcpStream`: negotiate, WebSocket, handshake, the subscribe call, then
//! read every WebSocket message and take the hub's stamp out of it by a byte
//! search. No JSON is parsed and nothing is decoded, so what it spends per
//! update is the floor under any client reading this stream on this machine:
//! the wake-up, the `recv`, the WebSocket framing. The `signalr` suite's
//! figures are read against it in `docs/benchmarks.md`. It is not a client
//! anyone should use.
//!
//! `BENCH_FLOOR_IO=tokio` reads the same way through `tokio-tungstenite` on a
//! current-thread runtime instead: the floor for a client that sleeps in
//! `epoll_wait` rather than in `recv`, as every async client (ours, Node's)
//! does. The upgrade is still made blocking, then the socket handed over.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use memchr::memmem;
use signalr_proto::HandshakeRequest;
use signalr_proto::encode;
use signalr_proto::negotiate::{NegotiateResponse, Negotiation};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::rusage::monotonic_ns;
use crate::signalr::{PAIR, SIZE, Settings, Tally, report};

pub(crate) fn main() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let io: String = crate::report::var("BENCH_FLOOR_IO", Some("blocking".to_owned()))?;
    let library = concat!(
        "tungstenite, no decode; hercle-bench ",
        env!("CARGO_PKG_VERSION")
    );
    match io.as_str() {
        "blocking" => {
            let outcome = run(&settings);
            report(
                "floor",
                library,
                "one thread, blocking reads",
                &settings,
                outcome,
            )
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let outcome = run_tokio(&rt, &settings);
            report(
                "floor-tokio",
                library,
                "tokio current_thread",
                &settings,
                outcome,
            )
        }
        other => Err(format!(
            "BENCH_FLOOR_IO: {other:?} is neither blocking nor tokio"
        )),
    }
}

/// `http://host:port/path` → (`host:port`, `/path`).
fn split_url(url: &str) -> Result<(&str, &str), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the floor reads plain http:// on loopback only")?;
    Ok(rest.split_at(rest.find('/').unwrap_or(rest.len())))
}

fn negotiate(host: &str, path: &str, key: &str) -> Result<String, String> {
    let mut tcp = TcpStream::connect(host).map_err(|e| format!("negotiate: {e}"))?;
    let req = format!(
        "POST {path}/negotiate?negotiateVersion=1 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(req.as_bytes())
        .map_err(|e| format!("negotiate: {e}"))?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer)
        .map_err(|e| format!("negotiate: {e}"))?;
    let body = memmem::find(&answer, b"\r\n\r\n")
        .and_then(|at| answer.get(at + 4..))
        .ok_or("negotiate: no body")?;
    match NegotiateResponse::from_slice(body)
        .and_then(NegotiateResponse::into_negotiation)
        .map_err(|e| format!("negotiate: {e}"))?
    {
        Negotiation::Connect(info) => Ok(info.connection_token),
        Negotiation::Redirect { .. } => Err("negotiate: redirects are not followed".to_owned()),
    }
}

/// Connected, upgraded and subscribed.
fn open(s: &Settings) -> Result<tungstenite::WebSocket<TcpStream>, String> {
    let (host, path) = split_url(&s.url)?;
    let token = negotiate(host, path, &s.key)?;
    let tcp = TcpStream::connect(host).map_err(|e| format!("connect: {e}"))?;
    // The blocking read has no deadline of its own: the bench's bound.
    tcp.set_read_timeout(Some(s.timeout))
        .map_err(|e| e.to_string())?;
    let mut req = format!("ws://{host}{path}?id={token}")
        .into_client_request()
        .map_err(|e| format!("upgrade: {e}"))?;
    let bearer = format!("Bearer {}", s.key)
        .parse()
        .map_err(|_| "the key is not a header value")?;
    req.headers_mut().insert("authorization", bearer);
    let (mut ws, _) = tungstenite::client::client_with_config(req, tcp, Some(config()))
        .map_err(|e| format!("upgrade: {e}"))?;
    let mut out = Vec::new();
    encode::handshake_request(&mut out, &HandshakeRequest::json());
    let args = [format!("[\"floor-1\",\"{PAIR}\",{SIZE}]")];
    let args: Vec<&serde_json::value::RawValue> = args
        .iter()
        .map(|a| serde_json::from_str(a))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    encode::invocation(&mut out, None, "SubscribePairPriceChannel", &args)
        .map_err(|e| e.to_string())?;
    let out = String::from_utf8(out).map_err(|e| e.to_string())?;
    ws.send(Message::text(out))
        .map_err(|e| format!("subscribe: {e}"))?;
    Ok(ws)
}

fn run(s: &Settings) -> Result<Tally, String> {
    let mut ws = open(s)?;
    let mut t = Tally::new(s.count, s.warmup);
    while t.received < s.count {
        let msg = ws.read().map_err(|e| format!("read: {e}"))?;
        take(&mut t, msg)?;
    }
    t.stop();
    let _ = ws.close(None);
    Ok(t)
}

fn run_tokio(rt: &tokio::runtime::Runtime, s: &Settings) -> Result<Tally, String> {
    use futures_util::StreamExt as _;
    let tcp = open(s)?.into_inner();
    tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
    let (count, warmup) = (s.count, s.warmup);
    let app = rt.spawn(async move {
        let tcp = tokio::net::TcpStream::from_std(tcp).map_err(|e| e.to_string())?;
        let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            tcp,
            tungstenite::protocol::Role::Client,
            Some(config()),
        )
        .await;
        let mut t = Tally::new(count, warmup);
        while t.received < count {
            let msg = ws.next().await.ok_or("the hub left")?;
            take(&mut t, msg.map_err(|e| format!("read: {e}"))?)?;
        }
        t.stop();
        Ok(t)
    });
    let timeout = s.timeout;
    rt.block_on(async move { tokio::time::timeout(timeout, app).await })
        .map_err(|_| "timeout".to_owned())?
        .map_err(|e| e.to_string())?
}

/// The read size the hub client uses (session-core's), so that the floor
/// is not raised by zeroing a larger buffer than the client does.
fn config() -> tungstenite::protocol::WebSocketConfig {
    let mut config = tungstenite::protocol::WebSocketConfig::default();
    config.read_buffer_size = session_core::READ_BUFFER;
    config
}

/// Counts the updates of one WebSocket message, each with its hub stamp.
fn take(t: &mut Tally, msg: Message) -> Result<(), String> {
    let payload = match msg {
        Message::Text(text) => text,
        Message::Close(_) => return Err(format!("closed after {} updates", t.received)),
        _ => return Ok(()),
    };
    let now = monotonic_ns();
    for record in payload.as_bytes().split(|&b| b == 0x1e) {
        let Some(at) = memmem::find(record, STAMP) else {
            // The handshake answer and anything that is not an update.
            continue;
        };
        let digits = record.get(at + STAMP.len()..).unwrap_or_default();
        let end = digits
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(digits.len());
        let sent = std::str::from_utf8(digits.get(..end).unwrap_or_default())
            .ok()
            .and_then(|d| d.parse().ok());
        t.update(now, sent);
    }
    Ok(())
}

/// The stamp is the quote's `timestamp`, two string levels down.
const STAMP: &[u8] = br#"timestamp\\\":"#;
