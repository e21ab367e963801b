//! The simulated exchange: one account per API key, shared by the REST and
//! hub front ends, so an order placed on one is visible on the other.

use crate::config::Config;
use crate::domain::clock::Clock;
use crate::domain::error::ApiError;
use crate::domain::market::Market;
use crate::domain::rng::Rng;
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
    /// The login the API reports on trades (`email`).
    pub(crate) email: String,
    pub(crate) balances: BTreeMap<String, Bal>,
    pub(crate) sequence: i64,
    pub(crate) ledger: Vec<Transaction>,
    pub(crate) orders: Vec<Order>,
    pub(crate) trades: Vec<Trade>,
    pub(crate) rfqs: Vec<(Rfq, Instant)>,
    pub(crate) whitelisted: Vec<WhitelistedAddress>,
    pub(crate) deposit_addresses: Vec<DepositAddress>,
    pub(crate) withdrawals: Vec<(Withdrawal, Instant)>,
    pub(crate) banking: Banking,
    pub(crate) invoices: Vec<LightningInvoice>,
    /// Each ledger entry's `refId`, given on first lookup and kept, so
    /// `GET /transactions/{id}` answers the same every time.
    pub(crate) ledger_refs: HashMap<String, String>,
}

/// Banking records of one account.
#[derive(Default)]
pub(crate) struct Banking {
    pub(crate) businesses: Vec<BusinessEndUser>,
    pub(crate) individuals: Vec<IndividualEndUser>,
    pub(crate) deposit_accounts: Vec<DepositAccount>,
    pub(crate) payees: Vec<Payee>,
    pub(crate) payee_addresses: Vec<PayeeAddress>,
    pub(crate) transfers: Vec<Transfer>,
}

/// A business event the webhook sender delivers.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(crate) event_type: WebhookEventType,
    pub(crate) data: WebhookStatusChangeData,
}

