//! HercleX webhooks: signature verification, signing, typed events, and a
//! receiver that hands every event to your handler once, even across crashes.
//!
//! * [`Verifier`] checks `X-Webhook-Signature` / `X-Webhook-Timestamp` over the
//!   raw body bytes with the documented double-hash RSA scheme (ring).
//! * [`Signer`] produces headers that [`Verifier`] and the docs' samples accept.
//! * [`Event`] / [`WebhookEvent`] type the PascalCase envelope.
//! * [`Receiver`] is a hyper service plus a ready server: it verifies, stores
//!   durably ([`SqliteStore`]), deduplicates by `EventId` and dispatches from
//!   the store to a [`Handler`].

mod clock;
mod der;
mod dispatch;
mod event;
mod keys;
mod pem;
mod receiver;
mod sign;
mod sqlite;
mod store;
mod verify;

pub use clock::{Clock, ManualClock, SystemClock};
pub use dispatch::{DispatchConfig, Dispatcher, Handler, HandlerError};
pub use event::{Event, EventError, WebhookEvent, parse_envelope};
pub use keys::{KeyError, PublicKey, SignError, SigningKey};
pub use receiver::{Receiver, ReceiverConfig, Rejection, WebhookService, serve};
pub use sign::{SignedHeaders, Signer};
pub use sqlite::{Durability, SqliteStore};
pub use store::{
    EventStore, InsertOutcome, MemoryStore, NewEvent, NoStore, StoreError, StoredEvent,
};
pub use verify::{
    DEFAULT_TOLERANCE, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, Scheme, Verified, Verifier,
    VerifyError, parse_timestamp,
};
