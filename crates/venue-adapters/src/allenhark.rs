//! AllenHark (`wss://api.allenhark.com/v1/ws`): `type`-tagged JSON, no
//! request ids.
//!
//! - `auth` with the API key is the establish step. The docs give no
//!   acknowledgement, so by default it is written and the session is ready
//!   at once ([`AuthReply::Assume`]); [`AuthReply::Await`] waits for a named
//!   message type, and an `error` meanwhile fails the session.
//! - `subscribe`/`unsubscribe` per channel and key: `bot` + `botId`,
//!   `price` + `mint`, `transactions` + `wallet` ([`Topic`]); each replayed
//!   after a reconnect and re-auth.
//! - `ping` every 30 s ([`KeepAliveMode::Every`]); the link is dead if
//!   nothing (the `pong`) comes back within 10 s (an assumption).
//! - `bot_update`, `price_update`, `transaction_confirmed` and `error` are
//!   typed ([`Event`]); `pong` is consumed; anything else is
//!   [`Event::Unknown`] on [`Topic::Unrouted`].
//!
//! There are no request/response pairs in this API: a [`Request`] is a
//! message written as is, done once written.

use std::sync::Arc;
use std::time::Duration;

use hercle_models::{RawJson, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use session_core::{
    Cx, Events, Frame, KeepAlive, KeepAliveMode, Protocol, Retry, Sent, SessionConfig,
    SessionHandle, Step,
};

use crate::codec;
use crate::ws::{NoSetup, Secret, WsConnector};

/// The production endpoint.
pub const URL: &str = "wss://api.allenhark.com/v1/ws";

/// How the end of `auth` is recognised (undocumented).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthReply {
    /// No reply expected: ready once written (the default).
    Assume,
    /// Wait for a message whose `type` is one of these; an `error` first
    /// (or the timeout) fails the step.
    Await {
        /// Accepted types (e.g. `auth_success`, `authenticated`).
        success_types: Vec<String>,
        /// How long to wait.
        timeout: Duration,
    },
}

/// Settings.
#[derive(Debug, Clone)]
pub struct AllenHarkConfig {
    /// Endpoint. Default [`URL`].
    pub url: String,
    /// The API key.
    pub api_key: Secret,
    /// The auth acknowledgement. Default [`AuthReply::Assume`].
    pub auth: AuthReply,
    /// Ping interval. Default 30 s (the docs).
    pub ping_interval: Duration,
    /// A ping unanswered (no frame at all) this long drops the link.
    /// Default 10 s (assumption).
    pub pong_within: Duration,
}

impl AllenHarkConfig {
    /// Defaults with `api_key`.
    pub fn new(api_key: Secret) -> Self {
        AllenHarkConfig {
            url: URL.to_owned(),
            api_key,
            auth: AuthReply::Assume,
            ping_interval: Duration::from_secs(30),
            pong_within: Duration::from_secs(10),
        }
    }
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// `bot` channel, by `botId`.
    Bot(String),
    /// `price` channel, by token `mint`.
    Price(String),
    /// `transactions` channel, by `wallet`.
    Transactions(String),
    /// Not a channel: `error` messages that name no subscription, and
    /// unknown message types.
    Unrouted,
}

impl Topic {
    fn wire(&self) -> Option<(&'static str, &'static str, &str)> {
        match self {
            Topic::Bot(k) => Some(("bot", "botId", k)),
            Topic::Price(k) => Some(("price", "mint", k)),
            Topic::Transactions(k) => Some(("transactions", "wallet", k)),
            Topic::Unrouted => None,
        }
    }
}

/// A message written as is (no answer exists in this API).
#[derive(Debug, Clone)]
pub struct Request(pub RawJson);

/// The only failure a request can have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllenHarkError(pub String);

impl std::fmt::Display for AllenHarkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AllenHark: {}", self.0)
    }
}

impl std::error::Error for AllenHarkError {}

/// `bot_update`'s `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotData {
    /// Transaction signature.
    #[serde(default)]
    pub signature: Option<String>,
    /// Profit (a JSON number, read exactly).
    #[serde(default, with = "codec::opt")]
    pub profit: Option<Decimal>,
    /// ISO-8601, kept as sent.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
}

