//! Why a link dropped, why a session closed, why a request failed.

use std::fmt;
use std::time::Duration;

/// What the reconnect logic may do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Ask the [`ReconnectPolicy`](crate::ReconnectPolicy) for the next delay.
    Policy,
    /// As `Policy`, but wait at least this long (a rate limit, a server's
    /// `Retry-After`, a maintenance window).
    NotBefore(Duration),
    /// Do not reconnect: the session closes with this failure as its reason
    /// (bad credentials, a SignalR Close without `allowReconnect`).
    Never,
}

/// Which part of connecting failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectStage {
    /// The step before the transport opens (SignalR negotiate, a WhiteBIT
    /// token request).
    PreConnect,
    /// Opening the transport itself (TCP, TLS, WebSocket upgrade).
    Open,
}

/// A failed connection attempt, as the [`Connector`](crate::Connector) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    /// Where it failed.
    pub stage: ConnectStage,
    /// What went wrong, for logs and events. Must not contain secrets.
    pub message: String,
    /// Whether to try again (a 503 from negotiate: yes; a 401: no).
    pub retry: Retry,
}

impl ConnectError {
    /// A retryable failure at `stage`.
    pub fn retryable(stage: ConnectStage, message: impl Into<String>) -> Self {
        ConnectError {
            stage,
            message: message.into(),
            retry: Retry::Policy,
        }
    }

    /// A failure that stops the session.
    pub fn fatal(stage: ConnectStage, message: impl Into<String>) -> Self {
        ConnectError {
            stage,
            message: message.into(),
            retry: Retry::Never,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            ConnectStage::PreConnect => "pre-connect",
            ConnectStage::Open => "open",
        };
        write!(f, "{stage} failed: {}", self.message)
    }
}

impl std::error::Error for ConnectError {}

/// A transport failed while sending or receiving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What went wrong. Must not contain secrets.
    pub message: String,
}

impl TransportError {
    /// A transport error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        TransportError {
            message: message.into(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transport error: {}", self.message)
    }
}

impl std::error::Error for TransportError {}

impl From<std::io::Error> for TransportError {
    fn from(e: std::io::Error) -> Self {
        TransportError::new(e.to_string())
    }
}

/// Why a link went down (or never came up).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// A connection attempt failed.
    Connect(ConnectError),
    /// A connection attempt took longer than the configured connect timeout.
    ConnectTimeout(Duration),
    /// An establish step (handshake, auth, stream start) was refused.
    StepFailed {
        /// The step's name.
        step: &'static str,
        /// What the peer or the protocol said.
        message: String,
    },
    /// An establish step got no answer in time.
    StepTimeout {
        /// The step's name.
        step: &'static str,
        /// Its timeout.
        after: Duration,
    },
    /// Nothing at all was received for this long.
    Silent(Duration),
    /// A keep-alive got no answer (nor any other traffic) within its reply window.
    KeepAliveUnanswered(Duration),
    /// The peer closed the transport.
    PeerClosed,
    /// The transport failed.
    Transport(TransportError),
    /// The protocol ended the link (a server Close message, a stream-expired
    /// event, a fatal decode error).
    Protocol(String),
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Connect(e) => write!(f, "connect: {e}"),
            DisconnectReason::ConnectTimeout(d) => write!(f, "connect timed out after {d:?}"),
            DisconnectReason::StepFailed { step, message } => {
                write!(f, "establish step `{step}` failed: {message}")
            }
            DisconnectReason::StepTimeout { step, after } => {
                write!(f, "establish step `{step}` got no answer within {after:?}")
            }
            DisconnectReason::Silent(d) => write!(f, "nothing received for {d:?}"),
            DisconnectReason::KeepAliveUnanswered(d) => {
                write!(f, "keep-alive unanswered within {d:?}")
            }
            DisconnectReason::PeerClosed => f.write_str("peer closed the connection"),
            DisconnectReason::Transport(e) => e.fmt(f),
            DisconnectReason::Protocol(m) => write!(f, "protocol: {m}"),
        }
    }
}

/// Why a session stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application asked for it.
    User,
    /// A failure that must not be retried (see [`Retry::Never`]).
    Fatal(DisconnectReason),
    /// The reconnect policy gave up.
    GaveUp {
        /// Attempts made in the last outage.
        attempts: u32,
        /// The last failure.
        last: DisconnectReason,
    },
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::User => f.write_str("closed by the application"),
            CloseReason::Fatal(r) => write!(f, "stopped: {r}"),
            CloseReason::GaveUp { attempts, last } => {
                write!(f, "gave up after {attempts} attempts; last: {last}")
            }
        }
    }
}

/// Why a request got no answer although it was written to a link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unanswered {
    /// The link dropped before the answer arrived.
    LinkDropped(DisconnectReason),
    /// No answer within the request timeout.
    TimedOut(Duration),
    /// The session was closed while the request was pending.
    SessionClosed(CloseReason),
    /// Another pending request uses the same correlation key (a reused
    /// business key): the answers could not be told apart, so this one's
    /// is not awaited.
    DuplicateKey(String),
}

/// Why a request never reached the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotSent {
    /// The session was not ready before the request timeout ran out.
    TimedOut(Duration),
    /// The session is closed (or closed while the request waited).
    SessionClosed(CloseReason),
    /// The session task is gone.
    SessionGone,
}

/// A failed request, saying whether it may have executed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError<E> {
    /// The peer answered with an error (the protocol's own error type).
    Rejected(E),
    /// The protocol could not encode the request; nothing was sent.
    Encode(E),
    /// The request never reached the wire: safe to send again.
    NotSent(NotSent),
    /// The request was written but its answer never came: it **may have
    /// executed**. Reconcile (look the business key up) before repeating a
    /// non-idempotent call.
    OutcomeUnknown(Unanswered),
}

impl<E> RequestError<E> {
    /// True when the request may have executed although no answer arrived.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, RequestError::OutcomeUnknown(_))
    }
}

impl<E: fmt::Display> fmt::Display for RequestError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Rejected(e) => write!(f, "rejected by the peer: {e}"),
            RequestError::Encode(e) => write!(f, "could not encode the request (not sent): {e}"),
            RequestError::NotSent(NotSent::TimedOut(d)) => {
                write!(f, "not sent: session not ready within {d:?}")
            }
            RequestError::NotSent(NotSent::SessionClosed(r)) => write!(f, "not sent: {r}"),
            RequestError::NotSent(NotSent::SessionGone) => f.write_str("not sent: session gone"),
            RequestError::OutcomeUnknown(u) => {
                f.write_str("outcome unknown (the request may have executed): ")?;
                match u {
                    Unanswered::LinkDropped(r) => write!(f, "link dropped: {r}"),
                    Unanswered::TimedOut(d) => write!(f, "no answer within {d:?}"),
                    Unanswered::SessionClosed(r) => write!(f, "{r}"),
                    Unanswered::DuplicateKey(k) => {
                        write!(f, "correlation key {k} is used by another pending request")
                    }
                }
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RequestError<E> {}

/// A subscription that could not be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The topic already has a live subscription in this session.
    AlreadySubscribed,
    /// The session is closed.
    SessionClosed,
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::AlreadySubscribed => f.write_str("topic already subscribed"),
            SubscribeError::SessionClosed => f.write_str("session closed"),
        }
    }
}

impl std::error::Error for SubscribeError {}
