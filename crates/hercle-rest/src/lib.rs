//! HercleX REST client on hyper 1 + rustls.
//!
//! Every operation of the API description is a typed descriptor in
//! [`hercle_models::ops`]; [`Client::call`] sends any of them, and the 46
//! convenience methods (`client.get_pairs()`, `client.place_otc_order(..)`,
//! …) are generated from the same descriptors, so no endpoint is wired by
//! hand.
//!
//! - Base URL: [`Builder::production`], [`Builder::sandbox`] (the
//!   description's `servers`) or any URL; plain `http` only for loopback
//!   hosts. Key and URL from the builder or `HERCLE_API_KEY` /
//!   `HERCLE_BASE_URL`. The key never appears in `Debug`, logs or errors.
//! - One [`Error`] type saying where a call failed, which operation it was,
//!   and whether the request may already have executed ([`Outcome`]).
//! - Retries per [`RetryPolicy`] (see [`retry`]): idempotency keys
//!   (`Client-Id`) are generated once per logical call for the operations
//!   that honour them and reused on every attempt.
//! - Pagination as lazy streams ([`paging`]).
//! - Bodies as the description says: JSON, or `multipart/form-data`
//!   ([`multipart`]) for the document upload, whose file is a
//!   [`FileUpload`](hercle_models::FileUpload).
//! - Connect and request timeouts, pooled keep-alive connections, a body
//!   size limit, gzip when the server sends it, one `tracing` span per call
//!   (operation, path template, status, attempt, latency; no secrets, no
//!   bodies).
//!
//! ```no_run
//! # async fn run() -> Result<(), hercle_rest::Error> {
//! let client = hercle_rest::Client::builder().from_env().build()?;
//! let pairs = client.get_pairs().await?;
//! # Ok(()) }
//! ```

mod error;
mod generated;
pub mod multipart;
pub mod paging;
pub mod retry;
/// The shared TLS configuration (the `hercle-tls` crate).
pub use hercle_tls as tls;

pub use error::{Error, ErrorKind, Outcome};
pub use hercle_models::operation::{Input, Operation};
pub use hercle_models::ops;
pub use retry::{BudgetConfig, RetryPolicy};

use bytes::Bytes;
use hercle_models::catalog::{Endpoint, HttpMethod};
use hercle_models::operation::{PathParams, QueryParams, RequestContent};
use hercle_models::ops::OperationId;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{self, HeaderValue};
use hyper_util::client::legacy::connect::HttpConnector;
use retry::{Decision, Failure, Jitter, RetryBudget};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tracing::Instrument as _;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The API key; `Debug` never shows it.
#[derive(Clone)]
struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Configures a [`Client`].
#[derive(Clone, Debug)]
pub struct Builder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_body_bytes: usize,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    retry: RetryPolicy,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            api_key: None,
            base_url: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 16 * 1024 * 1024,
            pool_idle_timeout: Duration::from_secs(60),
            pool_max_idle_per_host: 32,
            retry: RetryPolicy::default(),
        }
    }
}

