//! HercleX webhooks: signature verification, signing, typed events, and a
//! receiver that hands every event to your handler once, even across crashes.
//!
//! * [`Verifier`] checks `X-Webhook-Signature` / `X-Webhook-Timestamp` over the
//!   raw body bytes with the documented double-hash RSA scheme (ring).
//! * [`Signer`] produces headers that [`Verifier`] and the docs' samples accept.
//! * [`Event`] / [`WebhookEvent`] type the PascalCase envelope.
//! * [`Receiver`] is a hyper service plus a ready server: it verifies, stores
//!   durably ([`SqliteStore`], or [`PgStore`] shared by several receiver
//!   processes), deduplicates by `EventId` and dispatches from the store
//!   either to a [`Handler`] (at-least-once: make effects idempotent on the
//!   event id) or to a transactional handler whose writes commit with the
//!   processed mark ([`SqliteTxHandler`], [`PgTxHandler`]: exactly-once).
//!
//! Features: with none, only [`Verifier`] and [`PublicKey`] (ring and base64
//! are the only dependencies); `signer` adds [`Signer`]; `events` the typed
//! events (hercle-models); `receiver` the HTTP receiver and dispatcher
//! (tokio, hyper); `sqlite` the embedded store; `postgres` the store shared
//! by several receiver processes (tokio-postgres). Default: all of them
//! (so that `cargo test` runs every test); depend with
//! `default-features = false` and name what you use.

mod clock;
mod der;
#[cfg(feature = "receiver")]
mod dispatch;
#[cfg(feature = "events")]
mod event;
mod keys;
mod pem;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "receiver")]
mod receiver;
#[cfg(feature = "signer")]
mod sign;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "receiver")]
mod store;
mod verify;

pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "receiver")]
pub use dispatch::{
    AtLeastOnce, DispatchConfig, Dispatcher, ExactlyOnce, Handler, HandlerError, Process,
};
#[cfg(feature = "events")]
pub use event::{Event, EventError, WebhookEvent, parse_envelope};
pub use keys::{KeyError, PublicKey};
#[cfg(feature = "signer")]
pub use keys::{SignError, SigningKey};
#[cfg(feature = "postgres")]
pub use postgres::{PgConfig, PgStore, PgTxHandler};
#[cfg(feature = "receiver")]
pub use receiver::{Receiver, ReceiverConfig, Rejection, WebhookService, serve};
#[cfg(feature = "signer")]
pub use sign::{SignedHeaders, Signer};
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SqliteStore, SqliteTxHandler};
#[cfg(feature = "receiver")]
pub use store::{
    EventStore, InsertOutcome, MemoryStore, NewEvent, NoStore, StoreError, StoredEvent,
    TransactionalStore,
};
pub use verify::{
    DEFAULT_TOLERANCE, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, Scheme, Verified, Verifier,
    VerifyError, parse_timestamp,
};
