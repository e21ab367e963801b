//! Hibachi account stream (`wss://api.hibachi.xyz/ws/account?accountId=…`,
//! `Authorization: <api key>` on the upgrade).
//!
//! - `stream.start` is the establish step; its answer's `listenKey` is kept
//!   for the connection and its `accountSnapshot` is delivered to
//!   [`Topic::Account`] after the gap marker of a restart.
//! - `stream.ping` with the key every 5 s ([`KeepAliveMode::Every`]: other
//!   traffic does not extend the key), well inside the 10 s expiry; an
//!   unanswered ping (5 s) or a refused one restarts the stream.
//! - `stream_expired` restarts the stream: a reconnect and a new
//!   `stream.start` (events are not replayed: subscribers get
//!   [`Update::Gap`](session_core::Update::Gap), then the new snapshot).
//! - `stream.stop` with the key when the session is closed.
//! - Every event of the seed is typed ([`EventKind`]), tolerating its
//!   inconsistencies: ids and quantities as strings or numbers, `params`
//!   instead of `data`, `sourceAccountId` instead of `account`, the
//!   prose's upper-case names. Unknown events arrive as
//!   [`EventKind::Unknown`] with the raw payload.
//!
//! Topics: [`Topic::Account`] (everything) and [`Topic::Symbol`] (the
//! events naming that symbol), so one stream can feed many consumers.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hercle_models::RawJson;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use session_core::{
    Cx, Events, Frame, KeepAlive, KeepAliveMode, Protocol, Retry, Sent, SessionConfig,
    SessionHandle, Step,
};

use crate::codec;
use crate::ws::{NoSetup, Secret, WsConnector};

/// The production endpoint (without the query).
pub const URL: &str = "wss://api.hibachi.xyz/ws/account";

/// Settings.
#[derive(Debug, Clone)]
pub struct HibachiConfig {
    /// Endpoint without the query; `?accountId=` is appended.
    pub url: String,
    /// The account.
    pub account_id: String,
    /// The API key, sent raw in `Authorization` (no "Bearer").
    pub api_key: Secret,
    /// `stream.ping` interval. Default 5 s (the key expires after 10 s).
    pub ping_interval: Duration,
    /// A ping unanswered this long restarts the stream. Default 5 s.
    pub pong_within: Duration,
    /// Wait for the `stream.start` answer. Default 10 s (assumption).
    pub start_timeout: Duration,
}

impl HibachiConfig {
    /// Defaults for `account_id` with `api_key`.
    pub fn new(account_id: impl Into<String>, api_key: Secret) -> Self {
        HibachiConfig {
            url: URL.to_owned(),
            account_id: account_id.into(),
            api_key,
            ping_interval: Duration::from_secs(5),
            pong_within: Duration::from_secs(5),
            start_timeout: Duration::from_secs(10),
        }
    }
}

/// What a subscription receives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every event and the snapshot of each (re)started stream.
    Account,
    /// Events naming this symbol (`ETH/USDT-P`).
    Symbol(String),
}

/// A request on the account socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// An extra `stream.ping` with the current key (answered `status 200`).
    Ping,
}

/// A refused request.
#[derive(Debug, Clone, PartialEq)]
pub enum HibachiError {
    /// A `status` other than 200 (the failure shape is not documented:
    /// `error` is kept raw when present).
    Status {
        /// The status.
        status: i64,
        /// The `error` field, raw.
        error: Option<RawJson>,
    },
    /// No stream is running (no listen key yet).
    NoStream,
}

impl fmt::Display for HibachiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HibachiError::Status { status, error } => {
                write!(f, "Hibachi status {status}")?;
                if let Some(e) = error {
                    write!(f, ": {}", e.get())?;
                }
                Ok(())
            }
            HibachiError::NoStream => f.write_str("no account stream running"),
        }
    }
}

impl std::error::Error for HibachiError {}

