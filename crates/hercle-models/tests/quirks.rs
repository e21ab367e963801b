//! One test (at least) per documentation quirk of the API inventory
//! (`README.md` §9), named by its number. Quirks whose behaviour lives in a
//! later layer are tested there (the REST client against the sandbox, the
//! hub client, the webhook verifier); a comment here says where. Every test
//! decodes or checks a quirky payload; none reads the description's text.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hercle_models::catalog::{Confidence, Endpoint, HttpMethod, HubMethod, Pagination};
use hercle_models::contract;
use hercle_models::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn quirk_01_pair_size_accepts_both_timestamp_keys() {
    for key in ["timeStamp", "timestamp"] {
        let p: PairSize = decode(
            format!(
                r#"{{"id":"p","pair":"BTCUSDT","price":1,"size":2,"{key}":"2024-06-01T12:00:00Z"}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        assert!(p.timestamp.unwrap().get().is_some(), "{key}");
        assert!(p.extra.is_empty());
    }
}

#[test]
fn quirk_02_price_accepts_both_timestamp_keys() {
    for key in ["timeStamp", "timestamp"] {
        let q: PriceQuote =
            decode(format!(r#"{{"id":"q","pair":"BTCUSDT","buyPrice":1,"sellPrice":1,"size":1,"{key}":"2024-06-01T12:00:00Z"}}"#).as_bytes())
                .unwrap();
        assert!(q.timestamp.unwrap().get().is_some(), "{key}");
    }
}

#[test]
fn quirk_03_impossible_date_does_not_fail_the_payload() {
    let trades: Vec<Trade> =
        decode(br#"[{"id":"t","instrument":"BTC/USDT","side":"buy","price":1534,"timestamp":"2023-07-23T32:35.000Z"}]"#).unwrap();
    let t = trades[0].timestamp.as_ref().unwrap();
    assert!(t.is_invalid());
    assert_eq!(t.raw_text(), Some("2023-07-23T32:35.000Z"));
    assert_eq!(trades[0].price, d("1534"));
}

#[test]
fn quirk_04_dotnet_min_value_is_absent() {
    let a: DepositAddress = decode(br#"{"creationDate":"0001-01-01T00:00:00"}"#).unwrap();
    let t = a.creation_date.unwrap();
    assert!(t.is_absent() && t.get().is_none());
}

#[test]
fn quirk_05_mixed_timestamp_formats() {
    let a: PayeeAddress =
        decode(br#"{"auditDate":"","createdAt":"2023-10-11T23:00:57.93094Z"}"#).unwrap();
    assert!(a.audit_date.unwrap().is_absent());
    assert_eq!(
        a.created_at.unwrap().get().unwrap().nanosecond(),
        930_940_000
    );
    let u: IndividualEndUser = decode(br#"{"createdAt":1718000000123}"#).unwrap();
    assert_eq!(
        u.created_at.unwrap().get().unwrap().unix_timestamp(),
        1_718_000_000
    );
}

#[test]
fn quirk_06_withdrawal_object_or_array() {
    let one: WithdrawResponse = decode(br#"{"id":"w1","amount":0.5}"#).unwrap();
    let many: WithdrawResponse = decode(br#"[{"id":"w1","amount":0.5}]"#).unwrap();
    assert_eq!(one.first(), many.first());
    assert!(matches!(one, OneOrMany::One(_)) && matches!(many, OneOrMany::Many(_)));
    assert_eq!(
        serde_json::to_string(&many).unwrap(),
        r#"[{"id":"w1","amount":0.5}]"#
    );
}

#[test]
fn quirk_07_balances_object_or_array_and_optional_exposure() {
    let obj: GetBalancesResponse =
        decode(br#"{"assets":[{"name":"BTC","available":1,"allocated":0}]}"#).unwrap();
    let arr: GetBalancesResponse = decode(br#"[{"assets":[],"totalMaxExposure":2500}]"#).unwrap();
    assert!(obj.first().unwrap().total_max_exposure.is_none());
    assert_eq!(arr.first().unwrap().total_max_exposure, Some(d("2500")));
}

#[test]
fn quirk_08_slippage_is_an_exact_decimal_in_either_unit() {
    for s in ["1", "0.01", "1.0"] {
        let r: PlaceOtcOrderRequest =
            decode(format!(r#"{{"priceId":"p","side":"buy","slippage":{s}}}"#).as_bytes()).unwrap();
        assert_eq!(r.slippage.unwrap().to_string(), s);
    }
}

// Quirk 9 (array or spread hub arguments): the hub client against the
// sandbox in both forms, crates/hercle-hub/tests/sandbox.rs.

#[test]
fn quirk_10_hub_data_as_string_or_object() {
    let a: HubEnvelope = decode(
        br#"{"subject":"execution.pairs","data":"[{\"name\":\"BTCUSDT\",\"minSize\":0.0001}]"}"#,
    )
    .unwrap();
    let b: HubEnvelope =
        decode(br#"{"subject":"execution.pairs","data":[{"name":"BTCUSDT","minSize":0.0001}]}"#)
            .unwrap();
    let pa: GetPairsData = a.data.as_ref().unwrap().decode().unwrap();
    let pb: GetPairsData = b.data.as_ref().unwrap().decode().unwrap();
    assert_eq!(pa, pb);
    assert_eq!(pa[0].min_size, Some(d("0.0001")));
    assert!(a.data.unwrap().was_string());
}

#[test]
fn quirk_11_webhook_data_as_string_or_object() {
    let a: WebhookEnvelope = decode(br#"{"EventType":"Banking.Deposit.StatusUpdated","Data":"{\"StatusChange\":{\"Current\":\"APPROVED\"}}"}"#).unwrap();
    let b: WebhookEnvelope = decode(br#"{"EventType":"Banking.Deposit.StatusUpdated","Data":{"StatusChange":{"Current":"APPROVED"}}}"#).unwrap();
    let da: WebhookStatusChangeData = a.data.unwrap().decode().unwrap();
    let db: WebhookStatusChangeData = b.data.unwrap().decode().unwrap();
    assert_eq!(da, db);
    assert_eq!(
        a.event_type,
        Some(WebhookEventType::BankingDepositStatusUpdated)
    );
}

// Quirk 12 (the double-hash signature): the verifier against signatures made
// independently by Python and Node as the docs' samples do,
// crates/hercle-webhooks/tests/verify.rs.

#[test]
fn quirk_13_both_error_formats_and_unknown_ones() {
    let a: ErrorBody = decode(br#"{"code":"VALIDATION_FAILED","message":"bad"}"#).unwrap();
    let b: ErrorBody = decode(
        br#"{"error":{"code":"invalid_api_key","message":"no","type":"authentication_error"}}"#,
    )
    .unwrap();
    let c: ErrorBody = decode(br#"{"title":"Unsupported","status":415}"#).unwrap();
    assert!(
        matches!(a, ErrorBody::RestErrorSupportArticle(ref e) if e.code.as_deref() == Some("VALIDATION_FAILED"))
    );
    assert!(
        matches!(b, ErrorBody::RestErrorDocs(ref e) if e.error.as_ref().unwrap().code.as_deref() == Some("invalid_api_key"))
    );
    assert!(matches!(c, ErrorBody::Other(_)));
    // In-band status on a 2xx body stays readable.
    let r: AddressOpResult =
        decode(br#"{"httpStatusCode":400,"message":"Address already exists"}"#).unwrap();
    assert_eq!(r.http_status_code, Some(400));
}

// Quirk 14 (AcceptRfq answers 200 or 201): crates/hercle-rest/tests/quirks.rs.

// Quirk 15 (every custom-RFQ field sent, amount 0 to skip): the client
// against the sandbox, crates/hercle-rest/tests/quirks.rs.

#[test]
fn quirk_16_rfq_expiry_comes_from_the_response() {
    let r: Rfq = decode(br#"{"requestForQuoteId":"r","instrument":"BTCUSDT","side":"buy","size":1,"price":2,"amount":0,"status":0,"expireDateTime":"2025-07-01T12:00:30Z"}"#).unwrap();
    assert!(r.expire_date_time.unwrap().get().is_some());
}

// Quirk 17 (an empty 201 from CreateDepositAddress): the generated descriptor
// (`EMPTY_BODY_OK`, tests/operations.rs) and the client decoding it,
// crates/hercle-rest/tests/quirks.rs.

#[test]
fn quirk_18_remove_address_sends_address_id_in_a_delete_body() {
    let e = Endpoint::find("RemoveWhitelistedAddress").unwrap();
    assert_eq!(
        (e.method, e.request),
        (HttpMethod::Delete, Some("RemoveWhitelistedAddressRequest"))
    );
    let body = RemoveWhitelistedAddressRequest {
        address_id: Some("a-1".into()),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"addressId":"a-1"}"#
    );
}

#[test]
fn quirk_19_whitelist_result_optional_end_user_and_empty_message() {
    let r: AddressOpResult = decode(br#"{"addressId":"a","message":""}"#).unwrap();
    assert!(r.end_user_id.is_none());
    assert_eq!(r.message.as_deref(), Some(""));
    let w: WhitelistedAddress = decode(br#"{"status":0}"#).unwrap();
    assert_eq!(w.status, Some(WhitelistedAddressStatus::Pending));
}

#[test]
fn quirk_20_paths_come_from_the_endpoint_table() {
    let route = |m, p| Endpoint::route(m, p).map(|(e, _)| e.operation_id);
    assert_eq!(
        route(HttpMethod::Post, "/api/v1/orders"),
        Some("PlaceOtcOrder")
    );
    assert_eq!(
        route(HttpMethod::Post, "/api/v1/payee"),
        Some("RegisterPayee")
    );
    assert_eq!(route(HttpMethod::Get, "/api/v1/payees"), Some("GetPayees"));
    assert_eq!(
        route(HttpMethod::Post, "/api/v1/payees/p-1/addresses"),
        Some("RegisterPayeeAddress")
    );
    assert_eq!(
        route(HttpMethod::Get, "/api/v1/payee-addresses"),
        Some("GetPayeeAddresses")
    );
    assert_eq!(
        route(HttpMethod::Get, "/api/v1/addresses/whitelisted"),
        Some("GetWhitelistedAddresses")
    );
    assert_eq!(
        route(HttpMethod::Post, "/api/v1/withdrawals/address"),
        Some("WithdrawWithAddressParams")
    );
    assert_eq!(
        route(HttpMethod::Get, "/api/v1/withdrawals/client-7"),
        Some("GetWithdrawalsByClientId")
    );
    assert_eq!(route(HttpMethod::Get, "/api/v1/pairs/BTCUSDT/size"), None);
}

#[test]
fn quirk_21_validation_does_not_follow_the_example() {
    // The docs' example: GBP on network Bitcoin, without isInstant. The types
    // take it as sent; the generated rules refuse it for the missing field,
    // not for the odd asset/network pair. The server's answer to it:
    // crates/hercle-rest/tests/quirks.rs.
    let example = br#"{"asset":"GBP","amount":1000,"address":"GB33BUKB20201555555555","addressParams":{"sortcode":"200000"},"network":"Bitcoin"}"#;
    let r: WithdrawWithAddressParamsRequest = decode(example).unwrap();
    assert_eq!(
        (r.asset.as_deref(), r.network.as_deref(), r.is_instant),
        (Some("GBP"), Some("Bitcoin"), None)
    );
    let v = contract::check_body("WithdrawWithAddressParams", example);
    let names: Vec<_> = v.iter().map(|v| (v.name, v.keyword)).collect();
    assert_eq!(names, [("isInstant", "required")]);
}

// Quirk 22 at the server (the curl's PASSPORT refused, naming `type`):
// crates/hercle-rest/tests/operations.rs.
#[test]
fn quirk_22_document_type_is_open() {
    let r: UploadEndUserDocumentRequest = decode(br#"{"type":"PASSPORT"}"#).unwrap();
    assert_eq!(r.r#type, Some(DocumentType::Unknown("PASSPORT".into())));
    assert_eq!(
        DocumentType::from_wire("IDENTITY_VERIFICATION"),
        DocumentType::IdentityVerification
    );
}

#[test]
fn quirk_23_address_params_are_an_object_of_strings() {
    let r: RegisterPayeeAddressRequest =
        decode(br#"{"addressParams":{"bic":"BARCGB22","sortcode":"200000"}}"#).unwrap();
    assert_eq!(
        r.address_params.unwrap().get("bic").map(String::as_str),
        Some("BARCGB22")
    );
}

#[test]
fn quirk_24_transfer_status_is_a_string_filter_is_a_number() {
    let t: Transfer = decode(br#"{"status":"CONFIRMING"}"#).unwrap();
    assert_eq!(t.status, Some(TransferStatus::Confirming));
    let e = Endpoint::find("GetTransfers").unwrap();
    assert!(e.query.iter().any(|q| q.name == "status"));
    // The filter is a number: `1` passes the generated rules, a response's
    // status name does not.
    let status_violations = |status: &str| {
        let status = status.to_owned();
        contract::check_params("GetTransfers", |_, name| {
            (name == "status").then(|| status.clone())
        })
        .into_iter()
        .filter(|v| v.name == "status")
        .count()
    };
    assert_eq!(status_violations("1"), 0);
    assert_eq!(status_violations("CONFIRMING"), 1);
    let q = hercle_models::ops::GetTransfersQuery {
        status: Some(1),
        ..Default::default()
    };
    assert_eq!(q.status, Some(1_i64));
}

#[test]
fn quirk_25_routing_codes_array_or_object() {
    let a: LedgerBankingAccount =
        decode(br#"{"routingCodes":[{"type":"sort_code","value":"200000"}]}"#).unwrap();
    let b: LedgerBankingAccount = decode(br#"{"routingCodes":{"aba":"021000021"}}"#).unwrap();
    assert!(
        matches!(a.routing_codes, Some(RoutingCodes::List(ref v)) if v[0].r#type == Some(RoutingCodeType::SortCode))
    );
    assert!(matches!(b.routing_codes, Some(RoutingCodes::Object(_))));
}

#[test]
fn quirk_26_fiat_account_id_is_optional_in_the_schema() {
    let r: CreateDepositAccountRequest = decode(br#"{"asset":"BTC","network":"Bitcoin"}"#).unwrap();
    assert!(r.fiat_account_id.is_none());
}

#[test]
fn quirk_27_rest_cursor_pages_hub_offset_pages() {
    assert_eq!(
        Endpoint::find("GetPayees").unwrap().pagination,
        Pagination::Cursor
    );
    let hub = HubMethod::find("GetPayeesPaginated").unwrap();
    let names: Vec<&str> = hub.arguments.iter().map(|a| a.name).collect();
    assert!(names.contains(&"Page") && names.contains(&"PageSize"));
    let w = HubMethod::find("GetWithdrawalsPaginated").unwrap();
    assert!(w.arguments.iter().any(|a| a.name == "page"));
    let page: PayeeCursorPage =
        decode(br#"{"payload":[{"id":"p"}],"paginationToken":"{\"Id\":{\"S\":\"id-001\"}}"}"#)
            .unwrap();
    assert_eq!(
        page.pagination_token.as_deref(),
        Some(r#"{"Id":{"S":"id-001"}}"#)
    );
}

// Quirk 28 (range limits recorded, not enforced client-side; the server's
// 400 surfaces): crates/hercle-rest/tests/quirks.rs, and the pager's window
// split in crates/hercle-rest/src/paging.rs.

#[test]
fn quirk_29_transaction_types_are_the_postman_superset() {
    assert_eq!(
        TransactionType::from_code(9),
        TransactionType::WithdrawalFeeRefund
    );
    assert_eq!(TransactionType::from_code(10), TransactionType::Unknown(10));
    assert_eq!(TransactionType::KNOWN.len(), 10);
}

#[test]
fn quirk_30_order_status_unknown_and_pending() {
    let o: Order = decode(br#"{"orderId":"o","instrument":"BTCUSD","side":"buy","orderStatus":3,"quantity":1,"quantityFilled":1}"#).unwrap();
    assert_eq!(o.order_status, Some(OrderStatus::Pending));
    let o: Order =
        decode(br#"{"orderId":"o","instrument":"BNBEUR","side":"sell","orderStatus":42}"#).unwrap();
    assert_eq!(o.order_status.unwrap().code(), 42);
}

#[test]
fn quirk_31_lightning_status_and_list_shapes() {
    let w: LightningWithdrawal = decode(br#"{"status":"PENDING","amountBTC":0.001}"#).unwrap();
    assert_eq!(w.status, Some(LightningWithdrawalStatus::Pending));
    let rest: GetLightningInvoicesResponse =
        decode(br#"{"invoices":[{"id":"inv_1","domainEvents":[]}]}"#).unwrap();
    let hub: GetLightningInvoicesData = decode(br#"[{"id":"inv_1"}]"#).unwrap();
    assert_eq!(rest.invoices.unwrap()[0].id, hub[0].id);
}

// Quirks 32, 33 and 38 also against the sandbox (pairs sent without
// separator, networks matched case-insensitively, pair limits from config):
// crates/hercle-rest/tests/quirks.rs.
#[test]
fn quirk_32_instrument_is_opaque_text() {
    for s in ["BTCUSDT", "BTC/USDT", "BTC-USD"] {
        let t: Trade =
            decode(format!(r#"{{"id":"t","instrument":"{s}","side":"buy","price":1}}"#).as_bytes())
                .unwrap();
        assert_eq!(t.instrument, s);
    }
}

#[test]
fn quirk_33_network_case_is_kept() {
    let w: Withdrawal = decode(br#"{"id":"w","network":"ethereum"}"#).unwrap();
    assert_eq!(w.network.as_deref(), Some("ethereum"));
}

#[test]
fn quirk_34_nulls_everywhere_are_absent() {
    let w: Withdrawal =
        decode(br#"{"id":"w","description":null,"amount":null,"timestamp":null,"status":null}"#)
            .unwrap();
    assert_eq!(
        w,
        Withdrawal {
            id: "w".into(),
            ..Withdrawal::default()
        }
    );
}

// Quirk 35 (Postman's dev host and variables): the client's presets,
// crates/hercle-rest/tests/quirks.rs.

// Quirk 36 (the key is an opaque bearer string): crates/hercle-rest/tests/quirks.rs.

#[test]
fn quirk_37_argument_tables_rule() {
    let m = HubMethod::find("GetTradesByClientId").unwrap();
    assert_eq!(m.arguments.len(), 2);
    assert_eq!(
        HubMethod::find("GetDepositAddress").unwrap().data,
        Some("GetDepositAddressData")
    );
    let list: GetDepositAddressData = decode(br#"[{"id":"a"}]"#).unwrap();
    assert_eq!(list.len(), 1);
}

#[test]
fn quirk_38_pair_limits_are_data() {
    let p: Pair = decode(br#"{"name":"BTCUSDT","minQuoteSize":15,"maxSize":7}"#).unwrap();
    assert_eq!(
        (p.min_quote_size, p.max_size),
        (Some(d("15")), Some(d("7")))
    );
}

#[test]
fn description_counts() {
    assert_eq!(ENDPOINTS.len(), 46);
    assert_eq!(HUB_METHODS.len(), 36);
    assert_eq!(WEBHOOK_EVENTS.len(), 12);
    assert_eq!(ENDPOINTS.iter().filter(|e| e.idempotent).count(), 6);
    let known: Vec<_> = WEBHOOK_EVENTS
        .iter()
        .filter(|w| w.confidence == Confidence::Documented)
        .collect();
    assert_eq!(known.len(), 1);
    assert_eq!(known[0].event_type, "Banking.Deposit.StatusUpdated");
}

#[test]
fn decode_errors_name_the_json_path() {
    let err = decode::<Vec<Order>>(
        br#"[{"orderId":"a","instrument":"BTCUSDT","side":"buy"},{"orderStatus":"open"}]"#,
    )
    .unwrap_err();
    assert_eq!(err.path(), "[1].orderStatus");
    assert_eq!(err.kind(), DecodeErrorKind::Shape);
    let err = decode::<Order>(br#"{"price":1"#).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Truncated);
    let err =
        decode::<Order>(br#"{"orderId":"a","instrument":"x","side":"buy"} trailing"#).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Syntax);
}

#[test]
fn a_missing_required_field_is_a_decode_error_at_its_path() {
    // `x-required-in-types`: the fields that carry an item's meaning are
    // plain, and a payload without one is refused where it lacks it.
    let err = decode::<Vec<Balances>>(
        br#"[{"assets":[{"name":"BTC","available":1,"allocated":0},{"name":"ETH","allocated":0}]}]"#,
    )
    .unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Shape);
    assert_eq!(err.path(), "[0].assets[1]");
    assert!(
        err.to_string().contains("missing field `available`"),
        "{err}"
    );
    // An execution says its status, rejected or not; the rest may be absent.
    let err = decode::<Vec<TradeExecution>>(br#"[{"status":2},{"tradeId":"t","side":"buy"}]"#)
        .unwrap_err();
    assert_eq!(err.path(), "[1]");
    assert!(err.to_string().contains("`status`"), "{err}");
    // null is absent, for required fields too.
    let err = decode::<Pair>(br#"{"name":null}"#).unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    // Present, they are plain values.
    let p: Pair = decode(br#"{"name":"BTCUSDT"}"#).unwrap();
    assert_eq!(p.name, "BTCUSDT");
}
