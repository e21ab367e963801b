//! The thin tokio shell: runs a [`Session`] over a [`Connector`], routes
//! answers to callers and updates to subscriptions.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use foldhash::HashMap;
use tokio::sync::{mpsc, oneshot};

use crate::error::TransportError;
use crate::error::{NotSent, RequestError, SubscribeError};
use crate::event::SessionEvent;
use crate::mailbox::{DeliveryPolicy, MailboxRx, MailboxTx, Update, mailbox};
use crate::protocol::Protocol;
use crate::session::{Output, Phase, RequestId, Session, SessionConfig, Stats, SubId};
use crate::transport::{Connector, Transport};

type Reply<P> = Result<<P as Protocol>::Response, RequestError<<P as Protocol>::Error>>;

enum Command<P: Protocol> {
    Request {
        request: P::Request,
        timeout: Option<Duration>,
        reply: oneshot::Sender<Reply<P>>,
    },
    Subscribe {
        topic: P::Topic,
        policy: DeliveryPolicy,
        handle: mpsc::UnboundedSender<Command<P>>,
        reply: oneshot::Sender<Result<Subscription<P>, SubscribeError>>,
    },
    Unsubscribe {
        sub: SubId,
    },
    Stats {
        reply: oneshot::Sender<(Phase, Stats)>,
    },
    Close {
        done: oneshot::Sender<()>,
    },
}

/// Sends commands to a running session. Cheap to clone; when every handle
/// and every [`Subscription`] is dropped, the session closes.
pub struct SessionHandle<P: Protocol> {
    tx: mpsc::UnboundedSender<Command<P>>,
}

impl<P: Protocol> Clone for SessionHandle<P> {
    fn clone(&self) -> Self {
        SessionHandle {
            tx: self.tx.clone(),
        }
    }
}

impl<P: Protocol> fmt::Debug for SessionHandle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle").finish_non_exhaustive()
    }
}

impl<P: Protocol> SessionHandle<P> {
    /// Make a request with the session's default timeout.
    pub async fn request(&self, request: P::Request) -> Reply<P> {
        self.request_within(request, None).await
    }

    /// Make a request with its own timeout (`None`: the session default).
    pub async fn request_within(&self, request: P::Request, timeout: Option<Duration>) -> Reply<P> {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(Command::Request {
                request,
                timeout,
                reply,
            })
            .is_err()
        {
            return Err(RequestError::NotSent(NotSent::SessionGone));
        }
        // The session always answers every request it accepted; a dropped
        // sender means the task ended before it could have written it.
        rx.await
            .unwrap_or(Err(RequestError::NotSent(NotSent::SessionGone)))
    }

    /// Subscribe to `topic`: it stays desired (and is replayed after every
    /// reconnect) until the returned stream is dropped.
    pub async fn subscribe(
        &self,
        topic: P::Topic,
        policy: DeliveryPolicy,
    ) -> Result<Subscription<P>, SubscribeError> {
        let (reply, rx) = oneshot::channel();
        let cmd = Command::Subscribe {
            topic,
            policy,
            handle: self.tx.clone(),
            reply,
        };
        if self.tx.send(cmd).is_err() {
            return Err(SubscribeError::SessionClosed);
        }
        rx.await.unwrap_or(Err(SubscribeError::SessionClosed))
    }

    /// Close the session and wait until it has stopped.
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Command::Close { done }).is_ok() {
            let _ = rx.await;
        }
    }

    /// Where the session is and its counters (`None` once it has ended).
    pub async fn stats(&self) -> Option<(Phase, Stats)> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::Stats { reply }).ok()?;
        rx.await.ok()
    }

    /// True once the session task has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The updates of one subscription. Dropping it unsubscribes.
pub struct Subscription<P: Protocol> {
    topic: P::Topic,
    sub: SubId,
    rx: MailboxRx<P::Event>,
    handle: mpsc::UnboundedSender<Command<P>>,
}

impl<P: Protocol> fmt::Debug for Subscription<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> Subscription<P> {
    /// The topic.
    pub fn topic(&self) -> &P::Topic {
        &self.topic
    }

    /// The next update; `None` once the subscription ended (refused by the
    /// peer, or the session closed).
    // The mailbox's own future, not an `async fn` awaiting it: each level
    // of future moved the update (184 bytes for a price quote) once more.
    pub fn recv(&mut self) -> impl Future<Output = Option<Update<P::Event>>> + '_ {
        self.rx.recv()
    }
}

// Nothing in a subscription is pinned (its queue holds events by value,
// never borrowed across a poll), whatever the event type.
impl<P: Protocol> Unpin for Subscription<P> {}

