//! The sans-IO state machine: inputs are frames, transport outcomes, time and
//! application commands; outputs are frames to send, connect/disconnect
//! orders, answers, deliveries and lifecycle events.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use foldhash::HashMap;

use crate::error::{
    CloseReason, ConnectError, DisconnectReason, NotSent, RequestError, Retry, SubscribeError,
    TransportError, Unanswered,
};
use crate::event::SessionEvent;
use crate::frame::Frame;
use crate::mailbox::{MailboxTx, Update};
use crate::policy::{FixedDelays, ReconnectPolicy};
use crate::protocol::{Control, Cx, KeepAlive, KeepAliveMode, Protocol, Sent, Step};

/// Settings the application chooses (the protocol supplies keep-alive and
/// liveness; see [`Protocol`]).
pub struct SessionConfig {
    /// Bound on one connection attempt (pre-connect plus open). Default 30 s.
    pub connect_timeout: Duration,
    /// Bound on writing one frame. A peer that stops reading (or a dead TCP
    /// path) would otherwise block the driver, and with it every timer; past
    /// this the link counts as failed. Default 10 s (the .NET transport's).
    pub send_timeout: Duration,
    /// Default bound on a request, from the call to its answer, including
    /// any wait for the session to become ready. Default 30 s.
    pub request_timeout: Duration,
    /// Lifecycle events held for a slow reader before the oldest are
    /// dropped (and [`SessionEvent::Lagged`] says so). Default 256.
    pub event_capacity: usize,
    /// Delays between attempts. Default: SignalR's 0, 2, 10, 30 s.
    pub reconnect: Box<dyn ReconnectPolicy>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            connect_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            event_capacity: 256,
            reconnect: Box::new(FixedDelays::signalr_default()),
        }
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("send_timeout", &self.send_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("event_capacity", &self.event_capacity)
            .finish_non_exhaustive()
    }
}

/// Names a request inside one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

/// Names a subscription inside one session (a topic subscribed, dropped and
/// subscribed again gets a new one, so a late drop cannot cancel the new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubId(pub(crate) u64);

/// What the driver must do next.
pub enum Output<P: Protocol> {
    /// Run the connector (pre-connect, then open), then call
    /// [`Session::on_connected`] or [`Session::on_connect_failed`].
    Connect,
    /// Reopen the transport with the last `Setup` (no pre-connect) to resume
    /// the same logical connection, then call [`Session::on_connected`] or
    /// [`Session::on_connect_failed`].
    Resume,
    /// Write this frame to the current link.
    Transmit(Frame),
    /// Close the current link, or abandon the connection attempt in progress.
    Disconnect,
    /// The outcome of a request.
    Reply {
        /// Which one.
        id: RequestId,
        /// Its outcome.
        result: Result<P::Response, RequestError<P::Error>>,
    },
    /// An update for a subscription made with [`Session::subscribe`] (the
    /// driver's subscriptions hand theirs straight to their stream).
    Deliver {
        /// Which one.
        sub: SubId,
        /// The update.
        update: Update<P::Event>,
    },
    /// A subscription ended on the session's side (refused by the peer):
    /// its stream should end.
    Unsubscribed {
        /// Which one.
        sub: SubId,
    },
    /// A lifecycle event.
    Event(SessionEvent),
}

impl<P: Protocol> fmt::Debug for Output<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Connect => f.write_str("Connect"),
            Output::Resume => f.write_str("Resume"),
            Output::Transmit(fr) => write!(f, "Transmit({fr:?})"),
            Output::Disconnect => f.write_str("Disconnect"),
            Output::Reply { id, result } => {
                write!(
                    f,
                    "Reply({id:?}, {})",
                    if result.is_ok() { "ok" } else { "err" }
                )
            }
            Output::Deliver { sub, .. } => write!(f, "Deliver({sub:?})"),
            Output::Unsubscribed { sub } => write!(f, "Unsubscribed({sub:?})"),
            Output::Event(e) => write!(f, "Event({e:?})"),
        }
    }
}

