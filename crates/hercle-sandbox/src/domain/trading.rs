//! Orders, trades and RFQs.

use crate::config::PairConfig;
use crate::domain::error::ApiError;
use crate::domain::paging::{OffsetList, OffsetQuery};
use crate::domain::state::{State, need_str, positive, side};
use hercle_models::*;
use std::time::Duration;
use tokio::time::Instant;

/// Largest length of a caller's ClientId (documented 36).
pub(crate) const CLIENT_ID_MAX: usize = 36;

pub(crate) fn check_client_id(client_id: &str) -> Result<(), ApiError> {
    if client_id.is_empty() || client_id.chars().count() > CLIENT_ID_MAX {
        return Err(ApiError::invalid(
            "clientId",
            "ClientId must be 1 to 36 characters",
        ));
    }
    Ok(())
}

fn rejected(pair: &str, side: &Side, reason: &str, ts: Timestamp, id: String) -> TradeExecution {
    TradeExecution {
        trade_id: Some(id),
        side: Some(side.clone()),
        pair: Some(pair.to_owned()),
        status: OrderStatus::Cancelled,
        status_error: Some(reason.to_owned()),
        timestamp: Some(ts),
        ..Default::default()
    }
}

impl State {
    /// The pairs (`GetPairs`, both transports).
    pub(crate) fn pairs(&self) -> Vec<Pair> {
        self.market.pairs()
    }

    /// The documented name of `pair` (any case), or why it is unknown.
    pub(crate) fn pair_name(&self, pair: &str) -> Result<String, ApiError> {
        Ok(self.market.pair(pair)?.name.clone())
    }

    /// The size `amount` of quote buys or sells now (`GetPairSizeByAmount`).
    pub(crate) fn pair_size(
        &mut self,
        pair: &str,
        side: &Side,
        amount: Decimal,
    ) -> Result<PairSize, ApiError> {
        let clock = self.clock.clone();
        self.market.pair_size(pair, side, amount, &clock)
    }

    /// A quote with a fresh price id (`GetPairPrice`; a subscription's
    /// `number`-th update when given).
    pub(crate) fn quote(
        &mut self,
        pair: &str,
        size: Decimal,
        number: Option<u64>,
    ) -> Result<PriceQuote, ApiError> {
        let clock = self.clock.clone();
        self.market.quote_numbered(pair, size, &clock, number)
    }
}

impl State {
    /// `POST /api/v1/orders`, hub `PlaceOtcOrder`: execute at the quoted
    /// price when the id is live and the market has not moved past the
    /// slippage; otherwise a 201 carrying a rejected trade (status 2), as
    /// the API does.
    pub(crate) fn place_order(
        &mut self,
        key: &str,
        client_id: &str,
        req: &PlaceOtcOrderRequest,
    ) -> Result<TradeExecution, ApiError> {
        let price_id = need_str(req.price_id.clone(), "priceId")?;
        let side = side(req.side.clone())?;
        let slippage = req.slippage.ok_or_else(|| ApiError::missing("slippage"))?;
        if slippage < Decimal::ZERO {
            return Err(ApiError::invalid("slippage", "slippage must be 0 or more"));
        }
        let trade_id = self.new_id();
        let quote = match self.market.live_quote(&price_id) {
            Ok(q) => q,
            Err(reason) => {
                return Ok(
                    self.record_rejection(key, client_id, "", &side, reason, slippage, trade_id)
                );
            }
        };
        let pair = self.market.pair(&quote.pair)?.clone();
        let price = if side == Side::Buy {
            quote.buy
        } else {
            quote.sell
        };
        let (now_buy, now_sell) = self.market.current(&pair.name, quote.size, &self.clock)?;
        let now_price = if side == Side::Buy { now_buy } else { now_sell };
        // Slippage is a percentage (1 = 1 %); the Postman reading (0.01 = 1 %)
        // is just a tighter bound here (quirk 8).
        let moved = if price.is_zero() {
            Decimal::ZERO
        } else {
            (now_price - price).abs() / price * Decimal::ONE_HUNDRED
        };
        if moved > slippage {
            return Ok(self.record_rejection(
                key,
                client_id,
                &pair.name,
                &side,
                "Slippage exceeded",
                slippage,
                trade_id,
            ));
        }
        let ts = self.now_ts();
        let execution = match self.fill(key, client_id, &pair, &side, price, quote.size, &trade_id)
        {
            Ok(e) => e,
            Err(reason) => {
                return Ok(self.record_rejection(
                    key, client_id, &pair.name, &side, reason, slippage, trade_id,
                ));
            }
        };
        let user = self.account(key).user_id.clone();
        self.account(key).orders.push(Order {
            order_id: trade_id,
            client_id: Some(client_id.to_owned()),
            user_id: Some(user),
            instrument: pair.name.clone(),
            base: Some(pair.base.clone()),
            quote: Some(pair.quote.clone()),
            side,
            order_type: Some(OrderType::FillOrKill),
            price: Some(price),
            executed_price: Some(price),
            executed_timestamp: Some(ts.clone()),
            quantity: Some(quote.size),
            quantity_filled: Some(quote.size),
            order_status: Some(OrderStatus::Executed),
            // Written as "" when nothing was cancelled (Postman's example).
            cancellation_reason: Some(String::new()),
            slippage: Some(slippage),
            timestamp: Some(ts),
            ..Default::default()
        });
        Ok(execution)
    }

