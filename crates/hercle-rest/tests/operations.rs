//! Every operation against the sandbox over real HTTP on 127.0.0.1: the
//! happy path decoded into its type, and the documented errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use hercle_models::ops::{self, OperationId};
use hercle_models::*;
use hercle_rest::{CallOptions, ErrorKind, Input, Outcome, RetryPolicy};
use hercle_sandbox::{ApiKey, Config, RateLimit};
use std::collections::BTreeSet;
use support::*;

const START: &str = "2025-01-01T00:00:00Z";
const END: &str = "2025-01-02T00:00:00Z";

/// Every field RegisterPayee requires (the docs list them all as required).
const PAYEE: &str = r#"{"type":0,"name":"Payee","surname":"One","company":"","country":"GB","state":"London","city":"London","address":"1 Road","postalCode":"N1 1AA"}"#;

#[tokio::test]
async fn every_operation_on_its_happy_path() {
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::never());
    let mut seen = BTreeSet::new();
    let mut hit = |id: OperationId| {
        seen.insert(id);
    };

    // Market.
    let pairs = c.get_pairs().await.unwrap();
    assert_eq!(pairs[0].name, "BTCUSDT");
    hit(OperationId::GetPairs);
    let size = c
        .get_pair_size_by_amount(ops::GetPairSizeByAmountPath {
            pair: "BTCUSDT".into(),
            side: Side::from_wire("buy"),
            amount: d("1000"),
        })
        .await
        .unwrap();
    assert_eq!(size.pair, "BTCUSDT");
    assert!(size.size > d("0") && size.price > d("0"));
    hit(OperationId::GetPairSizeByAmount);
    let nets = c
        .get_asset_networks(ops::GetAssetNetworksPath {
            asset: "BTC".into(),
        })
        .await
        .unwrap();
    assert!(nets.iter().any(|n| n == "Bitcoin"));
    hit(OperationId::GetAssetNetworks);
    let quote = c
        .get_pair_price(ops::GetPairPricePath {
            pair: "BTCUSDT".into(),
            size: d("0.5"),
        })
        .await
        .unwrap();
    hit(OperationId::GetPairPrice);

    // Trading: an order under a chosen Client-Id, then every lookup of it.
    let order = c
        .call_with::<ops::PlaceOtcOrder>(
            Input {
                path: (),
                query: (),
                body: body(&format!(
                    r#"{{"priceId":"{}","side":"buy","slippage":1}}"#,
                    quote.id
                )),
            },
            CallOptions {
                client_id: Some("order-1".into()),
                ..CallOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Executed);
    assert_eq!(order.price, Some(quote.buy_price));
    hit(OperationId::PlaceOtcOrder);
    let orders = c
        .get_orders_by_client_id(ops::GetOrdersByClientIdPath {
            client_id: "order-1".into(),
        })
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    hit(OperationId::GetOrdersByClientId);
    let range = |page| ops::GetOrdersPaginatedPath {
        start_date: START.into(),
        end_date: END.into(),
        page,
        page_size: 5,
    };
    assert_eq!(c.get_orders_paginated(range(0)).await.unwrap().len(), 1);
    hit(OperationId::GetOrdersPaginated);
    let rfq = c
        // Quirk 15: amount is required; 0 leaves it unused.
        .create_rfq(body(
            r#"{"pair":"BTCUSDT","side":"buy","size":0.1,"amount":0}"#,
        ))
        .await
        .unwrap();
    hit(OperationId::CreateRfq);
    let rfq2 = c
        .create_rfq_custom_expiration(body(
            r#"{"pair":"ETHUSDT","side":"sell","size":1,"amount":0,"expirationInSeconds":60}"#,
        ))
        .await
        .unwrap();
    assert!(!rfq2.request_for_quote_id.is_empty());
    hit(OperationId::CreateRfqCustomExpiration);
    let accepted = c
        .accept_rfq(body(&format!(
            r#"{{"requestForQuoteId":"{}"}}"#,
            rfq.request_for_quote_id.clone()
        )))
        .await
        .unwrap();
    assert_eq!(accepted.status, OrderStatus::Executed);
    hit(OperationId::AcceptRfq);
    let balances = c.get_balances().await.unwrap();
    assert!(balances.first().unwrap().assets.is_some());
    hit(OperationId::GetBalances);
    let trades = c
        .get_trades_by_client_id(ops::GetTradesByClientIdPath {
            trade_client_id: "order-1".into(),
        })
        .await
        .unwrap();
    assert_eq!(trades.len(), 1);
    hit(OperationId::GetTradesByClientId);
    let t = c
        .get_trades_paginated(ops::GetTradesPaginatedPath {
            start_date: START.into(),
            end_date: END.into(),
            page: 0,
            page_size: 50,
        })
        .await
        .unwrap();
    assert_eq!(t.len(), 2);
    hit(OperationId::GetTradesPaginated);
    c.get_historical_trades_paginated(ops::GetHistoricalTradesPaginatedPath {
        start_date: START.into(),
        end_date: END.into(),
        page: 0,
        page_size: 50,
    })
    .await
    .unwrap();
    hit(OperationId::GetHistoricalTradesPaginated);
    let txs = c
        .get_transactions_paginated(ops::GetTransactionsPaginatedPath {
            start_date: START.into(),
            end_date: END.into(),
            page: 0,
            page_size: 50,
        })
        .await
        .unwrap();
    assert!(txs.len() >= 4);
    hit(OperationId::GetTransactionsPaginated);
    c.get_historical_transactions_paginated(ops::GetHistoricalTransactionsPaginatedPath {
        start_date: START.into(),
        end_date: END.into(),
        page: 0,
        page_size: 50,
    })
    .await
    .unwrap();
    hit(OperationId::GetHistoricalTransactionsPaginated);
    let tx_id = txs[0].id.clone();
    c.get_transaction_ledger(ops::GetTransactionLedgerPath {
        transaction_id: tx_id,
    })
    .await
    .unwrap();
    hit(OperationId::GetTransactionLedger);

    // Addresses and withdrawals.
    let wl = c
        .whitelist_address(body(
            r#"{"name":"cold","asset":"BTC","address":"bc1qsandbox","network":"Bitcoin"}"#,
        ))
        .await
        .unwrap();
    hit(OperationId::WhitelistAddress);
    c.whitelist_address_with_params(body(
        r#"{"name":"tagged","asset":"ETH","address":"0x000000000000000000000000000000000000dEaD","addressParams":{"id":"x"},"network":"Ethereum"}"#,
    ))
    .await
    .unwrap();
    hit(OperationId::WhitelistAddressWithParams);
    let listed = c.get_whitelisted_addresses().await.unwrap();
    assert_eq!(listed.len(), 2);
    hit(OperationId::GetWhitelistedAddresses);
    c.create_deposit_address(body(r#"{"asset":"BTC","network":"Bitcoin"}"#))
        .await
        .unwrap()
        .expect("the sandbox answers with the address");
    hit(OperationId::CreateDepositAddress);
    assert!(!c.get_deposit_addresses().await.unwrap().is_empty());
    hit(OperationId::GetDepositAddresses);
    let w = r#"{"asset":"BTC","amount":0.25,"address":"bc1qsandbox","network":"Bitcoin"}"#;
    let made = c
        .call_with::<ops::Withdraw>(
            Input {
                path: (),
                query: (),
                body: body(w),
            },
            CallOptions {
                client_id: Some("wd-1".into()),
                ..CallOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(made.first().unwrap().amount, Some(d("0.25")));
    hit(OperationId::Withdraw);
    c.instant_withdraw(body(w)).await.unwrap();
    hit(OperationId::InstantWithdraw);
    c.withdraw_with_address_params(body(
        r#"{"asset":"BTC","amount":0.1,"address":"bc1qsandbox","addressParams":{},"network":"Bitcoin","isInstant":false}"#,
    ))
    .await
    .unwrap();
    hit(OperationId::WithdrawWithAddressParams);
    let all = c
        .get_withdrawals(ops::GetWithdrawalsQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    hit(OperationId::GetWithdrawals);
    let by_id = c
        .get_withdrawals_by_client_id(ops::GetWithdrawalsByClientIdPath {
            withdraw_client_id: "wd-1".into(),
        })
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    hit(OperationId::GetWithdrawalsByClientId);
    c.get_withdrawals_paginated(ops::GetWithdrawalsPaginatedPath {
        start_date: START.into(),
        end_date: END.into(),
        page: 0,
        page_size: 5,
    })
    .await
    .unwrap();
    hit(OperationId::GetWithdrawalsPaginated);
    let removed = c
        .remove_whitelisted_address(body(&format!(
            r#"{{"addressId":"{}"}}"#,
            wl.address_id.clone().unwrap()
        )))
        .await
        .unwrap();
    assert!(removed.address_id.is_some() || removed.message.is_some());
    hit(OperationId::RemoveWhitelistedAddress);

    // Lightning.
    let invoice = c
        .create_lightning_invoice(body(r#"{"amountBtc":0.001,"expiryHours":24,"memo":"m"}"#))
        .await
        .unwrap();
    hit(OperationId::CreateLightningInvoice);
    assert!(
        !c.get_lightning_invoices()
            .await
            .unwrap()
            .invoices
            .unwrap()
            .is_empty()
    );
    hit(OperationId::GetLightningInvoices);
    let _ = invoice;
    c.create_lightning_withdrawal(body(r#"{"paymentRequestHash":"lnbc10u1sandbox"}"#))
        .await
        .unwrap();
    hit(OperationId::CreateLightningWithdrawal);

    // Banking.
    let business = c
        .register_business_end_user(body(
            r#"{"business":{"companyName":"Acme Ltd"},"businessPersons":[{}],"ipAddress":"127.0.0.1","sector":"BLOCKCHAIN"}"#,
        ))
        .await
        .unwrap();
    hit(OperationId::RegisterBusinessEndUser);
    c.get_business_end_users(ops::GetBusinessEndUsersQuery {
        page_size: 5,
        ..Default::default()
    })
    .await
    .unwrap();
    hit(OperationId::GetBusinessEndUsers);
    c.register_individual_end_user(body(
        r#"{"person":{"firstName":"Ada","lastName":"Lovelace"},"ipAddress":"127.0.0.1"}"#,
    ))
    .await
    .unwrap();
    hit(OperationId::RegisterIndividualEndUser);
    c.get_individual_end_users(ops::GetIndividualEndUsersQuery {
        page_size: 5,
        ..Default::default()
    })
    .await
    .unwrap();
    hit(OperationId::GetIndividualEndUsers);
    // multipart/form-data: a text part for the type, a file part (name,
    // media type, bytes that are not UTF-8 and hold CRLFs) for the document.
    let (path, form) = upload("IDENTITY_VERIFICATION", business.id.as_deref().unwrap());
    let doc = c.upload_end_user_document(path, form).await.unwrap();
    assert!(doc.hercle_document_id.is_some() && doc.request_id.is_some());
    hit(OperationId::UploadEndUserDocument);
    let account = c
        .create_deposit_account(body(
            r#"{"asset":"EUR","network":"Sepa","fiatAccountId":"fac_1"}"#,
        ))
        .await
        .unwrap();
    hit(OperationId::CreateDepositAccount);
    c.get_deposit_accounts(ops::GetDepositAccountsQuery {
        page_size: 5,
        ..Default::default()
    })
    .await
    .unwrap();
    hit(OperationId::GetDepositAccounts);
    let payee = c.register_payee(body(PAYEE)).await.unwrap();
    hit(OperationId::RegisterPayee);
    c.get_payees(ops::GetPayeesQuery {
        page_size: 5,
        ..Default::default()
    })
    .await
    .unwrap();
    hit(OperationId::GetPayees);
    let payee_id = payee.id.clone().unwrap();
    let pa = c
        .register_payee_address(
            ops::RegisterPayeeAddressPath {
                payee_id: payee_id.clone(),
            },
            body(
                r#"{"name":"eur","asset":"EUR","address":"LT601010012345678901","network":"Sepa","addressParams":{"bic":"SBXXLT22"}}"#,
            ),
        )
        .await
        .unwrap();
    hit(OperationId::RegisterPayeeAddress);
    c.get_payee_addresses(ops::GetPayeeAddressesQuery {
        payee_id,
        page_size: 5,
        ..Default::default()
    })
    .await
    .unwrap();
    hit(OperationId::GetPayeeAddresses);
    let transfer = c
        .create_transfer(body(&format!(
            r#"{{"asset":"EUR","amount":150.50,"internalAddressId":"fac_1","payeeAddressId":"{}","description":"rent"}}"#,
            pa.id.clone().unwrap()
        )))
        .await
        .unwrap();
    assert_eq!(transfer.amount, Some(d("150.50")));
    hit(OperationId::CreateTransfer);
    let transfers = c
        .get_transfers(ops::GetTransfersQuery {
            start_date: START.into(),
            end_date: END.into(),
            page_size: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(transfers.payload.unwrap().len(), 1);
    hit(OperationId::GetTransfers);
    c.simulate_payin(body(&format!(
        r#"{{"amount":1000,"toAddress":"{}","from":{{"iban":"DE89370400440532013000"}},"fromType":"PERSON","paymentScheme":"SCT","reference":"t"}}"#,
        account.ref_account_id.clone().unwrap()
    )))
    .await
    .unwrap();
    hit(OperationId::SimulatePayin);

    let missing: Vec<_> = OperationId::ALL
        .iter()
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(missing.is_empty(), "not exercised: {missing:?}");
}

/// A document upload of type `kind` for `end_user_id`.
fn upload(
    kind: &str,
    end_user_id: &str,
) -> (ops::UploadEndUserDocumentPath, UploadEndUserDocumentRequest) {
    (
        ops::UploadEndUserDocumentPath {
            end_user_id: end_user_id.to_owned(),
        },
        UploadEndUserDocumentRequest {
            r#type: Some(DocumentType::from_wire(kind)),
            description: Some("passport, \"front\"".into()),
            file: Some(FileUpload::new(
                "passport scan.png",
                "image/png",
                b"\x89PNG\r\n\x1a\n\x00\xff--\r\n".to_vec(),
            )),
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn document_upload_errors() {
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::never());
    let user = c
        .register_individual_end_user(body(
            r#"{"person":{"firstName":"Ada","lastName":"Lovelace"},"ipAddress":"127.0.0.1"}"#,
        ))
        .await
        .unwrap();
    let id = user.id.clone().unwrap();
    // Quirk 22: the docs' curl sends PASSPORT, a type the docs do not list.
    let (path, form) = upload("PASSPORT", &id);
    let e = c.upload_end_user_document(path, form).await.unwrap_err();
    assert_eq!((e.status(), e.param()), (Some(400), Some("type")), "{e}");
    // The file part is required.
    let (path, mut form) = upload("IDENTITY_VERIFICATION", &id);
    form.file = None;
    let e = c.upload_end_user_document(path, form).await.unwrap_err();
    assert_eq!((e.status(), e.param()), (Some(400), Some("file")), "{e}");
    // An unknown end user.
    let (path, form) = upload("IDENTITY_VERIFICATION", "eus_missing");
    let e = c.upload_end_user_document(path, form).await.unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(404), Some("not_found")),
        "{e}"
    );
    assert!(!e.may_have_executed());
}

#[tokio::test]
async fn documented_errors_are_typed() {
    let mut config = Config::default();
    config.api_keys.push(ApiKey {
        key: "no-kyc".into(),
        kyc_approved: false,
    });
    config.rate_limit = Some(RateLimit {
        per_second: 1000,
        burst: 1000,
    });
    let sb = sandbox(config).await;
    let wrong = hercle_rest::Client::builder()
        .api_key("wrong-key-123")
        .base_url(sb.base_url())
        .build()
        .unwrap();
    let e = wrong.get_pairs().await.unwrap_err();
    assert_eq!((e.status(), e.outcome()), (Some(401), Outcome::Rejected));
    assert_eq!(e.operation(), Some(OperationId::GetPairs));
    assert!(!e.to_string().contains("wrong-key-123"), "{e}");
    assert!(!format!("{e:?}").contains("wrong-key-123"));

    let no_kyc = hercle_rest::Client::builder()
        .api_key("no-kyc")
        .base_url(sb.base_url())
        .build()
        .unwrap();
    let e = no_kyc.get_balances().await.unwrap_err();
    assert_eq!(e.status(), Some(403));

    let c = client(&sb, RetryPolicy::never());
    let e = c
        .get_trades_paginated(ops::GetTradesPaginatedPath {
            start_date: START.into(),
            end_date: END.into(),
            page: 0,
            page_size: 4,
        })
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.param()), (Some(400), Some("pageSize")));
    assert!(e.to_string().contains("pageSize"), "{e}");
    assert!(!e.may_have_executed());
    let e = c
        .create_rfq_custom_expiration(body(
            r#"{"pair":"BTCUSDT","side":"buy","size":0.1,"amount":0}"#,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.param()),
        (Some(400), Some("expirationInSeconds"))
    );
    let e = c
        .withdraw(body(
            r#"{"asset":"BTC","amount":0.25,"address":"nowhere","network":"Bitcoin"}"#,
        ))
        .await
        .unwrap_err();
    // Well-formed but refused (no whitelisted address): 422.
    assert_eq!(e.status(), Some(422), "{e}");
    assert!(e.client_id().is_some(), "the generated key is reported");

    let e = c
        .get_transaction_ledger(ops::GetTransactionLedgerPath {
            transaction_id: "missing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(404), Some("not_found")));
}

#[tokio::test]
async fn rate_limited_calls_report_429_with_retry_after() {
    let config = Config {
        rate_limit: Some(RateLimit {
            per_second: 1,
            burst: 1,
        }),
        ..Config::default()
    };
    let sb = sandbox(config).await;
    let c = client(&sb, RetryPolicy::never());
    c.get_pairs().await.unwrap();
    let e = c.get_pairs().await.unwrap_err();
    let ErrorKind::Status {
        status,
        retry_after,
        ..
    } = e.kind()
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*status, *retry_after),
        (429, Some(std::time::Duration::from_secs(1)))
    );
    assert_eq!(e.outcome(), Outcome::Rejected);
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::never());
    // A client id with a slash, a space and a dot segment still reaches the
    // one route and comes back as sent.
    for id in ["a/b c", "..", "ü?#&"] {
        let orders = c
            .get_orders_by_client_id(ops::GetOrdersByClientIdPath {
                client_id: id.into(),
            })
            .await
            .unwrap();
        assert!(orders.is_empty(), "{id}");
    }
    let e = c
        .get_orders_by_client_id(ops::GetOrdersByClientIdPath {
            client_id: String::new(),
        })
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Build(_)));
    assert_eq!(e.outcome(), Outcome::NotSent);
}
