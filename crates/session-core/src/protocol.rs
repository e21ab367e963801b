//! The small part each wire protocol supplies, and the context it talks to
//! the session through.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::time::{Duration, Instant};

use foldhash::HashMap;

use crate::error::{RequestError, Retry};
use crate::event::SessionEvent;
use crate::frame::Frame;
use crate::mailbox::Update;
use crate::session::{Output, Pending, RequestId, Stats, SubEntry};

/// One wire protocol, as a sans-IO plug-in of the session.
///
/// The session owns the lifecycle (connecting, establish steps and their
/// timeouts, keep-alive timing, the liveness deadline, reconnect delays, the
/// desired-subscription registry and its replay, pending requests and their
/// timeouts, delivery). The protocol owns the bytes: what to send for each of
/// those, and what an inbound frame means. Everything it produces goes
/// through the [`Cx`] it is handed, so no call allocates a result list.
///
/// Per-connection state (a handshake flag, a listen key, a decoder buffer)
/// must be reset in [`on_open`](Self::on_open): every reconnect is a new
/// connection.
pub trait Protocol: Send + Sized + 'static {
    /// What the connector's pre-connect step hands over (SignalR's negotiated
    /// connection, a WhiteBIT websocket token); `()` when there is none.
    type Setup: Send + 'static;
    /// A call the application makes.
    type Request: Send + 'static;
    /// A call's successful answer.
    type Response: Send + 'static;
    /// The peer's answer when it refuses a call, or an encoding failure.
    type Error: fmt::Debug + fmt::Display + Send + 'static;
    /// What answers are matched on: a numeric id, a SignalR invocation id, a
    /// business key such as HercleX's `clientId`.
    type Key: Clone + Eq + Hash + fmt::Debug + Send + 'static;
    /// What a subscription is: a channel plus its parameters.
    type Topic: Clone + Eq + Hash + fmt::Debug + Send + 'static;
    /// One pushed update for a topic.
    type Event: Send + 'static;

    /// A transport just opened: forget everything about the previous
    /// connection and take what the pre-connect step learnt.
    fn on_open(&mut self, setup: &Self::Setup) {
        let _ = setup;
    }

    /// Establish step number `step` (0, 1, 2, …): write its frames to `cx`
    /// and describe it, or return `None` when the connection is established.
    ///
    /// A step with a timeout waits for [`Cx::step_complete`] (or
    /// [`Cx::step_failed`]) from [`on_frame`](Self::on_frame); a step without
    /// one completes as soon as it is written (a protocol whose auth message
    /// gets no reply).
    fn establish(&mut self, step: usize, cx: &mut Cx<'_, Self>) -> Option<Step> {
        let _ = (step, cx);
        None
    }

    /// The keep-alive schedule, read each time a connection is established.
    fn keep_alive(&self) -> Option<KeepAlive> {
        None
    }

    /// Write one keep-alive frame (it may depend on connection state, such
    /// as Hibachi's listen key).
    fn send_keep_alive(&mut self, cx: &mut Cx<'_, Self>) {
        let _ = cx;
    }

    /// The link is declared dead when nothing at all arrives for this long
    /// (read each time a connection is established).
    fn liveness_timeout(&self) -> Option<Duration> {
        None
    }

    /// An inbound frame: decode it and report what it holds through `cx`
    /// (replies, deliveries, step results, keep-alive answers need nothing:
    /// any inbound frame counts as traffic). Bad input should be reported
    /// with [`Cx::malformed`], not end the link, unless the protocol says so.
    fn on_frame(&mut self, frame: Frame, cx: &mut Cx<'_, Self>);

    /// Write a request and say how its answer will be recognised.
    ///
    /// Only called while the session is ready; requests made earlier wait.
    fn send_request(
        &mut self,
        request: Self::Request,
        cx: &mut Cx<'_, Self>,
    ) -> Result<Sent<Self::Key, Self::Response>, Self::Error>;

    /// Write the frames that subscribe to `topic` (already in
    /// [`Cx::desired`], for protocols whose subscribe replaces a whole set).
    fn subscribe(&mut self, topic: &Self::Topic, cx: &mut Cx<'_, Self>);

    /// Write the frames that unsubscribe from `topic` (already removed from
    /// [`Cx::desired`]).
    fn unsubscribe(&mut self, topic: &Self::Topic, cx: &mut Cx<'_, Self>);

    /// Replay every desired subscription after a (re)connect, in the order
    /// they were made. The default subscribes one by one; protocols that can
    /// batch or must merge per channel override it.
    fn resubscribe(&mut self, topics: &[Self::Topic], cx: &mut Cx<'_, Self>) {
        for topic in topics {
            self.subscribe(topic, cx);
        }
    }

    /// After a drop of a *ready* link, try once to resume the same logical
    /// connection within this window before reconnecting from scratch
    /// (SignalR stateful reconnect: the server keeps the connection for its
    /// `DisconnectTimeout`, 15 s by default). A resume reopens the transport
    /// with the last `Setup` (no pre-connect), calls
    /// [`on_resume`](Self::on_resume) instead of `on_open`, runs the
    /// establish steps, keeps requests in flight and does not replay
    /// subscriptions (the peer still has them). If it fails, the session
    /// falls back to a full reconnect and in-flight requests fail as usual.
    fn resume_window(&self) -> Option<Duration> {
        None
    }

    /// A transport reopened to resume the same logical connection: keep
    /// what must survive (sequence numbers, the buffer of unacknowledged
    /// messages to replay in the establish steps), reset the rest.
    fn on_resume(&mut self, setup: &Self::Setup) {
        let _ = setup;
    }

    /// A wake-up the protocol wants while a link is open (SignalR sends an
    /// `Ack` at most once a second). Read after every input.
    fn poll_timer(&self) -> Option<Instant> {
        None
    }

    /// The time from [`poll_timer`](Self::poll_timer) has come.
    fn on_timer(&mut self, cx: &mut Cx<'_, Self>) {
        let _ = cx;
    }

    /// The application is closing the session: write a goodbye if the
    /// protocol has one (SignalR `Close`, Hibachi `stream.stop`).
    fn goodbye(&mut self, cx: &mut Cx<'_, Self>) {
        let _ = cx;
    }
}

/// How a request's answer will be recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent<K, R> {
    /// Wait for [`Cx::reply`] with this key.
    Awaiting(K),
    /// No answer is expected (a fire-and-forget command): the request is done.
    Done(R),
}

/// One establish step, as the session tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Its name in events and logs ("handshake", "authorize").
    pub name: &'static str,
    /// How long to wait for its answer; `None`: no answer is expected.
    pub timeout: Option<Duration>,
}

