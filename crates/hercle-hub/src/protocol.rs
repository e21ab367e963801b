//! The SignalR JSON hub protocol plus the HercleX contract, as a
//! session-core [`Protocol`]: handshake, keep-alive, Close, server
//! invocations, envelopes routed by clientId, price updates by subscription.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// foldhash rather than SipHash: these maps are read per record, and their
// keys are ours (clientIds we generate, topics the application subscribed);
// a key from the wire is only looked up, which cannot make them slow.
use foldhash::HashMap as FastMap;

use hercle_models::catalog::HubMethod;
use hercle_models::{
    Decimal, DecodeError, HUB_ERROR_SUBJECTS, HubEnvelope, OrderStatus, PriceQuote, TradeExecution,
};
use serde_json::value::RawValue;
use session_core::{Cx, Frame, KeepAlive, KeepAliveMode, Protocol, Retry, Sent, Step};
use signalr_proto::{
    CompletionOutcome, DecodeError as WireError, Decoder, HandshakeRequest, HubMessage, encode,
    parse_handshake_response, parse_message,
};

use crate::args;
use crate::connect::Negotiated;
use crate::error::Refusal;

/// The client method HercleX answers calls on.
pub const EXECUTION_EVENTS: &str = "executionEvents";
/// The client method HercleX pushes price updates on.
pub const SUBSCRIPTIONS: &str = "subscriptions";
/// The subject of a price update.
pub const PRICE_UPDATE: &str = "execution.feeds.priceUpdate";
/// The subject of a refusal before execution.
pub const PRE_CHECKS_ERROR: &str = "preChecksError";

/// One price subscription: a pair at a size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PriceTopic {
    /// The pair, e.g. `BTCUSDT`.
    pub pair: String,
    /// The size quoted (`Decimal` equality: `1.0` and `1` are the same topic).
    pub size: Decimal,
}

/// A handler for a server-to-client invocation that expects a result:
/// gets the arguments' JSON text, returns the result's JSON text or an error.
pub type ClientMethod = Arc<dyn Fn(&[&str]) -> Result<String, String> + Send + Sync>;

/// A call as the session carries it.
#[derive(Debug)]
pub struct HubRequest {
    pub(crate) method: &'static HubMethod,
    pub(crate) client_id: String,
    /// `[clientId, ...]` as JSON text.
    pub(crate) args: String,
    pub(crate) spread: bool,
}

/// The answer to a call: its envelope, or `None` for a method the docs give
/// no answer (resolved by its Completion).
pub type HubAnswer = Option<HubEnvelope>;

/// Settings of the protocol part.
#[derive(Clone)]
pub(crate) struct ProtocolOptions {
    pub(crate) handshake_timeout: Duration,
    pub(crate) keep_alive: Duration,
    pub(crate) server_timeout: Duration,
    pub(crate) max_record: usize,
    pub(crate) stateful_reconnect: bool,
    pub(crate) ack_interval: Duration,
    pub(crate) resume_window: Duration,
    pub(crate) client_methods: HashMap<String, ClientMethod>,
    pub(crate) ids: Arc<ClientIds>,
}

/// The protocol state. Per-connection parts are reset in `on_open`.
pub struct HubProtocol {
    opts: ProtocolOptions,
    decoder: Decoder,
    handshake_done: bool,
    next_invocation: u64,
    /// Blocking invocation id → (clientId, resolved by the Completion).
    invocations: FastMap<String, (String, bool)>,
    /// Price subscription clientId → topic, and back.
    sub_by_client: FastMap<String, PriceTopic>,
    client_by_sub: FastMap<PriceTopic, String>,
    /// Methods by clientId of the calls in flight (for error subjects and
    /// order status checks).
    calls: FastMap<String, &'static HubMethod>,
    /// ClientIds of direct calls answered on `subscriptions`.
    subscription_calls: foldhash::HashSet<String>,
    /// Stateful reconnect state, when the server granted it.
    stateful: Option<Stateful>,
}

