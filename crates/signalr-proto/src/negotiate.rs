//! `POST {hub}/negotiate`: the HTTP exchange before a transport connects.
//!
//! Protocol facts a client or server needs, kept here because they are wire
//! format rather than I/O:
//!
//! * The client POSTs an empty body to the hub URL plus `/negotiate`, keeping
//!   the hub URL's own query, with `?negotiateVersion=1`
//!   ([`NEGOTIATE_VERSION_QUERY`]). A missing parameter means version 0. The
//!   server answers with the requested version, or its maximum when asked for
//!   more, or an `error` when asked for less than its minimum
//!   ([`select_negotiate_version`]). Only POST is mapped (other methods: 405).
//! * Version 1 responses carry a secret `connectionToken` next to the public
//!   `connectionId`; the token is what goes into the [`ID_QUERY`] (`id`)
//!   parameter of every transport request. In version 0 `connectionId` plays
//!   both roles. [`Negotiation::Connect`] exposes the right one.
//! * A response may instead redirect (`url` plus optional `accessToken`, used
//!   by Azure SignalR: negotiate again there with that bearer token; clients cap
//!   this at [`MAX_REDIRECTS`]) or fail (`error`).
//! * Unknown properties are ignored. A `ProtocolVersion` property means a
//!   classic ASP.NET (not Core) SignalR server, which is incompatible.
//! * Stateful reconnect: the client adds `useStatefulReconnect=true`
//!   ([`STATEFUL_RECONNECT_QUERY`]); a server that allows it answers
//!   `"useStatefulReconnect": true`, and the client then asks for handshake
//!   version 2.
//! * Tokens: HTTP requests send `Authorization: Bearer …`; WebSocket upgrades
//!   from browsers (and some servers' expectations) use the
//!   [`ACCESS_TOKEN_QUERY`] (`access_token`) parameter instead.
//!
//! ```
//! use signalr_proto::negotiate::{NegotiateResponse, Negotiation};
//! let body = br#"{"negotiateVersion":1,"connectionId":"pub","connectionToken":"secret",
//!                 "availableTransports":[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]}"#;
//! let Negotiation::Connect(info) = NegotiateResponse::from_slice(body)?.into_negotiation()? else {
//!     panic!("not a redirect")
//! };
//! assert_eq!(info.id_query_value(), "secret");
//! # Ok::<(), signalr_proto::negotiate::NegotiateError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// Query parameter carrying the negotiate version on the negotiate request.
pub const NEGOTIATE_VERSION_QUERY: &str = "negotiateVersion";
/// Query parameter identifying the connection on transport requests.
pub const ID_QUERY: &str = "id";
/// Query parameter carrying the bearer token where headers are unavailable.
pub const ACCESS_TOKEN_QUERY: &str = "access_token";
/// Query parameter on the negotiate request asking for stateful reconnect.
pub const STATEFUL_RECONNECT_QUERY: &str = "useStatefulReconnect";
/// Path segment appended to the hub URL for negotiation.
pub const NEGOTIATE_PATH: &str = "negotiate";
/// Newest negotiate version (the one with `connectionToken`).
pub const LATEST_NEGOTIATE_VERSION: u32 = 1;
/// Redirects the official clients follow before giving up.
pub const MAX_REDIRECTS: usize = 100;

/// A transport name from `availableTransports`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TransportType {
    /// `WebSockets`: full duplex.
    WebSockets,
    /// `ServerSentEvents`: server to client, text only; sends are HTTP POSTs.
    ServerSentEvents,
    /// `LongPolling`: server to client by polling GETs; sends are HTTP POSTs.
    LongPolling,
    /// A name this crate does not know.
    Other(String),
}

impl TransportType {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            TransportType::WebSockets => "WebSockets",
            TransportType::ServerSentEvents => "ServerSentEvents",
            TransportType::LongPolling => "LongPolling",
            TransportType::Other(s) => s,
        }
    }
}

impl From<String> for TransportType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "WebSockets" => TransportType::WebSockets,
            "ServerSentEvents" => TransportType::ServerSentEvents,
            "LongPolling" => TransportType::LongPolling,
            _ => TransportType::Other(s),
        }
    }
}

