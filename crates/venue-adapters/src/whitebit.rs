//! WhiteBIT (`wss://api.whitebit.com/ws`), JSON-RPC style.
//!
//! - Requests `{id, method, params:[…]}` with ids from
//!   [`Cx::next_id`](session_core::Cx::next_id): 1, 2, 3 … for the life of
//!   the session, never 0 and never reused across reconnects.
//! - `authorize` is the one establish step, with a token from a
//!   [`TokenProvider`] asked again before **every** connection (tokens are
//!   short-lived and single-use). Without a provider the session is public.
//!   A refused token triggers one reconnect with a fresh token; a second
//!   refusal in a row closes the session ([`Retry::Never`]).
//! - `ping` after 50 s of send silence (the server closes after 60 s
//!   without a client message), link declared dead 10 s after an
//!   unanswered ping.
//! - A `<channel>_subscribe` **replaces** the channel's set, so every
//!   subscribe and unsubscribe writes the channel's full desired list, and
//!   a reconnect replays one merged request per channel.
//! - Error codes 1–7 are [`ErrorCode`]s; a refused subscription ends that
//!   subscription ([`Update::Rejected`](session_core::Update::Rejected)).
//! - At most 200 requests per rolling minute per connection, client side
//!   ([`WhiteBitConfig::rate_limit`]): requests over the budget wait in the
//!   protocol and go out as the window frees; code 7 pauses sending until
//!   the window's oldest request has aged out (at least
//!   [`WhiteBitConfig::rate_limit_cooldown`]) and re-queues a refused
//!   subscribe under a new id.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use session_core::{
    ConnectError, ConnectStage, Cx, Events, Frame, KeepAlive, KeepAliveMode, Protocol, Retry, Sent,
    SessionConfig, SessionHandle, Step,
};

use crate::codec;
use crate::ws::{BoxFuture, PreConnect, Secret, WsConnector};
use hercle_models::RawJson;

/// The production endpoint.
pub const URL: &str = "wss://api.whitebit.com/ws";

/// Gives a fresh websocket token (WhiteBIT's signed
/// `POST /api/v4/profile/websocket_token`); asked before every connection.
pub trait TokenProvider: Send + Sync + 'static {
    /// A token for the next connection. The error text must hold no secret.
    fn token(&self) -> BoxFuture<'_, Result<Secret, String>>;
}

impl<F, Fut> TokenProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Secret, String>> + Send + 'static,
{
    fn token(&self) -> BoxFuture<'_, Result<Secret, String>> {
        Box::pin(self())
    }
}

/// The pre-connect step: a token from the provider, if any.
#[derive(Clone)]
pub struct TokenStep(Option<Arc<dyn TokenProvider>>);

impl fmt::Debug for TokenStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TokenStep")
            .field(&self.0.as_ref().map(|_| "provider"))
            .finish()
    }
}

impl PreConnect for TokenStep {
    type Setup = Option<Secret>;
    fn run(&self) -> BoxFuture<'_, Result<Option<Secret>, ConnectError>> {
        Box::pin(async move {
            match &self.0 {
                None => Ok(None),
                Some(p) => p.token().await.map(Some).map_err(|e| {
                    ConnectError::retryable(
                        ConnectStage::PreConnect,
                        format!("websocket token: {e}"),
                    )
                }),
            }
        })
    }
}

/// Settings; the defaults follow the seed and WhiteBIT's docs.
#[derive(Debug, Clone)]
pub struct WhiteBitConfig {
    /// Endpoint. Default [`URL`].
    pub url: String,
    /// Ping after this much send silence. Default 50 s (the seed's advice
    /// against the 60 s inactivity close).
    pub ping_interval: Duration,
    /// Link dead when a ping gets no answer (nor any frame) this fast.
    /// Default 10 s (the docs' advice).
    pub pong_within: Duration,
    /// Wait for the `authorize` answer. Default 10 s (assumption).
    pub authorize_timeout: Duration,
    /// `authorize`'s second parameter: the seed shows `""`, the docs
    /// `"public"`. Default `""` (the seed).
    pub authorize_source: String,
    /// Requests per window per connection. Default 200 (seed and docs).
    pub rate_limit: usize,
    /// The rate window. Default 60 s.
    pub rate_window: Duration,
    /// Of the budget, this many are kept for `authorize` and pings, which
    /// are never delayed. Default 2.
    pub rate_reserve: usize,
    /// Shortest pause after a code 7 answer (the pause also lasts until
    /// the oldest request of the window has aged out). Default 5 s
    /// (assumption).
    pub rate_limit_cooldown: Duration,
}