/// A position in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    /// Symbol.
    pub symbol: String,
    /// `Long`, `Short`, `Closed` …
    #[serde(default)]
    pub direction: Option<String>,
    /// Quantity.
    #[serde(default, with = "codec::opt")]
    pub quantity: Option<Decimal>,
    /// Entry notional.
    #[serde(default, with = "codec::opt")]
    pub entry_notional: Option<Decimal>,
    /// Mark price.
    #[serde(default, with = "codec::opt")]
    pub mark_price: Option<Decimal>,
    /// Notional value.
    #[serde(default, with = "codec::opt")]
    pub notional_value: Option<Decimal>,
    /// Open price.
    #[serde(default, with = "codec::opt")]
    pub open_price: Option<Decimal>,
    /// Unrealized funding PnL.
    #[serde(default, with = "codec::opt")]
    pub unrealized_funding_pnl: Option<Decimal>,
    /// Unrealized trading PnL.
    #[serde(default, with = "codec::opt")]
    pub unrealized_trading_pnl: Option<Decimal>,
}

/// `stream.start`'s `accountSnapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The account.
    #[serde(default, deserialize_with = "codec::opt_id::deserialize")]
    pub account_id: Option<String>,
    /// Balance.
    #[serde(default, with = "codec::opt")]
    pub balance: Option<Decimal>,
    /// Open positions.
    #[serde(default)]
    pub positions: Vec<Position>,
}

macro_rules! payload {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty => $how:tt),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde $how]
                pub $field: $ty,
            )*
        }
    };
}

payload!(
    /// `order_creation`, `order_update`, `order_cancellation`.
    OrderData {
        /// Order id (exact, above 2^53).
        order_id: Option<String> => (default, deserialize_with = "codec::opt_id::deserialize"),
        /// Symbol.
        symbol: Option<String> => (default),
        /// `BID` / `ASK`.
        side: Option<String> => (default),
        /// Price.
        price: Option<Decimal> => (default, with = "codec::opt"),
        /// Quantity.
        quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Executed so far (`executed_quantity` in the seed).
        #[serde(alias = "executed_quantity")]
        executed_quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Unix seconds.
        timestamp: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
        /// Microseconds.
        nonce: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
    }
);

payload!(
    /// `balance_update`: one of the three quantities is present.
    BalanceData {
        /// A deposit.
        deposit_quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// A withdrawal.
        withdraw_quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// The new collateral balance.
        updated_collateral_balance: Option<Decimal> => (default, with = "codec::opt"),
    }
);

payload!(
    /// `trade_update`.
    TradeData {
        /// Taker?
        is_taker: Option<bool> => (default),
        /// Order id (a string here).
        order_id: Option<String> => (default, deserialize_with = "codec::opt_id::deserialize"),
        /// `Limit` …
        order_type: Option<String> => (default),
        /// Price.
        price: Option<Decimal> => (default, with = "codec::opt"),
        /// Quantity.
        quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Realized PnL.
        realized_pnl: Option<Decimal> => (default, with = "codec::opt"),
        /// `BID` / `ASK`.
        side: Option<String> => (default),
        /// Symbol.
        symbol: Option<String> => (default),
        /// Unix seconds.
        timestamp: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
    }
);

/// `position_update`'s position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedPosition {
    /// `Long`, `Closed` …
    #[serde(default)]
    pub direction: Option<String>,
    /// Entry notional.
    #[serde(default, with = "codec::opt")]
    pub entry_notional: Option<Decimal>,
    /// Quantity.
    #[serde(default, with = "codec::opt")]
    pub quantity: Option<Decimal>,
}

/// `position_update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionData {
    /// Symbol.
    #[serde(default)]
    pub symbol: Option<String>,
    /// The position now.
    #[serde(default)]
    pub updated_position: Option<UpdatedPosition>,
}

payload!(
    /// `funding_settlement`.
    FundingData {
        /// Index price.
        index_price: Option<Decimal> => (default, with = "codec::opt"),
        /// Quantity.
        quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Settled amount.
        settled_amount: Option<Decimal> => (default, with = "codec::opt"),
        /// `Buy` / `Sell` (not BID/ASK here).
        side: Option<String> => (default),
        /// Symbol.
        symbol: Option<String> => (default),
        /// Unix seconds.
        timestamp: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
        /// Unrealized funding.
        unrealized_funding: Option<Decimal> => (default, with = "codec::opt"),
    }
);

