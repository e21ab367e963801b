//! Typed webhook events on top of the generated envelope
//! ([`hercle_models::WebhookEnvelope`]).
//!
//! Only `Banking.Deposit.StatusUpdated` is a documented name and only the
//! `{StatusChange:{Previous,Current}, Resource:{...}}` Data shape is documented
//! (by one example). Status-change events therefore decode `Data` as
//! [`WebhookStatusChangeData`] (every field optional, unknown fields kept);
//! other known names carry their `Data` untyped; any other name becomes
//! [`WebhookEvent::Unknown`] with the raw JSON.

use std::fmt;

use hercle_models::{
    DecodeError, EmbeddedJson, Timestamp, WebhookEnvelope, WebhookEventType,
    WebhookStatusChangeData,
};

/// Why a body is not a usable webhook envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum EventError {
    /// The body is not a JSON envelope object (the error names the path).
    Json(DecodeError),
    /// `EventId` is absent or empty.
    MissingEventId,
    /// `EventType` is absent or empty.
    MissingEventType,
    /// `Data` did not match the typed payload (the error names the path).
    Data(DecodeError),
}

impl EventError {
    /// A short reason for a 400 response.
    pub fn reason(&self) -> &'static str {
        match self {
            EventError::Json(_) => "malformed body",
            EventError::MissingEventId => "missing EventId",
            EventError::MissingEventType => "missing EventType",
            EventError::Data(_) => "malformed Data",
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::Json(e) | EventError::Data(e) => write!(f, "{}: {e}", self.reason()),
            other => f.write_str(other.reason()),
        }
    }
}

impl std::error::Error for EventError {}

/// Parses and checks the envelope: a JSON object with non-empty `EventId` and `EventType`.
pub fn parse_envelope(body: &[u8]) -> Result<WebhookEnvelope, EventError> {
    let env: WebhookEnvelope = hercle_models::decode(body).map_err(EventError::Json)?;
    if env.event_id.as_deref().is_none_or(str::is_empty) {
        return Err(EventError::MissingEventId);
    }
    if env
        .event_type
        .as_ref()
        .is_none_or(|t| t.as_str().is_empty())
    {
        return Err(EventError::MissingEventType);
    }
    Ok(env)
}

/// A webhook event with its payload typed where a schema is known.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `Banking.Deposit.StatusUpdated` (documented).
    DepositStatusUpdated(WebhookStatusChangeData),
    /// `Banking.Withdrawal.StatusUpdated` (name inferred; Data assumed status-change shaped).
    WithdrawalStatusUpdated(WebhookStatusChangeData),
    /// `Banking.Payout.StatusUpdated` (name inferred; Data assumed status-change shaped).
    PayoutStatusUpdated(WebhookStatusChangeData),
    /// `EndUser.StatusUpdated` (name inferred; Data assumed status-change shaped).
    EndUserStatusUpdated(WebhookStatusChangeData),
    /// `PayeeAddress.StatusUpdated` (name inferred; Data assumed status-change shaped).
    PayeeAddressStatusUpdated(WebhookStatusChangeData),
    /// `Banking.Withdrawal.Created` (name inferred; no Data schema known).
    WithdrawalCreated(Option<EmbeddedJson>),
    /// `Banking.Payout.Created` (name inferred; no Data schema known).
    PayoutCreated(Option<EmbeddedJson>),
    /// `VirtualAccount.Registered` (name inferred; no Data schema known).
    VirtualAccountRegistered(Option<EmbeddedJson>),
    /// `Balance.Updated` (name inferred; no Data schema known).
    BalanceUpdated(Option<EmbeddedJson>),
    /// `EndUser.Registered` (name inferred; no Data schema known).
    EndUserRegistered(Option<EmbeddedJson>),
    /// `EndUser.Updated` (name inferred; no Data schema known).
    EndUserUpdated(Option<EmbeddedJson>),
    /// `Payee.Registered` (name inferred; no Data schema known).
    PayeeRegistered(Option<EmbeddedJson>),
    /// Any other `EventType`, with its `Data` kept as raw JSON.
    Unknown {
        /// The `EventType` as received.
        event_type: String,
        /// `Data` as received (string or object form), if present.
        raw: Option<EmbeddedJson>,
    },
}

