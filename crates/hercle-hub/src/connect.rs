//! The SignalR connector: `negotiate` over HTTP(S), then the WebSocket
//! upgrade, fresh on every attempt.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use session_core::{ConnectError, ConnectStage, Connector, Retry};
use session_core::{WsTransport, open_websocket};
use signalr_proto::negotiate::{
    ACCESS_TOKEN_QUERY, ConnectInfo, ID_QUERY, LATEST_NEGOTIATE_VERSION, MAX_REDIRECTS,
    NEGOTIATE_PATH, NEGOTIATE_VERSION_QUERY, NegotiateError, NegotiateResponse, Negotiation,
    STATEFUL_RECONNECT_QUERY, TransportType,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A negotiate body larger than this is refused (they are a few hundred bytes).
const MAX_NEGOTIATE_BODY: usize = 64 * 1024;

/// A bearer token that never reaches logs or `Debug`.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How the client reaches the hub.
#[derive(Clone, Debug)]
pub(crate) struct ConnectOptions {
    pub(crate) hub_url: String,
    pub(crate) token: Option<Secret>,
    /// Send the token as `access_token` in the query instead of a header.
    pub(crate) token_in_query: bool,
    pub(crate) stateful_reconnect: bool,
    pub(crate) max_redirects: usize,
    pub(crate) max_frame: usize,
    /// The caller's TLS configuration; `None`: the shared one.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

impl ConnectOptions {
    /// The caller's TLS configuration, or the one `hercle-tls` shares with
    /// the REST client.
    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, ConnectError> {
        match &self.tls {
            Some(config) => Ok(Arc::clone(config)),
            None => hercle_tls::client_config().map_err(|e| fatal(format!("TLS: {e}"))),
        }
    }
}

/// What negotiate learnt: where to open the socket, and how.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The hub URL after redirects.
    pub(crate) url: String,
    /// The token to use there (a redirect may supply its own).
    pub(crate) token: Option<Secret>,
    /// The negotiate answer.
    pub info: ConnectInfo,
}

impl Negotiated {
    /// Whether the server granted stateful reconnect.
    pub fn stateful(&self) -> bool {
        self.info.use_stateful_reconnect
    }
}

/// The connector handed to session-core.
#[derive(Debug)]
pub(crate) struct HubConnector {
    pub(crate) opts: ConnectOptions,
}

fn pre(message: impl Into<String>) -> ConnectError {
    ConnectError::retryable(ConnectStage::PreConnect, message)
}

fn fatal(message: impl Into<String>) -> ConnectError {
    ConnectError::fatal(ConnectStage::PreConnect, message)
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
pub(crate) fn query_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` with `/negotiate` appended to its path, keeping its query.
fn negotiate_url(url: &str, version: bool, stateful: bool) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let mut out = format!("{}/{NEGOTIATE_PATH}", base.trim_end_matches('/'));
    let mut params: Vec<String> = query.into_iter().map(str::to_owned).collect();
    if version {
        params.push(format!(
            "{NEGOTIATE_VERSION_QUERY}={LATEST_NEGOTIATE_VERSION}"
        ));
    }
    if stateful {
        params.push(format!("{STATEFUL_RECONNECT_QUERY}=true"));
    }
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// What one negotiate POST answered.
struct HttpAnswer {
    status: u16,
    retry_after: Option<Duration>,
    body: Bytes,
}

impl HubConnector {
    async fn post(&self, url: &str, token: Option<&Secret>) -> Result<HttpAnswer, ConnectError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| fatal(format!("invalid hub URL: {e}")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => return Err(fatal(format!("unsupported URL scheme {other:?}"))),
        };
        let host = uri
            .host()
            .ok_or_else(|| fatal("hub URL without a host"))?
            .to_owned();
        if !https && !hercle_tls::is_loopback(&host) {
            return Err(fatal(
                "plain http/ws is only allowed to a loopback address; use https",
            ));
        }
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .map_err(|e| pre(format!("negotiate: connecting to {host}:{port}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let mut req = hyper::Request::post(path)
            .header(
                hyper::header::HOST,
                uri.authority().map_or(host.as_str(), |a| a.as_str()),
            )
            .header(hyper::header::CONTENT_LENGTH, "0");
        if let Some(t) = token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {}", t.0));
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| fatal(format!("negotiate request: {e}")))?;
        if https {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| fatal(format!("invalid TLS server name: {e}")))?;
            let tls = tokio_rustls::TlsConnector::from(self.opts.tls_config()?)
                .connect(name, tcp)
                .await
                .map_err(|e| pre(format!("negotiate: TLS with {host}: {e}")))?;
            send(tls, req).await
        } else {
            send(tcp, req).await
        }
    }

    /// Negotiate, following redirects, falling back to version 0 for a
    /// server that rejects the version parameter.
    async fn negotiate(&self) -> Result<Negotiated, ConnectError> {
        let mut url = self.opts.hub_url.clone();
        let mut token = self.opts.token.clone();
        let mut versioned = true;
        let mut redirects = 0usize;
        loop {
            let target = negotiate_url(&url, versioned, self.opts.stateful_reconnect);
            let answer = self.post(&target, token.as_ref()).await?;
            match answer.status {
                200 => {}
                400 | 404 if versioned => {
                    // A server predating negotiate versions: ask again as v0.
                    versioned = false;
                    continue;
                }
                401 | 403 => {
                    return Err(fatal(format!(
                        "negotiate refused with HTTP {}: check the API key",
                        answer.status
                    )));
                }
                s => {
                    let mut e = pre(format!("negotiate answered HTTP {s}"));
                    if let Some(d) = answer.retry_after {
                        e.retry = Retry::NotBefore(d);
                    }
                    return Err(e);
                }
            }
            let parsed = NegotiateResponse::from_slice(&answer.body)
                .and_then(NegotiateResponse::into_negotiation);
            match parsed {
                Ok(Negotiation::Connect(info)) => {
                    if !info
                        .available_transports
                        .iter()
                        .any(|t| t.transport == TransportType::WebSockets)
                        && !info.available_transports.is_empty()
                    {
                        return Err(fatal("the server does not offer the WebSockets transport"));
                    }
                    return Ok(Negotiated { url, token, info });
                }
                Ok(Negotiation::Redirect {
                    url: to,
                    access_token,
                }) => {
                    redirects += 1;
                    if redirects > self.opts.max_redirects.min(MAX_REDIRECTS) {
                        return Err(fatal(format!(
                            "negotiate redirected more than {} times",
                            self.opts.max_redirects
                        )));
                    }
                    url = to;
                    if let Some(t) = access_token {
                        token = Some(Secret(t));
                    }
                    versioned = true;
                }
                Err(e @ NegotiateError::Malformed { .. }) => return Err(pre(e.to_string())),
                Err(e) => return Err(fatal(e.to_string())),
            }
        }
    }

    fn ws_request(
        &self,
        n: &Negotiated,
    ) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, ConnectError> {
        let open = |m: String| ConnectError::fatal(ConnectStage::Open, m);
        let url = if let Some(rest) = n.url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = n.url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            n.url.clone()
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let mut url = format!(
            "{url}{sep}{ID_QUERY}={}",
            query_escape(n.info.id_query_value())
        );
        if self.opts.token_in_query
            && let Some(t) = &n.token
        {
            url.push_str(&format!("&{ACCESS_TOKEN_QUERY}={}", query_escape(&t.0)));
        }
        let mut req = url
            .into_client_request()
            .map_err(|e| open(format!("invalid WebSocket URL: {e}")))?;
        if !self.opts.token_in_query
            && let Some(t) = &n.token
        {
            let v = format!("Bearer {}", t.0)
                .parse()
                .map_err(|_| open("the token is not a valid header value".into()))?;
            req.headers_mut().insert("authorization", v);
        }
        Ok(req)
    }
}

async fn send<S>(io: S, req: hyper::Request<Full<Bytes>>) -> Result<HttpAnswer, ConnectError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| pre(format!("negotiate: HTTP handshake: {e}")))?;
    let driver = tokio::spawn(conn);
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| pre(format!("negotiate: {e}")))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = Limited::new(resp.into_body(), MAX_NEGOTIATE_BODY)
            .collect()
            .await
            .map_err(|e| pre(format!("negotiate: reading the body: {e}")))?
            .to_bytes();
        Ok(HttpAnswer {
            status,
            retry_after,
            body,
        })
    }
    .await;
    driver.abort();
    result
}

impl Connector for HubConnector {
    type Setup = Negotiated;
    type Transport = WsTransport;

    async fn pre_connect(&mut self) -> Result<Negotiated, ConnectError> {
        self.negotiate().await
    }

    async fn open(&mut self, setup: &Negotiated) -> Result<WsTransport, ConnectError> {
        let req = self.ws_request(setup)?;
        // Above the record limit, so an oversized record reaches the decoder
        // and is reported as such rather than as a transport failure.
        open_websocket(req, self.opts.max_frame, Some(self.opts.tls_config()?)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_url_keeps_the_hub_query() {
        assert_eq!(
            negotiate_url("http://h/hub?x=1", true, true),
            "http://h/hub/negotiate?x=1&negotiateVersion=1&useStatefulReconnect=true"
        );
        assert_eq!(
            negotiate_url("http://h/hub/", false, false),
            "http://h/hub/negotiate"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        assert_eq!(format!("{:?}", Secret("k".into())), "Secret(***)");
        assert_eq!(query_escape("a b+/="), "a%20b%2B%2F%3D");
    }
}
