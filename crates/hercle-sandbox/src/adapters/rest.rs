//! The REST front end: every endpoint of the description at its path, with
//! Bearer auth, rate limiting, `Client-Id` idempotency and the documented
//! error bodies. Routing comes from the generated endpoint table.

use crate::adapters::http::{Query, error_reply, path_decode};
use crate::app::{App, Reply};
use crate::domain::error::{ApiError, ErrorKind};
use crate::domain::funding::WithdrawInput;
use crate::domain::paging::{self, OffsetList};
use crate::domain::state::State;
use hercle_models::catalog::{Endpoint, HttpMethod};
use hercle_models::contract::{self, Location};
use hercle_models::operation::CursorPage;
use hercle_models::ops::OperationId as Op;
use hercle_models::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A parsed REST request, independent of hyper.
pub(crate) struct RestRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

fn method_of(m: &str) -> Option<HttpMethod> {
    match m {
        "GET" => Some(HttpMethod::Get),
        "POST" => Some(HttpMethod::Post),
        "PUT" => Some(HttpMethod::Put),
        "DELETE" => Some(HttpMethod::Delete),
        _ => None,
    }
}

/// A path served with other methods: 405 with the `Allow` header, as HTTP
/// asks; a path not served at all: 404.
fn no_route(req: &RestRequest<'_>) -> Reply {
    // The methods of the template that matches most literally:
    // `/withdrawals/address` is not also `/withdrawals/{withdrawClientId}`.
    let literals = |path: &str| path.split('/').filter(|s| !s.starts_with('{')).count();
    let routes: Vec<(HttpMethod, &str)> = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Delete,
    ]
    .into_iter()
    .filter_map(|m| Endpoint::route(m, req.path).map(|(e, _)| (m, e.path)))
    .collect();
    let best = routes.iter().map(|(_, p)| literals(p)).max();
    let allowed: Vec<&str> = routes
        .iter()
        .filter(|(_, p)| Some(literals(p)) == best)
        .map(|(m, _)| m.as_str())
        .collect();
    if allowed.is_empty() {
        return error_reply(&ApiError {
            kind: ErrorKind::NotFound,
            code: "not_found",
            message: format!("No route for {} {}", req.method, req.path),
            param: None,
        });
    }
    let mut reply = error_reply(&ApiError {
        kind: ErrorKind::MethodNotAllowed,
        code: "method_not_allowed",
        message: format!("{} is not served on {}", req.method, req.path),
        param: None,
    });
    reply.headers.push(("allow", allowed.join(", ")));
    reply
}

/// Refuses (400, naming the parameter) a request that breaks the
/// description's constraints, read from the generated rule table: the one
/// place where "malformed" is decided, shared with clients.
fn check_contract(
    endpoint: &Endpoint,
    params: &[(&str, &str)],
    req: &RestRequest<'_>,
) -> Result<(), ApiError> {
    let query = Query::parse(Some(req.query));
    let mut violations =
        contract::check_params(endpoint.operation_id, |location, name| match location {
            Location::Path => params
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| path_decode(v)),
            Location::Query => query.get(name).map(str::to_owned),
            Location::Header if name.eq_ignore_ascii_case("Client-Id") => {
                req.client_id.map(str::to_owned)
            }
            _ => None,
        });
    if endpoint.request.is_some() && violations.is_empty() {
        violations = contract::check_body(endpoint.operation_id, req.body);
    }
    match violations.first() {
        None => Ok(()),
        Some(v) if v.keyword == "required" => Err(ApiError::missing(v.name)),
        // Valid JSON an exact decimal cannot hold: refused, but not as malformed.
        Some(v) if v.keyword == contract::NOT_A_DECIMAL => {
            Err(ApiError::rule(v.name, v.message.clone()))
        }
        Some(v) => Err(ApiError::invalid(v.name, v.message.clone())),
    }
}

