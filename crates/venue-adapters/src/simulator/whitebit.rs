//! A WhiteBIT venue: JSON-RPC over one socket, single-use short-lived
//! tokens, code 6 before `authorize`, replace-per-channel subscriptions,
//! 200 requests per rolling minute (code 7), close after 60 s without a
//! client message, close on invalid JSON.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::http::HeaderMap;

use super::{Action, Venue, lock};
use crate::ws::Secret;

/// What the test asks of connected clients.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// `balanceSpot_update` for `asset` to its subscribers.
    Balance {
        /// Asset.
        asset: String,
        /// Available (decimal text).
        available: String,
        /// Frozen (decimal text).
        freeze: String,
    },
    /// `lastprice_update` to subscribers of `market`.
    LastPrice {
        /// Market.
        market: String,
        /// Price (decimal text).
        price: String,
    },
    /// `ordersPending_update` to subscribers of the order's market.
    Order {
        /// 1 new, 2 update, 3 finished.
        event: i64,
        /// Order id.
        id: u64,
        /// Market.
        market: String,
        /// Price text.
        price: String,
        /// Amount text.
        amount: String,
    },
}

/// Settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Token lifetime. Default 60 s.
    pub token_ttl: Duration,
    /// Close after this long without a client message. Default 60 s.
    pub inactivity: Duration,
    /// Requests per minute per connection. Default 200.
    pub rate_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token_ttl: Duration::from_secs(60),
            inactivity: Duration::from_secs(60),
            rate_limit: 200,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    tokens: HashMap<String, (Instant, bool)>,
    fail_next: HashMap<String, (i64, String)>,
    balances: BTreeMap<String, (String, String)>,
    prices: BTreeMap<String, String>,
}

/// The simulated venue.
#[derive(Debug, Default)]
pub struct WhiteBitSim {
    config: Config,
    state: Mutex<State>,
    issued: AtomicU64,
}

/// Per connection.
#[derive(Debug)]
pub struct Conn {
    authorized: bool,
    subs: HashMap<String, Vec<String>>,
    last_client: Instant,
    requests: VecDeque<Instant>,
}

const PRIVATE: &[&str] = &[
    "balanceSpot",
    "ordersPending",
    "balanceMargin",
    "ordersExecuted",
    "deals",
    "positionsMargin",
];

impl WhiteBitSim {
    /// A venue with these settings.
    pub fn new(config: Config) -> Self {
        let sim = WhiteBitSim {
            config,
            ..WhiteBitSim::default()
        };
        {
            let mut s = lock(&sim.state);
            s.balances
                .insert("USDT".into(), ("100.123456789".into(), "0".into()));
            s.balances
                .insert("BTC".into(), ("0.00000001".into(), "1.5".into()));
            s.prices.insert("BTC_USDT".into(), "68421.37".into());
        }
        sim
    }

    /// A fresh single-use token (what the REST token endpoint would give).
    pub fn issue_token(&self) -> Secret {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("wbt-{n}");
        lock(&self.state)
            .tokens
            .insert(token.clone(), (Instant::now(), false));
        Secret::new(token)
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.issued.load(Ordering::SeqCst)
    }

    /// Answer the next call of `method` with this error.
    pub fn fail_next(&self, method: &str, code: i64, message: &str) {
        lock(&self.state)
            .fail_next
            .insert(method.to_owned(), (code, message.to_owned()));
    }