/// Where the session is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting before the next connection attempt.
    Waiting,
    /// A connection attempt (pre-connect, open) is under way.
    Connecting,
    /// The link is open and establish steps are running.
    Establishing,
    /// Established: requests and subscriptions flow.
    Ready,
    /// Stopped for good.
    Closed,
}

/// Counters for observability.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames received.
    pub frames_in: u64,
    /// Frames queued for sending.
    pub frames_out: u64,
    /// Inbound frames (or parts) that did not decode.
    pub malformed: u64,
    /// Answers that matched no pending request.
    pub unmatched_replies: u64,
    /// Updates for topics nobody subscribes to.
    pub undelivered: u64,
    /// Links lost (including failed attempts).
    pub links_lost: u64,
}

/// A written request waiting for its answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) id: RequestId,
    pub(crate) deadline: Instant,
    pub(crate) timeout: Duration,
}

pub(crate) struct SubEntry<E> {
    pub(crate) id: SubId,
    order: u64,
    /// Sent on some connection already: a replay after a drop leaves a gap.
    sent: bool,
    /// Where its updates go: the subscriber's mailbox when the driver runs
    /// the session (a mailbox is a plain queue, no I/O, so the core stays
    /// sans-IO), else `None` and they come out as [`Output::Deliver`].
    sink: Option<MailboxTx<E>>,
}

impl<E> SubEntry<E> {
    /// Hands `update` to the subscriber; `false` when nobody can take it
    /// (the stream was dropped: its unsubscribe command is on the way).
    pub(crate) fn deliver<P>(&self, out: &mut VecDeque<Output<P>>, update: Update<E>) -> bool
    where
        P: Protocol<Event = E>,
    {
        match &self.sink {
            Some(sink) => sink.push(update),
            None => {
                out.push_back(Output::Deliver {
                    sub: self.id,
                    update,
                });
                true
            }
        }
    }
}

struct Queued<P: Protocol> {
    id: RequestId,
    request: P::Request,
    deadline: Instant,
    timeout: Duration,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Waiting {
        until: Instant,
    },
    Connecting {
        deadline: Instant,
    },
    Establishing {
        step: usize,
        name: &'static str,
        deadline: Option<(Instant, Duration)>,
    },
    Ready {
        since: Instant,
    },
    Closed,
}

/// The sans-IO session: one per logical connection, living across reconnects.
///
/// Feed it [`on_connected`](Self::on_connected), [`on_frame`](Self::on_frame),
/// [`on_transport_closed`](Self::on_transport_closed) and
/// [`on_timeout`](Self::on_timeout) (at [`poll_timeout`](Self::poll_timeout)),
/// plus the application's commands; after each input, drain
/// [`poll_output`](Self::poll_output). Time is always passed in, so tests
/// drive it without a clock. The driver ([`spawn`](crate::spawn)) does this over
/// tokio.
pub struct Session<P: Protocol> {
    protocol: P,
    config: SessionConfig,
    state: State,
    out: VecDeque<Output<P>>,
    controls: Vec<Control>,
    next_wire_id: u64,
    next_request: u64,
    next_sub: u64,
    inflight: HashMap<P::Key, Pending>,
    inflight_keys: HashMap<RequestId, P::Key>,
    deadlines: BTreeSet<(Instant, RequestId)>,
    queued: VecDeque<Queued<P>>,
    subs: HashMap<P::Topic, SubEntry<P::Event>>,
    sub_topics: HashMap<SubId, P::Topic>,
    /// Attempts in the current outage.
    attempt: u32,
    ever_ready: bool,
    down_since: Option<Instant>,
    keep_alive: Option<KeepAlive>,
    liveness: Option<Duration>,
    last_inbound: Instant,
    last_send: Instant,
    last_ping: Instant,
    reply_deadline: Option<(Instant, Duration)>,
    stats: Stats,
    closed: Option<CloseReason>,
    /// The current attempt resumes the previous connection.
    resuming: bool,
    /// Topics dropped while resuming that the peer still streams.
    unsubscribe_on_resume: Vec<P::Topic>,
}