/// Stateful reconnect (ASP.NET Core 8): both sides number their trackable
/// messages 1, 2, … for the logical connection, keep what they sent until
/// the peer acknowledges it, and after a drop replay it on a socket
/// reopened with the same connection token, announced by a Sequence.
#[derive(Debug, Default)]
struct Stateful {
    /// Id of the next trackable record we send.
    next_out: u64,
    /// Sent, not acknowledged: (id, record).
    unacked: std::collections::VecDeque<(u64, Vec<u8>)>,
    /// Id the next trackable record received will have.
    next_in: u64,
    /// Highest id received and handled; replays up to it are dropped.
    processed: u64,
    /// An Ack is owed then.
    ack_at: Option<std::time::Instant>,
    /// The current attempt resumes: send Sequence and the replay.
    resuming: bool,
}

impl Stateful {
    fn new() -> Self {
        Stateful {
            next_out: 1,
            next_in: 1,
            ..Stateful::default()
        }
    }
}

impl std::fmt::Debug for HubProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubProtocol").finish_non_exhaustive()
    }
}

impl HubProtocol {
    pub(crate) fn new(opts: ProtocolOptions) -> Self {
        HubProtocol {
            decoder: Decoder::with_max_message_size(opts.max_record),
            opts,
            handshake_done: false,
            next_invocation: 0,
            invocations: FastMap::default(),
            sub_by_client: FastMap::default(),
            client_by_sub: FastMap::default(),
            calls: FastMap::default(),
            subscription_calls: foldhash::HashSet::default(),
            stateful: None,
        }
    }
}

/// The general decode of a price update, for what the feed's fast path
/// (tried first, in `on_record`) does not take: the `subscriptions` argument
/// (an envelope, as a JSON string or inline) to its clientId and typed quote.
pub(crate) fn decode_price_update(arg: &str) -> Result<(Option<String>, PriceQuote), DecodeError> {
    let envelope = decode_envelope(arg)?;
    let quote = match &envelope.data {
        Some(data) => data.decode::<PriceQuote>()?,
        None => hercle_models::decode::<PriceQuote>(b"null")?,
    };
    Ok((envelope.client_id, quote))
}

/// An envelope argument: HercleX sends it as a JSON string holding the
/// object; other servers inline it.
pub(crate) fn decode_envelope(arg: &str) -> Result<HubEnvelope, DecodeError> {
    if arg.trim_start().starts_with('"') {
        let text: String = hercle_models::decode_str(arg)?;
        hercle_models::decode_str::<HubEnvelope>(&text)
    } else {
        hercle_models::decode_str::<HubEnvelope>(arg)
    }
}

/// Whether `subject` is an error subject of `method` (the generated
/// `HUB_ERROR_SUBJECTS`: exact subjects or `*.<suffix>` patterns); for a
/// method the description does not list, the general rule.
fn is_error_subject(method: Option<&HubMethod>, subject: &str) -> bool {
    const GENERAL: &[&str] = &[PRE_CHECKS_ERROR, "*.error"];
    let patterns = method
        .and_then(|m| HUB_ERROR_SUBJECTS.iter().find(|(n, _)| *n == m.name))
        .map_or(GENERAL, |(_, p)| *p);
    patterns.iter().any(|p| match p.strip_prefix('*') {
        Some(suffix) => subject.ends_with(suffix),
        None => subject == *p,
    })
}

/// An error subject of the method, or an order with status 2.
fn refusal(method: Option<&HubMethod>, env: &HubEnvelope) -> Option<Refusal> {
    let subject = env.subject.as_deref().unwrap_or("");
    let message = || {
        let text = env.data.as_ref().map(|d| d.json_text()).unwrap_or("");
        #[derive(serde::Deserialize)]
        struct Msg {
            message: Option<String>,
            #[serde(rename = "statusError")]
            status_error: Option<String>,
        }
        hercle_models::decode_str::<Msg>(text)
            .ok()
            .and_then(|m| m.message.or(m.status_error))
            .unwrap_or_else(|| text.to_owned())
    };
    if subject == PRE_CHECKS_ERROR {
        return Some(Refusal::PreChecks { message: message() });
    }
    if is_error_subject(method, subject) {
        return Some(Refusal::Failed {
            subject: subject.to_owned(),
            message: message(),
        });
    }
    // Orders (PlaceOtcOrder, AcceptRequestForQuote) answer a TradeExecution;
    // status 2 means cancelled/rejected.
    if method.is_some_and(|m| {
        matches!(
            m.data,
            Some("PlaceOtcOrderData" | "AcceptRequestForQuoteData")
        )
    }) && let Some(data) = &env.data
        && let Ok(t) = data.decode::<TradeExecution>()
        && t.status == OrderStatus::Cancelled
    {
        return Some(Refusal::OrderRejected {
            status_error: t.status_error,
        });
    }
    None
}