impl Builder {
    /// The API key (sent as `Authorization: Bearer …`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey(key.into()));
        self
    }

    /// Any base URL, e.g. a local sandbox's `http://127.0.0.1:PORT`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The production environment (the default).
    pub fn production(self) -> Self {
        self.base_url(ops::SERVER_PRODUCTION)
    }

    /// HercleX's public sandbox environment.
    pub fn sandbox(self) -> Self {
        self.base_url(ops::SERVER_SANDBOX)
    }

    /// Fills what was not set from `HERCLE_API_KEY` and `HERCLE_BASE_URL`
    /// (the docs' `.env` names).
    pub fn from_env(self) -> Self {
        self.from_vars(|name| std::env::var(name).ok())
    }

    /// [`Builder::from_env`] with another source of variables.
    pub fn from_vars(mut self, var: impl Fn(&str) -> Option<String>) -> Self {
        if self.api_key.is_none() {
            self.api_key = var("HERCLE_API_KEY").filter(|k| !k.is_empty()).map(ApiKey);
        }
        if self.base_url.is_none() {
            self.base_url = var("HERCLE_BASE_URL").filter(|u| !u.is_empty());
        }
        self
    }

    /// Limit for opening a connection (TCP and TLS).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Limit for one attempt, from sending to the whole body read.
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Largest response body accepted (after decompression).
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// How long an idle pooled connection is kept.
    pub fn pool_idle_timeout(mut self, t: Duration) -> Self {
        self.pool_idle_timeout = t;
        self
    }

    /// Idle connections kept per host.
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the client; fails without an API key, on a malformed base URL,
    /// or on plain `http` to a host other than the local machine.
    pub fn build(self) -> Result<Client, Error> {
        let key = self
            .api_key
            .ok_or_else(|| Error::build(None, "no API key (builder or HERCLE_API_KEY)"))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.0))
            .map_err(|_| Error::build(None, "the API key holds characters a header cannot"))?;
        auth.set_sensitive(true);
        let base = BaseUrl::parse(self.base_url.as_deref().unwrap_or(ops::SERVER_PRODUCTION))?;
        let tls = tls::client_config().map_err(|e| Error::build(None, format!("TLS: {e}")))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_timer(hyper_util::rt::TokioTimer::new())
                .pool_idle_timeout(self.pool_idle_timeout)
                .pool_max_idle_per_host(self.pool_max_idle_per_host)
                .build(https);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                _key: key,
                auth,
                request_timeout: self.request_timeout,
                max_body_bytes: self.max_body_bytes,
                retry: self.retry,
                budget: Mutex::new(RetryBudget::new(self.retry.budget)),
                jitter: Mutex::new(Jitter::from_os()),
            }),
        })
    }
}

/// A base URL split once: scheme and authority, and a path prefix.
#[derive(Debug)]
struct BaseUrl {
    origin: String,
    prefix: String,
}

impl BaseUrl {
    fn parse(url: &str) -> Result<BaseUrl, Error> {
        let bad = |why: &str| Error::build(None, format!("base URL {url:?}: {why}"));
        let uri: hyper::Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if tls::is_loopback(host) => {}
            Some("http") => return Err(bad("plain http is allowed only for loopback hosts")),
            _ => return Err(bad("scheme must be https (or http for loopback)")),
        }
        if uri.query().is_some() {
            return Err(bad("must not have a query"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        Ok(BaseUrl {
            origin: format!("{}://{authority}", uri.scheme_str().unwrap_or("https")),
            prefix: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// Per-call options.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// The idempotency key (`Client-Id`) to send, for the operations that
    /// honour one; by default one is generated per call.
    pub client_id: Option<String>,
    /// Overrides the client's request timeout for this call.
    pub timeout: Option<Duration>,
}

/// A HercleX REST client. Cheap to clone; clones share the connection pool
/// and the retry budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: hyper_util::client::legacy::Client<Https, Full<Bytes>>,
    base: BaseUrl,
    /// Kept for its redacted `Debug`; the header below is what is sent.
    _key: ApiKey,
    auth: HeaderValue,
    request_timeout: Duration,
    max_body_bytes: usize,
    retry: RetryPolicy,
    budget: Mutex<RetryBudget>,
    jitter: Mutex<Jitter>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url())
            .field("api_key", &self.inner._key)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One request, built once and sent on every attempt.
struct Prepared {
    method: hyper::Method,
    uri: hyper::Uri,
    body: Bytes,
    content_type: HeaderValue,
    client_id: Option<HeaderValue>,
    safe_to_repeat: bool,
}

/// A complete answer.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Bytes,
}

impl Client {
    /// A builder with the defaults (production URL unless set or in the
    /// environment).
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.inner.base.origin, self.inner.base.prefix)
    }

    /// Tokens left in the retry budget.
    pub fn retry_budget(&self) -> u32 {
        lock(&self.inner.budget).tokens()
    }

    /// Calls operation `O`.
    pub async fn call<O: Operation>(&self, input: Input<O>) -> Result<O::Response, Error> {
        self.call_with(input, CallOptions::default()).await
    }

    /// Calls operation `O` with per-call options.
    pub async fn call_with<O: Operation>(
        &self,
        input: Input<O>,
        options: CallOptions,
    ) -> Result<O::Response, Error> {
        self.execute(
            O::ID,
            options,
            |client_id| self.prepare::<O>(&input, client_id),
            interpret::<O>,
        )
        .await
    }

    /// Calls any operation by id with its parameters as text, as a command
    /// line or a script has them: `path` fills the path template, `query`
    /// is sent as given, `body` is JSON text sent as is. Answers the raw
    /// success body (after the same status and in-band checks, retries and
    /// idempotency as the typed calls), so no number is ever re-encoded.
    ///
    /// ```no_run
    /// # async fn run(client: hercle_rest::Client) -> Result<(), hercle_rest::Error> {
    /// use hercle_rest::ops::OperationId;
    /// let body = client
    ///     .call_raw(OperationId::GetPairPrice, &[("pair", "BTCUSDT"), ("size", "0.1")], &[], None, Default::default())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn call_raw(
        &self,
        id: OperationId,
        path: &[(&str, &str)],
        query: &[(&str, &str)],
        body: Option<&str>,
        options: CallOptions,
    ) -> Result<Bytes, Error> {
        let endpoint = id.endpoint();
        let path = endpoint
            .render(path)
            .map_err(|e| Error::build(Some(id), e.to_string()))?;
        let query: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let body = Bytes::from(body.unwrap_or_default().to_owned());
        self.execute(
            id,
            options,
            |client_id| {
                let json = HeaderValue::from_static("application/json");
                self.prepare_parts(endpoint, id, &path, &query, (body.clone(), json), client_id)
            },
            // An empty success body stays empty: the caller sees what was sent.
            move |answer| interpret_raw(id, answer, false),
        )
        .await
    }

