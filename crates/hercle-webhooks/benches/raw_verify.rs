//! ring's raw RSA-2048 PKCS#1 v1.5 SHA-256 verify rate: the ceiling for the
//! receiver's verify-only throughput. Also the full `Verifier::verify` path.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{Criterion, criterion_group, criterion_main};
use hercle_webhooks::{ManualClock, PublicKey, Signer, SigningKey, Verifier};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../../fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_pem(&fixture("test-only-primary-private-pkcs8.pem")).unwrap();
    let public = PublicKey::from_pem(&fixture("test-only-primary-public-spki.pem")).unwrap();
    let body = br#"{"EventId":"evt_1","EventType":"Banking.Deposit.StatusUpdated","Timestamp":"2025-01-15T14:30:00Z","Data":"{}"}"#;
    let signed = Signer::new(key).sign_at("1705329000", body).unwrap();
    let sig = base64_decode(&signed.signature);
    let d1 = {
        let mut m = b"1705329000.".to_vec();
        m.extend_from_slice(body);
        ring::digest::digest(&ring::digest::SHA256, &m)
    };
    let raw = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public.pkcs1_der().to_vec(),
    );
    c.bench_function("ring_raw_verify_rsa2048", |b| {
        b.iter(|| raw.verify(d1.as_ref(), &sig).unwrap())
    });
    let verifier = Verifier::new(public).with_clock(ManualClock::new(1_705_329_000));
    c.bench_function("verifier_verify", |b| {
        b.iter(|| {
            verifier
                .verify(Some("1705329000"), Some(&signed.signature), body)
                .unwrap()
        })
    });
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

criterion_group!(benches, bench);
criterion_main!(benches);
