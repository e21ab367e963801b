//! Fiat banking (end users, payees, payee addresses, transfers, deposit
//! accounts, simulated pay-ins) and Lightning.

use crate::domain::error::ApiError;
use crate::domain::paging::{OffsetList, OffsetQuery, Window};
use crate::domain::state::{
    State, bank_details, d, event_data, is_fiat, json, money, need, need_str, positive,
};
use hercle_models::*;
use time::Duration;

/// One side of a transfer (`debtor` or `creditor`). The docs do not give
/// these objects' fields; these are the ones the list filters name
/// (`debtorAddress`, `creditorAsset`, ...), with the amount exact.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Party {
    asset: Option<String>,
    amount: Option<RawJson>,
    address: Option<String>,
    network: Option<String>,
}

impl Party {
    fn of(raw: Option<&RawJson>) -> Party {
        raw.and_then(|r| r.decode().ok()).unwrap_or_default()
    }
}

/// The filters of `GET /transfers`; each one given must match.
#[derive(Default)]
pub(crate) struct TransferFilter {
    pub(crate) client_id: Option<String>,
    pub(crate) asset: Option<String>,
    pub(crate) creditor_address: Option<String>,
    pub(crate) debtor_address: Option<String>,
    pub(crate) creditor_asset: Option<String>,
    pub(crate) debtor_asset: Option<String>,
    pub(crate) creditor_network: Option<String>,
    pub(crate) debtor_network: Option<String>,
    /// Numeric (quirk 24): 0 CREATED, 1 CONFIRMING, 2 CONFIRMED, in the
    /// order the docs list the statuses (the mapping is not documented).
    pub(crate) status: Option<i64>,
    pub(crate) ref_id: Option<String>,
}

impl TransferFilter {
    pub(crate) fn matches(&self, t: &Transfer) -> bool {
        let debtor = Party::of(t.debtor.as_ref());
        let creditor = Party::of(t.creditor.as_ref());
        // Assets and networks compare case-insensitively (quirk 33).
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref()
                .is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
        };
        let status_code = match t.status {
            Some(TransferStatus::Created) => Some(0),
            Some(TransferStatus::Confirming) => Some(1),
            Some(TransferStatus::Confirmed) => Some(2),
            _ => None,
        };
        same(&self.client_id, t.client_id.as_deref())
            && same(&self.ref_id, t.ref_id.as_deref())
            && same(&self.asset, debtor.asset.as_deref())
            && same(&self.debtor_asset, debtor.asset.as_deref())
            && same(&self.creditor_asset, creditor.asset.as_deref())
            && same(&self.debtor_address, debtor.address.as_deref())
            && same(&self.creditor_address, creditor.address.as_deref())
            && same(&self.debtor_network, debtor.network.as_deref())
            && same(&self.creditor_network, creditor.network.as_deref())
            && self.status.is_none_or(|s| status_code == Some(s))
    }
}

impl State {
    /// Moves time-driven statuses (withdrawals, banking) forward, emitting their events.
    pub(crate) fn advance_statuses(&mut self) {
        let keys = self.account_keys();
        for key in keys {
            self.withdrawals(&key);
            self.advance_banking(&key);
        }
    }

    /// The business end users (REST `GetBusinessEndUsers`).
    pub(crate) fn businesses(&mut self, key: &str) -> Vec<BusinessEndUser> {
        self.account(key).banking.businesses.clone()
    }

    /// The individual end users (REST `GetIndividualEndUsers`).
    pub(crate) fn individuals(&mut self, key: &str) -> Vec<IndividualEndUser> {
        self.account(key).banking.individuals.clone()
    }

    /// The deposit accounts (REST `GetDepositAccounts`).
    pub(crate) fn deposit_accounts(&mut self, key: &str) -> Vec<DepositAccount> {
        self.account(key).banking.deposit_accounts.clone()
    }

    /// The payees (REST `GetPayees`, hub `GetPayeesPaginated`).
    pub(crate) fn payees(&mut self, key: &str) -> Vec<Payee> {
        self.account(key).banking.payees.clone()
    }

