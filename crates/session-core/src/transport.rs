//! The abstract link: a connector that yields a frame transport.

use std::future::Future;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{ConnectError, TransportError};
use crate::frame::Frame;

/// A bidirectional, message-oriented link (a WebSocket, or framed bytes).
pub trait Transport: Send + 'static {
    /// The next inbound frame; `None` once the peer has closed the link.
    ///
    /// Must be cancel-safe: the driver races it against timers and commands,
    /// and a frame must not be lost when another branch wins. (`Stream::next`
    /// on a WebSocket stream and [`Lines`] are.)
    fn recv(&mut self) -> impl Future<Output = Option<Result<Frame, TransportError>>> + Send;

    /// Write one frame and flush it (flushing also pushes out any queued
    /// WebSocket pong, see tungstenite's auto-pong behaviour).
    fn send(&mut self, frame: Frame) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Close the link politely (best effort).
    fn close(&mut self) -> impl Future<Output = ()> + Send;
}

/// Opens links: an optional pre-connect step, then the transport.
///
/// Called once per attempt, so credentials, tokens and negotiate results are
/// fresh on every reconnect; both steps together are bounded by
/// [`SessionConfig::connect_timeout`](crate::SessionConfig::connect_timeout).
pub trait Connector: Send + 'static {
    /// What the pre-connect step learnt, for [`open`](Self::open) and for the
    /// protocol's [`on_open`](crate::Protocol::on_open).
    type Setup: Send + 'static;
    /// The link type.
    type Transport: Transport;

    /// The step before opening: SignalR negotiate, a WhiteBIT token request,
    /// or nothing (`Ok(())`-like).
    fn pre_connect(&mut self) -> impl Future<Output = Result<Self::Setup, ConnectError>> + Send;

    /// Open the transport (WebSocket upgrade with the negotiated URL…).
    fn open(
        &mut self,
        setup: &Self::Setup,
    ) -> impl Future<Output = Result<Self::Transport, ConnectError>> + Send;
}

/// Newline-delimited text frames over any byte stream (an in-memory
/// `tokio::io::duplex`, a TCP socket): the smallest real framing, used by the
/// tests and handy for scripted peers.
#[derive(Debug)]
pub struct Lines<S> {
    io: S,
    buf: BytesMut,
    max_line: usize,
}

impl<S> Lines<S> {
    /// Frames over `io`, with lines of at most 1 MiB.
    pub fn new(io: S) -> Self {
        Lines {
            io,
            buf: BytesMut::new(),
            max_line: 1 << 20,
        }
    }

    /// Change the largest accepted line (bytes, without the newline).
    #[must_use]
    pub fn max_line(mut self, max: usize) -> Self {
        self.max_line = max;
        self
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Transport for Lines<S> {
    async fn recv(&mut self) -> Option<Result<Frame, TransportError>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line = self.buf.split_to(pos).freeze();
                self.buf.advance(1);
                if line.len() > self.max_line {
                    return Some(Err(TransportError::new("line longer than the limit")));
                }
                return Some(Ok(Frame::Text(line)));
            }
            if self.buf.len() > self.max_line {
                self.buf.clear();
                return Some(Err(TransportError::new("line longer than the limit")));
            }
            // read_buf is cancel-safe: if this future is dropped, no byte
            // has been taken out of the stream without landing in `buf`.
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) if self.buf.is_empty() => return None,
                Ok(0) => {
                    self.buf.clear();
                    return Some(Err(TransportError::new("stream ended inside a line")));
                }
                Ok(_) => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
    }

    async fn send(&mut self, frame: Frame) -> Result<(), TransportError> {
        let payload = frame.payload();
        if payload.contains(&b'\n') {
            return Err(TransportError::new("a line frame cannot contain a newline"));
        }
        self.io.write_all(payload).await?;
        self.io.write_all(b"\n").await?;
        self.io.flush().await?;
        Ok(())
    }

    async fn close(&mut self) {
        // Best effort: the peer may be gone already.
        let _ = self.io.shutdown().await;
    }
}
