//! The WebSocket link (feature `websocket`): a [`Transport`] over
//! tokio-tungstenite, and the upgrade that opens it. Shared by the HercleX
//! hub and the venue adapters, which differ only in the request they build
//! (URL, headers) and in what runs before it.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::{ConnectError, ConnectStage, TransportError};
use crate::frame::Frame;
use crate::transport::Transport;

/// Bytes asked of the socket per read.
pub const READ_BUFFER: usize = 16 * 1024;

/// Upgrades `request` (`ws://` or `wss://`, with `tls` for the latter) to
/// a WebSocket whose frames and messages are limited to `max_message`
/// bytes.
///
/// A 401 or 403 answer is fatal (a refused credential will be refused
/// again); any other failure is retryable by the reconnect policy.
pub async fn open_websocket(
    request: Request,
    max_message: usize,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<WsTransport, ConnectError> {
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(max_message);
    config.max_frame_size = Some(max_message);
    // tungstenite zeroes a fresh read buffer of this size whenever it runs
    // out; its 128 KiB default is zeroed (and faulted in) every few hundred
    // price updates. 16 KiB stays in cache: in `hercle-bench signalr` it
    // cut the CPU per update by a third at 5,000/s and p99 from about 110
    // to about 75 µs (docs/benchmarks.md, runs 5 and 6). Larger messages still arrive
    // whole, over several reads.
    config.read_buffer_size = READ_BUFFER;
    let connector = tls.map(tokio_tungstenite::Connector::Rustls);
    let (ws, _) =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, connector)
            .await
            .map_err(|e| {
                let status = match &e {
                    WsError::Http(r) => Some(r.status().as_u16()),
                    _ => None,
                };
                let msg = format!("WebSocket upgrade: {e}");
                match status {
                    Some(401 | 403) => ConnectError::fatal(ConnectStage::Open, msg),
                    _ => ConnectError::retryable(ConnectStage::Open, msg),
                }
            })?;
    Ok(WsTransport { ws })
}

/// A WebSocket as a session transport. WebSocket-level pings are answered
/// by tungstenite and never reach the protocol; JSON records are accepted
/// in text and binary frames (aiosignalr sends binary).
pub struct WsTransport {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl fmt::Debug for WsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsTransport").finish_non_exhaustive()
    }
}

impl Transport for WsTransport {
    async fn recv(&mut self) -> Option<Result<Frame, TransportError>> {
        loop {
            return match self.ws.next().await? {
                Ok(Message::Text(t)) => Some(Ok(Frame::Text(Bytes::from(t)))),
                Ok(Message::Binary(b)) => Some(Ok(Frame::Binary(b))),
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Ok(Message::Close(_)) => None,
                Err(e) => Some(Err(TransportError::new(e.to_string()))),
            };
        }
    }

    async fn send(&mut self, frame: Frame) -> Result<(), TransportError> {
        let msg = match frame {
            Frame::Text(b) => Message::Text(
                b.try_into()
                    .map_err(|_| TransportError::new("text frame is not UTF-8"))?,
            ),
            Frame::Binary(b) => Message::Binary(b),
        };
        self.ws
            .send(msg)
            .await
            .map_err(|e| TransportError::new(e.to_string()))
    }

    async fn close(&mut self) {
        let _ = self.ws.close(None).await;
    }
}
