//! The HercleX SDK for Rust: one dependency, one builder, the layers you
//! turn on.
//!
//! | feature | what you get | crate |
//! |---|---|---|
//! | `rest` (default) | [`rest::Client`]: the 46 REST operations | `hercle-rest` |
//! | `hub` (default) | [`hub::HubClient`]: the real-time hub, prices, orders | `hercle-hub` |
//! | `webhooks` | [`webhooks::Verifier`] and the durable receiver | `hercle-webhooks` |
//! | `sandbox` | [`sandbox::Sandbox`]: an offline HercleX for your tests | `hercle-sandbox` |
//!
//! The wire models are always there, as [`models`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use hercle::{Client, Environment};
//! let client = Client::builder()
//!     .environment(Environment::Sandbox)
//!     .from_env() // HERCLE_API_KEY, HERCLE_BASE_URL
//!     .build()?;
//! let pairs = client.rest()?.get_pairs().await?;
//! let (hub, _events) = client.hub().connect().await?;
//! # Ok(()) }
//! ```
//!
//! [`Client::rest`] and [`Client::hub`] share one TLS configuration
//! (rustls with the ring provider and the webpki roots, from `hercle-tls`),
//! the API key and the base URL, so the two transports cannot disagree on
//! where they talk to or how.

use std::fmt;
#[cfg(feature = "rest")]
use std::sync::OnceLock;

#[cfg(feature = "hub")]
pub use hercle_hub as hub;
pub use hercle_models as models;
#[cfg(feature = "rest")]
pub use hercle_rest as rest;
#[cfg(feature = "sandbox")]
pub use hercle_sandbox as sandbox;
#[cfg(feature = "webhooks")]
pub use hercle_webhooks as webhooks;

pub use hercle_models::Decimal;

/// Where a [`Client`] talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// The live API (the description's production server). Real money:
    /// never a default anywhere in hercle-rs.
    Production,
    /// HercleX's public sandbox (the description's sandbox server).
    Sandbox,
    /// Any base URL, such as a local `hercle sandbox` on
    /// `http://127.0.0.1:5080`. Plain `http` only for loopback hosts.
    Custom(String),
}

impl Environment {
    /// The REST base URL (the hub lives under it at
    /// [`models::HUB_PATH`](hercle_models::HUB_PATH)).
    pub fn base_url(&self) -> &str {
        match self {
            Environment::Production => hercle_models::ops::SERVER_PRODUCTION,
            Environment::Sandbox => hercle_models::ops::SERVER_SANDBOX,
            Environment::Custom(url) => url,
        }
    }

    /// Whether this is the live API.
    pub fn is_production(&self) -> bool {
        self.base_url().trim_end_matches('/') == hercle_models::ops::SERVER_PRODUCTION
    }
}

/// Why a [`Client`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No API key in the builder or in `HERCLE_API_KEY`.
    MissingApiKey,
    /// The base URL is not `https://host…`, or `http://` to a non-loopback host.
    BaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No environment was chosen and `HERCLE_BASE_URL` is not set.
    MissingEnvironment,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingApiKey => {
                f.write_str("no API key: call .api_key(..) or set HERCLE_API_KEY")
            }
            ConfigError::BaseUrl { url, reason } => write!(f, "base URL {url:?}: {reason}"),
            ConfigError::MissingEnvironment => f.write_str(
                "no environment: call .environment(..) or set HERCLE_BASE_URL (production is never a default)",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The API key; `Debug` never shows it.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Configures a [`Client`]. Nothing defaults to production: choose an
/// [`Environment`] or set `HERCLE_BASE_URL`.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    environment: Option<Environment>,
    api_key: Option<Secret>,
}

impl Builder {
    /// Talks to `environment`.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Talks to `url` (same as `Environment::Custom(url)`).
    pub fn base_url(self, url: impl Into<String>) -> Self {
        self.environment(Environment::Custom(url.into()))
    }

    /// Authenticates with `key`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret(key.into()));
        self
    }

    /// Fills what is not set yet from `HERCLE_API_KEY` and `HERCLE_BASE_URL`
    /// (the docs' `.env` convention).
    pub fn from_env(self) -> Self {
        self.from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read by `var`.
    pub fn from_vars(mut self, var: impl Fn(&str) -> Option<String>) -> Self {
        if self.api_key.is_none() {
            self.api_key = var("HERCLE_API_KEY").filter(|k| !k.is_empty()).map(Secret);
        }
        if self.environment.is_none() {
            self.environment = var("HERCLE_BASE_URL")
                .filter(|u| !u.is_empty())
                .map(Environment::Custom);
        }
        self
    }

    /// Checks the configuration. Connections open later, on first use.
    pub fn build(self) -> Result<Client, ConfigError> {
        let environment = self.environment.ok_or(ConfigError::MissingEnvironment)?;
        let api_key = self.api_key.ok_or(ConfigError::MissingApiKey)?;
        let base_url = check_base_url(environment.base_url())?;
        Ok(Client {
            environment,
            base_url,
            api_key,
            #[cfg(feature = "rest")]
            rest: OnceLock::new(),
        })
    }
}

