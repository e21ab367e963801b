//! The SignalR hub server at `/ExecutionLiveServer/v1`, speaking the wire
//! protocol of an ASP.NET Core hub with the JSON hub protocol:
//!
//! * `POST …/negotiate?negotiateVersion=0|1`: authenticates (bearer header or
//!   `access_token` query), answers 503 during maintenance, and hands out a
//!   connection id (plus the secret token in version 1). Other methods: 405.
//! * `GET …?id=<token>` with a WebSocket upgrade: the WebSockets transport,
//!   JSON records in text frames. Without `id` a connection is created on the
//!   spot, which is what clients do with `skipNegotiation`. Unknown `id`: 404,
//!   an `id` that already has a socket: 409.
//! * Server-Sent Events and long polling, with HTTP POST sends and DELETE:
//!   see [`http`]. Negotiate lists all three transports.
//! * Stateful reconnect (`useStatefulReconnect=true`, WebSockets only): a
//!   socket reopened with the token of a live stateful connection is handed
//!   to its waiting session instead of getting 409.
//!
//! What a connection does once its transport is up (handshake, keep-alive,
//! dispatch, price streams, injected faults) is in [`session`], the same for
//! every transport; what each hub method means is in [`calls`].

pub(crate) mod calls;
mod http;
mod link;
mod registry;
mod session;

use crate::adapters::http::{Body, Query, error_reply, into_response};
use crate::app::App;
use crate::domain::error::{ApiError, ErrorKind};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use registry::Registry;
use signalr_proto::negotiate::{
    ACCESS_TOKEN_QUERY, AvailableTransport, ID_QUERY, LATEST_NEGOTIATE_VERSION,
    NEGOTIATE_VERSION_QUERY, NegotiateResponse, STATEFUL_RECONNECT_QUERY, TransferFormat,
    TransportType, select_negotiate_version,
};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The hub path; everything under it is routed here.
pub(crate) const HUB_PATH: &str = "/ExecutionLiveServer/v1";

/// The hub of one sandbox: the application, and the hub connections.
pub(crate) struct Hub {
    pub(crate) app: Arc<App>,
    /// Live and negotiated hub connections.
    pub(crate) registry: Registry,
}

impl Hub {
    pub(crate) fn new(app: Arc<App>) -> Arc<Hub> {
        Arc::new(Hub {
            app,
            registry: Registry::new(),
        })
    }
}

