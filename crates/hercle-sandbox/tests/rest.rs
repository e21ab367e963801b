//! The sandbox's REST API over real HTTP on 127.0.0.1, decoded with the
//! generated models.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use hercle_models::catalog::HttpMethod;
use hercle_models::*;
use hercle_sandbox::{ApiKey, Config, RestFault, Sandbox};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

struct Api {
    sandbox: Sandbox,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

struct Resp {
    status: u16,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json<'a, T: serde::Deserialize<'a>>(&'a self) -> T {
        decode(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn error_code(&self) -> String {
        match self.json::<ErrorBody>() {
            ErrorBody::RestErrorDocs(d) => d.error.unwrap().code.unwrap(),
            other => panic!("unexpected error body {other:?}"),
        }
    }
}

impl Api {
    async fn new(config: Config) -> Api {
        Api {
            sandbox: Sandbox::start(config).await.unwrap(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.sandbox.base_url()))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
            .unwrap();
        let resp = self.client.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        self.send(
            method,
            path,
            body,
            &[("authorization", "Bearer sandbox-key")],
        )
        .await
    }
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn balance(b: &GetBalancesResponse, asset: &str) -> Decimal {
    let assets = b.first().unwrap().assets.as_ref().unwrap();
    assets
        .iter()
        .find(|a| a.name == asset)
        .map(|a| a.available)
        .unwrap_or_default()
}

#[tokio::test]
async fn auth_errors_use_the_documented_bodies() {
    let mut config = Config::default();
    config.api_keys.push(ApiKey {
        key: "no-kyc".into(),
        kyc_approved: false,
    });
    let api = Api::new(config).await;
    let r = api.send("GET", "/api/v1/pairs", None, &[]).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "authentication_required")
    );
    let r = api
        .send(
            "GET",
            "/api/v1/pairs",
            None,
            &[("authorization", "sandbox-key")],
        )
        .await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "invalid_api_key")
    );
    let r = api
        .send(
            "GET",
            "/api/v1/pairs",
            None,
            &[("authorization", "Bearer wrong-key-123")],
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(
        !String::from_utf8_lossy(&r.body).contains("wrong-key-123"),
        "the key is never echoed"
    );
    let r = api
        .send(
            "GET",
            "/api/v1/pairs",
            None,
            &[("authorization", "Bearer no-kyc")],
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn every_endpoint_is_served() {
    let api = Api::new(Config::default()).await;
    for e in ENDPOINTS {
        let path = e
            .path
            .replace("{startDate}", "2025-01-01T00:00:00Z")
            .replace("{endDate}", "2025-01-02T00:00:00Z")
            .replace("{page}", "0")
            .replace("{pageSize}", "5")
            .replace("{pair}", "BTCUSDT")
            .replace("{side}", "buy")
            .replace("{amount}", "1000")
            .replace("{size}", "1")
            .replace("{asset}", "BTC");
        let path = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let method = match e.method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
            _ => unreachable!(),
        };
        let query = if e.query.iter().any(|q| q.name == "pageSize") {
            "?pageSize=5&payeeId=x&startDate=2025-01-01T00:00:00Z&endDate=2025-01-02T00:00:00Z"
        } else {
            ""
        };
        let body = e.request.map(|_| "{}");
        let r = api.call(method, &format!("{path}{query}"), body).await;
        // Served means: routed and simulated. Validation errors are fine here.
        assert!(
            matches!(r.status, 200 | 201 | 400 | 404 | 422)
                && !String::from_utf8_lossy(&r.body).contains("No route"),
            "{} {path}: {} {}",
            e.operation_id,
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        assert_ne!(r.status, 501, "{}", e.operation_id);
    }
}

#[tokio::test]
async fn price_order_balances_and_lookups() {
    let api = Api::new(Config::default()).await;
    let pairs: GetPairsResponse = api.call("GET", "/api/v1/pairs", None).await.json();
    assert!(pairs.iter().any(|p| p.name == "BTCUSDT"));
    let before: GetBalancesResponse = api.call("GET", "/api/v1/user/balances", None).await.json();

    let quote: PriceQuote = api
        .call("GET", "/api/v1/price/BTCUSDT/0.5", None)
        .await
        .json();
    let (buy, sell) = (quote.buy_price, quote.sell_price.unwrap());
    assert!(buy > sell, "spread");
    let body = format!(r#"{{"priceId":"{}","side":"buy","slippage":1}}"#, quote.id);
    let r = api
        .send(
            "POST",
            "/api/v1/orders",
            Some(&body),
            &[
                ("authorization", "Bearer sandbox-key"),
                ("client-id", "order-1"),
            ],
        )
        .await;
    assert_eq!(r.status, 201);
    let trade: TradeExecution = r.json();
    assert_eq!(trade.status, OrderStatus::Executed, "{trade:?}");
    assert_eq!(trade.price, Some(buy));
    assert_eq!(trade.notional, Some(buy * d("0.5")));

    let after: GetBalancesResponse = api.call("GET", "/api/v1/user/balances", None).await.json();
    assert_eq!(balance(&after, "BTC") - balance(&before, "BTC"), d("0.5"));
    assert_eq!(
        balance(&before, "USDT") - balance(&after, "USDT"),
        buy * d("0.5")
    );

    let orders: GetOrdersByClientIdResponse =
        api.call("GET", "/api/v1/orders/order-1", None).await.json();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order_status, Some(OrderStatus::Executed));
    let start = "2025-01-01T00%3A00%3A00Z";
    let trades: GetTradesPaginatedResponse = api
        .call(
            "GET",
            &format!("/api/v1/user/trades/{start}/2025-01-07T00:00:00Z/0/5"),
            None,
        )
        .await
        .json();
    assert_eq!(trades.len(), 1);
    let txs: GetTransactionsPaginatedResponse = api
        .call(
            "GET",
            &format!("/api/v1/user/transactions/{start}/2025-01-07T00:00:00Z/0/50"),
            None,
        )
        .await
        .json();
    assert_eq!(
        txs.iter()
            .filter(|t| t.r#type == TransactionType::Trade)
            .count(),
        2
    );
}

#[tokio::test]
async fn unknown_price_id_is_a_201_with_a_rejected_trade() {
    let api = Api::new(Config::default()).await;
    let r = api
        .call(
            "POST",
            "/api/v1/orders",
            Some(r#"{"priceId":"nope","side":"sell","slippage":0.5}"#),
        )
        .await;
    assert_eq!(r.status, 201);
    let t: TradeExecution = r.json();
    assert_eq!(t.status, OrderStatus::Cancelled);
    assert_eq!(t.status_error.as_deref(), Some("Price not found"));
}

#[tokio::test]
async fn client_id_replays_the_original_response_and_does_nothing_twice() {
    let api = Api::new(Config::default()).await;
    let quote: PriceQuote = api
        .call("GET", "/api/v1/price/ETHUSDT/2", None)
        .await
        .json();
    let body = format!(r#"{{"priceId":"{}","side":"sell","slippage":1}}"#, quote.id);
    let headers = [
        ("authorization", "Bearer sandbox-key"),
        ("client-id", "idem-1"),
    ];
    let first = api
        .send("POST", "/api/v1/orders", Some(&body), &headers)
        .await;
    let second = api
        .send("POST", "/api/v1/orders", Some(&body), &headers)
        .await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.body, second.body);
    assert_eq!(
        second.headers.get("x-sandbox-idempotent-replay").unwrap(),
        "true"
    );
    let trades: GetTradesByClientIdResponse = api
        .call("GET", "/api/v1/user/trades/idem-1", None)
        .await
        .json();
    assert_eq!(trades.len(), 1, "executed once");
    let b: GetBalancesResponse = api.call("GET", "/api/v1/user/balances", None).await.json();
    assert_eq!(balance(&b, "ETH"), d("98"));
}

#[tokio::test]
async fn validation_errors_name_the_parameter() {
    let api = Api::new(Config::default()).await;
    let r = api
        .call(
            "GET",
            "/api/v1/user/trades/2025-01-01T00:00:00Z/2025-01-02T00:00:00Z/0/4",
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    let ErrorBody::RestErrorDocs(e) = r.json::<ErrorBody>() else {
        panic!()
    };
    assert_eq!(e.error.unwrap().param.as_deref(), Some("pageSize"));
    let r = api
        .call(
            "GET",
            "/api/v1/user/trades/2025-01-01T00:00:00Z/2025-01-20T00:00:00Z/0/5",
            None,
        )
        .await;
    // Well-formed dates whose range breaks a rule no schema can state: 422.
    assert_eq!(r.status, 422, "7-day limit");
    // A malformed date is a 400 naming it, in the query too (issue 14:
    // GET /api/v1/withdrawals used to accept any endDate).
    let r = api
        .call("GET", "/api/v1/withdrawals?endDate=yesterday", None)
        .await;
    assert_eq!(r.status, 400);
    let ErrorBody::RestErrorDocs(e) = r.json::<ErrorBody>() else {
        panic!()
    };
    assert_eq!(e.error.unwrap().param.as_deref(), Some("endDate"));
    // A `+` offset in a path date is a plus, not a form-encoded space.
    let r = api
        .call(
            "GET",
            "/api/v1/user/trades/2025-01-01T00:00:00%2B01:00/2025-01-02T00:00:00+01:00/0/5",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    // A served path with another method: 405 listing the methods.
    let r = api.call("PUT", "/api/v1/withdrawals/address", None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");
    let r = api
        .call(
            "POST",
            "/api/v1/orders",
            Some(r#"{"priceId":"p","side":"buy","slippage":"one"}"#),
        )
        .await;
    assert_eq!(r.status, 400);
    let ErrorBody::RestErrorDocs(e) = r.json::<ErrorBody>() else {
        panic!()
    };
    assert_eq!(e.error.unwrap().param.as_deref(), Some("slippage"));
    let r = api.call("GET", "/api/v1/transactions/missing", None).await;
    assert_eq!(r.status, 404);
    let r = api.call("GET", "/api/v1/nothing-here", None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn injected_faults_apply_then_clear() {
    let api = Api::new(Config::default()).await;
    api.sandbox.inject_rest_fault(RestFault {
        status: Some(503),
        delay: None,
        count: 2,
    });
    assert_eq!(api.call("GET", "/api/v1/pairs", None).await.status, 503);
    assert_eq!(api.call("GET", "/api/v1/pairs", None).await.status, 503);
    assert_eq!(api.call("GET", "/api/v1/pairs", None).await.status, 200);
    let r = api
        .send(
            "POST",
            "/_sandbox/faults/rest",
            Some(r#"{"status":429,"count":1}"#),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(api.call("GET", "/api/v1/pairs", None).await.status, 429);
    assert_eq!(api.call("GET", "/api/v1/pairs", None).await.status, 200);
}

#[tokio::test]
async fn withdrawal_needs_a_whitelisted_address() {
    let api = Api::new(Config::default()).await;
    let w = r#"{"asset":"BTC","amount":0.25,"address":"bc1qsandbox","network":"Bitcoin"}"#;
    assert_eq!(
        api.call("POST", "/api/v1/withdrawals", Some(w))
            .await
            .status,
        422,
        "a valid request refused for the account's state"
    );
    let r = api
        .call(
            "POST",
            "/api/v1/addresses/whitelist",
            Some(r#"{"name":"cold","asset":"BTC","address":"bc1qsandbox","network":"Bitcoin"}"#),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = api.call("POST", "/api/v1/withdrawals", Some(w)).await;
    assert_eq!(r.status, 201);
    let created: WithdrawResponse = r.json();
    let w = created.first().unwrap();
    assert_eq!(
        (w.amount, w.fee, w.status.clone()),
        (
            Some(d("0.25")),
            Some(d("0.00025")),
            Some(WithdrawalStatus::Created)
        )
    );
    let b: GetBalancesResponse = api.call("GET", "/api/v1/user/balances", None).await.json();
    assert_eq!(balance(&b, "BTC"), d("9.74975"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_withdrawals_execute_once() {
    let api = std::sync::Arc::new(Api::new(Config::default()).await);
    let r = api
        .call(
            "POST",
            "/api/v1/addresses/whitelist",
            Some(r#"{"name":"cold","asset":"BTC","address":"bc1qsandbox","network":"Bitcoin"}"#),
        )
        .await;
    assert_eq!(r.status, 201);
    let w = r#"{"asset":"BTC","amount":0.1,"address":"bc1qsandbox","network":"Bitcoin"}"#;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (api, barrier) = (api.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let headers = [
                    ("authorization", "Bearer sandbox-key"),
                    ("client-id", "same-withdrawal"),
                ];
                api.send("POST", "/api/v1/withdrawals", Some(w), &headers)
                    .await
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for call in calls {
        let r = call.await.unwrap();
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        bodies.push(r.body);
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "one answer for all");
    let b: GetBalancesResponse = api.call("GET", "/api/v1/user/balances", None).await.json();
    assert_eq!(
        balance(&b, "BTC"),
        d("9.8999"),
        "10 - 0.1 - 0.0001 fee, once"
    );
}

#[tokio::test]
async fn banking_flow_and_cursor_pages() {
    let api = Api::new(Config::default()).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        // Every field the docs mark required (the description enforces them).
        let body = format!(
            r#"{{"type":0,"name":"Payee {i}","surname":"Doe","company":"","country":"GB","state":"","city":"London","address":"1 High St","postalCode":"N1 1AA"}}"#
        );
        let r = api.call("POST", "/api/v1/payee", Some(&body)).await;
        assert_eq!(r.status, 201);
        ids.push(r.json::<Payee>().id.unwrap());
    }
    let first: GetPayeesResponse = api
        .call("GET", "/api/v1/payees?pageSize=5", None)
        .await
        .json();
    assert_eq!(first.payload.as_ref().unwrap().len(), 5);
    let token = first.pagination_token.clone().unwrap();
    let second: GetPayeesResponse = api
        .call(
            "GET",
            &format!(
                "/api/v1/payees?pageSize=5&paginationToken={}",
                token
                    .replace('"', "%22")
                    .replace('{', "%7B")
                    .replace('}', "%7D")
            ),
            None,
        )
        .await
        .json();
    assert_eq!(second.payload.as_ref().unwrap().len(), 2);
    assert!(second.pagination_token.is_none());

    let r = api.call("POST", &format!("/api/v1/payees/{}/addresses", ids[0]), Some(r#"{"name":"eur","asset":"EUR","address":"LT601010012345678901","network":"Sepa","addressParams":{}}"#)).await;
    assert_eq!(r.status, 422, "EUR needs bic");
    let r = api.call("POST", &format!("/api/v1/payees/{}/addresses", ids[0]), Some(r#"{"name":"eur","asset":"EUR","address":"LT601010012345678901","network":"Sepa","addressParams":{"bic":"SBXXLT22"}}"#)).await;
    let pa: PayeeAddress = r.json();
    let body = format!(
        r#"{{"asset":"EUR","amount":150.50,"internalAddressId":"fac_1","payeeAddressId":"{}","description":"rent"}}"#,
        pa.id.unwrap()
    );
    let r = api.call("POST", "/api/v1/transfer", Some(&body)).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json::<TransferCreated>().amount, Some(d("150.50")));

    let r = api
        .call(
            "POST",
            "/api/v1/deposit-accounts",
            Some(r#"{"asset":"EUR","network":"Sepa","fiatAccountId":"fac_1"}"#),
        )
        .await;
    let account: DepositAccount = r.json();
    let vac = account.ref_account_id.unwrap();
    assert!(vac.starts_with("vac_"));
    let payin = format!(
        r#"{{"amount":1000,"toAddress":"{vac}","from":{{"iban":"DE89370400440532013000"}},"fromType":"PERSON","paymentScheme":"SCT","reference":"t"}}"#
    );
    let r = api
        .call("POST", "/api/v1/simulate-payin", Some(&payin))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let b: GetBalancesResponse = api.call("GET", "/api/v1/user/balances", None).await.json();
    assert_eq!(balance(&b, "EUR"), d("1000000") - d("150.50") + d("1000"));
}

#[tokio::test]
async fn dropped_answers_are_processed_but_never_sent() {
    let api = Api::new(Config::default()).await;
    let r = api
        .send(
            "POST",
            "/_sandbox/faults/drop-responses",
            Some(r#"{"perMille":1000}"#),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let req = hyper::Request::builder()
        .method("POST")
        .uri(format!("{}/api/v1/payee", api.sandbox.base_url()))
        .header("authorization", "Bearer sandbox-key")
        .body(Full::new(Bytes::from_static(
            br#"{"type":0,"name":"Dropped","surname":"One","company":"","country":"GB","state":"London","city":"London","address":"1 Road","postalCode":"N1 1AA"}"#,
        )))
        .unwrap();
    let err = api.client.request(req).await.unwrap_err();
    assert!(!err.is_connect(), "sent, then the connection closed: {err}");
    api.sandbox.drop_responses(0);
    let payees: GetPayeesResponse = api
        .call("GET", "/api/v1/payees?pageSize=5", None)
        .await
        .json();
    let names: Vec<_> = payees
        .payload
        .unwrap()
        .into_iter()
        .filter_map(|p| p.name)
        .collect();
    assert_eq!(names, ["Dropped"], "processed although unanswered");
}
