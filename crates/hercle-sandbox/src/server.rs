//! One HTTP listener serving REST (`/api/v1/...`), the hub
//! (`/ExecutionLiveServer/v1...`) and the admin API (`/_sandbox/...`).

use crate::config::Config;
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

    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let mut b = Response::builder().status(self.status);
        if !self.headers.iter().any(|(k, _)| *k == "content-type") {
            b = b.header("content-type", "application/json; charset=utf-8");
        }
        for (k, v) in &self.headers {
            b = b.header(*k, v);
        }
        b.body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }
}

/// Requests per key in the current one-second window, on tokio time.
#[derive(Default)]
struct Limiter {
    buckets: HashMap<String, (u32, Instant)>,
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

    pub(crate) fn rate_limit(&self, key: &str) -> Result<(), ApiError> {
        let Some(limit) = self.config.rate_limit else {
            return Ok(());
        };
        let mut limiter = lock(&self.limiter);
        let now = Instant::now();
        let window = Duration::from_secs(1);
        let (used, since) = limiter.buckets.entry(key.to_owned()).or_insert((0, now));
        // Fixed one-second windows, `burst` requests each (`per_second`
        // is the sustained rate the window refills to).
        if now.duration_since(*since) >= window {
            *used = 0;
            *since = now;
        }
        if *used >= limit.burst.max(limit.per_second) {
            return Err(ApiError {
                kind: ErrorKind::RateLimited,
                code: "rate_limit_exceeded",
                message: "Too many requests".to_owned(),
                param: None,
            });
        }
        *used += 1;
        Ok(())
    }

    pub(crate) fn idempotent_replay(&self, k: &str) -> Option<Reply> {
        let mut cache = lock(&self.idempotency);
        let window = self.config.idempotency_window;
        cache.retain(|_, (at, _)| at.elapsed() < window);
        cache.get(k).map(|(_, r)| r.clone())
    }

    pub(crate) fn remember_idempotent(&self, k: String, reply: &Reply) {
        lock(&self.idempotency).insert(k, (Instant::now(), reply.clone()));
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
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
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
            body: &body,
        },
    );
    Ok(reply.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RateLimit;

    #[tokio::test(start_paused = true)]
    async fn rate_limit_per_key_and_window() {
        let shared = Shared::new(Config {
            rate_limit: Some(RateLimit {
                per_second: 3,
                burst: 3,
            }),
            ..Config::default()
        })
        .unwrap();
        for _ in 0..3 {
            assert!(shared.rate_limit("a").is_ok());
        }
        assert_eq!(shared.rate_limit("a").unwrap_err().status(), 429);
        assert!(shared.rate_limit("b").is_ok(), "per key");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(shared.rate_limit("a").is_ok(), "a new window");
    }

    #[tokio::test(start_paused = true)]
    async fn idempotency_window_expires() {
        let shared = Shared::new(Config::default()).unwrap();
        shared.remember_idempotent("k".into(), &Reply::json(201, &"x"));
        assert!(shared.idempotent_replay("k").is_some());
        tokio::time::advance(Duration::from_secs(6 * 3600)).await;
        assert!(shared.idempotent_replay("k").is_none());
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