fn text(bytes: &[u8]) -> String {
    const MAX: usize = 4096;
    let s = String::from_utf8_lossy(bytes.get(..bytes.len().min(MAX)).unwrap_or(bytes));
    s.into_owned()
}

impl HubProtocol {
    fn invoke(
        &mut self,
        target: &str,
        args: &str,
        spread: bool,
        blocking: bool,
    ) -> (Vec<u8>, Option<String>) {
        let id = blocking.then(|| {
            self.next_invocation += 1;
            self.next_invocation.to_string()
        });
        let mut out = Vec::new();
        // `args` is our own JSON text; RawValue only checks it.
        let raw = RawValue::from_string(args.to_owned()).ok();
        let result = match (&raw, spread) {
            (Some(r), true) => {
                let items: Vec<&RawValue> = serde_json::from_str(r.get()).unwrap_or_default();
                encode::invocation(&mut out, id.as_deref(), target, &items)
            }
            (Some(r), false) => encode::invocation(&mut out, id.as_deref(), target, &[r]),
            (None, _) => encode::invocation(&mut out, id.as_deref(), target, &[args]),
        };
        if result.is_err() {
            out.clear();
        }
        (out, id)
    }

    /// Sends a record; a trackable one (invocation, completion) is numbered
    /// and kept until acknowledged when stateful reconnect is on.
    fn emit(&mut self, out: Vec<u8>, trackable: bool, cx: &mut Cx<'_, Self>) {
        if out.is_empty() {
            return;
        }
        if trackable && let Some(st) = &mut self.stateful {
            st.unacked.push_back((st.next_out, out.clone()));
            st.next_out += 1;
        }
        cx.send(text_frame(out));
    }

    fn subscribe_frame(&mut self, topic: &PriceTopic) -> Vec<u8> {
        let client_id = self.opts.ids.fresh();
        let args = args::array(&client_id, &[topic.pair.clone().into(), topic.size.into()]);
        self.sub_by_client.insert(client_id.clone(), topic.clone());
        self.client_by_sub.insert(topic.clone(), client_id);
        self.invoke("SubscribePairPriceChannel", &args, false, false)
            .0
    }

    /// Counts a received trackable message under stateful reconnect; false
    /// for a repeat of one already processed (replayed after a resume).
    fn first_time_trackable(&mut self, cx: &mut Cx<'_, Self>) -> bool {
        let Some(st) = &mut self.stateful else {
            return true;
        };
        let id = st.next_in;
        st.next_in += 1;
        if id <= st.processed {
            return false;
        }
        st.processed = id;
        let due = cx.now() + self.opts.ack_interval;
        st.ack_at.get_or_insert(due);
        true
    }

    /// Hands a price update to its subscription's stream.
    fn deliver_price(&mut self, client_id: Option<&str>, quote: PriceQuote, cx: &mut Cx<'_, Self>) {
        if let Some(topic) = client_id.and_then(|c| self.sub_by_client.get(c)) {
            return cx.deliver(topic, quote);
        }
        // A server that echoes no clientId: route by pair when exactly one
        // subscription has it. None: a late update of a stream already
        // unsubscribed.
        let mut it = self.client_by_sub.keys().filter(|t| t.pair == quote.pair);
        if let (Some(topic), None) = (it.next(), it.next()) {
            cx.deliver(topic, quote);
        }
    }

