//! Addresses and withdrawals. Withdrawals move through CREATED →
//! CONFIRMING → CONFIRMED on the sandbox clock.

use crate::domain::error::ApiError;
use crate::domain::paging::{OffsetList, OffsetQuery};
use crate::domain::state::{
    State, bank_details, d, event_data, is_fiat, json, money, need_str, positive, with_nulls,
};
use hercle_models::*;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Time from creation to CONFIRMING and to CONFIRMED.
const CONFIRMING_AFTER: Duration = Duration::from_secs(2);
const CONFIRMED_AFTER: Duration = Duration::from_secs(10);
const INSTANT_CONFIRMED_AFTER: Duration = Duration::from_secs(1);

/// Input common to the three withdrawal endpoints and the hub methods.
pub(crate) struct WithdrawInput {
    pub(crate) asset: Option<String>,
    pub(crate) amount: Option<Decimal>,
    pub(crate) address: Option<String>,
    pub(crate) address_params: Option<BTreeMap<String, String>>,
    pub(crate) network: Option<String>,
    pub(crate) instant: bool,
}

fn fee_for(asset: &str, amount: Decimal) -> Decimal {
    // 0.1 %, at most 8 places: enough to see fees in the ledger.
    let _ = asset;
    (amount * d("0.001")).round_dp(8)
}

impl State {
    pub(crate) fn whitelist_address(
        &mut self,
        key: &str,
        name: Option<String>,
        asset: Option<String>,
        address: Option<String>,
        params: Option<BTreeMap<String, String>>,
        network: Option<String>,
    ) -> Result<AddressOpResult, ApiError> {
        let name = need_str(name, "name")?;
        let asset = need_str(asset, "asset")?;
        let address = need_str(address, "address")?;
        let network = need_str(network, "network")?;
        let ts = self.now_ts();
        let id = self.new_id();
        let acct = self.account(key);
        if acct.whitelisted.iter().any(|w| {
            w.deleted != Some(true)
                && w.address.as_deref() == Some(address.as_str())
                && w.asset.as_deref() == Some(asset.as_str())
        }) {
            return Err(ApiError::conflict(
                "already_exists",
                "Address already whitelisted",
            ));
        }
        let user = acct.user_id.clone();
        acct.whitelisted.push(WhitelistedAddress {
            id: Some(id.clone()),
            name: Some(name),
            user_id: Some(user.clone()),
            asset: Some(asset),
            address: Some(address),
            address_params: Some(params.unwrap_or_default()),
            network: Some(network),
            // The sandbox approves at once; production reviews first.
            status: Some(WhitelistedAddressStatus::Approved),
            // Approved at once: the review is the sandbox's, at creation.
            comment: Some(String::new()),
            audit_by: Some("sandbox".to_owned()),
            audit_date: Some(ts.clone()),
            // "" without an end user: the description types it a string.
            end_user_id: Some(String::new()),
            enabled: Some(true),
            deleted: Some(false),
            creation_date: Some(ts),
            ..Default::default()
        });
        Ok(AddressOpResult {
            http_status_code: Some(201),
            address_id: Some(id),
            user_id: Some(user),
            message: Some("Address whitelisted".to_owned()),
            end_user_id: Some(String::new()),
            ..Default::default()
        })
    }

    pub(crate) fn whitelisted(&mut self, key: &str) -> Vec<WhitelistedAddress> {
        self.account(key)
            .whitelisted
            .iter()
            .filter(|w| w.deleted != Some(true))
            .cloned()
            .collect()
    }

    pub(crate) fn remove_whitelisted(
        &mut self,
        key: &str,
        address_id: Option<String>,
    ) -> Result<AddressOpResult, ApiError> {
        let id = need_str(address_id, "addressId")?;
        let acct = self.account(key);
        let user = acct.user_id.clone();
        let w = acct
            .whitelisted
            .iter_mut()
            .find(|w| w.id.as_deref() == Some(id.as_str()) && w.deleted != Some(true))
            .ok_or_else(|| ApiError::not_found("Address", &id))?;
        w.deleted = Some(true);
        w.status = Some(WhitelistedAddressStatus::Deleted);
        Ok(AddressOpResult {
            http_status_code: Some(200),
            address_id: Some(id),
            user_id: Some(user),
            message: Some("Address removed".to_owned()),
            end_user_id: Some(String::new()),
            ..Default::default()
        })
    }

