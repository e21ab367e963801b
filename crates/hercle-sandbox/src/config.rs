//! What a sandbox serves: keys, pairs, balances, timings and limits.

use rust_decimal::Decimal;
use std::time::Duration;
use time::OffsetDateTime;

/// An API key the sandbox accepts.
#[derive(Clone)]
pub struct ApiKey {
    /// The bearer token.
    pub key: String,
    /// `false` answers 403 as for an account whose KYC is not approved.
    pub kyc_approved: bool,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &"<redacted>")
            .field("kyc_approved", &self.kyc_approved)
            .finish()
    }
}

/// A private key in PEM; `Debug` never shows it.
#[derive(Clone)]
pub struct SecretPem(pub String);

impl std::fmt::Debug for SecretPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretPem(<redacted>)")
    }
}

/// One tradable pair.
#[derive(Clone, Debug)]
pub struct PairConfig {
    /// Name without separator, e.g. `BTCUSDT`.
    pub name: String,
    /// Base asset, e.g. `BTC`.
    pub base: String,
    /// Quote asset, e.g. `USDT`.
    pub quote: String,
    /// Starting mid price.
    pub mid: Decimal,
    /// Decimal places of prices.
    pub price_scale: u32,
    /// Smallest and largest base size.
    pub min_size: Decimal,
    /// Largest base size.
    pub max_size: Decimal,
    /// Smallest quote amount.
    pub min_quote_size: Decimal,
    /// Largest quote amount.
    pub max_quote_size: Decimal,
    /// Half-spread at the smallest size, in basis points.
    pub spread_bps: Decimal,
}

impl PairConfig {
    /// A pair with the documented default limits.
    pub fn new(name: &str, base: &str, quote: &str, mid: Decimal, price_scale: u32) -> Self {
        PairConfig {
            name: name.to_owned(),
            base: base.to_owned(),
            quote: quote.to_owned(),
            mid,
            price_scale,
            min_size: Decimal::new(1, 4),
            max_size: Decimal::from(100),
            min_quote_size: Decimal::from(5),
            max_quote_size: Decimal::from(1_000_000),
            spread_bps: Decimal::from(5),
        }
    }
}

/// Request rate limit per API key (token bucket).
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Requests allowed in a burst.
    pub burst: u32,
}

/// Everything a sandbox is started with. `Config::default()` serves the
/// documented pairs to the key `sandbox-key`.
#[derive(Clone, Debug)]
pub struct Config {
    /// Seed for prices and ids: same seed, same run.
    pub seed: u64,
    /// Accepted keys.
    pub api_keys: Vec<ApiKey>,
    /// Tradable pairs.
    pub pairs: Vec<PairConfig>,
    /// Starting balances of every account.
    pub balances: Vec<(String, Decimal)>,
    /// Wall-clock time at start; the sandbox's clock runs on tokio time from here.
    pub start_time: OffsetDateTime,
    /// How long a price id can be used to place an order.
    pub quote_ttl: Duration,
    /// Interval of `execution.feeds.priceUpdate` pushes per subscription.
    pub price_interval: Duration,
    /// Default RFQ expiry (documented 15 s).
    pub rfq_ttl: Duration,
    /// Longest custom RFQ expiry (documented 240 s).
    pub rfq_max_ttl: Duration,
    /// Requests per key; `None` for unlimited.
    pub rate_limit: Option<RateLimit>,
    /// How long a `Client-Id` replay is remembered (documented 6 h).
    pub idempotency_window: Duration,
    /// Hub keep-alive: a Ping after this much silence (ASP.NET default 15 s).
    pub keep_alive: Duration,
    /// Hub client timeout: close after this much silence from the client (30 s).
    pub client_timeout: Duration,
    /// Where webhooks are POSTed (plain `http://` URLs; more can be added at
    /// run time through the admin API).
    pub webhook_urls: Vec<String>,
    /// PEM private key signing webhooks; `None` uses the bundled, published
    /// test key (`keys/`).
    pub webhook_signing_key_pem: Option<SecretPem>,
    /// Waits between delivery attempts after a non-2xx answer; one more
    /// attempt than entries.
    pub webhook_retry: Vec<Duration>,
    /// How often new events are picked up for delivery.
    pub webhook_poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        Config {
            seed: 1,
            api_keys: vec![ApiKey {
                key: "sandbox-key".to_owned(),
                kyc_approved: true,
            }],
            pairs: vec![
                PairConfig::new("BTCUSDT", "BTC", "USDT", d("26794.57"), 2),
                PairConfig::new("ETHUSDT", "ETH", "USDT", d("1650.25"), 2),
                PairConfig::new("BTCEUR", "BTC", "EUR", d("24650.10"), 2),
                PairConfig::new("ETHEUR", "ETH", "EUR", d("1534.00"), 2),
                PairConfig::new("USDTEUR", "USDT", "EUR", d("0.9210"), 4),
            ],
            balances: vec![
                ("BTC".to_owned(), d("10")),
                ("ETH".to_owned(), d("100")),
                ("USDT".to_owned(), d("1000000")),
                ("EUR".to_owned(), d("1000000")),
                ("GBP".to_owned(), d("100000")),
            ],
            start_time: OffsetDateTime::from_unix_timestamp(1_735_732_800)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            quote_ttl: Duration::from_secs(10),
            price_interval: Duration::from_secs(1),
            rfq_ttl: Duration::from_secs(15),
            rfq_max_ttl: Duration::from_secs(240),
            rate_limit: None,
            idempotency_window: Duration::from_secs(6 * 3600),
            keep_alive: Duration::from_secs(15),
            client_timeout: Duration::from_secs(30),
            webhook_urls: Vec::new(),
            webhook_signing_key_pem: None,
            webhook_retry: [1, 2, 4, 8, 16]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            webhook_poll: Duration::from_millis(100),
        }
    }
}