impl Default for WhiteBitConfig {
    fn default() -> Self {
        WhiteBitConfig {
            url: URL.to_owned(),
            ping_interval: Duration::from_secs(50),
            pong_within: Duration::from_secs(10),
            authorize_timeout: Duration::from_secs(10),
            authorize_source: String::new(),
            rate_limit: 200,
            rate_window: Duration::from_secs(60),
            rate_reserve: 2,
            rate_limit_cooldown: Duration::from_secs(5),
        }
    }
}

/// The documented error codes (1–5 in the seed, 6–7 in the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 1: invalid argument (also a stale token on `authorize`).
    InvalidArgument,
    /// 2: internal error.
    InternalError,
    /// 3: service unavailable.
    ServiceUnavailable,
    /// 4: method not found.
    MethodNotFound,
    /// 5: service timeout.
    ServiceTimeout,
    /// 6: a private method before `authorize`.
    RequireAuthentication,
    /// 7: more than 200 requests a minute on this connection.
    TooManyRequests,
    /// Any other code.
    Other(i64),
}

impl ErrorCode {
    /// The code from its number.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => ErrorCode::InvalidArgument,
            2 => ErrorCode::InternalError,
            3 => ErrorCode::ServiceUnavailable,
            4 => ErrorCode::MethodNotFound,
            5 => ErrorCode::ServiceTimeout,
            6 => ErrorCode::RequireAuthentication,
            7 => ErrorCode::TooManyRequests,
            n => ErrorCode::Other(n),
        }
    }

    /// The number on the wire.
    pub fn code(self) -> i64 {
        match self {
            ErrorCode::InvalidArgument => 1,
            ErrorCode::InternalError => 2,
            ErrorCode::ServiceUnavailable => 3,
            ErrorCode::MethodNotFound => 4,
            ErrorCode::ServiceTimeout => 5,
            ErrorCode::RequireAuthentication => 6,
            ErrorCode::TooManyRequests => 7,
            ErrorCode::Other(n) => n,
        }
    }
}

/// A refused or undecodable request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhiteBitError {
    /// The server's `error` object.
    Rpc {
        /// Its code.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
    /// The answer came but did not decode as the method's result (the
    /// request did execute).
    Decode(String),
    /// The request could not be written (nothing was sent).
    Invalid(String),
}

impl fmt::Display for WhiteBitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WhiteBitError::Rpc { code, message } => {
                write!(f, "WhiteBIT error {} ({code:?}): {message}", code.code())
            }
            WhiteBitError::Decode(e) => write!(f, "undecodable WhiteBIT answer: {e}"),
            WhiteBitError::Invalid(e) => write!(f, "invalid WhiteBIT request: {e}"),
        }
    }
}

impl std::error::Error for WhiteBitError {}

/// A subscription channel. The seed's channels are typed; any other of the
/// docs' catalogue passes through as [`Channel::Other`] with raw updates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// `balanceSpot_*` (private): keyed by asset.
    BalanceSpot,
    /// `ordersPending_*` (private): keyed by market.
    OrdersPending,
    /// `lastprice_*` (public): keyed by market.
    LastPrice,
    /// Another `<name>_subscribe` channel taking a flat list of keys
    /// (`market`, `marketToday`, `trades`, `balanceMargin` …).
    Other(String),
    /// Not a wire channel: unknown update methods and updates nobody
    /// subscribed to land here.
    Unrouted,
}

