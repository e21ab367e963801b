//! The application's side: a builder, typed calls, price streams.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hercle_models::catalog::HubMethod;
use hercle_models::{Decimal, HUB_METHODS, HubEnvelope};
use serde::de::DeserializeOwned;
use session_core::{
    DeliveryPolicy, Events, NotSent, ReconnectPolicy, RequestError, SessionConfig, SessionEvent,
    SessionHandle, SubscribeError, Subscription, Unanswered,
};

use crate::args::{self, Arg};
use crate::connect::{ConnectOptions, HubConnector, Secret};
use crate::error::HubError;
use crate::protocol::{ClientIds, ClientMethod, HubProtocol, PriceTopic, ProtocolOptions};

pub use hercle_models::HUB_PATH;

/// The docs' reconnect delays (0, 2, 10, 30 s), from the description.
pub fn documented_delays() -> session_core::FixedDelays {
    session_core::FixedDelays::new(
        hercle_models::HUB_RECONNECT_DELAYS_MS
            .iter()
            .map(|ms| Duration::from_millis(*ms)),
    )
}

/// A price stream for one (pair, size): a `futures_core::Stream` of
/// [`Update`](session_core::Update)`<PriceQuote>`. Dropping it unsubscribes.
pub type PriceStream = Subscription<HubProtocol>;

/// Builds a [`HubClient`].
pub struct HubBuilder {
    url: String,
    token: Option<Secret>,
    token_in_query: bool,
    tls: Option<Arc<rustls::ClientConfig>>,
    handshake_timeout: Duration,
    keep_alive: Duration,
    server_timeout: Duration,
    max_record: usize,
    call_timeout: Duration,
    spread_arguments: bool,
    stateful_reconnect: bool,
    ack_interval: Duration,
    session: SessionConfig,
    client_methods: HashMap<String, ClientMethod>,
}