impl<P: Protocol> Session<P> {
    /// A session that starts connecting at once (its first output is
    /// [`Output::Connect`]).
    pub fn new(protocol: P, config: SessionConfig, now: Instant) -> Self {
        let mut s = Session {
            protocol,
            state: State::Connecting {
                deadline: now + config.connect_timeout,
            },
            config,
            out: VecDeque::new(),
            controls: Vec::new(),
            next_wire_id: 0,
            next_request: 0,
            next_sub: 0,
            inflight: HashMap::default(),
            inflight_keys: HashMap::default(),
            deadlines: BTreeSet::new(),
            queued: VecDeque::new(),
            subs: HashMap::default(),
            sub_topics: HashMap::default(),
            attempt: 0,
            ever_ready: false,
            down_since: None,
            keep_alive: None,
            liveness: None,
            last_inbound: now,
            last_send: now,
            last_ping: now,
            reply_deadline: None,
            stats: Stats::default(),
            closed: None,
            resuming: false,
            unsubscribe_on_resume: Vec::new(),
        };
        s.out.push_back(Output::Connect);
        s
    }

    /// The protocol (for inspection).
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// Where the session is.
    pub fn phase(&self) -> Phase {
        match self.state {
            State::Waiting { .. } => Phase::Waiting,
            State::Connecting { .. } => Phase::Connecting,
            State::Establishing { .. } => Phase::Establishing,
            State::Ready { .. } => Phase::Ready,
            State::Closed => Phase::Closed,
        }
    }

    /// True once the session has stopped for good.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Requests written and waiting for their answer.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Requests waiting for the session to become ready.
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// The desired subscriptions, in the order they were made.
    pub fn desired(&self) -> Vec<P::Topic> {
        let mut v: Vec<(&P::Topic, u64)> = self.subs.iter().map(|(t, e)| (t, e.order)).collect();
        v.sort_by_key(|(_, o)| *o);
        v.into_iter().map(|(t, _)| t.clone()).collect()
    }

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<Output<P>> {
        self.out.pop_front()
    }