    fn on_record(&mut self, record: &[u8], cx: &mut Cx<'_, Self>) {
        // The price feed's fast path (most records of a busy connection);
        // anything it does not recognise takes the general path below, and
        // so does every update while a direct `SubscribePairPriceChannel`
        // call waits for its first one (`on_envelope` resolves it).
        if self.subscription_calls.is_empty()
            && let Some((client_id, quote)) = crate::feed::decode_fast_quote(record)
        {
            if self.first_time_trackable(cx) {
                self.deliver_price(client_id, quote, cx);
            }
            return;
        }
        let msg = match parse_message(record) {
            Ok(Some(m)) => m,
            // Unknown message types are skipped, as the spec asks.
            Ok(None) => return,
            Err(e) => return cx.malformed(text(record), e.to_string()),
        };
        if let Some(st) = &mut self.stateful {
            match &msg {
                HubMessage::Ack(a) => {
                    while st.unacked.front().is_some_and(|(i, _)| *i <= a.sequence_id) {
                        st.unacked.pop_front();
                    }
                    return;
                }
                HubMessage::Sequence(q) => {
                    // The server replays from here: what we already
                    // processed is dropped below.
                    st.next_in = q.sequence_id;
                    return;
                }
                _ => {}
            }
        }
        if msg.is_trackable() && !self.first_time_trackable(cx) {
            return;
        }
        match msg {
            HubMessage::Invocation(inv) => {
                let target = inv.target.as_ref();
                let args: Vec<&str> = inv.arguments.iter().map(|a| a.get()).collect();
                if target.eq_ignore_ascii_case(SUBSCRIPTIONS)
                    || target.eq_ignore_ascii_case(EXECUTION_EVENTS)
                {
                    for arg in &args {
                        self.on_envelope(target, arg, cx);
                    }
                    if let Some(id) = &inv.invocation_id {
                        let mut out = Vec::new();
                        encode::completion_void(&mut out, id);
                        self.emit(out, true, cx);
                    }
                    return;
                }
                let handler = self
                    .opts
                    .client_methods
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(target))
                    .map(|(_, h)| Arc::clone(h));
                if let Some(id) = &inv.invocation_id {
                    let mut out = Vec::new();
                    let answered = match handler.map(|h| h(&args)) {
                        Some(Ok(json)) => match RawValue::from_string(json) {
                            Ok(raw) => encode::completion_result(&mut out, id, &raw).is_ok(),
                            Err(e) => {
                                encode::completion_error(
                                    &mut out,
                                    id,
                                    &format!("invalid result: {e}"),
                                );
                                true
                            }
                        },
                        Some(Err(e)) => {
                            encode::completion_error(&mut out, id, &e);
                            true
                        }
                        None => {
                            encode::completion_error(
                                &mut out,
                                id,
                                "Client didn't provide a result.",
                            );
                            true
                        }
                    };
                    if answered {
                        self.emit(out, true, cx);
                    }
                } else if let Some(h) = handler {
                    let _ = h(&args);
                }
            }
            HubMessage::Completion(c) => {
                let Some((client_id, resolves)) = self.invocations.remove(c.invocation_id.as_ref())
                else {
                    return;
                };
                match c.outcome {
                    CompletionOutcome::Error(e) => {
                        self.calls.remove(&client_id);
                        cx.reply(&client_id, Err(Refusal::Completion(e.into_owned())));
                    }
                    _ if resolves => {
                        self.calls.remove(&client_id);
                        cx.reply(&client_id, Ok(None));
                    }
                    _ => {}
                }
            }
            HubMessage::Close(close) => {
                let error = close
                    .error
                    .as_deref()
                    .unwrap_or("no error given")
                    .to_owned();
                if close.allow_reconnect {
                    cx.disconnect(
                        format!("server closed the connection (reconnect allowed): {error}"),
                        Retry::Policy,
                    );
                } else {
                    cx.disconnect(
                        format!("server closed the connection: {error}"),
                        Retry::Never,
                    );
                }
            }
            // Pings only count as traffic; streams, cancels and stateful
            // reconnect messages are not used by this client.
            _ => {}
        }
    }

    fn on_envelope(&mut self, target: &str, arg: &str, cx: &mut Cx<'_, Self>) {
        if target.eq_ignore_ascii_case(SUBSCRIPTIONS) && !self.subscription_calls.is_empty() {
            // A direct `SubscribePairPriceChannel` call resolves on the first
            // update carrying its clientId (rare: the general path is fine).
            if let Ok(env) = decode_envelope(arg)
                && let Some(id) = env.client_id.as_deref()
                && self.subscription_calls.remove(id)
            {
                let id = id.to_owned();
                self.calls.remove(&id);
                match refusal(None, &env) {
                    Some(r) => cx.reply(&id, Err(r)),
                    None => cx.reply(&id, Ok(Some(env))),
                }
                return;
            }
        }
        if target.eq_ignore_ascii_case(SUBSCRIPTIONS) {
            match decode_price_update(arg) {
                Ok((client_id, quote)) => self.deliver_price(client_id.as_deref(), quote, cx),
                Err(e) => cx.malformed(text(arg.as_bytes()), format!("price update: {e}")),
            }
            return;
        }
        let env = match decode_envelope(arg) {
            Ok(env) => env,
            Err(e) => {
                return cx.malformed(
                    text(arg.as_bytes()),
                    format!("executionEvents envelope: {e}"),
                );
            }
        };
        let Some(client_id) = env.client_id.clone() else {
            return cx.malformed(
                text(arg.as_bytes()),
                "executionEvents envelope without clientId",
            );
        };
        if cx.is_pending(&client_id) {
            let method = self.calls.get(&client_id).copied();
            match refusal(method, &env) {
                Some(r) => {
                    self.calls.remove(&client_id);
                    cx.reply(&client_id, Err(r));
                }
                // A documented method answers with one of its subjects;
                // anything else carrying its clientId is reported, and the
                // call keeps waiting for its answer.
                None if method.is_some_and(|m| {
                    !m.subjects.is_empty()
                        && !m.subjects.contains(&env.subject.as_deref().unwrap_or(""))
                }) =>
                {
                    cx.malformed(
                        text(arg.as_bytes()),
                        format!(
                            "subject {:?} is not an answer of {}",
                            env.subject.as_deref().unwrap_or(""),
                            method.map_or("?", |m| m.name)
                        ),
                    );
                }
                None => {
                    self.calls.remove(&client_id);
                    cx.reply(&client_id, Ok(Some(env)));
                }
            }
        } else if let Some(topic) = self.sub_by_client.get(&client_id).cloned()
            && let Some(r) = refusal(None, &env)
        {
            self.sub_by_client.remove(&client_id);
            self.client_by_sub.remove(&topic);
            cx.reject_subscription(&topic, r.to_string());
        }
    }
}

