//! A Hibachi account stream: `Authorization` and `accountId` checked on
//! the upgrade, `stream.start`/`ping`/`stop` with a per-key expiry (10 s,
//! configurable) that emits `stream_expired` and stops delivery, refused
//! pings for a stale key (status 404 with an `error` string: an
//! assumption, the failure shape is undocumented), and the seed's example
//! events on demand.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::http::HeaderMap;

use super::{Action, Venue, lock};

/// The seed's "Events from Server" examples, `<accountId>` set to `128`.
pub const SEED_EVENTS: &str = include_str!("../../fixtures/hibachi_events.json");

/// What the test asks of connected clients.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// Every seed example event, in order, except `stream_expired` (which
    /// the venue sends when a key dies: see [`Cmd::Expire`]).
    SeedEvents,
    /// A `trade_update` for `symbol` with this price text.
    Trade {
        /// Symbol.
        symbol: String,
        /// Price (decimal text).
        price: String,
    },
    /// Expire the current key now.
    Expire,
}

/// Settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The account served.
    pub account_id: String,
    /// The accepted API key.
    pub api_key: String,
    /// Key lifetime without a ping. Default 10 s (the seed).
    pub expiry: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            account_id: "128".into(),
            api_key: "hibachi-key".into(),
            expiry: Duration::from_secs(10),
        }
    }
}

/// The simulated venue.
#[derive(Debug, Default)]
pub struct HibachiSim {
    config: Config,
    keys: AtomicU64,
    stops: AtomicU64,
    fail_pings: Mutex<u32>,
}

/// Per connection.
#[derive(Debug)]
pub struct Conn {
    key: Option<String>,
    expires: Option<Instant>,
}

impl HibachiSim {
    /// A venue with these settings.
    pub fn new(config: Config) -> Self {
        HibachiSim {
            config,
            ..HibachiSim::default()
        }
    }

    /// Streams started (listen keys issued).
    pub fn starts(&self) -> u64 {
        self.keys.load(Ordering::SeqCst)
    }

    /// `stream.stop` calls accepted.
    pub fn stops(&self) -> u64 {
        self.stops.load(Ordering::SeqCst)
    }

    /// Refuse the next `n` pings (status 500), whatever the key.
    pub fn fail_pings(&self, n: u32) {
        *lock(&self.fail_pings) = n;
    }

    fn event(&self, name: &str, data: Value) -> String {
        json!({"account": self.config.account_id, "event": name, "data": data}).to_string()
    }
}

impl Venue for HibachiSim {
    type Conn = Conn;
    type Cmd = Cmd;

    fn accept(&self, uri: &str, headers: &HeaderMap) -> Result<Conn, (u16, String)> {
        let key = headers.get("authorization").and_then(|v| v.to_str().ok());
        if key != Some(self.config.api_key.as_str()) {
            return Err((401, "invalid api key".into()));
        }
        let account = uri
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("accountId=")));
        if account != Some(self.config.account_id.as_str()) {
            return Err((403, "foreign account".into()));
        }
        Ok(Conn {
            key: None,
            expires: None,
        })
    }

    fn on_text(&self, conn: &mut Conn, text: &str, now: Instant, out: &mut Vec<Action>) {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            out.push(Action::Send(
                json!({"status": 400, "error": "invalid json"}).to_string(),
            ));
            return;
        };
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let key = msg.pointer("/params/listenKey").and_then(Value::as_str);
        let current = conn.key.as_deref().filter(|k| Some(*k) == key).is_some();
        let reply = match msg.get("method").and_then(Value::as_str) {
            Some("stream.start") => {
                let n = self.keys.fetch_add(1, Ordering::SeqCst) + 1;
                let key = format!("{}-k{n}", self.config.account_id);
                conn.key = Some(key.clone());
                conn.expires = Some(now + self.config.expiry);
                json!({"id": id, "status": 200, "result": {
                    "accountSnapshot": {"account_id": 128, "balance": "910.997790", "positions": [{
                        "direction": "Long", "entryNotional": "10.003168", "markPrice": "3917.478177",
                        "notionalValue": "10.000146", "openPrice": "3918.661809", "quantity": "0.002552700",
                        "symbol": "ETH/USDT-P", "unrealizedFundingPnl": "0.000000", "unrealizedTradingPnl": "-0.003021"}]},
                    "listenKey": key}})
            }
            Some("stream.ping") => {
                let mut fail = lock(&self.fail_pings);
                if *fail > 0 {
                    *fail -= 1;
                    json!({"id": id, "status": 500, "error": "internal"})
                } else if current {
                    conn.expires = Some(now + self.config.expiry);
                    json!({"id": id, "status": 200})
                } else {
                    json!({"id": id, "status": 404, "error": "listen key not found"})
                }
            }
            Some("stream.stop") if current => {
                self.stops.fetch_add(1, Ordering::SeqCst);
                conn.key = None;
                conn.expires = None;
                json!({"id": id, "status": 200})
            }
            _ => json!({"id": id, "status": 400, "error": "bad request"}),
        };
        out.push(Action::Send(reply.to_string()));
    }

    fn on_cmd(&self, conn: &mut Conn, cmd: &Cmd, now: Instant, out: &mut Vec<Action>) {
        if conn.key.is_none() {
            // No stream, no events.
            return;
        }
        match cmd {
            Cmd::SeedEvents => {
                if let Ok(Value::Array(events)) = serde_json::from_str::<Value>(SEED_EVENTS) {
                    out.extend(
                        events
                            .iter()
                            .filter(|e| e["event"] != "stream_expired")
                            .map(|e| Action::Send(e.to_string())),
                    );
                }
            }
            Cmd::Trade { symbol, price } => out.push(Action::Send(self.event("trade_update", json!({
                "isTaker": true, "orderId": "582871374158365696", "orderType": "Limit", "price": price,
                "quantity": "0.000421590", "realizedPnl": "0.022107", "side": "BID", "symbol": symbol,
                "timestamp": 1728526563})))),
            Cmd::Expire => {
                conn.expires = Some(now);
            }
        }
    }

    fn deadline(&self, conn: &Conn) -> Option<Instant> {
        conn.expires
    }

    fn on_deadline(&self, conn: &mut Conn, now: Instant, out: &mut Vec<Action>) {
        if conn.expires.is_some_and(|e| e <= now) {
            let key = conn.key.take().unwrap_or_default();
            conn.expires = None;
            out.push(Action::Send(
                json!({"event": "stream_expired", "account": self.config.account_id,
                       "params": {"listenKey": key, "timestampMs": 123_456_789}})
                .to_string(),
            ));
        }
    }
}
