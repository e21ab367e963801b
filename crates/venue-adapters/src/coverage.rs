//! What each venue's seed lists, and how far this crate supports it: the
//! table `cargo xtask codegen` renders into `docs/coverage.md`.

/// What kind of wire item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request the client sends and the venue answers.
    Method,
    /// A subscription request.
    Subscribe,
    /// An unsubscription request.
    Unsubscribe,
    /// A message the venue pushes.
    Event,
    /// A documented error code.
    ErrorCode,
}

impl Kind {
    /// The label in the docs.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Method => "method",
            Kind::Subscribe => "subscribe",
            Kind::Unsubscribe => "unsubscribe",
            Kind::Event => "event",
            Kind::ErrorCode => "error code",
        }
    }
}

/// How far an item is supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Sent or decoded into a typed request, answer or event.
    Typed,
    /// Handled by the session itself (establish step, keep-alive, goodbye).
    Lifecycle,
    /// Passed through: sent as given, delivered as raw JSON.
    Raw,
}

impl Status {
    /// The label in the docs.
    pub fn label(self) -> &'static str {
        match self {
            Status::Typed => "typed",
            Status::Lifecycle => "session lifecycle",
            Status::Raw => "raw pass-through",
        }
    }
}

/// One method, event or code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Its wire name.
    pub name: &'static str,
    /// What it is.
    pub kind: Kind,
    /// Whether the seed itself lists it (else: the venue's docs, as
    /// summarised in the reference notes).
    pub in_seed: bool,
    /// Support.
    pub status: Status,
    /// Where and how.
    pub note: &'static str,
}

/// One venue's table.
#[derive(Debug, Clone, Copy)]
pub struct Venue {
    /// Its name.
    pub name: &'static str,
    /// The module.
    pub module: &'static str,
    /// The seed file.
    pub seed: &'static str,
    /// Every item.
    pub items: &'static [Item],
}

const fn item(
    name: &'static str,
    kind: Kind,
    in_seed: bool,
    status: Status,
    note: &'static str,
) -> Item {
    Item {
        name,
        kind,
        in_seed,
        status,
        note,
    }
}

use Kind::{ErrorCode as Code, Event as Ev, Method as M, Subscribe as Sub, Unsubscribe as Unsub};
use Status::{Lifecycle as L, Raw as R, Typed as T};

/// WhiteBIT.
pub const WHITEBIT: Venue = Venue {
    name: "WhiteBIT",
    module: "whitebit",
    seed: "004_fa2f5c07c6234c4f.txt",
    items: &[
        item(
            "ping",
            M,
            true,
            L,
            "keep-alive after 50 s of send silence; also `Request::Ping`",
        ),
        item(
            "authorize",
            M,
            true,
            L,
            "establish step, token from the provider on every connection",
        ),
        item("balanceSpot_request", M, true, T, "`Request::BalanceSpot`"),
        item(
            "ordersPending_request",
            M,
            true,
            T,
            "`Request::OrdersPending`",
        ),
        item(
            "balanceSpot_subscribe",
            Sub,
            true,
            T,
            "`Topic::balance_spot`, full list per write",
        ),
        item(
            "ordersPending_subscribe",
            Sub,
            true,
            T,
            "`Topic::orders_pending`, full list per write",
        ),
        item(
            "balanceSpot_update",
            Ev,
            true,
            T,
            "`Event::BalanceSpot`, one per asset",
        ),
        item("ordersPending_update", Ev, true, T, "`Event::OrderPending`"),
        item(
            "balanceSpot_unsubscribe",
            Unsub,
            true,
            T,
            "when the channel's last key goes",
        ),
        item(
            "ordersPending_unsubscribe",
            Unsub,
            true,
            T,
            "when the channel's last key goes",
        ),
        item(
            "1 invalid argument",
            Code,
            true,
            T,
            "`ErrorCode::InvalidArgument`",
        ),
        item(
            "2 internal error",
            Code,
            true,
            T,
            "`ErrorCode::InternalError`",
        ),
        item(
            "3 service unavailable",
            Code,
            true,
            T,
            "`ErrorCode::ServiceUnavailable`",
        ),
        item(
            "4 method not found",
            Code,
            true,
            T,
            "`ErrorCode::MethodNotFound`",
        ),
        item(
            "5 service timeout",
            Code,
            true,
            T,
            "`ErrorCode::ServiceTimeout`",
        ),
        item(
            "6 require authentication",
            Code,
            false,
            T,
            "`ErrorCode::RequireAuthentication`",
        ),
        item(
            "7 too many requests",
            Code,
            false,
            T,
            "`ErrorCode::TooManyRequests`, pauses the limiter",
        ),
        item("time", M, false, T, "`Request::Time`"),
        item("lastprice_request", M, false, T, "`Request::LastPrice`"),
        item("lastprice_subscribe", Sub, false, T, "`Topic::last_price`"),
        item("lastprice_update", Ev, false, T, "`Event::LastPrice`"),
        item(
            "lastprice_unsubscribe",
            Unsub,
            false,
            T,
            "when the channel's last key goes",
        ),
        item(
            "candles, market, marketToday, trades, depth, bookTicker, balanceMargin, ordersExecuted, deals, positionsMargin (`*_request`/`*_subscribe`/`*_update`/`*_unsubscribe`)",
            M,
            false,
            R,
            "`Request::Raw`, `Topic::other` (flat key list), `Event::Raw`; no depth book maintenance",
        ),
    ],
};