impl Channel {
    /// The method prefix.
    pub fn wire(&self) -> &str {
        match self {
            Channel::BalanceSpot => "balanceSpot",
            Channel::OrdersPending => "ordersPending",
            Channel::LastPrice => "lastprice",
            Channel::Other(name) => name,
            Channel::Unrouted => "",
        }
    }

    fn from_wire(name: &str) -> Channel {
        match name {
            "balanceSpot" => Channel::BalanceSpot,
            "ordersPending" => Channel::OrdersPending,
            "lastprice" => Channel::LastPrice,
            other => Channel::Other(other.to_owned()),
        }
    }
}

/// A subscription: a channel and one key (asset or market).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic {
    /// The channel.
    pub channel: Channel,
    /// The asset or market.
    pub key: String,
}

impl Topic {
    /// Spot balance of `asset` (needs a token).
    pub fn balance_spot(asset: impl Into<String>) -> Self {
        Topic {
            channel: Channel::BalanceSpot,
            key: asset.into(),
        }
    }
    /// Pending orders of `market` (needs a token).
    pub fn orders_pending(market: impl Into<String>) -> Self {
        Topic {
            channel: Channel::OrdersPending,
            key: market.into(),
        }
    }
    /// Last price of `market`.
    pub fn last_price(market: impl Into<String>) -> Self {
        Topic {
            channel: Channel::LastPrice,
            key: market.into(),
        }
    }
    /// Any other channel, with raw updates.
    pub fn other(channel: impl Into<String>, key: impl Into<String>) -> Self {
        Topic {
            channel: Channel::from_wire(&channel.into()),
            key: key.into(),
        }
    }
    /// Unknown and unrouted updates.
    pub fn unrouted() -> Self {
        Topic {
            channel: Channel::Unrouted,
            key: String::new(),
        }
    }
}

/// A spot balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Available.
    #[serde(with = "codec")]
    pub available: Decimal,
    /// Frozen (in orders).
    #[serde(with = "codec")]
    pub freeze: Decimal,
}

/// An order as `ordersPending` reports it (fields the docs list; unknown
/// fields are ignored, missing ones `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Order id (exact text).
    #[serde(deserialize_with = "codec::id::deserialize")]
    pub id: String,
    /// Market.
    pub market: String,
    /// Order type id (1 limit, 2 market, 202 market stock, 3 stop limit …).
    #[serde(
        rename = "type",
        default,
        deserialize_with = "codec::opt_int::deserialize"
    )]
    pub order_type: Option<i64>,
    /// 1 sell, 2 buy (the docs' numbering); kept as sent.
    #[serde(default, deserialize_with = "codec::opt_id::deserialize")]
    pub side: Option<String>,
    /// Created, unix seconds with fraction (exact).
    #[serde(default, with = "codec::opt")]
    pub ctime: Option<Decimal>,
    /// Modified, unix seconds with fraction (exact).
    #[serde(default, with = "codec::opt")]
    pub mtime: Option<Decimal>,
    /// Price.
    #[serde(default, with = "codec::opt")]
    pub price: Option<Decimal>,
    /// Amount.
    #[serde(default, with = "codec::opt")]
    pub amount: Option<Decimal>,
    /// Amount left.
    #[serde(default, with = "codec::opt")]
    pub left: Option<Decimal>,
    /// Filled, in stock.
    #[serde(default, with = "codec::opt")]
    pub deal_stock: Option<Decimal>,
    /// Filled, in money.
    #[serde(default, with = "codec::opt")]
    pub deal_money: Option<Decimal>,
    /// Fee paid.
    #[serde(default, with = "codec::opt")]
    pub deal_fee: Option<Decimal>,
    /// The caller's id.
    #[serde(default)]
    pub client_order_id: Option<String>,
}

/// `ordersPending_update`'s event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// 1.
    New,
    /// 2.
    Update,
    /// 3: filled or cancelled.
    Finished,
    /// Another number.
    Other(i64),
}

