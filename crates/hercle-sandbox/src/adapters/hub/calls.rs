//! What each hub method does: arguments (in either documented shape) to
//! the same operations REST uses, answered with the documented envelope on
//! `executionEvents`. The transport (negotiate, WebSocket, keep-alive) is in
//! the rest of `hub`; this module never touches a socket.

use crate::app::App;
use crate::domain::error::{ApiError, ErrorKind};
use crate::domain::funding::WithdrawInput;
use crate::domain::paging::{self, OffsetList};
use crate::domain::state::State;
use crate::domain::trading::check_client_id;
use hercle_models::catalog::HubMethod;
use hercle_models::decimal::ExactDecimal;
use hercle_models::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// What the transport should do after an invocation.
#[derive(Debug)]
pub(crate) enum HubCall {
    /// Send this envelope on `executionEvents`.
    Reply(HubEnvelope),
    /// Start streaming `execution.feeds.priceUpdate` for (pair, size) on
    /// `subscriptions`, tagged with the caller's clientId.
    Subscribe {
        client_id: String,
        pair: String,
        size: Decimal,
    },
    /// Stop that stream. The API documents no answer.
    Unsubscribe {
        client_id: String,
        pair: String,
        size: Decimal,
    },
}

fn topic_of(subject: &str) -> String {
    let first = subject.split('.').next().unwrap_or("execution");
    let mut c = first.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// An envelope as HercleX sends it: `data` JSON-encoded as a string.
pub(crate) fn envelope<T: Serialize + ?Sized>(
    channel: HubChannel,
    subject: &str,
    client_id: &str,
    data: &T,
) -> HubEnvelope {
    HubEnvelope {
        channel: Some(channel),
        topic: Some(topic_of(subject)),
        subject: Some(subject.to_owned()),
        r#type: Some(HubMessageType::Message),
        client_id: Some(client_id.to_owned()),
        data: EmbeddedJson::encode_as_string(data).ok(),
        ..Default::default()
    }
}

fn error_envelope(method: &HubMethod, client_id: &str, err: &ApiError) -> HubEnvelope {
    // The topic is one of the documented ones (Account, Execution, ...):
    // that of the method's own answer, never one made of the error subject.
    let topic = method
        .subjects
        .first()
        .map_or_else(|| "Execution".to_owned(), |s| topic_of(s));
    let with_topic = |e: HubEnvelope| HubEnvelope {
        topic: Some(topic.clone()),
        ..e
    };
    if matches!(err.kind, ErrorKind::Validation | ErrorKind::Rule) {
        return with_topic(envelope(
            HubChannel::ExecutionEvents,
            "preChecksError",
            client_id,
            &serde_json::json!({ "message": err.message }),
        ));
    }
    // `<prefix>.error`, the prefix being the success subject's first segments.
    let subject = method
        .subjects
        .first()
        .and_then(|s| s.rsplit_once('.'))
        .map_or_else(
            || "execution.error".to_owned(),
            |(prefix, _)| format!("{prefix}.error"),
        );
    let data = serde_json::json!({ "statusError": err.message, "message": err.message, "code": err.code, "httpStatusCode": err.status() });
    with_topic(envelope(
        HubChannel::ExecutionEvents,
        &subject,
        client_id,
        &data,
    ))
}

/// Positional arguments looked up by their documented names.
struct Args<'a> {
    method: &'static HubMethod,
    values: Vec<&'a RawValue>,
}