/// Serves one REST request, with the armed REST faults: an injected
/// status or delay before it, a dropped answer after it.
pub(crate) async fn serve(app: &App, req: &RestRequest<'_>) -> Result<Reply, DroppedResponse> {
    // Bound first: the guard must not live across the await below.
    let fault = app.faults().take_rest_fault();
    if let Some(fault) = fault {
        if let Some(delay) = fault.delay {
            tokio::time::sleep(delay).await;
        }
        if let Some(status) = fault.status {
            let err = ApiError {
                kind: if status == 429 {
                    ErrorKind::RateLimited
                } else {
                    ErrorKind::Server(status)
                },
                code: if status == 429 {
                    "rate_limit_exceeded"
                } else {
                    "injected_fault"
                },
                message: format!("Injected fault: HTTP {status}"),
                param: None,
            };
            return Ok(error_reply(&err));
        }
    }
    let reply = handle(app, req);
    // Bound first: the guard must not be held when returning.
    let drop_it = app.faults().take_drop_response();
    if drop_it {
        return Err(DroppedResponse);
    }
    Ok(reply)
}

/// The injected "processed, then the connection dropped" fault: returning
/// it from the service makes hyper close the connection without writing an
/// answer.
#[derive(Debug)]
pub(crate) struct DroppedResponse;

impl std::fmt::Display for DroppedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response dropped by an injected fault")
    }
}

impl std::error::Error for DroppedResponse {}

/// Handles one REST request end to end (auth, limits, idempotency, op).
fn handle(app: &App, req: &RestRequest<'_>) -> Reply {
    let Some((endpoint, params)) = method_of(req.method).and_then(|m| Endpoint::route(m, req.path))
    else {
        return no_route(req);
    };
    // Every row of the generated table has its id (a test checks it).
    let Some(op) = Op::from_name(endpoint.operation_id) else {
        return error_reply(&ApiError {
            kind: ErrorKind::Server(500),
            code: "internal",
            message: format!("{} has no operation id", endpoint.operation_id),
            param: None,
        });
    };
    let key = match app.authenticate(req.authorization) {
        Ok(k) => k,
        Err(e) => return error_reply(&e),
    };
    if let Err((e, wait)) = app.rate_limit(&key) {
        let mut reply = error_reply(&e);
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        reply
            .headers
            .push(("retry-after", seconds.max(1).to_string()));
        return reply;
    }
    if let Err(e) = check_contract(endpoint, &params, req) {
        return error_reply(&e);
    }
    let execute = || {
        let result = {
            let mut state = app.state();
            let client_id = req.client_id.map_or_else(|| state.new_id(), str::to_owned);
            dispatch(&mut state, &key, &client_id, op, endpoint, &params, req)
        };
        match result {
            Ok((status, body)) => Reply {
                status,
                body,
                headers: Vec::new(),
            },
            Err(e) => error_reply(&e),
        }
    };
    match (endpoint.idempotent, req.client_id) {
        (true, Some(cid)) if !cid.is_empty() => {
            let k = format!("{key}\u{0}{}\u{0}{cid}", endpoint.operation_id);
            app.idempotent(k, execute)
        }
        _ => execute(),
    }
}

fn body<T: DeserializeOwned + Default>(req: &RestRequest<'_>) -> Result<T, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "A JSON request body is required"));
    }
    decode(req.body).map_err(|e| {
        let param = if e.path().is_empty() {
            "body".to_owned()
        } else {
            e.path().to_owned()
        };
        ApiError {
            kind: ErrorKind::Validation,
            code: "invalid_request",
            message: e.to_string(),
            param: Some(param),
        }
    })
}

fn param(params: &[(&str, &str)], name: &str) -> Result<String, ApiError> {
    params
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| path_decode(v))
        .ok_or_else(|| ApiError::missing(name))
}

fn ok<T: Serialize>(endpoint: &Endpoint, value: &T) -> Result<(u16, Vec<u8>), ApiError> {
    let status = endpoint.success.first().copied().unwrap_or(200);
    serde_json::to_vec(value)
        .map(|b| (status, b))
        .map_err(|e| ApiError {
            kind: ErrorKind::Server(500),
            code: "internal",
            message: e.to_string(),
            param: None,
        })
}

/// The offset page bounds in the path, decoded.
fn offset(params: &[(&str, &str)]) -> Result<paging::OffsetQuery, ApiError> {
    Ok(paging::OffsetQuery {
        start: param(params, "startDate")?,
        end: param(params, "endDate")?,
        page: param(params, "page")?,
        page_size: param(params, "pageSize")?,
    })
}

