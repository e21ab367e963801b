//! A connection's transport as its session sees it: a WebSocket, or the
//! HTTP side of Server-Sent Events / long polling ([`HttpLink`], fed by the
//! requests in [`super::http`]), and the requests' side of the latter
//! ([`HttpHandle`], kept in the registry). Sessions, the registry and the
//! HTTP transports build on this; it builds on none of them.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// How long to wait for the client's answer to our WebSocket close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// What a link delivered.
pub(super) enum Inbound {
    /// Hub protocol bytes (a text or binary frame, a POST body).
    Data(bytes::Bytes),
    /// Proof of life without data (a long poll in progress).
    Activity,
    /// Nothing the hub protocol sees (WebSocket control frames).
    Ignored,
    /// The client went away or ended the connection.
    Closed,
}

/// A connection's transport.
pub(super) enum Link {
    /// Full duplex, JSON records in text frames.
    Ws(Box<Socket>),
    /// Server-Sent Events or long polling down, HTTP POST up.
    Http(HttpLink),
    /// Cut by an injected drop; a stateful session may get a new one.
    Gone,
}

impl Link {
    /// The next thing from the client; cancel-safe.
    pub(super) async fn next(&mut self) -> Inbound {
        match self {
            Link::Ws(ws) => match ws.next().await {
                Some(Ok(Message::Text(text))) => Inbound::Data(bytes::Bytes::from(text)),
                // The .NET server reads binary frames as the same byte stream.
                Some(Ok(Message::Binary(bytes))) => Inbound::Data(bytes),
                // WebSocket pings are answered by tungstenite; like the .NET
                // server, they do not count as client activity.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                    Inbound::Ignored
                }
                // tungstenite has queued the closing handshake's reply; it is
                // flushed when the stream is polled or dropped.
                Some(Ok(Message::Close(_))) | None => Inbound::Closed,
                Some(Err(e)) => {
                    tracing::debug!("socket error: {e}");
                    Inbound::Closed
                }
            },
            Link::Http(http) => http.next().await,
            Link::Gone => Inbound::Closed,
        }
    }

    /// Sends records (JSON text and 0x1E separators).
    pub(super) async fn send(&mut self, text: String) -> Result<(), String> {
        match self {
            Link::Ws(ws) => ws
                .send(Message::text(text))
                .await
                .map_err(|e| e.to_string()),
            Link::Http(http) => http.send(text).await,
            Link::Gone => Err("the transport was dropped".to_owned()),
        }
    }

    /// Ends the transport in its orderly way.
    pub(super) async fn close(&mut self) {
        match self {
            // The WebSocket closing handshake (status 1000), bounded in time.
            Link::Ws(ws) => {
                let frame = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                };
                let _ = timeout(CLOSE_TIMEOUT, async {
                    if WebSocketStream::close(ws, Some(frame)).await.is_ok() {
                        // Wait for the client's close frame, ignoring anything else.
                        while let Some(Ok(_)) = ws.next().await {}
                    }
                })
                .await;
            }
            Link::Http(http) => http.close(),
            Link::Gone => {}
        }
    }

    /// Long polling has inherent keep-alive: every poll proves the client
    /// is there and returns whatever is queued, so no Pings are sent.
    pub(super) fn sends_pings(&self) -> bool {
        !matches!(self, Link::Http(http) if http.is_long_polling())
    }
}

/// The session's side of an HTTP connection.
pub(crate) struct HttpLink {
    inbound: mpsc::Receiver<Inbound>,
    outbound: Option<mpsc::Sender<Bytes>>,
    long_polling: bool,
}

impl HttpLink {
    /// A link fed by `inbound` (POSTs, poll activity) that sends into
    /// `outbound` (the event stream, or the polls' queue).
    pub(super) fn new(
        inbound: mpsc::Receiver<Inbound>,
        outbound: mpsc::Sender<Bytes>,
        long_polling: bool,
    ) -> HttpLink {
        HttpLink {
            inbound,
            outbound: Some(outbound),
            long_polling,
        }
    }

    pub(super) async fn next(&mut self) -> Inbound {
        self.inbound.recv().await.unwrap_or(Inbound::Closed)
    }

    pub(super) async fn send(&mut self, records: String) -> Result<(), String> {
        let out = self.outbound.as_ref().ok_or("the connection is closed")?;
        let chunk = if self.long_polling {
            Bytes::from(records)
        } else {
            // One event; records never hold a line break, so one data line.
            Bytes::from(format!("data: {records}\r\n\r\n"))
        };
        out.send(chunk)
            .await
            .map_err(|_| "the client is gone".to_owned())
    }

    /// Ends the event stream, or answers the held and every later poll 204.
    pub(super) fn close(&mut self) {
        self.outbound = None;
    }

    pub(super) fn is_long_polling(&self) -> bool {
        self.long_polling
    }
}

/// The requests' side of an HTTP connection, kept in the registry.
#[derive(Clone)]
pub(crate) struct HttpHandle {
    pub(super) connection_id: String,
    pub(super) inbound: mpsc::Sender<Inbound>,
    /// Long polling only: what the polls hand out.
    pub(super) polls: Option<Arc<Mutex<PollQueue>>>,
    /// Wakes a held poll when a newer one replaces it.
    pub(super) replaced: Arc<Notify>,
    pub(super) posting: Arc<AtomicBool>,
}

/// What long polls hand out, one record each.
pub(super) struct PollQueue {
    pub(super) sent: mpsc::Receiver<Bytes>,
    /// Records of a send that later polls will carry.
    pub(super) held: std::collections::VecDeque<Bytes>,
}

impl PollQueue {
    /// Splits a send into its records (each keeps its 0x1E terminator).
    pub(super) fn hold(&mut self, chunk: &Bytes) {
        let mut start = 0;
        for (i, b) in chunk.iter().enumerate() {
            if *b == signalr_proto::RECORD_SEPARATOR {
                self.held.push_back(chunk.slice(start..=i));
                start = i + 1;
            }
        }
        if start < chunk.len() {
            self.held.push_back(chunk.slice(start..));
        }
    }
}
