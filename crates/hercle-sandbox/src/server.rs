//! One HTTP listener serving REST (`/api/v1/...`), the hub
//! (`/ExecutionLiveServer/v1...`) and the admin API (`/_sandbox/...`).

use crate::config::{Config, RateLimit};
use crate::error::{ApiError, ErrorKind};
use crate::faults::Faults;
use crate::state::State;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// A response before it becomes hyper's.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Reply {
        Reply {
            status,
            body: serde_json::to_vec(value).unwrap_or_default(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn into_response(self) -> Response<crate::hub::Body> {
        let mut b = Response::builder().status(self.status);
        if !self.headers.iter().any(|(k, _)| *k == "content-type") {
            b = b.header("content-type", "application/json; charset=utf-8");
        }
        for (k, v) in &self.headers {
            b = b.header(*k, v);
        }
        b.body(Full::new(Bytes::from(self.body)).boxed())
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
    }
}

/// One token, in the micro-tokens the buckets count in: integer arithmetic
/// keeps refills exact at any rate without floats.
const TOKEN: u64 = 1_000_000;

/// A token bucket per key, on tokio time: `burst` tokens at most, refilled
/// at `per_second`.
#[derive(Default)]
struct Limiter {
    buckets: HashMap<String, (u64, Instant)>,
}

impl Limiter {
    /// Takes one token for `key`, or says how long until one is there.
    fn take(&mut self, key: &str, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let capacity = u64::from(limit.burst.max(1)) * TOKEN;
        let rate = u64::from(limit.per_second.max(1));
        let (tokens, since) = self
            .buckets
            .entry(key.to_owned())
            .or_insert((capacity, now));
        let elapsed = u64::try_from(now.duration_since(*since).as_micros()).unwrap_or(u64::MAX);
        // micro-tokens gained = elapsed µs × rate tokens/s.
        *tokens = tokens
            .saturating_add(elapsed.saturating_mul(rate))
            .min(capacity);
        *since = now;
        if *tokens >= TOKEN {
            *tokens -= TOKEN;
            return Ok(());
        }
        Err(Duration::from_micros((TOKEN - *tokens).div_ceil(rate)))
    }
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<State>,
    pub(crate) faults: Mutex<Faults>,
    limiter: Mutex<Limiter>,
    idempotency: Mutex<HashMap<String, (Instant, Reply)>>,
    /// Live and negotiated hub connections.
    pub(crate) hub: crate::hub::registry::Registry,
    /// Webhook signing, delivery and log.
    pub(crate) webhooks: Arc<crate::webhooks::Sender>,
    /// Hub faults, broadcast to every live hub connection.
    pub(crate) hub_faults: tokio::sync::broadcast::Sender<crate::faults::HubFault>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock must not take the sandbox down with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: Config) -> Result<Arc<Self>, hercle_webhooks::KeyError> {
        let webhooks = crate::webhooks::Sender::new(
            config
                .webhook_signing_key_pem
                .as_ref()
                .map(|k| k.0.as_str()),
            config.webhook_urls.clone(),
            config.webhook_retry.clone(),
        )?;
        Ok(Arc::new(Shared {
            webhooks: Arc::new(webhooks),
            hub: crate::hub::registry::Registry::new(),
            state: Mutex::new(State::new(config.clone())),
            faults: Mutex::new(Faults::default()),
            limiter: Mutex::new(Limiter::default()),
            idempotency: Mutex::new(HashMap::new()),
            hub_faults: tokio::sync::broadcast::channel(64).0,
            config,
        }))
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Checks `Authorization: Bearer <key>` and returns the key.
    pub(crate) fn authenticate(&self, header: Option<&str>) -> Result<String, ApiError> {
        let unauthenticated = |code, message: &str| ApiError {
            kind: ErrorKind::Unauthenticated,
            code,
            message: message.to_owned(),
            param: None,
        };
        let Some(header) = header else {
            return Err(unauthenticated(
                "authentication_required",
                "No API key provided",
            ));
        };
        let Some(token) = header.strip_prefix("Bearer ") else {
            return Err(unauthenticated(
                "invalid_api_key",
                "The Authorization header must be 'Bearer <API key>'",
            ));
        };
        self.authenticate_token(token)
    }

    /// Checks a bare token (the hub's `access_token`).
    pub(crate) fn authenticate_token(&self, token: &str) -> Result<String, ApiError> {
        match self.config.api_keys.iter().find(|k| k.key == token.trim()) {
            // The key itself is never echoed back.
            None => Err(ApiError {
                kind: ErrorKind::Unauthenticated,
                code: "invalid_api_key",
                message: "Invalid API key provided".to_owned(),
                param: None,
            }),
            Some(k) if !k.kyc_approved => Err(ApiError {
                kind: ErrorKind::Forbidden,
                code: "insufficient_permissions",
                message: "KYC is not approved for this account".to_owned(),
                param: None,
            }),
            Some(k) => Ok(k.key.clone()),
        }
    }

    /// Takes a request token for `key`; on refusal the error carries how
    /// long until the next token (for `Retry-After`).
    pub(crate) fn rate_limit(&self, key: &str) -> Result<(), (ApiError, Duration)> {
        let Some(limit) = self.config.rate_limit else {
            return Ok(());
        };
        lock(&self.limiter)
            .take(key, limit, Instant::now())
            .map_err(|wait| {
                let err = ApiError {
                    kind: ErrorKind::RateLimited,
                    code: "rate_limit_exceeded",
                    message: "Too many requests".to_owned(),
                    param: None,
                };
                (err, wait)
            })
    }

    /// Runs `execute` at most once per idempotency key `k` within the
    /// window: a repeat, or a request arriving while the first is still
    /// executing, gets the stored 2xx reply (marked as a replay) instead.
    /// Check, execution and store happen under one lock, so concurrent
    /// identical requests cannot both execute; non-2xx replies are not
    /// stored, as the API documents, so those may be retried.
    pub(crate) fn idempotent(&self, k: String, execute: impl FnOnce() -> Reply) -> Reply {
        let mut cache = lock(&self.idempotency);
        let window = self.config.idempotency_window;
        cache.retain(|_, (at, _)| at.elapsed() < window);
        if let Some((_, reply)) = cache.get(&k) {
            let mut replay = reply.clone();
            replay
                .headers
                .push(("x-sandbox-idempotent-replay", "true".to_owned()));
            return replay;
        }
        let reply = execute();
        if (200..300).contains(&reply.status) {
            cache.insert(k, (Instant::now(), reply.clone()));
        }
        reply
    }
}

/// Decoded query parameters, first occurrence wins.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Query {
        let pairs = query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Query(pairs)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes one path segment: like [`percent_decode`] but `+` stays a plus
/// (only forms turn it into a space), so `+01:00` offsets and `1e+8` survive.
pub(crate) fn path_decode(s: &str) -> String {
    percent_decode(&s.replace('+', "%2B"))
}

/// `application/x-www-form-urlencoded` decoding; malformed escapes are kept
/// as they are rather than rejected (a bad token then simply fails auth).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match b {
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    // Two hex digits: at most 255.
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Serves one HTTP request.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<crate::hub::Body>, DroppedResponse> {
    let path = req.uri().path().to_owned();
    if path.starts_with("/ExecutionLiveServer/v1") {
        return Ok(crate::hub::serve(shared, req).await);
    }
    let method = req.method().as_str().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let client_id = header("client-id");
    let content_type = header("content-type");
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(crate::rest::error_reply(&ApiError::invalid(
                "body",
                "Request body too large or unreadable",
            ))
            .into_response());
        }
    };
    if let Some(admin) = path.strip_prefix("/_sandbox/") {
        return Ok(crate::admin::handle(&shared, &method, admin, &body).into_response());
    }
    // Bound first: the guard must not live across the await below.
    let fault = shared.faults().take_rest_fault();
    if let Some(fault) = fault {
        if let Some(delay) = fault.delay {
            tokio::time::sleep(delay).await;
        }
        if let Some(status) = fault.status {
            let err = ApiError {
                kind: if status == 429 {
                    ErrorKind::RateLimited
                } else {
                    ErrorKind::Server(status)
                },
                code: if status == 429 {
                    "rate_limit_exceeded"
                } else {
                    "injected_fault"
                },
                message: format!("Injected fault: HTTP {status}"),
                param: None,
            };
            return Ok(crate::rest::error_reply(&err).into_response());
        }
    }
    let reply = crate::rest::handle(
        &shared,
        &crate::rest::RestRequest {
            method: &method,
            path: &path,
            query: &query,
            authorization: authorization.as_deref(),
            client_id: client_id.as_deref(),
            content_type: content_type.as_deref(),
            body: &body,
        },
    );
    // Bound first: the guard must not be held when returning.
    let drop_it = shared.faults().take_drop_response();
    if drop_it {
        return Err(DroppedResponse);
    }
    Ok(reply.into_response())
}

