//! The WebSocket link every venue uses: session-core's [`WsTransport`]
//! (the one the HercleX hub uses too), opened by a [`Connector`] with an
//! optional pre-connect step (WhiteBIT's token) and secret headers
//! (Hibachi's `Authorization`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use session_core::WsTransport;
use session_core::{ConnectError, ConnectStage, Connector, open_websocket};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A credential: shown as `***` by `Debug` and never put in an error.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, for the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A future returned by a provider.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What runs before each connection attempt, producing the protocol's
/// `Setup` (WhiteBIT: a fresh websocket token; others: nothing).
pub trait PreConnect: Send + Sync + 'static {
    /// What it hands the protocol.
    type Setup: Send + Sync + 'static;
    /// Run it; called again on every reconnect.
    fn run(&self) -> BoxFuture<'_, Result<Self::Setup, ConnectError>>;
}

/// No pre-connect step.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSetup;

impl PreConnect for NoSetup {
    type Setup = ();
    fn run(&self) -> BoxFuture<'_, Result<(), ConnectError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Opens a WebSocket to a fixed URL with extra headers, after `pre`.
pub struct WsConnector<P> {
    url: String,
    headers: Vec<(&'static str, Secret)>,
    pre: Arc<P>,
    max_message: usize,
}

impl<P> fmt::Debug for WsConnector<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsConnector")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl<P: PreConnect> WsConnector<P> {
    /// A connector for `url` (`ws://` or `wss://`).
    pub fn new(url: impl Into<String>, pre: Arc<P>) -> Self {
        WsConnector {
            url: url.into(),
            headers: Vec::new(),
            pre,
            // Hibachi order-book snapshots exceed 32 KiB; 1 MiB is what its
            // Go SDK settled on, and plenty for the account streams.
            max_message: 1 << 20,
        }
    }

    /// Send `name: value` with the upgrade request.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: Secret) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl<P: PreConnect> Connector for WsConnector<P> {
    type Setup = P::Setup;
    type Transport = WsTransport;

    fn pre_connect(&mut self) -> impl Future<Output = Result<P::Setup, ConnectError>> + Send {
        let pre = Arc::clone(&self.pre);
        async move { pre.run().await }
    }

    async fn open(&mut self, _setup: &P::Setup) -> Result<WsTransport, ConnectError> {
        let mut req = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| ConnectError::fatal(ConnectStage::Open, format!("bad URL: {e}")))?;
        // Credentials travel in the upgrade and the first frames: plain
        // `ws://` only to this machine (the simulators), as for the hub.
        let host = req.uri().host().unwrap_or_default().to_owned();
        if req.uri().scheme_str() != Some("wss") && !hercle_tls::is_loopback(&host) {
            return Err(ConnectError::fatal(
                ConnectStage::Open,
                format!("plain ws:// is only allowed to loopback, not {host}"),
            ));
        }
        for (name, value) in &self.headers {
            let mut v = HeaderValue::from_str(value.expose()).map_err(|_| {
                ConnectError::fatal(
                    ConnectStage::Open,
                    format!("header {name}: not a valid value"),
                )
            })?;
            v.set_sensitive(true);
            req.headers_mut().insert(*name, v);
        }
        let tls = if self.url.starts_with("wss:") {
            Some(
                hercle_tls::client_config()
                    .map_err(|e| ConnectError::fatal(ConnectStage::Open, format!("TLS: {e}")))?,
            )
        } else {
            None
        };
        open_websocket(req, self.max_message, tls).await
    }
}