fn text_frame(out: Vec<u8>) -> Frame {
    Frame::Text(out.into())
}

impl Protocol for HubProtocol {
    type Setup = Negotiated;
    type Request = HubRequest;
    type Response = HubAnswer;
    type Error = Refusal;
    type Key = String;
    type Topic = PriceTopic;
    type Event = PriceQuote;

    fn on_open(&mut self, setup: &Negotiated) {
        self.stateful = (self.opts.stateful_reconnect && setup.stateful()).then(Stateful::new);
        self.decoder.reset();
        self.handshake_done = false;
        self.invocations.clear();
        self.sub_by_client.clear();
        self.client_by_sub.clear();
        self.calls.clear();
        self.subscription_calls.clear();
    }

    fn on_resume(&mut self, _setup: &Negotiated) {
        // Same logical connection: keep calls, subscriptions and the
        // sequence state; only the bytes of the old socket are gone.
        // A resumed transport carries no handshake: the hub connection is
        // the same, only Sequence and the replay announce the new socket.
        self.decoder.reset();
        self.handshake_done = true;
        if let Some(st) = &mut self.stateful {
            st.resuming = true;
        }
    }

    fn resume_window(&self) -> Option<Duration> {
        self.stateful.as_ref().map(|_| self.opts.resume_window)
    }