    /// Whether [`poll_output`](Self::poll_output) has something.
    pub(crate) fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// When [`on_timeout`](Self::on_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state = match self.state {
            State::Waiting { until } => Some(until),
            State::Connecting { deadline } => Some(deadline),
            State::Establishing { deadline, .. } => {
                earliest(deadline.map(|(d, _)| d), self.protocol.poll_timer())
            }
            State::Ready { .. } => earliest(self.ready_deadline(), self.protocol.poll_timer()),
            State::Closed => None,
        };
        earliest(state, self.deadlines.first().map(|(d, _)| *d))
    }

    fn ready_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut take = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(l) = self.liveness {
            take(self.last_inbound + l);
        }
        if let Some((d, _)) = self.reply_deadline {
            take(d);
        }
        if let Some(ka) = self.keep_alive {
            take(self.ping_due(ka));
        }
        next
    }

    fn ping_due(&self, ka: KeepAlive) -> Instant {
        match ka.mode {
            KeepAliveMode::SendIdle => self.last_send + ka.interval,
            KeepAliveMode::Every => self.last_ping + ka.interval,
        }
    }

    // ---- application commands ------------------------------------------

    /// Make a request. Its outcome comes out as [`Output::Reply`] with the
    /// returned id: at once if the session is closed, else when answered,
    /// refused, timed out (after `timeout`, default
    /// [`SessionConfig::request_timeout`]) or cut off by a drop. A request made
    /// while the session is not ready waits (unsent) until it is.
    pub fn request(
        &mut self,
        now: Instant,
        request: P::Request,
        timeout: Option<Duration>,
    ) -> RequestId {
        self.next_request += 1;
        let id = RequestId(self.next_request);
        if let Some(reason) = self.closed.clone() {
            self.out.push_back(Output::Reply {
                id,
                result: Err(RequestError::NotSent(NotSent::SessionClosed(reason))),
            });
            return id;
        }
        let timeout = timeout.unwrap_or(self.config.request_timeout);
        let deadline = now + timeout;
        if let State::Ready { .. } = self.state {
            self.write_request(now, id, request, deadline, timeout);
        } else {
            self.deadlines.insert((deadline, id));
            self.queued.push_back(Queued {
                id,
                request,
                deadline,
                timeout,
            });
        }
        id
    }

    fn write_request(
        &mut self,
        now: Instant,
        id: RequestId,
        request: P::Request,
        deadline: Instant,
        timeout: Duration,
    ) {
        let sent = self.with_cx(now, |p, cx| p.send_request(request, cx));
        match sent {
            Ok(Sent::Awaiting(key)) => {
                if self.inflight.contains_key(&key) {
                    // Two live requests under one key: their answers cannot
                    // be told apart, so the newer one's outcome is unknown.
                    let key = format!("{key:?}");
                    self.out.push_back(Output::Reply {
                        id,
                        result: Err(RequestError::OutcomeUnknown(Unanswered::DuplicateKey(key))),
                    });
                } else {
                    self.deadlines.insert((deadline, id));
                    self.inflight.insert(
                        key.clone(),
                        Pending {
                            id,
                            deadline,
                            timeout,
                        },
                    );
                    self.inflight_keys.insert(id, key);
                }
            }
            Ok(Sent::Done(response)) => self.out.push_back(Output::Reply {
                id,
                result: Ok(response),
            }),
            Err(e) => self.out.push_back(Output::Reply {
                id,
                result: Err(RequestError::Encode(e)),
            }),
        }
        self.apply_controls(now);
    }

    /// Add `topic` to the desired set (sent now if ready, else on the next
    /// connection and after every reconnect).
    pub fn subscribe(&mut self, now: Instant, topic: P::Topic) -> Result<SubId, SubscribeError> {
        self.subscribe_into(now, topic, None)
    }

    /// [`subscribe`](Self::subscribe), with the updates going straight to
    /// `sink` rather than through [`Output::Deliver`] (the driver's way: a
    /// price update then skips a queue, a map lookup and two moves). The
    /// sink is dropped, ending the stream, when the subscription ends.
    pub(crate) fn subscribe_into(
        &mut self,
        now: Instant,
        topic: P::Topic,
        sink: Option<MailboxTx<P::Event>>,
    ) -> Result<SubId, SubscribeError> {
        if self.is_closed() {
            return Err(SubscribeError::SessionClosed);
        }
        if self.subs.contains_key(&topic) {
            return Err(SubscribeError::AlreadySubscribed);
        }
        self.next_sub += 1;
        let id = SubId(self.next_sub);
        let ready = matches!(self.state, State::Ready { .. });
        self.subs.insert(
            topic.clone(),
            SubEntry {
                id,
                order: self.next_sub,
                sent: ready,
                sink,
            },
        );
        self.sub_topics.insert(id, topic.clone());
        if ready {
            self.with_cx(now, |p, cx| p.subscribe(&topic, cx));
            self.apply_controls(now);
        }
        Ok(id)
    }

    /// Remove a subscription from the desired set (and unsubscribe on the
    /// wire if ready). Unknown or stale ids are ignored.
    pub fn unsubscribe(&mut self, now: Instant, sub: SubId) {
        let Some(topic) = self.sub_topics.remove(&sub) else {
            return;
        };
        let was_sent = self.subs.remove(&topic).is_some_and(|e| e.sent);
        if let State::Ready { .. } = self.state {
            self.with_cx(now, |p, cx| p.unsubscribe(&topic, cx));
            self.apply_controls(now);
        } else if self.resuming && was_sent {
            // A resumed peer still has it: unsubscribe once the link is back.
            self.unsubscribe_on_resume.push(topic);
        }
    }

    /// Stop for good: a goodbye frame if ready, then the link is closed,
    /// pending requests fail and subscriptions end.
    pub fn close(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if let State::Ready { .. } = self.state {
            self.with_cx(now, |p, cx| p.goodbye(cx));
            self.controls.clear();
        }
        self.shut(CloseReason::User);
    }

    // ---- transport inputs ------------------------------------------------

    /// The connector opened a transport.
    pub fn on_connected(&mut self, now: Instant, setup: &P::Setup) {
        let State::Connecting { .. } = self.state else {
            return;
        };
        tracing::debug!(resume = self.resuming, "session: transport open");
        if self.resuming {
            self.protocol.on_resume(setup);
        } else {
            self.protocol.on_open(setup);
        }
        self.keep_alive = self.protocol.keep_alive();
        self.liveness = self.protocol.liveness_timeout();
        self.run_steps(now, 0);
    }

    /// The connection attempt failed.
    pub fn on_connect_failed(&mut self, now: Instant, error: ConnectError) {
        let State::Connecting { .. } = self.state else {
            return;
        };
        let retry = error.retry;
        self.link_lost(now, DisconnectReason::Connect(error), retry);
    }

    /// A frame arrived on the current link.
    pub fn on_frame(&mut self, now: Instant, frame: Frame) {
        if !matches!(self.state, State::Establishing { .. } | State::Ready { .. }) {
            return;
        }
        self.stats.frames_in += 1;
        self.last_inbound = now;
        self.reply_deadline = None;
        self.with_cx(now, |p, cx| p.on_frame(frame, cx));
        self.apply_controls(now);
    }

    /// The transport ended: `None` when the peer closed it, else the error.
    pub fn on_transport_closed(&mut self, now: Instant, error: Option<TransportError>) {
        if !matches!(self.state, State::Establishing { .. } | State::Ready { .. }) {
            return;
        }
        let reason = match error {
            Some(e) => DisconnectReason::Transport(e),
            None => DisconnectReason::PeerClosed,
        };
        self.link_lost(now, reason, Retry::Policy);
    }

    /// Time has reached [`poll_timeout`](Self::poll_timeout) (calling it
    /// early or late is harmless).
    pub fn on_timeout(&mut self, now: Instant) {
        match self.state {
            State::Waiting { until } if until <= now => {
                tracing::debug!(attempt = self.attempt, "session: connecting");
                self.state = State::Connecting {
                    deadline: now + self.config.connect_timeout,
                };
                self.out.push_back(Output::Connect);
            }
            State::Connecting { deadline } if deadline <= now => {
                let reason = DisconnectReason::ConnectTimeout(self.config.connect_timeout);
                self.link_lost(now, reason, Retry::Policy);
            }
            State::Establishing {
                name,
                deadline: Some((deadline, after)),
                ..
            } if deadline <= now => {
                self.link_lost(
                    now,
                    DisconnectReason::StepTimeout { step: name, after },
                    Retry::Policy,
                );
            }
            State::Ready { .. } => self.ready_timers(now),
            _ => {}
        }
        if matches!(self.state, State::Establishing { .. } | State::Ready { .. })
            && self.protocol.poll_timer().is_some_and(|t| t <= now)
        {
            self.with_cx(now, |p, cx| p.on_timer(cx));
            self.apply_controls(now);
        }
        self.expire_requests(now);
    }

    fn ready_timers(&mut self, now: Instant) {
        if let Some(l) = self.liveness
            && self.last_inbound + l <= now
        {
            return self.link_lost(now, DisconnectReason::Silent(l), Retry::Policy);
        }
        if let Some((d, within)) = self.reply_deadline
            && d <= now
        {
            return self.link_lost(
                now,
                DisconnectReason::KeepAliveUnanswered(within),
                Retry::Policy,
            );
        }
        if let Some(ka) = self.keep_alive
            && self.ping_due(ka) <= now
        {
            self.with_cx(now, |p, cx| p.send_keep_alive(cx));
            self.last_ping = now;
            self.last_send = now;
            if let Some(within) = ka.reply_within
                && self.reply_deadline.is_none()
            {
                self.reply_deadline = Some((now + within, within));
            }
            self.apply_controls(now);
        }
    }

    fn expire_requests(&mut self, now: Instant) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(key) = self.inflight_keys.remove(&id) {
                if let Some(p) = self.inflight.remove(&key) {
                    self.out.push_back(Output::Reply {
                        id,
                        result: Err(RequestError::OutcomeUnknown(Unanswered::TimedOut(
                            p.timeout,
                        ))),
                    });
                }
            } else if let Some(pos) = self.queued.iter().position(|q| q.id == id)
                && let Some(q) = self.queued.remove(pos)
            {
                self.out.push_back(Output::Reply {
                    id,
                    result: Err(RequestError::NotSent(NotSent::TimedOut(q.timeout))),
                });
            }
        }
    }

    // ---- internals -------------------------------------------------------

    fn with_cx<R>(&mut self, now: Instant, f: impl FnOnce(&mut P, &mut Cx<'_, P>) -> R) -> R {
        let mut cx = Cx {
            out: &mut self.out,
            controls: &mut self.controls,
            inflight: &mut self.inflight,
            inflight_keys: &mut self.inflight_keys,
            deadlines: &mut self.deadlines,
            subs: &mut self.subs,
            unsubscribe_on_resume: &mut self.unsubscribe_on_resume,
            next_wire_id: &mut self.next_wire_id,
            stats: &mut self.stats,
            sent: false,
            now,
        };
        let r = f(&mut self.protocol, &mut cx);
        if cx.sent {
            self.last_send = now;
        }
        r
    }

    fn apply_controls(&mut self, now: Instant) {
        while !self.controls.is_empty() {
            let control = self.controls.remove(0);
            match control {
                Control::StepComplete => {
                    if let State::Establishing { step, .. } = self.state {
                        self.run_steps(now, step + 1);
                    }
                }
                Control::StepFailed(message, retry) => {
                    if let State::Establishing { name, .. } = self.state {
                        self.link_lost(
                            now,
                            DisconnectReason::StepFailed {
                                step: name,
                                message,
                            },
                            retry,
                        );
                    }
                }
                Control::Disconnect(message, retry) => {
                    if matches!(self.state, State::Establishing { .. } | State::Ready { .. }) {
                        self.link_lost(now, DisconnectReason::Protocol(message), retry);
                    }
                }
            }
        }
    }

    fn run_steps(&mut self, now: Instant, first: usize) {
        let mut index = first;
        loop {
            let step: Option<Step> = self.with_cx(now, |p, cx| p.establish(index, cx));
            match step {
                None => return self.become_ready(now),
                Some(Step {
                    name,
                    timeout: None,
                }) => {
                    tracing::debug!(step = name, "session: step written");
                    index += 1;
                }
                Some(Step {
                    name,
                    timeout: Some(t),
                }) => {
                    tracing::debug!(step = name, "session: awaiting step");
                    self.state = State::Establishing {
                        step: index,
                        name,
                        deadline: Some((now + t, t)),
                    };
                    // The answer may already be decoded (several records
                    // in one frame): controls run after this returns.
                    return;
                }
            }
        }
    }

    fn become_ready(&mut self, now: Instant) {
        self.state = State::Ready { since: now };
        self.last_inbound = now;
        self.last_send = now;
        self.last_ping = now;
        self.reply_deadline = None;
        let resumed = std::mem::take(&mut self.resuming);
        let mut topics = self.desired();
        if resumed {
            // The peer kept what was sent before the drop; only what changed
            // meanwhile goes out.
            topics.retain(|t| self.subs.get(t).is_some_and(|e| !e.sent));
            for topic in std::mem::take(&mut self.unsubscribe_on_resume) {
                self.with_cx(now, |p, cx| p.unsubscribe(&topic, cx));
            }
        }
        let reconnect = self.ever_ready && !resumed;
        // The gap marker goes first: a replay may itself deliver (Hibachi's
        // account snapshot of the restarted stream), and that update belongs
        // after the gap it repairs.
        if reconnect {
            let mut gaps: Vec<&SubEntry<P::Event>> =
                self.subs.values().filter(|e| e.sent).collect();
            gaps.sort_unstable_by_key(|e| e.order);
            for entry in gaps {
                entry.deliver(&mut self.out, Update::Gap);
            }
        }
        if !topics.is_empty() {
            self.with_cx(now, |p, cx| p.resubscribe(&topics, cx));
        }
        for entry in self.subs.values_mut() {
            entry.sent = true;
        }
        while let Some(q) = self.queued.pop_front() {
            self.deadlines.remove(&(q.deadline, q.id));
            self.write_request(now, q.id, q.request, q.deadline, q.timeout);
            if !matches!(self.state, State::Ready { .. }) {
                return;
            }
        }
        let event = match self.down_since.take() {
            Some(since) if resumed => SessionEvent::Resumed {
                downtime: now - since,
            },
            Some(since) if reconnect => SessionEvent::Reconnected {
                downtime: now - since,
            },
            _ => SessionEvent::Connected,
        };
        tracing::info!(?event, "session: ready");
        self.ever_ready = true;
        self.out.push_back(Output::Event(event));
        self.apply_controls(now);
    }

    fn link_lost(&mut self, now: Instant, reason: DisconnectReason, retry: Retry) {
        if matches!(self.state, State::Closed | State::Waiting { .. }) {
            return;
        }
        tracing::info!(%reason, "session: link lost");
        self.stats.links_lost += 1;
        self.controls.clear();
        self.out.push_back(Output::Disconnect);
        if let State::Ready { since } = self.state
            && now.saturating_duration_since(since) >= self.config.reconnect.stable_after()
        {
            self.attempt = 0;
        }
        self.down_since.get_or_insert(now);
        if let (State::Ready { .. }, false, Some(window)) = (
            self.state,
            retry == Retry::Never,
            self.protocol.resume_window(),
        ) {
            // One attempt to pick up the same logical connection; requests
            // stay in flight, the peer keeps the subscriptions.
            self.resuming = true;
            let deadline = now + window.min(self.config.connect_timeout);
            self.state = State::Connecting { deadline };
            self.out.push_back(Output::Resume);
            self.out
                .push_back(Output::Event(SessionEvent::Resuming { reason }));
            return;
        }
        self.resuming = false;
        self.unsubscribe_on_resume.clear();
        self.fail_inflight(|| Unanswered::LinkDropped(reason.clone()));
        if retry == Retry::Never {
            return self.shut(CloseReason::Fatal(reason));
        }
        self.attempt = self.attempt.saturating_add(1);
        let Some(mut delay) = self.config.reconnect.delay(self.attempt) else {
            let attempts = self.attempt - 1;
            return self.shut(CloseReason::GaveUp {
                attempts,
                last: reason,
            });
        };
        if let Retry::NotBefore(min) = retry {
            delay = delay.max(min);
        }
        self.state = State::Waiting { until: now + delay };
        self.out
            .push_back(Output::Event(SessionEvent::Reconnecting {
                attempt: self.attempt,
                reason,
                delay,
            }));
    }

    fn fail_inflight(&mut self, why: impl Fn() -> Unanswered) {
        let mut failed: Vec<RequestId> = self
            .inflight
            .drain()
            .map(|(_, p)| {
                self.deadlines.remove(&(p.deadline, p.id));
                p.id
            })
            .collect();
        failed.sort();
        self.inflight_keys.clear();
        for id in failed {
            self.out.push_back(Output::Reply {
                id,
                result: Err(RequestError::OutcomeUnknown(why())),
            });
        }
    }

    fn shut(&mut self, reason: CloseReason) {
        tracing::info!(%reason, "session: closed");
        if !matches!(self.state, State::Waiting { .. }) {
            self.out.push_back(Output::Disconnect);
        }
        self.state = State::Closed;
        self.closed = Some(reason.clone());
        self.fail_inflight(|| Unanswered::SessionClosed(reason.clone()));
        while let Some(q) = self.queued.pop_front() {
            self.deadlines.remove(&(q.deadline, q.id));
            self.out.push_back(Output::Reply {
                id: q.id,
                result: Err(RequestError::NotSent(NotSent::SessionClosed(
                    reason.clone(),
                ))),
            });
        }
        for (_, entry) in self.subs.drain() {
            self.out.push_back(Output::Unsubscribed { sub: entry.id });
        }
        self.sub_topics.clear();
        self.out
            .push_back(Output::Event(SessionEvent::Closed { reason }));
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