/// One pushed update.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `balanceSpot_update`, one per asset.
    BalanceSpot {
        /// The asset.
        asset: String,
        /// Its balance.
        #[serde(flatten)]
        balance: Balance,
    },
    /// `ordersPending_update`.
    OrderPending {
        /// What happened.
        kind: OrderEvent,
        /// The order (boxed: the largest variant by far).
        order: Box<Order>,
    },
    /// `lastprice_update`.
    LastPrice {
        /// The market.
        market: String,
        /// The price.
        #[serde(with = "codec")]
        price: Decimal,
    },
    /// Any other update, raw.
    Raw {
        /// The method.
        method: String,
        /// Its `params`, exactly as received.
        params: RawJson,
    },
}

/// A query.
#[derive(Debug, Clone)]
pub enum Request {
    /// `ping`.
    Ping,
    /// `time`.
    Time,
    /// `balanceSpot_request [assets…]` (private).
    BalanceSpot {
        /// Assets; empty for all.
        assets: Vec<String>,
    },
    /// `ordersPending_request [market, offset, limit]` (private).
    OrdersPending {
        /// Market.
        market: String,
        /// Offset.
        offset: u32,
        /// Limit.
        limit: u32,
    },
    /// `lastprice_request [market]`.
    LastPrice {
        /// Market.
        market: String,
    },
    /// Any other method; params must be a JSON array.
    Raw {
        /// Method.
        method: String,
        /// Params.
        params: RawJson,
    },
}

/// A query's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// `ping` → `"pong"`.
    Pong,
    /// `time` → unix seconds.
    Time(i64),
    /// `balanceSpot_request`, by asset.
    BalanceSpot(BTreeMap<String, Balance>),
    /// `ordersPending_request`.
    OrdersPending {
        /// Total orders.
        total: Option<i64>,
        /// This page.
        records: Vec<Order>,
    },
    /// `lastprice_request`.
    LastPrice(#[serde(with = "codec")] Decimal),
    /// Any other method's result, raw.
    Raw(RawJson),
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Ping,
    Time,
    BalanceSpot,
    OrdersPending,
    LastPrice,
    Raw,
}

#[derive(Debug)]
struct SubWrite {
    channel: Channel,
    keys: Vec<String>,
    frame: String,
}

/// Client-side request budget of one connection.
#[derive(Debug, Default)]
struct Limiter {
    sent: VecDeque<Instant>,
    queue: VecDeque<String>,
    paused_until: Option<Instant>,
}

/// The WhiteBIT protocol for session-core.
#[derive(Debug)]
pub struct WhiteBit {
    config: WhiteBitConfig,
    token: Option<Secret>,
    authorize_id: Option<u64>,
    auth_failures: u32,
    pings: BTreeSet<u64>,
    requests: HashMap<u64, Kind>,
    sub_writes: HashMap<u64, SubWrite>,
    limiter: Limiter,
}

impl WhiteBit {
    /// The protocol with these settings.
    pub fn new(config: WhiteBitConfig) -> Self {
        WhiteBit {
            config,
            token: None,
            authorize_id: None,
            auth_failures: 0,
            pings: BTreeSet::new(),
            requests: HashMap::new(),
            sub_writes: HashMap::new(),
            limiter: Limiter::default(),
        }
    }

    fn budget(&self) -> usize {
        self.config
            .rate_limit
            .saturating_sub(self.config.rate_reserve)
            .max(1)
    }

    fn prune(&mut self, now: Instant) {
        while self
            .limiter
            .sent
            .front()
            .is_some_and(|t| *t + self.config.rate_window <= now)
        {
            self.limiter.sent.pop_front();
        }
    }

    fn can_send(&mut self, now: Instant) -> bool {
        self.prune(now);
        self.limiter.paused_until.is_none_or(|p| p <= now)
            && self.limiter.sent.len() < self.budget()
    }