/// A cursor page `P` of `items`, after the `from`/`to` window when the
/// operation takes one (`time_of` reads an item's creation time).
fn cursor<P: CursorPage>(
    items: &[P::Item],
    id_of: impl Fn(&P::Item) -> Option<&str>,
    time_of: impl Fn(&P::Item) -> Option<time::OffsetDateTime>,
    query: &Query,
) -> Result<P, ApiError>
where
    P::Item: Clone,
{
    let size = query
        .get("pageSize")
        .ok_or_else(|| ApiError::missing("pageSize"))?;
    let window = paging::Window::parse(("from", query.get("from")), ("to", query.get("to")))?;
    let (payload, token) = paging::cursor_in(
        items,
        &window,
        id_of,
        time_of,
        size,
        query.get("paginationToken"),
    )?;
    Ok(P::new(payload, token))
}

/// When an item was created, for the windows.
fn created(t: Option<&Timestamp>) -> Option<time::OffsetDateTime> {
    t.and_then(Timestamp::get)
}

fn parse_decimal(param_name: &str, text: &str) -> Result<Decimal, ApiError> {
    decimal::parse_exact(text)
        .map_err(|_| ApiError::invalid(param_name, format!("{param_name} must be a number")))
}

fn dispatch(
    state: &mut State,
    key: &str,
    client_id: &str,
    op: Op,
    endpoint: &Endpoint,
    params: &[(&str, &str)],
    req: &RestRequest<'_>,
) -> Result<(u16, Vec<u8>), ApiError> {
    let query = Query::parse(Some(req.query));
    let q = |k: &str| query.get(k).map(str::to_owned);
    // Exhaustive, no wildcard: an operation added to the description does
    // not build until the sandbox serves it.
    match op {
        Op::GetPairs => ok(endpoint, &state.pairs()),
        Op::GetPairSizeByAmount => {
            let side = Side::from_wire(&param(params, "side")?);
            let amount = parse_decimal("amount", &param(params, "amount")?)?;
            let pair = param(params, "pair")?;
            let v = state.pair_size(&pair, &side, amount)?;
            let timestamp = v.timestamp.clone();
            let v = PairSize {
                timestamp: None,
                extra: time_stamp(v.extra, timestamp.as_ref()),
                ..v
            };
            ok(endpoint, &v)
        }
        Op::GetAssetNetworks => {
            let asset = param(params, "asset")?;
            ok(endpoint, &crate::domain::market::networks(&asset))
        }
        Op::GetPairPrice => {
            let size = parse_decimal("size", &param(params, "size")?)?;
            let q = state.quote(&param(params, "pair")?, size, None)?;
            let timestamp = q.timestamp.clone();
            let q = PriceQuote {
                timestamp: None,
                extra: time_stamp(q.extra, timestamp.as_ref()),
                ..q
            };
            ok(endpoint, &q)
        }
        Op::PlaceOtcOrder => {
            let r: PlaceOtcOrderRequest = body(req)?;
            ok(endpoint, &state.place_order(key, client_id, &r)?)
        }
        Op::GetOrdersByClientId => ok(
            endpoint,
            &state.orders_by_client_id(key, &param(params, "clientId")?),
        ),
        Op::GetOrdersPaginated => ok(endpoint, &state.orders_page(key, &offset(params)?)?),
        Op::CreateRfq => {
            let r: CreateRfqRequest = body(req)?;
            ok(
                endpoint,
                &state.create_rfq(key, r.pair, r.side, r.size, r.amount, None)?,
            )
        }
        Op::CreateRfqCustomExpiration => {
            let r: CreateRfqCustomExpirationRequest = body(req)?;
            let secs = r
                .expiration_in_seconds
                .ok_or_else(|| ApiError::missing("expirationInSeconds"))?;
            ok(
                endpoint,
                &state.create_rfq(key, r.pair, r.side, r.size, r.amount, Some(secs))?,
            )
        }
        Op::AcceptRfq => {
            let r: AcceptRfqRequest = body(req)?;
            ok(
                endpoint,
                &state.accept_rfq(key, client_id, r.request_for_quote_id)?,
            )
        }
        Op::GetBalances => ok(endpoint, &vec![state.balances(key)]),
        Op::GetTradesByClientId => ok(
            endpoint,
            &state.trades_by_client_id(key, &param(params, "tradeClientId")?),
        ),
        Op::GetTradesPaginated => ok(
            endpoint,
            &state.trades_page(key, &offset(params)?, OffsetList::Trades)?,
        ),
        Op::GetHistoricalTradesPaginated => ok(
            endpoint,
            &state.trades_page(key, &offset(params)?, OffsetList::HistoricalTrades)?,
        ),
        Op::GetTransactionsPaginated => ok(
            endpoint,
            &state.transactions_page(key, &offset(params)?, OffsetList::Transactions)?,
        ),
        Op::GetHistoricalTransactionsPaginated => ok(
            endpoint,
            &state.transactions_page(key, &offset(params)?, OffsetList::HistoricalTransactions)?,
        ),
        Op::WhitelistAddress => {
            let r: WhitelistAddressRequest = body(req)?;
            ok(
                endpoint,
                &state.whitelist_address(key, r.name, r.asset, r.address, None, r.network)?,
            )
        }
        Op::WhitelistAddressWithParams => {
            let r: WhitelistAddressWithParamsRequest = body(req)?;
            ok(
                endpoint,
                &state.whitelist_address(
                    key,
                    r.name,
                    r.asset,
                    r.address,
                    r.address_params,
                    r.network,
                )?,
            )
        }
        Op::GetWhitelistedAddresses => ok(endpoint, &state.whitelisted(key)),
        Op::RemoveWhitelistedAddress => {
            let r: RemoveWhitelistedAddressRequest = body(req)?;
            // The docs' curl sends `id` (quirk 18): accept it too.
            let id = r.address_id.or(r.id);
            ok(endpoint, &state.remove_whitelisted(key, id)?)
        }
        Op::GetDepositAddresses => ok(endpoint, &state.deposit_addresses(key)),
        Op::CreateDepositAddress => {
            let r: CreateDepositAddressRequest = body(req)?;
            ok(
                endpoint,
                &state.create_deposit_address(key, r.asset, r.network)?,
            )
        }
        Op::Withdraw | Op::InstantWithdraw => {
            let r: WithdrawRequest = body(req)?;
            let input = WithdrawInput {
                asset: r.asset,
                amount: r.amount,
                address: r.address,
                address_params: None,
                network: r.network,
                instant: op == Op::InstantWithdraw,
            };
            ok(endpoint, &state.withdraw(key, client_id, input)?)
        }
        Op::WithdrawWithAddressParams => {
            let r: WithdrawWithAddressParamsRequest = body(req)?;
            let instant = r.is_instant.ok_or_else(|| ApiError::missing("isInstant"))?;
            let input = WithdrawInput {
                asset: r.asset,
                amount: r.amount,
                address: r.address,
                address_params: r.address_params,
                network: r.network,
                instant,
            };
            ok(endpoint, &state.withdraw(key, client_id, input)?)
        }
        Op::GetWithdrawals => {
            let mut all = state.withdrawals(key);
            for (field, value) in [
                ("clientId", q("clientId")),
                ("withdrawalId", q("withdrawalId")),
                ("network", q("network")),
                ("asset", q("asset")),
                ("address", q("address")),
            ] {
                if let Some(v) = value {
                    all.retain(|w| {
                        let have = match field {
                            "clientId" => w.client_id.as_deref(),
                            "withdrawalId" => Some(w.id.as_str()),
                            "network" => w.network.as_deref(),
                            "asset" => w.asset.as_deref(),
                            _ => w.destination.as_deref(),
                        };
                        have.is_some_and(|h| h.eq_ignore_ascii_case(&v))
                    });
                }
            }
            let page: i64 = q("page")
                .map_or(Ok(0), |p| p.parse())
                .map_err(|_| ApiError::invalid("page", "page must be an integer"))?;
            let size = q("pageSize").map_or(Ok(50), |s| paging::page_size_of(&s))?;
            let skip = usize::try_from(page)
                .map_err(|_| ApiError::invalid("page", "page must be 0 or more"))?
                .saturating_mul(size);
            ok(
                endpoint,
                &all.into_iter().skip(skip).take(size).collect::<Vec<_>>(),
            )
        }
        Op::GetWithdrawalsByClientId => {
            let cid = param(params, "withdrawClientId")?;
            ok(endpoint, &state.withdrawals_by_client_id(key, &cid))
        }
        Op::GetWithdrawalsPaginated => {
            ok(endpoint, &state.withdrawals_page(key, &offset(params)?)?)
        }
        Op::CreateLightningInvoice => {
            let r: CreateLightningInvoiceRequest = body(req)?;
            let hours = r
                .expiry_hours
                .map(|h| {
                    if h.fract().is_zero() {
                        i64::try_from(h).ok()
                    } else {
                        None
                    }
                    .ok_or_else(|| {
                        ApiError::invalid("expiryHours", "expiryHours must be a whole number")
                    })
                })
                .transpose()?;
            ok(
                endpoint,
                &state.create_invoice(key, r.amount_btc, hours, r.memo)?,
            )
        }
        Op::GetLightningInvoices => ok(
            endpoint,
            &LightningInvoiceList {
                invoices: Some(state.invoices(key)),
                ..Default::default()
            },
        ),
        Op::CreateLightningWithdrawal => {
            let r: CreateLightningWithdrawalRequest = body(req)?;
            ok(
                endpoint,
                &state.lightning_withdraw(key, r.payment_request_hash)?,
            )
        }
        Op::RegisterBusinessEndUser => ok(endpoint, &state.register_business(key, body(req)?)?),
        Op::RegisterIndividualEndUser => ok(endpoint, &state.register_individual(key, body(req)?)?),
        Op::GetBusinessEndUsers => {
            let items = state.businesses(key);
            ok(
                endpoint,
                &cursor::<BusinessEndUserCursorPage>(
                    &items,
                    |u| u.id.as_deref(),
                    |u| created(u.created_at.as_ref()),
                    &query,
                )?,
            )
        }
        Op::GetIndividualEndUsers => {
            let items = state.individuals(key);
            ok(
                endpoint,
                &cursor::<IndividualEndUserCursorPage>(
                    &items,
                    |u| u.id.as_deref(),
                    |u| created(u.created_at.as_ref()),
                    &query,
                )?,
            )
        }
        Op::UploadEndUserDocument => {
            // The multipart form's parts, each at most once; `type` one the
            // docs list (quirk 22: not the curl's), `file` a file part
            // (its bytes are not kept), `description` optional text.
            let parts = parse_form(req.content_type, req.body)?;
            // Fields the operation does not know are ignored, as a JSON
            // body's would be (repeated too: a list); one it knows, sent
            // twice, is ambiguous.
            for known in ["type", "file", "description"] {
                if parts.iter().filter(|p| p.name == known).count() > 1 {
                    return Err(ApiError::invalid(
                        known,
                        format!("{known} is given more than once"),
                    ));
                }
            }
            let part = |name: &str| parts.iter().find(|p| p.name == name);
            let kind = part("type").ok_or_else(|| ApiError::missing("type"))?;
            let file = part("file").ok_or_else(|| ApiError::missing("file"))?;
            if file.filename.is_none() {
                return Err(ApiError::invalid(
                    "file",
                    "file must be a file part (with a filename)",
                ));
            }
            if !DocumentType::KNOWN
                .iter()
                .any(|k| k.as_str().as_bytes() == kind.value)
            {
                return Err(ApiError::invalid(
                    "type",
                    "type must be one of the documented document types",
                ));
            }
            if let Some(d) = part("description")
                && std::str::from_utf8(d.value).is_err()
            {
                return Err(ApiError::invalid(
                    "description",
                    "description must be UTF-8 text",
                ));
            }
            ok(
                endpoint,
                &state.upload_document(key, &param(params, "endUserId")?)?,
            )
        }
        Op::CreateDepositAccount => ok(endpoint, &state.create_deposit_account(key, body(req)?)?),
        Op::GetDepositAccounts => {
            let items = state.deposit_accounts(key);
            // No from/to on this list: nothing to window.
            ok(
                endpoint,
                &cursor::<DepositAccountCursorPage>(&items, |u| u.id.as_deref(), |_| None, &query)?,
            )
        }
        Op::RegisterPayee => {
            // The REST answer leaves these out (its docs; the hub has them).
            let payee = Payee {
                disabled: None,
                deleted: None,
                created_at: None,
                ..state.register_payee(key, body(req)?)?
            };
            ok(endpoint, &payee)
        }
        Op::GetPayees => {
            let items = state.payees(key);
            ok(
                endpoint,
                &cursor::<PayeeCursorPage>(
                    &items,
                    |u| u.id.as_deref(),
                    |u| created(u.created_at.as_ref()),
                    &query,
                )?,
            )
        }
        Op::RegisterPayeeAddress => {
            let payee = param(params, "payeeId")?;
            ok(
                endpoint,
                &state.register_payee_address(key, &payee, body(req)?)?,
            )
        }
        Op::GetPayeeAddresses => {
            let payee = q("payeeId").ok_or_else(|| ApiError::missing("payeeId"))?;
            let items = state.payee_addresses(key, &payee);
            ok(
                endpoint,
                &cursor::<PayeeAddressCursorPage>(
                    &items,
                    |u| u.id.as_deref(),
                    |u| created(u.created_at.as_ref()),
                    &query,
                )?,
            )
        }
        Op::CreateTransfer => ok(
            endpoint,
            &state.create_transfer(key, client_id, body(req)?)?,
        ),
        Op::GetTransfers => {
            let window = paging::Window::parse(
                (
                    "startDate",
                    Some(&*q("startDate").ok_or_else(|| ApiError::missing("startDate"))?),
                ),
                (
                    "endDate",
                    Some(&*q("endDate").ok_or_else(|| ApiError::missing("endDate"))?),
                ),
            )?;
            let filter = crate::domain::banking::TransferFilter {
                client_id: q("transferClientId"),
                asset: q("asset"),
                creditor_address: q("creditorAddress"),
                debtor_address: q("debtorAddress"),
                creditor_asset: q("creditorAsset"),
                debtor_asset: q("debtorAsset"),
                creditor_network: q("creditorNetwork"),
                debtor_network: q("debtorNetwork"),
                status: q("status")
                    .map(|s| {
                        s.parse::<i64>()
                            .map_err(|_| ApiError::invalid("status", "status must be an integer"))
                    })
                    .transpose()?,
                ref_id: q("refId"),
            };
            let items = state.transfers(key, &filter, &window);
            ok(
                endpoint,
                &cursor::<TransferCursorPage>(&items, |u| u.id.as_deref(), |_| None, &query)?,
            )
        }
        Op::GetTransactionLedger => ok(
            endpoint,
            &state.ledger_transaction(key, &param(params, "transactionId")?)?,
        ),
        Op::SimulatePayin => ok(endpoint, &state.simulate_payin(key, body(req)?)?),
    }
}

