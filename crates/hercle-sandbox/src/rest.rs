//! The REST front end: every endpoint of the description at its path, with
//! Bearer auth, rate limiting, `Client-Id` idempotency and the documented
//! error bodies. Routing comes from the generated endpoint table.

use crate::error::{ApiError, ErrorKind};
use crate::funding::WithdrawInput;
use crate::paging;
use crate::server::{Query, path_decode};
use crate::server::{Reply, Shared};
use crate::state::State;
use hercle_models::catalog::{Endpoint, HttpMethod};
use hercle_models::contract::{self, Location};
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

pub(crate) fn error_reply(err: &ApiError) -> Reply {
    Reply::json(err.status(), &err.body())
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

/// Handles one REST request end to end (auth, limits, idempotency, op).
pub(crate) fn handle(shared: &Shared, req: &RestRequest<'_>) -> Reply {
    let Some((endpoint, params)) = method_of(req.method).and_then(|m| Endpoint::route(m, req.path))
    else {
        return no_route(req);
    };
    let key = match shared.authenticate(req.authorization) {
        Ok(k) => k,
        Err(e) => return error_reply(&e),
    };
    if let Err((e, wait)) = shared.rate_limit(&key) {
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
            let mut state = shared.state();
            let client_id = req.client_id.map_or_else(|| state.new_id(), str::to_owned);
            dispatch(&mut state, &key, &client_id, endpoint, &params, req)
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
            shared.idempotent(k, execute)
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

fn offset(params: &[(&str, &str)], endpoint: &Endpoint) -> Result<paging::OffsetPage, ApiError> {
    paging::offset(
        &param(params, "startDate")?,
        &param(params, "endDate")?,
        &param(params, "page")?,
        &param(params, "pageSize")?,
        endpoint.max_range_days,
    )
}

fn cursor<T: Clone>(
    items: &[T],
    id_of: impl Fn(&T) -> Option<&str>,
    query: &Query,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let size = query
        .get("pageSize")
        .ok_or_else(|| ApiError::missing("pageSize"))?;
    paging::cursor(items, id_of, size, query.get("paginationToken"))
}

fn parse_decimal(param_name: &str, text: &str) -> Result<Decimal, ApiError> {
    decimal::parse_exact(text)
        .map_err(|_| ApiError::invalid(param_name, format!("{param_name} must be a number")))
}

fn dispatch(
    state: &mut State,
    key: &str,
    client_id: &str,
    endpoint: &Endpoint,
    params: &[(&str, &str)],
    req: &RestRequest<'_>,
) -> Result<(u16, Vec<u8>), ApiError> {
    let query = Query::parse(Some(req.query));
    let q = |k: &str| query.get(k).map(str::to_owned);
    match endpoint.operation_id {
        "GetPairs" => ok(endpoint, &state.market.pairs()),
        "GetPairSizeByAmount" => {
            let side = Side::from_wire(&param(params, "side")?);
            let amount = parse_decimal("amount", &param(params, "amount")?)?;
            let pair = param(params, "pair")?;
            let v = state
                .market
                .pair_size(&pair, &side, amount, &state.clock.clone())?;
            ok(endpoint, &v)
        }
        "GetAssetNetworks" => {
            let asset = param(params, "asset")?;
            ok(endpoint, &networks(&asset))
        }
        "GetPairPrice" => {
            let size = parse_decimal("size", &param(params, "size")?)?;
            let clock = state.clock.clone();
            ok(
                endpoint,
                &state.market.quote(&param(params, "pair")?, size, &clock)?,
            )
        }
        "PlaceOtcOrder" => {
            let r: PlaceOtcOrderRequest = body(req)?;
            ok(endpoint, &state.place_order(key, client_id, &r)?)
        }
        "GetOrdersByClientId" => ok(
            endpoint,
            &state.orders_by_client_id(key, &param(params, "clientId")?),
        ),
        "GetOrdersPaginated" => ok(
            endpoint,
            &state.orders_page(key, &offset(params, endpoint)?),
        ),
        "CreateRfq" => {
            let r: CreateRfqRequest = body(req)?;
            ok(
                endpoint,
                &state.create_rfq(key, r.pair, r.side, r.size, r.amount, None)?,
            )
        }
        "CreateRfqCustomExpiration" => {
            let r: CreateRfqCustomExpirationRequest = body(req)?;
            let secs = r
                .expiration_in_seconds
                .ok_or_else(|| ApiError::missing("expirationInSeconds"))?;
            ok(
                endpoint,
                &state.create_rfq(key, r.pair, r.side, r.size, r.amount, Some(secs))?,
            )
        }
        "AcceptRfq" => {
            let r: AcceptRfqRequest = body(req)?;
            ok(
                endpoint,
                &state.accept_rfq(key, client_id, r.request_for_quote_id)?,
            )
        }
        "GetBalances" => ok(endpoint, &vec![state.balances(key)]),
        "GetTradesByClientId" => ok(
            endpoint,
            &state.trades_by_client_id(key, &param(params, "tradeClientId")?),
        ),
        "GetTradesPaginated" | "GetHistoricalTradesPaginated" => ok(
            endpoint,
            &state.trades_page(key, &offset(params, endpoint)?),
        ),
        "GetTransactionsPaginated" | "GetHistoricalTransactionsPaginated" => ok(
            endpoint,
            &state.transactions_page(key, &offset(params, endpoint)?),
        ),
        "WhitelistAddress" => {
            let r: WhitelistAddressRequest = body(req)?;
            ok(
                endpoint,
                &state.whitelist_address(key, r.name, r.asset, r.address, None, r.network)?,
            )
        }
        "WhitelistAddressWithParams" => {
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
        "GetWhitelistedAddresses" => ok(endpoint, &state.whitelisted(key)),
        "RemoveWhitelistedAddress" => {
            let r: RemoveWhitelistedAddressRequest = body(req)?;
            // The docs' curl sends `id` (quirk 18): accept it too.
            let id = r.address_id.or(r.id);
            ok(endpoint, &state.remove_whitelisted(key, id)?)
        }
        "GetDepositAddresses" => ok(endpoint, &state.deposit_addresses(key)),
        "CreateDepositAddress" => {
            let r: CreateDepositAddressRequest = body(req)?;
            ok(
                endpoint,
                &state.create_deposit_address(key, r.asset, r.network)?,
            )
        }
        "Withdraw" | "InstantWithdraw" => {
            let r: WithdrawRequest = body(req)?;
            let input = WithdrawInput {
                asset: r.asset,
                amount: r.amount,
                address: r.address,
                address_params: None,
                network: r.network,
                instant: endpoint.operation_id == "InstantWithdraw",
            };
            ok(endpoint, &state.withdraw(key, client_id, input)?)
        }
        "WithdrawWithAddressParams" => {
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
        "GetWithdrawals" => {
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
        "GetWithdrawalsByClientId" => {
            let cid = param(params, "withdrawClientId")?;
            let list: Vec<Withdrawal> = state
                .withdrawals(key)
                .into_iter()
                .filter(|w| w.client_id.as_deref() == Some(cid.as_str()))
                .collect();
            ok(endpoint, &list)
        }
        "GetWithdrawalsPaginated" => ok(
            endpoint,
            &state.withdrawals_page(key, &offset(params, endpoint)?),
        ),
        "CreateLightningInvoice" => {
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
        "GetLightningInvoices" => ok(
            endpoint,
            &LightningInvoiceList {
                invoices: Some(state.invoices(key)),
                ..Default::default()
            },
        ),
        "CreateLightningWithdrawal" => {
            let r: CreateLightningWithdrawalRequest = body(req)?;
            ok(
                endpoint,
                &state.lightning_withdraw(key, r.payment_request_hash)?,
            )
        }
        "RegisterBusinessEndUser" => ok(endpoint, &state.register_business(key, body(req)?)?),
        "RegisterIndividualEndUser" => ok(endpoint, &state.register_individual(key, body(req)?)?),
        "GetBusinessEndUsers" => {
            let items = state.account(key).banking.businesses.clone();
            let (payload, token) = cursor(&items, |u| u.id.as_deref(), &query)?;
            ok(
                endpoint,
                &BusinessEndUserCursorPage {
                    payload: Some(payload),
                    pagination_token: token,
                    ..Default::default()
                },
            )
        }
        "GetIndividualEndUsers" => {
            let items = state.account(key).banking.individuals.clone();
            let (payload, token) = cursor(&items, |u| u.id.as_deref(), &query)?;
            ok(
                endpoint,
                &IndividualEndUserCursorPage {
                    payload: Some(payload),
                    pagination_token: token,
                    ..Default::default()
                },
            )
        }
        "UploadEndUserDocument" => {
            // The multipart form's required parts (the file itself is not
            // kept); the type is one the docs list (quirk 22: not the curl's).
            let kind = form_field(req.body, "type").ok_or_else(|| ApiError::missing("type"))?;
            form_field(req.body, "file").ok_or_else(|| ApiError::missing("file"))?;
            if !DocumentType::KNOWN
                .iter()
                .any(|k| k.as_str().as_bytes() == kind)
            {
                return Err(ApiError::invalid(
                    "type",
                    "type must be one of the documented document types",
                ));
            }
            ok(
                endpoint,
                &state.upload_document(key, &param(params, "endUserId")?)?,
            )
        }
        "CreateDepositAccount" => ok(endpoint, &state.create_deposit_account(key, body(req)?)?),
        "GetDepositAccounts" => {
            let items = state.account(key).banking.deposit_accounts.clone();
            let (payload, token) = cursor(&items, |u| u.id.as_deref(), &query)?;
            ok(
                endpoint,
                &DepositAccountCursorPage {
                    payload: Some(payload),
                    pagination_token: token,
                    ..Default::default()
                },
            )
        }
        "RegisterPayee" => ok(endpoint, &state.register_payee(key, body(req)?)?),
        "GetPayees" => {
            let items = state.account(key).banking.payees.clone();
            let (payload, token) = cursor(&items, |u| u.id.as_deref(), &query)?;
            ok(
                endpoint,
                &PayeeCursorPage {
                    payload: Some(payload),
                    pagination_token: token,
                    ..Default::default()
                },
            )
        }
        "RegisterPayeeAddress" => {
            let payee = param(params, "payeeId")?;
            ok(
                endpoint,
                &state.register_payee_address(key, &payee, body(req)?)?,
            )
        }
        "GetPayeeAddresses" => {
            let payee = q("payeeId").ok_or_else(|| ApiError::missing("payeeId"))?;
            let items: Vec<PayeeAddress> = state
                .account(key)
                .banking
                .payee_addresses
                .iter()
                .filter(|a| a.payee_id.as_deref() == Some(payee.as_str()))
                .cloned()
                .collect();
            let (payload, token) = cursor(&items, |u| u.id.as_deref(), &query)?;
            ok(
                endpoint,
                &PayeeAddressCursorPage {
                    payload: Some(payload),
                    pagination_token: token,
                    ..Default::default()
                },
            )
        }
        "CreateTransfer" => ok(
            endpoint,
            &state.create_transfer(key, client_id, body(req)?)?,
        ),
        "GetTransfers" => {
            for p in ["startDate", "endDate"] {
                q(p).ok_or_else(|| ApiError::missing(p))?;
            }
            let mut items = state.account(key).banking.transfers.clone();
            if let Some(cid) = q("transferClientId") {
                items.retain(|t| t.client_id.as_deref() == Some(cid.as_str()));
            }
            let (payload, token) = cursor(&items, |u| u.id.as_deref(), &query)?;
            ok(
                endpoint,
                &TransferCursorPage {
                    payload: Some(payload),
                    pagination_token: token,
                    ..Default::default()
                },
            )
        }
        "GetTransactionLedger" => ok(
            endpoint,
            &state.ledger_transaction(key, &param(params, "transactionId")?)?,
        ),
        "SimulatePayin" => ok(endpoint, &state.simulate_payin(key, body(req)?)?),
        other => Err(ApiError {
            kind: ErrorKind::Server(501),
            code: "not_implemented",
            message: format!("{other} is not simulated"),
            param: None,
        }),
    }
}

/// The value of a `multipart/form-data` part named `name`: the bytes between
/// the part's blank line and the next CRLF boundary line.
fn form_field<'b>(body: &'b [u8], name: &str) -> Option<&'b [u8]> {
    let marker = format!("name=\"{name}\"");
    let at = body
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())?;
    let rest = body.get(at + marker.len()..)?;
    let start = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let value = rest.get(start..)?;
    let end = value
        .windows(4)
        .position(|w| w == b"\r\n--")
        .unwrap_or(value.len());
    value.get(..end)
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