impl From<TransportType> for String {
    fn from(t: TransportType) -> Self {
        match t {
            TransportType::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// A transfer format: JSON needs `Text`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TransferFormat {
    /// UTF-8 text (WebSocket text frames).
    Text,
    /// Arbitrary bytes (WebSocket binary frames); not on SSE.
    Binary,
    /// A name this crate does not know.
    Other(String),
}

impl TransferFormat {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            TransferFormat::Text => "Text",
            TransferFormat::Binary => "Binary",
            TransferFormat::Other(s) => s,
        }
    }
}

impl From<String> for TransferFormat {
    fn from(s: String) -> Self {
        match s.as_str() {
            "Text" => TransferFormat::Text,
            "Binary" => TransferFormat::Binary,
            _ => TransferFormat::Other(s),
        }
    }
}

impl From<TransferFormat> for String {
    fn from(t: TransferFormat) -> Self {
        match t {
            TransferFormat::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// One entry of `availableTransports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailableTransport {
    /// Transport name.
    pub transport: TransportType,
    /// Formats it can carry.
    pub transfer_formats: Vec<TransferFormat>,
}

impl AvailableTransport {
    /// What an ASP.NET Core server offers by default, in its order:
    /// WebSockets (Text, Binary), ServerSentEvents (Text), LongPolling (Text, Binary).
    pub fn all() -> Vec<AvailableTransport> {
        use TransferFormat::{Binary, Text};
        vec![
            AvailableTransport {
                transport: TransportType::WebSockets,
                transfer_formats: vec![Text, Binary],
            },
            AvailableTransport {
                transport: TransportType::ServerSentEvents,
                transfer_formats: vec![Text],
            },
            AvailableTransport {
                transport: TransportType::LongPolling,
                transfer_formats: vec![Text, Binary],
            },
        ]
    }
}

/// The negotiate response body, every shape in one struct: what a server
/// serializes and what a client deserializes before calling
/// [`into_negotiation`](Self::into_negotiation).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NegotiateResponse {
    /// Version the server chose; absent means 0. Always written, since some
    /// clients (signalrcore) reject a response without it.
    #[serde(default)]
    pub negotiate_version: u32,
    /// Public connection id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// Secret connection token (version 1 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_token: Option<String>,
    /// Transports the server offers, in its preference order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub available_transports: Vec<AvailableTransport>,
    /// The server agreed to stateful reconnect.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_stateful_reconnect: bool,
    /// Redirect: negotiate again at this URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Redirect: bearer token to use from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Negotiation refused with this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Raw JSON of a `ProtocolVersion` property: only classic ASP.NET SignalR
    /// sends it. Never serialized.
    #[serde(
        rename = "ProtocolVersion",
        default,
        skip_serializing,
        deserialize_with = "raw_text"
    )]
    pub classic_protocol_version: Option<String>,
}

fn raw_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Box::<RawValue>::deserialize(d).map(|raw| Some(raw.get().to_owned()))
}

/// What the client should do after a successful negotiate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiation {
    /// Connect a transport.
    Connect(ConnectInfo),
    /// Negotiate again at `url`, with `access_token` as bearer token if present.
    Redirect {
        /// New hub URL.
        url: String,
        /// New bearer token.
        access_token: Option<String>,
    },
}

/// Connection details from a non-redirect negotiate response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectInfo {
    /// Negotiate version in use.
    pub negotiate_version: u32,
    /// Public id.
    pub connection_id: String,
    /// Secret token (equals `connection_id` in version 0).
    pub connection_token: String,
    /// Transports offered.
    pub available_transports: Vec<AvailableTransport>,
    /// Stateful reconnect was granted.
    pub use_stateful_reconnect: bool,
}

impl ConnectInfo {
    /// The value for the [`ID_QUERY`] parameter of transport requests.
    pub fn id_query_value(&self) -> &str {
        &self.connection_token
    }
}

/// Why a negotiate response cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiateError {
    /// The body is not a JSON object of the expected shape.
    Malformed {
        /// serde_json's description.
        reason: String,
    },
    /// The server refused: its `error` text.
    Server(String),
    /// The server is classic ASP.NET SignalR (it sent `ProtocolVersion`).
    ClassicAspNetSignalR,
    /// A required property is missing.
    MissingField(&'static str),
    /// The client asked for a version the server does not support (server side).
    UnsupportedVersion {
        /// The `negotiateVersion` query text.
        requested: String,
    },
}