    fn answer(
        &self,
        conn: &mut Conn,
        id: &Value,
        method: &str,
        params: &Value,
        now: Instant,
    ) -> Result<Value, (i64, &'static str)> {
        let mut st = lock(&self.state);
        if let Some((code, _)) = st.fail_next.remove(method) {
            return Err((code, leak_msg(code)));
        }
        conn.requests.retain(|t| *t + Duration::from_secs(60) > now);
        conn.requests.push_back(now);
        if conn.requests.len() > self.config.rate_limit {
            return Err((7, "too many requests"));
        }
        let _ = id;
        let channel = method.rsplit_once('_').map_or(method, |(c, _)| c);
        if PRIVATE.contains(&channel) && !conn.authorized {
            return Err((6, "require authentication"));
        }
        let list = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        match method {
            "ping" => Ok(json!("pong")),
            "time" => Ok(json!(1_700_000_000)),
            "authorize" => {
                let token = params.get(0).and_then(Value::as_str).unwrap_or_default();
                let ttl = self.config.token_ttl;
                match st.tokens.get_mut(token) {
                    Some((issued, used)) if !*used && *issued + ttl > now => {
                        *used = true;
                        conn.authorized = true;
                        Ok(json!({"status": "success"}))
                    }
                    _ => Err((1, "invalid argument")),
                }
            }
            "balanceSpot_request" => {
                let wanted = list(params);
                let out: serde_json::Map<String, Value> = st
                    .balances
                    .iter()
                    .filter(|(a, _)| wanted.is_empty() || wanted.contains(a))
                    .map(|(a, (av, fr))| (a.clone(), json!({"available": av, "freeze": fr})))
                    .collect();
                Ok(Value::Object(out))
            }
            "ordersPending_request" => {
                Ok(json!({"limit": 100, "offset": 0, "total": 1, "records": [
                {"id": 4986126152u64, "market": params.get(0).and_then(Value::as_str).unwrap_or("BTC_USDT"),
                 "type": 1, "side": 2, "ctime": 1693.123456, "mtime": 1693.123456, "price": "40000.00",
                 "amount": "0.001", "left": "0.001", "deal_stock": "0", "deal_money": "0", "deal_fee": "0",
                 "client_order_id": "c1"}]}))
            }
            "lastprice_request" => {
                let m = params.get(0).and_then(Value::as_str).unwrap_or_default();
                st.prices
                    .get(m)
                    .map(|p| json!(p))
                    .ok_or((1, "invalid argument"))
            }
            m if m.ends_with("_subscribe") => {
                conn.subs.insert(channel.to_owned(), list(params));
                Ok(json!({"status": "success"}))
            }
            m if m.ends_with("_unsubscribe") => {
                conn.subs.remove(channel);
                Ok(json!({"status": "success"}))
            }
            _ => Err((4, "method not found")),
        }
    }

    fn subscribed(conn: &Conn, channel: &str, key: &str) -> bool {
        conn.subs
            .get(channel)
            .is_some_and(|keys| keys.iter().any(|k| k == key))
    }
}

fn leak_msg(code: i64) -> &'static str {
    match code {
        1 => "invalid argument",
        2 => "internal error",
        3 => "service unavailable",
        4 => "method not found",
        5 => "service timeout",
        6 => "require authentication",
        7 => "too many requests",
        _ => "error",
    }
}

impl Venue for WhiteBitSim {
    type Conn = Conn;
    type Cmd = Cmd;

    fn accept(&self, _uri: &str, _headers: &HeaderMap) -> Result<Conn, (u16, String)> {
        Ok(Conn {
            authorized: false,
            subs: HashMap::new(),
            last_client: Instant::now(),
            requests: VecDeque::new(),
        })
    }

    fn on_text(&self, conn: &mut Conn, text: &str, now: Instant, out: &mut Vec<Action>) {
        conn.last_client = now;
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            // "WebSocket connection will be closed if invalid JSON was sent."
            out.push(Action::Close);
            return;
        };
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let method = msg
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let params = msg
            .get("params")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        let reply = match self.answer(conn, &id, method, &params, now) {
            Ok(result) => json!({"id": id, "result": result, "error": null}),
            Err((code, message)) => {
                json!({"id": id, "result": null, "error": {"code": code, "message": message}})
            }
        };
        out.push(Action::Send(reply.to_string()));
    }

    fn on_cmd(&self, conn: &mut Conn, cmd: &Cmd, _now: Instant, out: &mut Vec<Action>) {
        let push = |method: &str, params: Value| {
            json!({"id": null, "method": method, "params": params}).to_string()
        };
        match cmd {
            Cmd::Balance {
                asset,
                available,
                freeze,
            } if Self::subscribed(conn, "balanceSpot", asset) => {
                out.push(Action::Send(push(
                    "balanceSpot_update",
                    json!([{asset.as_str(): {"available": available, "freeze": freeze}}]),
                )));
            }
            Cmd::LastPrice { market, price } if Self::subscribed(conn, "lastprice", market) => {
                out.push(Action::Send(push(
                    "lastprice_update",
                    json!([market, price]),
                )));
            }
            Cmd::Order {
                event,
                id,
                market,
                price,
                amount,
            } if Self::subscribed(conn, "ordersPending", market) => {
                out.push(Action::Send(push("ordersPending_update", json!([event, {
                    "id": id, "market": market, "type": 1, "side": 2, "ctime": 1693.5, "mtime": 1693.5,
                    "price": price, "amount": amount, "left": amount, "deal_stock": "0", "deal_money": "0",
                    "deal_fee": "0", "client_order_id": ""}]))));
            }
            _ => {}
        }
    }

    fn deadline(&self, conn: &Conn) -> Option<Instant> {
        Some(conn.last_client + self.config.inactivity)
    }

    fn on_deadline(&self, conn: &mut Conn, now: Instant, out: &mut Vec<Action>) {
        if conn.last_client + self.config.inactivity <= now {
            out.push(Action::Close);
        }
    }
}
