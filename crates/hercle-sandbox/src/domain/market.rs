//! Prices: a seeded random walk per pair, quotes with a size-dependent
//! spread, and price ids that expire.

use crate::config::PairConfig;
use crate::domain::clock::Clock;
use crate::domain::error::ApiError;
use crate::domain::rng::Rng;
use hercle_models::{Decimal, Pair, PairSize, PriceQuote, Side, Timestamp};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// One pair's walk. Steps are tied to clock ticks, not to requests, so the
/// price at a given time is the same however often it is asked for.
struct Walk {
    config: PairConfig,
    rng: Rng,
    mid: Decimal,
    step: u64,
}

/// A price id handed out with a quote.
#[derive(Clone, Debug)]
pub(crate) struct Quote {
    pub(crate) pair: String,
    pub(crate) size: Decimal,
    pub(crate) buy: Decimal,
    pub(crate) sell: Decimal,
    pub(crate) expires: Instant,
}

pub(crate) struct Market {
    walks: Vec<Walk>,
    quotes: HashMap<String, Quote>,
    ids: Rng,
    tick: Duration,
    ttl: Duration,
    next_sweep: Instant,
}

impl Market {
    pub(crate) fn new(seed: u64, pairs: &[PairConfig], tick: Duration, ttl: Duration) -> Self {
        Market {
            walks: pairs
                .iter()
                .map(|p| Walk {
                    rng: Rng::derive(seed, &p.name),
                    mid: p.mid,
                    step: 0,
                    config: p.clone(),
                })
                .collect(),
            quotes: HashMap::new(),
            ids: Rng::derive(seed, "price-ids"),
            tick: tick.max(Duration::from_millis(1)),
            ttl,
            next_sweep: Instant::now(),
        }
    }

    pub(crate) fn pairs(&self) -> Vec<Pair> {
        self.walks
            .iter()
            .map(|w| Pair {
                name: w.config.name.clone(),
                asset: Some(w.config.base.clone()),
                currency: Some(w.config.quote.clone()),
                min_size: Some(w.config.min_size),
                max_size: Some(w.config.max_size),
                min_quote_size: Some(w.config.min_quote_size),
                max_quote_size: Some(w.config.max_quote_size),
                ..Default::default()
            })
            .collect()
    }