impl fmt::Display for NegotiateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiateError::Malformed { reason } => {
                write!(f, "malformed negotiate response: {reason}")
            }
            NegotiateError::Server(e) => write!(f, "server refused negotiation: {e}"),
            NegotiateError::ClassicAspNetSignalR => {
                f.write_str("the server is classic ASP.NET SignalR, not ASP.NET Core SignalR")
            }
            NegotiateError::MissingField(name) => {
                write!(f, "negotiate response is missing '{name}'")
            }
            NegotiateError::UnsupportedVersion { requested } => {
                write!(f, "negotiate version '{requested}' is not supported")
            }
        }
    }
}

impl std::error::Error for NegotiateError {}

impl NegotiateResponse {
    /// Parses a response body. Unknown properties are ignored.
    pub fn from_slice(body: &[u8]) -> Result<Self, NegotiateError> {
        serde_json::from_slice(body).map_err(|e| NegotiateError::Malformed {
            reason: e.to_string(),
        })
    }

    /// The body bytes a server sends.
    pub fn to_vec(&self) -> Vec<u8> {
        // Only strings, numbers and bools: serialization cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Server side: a successful response. `connection_token` is included only
    /// for version 1 and later.
    pub fn connect(
        negotiate_version: u32,
        connection_id: impl Into<String>,
        connection_token: impl Into<String>,
        available_transports: Vec<AvailableTransport>,
    ) -> Self {
        NegotiateResponse {
            negotiate_version,
            connection_id: Some(connection_id.into()),
            connection_token: (negotiate_version >= 1).then(|| connection_token.into()),
            available_transports,
            ..NegotiateResponse::default()
        }
    }

    /// Server side: a refusal.
    pub fn error(message: impl Into<String>) -> Self {
        NegotiateResponse {
            error: Some(message.into()),
            ..NegotiateResponse::default()
        }
    }

    /// Server side: a redirect.
    pub fn redirect(url: impl Into<String>, access_token: Option<String>) -> Self {
        NegotiateResponse {
            url: Some(url.into()),
            access_token,
            ..NegotiateResponse::default()
        }
    }

    /// Client side: classifies the response in the order the official
    /// clients check it: `error`, classic server, redirect, connection.
    pub fn into_negotiation(self) -> Result<Negotiation, NegotiateError> {
        if let Some(error) = self.error {
            return Err(NegotiateError::Server(error));
        }
        if self.classic_protocol_version.is_some() {
            return Err(NegotiateError::ClassicAspNetSignalR);
        }
        if let Some(url) = self.url {
            return Ok(Negotiation::Redirect {
                url,
                access_token: self.access_token,
            });
        }
        let connection_id = self
            .connection_id
            .ok_or(NegotiateError::MissingField("connectionId"))?;
        let connection_token = if self.negotiate_version >= 1 {
            self.connection_token
                .ok_or(NegotiateError::MissingField("connectionToken"))?
        } else {
            connection_id.clone()
        };
        Ok(Negotiation::Connect(ConnectInfo {
            negotiate_version: self.negotiate_version,
            connection_id,
            connection_token,
            available_transports: self.available_transports,
            use_stateful_reconnect: self.use_stateful_reconnect,
        }))
    }
}

/// Server side: the version to answer with, given the `negotiateVersion`
/// query value (`None` when absent, meaning 0) and the server's range.
///
/// ```
/// use signalr_proto::negotiate::select_negotiate_version;
/// assert_eq!(select_negotiate_version(None, 0, 1), Ok(0));
/// assert_eq!(select_negotiate_version(Some("5"), 0, 1), Ok(1));
/// assert!(select_negotiate_version(Some("0"), 1, 1).is_err());
/// ```
pub fn select_negotiate_version(
    requested: Option<&str>,
    min: u32,
    max: u32,
) -> Result<u32, NegotiateError> {
    let unsupported = || NegotiateError::UnsupportedVersion {
        requested: requested.unwrap_or("").to_owned(),
    };
    let version = match requested {
        None => 0,
        Some(text) => text.trim().parse::<u32>().map_err(|_| unsupported())?,
    };
    if version < min {
        Err(unsupported())
    } else {
        Ok(version.min(max))
    }
}
