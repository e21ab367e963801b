//! An offline HercleX on localhost: the real REST API, the SignalR hub at
//! `/ExecutionLiveServer/v1` and signed webhooks, over one seeded,
//! deterministic market and account model. For our tests, the demo, and
//! users' own integration tests: no keys, no network.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let sandbox = hercle_sandbox::Sandbox::start(hercle_sandbox::Config::default()).await?;
//! println!("REST at {}", sandbox.base_url());
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! Four layers; a module imports only the layers below it.
//!
//! * `router`: the accept loop and the path routing to the adapters.
//!   Only `sandbox` (the [`Sandbox`] handle) imports it.
//! * `adapters`: the transports. `rest` (dispatch by an exhaustive match
//!   on the generated `OperationId`), `hub` (negotiate, the three SignalR
//!   transports, sessions; `hub::calls` says what each hub method does),
//!   `admin` (`/_sandbox/`), `webhooks` (outbound delivery), and `http`,
//!   what the HTTP ones share. Adapters do not import each other.
//! * `app`: one sandbox's shared state: the exchange model under its lock,
//!   authentication, the rate limiter, the idempotency cache, the armed
//!   faults and the webhook outbox. No hyper types.
//! * `domain`: the exchange itself (accounts, market, orders, funding,
//!   banking) and every list query, each implemented once for both
//!   transports (`domain::paging`). No HTTP, no locks, no tasks.
//!
//! `config` (the settings) is below them all; `sandbox` (the [`Sandbox`]
//! handle: starts the router and the webhook task) is above the router,
//! and `cli` (the binary's flags) above that. This file only declares and
//! re-exports.

mod adapters;
mod app;
#[cfg(feature = "cli")]
mod cli;
mod config;
mod domain;
mod router;
mod sandbox;

pub use app::faults::{HubFault, RestFault};
pub use app::outbox::Delivery;
#[cfg(feature = "cli")]
pub use cli::{SandboxArgs, serve};
pub use config::{ApiKey, Config, PairConfig, RateLimit, SecretPem};
pub use domain::clock::Clock;
pub use domain::error::{ApiError, ErrorKind};
pub use sandbox::Sandbox;
