//! A complete toy protocol over newline-delimited JSON, shaped like the
//! venues' (JSON-RPC ids like WhiteBIT, SignalR-style invocation ids, a
//! business key like HercleX's clientId), plus the scripted connector and
//! peer the tests drive it with. Every feature of the session is exercised
//! through it.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use session_core::{
    ConnectError, Connector, Cx, Frame, KeepAlive, Lines, Protocol, Retry, Sent, Step, Transport,
};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Every message of the toy protocol, either direction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Msg {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invocation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) params: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl Msg {
    pub(crate) fn method(m: &str) -> Self {
        Msg {
            method: Some(m.into()),
            ..Msg::default()
        }
    }
    pub(crate) fn params(mut self, p: &[&str]) -> Self {
        self.params = Some(p.iter().map(|s| s.to_string()).collect());
        self
    }
    pub(crate) fn is(&self, m: &str) -> bool {
        self.method.as_deref() == Some(m)
    }
    pub(crate) fn param(&self, i: usize) -> &str {
        self.params
            .as_ref()
            .and_then(|p| p.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }
    fn frame(&self) -> Frame {
        Frame::text(serde_json::to_string(self).unwrap())
    }
}

/// How a toy request is correlated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum By {
    /// Numeric JSON-RPC id, answered by `{"id":n,…}`.
    Id,
    /// String invocation id, answered by `{"invocationId":s,…}`.
    Invocation,
    /// A business key, answered by a pushed `execution` message carrying it.
    ClientId(String),
    /// No answer expected.
    Fire,
}

#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) arg: String,
    pub(crate) by: By,
}

