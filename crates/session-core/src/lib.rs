//! Protocol-agnostic connection lifecycle for real-time APIs: the part every
//! WebSocket client rewrites, and usually gets wrong, written once.
//!
//! - **Connect** through a [`Connector`]: a pre-connect step (SignalR
//!   negotiate, a WhiteBIT token), then the transport, both under one
//!   connect timeout, fresh on every attempt.
//! - **Establish**: the protocol's ordered steps (handshake, auth, stream
//!   start), each with its own timeout ([`Step`]).
//! - **Keep-alive** on the protocol's schedule and frame ([`KeepAlive`]),
//!   and a **liveness deadline** on inbound traffic: a silent peer is found
//!   dead instead of freezing reads.
//! - **Reconnect** by a pluggable [`ReconnectPolicy`]: [`FixedDelays`]
//!   (SignalR's 0, 2, 10, 30 s) or capped full-jitter [`Backoff`] that resets
//!   only after a stable period. The protocol classifies failures
//!   ([`Retry`]): retry, retry not before a delay, or stop.
//! - **Subscriptions** are a registry of *desired* topics, replayed after
//!   every reconnect ([`Protocol::resubscribe`]), with a [`Update::Gap`]
//!   marker to each stream and [`SessionEvent::Reconnected`] once done.
//! - **Correlation** by whatever key the protocol picks ([`Protocol::Key`]):
//!   a numeric id, a SignalR invocation id, a business key such as HercleX's
//!   `clientId`. Requests written before a drop fail with
//!   [`RequestError::OutcomeUnknown`] (they may have executed); requests made
//!   while down wait unsent and are never resent behind the caller's back.
//! - **Delivery** per subscription is bounded ([`DeliveryPolicy`]): every
//!   update with an explicit [`Update::Lagged`] signal, or latest-only.
//! - **Resume** ([`Protocol::resume_window`]): a protocol that can pick up
//!   the same logical connection (SignalR stateful reconnect) gets one
//!   attempt that keeps requests in flight and replays nothing, before the
//!   ordinary reconnect.
//! - **Lifecycle events** ([`SessionEvent`]): `Connected`,
//!   `Reconnecting { attempt, reason, .. }`, `Reconnected { downtime }`,
//!   `Closed { reason }`, plus `Malformed` for bad input that did not end the
//!   session.
//!
//! # Shape
//!
//! [`Session`] is a sans-IO state machine: inputs are transport outcomes,
//! frames, the current time and the application's commands; outputs
//! ([`Output`]) are frames to send, connect and disconnect orders, answers,
//! deliveries and events; [`Session::poll_timeout`] says when to wake it.
//! It never reads a clock or touches a socket, so it can be driven by hand
//! in tests. The driver ([`spawn`] / [`session`]) is a thin tokio loop over
//! it, generic over [`Connector`] and [`Transport`]; the application talks to
//! it through a [`SessionHandle`], a [`Subscription`] per topic (a
//! `futures_core::Stream`) and [`Events`].
//!
//! This crate knows no wire format and no WebSocket library: a protocol
//! crate supplies a [`Protocol`], and a transport crate a [`Connector`]
//! (hercle-hub's over tokio-tungstenite; [`Lines`] over any byte stream for
//! tests and scripted peers).
//!
//! # Fitting the four protocols
//!
//! Each is a small [`Protocol`] implementation plus a [`Connector`]:
//!
//! - **SignalR / HercleX hub** (hercle-hub). Connector: `pre_connect` posts
//!   `negotiate` (redirects, `error`, v1→v0), `Setup` is the negotiated
//!   connection; `open` upgrades to a WebSocket with the token in a header or
//!   the query. Protocol: one step, the handshake (`Step::awaiting(
//!   "handshake", 15 s)`), completed or failed by the handshake response
//!   decoded with `signalr_proto::Decoder` in `on_frame`. `keep_alive`:
//!   `{"type":6}` after 15 s of send silence ([`KeepAliveMode::SendIdle`]);
//!   `liveness_timeout`: 30 s. `Key`: the business `clientId` for the
//!   HercleX methods (their answers are `executionEvents` envelopes carrying
//!   it, or an error subject), a SignalR invocation id for methods answered
//!   by a `Completion`. `Topic`: (pair, size); `subscribe` invokes
//!   `SubscribePairPriceChannel` with a fresh clientId, and a refusal comes
//!   back through [`Cx::reject_subscription`]. A `Close` message becomes
//!   [`Cx::disconnect`] with [`Retry::Policy`] when `allowReconnect` is true,
//!   [`Retry::Never`] otherwise; a server invocation carrying an
//!   `invocationId` is answered with [`Cx::send`]; an undecodable envelope is
//!   [`Cx::malformed`]; a record over the size limit is `Cx::disconnect`.
//!   `goodbye` sends `Close`. Stateful reconnect: `resume_window` returns
//!   the server's disconnect timeout when negotiate offered it; `on_resume`
//!   keeps the sequence counters and the unacknowledged-message buffer, the
//!   establish steps send handshake version 2, `Sequence` and the replay,
//!   and `poll_timer`/`on_timer` send the batched `Ack`.
//! - **WhiteBIT** (JSON-RPC). Connector: `pre_connect` fetches a websocket
//!   token over signed REST for private streams (`Setup = Option<token>`).
//!   One step: `authorize` with a [`Cx::next_id`] id, completed when that id
//!   is answered; error code 6 is [`Retry::Never`]. `Key = u64` (ids start
//!   at 1, so the venue's customary 0 never collides). Keep-alive: `ping`
//!   with [`KeepAliveMode::SendIdle`] at ≤ 50 s and `reply_within: 10 s`.
//!   `Topic = (channel, market)`; a subscribe *replaces* the channel's set,
//!   so `subscribe`/`unsubscribe` write the full list for that channel from
//!   [`Cx::desired`] and `resubscribe` sends one merged request per channel.
//!   A depth `past_update_id` mismatch is [`Cx::gap`] plus a resubscribe;
//!   error code 7 is `Cx::disconnect` with [`Retry::NotBefore`].
//! - **Hibachi** (listen-key stream). Account socket: `open` sends the
//!   `Authorization` header; one step, `stream.start` with an id, whose
//!   answer carries the `listenKey` (kept in the protocol, reset in
//!   `on_open`) and a snapshot delivered to the `Account` topic, whose
//!   `subscribe` writes nothing (the stream is implicit). Keep-alive:
//!   `stream.ping` with the listen key every < 10 s ([`KeepAliveMode::Every`]:
//!   other traffic does not extend the key). A `stream_expired` event is
//!   `Cx::disconnect` with `Retry::Policy`, so the stream restarts and
//!   subscribers see [`Update::Gap`]. Trade socket: `Key = u64`, with a FIFO
//!   fallback for answers whose `id` is not a pending one
//!   ([`Cx::is_pending`]). Market socket: `resubscribe` sends one batched
//!   `subscribe`.
//! - **AllenHark** (typed messages, no ids). One step, `auth`, written with
//!   [`Step::fire`] (no reply is documented). Keep-alive `{"type":"ping"}`
//!   every 30 s. `Topic = (channel, key)`, one `subscribe` message each;
//!   updates are routed on `type` plus the key field. Requests expect no
//!   answer, so `send_request` returns [`Sent::Done`].
//!
//! # Example
//!
//! A protocol of newline-delimited text: `hi` as a handshake answered by
//! `ok`, `ping` keep-alives, `sub <topic>`, pushed `<topic> <value>`.
//!
//! ```
//! use std::time::Duration;
//! use session_core::*;
//!
//! struct Tiny;
//!
//! impl Protocol for Tiny {
//!     type Setup = ();
//!     type Request = String;
//!     type Response = ();
//!     type Error = String;
//!     type Key = u64;
//!     type Topic = String;
//!     type Event = String;
//!
//!     fn establish(&mut self, step: usize, cx: &mut Cx<'_, Self>) -> Option<Step> {
//!         (step == 0).then(|| {
//!             cx.send(Frame::text("hi"));
//!             Step::awaiting("hello", Duration::from_secs(5))
//!         })
//!     }
//!     fn keep_alive(&self) -> Option<KeepAlive> {
//!         Some(KeepAlive { interval: Duration::from_secs(15), mode: KeepAliveMode::SendIdle, reply_within: None })
//!     }
//!     fn send_keep_alive(&mut self, cx: &mut Cx<'_, Self>) {
//!         cx.send(Frame::text("ping"));
//!     }
//!     fn on_frame(&mut self, frame: Frame, cx: &mut Cx<'_, Self>) {
//!         match frame.as_str().and_then(|t| t.split_once(' ')) {
//!             _ if frame.as_str() == Some("ok") => cx.step_complete(),
//!             Some((topic, value)) => cx.deliver(&topic.to_owned(), value.to_owned()),
//!             None => cx.malformed(String::from_utf8_lossy(frame.payload()), "not `topic value`"),
//!         }
//!     }
//!     fn send_request(&mut self, req: String, cx: &mut Cx<'_, Self>) -> Result<Sent<u64, ()>, String> {
//!         cx.send(Frame::text(req));
//!         Ok(Sent::Done(()))
//!     }
//!     fn subscribe(&mut self, topic: &String, cx: &mut Cx<'_, Self>) {
//!         cx.send(Frame::text(format!("sub {topic}")));
//!     }
//!     fn unsubscribe(&mut self, topic: &String, cx: &mut Cx<'_, Self>) {
//!         cx.send(Frame::text(format!("unsub {topic}")));
//!     }
//! }
//!
//! // Sans-IO: drive it by hand.
//! let t0 = std::time::Instant::now();
//! let mut s = Session::new(Tiny, SessionConfig::default(), t0);
//! assert!(matches!(s.poll_output(), Some(Output::Connect)));
//! s.subscribe(t0, "BTCUSDT".into())?;
//! s.on_connected(t0, &());
//! assert!(matches!(s.poll_output(), Some(Output::Transmit(f)) if f.as_str() == Some("hi")));
//! s.on_frame(t0, Frame::text("ok"));
//! assert!(matches!(s.poll_output(), Some(Output::Transmit(f)) if f.as_str() == Some("sub BTCUSDT")));
//! assert!(matches!(s.poll_output(), Some(Output::Event(SessionEvent::Connected))));
//! // Nothing sent for 15 s: the next wake-up is the keep-alive.
//! assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(15)));
//! s.on_timeout(t0 + Duration::from_secs(15));
//! assert!(matches!(s.poll_output(), Some(Output::Transmit(f)) if f.as_str() == Some("ping")));
//! # Ok::<(), SubscribeError>(())
//! ```

mod driver;
mod error;
mod event;
mod frame;
mod mailbox;
mod policy;
mod protocol;
mod session;
mod transport;
#[cfg(feature = "websocket")]
mod websocket;

pub use driver::{Events, SessionHandle, Subscription, session, spawn};
pub use error::{
    CloseReason, ConnectError, ConnectStage, DisconnectReason, NotSent, RequestError, Retry,
    SubscribeError, TransportError, Unanswered,
};
pub use event::SessionEvent;
pub use frame::Frame;
pub use mailbox::{DeliveryPolicy, Update};
pub use policy::{Backoff, FixedDelays, ReconnectPolicy};
pub use protocol::{Cx, KeepAlive, KeepAliveMode, Protocol, Sent, Step};
pub use session::{Output, Phase, RequestId, Session, SessionConfig, Stats, SubId};
pub use transport::{Connector, Lines, Transport};
#[cfg(feature = "websocket")]
pub use websocket::{READ_BUFFER, WsTransport, open_websocket};