/// The REST price and pair-size answers spell the key `timeStamp` (their
/// docs; the hub's feed says `timestamp`, quirks 1 and 2): the generated
/// types write `timestamp`, so the value moves to `extra` under that name.
fn time_stamp(
    mut extra: std::collections::BTreeMap<String, RawJson>,
    timestamp: Option<&Timestamp>,
) -> std::collections::BTreeMap<String, RawJson> {
    if let Some(raw) = timestamp.and_then(|t| RawJson::encode(t).ok()) {
        extra.insert("timeStamp".to_owned(), raw);
    }
    extra
}

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
struct FormPart<'b> {
    name: String,
    filename: Option<String>,
    value: &'b [u8],
}

fn bad_form(message: &str) -> ApiError {
    ApiError::invalid(
        "body",
        format!("Malformed multipart/form-data body: {message}"),
    )
}

/// Splits a `multipart/form-data` body (RFC 7578) on the boundary its
/// Content-Type names. Every part needs a `form-data` disposition with a
/// name; the parts come back in order, repeated names included.
fn parse_form<'b>(
    content_type: Option<&str>,
    body: &'b [u8],
) -> Result<Vec<FormPart<'b>>, ApiError> {
    let ct = content_type.unwrap_or_default();
    let mut params = ct.split(';').map(str::trim);
    if !params
        .next()
        .is_some_and(|m| m.eq_ignore_ascii_case("multipart/form-data"))
    {
        return Err(bad_form("the Content-Type must be multipart/form-data"));
    }
    let boundary = params
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad_form("the Content-Type names no boundary"))?;
    let delimiter = format!("--{boundary}");
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    // Anything before the first delimiter is a preamble, ignored.
    let mut rest = body
        .get(find(body, delimiter.as_bytes()).ok_or_else(|| bad_form("no boundary line"))?..)
        .unwrap_or_default();
    let mut parts: Vec<FormPart<'b>> = Vec::new();
    let next_delimiter = format!("\r\n{delimiter}");
    loop {
        rest = rest.get(delimiter.len()..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| bad_form("a boundary line must end with CRLF"))?;
        let head_end =
            find(rest, b"\r\n\r\n").ok_or_else(|| bad_form("a part has no header end"))?;
        // Field names may be any text; undecodable bytes do not make the
        // form malformed.
        let head = String::from_utf8_lossy(rest.get(..head_end).unwrap_or_default());
        let content = rest.get(head_end + 4..).unwrap_or_default();
        let end = find(content, next_delimiter.as_bytes())
            .ok_or_else(|| bad_form("the body does not end with the closing boundary"))?;
        let disposition = head
            .split("\r\n")
            .find_map(|line| {
                let (k, v) = line.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then_some(v)
            })
            .ok_or_else(|| bad_form("a part has no Content-Disposition"))?;
        let fields = split_params(disposition);
        if !fields
            .first()
            .is_some_and(|f| f.trim().eq_ignore_ascii_case("form-data"))
        {
            return Err(bad_form("a part's disposition must be form-data"));
        }
        let (mut name, mut filename) = (None, None);
        for f in fields.iter().skip(1) {
            if let Some((k, v)) = f.split_once('=') {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .unwrap_or(v)
                    .to_owned();
                match k.trim().to_ascii_lowercase().as_str() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        }
        let name = name.ok_or_else(|| bad_form("a part has no name"))?;
        let value = content.get(..end).unwrap_or_default();
        rest = content.get(end + 2..).unwrap_or_default();
        parts.push(FormPart {
            name,
            filename,
            value,
        });
    }
}