    /// Counted, never delayed (authorize, pings).
    fn send_now(&mut self, text: String, cx: &mut Cx<'_, Self>) {
        self.limiter.sent.push_back(cx.now());
        cx.send(Frame::text(text));
    }

    /// Within the budget, or queued.
    fn send_limited(&mut self, text: String, cx: &mut Cx<'_, Self>) {
        if self.limiter.queue.is_empty() && self.can_send(cx.now()) {
            self.send_now(text, cx);
        } else {
            self.limiter.queue.push_back(text);
        }
    }

    fn flush(&mut self, cx: &mut Cx<'_, Self>) {
        while !self.limiter.queue.is_empty() && self.can_send(cx.now()) {
            if let Some(text) = self.limiter.queue.pop_front() {
                self.send_now(text, cx);
            }
        }
    }

    /// The venue said code 7: hold everything until the oldest request of
    /// this connection's window has aged out (the venue counts refused
    /// requests too, so a short fixed pause could be refused forever), and
    /// at least the configured cooldown.
    fn back_off(&mut self, now: Instant) {
        let cooldown = now + self.config.rate_limit_cooldown;
        let frees = self
            .limiter
            .sent
            .front()
            .map(|t| *t + self.config.rate_window);
        self.limiter.paused_until = Some(frees.map_or(cooldown, |f| f.max(cooldown)));
    }

    /// Requests waiting for the rate window (for tests and metrics).
    pub fn queued_for_rate_limit(&self) -> usize {
        self.limiter.queue.len()
    }

    fn write_subscribe(&mut self, channel: &Channel, cx: &mut Cx<'_, Self>) {
        if *channel == Channel::Unrouted {
            return;
        }
        let mut keys: Vec<String> = cx
            .desired()
            .filter(|t| t.channel == *channel)
            .map(|t| t.key.clone())
            .collect();
        keys.sort();
        let id = cx.next_id();
        let method = if keys.is_empty() {
            format!("{}_unsubscribe", channel.wire())
        } else {
            format!("{}_subscribe", channel.wire())
        };
        let frame = rpc(
            id,
            &method,
            &serde_json::to_string(&keys).unwrap_or_default(),
        );
        self.sub_writes.insert(
            id,
            SubWrite {
                channel: channel.clone(),
                keys,
                frame: frame.clone(),
            },
        );
        self.send_limited(frame, cx);
    }