payload!(
    /// `account_created`.
    AccountCreatedData {
        /// Ledger account.
        ledger_account_id: Option<String> => (default, deserialize_with = "codec::opt_id::deserialize"),
        /// Unix seconds.
        timestamp: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
    }
);

payload!(
    /// `deposit_status_update`, `withdraw_status_update`,
    /// `transfer_status_update`, `withdraw_rejection`.
    TransferData {
        /// Deposit quantity (a number in the seed).
        deposit_quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Withdrawal quantity (`withdraw_quantity` in `withdraw_rejection`).
        #[serde(alias = "withdraw_quantity")]
        withdraw_quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Transfer quantity.
        transfer_quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Deposit transaction.
        deposit_txn_hash: Option<String> => (default),
        /// Withdrawal address.
        withdraw_address: Option<String> => (default),
        /// Transfer destination.
        dest_account_public_key: Option<String> => (default),
        /// Instant withdrawal?
        is_instant_withdrawal: Option<bool> => (default),
        /// ETA, seconds.
        eta_ts_second: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
        /// `Processing`, `Accepted`, `Rejected`, `Succeeded` (kept as sent).
        status: Option<String> => (default),
        /// Note.
        note: Option<String> => (default),
        /// Unix seconds.
        timestamp: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
    }
);

payload!(
    /// `order_not_fully_matched`, `order_matched`, `trade_rejected`.
    MatchData {
        /// Order id (number or string).
        order_id: Option<String> => (default, deserialize_with = "codec::opt_id::deserialize"),
        /// Symbol.
        symbol: Option<String> => (default),
        /// `MarketOrder`, `LIMIT` … (casing varies; kept as sent).
        order_type: Option<String> => (default),
        /// Matched.
        matched_quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Remaining.
        remaining_quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Quantity (`trade_rejected`).
        quantity: Option<Decimal> => (default, with = "codec::opt"),
        /// Unix seconds.
        timestamp: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
        /// Microseconds.
        nonce: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
    }
);

payload!(
    /// `order_request_rejected`.
    RejectionData {
        /// Order id.
        order_id: Option<String> => (default, deserialize_with = "codec::opt_id::deserialize"),
        /// Why (`RiskLimitExceeded` …).
        error: Option<String> => (default),
        /// `New` / `Update`.
        request_type: Option<String> => (default),
    }
);

payload!(
    /// `stream_expired` (under `params`, not `data`).
    ExpiredData {
        /// The dead key.
        listen_key: Option<String> => (default),
        /// Milliseconds.
        timestamp_ms: Option<i64> => (default, deserialize_with = "codec::opt_int::deserialize"),
    }
);

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum EventKind {
    /// The snapshot of a (re)started stream.
    Snapshot(Snapshot),
    /// `order_creation` (`ORDER_CREATED`).
    OrderCreation(OrderData),
    /// `order_update` (`ORDER_UPDATED`).
    OrderUpdate(OrderData),
    /// `order_cancellation` (`ORDER_CANCELED`).
    OrderCancellation(OrderData),
    /// `balance_update`.
    BalanceUpdate(BalanceData),
    /// `trade_update`.
    TradeUpdate(TradeData),
    /// `position_update`.
    PositionUpdate(PositionData),
    /// `funding_settlement`.
    FundingSettlement(FundingData),
    /// `account_created`.
    AccountCreated(AccountCreatedData),
    /// `deposit_status_update`.
    DepositStatusUpdate(TransferData),
    /// `withdraw_status_update`.
    WithdrawStatusUpdate(TransferData),
    /// `transfer_status_update`.
    TransferStatusUpdate(TransferData),
    /// `withdraw_rejection`.
    WithdrawRejection(TransferData),
    /// `order_not_fully_matched`.
    OrderNotFullyMatched(MatchData),
    /// `order_matched`.
    OrderMatched(MatchData),
    /// `trade_rejected`.
    TradeRejected(MatchData),
    /// `order_request_rejected`.
    OrderRequestRejected(RejectionData),
    /// `stream_expired`: the stream restarts after it.
    StreamExpired(ExpiredData),
    /// Any other event, raw.
    Unknown {
        /// Its name.
        name: String,
        /// The whole message, exactly as received.
        raw: RawJson,
    },
}

