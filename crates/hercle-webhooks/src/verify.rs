//! Signature verification over the raw body bytes, separate from parsing.
//!
//! The scheme (HercleX docs §5, as both official samples implement it):
//! `M = X-Webhook-Timestamp + "." + body`, `D1 = SHA-256(M)`, and the
//! signature is RSASSA-PKCS1-v1_5/SHA-256 *over `D1`*, so the DigestInfo holds
//! `SHA-256(SHA-256(M))`. The single-hash reading (signature over `M`) is an
//! explicit opt-in, see [`Verifier::allow_single_hash`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::clock::{Clock, SystemClock};
use crate::keys::{KeyError, PublicKey};

/// `X-Webhook-Signature`: standard Base64 RSA signature.
pub const HEADER_SIGNATURE: &str = "x-webhook-signature";
/// `X-Webhook-Timestamp`: Unix seconds as a decimal string.
pub const HEADER_TIMESTAMP: &str = "x-webhook-timestamp";
/// `X-Webhook-Id`: delivery id (for logs and support).
pub const HEADER_ID: &str = "x-webhook-id";

/// The documented replay window: 300 seconds either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Which hashing the signature was checked under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// RSA-SHA256 over SHA-256(M): the documented samples' scheme (default).
    DoubleHash,
    /// RSA-SHA256 over M: the single-hash reading of the prose (opt-in only).
    SingleHash,
}

/// Why a delivery failed verification. [`VerifyError::reason`] is a short,
/// stable text suitable for a 400 response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyError {
    /// `X-Webhook-Signature` is absent.
    MissingSignature,
    /// `X-Webhook-Timestamp` is absent.
    MissingTimestamp,
    /// The timestamp is not a decimal number of seconds.
    InvalidTimestamp,
    /// The timestamp is older than the tolerance.
    StaleTimestamp,
    /// The timestamp is further in the future than the tolerance.
    FutureTimestamp,
    /// The signature header is not standard Base64.
    MalformedSignature,
    /// No configured key verifies the signature.
    BadSignature,
}

impl VerifyError {
    /// Short reason text.
    pub fn reason(self) -> &'static str {
        match self {
            VerifyError::MissingSignature => "missing X-Webhook-Signature header",
            VerifyError::MissingTimestamp => "missing X-Webhook-Timestamp header",
            VerifyError::InvalidTimestamp => "X-Webhook-Timestamp is not numeric",
            VerifyError::StaleTimestamp => "timestamp too old",
            VerifyError::FutureTimestamp => "timestamp in the future",
            VerifyError::MalformedSignature => "signature is not base64",
            VerifyError::BadSignature => "invalid signature",
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for VerifyError {}

/// The outcome of a successful verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp, Unix seconds.
    pub timestamp: i64,
    /// The scheme that matched.
    pub scheme: Scheme,
    /// Index (in configuration order) of the key that matched.
    pub key_index: usize,
}

/// Verifies webhook signatures with one or more public keys (key rotation).
///
/// ```
/// # use hercle_webhooks::{Verifier, PublicKey, ManualClock};
/// # fn demo(pem: &str, ts: &str, sig: &str, body: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::new(PublicKey::from_pem(pem)?).with_clock(ManualClock::new(1_705_329_000));
/// verifier.verify(Some(ts), Some(sig), body)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<PublicKey>,
    tolerance_secs: i64,
    clock: Arc<dyn Clock>,
    single_hash: bool,
}

impl Verifier {
    /// A verifier with one key, the 300 s tolerance and the system clock.
    pub fn new(key: PublicKey) -> Self {
        Verifier {
            keys: vec![key],
            tolerance_secs: 300,
            clock: Arc::new(SystemClock),
            single_hash: false,
        }
    }

    /// A verifier accepting any of `keys` (e.g. old and new during rotation).
    pub fn with_keys(keys: impl IntoIterator<Item = PublicKey>) -> Result<Self, KeyError> {
        let keys: Vec<PublicKey> = keys.into_iter().collect();
        let mut iter = keys.into_iter();
        let first = iter.next().ok_or(KeyError::NoKeys)?;
        let mut v = Verifier::new(first);
        v.keys.extend(iter);
        Ok(v)
    }