/// One message from the venue.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// `bot_update`.
    #[serde(rename_all = "camelCase")]
    BotUpdate {
        /// The bot.
        bot_id: String,
        /// What happened (`trade_executed` …).
        event: Option<String>,
        /// Details.
        data: Option<BotData>,
    },
    /// `price_update`.
    PriceUpdate {
        /// Token mint.
        mint: String,
        /// Price.
        #[serde(with = "codec::opt")]
        price: Option<Decimal>,
        /// Volume.
        #[serde(with = "codec::opt")]
        volume: Option<Decimal>,
        /// ISO-8601, kept as sent.
        timestamp: Option<Timestamp>,
    },
    /// `transaction_confirmed`.
    TransactionConfirmed {
        /// Signature.
        signature: Option<String>,
        /// `confirmed` …
        status: Option<String>,
        /// Slot.
        slot: Option<i64>,
        /// The wallet, if the venue names it (the docs' example does not).
        wallet: Option<String>,
    },
    /// `error` (fields undocumented: the common ones, plus the raw message).
    Error {
        /// `message`, if any.
        message: Option<String>,
        /// `code`, if any (string or number, as text).
        code: Option<String>,
        /// The whole message.
        raw: RawJson,
    },
    /// Any other type, raw.
    Unknown {
        /// Its `type`.
        name: String,
        /// The whole message.
        raw: RawJson,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    bot_id: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    data: Option<BotData>,
    #[serde(default)]
    mint: Option<String>,
    #[serde(default, with = "codec::opt")]
    price: Option<Decimal>,
    #[serde(default, with = "codec::opt")]
    volume: Option<Decimal>,
    #[serde(default)]
    timestamp: Option<Timestamp>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "codec::opt_int::deserialize")]
    slot: Option<i64>,
    #[serde(default)]
    wallet: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, deserialize_with = "codec::opt_id::deserialize")]
    code: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

/// The AllenHark protocol for session-core.
#[derive(Debug)]
pub struct AllenHark {
    config: AllenHarkConfig,
    authing: bool,
}

impl AllenHark {
    /// The protocol with these settings.
    pub fn new(config: AllenHarkConfig) -> Self {
        AllenHark {
            config,
            authing: false,
        }
    }

    fn write(&self, kind: &str, topic: &Topic, cx: &mut Cx<'_, Self>) {
        if let Some((channel, field, key)) = topic.wire() {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), kind.into());
            m.insert("channel".into(), channel.into());
            m.insert(field.into(), key.into());
            cx.send(Frame::text(serde_json::Value::Object(m).to_string()));
        }
    }

    fn topic_named(w: &Wire) -> Option<Topic> {
        match w.channel.as_deref()? {
            "bot" => w.bot_id.clone().map(Topic::Bot),
            "price" => w.mint.clone().map(Topic::Price),
            "transactions" => w.wallet.clone().map(Topic::Transactions),
            _ => None,
        }
    }
}

impl Protocol for AllenHark {
    type Setup = ();
    type Request = Request;
    type Response = ();
    type Error = AllenHarkError;
    type Key = u64;
    type Topic = Topic;
    type Event = Event;

    fn on_open(&mut self, _setup: &()) {
        self.authing = false;
    }

    fn establish(&mut self, step: usize, cx: &mut Cx<'_, Self>) -> Option<Step> {
        if step > 0 {
            return None;
        }
        let auth = serde_json::json!({"type": "auth", "apiKey": self.config.api_key.expose()});
        cx.send(Frame::text(auth.to_string()));
        match &self.config.auth {
            AuthReply::Assume => Some(Step::fire("auth")),
            AuthReply::Await { timeout, .. } => {
                self.authing = true;
                Some(Step::awaiting("auth", *timeout))
            }
        }
    }

    fn keep_alive(&self) -> Option<KeepAlive> {
        Some(KeepAlive {
            interval: self.config.ping_interval,
            mode: KeepAliveMode::Every,
            reply_within: Some(self.config.pong_within),
        })
    }