impl std::fmt::Debug for HubBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubBuilder")
            .field("url", &self.url)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl HubBuilder {
    /// A client of the hub at `hub_url` (e.g. `https://api…/ExecutionLiveServer/v1`).
    /// Defaults: SignalR's 15 s handshake timeout and keep-alive, 30 s server
    /// timeout, the docs' reconnect delays (0, 2, 10, 30 s), 1 MiB records,
    /// one array argument per call, 30 s call timeout.
    pub fn new(hub_url: impl Into<String>) -> Self {
        HubBuilder {
            url: hub_url.into(),
            token: None,
            token_in_query: false,
            tls: None,
            handshake_timeout: Duration::from_secs(15),
            keep_alive: Duration::from_secs(15),
            server_timeout: Duration::from_secs(30),
            max_record: signalr_proto::DEFAULT_MAX_MESSAGE_SIZE,
            call_timeout: Duration::from_secs(30),
            spread_arguments: false,
            stateful_reconnect: false,
            ack_interval: Duration::from_secs(1),
            session: SessionConfig {
                reconnect: Box::new(documented_delays()),
                ..SessionConfig::default()
            },
            client_methods: HashMap::new(),
        }
    }

    /// The hub of an API base URL (`https://host` → `https://host/ExecutionLiveServer/v1`).
    pub fn for_base_url(base_url: &str) -> Self {
        HubBuilder::new(format!("{}{HUB_PATH}", base_url.trim_end_matches('/')))
    }

    /// The API key, sent as `Authorization: Bearer` (never logged).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.token = Some(Secret(key.into()));
        self
    }

    /// Send the key as the `access_token` query parameter of the WebSocket
    /// URL instead of a header (negotiate still uses the header).
    #[must_use]
    pub fn token_in_query(mut self, yes: bool) -> Self {
        self.token_in_query = yes;
        self
    }

    /// Share a rustls configuration (e.g. the REST client's).
    #[must_use]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Handshake timeout (default 15 s).
    #[must_use]
    pub fn handshake_timeout(mut self, d: Duration) -> Self {
        self.handshake_timeout = d;
        self
    }

    /// Send a Ping after this long without sending (default 15 s).
    #[must_use]
    pub fn keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = d;
        self
    }

    /// Declare the server dead after this long without inbound traffic (default 30 s).
    #[must_use]
    pub fn server_timeout(mut self, d: Duration) -> Self {
        self.server_timeout = d;
        self
    }

    /// Largest record accepted (default 1 MiB); a larger one ends the link
    /// with a clear error and the session reconnects.
    #[must_use]
    pub fn max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    /// How long a call waits for its answer (default 30 s).
    #[must_use]
    pub fn call_timeout(mut self, d: Duration) -> Self {
        self.call_timeout = d;
        self.session.request_timeout = d;
        self
    }

    /// Send each argument separately instead of one array (for servers
    /// that expect the spread form).
    #[must_use]
    pub fn spread_arguments(mut self, yes: bool) -> Self {
        self.spread_arguments = yes;
        self
    }

    /// Ask for stateful reconnect (`useStatefulReconnect`, handshake
    /// version 2). When the server grants it, a short drop resumes the same
    /// connection: nothing lost, nothing repeated, calls stay pending.
    #[must_use]
    pub fn stateful_reconnect(mut self, yes: bool) -> Self {
        self.stateful_reconnect = yes;
        self
    }

    /// How often, at most, received messages are acknowledged under
    /// stateful reconnect (default 1 s, as the JS client).
    #[must_use]
    pub fn ack_interval(mut self, d: Duration) -> Self {
        self.ack_interval = d;
        self
    }

    /// The reconnect policy (default: the docs' 0, 2, 10, 30 s). See
    /// [`session_core::Backoff`] and [`MaintenanceAware`](crate::MaintenanceAware).
    #[must_use]
    pub fn reconnect(mut self, policy: impl ReconnectPolicy) -> Self {
        self.session.reconnect = Box::new(policy);
        self
    }

    /// Bound on one connection attempt, negotiate plus upgrade (default 30 s).
    #[must_use]
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.session.connect_timeout = d;
        self
    }

    /// Answer server invocations of `name` that carry an invocation id with
    /// `handler`'s result (others get "Client didn't provide a result.").
    #[must_use]
    pub fn client_method(
        mut self,
        name: impl Into<String>,
        handler: impl Fn(&[&str]) -> Result<String, String> + Send + Sync + 'static,
    ) -> Self {
        self.client_methods.insert(name.into(), Arc::new(handler));
        self
    }

    /// Start the session in the background; the first connection is made
    /// (and retried by the policy) while calls wait.
    pub fn start(self) -> (HubClient, Events) {
        let ids = Arc::new(ClientIds::new());
        let protocol = HubProtocol::new(ProtocolOptions {
            handshake_timeout: self.handshake_timeout,
            keep_alive: self.keep_alive,
            server_timeout: self.server_timeout,
            max_record: self.max_record,
            stateful_reconnect: self.stateful_reconnect,
            ack_interval: self.ack_interval,
            // ASP.NET Core's default DisconnectTimeout.
            resume_window: Duration::from_secs(15),
            client_methods: self.client_methods,
            ids: Arc::clone(&ids),
        });
        let connector = HubConnector {
            opts: ConnectOptions {
                hub_url: self.url,
                token: self.token,
                token_in_query: self.token_in_query,
                stateful_reconnect: self.stateful_reconnect,
                max_redirects: signalr_proto::negotiate::MAX_REDIRECTS,
                max_frame: self.max_record.saturating_mul(4).max(64 * 1024),
                tls: self.tls,
            },
        };
        let (handle, events) = session_core::spawn(protocol, connector, self.session);
        (
            HubClient {
                handle,
                ids,
                spread: self.spread_arguments,
                call_timeout: self.call_timeout,
            },
            events,
        )
    }

    /// [`start`](Self::start), then wait for the first connection: fails
    /// with the reason if the session closes first.
    pub async fn connect(self) -> Result<(HubClient, Events), HubError> {
        let (client, mut events) = self.start();
        loop {
            match events.recv().await {
                Some(SessionEvent::Connected) => return Ok((client, events)),
                Some(SessionEvent::Closed { reason }) => {
                    return Err(HubError::Closed(reason.to_string()));
                }
                Some(_) => {}
                None => return Err(HubError::Closed("session ended".into())),
            }
        }
    }
}

/// A connected HercleX hub client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HubClient {
    handle: SessionHandle<HubProtocol>,
    ids: Arc<ClientIds>,
    spread: bool,
    call_timeout: Duration,
}

fn method(name: &str) -> Result<&'static HubMethod, HubError> {
    HUB_METHODS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| HubError::UnknownMethod(name.to_owned()))
}

impl HubClient {
    /// A fresh clientId (for a call made with [`call_with_id`](Self::call_with_id)).
    pub fn fresh_client_id(&self) -> String {
        self.ids.fresh()
    }

    /// Call hub method `name` with `args` (after the ClientId, in the
    /// documented order) and a fresh clientId; resolves on the matching
    /// `executionEvents` envelope, its `data` decoded into `D`.
    pub async fn call<D: DeserializeOwned>(&self, name: &str, args: &[Arg]) -> Result<D, HubError> {
        self.call_with_id(name, &self.ids.fresh(), args).await
    }

