//! Loopback simulators of the venues: a tokio-tungstenite server on
//! `127.0.0.1:0` per venue, speaking its protocol from the seed (and the
//! assumptions recorded in the crate docs), with fault injection: drop every
//! connection without a close frame, stall (read but answer nothing), error
//! answers, expiry. Every text frame a client sends is kept in a transcript
//! the tests assert on.
//!
//! Timers run on tokio's clock, so a test on a paused clock sees a 60 s
//! inactivity close or a 10 s listen-key expiry at once.

pub mod allenhark;
pub mod hibachi;
pub mod whitebit;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderMap, StatusCode};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Simulator state stays consistent across a panicking test thread.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a venue simulator does in answer to something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this text frame.
    Send(String),
    /// Close politely (close frame).
    Close,
    /// Cut the TCP connection without a close frame.
    Drop,
}

/// One venue's behaviour, per connection.
pub trait Venue: Send + Sync + 'static {
    /// Per-connection state.
    type Conn: Send + 'static;
    /// Venue-specific commands from the test (push an event…).
    type Cmd: Clone + Send + 'static;

    /// The upgrade request (path with query, headers): accept it or refuse
    /// with an HTTP status and a body.
    fn accept(&self, uri: &str, headers: &HeaderMap) -> Result<Self::Conn, (u16, String)>;
    /// A text frame from the client.
    fn on_text(&self, conn: &mut Self::Conn, text: &str, now: Instant, out: &mut Vec<Action>);
    /// A command from the test.
    fn on_cmd(&self, conn: &mut Self::Conn, cmd: &Self::Cmd, now: Instant, out: &mut Vec<Action>);
    /// The connection's next timer (inactivity close, key expiry).
    fn deadline(&self, conn: &Self::Conn) -> Option<Instant> {
        let _ = conn;
        None
    }
    /// The timer from [`deadline`](Self::deadline) fired.
    fn on_deadline(&self, conn: &mut Self::Conn, now: Instant, out: &mut Vec<Action>) {
        let _ = (conn, now, out);
    }
}

enum Ctl<C> {
    Raw(String),
    Drop,
    Venue(C),
}

struct Shared<C> {
    stalled: AtomicBool,
    accepted: AtomicU64,
    refused: AtomicU64,
    transcript: Mutex<Vec<(u64, String)>>,
    senders: Mutex<Vec<mpsc::UnboundedSender<Ctl<C>>>>,
    changed: Notify,
}

/// A running simulator. Dropping it stops the server and cuts every
/// connection.
pub struct Sim<V: Venue> {
    addr: SocketAddr,
    venue: Arc<V>,
    shared: Arc<Shared<V::Cmd>>,
    accept: JoinHandle<()>,
}

impl<V: Venue> fmt::Debug for Sim<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl<V: Venue> Sim<V> {
    /// Serve `venue` on a free loopback port.
    pub async fn start(venue: V) -> std::io::Result<Self> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let venue = Arc::new(venue);
        let shared = Arc::new(Shared {
            stalled: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            transcript: Mutex::new(Vec::new()),
            senders: Mutex::new(Vec::new()),
            changed: Notify::new(),
        });
        let accept = tokio::spawn({
            let venue = Arc::clone(&venue);
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(serve(Arc::clone(&venue), Arc::clone(&shared), tcp));
                }
            }
        });
        Ok(Sim {
            addr,
            venue,
            shared,
            accept,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// The venue's behaviour and state.
    pub fn venue(&self) -> &V {
        &self.venue
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Upgrades refused so far.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Every text frame clients sent: (connection number from 1, text).
    pub fn transcript(&self) -> Vec<(u64, String)> {
        lock(&self.shared.transcript).clone()
    }

    /// Stop answering (frames are still read and recorded) or resume.
    pub fn set_stalled(&self, stalled: bool) {
        self.shared.stalled.store(stalled, Ordering::SeqCst);
    }

    /// Cut every open connection without a close frame.
    pub fn drop_all(&self) {
        self.broadcast(|| Ctl::Drop);
    }

    /// Send this text to every open connection as is (malformed input,
    /// unknown messages).
    pub fn inject(&self, text: &str) {
        self.broadcast(|| Ctl::Raw(text.to_owned()));
    }

    /// A venue command to every open connection.
    pub fn command(&self, cmd: V::Cmd) {
        self.broadcast(|| Ctl::Venue(cmd.clone()));
    }

    fn broadcast(&self, make: impl Fn() -> Ctl<V::Cmd>) {
        lock(&self.shared.senders).retain(|tx| tx.send(make()).is_ok());
    }

    /// Wait until `done(transcript)` holds (checked after every frame a
    /// client sends and every connection change): synchronisation on
    /// events, never on sleeps.
    pub async fn wait_for(&self, mut done: impl FnMut(&[(u64, String)], u64) -> bool) {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if done(&lock(&self.shared.transcript), self.connections()) {
                return;
            }
            changed.await;
        }
    }
}

impl<V: Venue> Drop for Sim<V> {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_all();
    }
}

async fn serve<V: Venue>(venue: Arc<V>, shared: Arc<Shared<V::Cmd>>, tcp: TcpStream) {
    let mut accepted = None;
    // tungstenite's callback signature returns the refusal by value.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let uri = req.uri().to_string();
        match venue.accept(&uri, req.headers()) {
            Ok(conn) => {
                accepted = Some(conn);
                Ok(resp)
            }
            Err((status, body)) => {
                let mut refusal = ErrorResponse::new(Some(body));
                *refusal.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
                Err(refusal)
            }
        }
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        shared.changed.notify_waiters();
        return;
    };
    let Some(mut conn) = accepted else { return };
    let number = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
    let (tx, mut rx) = mpsc::unbounded_channel();
    lock(&shared.senders).push(tx);
    shared.changed.notify_waiters();
    let mut out = Vec::new();
    loop {
        let deadline = venue.deadline(&conn);
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    lock(&shared.transcript).push((number, t.to_string()));
                    shared.changed.notify_waiters();
                    venue.on_text(&mut conn, t.as_str(), Instant::now(), &mut out);
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            ctl = rx.recv() => match ctl {
                Some(Ctl::Raw(text)) => out.push(Action::Send(text)),
                Some(Ctl::Venue(cmd)) => venue.on_cmd(&mut conn, &cmd, Instant::now(), &mut out),
                Some(Ctl::Drop) | None => return,
            },
            () = sleep_until(deadline) => venue.on_deadline(&mut conn, Instant::now(), &mut out),
        }
        let stalled = shared.stalled.load(Ordering::SeqCst);
        for action in out.drain(..) {
            match action {
                Action::Send(_) if stalled => {}
                Action::Send(text) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
                Action::Close => {
                    let _ = ws.close(None).await;
                    return;
                }
                // Returning drops the socket: a FIN without a close frame.
                Action::Drop => return,
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
