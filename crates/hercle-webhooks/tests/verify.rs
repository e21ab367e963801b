//! Verification, signing and key parsing against independently made vectors.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "util/support.rs"]
mod support;

use std::time::Duration;

use hercle_webhooks::{
    KeyError, ManualClock, PublicKey, Scheme, SigningKey, Verifier, VerifyError, parse_timestamp,
};
use proptest::prelude::*;
use support::{body, fixture, public_key, signer, signing_key};

const TS: &str = "1705329000";
const NOW: i64 = 1_705_329_000;

fn verifier(keys: &[&str]) -> Verifier {
    Verifier::with_keys(keys.iter().map(|k| public_key(k)))
        .unwrap()
        .with_clock(ManualClock::new(NOW))
}

#[derive(serde::Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    signer: String,
    key: String,
    scheme: String,
    timestamp: String,
    body: String,
    signature: String,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str::<Vectors>(&fixture("vectors.json"))
        .unwrap()
        .vectors
}

#[test]
fn python_and_node_vectors_verify_as_the_samples_do() {
    let vs = vectors();
    assert_eq!(vs.len(), 80);
    let mut by_signer = std::collections::BTreeMap::new();
    for v in &vs {
        *by_signer.entry(v.signer.as_str()).or_insert(0) += 1;
        let ver = Verifier::new(public_key(&v.key))
            .with_clock(ManualClock::new(v.timestamp.parse::<i64>().unwrap()));
        let got = ver.verify(Some(&v.timestamp), Some(&v.signature), v.body.as_bytes());
        if v.scheme == "double" {
            let ok = got.unwrap_or_else(|e| panic!("{} {} {:?}: {e}", v.signer, v.key, v.body));
            assert_eq!(ok.scheme, Scheme::DoubleHash);
        } else {
            assert_eq!(
                got,
                Err(VerifyError::BadSignature),
                "single-hash must fail by default"
            );
            let opt_in = ver.clone().allow_single_hash(true);
            let ok = opt_in
                .verify(Some(&v.timestamp), Some(&v.signature), v.body.as_bytes())
                .unwrap();
            assert_eq!(ok.scheme, Scheme::SingleHash);
        }
        // Wrong key never verifies, in either mode.
        let wrong = Verifier::new(public_key("wrong"))
            .allow_single_hash(true)
            .with_clock(ManualClock::new(v.timestamp.parse::<i64>().unwrap()));
        assert_eq!(
            wrong.verify(Some(&v.timestamp), Some(&v.signature), v.body.as_bytes()),
            Err(VerifyError::BadSignature)
        );
    }
    assert_eq!(by_signer["python-cryptography"], 40);
    assert_eq!(by_signer["node-crypto"], 40);
}

#[test]
fn our_signer_reproduces_the_independent_signatures() {
    // PKCS#1 v1.5 is deterministic, so our signer must produce the very same bytes.
    for v in vectors() {
        let scheme = if v.scheme == "double" {
            Scheme::DoubleHash
        } else {
            Scheme::SingleHash
        };
        let got = signer(&v.key)
            .sign_with(scheme, &v.timestamp, v.body.as_bytes())
            .unwrap();
        assert_eq!(got.signature, v.signature, "{} {}", v.signer, v.key);
        assert_eq!(got.timestamp, v.timestamp);
    }
}

#[test]
fn inventory_vector() {
    #[derive(serde::Deserialize)]
    struct Inv {
        public_key_pem: String,
        x_webhook_timestamp: String,
        raw_body: String,
        signature_valid_double_hash_b64: String,
        signature_single_hash_b64_must_fail: String,
    }
    let inv: Inv = serde_json::from_str(&fixture("inventory-vector.json")).unwrap();
    let ver = Verifier::from_pems([inv.public_key_pem.as_str()])
        .unwrap()
        .with_clock(ManualClock::new(NOW));
    let ts = Some(inv.x_webhook_timestamp.as_str());
    let body = inv.raw_body.as_bytes();
    let ok = ver
        .verify(ts, Some(&inv.signature_valid_double_hash_b64), body)
        .unwrap();
    assert_eq!(ok.scheme, Scheme::DoubleHash);
    assert_eq!(ok.timestamp, NOW);
    assert_eq!(
        ver.verify(ts, Some(&inv.signature_single_hash_b64_must_fail), body),
        Err(VerifyError::BadSignature)
    );
    let opt_in = ver.allow_single_hash(true);
    assert_eq!(
        opt_in
            .verify(ts, Some(&inv.signature_single_hash_b64_must_fail), body)
            .unwrap()
            .scheme,
        Scheme::SingleHash
    );
}