    /// The retry loop shared by every call: one idempotency key per logical
    /// call, `build` once, then send and `interpret` until success or a
    /// decision to give up.
    async fn execute<T>(
        &self,
        id: OperationId,
        mut options: CallOptions,
        build: impl FnOnce(Option<&str>) -> Result<Prepared, Error>,
        interpret: impl Fn(Answer) -> Result<T, (Error, Failure)>,
    ) -> Result<T, Error> {
        let endpoint = id.endpoint();
        let span = tracing::debug_span!(
            "hercle_rest.call",
            operation = id.as_str(),
            path = endpoint.path,
            status = tracing::field::Empty,
            attempt = tracing::field::Empty,
            latency_us = tracing::field::Empty,
        );
        // One key per logical call, the same on every attempt.
        if endpoint.idempotent && options.client_id.is_none() {
            options.client_id = Some(retry::new_client_id());
        }
        let client_id = if endpoint.idempotent {
            options.client_id.as_deref()
        } else {
            None
        };
        let prepared = build(client_id)?;
        self.run(endpoint, id, &prepared, options, span.clone(), interpret)
            .instrument(span)
            .await
    }

    fn prepare<O: Operation>(
        &self,
        input: &Input<O>,
        client_id: Option<&str>,
    ) -> Result<Prepared, Error> {
        let endpoint = O::endpoint();
        let values = input.path.values();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let path = endpoint
            .render(&pairs)
            .map_err(|e| Error::build(Some(O::ID), e.to_string()))?;
        let mut query = Vec::new();
        input.query.pairs(&mut query);
        let json = HeaderValue::from_static("application/json");
        let (body, content_type) = match O::REQUEST_CONTENT {
            RequestContent::None => (Bytes::new(), json),
            RequestContent::Json => (
                Bytes::from(
                    serde_json::to_vec(&input.body)
                        .map_err(|e| Error::build(Some(O::ID), format!("body: {e}")))?,
                ),
                json,
            ),
            RequestContent::MultipartFormData => {
                let parts = O::form_parts(&input.body)
                    .map_err(|e| Error::build(Some(O::ID), format!("body: {e}")))?;
                let form = multipart::encode(&parts, multipart::os_random)
                    .map_err(|e| Error::build(Some(O::ID), format!("body: {e}")))?;
                let content_type = HeaderValue::from_str(&form.content_type)
                    .map_err(|e| Error::build(Some(O::ID), format!("body: {e}")))?;
                (Bytes::from(form.body), content_type)
            }
        };
        self.prepare_parts(
            endpoint,
            O::ID,
            &path,
            &query,
            (body, content_type),
            client_id,
        )
    }

