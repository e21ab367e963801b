//! Fault injection, for the reliability tests of every client layer.
//! Driven from Rust (`SandboxHandle::faults`) or the admin HTTP API.

use std::time::Duration;
use tokio::time::Instant;

/// A REST fault applied to the next `count` requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestFault {
    /// Answer with this status (429, 500, 502, 503, …) instead of serving.
    pub status: Option<u16>,
    /// Wait this long first.
    pub delay: Option<Duration>,
    /// How many requests it applies to.
    pub count: u32,
}

/// A fault for live hub connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubFault {
    /// Drop the WebSocket without a Close message.
    Drop {
        /// Only this connection, or all.
        connection: Option<String>,
    },
    /// Stop sending anything (pings included) until the client gives up.
    Stall {
        /// Only this connection, or all.
        connection: Option<String>,
    },
    /// Send a Close message, with or without `allowReconnect`.
    Close {
        /// Only this connection, or all.
        connection: Option<String>,
        /// The Close message's `allowReconnect`.
        allow_reconnect: bool,
        /// The Close message's `error`.
        error: Option<String>,
    },
}

impl HubFault {
    /// Whether the fault targets connection `id`.
    pub fn targets(&self, id: &str) -> bool {
        let (Self::Drop { connection }
        | Self::Stall { connection }
        | Self::Close { connection, .. }) = self;
        connection.as_deref().is_none_or(|c| c == id)
    }
}

/// Faults currently armed.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rest: Option<RestFault>,
    maintenance_until: Option<Instant>,
    /// Deliver every webhook twice.
    pub(crate) webhook_duplicates: bool,
    /// Share of REST requests (per mille) processed and then left
    /// unanswered, and the seeded generator that picks them.
    drop_responses: Option<(u32, crate::domain::rng::Rng)>,
}

impl Faults {
    /// Arms a REST fault.
    pub(crate) fn set_rest(&mut self, fault: RestFault) {
        self.rest = (fault.count > 0).then_some(fault);
    }

    /// Takes the REST fault for one request, if armed.
    pub(crate) fn take_rest_fault(&mut self) -> Option<RestFault> {
        let f = self.rest.as_mut()?;
        f.count -= 1;
        let out = *f;
        if f.count == 0 {
            self.rest = None;
        }
        Some(out)
    }

    /// Processes about `per_mille` of every 1000 REST requests, then drops
    /// their connection without answering (0 turns it off). Picked by a
    /// seeded generator: reproducible, yet not in step with a client's own
    /// request pattern (an evenly spaced choice could always hit the same
    /// kind of request in a loop).
    pub(crate) fn set_drop_responses(&mut self, per_mille: u32) {
        self.drop_responses = (per_mille > 0).then(|| {
            (
                per_mille.min(1000),
                crate::domain::rng::Rng::derive(u64::from(per_mille), "drop-responses"),
            )
        });
    }

    /// Whether the answer to the request just processed is to be dropped.
    pub(crate) fn take_drop_response(&mut self) -> bool {
        let Some((share, rng)) = self.drop_responses.as_mut() else {
            return false;
        };
        rng.next_u64() % 1000 < u64::from(*share)
    }

    /// Refuse hub negotiation with 503 for `period` (the weekly maintenance window).
    pub(crate) fn start_maintenance(&mut self, period: Duration) {
        self.maintenance_until = Some(Instant::now() + period);
    }

    /// Whether negotiation is refused now.
    pub(crate) fn in_maintenance(&self) -> bool {
        self.maintenance_until.is_some_and(|t| Instant::now() < t)
    }

    /// Clears every fault.
    pub(crate) fn clear(&mut self) {
        *self = Faults::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_fault_applies_count_times() {
        let mut f = Faults::default();
        f.set_rest(RestFault {
            status: Some(503),
            delay: None,
            count: 2,
        });
        assert!(f.take_rest_fault().is_some());
        assert!(f.take_rest_fault().is_some());
        assert!(f.take_rest_fault().is_none());
    }

    #[test]
    fn dropped_responses_take_the_given_share() {
        let mut f = Faults::default();
        assert!(!f.take_drop_response());
        f.set_drop_responses(200);
        let dropped = (0..10_000).filter(|_| f.take_drop_response()).count();
        assert!((1_800..2_200).contains(&dropped), "{dropped}");
        f.set_drop_responses(0);
        assert!(!f.take_drop_response());
    }

    #[test]
    fn hub_fault_targets() {
        let all = HubFault::Drop { connection: None };
        let one = HubFault::Stall {
            connection: Some("a".into()),
        };
        assert!(all.targets("x") && one.targets("a") && !one.targets("b"));
    }
}
