//! The application: one sandbox's state behind its locks, shared by every
//! connection and every transport. It authenticates, rate-limits, keeps
//! the idempotency cache, the armed faults and the webhook outbox, and
//! hands the exchange model ([`crate::domain`]) out under its lock. No
//! hyper type appears here: the adapters turn a [`Reply`] into HTTP.

pub(crate) mod faults;
mod limiter;
pub(crate) mod outbox;

use crate::config::Config;
use crate::domain::error::{ApiError, ErrorKind};
use crate::domain::state::State;
use faults::{Faults, HubFault};
use limiter::Limiter;
use outbox::Outbox;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// An answer before a transport writes it: status, JSON body, headers.
/// What the idempotency cache stores and replays.
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
}

/// State shared by every connection.
pub(crate) struct App {
    pub(crate) config: Config,
    state: Mutex<State>,
    pub(crate) faults: Mutex<Faults>,
    limiter: Mutex<Limiter>,
    idempotency: Mutex<HashMap<String, (Instant, Reply)>>,
    /// Webhook signing, endpoints and delivery log.
    pub(crate) outbox: Outbox,
    /// Hub faults, broadcast to every live hub connection.
    pub(crate) hub_faults: tokio::sync::broadcast::Sender<HubFault>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock must not take the sandbox down with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl App {
    pub(crate) fn new(config: Config) -> Result<Arc<Self>, hercle_webhooks::KeyError> {
        let outbox = Outbox::new(
            config
                .webhook_signing_key_pem
                .as_ref()
                .map(|k| k.0.as_str()),
            config.webhook_urls.clone(),
            config.webhook_retry.clone(),
        )?;
        Ok(Arc::new(App {
            outbox,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RateLimit;

    #[tokio::test(start_paused = true)]
    async fn rate_limit_is_a_token_bucket_per_key() {
        let shared = App::new(Config {
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
        let shared = App::new(Config::default()).unwrap();
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
        let shared = App::new(Config::default()).unwrap();
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
        let shared = App::new(Config::default()).unwrap();
        let err = shared.authenticate(Some("Bearer secret-123")).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("secret-123"));
        assert_eq!(
            shared.authenticate(Some("Bearer sandbox-key")).unwrap(),
            "sandbox-key"
        );
    }
}