    fn prepare_parts(
        &self,
        endpoint: &Endpoint,
        id: OperationId,
        path: &str,
        query: &[(&str, String)],
        (body, content_type): (Bytes, HeaderValue),
        client_id: Option<&str>,
    ) -> Result<Prepared, Error> {
        let mut uri = String::with_capacity(128);
        uri.push_str(&self.inner.base.origin);
        uri.push_str(&self.inner.base.prefix);
        uri.push_str(path);
        for (i, (name, value)) in query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(name);
            uri.push('=');
            hercle_models::operation::encode_component(value, &mut uri);
        }
        let uri: hyper::Uri = uri
            .parse()
            .map_err(|e| Error::build(Some(id), format!("URL: {e}")))?;
        let method = match endpoint.method {
            HttpMethod::Get => hyper::Method::GET,
            HttpMethod::Post => hyper::Method::POST,
            HttpMethod::Put => hyper::Method::PUT,
            HttpMethod::Delete => hyper::Method::DELETE,
            _ => return Err(Error::build(Some(id), "unsupported method")),
        };
        let client_id = match client_id {
            Some(value) => Some(
                HeaderValue::from_str(value)
                    .map_err(|_| Error::build(Some(id), "Client-Id is not a header value"))?,
            ),
            None => None,
        };
        let safe_to_repeat =
            matches!(endpoint.method, HttpMethod::Get | HttpMethod::Delete) || client_id.is_some();
        Ok(Prepared {
            method,
            uri,
            body,
            content_type,
            client_id,
            safe_to_repeat,
        })
    }

    async fn run<T>(
        &self,
        endpoint: &Endpoint,
        id: OperationId,
        prepared: &Prepared,
        options: CallOptions,
        span: tracing::Span,
        interpret: impl Fn(Answer) -> Result<T, (Error, Failure)>,
    ) -> Result<T, Error> {
        let timeout = options.timeout.unwrap_or(self.inner.request_timeout);
        let started = tokio::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            let result = match self.send(prepared, timeout).await {
                Ok(answer) => {
                    span.record("status", answer.status);
                    interpret(answer)
                }
                Err(e) => Err(e),
            };
            let (mut error, failure) = match result {
                Ok(value) => {
                    lock(&self.inner.budget).refund();
                    span.record(
                        "latency_us",
                        u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    );
                    return Ok(value);
                }
                Err(e) => e,
            };
            let random = lock(&self.inner.jitter).next();
            let decision = retry::decide(
                &self.inner.retry,
                &mut lock(&self.inner.budget),
                attempt,
                failure,
                prepared.safe_to_repeat,
                random,
            );
            match decision {
                Decision::RetryAfter(delay) => {
                    tracing::debug!(attempt, delay_ms = delay.as_millis(), error = %error, "retrying");
                    tokio::time::sleep(delay).await;
                }
                Decision::GiveUp(reason) => {
                    span.record(
                        "latency_us",
                        u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    );
                    tracing::debug!(attempt, ?reason, "giving up");
                    error.attempts = attempt;
                    error.operation = Some(id);
                    error.client_id = options.client_id.filter(|_| endpoint.idempotent);
                    return Err(error);
                }
            }
        }
    }

    async fn send(&self, p: &Prepared, timeout: Duration) -> Result<Answer, (Error, Failure)> {
        let mut req = hyper::Request::builder()
            .method(p.method.clone())
            .uri(p.uri.clone())
            .header(header::AUTHORIZATION, self.inner.auth.clone())
            .header(header::ACCEPT, HeaderValue::from_static("application/json"))
            .header(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"))
            .header(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("hercle-rs/", env!("CARGO_PKG_VERSION"))),
            )
            .header(header::CONTENT_TYPE, p.content_type.clone());
        if let Some(id) = &p.client_id {
            req = req.header("client-id", id.clone());
        }
        let req = req
            .body(Full::new(p.body.clone()))
            .map_err(|e| (Error::build(None, e.to_string()), Failure::Final))?;
        let max = self.inner.max_body_bytes;
        let exchange = async {
            let resp = self.inner.http.request(req).await.map_err(classify)?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let gzip = resp
                .headers()
                .get(header::CONTENT_ENCODING)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
            let outcome = if (200..300).contains(&status) {
                Outcome::Processed
            } else {
                Outcome::Unknown
            };
            let body = Limited::new(resp.into_body(), max)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        (
                            Error::new(None, ErrorKind::BodyTooLarge(max), outcome),
                            Failure::Final,
                        )
                    } else {
                        (
                            Error::new(
                                None,
                                ErrorKind::Connection(e.to_string()),
                                Outcome::Unknown,
                            ),
                            Failure::AfterWrite,
                        )
                    }
                })?
                .to_bytes();
            let body = if gzip {
                gunzip(&body, max, outcome)?
            } else {
                body
            };
            Ok(Answer {
                status,
                retry_after,
                body,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err((
                Error::new(None, ErrorKind::Timeout(timeout), Outcome::Unknown),
                Failure::AfterWrite,
            )),
        }
    }
}

