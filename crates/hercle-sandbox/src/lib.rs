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
//!   Only this file imports it.
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
//! `config` (the settings) is below them all; `cli` (the binary's flags)
//! sits beside this file.

mod adapters;
mod app;
#[cfg(feature = "cli")]
mod cli;
mod config;
mod domain;
mod router;

pub use app::faults::{HubFault, RestFault};
pub use app::outbox::Delivery;
#[cfg(feature = "cli")]
pub use cli::{SandboxArgs, serve};
pub use config::{ApiKey, Config, PairConfig, RateLimit, SecretPem};
pub use domain::clock::Clock;
pub use domain::error::{ApiError, ErrorKind};

use app::App;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    app: Arc<App>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sandbox {
    /// Serves on an ephemeral port of 127.0.0.1.
    pub async fn start(config: Config) -> std::io::Result<Sandbox> {
        Self::bind(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves on `addr`.
    pub async fn bind(config: Config, addr: SocketAddr) -> std::io::Result<Sandbox> {
        let poll = config.webhook_poll;
        let app = App::new(config).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("webhook signing key: {e}"),
            )
        })?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let tasks = vec![
            tokio::spawn(router::accept_loop(
                listener,
                router::Router::new(Arc::clone(&app)),
            )),
            tokio::spawn(adapters::webhooks::run(Arc::clone(&app), poll)),
        ];
        Ok(Sandbox { addr, app, tasks })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, the REST base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The hub URL, as given to a SignalR client.
    pub fn hub_url(&self) -> String {
        format!("http://{}/ExecutionLiveServer/v1", self.addr)
    }

    /// Arms a REST fault.
    pub fn inject_rest_fault(&self, fault: RestFault) {
        self.app.faults().set_rest(fault);
    }

    /// Processes `per_mille` of every 1000 REST requests and then drops the
    /// connection without answering (the client cannot know the outcome);
    /// 0 turns it off.
    pub fn drop_responses(&self, per_mille: u32) {
        self.app.faults().set_drop_responses(per_mille);
    }

    /// Acts on live hub connections; returns how many were reached.
    pub fn inject_hub_fault(&self, fault: HubFault) -> usize {
        self.app.hub_faults.send(fault).unwrap_or(0)
    }

    /// Refuses hub negotiation with 503 for `period`.
    pub fn start_maintenance(&self, period: std::time::Duration) {
        self.app.faults().start_maintenance(period);
    }

    /// Adds a webhook endpoint.
    pub fn add_webhook_url(&self, url: &str) {
        self.app.outbox.add_url(url);
    }

    /// The public key webhook receivers verify with (`BEGIN PUBLIC KEY` PEM).
    pub fn webhook_public_key_pem(&self) -> String {
        self.app.outbox.public_key_pem().to_owned()
    }

    /// Every webhook delivery attempt so far.
    pub fn webhook_deliveries(&self) -> Vec<Delivery> {
        self.app.outbox.deliveries()
    }

    /// Changes each time a webhook delivery attempt is logged: await
    /// `changed()` on it instead of polling the log.
    pub fn watch_webhook_deliveries(&self) -> tokio::sync::watch::Receiver<usize> {
        self.app.outbox.watch()
    }

    /// Credits `amount` of `asset` to the account of `api_key`.
    pub fn deposit(&self, api_key: &str, asset: &str, amount: rust_decimal::Decimal) {
        self.app.state().deposit(api_key, asset, amount);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
