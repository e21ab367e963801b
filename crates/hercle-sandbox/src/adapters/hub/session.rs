//! One hub connection, from handshake to close, over any transport: a
//! WebSocket, or Server-Sent Events / long polling with HTTP POST sends
//! ([`super::http`]). The transport is a [`Link`]; everything above it
//! (handshake, keep-alive, dispatch, price streams, faults) is shared.
//!
//! A single task owns the link and decides everything in one `select!`:
//! frames from the client, records queued by the connection's price streams,
//! the keep-alive and client-timeout deadlines, and injected faults. Owning
//! the socket in one place keeps the order of what is sent obvious (an
//! invocation's envelope always precedes its Completion) and makes a stall or
//! a drop a one-line decision. Price streams are child tasks that only
//! produce records; they end with the connection.

use super::calls::{self, HubCall};
use super::context::Hub;
use super::link::{Inbound, Link, Socket};
use crate::app::faults::HubFault;
use hercle_models::{HubEnvelope, HubMethodId};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use signalr_proto::{
    DOTNET_SERVER_MAX_MESSAGE_SIZE, Decoder, HubMessage, JSON_PROTOCOL, MAX_PROTOCOL_VERSION,
    RECORD_SEPARATOR, encode,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// The .NET server's `HandshakeTimeout`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// The .NET server's transport send timeout: a client that stops reading
/// is cut off instead of pinning the connection's memory forever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest total of unacknowledged records before sends wait (the .NET
/// `StatefulReconnectBufferSize`).
const STATEFUL_BUFFER: usize = 100_000;
/// Acks are sent at most this often, as the JS client does.
const ACK_INTERVAL: Duration = Duration::from_secs(1);
/// How long an ended long-polling connection waits for its last poll, and a
/// stateful connection for its client to reopen the socket (the .NET
/// server's `DisconnectTimeout`).
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest WebSocket message read; hub records are capped lower (32 KiB,
/// the .NET default) by the decoder, this only bounds a frame's buffering.
const MAX_WS_MESSAGE: usize = 1 << 20;
/// Initial read buffer of a socket; it grows for larger frames.
const READ_BUFFER: usize = 4 * 1024;
/// Records queued by price streams before they wait for the socket.
const OUTBOX: usize = 16;

/// Client method for command results.
const EXECUTION_EVENTS: &str = "executionEvents";
/// Client method for the price feed.
const SUBSCRIPTIONS: &str = "subscriptions";

/// Serves one WebSocket connection whose upgrade was just accepted;
/// `stateful` when negotiate agreed to stateful reconnect.
pub(super) async fn run_websocket(
    hub: Arc<Hub>,
    upgrade: OnUpgrade,
    connection_id: String,
    key: String,
    stateful: bool,
) {
    // Subscribed before anything can fail, so every live connection counts
    // as reached by a fault.
    let faults = hub.app.hub_faults.subscribe();
    match upgrade.await {
        Ok(upgraded) => {
            let link = Link::Ws(Box::new(websocket(upgraded).await));
            run_link(hub, faults, link, connection_id, key, stateful).await;
        }
        Err(e) => {
            tracing::debug!(connection = %connection_id, "upgrade failed: {e}");
            hub.registry.remove(&connection_id);
        }
    }
}

async fn websocket(upgraded: Upgraded) -> Socket {
    // tungstenite reserves 128 KiB per direction by default; hub records
    // are small, so small buffers keep a thousand idle connections cheap.
    // Writes go out at once (every send flushes) and what may pile up for
    // a slow reader is capped.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WS_MESSAGE)
        .max_message_size(Some(MAX_WS_MESSAGE))
        .max_frame_size(Some(MAX_WS_MESSAGE));
    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await
}

/// Serves one connection over `link` until it ends.
pub(super) async fn run_link(
    hub: Arc<Hub>,
    faults: broadcast::Receiver<HubFault>,
    link: Link,
    connection_id: String,
    key: String,
    stateful: bool,
) {
    let (out_tx, out_rx) = mpsc::channel(OUTBOX);
    let now = Instant::now();
    let mut session = Session {
        hub,
        link,
        connection_id,
        key,
        decoder: Decoder::with_max_message_size(DOTNET_SERVER_MAX_MESSAGE_SIZE),
        faults,
        out_tx,
        out_rx,
        streams: HashMap::new(),
        tasks: JoinSet::new(),
        last_sent: now,
        last_received: now,
        stalled: false,
        stateful_negotiated: stateful,
        stateful: None,
    };
    let end = session.serve().await;
    tracing::debug!(connection = %session.connection_id, ?end, "hub connection ended");
    if session.link.sends_pings() {
        session.hub.registry.remove(&session.connection_id);
    } else {
        // Long polling: what was sent last (a Close, say) waits for the next
        // poll, which forgets the connection once it is drained; one that
        // never comes is forgotten after the .NET DisconnectTimeout.
        let (hub, id) = (Arc::clone(&session.hub), session.connection_id.clone());
        drop(session);
        tokio::spawn(async move {
            tokio::time::sleep(DISCONNECT_TIMEOUT).await;
            hub.registry.remove(&id);
        });
    }
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The client sent a hub Close.
    ClientClosed,
    /// The transport ended (WebSocket close, EOF, error) without a hub Close.
    Client,
    /// The handshake failed or timed out.
    Handshake,
    /// Nothing from the client for `client_timeout`.
    Timeout,
    /// A malformed or oversized record.
    Protocol,
    /// Writing failed or timed out.
    Send,
    /// An injected close.
    Fault,
    /// An injected drop: the transport died, as in a network failure.
    Dropped,
}

/// A price stream's identity: resubscribing replaces rather than duplicates.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct StreamKey {
    client_id: String,
    pair: String,
    size: Decimal,
}

struct Session {
    hub: Arc<Hub>,
    link: Link,
    connection_id: String,
    key: String,
    decoder: Decoder,
    faults: broadcast::Receiver<HubFault>,
    /// Price streams send their records here; the sender is cloned into each.
    out_tx: mpsc::Sender<Vec<u8>>,
    out_rx: mpsc::Receiver<Vec<u8>>,
    streams: HashMap<StreamKey, AbortHandle>,
    /// Owns the stream tasks: dropping the session aborts them all.
    tasks: JoinSet<()>,
    last_sent: Instant,
    last_received: Instant,
    /// Stall fault: nothing at all is sent any more.
    stalled: bool,
    /// Negotiate agreed to stateful reconnect; it is on once the handshake
    /// asks for protocol version 2.
    stateful_negotiated: bool,
    stateful: Option<Stateful>,
}

/// Stateful reconnect (ASP.NET Core 8): both sides number their trackable
/// messages 1, 2, … for the life of the connection, keep what they sent
/// until the peer acknowledges it, and after a transport drop replay it on
/// a new socket opened with the same token, announced by a Sequence.
struct Stateful {
    /// Id of the next trackable record sent.
    next_out: u64,
    /// Sent, not yet acknowledged: (id, record with its 0x1E).
    unacked: VecDeque<(u64, Vec<u8>)>,
    unacked_bytes: usize,
    /// Id the next trackable record received will have.
    next_in: u64,
    /// Highest id received and processed; repeats up to it are dropped.
    processed: u64,
    /// An Ack is owed, due then.
    ack_at: Option<Instant>,
    /// Sockets reopened with this connection's token.
    reattach: mpsc::Receiver<OnUpgrade>,
}

impl Stateful {
    fn acknowledged(&mut self, id: u64) {
        while self.unacked.front().is_some_and(|(i, _)| *i <= id) {
            if let Some((_, record)) = self.unacked.pop_front() {
                self.unacked_bytes -= record.len();
            }
        }
    }

    /// Numbers and keeps the trackable records of a send.
    fn track(&mut self, records: &[u8]) {
        for record in records.split_inclusive(|b| *b == RECORD_SEPARATOR) {
            let body = record.strip_suffix(&[RECORD_SEPARATOR]).unwrap_or(record);
            let trackable = signalr_proto::parse_message(body)
                .ok()
                .flatten()
                .is_some_and(|m| m.is_trackable());
            if trackable {
                self.unacked.push_back((self.next_out, record.to_vec()));
                self.unacked_bytes += record.len();
                self.next_out += 1;
            }
        }
    }

    /// Whether a received record is new (and counts it); repeats of
    /// already processed ids after a replay are not.
    fn received(&mut self) -> bool {
        let id = self.next_in;
        self.next_in += 1;
        if id <= self.processed {
            return false;
        }
        self.processed = id;
        self.ack_at
            .get_or_insert_with(|| Instant::now() + ACK_INTERVAL);
        true
    }
}

/// What one decoded record asks the connection to do.
enum Action {
    /// Send these records (possibly none).
    Send(Vec<u8>),
    /// Start (or restart) a price stream, then send `then`.
    Subscribe(StreamKey, Vec<u8>),
    /// Stop a price stream, then send `then`.
    Unsubscribe(StreamKey, Vec<u8>),
    /// The client sent Close.
    ClientClosed,
    /// The record broke the protocol: close with this error.
    Fatal(String),
}

/// What a fault asks the connection to do.
enum FaultOutcome {
    Continue,
    End,
    /// The transport is cut without a word.
    Drop,
}

impl Session {
    async fn serve(&mut self) -> End {
        if let Err(end) = self.handshake().await {
            return end;
        }
        // Records that came in the handshake's frame (the JS client sends a
        // Ping right behind it).
        if let Err(end) = self.drain_decoder().await {
            return end;
        }
        loop {
            let end = self.main_loop().await;
            // A stateful connection outlives a failed transport for a while.
            if matches!(end, End::Client | End::Send | End::Dropped) && self.resume().await {
                continue;
            }
            return end;
        }
    }

    /// Waits for the client to reopen the socket of a stateful connection,
    /// then announces and replays what it has not acknowledged.
    async fn resume(&mut self) -> bool {
        let Some(st) = self.stateful.as_mut() else {
            return false;
        };
        let upgrade = match timeout(DISCONNECT_TIMEOUT, st.reattach.recv()).await {
            Ok(Some(upgrade)) => upgrade,
            _ => return false,
        };
        let Ok(upgraded) = upgrade.await else {
            return false;
        };
        self.link = Link::Ws(Box::new(websocket(upgraded).await));
        // A record cut off by the drop is gone with its socket.
        self.decoder = Decoder::with_max_message_size(DOTNET_SERVER_MAX_MESSAGE_SIZE);
        self.stalled = false;
        self.last_received = Instant::now();
        let first = st.unacked.front().map_or(st.next_out, |(id, _)| *id);
        let mut out = Vec::new();
        encode::sequence(&mut out, first);
        for (_, record) in &st.unacked {
            out.extend_from_slice(record);
        }
        tracing::debug!(connection = %self.connection_id, first, "stateful reconnect: replaying");
        self.transmit(out).await.is_ok()
    }

    async fn handshake(&mut self) -> Result<(), End> {
        let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
        loop {
            let response = match self.decoder.next_handshake_request() {
                Ok(None) => None,
                Ok(Some(req)) if req.protocol != JSON_PROTOCOL => Some(Err(format!(
                    "The protocol '{}' is not supported.",
                    req.protocol
                ))),
                Ok(Some(req)) if req.version > MAX_PROTOCOL_VERSION => Some(Err(format!(
                    "The server does not support version {} of the '{}' protocol.",
                    req.version, req.protocol
                ))),
                Ok(Some(req)) => {
                    if req.version >= 2 && self.stateful_negotiated {
                        let (tx, rx) = mpsc::channel(1);
                        self.hub.registry.accept_reattach(&self.connection_id, tx);
                        self.stateful = Some(Stateful {
                            next_out: 1,
                            unacked: VecDeque::new(),
                            unacked_bytes: 0,
                            next_in: 1,
                            processed: 0,
                            ack_at: None,
                            reattach: rx,
                        });
                    }
                    Some(Ok(()))
                }
                Err(e) => Some(Err(format!("Handshake failed: {e}"))),
            };
            match response {
                Some(Ok(())) => {
                    let mut out = Vec::new();
                    encode::handshake_response(&mut out, None);
                    return self.send(out).await;
                }
                Some(Err(error)) => {
                    let mut out = Vec::new();
                    encode::handshake_response(&mut out, Some(&error));
                    // Best effort: the connection ends either way.
                    let _ = self.send(out).await;
                    self.close_socket().await;
                    return Err(End::Handshake);
                }
                None => {}
            }
            tokio::select! {
                inbound = self.link.next() => {
                    let Some(bytes) = self.on_inbound(inbound)? else { continue };
                    self.decoder.push(&bytes);
                }
                fault = self.faults.recv() => {
                    match self.on_fault(fault).await {
                        FaultOutcome::Continue => {}
                        FaultOutcome::End => return Err(End::Fault),
                        FaultOutcome::Drop => return Err(End::Dropped),
                    }
                }
                () = sleep_until(deadline) => {
                    let mut out = Vec::new();
                    encode::handshake_response(&mut out, Some("Handshake was canceled."));
                    let _ = self.send(out).await;
                    self.close_socket().await;
                    return Err(End::Handshake);
                }
            }
        }
    }

    async fn main_loop(&mut self) -> End {
        let keep_alive = self.hub.app.config.keep_alive;
        let client_timeout = self.hub.app.config.client_timeout;
        let pings = self.link.sends_pings();
        loop {
            let ping_at = self.last_sent + keep_alive;
            let timeout_at = self.last_received + client_timeout;
            let ack_at = self.stateful.as_ref().and_then(|st| st.ack_at);
            // Biased, in this order: a fault acts at once; records the
            // streams already produced go out before anything read later is
            // answered (so a reply is a barrier for earlier updates); reads
            // come before the deadlines they would push back.
            tokio::select! {
                biased;
                fault = self.faults.recv() => {
                    match self.on_fault(fault).await {
                        FaultOutcome::Continue => {}
                        FaultOutcome::End => return End::Fault,
                        FaultOutcome::Drop => {
                            // Cut the transport now: a resumed session
                            // replaces it, and a drop must not linger.
                            self.link = Link::Gone;
                            return End::Dropped;
                        }
                    }
                }
                Some(record) = self.out_rx.recv(), if self.may_send() => {
                    if let Err(end) = self.send(record).await {
                        return end;
                    }
                }
                inbound = self.link.next() => {
                    let bytes = match self.on_inbound(inbound) {
                        Ok(Some(bytes)) => bytes,
                        Ok(None) => continue,
                        Err(end) => return end,
                    };
                    self.decoder.push(&bytes);
                    if let Err(end) = self.drain_decoder().await {
                        return end;
                    }
                }
                () = sleep_until(ack_at.unwrap_or(timeout_at)), if ack_at.is_some() => {
                    if let Err(end) = self.send_ack().await {
                        return end;
                    }
                }
                // A stalled connection sends nothing, pings included.
                () = sleep_until(ping_at), if pings && !self.stalled => {
                    let mut out = Vec::new();
                    encode::ping(&mut out);
                    if let Err(end) = self.send(out).await {
                        return end;
                    }
                }
                () = sleep_until(timeout_at) => {
                    // As the .NET server does on client timeout: a Close that
                    // lets the client reconnect.
                    let mut out = Vec::new();
                    encode::close(&mut out, None, true);
                    let _ = self.send(out).await;
                    self.close_socket().await;
                    return End::Timeout;
                }
            }
        }
    }

    /// The hub bytes of what arrived (and the receive clock reset), `None`
    /// when there are none, `Err` when the client is gone.
    fn on_inbound(&mut self, inbound: Inbound) -> Result<Option<bytes::Bytes>, End> {
        match inbound {
            Inbound::Data(bytes) => {
                self.last_received = Instant::now();
                Ok(Some(bytes))
            }
            Inbound::Activity => {
                self.last_received = Instant::now();
                Ok(None)
            }
            Inbound::Ignored => Ok(None),
            Inbound::Closed => Err(End::Client),
        }
    }

    /// Handles every complete record buffered.
    async fn drain_decoder(&mut self) -> Result<(), End> {
        loop {
            let action = match self.decoder.next_message() {
                Ok(None) => return Ok(()),
                Ok(Some(msg)) => match (&mut self.stateful, &msg) {
                    (Some(st), HubMessage::Ack(ack)) => {
                        st.acknowledged(ack.sequence_id);
                        Action::Send(Vec::new())
                    }
                    (Some(st), HubMessage::Sequence(seq)) if seq.sequence_id > st.processed + 1 => {
                        Action::Fatal(format!(
                            "Sequence ID greater than amount of messages we've received. Sequence {} after {}.",
                            seq.sequence_id, st.processed
                        ))
                    }
                    (Some(st), HubMessage::Sequence(seq)) => {
                        st.next_in = seq.sequence_id;
                        Action::Send(Vec::new())
                    }
                    (Some(st), m) if m.is_trackable() => {
                        if st.received() {
                            dispatch(&self.hub, &self.key, msg)
                        } else {
                            // Already processed before the drop.
                            Action::Send(Vec::new())
                        }
                    }
                    _ => dispatch(&self.hub, &self.key, msg),
                },
                Err(e) => Action::Fatal(format!("Connection closed with an error. {e}")),
            };
            match action {
                Action::Send(out) => self.send(out).await?,
                Action::Subscribe(key, then) => {
                    self.subscribe(key);
                    self.send(then).await?;
                }
                Action::Unsubscribe(key, then) => {
                    self.unsubscribe(&key);
                    self.send(then).await?;
                }
                Action::ClientClosed => {
                    self.close_socket().await;
                    return Err(End::ClientClosed);
                }
                Action::Fatal(error) => {
                    let mut out = Vec::new();
                    encode::close(&mut out, Some(&error), false);
                    let _ = self.send(out).await;
                    self.close_socket().await;
                    return Err(End::Protocol);
                }
            }
        }
    }

    fn subscribe(&mut self, key: StreamKey) {
        if let Some(old) = self.streams.remove(&key) {
            old.abort();
        }
        let task = price_stream(Arc::clone(&self.hub), key.clone(), self.out_tx.clone());
        let handle = self.tasks.spawn(task);
        self.streams.insert(key, handle);
        self.reap();
    }

    /// Stops the stream with exactly this key or, when there is none, every
    /// stream of that pair and size: clients commonly use a fresh ClientId
    /// per request, unsubscribe included.
    fn unsubscribe(&mut self, key: &StreamKey) {
        if let Some(handle) = self.streams.remove(key) {
            handle.abort();
        } else {
            self.streams.retain(|k, handle| {
                let matches = k.pair == key.pair && k.size == key.size;
                if matches {
                    handle.abort();
                }
                !matches
            });
        }
        self.reap();
    }

    /// Collects aborted stream tasks so the set does not grow with churn.
    fn reap(&mut self) {
        while self.tasks.try_join_next().is_some() {}
    }

    async fn on_fault(
        &mut self,
        fault: Result<HubFault, broadcast::error::RecvError>,
    ) -> FaultOutcome {
        let fault = match fault {
            Ok(f) => f,
            // Missed faults were meant for a burst of connections; the
            // newest ones are still delivered. `Closed` cannot happen while
            // the session holds the `App`, which owns the sender.
            Err(_) => return FaultOutcome::Continue,
        };
        if !fault.targets(&self.connection_id) {
            return FaultOutcome::Continue;
        }
        match fault {
            // Returning drops the socket: the TCP connection ends without a
            // Close message or a WebSocket close frame.
            HubFault::Drop { .. } => FaultOutcome::Drop,
            HubFault::Stall { .. } => {
                self.stalled = true;
                FaultOutcome::Continue
            }
            HubFault::Close {
                allow_reconnect,
                error,
                ..
            } => {
                // An explicit close is sent even on a stalled connection.
                self.stalled = false;
                let mut out = Vec::new();
                encode::close(&mut out, error.as_deref(), allow_reconnect);
                let _ = self.send(out).await;
                self.close_socket().await;
                FaultOutcome::End
            }
        }
    }

    /// Whether more records may be sent now: a stateful connection waits
    /// while its unacknowledged buffer is full.
    fn may_send(&self) -> bool {
        self.stateful
            .as_ref()
            .is_none_or(|st| st.unacked_bytes < STATEFUL_BUFFER)
    }

    /// Sends records (numbered and kept first on a stateful connection).
    async fn send(&mut self, records: Vec<u8>) -> Result<(), End> {
        if let Some(st) = &mut self.stateful {
            st.track(&records);
        }
        self.transmit(records).await
    }

    async fn send_ack(&mut self) -> Result<(), End> {
        let Some(st) = &mut self.stateful else {
            return Ok(());
        };
        st.ack_at = None;
        let mut out = Vec::new();
        encode::ack(&mut out, st.processed);
        self.transmit(out).await
    }

    /// Puts records on the transport in one frame or event; a stalled
    /// connection swallows them.
    async fn transmit(&mut self, records: Vec<u8>) -> Result<(), End> {
        if records.is_empty() || self.stalled {
            return Ok(());
        }
        // The encoder writes JSON text and 0x1E only: always UTF-8.
        let Ok(text) = String::from_utf8(records) else {
            return Ok(());
        };
        match timeout(SEND_TIMEOUT, self.link.send(text)).await {
            Ok(Ok(())) => {
                self.last_sent = Instant::now();
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::debug!(connection = %self.connection_id, "send failed: {e}");
                Err(End::Send)
            }
            Err(_) => Err(End::Send),
        }
    }

    async fn close_socket(&mut self) {
        self.link.close().await;
    }
}

/// Turns one decoded record into what the connection must do.
fn dispatch(hub: &Hub, key: &str, msg: HubMessage<'_>) -> Action {
    let mut out = Vec::new();
    match msg {
        HubMessage::Invocation(inv) => {
            let id = inv.invocation_id.as_deref();
            let Some(method) = hub_method(&inv.target) else {
                if let Some(id) = id {
                    encode::completion_error(
                        &mut out,
                        id,
                        &format!("Unknown hub method '{}'", inv.target),
                    );
                }
                return Action::Send(out);
            };
            if !inv.stream_ids.is_empty() {
                if let Some(id) = id {
                    let error = format!(
                        "Client sent {} stream(s), Hub method expects 0.",
                        inv.stream_ids.len()
                    );
                    encode::completion_error(&mut out, id, &error);
                }
                return Action::Send(out);
            }
            let args: Vec<&RawValue> = inv.arguments.iter().map(|a| a.as_raw()).collect();
            let call = calls::invoke(&hub.app, key, method, &args);
            // Results travel as events; the Completion (only for a blocking
            // call) comes after them and carries nothing, since what the real
            // hub puts in it is undocumented.
            let complete = |out: &mut Vec<u8>| {
                if let Some(id) = id {
                    encode::completion_void(out, id);
                }
            };
            match call {
                HubCall::Reply(envelope) => {
                    push_event(&mut out, EXECUTION_EVENTS, &envelope);
                    complete(&mut out);
                    Action::Send(out)
                }
                HubCall::Subscribe {
                    client_id,
                    pair,
                    size,
                } => {
                    complete(&mut out);
                    Action::Subscribe(
                        StreamKey {
                            client_id,
                            pair,
                            size: size.normalize(),
                        },
                        out,
                    )
                }
                HubCall::Unsubscribe {
                    client_id,
                    pair,
                    size,
                } => {
                    complete(&mut out);
                    Action::Unsubscribe(
                        StreamKey {
                            client_id,
                            pair,
                            size: size.normalize(),
                        },
                        out,
                    )
                }
            }
        }
        HubMessage::StreamInvocation(s) => {
            let error = if hub_method(&s.target).is_some() {
                format!(
                    "The client attempted to invoke the non-streaming '{}' method with a streaming invocation.",
                    s.target
                )
            } else {
                format!("Unknown hub method '{}'", s.target)
            };
            encode::completion_error(&mut out, &s.invocation_id, &error);
            Action::Send(out)
        }
        HubMessage::Close(_) => Action::ClientClosed,
        // Pings only reset the timeout (done on receipt). Nothing is ever
        // invoked on the client with an id, streamed, or made stateful, so
        // Completions, StreamItems, cancels, Acks and Sequences need no answer.
        _ => Action::Send(out),
    }
}

/// The hub method an invocation's target names: looked up
/// case-insensitively, as the .NET server does, once per invocation.
fn hub_method(target: &str) -> Option<HubMethodId> {
    HubMethodId::ALL
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(target))
}

