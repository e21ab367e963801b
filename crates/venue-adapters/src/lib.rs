//! Venue adapters on [`session_core`]: WebSocket clients for
//! [WhiteBIT](whitebit), the [Hibachi](hibachi) account stream and
//! [AllenHark](allenhark), each a small [`session_core::Protocol`] plus
//! the shared WebSocket [`ws::WsConnector`], and (feature `simulator`) a
//! loopback [`simulator`] of each venue with fault injection.
//!
//! Common rules:
//!
//! - Money is [`rust_decimal::Decimal`], read exactly through the number's
//!   text with hercle-models' codec, whether the venue sends a string or a
//!   number ([`codec`]); written (NDJSON) as a string with the same digits.
//! - Unknown messages are kept raw: an unknown event type is delivered as
//!   the venue's raw variant to its catch-all topic; text that is not JSON
//!   (or a known event that does not decode) is a
//!   [`session_core::SessionEvent::Malformed`] with the raw text, and the
//!   stream goes on.
//! - Lifecycle (reconnect, backoff, request timeouts, resubscription, gap
//!   markers) is session-core's; the adapters only say what to send and
//!   what a frame means.
//!
//! Features: `simulator` (the loopback venues, for tests and demos) and
//! `cli` ([`cli::VenueWatchArgs`] and [`cli::watch`], which the `hercle`
//! binary exposes as `hercle venue NAME watch`). The seed coverage of each
//! venue is the table in [`coverage`], rendered into `docs/coverage.md`.
//!
//! Plain `ws://` is refused except to loopback: credentials travel in the
//! upgrade (Hibachi) or the first frames (WhiteBIT, AllenHark).
//!
//! # Assumptions (where the sources are silent)
//!
//! WhiteBIT:
//! - `authorize`'s second parameter is `""` as in the seed (the docs show
//!   `"public"`); configurable.
//! - `authorize` answer awaited 10 s; a refused token gets one reconnect
//!   with a fresh token, a second refusal in a row closes the session.
//! - Request ids start at 1 (0 is the venue's customary ping id).
//! - The 200/min budget counts every client message; 2 are reserved so
//!   pings and `authorize` are never delayed. After code 7 sending pauses
//!   until the window's oldest request has aged out (at least 5 s).
//!   Requests queued by the limiter when the link drops fail as
//!   "outcome unknown" (session-core cannot tell them from written ones).
//! - Channels other than the seed's typed ones take a flat list of keys
//!   and deliver raw updates, routed by `params[0]` when it is a key.
//! - Depth order-book maintenance (`past_update_id` chain) is not
//!   implemented: `depth_update` is delivered raw.
//!
//! Hibachi (account stream):
//! - `stream.ping` every 5 s (the key expires after 10 s without one); an
//!   answer other than status 200 means the key is dead and the stream is
//!   restarted, as on `stream_expired`. A restart is a reconnect: events
//!   are not replayed, subscribers get a gap marker, then the new snapshot.
//! - `stream.ping`/`stream.stop` carry a top-level `timestamp` in Unix
//!   seconds (the SDKs' choice; the seed gives no unit).
//! - The error shape is not documented: any `status` other than 200 is an
//!   error, with `error` kept raw if present.
//! - The prose names (`ORDER_CREATED`, `ORDER_UPDATED`, `ORDER_CANCELED`)
//!   are accepted as aliases of the examples' `order_creation` …
//!
//! AllenHark:
//! - No auth acknowledgement is documented: by default `auth` is written
//!   and the session is ready at once ([`allenhark::AuthReply::Assume`]);
//!   [`allenhark::AuthReply::Await`] waits for a named message type
//!   instead, and an `error` during that wait fails the step.
//! - Subscriptions get no acknowledgement; an `error` message naming a
//!   channel and key (`channel` + `botId`/`mint`/`wallet`) rejects that
//!   subscription, any other `error` goes to the catch-all topic.
//! - `pong` must come within 10 s of a `ping` (sent every 30 s).
//! - `transaction_confirmed` names no wallet: it goes to the transactions
//!   subscription whose wallet it names if it carries a `wallet` field,
//!   else to every transactions subscription.
//! - Prices, volumes and profits are JSON numbers; they are read exactly
//!   from their text (never as floats), whatever precision they carry.

pub mod allenhark;
pub mod codec;
pub mod coverage;
pub mod hibachi;
pub mod whitebit;
pub mod ws;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "simulator")]
pub mod simulator;
