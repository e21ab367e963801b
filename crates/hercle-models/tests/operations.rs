//! The generated operation descriptors: `OperationId` matches the endpoint
//! table, `HubMethodId` the hub method table, and path rendering is the
//! inverse of routing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hercle_models::catalog::{Endpoint, RenderError};
use hercle_models::operation::{
    CursorPage, CursorPaged, OffsetPaged, Operation, PathParams, QueryParams, RequestContent,
    decode_component,
};
use hercle_models::ops::{self, OperationId};
use hercle_models::{ENDPOINTS, HUB_METHODS, HubMethodId};
use proptest::prelude::*;

#[test]
fn operation_ids_match_the_endpoint_table() {
    assert_eq!(OperationId::ALL.len(), ENDPOINTS.len());
    for (id, e) in OperationId::ALL.iter().zip(ENDPOINTS) {
        assert_eq!(id.as_str(), e.operation_id);
        assert_eq!(id.endpoint(), e);
        assert_eq!(OperationId::from_name(e.operation_id), Some(*id));
    }
    assert_eq!(OperationId::from_name("Nope"), None);
}

#[test]
fn hub_method_ids_match_the_hub_table() {
    assert_eq!(HubMethodId::ALL.len(), HUB_METHODS.len());
    for (id, m) in HubMethodId::ALL.iter().zip(HUB_METHODS) {
        assert_eq!(id.as_str(), m.name);
        assert_eq!(id.method(), m);
        assert_eq!(HubMethodId::from_name(m.name), Some(*id));
    }
    assert_eq!(HubMethodId::from_name("getpairs"), None, "exact names only");
}

#[test]
fn descriptors_carry_the_table_facts() {
    let e = <ops::PlaceOtcOrder as Operation>::endpoint();
    assert!(e.idempotent);
    assert_eq!(
        <ops::PlaceOtcOrder as Operation>::REQUEST_CONTENT,
        RequestContent::Json
    );
    assert_eq!(
        <ops::GetPairs as Operation>::REQUEST_CONTENT,
        RequestContent::None
    );
    // The one multipart operation, and its parts in the description's order.
    assert_eq!(
        <ops::UploadEndUserDocument as Operation>::REQUEST_CONTENT,
        RequestContent::MultipartFormData
    );
    let body = hercle_models::UploadEndUserDocumentRequest {
        r#type: Some(hercle_models::DocumentType::IdentityVerification),
        file: Some(hercle_models::FileUpload::new(
            "id.png",
            "image/png",
            b"\x89PNG".to_vec(),
        )),
        ..Default::default()
    };
    let parts = <ops::UploadEndUserDocument as Operation>::form_parts(&body).unwrap();
    let parts: Vec<_> = parts
        .iter()
        .map(|p| (p.name.as_ref(), p.filename, p.content_type, &*p.data))
        .collect();
    assert_eq!(
        parts,
        [
            ("type", None, None, &b"IDENTITY_VERIFICATION"[..]),
            ("file", Some("id.png"), Some("image/png"), &b"\x89PNG"[..]),
        ]
    );
    assert!(
        <ops::PlaceOtcOrder as Operation>::form_parts(&Default::default())
            .unwrap()
            .is_empty()
    );
    let e = <ops::GetTradesPaginated as Operation>::endpoint();
    assert_eq!(e.max_range_days, Some(7));
    // Quirk 17: the only operation whose 2xx may be empty.
    let empty: Vec<_> = OperationId::ALL
        .iter()
        .filter(|id| id.as_str() == "CreateDepositAddress")
        .collect();
    assert_eq!(empty.len(), 1);
    const { assert!(<ops::CreateDepositAddress as Operation>::EMPTY_BODY_OK) };
    const { assert!(!<ops::GetPairs as Operation>::EMPTY_BODY_OK) };
}