/// Sorts a transport error: connect (nothing sent), TLS, or lost after sending.
fn classify(e: hyper_util::client::legacy::Error) -> (Error, Failure) {
    let mut tls = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = source {
        tls |= s.is::<rustls::Error>();
        source = s.source();
    }
    let text = error_chain(&e);
    if e.is_connect() {
        let kind = if tls {
            ErrorKind::Tls(text)
        } else {
            ErrorKind::Connect(text)
        };
        (
            Error::new(None, kind, Outcome::NotSent),
            Failure::ConnectBeforeWrite,
        )
    } else {
        (
            Error::new(None, ErrorKind::Connection(text), Outcome::Unknown),
            Failure::AfterWrite,
        )
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn gunzip(body: &[u8], max: usize, outcome: Outcome) -> Result<Bytes, (Error, Failure)> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| {
            (
                Error::new(None, ErrorKind::Connection(format!("gzip: {e}")), outcome),
                Failure::Final,
            )
        })?;
    if out.len() > max {
        return Err((
            Error::new(None, ErrorKind::BodyTooLarge(max), outcome),
            Failure::Final,
        ));
    }
    Ok(Bytes::from(out))
}

/// Turns a complete answer into the operation's response or an error.
fn interpret<O: Operation>(a: Answer) -> Result<O::Response, (Error, Failure)> {
    let status = a.status;
    let body = interpret_raw(O::ID, a, O::EMPTY_BODY_OK)?;
    hercle_models::decode::<O::Response>(&body).map_err(|error| {
        (
            Error::new(
                Some(O::ID),
                ErrorKind::Decode { status, error },
                Outcome::Processed,
            ),
            Failure::Final,
        )
    })
}

/// The checks every answer goes through before decoding: an error status
/// with its parsed body, or an in-band failure on a 2xx. Answers the body
/// (`null` for an empty body where the operation allows one).
fn interpret_raw(id: OperationId, a: Answer, empty_ok: bool) -> Result<Bytes, (Error, Failure)> {
    let status = a.status;
    if !(200..300).contains(&status) {
        let body = hercle_models::decode::<hercle_models::ErrorBody>(&a.body).ok();
        let outcome = match status {
            429 | 503 => Outcome::Rejected,
            500..=599 => Outcome::Unknown,
            _ => Outcome::Rejected,
        };
        return Err((
            Error::new(
                Some(id),
                ErrorKind::Status {
                    status,
                    body,
                    retry_after: a.retry_after,
                },
                outcome,
            ),
            Failure::Status(status, a.retry_after),
        ));
    }
    let body = if empty_ok && a.body.trim_ascii().is_empty() {
        Bytes::from_static(b"null")
    } else {
        a.body
    };
    if let Some((http_status_code, message)) = in_band_failure(&body) {
        return Err((
            Error::new(
                Some(id),
                ErrorKind::InBand {
                    status,
                    http_status_code,
                    message,
                },
                Outcome::Processed,
            ),
            Failure::Final,
        ));
    }
    Ok(body)
}

