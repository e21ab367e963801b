//! A minimal, bounds-checked DER reader: just enough to unwrap an RSA
//! `SubjectPublicKeyInfo` into the PKCS#1 `RSAPublicKey` that ring expects.
//!
//! Every read is checked; no input can make it panic or loop.

/// DER tags used here.
const TAG_SEQUENCE: u8 = 0x30;
const TAG_OID: u8 = 0x06;
const TAG_NULL: u8 = 0x05;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_INTEGER: u8 = 0x02;

/// `rsaEncryption` object identifier 1.2.840.113549.1.1.1, DER content bytes.
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// A cursor over DER bytes.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Reader { rest: input }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    /// Reads one TLV with the expected single-byte tag; returns its contents.
    pub(crate) fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (t, contents) = self.tlv()?;
        (t == tag).then_some(contents)
    }

    /// Reads one TLV (low tag numbers only, definite minimal lengths).
    pub(crate) fn tlv(&mut self) -> Option<(u8, &'a [u8])> {
        let tag = self.byte()?;
        if tag & 0x1f == 0x1f {
            return None; // high tag numbers never occur in these structures
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return None; // indefinite or absurd lengths
            }
            let bytes = self.take(n)?;
            if bytes.first() == Some(&0) {
                return None; // non-minimal
            }
            let mut len = 0usize;
            for &b in bytes {
                len = len.checked_mul(256)?.checked_add(usize::from(b))?;
            }
            if len < 0x80 {
                return None; // should have used the short form
            }
            len
        };
        Some((tag, self.take(len)?))
    }
}

/// Checks that `der` is exactly one PKCS#1 `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }`.
pub(crate) fn is_pkcs1_rsa_public_key(der: &[u8]) -> bool {
    let mut outer = Reader::new(der);
    let Some(seq) = outer.expect(TAG_SEQUENCE) else {
        return false;
    };
    if !outer.is_empty() {
        return false;
    }
    let mut inner = Reader::new(seq);
    inner.expect(TAG_INTEGER).is_some() && inner.expect(TAG_INTEGER).is_some() && inner.is_empty()
}

/// Unwraps `SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING }`
/// for `rsaEncryption` and returns the PKCS#1 `RSAPublicKey` DER inside it.
pub(crate) fn spki_to_pkcs1(der: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(der);
    let spki = outer.expect(TAG_SEQUENCE)?;
    if !outer.is_empty() {
        return None;
    }
    let mut spki = Reader::new(spki);
    let alg = spki.expect(TAG_SEQUENCE)?;
    let bits = spki.expect(TAG_BIT_STRING)?;
    if !spki.is_empty() {
        return None;
    }
    let mut alg = Reader::new(alg);
    if alg.expect(TAG_OID)? != OID_RSA_ENCRYPTION {
        return None;
    }
    // Parameters must be NULL (or absent, which some encoders emit).
    if !alg.is_empty() && (!alg.expect(TAG_NULL)?.is_empty() || !alg.is_empty()) {
        return None;
    }
    let (&unused_bits, key) = bits.split_first()?;
    if unused_bits != 0 {
        return None;
    }
    is_pkcs1_rsa_public_key(key).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_truncated_and_garbage() {
        assert!(spki_to_pkcs1(&[]).is_none());
        assert!(spki_to_pkcs1(&[0x30]).is_none());
        assert!(spki_to_pkcs1(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(spki_to_pkcs1(&[0x30, 0x80, 0x00, 0x00]).is_none());
        assert!(spki_to_pkcs1(&[0x30, 0x00]).is_none());
        assert!(!is_pkcs1_rsa_public_key(&[0x30, 0x03, 0x02, 0x01, 0x01]));
        assert!(is_pkcs1_rsa_public_key(&[
            0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x03
        ]));
    }

    #[test]
    fn rejects_non_minimal_long_length() {
        // 0x81 0x05 encodes 5 in long form: not DER.
        assert!(
            Reader::new(&[0x02, 0x81, 0x05, 1, 2, 3, 4, 5])
                .tlv()
                .is_none()
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = spki_to_pkcs1(&bytes);
            let _ = is_pkcs1_rsa_public_key(&bytes);
        }
    }
}