/// Serves negotiate and the transports.
pub(crate) async fn serve(hub: Arc<Hub>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path();
    let rest = path
        .strip_prefix(HUB_PATH)
        .unwrap_or(path)
        .trim_end_matches('/');
    match rest {
        "/negotiate" => negotiate(&hub, &req),
        "" => transport(hub, req).await,
        _ => text(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// The transports endpoint: a WebSocket upgrade, an SSE stream, a long
/// poll, a POST send or a DELETE.
async fn transport(hub: Arc<Hub>, req: Request<Incoming>) -> Response<Body> {
    match *req.method() {
        Method::GET if is_websocket_upgrade(req.headers()) => {
            let query = Query::parse(req.uri().query());
            websocket(hub, req, &query)
        }
        Method::GET if accepts_event_stream(req.headers()) => {
            http::get(hub, req, http::Kind::ServerSentEvents).await
        }
        Method::GET => http::get(hub, req, http::Kind::LongPolling).await,
        Method::POST => http::post(hub, req).await,
        Method::DELETE => http::delete(hub, req).await,
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    }
}

fn negotiate(hub: &Arc<Hub>, req: &Request<Incoming>) -> Response<Body> {
    if req.method() != Method::POST {
        return text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let query = Query::parse(req.uri().query());
    let key = match authenticate(&hub.app, req.headers(), &query) {
        Ok(key) => key,
        Err(e) => return api_error(&e),
    };
    // Bound first: the guard must not outlive this statement.
    let maintenance = hub.app.faults().in_maintenance();
    if maintenance {
        return api_error(&ApiError {
            kind: ErrorKind::Server(503),
            code: "maintenance",
            message: "The hub is in its maintenance window".to_owned(),
            param: None,
        });
    }
    let version = match select_negotiate_version(
        query.get(NEGOTIATE_VERSION_QUERY),
        0,
        LATEST_NEGOTIATE_VERSION,
    ) {
        Ok(v) => v,
        // The .NET server reports this in a 200 body, not as an HTTP error.
        Err(e) => {
            return json(
                StatusCode::OK,
                NegotiateResponse::error(e.to_string()).to_vec(),
            );
        }
    };
    // Stateful reconnect needs negotiate v1 (the token is what a reopened
    // socket presents) and only works over WebSockets, as in ASP.NET Core.
    let stateful = version >= 1
        && query
            .get(STATEFUL_RECONNECT_QUERY)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (connection_id, token) = hub.registry.negotiated(&hub.app, key, version, stateful);
    let transports = vec![
        AvailableTransport {
            transport: TransportType::WebSockets,
            transfer_formats: vec![TransferFormat::Text, TransferFormat::Binary],
        },
        AvailableTransport {
            transport: TransportType::ServerSentEvents,
            transfer_formats: vec![TransferFormat::Text],
        },
        AvailableTransport {
            transport: TransportType::LongPolling,
            transfer_formats: vec![TransferFormat::Text, TransferFormat::Binary],
        },
    ];
    let mut response = NegotiateResponse::connect(version, connection_id, token, transports);
    response.use_stateful_reconnect = stateful;
    json(StatusCode::OK, response.to_vec())
}

fn websocket(hub: Arc<Hub>, mut req: Request<Incoming>, query: &Query) -> Response<Body> {
    let headers = req.headers();
    let version_ok = headers
        .get("sec-websocket-version")
        .is_some_and(|v| v.as_bytes() == b"13");
    let Some(accept) = headers
        .get("sec-websocket-key")
        .filter(|_| version_ok)
        .map(|k| derive_accept_key(k.as_bytes()))
    else {
        return text(StatusCode::BAD_REQUEST, "Not a valid WebSocket request");
    };
    let key = match authenticate(&hub.app, headers, query) {
        Ok(key) => key,
        Err(e) => return api_error(&e),
    };
    let Ok(accept) = HeaderValue::from_str(&accept) else {
        return text(StatusCode::BAD_REQUEST, "Not a valid WebSocket request");
    };
    let registry = &hub.registry;
    let (connection_id, stateful) = match query.get(ID_QUERY) {
        // skipNegotiation: the connection is born with its socket.
        None => (registry.direct(&hub.app, key.clone()), false),
        Some(token) => match registry.claim(&hub.app, token, Some(&key)) {
            Ok(claimed) => (claimed.connection_id, claimed.stateful),
            // A stateful connection's client reopening its socket: the
            // waiting session takes it over.
            Err(registry::ClaimError::InUse)
                if let Some(session) = registry.reattach(&hub.app, token, &key) =>
            {
                if session.try_send(hyper::upgrade::on(&mut req)).is_err() {
                    return text(StatusCode::CONFLICT, "Connection ID already in use");
                }
                return switching_protocols(accept);
            }
            Err(e) => return claim_error(e),
        },
    };
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(session::run_websocket(
        hub,
        upgrade,
        connection_id,
        key,
        stateful,
    ));
    switching_protocols(accept)
}

fn switching_protocols(accept: HeaderValue) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::new()).boxed());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert("upgrade", HeaderValue::from_static("websocket"));
    h.insert("connection", HeaderValue::from_static("Upgrade"));
    h.insert("sec-websocket-accept", accept);
    resp
}

/// What the .NET server answers for a transport request whose `id` it refuses.
fn claim_error(e: registry::ClaimError) -> Response<Body> {
    match e {
        registry::ClaimError::Unknown => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
        registry::ClaimError::InUse => text(StatusCode::CONFLICT, "Connection ID already in use"),
        registry::ClaimError::OtherUser => text(StatusCode::FORBIDDEN, "Forbidden"),
    }
}

/// The requester's API key when it sent credentials (checked), `None` when
/// it sent none: the HTTP transports' `id` is itself the secret token.
fn credentials(app: &App, headers: &HeaderMap, query: &Query) -> Result<Option<String>, ApiError> {
    if headers.contains_key("authorization") || query.get(ACCESS_TOKEN_QUERY).is_some() {
        authenticate(app, headers, query).map(Some)
    } else {
        Ok(None)
    }
}

/// The API key from `Authorization: Bearer …` or, where clients cannot set
/// headers (browsers, some WebSocket libraries, SSE), the `access_token` query.
fn authenticate(app: &App, headers: &HeaderMap, query: &Query) -> Result<String, ApiError> {
    match (
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        query.get(ACCESS_TOKEN_QUERY),
    ) {
        (Some(header), _) => app.authenticate(Some(header)),
        (None, Some(token)) => app.authenticate_token(token),
        (None, None) => app.authenticate(None),
    }
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let has = |name: &str, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    has("connection", "upgrade") && has("upgrade", "websocket")
}

fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

fn api_error(err: &ApiError) -> Response<Body> {
    into_response(error_reply(err))
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    response(status, "application/json", body)
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    response(
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
    )
}

fn response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)).boxed());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::http::percent_decode;

    #[test]
    fn query_decodes_and_keeps_first() {
        let q = Query::parse(Some("id=a%2Bb&access_token=x+y&id=c&flag"));
        assert_eq!(q.get("id"), Some("a+b"));
        assert_eq!(q.get("access_token"), Some("x y"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("none"), None);
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
