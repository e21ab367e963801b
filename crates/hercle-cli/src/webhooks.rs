//! `hercle webhooks listen` and `hercle webhooks verify`.

use crate::failure::Failure;
use crate::output::{Format, Json};
use bytes::Bytes;
use hercle::webhooks::{
    EventStore, HandlerError, MemoryStore, Receiver, SqliteStore, StoredEvent, Verifier,
};
use http_body_util::Full;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// Receive or check signed webhooks.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum WebhooksCommand {
    /// Serve a receiver: verify each delivery, store it once, then print it
    /// and forward it, until Ctrl-C.
    Listen(ListenArgs),
    /// Check a saved delivery: its headers and body, as an HTTP request
    /// (`X-Webhook-Timestamp` and `X-Webhook-Signature` headers, a blank
    /// line, the body exactly as received).
    Verify(VerifyArgs),
}

/// `hercle webhooks listen`.
#[derive(clap::Args, Debug)]
pub(crate) struct ListenArgs {
    /// The public key (PEM) to verify with; repeat it during a key rotation.
    #[arg(long = "public-key", value_name = "PEM_FILE", required = true)]
    public_keys: Vec<PathBuf>,
    /// TCP port (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Store events in this SQLite file (deduplicated across restarts);
    /// without it they are deduplicated in memory only.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// POST each event's body to this http:// URL; a failure is retried later.
    #[arg(long, value_name = "URL")]
    forward: Option<String>,
}

/// `hercle webhooks verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The public key (PEM) to verify with (repeatable).
    #[arg(long = "public-key", value_name = "PEM_FILE", required = true)]
    public_keys: Vec<PathBuf>,
    /// The saved delivery.
    delivery: PathBuf,
    /// Also require the timestamp to be recent (the receiver's tolerance).
    #[arg(long)]
    fresh: bool,
}

fn verifier(files: &[PathBuf]) -> Result<Verifier, Failure> {
    let pems = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f).map_err(|e| Failure::Usage(format!("{}: {e}", f.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Verifier::from_pems(pems.iter().map(String::as_str))
        .map_err(|e| Failure::Usage(format!("public key: {e}")))
}

pub(crate) async fn run(cmd: WebhooksCommand, format: Format) -> Result<(), Failure> {
    match cmd {
        WebhooksCommand::Listen(args) => listen(args, format).await,
        WebhooksCommand::Verify(args) => verify(args, format),
    }
}

/// A saved delivery: optional request line, headers, blank line, body.
pub(crate) struct Delivery {
    pub(crate) timestamp: Option<String>,
    pub(crate) signature: Option<String>,
    pub(crate) body: Vec<u8>,
}

pub(crate) fn parse_delivery(raw: &[u8]) -> Result<Delivery, Failure> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        .ok_or_else(|| {
            Failure::Invalid("the delivery has no blank line between headers and body".to_owned())
        })?;
    let (head, body) = raw.split_at(split.0);
    let body = body.get(split.1..).unwrap_or_default().to_vec();
    let head = std::str::from_utf8(head)
        .map_err(|_| Failure::Invalid("the delivery's headers are not text".to_owned()))?;
    let mut d = Delivery {
        timestamp: None,
        signature: None,
        body,
    };
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue; // the request line
        };
        let value = value.trim().to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            hercle::webhooks::HEADER_TIMESTAMP => d.timestamp = Some(value),
            hercle::webhooks::HEADER_SIGNATURE => d.signature = Some(value),
            _ => {}
        }
    }
    Ok(d)
}

fn verify(args: VerifyArgs, format: Format) -> Result<(), Failure> {
    let verifier = verifier(&args.public_keys)?;
    let raw = std::fs::read(&args.delivery)
        .map_err(|e| Failure::Usage(format!("{}: {e}", args.delivery.display())))?;
    let d = parse_delivery(&raw)?;
    let (timestamp, signature) = match (&d.timestamp, &d.signature) {
        (Some(t), Some(s)) => (t.as_str(), s.as_str()),
        _ => {
            return Err(Failure::Invalid(
                "the delivery lacks X-Webhook-Timestamp or X-Webhook-Signature".to_owned(),
            ));
        }
    };
    let rejected =
        |e: hercle::webhooks::VerifyError| Failure::Invalid(format!("rejected: {}", e.reason()));
    if args.fresh {
        verifier.check_timestamp(timestamp).map_err(rejected)?;
    }
    let (scheme, key) = verifier
        .verify_signature(timestamp, signature, &d.body)
        .map_err(rejected)?;
    let event = hercle::webhooks::Event::parse(&d.body)
        .map_err(|e| Failure::Invalid(format!("verified, but the body is not an event: {e}")))?;
    let line = Json::Object(vec![
        ("verified".to_owned(), Json::Bool(true)),
        ("eventId".to_owned(), Json::String(event.event_id.clone())),
        (
            "eventType".to_owned(),
            Json::String(event.event.event_type().to_owned()),
        ),
        ("scheme".to_owned(), Json::String(format!("{scheme:?}"))),
        ("keyIndex".to_owned(), Json::Number(key.to_string())),
    ]);
    let mut out = std::io::stdout().lock();
    match format {
        Format::Ndjson => writeln!(out, "{}", line.compact())?,
        Format::Table => writeln!(
            out,
            "verified: {} {} (key {key})",
            event.event.event_type(),
            event.event_id
        )?,
    }
    Ok(())
}

