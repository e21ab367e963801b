//! Producing webhook headers that this crate's verifier and the docs' samples accept.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::clock::{Clock, SystemClock};
use crate::keys::{SignError, SigningKey};
use crate::verify::{Scheme, digest_m, message};

/// Headers for one signed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-Webhook-Timestamp` value.
    pub timestamp: String,
    /// `X-Webhook-Signature` value (standard Base64).
    pub signature: String,
    /// `X-Webhook-Id` value (random delivery id).
    pub webhook_id: String,
}

impl SignedHeaders {
    /// The three headers as (name, value) pairs, canonical capitalisation.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            ("X-Webhook-Timestamp", self.timestamp.as_str()),
            ("X-Webhook-Signature", self.signature.as_str()),
            ("X-Webhook-Id", self.webhook_id.as_str()),
        ]
    }
}

/// Signs webhook bodies (for the sandbox, tests, and users' own tests).
pub struct Signer {
    key: Arc<SigningKey>,
    clock: Arc<dyn Clock>,
}

impl Signer {
    /// A signer using the system clock.
    pub fn new(key: SigningKey) -> Self {
        Signer {
            key: Arc::new(key),
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock used by [`Signer::sign`].
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs `body` with the current time, documented (double-hash) scheme.
    pub fn sign(&self, body: &[u8]) -> Result<SignedHeaders, SignError> {
        self.sign_at(&self.clock.now_unix().to_string(), body)
    }

    /// Signs `body` with the given timestamp header text, documented scheme.
    pub fn sign_at(&self, timestamp: &str, body: &[u8]) -> Result<SignedHeaders, SignError> {
        self.sign_with(Scheme::DoubleHash, timestamp, body)
    }

    /// Signs with an explicit scheme (the single-hash form exists to test the opt-in).
    pub fn sign_with(
        &self,
        scheme: Scheme,
        timestamp: &str,
        body: &[u8],
    ) -> Result<SignedHeaders, SignError> {
        let sig = match scheme {
            Scheme::DoubleHash => self.key.sign_raw(digest_m(timestamp, body).as_ref())?,
            Scheme::SingleHash => self.key.sign_raw(&message(timestamp, body))?,
        };
        Ok(SignedHeaders {
            timestamp: timestamp.to_owned(),
            signature: STANDARD.encode(sig),
            webhook_id: random_id()?,
        })
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key", &self.key)
            .field("clock", &self.clock)
            .finish()
    }
}

/// A random 128-bit delivery id, `whd_` + hex.
pub(crate) fn random_id() -> Result<String, SignError> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SignError)?;
    let mut s = String::with_capacity(36);
    s.push_str("whd_");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    Ok(s)
}
