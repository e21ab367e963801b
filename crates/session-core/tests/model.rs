//! Model test: the sans-IO `Session` driven by random sequences of inputs
//! (transport outcomes, frames good and bad, time, commands). After every
//! input the outputs are checked against invariants that must hold whatever
//! the peer does: no panic, one answer per request, frames only on an open
//! link, no busy timer, one `Closed`, deliveries only to live subscriptions,
//! and the session's own counts agreeing with the model's.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "toy/protocol.rs"]
mod toy;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use session_core::{
    Backoff, ConnectError, ConnectStage, Frame, KeepAlive, KeepAliveMode, Output, Phase, RequestId,
    Session, SessionConfig, SessionEvent, SubId,
};
use toy::{By, Msg, Req, Toy};

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Timeout,
    Connected,
    ConnectFailed(bool),
    TransportClosed,
    AnswerHello(bool),
    AnswerRequest(usize, bool),
    Update(usize),
    Rejected(usize),
    Gap(usize),
    Garbage,
    ServerClose(bool),
    Request(u8),
    Subscribe(usize),
    Unsubscribe(usize),
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..40_000).prop_map(Op::Advance),
        3 => Just(Op::Timeout),
        3 => Just(Op::Connected),
        1 => any::<bool>().prop_map(Op::ConnectFailed),
        1 => Just(Op::TransportClosed),
        3 => prop_oneof![9 => Just(true), 1 => Just(false)].prop_map(Op::AnswerHello),
        3 => (0usize..8, any::<bool>()).prop_map(|(i, ok)| Op::AnswerRequest(i, ok)),
        3 => (0usize..6).prop_map(Op::Update),
        1 => (0usize..6).prop_map(Op::Rejected),
        1 => (0usize..6).prop_map(Op::Gap),
        1 => Just(Op::Garbage),
        1 => prop_oneof![9 => Just(true), 1 => Just(false)].prop_map(Op::ServerClose),
        3 => (0u8..4).prop_map(Op::Request),
        2 => (0usize..6).prop_map(Op::Subscribe),
        1 => (0usize..6).prop_map(Op::Unsubscribe),
        1 => prop_oneof![19 => Just(false), 1 => Just(true)].prop_map(|c| if c { Op::Close } else { Op::Timeout }),
    ]
}

/// What the model knows about the wire and the application.
#[derive(Default)]
struct Model {
    link_open: bool,
    connecting: bool,
    hello: Option<u64>,
    /// Answer handles for written requests: numeric id, invocation id or clientId.
    written: Vec<Msg>,
    stash: Vec<Msg>,
    /// What the peer has been asked to stream on the current logical connection.
    server_subs: HashSet<String>,
    resuming: bool,
    issued: HashSet<RequestId>,
    answered: HashSet<RequestId>,
    subs: HashMap<usize, SubId>,
    live: HashSet<SubId>,
    connected_events: u32,
    closed_events: u32,
    next_client: u64,
}

fn topic(i: usize) -> String {
    format!("t{i}")
}