    /// [`call`](Self::call) with a clientId of the caller's (to reconcile later).
    pub async fn call_with_id<D: DeserializeOwned>(
        &self,
        name: &str,
        client_id: &str,
        args: &[Arg],
    ) -> Result<D, HubError> {
        let (m, envelope) = self.call_envelope(name, client_id, args).await?;
        let data = envelope.and_then(|e| e.data);
        let decoded = match &data {
            Some(d) => d.decode_owned::<D>(),
            None => hercle_models::decode::<D>(b"null"),
        };
        decoded.map_err(|error| HubError::Decode {
            method: m.name,
            error,
            raw: data.map(|d| d.json_text().to_owned()).unwrap_or_default(),
        })
    }

    /// The raw answer envelope of a call (`None` for methods answered by
    /// their Completion only).
    pub async fn call_envelope(
        &self,
        name: &str,
        client_id: &str,
        args: &[Arg],
    ) -> Result<(&'static HubMethod, Option<HubEnvelope>), HubError> {
        let m = method(name)?;
        let expected = m.arguments.len().saturating_sub(1);
        if args.len() != expected {
            return Err(HubError::Arguments {
                method: m.name,
                expected,
                got: args.len(),
            });
        }
        let request = crate::protocol::HubRequest {
            method: m,
            client_id: client_id.to_owned(),
            args: args::array(client_id, args),
            spread: self.spread,
        };
        let result = self
            .handle
            .request_within(request, Some(self.call_timeout))
            .await;
        let client_id = client_id.to_owned();
        match result {
            Ok(env) => Ok((m, env)),
            Err(RequestError::Rejected(refusal) | RequestError::Encode(refusal)) => {
                Err(HubError::Refused {
                    method: m.name,
                    client_id,
                    refusal,
                })
            }
            Err(RequestError::NotSent(n)) => Err(HubError::NotSent {
                method: m.name,
                reason: match n {
                    NotSent::TimedOut(d) => format!("not connected within {d:?}"),
                    NotSent::SessionClosed(r) => r.to_string(),
                    other => format!("{other:?}"),
                },
            }),
            Err(RequestError::OutcomeUnknown(Unanswered::TimedOut(after))) => {
                Err(HubError::Timeout {
                    method: m.name,
                    client_id,
                    after,
                })
            }
            Err(RequestError::OutcomeUnknown(u)) => Err(HubError::OutcomeUnknown {
                method: m.name,
                client_id,
                reason: match u {
                    Unanswered::LinkDropped(r) => format!("link dropped: {r}"),
                    Unanswered::SessionClosed(r) => r.to_string(),
                    other => format!("{other:?}"),
                },
            }),
            Err(other) => Err(HubError::NotSent {
                method: m.name,
                reason: other.to_string(),
            }),
        }
    }

    /// Stream price updates for `pair` at `size`. Every update (bounded,
    /// with [`Update::Lagged`](session_core::Update::Lagged) when the reader
    /// falls behind) or latest-only, as `policy` says. Re-sent after every
    /// reconnect ([`Update::Gap`](session_core::Update::Gap) marks the
    /// break); dropping the stream unsubscribes.
    pub async fn subscribe_prices(
        &self,
        pair: &str,
        size: Decimal,
        policy: DeliveryPolicy,
    ) -> Result<PriceStream, SubscribeError> {
        self.handle
            .subscribe(
                PriceTopic {
                    pair: pair.to_owned(),
                    size,
                },
                policy,
            )
            .await
    }

    /// Look an order up by the clientId it was placed with (after
    /// [`HubError::is_outcome_unknown`]): the orders the hub knows under it,
    /// empty when it never executed.
    pub async fn reconcile_order(
        &self,
        order_client_id: &str,
    ) -> Result<hercle_models::GetOrdersByClientIdData, HubError> {
        self.get_orders_by_client_id(&[order_client_id.into()])
            .await
    }

    /// Session counters (frames, malformed records, links lost).
    pub async fn stats(&self) -> Option<session_core::Stats> {
        self.handle.stats().await.map(|(_, s)| s)
    }

    /// Close the session (sends a Close) and wait until it stopped.
    pub async fn close(&self) {
        self.handle.close().await;
    }
}

