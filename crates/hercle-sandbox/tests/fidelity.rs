//! The sandbox answers as the documentation shows: every REST operation and
//! every hub method (in both argument shapes) is called once, each reply
//! decodes into its generated type, and every key that a documented example
//! under `fixtures/` shows is in the reply (docs win over Postman where they
//! spell a key differently), while keys the docs say are absent stay absent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "hub_support/client.rs"]
mod client;

use client::{Hub, KEY, Msg, connect, http};
use hercle_models::catalog::{Endpoint, HubMethod};
use hercle_models::{__fixture_roundtrip, ENDPOINTS, HUB_METHODS, HubEnvelope, decode_str};
use hercle_sandbox::{Config, Sandbox};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Documented examples of an operation's reply that live elsewhere in
/// `fixtures/` (another operation with the same reply type, or a model
/// example the docs give for this operation).
const REST_ALSO: &[(&str, &[&str])] = &[
    (
        "CreateRfqCustomExpiration",
        &[
            "rest/CreateRfq/response-201-docs.json",
            "rest/CreateRfq/response-201-postman.json",
        ],
    ),
    (
        "WhitelistAddressWithParams",
        &[
            "rest/WhitelistAddress/response-201-docs.json",
            "rest/WhitelistAddress/response-201-postman.json",
        ],
    ),
    (
        "GetOrdersByClientId",
        &["models/Order/docs-GetOrdersByClientId-response-docs-first-item.json"],
    ),
    (
        "GetWhitelistedAddresses",
        &["models/WhitelistedAddress/docs-GetWhitelistedAddresses-response-docs-first-item.json"],
    ),
    (
        "GetDepositAddresses",
        &["hub/GetDepositAddress/data-docs-partial.json"],
    ),
    (
        "CreateDepositAddress",
        &[
            "rest/GetDepositAddresses/response-200-postman.json",
            "hub/GetDepositAddress/data-docs-partial.json",
        ],
    ),
    (
        "GetWithdrawalsByClientId",
        &["models/Withdrawal/docs-GetWithdrawalsByClientId-response-docs-first-item-partial.json"],
    ),
    (
        "UploadEndUserDocument",
        &["models/DocumentUploadResult/docs-UploadEndUserDocument-response-partial.json"],
    ),
    (
        "RegisterPayee",
        &["models/Payee/docs-RegisterPayee-response-partial.json"],
    ),
    (
        "GetPayees",
        &["models/Payee/docs-GetPayees-response-partial.json"],
    ),
    (
        "GetTransactionLedger",
        &["hub/GetTransactionLedger/data-docs-partial.json"],
    ),
];

const HUB_ALSO: &[(&str, &[&str])] = &[
    (
        "CreateRequestForQuoteWithCustomExpiration",
        &["hub/CreateRequestForQuote/data-docs.json"],
    ),
    (
        "GetOrdersPaginated",
        &["hub/GetOrdersByClientId/data-docs-partial.json"],
    ),
    (
        "GetTradesPaginated",
        &["hub/GetHistoricalTradesPaginated/data-docs.json"],
    ),
    (
        "GetTradesByClientId",
        &["hub/GetHistoricalTradesPaginated/data-docs.json"],
    ),
    (
        "GetHistoricalTransactionsPaginated",
        &["hub/GetTransactionsPaginated/data-docs.json"],
    ),
    (
        "WithdrawFunds",
        &["hub/WithdrawInstantFunds/data-docs-partial.json"],
    ),
    (
        "WithdrawFundsWithAddressParams",
        &["hub/WithdrawInstantFunds/data-docs-partial.json"],
    ),
    (
        "GetWithdrawalsByClientId",
        &["hub/GetWithdrawalsPaginated/data-docs-partial.json"],
    ),
    (
        "GetPayeesPaginated",
        &["models/Payee/docs-GetPayees-response-partial.json"],
    ),
    (
        "RegisterPayee",
        &["models/Payee/docs-RegisterPayee-response-partial.json"],
    ),
];

/// Keys the docs say a reply does not have.
const REST_ABSENT: &[(&str, &[&str])] = &[
    // The REST price and pair-size replies spell it `timeStamp` (quirks 1, 2).
    ("GetPairPrice", &["timestamp"]),
    ("GetPairSizeByAmount", &["timestamp"]),
    ("CreateTransfer", &["httpStatusCode", "message"]),
    ("RegisterPayee", &["disabled", "deleted", "createdAt"]),
];

const HUB_ABSENT: &[(&str, &[&str])] = &[
    ("GetPairSizeByAmount", &["timeStamp"]),
    ("SubscribePairPriceChannel", &["timeStamp"]),
    ("CreateDepositAddress", &["deleted", "creationDate"]),
    ("GetLightningInvoices", &["domainEvents"]),
];

fn also(table: &[(&str, &'static [&'static str])], name: &str) -> Vec<PathBuf> {
    table
        .iter()
        .filter(|(n, _)| *n == name)
        .flat_map(|(_, files)| files.iter().map(|f| fixtures().join(f)))
        .collect()
}

fn absent(table: &[(&str, &'static [&'static str])], name: &str) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(n, _)| *n == name)
        .flat_map(|(_, keys)| keys.iter().copied())
        .collect()
}

/// The documented examples of a reply: files of its own folder whose name
/// starts with `prefix` (hand-written `quirk-` variants are not
/// documentation), then the table's extra files.
fn examples(dir: &str, prefix: &str, extra: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    name.starts_with(prefix) && !name.contains("quirk")
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.extend(extra);
    files
}

/// The keys of a reply: each item's keys (an array's elements, a cursor
/// page's `payload` elements, or the object itself) and, for arrays of
/// objects inside an item, `key[].inner`. Numbers are never parsed.
fn keys(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let t = text.trim();
    if t.starts_with('[') {
        let items: Vec<Box<RawValue>> = serde_json::from_str(t).unwrap();
        for i in items {
            out.extend(keys(i.get()));
        }
        return out;
    }
    if !t.starts_with('{') {
        return out;
    }
    let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(t).unwrap();
    if let Some(payload) = map.get("payload")
        && payload.get().trim_start().starts_with('[')
    {
        return keys(payload.get());
    }
    for (k, v) in &map {
        out.insert(k.clone());
        if v.get().trim_start().starts_with('[') {
            let inner: Vec<Box<RawValue>> = serde_json::from_str(v.get()).unwrap();
            for i in inner
                .iter()
                .filter(|i| i.get().trim_start().starts_with('{'))
            {
                let m: BTreeMap<String, Box<RawValue>> = serde_json::from_str(i.get()).unwrap();
                out.extend(m.keys().map(|ik| format!("{k}[].{ik}")));
            }
        }
    }
    out
}

/// More examples of a nested object's documented shapes, where an
/// operation's own examples show only one variant: every deposit address
/// reply holds virtual-account (bank) or crypto-account details.
const NESTED_ALSO: &[(&str, &[&str])] = &[
    ("GetDepositAddresses", DEPOSIT_ADDRESS_VARIANTS),
    ("CreateDepositAddress", DEPOSIT_ADDRESS_VARIANTS),
    ("GetDepositAddress", DEPOSIT_ADDRESS_VARIANTS),
];
const DEPOSIT_ADDRESS_VARIANTS: &[&str] = &[
    "hub/CreateDepositAddress/data-docs.json",
    "hub/GetDepositAddress/data-docs-partial.json",
];

/// Properties that are free-form maps of the caller's own data (the
/// description types them as string maps): what keys an example shows
/// inside them says nothing about the shape.
const FREE_FORM: &[&str] = &["addressParams"];

/// The nested objects of a reply (inside an item, at any depth; an item is
/// an array's element, a cursor page's `payload` element, or the object
/// itself): for each path (`refAccountDetails`, `x[].y`, …) the key set
/// of every object found there.
fn shapes(text: &str) -> BTreeMap<String, Vec<BTreeSet<String>>> {
    fn walk(prefix: &str, text: &str, out: &mut BTreeMap<String, Vec<BTreeSet<String>>>) {
        let t = text.trim_start();
        if t.starts_with('[') {
            let items: Vec<Box<RawValue>> = serde_json::from_str(t).unwrap();
            for i in items {
                walk(&format!("{prefix}[]"), i.get(), out);
            }
        } else if t.starts_with('{') {
            let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(t).unwrap();
            if !prefix.is_empty() {
                out.entry(prefix.to_owned())
                    .or_default()
                    .push(map.keys().cloned().collect());
            }
            for (k, v) in &map {
                if !FREE_FORM.contains(&k.as_str()) {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v.get(), out);
                }
            }
        }
    }
    let t = text.trim();
    let mut out = BTreeMap::new();
    if t.starts_with('[') {
        let items: Vec<Box<RawValue>> = serde_json::from_str(t).unwrap();
        for i in items {
            for (path, sets) in shapes(i.get()) {
                out.entry(path).or_insert_with(Vec::new).extend(sets);
            }
        }
        return out;
    }
    if t.starts_with('{') {
        let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(t).unwrap();
        if let Some(payload) = map.get("payload")
            && payload.get().trim_start().starts_with('[')
        {
            return shapes(payload.get());
        }
        walk("", t, &mut out);
    }
    out
}

