//! Webhook delivery: business events from the account model, wrapped in the
//! documented PascalCase envelope, signed with the documented scheme, POSTed
//! to every configured URL, retried with backoff on anything but 2xx, and
//! logged.

use crate::server::Shared;
use base64::Engine as _;
use bytes::Bytes;
use hercle_models::{EmbeddedJson, Timestamp, WebhookEnvelope};
use hercle_webhooks::{Signer, SigningKey};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The bundled, published, test-only signing key (see `keys/README.md`).
const BUNDLED_KEY: &str = include_str!("../keys/sandbox-webhook-signing-key.pem");

/// Most log entries kept; older ones are dropped first.
const LOG_LIMIT: usize = 10_000;

/// One delivery attempt, as the admin API lists it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Delivery {
    /// `X-Webhook-Id` of the attempt.
    pub webhook_id: String,
    /// `EventId` of the envelope.
    pub event_id: String,
    /// `EventType` of the envelope.
    pub event_type: String,
    /// Target URL.
    pub url: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// HTTP status answered, if any.
    pub status: Option<u16>,
    /// Transport error, if any.
    pub error: Option<String>,
}

pub(crate) struct Sender {
    signer: Signer,
    public_pem: String,
    client: Client<HttpConnector, Full<Bytes>>,
    pub(crate) urls: Mutex<Vec<String>>,
    log: Mutex<Vec<Delivery>>,
    /// Count of attempts logged so far, for tests that wait on deliveries.
    logged: tokio::sync::watch::Sender<usize>,
    retry: Vec<Duration>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// DER length octets.
fn der_len(len: usize, out: &mut Vec<u8>) {
    match len {
        0..0x80 => out.push(u8::try_from(len).unwrap_or(0)),
        0x80..0x100 => out.extend([0x81, u8::try_from(len).unwrap_or(0)]),
        _ => out.extend([
            0x82,
            u8::try_from(len >> 8).unwrap_or(0),
            u8::try_from(len & 0xff).unwrap_or(0),
        ]),
    }
}

/// Wraps a PKCS#1 RSA public key in SubjectPublicKeyInfo, the `BEGIN PUBLIC
/// KEY` form HercleX hands its customers.
fn spki(pkcs1: &[u8]) -> Vec<u8> {
    const RSA_ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0x03];
    der_len(pkcs1.len() + 1, &mut bits);
    bits.push(0);
    bits.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    der_len(RSA_ALGORITHM.len() + bits.len(), &mut out);
    out.extend_from_slice(&RSA_ALGORITHM);
    out.extend_from_slice(&bits);
    out
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl Sender {
    pub(crate) fn new(
        key_pem: Option<&str>,
        urls: Vec<String>,
        retry: Vec<Duration>,
    ) -> Result<Sender, hercle_webhooks::KeyError> {
        let key = SigningKey::from_pem(key_pem.unwrap_or(BUNDLED_KEY))?;
        let public_pem = pem("PUBLIC KEY", &spki(key.public_key().pkcs1_der()));
        Ok(Sender {
            signer: Signer::new(key),
            public_pem,
            client: Client::builder(TokioExecutor::new()).build_http(),
            urls: Mutex::new(urls),
            log: Mutex::new(Vec::new()),
            logged: tokio::sync::watch::channel(0).0,
            retry,
        })
    }

    /// The public key receivers verify with (SubjectPublicKeyInfo PEM).
    pub(crate) fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.log).clone()
    }

    /// Watches the number of attempts logged.
    pub(crate) fn watch(&self) -> tokio::sync::watch::Receiver<usize> {
        self.logged.subscribe()
    }

    fn record(&self, d: Delivery) {
        let mut log = lock(&self.log);
        if log.len() >= LOG_LIMIT {
            log.remove(0);
        }
        log.push(d);
        drop(log);
        self.logged.send_modify(|n| *n += 1);
    }

    /// One POST; `Ok(status)` or a transport error.
    async fn post(&self, url: &str, body: &Bytes) -> (String, Result<u16, String>) {
        let headers = match self.signer.sign(body) {
            Ok(h) => h,
            Err(e) => return (String::new(), Err(e.to_string())),
        };
        let mut req = hyper::Request::post(url).header("content-type", "application/json");
        for (k, v) in headers.pairs() {
            req = req.header(k, v);
        }
        let result = match req.body(Full::new(body.clone())) {
            Err(e) => Err(e.to_string()),
            Ok(req) => {
                match tokio::time::timeout(Duration::from_secs(10), self.client.request(req)).await
                {
                    Err(_) => Err("timed out after 10 s".to_owned()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Ok(Ok(resp)) => Ok(resp.status().as_u16()),
                }
            }
        };
        (headers.webhook_id, result)
    }

    /// Delivers one envelope to one URL, retrying on failure.
    async fn deliver(
        self: Arc<Self>,
        url: String,
        event_id: String,
        event_type: String,
        body: Bytes,
        twice: bool,
    ) {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let copies = if twice { 2 } else { 1 };
            let mut ok = false;
            for _ in 0..copies {
                let (webhook_id, result) = self.post(&url, &body).await;
                let (status, error) = match result {
                    Ok(s) => (Some(s), None),
                    Err(e) => (None, Some(e)),
                };
                ok = status.is_some_and(|s| (200..300).contains(&s));
                self.record(Delivery {
                    webhook_id,
                    event_id: event_id.clone(),
                    event_type: event_type.clone(),
                    url: url.clone(),
                    attempt,
                    status,
                    error,
                });
            }
            let Some(wait) = self
                .retry
                .get(usize::try_from(attempt - 1).unwrap_or(usize::MAX))
                .copied()
            else {
                break;
            };
            if ok {
                break;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// Takes new events from the account model every `poll` and delivers them.
pub(crate) async fn run(shared: Arc<Shared>, poll: Duration) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let urls = lock(&shared.webhooks.urls).clone();
        let (events, now, twice) = {
            let mut state = shared.state();
            state.advance_statuses();
            let events: Vec<_> = state.events.drain(..).collect();
            let ids: Vec<String> = events
                .iter()
                .map(|_| format!("evt_{}", state.new_id().replace('-', "")))
                .collect();
            (
                events.into_iter().zip(ids).collect::<Vec<_>>(),
                state.now(),
                shared.faults().webhook_duplicates,
            )
        };
        if urls.is_empty() {
            continue;
        }
        for (event, event_id) in events {
            let envelope = WebhookEnvelope {
                event_id: Some(event_id.clone()),
                event_type: Some(event.event_type.clone()),
                timestamp: Some(Timestamp::from(now)),
                // Documented as a JSON-encoded string (quirk 11).
                data: EmbeddedJson::encode_as_string(&event.data).ok(),
                ..Default::default()
            };
            let Ok(body) = serde_json::to_vec(&envelope) else {
                continue;
            };
            let body = Bytes::from(body);
            for url in &urls {
                let sender = Arc::clone(&shared.webhooks);
                tokio::spawn(sender.deliver(
                    url.clone(),
                    event_id.clone(),
                    event.event_type.as_str().to_owned(),
                    body.clone(),
                    twice,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_public_key_is_the_bundled_spki_pem() {
        let sender = Sender::new(None, Vec::new(), Vec::new()).unwrap();
        let bundled = include_str!("../keys/sandbox-webhook-public-key.pem");
        assert_eq!(sender.public_key_pem().trim(), bundled.trim());
    }
}