impl Model {
    fn drain(&mut self, s: &mut Session<Toy>) {
        while let Some(out) = s.poll_output() {
            // After Closed only the answers to requests made later (NotSent) come out.
            assert!(
                self.closed_events == 0 || matches!(out, Output::Reply { .. }),
                "output after Closed: {out:?}"
            );
            match out {
                Output::Connect | Output::Resume => {
                    assert!(
                        !self.connecting && !self.link_open,
                        "Connect while a link or attempt exists"
                    );
                    self.connecting = true;
                    // A resume keeps the requests written before the drop answerable.
                    self.resuming = matches!(out, Output::Resume);
                    if self.resuming {
                        self.written = std::mem::take(&mut self.stash);
                    } else {
                        self.stash.clear();
                        // A fresh connection: the server knows nothing yet.
                        self.server_subs.clear();
                    }
                }
                Output::Transmit(frame) => {
                    assert!(self.link_open, "frame written with no open link");
                    let m: Msg = serde_json::from_slice(frame.payload()).unwrap();
                    if m.is("hello") {
                        self.hello = m.id;
                    } else if m.is("subscribe") {
                        let t = m.param(0).to_owned();
                        assert!(
                            self.server_subs.insert(t.clone()),
                            "duplicate subscribe {t}"
                        );
                    } else if m.is("unsubscribe") {
                        let t = m.param(0).to_owned();
                        assert!(
                            self.server_subs.remove(&t),
                            "unsubscribe of {t}, not subscribed"
                        );
                    } else if !matches!(
                        m.method.as_deref(),
                        Some("start" | "ping" | "ack" | "subscribe" | "unsubscribe" | "bye")
                    ) {
                        self.written.push(m);
                    }
                }
                Output::Disconnect => {
                    self.link_open = false;
                    self.connecting = false;
                    self.hello = None;
                    self.stash = std::mem::take(&mut self.written);
                }
                Output::Reply { id, .. } => {
                    assert!(self.issued.contains(&id), "answer to an unknown request");
                    assert!(self.answered.insert(id), "second answer to {id:?}");
                }
                Output::Deliver { sub, .. } => {
                    assert!(
                        self.live.contains(&sub),
                        "delivery to a dead subscription {sub:?}"
                    );
                }
                Output::Unsubscribed { sub } => {
                    assert!(self.live.remove(&sub), "ended twice: {sub:?}");
                    self.subs.retain(|_, s| *s != sub);
                }
                Output::Event(e) => match e {
                    SessionEvent::Connected => {
                        assert_eq!(self.connected_events, 0, "Connected twice");
                        self.connected_events += 1;
                    }
                    SessionEvent::Reconnecting { .. } => self.resuming = false,
                    SessionEvent::Resumed { .. } => {
                        assert!(self.resuming, "Resumed without a resume");
                        self.resuming = false;
                    }
                    SessionEvent::Reconnected { .. } => {
                        assert_eq!(self.connected_events, 1, "Reconnected before Connected");
                    }
                    SessionEvent::Closed { .. } => self.closed_events += 1,
                    _ => {}
                },
            }
        }
        // Counts agree.
        let open = self.issued.len() - self.answered.len();
        assert_eq!(
            open,
            s.in_flight() + s.queued(),
            "unanswered requests vs session counts"
        );
        if s.phase() == Phase::Ready {
            assert_eq!(s.queued(), 0, "requests left queued while ready");
        }
        if !matches!(s.phase(), Phase::Ready | Phase::Establishing) && !self.resuming {
            assert_eq!(s.in_flight(), 0, "requests still in flight with no link");
        }
        assert_eq!(s.is_closed(), self.closed_events == 1);
        // Ready means the peer has exactly the desired set: nothing lost,
        // nothing stale, nothing twice (across fresh connects and resumes).
        if s.phase() == Phase::Ready {
            let desired: HashSet<String> = s.desired().into_iter().collect();
            assert_eq!(
                self.server_subs, desired,
                "server's subscriptions vs desired"
            );
        }
    }
}