/// One account event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// `account` (or `sourceAccountId`), string or number in the seed.
    pub account: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// The symbol the event names, if any.
    pub fn symbol(&self) -> Option<&str> {
        match &self.kind {
            EventKind::OrderCreation(d)
            | EventKind::OrderUpdate(d)
            | EventKind::OrderCancellation(d) => d.symbol.as_deref(),
            EventKind::TradeUpdate(d) => d.symbol.as_deref(),
            EventKind::PositionUpdate(d) => d.symbol.as_deref(),
            EventKind::FundingSettlement(d) => d.symbol.as_deref(),
            EventKind::OrderNotFullyMatched(d)
            | EventKind::OrderMatched(d)
            | EventKind::TradeRejected(d) => d.symbol.as_deref(),
            _ => None,
        }
    }
}

/// The seed's event names, with their status in this crate.
pub const EVENT_NAMES: &[&str] = &[
    "order_creation",
    "order_update",
    "order_cancellation",
    "balance_update",
    "trade_update",
    "position_update",
    "funding_settlement",
    "account_created",
    "deposit_status_update",
    "order_not_fully_matched",
    "order_request_rejected",
    "stream_expired",
    "transfer_status_update",
    "withdraw_rejection",
    "withdraw_status_update",
    "order_matched",
    "trade_rejected",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default, deserialize_with = "codec::opt_id::deserialize")]
    account: Option<String>,
    #[serde(default, deserialize_with = "codec::opt_id::deserialize")]
    source_account_id: Option<String>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "codec::opt_int::deserialize")]
    status: Option<i64>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