    /// The addresses of payee `payee_id` (REST `GetPayeeAddresses`, hub
    /// `GetPayeeAddressesPaginated`).
    pub(crate) fn payee_addresses(&mut self, key: &str, payee_id: &str) -> Vec<PayeeAddress> {
        self.account(key)
            .banking
            .payee_addresses
            .iter()
            .filter(|a| a.payee_id.as_deref() == Some(payee_id))
            .cloned()
            .collect()
    }

    /// The transfers matching `filter` and made inside `window` (REST
    /// `GetTransfers`, before its cursor).
    pub(crate) fn transfers(
        &mut self,
        key: &str,
        filter: &TransferFilter,
        window: &Window,
    ) -> Vec<Transfer> {
        let matching: Vec<Transfer> = self
            .account(key)
            .banking
            .transfers
            .iter()
            .filter(|t| filter.matches(t))
            .cloned()
            .collect();
        window.apply(&matching, |t| t.timestamp.as_ref().and_then(Timestamp::get))
    }

    /// A page of transfers (hub `GetTransfersPaginated`).
    pub(crate) fn transfers_page(
        &mut self,
        key: &str,
        query: &OffsetQuery,
    ) -> Result<Vec<Transfer>, ApiError> {
        let transfers = &self.account(key).banking.transfers;
        query.page(OffsetList::Transfers, transfers, |t| t.timestamp.as_ref())
    }
}

/// Review delay after which registrations and payee addresses move on, and
/// payouts confirm.
const REVIEW_AFTER: Duration = Duration::seconds(2);
const CONFIRMED_AFTER: Duration = Duration::seconds(10);

fn age(now: time::OffsetDateTime, t: Option<&Timestamp>) -> Duration {
    t.and_then(Timestamp::get)
        .map_or(Duration::ZERO, |t| now - t)
}

fn millis(t: time::OffsetDateTime) -> Timestamp {
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    Timestamp::from_unix_millis(i64::try_from(ms).unwrap_or(0))
}

fn name_len(param: &str, v: Option<&String>) -> Result<(), ApiError> {
    match v.map(|s| s.chars().count()) {
        Some(1..=100) => Ok(()),
        Some(_) => Err(ApiError::invalid(
            param,
            format!("{param} must be 1 to 100 characters"),
        )),
        None => Err(ApiError::missing(param)),
    }
}

impl State {
    /// Moves banking records forward on the sandbox clock and emits the
    /// matching status events: end users PENDING → ACTIVE, payee addresses
    /// CREATED → PENDING, payouts CREATED → CONFIRMING → CONFIRMED.
    pub(crate) fn advance_banking(&mut self, key: &str) {
        let now = self.now();
        let mut events = Vec::new();
        let b = &mut self.account(key).banking;
        // Individuals and businesses are different types with the same
        // review fields: one body for both.
        macro_rules! review {
            ($users:expr) => {
                for u in $users {
                    if u.registration_status == Some(EndUserRegistrationStatus::Pending)
                        && age(now, u.created_at.as_ref()) >= REVIEW_AFTER
                    {
                        u.registration_status = Some(EndUserRegistrationStatus::Active);
                        u.updated_at = Some(millis(now));
                        events.push((
                            WebhookEventType::EndUserStatusUpdated,
                            event_data(Some(("PENDING", "ACTIVE")), u.id.as_deref(), Vec::new()),
                        ));
                    }
                }
            };
        }
        review!(&mut b.individuals);
        review!(&mut b.businesses);
        for a in &mut b.payee_addresses {
            if a.status == Some(PayeeAddressStatus::Created)
                && age(now, a.created_at.as_ref()) >= REVIEW_AFTER
            {
                a.status = Some(PayeeAddressStatus::Pending);
                events.push((
                    WebhookEventType::PayeeAddressStatusUpdated,
                    event_data(
                        Some(("CREATED", "PENDING")),
                        a.id.as_deref(),
                        vec![("PayeeId", json(&a.payee_id))],
                    ),
                ));
            }
        }
        for t in &mut b.transfers {
            let age = age(now, t.timestamp.as_ref());
            let next = match t.status {
                Some(TransferStatus::Created) if age >= REVIEW_AFTER => TransferStatus::Confirming,
                Some(TransferStatus::Confirming) if age >= CONFIRMED_AFTER => {
                    TransferStatus::Confirmed
                }
                _ => continue,
            };
            let previous = t
                .status
                .as_ref()
                .map(TransferStatus::as_str)
                .unwrap_or_default()
                .to_owned();
            events.push((
                WebhookEventType::BankingPayoutStatusUpdated,
                event_data(
                    Some((&previous, next.as_str())),
                    t.id.as_deref(),
                    Vec::new(),
                ),
            ));
            t.status = Some(next);
        }
        for (event_type, data) in events {
            self.emit(event_type, data);
        }
    }

