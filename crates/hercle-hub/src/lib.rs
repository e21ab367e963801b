//! HercleX real-time hub client.
//!
//! For now this crate holds the [`feed`]: the decode path from a SignalR
//! record of the `subscriptions` client method to a typed price update with
//! exact [`Decimal`](hercle_models::Decimal)s, fast enough for a million
//! updates a second on one core, and equal to the general decoder on every
//! input.

pub mod feed;