    pub(crate) fn create_deposit_address(
        &mut self,
        key: &str,
        asset: Option<String>,
        network: Option<String>,
    ) -> Result<DepositAddress, ApiError> {
        let asset = need_str(asset, "asset")?;
        let network = need_str(network, "network")?;
        let id = self.new_id();
        let raw = self.new_id().replace('-', "");
        let ts = self.now_ts();
        let acct = self.account(key);
        let custody_id = (acct.deposit_addresses.len() + 1).to_string();
        // Fiat is paid into a virtual bank account: its IBAN is the address
        // and its bank details are the reference (the docs' EUR example).
        // Crypto goes to a custody account with numeric ids, as the docs'
        // example shows, and its detail fields empty or null.
        let (address_text, ref_id, ref_type, details) = if is_fiat(&asset) {
            let bank = bank_details(&asset, &raw);
            let iban = bank.iban.clone().unwrap_or_default();
            (
                iban,
                format!("vac_{}", raw.get(..12).unwrap_or(&raw)),
                RefAccountType::VirtualAccount,
                AccountDetails::BankDetails(bank),
            )
        } else {
            let address_text = format!("sbx{}", raw.get(..30).unwrap_or(&raw));
            let crypto = CryptoAccountDetails {
                id: Some(custody_id.clone()),
                address: Some(address_text.clone()),
                legacy_address: Some(String::new()),
                tag: Some(String::new()),
                eos_account_name: Some(format!("Address {asset}")),
                extra: with_nulls(
                    BTreeMap::new(),
                    &["enterpriseAddress", "status", "activationTxId"],
                ),
                ..Default::default()
            };
            (
                address_text,
                custody_id,
                RefAccountType::CryptoAccount,
                AccountDetails::CryptoAccountDetails(crypto),
            )
        };
        let address = DepositAddress {
            id: Some(id),
            name: Some(format!("{asset} deposit")),
            user_id: Some(acct.user_id.clone()),
            asset: Some(asset.clone()),
            address: Some(address_text),
            address_params: RawJson::from_text("{}").ok(),
            network: Some(network),
            deleted: Some(false),
            creation_date: Some(ts),
            ref_account_id: Some(ref_id),
            ref_account_type: Some(ref_type),
            ref_account_details: Some(details),
            extra: with_nulls(BTreeMap::new(), &["endUserId"]),
            ..Default::default()
        };
        acct.deposit_addresses.push(address.clone());
        Ok(address)
    }

    pub(crate) fn deposit_addresses(&mut self, key: &str) -> Vec<DepositAddress> {
        self.account(key).deposit_addresses.clone()
    }

    /// Credits a deposit (admin API and simulated pay-ins).
    pub(crate) fn deposit(&mut self, key: &str, asset: &str, amount: Decimal) {
        self.post(key, asset, amount, TransactionType::Deposit);
    }

