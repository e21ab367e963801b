//! The generated request rules and their checks: what a client (and the
//! sandbox) refuses before a request leaves, and with which confidence.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hercle_models::catalog::{Confidence, Endpoint};
use hercle_models::contract::{self, Location, NOT_A_DECIMAL, Violation};
use hercle_models::*;

fn query(op: &str, pairs: &[(&str, &str)]) -> Vec<Violation> {
    contract::check_params(op, |loc, name| {
        pairs
            .iter()
            .find(|(n, _)| loc != Location::Body && *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

#[test]
fn every_rule_names_an_operation_of_the_table() {
    assert!(!REQUEST_RULES.is_empty());
    for r in REQUEST_RULES {
        assert!(
            Endpoint::find(r.operation_id).is_some(),
            "{}",
            r.operation_id
        );
    }
}

#[test]
fn page_size_is_documented_as_5_to_50() {
    let ok = query(
        "GetPayees",
        &[("pageSize", "5"), ("from", "2025-01-01T00:00:00Z")],
    );
    assert!(ok.is_empty(), "{ok:?}");
    for bad in ["4", "51", "five", "5.5"] {
        let v = query("GetPayees", &[("pageSize", bad)]);
        assert_eq!(v.len(), 1, "{bad}");
        assert_eq!(v[0].name, "pageSize");
        assert_eq!(v[0].confidence, Confidence::Documented);
    }
    let missing = query("GetPayees", &[]);
    assert_eq!(missing[0].keyword, "required");
}

#[test]
fn dates_in_query_and_path_must_be_date_times() {
    // The endDate accepted by GET /api/v1/withdrawals (issue 14).
    let v = query("GetWithdrawals", &[("endDate", "not-a-date")]);
    assert_eq!((v[0].name, v[0].keyword), ("endDate", "format"));
    assert!(
        query(
            "GetWithdrawals",
            &[("endDate", "2025-01-02T00:00:00+01:00")]
        )
        .is_empty()
    );
    let v = query(
        "GetOrdersPaginated",
        &[
            ("startDate", "2025-01-01T00:00:00Z"),
            ("endDate", "2025-01-02T00:00:00Z"),
            ("page", "-1"),
            ("pageSize", "10"),
        ],
    );
    assert_eq!((v[0].name, v[0].keyword), ("page", "minimum"));
}

#[test]
fn client_id_header_is_at_most_36_characters() {
    let long = "x".repeat(37);
    let v = contract::check_params("PlaceOtcOrder", |loc, name| {
        (loc == Location::Header && name == "Client-Id").then(|| long.clone())
    });
    assert_eq!((v[0].name, v[0].keyword), ("Client-Id", "maxLength"));
}

#[test]
fn body_rules_name_the_field_and_say_how_sure_they_are() {
    let ok = br#"{"asset":"BTC","amount":0.5,"address":"bc1q","network":"Bitcoin"}"#;
    assert!(contract::check_body("Withdraw", ok).is_empty());

    let zero = br#"{"asset":"BTC","amount":0,"address":"bc1q","network":"Bitcoin"}"#;
    let v = contract::check_body("Withdraw", zero);
    assert_eq!((v[0].name, v[0].keyword), ("amount", "exclusiveMinimum"));
    // Positive amounts are the description's inference, not the docs'.
    assert_eq!(v[0].confidence, Confidence::Inferred);

    let v = contract::check_body("Withdraw", br#"{"asset":"BTC","amount":1}"#);
    let names: Vec<&str> = v.iter().map(|v| v.name).collect();
    assert_eq!(names, ["address", "network"]);
    assert!(v.iter().all(|v| v.keyword == "required"));

    let blank = br#"{"asset":"  ","amount":1,"address":"a","network":"n"}"#;
    assert_eq!(
        contract::check_body("Withdraw", blank)[0].keyword,
        "pattern"
    );

    let null = br#"{"asset":"EUR","network":"Sepa","endUserId":null}"#;
    let v = contract::check_body("CreateDepositAccount", null);
    assert_eq!((v[0].name, v[0].keyword), ("endUserId", "type"));

    assert_eq!(contract::check_body("Withdraw", b"[1]")[0].name, "body");
}

#[test]
fn numbers_an_exact_decimal_cannot_hold_are_told_apart() {
    let tiny = br#"{"asset":"BTC","amount":5e-324,"address":"a","network":"n"}"#;
    let v = contract::check_body("Withdraw", tiny);
    assert_eq!((v[0].name, v[0].keyword), ("amount", NOT_A_DECIMAL));
    let v = query("GetPairPrice", &[("pair", "BTCUSDT"), ("size", "5e-324")]);
    assert_eq!((v[0].name, v[0].keyword), ("size", NOT_A_DECIMAL));
    assert!(query("GetPairPrice", &[("pair", "BTCUSDT"), ("size", "1e-8")]).is_empty());
    let v = query("GetPairPrice", &[("pair", "BTC/USDT"), ("size", "1")]);
    assert_eq!((v[0].name, v[0].keyword), ("pair", "pattern"));
}

#[test]
fn nested_objects_and_array_items_are_checked() {
    let long = "n".repeat(101);
    let body = format!(
        r#"{{"business":{{"companyName":"{long}"}},"businessPersons":[{{}}],"ipAddress":"1.2.3.4","sector":"BLOCKCHAIN"}}"#
    );
    let v = contract::check_body("RegisterBusinessEndUser", body.as_bytes());
    assert_eq!(
        (v[0].name, v[0].keyword),
        ("business.companyName", "maxLength")
    );

    let body = br#"{"business":{"companyName":"Acme"},"businessPersons":[null],"ipAddress":"1.2.3.4","sector":"BLOCKCHAIN"}"#;
    let v = contract::check_body("RegisterBusinessEndUser", body);
    assert_eq!((v[0].name, v[0].keyword), ("businessPersons", "type"));

    let payin = br#"{"amount":10,"toAddress":"fac_1","fromType":"PERSON","paymentScheme":"FPS","reference":"r","from":{"accountNumber":"1","routingCodes":[{"type":"nope","value":"1"}]}}"#;
    let v = contract::check_body("SimulatePayin", payin);
    assert_eq!(
        (v[0].name, v[0].keyword),
        ("from.routingCodes[].type", "enum")
    );
}

#[test]
fn typed_requests_are_checked_with_their_exact_digits() {
    let req = CreateLightningInvoiceRequest {
        amount_btc: Some("0.00000001".parse().unwrap()),
        expiry_hours: Some("721".parse().unwrap()),
        ..Default::default()
    };
    let v = contract::check_request("CreateLightningInvoice", &req);
    assert_eq!((v[0].name, v[0].keyword), ("expiryHours", "maximum"));
    assert_eq!(v[0].confidence, Confidence::Documented);
}

#[test]
fn required_fields_are_plain_and_a_missing_one_is_a_decode_error() {
    let q: PriceQuote =
        decode(br#"{"id":"q","pair":"BTCUSDT","buyPrice":2,"sellPrice":1,"size":0.5}"#).unwrap();
    assert_eq!(
        (q.id.as_str(), q.buy_price.to_string()),
        ("q", "2".to_owned())
    );
    assert_eq!(q.size.map(|s| s.to_string()), Some("0.5".to_owned()));
    assert_eq!(q.mark_price, None);
    let err =
        decode::<Vec<PriceQuote>>(br#"[{"id":"q","pair":"BTCUSDT","sellPrice":1}]"#).unwrap_err();
    assert!(
        err.to_string().contains("missing field `buyPrice`"),
        "{err}"
    );
    assert!(err.path().starts_with("[0]"), "{}", err.path());
    // Round trip keeps the plain fields.
    let text = serde_json::to_string(&q).unwrap();
    assert_eq!(decode::<PriceQuote>(text.as_bytes()).unwrap(), q);
}

#[test]
fn integers_are_read_from_their_exact_text() {
    // `207.0` is an integer to JSON Schema, and so to the models.
    let r: CreateRfqCustomExpirationRequest =
        decode(br#"{"pair":"BTCUSDT","expirationInSeconds":207.0}"#).unwrap();
    assert_eq!(r.expiration_in_seconds, Some(207));
    let err =
        decode::<CreateRfqCustomExpirationRequest>(br#"{"expirationInSeconds":1.5}"#).unwrap_err();
    assert_eq!(err.path(), "expirationInSeconds");
}
