//! Lifecycle events the application observes.

use std::time::Duration;

use crate::error::{CloseReason, DisconnectReason};

/// What happened to the session, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The first connection is established (all steps done, subscriptions sent).
    Connected,
    /// The link is down (or an attempt failed); the next attempt starts after `delay`.
    Reconnecting {
        /// Attempt number in this outage, from 1.
        attempt: u32,
        /// Why the link is down.
        reason: DisconnectReason,
        /// The wait before the attempt.
        delay: Duration,
    },
    /// A later connection is established and every subscription was re-sent.
    /// Updates during `downtime` are lost: reconcile state from a snapshot.
    Reconnected {
        /// From the moment the link was found down to now.
        downtime: Duration,
    },
    /// A ready link dropped and the protocol can resume it
    /// ([`Protocol::resume_window`](crate::Protocol::resume_window)): one
    /// attempt to reopen the same logical connection starts now.
    Resuming {
        /// Why the link dropped.
        reason: DisconnectReason,
    },
    /// The link was resumed: nothing was lost, requests in flight stay
    /// pending, subscriptions were not replayed.
    Resumed {
        /// From the moment the link was found down to now.
        downtime: Duration,
    },
    /// The session stopped for good.
    Closed {
        /// Why.
        reason: CloseReason,
    },
    /// An inbound frame did not decode; the session went on.
    Malformed {
        /// The offending text (or a prefix of it).
        raw: String,
        /// What was wrong, with a JSON path when the protocol has one.
        detail: String,
    },
    /// The event receiver fell behind and this many events were dropped.
    Lagged {
        /// How many.
        missed: u64,
    },
}