/// A non-blocking invocation of `target` whose one argument is the
/// envelope serialized to a JSON string, as HercleX sends it.
fn push_event(out: &mut Vec<u8>, target: &str, envelope: &HubEnvelope) {
    let text = match serde_json::to_string(envelope) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("envelope not serializable: {e}");
            return;
        }
    };
    if let Err(e) = encode::invocation(out, None, target, &(text,)) {
        tracing::warn!("event not encodable: {e}");
    }
}

/// Pushes a price update every `price_interval`, the first one at once,
/// until aborted or the connection is gone. The n-th update's price id ends
/// in n (see `Market::quote_numbered`).
async fn price_stream(hub: Arc<Hub>, key: StreamKey, out: mpsc::Sender<Vec<u8>>) {
    let mut ticker = tokio::time::interval(hub.app.config.price_interval);
    // A slow socket delays updates instead of bursting them afterwards.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut number = 0;
    loop {
        ticker.tick().await;
        // `None`: the pair is not quotable right now; try at the next tick.
        let Some(envelope) =
            calls::price_update(&hub.app, &key.client_id, &key.pair, key.size, number + 1)
        else {
            continue;
        };
        number += 1;
        let mut record = Vec::new();
        push_event(&mut record, SUBSCRIPTIONS, &envelope);
        if out.send(record).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn stateful() -> Stateful {
        Stateful {
            next_out: 1,
            unacked: VecDeque::new(),
            unacked_bytes: 0,
            next_in: 1,
            processed: 0,
            ack_at: None,
            reattach: mpsc::channel(1).1,
        }
    }

    #[test]
    fn only_trackable_records_are_numbered_and_kept_until_acked() {
        let mut st = stateful();
        let mut out = Vec::new();
        encode::invocation(&mut out, None, "subscriptions", &("a",)).unwrap();
        encode::ping(&mut out);
        encode::completion_void(&mut out, "7");
        st.track(&out);
        let ids: Vec<u64> = st.unacked.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 2], "the Ping is not numbered");
        assert!(st.unacked[1].1.starts_with(b"{\"type\":3"));
        assert_eq!(
            st.unacked_bytes,
            st.unacked.iter().map(|(_, r)| r.len()).sum::<usize>()
        );
        st.acknowledged(1);
        assert_eq!(st.unacked.len(), 1);
        st.acknowledged(5);
        assert!(st.unacked.is_empty());
        assert_eq!(st.unacked_bytes, 0);
        assert_eq!(st.next_out, 3, "numbering never restarts");
    }

    #[tokio::test(start_paused = true)]
    async fn replayed_records_already_processed_are_dropped() {
        let mut st = stateful();
        assert!(st.received() && st.received() && st.received());
        assert_eq!(st.processed, 3);
        assert!(st.ack_at.is_some(), "an Ack is owed");
        // The client replays from 2 after a drop: 2 and 3 are repeats.
        st.next_in = 2;
        assert!(!st.received());
        assert!(!st.received());
        assert!(st.received(), "4 is new");
        assert_eq!(st.processed, 4);
    }
}