#[test]
fn key_forms_agree() {
    for name in ["primary", "rotated", "wrong"] {
        let spki =
            PublicKey::from_pem(&fixture(&format!("test-only-{name}-public-spki.pem"))).unwrap();
        let pkcs1 =
            PublicKey::from_pem(&fixture(&format!("test-only-{name}-public-pkcs1.pem"))).unwrap();
        assert_eq!(spki, pkcs1);
        assert_eq!(spki.bits(), 2048);
        let p8 =
            SigningKey::from_pem(&fixture(&format!("test-only-{name}-private-pkcs8.pem"))).unwrap();
        let p1 =
            SigningKey::from_pem(&fixture(&format!("test-only-{name}-private-pkcs1.pem"))).unwrap();
        assert_eq!(p8.public_key(), spki);
        assert_eq!(p1.public_key(), spki);
    }
}

#[test]
fn key_errors() {
    assert_eq!(PublicKey::from_pem("nope"), Err(KeyError::NotPem));
    assert!(matches!(
        PublicKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
        Err(KeyError::UnsupportedLabel(_))
    ));
    assert_eq!(
        PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
        Err(KeyError::InvalidKey)
    );
    // A private key where a public key is expected is refused by label.
    assert!(PublicKey::from_pem(&fixture("test-only-primary-private-pkcs8.pem")).is_err());
    assert!(SigningKey::from_pem(&fixture("test-only-primary-public-spki.pem")).is_err());
    assert_eq!(Verifier::with_keys([]).map(|_| ()), Err(KeyError::NoKeys));
    // The docs paste the key on one line inside a template string: still parses.
    let pem = fixture("test-only-primary-public-spki.pem").replace('\n', " ");
    assert_eq!(PublicKey::from_pem(&pem).unwrap(), public_key("primary"));
}

#[test]
fn keys_are_redacted_in_debug() {
    let pem = fixture("test-only-primary-private-pkcs8.pem");
    let dbg = format!("{:?} {:?}", signing_key("primary"), signer("primary"));
    assert!(dbg.contains("<redacted>"));
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!dbg.contains(line), "private key material in Debug output");
    }
    let pub_pem = fixture("test-only-primary-public-spki.pem");
    let dbg = format!("{:?}", verifier(&["primary"]));
    for line in pub_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!dbg.contains(line));
    }
}

#[test]
fn rotation_accepts_every_configured_key() {
    let ver = verifier(&["rotated", "primary"]);
    let b = body("evt_rot");
    for (name, index) in [("primary", 1), ("rotated", 0)] {
        let h = signer(name).sign_at(TS, &b).unwrap();
        let ok = ver
            .verify(Some(&h.timestamp), Some(&h.signature), &b)
            .unwrap();
        assert_eq!(ok.key_index, index);
    }
    let h = signer("wrong").sign_at(TS, &b).unwrap();
    assert_eq!(
        ver.verify(Some(&h.timestamp), Some(&h.signature), &b),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn tampered_body_fails() {
    let ver = verifier(&["primary"]);
    let b = body("evt_t");
    let h = signer("primary").sign_at(TS, &b).unwrap();
    let mut t = b.clone();
    t.push(b' ');
    assert_eq!(
        ver.verify(Some(TS), Some(&h.signature), &t),
        Err(VerifyError::BadSignature)
    );
    // Re-serialised JSON (same meaning, different bytes) fails too.
    let reser =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&b).unwrap()).unwrap();
    if reser != b {
        assert_eq!(
            ver.verify(Some(TS), Some(&h.signature), &reser),
            Err(VerifyError::BadSignature)
        );
    }
}

#[test]
fn timestamp_window_is_300s_both_ways_and_configurable() {
    let clock = ManualClock::new(NOW);
    let ver = Verifier::new(public_key("primary")).with_clock(clock.clone());
    let b = body("evt_ts");
    let h = signer("primary").sign_at(TS, &b).unwrap();
    let check = |v: &Verifier| {
        v.verify(Some(&h.timestamp), Some(&h.signature), &b)
            .map(|_| ())
    };
    for (offset, expect) in [
        (0, Ok(())),
        (300, Ok(())),
        (-300, Ok(())),
        (301, Err(VerifyError::StaleTimestamp)),
        (-301, Err(VerifyError::FutureTimestamp)),
        (86_400, Err(VerifyError::StaleTimestamp)),
    ] {
        clock.set(NOW + offset);
        assert_eq!(check(&ver), expect, "offset {offset}");
    }
    let narrow = ver.clone().with_tolerance(Duration::from_secs(10));
    clock.set(NOW + 11);
    assert_eq!(check(&narrow), Err(VerifyError::StaleTimestamp));
    clock.set(NOW - 11);
    assert_eq!(check(&narrow), Err(VerifyError::FutureTimestamp));
    clock.set(NOW + 10);
    assert_eq!(check(&narrow), Ok(()));
}