    /// Settles an execution of `size` at `price`: checks funds, posts both
    /// legs to the ledger and records the trade. The error is the reason for
    /// a rejected trade.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        key: &str,
        client_id: &str,
        pair: &PairConfig,
        side: &Side,
        price: Decimal,
        size: Decimal,
        id: &str,
    ) -> Result<TradeExecution, &'static str> {
        let notional = (price * size).round_dp(8);
        let (pay_asset, pay, get_asset, get) = if *side == Side::Buy {
            (&pair.quote, notional, &pair.base, size)
        } else {
            (&pair.base, size, &pair.quote, notional)
        };
        if self.available(key, pay_asset) < pay {
            return Err("Insufficient funds");
        }
        self.post(key, pay_asset, -pay, TransactionType::Trade);
        self.post(key, get_asset, get, TransactionType::Trade);
        let ts = self.now_ts();
        let user = self.account(key).user_id.clone();
        let email = self.account(key).email.clone();
        self.account(key).trades.push(Trade {
            id: id.to_owned(),
            user_id: Some(user),
            email: Some(email),
            client_id: Some(client_id.to_owned()),
            instrument: pair.name.clone(),
            side: side.clone(),
            price,
            quantity_filled: Some(size),
            timestamp: Some(ts.clone()),
            ..Default::default()
        });
        Ok(TradeExecution {
            trade_id: Some(id.to_owned()),
            side: Some(side.clone()),
            pair: Some(pair.name.clone()),
            price: Some(price),
            size: Some(size),
            notional: Some(notional),
            status: OrderStatus::Executed,
            base_currency: Some(pair.base.clone()),
            quote_currency: Some(pair.quote.clone()),
            timestamp: Some(ts),
            status_error: Some(String::new()),
            ..Default::default()
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn record_rejection(
        &mut self,
        key: &str,
        client_id: &str,
        pair: &str,
        side: &Side,
        reason: &str,
        slippage: Decimal,
        id: String,
    ) -> TradeExecution {
        let ts = self.now_ts();
        let user = self.account(key).user_id.clone();
        self.account(key).orders.push(Order {
            order_id: id.clone(),
            client_id: Some(client_id.to_owned()),
            user_id: Some(user),
            instrument: pair.to_owned(),
            side: side.clone(),
            order_type: Some(OrderType::FillOrKill),
            quantity_filled: Some(Decimal::ZERO),
            order_status: Some(OrderStatus::Cancelled),
            cancellation_reason: Some(reason.to_owned()),
            slippage: Some(slippage),
            timestamp: Some(ts.clone()),
            ..Default::default()
        });
        rejected(pair, side, reason, ts, id)
    }

    pub(crate) fn orders_by_client_id(&mut self, key: &str, client_id: &str) -> Vec<Order> {
        self.account(key)
            .orders
            .iter()
            .filter(|o| o.client_id.as_deref() == Some(client_id))
            .cloned()
            .collect()
    }

    /// A page of orders (REST and hub `GetOrdersPaginated`).
    pub(crate) fn orders_page(
        &mut self,
        key: &str,
        query: &OffsetQuery,
    ) -> Result<Vec<Order>, ApiError> {
        query.page(OffsetList::Orders, &self.account(key).orders, |o| {
            o.timestamp.as_ref()
        })
    }

    pub(crate) fn trades_by_client_id(&mut self, key: &str, client_id: &str) -> Vec<Trade> {
        self.account(key)
            .trades
            .iter()
            .filter(|t| t.client_id.as_deref() == Some(client_id))
            .cloned()
            .collect()
    }

    /// A page of trades: `list` is `Trades`, or `HistoricalTrades` for the
    /// longer range.
    pub(crate) fn trades_page(
        &mut self,
        key: &str,
        query: &OffsetQuery,
        list: OffsetList,
    ) -> Result<Vec<Trade>, ApiError> {
        query.page(list, &self.account(key).trades, |t| t.timestamp.as_ref())
    }

    /// A page of ledger entries: `list` is `Transactions`, or
    /// `HistoricalTransactions` for the longer range.
    pub(crate) fn transactions_page(
        &mut self,
        key: &str,
        query: &OffsetQuery,
        list: OffsetList,
    ) -> Result<Vec<Transaction>, ApiError> {
        query.page(list, &self.account(key).ledger, |t| t.timestamp.as_ref())
    }

    /// `POST /api/v1/rfq[/custom-expiration]`: a firm price for a size (or a
    /// quote amount when size is 0), valid until `expireDateTime`.
    pub(crate) fn create_rfq(
        &mut self,
        key: &str,
        pair: Option<String>,
        side_in: Option<Side>,
        size: Option<Decimal>,
        amount: Option<Decimal>,
        expiration_seconds: Option<i64>,
    ) -> Result<Rfq, ApiError> {
        let pair = need_str(pair, "pair")?;
        let side = side(side_in)?;
        let size = size.unwrap_or_default();
        let amount = amount.unwrap_or_default();
        if size < Decimal::ZERO || amount < Decimal::ZERO || (size.is_zero() && amount.is_zero()) {
            return Err(ApiError::rule(
                "size",
                "Give a size or an amount greater than 0",
            ));
        }
        let ttl = match expiration_seconds {
            None => self.config.rfq_ttl,
            Some(s) => {
                let max = self.config.rfq_max_ttl.as_secs();
                let secs = u64::try_from(s)
                    .ok()
                    .filter(|s| (1..=max).contains(s))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "expirationInSeconds",
                            format!("expirationInSeconds must be between 1 and {max}"),
                        )
                    })?;
                Duration::from_secs(secs)
            }
        };
        let cfg = self.market.pair(&pair)?.clone();
        let size = if size.is_zero() {
            let mid = self.market.mid(&cfg.name, &self.clock)?;
            (amount / mid).round_dp(8)
        } else {
            size
        };
        let quote = self.market.quote(&cfg.name, size, &self.clock)?;
        let price = if side == Side::Buy {
            quote.buy_price
        } else {
            quote.sell_price.unwrap_or_default()
        };
        let now = self.now();
        let id = self.new_id();
        let user = self.account(key).user_id.clone();
        let rfq = Rfq {
            request_for_quote_id: id,
            user_id: Some(user),
            instrument: cfg.name.clone(),
            base_currency: Some(cfg.base.clone()),
            quote_currency: Some(cfg.quote.clone()),
            side,
            size,
            price,
            amount: price * size,
            status: RfqStatus::Created,
            request_date_time: Some(Timestamp::from(now)),
            expire_date_time: Some(Timestamp::from(now + ttl)),
            ..Default::default()
        };
        self.account(key)
            .rfqs
            .push((rfq.clone(), Instant::now() + ttl));
        Ok(rfq)
    }

    /// `POST /api/v1/rfq/accept`: executes a live RFQ once.
    pub(crate) fn accept_rfq(
        &mut self,
        key: &str,
        client_id: &str,
        rfq_id: Option<String>,
    ) -> Result<TradeExecution, ApiError> {
        let rfq_id = need_str(rfq_id, "requestForQuoteId")?;
        let found = self
            .account(key)
            .rfqs
            .iter()
            .find(|(r, _)| r.request_for_quote_id == rfq_id)
            .cloned();
        let Some((rfq, expires)) = found else {
            return Err(ApiError::not_found("RFQ", &rfq_id));
        };
        let side = rfq.side.clone();
        let pair = rfq.instrument.clone();
        let id = self.new_id();
        if rfq.status != RfqStatus::Created {
            return Ok(self.record_rejection(
                key,
                client_id,
                &pair,
                &side,
                "RFQ already accepted",
                Decimal::ZERO,
                id,
            ));
        }
        if expires <= Instant::now() {
            return Ok(self.record_rejection(
                key,
                client_id,
                &pair,
                &side,
                "RFQ expired",
                Decimal::ZERO,
                id,
            ));
        }
        let cfg = self.market.pair(&pair)?.clone();
        let (price, size) = (rfq.price, rfq.size);
        let execution = match self.fill(key, client_id, &cfg, &side, price, size, &id) {
            Ok(e) => e,
            Err(reason) => {
                return Ok(self.record_rejection(
                    key,
                    client_id,
                    &pair,
                    &side,
                    reason,
                    Decimal::ZERO,
                    id,
                ));
            }
        };
        if let Some((r, _)) = self
            .account(key)
            .rfqs
            .iter_mut()
            .find(|(r, _)| r.request_for_quote_id == rfq_id)
        {
            r.status = RfqStatus::Executed;
        }
        Ok(execution)
    }
}

/// Positive decimal helper re-exported for the front ends.
pub(crate) fn positive_size(v: Option<Decimal>) -> Result<Decimal, ApiError> {
    positive(v, "size")
}