    /// Parses each PEM text as a public key; see [`PublicKey::from_pem`].
    pub fn from_pems<'a>(pems: impl IntoIterator<Item = &'a str>) -> Result<Self, KeyError> {
        let keys = pems
            .into_iter()
            .map(PublicKey::from_pem)
            .collect::<Result<Vec<_>, _>>()?;
        Self::with_keys(keys)
    }

    /// Adds another accepted key.
    pub fn add_key(mut self, key: PublicKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Sets the timestamp tolerance (applied in both directions; whole seconds).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance_secs = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// Replaces the clock (tests inject a [`crate::ManualClock`]).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Also accept signatures made with a single SHA-256 over `M` (the
    /// prose's possible reading). Off by default: both official samples
    /// reject such signatures.
    pub fn allow_single_hash(mut self, allow: bool) -> Self {
        self.single_hash = allow;
        self
    }

    /// The configured keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Verifies the headers and raw body: timestamp within tolerance, then signature.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Verified, VerifyError> {
        let timestamp = timestamp.ok_or(VerifyError::MissingTimestamp)?;
        let signature = signature.ok_or(VerifyError::MissingSignature)?;
        let ts = self.check_timestamp(timestamp)?;
        let (scheme, key_index) = self.verify_signature(timestamp, signature, body)?;
        Ok(Verified {
            timestamp: ts,
            scheme,
            key_index,
        })
    }

    /// Verifies headers taken from an HTTP header map.
    #[cfg(feature = "receiver")]
    pub fn verify_headers(
        &self,
        headers: &hyper::HeaderMap,
        body: &[u8],
    ) -> Result<Verified, VerifyError> {
        let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
        let ts = get(HEADER_TIMESTAMP);
        let sig = get(HEADER_SIGNATURE);
        // Non-ASCII header bytes map to a value that fails the checks below.
        self.verify(ts, sig, body)
    }

    /// Checks only the timestamp against the clock and tolerance.
    pub fn check_timestamp(&self, timestamp: &str) -> Result<i64, VerifyError> {
        let ts = parse_timestamp(timestamp).ok_or(VerifyError::InvalidTimestamp)?;
        let now = self.clock.now_unix();
        let diff = i128::from(now) - i128::from(ts);
        if diff > i128::from(self.tolerance_secs) {
            Err(VerifyError::StaleTimestamp)
        } else if -diff > i128::from(self.tolerance_secs) {
            Err(VerifyError::FutureTimestamp)
        } else {
            Ok(ts)
        }
    }

    /// Checks only the signature (no time check). Returns the matching scheme and key index.
    pub fn verify_signature(
        &self,
        timestamp: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(Scheme, usize), VerifyError> {
        let sig = STANDARD
            .decode(signature.trim().as_bytes())
            .map_err(|_| VerifyError::MalformedSignature)?;
        let d1 = digest_m(timestamp, body);
        for (i, key) in self.keys.iter().enumerate() {
            if key.verify_raw(d1.as_ref(), &sig) {
                return Ok((Scheme::DoubleHash, i));
            }
        }
        if self.single_hash {
            let m = message(timestamp, body);
            for (i, key) in self.keys.iter().enumerate() {
                if key.verify_raw(&m, &sig) {
                    return Ok((Scheme::SingleHash, i));
                }
            }
        }
        Err(VerifyError::BadSignature)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("tolerance_secs", &self.tolerance_secs)
            .field("clock", &self.clock)
            .field("single_hash", &self.single_hash)
            .finish()
    }
}

/// Parses a timestamp header: ASCII digits only (an optional leading `-` is
/// accepted for completeness), at most 18 digits. Anything else is non-numeric.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// `M = timestamp + "." + body`.
pub(crate) fn message(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(timestamp.len() + 1 + body.len());
    m.extend_from_slice(timestamp.as_bytes());
    m.push(b'.');
    m.extend_from_slice(body);
    m
}

/// `D1 = SHA-256(M)` without copying the body.
pub(crate) fn digest_m(timestamp: &str, body: &[u8]) -> ring::digest::Digest {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    ctx.finish()
}
