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

mod admin;
mod banking;
mod bolt11;
#[cfg(feature = "cli")]
mod cli;
mod clock;
mod config;
mod error;
mod faults;
mod funding;
mod hub;
mod hub_calls;
mod market;
mod paging;
mod rest;
mod rng;
mod server;
mod state;
mod trading;
mod webhooks;

#[cfg(feature = "cli")]
pub use cli::{SandboxArgs, serve};
pub use clock::Clock;
pub use config::{ApiKey, Config, PairConfig, RateLimit, SecretPem};
pub use error::{ApiError, ErrorKind};
pub use faults::{HubFault, RestFault};
pub use webhooks::Delivery;

use server::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
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
        let shared = Shared::new(config).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("webhook signing key: {e}"),
            )
        })?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let tasks = vec![
            tokio::spawn(accept_loop(listener, Arc::clone(&shared))),
            tokio::spawn(webhooks::run(Arc::clone(&shared), poll)),
        ];
        Ok(Sandbox {
            addr,
            shared,
            tasks,
        })
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
        self.shared.faults().set_rest(fault);
    }

    /// Processes `per_mille` of every 1000 REST requests and then drops the
    /// connection without answering (the client cannot know the outcome);
    /// 0 turns it off.
    pub fn drop_responses(&self, per_mille: u32) {
        self.shared.faults().set_drop_responses(per_mille);
    }

    /// Acts on live hub connections; returns how many were reached.
    pub fn inject_hub_fault(&self, fault: HubFault) -> usize {
        self.shared.hub_faults.send(fault).unwrap_or(0)
    }

    /// Refuses hub negotiation with 503 for `period`.
    pub fn start_maintenance(&self, period: std::time::Duration) {
        self.shared.faults().start_maintenance(period);
    }

    /// Adds a webhook endpoint.
    pub fn add_webhook_url(&self, url: &str) {
        self.shared
            .webhooks
            .urls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(url.to_owned());
    }

    /// The public key webhook receivers verify with (`BEGIN PUBLIC KEY` PEM).
    pub fn webhook_public_key_pem(&self) -> String {
        self.shared.webhooks.public_key_pem().to_owned()
    }

    /// Every webhook delivery attempt so far.
    pub fn webhook_deliveries(&self) -> Vec<Delivery> {
        self.shared.webhooks.deliveries()
    }

    /// Changes each time a webhook delivery attempt is logged: await
    /// `changed()` on it instead of polling the log.
    pub fn watch_webhook_deliveries(&self) -> tokio::sync::watch::Receiver<usize> {
        self.shared.webhooks.watch()
    }

    /// Credits `amount` of `asset` to the account of `api_key`.
    pub fn deposit(&self, api_key: &str, asset: &str, amount: rust_decimal::Decimal) {
        self.shared.state().deposit(api_key, asset, amount);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service =
                hyper::service::service_fn(move |req| server::serve(Arc::clone(&shared), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(io, service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}
