//! The sandbox's command-line flags, shared by the `hercle-sandbox` binary
//! and `hercle sandbox`: parse with clap, then [`SandboxArgs::into_config`].

use crate::config::{ApiKey, Config};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Serve an offline HercleX: REST under /api/v1, the SignalR hub at
/// /ExecutionLiveServer/v1, signed webhooks and fault injection under
/// /_sandbox/, until Ctrl-C.
#[derive(Clone, Debug, clap::Args)]
pub struct SandboxArgs {
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, short, default_value_t = 5080)]
    pub port: u16,
    /// Address to listen on. Only loopback unless you name another address
    /// here: the sandbox has no real authentication.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Seed for prices and ids: the same seed gives the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// An API key to accept (repeatable). Default: `sandbox-key`.
    #[arg(long = "api-key", value_name = "KEY")]
    pub api_keys: Vec<String>,
    /// An API key whose account has no approved KYC: answered 403 (repeatable).
    #[arg(long = "api-key-no-kyc", value_name = "KEY")]
    pub api_keys_no_kyc: Vec<String>,
    /// Where to POST signed webhooks, an http:// URL (repeatable).
    #[arg(long = "webhook-url", value_name = "URL", value_parser = webhook_url)]
    pub webhook_urls: Vec<String>,
    /// Interval between price updates of a subscription, e.g. `1s`, `250ms`.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub price_interval: Duration,
    /// How long a quote's price id can be used to place an order.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub quote_ttl: Duration,
    /// Print the webhook public key (PEM) that receivers verify with, and exit.
    #[arg(long)]
    pub print_webhook_public_key: bool,
}

impl SandboxArgs {
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }

    /// The configuration these flags describe, starting at `start_time`.
    pub fn into_config(self, start_time: time::OffsetDateTime) -> Config {
        let defaults = Config::default();
        let mut api_keys: Vec<ApiKey> = self
            .api_keys
            .into_iter()
            .map(|key| ApiKey {
                key,
                kyc_approved: true,
            })
            .collect();
        if api_keys.is_empty() {
            api_keys = defaults.api_keys.clone();
        }
        api_keys.extend(self.api_keys_no_kyc.into_iter().map(|key| ApiKey {
            key,
            kyc_approved: false,
        }));
        Config {
            seed: self.seed,
            api_keys,
            start_time,
            webhook_urls: self.webhook_urls,
            price_interval: self.price_interval,
            quote_ttl: self.quote_ttl,
            ..defaults
        }
    }
}

/// Serves what `args` describe until Ctrl-C, printing where (the
/// `hercle-sandbox` binary and `hercle sandbox`). With
/// `--print-webhook-public-key` prints the key and returns.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub async fn serve(args: SandboxArgs) -> std::io::Result<()> {
    let print_key = args.print_webhook_public_key;
    let custom_keys = !args.api_keys.is_empty();
    // Printing the key needs no port of its own: take any free one.
    let addr = if print_key {
        SocketAddr::from(([127, 0, 0, 1], 0))
    } else {
        args.addr()
    };
    let config = args.into_config(time::OffsetDateTime::now_utc());
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: serving on {addr}, reachable beyond this machine; the sandbox has no real authentication"
        );
    }
    let sandbox = crate::sandbox::Sandbox::bind(config, addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot serve on {addr}: {e}")))?;
    if print_key {
        print!("{}", sandbox.webhook_public_key_pem());
        return Ok(());
    }
    println!("HercleX sandbox listening");
    println!("  REST   {}/api/v1/pairs", sandbox.base_url());
    println!("  hub    {}", sandbox.hub_url());
    println!("  admin  {}/_sandbox/health", sandbox.base_url());
    if custom_keys {
        println!("  key    Authorization: Bearer <a key given with --api-key>");
    } else {
        println!("  key    Authorization: Bearer sandbox-key");
    }
    tokio::signal::ctrl_c().await
}

fn webhook_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("http://")
        .ok_or_else(|| format!("{s:?}: webhook URLs are plain http:// URLs"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{s:?}: the URL has no host"));
    }
    Ok(s.to_owned())
}

/// `250ms`, `1s`, `2m`, `1h`: a whole number and a unit.
fn duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 250ms or 2s"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("{s:?}: the unit is one of ms, s, m, h")),
    };
    if d.is_zero() {
        return Err(format!("{s:?}: must be longer than zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: SandboxArgs,
    }

    fn parse(args: &[&str]) -> Result<SandboxArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("hercle-sandbox").chain(args.iter().copied()))
            .map(|c| c.args)
    }

    #[test]
    fn defaults_serve_the_documented_key_on_loopback() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.addr(), SocketAddr::from(([127, 0, 0, 1], 5080)));
        let config = args.into_config(time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(config.api_keys.len(), 1);
        assert_eq!(config.api_keys[0].key, "sandbox-key");
        assert_eq!(config.price_interval, Duration::from_secs(1));
    }

    #[test]
    fn flags_reach_the_config() {
        let args = parse(&[
            "--port=0",
            "--seed=7",
            "--api-key=a",
            "--api-key=b",
            "--api-key-no-kyc=c",
            "--webhook-url=http://127.0.0.1:9/hook",
            "--price-interval=250ms",
            "--quote-ttl=2m",
        ])
        .unwrap();
        let config = args.into_config(time::OffsetDateTime::UNIX_EPOCH);
        let keys: Vec<_> = config
            .api_keys
            .iter()
            .map(|k| (k.key.as_str(), k.kyc_approved))
            .collect();
        assert_eq!(keys, [("a", true), ("b", true), ("c", false)]);
        assert_eq!(config.seed, 7);
        assert_eq!(config.webhook_urls, ["http://127.0.0.1:9/hook"]);
        assert_eq!(config.price_interval, Duration::from_millis(250));
        assert_eq!(config.quote_ttl, Duration::from_secs(120));
    }

    #[test]
    fn bad_flags_are_errors_that_say_why() {
        for (args, why) in [
            (&["--port=70000"][..], "70000"),
            (&["--price-interval=fast"], "number and a unit"),
            (&["--price-interval=0s"], "longer than zero"),
            (&["--quote-ttl=5d"], "one of ms, s, m, h"),
            (&["--webhook-url=https://example.com"], "plain http://"),
            (&["--bind=localhost"], "localhost"),
            (&["--no-such-flag"], "--no-such-flag"),
        ] {
            let err = parse(args).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(why), "{args:?}: {err}");
        }
    }
}
