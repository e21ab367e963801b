//! The HercleX real-time hub client: SignalR (negotiate, WebSocket, JSON
//! hub protocol) on [`session_core`], typed calls for the 36 hub methods of
//! the description, and price streams that survive reconnects.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use hercle_hub::{HubBuilder, DeliveryPolicy};
//! let (hub, _events) = HubBuilder::for_base_url("https://api.example")
//!     .api_key("…")
//!     .connect()
//!     .await?;
//! let pairs = hub.get_pairs(&[]).await?;
//! let mut prices = hub
//!     .subscribe_prices("BTCUSDT", "0.1".parse()?, DeliveryPolicy::Latest)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # What the client does on the wire
//!
//! - **Negotiate** (`POST {hub}/negotiate?negotiateVersion=1`), falling back
//!   to version 0 when the server rejects the parameter, following
//!   redirects (`url` + `accessToken`, capped), refusing on `error` and on
//!   a classic ASP.NET SignalR server. 401/403 stop the session; 5xx and
//!   network errors are retried by the reconnect policy (a `Retry-After`
//!   is honoured as a minimum delay).
//! - **WebSocket** over tokio-tungstenite with rustls (ring provider, webpki
//!   roots, or the caller's `ClientConfig`); plain `ws` only to loopback.
//!   The key goes in `Authorization: Bearer`, or in `access_token` with
//!   [`HubBuilder::token_in_query`]. JSON records are accepted in text and
//!   binary frames.
//! - **Handshake** within 15 s, a **Ping** after 15 s without sending, the
//!   server declared **dead** after 30 s of silence (all configurable).
//! - A server **Close** with `allowReconnect` reconnects; without it the
//!   session stops with the server's error. Server invocations carrying an
//!   invocation id get a Completion (a registered
//!   [`client_method`](HubBuilder::client_method) or "Client didn't provide
//!   a result.").
//! - A record over the size limit ends the link with a clear reason and the
//!   session reconnects; a record or envelope that does not decode is a
//!   [`SessionEvent::Malformed`] with its raw text and JSON path, counted in
//!   [`Stats::malformed`], and the stream goes on.
//!
//! # The HercleX contract
//!
//! Calls are driven by `hercle_models::HUB_METHODS`: one array argument
//! `[clientId, …]` (or spread arguments, [`HubBuilder::spread_arguments`])
//! with a fresh clientId, resolved by the `executionEvents` envelope
//! carrying that clientId: its `data` decoded into the method's type, or a
//! [`HubError::Refused`] for `preChecksError`, a `*.error` subject, an order
//! with status 2 or a Completion error. A call written before a drop fails
//! with [`HubError::OutcomeUnknown`]: look orders up with
//! [`HubClient::reconcile_order`] before placing them again.
//!
//! # Stateful reconnect
//!
//! With [`HubBuilder::stateful_reconnect`] and a server that grants it, a
//! dropped socket is reopened under the same connection (Sequence, replay
//! of unacknowledged messages both ways, duplicates dropped): a short drop
//! loses and repeats nothing, and calls in flight stay pending
//! ([`SessionEvent::Resumed`]). Otherwise, and when the resume fails, a
//! drop is a full reconnect: subscriptions are re-sent, each stream gets an
//! [`Update::Gap`], and [`SessionEvent::Reconnected`] follows.
//!
//! # The price feed
//!
//! Price updates are decoded by [`feed`]: a scanner for the wire layout that
//! unescapes the double-encoded `data` once, with exact decimals, falling
//! back to the general decoder for anything unexpected; both give the same
//! result on every input (fuzzed), at over a million updates a second on one
//! core.
//!
//! # Running on a current-thread runtime
//!
//! The session runs as a task of its own; read the streams from another
//! task too, not from the future given to `block_on` (which is what
//! `#[tokio::main(flavor = "current_thread")]` does with `main`). Tokio
//! treats a wake of the `block_on` future specially: before the thread
//! sleeps again it polls the I/O driver once more without blocking, so each
//! update delivered to that future costs an extra `epoll_wait`. In
//! `hercle-bench signalr` at 5,000 updates a second this doubled the CPU per
//! update (about 22 against 11 µs; `docs/benchmarks.md`). A spawned task is
//! woken through the run queue instead:
//!
//! ```no_run
//! # async fn run(hub: hercle_hub::HubClient) -> Result<(), Box<dyn std::error::Error>> {
//! let mut prices = hub
//!     .subscribe_prices("BTCUSDT", "0.1".parse()?, hercle_hub::DeliveryPolicy::Latest)
//!     .await?;
//! let reader = tokio::spawn(async move {
//!     while let Some(update) = prices.recv().await {
//!         // use the update
//!         # let _ = update;
//!     }
//! });
//! reader.await?;
//! # Ok(()) }
//! ```

mod args;
mod client;
mod connect;
mod error;
pub mod feed;
mod policy;
mod protocol;

pub use args::Arg;
pub use client::{
    COVERED_METHODS, HUB_PATH, HubBuilder, HubClient, PriceStream, documented_delays,
};
pub use connect::Negotiated;
pub use error::{HubError, Refusal};
pub use hercle_models::Decimal;
pub use policy::{
    MAINTENANCE_LENGTH, MAINTENANCE_START_UTC, MAINTENANCE_WEEKDAY, MaintenanceAware,
    in_maintenance,
};
pub use protocol::{
    ClientMethod, EXECUTION_EVENTS, HubAnswer, HubProtocol, HubRequest, PRE_CHECKS_ERROR,
    PRICE_UPDATE, PriceTopic, SUBSCRIPTIONS,
};
pub use session_core::{
    Backoff, CloseReason, DeliveryPolicy, DisconnectReason, Events, FixedDelays, SessionEvent,
    Stats, SubscribeError, Update,
};
