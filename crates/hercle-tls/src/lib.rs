//! The TLS configuration, built once per process and shared by every
//! client (`hercle-rest`, `hercle-hub`): rustls with the ring provider (set
//! explicitly, never the process default, so two providers in one build
//! cannot make it panic) and the webpki root certificates, TLS 1.2 and 1.3.
//! One crate, so the two clients cannot drift apart.

use std::sync::{Arc, OnceLock};

static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();

/// The shared rustls client configuration, without ALPN (each transport
/// sets its own: hyper-rustls requires it empty and adds `http/1.1`). Building it
/// can only fail if the ring provider rejects the default protocol versions.
pub fn client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// Whether `host` (from a URL) names the local machine: only such URLs may
/// use plain HTTP.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn built_once() {
        let a = client_config().unwrap();
        let b = client_config().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.alpn_protocols.is_empty(), "the connector sets ALPN");
    }

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "127.9.9.9", "localhost", "[::1]", "::1"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "example.com",
            "publicapi.hercle.financial",
            "[::2]",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
