//! What went wrong with a hub call, and whether it may have executed.

use std::fmt;
use std::time::Duration;

use hercle_models::DecodeError;

/// The hub's own refusal of a call, as the protocol part sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// `preChecksError`: the arguments were refused before anything ran.
    PreChecks {
        /// The server's message (the `data` text when it has no `message`).
        message: String,
    },
    /// A `*.error` subject: the operation failed.
    Failed {
        /// The subject, e.g. `account.withdraw.error`.
        subject: String,
        /// The server's message.
        message: String,
    },
    /// An order answered with status 2 (cancelled/rejected).
    OrderRejected {
        /// The order's `statusError`, if any.
        status_error: Option<String>,
    },
    /// The SignalR Completion carried an error (unknown method, hub exception).
    Completion(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::PreChecks { message } => write!(f, "preChecksError: {message}"),
            Refusal::Failed { subject, message } => write!(f, "{subject}: {message}"),
            Refusal::OrderRejected { status_error } => write!(
                f,
                "order rejected (status 2): {}",
                status_error.as_deref().unwrap_or("no statusError")
            ),
            Refusal::Completion(e) => write!(f, "hub error: {e}"),
        }
    }
}

/// A failed hub call. Every variant says whether the call may have run:
/// only [`HubError::OutcomeUnknown`] and [`HubError::Timeout`] leave that open
/// (reconcile with [`HubClient::reconcile_order`](crate::HubClient::reconcile_order)
/// before repeating an order).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubError {
    /// No hub method has this name (nothing sent).
    UnknownMethod(String),
    /// Wrong number of arguments for the method (nothing sent).
    Arguments {
        /// The method.
        method: &'static str,
        /// Arguments after ClientId the description lists.
        expected: usize,
        /// Arguments given.
        got: usize,
    },
    /// The hub refused the call: it did not execute.
    Refused {
        /// The method.
        method: &'static str,
        /// The clientId of the call.
        client_id: String,
        /// What the hub said.
        refusal: Refusal,
    },
    /// The answer arrived but its `data` does not decode into the method's type.
    Decode {
        /// The method.
        method: &'static str,
        /// Where and why (with the JSON path).
        error: DecodeError,
        /// The `data` text as received.
        raw: String,
    },
    /// The call never reached the wire: safe to send again.
    NotSent {
        /// The method.
        method: &'static str,
        /// Why.
        reason: String,
    },
    /// The call was written but the link dropped (or the session closed)
    /// before its answer: it **may have executed**.
    OutcomeUnknown {
        /// The method.
        method: &'static str,
        /// The clientId to look the call up by.
        client_id: String,
        /// Why no answer came.
        reason: String,
    },
    /// No answer within the call timeout: it **may have executed**.
    Timeout {
        /// The method.
        method: &'static str,
        /// The clientId to look the call up by.
        client_id: String,
        /// The timeout.
        after: Duration,
    },
    /// The session stopped before (or while) connecting.
    Closed(String),
}

impl HubError {
    /// True when the call may have executed although no answer arrived.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            HubError::OutcomeUnknown { .. } | HubError::Timeout { .. }
        )
    }
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::UnknownMethod(m) => write!(f, "no hub method named `{m}` (not sent)"),
            HubError::Arguments {
                method,
                expected,
                got,
            } => write!(
                f,
                "{method} takes {expected} arguments after ClientId, got {got} (not sent)"
            ),
            HubError::Refused {
                method,
                client_id,
                refusal,
            } => write!(f, "{method} (clientId {client_id}) refused: {refusal}"),
            HubError::Decode { method, error, .. } => {
                write!(f, "{method}: answer does not decode: {error}")
            }
            HubError::NotSent { method, reason } => write!(f, "{method} not sent: {reason}"),
            HubError::OutcomeUnknown {
                method,
                client_id,
                reason,
            } => write!(
                f,
                "{method} (clientId {client_id}) outcome unknown, it may have executed: {reason}"
            ),
            HubError::Timeout {
                method,
                client_id,
                after,
            } => write!(
                f,
                "{method} (clientId {client_id}) got no answer within {after:?}; it may have executed"
            ),
            HubError::Closed(r) => write!(f, "hub session closed: {r}"),
        }
    }
}

impl std::error::Error for HubError {}