/// The in-band failure a 2xx body may report (quirk 13): `httpStatusCode`
/// outside 2xx, or `status` 2 with a `statusError` (a rejected order).
fn in_band_failure(body: &[u8]) -> Option<(Option<i64>, Option<String>)> {
    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }
    // Only objects can carry the fields; skip the parse when neither name occurs.
    if body.trim_ascii_start().first() != Some(&b'{')
        || !(contains(body, b"httpStatusCode") || contains(body, b"statusError"))
    {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Fields {
        #[serde(rename = "httpStatusCode", default)]
        http_status_code: Option<i64>,
        #[serde(default)]
        status: Option<Box<serde_json::value::RawValue>>,
        #[serde(rename = "statusError", default)]
        status_error: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let f: Fields = serde_json::from_slice(body).ok()?;
    if let Some(code) = f.http_status_code
        && !(200..300).contains(&code)
    {
        return Some((Some(code), f.message.or(f.status_error)));
    }
    let rejected = f.status.as_ref().is_some_and(|s| s.get().trim() == "2");
    match f.status_error {
        Some(e) if rejected && !e.is_empty() => Some((None, Some(e))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn in_band_failures() {
        assert_eq!(
            in_band_failure(br#"{"status":2,"statusError":"insufficient funds","price":1.5}"#),
            Some((None, Some("insufficient funds".into())))
        );
        assert_eq!(
            in_band_failure(br#"{"httpStatusCode":400,"message":"bad address"}"#),
            Some((Some(400), Some("bad address".into())))
        );
        assert_eq!(
            in_band_failure(br#"{"httpStatusCode":201,"message":"ok"}"#),
            None
        );
        assert_eq!(in_band_failure(br#"{"status":1,"statusError":""}"#), None);
        assert_eq!(in_band_failure(br#"{"status":2,"statusError":null}"#), None);
        assert_eq!(
            in_band_failure(br#"[{"status":2,"statusError":"x"}]"#),
            None
        );
    }

    #[test]
    fn base_urls() {
        let ok = |u: &str| BaseUrl::parse(u).unwrap();
        assert_eq!(
            ok("https://publicapi.hercle.financial/").origin,
            "https://publicapi.hercle.financial"
        );
        let b = ok("http://127.0.0.1:8080/prefix/");
        assert_eq!(
            (b.origin.as_str(), b.prefix.as_str()),
            ("http://127.0.0.1:8080", "/prefix")
        );
        assert!(BaseUrl::parse("http://example.com").is_err());
        assert!(BaseUrl::parse("ftp://127.0.0.1").is_err());
        assert!(BaseUrl::parse("not a url").is_err());
    }

    #[test]
    fn the_key_never_shows() {
        let client = Client::builder()
            .api_key("super-secret-key")
            .base_url("http://127.0.0.1:1")
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains("super-secret"));
        let builder = Client::builder().api_key("super-secret-key");
        assert!(!format!("{builder:?}").contains("super-secret"));
    }

    #[test]
    fn environment_and_presets() {
        let vars = |n: &str| match n {
            "HERCLE_API_KEY" => Some("k".to_owned()),
            "HERCLE_BASE_URL" => Some("http://localhost:9/".to_owned()),
            _ => None,
        };
        let c = Client::builder().from_vars(vars).build().unwrap();
        assert_eq!(c.base_url(), "http://localhost:9");
        let c = Client::builder().sandbox().from_vars(vars).build().unwrap();
        assert_eq!(c.base_url(), ops::SERVER_SANDBOX);
        let c = Client::builder().api_key("k").build().unwrap();
        assert_eq!(c.base_url(), ops::SERVER_PRODUCTION);
        let e = Client::builder().from_vars(|_| None).build().unwrap_err();
        assert_eq!(e.outcome(), Outcome::NotSent);
        assert!(e.to_string().contains("API key"));
    }
}
