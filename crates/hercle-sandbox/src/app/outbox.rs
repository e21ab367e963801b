//! The webhook outbox: what a delivery needs besides HTTP. Business events
//! queue in the exchange model (`State::events`); the outbox holds the
//! signing key (and the public key receivers verify with), the endpoints,
//! the retry schedule and the delivery log.

use base64::Engine as _;
use hercle_webhooks::{Signer, SigningKey};
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;

/// The bundled, published, test-only signing key (see `keys/README.md`).
const BUNDLED_KEY: &str = include_str!("../../keys/sandbox-webhook-signing-key.pem");

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

/// The webhook outbox: the signing key, the endpoints, the retry
/// schedule and the log of every delivery attempt. The HTTP that carries a
/// delivery is the webhooks adapter's.
pub(crate) struct Outbox {
    signer: Signer,
    public_pem: String,
    pub(crate) urls: Mutex<Vec<String>>,
    log: Mutex<Vec<Delivery>>,
    /// Count of attempts logged so far, for tests that wait on deliveries.
    logged: tokio::sync::watch::Sender<usize>,
    pub(crate) retry: Vec<Duration>,
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

impl Outbox {
    pub(crate) fn new(
        key_pem: Option<&str>,
        urls: Vec<String>,
        retry: Vec<Duration>,
    ) -> Result<Outbox, hercle_webhooks::KeyError> {
        let key = SigningKey::from_pem(key_pem.unwrap_or(BUNDLED_KEY))?;
        let public_pem = pem("PUBLIC KEY", &spki(key.public_key().pkcs1_der()));
        Ok(Outbox {
            signer: Signer::new(key),
            public_pem,
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

    /// Every attempt so far.
    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.log).clone()
    }

    /// Watches the number of attempts logged.
    pub(crate) fn watch(&self) -> tokio::sync::watch::Receiver<usize> {
        self.logged.subscribe()
    }

    /// Logs one attempt and wakes the watchers.
    pub(crate) fn record(&self, d: Delivery) {
        let mut log = lock(&self.log);
        if log.len() >= LOG_LIMIT {
            log.remove(0);
        }
        log.push(d);
        drop(log);
        self.logged.send_modify(|n| *n += 1);
    }

    /// The documented signature headers for `body`.
    pub(crate) fn sign(
        &self,
        body: &[u8],
    ) -> Result<hercle_webhooks::SignedHeaders, hercle_webhooks::SignError> {
        self.signer.sign(body)
    }

    /// Adds an endpoint.
    pub(crate) fn add_url(&self, url: &str) {
        lock(&self.urls).push(url.to_owned());
    }

    /// The endpoints now.
    pub(crate) fn urls(&self) -> Vec<String> {
        lock(&self.urls).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_public_key_is_the_bundled_spki_pem() {
        let outbox = Outbox::new(None, Vec::new(), Vec::new()).unwrap();
        let bundled = include_str!("../../keys/sandbox-webhook-public-key.pem");
        assert_eq!(outbox.public_key_pem().trim(), bundled.trim());
    }
}