    fn establish(&mut self, step: usize, cx: &mut Cx<'_, Self>) -> Option<Step> {
        let resuming = self.stateful.as_ref().is_some_and(|st| st.resuming);
        match (step, resuming) {
            (0, true) => {
                let st = self.stateful.as_mut()?;
                st.resuming = false;
                let first = st.unacked.front().map_or(st.next_out, |(id, _)| *id);
                let mut out = Vec::new();
                encode::sequence(&mut out, first);
                for (_, record) in &st.unacked {
                    out.extend_from_slice(record);
                }
                cx.send(text_frame(out));
                Some(Step::fire("sequence"))
            }
            (0, false) => {
                let mut request = HandshakeRequest::json();
                if self.stateful.is_some() {
                    request.version = 2;
                }
                let mut out = Vec::new();
                encode::handshake_request(&mut out, &request);
                cx.send(text_frame(out));
                Some(Step::awaiting("handshake", self.opts.handshake_timeout))
            }
            _ => None,
        }
    }

    fn poll_timer(&self) -> Option<std::time::Instant> {
        self.stateful.as_ref().and_then(|st| st.ack_at)
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, Self>) {
        if let Some(st) = &mut self.stateful
            && st.ack_at.take().is_some()
        {
            let mut out = Vec::new();
            encode::ack(&mut out, st.processed);
            cx.send(text_frame(out));
        }
    }

    fn keep_alive(&self) -> Option<KeepAlive> {
        Some(KeepAlive {
            interval: self.opts.keep_alive,
            mode: KeepAliveMode::SendIdle,
            reply_within: None,
        })
    }

    fn send_keep_alive(&mut self, cx: &mut Cx<'_, Self>) {
        let mut out = Vec::new();
        encode::ping(&mut out);
        cx.send(text_frame(out));
    }

    fn liveness_timeout(&self) -> Option<Duration> {
        Some(self.opts.server_timeout)
    }