/// A webhook `Data` payload in the documented shape, `{StatusChange,
/// Resource}` (the only documented example; events without a status change
/// leave `StatusChange` out). Built from the generated types, never from
/// `serde_json::Value`, so an amount is written with exactly its digits.
pub(crate) fn event_data(
    change: Option<(&str, &str)>,
    id: Option<&str>,
    fields: Vec<(&str, Option<RawJson>)>,
) -> WebhookStatusChangeData {
    WebhookStatusChangeData {
        status_change: change.map(|(previous, current)| WebhookStatusChange {
            previous: Some(previous.to_owned()),
            current: Some(current.to_owned()),
            ..Default::default()
        }),
        resource: Some(WebhookResource {
            id: id.map(str::to_owned),
            extra: fields
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An amount as a JSON number with exactly the decimal's digits
/// (`Decimal`'s text never uses an exponent, so it always is one).
pub(crate) fn money(amount: Decimal) -> Option<RawJson> {
    RawJson::from_text(amount.to_string()).ok()
}

/// Any serializable value (strings, ids, timestamps) as JSON.
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> Option<RawJson> {
    RawJson::encode(value).ok()
}

/// The exchange: accounts, market, clock and the webhook event queue. The
/// adapters use it only through its methods.
pub(crate) struct State {
    pub(in crate::domain) config: Config,
    pub(in crate::domain) clock: Clock,
    pub(in crate::domain) market: Market,
    pub(in crate::domain) ids: Rng,
    accounts: HashMap<String, Account>,
    /// Events not yet taken by the webhook sender.
    pub(in crate::domain) events: Vec<Event>,
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
    pub(in crate::domain) fn account(&mut self, key: &str) -> &mut Account {
        let balances = &self.config.balances;
        let ids = &mut self.ids;
        self.accounts.entry(key.to_owned()).or_insert_with(|| {
            let user_id = ids.uuid();
            Account {
                email: format!(
                    "user-{}@sandbox.hercle.financial",
                    user_id.get(..8).unwrap_or_default()
                ),
                user_id,
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
            }
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
        let id = acct.ledger.last().map(|t| t.id.clone());
        let data = event_data(
            None,
            id.as_deref(),
            vec![
                ("Asset", json(asset)),
                ("Amount", money(amount)),
                ("Sequence", json(&seq)),
            ],
        );
        self.emit(WebhookEventType::BalanceUpdated, data);
    }

    /// Takes the events queued for the webhook sender.
    pub(crate) fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub(crate) fn emit(&mut self, event_type: WebhookEventType, data: WebhookStatusChangeData) {
        // The queue is drained by the sender; without one it stays bounded.
        if self.events.len() >= 10_000 {
            self.events.remove(0);
        }
        self.events.push(Event { event_type, data });
    }

    /// The keys that have an account.
    pub(crate) fn account_keys(&self) -> Vec<String> {
        self.accounts.keys().cloned().collect()
    }

    pub(crate) fn available(&mut self, key: &str, asset: &str) -> Decimal {
        self.account(key)
            .balances
            .get(asset)
            .map(|b| b.available)
            .unwrap_or_default()
    }

    /// The balances with the documented exposure fields: an asset's
    /// exposure is what is allocated, its ceiling all it holds; the totals
    /// value both in the base currency (EUR) at the current mid prices.
    pub(crate) fn balances(&mut self, key: &str) -> Balances {
        let held: Vec<(String, Bal)> = self
            .account(key)
            .balances
            .iter()
            .map(|(n, b)| (n.clone(), *b))
            .collect();
        let mut total_current = Decimal::ZERO;
        let mut total_max = Decimal::ZERO;
        let mut assets = Vec::new();
        for (name, b) in held {
            let rate = self.eur_rate(&name);
            total_current += b.allocated * rate;
            total_max += (b.available + b.allocated) * rate;
            assets.push(BalanceAsset {
                name,
                available: b.available,
                allocated: b.allocated,
                current_exposure: Some(b.allocated),
                max_exposure: Some(b.available + b.allocated),
                ..Default::default()
            });
        }
        let acct = self.account(key);
        Balances {
            user_id: Some(acct.user_id.clone()),
            sequence: Some(acct.sequence),
            assets: Some(assets),
            base_currency: Some(BASE_CURRENCY.to_owned()),
            total_current_exposure: Some(total_current.round_dp(2)),
            total_max_exposure: Some(total_max.round_dp(2)),
            deleted: Some(false),
            ..Default::default()
        }
    }

    /// One unit of `asset` in EUR at the current mid (directly or through
    /// USDT); 0 when no configured pair prices it.
    fn eur_rate(&mut self, asset: &str) -> Decimal {
        if asset == BASE_CURRENCY {
            return Decimal::ONE;
        }
        let clock = self.clock.clone();
        if let Ok(mid) = self.market.mid(&format!("{asset}{BASE_CURRENCY}"), &clock) {
            return mid;
        }
        let via_usdt = self.market.mid(&format!("{asset}USDT"), &clock).ok();
        let usdt = self
            .market
            .mid(&format!("USDT{BASE_CURRENCY}"), &clock)
            .ok();
        match (via_usdt, usdt) {
            (Some(a), Some(b)) => a * b,
            _ => Decimal::ZERO,
        }
    }
}

/// The currency the balance totals are valued in (the docs' example).
const BASE_CURRENCY: &str = "EUR";

/// Adds `key: null` to a model's `extra`: the API's serializer writes a
/// field it has no value for as `null`, where the generated types leave a
/// `None` out. Only for fields the model leaves `None`.
pub(crate) fn with_nulls(
    mut extra: BTreeMap<String, RawJson>,
    keys: &[&str],
) -> BTreeMap<String, RawJson> {
    for key in keys {
        if let Ok(null) = RawJson::from_text("null") {
            extra.insert((*key).to_owned(), null);
        }
    }
    extra
}

/// Fiat assets: their deposit accounts and addresses are virtual bank
/// accounts, everything else a crypto account.
pub(crate) fn is_fiat(asset: &str) -> bool {
    matches!(asset, "EUR" | "GBP" | "USD")
}

/// The bank details of a virtual account for `asset`, every key the docs'
/// example shows: an IBAN and BIC, an account number, and the routing code
/// the currency's domestic scheme uses (UK sort code, US ABA; none for EUR).
/// `seed` is hex that makes the numbers unique.
pub(crate) fn bank_details(asset: &str, seed: &str) -> BankDetails {
    let digits: String = seed
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .take(18)
        .collect();
    let account_number = digits.get(..8).unwrap_or(&digits).to_owned();
    let routing = |kind: RoutingCodeType, value: &str| RoutingCode {
        r#type: Some(kind),
        value: Some(value.to_owned()),
        ..Default::default()
    };
    let (country, routing_codes) = match asset {
        "GBP" => ("GB", vec![routing(RoutingCodeType::SortCode, "040004")]),
        "USD" => ("US", vec![routing(RoutingCodeType::Aba, "026009593")]),
        _ => ("LT", Vec::new()),
    };
    BankDetails {
        bank_name: Some("Sandbox Bank".to_owned()),
        account_holder_name: Some("Sandbox Customer".to_owned()),
        country: Some(country.to_owned()),
        account_number: Some(account_number),
        routing_codes: Some(routing_codes),
        iban: Some(format!("LT{digits}")),
        bic: Some("SBXXLT22".to_owned()),
        ..Default::default()
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
