//! An AllenHark venue, built on assumptions wherever the docs are silent
//! (each marked **assumption**): `auth` must come first; the answer to it
//! is configurable ([`AuthMode`]); `ping` is answered by `pong` with an
//! ISO timestamp; subscriptions are kept per connection by (channel, key)
//! and updates go only to matching subscribers; refused subscriptions get
//! an `error` naming the channel and key; idle clients are dropped after a
//! configurable time.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::http::HeaderMap;

use super::{Action, Venue, lock};

/// What the venue does with `auth` (**assumption**: undocumented).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Accept silently; a bad key gets an `error` and a close.
    Silent,
    /// Answer a good key with a message of this type; a bad key gets an
    /// `error` and a close.
    Ack(String),
}

/// What the test asks of connected clients.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// `bot_update` for a bot, with this profit (number text).
    Bot {
        /// Bot id.
        bot_id: String,
        /// Profit, JSON number text.
        profit: String,
    },
    /// `price_update` for a mint, with this price (number text).
    Price {
        /// Mint.
        mint: String,
        /// Price, JSON number text.
        price: String,
    },
    /// `transaction_confirmed` to subscribers of `wallet`.
    Confirmed {
        /// Wallet.
        wallet: String,
        /// Slot.
        slot: u64,
        /// Put a `wallet` field in the message (the docs' example has
        /// none: **assumption** that a real venue might).
        name_wallet: bool,
    },
}

/// Settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The accepted key.
    pub api_key: String,
    /// Auth behaviour.
    pub auth: AuthMode,
    /// Drop a client silent this long (**assumption**). Default 90 s.
    pub idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_key: "ah-key".into(),
            auth: AuthMode::Silent,
            idle_timeout: Duration::from_secs(90),
        }
    }
}

/// The simulated venue.
#[derive(Debug, Default)]
pub struct AllenHarkSim {
    config: Config,
    refuse: Mutex<HashSet<(String, String)>>,
}

/// Per connection.
#[derive(Debug)]
pub struct Conn {
    authed: bool,
    subs: HashSet<(String, String)>,
    last: Instant,
}

const KEY_FIELD: &[(&str, &str)] = &[
    ("bot", "botId"),
    ("price", "mint"),
    ("transactions", "wallet"),
];

impl AllenHarkSim {
    /// A venue with these settings.
    pub fn new(config: Config) -> Self {
        AllenHarkSim {
            config,
            refuse: Mutex::new(HashSet::new()),
        }
    }

    /// Refuse subscriptions to this channel and key.
    pub fn refuse(&self, channel: &str, key: &str) {
        lock(&self.refuse).insert((channel.to_owned(), key.to_owned()));
    }
}

impl Venue for AllenHarkSim {
    type Conn = Conn;
    type Cmd = Cmd;

    fn accept(&self, _uri: &str, _headers: &HeaderMap) -> Result<Conn, (u16, String)> {
        Ok(Conn {
            authed: false,
            subs: HashSet::new(),
            last: Instant::now(),
        })
    }

    fn on_text(&self, conn: &mut Conn, text: &str, now: Instant, out: &mut Vec<Action>) {
        conn.last = now;
        let error = |m: &str| Action::Send(json!({"type": "error", "message": m}).to_string());
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            out.push(error("invalid message"));
            return;
        };
        let kind = msg.get("type").and_then(Value::as_str).unwrap_or_default();
        if !conn.authed {
            if kind == "auth"
                && msg.get("apiKey").and_then(Value::as_str) == Some(self.config.api_key.as_str())
            {
                conn.authed = true;
                if let AuthMode::Ack(t) = &self.config.auth {
                    out.push(Action::Send(json!({"type": t}).to_string()));
                }
            } else {
                out.extend([error("unauthorized"), Action::Close]);
            }
            return;
        }
        match kind {
            "ping" => out.push(Action::Send(
                json!({"type": "pong", "timestamp": "2024-01-15T10:30:00Z"}).to_string(),
            )),
            "subscribe" | "unsubscribe" => {
                let channel = msg
                    .get("channel")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some((_, field)) = KEY_FIELD.iter().find(|(c, _)| *c == channel) else {
                    out.push(error("unknown channel"));
                    return;
                };
                let key = msg
                    .get(*field)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let pair = (channel.to_owned(), key.clone());
                if kind == "unsubscribe" {
                    conn.subs.remove(&pair);
                } else if lock(&self.refuse).contains(&pair) {
                    out.push(Action::Send(
                        json!({"type": "error", "message": "subscription refused", "channel": channel, *field: key}).to_string(),
                    ));
                } else {
                    conn.subs.insert(pair);
                }
            }
            _ => out.push(error("unknown type")),
        }
    }

    fn on_cmd(&self, conn: &mut Conn, cmd: &Cmd, _now: Instant, out: &mut Vec<Action>) {
        let has = |c: &str, k: &str| conn.subs.contains(&(c.to_owned(), k.to_owned()));
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        // Numbers are spliced in as text: the venue sends JSON numbers, and
        // building them through a float would change their digits.
        let text = match cmd {
            Cmd::Bot { bot_id, profit } if has("bot", bot_id) => format!(
                r#"{{"type":"bot_update","botId":{},"event":"trade_executed","data":{{"signature":"5VERv8","profit":{profit},"timestamp":"2024-01-15T10:30:00Z"}}}}"#,
                q(bot_id)
            ),
            Cmd::Price { mint, price } if has("price", mint) => format!(
                r#"{{"type":"price_update","mint":{},"price":{price},"volume":1000000,"timestamp":"2024-01-15T10:30:00Z"}}"#,
                q(mint)
            ),
            Cmd::Confirmed {
                wallet,
                slot,
                name_wallet,
            } if has("transactions", wallet) => {
                let w = if *name_wallet {
                    format!(r#","wallet":{}"#, q(wallet))
                } else {
                    String::new()
                };
                format!(
                    r#"{{"type":"transaction_confirmed","signature":"5VERv8","status":"confirmed","slot":{slot}{w}}}"#
                )
            }
            _ => return,
        };
        out.push(Action::Send(text));
    }

    fn deadline(&self, conn: &Conn) -> Option<Instant> {
        Some(conn.last + self.config.idle_timeout)
    }

    fn on_deadline(&self, conn: &mut Conn, now: Instant, out: &mut Vec<Action>) {
        if conn.last + self.config.idle_timeout <= now {
            out.push(Action::Close);
        }
    }
}