impl<'a> Args<'a> {
    fn parse(method: &'static HubMethod, args: &[&'a RawValue]) -> Result<Self, ApiError> {
        // Both documented shapes: one array argument, or spread arguments.
        let values: Vec<&'a RawValue> = match args {
            [one] if one.get().trim_start().starts_with('[') => serde_json::from_str(one.get())
                .map_err(|e| {
                    ApiError::invalid("arguments", format!("Malformed argument array: {e}"))
                })?,
            _ => args.to_vec(),
        };
        if values.len() != method.arguments.len() {
            return Err(ApiError::invalid(
                "arguments",
                format!(
                    "{} takes {} arguments, got {}",
                    method.name,
                    method.arguments.len(),
                    values.len()
                ),
            ));
        }
        Ok(Args { method, values })
    }

    fn raw(&self, name: &str) -> Option<&'a RawValue> {
        let i = self.method.arguments.iter().position(|a| a.name == name)?;
        self.values.get(i).copied().filter(|v| v.get() != "null")
    }

    fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.raw(name)
            .map(|v| {
                serde_json::from_str(v.get())
                    .map_err(|e| ApiError::invalid(name, format!("{name}: {e}")))
            })
            .transpose()
    }

    fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.get(name)
    }

    fn decimal(&self, name: &str) -> Result<Option<Decimal>, ApiError> {
        Ok(self.get::<ExactDecimal>(name)?.map(|d| d.0))
    }

    fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
    }

    fn need_int(&self, name: &str) -> Result<i64, ApiError> {
        self.int(name)?.ok_or_else(|| ApiError::missing(name))
    }

    fn map(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, ApiError> {
        self.get(name)
    }

    /// An offset page query from the arguments named `names` (start,
    /// end, page, page size); the list it is for decides the limits.
    fn offset(&self, [start, end, page, size]: [&str; 4]) -> Result<paging::OffsetQuery, ApiError> {
        Ok(paging::OffsetQuery {
            start: self
                .string(start)?
                .ok_or_else(|| ApiError::missing(start))?,
            end: self.string(end)?.ok_or_else(|| ApiError::missing(end))?,
            page: self.need_int(page)?.to_string(),
            page_size: self.need_int(size)?.to_string(),
        })
    }

    /// Banking lists: the optional From/To window on when items were
    /// created, then Page/PageSize.
    fn banking_page<T: Clone>(
        &self,
        items: &[T],
        created: impl Fn(&T) -> Option<&Timestamp>,
    ) -> Result<Vec<T>, ApiError> {
        let window = paging::Window::parse(
            ("From", self.string("From")?.as_deref()),
            ("To", self.string("To")?.as_deref()),
        )?;
        paging::window_page(
            items,
            &window,
            |i| created(i).and_then(Timestamp::get),
            self.need_int("Page")?,
            self.need_int("PageSize")?,
        )
    }
}

/// Runs hub method `id` (the session has resolved the invocation's target)
/// for `key` with the raw SignalR arguments.
pub(crate) fn invoke(app: &App, key: &str, id: HubMethodId, args: &[&RawValue]) -> HubCall {
    // The clientId is needed even to report errors: read it leniently first.
    let first = args.first().map(|a| a.get().trim_start());
    let fallback_client_id =
        match first {
            Some(t) if t.starts_with('[') => serde_json::from_str::<Vec<&RawValue>>(t)
                .ok()
                .and_then(|v| {
                    v.first()
                        .and_then(|c| serde_json::from_str::<String>(c.get()).ok())
                }),
            Some(t) => serde_json::from_str::<String>(t).ok(),
            None => None,
        }
        .unwrap_or_default();
    let method = id.method();
    let result = Args::parse(method, args).and_then(|a| {
        let client_id = a
            .string("ClientId")?
            .ok_or_else(|| ApiError::missing("ClientId"))?;
        check_client_id(&client_id)?;
        let mut state = app.state();
        call(&mut state, key, id, &client_id, &a).map(|c| (client_id, c))
    });
    match result {
        Ok((_, call)) => call,
        Err(e) => HubCall::Reply(error_envelope(method, &fallback_client_id, &e)),
    }
}

/// The `execution.feeds.priceUpdate` envelope for a subscription, or `None`
/// when the pair or size is no longer quotable.
pub(crate) fn price_update(
    app: &App,
    client_id: &str,
    pair: &str,
    size: Decimal,
    number: u64,
) -> Option<HubEnvelope> {
    let quote = app.state().quote(pair, size, Some(number)).ok()?;
    Some(envelope(
        HubChannel::Subscriptions,
        "execution.feeds.priceUpdate",
        client_id,
        &quote,
    ))
}

fn reply<T: Serialize + ?Sized>(
    method: &HubMethod,
    client_id: &str,
    data: &T,
) -> Result<HubCall, ApiError> {
    let subject = method
        .subjects
        .first()
        .copied()
        .unwrap_or("execution.asset.networks");
    Ok(HubCall::Reply(envelope(
        HubChannel::ExecutionEvents,
        subject,
        client_id,
        data,
    )))
}

/// The hub's in-band `httpStatusCode`/`message`, for data types whose
/// schema does not name them (the docs show them added to `Payee` and
/// `PayeeAddress`). Kept as exact JSON in the model's `extra`, never a
/// `serde_json::Value`, so no number in the reply passes through `f64`.
fn with_status(
    mut extra: BTreeMap<String, RawJson>,
    status: u16,
    message: &str,
) -> BTreeMap<String, RawJson> {
    if let (Ok(s), Ok(m)) = (RawJson::encode(&status), RawJson::encode(message)) {
        extra.insert("httpStatusCode".to_owned(), s);
        extra.insert("message".to_owned(), m);
    }
    extra
}

