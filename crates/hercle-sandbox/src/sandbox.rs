//! The handle a user holds: starts the listener (the router) and the
//! webhook delivery task over one application, acts on it (faults,
//! deposits, webhook endpoints), and stops both when dropped.

use crate::app::App;
use crate::app::faults::{HubFault, RestFault};
use crate::app::outbox::Delivery;
use crate::config::Config;
use crate::{adapters, router};
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