/// Nested objects: each one the reply holds has every key of one of the
/// objects the examples show at the same path (a nested object may come in
/// several documented variants: `refAccountDetails` is bank details for a
/// virtual account, custody details for a crypto one).
fn nested_problems(what: &str, text: &str, files: &[PathBuf]) -> Vec<String> {
    let mut documented: BTreeMap<String, Vec<BTreeSet<String>>> = BTreeMap::new();
    for f in files {
        for (path, sets) in shapes(&std::fs::read_to_string(f).unwrap()) {
            documented.entry(path).or_default().extend(sets);
        }
    }
    let mut problems = Vec::new();
    for (path, sets) in shapes(text) {
        let Some(variants) = documented.get(&path) else {
            continue;
        };
        for have in sets {
            if !variants.iter().any(|v| v.is_subset(&have)) {
                problems.push(format!(
                    "{what}: `{path}` has keys {have:?}, no documented shape fits: {variants:?}"
                ));
            }
        }
    }
    problems
}

/// Every key the examples show; where a docs example and another source
/// spell a key differently (only by case), the docs' spelling wins.
fn documented(files: &[PathBuf]) -> BTreeSet<String> {
    let read = |p: &PathBuf| keys(&std::fs::read_to_string(p).unwrap());
    let is_docs = |p: &PathBuf| p.to_string_lossy().contains("docs");
    let docs: BTreeSet<String> = files.iter().filter(|p| is_docs(p)).flat_map(read).collect();
    let mut all = docs.clone();
    for k in files.iter().filter(|p| !is_docs(p)).flat_map(read) {
        if !docs.iter().any(|d| d != &k && d.eq_ignore_ascii_case(&k)) {
            all.insert(k);
        }
    }
    all
}

/// Checks one reply; returns the problems found.
fn check(
    what: &str,
    name: &str,
    type_name: Option<&str>,
    text: &str,
    files: &[PathBuf],
    absent: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(ty) = type_name {
        match __fixture_roundtrip(ty, text) {
            Some(Ok(_)) => {}
            Some(Err(e)) => problems.push(format!("{what}: does not decode as {ty}: {e}: {text}")),
            None => problems.push(format!("{what}: no generated type {ty}")),
        }
    }
    let have = keys(text);
    let missing: Vec<_> = documented(files).difference(&have).cloned().collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{what}: documented keys missing {missing:?} in {text}"
        ));
    }
    let mut shape_files = files.to_vec();
    shape_files.extend(also(NESTED_ALSO, name));
    problems.extend(nested_problems(what, text, &shape_files));
    let extra: Vec<_> = absent.iter().filter(|k| have.contains(**k)).collect();
    if !extra.is_empty() {
        problems.push(format!(
            "{what}: keys the docs leave out are present {extra:?}"
        ));
    }
    problems
}

// ---------------------------------------------------------------- REST

struct Rest {
    addr: SocketAddr,
    /// (operationId, status, body) of every call.
    replies: Vec<(&'static str, u16, String)>,
}

impl Rest {
    async fn call(
        &mut self,
        op: &'static str,
        path: &str,
        body: &str,
        client_id: Option<&str>,
    ) -> String {
        let e = Endpoint::find(op).unwrap();
        let auth = format!("Bearer {KEY}");
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        if let Some(c) = client_id {
            headers.push(("Client-Id", c));
        }
        let r = http(self.addr, e.method.as_str(), path, &headers, body).await;
        assert!(
            e.success.contains(&r.status),
            "{op} {path}: {} {}",
            r.status,
            r.body
        );
        self.replies.push((op, r.status, r.body.clone()));
        r.body
    }

    async fn multipart(&mut self, op: &'static str, path: &str, parts: &[(&str, &str)]) -> String {
        let boundary = "sandbox-boundary-7MA4YWxk";
        let mut body = String::new();
        for (name, value) in parts {
            let file = if *name == "file" {
                "; filename=\"passport.pdf\"\r\nContent-Type: application/pdf"
            } else {
                ""
            };
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let auth = format!("Bearer {KEY}");
        let ct = format!("multipart/form-data; boundary={boundary}");
        let r = http(
            self.addr,
            "POST",
            path,
            &[("Authorization", &auth), ("Content-Type", &ct)],
            &body,
        )
        .await;
        assert_eq!(r.status / 100, 2, "{op}: {} {}", r.status, r.body);
        self.replies.push((op, r.status, r.body.clone()));
        r.body
    }
}

/// A string field of a JSON reply (first item of an array, or the object).
fn field(text: &str, name: &str) -> String {
    let t = text.trim();
    let obj = if t.starts_with('[') {
        let items: Vec<Box<RawValue>> = serde_json::from_str(t).unwrap();
        items[0].get().to_owned()
    } else {
        t.to_owned()
    };
    let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&obj).unwrap();
    let raw = map
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .get();
    serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_owned())
}

const FROM: &str = "2025-01-01T00:00:00Z";
const TO: &str = "2025-01-02T00:00:00Z";