fn run(ops: Vec<Op>, keep_alive: bool, resume: bool) {
    let t0 = Instant::now();
    let mut now = t0;
    let mut toy = Toy::new();
    if keep_alive {
        toy.keep_alive = Some(KeepAlive {
            interval: Duration::from_secs(15),
            mode: KeepAliveMode::SendIdle,
            reply_within: Some(Duration::from_secs(10)),
        });
        toy.liveness = Some(Duration::from_secs(30));
    }
    if resume {
        toy.resume = Some(Duration::from_secs(15));
        toy.ack_every = Some(Duration::from_secs(1));
    }
    let config = SessionConfig {
        request_timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(10),
        reconnect: Box::new(Backoff::new().seed(5).max_attempts(6)),
        ..SessionConfig::default()
    };
    let mut s = Session::new(toy, config, now);
    let mut m = Model::default();
    m.drain(&mut s);
    let server = |s: &mut Session<Toy>, now, msg: Msg| {
        s.on_frame(now, Frame::text(serde_json::to_string(&msg).unwrap()))
    };
    for op in ops {
        match op {
            Op::Advance(ms) => now += Duration::from_millis(ms),
            Op::Timeout => {
                if let Some(t) = s.poll_timeout() {
                    now = now.max(t);
                }
                s.on_timeout(now);
                m.drain(&mut s);
                // Progress: right after a timeout, the next wake-up is later.
                if let Some(t) = s.poll_timeout() {
                    assert!(t > now, "timer due again at once ({:?})", s.phase());
                }
            }
            Op::Connected => {
                if m.connecting {
                    m.connecting = false;
                    m.link_open = true;
                    s.on_connected(now, &"token".to_owned());
                }
            }
            Op::ConnectFailed(retry) => {
                if m.connecting {
                    m.connecting = false;
                    let e = if retry {
                        ConnectError::retryable(ConnectStage::Open, "x")
                    } else {
                        ConnectError::fatal(ConnectStage::PreConnect, "401")
                    };
                    s.on_connect_failed(now, e);
                }
            }
            Op::TransportClosed => {
                if m.link_open {
                    m.link_open = false;
                    s.on_transport_closed(now, None);
                }
            }
            Op::AnswerHello(ok) => {
                if m.link_open
                    && let Some(id) = m.hello
                {
                    let reply = if ok {
                        Msg {
                            id: Some(id),
                            result: Some("ok".into()),
                            ..Msg::default()
                        }
                    } else {
                        Msg {
                            id: Some(id),
                            error: Some("nope".into()),
                            ..Msg::default()
                        }
                    };
                    server(&mut s, now, reply);
                }
            }
            Op::AnswerRequest(i, ok) => {
                if m.link_open && !m.written.is_empty() {
                    let req = m.written[i % m.written.len()].clone();
                    let mut reply = Msg {
                        id: req.id,
                        invocation_id: req.invocation_id.clone(),
                        ..Msg::default()
                    };
                    if let Some(c) = req.client_id {
                        reply.method = Some("execution".into());
                        reply.client_id = Some(c);
                    }
                    if ok {
                        reply.result = Some("r".into())
                    } else {
                        reply.error = Some("e".into())
                    }
                    server(&mut s, now, reply);
                }
            }
            Op::Update(i) => {
                if m.link_open {
                    server(&mut s, now, Msg::method("update").params(&[&topic(i), "v"]));
                }
            }
            Op::Rejected(i) => {
                if m.link_open {
                    // The peer drops it on its side too.
                    m.server_subs.remove(&topic(i));
                    server(
                        &mut s,
                        now,
                        Msg::method("rejected").params(&[&topic(i), "no"]),
                    );
                }
            }
            Op::Gap(i) => {
                if m.link_open {
                    server(&mut s, now, Msg::method("gap").params(&[&topic(i)]));
                }
            }
            Op::Garbage => {
                if m.link_open {
                    s.on_frame(now, Frame::text("{not json"));
                }
            }
            Op::ServerClose(retry) => {
                if m.link_open {
                    server(
                        &mut s,
                        now,
                        Msg::method("close").params(&["bye", if retry { "retry" } else { "stop" }]),
                    );
                }
            }
            Op::Request(kind) => {
                let by = match kind {
                    0 => By::Id,
                    1 => By::Invocation,
                    2 => {
                        m.next_client += 1;
                        By::ClientId(format!("c{}", m.next_client))
                    }
                    _ => By::Fire,
                };
                let id = s.request(now, Req::new("call", "a", by), None);
                assert!(m.issued.insert(id), "request id reused");
            }
            Op::Subscribe(i) => match s.subscribe(now, topic(i)) {
                Ok(id) => {
                    assert!(!m.subs.contains_key(&i), "subscribed twice to one topic");
                    m.subs.insert(i, id);
                    m.live.insert(id);
                }
                Err(_) => assert!(m.subs.contains_key(&i) || s.is_closed()),
            },
            Op::Unsubscribe(i) => {
                if let Some(id) = m.subs.remove(&i) {
                    m.live.remove(&id);
                    s.unsubscribe(now, id);
                }
            }
            Op::Close => s.close(now),
        }
        m.drain(&mut s);
    }
    // Closing answers everything still open, exactly once.
    s.close(now);
    m.drain(&mut s);
    assert_eq!(
        m.issued, m.answered,
        "requests left without an answer after close"
    );
    assert!(m.live.is_empty(), "subscriptions not ended by close");
    assert_eq!(m.closed_events, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_under_random_inputs(ops in proptest::collection::vec(op(), 0..200), keep_alive in any::<bool>(), resume in any::<bool>()) {
        run(ops, keep_alive, resume);
    }
}