    pub(crate) fn register_business(
        &mut self,
        key: &str,
        req: RegisterBusinessEndUserRequest,
    ) -> Result<BusinessEndUser, ApiError> {
        let business = need(req.business, "business")?;
        name_len("business.companyName", business.company_name.as_ref())?;
        if req.business_persons.as_ref().is_none_or(Vec::is_empty) {
            return Err(ApiError::invalid(
                "businessPersons",
                "At least one business person is required",
            ));
        }
        let ip = need_str(req.ip_address, "ipAddress")?;
        let sector = need(req.sector, "sector")?;
        let id = format!("eus_{}", self.new_id().replace('-', ""));
        let now = millis(self.now());
        let user = BusinessEndUser {
            id: Some(id.clone()),
            business: Some(Business {
                id: Some(id.clone()),
                ..business
            }),
            business_persons: req.business_persons,
            ip_address: Some(ip),
            registration_status: Some(EndUserRegistrationStatus::Pending),
            sector: Some(sector),
            created_at: Some(now.clone()),
            updated_at: Some(now),
            ..Default::default()
        };
        self.account(key).banking.businesses.push(user.clone());
        self.emit(
            WebhookEventType::EndUserRegistered,
            event_data(None, Some(&id), vec![("Type", json("BUSINESS"))]),
        );
        Ok(user)
    }

    pub(crate) fn register_individual(
        &mut self,
        key: &str,
        req: RegisterIndividualEndUserRequest,
    ) -> Result<IndividualEndUser, ApiError> {
        let person = need(req.person, "person")?;
        name_len("person.firstName", person.first_name.as_ref())?;
        name_len("person.lastName", person.last_name.as_ref())?;
        let ip = need_str(req.ip_address, "ipAddress")?;
        let id = format!("eus_{}", self.new_id().replace('-', ""));
        let now = millis(self.now());
        let user = IndividualEndUser {
            id: Some(id.clone()),
            person: Some(person),
            ip_address: Some(ip),
            registration_status: Some(EndUserRegistrationStatus::Pending),
            created_at: Some(now.clone()),
            updated_at: Some(now),
            ..Default::default()
        };
        self.account(key).banking.individuals.push(user.clone());
        self.emit(
            WebhookEventType::EndUserRegistered,
            event_data(None, Some(&id), vec![("Type", json("INDIVIDUAL"))]),
        );
        Ok(user)
    }

    pub(crate) fn end_user_exists(&mut self, key: &str, id: &str) -> bool {
        let b = &self.account(key).banking;
        b.businesses.iter().any(|u| u.id.as_deref() == Some(id))
            || b.individuals.iter().any(|u| u.id.as_deref() == Some(id))
    }

    pub(crate) fn upload_document(
        &mut self,
        key: &str,
        end_user_id: &str,
    ) -> Result<DocumentUploadResult, ApiError> {
        if !self.end_user_exists(key, end_user_id) {
            return Err(ApiError::not_found("End user", end_user_id));
        }
        self.emit(
            WebhookEventType::EndUserUpdated,
            event_data(
                None,
                Some(end_user_id),
                vec![("Change", json("DOCUMENT_UPLOADED"))],
            ),
        );
        Ok(DocumentUploadResult {
            request_id: Some(self.new_id()),
            hercle_document_id: Some(self.new_id()),
            fr_document_id: Some(self.new_id()),
            fr_sync_status: Some("SYNCED".to_owned()),
            ..Default::default()
        })
    }