    pub(crate) fn withdraw(
        &mut self,
        key: &str,
        client_id: &str,
        input: WithdrawInput,
    ) -> Result<Withdrawal, ApiError> {
        let asset = need_str(input.asset, "asset")?;
        let amount = positive(input.amount, "amount")?;
        let address = need_str(input.address, "address")?;
        let network = need_str(input.network, "network")?;
        let approved = self.account(key).whitelisted.iter().any(|w| {
            w.deleted != Some(true)
                && w.status == Some(WhitelistedAddressStatus::Approved)
                && w.address.as_deref() == Some(address.as_str())
                && w.asset.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&asset))
                // Networks match case-insensitively (quirk 33).
                && w.network.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&network))
        });
        if !approved {
            return Err(ApiError::failed(
                "address_not_whitelisted",
                "Destination address is not whitelisted and approved",
            ));
        }
        let fee = fee_for(&asset, amount);
        if self.available(key, &asset) < amount + fee {
            return Err(ApiError::failed("insufficient_funds", "Insufficient funds"));
        }
        self.post(key, &asset, -amount, TransactionType::Withdrawal);
        self.post(key, &asset, -fee, TransactionType::WithdrawalFee);
        let id = self.new_id();
        let ref_id = self.new_id();
        let ts = self.now_ts();
        let acct = self.account(key);
        let w = Withdrawal {
            id,
            client_id: Some(client_id.to_owned()),
            user_id: Some(acct.user_id.clone()),
            destination: Some(address),
            destination_params: Some(
                RawJson::encode(&input.address_params.unwrap_or_default())
                    .map_err(|e| ApiError::invalid("addressParams", e.to_string()))?,
            ),
            network: Some(network),
            amount: Some(amount),
            asset: Some(asset),
            fee: Some(fee),
            status: Some(WithdrawalStatus::Created),
            ref_id: Some(ref_id),
            is_instant: Some(input.instant),
            timestamp: Some(ts),
            // The beneficiary fields are for fiat payouts: empty here
            // (strings in the description; only `description` is nullable).
            name: Some(String::new()),
            surname: Some(String::new()),
            company: Some(String::new()),
            extra: with_nulls(BTreeMap::new(), &["description"]),
            ..Default::default()
        };
        acct.withdrawals.push((w.clone(), Instant::now()));
        let data = event_data(
            None,
            Some(w.id.as_str()),
            vec![
                ("Status", json("CREATED")),
                ("Amount", money(amount)),
                ("Asset", json(&w.asset)),
            ],
        );
        self.emit(WebhookEventType::BankingWithdrawalCreated, data);
        Ok(w)
    }

    /// Withdrawals with their status as of now; status changes are emitted once.
    pub(crate) fn withdrawals(&mut self, key: &str) -> Vec<Withdrawal> {
        let now = Instant::now();
        let mut changes = Vec::new();
        let acct = self.account(key);
        for (w, created) in &mut acct.withdrawals {
            let age = now.saturating_duration_since(*created);
            let status = if w.is_instant == Some(true) {
                if age >= INSTANT_CONFIRMED_AFTER {
                    WithdrawalStatus::Confirmed
                } else {
                    WithdrawalStatus::Created
                }
            } else if age >= CONFIRMED_AFTER {
                WithdrawalStatus::Confirmed
            } else if age >= CONFIRMING_AFTER {
                WithdrawalStatus::Confirming
            } else {
                WithdrawalStatus::Created
            };
            if w.status.as_ref() != Some(&status) {
                let previous = w.status.as_ref().map_or("", WithdrawalStatus::as_str);
                changes.push(event_data(
                    Some((previous, status.as_str())),
                    Some(w.id.as_str()),
                    vec![
                        ("Asset", json(&w.asset)),
                        ("Amount", w.amount.and_then(money)),
                    ],
                ));
                w.status = Some(status);
            }
        }
        let list = acct.withdrawals.iter().map(|(w, _)| w.clone()).collect();
        for c in changes {
            self.emit(WebhookEventType::BankingWithdrawalStatusUpdated, c);
        }
        list
    }

    /// A page of withdrawals (REST and hub `GetWithdrawalsPaginated`).
    pub(crate) fn withdrawals_page(
        &mut self,
        key: &str,
        query: &OffsetQuery,
    ) -> Result<Vec<Withdrawal>, ApiError> {
        let all = self.withdrawals(key);
        query.page(OffsetList::Withdrawals, &all, |w| w.timestamp.as_ref())
    }

    /// The withdrawals made with `client_id` (REST and hub
    /// `GetWithdrawalsByClientId`).
    pub(crate) fn withdrawals_by_client_id(
        &mut self,
        key: &str,
        client_id: &str,
    ) -> Vec<Withdrawal> {
        self.withdrawals(key)
            .into_iter()
            .filter(|w| w.client_id.as_deref() == Some(client_id))
            .collect()
    }
}