#[test]
fn path_and_query_values() {
    let p = ops::GetPairPricePath {
        pair: "BTCUSDT".into(),
        size: "1.50".parse().unwrap(),
    };
    assert_eq!(
        p.values(),
        [("pair", "BTCUSDT".to_owned()), ("size", "1.50".to_owned())]
    );
    let q = ops::GetPayeeAddressesQuery {
        payee_id: "p 1".into(),
        page_size: 5,
        pagination_token: Some("t".into()),
        ..Default::default()
    };
    let mut out = Vec::new();
    q.pairs(&mut out);
    assert_eq!(
        out,
        [
            ("payeeId", "p 1".to_owned()),
            ("pageSize", "5".to_owned()),
            ("paginationToken", "t".to_owned())
        ]
    );
}

#[test]
fn first_pages_come_from_the_pagination_metadata() {
    // Page size in the path: page 0, the size given, the range still empty.
    assert_eq!(ops::GetOrdersPaginated::MAX_PAGE_SIZE, 50);
    let orders = ops::GetOrdersPaginated::first_page(25);
    assert_eq!(
        orders.path.values(),
        [
            ("startDate", String::new()),
            ("endDate", String::new()),
            ("page", "0".to_owned()),
            ("pageSize", "25".to_owned()),
        ]
    );
    assert_eq!(ops::GetOrdersPaginated::page_size(&orders), Some(25));
    // Page size in the query (optional there): set, and the filters unset.
    let withdrawals = ops::GetWithdrawals::first_page(ops::GetWithdrawals::MAX_PAGE_SIZE);
    let mut pairs = Vec::new();
    withdrawals.query.pairs(&mut pairs);
    assert_eq!(
        pairs,
        [("page", "0".to_owned()), ("pageSize", "50".to_owned())]
    );
}

#[test]
fn cursor_pages_are_built_and_split_by_one_piece() {
    let payee = |id: &str| hercle_models::Payee {
        id: Some(id.to_owned()),
        ..Default::default()
    };
    let page = hercle_models::PayeeCursorPage::new(vec![payee("a")], Some("next".to_owned()));
    assert_eq!(page.payload.as_deref(), Some(&[payee("a")][..]));
    assert_eq!(page.pagination_token.as_deref(), Some("next"));
    let (items, token) = ops::GetPayees::split(page);
    assert_eq!((items, token.as_deref()), (vec![payee("a")], Some("next")));
    // An empty token is the last page, as an absent one is.
    let last = hercle_models::PayeeCursorPage::new(Vec::new(), Some(String::new()));
    assert_eq!(last.into_parts(), (Vec::new(), None));
}

#[test]
fn rendering_refuses_missing_and_empty_values() {
    let e = Endpoint::find("GetPairPrice").unwrap();
    assert_eq!(
        e.render(&[("pair", "BTCUSDT")]),
        Err(RenderError::Missing("size"))
    );
    assert_eq!(
        e.render(&[("pair", ""), ("size", "1")]),
        Err(RenderError::Empty("pair"))
    );
    let e = Endpoint::find("GetOrdersByClientId").unwrap();
    assert_eq!(
        e.render(&[("clientId", "..")]).unwrap(),
        "/api/v1/orders/%2E%2E"
    );
}

fn names(e: &Endpoint) -> Vec<&'static str> {
    e.path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]
    #[test]
    fn route_of_render_gives_the_parameters_back(
        index in 0..ENDPOINTS.len(),
        values in proptest::collection::vec("\\PC{1,12}|[./%?#& ]{1,4}", 4),
    ) {
        let e = &ENDPOINTS[index];
        let names = names(e);
        let given: Vec<(&str, &str)> =
            names.iter().zip(&values).map(|(n, v)| (*n, v.as_str())).collect();
        let path = e.render(&given).unwrap();
        let (found, params) = Endpoint::route(e.method, &path).unwrap();
        prop_assert_eq!(found.operation_id, e.operation_id);
        let decoded: Vec<(&str, String)> = params
            .iter()
            .map(|(n, v)| (*n, decode_component(v).unwrap()))
            .collect();
        let expected: Vec<(&str, String)> =
            given.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
        prop_assert_eq!(decoded, expected);
    }
}
