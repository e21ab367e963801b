//! The simulated exchange: one account per API key, shared by the REST and
//! hub front ends, so an order placed on one is visible on the other.

use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::market::Market;
use crate::rng::Rng;
use hercle_models::*;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use tokio::time::Instant;

/// Balance of one asset.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Bal {
    pub(crate) available: Decimal,
    pub(crate) allocated: Decimal,
}

/// Everything one key's user owns.
#[derive(Default)]
pub(crate) struct Account {
    pub(crate) user_id: String,
    pub(crate) balances: BTreeMap<String, Bal>,
    pub(crate) sequence: i64,
    pub(crate) ledger: Vec<Transaction>,
    pub(crate) orders: Vec<Order>,
    pub(crate) trades: Vec<Trade>,
    pub(crate) rfqs: Vec<(Rfq, Instant)>,
    pub(crate) whitelisted: Vec<WhitelistedAddress>,
    pub(crate) deposit_addresses: Vec<DepositAddress>,
    pub(crate) withdrawals: Vec<(Withdrawal, Instant)>,
    pub(crate) banking: crate::banking::Banking,
    pub(crate) invoices: Vec<LightningInvoice>,
}

/// A business event the webhook sender delivers.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(crate) event_type: WebhookEventType,
    pub(crate) data: serde_json::Value,
}

pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    pub(crate) market: Market,
    pub(crate) ids: Rng,
    accounts: HashMap<String, Account>,
    /// Events not yet taken by the webhook sender.
    pub(crate) events: Vec<Event>,
}

pub(crate) fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

impl State {
    pub(crate) fn new(config: Config) -> Self {
        State {
            clock: Clock::starting_at(config.start_time),
            market: Market::new(
                config.seed,
                &config.pairs,
                config.price_interval,
                config.quote_ttl,
            ),
            ids: Rng::derive(config.seed, "ids"),
            accounts: HashMap::new(),
            events: Vec::new(),
            config,
        }
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub(crate) fn now_ts(&self) -> Timestamp {
        Timestamp::from(self.clock.now())
    }

    pub(crate) fn new_id(&mut self) -> String {
        self.ids.uuid()
    }

    /// The account of an (already authenticated) key, created on first use.
    pub(crate) fn account(&mut self, key: &str) -> &mut Account {
        let balances = &self.config.balances;
        let ids = &mut self.ids;
        self.accounts
            .entry(key.to_owned())
            .or_insert_with(|| Account {
                user_id: ids.uuid(),
                balances: balances
                    .iter()
                    .map(|(a, v)| {
                        (
                            a.clone(),
                            Bal {
                                available: *v,
                                allocated: Decimal::ZERO,
                            },
                        )
                    })
                    .collect(),
                ..Default::default()
            })
    }

    /// Records a ledger entry and moves `available` by `amount`.
    pub(crate) fn post(&mut self, key: &str, asset: &str, amount: Decimal, kind: TransactionType) {
        let ts = self.now_ts();
        let id = self.new_id();
        let acct = self.account(key);
        acct.sequence += 1;
        acct.balances.entry(asset.to_owned()).or_default().available += amount;
        let seq = acct.sequence;
        let user = acct.user_id.clone();
        acct.ledger.push(Transaction {
            id,
            user_id: Some(user),
            sequence: Some(seq),
            r#type: kind,
            asset: asset.to_owned(),
            amount,
            timestamp: Some(ts),
            ..Default::default()
        });
        self.emit(
            WebhookEventType::BalanceUpdated,
            serde_json::json!({
                "Asset": asset, "Amount": amount.to_string(), "Sequence": seq,
            }),
        );
    }

    pub(crate) fn emit(&mut self, event_type: WebhookEventType, data: serde_json::Value) {
        // The queue is drained by the sender; without one it stays bounded.
        if self.events.len() >= 10_000 {
            self.events.remove(0);
        }
        self.events.push(Event { event_type, data });
    }

    /// Moves time-driven statuses (withdrawals) forward, emitting their events.
    pub(crate) fn advance_statuses(&mut self) {
        let keys: Vec<String> = self.accounts.keys().cloned().collect();
        for key in keys {
            self.withdrawals(&key);
            self.advance_banking(&key);
        }
    }

    pub(crate) fn available(&mut self, key: &str, asset: &str) -> Decimal {
        self.account(key)
            .balances
            .get(asset)
            .map(|b| b.available)
            .unwrap_or_default()
    }

    pub(crate) fn balances(&mut self, key: &str) -> Balances {
        let acct = self.account(key);
        Balances {
            user_id: Some(acct.user_id.clone()),
            sequence: Some(acct.sequence),
            assets: Some(
                acct.balances
                    .iter()
                    .map(|(name, b)| BalanceAsset {
                        name: name.clone(),
                        available: b.available,
                        allocated: b.allocated,
                        ..Default::default()
                    })
                    .collect(),
            ),
            deleted: Some(false),
            ..Default::default()
        }
    }
}

/// Required field helpers for request bodies and hub arguments.
pub(crate) fn need<T>(v: Option<T>, param: &str) -> Result<T, ApiError> {
    v.ok_or_else(|| ApiError::missing(param))
}

pub(crate) fn need_str(v: Option<String>, param: &str) -> Result<String, ApiError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ApiError::missing(param)),
    }
}

pub(crate) fn positive(v: Option<Decimal>, param: &str) -> Result<Decimal, ApiError> {
    let v = need(v, param)?;
    if v <= Decimal::ZERO {
        return Err(ApiError::invalid(
            param,
            format!("{param} must be greater than 0"),
        ));
    }
    Ok(v)
}

pub(crate) fn side(v: Option<Side>) -> Result<Side, ApiError> {
    match need(v, "side")? {
        s @ (Side::Buy | Side::Sell) => Ok(s),
        _ => Err(ApiError::invalid("side", "side must be buy or sell")),
    }
}
