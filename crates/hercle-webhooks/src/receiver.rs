//! The receiver: a sans-IO core (verify, parse, decide) and a thin hyper shell.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Body;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::clock::{Clock, SystemClock};
use crate::dispatch::{AtLeastOnce, DispatchConfig, Dispatcher, ExactlyOnce, Handler, Process};
use crate::event::{EventError, parse_envelope};
use crate::store::{EventStore, InsertOutcome, NewEvent, TransactionalStore};
use crate::verify::{HEADER_ID, Verifier, VerifyError};

/// Receiver limits.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Largest accepted body in bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// Dispatcher settings.
    pub dispatch: DispatchConfig,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            max_body_bytes: 1024 * 1024,
            dispatch: DispatchConfig::default(),
        }
    }
}

/// Why a delivery was rejected with 400; nothing is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// Header, timestamp or signature check failed.
    Verify(VerifyError),
    /// The verified body is not a usable envelope.
    Malformed(EventError),
    /// The body exceeds the size limit.
    TooLarge,
    /// The body could not be read.
    BodyRead,
}

impl Rejection {
    /// Short reason text (the 400 response's `error`).
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::Verify(e) => e.reason(),
            Rejection::Malformed(e) => e.reason(),
            Rejection::TooLarge => "body too large",
            Rejection::BodyRead => "could not read body",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Rejection {}

/// The sans-IO part: from headers and body bytes to a storable event or a rejection.
#[derive(Debug)]
struct Core {
    verifier: Verifier,
    clock: Arc<dyn Clock>,
    config: ReceiverConfig,
}

impl Core {
    fn check(&self, headers: &HeaderMap, body: Bytes) -> Result<NewEvent, Rejection> {
        if body.len() > self.config.max_body_bytes {
            return Err(Rejection::TooLarge);
        }
        let verified = self
            .verifier
            .verify_headers(headers, &body)
            .map_err(Rejection::Verify)?;
        let env = parse_envelope(&body).map_err(Rejection::Malformed)?;
        Ok(NewEvent {
            event_id: env.event_id.unwrap_or_default(),
            event_type: env
                .event_type
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            delivery_id: headers
                .get(HEADER_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            signed_at: verified.timestamp,
            received_at: self.clock.now_unix(),
            body,
        })
    }
}

/// A configured receiver: verifier, store and limits. Cheap to clone.
pub struct Receiver<S> {
    core: Arc<Core>,
    store: Arc<S>,
    wake: Arc<Notify>,
}

impl<S> Clone for Receiver<S> {
    fn clone(&self) -> Self {
        Receiver {
            core: self.core.clone(),
            store: self.store.clone(),
            wake: self.wake.clone(),
        }
    }
}

impl<S> fmt::Debug for Receiver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("core", &self.core)
            .finish()
    }
}

impl<S: EventStore> Receiver<S> {
    /// A receiver with default limits.
    pub fn new(verifier: Verifier, store: S) -> Self {
        Self::with_config(verifier, store, ReceiverConfig::default())
    }

    /// A receiver with the given limits.
    pub fn with_config(verifier: Verifier, store: S, config: ReceiverConfig) -> Self {
        Receiver {
            core: Arc::new(Core {
                verifier,
                clock: Arc::new(SystemClock),
                config,
            }),
            store: Arc::new(store),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The hyper service to mount in your own hyper or axum app (any path;
    /// the service answers POST only).
    pub fn service(&self) -> WebhookService<S> {
        WebhookService {
            receiver: self.clone(),
        }
    }

    /// An at-least-once dispatcher feeding `handler` from the store; run it
    /// with [`Dispatcher::run`] (e.g. in `tokio::spawn`).
    pub fn dispatcher<H: Handler>(&self, handler: H) -> Dispatcher<Arc<S>, AtLeastOnce<H>> {
        self.dispatcher_with(AtLeastOnce(handler))
    }

    /// A dispatcher running any [`Process`] (e.g. [`ExactlyOnce`]).
    pub fn dispatcher_with<P: Process<Arc<S>>>(&self, processor: P) -> Dispatcher<Arc<S>, P> {
        Dispatcher::new(
            self.store.clone(),
            processor,
            self.wake.clone(),
            self.core.config.dispatch.clone(),
        )
    }

    /// Handles one request: the whole receive path.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if req.method() != Method::POST {
            return json(
                StatusCode::METHOD_NOT_ALLOWED,
                r#"{"error":"method not allowed"}"#,
            );
        }
        let limit = self.core.config.max_body_bytes;
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return reject(&Rejection::TooLarge);
        }
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                let r = if e.is::<http_body_util::LengthLimitError>() {
                    Rejection::TooLarge
                } else {
                    Rejection::BodyRead
                };
                return reject(&r);
            }
        };
        let event = match self.core.check(&parts.headers, body) {
            Ok(ev) => ev,
            Err(r) => return reject(&r),
        };
        match self.store.insert_if_new(event).await {
            Ok(InsertOutcome::Inserted) => {
                self.wake.notify_one();
                json(StatusCode::OK, r#"{"success":true}"#)
            }
            Ok(InsertOutcome::Duplicate) => {
                json(StatusCode::OK, r#"{"success":true,"duplicate":true}"#)
            }
            Err(e) => {
                tracing::error!(error = %e, "webhook store failed; answering 503 so it is retried");
                json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"error":"store unavailable"}"#,
                )
            }
        }
    }

    /// The ready server: accepts connections on `listener`, runs the
    /// at-least-once dispatcher with `handler`, until `shutdown` resolves.
    pub async fn serve<H: Handler>(
        &self,
        listener: TcpListener,
        handler: H,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.serve_with(listener, AtLeastOnce(handler), shutdown)
            .await
    }

    /// The ready server with a transactional handler: its writes in the
    /// store commit together with the processed mark (exactly-once).
    pub async fn serve_exactly_once(
        &self,
        listener: TcpListener,
        handler: Arc<S::TxHandler>,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()>
    where
        S: TransactionalStore,
    {
        self.serve_with(listener, ExactlyOnce(handler), shutdown)
            .await
    }

    /// The ready server with any [`Process`].
    pub async fn serve_with<P: Process<Arc<S>>>(
        &self,
        listener: TcpListener,
        processor: P,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let dispatcher = tokio::spawn(self.dispatcher_with(processor).run());
        let result = serve(listener, self.service(), shutdown).await;
        dispatcher.abort();
        result
    }
}

fn json(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn reject(r: &Rejection) -> Response<Full<Bytes>> {
    tracing::debug!(reason = r.reason(), "webhook rejected");
    let body = serde_json::json!({ "error": r.reason() }).to_string();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// The receiver as a `hyper::service::Service` (also usable as a tower
/// service via `hyper_util::service::TowerToHyperService`'s inverse).
pub struct WebhookService<S> {
    receiver: Receiver<S>,
}

impl<S> Clone for WebhookService<S> {
    fn clone(&self) -> Self {
        WebhookService {
            receiver: self.receiver.clone(),
        }
    }
}

impl<S> fmt::Debug for WebhookService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookService").finish_non_exhaustive()
    }
}

impl<S, B> hyper::service::Service<Request<B>> for WebhookService<S>
where
    S: EventStore,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<B>) -> Self::Future {
        let receiver = self.receiver.clone();
        Box::pin(async move { Ok(receiver.handle(req).await) })
    }
}

/// Serves `service` over HTTP/1.1 on `listener` until `shutdown` resolves.
pub async fn serve<S: EventStore>(
    listener: TcpListener,
    service: WebhookService<S>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "webhook connection ended with error");
            }
        });
    }
}