impl Step {
    /// A step that waits for an answer for at most `timeout`.
    pub fn awaiting(name: &'static str, timeout: Duration) -> Self {
        Step {
            name,
            timeout: Some(timeout),
        }
    }

    /// A step that is done once written.
    pub fn fire(name: &'static str) -> Self {
        Step {
            name,
            timeout: None,
        }
    }
}

/// When to send keep-alives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// The interval.
    pub interval: Duration,
    /// What the interval is measured from.
    pub mode: KeepAliveMode,
    /// If set, the link is declared dead when neither the answer nor any
    /// other frame arrives this long after a keep-alive (WhiteBIT: 10 s).
    pub reply_within: Option<Duration>,
}

/// What a keep-alive interval is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAliveMode {
    /// From the last frame sent: a busy link sends no pings (SignalR).
    SendIdle,
    /// From the last keep-alive, whatever else was sent (Hibachi's listen
    /// key, AllenHark's 30 s ping).
    Every,
}

/// What happened inside a protocol call that changes the lifecycle.
#[derive(Debug)]
pub(crate) enum Control {
    StepComplete,
    StepFailed(String, Retry),
    Disconnect(String, Retry),
}

/// The protocol's view of the session during one call: where frames,
/// answers, deliveries and lifecycle signals go.
pub struct Cx<'a, P: Protocol> {
    pub(crate) out: &'a mut VecDeque<Output<P>>,
    pub(crate) controls: &'a mut Vec<Control>,
    pub(crate) inflight: &'a mut HashMap<P::Key, Pending>,
    pub(crate) inflight_keys: &'a mut HashMap<RequestId, P::Key>,
    pub(crate) deadlines: &'a mut BTreeSet<(Instant, RequestId)>,
    pub(crate) subs: &'a mut HashMap<P::Topic, SubEntry<P::Event>>,
    /// Unsubscribes owed to a resuming peer.
    pub(crate) unsubscribe_on_resume: &'a mut Vec<P::Topic>,
    pub(crate) next_wire_id: &'a mut u64,
    pub(crate) stats: &'a mut Stats,
    pub(crate) sent: bool,
    pub(crate) now: Instant,
}