/// Calls every REST operation once, in an order where each finds what it
/// needs (a price id, an RFQ, a whitelisted address, a payee...).
async fn rest_scenario(addr: SocketAddr) -> Vec<(&'static str, u16, String)> {
    let mut r = Rest {
        addr,
        replies: Vec::new(),
    };
    r.call("GetPairs", "/api/v1/pairs", "", None).await;
    let size = r
        .call(
            "GetPairSizeByAmount",
            "/api/v1/pairs/BTCUSDT/buy/1000",
            "",
            None,
        )
        .await;
    let price_id = field(&size, "id");
    r.call("GetAssetNetworks", "/api/v1/pairs/networks/BTC", "", None)
        .await;
    r.call("GetPairPrice", "/api/v1/price/BTCUSDT/0.01", "", None)
        .await;
    r.call(
        "PlaceOtcOrder",
        "/api/v1/orders",
        &format!(r#"{{"priceId":"{price_id}","side":"buy","slippage":1}}"#),
        Some("order-1"),
    )
    .await;
    r.call("GetOrdersByClientId", "/api/v1/orders/order-1", "", None)
        .await;
    let range = format!("{FROM}/{TO}/0/10");
    r.call(
        "GetOrdersPaginated",
        &format!("/api/v1/orders/{range}"),
        "",
        None,
    )
    .await;
    let rfq_body = r#"{"pair":"ETHUSDT","side":"sell","size":1.5,"amount":0}"#;
    let rfq = r.call("CreateRfq", "/api/v1/rfq", rfq_body, None).await;
    r.call(
        "CreateRfqCustomExpiration",
        "/api/v1/rfq/custom-expiration",
        r#"{"pair":"ETHUSDT","side":"buy","size":0,"amount":1000,"expirationInSeconds":60}"#,
        None,
    )
    .await;
    r.call(
        "AcceptRfq",
        "/api/v1/rfq/accept",
        &format!(
            r#"{{"requestForQuoteId":"{}"}}"#,
            field(&rfq, "requestForQuoteId")
        ),
        Some("rfq-accept-1"),
    )
    .await;
    r.call("GetBalances", "/api/v1/user/balances", "", None)
        .await;
    r.call(
        "GetTradesByClientId",
        "/api/v1/user/trades/order-1",
        "",
        None,
    )
    .await;
    r.call(
        "GetTradesPaginated",
        &format!("/api/v1/user/trades/{range}"),
        "",
        None,
    )
    .await;
    r.call(
        "GetHistoricalTradesPaginated",
        &format!("/api/v1/user/trades/{range}/historical"),
        "",
        None,
    )
    .await;
    let txs = r
        .call(
            "GetTransactionsPaginated",
            &format!("/api/v1/user/transactions/{range}"),
            "",
            None,
        )
        .await;
    r.call(
        "GetHistoricalTransactionsPaginated",
        &format!("/api/v1/user/transactions/{range}/historical"),
        "",
        None,
    )
    .await;
    r.call(
        "WhitelistAddress",
        "/api/v1/addresses/whitelist",
        r#"{"name":"cold","asset":"BTC","address":"bc1qcold","network":"Bitcoin"}"#,
        None,
    )
    .await;
    r.call(
        "WhitelistAddressWithParams",
        "/api/v1/addresses/whitelist/params",
        r#"{"name":"tagged","asset":"BTC","address":"bc1qtagged","addressParams":{"memo":"7"},"network":"Bitcoin"}"#,
        None,
    )
    .await;
    let gone = r
        .call(
            "WhitelistAddress",
            "/api/v1/addresses/whitelist",
            r#"{"name":"old","asset":"ETH","address":"0xold","network":"Ethereum"}"#,
            None,
        )
        .await;
    r.call(
        "GetWhitelistedAddresses",
        "/api/v1/addresses/whitelisted",
        "",
        None,
    )
    .await;
    r.call(
        "RemoveWhitelistedAddress",
        "/api/v1/addresses/whitelist",
        &format!(r#"{{"addressId":"{}"}}"#, field(&gone, "addressId")),
        None,
    )
    .await;
    for body in [
        r#"{"asset":"BTC","network":"Bitcoin"}"#,
        r#"{"asset":"EUR","network":"Sepa"}"#,
    ] {
        r.call(
            "CreateDepositAddress",
            "/api/v1/addresses/deposit",
            body,
            None,
        )
        .await;
    }
    r.call("GetDepositAddresses", "/api/v1/addresses/deposit", "", None)
        .await;
    r.call(
        "Withdraw",
        "/api/v1/withdrawals",
        r#"{"asset":"BTC","amount":0.1,"address":"bc1qcold","network":"Bitcoin"}"#,
        Some("wd-1"),
    )
    .await;
    r.call(
        "WithdrawWithAddressParams",
        "/api/v1/withdrawals/address",
        r#"{"asset":"BTC","amount":0.1,"address":"bc1qtagged","addressParams":{"memo":"7"},"network":"Bitcoin","isInstant":false}"#,
        Some("wd-2"),
    )
    .await;
    r.call(
        "InstantWithdraw",
        "/api/v1/withdrawals/instant",
        r#"{"asset":"BTC","amount":0.1,"address":"bc1qcold","network":"Bitcoin"}"#,
        Some("wd-3"),
    )
    .await;
    r.call(
        "GetWithdrawals",
        "/api/v1/withdrawals?pageSize=10",
        "",
        None,
    )
    .await;
    r.call(
        "GetWithdrawalsByClientId",
        "/api/v1/withdrawals/wd-1",
        "",
        None,
    )
    .await;
    r.call(
        "GetWithdrawalsPaginated",
        &format!("/api/v1/withdrawals/{range}"),
        "",
        None,
    )
    .await;
    let invoice = r
        .call(
            "CreateLightningInvoice",
            "/api/v1/invoices",
            r#"{"amountBtc":0.001,"expiryHours":24,"memo":"coffee"}"#,
            None,
        )
        .await;
    r.call("GetLightningInvoices", "/api/v1/invoices", "", None)
        .await;
    r.call(
        "CreateLightningWithdrawal",
        "/api/v1/lightning/withdrawals",
        &format!(
            r#"{{"paymentRequestHash":"{}"}}"#,
            field(&invoice, "encodedPaymentRequest")
        ),
        None,
    )
    .await;
    let business = r
        .call(
            "RegisterBusinessEndUser",
            "/api/v1/end-users/businesses",
            r#"{"business":{"companyName":"Acme Ltd","type":"LIMITED"},"businessPersons":[{"firstName":"Ada","lastName":"Lovelace"}],"ipAddress":"127.0.0.1","sector":"BLOCKCHAIN"}"#,
            None,
        )
        .await;
    r.call(
        "GetBusinessEndUsers",
        "/api/v1/end-users/businesses?pageSize=10",
        "",
        None,
    )
    .await;
    r.call(
        "RegisterIndividualEndUser",
        "/api/v1/end-users/individuals",
        r#"{"person":{"firstName":"Alan","lastName":"Turing"},"ipAddress":"127.0.0.1"}"#,
        None,
    )
    .await;
    r.call(
        "GetIndividualEndUsers",
        "/api/v1/end-users/individuals?pageSize=10",
        "",
        None,
    )
    .await;
    let end_user = field(&business, "id");
    r.multipart(
        "UploadEndUserDocument",
        &format!("/api/v1/end-users/{end_user}/documents"),
        &[
            ("type", "IDENTITY_VERIFICATION"),
            ("description", "passport"),
            ("file", "%PDF-1.4 sandbox"),
        ],
    )
    .await;
    let account = r
        .call(
            "CreateDepositAccount",
            "/api/v1/deposit-accounts",
            &format!(
                r#"{{"asset":"EUR","network":"Sepa","fiatAccountId":"fac_1","endUserId":"{end_user}"}}"#
            ),
            None,
        )
        .await;
    r.call(
        "GetDepositAccounts",
        "/api/v1/deposit-accounts?pageSize=10",
        "",
        None,
    )
    .await;
    let payee = r
        .call(
            "RegisterPayee",
            "/api/v1/payee",
            r#"{"type":0,"name":"Bob","surname":"Smith","company":"","country":"GB","state":"","city":"London","address":"1 Road","postalCode":"N1"}"#,
            None,
        )
        .await;
    let payee_id = field(&payee, "id");
    r.call("GetPayees", "/api/v1/payees?pageSize=10", "", None)
        .await;
    let pa = r
        .call(
            "RegisterPayeeAddress",
            &format!("/api/v1/payees/{payee_id}/addresses"),
            r#"{"name":"Bob GBP","asset":"GBP","address":"12345678","addressParams":{"sortcode":"200000"},"network":"Faster Payments","comment":"rent"}"#,
            None,
        )
        .await;
    r.call(
        "GetPayeeAddresses",
        &format!("/api/v1/payee-addresses?payeeId={payee_id}&pageSize=10"),
        "",
        None,
    )
    .await;
    r.call(
        "CreateTransfer",
        "/api/v1/transfer",
        &format!(
            r#"{{"asset":"GBP","amount":10,"internalAddressId":"fac_1","payeeAddressId":"{}","description":"rent"}}"#,
            field(&pa, "id")
        ),
        Some("tr-1"),
    )
    .await;
    r.call(
        "GetTransfers",
        &format!("/api/v1/transfers?startDate={FROM}&endDate={TO}&pageSize=10"),
        "",
        None,
    )
    .await;
    r.call(
        "GetTransactionLedger",
        &format!("/api/v1/transactions/{}", field(&txs, "id")),
        "",
        None,
    )
    .await;
    r.call(
        "SimulatePayin",
        "/api/v1/simulate-payin",
        &format!(
            r#"{{"amount":25,"toAddress":"{}","from":{{"name":"Ada","iban":"DE89370400440532013000"}},"fromType":"PERSON","paymentScheme":"SCT","reference":"inv 7"}}"#,
            field(&account, "refAccountId")
        ),
        None,
    )
    .await;
    r.replies
}

// ---------------------------------------------------------------- hub

/// The two documented ways to pass a method's arguments.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// `invoke('X', [a, b])`: one array argument.
    Array,
    /// `invoke('X', a, b)`: spread.
    Spread,
}

/// One envelope as sent, with its raw `data` text.
#[derive(Debug)]
struct Envelope {
    target: String,
    envelope: HubEnvelope,
    data: String,
}

struct HubRun {
    hub: Hub,
    seen: Vec<Envelope>,
    next_id: u32,
}

impl HubRun {
    /// Invokes `target` with `args` (a JSON array's text, numbers exactly
    /// as written) in `shape`, and returns every envelope sent for the
    /// clientId `args` starts with, up to the invocation's completion.
    async fn call(&mut self, target: &str, args: &str, shape: Shape) -> Vec<&Envelope> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let arguments = match shape {
            Shape::Array => format!("[{args}]"),
            Shape::Spread => args.to_owned(),
        };
        let frame = format!(
            "{{\"type\":1,\"invocationId\":\"{id}\",\"target\":\"{target}\",\"arguments\":{arguments}}}\u{1e}"
        );
        self.hub.send_raw(frame.as_bytes()).await;
        loop {
            match self.hub.next().await {
                Msg::Completion { id: got, error, .. } if got == id => {
                    assert_eq!(error, None, "{target}: completion error");
                    break;
                }
                Msg::Invocation { target, args, .. } => {
                    let text: String = serde_json::from_str(&args[0]).unwrap();
                    let envelope: HubEnvelope = decode_str(&text).unwrap();
                    let data = envelope
                        .data
                        .as_ref()
                        .map(|d| d.json_text().to_owned())
                        .unwrap_or_default();
                    self.seen.push(Envelope {
                        target,
                        envelope,
                        data,
                    });
                }
                Msg::Ping => {}
                other => panic!("{target}: unexpected {other:?}"),
            }
        }
        let items: Vec<Box<RawValue>> = serde_json::from_str(args).unwrap();
        let client_id: String = serde_json::from_str(items[0].get()).unwrap();
        self.seen
            .iter()
            .filter(|e| e.envelope.client_id.as_deref() == Some(client_id.as_str()))
            .collect()
    }

    /// Reads until a price update for `client_id` arrives (bounded).
    async fn next_update(&mut self, client_id: &str) -> String {
        let wait = async {
            loop {
                if let Msg::Invocation { target, args, .. } = self.hub.next().await {
                    let text: String = serde_json::from_str(&args[0]).unwrap();
                    let envelope: HubEnvelope = decode_str(&text).unwrap();
                    if target == "subscriptions" && envelope.client_id.as_deref() == Some(client_id)
                    {
                        return envelope.data.unwrap().json_text().to_owned();
                    }
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), wait)
            .await
            .expect("no price update within 10 s of subscribing")
    }

    /// The one reply on `executionEvents` for `args`' clientId.
    async fn reply(&mut self, target: &str, args: &str, shape: Shape) -> &Envelope {
        let found = self.call(target, args, shape).await;
        let replies: Vec<&Envelope> = found
            .into_iter()
            .filter(|e| e.target == "executionEvents")
            .collect();
        assert_eq!(replies.len(), 1, "{target} {args}: {replies:?}");
        replies[0]
    }
}

/// Per-shape unique values, so the second pass does not collide with the
/// first (a second whitelisting of one address is refused).
fn hub_scenario_args(shape: Shape) -> String {
    match shape {
        Shape::Array => "a".to_owned(),
        Shape::Spread => "s".to_owned(),
    }
}

/// Calls all 36 hub methods in `shape`; returns (method, data text) of
/// each success reply. Each reply must be the method's documented subject.
async fn hub_scenario(run: &mut HubRun, shape: Shape) -> Vec<(&'static str, String)> {
    let t = hub_scenario_args(shape);
    let mut out: Vec<(&'static str, String)> = Vec::new();
    macro_rules! ok {
        ($method:literal, $args:expr) => {{
            let args: String = $args;
            let e = run.reply($method, &args, shape).await;
            let m = HubMethod::find($method).unwrap();
            let subject = e.envelope.subject.clone().unwrap_or_default();
            if !m.subjects.is_empty() {
                assert!(
                    m.subjects.contains(&subject.as_str()),
                    "{} {:?}: subject {subject}: {}",
                    $method,
                    shape,
                    e.data
                );
            }
            let data = e.data.clone();
            out.push(($method, data.clone()));
            data
        }};
    }
    let _ = ok!("GetPairs", format!(r#"["{t}-pairs"]"#));
    let _ = ok!("GetAssetNetworks", format!(r#"["{t}-net","BTC"]"#));
    let size = ok!(
        "GetPairSizeByAmount",
        format!(r#"["{t}-size","BTCUSDT","buy",1000]"#)
    );
    // The feed: no answer on executionEvents, updates on subscriptions.
    let sub_args = format!(r#"["{t}-sub","BTCUSDT",0.5]"#);
    let mut updates: Vec<String> = run
        .call("SubscribePairPriceChannel", &sub_args, shape)
        .await
        .iter()
        .filter(|e| e.target == "subscriptions")
        .map(|e| e.data.clone())
        .collect();
    if updates.is_empty() {
        updates.push(run.next_update(&format!("{t}-sub")).await);
    }
    assert!(!updates.is_empty(), "no price update after subscribing");
    out.push(("SubscribePairPriceChannel", updates[0].clone()));
    let unsub = run
        .call(
            "UnsubscribePairPriceChannel",
            &format!(r#"["{t}-unsub","BTCUSDT",0.5]"#),
            shape,
        )
        .await;
    assert!(
        unsub.iter().all(|e| e.target != "executionEvents"),
        "no documented answer to an unsubscription"
    );
    let price_id = field(&size, "id");
    let _ = ok!(
        "PlaceOtcOrder",
        format!(r#"["{t}-order","{price_id}","buy",1]"#)
    );
    let _ = ok!(
        "GetOrdersPaginated",
        format!(r#"["{t}-op","{FROM}","{TO}",0,10]"#)
    );
    let _ = ok!("GetOrdersByClientId", format!(r#"["{t}-oc","{t}-order"]"#));
    let _ = ok!(
        "GetTradesPaginated",
        format!(r#"["{t}-tp","{FROM}","{TO}",0,10]"#)
    );
    let _ = ok!(
        "GetHistoricalTradesPaginated",
        format!(r#"["{t}-htp","{FROM}","{TO}",0,10]"#)
    );
    let _ = ok!("GetTradesByClientId", format!(r#"["{t}-tc","{t}-order"]"#));
    let txs = ok!(
        "GetTransactionsPaginated",
        format!(r#"["{t}-xp","{FROM}","{TO}",0,10]"#)
    );
    let _ = ok!(
        "GetHistoricalTransactionsPaginated",
        format!(r#"["{t}-hxp","{FROM}","{TO}",0,10]"#)
    );
    let rfq = ok!(
        "CreateRequestForQuote",
        format!(r#"["{t}-rfq","ETHUSDT","sell",1.5,0]"#)
    );
    let _ = ok!(
        "CreateRequestForQuoteWithCustomExpiration",
        format!(r#"["{t}-rfqc","ETHUSDT","buy",0,1000,60]"#)
    );
    let _ = ok!(
        "AcceptRequestForQuote",
        format!(r#"["{t}-acc","{}"]"#, field(&rfq, "requestForQuoteId"))
    );
    let _ = ok!("GetBalances", format!(r#"["{t}-bal"]"#));
    let _ = ok!(
        "WhitelistAddress",
        format!(r#"["{t}-wl","cold","BTC","bc1q{t}cold","Bitcoin"]"#)
    );
    let _ = ok!("GetWhitelistedAddresses", format!(r#"["{t}-wls"]"#));
    let _ = ok!(
        "WithdrawFunds",
        format!(r#"["{t}-wd1","BTC",0.1,"bc1q{t}cold","Bitcoin"]"#)
    );
    let _ = ok!(
        "WithdrawFundsWithAddressParams",
        format!(r#"["{t}-wd2","BTC",0.1,"bc1q{t}cold",{{"memo":"7"}},"Bitcoin",false]"#)
    );
    let _ = ok!(
        "WithdrawInstantFunds",
        format!(r#"["{t}-wd3","BTC",0.1,"bc1q{t}cold","Bitcoin"]"#)
    );
    let _ = ok!(
        "GetWithdrawalsPaginated",
        format!(r#"["{t}-wp","{FROM}","{TO}",0,10]"#)
    );
    let _ = ok!(
        "GetWithdrawalsByClientId",
        format!(r#"["{t}-wc","{t}-wd1"]"#)
    );
    let _ = ok!(
        "CreateDepositAddress",
        format!(r#"["{t}-da","BTC","Bitcoin"]"#)
    );
    let _ = ok!(
        "CreateDepositAddress",
        format!(r#"["{t}-dae","EUR","Sepa"]"#)
    );
    let _ = ok!("GetDepositAddress", format!(r#"["{t}-das"]"#));
    let payee = ok!(
        "RegisterPayee",
        format!(r#"["{t}-payee",0,"Bob","Smith","","GB","","London","1 Road","N1"]"#)
    );
    let _ = ok!(
        "GetPayeesPaginated",
        format!(r#"["{t}-payees",null,null,0,10]"#)
    );
    let payee_id = field(&payee, "id");
    let pa = ok!(
        "RegisterPayeeAddress",
        format!(
            r#"["{t}-pa","{payee_id}","Bob GBP","GBP","12345678",{{"sortcode":"200000"}},"Faster Payments","rent"]"#
        )
    );
    let _ = ok!(
        "GetPayeeAddressesPaginated",
        format!(r#"["{t}-pas","{payee_id}",null,null,0,10]"#)
    );
    let _ = ok!(
        "TransferFunds",
        format!(
            r#"["{t}-tr","GBP",10,"fac_1","{}","rent"]"#,
            field(&pa, "id")
        )
    );
    let _ = ok!(
        "GetTransfersPaginated",
        format!(r#"["{t}-trs","{FROM}","{TO}",0,10]"#)
    );
    let _ = ok!(
        "GetTransactionLedger",
        format!(r#"["{t}-led","{}"]"#, field(&txs, "id"))
    );
    let invoice = ok!(
        "CreateLightningInvoice",
        format!(r#"["{t}-inv",0.001,"coffee",24]"#)
    );
    let _ = ok!("GetLightningInvoices", format!(r#"["{t}-invs"]"#));
    let _ = ok!(
        "WithdrawLightning",
        format!(
            r#"["{t}-ln","{}"]"#,
            field(&invoice, "encodedPaymentRequest")
        )
    );
    out
}

/// §1 and §5: every REST operation and every hub method (both argument
/// shapes) answers with every documented key, decodable into its type.
#[tokio::test]
async fn every_reply_has_every_documented_key() {
    let sb = Sandbox::start(Config::default()).await.unwrap();
    let mut problems = Vec::new();

    let replies = rest_scenario(sb.addr()).await;
    for e in ENDPOINTS {
        let ours: Vec<_> = replies
            .iter()
            .filter(|(op, _, _)| *op == e.operation_id)
            .collect();
        assert!(!ours.is_empty(), "{} was not called", e.operation_id);
        let files = examples(
            &format!("rest/{}", e.operation_id),
            "response-2",
            also(REST_ALSO, e.operation_id),
        );
        for (_, status, body) in ours {
            problems.extend(check(
                &format!("REST {} ({status})", e.operation_id),
                e.operation_id,
                e.response,
                body,
                &files,
                &absent(REST_ABSENT, e.operation_id),
            ));
        }
    }

    let (hub, _) = connect(sb.addr()).await;
    let mut run = HubRun {
        hub,
        seen: Vec::new(),
        next_id: 0,
    };
    for shape in [Shape::Array, Shape::Spread] {
        let replies = hub_scenario(&mut run, shape).await;
        for m in HUB_METHODS {
            let ours: Vec<_> = replies.iter().filter(|(n, _)| *n == m.name).collect();
            if m.name == "UnsubscribePairPriceChannel" {
                continue; // no documented answer (checked in the scenario)
            }
            assert!(!ours.is_empty(), "{} was not called ({shape:?})", m.name);
            let files = examples(&format!("hub/{}", m.name), "data", also(HUB_ALSO, m.name));
            for (_, data) in ours {
                problems.extend(check(
                    &format!("hub {} ({shape:?})", m.name),
                    m.name,
                    m.data,
                    data,
                    &files,
                    &absent(HUB_ABSENT, m.name),
                ));
            }
        }
    }
    // Every envelope: documented channel, topic and type.
    for e in &run.seen {
        let env = &e.envelope;
        let topic = env.topic.as_deref().unwrap_or_default();
        let subject = env.subject.as_deref().unwrap_or_default();
        let first = subject.split('.').next().unwrap_or_default();
        if !first.eq_ignore_ascii_case(topic) {
            problems.push(format!("topic {topic} for subject {subject}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The number of items of a list or cursor page.
fn count(text: &str) -> usize {
    let t = text.trim();
    let list = if t.starts_with('{') {
        let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(t).unwrap();
        map["payload"].get().to_owned()
    } else {
        t.to_owned()
    };
    serde_json::from_str::<Vec<Box<RawValue>>>(&list)
        .unwrap()
        .len()
}

/// Filters the description lists are honoured, not only accepted: the
/// cursor lists' `from`/`to`, every transfer filter, and the hub banking
/// pages' `From`/`To`.
#[tokio::test]
async fn list_filters_are_honoured() {
    let sb = Sandbox::start(Config::default()).await.unwrap();
    let mut r = Rest {
        addr: sb.addr(),
        replies: Vec::new(),
    };
    // Everything below is created at about 2025-01-01T12:00:00Z.
    let before = "2025-01-01T11:00:00Z";
    let payee = r
        .call(
            "RegisterPayee",
            "/api/v1/payee",
            r#"{"type":0,"name":"Bob","surname":"Smith","company":"","country":"GB","state":"","city":"London","address":"1 Road","postalCode":"N1"}"#,
            None,
        )
        .await;
    let payee_id = field(&payee, "id");
    let gbp = r
        .call(
            "RegisterPayeeAddress",
            &format!("/api/v1/payees/{payee_id}/addresses"),
            r#"{"name":"GBP","asset":"GBP","address":"12345678","addressParams":{"sortcode":"200000"},"network":"Faster Payments"}"#,
            None,
        )
        .await;
    let eur = r
        .call(
            "RegisterPayeeAddress",
            &format!("/api/v1/payees/{payee_id}/addresses"),
            r#"{"name":"EUR","asset":"EUR","address":"DE89370400440532013000","addressParams":{"bic":"COBADEFFXXX"},"network":"Sepa"}"#,
            None,
        )
        .await;
    for (asset, pa, cid) in [("GBP", &gbp, "tr-gbp"), ("EUR", &eur, "tr-eur")] {
        r.call(
            "CreateTransfer",
            "/api/v1/transfer",
            &format!(
                r#"{{"asset":"{asset}","amount":5,"internalAddressId":"fac_1","payeeAddressId":"{}","description":"rent"}}"#,
                field(pa, "id")
            ),
            Some(cid),
        )
        .await;
    }
    for (query, expected) in [
        (format!("from={before}"), 1),
        (format!("to={before}"), 0),
        (format!("from={before}&to=2025-01-02T00:00:00Z"), 1),
    ] {
        let list = r
            .call(
                "GetPayees",
                &format!("/api/v1/payees?pageSize=5&{query}"),
                "",
                None,
            )
            .await;
        assert_eq!(count(&list), expected, "payees {query}");
        let list = r
            .call(
                "GetPayeeAddresses",
                &format!("/api/v1/payee-addresses?payeeId={payee_id}&pageSize=5&{query}"),
                "",
                None,
            )
            .await;
        assert_eq!(count(&list), expected * 2, "payee addresses {query}");
    }
    let bad = http(
        sb.addr(),
        "GET",
        &format!("/api/v1/payees?pageSize=5&from=2025-01-02T00:00:00Z&to={before}"),
        &[("Authorization", &format!("Bearer {KEY}"))],
        "",
    )
    .await;
    assert_eq!(bad.status, 422, "to before from: {}", bad.body);

    let all = r
        .call(
            "GetTransfers",
            "/api/v1/transfers?startDate=2025-01-01T00:00:00Z&endDate=2025-01-02T00:00:00Z&pageSize=5",
            "",
            None,
        )
        .await;
    assert_eq!(count(&all), 2);
    let ref_id = field(&all, "payload");
    let ref_id = field(&ref_id, "refId");
    for (filter, expected) in [
        ("transferClientId=tr-gbp".to_owned(), 1),
        ("asset=EUR".to_owned(), 1),
        ("asset=USD".to_owned(), 0),
        ("debtorAsset=gbp".to_owned(), 1),
        ("creditorAsset=EUR".to_owned(), 1),
        ("creditorAddress=12345678".to_owned(), 1),
        ("debtorAddress=fac_1".to_owned(), 2),
        ("debtorNetwork=Sepa".to_owned(), 1),
        ("creditorNetwork=Faster%20Payments".to_owned(), 1),
        ("status=0".to_owned(), 2),
        ("status=2".to_owned(), 0),
        (format!("refId={ref_id}"), 1),
        ("asset=GBP&creditorNetwork=Sepa".to_owned(), 0),
    ] {
        let list = r
            .call(
                "GetTransfers",
                &format!("/api/v1/transfers?startDate=2025-01-01T00:00:00Z&endDate=2025-01-02T00:00:00Z&pageSize=5&{filter}"),
                "",
                None,
            )
            .await;
        assert_eq!(count(&list), expected, "transfers {filter}");
    }
    let outside = r
        .call(
            "GetTransfers",
            &format!(
                "/api/v1/transfers?startDate=2025-01-01T00:00:00Z&endDate={before}&pageSize=5"
            ),
            "",
            None,
        )
        .await;
    assert_eq!(count(&outside), 0, "startDate/endDate bound the list");

    let (hub, _) = connect(sb.addr()).await;
    let mut run = HubRun {
        hub,
        seen: Vec::new(),
        next_id: 0,
    };
    let mut n = 0;
    for shape in [Shape::Array, Shape::Spread] {
        for (from, to, expected) in [
            (format!("\"{before}\""), "null".to_owned(), 1),
            ("null".to_owned(), format!("\"{before}\""), 0),
            ("null".to_owned(), "null".to_owned(), 1),
        ] {
            n += 1;
            let e = run
                .reply(
                    "GetPayeesPaginated",
                    &format!(r#"["payees-{n}",{from},{to},0,10]"#),
                    shape,
                )
                .await;
            assert_eq!(count(&e.data), expected, "hub payees From {from} To {to}");
            let e = run
                .reply(
                    "GetPayeeAddressesPaginated",
                    &format!(r#"["addresses-{n}","{payee_id}",{from},{to},0,10]"#),
                    shape,
                )
                .await;
            assert_eq!(
                count(&e.data),
                expected * 2,
                "hub payee addresses From {from} To {to}"
            );
        }
    }
}

/// The topic the docs give a subject: its first segment, capitalised
/// (`account.withdraw.created` is `Account`).
fn topic_of(subject: &str) -> String {
    let first = subject.split('.').next().unwrap_or_default();
    let mut c = first.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// §5: every hub method reports its documented errors in both argument
/// shapes: `preChecksError` (with `data.message`) for arguments that do
/// not validate, and `<prefix>.error` (with `data.statusError` and
/// `data.message`) where the operation itself fails. Each error envelope
/// echoes the clientId and has the topic of the method's own answer.
#[tokio::test]
async fn every_hub_method_reports_its_documented_errors() {
    let sb = Sandbox::start(Config::default()).await.unwrap();
    let (hub, _) = connect(sb.addr()).await;
    let mut run = HubRun {
        hub,
        seen: Vec::new(),
        next_id: 0,
    };
    let topic_for = |m: &HubMethod| {
        m.subjects
            .first()
            .map_or_else(|| "Execution".to_owned(), |s| topic_of(s))
    };
    let mut n = 0;
    for shape in [Shape::Array, Shape::Spread] {
        for m in HUB_METHODS {
            // One argument too few (or one too many for ClientId-only
            // methods): a pre-check failure for every method.
            n += 1;
            let cid = format!("e-{n}");
            let args = if m.arguments.len() > 1 {
                format!(r#"["{cid}"]"#)
            } else {
                format!(r#"["{cid}",1]"#)
            };
            let e = run.reply(m.name, &args, shape).await;
            let env = &e.envelope;
            assert_eq!(env.subject.as_deref(), Some("preChecksError"), "{}", m.name);
            assert_eq!(env.client_id.as_deref(), Some(cid.as_str()), "{}", m.name);
            assert_eq!(env.topic, Some(topic_for(m)), "{} {shape:?}", m.name);
            let data: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&e.data).unwrap();
            let message: String = serde_json::from_str(data["message"].get()).unwrap();
            assert!(!message.is_empty(), "{}", m.name);
        }
    }
    // A wrong value, not only a wrong count, is a pre-check failure too.
    let e = run
        .reply(
            "GetPairSizeByAmount",
            r#"["bad-side","BTCUSDT","hold",1000]"#,
            Shape::Spread,
        )
        .await;
    assert_eq!(e.envelope.subject.as_deref(), Some("preChecksError"));

    // Operations that fail: `<prefix>.error`, the prefix that of the
    // method's success subject.
    let invoice = run
        .reply(
            "CreateLightningInvoice",
            r#"["big-invoice",1000,"too much",1]"#,
            Shape::Spread,
        )
        .await
        .data
        .clone();
    run.reply(
        "WhitelistAddress",
        r#"["wl-1","cold","BTC","bc1qdup","Bitcoin"]"#,
        Shape::Spread,
    )
    .await;
    let failing: Vec<(&str, String)> = vec![
        ("AcceptRequestForQuote", r#"["f","no-such-rfq"]"#.to_owned()),
        (
            "WithdrawFunds",
            r#"["f","BTC",0.1,"bc1qunknown","Bitcoin"]"#.to_owned(),
        ),
        (
            "WithdrawInstantFunds",
            r#"["f","BTC",0.1,"bc1qunknown","Bitcoin"]"#.to_owned(),
        ),
        (
            "WithdrawFundsWithAddressParams",
            r#"["f","BTC",0.1,"bc1qunknown",{},"Bitcoin",true]"#.to_owned(),
        ),
        (
            "WhitelistAddress",
            r#"["f","again","BTC","bc1qdup","Bitcoin"]"#.to_owned(),
        ),
        (
            "RegisterPayeeAddress",
            r#"["f","no-such-payee","x","GBP","1",{"sortcode":"1"},"Faster Payments",""]"#
                .to_owned(),
        ),
        (
            "TransferFunds",
            r#"["f","GBP",1,"fac_1","no-such-address",""]"#.to_owned(),
        ),
        ("GetTransactionLedger", r#"["f","no-such-tx"]"#.to_owned()),
        (
            "WithdrawLightning",
            format!(r#"["f","{}"]"#, field(&invoice, "encodedPaymentRequest")),
        ),
    ];
    for shape in [Shape::Array, Shape::Spread] {
        for (method, args) in &failing {
            n += 1;
            let cid = format!("f-{n}");
            let args = args.replacen(r#"["f""#, &format!(r#"["{cid}""#), 1);
            let m = HubMethod::find(method).unwrap();
            let e = run.reply(method, &args, shape).await;
            let env = &e.envelope;
            let prefix = m.subjects[0].rsplit_once('.').unwrap().0;
            assert_eq!(
                env.subject.as_deref(),
                Some(format!("{prefix}.error").as_str()),
                "{method}: {}",
                e.data
            );
            assert_eq!(env.client_id.as_deref(), Some(cid.as_str()));
            assert_eq!(env.topic, Some(topic_for(m)), "{method}");
            let data: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&e.data).unwrap();
            for k in ["statusError", "message"] {
                let text: String = serde_json::from_str(data[k].get()).unwrap();
                assert!(!text.is_empty(), "{method} {k}");
            }
        }
    }
    // An order on an unknown price is rejected in-band, as documented:
    // the success subject with status 2 and a statusError.
    let e = run
        .reply(
            "PlaceOtcOrder",
            r#"["rejected","00000000-0000-0000-0000-000000000000","buy",1]"#,
            Shape::Array,
        )
        .await;
    assert_eq!(
        e.envelope.subject.as_deref(),
        Some("execution.order.executed")
    );
    let t: hercle_models::TradeExecution = decode_str(&e.data).unwrap();
    assert_eq!(t.status, hercle_models::OrderStatus::Cancelled);
    assert!(t.status_error.is_some_and(|s| !s.is_empty()));
}

/// Whether `text` holds the JSON number `digits` (its exact text).
fn has_number(text: &str, digits: &str) -> bool {
    text.match_indices(digits).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + digits.len()..].chars().next();
        matches!(before, Some(':' | '[' | ',')) && matches!(after, Some(',' | '}' | ']'))
    })
}

/// Webhook bodies POSTed to a receiver on 127.0.0.1.
async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use http_body_util::BodyExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::new()),
                            ))
                        }
                    },
                );
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    (url, rx)
}

/// §2: amounts with 18 significant digits, and 0.00000001, go through every
/// money-carrying operation on REST and on the hub, and come back with the
/// same digits in every reply that carries them and in every webhook.
#[tokio::test]
async fn money_keeps_every_digit_on_both_transports_and_in_webhooks() {
    // 18 significant digits each: an amount, a size within a pair's
    // limits, and a Lightning amount in whole millisatoshis.
    const A18: &str = "123456789.123456789";
    const S18: &str = "12.3456789012345678";
    const L18: &str = "1234567.89012345678";
    const TINY: &str = "0.00000001";
    let (url, mut hooks) = webhook_receiver().await;
    let d = |s: &str| s.parse().unwrap();
    let config = Config {
        balances: vec![
            ("BTC".to_owned(), d("1000000000000")),
            ("USDT".to_owned(), d("1000000000000")),
            ("GBP".to_owned(), d("1000000000000")),
        ],
        webhook_urls: vec![url],
        webhook_poll: std::time::Duration::from_millis(20),
        ..Config::default()
    };
    let sb = Sandbox::start(config).await.unwrap();
    let mut r = Rest {
        addr: sb.addr(),
        replies: Vec::new(),
    };
    let (hub, _) = connect(sb.addr()).await;
    let mut run = HubRun {
        hub,
        seen: Vec::new(),
        next_id: 0,
    };
    // (what, reply text, digits expected in it)
    let mut checks: Vec<(String, String, &str)> = Vec::new();

    for (asset, amount) in [("SOL", A18), ("DOT", TINY)] {
        let body = format!(r#"{{"apiKey":"{KEY}","asset":"{asset}","amount":{amount}}}"#);
        let resp = http(sb.addr(), "POST", "/_sandbox/deposit", &[], &body).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    let balances = r
        .call("GetBalances", "/api/v1/user/balances", "", None)
        .await;
    for amount in [A18, TINY] {
        checks.push(("REST balances".into(), balances.clone(), amount));
    }
    let hub_balances = run
        .reply("GetBalances", r#"["m-bal"]"#, Shape::Array)
        .await
        .data
        .clone();
    for amount in [A18, TINY] {
        checks.push(("hub balances".into(), hub_balances.clone(), amount));
    }

    // Sizes: a quote, the order from it, its order and trade records, an RFQ.
    let quote = r
        .call(
            "GetPairPrice",
            &format!("/api/v1/price/BTCUSDT/{S18}"),
            "",
            None,
        )
        .await;
    checks.push(("REST price".into(), quote.clone(), S18));
    let order = r
        .call(
            "PlaceOtcOrder",
            "/api/v1/orders",
            &format!(
                r#"{{"priceId":"{}","side":"buy","slippage":5}}"#,
                field(&quote, "id")
            ),
            Some("m-order"),
        )
        .await;
    checks.push(("REST order".into(), order, S18));
    let orders = r
        .call("GetOrdersByClientId", "/api/v1/orders/m-order", "", None)
        .await;
    checks.push(("REST orders".into(), orders, S18));
    let trades = r
        .call(
            "GetTradesByClientId",
            "/api/v1/user/trades/m-order",
            "",
            None,
        )
        .await;
    checks.push(("REST trades".into(), trades, S18));
    let rfq = r
        .call(
            "CreateRfq",
            "/api/v1/rfq",
            &format!(r#"{{"pair":"BTCUSDT","side":"buy","size":{S18},"amount":0}}"#),
            None,
        )
        .await;
    checks.push(("REST rfq".into(), rfq, S18));
    let hub_rfq = run
        .reply(
            "CreateRequestForQuote",
            &format!(r#"["m-rfq","BTCUSDT","sell",{S18},0]"#),
            Shape::Spread,
        )
        .await
        .data
        .clone();
    checks.push(("hub rfq".into(), hub_rfq, S18));
    let size = run
        .reply(
            "GetPairSizeByAmount",
            &format!(r#"["m-size","BTCUSDT","buy",{A18}]"#),
            Shape::Array,
        )
        .await;
    // The amount is not echoed, but a too-large size is refused in
    // full, never rounded into range.
    assert_eq!(size.envelope.subject.as_deref(), Some("preChecksError"));
    let hub_order_quote = run
        .call(
            "SubscribePairPriceChannel",
            &format!(r#"["m-sub","BTCUSDT",{S18}]"#),
            Shape::Spread,
        )
        .await
        .iter()
        .find(|e| e.target == "subscriptions")
        .map(|e| e.data.clone());
    let update = match hub_order_quote {
        Some(u) => u,
        None => run.next_update("m-sub").await,
    };
    checks.push(("hub price update".into(), update.clone(), S18));
    let hub_order = run
        .reply(
            "PlaceOtcOrder",
            &format!(r#"["m-hub-order","{}","sell",5]"#, field(&update, "id")),
            Shape::Array,
        )
        .await
        .data
        .clone();
    checks.push(("hub order".into(), hub_order, S18));

    // Amounts: withdrawals, transfers, pay-ins, Lightning.
    r.call(
        "WhitelistAddress",
        "/api/v1/addresses/whitelist",
        r#"{"name":"cold","asset":"BTC","address":"bc1qmoney","network":"Bitcoin"}"#,
        None,
    )
    .await;
    let payee = r
        .call(
            "RegisterPayee",
            "/api/v1/payee",
            r#"{"type":0,"name":"Bob","surname":"Smith","company":"","country":"GB","state":"","city":"London","address":"1 Road","postalCode":"N1"}"#,
            None,
        )
        .await;
    let pa = r
        .call(
            "RegisterPayeeAddress",
            &format!("/api/v1/payees/{}/addresses", field(&payee, "id")),
            r#"{"name":"GBP","asset":"GBP","address":"12345678","addressParams":{"sortcode":"200000"},"network":"Faster Payments"}"#,
            None,
        )
        .await;
    let pa_id = field(&pa, "id");
    let account = r
        .call(
            "CreateDepositAccount",
            "/api/v1/deposit-accounts",
            r#"{"asset":"EUR","network":"Sepa","fiatAccountId":"fac_1"}"#,
            None,
        )
        .await;
    let vac = field(&account, "refAccountId");
    for (i, amount) in [A18, TINY].into_iter().enumerate() {
        for (op, path, extra) in [
            ("Withdraw", "/api/v1/withdrawals", ""),
            ("InstantWithdraw", "/api/v1/withdrawals/instant", ""),
            (
                "WithdrawWithAddressParams",
                "/api/v1/withdrawals/address",
                r#","addressParams":{},"isInstant":false"#,
            ),
        ] {
            let cid = format!("m-{op}-{i}");
            let w = r
                .call(
                    op,
                    path,
                    &format!(
                        r#"{{"asset":"BTC","amount":{amount},"address":"bc1qmoney","network":"Bitcoin"{extra}}}"#
                    ),
                    Some(&cid),
                )
                .await;
            checks.push((format!("REST {op}"), w, amount));
            let listed = r
                .call(
                    "GetWithdrawalsByClientId",
                    &format!("/api/v1/withdrawals/{cid}"),
                    "",
                    None,
                )
                .await;
            checks.push(("REST withdrawals".into(), listed, amount));
        }
        for (method, args) in [
            (
                "WithdrawFunds",
                format!(r#"["m-wf-{i}","BTC",{amount},"bc1qmoney","Bitcoin"]"#),
            ),
            (
                "WithdrawInstantFunds",
                format!(r#"["m-wi-{i}","BTC",{amount},"bc1qmoney","Bitcoin"]"#),
            ),
            (
                "WithdrawFundsWithAddressParams",
                format!(r#"["m-wp-{i}","BTC",{amount},"bc1qmoney",{{}},"Bitcoin",false]"#),
            ),
            (
                "TransferFunds",
                format!(r#"["m-tf-{i}","GBP",{amount},"fac_1","{pa_id}","rent"]"#),
            ),
        ] {
            let e = run.reply(method, &args, Shape::Spread).await.data.clone();
            checks.push((format!("hub {method}"), e, amount));
        }
        let listed = run
            .reply(
                "GetWithdrawalsByClientId",
                &format!(r#"["m-wl-{i}","m-wf-{i}"]"#),
                Shape::Array,
            )
            .await
            .data
            .clone();
        checks.push(("hub withdrawals".into(), listed, amount));
        let t = r
            .call(
                "CreateTransfer",
                "/api/v1/transfer",
                &format!(
                    r#"{{"asset":"GBP","amount":{amount},"internalAddressId":"fac_1","payeeAddressId":"{pa_id}","description":"rent"}}"#
                ),
                Some(&format!("m-tr-{i}")),
            )
            .await;
        checks.push(("REST transfer".into(), t, amount));
        let p = r
            .call(
                "SimulatePayin",
                "/api/v1/simulate-payin",
                &format!(
                    r#"{{"amount":{amount},"toAddress":"{vac}","from":{{"name":"Ada","iban":"DE89370400440532013000"}},"fromType":"PERSON","paymentScheme":"SCT","reference":"r"}}"#
                ),
                None,
            )
            .await;
        checks.push(("REST pay-in".into(), p, amount));
    }
    for (i, amount) in [L18, TINY].into_iter().enumerate() {
        let inv = r
            .call(
                "CreateLightningInvoice",
                "/api/v1/invoices",
                &format!(r#"{{"amountBtc":{amount},"expiryHours":1,"memo":"m"}}"#),
                None,
            )
            .await;
        let w = r
            .call(
                "CreateLightningWithdrawal",
                "/api/v1/lightning/withdrawals",
                &format!(
                    r#"{{"paymentRequestHash":"{}"}}"#,
                    field(&inv, "encodedPaymentRequest")
                ),
                None,
            )
            .await;
        checks.push(("REST Lightning withdrawal".into(), w, amount));
        let inv = run
            .reply(
                "CreateLightningInvoice",
                &format!(r#"["m-inv-{i}",{amount},"m",1]"#),
                Shape::Array,
            )
            .await
            .data
            .clone();
        let w = run
            .reply(
                "WithdrawLightning",
                &format!(r#"["m-ln-{i}","{}"]"#, field(&inv, "encodedPaymentRequest")),
                Shape::Array,
            )
            .await
            .data
            .clone();
        checks.push(("hub Lightning withdrawal".into(), w, amount));
    }
    // The ledger: every movement, both ways, at full precision.
    let range = format!("{FROM}/{TO}");
    let mut ledger = String::new();
    for page in 0..40 {
        let p = r
            .call(
                "GetTransactionsPaginated",
                &format!("/api/v1/user/transactions/{range}/{page}/50"),
                "",
                None,
            )
            .await;
        if count(&p) == 0 {
            break;
        }
        ledger.push_str(&p);
    }
    for amount in [A18, TINY] {
        checks.push(("REST ledger (debit)".into(), ledger.clone(), amount));
    }
    let hub_ledger = run
        .reply(
            "GetTransactionsPaginated",
            &format!(r#"["m-tx","{FROM}","{TO}",0,50]"#),
            Shape::Spread,
        )
        .await
        .data
        .clone();
    checks.push(("hub ledger".into(), hub_ledger, A18));

    let failed: Vec<String> = checks
        .iter()
        .filter(|(_, text, digits)| !has_number(text, digits))
        .map(|(what, text, digits)| format!("{what}: {digits} not in {text}"))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));

    // Webhooks: each event type that carries an amount, with each amount.
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    for amount in [A18, TINY] {
        for event in [
            "Banking.Withdrawal.Created",
            "Banking.Payout.Created",
            "Banking.Deposit.StatusUpdated",
            "Balance.Updated",
        ] {
            wanted.insert((event.to_owned(), amount.to_owned()));
        }
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !wanted.is_empty() {
        let body = tokio::time::timeout_at(deadline, hooks.recv())
            .await
            .unwrap_or_else(|_| panic!("webhooks never carried {wanted:?}"))
            .unwrap();
        let envelope: hercle_models::WebhookEnvelope = decode_str(&body).unwrap();
        let event = envelope.event_type.unwrap().as_str().to_owned();
        let data = envelope.data.unwrap().json_text().to_owned();
        wanted.retain(|(e, amount)| !(*e == event && has_number(&data, amount)));
    }
}

/// The document upload reads its multipart body: the documented fields,
/// each once; unknown fields (repeated or oddly named) are ignored.
#[tokio::test]
async fn the_document_upload_validates_its_form() {
    let sb = Sandbox::start(Config::default()).await.unwrap();
    let mut r = Rest {
        addr: sb.addr(),
        replies: Vec::new(),
    };
    let user = r
        .call(
            "RegisterIndividualEndUser",
            "/api/v1/end-users/individuals",
            r#"{"person":{"firstName":"Alan","lastName":"Turing"},"ipAddress":"127.0.0.1"}"#,
            None,
        )
        .await;
    let path = format!("/api/v1/end-users/{}/documents", field(&user, "id"));
    let addr = sb.addr();
    let send = |parts: Vec<String>, content_type: &'static str| {
        let mut body: String = parts.concat();
        body.push_str("--b0undary--\r\n");
        let path = path.clone();
        async move {
            let auth = format!("Bearer {KEY}");
            http(
                addr,
                "POST",
                &path,
                &[("Authorization", &auth), ("Content-Type", content_type)],
                &body,
            )
            .await
        }
    };
    let part = |name: &str, value: &str| {
        format!("--b0undary\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    };
    let file = "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"id.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n".to_owned();
    let ct = "multipart/form-data; boundary=b0undary";
    let ok = send(
        vec![
            part("type", "IDENTITY_VERIFICATION"),
            part("description", "passport"),
            part("extra", "1"),
            part("extra", "2"),
            file.clone(),
        ],
        ct,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(__fixture_roundtrip("DocumentUploadResult", &ok.body).is_some_and(|r| r.is_ok()));
    for (parts, content_type, param) in [
        (
            vec![part("type", "IDENTITY_VERIFICATION"), file.clone()],
            "application/json",
            "body",
        ),
        (vec![part("type", "IDENTITY_VERIFICATION")], ct, "file"),
        (vec![file.clone()], ct, "type"),
        (vec![part("type", "PASSPORT"), file.clone()], ct, "type"),
        (
            vec![
                part("type", "IDENTITY_VERIFICATION"),
                part("file", "not a file part"),
            ],
            ct,
            "file",
        ),
        (
            vec![
                part("type", "IDENTITY_VERIFICATION"),
                part("description", "a"),
                part("description", "b"),
                file.clone(),
            ],
            ct,
            "description",
        ),
    ] {
        let resp = send(parts, content_type).await;
        assert_eq!(resp.status, 400, "{param}: {}", resp.body);
        assert!(
            resp.body.contains(&format!("\"param\":\"{param}\"")),
            "{param}: {}",
            resp.body
        );
    }
}

/// Documented details: a ledger transaction keeps its refId, a Lightning
/// withdrawal answers per transport as documented, and a BOLT11 amount is
/// read with its multiplier.
#[tokio::test]
async fn ledger_refs_lightning_answers_and_bolt11_amounts() {
    let sb = Sandbox::start(Config::default()).await.unwrap();
    let mut r = Rest {
        addr: sb.addr(),
        replies: Vec::new(),
    };
    let range = format!("{FROM}/{TO}/0/10");
    // A BOLT11 request made elsewhere: 2500u is 0.0025 BTC.
    let w = r
        .call(
            "CreateLightningWithdrawal",
            "/api/v1/lightning/withdrawals",
            r#"{"paymentRequestHash":"lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypq"}"#,
            None,
        )
        .await;
    assert!(has_number(&w, "0.0025"), "{w}");
    assert_eq!(field(&w, "status"), "OPEN", "REST: 201 with OPEN");
    for bad in ["lnbc1pvjluezpp5", "lnbc25x1pvjl", "lnxx10u1pvjl"] {
        let resp = http(
            sb.addr(),
            "POST",
            "/api/v1/lightning/withdrawals",
            &[("Authorization", &format!("Bearer {KEY}"))],
            &format!(r#"{{"paymentRequestHash":"{bad}"}}"#),
        )
        .await;
        assert_eq!(resp.status, 422, "{bad}: {}", resp.body);
    }
    let txs = r
        .call(
            "GetTransactionsPaginated",
            &format!("/api/v1/user/transactions/{range}"),
            "",
            None,
        )
        .await;
    let path = format!("/api/v1/transactions/{}", field(&txs, "id"));
    let first = r.call("GetTransactionLedger", &path, "", None).await;
    let again = r.call("GetTransactionLedger", &path, "", None).await;
    assert_eq!(field(&first, "refId"), field(&again, "refId"));

    let (hub, _) = connect(sb.addr()).await;
    let mut run = HubRun {
        hub,
        seen: Vec::new(),
        next_id: 0,
    };
    let e = run
        .reply(
            "WithdrawLightning",
            r#"["ln-1","lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqf"]"#,
            Shape::Spread,
        )
        .await;
    assert_eq!(
        e.envelope.subject.as_deref(),
        Some("execution.withdrawal.lightspark.created")
    );
    assert_eq!(field(&e.data, "status"), "PENDING");
    assert_eq!(field(&e.data, "httpStatusCode"), "200");
    assert!(has_number(&e.data, "0.02"), "20m is 0.02 BTC: {}", e.data);
    let ledger = run
        .reply(
            "GetTransactionLedger",
            &format!(r#"["led-1","{}"]"#, field(&txs, "id")),
            Shape::Array,
        )
        .await;
    assert_eq!(field(&ledger.data, "refId"), field(&first, "refId"));
}