/// The injected "processed, then the connection dropped" fault: returning
/// it from the service makes hyper close the connection without writing an
/// answer.
#[derive(Debug)]
pub(crate) struct DroppedResponse;

impl std::fmt::Display for DroppedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response dropped by an injected fault")
    }
}

impl std::error::Error for DroppedResponse {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rate_limit_is_a_token_bucket_per_key() {
        let shared = Shared::new(Config {
            rate_limit: Some(RateLimit {
                per_second: 2,
                burst: 5,
            }),
            ..Config::default()
        })
        .unwrap();
        for _ in 0..5 {
            assert!(shared.rate_limit("a").is_ok(), "the burst");
        }
        let (err, wait) = shared.rate_limit("a").unwrap_err();
        assert_eq!(err.status(), 429);
        assert_eq!(wait, Duration::from_millis(500), "one token at 2/s");
        assert!(shared.rate_limit("b").is_ok(), "per key");
        // The sustained rate, not the burst, refills: half a second buys one.
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(shared.rate_limit("a").is_ok());
        assert!(shared.rate_limit("a").is_err());
        // A long pause refills up to the burst and no further.
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..5 {
            assert!(shared.rate_limit("a").is_ok());
        }
        assert!(shared.rate_limit("a").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn idempotency_window_expires() {
        let shared = Shared::new(Config::default()).unwrap();
        let mut runs = 0;
        let mut run = || {
            runs += 1;
            Reply::json(201, &"x")
        };
        assert!(shared.idempotent("k".into(), &mut run).headers.is_empty());
        let replay = shared.idempotent("k".into(), &mut run);
        assert_eq!(replay.status, 201);
        assert!(!replay.headers.is_empty(), "marked as a replay");
        tokio::time::advance(Duration::from_secs(6 * 3600)).await;
        shared.idempotent("k".into(), &mut run);
        assert_eq!(runs, 2, "executed again once the window passed");
    }

    #[test]
    fn failed_replies_are_not_replayed() {
        let shared = Shared::new(Config::default()).unwrap();
        let mut runs = 0;
        for _ in 0..2 {
            shared.idempotent("k".into(), || {
                runs += 1;
                Reply::json(400, &"bad")
            });
        }
        assert_eq!(runs, 2);
    }

    #[test]
    fn authentication_never_echoes_the_key() {
        let shared = Shared::new(Config::default()).unwrap();
        let err = shared.authenticate(Some("Bearer secret-123")).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("secret-123"));
        assert_eq!(
            shared.authenticate(Some("Bearer sandbox-key")).unwrap(),
            "sandbox-key"
        );
    }
}
