//! A minimal SignalR client for the hub tests: raw HTTP for negotiate and the
//! admin API, tokio-tungstenite for the socket, signalr-proto for records.

#![allow(dead_code, unreachable_pub)]

use futures_util::{SinkExt, StreamExt};
use signalr_proto::{CompletionOutcome, Decoder, HandshakeRequest, HubMessage, encode};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub const KEY: &str = "sandbox-key";
pub const HUB: &str = "/ExecutionLiveServer/v1";

/// Stops the paused clock from advancing by itself; only
/// `tokio::time::advance` moves it. Needed with real sockets: tokio
/// auto-advances a paused clock whenever the runtime parks, and it parks on
/// every socket round trip, so timers would fire while data is in flight. A
/// task that always yields keeps the runtime from ever parking idle (I/O is
/// still polled between ticks). Call it first in a `start_paused` test.
pub fn freeze_clock() {
    tokio::spawn(async {
        loop {
            tokio::task::yield_now().await;
        }
    });
}

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub body: String,
}

impl HttpReply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request with `Connection: close`, read to the end.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpReply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    HttpReply {
        status,
        body: body.to_owned(),
    }
}

/// `POST …/negotiate` with the bearer key.
pub async fn negotiate(addr: SocketAddr, query: &str) -> HttpReply {
    let auth = format!("Bearer {KEY}");
    http(
        addr,
        "POST",
        &format!("{HUB}/negotiate{query}"),
        &[("Authorization", &auth)],
        "",
    )
    .await
}

/// Negotiates with version 1; returns (connectionId, connectionToken).
pub async fn negotiate_v1(addr: SocketAddr) -> (String, String) {
    let r = negotiate(addr, "?negotiateVersion=1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    (
        v["connectionId"].as_str().unwrap().to_owned(),
        v["connectionToken"].as_str().unwrap().to_owned(),
    )
}

/// A message as the tests look at it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Invocation {
        id: Option<String>,
        target: String,
        args: Vec<String>,
    },
    Completion {
        id: String,
        error: Option<String>,
        result: Option<String>,
    },
    Ping,
    Close {
        error: Option<String>,
        allow_reconnect: bool,
    },
    Other,
    /// The socket ended; `clean` when a WebSocket close frame came first.
    Ended {
        clean: bool,
    },
}

impl Msg {
    /// The envelope of an event: (target, parsed envelope).
    pub fn event(&self) -> Option<(&str, serde_json::Value)> {
        match self {
            Msg::Invocation {
                id: None,
                target,
                args,
            } if args.len() == 1 => {
                let text: String = serde_json::from_str(&args[0]).ok()?;
                Some((target.as_str(), serde_json::from_str(&text).ok()?))
            }
            _ => None,
        }
    }
}

fn owned(msg: HubMessage<'_>) -> Msg {
    match msg {
        HubMessage::Invocation(i) => Msg::Invocation {
            id: i.invocation_id.map(|s| s.into_owned()),
            target: i.target.into_owned(),
            args: i.arguments.iter().map(|a| a.get().to_owned()).collect(),
        },
        HubMessage::Completion(c) => {
            let (error, result) = match c.outcome {
                CompletionOutcome::Void => (None, None),
                CompletionOutcome::Result(r) => (None, Some(r.get().to_owned())),
                CompletionOutcome::Error(e) => (Some(e.into_owned()), None),
            };
            Msg::Completion {
                id: c.invocation_id.into_owned(),
                error,
                result,
            }
        }
        HubMessage::Ping => Msg::Ping,
        HubMessage::Close(c) => Msg::Close {
            error: c.error.map(|e| e.into_owned()),
            allow_reconnect: c.allow_reconnect,
        },
        _ => Msg::Other,
    }
}

pub struct Hub {
    ws: WebSocketStream<TcpStream>,
    dec: Decoder,
    ended: bool,
}