fn call(
    state: &mut State,
    key: &str,
    id: HubMethodId,
    cid: &str,
    a: &Args<'_>,
) -> Result<HubCall, ApiError> {
    use HubMethodId as H;
    let m = id.method();
    match id {
        H::GetPairs => reply(m, cid, &state.pairs()),
        H::GetAssetNetworks => {
            let asset = a
                .string("Asset")?
                .ok_or_else(|| ApiError::missing("Asset"))?;
            reply(m, cid, &crate::domain::market::networks(&asset))
        }
        H::GetPairSizeByAmount => {
            let pair = a.string("Pair")?.ok_or_else(|| ApiError::missing("Pair"))?;
            let side = a
                .get::<Side>("Side")?
                .ok_or_else(|| ApiError::missing("Side"))?;
            let amount = a
                .decimal("Amount")?
                .ok_or_else(|| ApiError::missing("Amount"))?;
            reply(m, cid, &state.pair_size(&pair, &side, amount)?)
        }
        H::SubscribePairPriceChannel | H::UnsubscribePairPriceChannel => {
            let pair = a
                .string("PairName")?
                .ok_or_else(|| ApiError::missing("PairName"))?;
            let size = crate::domain::trading::positive_size(a.decimal("Size")?)?;
            // Validates pair and size the way a quote would.
            let pair = state.pair_name(&pair)?;
            if id == H::SubscribePairPriceChannel {
                state.quote(&pair, size, None)?;
                Ok(HubCall::Subscribe {
                    client_id: cid.to_owned(),
                    pair,
                    size,
                })
            } else {
                Ok(HubCall::Unsubscribe {
                    client_id: cid.to_owned(),
                    pair,
                    size,
                })
            }
        }
        H::PlaceOtcOrder => {
            let req = PlaceOtcOrderRequest {
                price_id: a.string("PriceId")?,
                side: a.get("Side")?,
                slippage: a.decimal("Slippage")?,
                ..Default::default()
            };
            reply(m, cid, &state.place_order(key, cid, &req)?)
        }
        H::GetOrdersPaginated => reply(
            m,
            cid,
            &state.orders_page(
                key,
                &a.offset(["StartDate", "EndDate", "Page", "PageSize"])?,
            )?,
        ),
        H::GetOrdersByClientId => {
            let id = a
                .string("OrderClientId")?
                .ok_or_else(|| ApiError::missing("OrderClientId"))?;
            reply(m, cid, &state.orders_by_client_id(key, &id))
        }
        H::GetTradesPaginated => reply(
            m,
            cid,
            &state.trades_page(
                key,
                &a.offset(["StartDate", "EndDate", "Page", "PageSize"])?,
                OffsetList::Trades,
            )?,
        ),
        H::GetHistoricalTradesPaginated => reply(
            m,
            cid,
            &state.trades_page(
                key,
                &a.offset(["StartDate", "EndDate", "Page", "PageSize"])?,
                OffsetList::HistoricalTrades,
            )?,
        ),
        H::GetTradesByClientId => {
            let id = a
                .string("tradeClientId")?
                .ok_or_else(|| ApiError::missing("tradeClientId"))?;
            reply(m, cid, &state.trades_by_client_id(key, &id))
        }
        H::GetTransactionsPaginated => reply(
            m,
            cid,
            &state.transactions_page(
                key,
                &a.offset(["StartDate", "EndDate", "Page", "PageSize"])?,
                OffsetList::Transactions,
            )?,
        ),
        H::GetHistoricalTransactionsPaginated => reply(
            m,
            cid,
            &state.transactions_page(
                key,
                &a.offset(["StartDate", "EndDate", "Page", "PageSize"])?,
                OffsetList::HistoricalTransactions,
            )?,
        ),
        H::CreateRequestForQuote | H::CreateRequestForQuoteWithCustomExpiration => {
            let secs = if id == H::CreateRequestForQuoteWithCustomExpiration {
                Some(
                    a.int("ExpirationInSeconds")?
                        .ok_or_else(|| ApiError::missing("ExpirationInSeconds"))?,
                )
            } else {
                None
            };
            let rfq = state.create_rfq(
                key,
                a.string("PairName")?,
                a.get("Side")?,
                a.decimal("Size")?,
                a.decimal("Amount")?,
                secs,
            )?;
            reply(m, cid, &rfq)
        }
        H::AcceptRequestForQuote => reply(
            m,
            cid,
            &state.accept_rfq(key, cid, a.string("RequestForQuoteId")?)?,
        ),
        H::GetBalances => reply(m, cid, &state.balances(key)),
        H::WithdrawFunds | H::WithdrawInstantFunds | H::WithdrawFundsWithAddressParams => {
            let instant = match id {
                H::WithdrawInstantFunds => true,
                H::WithdrawFunds => false,
                _ => a
                    .get::<bool>("IsInstant")?
                    .ok_or_else(|| ApiError::missing("IsInstant"))?,
            };
            let params = if id == H::WithdrawFundsWithAddressParams {
                a.map("DestinationAddressParams")?
            } else {
                None
            };
            let input = WithdrawInput {
                asset: a.string("Asset")?,
                amount: a.decimal("Amount")?,
                address: a.string("DestinationAddress")?,
                address_params: params,
                network: a.string("Network")?,
                instant,
            };
            reply(m, cid, &state.withdraw(key, cid, input)?)
        }
        H::GetWithdrawalsPaginated => reply(
            m,
            cid,
            &state.withdrawals_page(
                key,
                &a.offset(["startDate", "endDate", "page", "pageSize"])?,
            )?,
        ),
        H::GetWithdrawalsByClientId => {
            let id = a
                .string("withdrawClientId")?
                .ok_or_else(|| ApiError::missing("withdrawClientId"))?;
            reply(m, cid, &state.withdrawals_by_client_id(key, &id))
        }
        H::GetWhitelistedAddresses => reply(m, cid, &state.whitelisted(key)),
        H::WhitelistAddress => {
            let r = state.whitelist_address(
                key,
                a.string("Name")?,
                a.string("Asset")?,
                a.string("Address")?,
                None,
                a.string("Network")?,
            )?;
            reply(m, cid, &r)
        }
        H::CreateDepositAddress => {
            // The hub's answer has no deleted/creationDate (its docs).
            let created = DepositAddress {
                deleted: None,
                creation_date: None,
                ..state.create_deposit_address(key, a.string("Asset")?, a.string("Network")?)?
            };
            reply(m, cid, &created)
        }
        H::GetDepositAddress => reply(m, cid, &state.deposit_addresses(key)),
        H::GetPayeesPaginated => {
            let items = state.payees(key);
            reply(m, cid, &a.banking_page(&items, |p| p.created_at.as_ref())?)
        }
        H::RegisterPayee => {
            let req = RegisterPayeeRequest {
                r#type: a.get("Type")?,
                name: a.string("Name")?,
                surname: a.string("Surname")?,
                company: a.string("Company")?,
                country: a.string("Country")?,
                state: a.string("State")?,
                city: a.string("City")?,
                address: a.string("Address")?,
                postal_code: a.string("PostalCode")?,
                ..Default::default()
            };
            let mut payee = state.register_payee(key, req)?;
            payee.extra = with_status(payee.extra, 201, "Payee registered");
            reply(m, cid, &payee)
        }
        H::GetPayeeAddressesPaginated => {
            let payee = a
                .string("PayeeId")?
                .ok_or_else(|| ApiError::missing("PayeeId"))?;
            let items = state.payee_addresses(key, &payee);
            reply(m, cid, &a.banking_page(&items, |p| p.created_at.as_ref())?)
        }
        H::RegisterPayeeAddress => {
            let payee = a
                .string("PayeeId")?
                .ok_or_else(|| ApiError::missing("PayeeId"))?;
            let req = RegisterPayeeAddressRequest {
                name: a.string("Name")?,
                asset: a.string("Asset")?,
                address: a.string("Address")?,
                address_params: a.map("AddressParams")?,
                network: a.string("Network")?,
                comment: a.string("Comment")?,
                ..Default::default()
            };
            let mut pa = state.register_payee_address(key, &payee, req)?;
            pa.extra = with_status(pa.extra, 201, "Payee address registered");
            reply(m, cid, &pa)
        }
        H::TransferFunds => {
            let req = CreateTransferRequest {
                asset: a.string("Asset")?,
                amount: a.decimal("Amount")?,
                internal_address_id: a.string("InternalAddressId")?,
                payee_address_id: a.string("PayeeAddressId")?,
                description: a.string("Description")?,
                ..Default::default()
            };
            let t = TransferCreated {
                http_status_code: Some(201),
                message: Some("Transfer created".to_owned()),
                ..state.create_transfer(key, cid, req)?
            };
            reply(m, cid, &t)
        }
        H::GetTransfersPaginated => reply(
            m,
            cid,
            &state.transfers_page(
                key,
                &a.offset(["StartDate", "EndDate", "Page", "PageSize"])?,
            )?,
        ),
        H::GetTransactionLedger => {
            let id = a
                .string("TransactionId")?
                .ok_or_else(|| ApiError::missing("TransactionId"))?;
            reply(m, cid, &state.ledger_transaction(key, &id)?)
        }
        H::CreateLightningInvoice => {
            let inv = state.create_invoice(
                key,
                a.decimal("AmountBtc")?,
                a.int("ExpiryHours")?,
                a.string("Memo")?,
            )?;
            let inv = LightningInvoiceCreated {
                http_status_code: Some(201),
                message: Some("Invoice created".to_owned()),
                ..inv
            };
            reply(m, cid, &inv)
        }
        H::GetLightningInvoices => reply(m, cid, &state.invoices(key)),
        H::WithdrawLightning => {
            // The hub answers 200 with the payment still PENDING (its docs'
            // example); REST answers 201 with OPEN.
            let w = LightningWithdrawal {
                http_status_code: Some(200),
                status: Some(LightningWithdrawalStatus::Pending),
                message: Some("Lightning withdrawal created successfully".to_owned()),
                ..state.lightning_withdraw(key, a.string("PaymentRequestHash")?)?
            };
            reply(m, cid, &w)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::sync::Arc;
    use std::time::Duration;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    fn call(shared: &Arc<App>, method: &str, args: &[&str]) -> HubCall {
        let owned: Vec<Box<RawValue>> = args.iter().map(|a| raw(a)).collect();
        let refs: Vec<&RawValue> = owned.iter().map(AsRef::as_ref).collect();
        let id = HubMethodId::from_name(method).unwrap();
        invoke(shared, "sandbox-key", id, &refs)
    }

    fn reply(c: HubCall) -> HubEnvelope {
        match c {
            HubCall::Reply(e) => e,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn both_argument_shapes_give_the_same_answer() {
        let shared = App::new(Config::default()).unwrap();
        let spread = reply(call(&shared, "GetPairs", &[r#""c-1""#]));
        let array = reply(call(&shared, "GetPairs", &[r#"["c-1"]"#]));
        assert_eq!(spread.subject.as_deref(), Some("execution.pairs"));
        assert_eq!(spread.client_id.as_deref(), Some("c-1"));
        assert_eq!(spread.data, array.data);
        assert!(
            spread.data.as_ref().unwrap().was_string(),
            "data is a JSON string, as documented"
        );
        let pairs: GetPairsData = spread.data.unwrap().decode_owned().unwrap();
        assert_eq!(pairs.len(), 5);
    }

    #[test]
    fn bad_arguments_are_pre_checks_errors_and_failures_are_dot_error() {
        let shared = App::new(Config::default()).unwrap();
        let e = reply(call(
            &shared,
            "GetPairSizeByAmount",
            &[r#""c-2""#, r#""BTCUSDT""#],
        ));
        assert_eq!(
            (e.subject.as_deref(), e.client_id.as_deref()),
            (Some("preChecksError"), Some("c-2"))
        );
        let e = reply(call(
            &shared,
            "GetPairs",
            &[&format!("\"{}\"", "x".repeat(37))],
        ));
        assert_eq!(e.subject.as_deref(), Some("preChecksError"));
        let e = reply(call(
            &shared,
            "WithdrawInstantFunds",
            &[r#""c-3""#, r#""BTC""#, "1", r#""bc1q""#, r#""Bitcoin""#],
        ));
        assert_eq!(e.subject.as_deref(), Some("account.withdraw.error"));
        // An unknown method never gets here: the session answers it with
        // SignalR's error Completion (tests/hub_protocol.rs).
    }

    #[tokio::test(start_paused = true)]
    async fn price_ids_expire_and_slippage_is_enforced() {
        let shared = App::new(Config::default()).unwrap();
        let quote = |shared: &Arc<App>| -> PairSize {
            let e = reply(call(
                shared,
                "GetPairSizeByAmount",
                &[r#""q""#, r#""BTCUSDT""#, r#""buy""#, "1000"],
            ));
            e.data.unwrap().decode_owned().unwrap()
        };
        let order = |shared: &Arc<App>, id: &str, slippage: &str| -> TradeExecution {
            let e = reply(call(
                shared,
                "PlaceOtcOrder",
                &[r#""o""#, &format!("\"{id}\""), r#""buy""#, slippage],
            ));
            assert_eq!(e.subject.as_deref(), Some("execution.order.executed"));
            e.data.unwrap().decode_owned().unwrap()
        };
        let q = quote(&shared);
        assert_eq!(order(&shared, &q.id, "1").status, OrderStatus::Executed);

        let q = quote(&shared);
        tokio::time::advance(Duration::from_secs(11)).await;
        let t = order(&shared, &q.id, "1");
        assert_eq!(
            (t.status, t.status_error.as_deref()),
            (OrderStatus::Cancelled, Some("Price expired"))
        );

        // Within the TTL, but the market moved (seeded walk, 5 ticks): a zero
        // slippage tolerance rejects, a wide one executes at the quoted price.
        let q = quote(&shared);
        tokio::time::advance(Duration::from_secs(5)).await;
        let t = order(&shared, &q.id, "0");
        assert_eq!(t.status_error.as_deref(), Some("Slippage exceeded"));
        let t = order(&shared, &q.id, "50");
        assert_eq!((t.status, t.price), (OrderStatus::Executed, Some(q.price)));
    }

    #[tokio::test(start_paused = true)]
    async fn rfq_expires_on_the_sandbox_clock() {
        let shared = App::new(Config::default()).unwrap();
        let e = reply(call(
            &shared,
            "CreateRequestForQuote",
            &[r#""r""#, r#""ETHUSDT""#, r#""sell""#, "1.5", "0"],
        ));
        let rfq: Rfq = e.data.unwrap().decode_owned().unwrap();
        let id = format!("\"{}\"", rfq.request_for_quote_id);
        tokio::time::advance(Duration::from_secs(16)).await;
        let e = reply(call(&shared, "AcceptRequestForQuote", &[r#""r""#, &id]));
        let t: TradeExecution = e.data.unwrap().decode_owned().unwrap();
        assert_eq!(t.status_error.as_deref(), Some("RFQ expired"));
        let e = reply(call(
            &shared,
            "CreateRequestForQuoteWithCustomExpiration",
            &[r#""r""#, r#""ETHUSDT""#, r#""sell""#, "1.5", "0", "241"],
        ));
        assert_eq!(
            e.subject.as_deref(),
            Some("preChecksError"),
            "custom expiry is capped at 240 s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn withdrawals_advance_through_their_statuses() {
        let shared = App::new(Config::default()).unwrap();
        reply(call(
            &shared,
            "WhitelistAddress",
            &[
                r#""w""#,
                r#""cold""#,
                r#""BTC""#,
                r#""bc1q""#,
                r#""Bitcoin""#,
            ],
        ));
        let e = reply(call(
            &shared,
            "WithdrawFunds",
            &[r#""w-1""#, r#""BTC""#, "0.1", r#""bc1q""#, r#""bitcoin""#],
        ));
        assert_eq!(
            e.subject.as_deref(),
            Some("account.withdraw.created"),
            "networks match case-insensitively"
        );
        let status = |shared: &Arc<App>| {
            let e = reply(call(
                shared,
                "GetWithdrawalsByClientId",
                &[r#""q""#, r#""w-1""#],
            ));
            let list: Vec<Withdrawal> = e.data.unwrap().decode_owned().unwrap();
            list[0].status.clone().unwrap()
        };
        assert_eq!(status(&shared), WithdrawalStatus::Created);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(status(&shared), WithdrawalStatus::Confirming);
        tokio::time::advance(Duration::from_secs(8)).await;
        assert_eq!(status(&shared), WithdrawalStatus::Confirmed);
        let events: Vec<_> = shared
            .state()
            .take_events()
            .into_iter()
            .map(|e| e.event_type)
            .collect();
        assert_eq!(
            events
                .iter()
                .filter(|e| **e == WebhookEventType::BankingWithdrawalStatusUpdated)
                .count(),
            2
        );
    }

    #[tokio::test(start_paused = true)]
    async fn same_seed_same_prices() {
        let a = App::new(Config::default()).unwrap();
        let b = App::new(Config::default()).unwrap();
        tokio::time::advance(Duration::from_secs(30)).await;
        let qa = price_update(&a, "p", "BTCUSDT", Decimal::ONE, 1).unwrap();
        let qb = price_update(&b, "p", "BTCUSDT", Decimal::ONE, 1).unwrap();
        assert_eq!(qa.data, qb.data);
    }
}
