//! RSA public keys (for verifying) and private keys (for signing).
//!
//! Keys are parsed once, when loaded. Key material never appears in `Debug`
//! output, logs or error messages.

use std::fmt;

use ring::signature;
#[cfg(feature = "signer")]
use ring::signature::KeyPair as _;

use crate::{der, pem};

/// Why a key could not be loaded. Messages never include key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The text is not a PEM block.
    NotPem,
    /// The PEM label is not one of the supported key kinds.
    UnsupportedLabel(String),
    /// The DER inside is not a valid RSA key of the expected kind.
    InvalidKey,
    /// The RSA key is rejected by ring (e.g. modulus below 2048 bits).
    Rejected,
    /// A verifier needs at least one key.
    NoKeys,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NotPem => f.write_str("key is not PEM encoded"),
            KeyError::UnsupportedLabel(l) => write!(f, "unsupported PEM label {l:?}"),
            KeyError::InvalidKey => f.write_str("key DER is not a valid RSA key"),
            KeyError::Rejected => f.write_str("RSA key rejected (unsupported size or form)"),
            KeyError::NoKeys => f.write_str("at least one public key is required"),
        }
    }
}

impl std::error::Error for KeyError {}

/// An RSA public key used to verify webhook signatures.
///
/// Accepts PEM `PUBLIC KEY` (SubjectPublicKeyInfo, the form Hercle shares) and
/// `RSA PUBLIC KEY` (PKCS#1), or the same as DER.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// PKCS#1 `RSAPublicKey` DER, the form ring verifies with.
    pkcs1: Vec<u8>,
    bits: usize,
}

impl PublicKey {
    /// Parses a PEM public key (`PUBLIC KEY` or `RSA PUBLIC KEY`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let block = pem::decode_first(text).ok_or(KeyError::NotPem)?;
        match block.label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&block.der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&block.der),
            other => Err(KeyError::UnsupportedLabel(other.to_owned())),
        }
    }

    /// Parses a DER SubjectPublicKeyInfo holding an RSA key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let pkcs1 = der::spki_to_pkcs1(der).ok_or(KeyError::InvalidKey)?;
        Self::from_pkcs1_der(pkcs1)
    }

    /// Parses a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        if !der::is_pkcs1_rsa_public_key(der) {
            return Err(KeyError::InvalidKey);
        }
        let bits = modulus_bits(der).ok_or(KeyError::InvalidKey)?;
        if !(2048..=8192).contains(&bits) {
            return Err(KeyError::Rejected);
        }
        Ok(PublicKey {
            pkcs1: der.to_vec(),
            bits,
        })
    }

    /// The PKCS#1 `RSAPublicKey` DER.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Verifies an RSASSA-PKCS1-v1_5 SHA-256 signature over `message`
    /// (ring hashes `message` once internally).
    pub(crate) fn verify_raw(&self, message: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.pkcs1)
            .verify(message, sig)
            .is_ok()
    }

    /// A short non-secret fingerprint (first 8 bytes of SHA-256 of the DER, hex),
    /// handy to tell rotated keys apart in logs.
    pub fn fingerprint(&self) -> String {
        let d = ring::digest::digest(&ring::digest::SHA256, &self.pkcs1);
        d.as_ref()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The modulus size in bits; `None` if malformed.
fn modulus_bits(pkcs1: &[u8]) -> Option<usize> {
    let mut outer = der::Reader::new(pkcs1);
    let seq = outer.expect(0x30)?;
    let mut inner = der::Reader::new(seq);
    let n = inner.expect(0x02)?;
    let e = inner.expect(0x02)?;
    if e.is_empty() {
        return None;
    }
    // Strip the sign byte.
    let n = match n.split_first() {
        Some((0, rest)) => rest,
        Some(_) => n,
        None => return None,
    };
    let first = *n.first()?;
    let lead = 8usize.checked_sub(first.leading_zeros() as usize)?;
    let bits = n.len().checked_sub(1)?.checked_mul(8)?.checked_add(lead)?;
    Some(bits)
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

#[cfg(feature = "signer")]
/// An RSA private key used to sign webhooks (sandbox, tests).
///
/// Loads PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1). ring cannot
/// generate RSA keys; create them with `openssl genpkey -algorithm RSA`.
pub struct SigningKey {
    pair: signature::RsaKeyPair,
}

#[cfg(feature = "signer")]
impl SigningKey {
    /// Parses a PEM private key (`PRIVATE KEY` or `RSA PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let block = pem::decode_first(text).ok_or(KeyError::NotPem)?;
        match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.der),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&block.der),
            other => Err(KeyError::UnsupportedLabel(other.to_owned())),
        }
    }

    /// Parses a PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        signature::RsaKeyPair::from_pkcs8(der)
            .map(|pair| SigningKey { pair })
            .map_err(|_| KeyError::InvalidKey)
    }

    /// Parses a PKCS#1 `RSAPrivateKey` DER.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        signature::RsaKeyPair::from_der(der)
            .map(|pair| SigningKey { pair })
            .map_err(|_| KeyError::InvalidKey)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let der = self.pair.public_key().as_ref();
        PublicKey {
            pkcs1: der.to_vec(),
            bits: self.pair.public().modulus_len() * 8,
        }
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 over `message` (hashed once by ring).
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let rng = ring::rand::SystemRandom::new();
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .map_err(|_| SignError)?;
        Ok(sig)
    }
}

#[cfg(feature = "signer")]
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public_key())
            .field("private", &"<redacted>")
            .finish()
    }
}

#[cfg(feature = "signer")]
/// Signing failed inside ring (should not happen with a loaded key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignError;

#[cfg(feature = "signer")]
impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RSA signing failed")
    }
}

#[cfg(feature = "signer")]
impl std::error::Error for SignError {}