    fn on_frame(&mut self, frame: Frame, cx: &mut Cx<'_, Self>) {
        // Handling a record needs `&mut self`: the decoder steps aside
        // meanwhile (no record handler touches it), and reads the frame's
        // whole records in place rather than copying the frame into its
        // buffer.
        let mut decoder = std::mem::take(&mut self.decoder);
        decoder.records(frame.payload(), |record| {
            match record {
                Ok(record) if self.handshake_done => self.on_record(record, cx),
                Ok(record) => match parse_handshake_response(record) {
                    Ok(r) => match r.error {
                        Some(e) => {
                            cx.step_failed(format!("handshake refused: {e}"), Retry::Never);
                            return ControlFlow::Break(());
                        }
                        None => {
                            self.handshake_done = true;
                            cx.step_complete();
                        }
                    },
                    Err(e) => {
                        cx.step_failed(format!("handshake response: {e}"), Retry::Policy);
                        return ControlFlow::Break(());
                    }
                },
                Err(e) if !self.handshake_done => {
                    cx.step_failed(format!("handshake response: {e}"), Retry::Policy);
                    return ControlFlow::Break(());
                }
                Err(WireError::TooLarge { size, max }) => {
                    // The stream cannot be trusted past an oversized record:
                    // end this link, the session reconnects.
                    cx.disconnect(
                        format!("a record of {size} bytes exceeds the {max}-byte limit"),
                        Retry::Policy,
                    );
                    return ControlFlow::Break(());
                }
                Err(e) => {
                    cx.malformed(String::new(), e.to_string());
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        self.decoder = decoder;
    }

    fn send_request(
        &mut self,
        req: HubRequest,
        cx: &mut Cx<'_, Self>,
    ) -> Result<Sent<String, HubAnswer>, Refusal> {
        let resolves_on_completion = req.method.data.is_none() && req.method.subjects.is_empty();
        let (frame, id) = self.invoke(req.method.name, &req.args, req.spread, true);
        if let Some(id) = id {
            self.invocations
                .insert(id, (req.client_id.clone(), resolves_on_completion));
        }
        self.calls.insert(req.client_id.clone(), req.method);
        if req.method.channel == SUBSCRIPTIONS {
            self.subscription_calls.insert(req.client_id.clone());
        }
        self.emit(frame, true, cx);
        Ok(Sent::Awaiting(req.client_id))
    }

    fn subscribe(&mut self, topic: &PriceTopic, cx: &mut Cx<'_, Self>) {
        let frame = self.subscribe_frame(topic);
        self.emit(frame, true, cx);
    }

    fn unsubscribe(&mut self, topic: &PriceTopic, cx: &mut Cx<'_, Self>) {
        let client_id = self
            .client_by_sub
            .remove(topic)
            .unwrap_or_else(|| self.opts.ids.fresh());
        self.sub_by_client.remove(&client_id);
        let args = args::array(&client_id, &[topic.pair.clone().into(), topic.size.into()]);
        let (frame, _) = self.invoke("UnsubscribePairPriceChannel", &args, false, false);
        self.emit(frame, true, cx);
    }

    fn goodbye(&mut self, cx: &mut Cx<'_, Self>) {
        let mut out = Vec::new();
        encode::close(&mut out, None, false);
        cx.send(text_frame(out));
    }
}

/// Fresh clientIds: a random per-client prefix and a counter, at most 36
/// characters (the API's limit).
#[derive(Debug)]
pub(crate) struct ClientIds {
    prefix: u32,
    next: AtomicU64,
}

impl ClientIds {
    pub(crate) fn new() -> Self {
        // RandomState is seeded from the OS: different clients (and runs)
        // get different prefixes without a random-number crate.
        let prefix = RandomState::new().hash_one(std::process::id());
        ClientIds {
            prefix: (prefix & 0xFFFF_FFFF) as u32,
            next: AtomicU64::new(1),
        }
    }

    pub(crate) fn fresh(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("hx{:08x}-{n}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn env(subject: &str, data: &str) -> HubEnvelope {
        HubEnvelope {
            subject: Some(subject.into()),
            data: Some(
                hercle_models::EmbeddedJson::encode_inline(
                    &RawValue::from_string(data.into()).unwrap(),
                )
                .unwrap(),
            ),
            ..HubEnvelope::default()
        }
    }

    #[test]
    fn error_subjects_come_from_the_generated_table() {
        let withdraw = HubMethod::find("WithdrawFunds");
        let r = refusal(
            withdraw,
            &env(
                "account.withdraw.error",
                r#"{"statusError":"Insufficient funds"}"#,
            ),
        );
        assert_eq!(
            r,
            Some(Refusal::Failed {
                subject: "account.withdraw.error".into(),
                message: "Insufficient funds".into()
            })
        );
        assert_eq!(
            refusal(withdraw, &env("account.withdraw.created", "{}")),
            None
        );
        let r = refusal(
            None,
            &env(PRE_CHECKS_ERROR, r#"{"message":"Amount must be positive"}"#),
        );
        assert_eq!(
            r,
            Some(Refusal::PreChecks {
                message: "Amount must be positive".into()
            })
        );
    }

    #[test]
    fn an_order_with_status_2_is_refused() {
        let place = HubMethod::find("PlaceOtcOrder");
        let r = refusal(
            place,
            &env(
                "execution.order.executed",
                r#"{"status":2,"statusError":"Slippage exceeded"}"#,
            ),
        );
        assert_eq!(
            r,
            Some(Refusal::OrderRejected {
                status_error: Some("Slippage exceeded".into())
            })
        );
        assert_eq!(
            refusal(place, &env("execution.order.executed", r#"{"status":1}"#)),
            None
        );
    }

    #[test]
    fn price_updates_decode_from_a_string_or_an_inline_envelope() {
        let inline = r#"{"subject":"execution.feeds.priceUpdate","clientId":"c1","data":{"id":"p","pair":"X","buyPrice":1.10}}"#;
        let (cid, q) = decode_price_update(inline).unwrap();
        assert_eq!(cid.as_deref(), Some("c1"));
        assert_eq!(q.buy_price.to_string(), "1.10");
        // As HercleX sends it: the envelope a JSON string, `data` one inside.
        let data = serde_json::to_string(r#"{"id":"p","pair":"X","buyPrice":1.10}"#).unwrap();
        let envelope = format!(r#"{{"clientId":"c1","data":{data}}}"#);
        let quoted = serde_json::to_string(&envelope).unwrap();
        let (_, q) = decode_price_update(&quoted).unwrap();
        assert_eq!(q.buy_price.to_string(), "1.10");
    }
}