fn check_base_url(url: &str) -> Result<String, ConfigError> {
    let bad = |reason| ConfigError::BaseUrl {
        url: url.to_owned(),
        reason,
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected http(s)://host[:port]"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    if host.is_empty() {
        return Err(bad("the URL has no host"));
    }
    match scheme {
        "https" => {}
        "http" if hercle_tls::is_loopback(host) => {}
        "http" => return Err(bad("plain http is allowed only to this machine (loopback)")),
        _ => return Err(bad("expected http(s)://host[:port]")),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// A configured HercleX client: hand out the REST client and hub
/// connections from here. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    environment: Environment,
    base_url: String,
    api_key: Secret,
    #[cfg(feature = "rest")]
    rest: OnceLock<hercle_rest::Client>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder; see [`Builder`].
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The REST base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The REST client (built once; clones share its connection pool and
    /// retry budget).
    #[cfg(feature = "rest")]
    pub fn rest(&self) -> Result<hercle_rest::Client, hercle_rest::Error> {
        if let Some(c) = self.rest.get() {
            return Ok(c.clone());
        }
        let client = self.rest_builder().build()?;
        Ok(self.rest.get_or_init(|| client).clone())
    }

    /// A REST builder with this client's URL and key, to change timeouts or
    /// the retry policy.
    #[cfg(feature = "rest")]
    pub fn rest_builder(&self) -> hercle_rest::Builder {
        hercle_rest::Client::builder()
            .base_url(self.base_url.clone())
            .api_key(self.api_key.0.clone())
    }

    /// A hub builder with this client's URL, key and TLS configuration;
    /// `.connect().await` opens the connection.
    #[cfg(feature = "hub")]
    pub fn hub(&self) -> hercle_hub::HubBuilder {
        let builder =
            hercle_hub::HubBuilder::for_base_url(&self.base_url).api_key(self.api_key.0.clone());
        match hercle_tls::client_config() {
            Ok(config) => builder.tls_config(config),
            // The hub reports the same failure when it first needs TLS.
            Err(_) => builder,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn production_is_never_a_default() {
        let err = Client::builder().api_key("k").build().unwrap_err();
        assert_eq!(err, ConfigError::MissingEnvironment);
        let err = Client::builder()
            .from_vars(vars(&[("HERCLE_API_KEY", "k")]))
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::MissingEnvironment);
        let c = Client::builder()
            .environment(Environment::Production)
            .api_key("k")
            .build()
            .unwrap();
        assert!(c.environment().is_production());
        assert_eq!(c.base_url(), hercle_models::ops::SERVER_PRODUCTION);
    }

    #[test]
    fn environment_variables_fill_what_is_unset() {
        let env = vars(&[
            ("HERCLE_API_KEY", "from-env"),
            ("HERCLE_BASE_URL", "http://127.0.0.1:5080/"),
        ]);
        let c = Client::builder().from_vars(&env).build().unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:5080");
        let c = Client::builder()
            .environment(Environment::Sandbox)
            .from_vars(&env)
            .build()
            .unwrap();
        assert_eq!(c.base_url(), hercle_models::ops::SERVER_SANDBOX);
        assert!(!c.environment().is_production());
        let err = Client::builder()
            .environment(Environment::Sandbox)
            .from_vars(vars(&[("HERCLE_API_KEY", "")]))
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::MissingApiKey);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let build = |u: &str| Client::builder().base_url(u).api_key("k").build();
        assert!(build("http://localhost:1").is_ok());
        assert!(build("http://[::1]:8080/x").is_ok());
        assert!(build("https://example.com").is_ok());
        for bad in [
            "http://example.com",
            "ftp://127.0.0.1",
            "127.0.0.1:80",
            "http://:80",
        ] {
            assert!(
                matches!(build(bad), Err(ConfigError::BaseUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_key_never_shows() {
        let c = Client::builder()
            .base_url("http://127.0.0.1:1")
            .api_key("super-secret-key")
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("super-secret"));
        let b = Client::builder().api_key("super-secret-key");
        assert!(!format!("{b:?}").contains("super-secret"));
        #[cfg(feature = "rest")]
        assert!(!format!("{:?}", c.rest().unwrap()).contains("super-secret"));
    }

    #[cfg(feature = "rest")]
    #[test]
    fn rest_is_built_once() {
        let c = Client::builder()
            .base_url("http://127.0.0.1:1")
            .api_key("k")
            .build()
            .unwrap();
        let a = c.rest().unwrap();
        let b = c.rest().unwrap();
        assert_eq!(a.base_url(), b.base_url());
        assert_eq!(a.base_url(), "http://127.0.0.1:1");
    }
}