/// Opens the socket; `Err(status)` when the upgrade is refused.
pub async fn open(addr: SocketAddr, query: &str, auth: Option<&str>) -> Result<Hub, u16> {
    let url = format!("ws://{addr}{HUB}{query}");
    let mut req = url.into_client_request().unwrap();
    if let Some(auth) = auth {
        req.headers_mut()
            .insert("Authorization", auth.parse().unwrap());
    }
    let tcp = TcpStream::connect(addr).await.unwrap();
    match tokio_tungstenite::client_async(req, tcp).await {
        Ok((ws, _)) => Ok(Hub {
            ws,
            dec: Decoder::new(),
            ended: false,
        }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("upgrade failed: {e}"),
    }
}

/// Negotiate v1, open with the bearer header, handshake.
pub async fn connect(addr: SocketAddr) -> (Hub, String) {
    let (id, token) = negotiate_v1(addr).await;
    let mut hub = open(
        addr,
        &format!("?id={token}"),
        Some(&format!("Bearer {KEY}")),
    )
    .await
    .unwrap();
    hub.handshake().await;
    (hub, id)
}

impl Hub {
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::text(String::from_utf8(bytes.to_vec()).unwrap()))
            .await
            .unwrap();
    }

    /// Sends `{"protocol":"json","version":1}` and expects `{}`.
    pub async fn handshake(&mut self) {
        let mut out = Vec::new();
        encode::handshake_request(&mut out, &HandshakeRequest::json());
        self.send_raw(&out).await;
        let resp = self.handshake_response().await;
        assert_eq!(resp, None, "handshake refused");
    }

    /// The handshake response's error, if any.
    pub async fn handshake_response(&mut self) -> Option<String> {
        loop {
            if let Some(r) = self.dec.next_handshake_response().unwrap() {
                return r.error.map(|e| e.into_owned());
            }
            let frame = self
                .ws
                .next()
                .await
                .expect("socket ended before the handshake response")
                .unwrap();
            match frame {
                Message::Text(t) => self.dec.push(t.as_bytes()),
                Message::Binary(_) => panic!("JSON must come in text frames"),
                _ => {}
            }
        }
    }

    pub async fn invoke(&mut self, id: Option<&str>, target: &str, args: &serde_json::Value) {
        let mut out = Vec::new();
        encode::invocation(&mut out, id, target, args).unwrap();
        self.send_raw(&out).await;
    }

    pub async fn ping(&mut self) {
        let mut out = Vec::new();
        encode::ping(&mut out);
        self.send_raw(&out).await;
    }

    /// The next message; `Msg::Ended` (forever) once the socket is gone.
    pub async fn next(&mut self) -> Msg {
        loop {
            if self.ended {
                return Msg::Ended { clean: false };
            }
            if let Some(m) = self.dec.next_message().unwrap() {
                return owned(m);
            }
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => self.dec.push(t.as_bytes()),
                Some(Ok(Message::Binary(_))) => panic!("JSON must come in text frames"),
                Some(Ok(Message::Close(_))) => {
                    // Let tungstenite finish the closing handshake.
                    while let Some(Ok(_)) = self.ws.next().await {}
                    self.ended = true;
                    return Msg::Ended { clean: true };
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    self.ended = true;
                    return Msg::Ended { clean: false };
                }
            }
        }
    }

    /// The next message other than a Ping.
    pub async fn next_non_ping(&mut self) -> Msg {
        for _ in 0..1000 {
            let m = self.next().await;
            if m != Msg::Ping {
                return m;
            }
        }
        panic!("only pings");
    }

    /// Answers (events other than price updates) until the Completion of
    /// `id`; panics on anything unexpected.
    pub async fn call(
        &mut self,
        id: &str,
        target: &str,
        args: &serde_json::Value,
    ) -> (Vec<(String, serde_json::Value)>, Msg) {
        let (mut events, completion) = self.call_all(id, target, args).await;
        events.retain(|(t, _)| t != "subscriptions");
        (events, completion)
    }

    /// Every event until the Completion of `id`, pings skipped. The server
    /// sends what its price streams produced before it answers a later
    /// invocation, so this is also a barrier.
    pub async fn call_all(
        &mut self,
        id: &str,
        target: &str,
        args: &serde_json::Value,
    ) -> (Vec<(String, serde_json::Value)>, Msg) {
        self.invoke(Some(id), target, args).await;
        let mut events = Vec::new();
        for _ in 0..10_000 {
            let m = self.next().await;
            match &m {
                Msg::Completion { id: got, .. } if got == id => return (events, m),
                Msg::Ping => {}
                Msg::Ended { .. } | Msg::Close { .. } => {
                    panic!("connection ended during {target}: {m:?}")
                }
                _ => {
                    let (t, env) = m.event().unwrap_or_else(|| panic!("unexpected {m:?}"));
                    events.push((t.to_owned(), env));
                }
            }
        }
        panic!("no completion for {id}");
    }
}