    pub(crate) fn create_deposit_account(
        &mut self,
        key: &str,
        req: CreateDepositAccountRequest,
    ) -> Result<DepositAccount, ApiError> {
        let asset = need_str(req.asset, "asset")?;
        let network = need_str(req.network, "network")?;
        for (param, v) in [("asset", &asset), ("network", &network)] {
            if !(3..=30).contains(&v.chars().count()) {
                return Err(ApiError::invalid(
                    param,
                    format!("{param} must be 3 to 30 characters"),
                ));
            }
        }
        if let Some(eu) = &req.end_user_id
            && !self.end_user_exists(key, eu)
        {
            return Err(ApiError::not_found("End user", eu));
        }
        let fiat = is_fiat(&asset);
        if fiat && req.fiat_account_id.as_deref().is_none_or(str::is_empty) {
            // Quirk 26: documented as required for fiat assets only.
            return Err(ApiError::missing("fiatAccountId"));
        }
        let raw = self.new_id().replace('-', "");
        let id = self.new_id();
        let acct = self.account(key);
        let account = DepositAccount {
            id: Some(id),
            user_id: Some(acct.user_id.clone()),
            end_user_id: req.end_user_id,
            name: Some(format!("{asset} account")),
            asset: Some(asset.clone()),
            network: Some(network),
            ref_account_id: Some(if fiat {
                format!("vac_{raw}")
            } else {
                format!("sbx{raw}")
            }),
            ref_account_type: Some(if fiat {
                RefAccountType::VirtualAccount
            } else {
                RefAccountType::CryptoAccount
            }),
            ref_account_details: Some(if fiat {
                AccountDetails::BankDetails(bank_details(&asset, &raw))
            } else {
                AccountDetails::CryptoAccountDetails(CryptoAccountDetails {
                    address: Some(format!("sbx{raw}")),
                    ..Default::default()
                })
            }),
            ..Default::default()
        };
        acct.banking.deposit_accounts.push(account.clone());
        let data = event_data(
            None,
            account.id.as_deref(),
            vec![("RefAccountId", json(&account.ref_account_id))],
        );
        self.emit(WebhookEventType::VirtualAccountRegistered, data);
        Ok(account)
    }