    pub(crate) fn pair(&self, name: &str) -> Result<&PairConfig, ApiError> {
        self.walks
            .iter()
            .map(|w| &w.config)
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| ApiError::rule("pair", format!("Unknown pair {name}")))
    }

    fn walk(&mut self, name: &str, clock: &Clock) -> Result<&mut Walk, ApiError> {
        let target =
            u64::try_from(clock.elapsed().as_nanos() / self.tick.as_nanos()).unwrap_or(u64::MAX);
        let walk = self
            .walks
            .iter_mut()
            .find(|w| w.config.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| ApiError::rule("pair", format!("Unknown pair {name}")))?;
        // Bounded catch-up: a sandbox left idle for days does not spin.
        let behind = target.saturating_sub(walk.step).min(10_000);
        for _ in 0..behind {
            // ±0.02 % per tick, in basis-point hundredths: integer maths only.
            let bp = Decimal::new(walk.rng.symmetric(20), 5);
            walk.mid = (walk.mid * (Decimal::ONE + bp)).round_dp(walk.config.price_scale + 4);
        }
        walk.step = target;
        Ok(walk)
    }

    /// Mid price now.
    pub(crate) fn mid(&mut self, pair: &str, clock: &Clock) -> Result<Decimal, ApiError> {
        Ok(self.walk(pair, clock)?.mid)
    }

    /// Buy and sell prices for `size` now: the half-spread grows with size.
    fn prices(
        &mut self,
        pair: &str,
        size: Decimal,
        clock: &Clock,
    ) -> Result<(Decimal, Decimal, Decimal, u32), ApiError> {
        let walk = self.walk(pair, clock)?;
        let c = &walk.config;
        let depth = if c.max_size.is_zero() {
            Decimal::ZERO
        } else {
            (size / c.max_size).min(Decimal::ONE)
        };
        let bps = c.spread_bps * (Decimal::ONE + depth * Decimal::from(4));
        let half = walk.mid * bps / Decimal::from(10_000);
        Ok((
            (walk.mid + half).round_dp(c.price_scale),
            (walk.mid - half).round_dp(c.price_scale),
            walk.mid,
            c.price_scale,
        ))
    }

    fn validate_size(&self, pair: &str, size: Decimal) -> Result<(), ApiError> {
        let c = self.pair(pair)?;
        if size <= Decimal::ZERO {
            return Err(ApiError::invalid("size", "Size must be greater than 0"));
        }
        if size < c.min_size || size > c.max_size {
            return Err(ApiError::rule(
                "size",
                format!("Size must be between {} and {}", c.min_size, c.max_size),
            ));
        }
        Ok(())
    }

    /// A fresh quote with a price id valid for the configured TTL.
    pub(crate) fn quote(
        &mut self,
        pair: &str,
        size: Decimal,
        clock: &Clock,
    ) -> Result<PriceQuote, ApiError> {
        self.quote_numbered(pair, size, clock, None)
    }

    /// A quote whose id ends in `number` (12 hex digits) when given: the
    /// hub numbers each subscription's updates 1, 2, … this way, so a client
    /// can see that none was lost or repeated (the id keeps the UUID shape).
    pub(crate) fn quote_numbered(
        &mut self,
        pair: &str,
        size: Decimal,
        clock: &Clock,
        number: Option<u64>,
    ) -> Result<PriceQuote, ApiError> {
        self.validate_size(pair, size)?;
        let (buy, sell, mid, scale) = self.prices(pair, size, clock)?;
        let id = self.remember(pair, size, buy, sell, number);
        Ok(PriceQuote {
            id,
            pair: self.pair(pair)?.name.clone(),
            buy_price: buy,
            sell_price: Some(sell),
            mark_price: Some(mid.round_dp(scale + 3)),
            size: Some(size),
            timestamp: Some(Timestamp::from(clock.now())),
            ..Default::default()
        })
    }

    /// The price for buying or selling a quote-currency `amount`.
    pub(crate) fn pair_size(
        &mut self,
        pair: &str,
        side: &Side,
        amount: Decimal,
        clock: &Clock,
    ) -> Result<PairSize, ApiError> {
        if amount <= Decimal::ZERO {
            return Err(ApiError::invalid("amount", "Amount must be greater than 0"));
        }
        let c = self.pair(pair)?.clone();
        let mid = self.mid(pair, clock)?;
        let size = (amount / mid).round_dp(8);
        self.validate_size(pair, size)?;
        let (buy, sell, _, _) = self.prices(pair, size, clock)?;
        let price = match side {
            Side::Buy => buy,
            Side::Sell => sell,
            _ => return Err(ApiError::invalid("side", "Side must be buy or sell")),
        };
        let id = self.remember(&c.name, size, buy, sell, None);
        Ok(PairSize {
            id,
            pair: c.name,
            price,
            size,
            timestamp: Some(Timestamp::from(clock.now())),
            ..Default::default()
        })
    }

    fn remember(
        &mut self,
        pair: &str,
        size: Decimal,
        buy: Decimal,
        sell: Decimal,
        number: Option<u64>,
    ) -> String {
        let now = Instant::now();
        // Expired ids are swept at most once a second, so the table stays
        // bounded by (quote rate × TTL) without a scan per quote.
        if self.quotes.len() > 1024 && now >= self.next_sweep {
            self.quotes.retain(|_, q| q.expires > now);
            self.next_sweep = now + Duration::from_secs(1);
        }
        let mut id = self.ids.uuid();
        if let Some(n) = number {
            // The last group of a UUID is 12 hex digits.
            id.truncate(id.len().saturating_sub(12));
            id.push_str(&format!("{:012x}", n & 0xffff_ffff_ffff));
        }
        self.quotes.insert(
            id.clone(),
            Quote {
                pair: pair.to_owned(),
                size,
                buy,
                sell,
                expires: now + self.ttl,
            },
        );
        id
    }

    /// A live quote, or why it cannot be used.
    pub(crate) fn live_quote(&self, id: &str) -> Result<Quote, &'static str> {
        match self.quotes.get(id) {
            None => Err("Price not found"),
            Some(q) if q.expires <= Instant::now() => Err("Price expired"),
            Some(q) => Ok(q.clone()),
        }
    }

    /// Current buy/sell for the size of a quote, to apply the slippage rule.
    pub(crate) fn current(
        &mut self,
        pair: &str,
        size: Decimal,
        clock: &Clock,
    ) -> Result<(Decimal, Decimal), ApiError> {
        let (buy, sell, _, _) = self.prices(pair, size, clock)?;
        Ok((buy, sell))
    }
}
/// Networks per asset, as `GetAssetNetworks` answers.
pub(crate) fn networks(asset: &str) -> Vec<&'static str> {
    match asset.to_ascii_uppercase().as_str() {
        "BTC" => vec!["Bitcoin", "Lightning"],
        "ETH" => vec!["Ethereum", "Arbitrum One", "Optimism"],
        "USDT" => vec!["Ethereum", "Tron", "BNB Smart Chain", "Polygon"],
        "EUR" => vec!["Sepa", "Swift"],
        "GBP" => vec!["Faster Payments"],
        "USD" => vec!["INTERNATIONAL_WIRE", "DOMESTIC_WIRE", "ACH", "ACH_SAME_DAY"],
        _ => Vec::new(),
    }
}