async fn listen(args: ListenArgs, format: Format) -> Result<(), Failure> {
    let verifier = verifier(&args.public_keys)?;
    if let Some(url) = &args.forward
        && !url.starts_with("http://")
    {
        return Err(Failure::Usage(format!("--forward {url:?}: an http:// URL")));
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port))
        .await
        .map_err(|e| {
            Failure::Usage(format!("cannot listen on {}:{}: {e}", args.bind, args.port))
        })?;
    let addr = listener.local_addr()?;
    if format == Format::Table {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}/ (Ctrl-C stops)")?;
        out.flush()?;
    }
    let handler = Printer::new(format, args.forward);
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match args.db {
        Some(db) => {
            let store = SqliteStore::open(&db)
                .map_err(|e| Failure::Usage(format!("{}: {e}", db.display())))?;
            serve(Receiver::new(verifier, store), listener, handler, stop).await
        }
        None => {
            serve(
                Receiver::new(verifier, MemoryStore::new()),
                listener,
                handler,
                stop,
            )
            .await
        }
    }
}

async fn serve<S: EventStore + 'static>(
    receiver: Receiver<S>,
    listener: tokio::net::TcpListener,
    handler: Printer,
    stop: impl Future<Output = ()>,
) -> Result<(), Failure> {
    let handler = Arc::new(handler);
    receiver
        .serve(
            listener,
            move |event: StoredEvent| {
                let handler = Arc::clone(&handler);
                async move { handler.handle(event).await }
            },
            stop,
        )
        .await?;
    Ok(())
}

type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// Prints each stored event, then forwards it when asked to.
pub(crate) struct Printer {
    format: Format,
    forward: Option<(String, HttpClient)>,
}

impl Printer {
    pub(crate) fn new(format: Format, forward: Option<String>) -> Printer {
        let forward = forward.map(|url| {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http();
            (url, client)
        });
        Printer { format, forward }
    }

    async fn handle(&self, event: StoredEvent) -> Result<(), HandlerError> {
        if let Some((url, client)) = &self.forward {
            let req = hyper::Request::post(url.as_str())
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .header("x-hercle-event-id", event.event.event_id.as_str())
                .header("x-hercle-event-type", event.event.event_type.as_str())
                .body(Full::new(event.event.body.clone()))?;
            let status = client.request(req).await?.status();
            if !status.is_success() {
                return Err(format!("forward to {url}: HTTP {status}").into());
            }
        }
        let mut out = std::io::stdout().lock();
        match self.format {
            Format::Ndjson => {
                let body = Json::parse(&event.event.body)?;
                writeln!(out, "{}", body.compact())?;
            }
            Format::Table => writeln!(
                out,
                "{} {} ({} bytes)",
                event.event.event_type,
                event.event.event_id,
                event.event.body.len()
            )?,
        }
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn saved_deliveries() {
        let raw = b"POST /hook HTTP/1.1\r\nX-Webhook-Timestamp: 1700000000\r\nx-webhook-signature:  abc= \r\n\r\n{\"a\":1.10}\n";
        let d = parse_delivery(raw).unwrap();
        assert_eq!(d.timestamp.as_deref(), Some("1700000000"));
        assert_eq!(d.signature.as_deref(), Some("abc="));
        assert_eq!(d.body, b"{\"a\":1.10}\n");
        let d = parse_delivery(b"X-Webhook-Timestamp: 1\n\nbody").unwrap();
        assert_eq!(d.body, b"body");
        assert!(parse_delivery(b"no blank line").is_err());
    }
}