#[test]
fn non_numeric_and_missing() {
    let ver = verifier(&["primary"]);
    let b = body("evt_nn");
    for ts in [
        "",
        "abc",
        "1e9",
        " 1705329000",
        "1705329000 ",
        "0x10",
        "+1705329000",
        "1_705_329_000",
        "17053290000000000000000",
        "1705329000.0",
        "-",
    ] {
        // Signed over the odd timestamp so only the timestamp check can fail.
        let h = signer("primary").sign_at(ts, &b).unwrap();
        assert_eq!(
            ver.verify(Some(ts), Some(&h.signature), &b),
            Err(VerifyError::InvalidTimestamp),
            "{ts:?}"
        );
    }
    let h = signer("primary").sign_at(TS, &b).unwrap();
    assert_eq!(
        ver.verify(None, Some(&h.signature), &b),
        Err(VerifyError::MissingTimestamp)
    );
    assert_eq!(
        ver.verify(Some(TS), None, &b),
        Err(VerifyError::MissingSignature)
    );
    assert_eq!(
        ver.verify(Some(TS), Some("***not base64***"), &b),
        Err(VerifyError::MalformedSignature)
    );
    assert_eq!(
        ver.verify(Some(TS), Some(""), &b),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(parse_timestamp("0"), Some(0));
    assert_eq!(parse_timestamp("-5"), Some(-5));
}

#[test]
fn signer_uses_its_clock() {
    let s = signer("primary").with_clock(ManualClock::new(NOW + 5));
    let h = s.sign(b"{}").unwrap();
    assert_eq!(h.timestamp, (NOW + 5).to_string());
    assert!(h.webhook_id.starts_with("whd_"));
    verifier(&["primary"])
        .verify(Some(&h.timestamp), Some(&h.signature), b"{}")
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_single_byte_change_to_body_fails(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        pos in any::<prop::sample::Index>(),
        delta in 1u8..=255,
        append in any::<bool>(),
    ) {
        let (ver, s) = fixtures();
        let h = s.sign_at(TS, &body).unwrap();
        prop_assert!(ver.verify(Some(TS), Some(&h.signature), &body).is_ok());
        let mut changed = body.clone();
        if body.is_empty() || append {
            changed.push(delta);
        } else {
            let i = pos.index(body.len());
            changed[i] = changed[i].wrapping_add(delta);
        }
        prop_assert_eq!(ver.verify(Some(TS), Some(&h.signature), &changed), Err(VerifyError::BadSignature));
        if !body.is_empty() {
            let mut shorter = body.clone();
            shorter.remove(pos.index(body.len()));
            prop_assert_eq!(ver.verify(Some(TS), Some(&h.signature), &shorter), Err(VerifyError::BadSignature));
        }
    }

    #[test]
    fn any_single_digit_change_to_timestamp_fails(pos in 0usize..10, delta in 1u8..=9) {
        let (ver, s) = fixtures();
        let b = body("evt_prop");
        let h = s.sign_at(TS, &b).unwrap();
        let mut ts = TS.as_bytes().to_vec();
        ts[pos] = b'0' + (ts[pos] - b'0' + delta) % 10;
        let ts = String::from_utf8(ts).unwrap();
        // Wide tolerance so the signature check, not the window, decides.
        let wide = ver.with_tolerance(Duration::from_secs(u64::MAX / 4));
        prop_assert_eq!(wide.verify(Some(&ts), Some(&h.signature), &b), Err(VerifyError::BadSignature));
    }

    #[test]
    fn any_single_byte_change_to_timestamp_fails(pos in 0usize..10, byte in any::<u8>()) {
        let (ver, s) = fixtures();
        let b = body("evt_prop");
        let h = s.sign_at(TS, &b).unwrap();
        let mut ts = TS.as_bytes().to_vec();
        prop_assume!(ts[pos] != byte);
        ts[pos] = byte;
        let ts = String::from_utf8_lossy(&ts).into_owned();
        let wide = ver.with_tolerance(Duration::from_secs(u64::MAX / 4));
        prop_assert!(wide.verify(Some(&ts), Some(&h.signature), &b).is_err());
    }
}

fn fixtures() -> (Verifier, hercle_webhooks::Signer) {
    use std::sync::OnceLock;
    static F: OnceLock<(Verifier, SigningKeyPem)> = OnceLock::new();
    struct SigningKeyPem(String);
    let (v, pem) = F.get_or_init(|| {
        (
            verifier(&["primary"]),
            SigningKeyPem(fixture("test-only-primary-private-pkcs8.pem")),
        )
    });
    (
        v.clone(),
        hercle_webhooks::Signer::new(SigningKey::from_pem(&pem.0).unwrap()),
    )
}