impl Req {
    pub(crate) fn new(method: &str, arg: &str, by: By) -> Self {
        Req {
            method: method.into(),
            arg: arg.into(),
            by,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Id(u64),
    Invocation(String),
    Client(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToyError(pub(crate) String);

impl std::fmt::Display for ToyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The toy protocol. Establish: `hello` with the pre-connect token (awaits
/// its reply), then `start` (fire-and-forget).
#[derive(Debug, Clone)]
pub(crate) struct Toy {
    pub(crate) keep_alive: Option<KeepAlive>,
    pub(crate) liveness: Option<Duration>,
    pub(crate) hello_timeout: Duration,
    /// Offer to resume a dropped link within this window.
    pub(crate) resume: Option<Duration>,
    /// Acknowledge updates, at most one `ack` per this interval (a protocol
    /// timer, like SignalR's Ack).
    pub(crate) ack_every: Option<Duration>,
    token: String,
    hello_id: Option<u64>,
    resumed: bool,
    next_ack: Option<std::time::Instant>,
}

impl Toy {
    pub(crate) fn new() -> Self {
        Toy {
            keep_alive: None,
            liveness: None,
            hello_timeout: Duration::from_secs(5),
            resume: None,
            ack_every: None,
            token: String::new(),
            hello_id: None,
            resumed: false,
            next_ack: None,
        }
    }
}

impl Protocol for Toy {
    type Setup = String;
    type Request = Req;
    type Response = String;
    type Error = ToyError;
    type Key = Key;
    type Topic = String;
    type Event = String;

    fn on_open(&mut self, setup: &String) {
        self.token = setup.clone();
        self.hello_id = None;
        self.resumed = false;
        self.next_ack = None;
    }

    fn resume_window(&self) -> Option<Duration> {
        self.resume
    }

    fn on_resume(&mut self, setup: &String) {
        assert_eq!(&self.token, setup, "a resume reuses the last setup");
        self.hello_id = None;
        self.resumed = true;
    }

    fn poll_timer(&self) -> Option<std::time::Instant> {
        self.next_ack
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, Self>) {
        self.next_ack = None;
        cx.send(Msg::method("ack").frame());
    }

    fn establish(&mut self, step: usize, cx: &mut Cx<'_, Self>) -> Option<Step> {
        match step {
            0 => {
                let id = cx.next_id();
                self.hello_id = Some(id);
                cx.send(
                    Msg {
                        id: Some(id),
                        ..Msg::method("hello")
                            .params(&[&self.token, if self.resumed { "resume" } else { "new" }])
                    }
                    .frame(),
                );
                Some(Step::awaiting("hello", self.hello_timeout))
            }
            1 => {
                cx.send(Msg::method("start").frame());
                Some(Step::fire("start"))
            }
            _ => None,
        }
    }

    fn keep_alive(&self) -> Option<KeepAlive> {
        self.keep_alive
    }

    fn send_keep_alive(&mut self, cx: &mut Cx<'_, Self>) {
        let id = cx.next_id();
        cx.send(
            Msg {
                id: Some(id),
                ..Msg::method("ping")
            }
            .frame(),
        );
    }

    fn liveness_timeout(&self) -> Option<Duration> {
        self.liveness
    }

    fn on_frame(&mut self, frame: Frame, cx: &mut Cx<'_, Self>) {
        let text = frame.as_str().unwrap_or("").to_owned();
        let msg: Msg = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => return cx.malformed(text, e.to_string()),
        };
        let answer = match (&msg.result, &msg.error) {
            (_, Some(e)) => Err(ToyError(e.clone())),
            (Some(r), None) => Ok(r.clone()),
            (None, None) => Err(ToyError("empty answer".into())),
        };
        if let Some(id) = msg.id {
            if self.hello_id == Some(id) {
                self.hello_id = None;
                return match answer {
                    Ok(_) => cx.step_complete(),
                    Err(e) if e.0 == "denied" => cx.step_failed(e.0, Retry::Never),
                    Err(e) => cx.step_failed(e.0, Retry::Policy),
                };
            }
            return cx.reply(&Key::Id(id), answer);
        }
        if let Some(inv) = msg.invocation_id {
            return cx.reply(&Key::Invocation(inv), answer);
        }
        match msg.method.as_deref() {
            Some("execution") => {
                let key = Key::Client(msg.client_id.clone().unwrap_or_default());
                cx.reply(&key, answer);
            }
            Some("update") => {
                if let (Some(every), None) = (self.ack_every, self.next_ack) {
                    self.next_ack = Some(cx.now() + every);
                }
                cx.deliver(&msg.param(0).to_owned(), msg.param(1).to_owned());
            }
            Some("rejected") => cx.reject_subscription(&msg.param(0).to_owned(), msg.param(1)),
            Some("gap") => cx.gap(&msg.param(0).to_owned()),
            Some("close") => {
                let retry = if msg.param(1) == "retry" {
                    Retry::Policy
                } else {
                    Retry::Never
                };
                cx.disconnect(msg.param(0), retry);
            }
            _ => cx.malformed(text, "unknown message"),
        }
    }

    fn send_request(
        &mut self,
        req: Req,
        cx: &mut Cx<'_, Self>,
    ) -> Result<Sent<Key, String>, ToyError> {
        if req.method.is_empty() {
            return Err(ToyError("empty method".into()));
        }
        let mut msg = Msg::method(&req.method).params(&[&req.arg]);
        let sent = match req.by {
            By::Id => {
                let id = cx.next_id();
                msg.id = Some(id);
                Sent::Awaiting(Key::Id(id))
            }
            By::Invocation => {
                let inv = format!("inv-{}", cx.next_id());
                msg.invocation_id = Some(inv.clone());
                Sent::Awaiting(Key::Invocation(inv))
            }
            By::ClientId(c) => {
                msg.client_id = Some(c.clone());
                Sent::Awaiting(Key::Client(c))
            }
            By::Fire => Sent::Done("sent".into()),
        };
        cx.send(msg.frame());
        Ok(sent)
    }

    fn subscribe(&mut self, topic: &String, cx: &mut Cx<'_, Self>) {
        let id = cx.next_id();
        cx.send(
            Msg {
                id: Some(id),
                ..Msg::method("subscribe").params(&[topic])
            }
            .frame(),
        );
    }

    fn unsubscribe(&mut self, topic: &String, cx: &mut Cx<'_, Self>) {
        let id = cx.next_id();
        cx.send(
            Msg {
                id: Some(id),
                ..Msg::method("unsubscribe").params(&[topic])
            }
            .frame(),
        );
    }

    fn goodbye(&mut self, cx: &mut Cx<'_, Self>) {
        cx.send(Msg::method("bye").frame());
    }
}

/// Fails a test that waits for something that never comes, instead of
/// hanging: on the paused clock an idle runtime jumps straight to this
/// deadline (an hour of virtual time, far beyond any protocol timer here).
pub(crate) async fn guard<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(3600), fut).await {
        Ok(v) => v,
        Err(_) => panic!("waited an hour (virtual) for {what}: the session is stuck"),
    }
}

/// The server side of one accepted connection.
pub(crate) struct Peer {
    pub(crate) lines: Lines<DuplexStream>,
    /// The token the pre-connect step issued for this connection.
    pub(crate) token: String,
}

impl Peer {
    pub(crate) async fn recv(&mut self) -> Msg {
        self.try_recv().await.expect("client closed the link")
    }

    /// `None` when the client closed the link.
    pub(crate) async fn try_recv(&mut self) -> Option<Msg> {
        let frame = guard("a client frame", self.lines.recv()).await?.ok()?;
        Some(serde_json::from_slice(frame.payload()).expect("client sent bad JSON"))
    }

    pub(crate) async fn send(&mut self, msg: Msg) {
        self.lines.send(msg.frame()).await.unwrap();
    }

    pub(crate) async fn send_raw(&mut self, text: &str) {
        self.lines.send(Frame::text(text)).await.unwrap();
    }

    pub(crate) async fn reply(&mut self, to: &Msg, result: &str) {
        self.send(Msg {
            id: to.id,
            invocation_id: to.invocation_id.clone(),
            result: Some(result.into()),
            ..Msg::default()
        })
        .await;
    }

    /// Answer `hello` (checking the token) and read `start`.
    pub(crate) async fn handshake(&mut self) {
        let hello = self.recv().await;
        assert!(hello.is("hello"), "expected hello, got {hello:?}");
        assert_eq!(hello.param(0), self.token);
        self.reply(&hello, "ok").await;
        let start = self.recv().await;
        assert!(start.is("start"), "expected start, got {start:?}");
    }

    pub(crate) async fn update(&mut self, topic: &str, value: &str) {
        self.send(Msg::method("update").params(&[topic, value]))
            .await;
    }

    pub(crate) async fn close(mut self) {
        self.lines.close().await;
    }
}

/// Connects over fresh in-memory duplex streams and hands the server end to
/// the test. Pre-connect issues a token per attempt and can be scripted to
/// fail.
#[derive(Clone)]
pub(crate) struct ToyConnector {
    accepts: mpsc::UnboundedSender<Peer>,
    /// Failures for the next pre-connect calls, in order.
    pub(crate) failures: Arc<Mutex<VecDeque<ConnectError>>>,
    /// When each pre-connect started.
    pub(crate) attempts: Arc<Mutex<Vec<Instant>>>,
    /// Pre-connect calls left that never finish (a negotiate that hangs).
    pub(crate) stalls: Arc<Mutex<u32>>,
}

impl ToyConnector {
    pub(crate) fn new() -> (Self, mpsc::UnboundedReceiver<Peer>) {
        let (accepts, rx) = mpsc::unbounded_channel();
        (
            ToyConnector {
                accepts,
                failures: Arc::default(),
                stalls: Arc::default(),
                attempts: Arc::default(),
            },
            rx,
        )
    }

    pub(crate) fn fail_next(&self, e: ConnectError) {
        self.failures.lock().unwrap().push_back(e);
    }

    pub(crate) fn attempt_times(&self) -> Vec<Instant> {
        self.attempts.lock().unwrap().clone()
    }
}

impl Connector for ToyConnector {
    type Setup = String;
    type Transport = Lines<DuplexStream>;

    async fn pre_connect(&mut self) -> Result<String, ConnectError> {
        let n = {
            let mut a = self.attempts.lock().unwrap();
            a.push(Instant::now());
            a.len()
        };
        let stall = {
            let mut n = self.stalls.lock().unwrap();
            let stall = *n > 0;
            *n = n.saturating_sub(1);
            stall
        };
        if stall {
            std::future::pending::<()>().await;
        }
        if let Some(e) = self.failures.lock().unwrap().pop_front() {
            return Err(e);
        }
        Ok(format!("token-{n}"))
    }

    async fn open(&mut self, token: &String) -> Result<Lines<DuplexStream>, ConnectError> {
        let (client, server) = tokio::io::duplex(1 << 16);
        let peer = Peer {
            lines: Lines::new(server),
            token: token.clone(),
        };
        self.accepts.send(peer).map_err(|_| {
            ConnectError::retryable(session_core::ConnectStage::Open, "no listener")
        })?;
        Ok(Lines::new(client))
    }
}