impl<P: Protocol> Cx<'_, P> {
    /// The session's current time (the one passed with the input).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Queue a frame for the current link.
    pub fn send(&mut self, frame: Frame) {
        self.sent = true;
        self.stats.frames_out += 1;
        self.out.push_back(Output::Transmit(frame));
    }

    /// A fresh numeric id: 1, 2, 3 … for the life of the session, never 0
    /// (several venues reserve 0 for pings) and never reused, so a late
    /// answer from an old connection cannot match a new request.
    pub fn next_id(&mut self) -> u64 {
        *self.next_wire_id += 1;
        *self.next_wire_id
    }

    /// The answer for the request registered under `key`. An answer nobody
    /// waits for (timed out, or never asked) is counted and dropped.
    pub fn reply(&mut self, key: &P::Key, result: Result<P::Response, P::Error>) {
        let Some(Pending { id, deadline, .. }) = self.inflight.remove(key) else {
            self.stats.unmatched_replies += 1;
            return;
        };
        self.inflight_keys.remove(&id);
        self.deadlines.remove(&(deadline, id));
        let result = result.map_err(RequestError::Rejected);
        self.out.push_back(Output::Reply { id, result });
    }

    /// Whether a request under `key` is waiting (for protocols with a
    /// two-stage answer, or a FIFO fallback).
    pub fn is_pending(&self, key: &P::Key) -> bool {
        self.inflight.contains_key(key)
    }

    /// An update for `topic`. Updates for topics nobody subscribes to (any
    /// more) are counted and dropped.
    pub fn deliver(&mut self, topic: &P::Topic, event: P::Event) {
        let delivered = self
            .subs
            .get(topic)
            .is_some_and(|entry| entry.deliver(self.out, Update::Item(event)));
        if !delivered {
            self.stats.undelivered += 1;
        }
    }

    /// Updates for `topic` were lost (a sequence gap in an order book, a
    /// stream restarted): its subscriber gets [`Update::Gap`] and should
    /// resynchronise from the next snapshot.
    pub fn gap(&mut self, topic: &P::Topic) {
        if let Some(entry) = self.subs.get(topic) {
            entry.deliver(self.out, Update::Gap);
        }
    }

    /// The peer refused a subscription: the subscriber gets
    /// [`Update::Rejected`] and the topic leaves the desired set.
    pub fn reject_subscription(&mut self, topic: &P::Topic, reason: impl Into<String>) {
        // The peer does not hold it: an unsubscribe owed from before a
        // resume would name a subscription it never had.
        self.unsubscribe_on_resume.retain(|t| t != topic);
        if let Some(entry) = self.subs.remove(topic) {
            entry.deliver(self.out, Update::Rejected(reason.into()));
            // Dropping the entry drops its sink: the stream ends after the
            // refusal.
            self.out.push_back(Output::Unsubscribed { sub: entry.id });
        }
    }

    /// Every desired topic (in no particular order).
    pub fn desired(&self) -> impl Iterator<Item = &P::Topic> {
        self.subs.keys()
    }

    /// The current establish step succeeded.
    pub fn step_complete(&mut self) {
        self.controls.push(Control::StepComplete);
    }

    /// The current establish step was refused.
    pub fn step_failed(&mut self, message: impl Into<String>, retry: Retry) {
        self.controls
            .push(Control::StepFailed(message.into(), retry));
    }

    /// End the link (a server Close, an expired stream, a fatal decode
    /// error); `retry` says whether to reconnect.
    pub fn disconnect(&mut self, message: impl Into<String>, retry: Retry) {
        self.controls
            .push(Control::Disconnect(message.into(), retry));
    }

    /// An inbound frame (or part) that did not decode. The session goes on;
    /// the application sees [`SessionEvent::Malformed`] with the raw text.
    pub fn malformed(&mut self, raw: impl Into<String>, detail: impl Into<String>) {
        self.stats.malformed += 1;
        self.out.push_back(Output::Event(SessionEvent::Malformed {
            raw: raw.into(),
            detail: detail.into(),
        }));
    }
}