/// A header value's `;`-separated parameters; a `;` inside quotes (a
/// field name may hold one) does not split.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value.get(start..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=xyz";

    fn form(parts: &[(&str, &str)]) -> String {
        let mut body = String::from("preamble\r\n");
        for (disposition, value) in parts {
            body.push_str(&format!(
                "--xyz\r\nContent-Disposition: form-data; {disposition}\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str("--xyz--\r\n");
        body
    }

    /// Dispatch matches on the generated ids exhaustively; a route whose
    /// table row had no id would answer 500 instead, so none may lack one.
    #[test]
    fn every_routed_endpoint_has_its_operation_id() {
        for endpoint in hercle_models::ENDPOINTS {
            let op = Op::from_name(endpoint.operation_id);
            assert_eq!(
                op.map(|o| o.endpoint().path),
                Some(endpoint.path),
                "{}",
                endpoint.operation_id
            );
        }
        assert_eq!(hercle_models::ENDPOINTS.len(), Op::ALL.len());
    }

    #[test]
    fn forms_split_into_named_parts() {
        let body = form(&[
            (r#"name="type""#, "IDENTITY_VERIFICATION"),
            (r#"name="file"; filename="a.pdf""#, "%PDF\r\nline two"),
        ]);
        let parts = parse_form(Some(CT), body.as_bytes()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "type");
        assert_eq!(parts[1].filename.as_deref(), Some("a.pdf"));
        assert_eq!(
            parts[1].value, b"%PDF\r\nline two",
            "CRLF inside a part is kept"
        );
        let quoted = "multipart/form-data; charset=utf-8; boundary=\"xyz\"";
        assert!(parse_form(Some(quoted), body.as_bytes()).is_ok());
        // Unknown fields, odd names included, are kept out of the way.
        let odd = form(&[
            (r#"name="""#, "{}"),
            (r#"name="a;b""#, "1"),
            ("name=\"\u{c}\"", "2"),
            (r#"name="type""#, "IDENTITY_VERIFICATION"),
        ]);
        let parts = parse_form(Some(CT), odd.as_bytes()).unwrap();
        assert_eq!(parts[1].name, "a;b");
        assert_eq!(parts[3].name, "type");
    }

    #[test]
    fn malformed_forms_are_refused() {
        let good = form(&[(r#"name="type""#, "X")]);
        for (ct, body) in [
            (Some("application/json"), good.clone()),
            (Some("multipart/form-data"), good.clone()),
            (None, good.clone()),
            (Some(CT), good.replace("--xyz--\r\n", "")),
            (Some(CT), form(&[(r#"filename="a""#, "no name")])),
            (
                Some(CT),
                good.replace("Content-Disposition", "Content-Type"),
            ),
        ] {
            let err = parse_form(ct, body.as_bytes()).unwrap_err();
            assert_eq!(err.status(), 400, "{ct:?} {body:?}");
        }
    }
}