impl<P: Protocol> futures_core::Stream for Subscription<P> {
    type Item = Update<P::Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl<P: Protocol> Drop for Subscription<P> {
    fn drop(&mut self) {
        // If the session is gone there is nothing to unsubscribe from.
        let _ = self.handle.send(Command::Unsubscribe { sub: self.sub });
    }
}

/// The session's lifecycle events, in order.
pub struct Events {
    rx: MailboxRx<SessionEvent>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl Events {
    /// The next event; `None` once the session task has ended and every
    /// event was read.
    pub async fn recv(&mut self) -> Option<SessionEvent> {
        self.rx.recv().await.and_then(lifecycle)
    }
}

fn lifecycle(u: Update<SessionEvent>) -> Option<SessionEvent> {
    match u {
        Update::Item(e) => Some(e),
        Update::Lagged { missed } => Some(SessionEvent::Lagged { missed }),
        // Never pushed into the event mailbox.
        Update::Gap | Update::Rejected(_) => None,
    }
}

impl futures_core::Stream for Events {
    type Item = SessionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(u)) => Poll::Ready(lifecycle(u)),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Build a session and the future that runs it (poll it on any tokio
/// runtime; [`spawn`] does that for you).
pub fn session<P, C>(
    protocol: P,
    connector: C,
    config: SessionConfig,
) -> (SessionHandle<P>, Events, impl Future<Output = ()> + Send)
where
    P: Protocol,
    C: Connector<Setup = P::Setup>,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let (events_tx, events_rx) = mailbox(DeliveryPolicy::Buffered {
        capacity: config.event_capacity,
    });
    let session = Session::new(protocol, config, now());
    let driver = Driver {
        session,
        last_setup: None,
        link: None,
        rx,
        replies: HashMap::default(),
        events: events_tx,
        closers: Vec::new(),
    };
    (
        SessionHandle { tx },
        Events { rx: events_rx },
        driver.run(connector),
    )
}

/// [`session`], spawned on the current tokio runtime.
pub fn spawn<P, C>(protocol: P, connector: C, config: SessionConfig) -> (SessionHandle<P>, Events)
where
    P: Protocol,
    C: Connector<Setup = P::Setup>,
{
    let (handle, events, fut) = session(protocol, connector, config);
    tokio::spawn(fut);
    (handle, events)
}

fn now() -> std::time::Instant {
    // tokio's clock, so a paused test clock drives the session too.
    tokio::time::Instant::now().into_std()
}

async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

async fn next_frame<T: Transport>(
    link: &mut Option<T>,
) -> Option<Result<crate::Frame, crate::TransportError>> {
    match link {
        Some(t) => t.recv().await,
        None => std::future::pending().await,
    }
}

/// Frames handled per `select!` round at most (see [`Driver::frames`]).
const FRAME_BATCH: usize = 64;

/// Polls `fut` once with the task's own context: its output if it is
/// ready, `None` if not (its waker is then registered, so dropping the
/// future of a cancel-safe operation loses nothing).
async fn ready<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(out) => Poll::Ready(Some(out)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

struct Driver<P: Protocol, T> {
    session: Session<P>,
    last_setup: Option<P::Setup>,
    link: Option<T>,
    rx: mpsc::UnboundedReceiver<Command<P>>,
    replies: HashMap<RequestId, oneshot::Sender<Reply<P>>>,
    events: MailboxTx<SessionEvent>,
    closers: Vec<oneshot::Sender<()>>,
}

#[derive(Default)]
struct Drained {
    /// Connect (`Some(false)`) or resume (`Some(true)`).
    connect: Option<bool>,
    disconnect: bool,
}

impl<P: Protocol, T: Transport> Driver<P, T> {
    async fn run<C: Connector<Setup = P::Setup, Transport = T>>(mut self, mut connector: C) {
        // One timer, re-armed only when the session's next deadline comes
        // earlier than the one it is set for. The liveness deadline moves
        // later with every inbound frame: re-arming for it each time would
        // cost a timer-wheel update per frame, so a timer that fires before
        // the real deadline just wakes the session (which checks every
        // deadline against the clock) and is set again.
        let sleep = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(sleep);
        let mut armed: Option<std::time::Instant> = None;
        loop {
            let drained = self.drain().await;
            if self.session.is_closed() {
                return self.finish().await;
            }
            if let Some(resume) = drained.connect {
                self.connect(&mut connector, resume).await;
                continue;
            }
            let timer = self.session.poll_timeout();
            if let Some(at) = timer
                && armed.is_none_or(|armed| at < armed)
            {
                sleep.as_mut().reset(tokio::time::Instant::from_std(at));
                armed = timer;
            }
            tokio::select! {
                cmd = self.rx.recv() => self.command(cmd),
                frame = next_frame(&mut self.link) => self.frames(frame).await,
                () = &mut sleep, if armed.is_some() => {
                    // Force a re-arm next time, even for the same instant.
                    armed = None;
                    self.session.on_timeout(now());
                }
            }
        }
    }

    /// A frame (or the end of the link), then the frames the transport
    /// already holds, up to [`FRAME_BATCH`]: at a high message rate most
    /// frames are decoded from the same socket read, and a `select!` round
    /// (polling the command channel, re-registering wakers, a clock read)
    /// for each of them cost as much as the session's own work. The batch
    /// stops at the first frame that is not ready (its future has then
    /// registered this task's waker, as the `select!` would have), and as
    /// soon as the session has something for the driver to do (a frame to
    /// send, a link to close, an answer), so commands, timers and outputs
    /// wait for at most one batch. One clock read serves the batch: the
    /// frames arrived together.
    async fn frames(&mut self, first: Option<Result<crate::Frame, TransportError>>) {
        let at = now();
        let mut frame = first;
        let mut left = FRAME_BATCH;
        loop {
            match frame {
                Some(Ok(f)) => self.session.on_frame(at, f),
                Some(Err(e)) => {
                    self.link = None;
                    return self.session.on_transport_closed(at, Some(e));
                }
                None => {
                    self.link = None;
                    return self.session.on_transport_closed(at, None);
                }
            }
            left -= 1;
            if left == 0 || self.session.has_output() {
                return;
            }
            let Some(link) = self.link.as_mut() else {
                return;
            };
            frame = match ready(link.recv()).await {
                Some(next) => next,
                None => return,
            };
        }
    }

    /// One attempt: pre-connect then open, while commands and timers (the
    /// connect timeout among them) keep being served.
    async fn connect<C: Connector<Setup = P::Setup, Transport = T>>(
        &mut self,
        connector: &mut C,
        resume: bool,
    ) {
        let last = if resume { self.last_setup.take() } else { None };
        let attempt = async {
            // A resume reuses what the last pre-connect learnt (SignalR: the
            // same connection token); otherwise everything is fresh.
            let setup = match last {
                Some(setup) => setup,
                None => connector.pre_connect().await?,
            };
            let transport = connector.open(&setup).await?;
            Ok((transport, setup))
        };
        tokio::pin!(attempt);
        let outcome = loop {
            let timer = self.session.poll_timeout();
            tokio::select! {
                r = &mut attempt => break Some(r),
                cmd = self.rx.recv() => self.command(cmd),
                () = sleep_until(timer) => self.session.on_timeout(now()),
            }
            let drained = self.drain().await;
            if drained.disconnect || self.session.is_closed() {
                break None;
            }
        };
        match outcome {
            Some(Ok((transport, setup))) => {
                self.link = Some(transport);
                self.session.on_connected(now(), &setup);
                self.last_setup = Some(setup);
            }
            Some(Err(e)) => self.session.on_connect_failed(now(), e),
            None => {}
        }
    }

    fn command(&mut self, cmd: Option<Command<P>>) {
        let Some(cmd) = cmd else {
            // Every handle and subscription is gone: nobody can use the session.
            return self.session.close(now());
        };
        match cmd {
            Command::Request {
                request,
                timeout,
                reply,
            } => {
                let id = self.session.request(now(), request, timeout);
                self.replies.insert(id, reply);
            }
            Command::Subscribe {
                topic,
                policy,
                handle,
                reply,
            } => {
                let (tx, rx) = mailbox(policy);
                let result = self.session.subscribe_into(now(), topic.clone(), Some(tx));
                let result = result.map(|sub| Subscription {
                    topic,
                    sub,
                    rx,
                    handle,
                });
                // A caller that gave up drops the subscription, which unsubscribes.
                let _ = reply.send(result);
            }
            Command::Unsubscribe { sub } => {
                // Drops the subscription's sink.
                self.session.unsubscribe(now(), sub);
            }
            Command::Stats { reply } => {
                let _ = reply.send((self.session.phase(), self.session.stats().clone()));
            }
            Command::Close { done } => {
                self.closers.push(done);
                self.session.close(now());
            }
        }
    }

    async fn drain(&mut self) -> Drained {
        let mut d = Drained::default();
        while let Some(out) = self.session.poll_output() {
            match out {
                Output::Connect => d.connect = Some(false),
                Output::Resume => d.connect = Some(true),
                Output::Transmit(frame) => {
                    let limit = self.session.config().send_timeout;
                    if let Some(t) = self.link.as_mut() {
                        let sent = match tokio::time::timeout(limit, t.send(frame)).await {
                            Ok(r) => r,
                            Err(_) => Err(TransportError::new(format!(
                                "sending a frame took longer than {limit:?}"
                            ))),
                        };
                        if let Err(e) = sent {
                            // Dropped, not closed politely: a close would
                            // wait on the same stuck writer.
                            self.link = None;
                            self.session.on_transport_closed(now(), Some(e));
                        }
                    }
                }
                Output::Disconnect => {
                    d.disconnect = true;
                    if let Some(mut t) = self.link.take() {
                        t.close().await;
                    }
                }
                Output::Reply { id, result } => {
                    if let Some(tx) = self.replies.remove(&id) {
                        let _ = tx.send(result);
                    }
                }
                // Every subscription the driver makes has a sink, which the
                // session hands updates to directly and drops when the
                // subscription ends: neither output concerns it.
                Output::Deliver { .. } | Output::Unsubscribed { .. } => {}
                Output::Event(e) => {
                    self.events.push(Update::Item(e));
                }
            }
        }
        d
    }

    async fn finish(mut self) {
        if let Some(mut t) = self.link.take() {
            t.close().await;
        }
        for done in self.closers.drain(..) {
            let _ = done.send(());
        }
        // Dropping `self` ends the event stream and fails any caller still
        // waiting on a reply channel (none should remain: the session answers
        // every request when it closes).
    }
}