macro_rules! hub_methods {
    ($($fn_name:ident => $wire:literal : $data:ty;)*) => {
        /// One method per hub method of the description, each a thin
        /// [`HubClient::call`]: `args` are the arguments after ClientId in
        /// the documented order (the table in `hercle_models::HUB_METHODS`).
        impl HubClient {
            $(
                #[doc = concat!("`", $wire, "`: resolves to its `data`.")]
                pub async fn $fn_name(&self, args: &[Arg]) -> Result<$data, HubError> {
                    self.call($wire, args).await
                }
            )*
        }

        /// Every method name the thin methods cover (checked against the
        /// table by a test).
        pub const COVERED_METHODS: &[&str] = &[$($wire),*];
    };
}

use hercle_models as m;

hub_methods! {
    get_pairs => "GetPairs": m::GetPairsData;
    get_asset_networks => "GetAssetNetworks": m::GetAssetNetworksData;
    get_pair_size_by_amount => "GetPairSizeByAmount": m::GetPairSizeByAmountData;
    subscribe_pair_price_channel => "SubscribePairPriceChannel": Option<m::SubscribePairPriceChannelData>;
    unsubscribe_pair_price_channel => "UnsubscribePairPriceChannel": Option<m::RawJson>;
    place_otc_order => "PlaceOtcOrder": m::PlaceOtcOrderData;
    get_orders_paginated => "GetOrdersPaginated": m::GetOrdersPaginatedData;
    get_orders_by_client_id => "GetOrdersByClientId": m::GetOrdersByClientIdData;
    get_trades_paginated => "GetTradesPaginated": m::GetTradesPaginatedData;
    get_historical_trades_paginated => "GetHistoricalTradesPaginated": m::GetHistoricalTradesPaginatedData;
    get_trades_by_client_id => "GetTradesByClientId": m::GetTradesByClientIdData;
    get_transactions_paginated => "GetTransactionsPaginated": m::GetTransactionsPaginatedData;
    get_historical_transactions_paginated => "GetHistoricalTransactionsPaginated": m::GetHistoricalTransactionsPaginatedData;
    create_request_for_quote => "CreateRequestForQuote": m::CreateRequestForQuoteData;
    create_request_for_quote_with_custom_expiration => "CreateRequestForQuoteWithCustomExpiration": m::CreateRequestForQuoteWithCustomExpirationData;
    accept_request_for_quote => "AcceptRequestForQuote": m::AcceptRequestForQuoteData;
    get_balances => "GetBalances": m::GetBalancesData;
    withdraw_funds => "WithdrawFunds": m::WithdrawFundsData;
    withdraw_funds_with_address_params => "WithdrawFundsWithAddressParams": m::WithdrawFundsWithAddressParamsData;
    withdraw_instant_funds => "WithdrawInstantFunds": m::WithdrawInstantFundsData;
    get_withdrawals_paginated => "GetWithdrawalsPaginated": m::GetWithdrawalsPaginatedData;
    get_withdrawals_by_client_id => "GetWithdrawalsByClientId": m::GetWithdrawalsByClientIdData;
    get_whitelisted_addresses => "GetWhitelistedAddresses": m::GetWhitelistedAddressesData;
    whitelist_address => "WhitelistAddress": m::WhitelistAddressData;
    create_deposit_address => "CreateDepositAddress": m::CreateDepositAddressData;
    get_deposit_address => "GetDepositAddress": m::GetDepositAddressData;
    get_payees_paginated => "GetPayeesPaginated": m::GetPayeesPaginatedData;
    register_payee => "RegisterPayee": m::RegisterPayeeData;
    get_payee_addresses_paginated => "GetPayeeAddressesPaginated": m::GetPayeeAddressesPaginatedData;
    register_payee_address => "RegisterPayeeAddress": m::RegisterPayeeAddressData;
    transfer_funds => "TransferFunds": m::TransferFundsData;
    get_transfers_paginated => "GetTransfersPaginated": m::GetTransfersPaginatedData;
    get_transaction_ledger => "GetTransactionLedger": m::GetTransactionLedgerData;
    create_lightning_invoice => "CreateLightningInvoice": m::CreateLightningInvoiceData;
    get_lightning_invoices => "GetLightningInvoices": m::GetLightningInvoicesData;
    withdraw_lightning => "WithdrawLightning": m::WithdrawLightningData;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hub_method_has_a_thin_method() {
        let table: Vec<&str> = HUB_METHODS.iter().map(|m| m.name).collect();
        assert_eq!(COVERED_METHODS, table.as_slice());
    }

    #[test]
    fn client_ids_are_fresh_and_within_the_limit() {
        let ids = ClientIds::new();
        let (a, b) = (ids.fresh(), ids.fresh());
        assert_ne!(a, b);
        assert!(a.len() <= 36);
    }
}