    fn send_keep_alive(&mut self, cx: &mut Cx<'_, Self>) {
        cx.send(Frame::text(r#"{"type":"ping"}"#));
    }

    fn on_frame(&mut self, frame: Frame, cx: &mut Cx<'_, Self>) {
        let text = String::from_utf8_lossy(frame.payload());
        let w: Wire = match hercle_models::decode_str(&text) {
            Ok(w) => w,
            Err(e) => return cx.malformed(text.as_ref(), format!("not an AllenHark message: {e}")),
        };
        let raw = || RawJson::from_text(text.as_ref());
        if self.authing {
            if let AuthReply::Await { success_types, .. } = &self.config.auth
                && success_types.contains(&w.kind)
            {
                self.authing = false;
                return cx.step_complete();
            }
            if w.kind == "error" {
                self.authing = false;
                let why = w.message.unwrap_or_else(|| "error".into());
                // A refused key will be refused again.
                return cx.step_failed(format!("auth refused: {why}"), Retry::Never);
            }
        }
        match w.kind.as_str() {
            "pong" => {}
            "bot_update" => {
                let Some(bot_id) = w.bot_id else {
                    return cx.malformed(text.as_ref(), "bot_update without botId");
                };
                let topic = Topic::Bot(bot_id.clone());
                cx.deliver(
                    &topic,
                    Event::BotUpdate {
                        bot_id,
                        event: w.event,
                        data: w.data,
                    },
                );
            }
            "price_update" => {
                let Some(mint) = w.mint else {
                    return cx.malformed(text.as_ref(), "price_update without mint");
                };
                let topic = Topic::Price(mint.clone());
                let event = Event::PriceUpdate {
                    mint,
                    price: w.price,
                    volume: w.volume,
                    timestamp: w.timestamp,
                };
                cx.deliver(&topic, event);
            }
            "transaction_confirmed" => {
                let event = Event::TransactionConfirmed {
                    signature: w.signature,
                    status: w.status,
                    slot: w.slot,
                    wallet: w.wallet.clone(),
                };
                let targets: Vec<Topic> = match w.wallet {
                    Some(wallet) => vec![Topic::Transactions(wallet)],
                    None => cx
                        .desired()
                        .filter(|t| matches!(t, Topic::Transactions(_)))
                        .cloned()
                        .collect(),
                };
                if targets.is_empty() {
                    cx.deliver(&Topic::Unrouted, event);
                } else {
                    for t in targets {
                        cx.deliver(&t, event.clone());
                    }
                }
            }
            "error" => {
                if let Some(topic) = Self::topic_named(&w)
                    && cx.desired().any(|t| *t == topic)
                {
                    let why = w.message.unwrap_or_else(|| "refused".into());
                    return cx.reject_subscription(&topic, why);
                }
                match raw() {
                    Ok(raw) => cx.deliver(
                        &Topic::Unrouted,
                        Event::Error {
                            message: w.message,
                            code: w.code,
                            raw,
                        },
                    ),
                    Err(e) => cx.malformed(text.as_ref(), e.to_string()),
                }
            }
            other => match raw() {
                Ok(raw) => cx.deliver(
                    &Topic::Unrouted,
                    Event::Unknown {
                        name: other.to_owned(),
                        raw,
                    },
                ),
                Err(e) => cx.malformed(text.as_ref(), e.to_string()),
            },
        }
    }

    fn send_request(
        &mut self,
        request: Request,
        cx: &mut Cx<'_, Self>,
    ) -> Result<Sent<u64, ()>, AllenHarkError> {
        if !request.0.get().trim_start().starts_with('{') {
            return Err(AllenHarkError("a message is a JSON object".into()));
        }
        cx.send(Frame::text(request.0.get()));
        Ok(Sent::Done(()))
    }

    fn subscribe(&mut self, topic: &Topic, cx: &mut Cx<'_, Self>) {
        self.write("subscribe", topic, cx);
    }

    fn unsubscribe(&mut self, topic: &Topic, cx: &mut Cx<'_, Self>) {
        self.write("unsubscribe", topic, cx);
    }
}

/// Start an AllenHark session.
pub fn connect(
    config: AllenHarkConfig,
    session: SessionConfig,
) -> (SessionHandle<AllenHark>, Events) {
    let connector = WsConnector::new(config.url.clone(), Arc::new(NoSetup));
    session_core::spawn(AllenHark::new(config), connector, session)
}