    fn on_answer(&mut self, id: u64, env: &Envelope<'_>, cx: &mut Cx<'_, Self>) {
        let error = env
            .error
            .and_then(|e| serde_json::from_str::<RpcError>(e.get()).ok());
        if self.pings.remove(&id) {
            return;
        }
        if self.authorize_id == Some(id) {
            self.authorize_id = None;
            #[derive(Deserialize)]
            struct Status {
                status: String,
            }
            let ok = error.is_none()
                && env
                    .result
                    .and_then(|r| serde_json::from_str::<Status>(r.get()).ok())
                    .is_some_and(|s| s.status == "success");
            if ok {
                self.auth_failures = 0;
                cx.step_complete();
            } else {
                self.auth_failures += 1;
                let what = error.map_or_else(|| "not a success".to_owned(), |e| e.to_string());
                // One retry with a fresh token, then stop rather than loop.
                let retry = if self.auth_failures >= 2 {
                    Retry::Never
                } else {
                    Retry::Policy
                };
                cx.step_failed(format!("authorize refused: {what}"), retry);
            }
            return;
        }
        if let Some(write) = self.sub_writes.remove(&id) {
            if let Some(e) = error {
                if ErrorCode::from_code(e.code) == ErrorCode::TooManyRequests {
                    self.back_off(cx.now());
                    // Sent again after the pause, under a new id: ids are never reused.
                    let new_id = cx.next_id();
                    let frame = write.frame.replacen(
                        &format!(r#"{{"id":{id},"#),
                        &format!(r#"{{"id":{new_id},"#),
                        1,
                    );
                    self.limiter.queue.push_front(frame.clone());
                    self.sub_writes.insert(new_id, SubWrite { frame, ..write });
                    return;
                }
                let reason = e.to_string();
                for key in write.keys {
                    let topic = Topic {
                        channel: write.channel.clone(),
                        key,
                    };
                    cx.reject_subscription(&topic, reason.clone());
                }
            }
            return;
        }
        let kind = self.requests.remove(&id);
        let result = match (error, kind) {
            (Some(e), _) => {
                let code = ErrorCode::from_code(e.code);
                if code == ErrorCode::TooManyRequests {
                    self.back_off(cx.now());
                }
                Err(WhiteBitError::Rpc {
                    code,
                    message: e.message,
                })
            }
            (None, Some(kind)) => decode_result(kind, env.result),
            (None, None) => Err(WhiteBitError::Decode("unexpected answer".into())),
        };
        cx.reply(&id, result);
    }

    fn on_update(&mut self, method: &str, params: Option<&RawValue>, cx: &mut Cx<'_, Self>) {
        let raw_params = params.map_or("[]", RawValue::get);
        let channel = method.strip_suffix("_update").map(Channel::from_wire);
        let decoded: Result<Vec<(Topic, Event)>, String> = match &channel {
            Some(Channel::BalanceSpot) => decode_balance_update(raw_params),
            Some(Channel::OrdersPending) => decode_order_update(raw_params),
            Some(Channel::LastPrice) => decode_lastprice_update(raw_params),
            _ => Ok(Vec::new()),
        };
        match decoded {
            Err(e) => cx.malformed(raw_params, format!("{method}: {e}")),
            Ok(items) if !items.is_empty() => {
                for (topic, event) in items {
                    route(cx, &topic, event);
                }
            }
            Ok(_) => {
                let Ok(params) = RawJson::from_text(raw_params) else {
                    return cx.malformed(raw_params, format!("{method}: params are not JSON"));
                };
                let event = Event::Raw {
                    method: method.to_owned(),
                    params,
                };
                // Another channel: to the topic named by params[0] when it
                // is a key, else to every topic of the channel.
                let first = serde_json::from_str::<(String,)>(raw_params)
                    .ok()
                    .or_else(|| {
                        serde_json::from_str::<Vec<Box<RawValue>>>(raw_params)
                            .ok()
                            .and_then(|v| {
                                v.first()
                                    .and_then(|f| serde_json::from_str::<String>(f.get()).ok())
                            })
                            .map(|s| (s,))
                    })
                    .map(|(s,)| s);
                let targets: Vec<Topic> = match &channel {
                    Some(ch) => cx
                        .desired()
                        .filter(|t| t.channel == *ch && first.as_ref().is_none_or(|f| *f == t.key))
                        .cloned()
                        .collect(),
                    None => Vec::new(),
                };
                if targets.is_empty() {
                    cx.deliver(&Topic::unrouted(), event);
                } else {
                    for t in targets {
                        cx.deliver(&t, event.clone());
                    }
                }
            }
        }
    }
}

fn route(cx: &mut Cx<'_, WhiteBit>, topic: &Topic, event: Event) {
    if cx.desired().any(|t| t == topic) {
        cx.deliver(topic, event);
    } else {
        cx.deliver(&Topic::unrouted(), event);
    }
}

#[derive(Deserialize)]
struct RpcError {
    code: i64,
    #[serde(default)]
    message: String,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code {}: {}", self.code, self.message)
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

fn rpc(id: u64, method: &str, params_json: &str) -> String {
    let method = serde_json::to_string(method).unwrap_or_default();
    format!(r#"{{"id":{id},"method":{method},"params":{params_json}}}"#)
}

fn decode_result(kind: Kind, result: Option<&RawValue>) -> Result<Response, WhiteBitError> {
    let text = result.map_or("null", RawValue::get);
    let de = |e: hercle_models::DecodeError| WhiteBitError::Decode(e.to_string());
    Ok(match kind {
        Kind::Ping => Response::Pong,
        Kind::Time => {
            #[derive(Deserialize)]
            struct T(#[serde(deserialize_with = "codec::opt_int::deserialize")] Option<i64>);
            let T(t) = hercle_models::decode_str(text).map_err(de)?;
            Response::Time(t.ok_or_else(|| WhiteBitError::Decode("null time".into()))?)
        }
        Kind::BalanceSpot => Response::BalanceSpot(hercle_models::decode_str(text).map_err(de)?),
        Kind::OrdersPending => {
            #[derive(Deserialize)]
            struct Page {
                #[serde(default, deserialize_with = "codec::opt_int::deserialize")]
                total: Option<i64>,
                #[serde(default)]
                records: Vec<Order>,
            }
            let p: Page = hercle_models::decode_str(text).map_err(de)?;
            Response::OrdersPending {
                total: p.total,
                records: p.records,
            }
        }
        Kind::LastPrice => {
            #[derive(Deserialize)]
            struct P(#[serde(with = "codec")] Decimal);
            let P(p) = hercle_models::decode_str(text).map_err(de)?;
            Response::LastPrice(p)
        }
        Kind::Raw => Response::Raw(RawJson::from_text(text).map_err(de)?),
    })
}

fn decode_balance_update(params: &str) -> Result<Vec<(Topic, Event)>, String> {
    let items: Vec<BTreeMap<String, Balance>> =
        hercle_models::decode_str(params).map_err(|e| e.to_string())?;
    Ok(items
        .into_iter()
        .flatten()
        .map(|(asset, balance)| {
            (
                Topic::balance_spot(asset.clone()),
                Event::BalanceSpot { asset, balance },
            )
        })
        .collect())
}

fn decode_order_update(params: &str) -> Result<Vec<(Topic, Event)>, String> {
    let (kind, order): (i64, Order) =
        hercle_models::decode_str(params).map_err(|e| e.to_string())?;
    let kind = match kind {
        1 => OrderEvent::New,
        2 => OrderEvent::Update,
        3 => OrderEvent::Finished,
        n => OrderEvent::Other(n),
    };
    Ok(vec![(
        Topic::orders_pending(order.market.clone()),
        Event::OrderPending {
            kind,
            order: Box::new(order),
        },
    )])
}

fn decode_lastprice_update(params: &str) -> Result<Vec<(Topic, Event)>, String> {
    #[derive(Deserialize)]
    struct P(String, #[serde(with = "codec")] Decimal);
    let P(market, price) = hercle_models::decode_str(params).map_err(|e| e.to_string())?;
    Ok(vec![(
        Topic::last_price(market.clone()),
        Event::LastPrice { market, price },
    )])
}

impl Protocol for WhiteBit {
    type Setup = Option<Secret>;
    type Request = Request;
    type Response = Response;
    type Error = WhiteBitError;
    type Key = u64;
    type Topic = Topic;
    type Event = Event;

    fn on_open(&mut self, setup: &Option<Secret>) {
        self.token = setup.clone();
        self.authorize_id = None;
        self.pings.clear();
        self.requests.clear();
        self.sub_writes.clear();
        self.limiter = Limiter::default();
    }

    fn establish(&mut self, step: usize, cx: &mut Cx<'_, Self>) -> Option<Step> {
        if step > 0 {
            return None;
        }
        let token = self.token.clone()?;
        let id = cx.next_id();
        self.authorize_id = Some(id);
        let params =
            serde_json::to_string(&[token.expose(), self.config.authorize_source.as_str()])
                .unwrap_or_default();
        self.send_now(rpc(id, "authorize", &params), cx);
        Some(Step::awaiting("authorize", self.config.authorize_timeout))
    }

    fn keep_alive(&self) -> Option<KeepAlive> {
        Some(KeepAlive {
            interval: self.config.ping_interval,
            mode: KeepAliveMode::SendIdle,
            reply_within: Some(self.config.pong_within),
        })
    }

    fn send_keep_alive(&mut self, cx: &mut Cx<'_, Self>) {
        let id = cx.next_id();
        self.pings.insert(id);
        self.send_now(rpc(id, "ping", "[]"), cx);
    }

    fn on_frame(&mut self, frame: Frame, cx: &mut Cx<'_, Self>) {
        let text = String::from_utf8_lossy(frame.payload());
        let env: Envelope<'_> = match serde_json::from_str(&text) {
            Ok(env) => env,
            Err(e) => return cx.malformed(text.as_ref(), format!("not a WhiteBIT message: {e}")),
        };
        match (env.id, env.method.as_deref()) {
            (Some(id), _)
                if env.result.is_some() || env.error.is_some() || env.method.is_none() =>
            {
                self.on_answer(id, &env, cx);
            }
            (_, Some(method)) => {
                let method = method.to_owned();
                self.on_update(&method, env.params, cx);
            }
            _ => cx.malformed(text.as_ref(), "neither an answer nor an update"),
        }
    }

    fn send_request(
        &mut self,
        request: Request,
        cx: &mut Cx<'_, Self>,
    ) -> Result<Sent<u64, Response>, WhiteBitError> {
        if let Request::Raw { params, .. } = &request
            && !params.get().trim_start().starts_with('[')
        {
            return Err(WhiteBitError::Invalid("params must be a JSON array".into()));
        }
        let id = cx.next_id();
        let (kind, method, params): (Kind, String, String) = match &request {
            Request::Ping => (Kind::Ping, "ping".into(), "[]".into()),
            Request::Time => (Kind::Time, "time".into(), "[]".into()),
            Request::BalanceSpot { assets } => {
                (Kind::BalanceSpot, "balanceSpot_request".into(), js(assets))
            }
            Request::OrdersPending {
                market,
                offset,
                limit,
            } => (
                Kind::OrdersPending,
                "ordersPending_request".into(),
                format!("[{},{offset},{limit}]", js(market)),
            ),
            Request::LastPrice { market } => (
                Kind::LastPrice,
                "lastprice_request".into(),
                format!("[{}]", js(market)),
            ),
            Request::Raw { method, params } => (Kind::Raw, method.clone(), params.get().to_owned()),
        };
        self.requests.insert(id, kind);
        self.send_limited(rpc(id, &method, &params), cx);
        Ok(Sent::Awaiting(id))
    }

    fn subscribe(&mut self, topic: &Topic, cx: &mut Cx<'_, Self>) {
        self.write_subscribe(&topic.channel, cx);
    }

    fn unsubscribe(&mut self, topic: &Topic, cx: &mut Cx<'_, Self>) {
        self.write_subscribe(&topic.channel, cx);
    }

    fn resubscribe(&mut self, topics: &[Topic], cx: &mut Cx<'_, Self>) {
        let channels: BTreeSet<Channel> = topics.iter().map(|t| t.channel.clone()).collect();
        for channel in channels {
            self.write_subscribe(&channel, cx);
        }
    }

    fn poll_timer(&self) -> Option<Instant> {
        if self.limiter.queue.is_empty() {
            return None;
        }
        let window_frees = if self.limiter.sent.len() >= self.budget() {
            self.limiter
                .sent
                .front()
                .map(|t| *t + self.config.rate_window)
        } else {
            None
        };
        match (window_frees, self.limiter.paused_until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
        // Queued but nothing blocks: flush on the next wake-up.
        .or_else(|| self.limiter.sent.back().copied())
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, Self>) {
        self.flush(cx);
    }
}

fn js<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Start a WhiteBIT session: `tokens` is asked before every connection
/// (`None`: public channels only).
pub fn connect(
    config: WhiteBitConfig,
    tokens: Option<Arc<dyn TokenProvider>>,
    session: SessionConfig,
) -> (SessionHandle<WhiteBit>, Events) {
    let connector = WsConnector::new(config.url.clone(), Arc::new(TokenStep(tokens)));
    session_core::spawn(WhiteBit::new(config), connector, session)
}