impl WebhookEvent {
    /// Types the envelope's `Data` according to its `EventType`.
    pub fn from_envelope(env: &WebhookEnvelope) -> Result<Self, EventError> {
        let ty = env
            .event_type
            .as_ref()
            .ok_or(EventError::MissingEventType)?;
        let data = env.data.clone();
        let status = |d: &Option<EmbeddedJson>| -> Result<WebhookStatusChangeData, EventError> {
            match d {
                Some(d) => d.decode_owned().map_err(EventError::Data),
                None => Ok(WebhookStatusChangeData::default()),
            }
        };
        Ok(match ty {
            WebhookEventType::BankingDepositStatusUpdated => {
                WebhookEvent::DepositStatusUpdated(status(&data)?)
            }
            WebhookEventType::BankingWithdrawalStatusUpdated => {
                WebhookEvent::WithdrawalStatusUpdated(status(&data)?)
            }
            WebhookEventType::BankingPayoutStatusUpdated => {
                WebhookEvent::PayoutStatusUpdated(status(&data)?)
            }
            WebhookEventType::EndUserStatusUpdated => {
                WebhookEvent::EndUserStatusUpdated(status(&data)?)
            }
            WebhookEventType::PayeeAddressStatusUpdated => {
                WebhookEvent::PayeeAddressStatusUpdated(status(&data)?)
            }
            WebhookEventType::BankingWithdrawalCreated => WebhookEvent::WithdrawalCreated(data),
            WebhookEventType::BankingPayoutCreated => WebhookEvent::PayoutCreated(data),
            WebhookEventType::VirtualAccountRegistered => {
                WebhookEvent::VirtualAccountRegistered(data)
            }
            WebhookEventType::BalanceUpdated => WebhookEvent::BalanceUpdated(data),
            WebhookEventType::EndUserRegistered => WebhookEvent::EndUserRegistered(data),
            WebhookEventType::EndUserUpdated => WebhookEvent::EndUserUpdated(data),
            WebhookEventType::PayeeRegistered => WebhookEvent::PayeeRegistered(data),
            other => WebhookEvent::Unknown {
                event_type: other.as_str().to_owned(),
                raw: data,
            },
        })
    }

    /// The wire `EventType` of this event.
    pub fn event_type(&self) -> &str {
        match self {
            WebhookEvent::DepositStatusUpdated(_) => "Banking.Deposit.StatusUpdated",
            WebhookEvent::WithdrawalStatusUpdated(_) => "Banking.Withdrawal.StatusUpdated",
            WebhookEvent::PayoutStatusUpdated(_) => "Banking.Payout.StatusUpdated",
            WebhookEvent::EndUserStatusUpdated(_) => "EndUser.StatusUpdated",
            WebhookEvent::PayeeAddressStatusUpdated(_) => "PayeeAddress.StatusUpdated",
            WebhookEvent::WithdrawalCreated(_) => "Banking.Withdrawal.Created",
            WebhookEvent::PayoutCreated(_) => "Banking.Payout.Created",
            WebhookEvent::VirtualAccountRegistered(_) => "VirtualAccount.Registered",
            WebhookEvent::BalanceUpdated(_) => "Balance.Updated",
            WebhookEvent::EndUserRegistered(_) => "EndUser.Registered",
            WebhookEvent::EndUserUpdated(_) => "EndUser.Updated",
            WebhookEvent::PayeeRegistered(_) => "Payee.Registered",
            WebhookEvent::Unknown { event_type, .. } => event_type,
        }
    }
}

/// A parsed event: envelope metadata plus the typed payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `EventId` (the deduplication key).
    pub event_id: String,
    /// `Timestamp` of the event (lenient; may be absent or invalid).
    pub timestamp: Option<Timestamp>,
    /// The typed payload.
    pub event: WebhookEvent,
    /// The full envelope, including fields this version does not know.
    pub envelope: WebhookEnvelope,
}

impl Event {
    /// Parses a raw (already verified) body into a typed event.
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let envelope = parse_envelope(body)?;
        let event = WebhookEvent::from_envelope(&envelope)?;
        Ok(Event {
            event_id: envelope.event_id.clone().unwrap_or_default(),
            timestamp: envelope.timestamp.clone(),
            event,
            envelope,
        })
    }
}
