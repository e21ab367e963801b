//! One error type for every call: where it failed, which operation, and
//! whether the request may already have been executed.

use hercle_models::ops::OperationId;
use hercle_models::{DecodeError, ErrorBody};
use std::fmt;
use std::time::Duration;

/// Whether the server may have acted on the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Nothing reached the server (building the request or connecting failed).
    NotSent,
    /// The server answered that it did not process it (4xx, 429, 503).
    Rejected,
    /// The request may or may not have been processed: the connection broke
    /// or timed out after it was sent, or a 500/502/504 answered. Repeat it
    /// only with the same `Client-Id`, or look it up first.
    Unknown,
    /// The server processed it (a 2xx that could not be decoded, or that
    /// reports a failure in band).
    Processed,
}

impl Outcome {
    /// Whether the request may already have been executed.
    pub fn may_have_executed(self) -> bool {
        matches!(self, Outcome::Unknown | Outcome::Processed)
    }

    fn describe(self) -> &'static str {
        match self {
            Outcome::NotSent => "the request was not sent",
            Outcome::Rejected => "the server did not execute the request",
            Outcome::Unknown => "the request may have been executed (outcome unknown)",
            Outcome::Processed => "the server processed the request",
        }
    }
}

/// Where and how a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request could not be built (base URL, path parameter, body,
    /// missing API key, client configuration).
    Build(String),
    /// No connection could be opened.
    Connect(String),
    /// The TLS handshake failed.
    Tls(String),
    /// No complete answer within the request timeout.
    Timeout(Duration),
    /// The connection failed after the request was sent, before a complete answer.
    Connection(String),
    /// The answer was larger than the configured limit.
    BodyTooLarge(usize),
    /// An HTTP error status, with the error body in either documented format.
    Status {
        /// The HTTP status.
        status: u16,
        /// The parsed error body, when there was one.
        body: Option<ErrorBody>,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// A success status whose body does not decode into the operation's type.
    Decode {
        /// The HTTP status.
        status: u16,
        /// What failed, with the JSON path.
        error: DecodeError,
    },
    /// A 2xx whose body reports a failure: `status` 2 with `statusError`
    /// (a rejected order), or a non-2xx `httpStatusCode`.
    InBand {
        /// The HTTP status.
        status: u16,
        /// `httpStatusCode`, when that is what failed.
        http_status_code: Option<i64>,
        /// `statusError` or `message`.
        message: Option<String>,
    },
}

/// A failed REST call.
#[derive(Debug)]
pub struct Error {
    pub(crate) operation: Option<OperationId>,
    pub(crate) kind: Box<ErrorKind>,
    pub(crate) outcome: Outcome,
    pub(crate) attempts: u32,
    pub(crate) client_id: Option<String>,
}

impl Error {
    pub(crate) fn new(operation: Option<OperationId>, kind: ErrorKind, outcome: Outcome) -> Self {
        Error {
            operation,
            kind: Box::new(kind),
            outcome,
            attempts: 0,
            client_id: None,
        }
    }

    pub(crate) fn build(operation: Option<OperationId>, what: impl Into<String>) -> Self {
        Self::new(operation, ErrorKind::Build(what.into()), Outcome::NotSent)
    }

    /// The operation called (none for client construction errors).
    pub fn operation(&self) -> Option<OperationId> {
        self.operation
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Whether the server may have acted on it.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Whether the request may already have been executed.
    pub fn may_have_executed(&self) -> bool {
        self.outcome.may_have_executed()
    }

    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The idempotency key (`Client-Id`) the call sent: repeat the call with
    /// it (`CallOptions::client_id`) to learn an unknown outcome without
    /// executing the request twice.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match &*self.kind {
            ErrorKind::Status { status, .. }
            | ErrorKind::Decode { status, .. }
            | ErrorKind::InBand { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error body's `code`, in either documented format.
    pub fn code(&self) -> Option<&str> {
        self.detail().0
    }

    /// The error body's `message`, in either documented format.
    pub fn message(&self) -> Option<&str> {
        self.detail().1
    }

    /// The parameter the error body names (`{error:{param}}` format).
    pub fn param(&self) -> Option<&str> {
        self.detail().2
    }

    fn detail(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        let ErrorKind::Status {
            body: Some(body), ..
        } = &*self.kind
        else {
            return (None, None, None);
        };
        match body {
            ErrorBody::RestErrorDocs(d) => match opt(&d.error) {
                Some(e) => (text(&e.code), text(&e.message), text(&e.param)),
                None => (None, None, None),
            },
            ErrorBody::RestErrorSupportArticle(a) => (text(&a.code), text(&a.message), None),
            _ => (None, None, None),
        }
    }
}

/// A field that is optional today and may become required: either way a reference.
trait Field<T> {
    fn get(&self) -> Option<&T>;
}
impl<T> Field<T> for Option<T> {
    fn get(&self) -> Option<&T> {
        self.as_ref()
    }
}
impl Field<String> for String {
    fn get(&self) -> Option<&String> {
        Some(self)
    }
}
fn opt<T>(f: &impl Field<T>) -> Option<&T> {
    f.get()
}
fn text(f: &impl Field<String>) -> Option<&str> {
    f.get().map(String::as_str)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            Some(op) => write!(f, "{op}: ")?,
            None => f.write_str("hercle-rest: ")?,
        }
        match &*self.kind {
            ErrorKind::Build(what) => write!(f, "cannot build the request: {what}")?,
            ErrorKind::Connect(e) => write!(f, "cannot connect: {e}")?,
            ErrorKind::Tls(e) => write!(f, "TLS handshake failed: {e}")?,
            ErrorKind::Timeout(d) => write!(f, "no answer within {d:?}")?,
            ErrorKind::Connection(e) => write!(f, "connection lost: {e}")?,
            ErrorKind::BodyTooLarge(limit) => {
                write!(f, "response body larger than {limit} bytes")?;
            }
            ErrorKind::Status { status, .. } => {
                write!(f, "HTTP {status}")?;
                if let Some(code) = self.code() {
                    write!(f, " {code}")?;
                }
                if let Some(param) = self.param() {
                    write!(f, " (parameter {param})")?;
                }
                if let Some(message) = self.message() {
                    write!(f, ": {message}")?;
                }
            }
            ErrorKind::Decode { status, error } => write!(f, "HTTP {status}, but {error}")?,
            ErrorKind::InBand {
                status,
                http_status_code,
                message,
            } => {
                write!(f, "HTTP {status} reporting a failure")?;
                if let Some(code) = http_status_code {
                    write!(f, " (httpStatusCode {code})")?;
                }
                if let Some(m) = message {
                    write!(f, ": {m}")?;
                }
            }
        }
        write!(f, "; {}", self.outcome.describe())?;
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::Decode { error, .. } => Some(error),
            _ => None,
        }
    }
}