/// Hibachi account stream.
pub const HIBACHI: Venue = Venue {
    name: "Hibachi (account stream)",
    module: "hibachi",
    seed: "002_183e7236e31a52f8.txt",
    items: &[
        item(
            "stream.start",
            M,
            true,
            L,
            "establish step: listen key and snapshot (`EventKind::Snapshot`)",
        ),
        item(
            "stream.ping",
            M,
            true,
            L,
            "every 5 s with the key; also `Request::Ping`",
        ),
        item("stream.stop", M, true, L, "on close"),
        item(
            "order_creation (ORDER_CREATED)",
            Ev,
            true,
            T,
            "`EventKind::OrderCreation`",
        ),
        item(
            "order_update (ORDER_UPDATED)",
            Ev,
            true,
            T,
            "`EventKind::OrderUpdate`",
        ),
        item(
            "order_cancellation (ORDER_CANCELED)",
            Ev,
            true,
            T,
            "`EventKind::OrderCancellation`",
        ),
        item(
            "balance_update",
            Ev,
            true,
            T,
            "`EventKind::BalanceUpdate` (deposit, withdrawal or collateral)",
        ),
        item("trade_update", Ev, true, T, "`EventKind::TradeUpdate`"),
        item(
            "position_update",
            Ev,
            true,
            T,
            "`EventKind::PositionUpdate`",
        ),
        item(
            "funding_settlement",
            Ev,
            true,
            T,
            "`EventKind::FundingSettlement`",
        ),
        item(
            "account_created",
            Ev,
            true,
            T,
            "`EventKind::AccountCreated`",
        ),
        item(
            "deposit_status_update",
            Ev,
            true,
            T,
            "`EventKind::DepositStatusUpdate` (number quantity)",
        ),
        item(
            "order_not_fully_matched",
            Ev,
            true,
            T,
            "`EventKind::OrderNotFullyMatched` (numeric account)",
        ),
        item(
            "order_request_rejected",
            Ev,
            true,
            T,
            "`EventKind::OrderRequestRejected`",
        ),
        item(
            "stream_expired",
            Ev,
            true,
            T,
            "`EventKind::StreamExpired` (`params`), then the stream restarts",
        ),
        item(
            "transfer_status_update",
            Ev,
            true,
            T,
            "`EventKind::TransferStatusUpdate` (`sourceAccountId`)",
        ),
        item(
            "withdraw_rejection",
            Ev,
            true,
            T,
            "`EventKind::WithdrawRejection` (snake_case quantity)",
        ),
        item(
            "withdraw_status_update",
            Ev,
            true,
            T,
            "`EventKind::WithdrawStatusUpdate`",
        ),
        item("order_matched", Ev, true, T, "`EventKind::OrderMatched`"),
        item("trade_rejected", Ev, true, T, "`EventKind::TradeRejected`"),
        item(
            "any other event",
            Ev,
            false,
            R,
            "`EventKind::Unknown` with the whole message",
        ),
    ],
};

/// AllenHark.
pub const ALLENHARK: Venue = Venue {
    name: "AllenHark",
    module: "allenhark",
    seed: "003_a17302621e795a84.txt",
    items: &[
        item(
            "auth",
            M,
            true,
            L,
            "establish step; reply configurable (`AuthReply`)",
        ),
        item(
            "subscribe (bot, price, transactions)",
            Sub,
            true,
            T,
            "`Topic::Bot`, `Topic::Price`, `Topic::Transactions`",
        ),
        item(
            "unsubscribe",
            Unsub,
            true,
            T,
            "when a subscription is dropped",
        ),
        item("ping", M, true, L, "every 30 s, 10 s answer deadline"),
        item("pong", Ev, true, L, "consumed as the keep-alive answer"),
        item("bot_update", Ev, true, T, "`Event::BotUpdate`"),
        item("price_update", Ev, true, T, "`Event::PriceUpdate`"),
        item(
            "transaction_confirmed",
            Ev,
            true,
            T,
            "`Event::TransactionConfirmed`",
        ),
        item(
            "error",
            Ev,
            true,
            T,
            "`Event::Error`; rejects the subscription it names",
        ),
        item(
            "any other type",
            Ev,
            false,
            R,
            "`Event::Unknown` with the whole message",
        ),
    ],
};

/// Every venue, in the order the docs list them.
pub const VENUES: &[Venue] = &[WHITEBIT, HIBACHI, ALLENHARK];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hibachi_event_name_has_a_row() {
        for name in crate::hibachi::EVENT_NAMES {
            assert!(
                HIBACHI
                    .items
                    .iter()
                    .any(|i| i.name.split(' ').next() == Some(*name)),
                "{name}"
            );
        }
    }

    #[test]
    fn every_whitebit_code_has_a_row() {
        for code in 1..=7 {
            let c = crate::whitebit::ErrorCode::from_code(code);
            assert_ne!(c, crate::whitebit::ErrorCode::Other(code));
            assert!(
                WHITEBIT
                    .items
                    .iter()
                    .any(|i| i.kind == Kind::ErrorCode && i.name.starts_with(&code.to_string()))
            );
        }
    }
}