fn decode_kind(name: &str, payload: &str, whole: &str) -> Result<EventKind, String> {
    fn d<T: DeserializeOwned>(p: &str) -> Result<T, String> {
        hercle_models::decode_str(p).map_err(|e| e.to_string())
    }
    Ok(match name {
        "order_creation" | "ORDER_CREATED" => EventKind::OrderCreation(d(payload)?),
        "order_update" | "ORDER_UPDATED" => EventKind::OrderUpdate(d(payload)?),
        "order_cancellation" | "ORDER_CANCELED" | "ORDER_CANCELLED" => {
            EventKind::OrderCancellation(d(payload)?)
        }
        "balance_update" => EventKind::BalanceUpdate(d(payload)?),
        "trade_update" => EventKind::TradeUpdate(d(payload)?),
        "position_update" => EventKind::PositionUpdate(d(payload)?),
        "funding_settlement" => EventKind::FundingSettlement(d(payload)?),
        "account_created" => EventKind::AccountCreated(d(payload)?),
        "deposit_status_update" => EventKind::DepositStatusUpdate(d(payload)?),
        "withdraw_status_update" => EventKind::WithdrawStatusUpdate(d(payload)?),
        "transfer_status_update" => EventKind::TransferStatusUpdate(d(payload)?),
        "withdraw_rejection" => EventKind::WithdrawRejection(d(payload)?),
        "order_not_fully_matched" => EventKind::OrderNotFullyMatched(d(payload)?),
        "order_matched" => EventKind::OrderMatched(d(payload)?),
        "trade_rejected" => EventKind::TradeRejected(d(payload)?),
        "order_request_rejected" => EventKind::OrderRequestRejected(d(payload)?),
        "stream_expired" => EventKind::StreamExpired(d(payload)?),
        other => EventKind::Unknown {
            name: other.to_owned(),
            raw: RawJson::from_text(whole).map_err(|e| e.to_string())?,
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Start,
    KeepAlive,
    Caller,
    Stop,
}

/// The Hibachi account-stream protocol for session-core.
#[derive(Debug)]
pub struct Hibachi {
    config: HibachiConfig,
    listen_key: Option<String>,
    snapshot: Option<Event>,
    pending: HashMap<u64, Pending>,
    symbols: HashSet<String>,
}

impl Hibachi {
    /// The protocol with these settings.
    pub fn new(config: HibachiConfig) -> Self {
        Hibachi {
            config,
            listen_key: None,
            snapshot: None,
            pending: HashMap::new(),
            symbols: HashSet::new(),
        }
    }

    /// The current listen key (None between streams).
    pub fn listen_key(&self) -> Option<&str> {
        self.listen_key.as_deref()
    }

    fn keyed(&self, id: u64, method: &str) -> Option<String> {
        let key = self.listen_key.as_ref()?;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Some(
            serde_json::json!({
                "id": id,
                "method": method,
                "params": {"accountId": self.config.account_id, "listenKey": key},
                "timestamp": timestamp,
            })
            .to_string(),
        )
    }

    fn deliver(&self, event: Event, cx: &mut Cx<'_, Self>) {
        if let Some(sym) = event.symbol()
            && self.symbols.contains(sym)
        {
            cx.deliver(&Topic::Symbol(sym.to_owned()), event.clone());
        }
        cx.deliver(&Topic::Account, event);
    }

    fn on_answer(&mut self, id: u64, env: &Envelope<'_>, cx: &mut Cx<'_, Self>) {
        let ok = env.status == Some(200);
        let error = || HibachiError::Status {
            status: env.status.unwrap_or(0),
            error: env.error.and_then(|e| RawJson::from_text(e.get()).ok()),
        };
        match self.pending.remove(&id) {
            Some(Pending::Start) => {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Started {
                    listen_key: String,
                    #[serde(default)]
                    account_snapshot: Option<Snapshot>,
                }
                let started = env
                    .result
                    .filter(|_| ok)
                    .map(|r| hercle_models::decode_str::<Started>(r.get()));
                match started {
                    Some(Ok(s)) => {
                        self.listen_key = Some(s.listen_key);
                        self.snapshot = s.account_snapshot.map(|snap| Event {
                            account: snap.account_id.clone(),
                            kind: EventKind::Snapshot(snap),
                        });
                        cx.step_complete();
                    }
                    Some(Err(e)) => {
                        cx.step_failed(format!("stream.start answer: {e}"), Retry::Policy)
                    }
                    None => {
                        cx.step_failed(format!("stream.start refused: {}", error()), Retry::Policy)
                    }
                }
            }
            Some(Pending::KeepAlive) if !ok => {
                // The key is dead: restart the stream.
                cx.disconnect(format!("stream.ping refused: {}", error()), Retry::Policy);
            }
            Some(Pending::KeepAlive | Pending::Stop) => {}
            Some(Pending::Caller) => cx.reply(&id, if ok { Ok(()) } else { Err(error()) }),
            None => cx.reply(&id, Err(error())),
        }
    }
}

impl Protocol for Hibachi {
    type Setup = ();
    type Request = Request;
    type Response = ();
    type Error = HibachiError;
    type Key = u64;
    type Topic = Topic;
    type Event = Event;

    fn on_open(&mut self, _setup: &()) {
        self.listen_key = None;
        self.snapshot = None;
        self.pending.clear();
    }

    fn establish(&mut self, step: usize, cx: &mut Cx<'_, Self>) -> Option<Step> {
        if step > 0 {
            return None;
        }
        let id = cx.next_id();
        self.pending.insert(id, Pending::Start);
        let frame = serde_json::json!({
            "id": id,
            "method": "stream.start",
            "params": {"accountId": self.config.account_id},
        });
        cx.send(Frame::text(frame.to_string()));
        Some(Step::awaiting("stream.start", self.config.start_timeout))
    }

    fn keep_alive(&self) -> Option<KeepAlive> {
        Some(KeepAlive {
            interval: self.config.ping_interval,
            mode: KeepAliveMode::Every,
            reply_within: Some(self.config.pong_within),
        })
    }

    fn send_keep_alive(&mut self, cx: &mut Cx<'_, Self>) {
        let id = cx.next_id();
        if let Some(frame) = self.keyed(id, "stream.ping") {
            self.pending.insert(id, Pending::KeepAlive);
            cx.send(Frame::text(frame));
        }
    }

    fn on_frame(&mut self, frame: Frame, cx: &mut Cx<'_, Self>) {
        let text = String::from_utf8_lossy(frame.payload());
        let env: Envelope<'_> = match serde_json::from_str(&text) {
            Ok(e) => e,
            Err(e) => return cx.malformed(text.as_ref(), format!("not a Hibachi message: {e}")),
        };
        if let Some(name) = env.event.as_deref() {
            let payload = env.data.or(env.params).map_or("{}", RawValue::get);
            match decode_kind(name, payload, &text) {
                Ok(kind) => {
                    let expired = matches!(kind, EventKind::StreamExpired(_));
                    let event = Event {
                        account: env
                            .account
                            .clone()
                            .or_else(|| env.source_account_id.clone()),
                        kind,
                    };
                    self.deliver(event, cx);
                    if expired {
                        cx.disconnect("stream_expired: restarting the stream", Retry::Policy);
                    }
                }
                Err(e) => cx.malformed(text.as_ref(), format!("{name}: {e}")),
            }
        } else if let Some(id) = env.id {
            self.on_answer(id, &env, cx);
        } else {
            cx.malformed(text.as_ref(), "neither an event nor an answer");
        }
    }

    fn send_request(
        &mut self,
        request: Request,
        cx: &mut Cx<'_, Self>,
    ) -> Result<Sent<u64, ()>, HibachiError> {
        match request {
            Request::Ping => {
                let id = cx.next_id();
                let frame = self
                    .keyed(id, "stream.ping")
                    .ok_or(HibachiError::NoStream)?;
                self.pending.insert(id, Pending::Caller);
                cx.send(Frame::text(frame));
                Ok(Sent::Awaiting(id))
            }
        }
    }

    fn subscribe(&mut self, topic: &Topic, cx: &mut Cx<'_, Self>) {
        // The stream is implicit: nothing to write. A new account
        // subscriber gets the current stream's snapshot.
        match topic {
            Topic::Symbol(s) => {
                self.symbols.insert(s.clone());
            }
            Topic::Account => {
                if let Some(snap) = self.snapshot.clone() {
                    cx.deliver(topic, snap);
                }
            }
        }
    }

    fn unsubscribe(&mut self, topic: &Topic, _cx: &mut Cx<'_, Self>) {
        if let Topic::Symbol(s) = topic {
            self.symbols.remove(s);
        }
    }

    fn goodbye(&mut self, cx: &mut Cx<'_, Self>) {
        let id = cx.next_id();
        if let Some(frame) = self.keyed(id, "stream.stop") {
            self.pending.insert(id, Pending::Stop);
            cx.send(Frame::text(frame));
        }
    }
}

/// Start an account-stream session.
pub fn connect(config: HibachiConfig, session: SessionConfig) -> (SessionHandle<Hibachi>, Events) {
    let url = format!("{}?accountId={}", config.url, config.account_id);
    let connector =
        WsConnector::new(url, Arc::new(NoSetup)).header("authorization", config.api_key.clone());
    session_core::spawn(Hibachi::new(config), connector, session)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prose_names_are_aliases() {
        let text = r#"{"event":"ORDER_CREATED","account":128,"data":{"orderId":"7","symbol":"X","quantity":2}}"#;
        let env: Envelope<'_> = serde_json::from_str(text).unwrap();
        let kind = decode_kind("ORDER_CREATED", env.data.unwrap().get(), text).unwrap();
        assert!(matches!(
            kind,
            EventKind::OrderCreation(OrderData {
                quantity: Some(_),
                ..
            })
        ));
        assert_eq!(env.account.as_deref(), Some("128"));
    }
}