    pub(crate) fn register_payee(
        &mut self,
        key: &str,
        req: RegisterPayeeRequest,
    ) -> Result<Payee, ApiError> {
        let kind = need(req.r#type, "type")?;
        name_len("name", req.name.as_ref())?;
        let country = need_str(req.country, "country")?;
        if country.len() != 2 {
            return Err(ApiError::invalid(
                "country",
                "country must be an ISO 3166-1 alpha-2 code",
            ));
        }
        let id = self.new_id();
        let ts = self.now_ts();
        let acct = self.account(key);
        let payee = Payee {
            id: Some(id.clone()),
            user_id: Some(acct.user_id.clone()),
            // "" when the payee belongs to no end user (the docs' example).
            end_user_id: Some(req.end_user_id.unwrap_or_default()),
            r#type: Some(kind),
            name: req.name,
            surname: req.surname,
            company: req.company,
            country: Some(country),
            state: req.state,
            city: req.city,
            address: req.address,
            postal_code: req.postal_code,
            disabled: Some(false),
            deleted: Some(false),
            created_at: Some(ts),
            ..Default::default()
        };
        acct.banking.payees.push(payee.clone());
        self.emit(
            WebhookEventType::PayeeRegistered,
            WebhookStatusChangeData {
                resource: Some(WebhookResource {
                    id: Some(id),
                    name: payee.name.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        Ok(payee)
    }

    pub(crate) fn register_payee_address(
        &mut self,
        key: &str,
        payee_id: &str,
        req: RegisterPayeeAddressRequest,
    ) -> Result<PayeeAddress, ApiError> {
        if !self
            .account(key)
            .banking
            .payees
            .iter()
            .any(|p| p.id.as_deref() == Some(payee_id))
        {
            return Err(ApiError::not_found("Payee", payee_id));
        }
        let asset = need_str(req.asset, "asset")?;
        let network = need_str(req.network, "network")?;
        let address = need_str(req.address, "address")?;
        let params = req.address_params.unwrap_or_default();
        // The rails' required addressParams keys (README §3).
        let required: &[&str] = match (asset.as_str(), network.as_str()) {
            ("EUR", _) => &["bic"],
            ("GBP", _) => &["sortcode"],
            ("USD", "DOMESTIC_WIRE") => &["accountnumber", "wire", "bankname"],
            ("USD", "ACH" | "ACH_SAME_DAY") => &["accountnumber", "aba", "accounttype"],
            ("USD", _) => &[
                "accountnumber",
                "bic",
                "aba",
                "bankname",
                "bankaddressline1",
                "bankaddresscity",
                "bankaddresspostalcode",
                "bankcountry",
            ],
            _ => &[],
        };
        if let Some(missing) = required.iter().find(|k| !params.contains_key(**k)) {
            return Err(ApiError::rule(
                "addressParams",
                format!("addressParams.{missing} is required for {asset}/{network}"),
            ));
        }
        let id = self.new_id();
        let ts = self.now_ts();
        let pa = PayeeAddress {
            id: Some(id),
            payee_id: Some(payee_id.to_owned()),
            name: req.name,
            asset: Some(asset),
            address: Some(address),
            address_params: Some(
                RawJson::encode(&params)
                    .map_err(|e| ApiError::invalid("addressParams", e.to_string()))?,
            ),
            network: Some(network),
            // Under review; moves to PENDING on the sandbox clock.
            status: Some(PayeeAddressStatus::Created),
            comment: req.comment,
            deleted: Some(false),
            created_at: Some(ts),
            ..Default::default()
        };
        self.account(key).banking.payee_addresses.push(pa.clone());
        Ok(pa)
    }

    pub(crate) fn create_transfer(
        &mut self,
        key: &str,
        client_id: &str,
        req: CreateTransferRequest,
    ) -> Result<TransferCreated, ApiError> {
        let asset = need_str(req.asset, "asset")?;
        let amount = positive(req.amount, "amount")?;
        let internal = need_str(req.internal_address_id, "internalAddressId")?;
        let payee_address = need_str(req.payee_address_id, "payeeAddressId")?;
        if req
            .description
            .as_ref()
            .is_some_and(|s| s.chars().count() > 250)
        {
            return Err(ApiError::invalid(
                "description",
                "description must be at most 250 characters",
            ));
        }
        let Some(target) = self
            .account(key)
            .banking
            .payee_addresses
            .iter()
            .find(|p| p.id.as_deref() == Some(payee_address.as_str()))
            .cloned()
        else {
            return Err(ApiError::not_found("Payee address", &payee_address));
        };
        if self.available(key, &asset) < amount {
            return Err(ApiError::failed("insufficient_funds", "Insufficient funds"));
        }
        self.post(key, &asset, -amount, TransactionType::Withdrawal);
        let id = self.new_id();
        let ref_id = self.new_id();
        let ts = self.now_ts();
        let acct = self.account(key);
        let debtor = Party {
            asset: Some(asset.clone()),
            amount: money(amount),
            address: Some(internal.clone()),
            network: target.network.clone(),
        };
        let creditor = Party {
            asset: target.asset.clone(),
            amount: money(amount),
            address: target.address.clone(),
            network: target.network.clone(),
        };
        acct.banking.transfers.push(Transfer {
            id: Some(id.clone()),
            user_id: Some(acct.user_id.clone()),
            client_id: Some(client_id.to_owned()),
            description: req.description.clone(),
            debtor: RawJson::encode(&debtor).ok(),
            creditor: RawJson::encode(&creditor).ok(),
            status: Some(TransferStatus::Created),
            ref_id: Some(ref_id),
            is_instant: Some(false),
            timestamp: Some(ts),
            ..Default::default()
        });
        let data = event_data(
            None,
            Some(&id),
            vec![("Amount", money(amount)), ("Asset", json(&asset))],
        );
        self.emit(WebhookEventType::BankingPayoutCreated, data);
        Ok(TransferCreated {
            id: Some(id),
            asset: Some(asset),
            amount: Some(amount),
            internal_address_id: Some(internal),
            payee_address_id: Some(payee_address),
            description: req.description,
            ..Default::default()
        })
    }

    /// `POST /api/v1/simulate-payin`: credits a fiat deposit account and
    /// sends `Banking.Deposit.StatusUpdated`.
    pub(crate) fn simulate_payin(
        &mut self,
        key: &str,
        req: SimulatePayinRequest,
    ) -> Result<SimulatePayinResult, ApiError> {
        let amount = positive(req.amount, "amount")?;
        let to = need_str(req.to_address, "toAddress")?;
        if !(to.starts_with("fac_") || to.starts_with("vac_")) {
            return Err(ApiError::invalid(
                "toAddress",
                "toAddress must be a fac_ or vac_ account id",
            ));
        }
        match need(req.from_type, "fromType")? {
            SimulatePayinFromType::Person => {}
            _ => return Err(ApiError::invalid("fromType", "Only PERSON is supported")),
        }
        let scheme = need(req.payment_scheme, "paymentScheme")?;
        let from = need(req.from, "from")?;
        let asset = match scheme {
            SimulatePayinPaymentScheme::Sct if from.iban.is_some() => "EUR",
            SimulatePayinPaymentScheme::Fps | SimulatePayinPaymentScheme::Chaps
                if from.account_number.is_some() =>
            {
                "GBP"
            }
            SimulatePayinPaymentScheme::Sct => return Err(ApiError::missing("from.iban")),
            SimulatePayinPaymentScheme::Fps | SimulatePayinPaymentScheme::Chaps => {
                return Err(ApiError::missing("from.accountNumber"));
            }
            _ => {
                return Err(ApiError::invalid(
                    "paymentScheme",
                    "paymentScheme must be SCT, FPS or CHAPS",
                ));
            }
        };
        let account = self
            .account(key)
            .banking
            .deposit_accounts
            .iter()
            .find(|a| a.ref_account_id.as_deref() == Some(to.as_str()))
            .cloned();
        if to.starts_with("vac_") && account.is_none() {
            return Err(ApiError::not_found("Deposit account", &to));
        }
        if self.available(key, asset).checked_add(amount).is_none() {
            return Err(ApiError::rule("amount", "amount is too large"));
        }
        self.deposit(key, asset, amount);
        let id = self.new_id();
        let now = self.now();
        let mut data = event_data(
            Some(("REVIEWING", "APPROVED")),
            Some(&id),
            vec![
                ("Amount", money(amount)),
                ("Asset", json(asset)),
                ("Reference", json(&req.reference)),
            ],
        );
        if let Some(r) = data.resource.as_mut() {
            r.name = Some("Sandbox pay-in".to_owned());
            r.created_at = Some(Timestamp::from(now));
            r.updated_at = Some(Timestamp::from(now));
        }
        self.emit(WebhookEventType::BankingDepositStatusUpdated, data);
        Ok(SimulatePayinResult {
            amount: Some(amount),
            deposit_address: Some(to),
            ..Default::default()
        })
    }

    pub(crate) fn ledger_transaction(
        &mut self,
        key: &str,
        id: &str,
    ) -> Result<LedgerTransaction, ApiError> {
        let tx = self
            .account(key)
            .ledger
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Transaction", id))?;
        let (kind, amount) = match tx.r#type {
            TransactionType::Deposit => (LedgerTransactionType::Deposit, tx.amount),
            TransactionType::TradeFee => (LedgerTransactionType::TradeFee, tx.amount),
            TransactionType::Withdrawal => (LedgerTransactionType::Withdrawal, tx.amount),
            other => (
                LedgerTransactionType::Unknown(format!("{other:?}").to_uppercase()),
                tx.amount,
            ),
        };
        let known = self.account(key).ledger_refs.get(id).cloned();
        let ref_id = match known {
            Some(r) => r,
            None => {
                let r = self.new_id();
                self.account(key)
                    .ledger_refs
                    .insert(id.to_owned(), r.clone());
                r
            }
        };
        Ok(LedgerTransaction {
            id: Some(tx.id),
            ref_id: Some(ref_id),
            user_id: tx.user_id,
            r#type: Some(kind),
            status: Some(LedgerTransactionStatus::Confirmed),
            description: Some("Sandbox ledger entry".to_owned()),
            asset: Some(tx.asset),
            amount: Some(amount),
            // The account the money left; the sandbox's own bank account.
            debtor: Some(LedgerAccount::LedgerBankingAccount(LedgerBankingAccount {
                bank_name: Some("Sandbox Bank".to_owned()),
                bank_address_country: Some(String::new()),
                account_holder_name: Some("Sandbox Customer".to_owned()),
                country: Some("LT".to_owned()),
                account_number: Some(String::new()),
                ..Default::default()
            })),
            timestamp: tx.timestamp,
            ..Default::default()
        })
    }

    pub(crate) fn create_invoice(
        &mut self,
        key: &str,
        amount_btc: Option<Decimal>,
        expiry_hours: Option<i64>,
        memo: Option<String>,
    ) -> Result<LightningInvoiceCreated, ApiError> {
        let amount = positive(amount_btc, "amountBtc")?;
        let hours = expiry_hours.unwrap_or(24);
        if !(1..=720).contains(&hours) {
            return Err(ApiError::invalid(
                "expiryHours",
                "expiryHours must be between 1 and 720",
            ));
        }
        let id = format!("inv_{}", self.new_id().replace('-', ""));
        let now = self.now();
        let expires = Timestamp::from(now + Duration::hours(hours));
        let part = crate::domain::bolt11::amount_part(amount).ok_or_else(|| {
            ApiError::rule(
                "amountBtc",
                "amountBtc must be a whole number of millisatoshis (0.00000000001 BTC)",
            )
        })?;
        // bech32 data never holds `1`, `b`, `i` or `o`: map the id's hex
        // digits onto its alphabet so the request parses as BOLT11.
        let data: String = id
            .chars()
            .skip(4)
            .take(24)
            .map(|c| match c {
                '1' => 'l',
                'b' => 'q',
                other => other,
            })
            .collect();
        let request = format!("lnbcrt{part}1p{data}");
        let sats = amount
            .checked_mul(d("100000000"))
            .ok_or_else(|| ApiError::rule("amountBtc", "amountBtc is too large"))?;
        let acct = self.account(key);
        acct.invoices.push(LightningInvoice {
            id: Some(id.clone()),
            user_id: Some(acct.user_id.clone()),
            encoded_payment_request: Some(request.clone()),
            expires_at: Some(expires.clone()),
            status: Some(LightningInvoiceStatus::Open),
            created_at: Some(Timestamp::from(now)),
            memo,
            bitcoin_network: Some(BitcoinNetwork::Testnet),
            amount_original_value: Some(sats),
            amount_original_unit: Some("SATOSHI".to_owned()),
            ..Default::default()
        });
        Ok(LightningInvoiceCreated {
            id: Some(id),
            expires_at: Some(expires),
            encoded_payment_request: Some(request),
            ..Default::default()
        })
    }

    pub(crate) fn invoices(&mut self, key: &str) -> Vec<LightningInvoice> {
        self.account(key).invoices.clone()
    }

    pub(crate) fn lightning_withdraw(
        &mut self,
        key: &str,
        payment_request: Option<String>,
    ) -> Result<LightningWithdrawal, ApiError> {
        let request = need_str(payment_request, "paymentRequestHash")?;
        let btc = crate::domain::bolt11::amount_btc(&request).map_err(|e| {
            let why = match e {
                crate::domain::bolt11::AmountError::NotBolt11 => "Not a BOLT11 payment request",
                crate::domain::bolt11::AmountError::NoAmount => {
                    "The payment request carries no amount"
                }
                crate::domain::bolt11::AmountError::BadAmount => {
                    "The payment request's amount is malformed"
                }
            };
            ApiError::rule("paymentRequestHash", why)
        })?;
        if self.available(key, "BTC") < btc {
            return Err(ApiError::failed("insufficient_funds", "Insufficient funds"));
        }
        self.post(key, "BTC", -btc, TransactionType::Withdrawal);
        Ok(LightningWithdrawal {
            payment_id: Some(format!("pay_{}", self.new_id().replace('-', ""))),
            status: Some(LightningWithdrawalStatus::Open),
            amount_btc: Some(btc),
            destination_public_key: Some("02sandbox".to_owned()),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::funding::WithdrawInput;
    use std::collections::BTreeSet;

    #[tokio::test(start_paused = true)]
    async fn every_documented_webhook_event_is_emitted() {
        let mut s = State::new(Config::default());
        let k = "sandbox-key";
        let person = Person {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            ..Default::default()
        };
        let user = s
            .register_individual(
                k,
                RegisterIndividualEndUserRequest {
                    person: Some(person),
                    ip_address: Some("127.0.0.1".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        s.upload_document(k, user.id.as_deref().unwrap()).unwrap();
        let payee = s
            .register_payee(
                k,
                RegisterPayeeRequest {
                    r#type: Some(PayeeType::Individual),
                    name: Some("Bob".into()),
                    country: Some("GB".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let mut params = std::collections::BTreeMap::new();
        params.insert("sortcode".to_owned(), "200000".to_owned());
        let address = RegisterPayeeAddressRequest {
            asset: Some("GBP".into()),
            network: Some("Faster Payments".into()),
            address: Some("12345678".into()),
            address_params: Some(params),
            ..Default::default()
        };
        let pa = s
            .register_payee_address(k, payee.id.as_deref().unwrap(), address)
            .unwrap();
        let transfer = CreateTransferRequest {
            asset: Some("GBP".into()),
            amount: Some(d("10")),
            internal_address_id: Some("fac_1".into()),
            payee_address_id: pa.id,
            ..Default::default()
        };
        s.create_transfer(k, "t-1", transfer).unwrap();
        let account = s
            .create_deposit_account(
                k,
                CreateDepositAccountRequest {
                    asset: Some("EUR".into()),
                    network: Some("Sepa".into()),
                    fiat_account_id: Some("fac_1".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let from = SimulatePayinSender {
            iban: Some("DE89370400440532013000".into()),
            ..Default::default()
        };
        let payin = SimulatePayinRequest {
            amount: Some(d("5")),
            to_address: account.ref_account_id,
            from: Some(from),
            from_type: Some(SimulatePayinFromType::Person),
            payment_scheme: Some(SimulatePayinPaymentScheme::Sct),
            ..Default::default()
        };
        s.simulate_payin(k, payin).unwrap();
        s.whitelist_address(
            k,
            Some("cold".into()),
            Some("BTC".into()),
            Some("bc1q".into()),
            None,
            Some("Bitcoin".into()),
        )
        .unwrap();
        let w = WithdrawInput {
            asset: Some("BTC".into()),
            amount: Some(d("0.1")),
            address: Some("bc1q".into()),
            address_params: None,
            network: Some("Bitcoin".into()),
            instant: false,
        };
        s.withdraw(k, "w-1", w).unwrap();

        tokio::time::advance(std::time::Duration::from_secs(3)).await;
        s.advance_statuses();
        tokio::time::advance(std::time::Duration::from_secs(10)).await;
        s.advance_statuses();

        let emitted: BTreeSet<String> = s
            .events
            .iter()
            .map(|e| e.event_type.as_str().to_owned())
            .collect();
        let documented: BTreeSet<String> = WEBHOOK_EVENTS
            .iter()
            .map(|e| e.event_type.to_owned())
            .collect();
        assert_eq!(emitted, documented);
    }
}
