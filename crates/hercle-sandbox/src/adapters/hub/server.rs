//! The hub's HTTP entry: negotiate, and the transports endpoint that
//! upgrades to a WebSocket or hands the request to the HTTP transports
//! ([`super::http`]).

use super::context::{Hub, authenticate, claim_error};
use super::registry;
use super::{http, session};
use crate::adapters::http::{Body, Query, api_error, json, text};
use crate::domain::error::{ApiError, ErrorKind};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use signalr_proto::negotiate::{
    AvailableTransport, ID_QUERY, LATEST_NEGOTIATE_VERSION, NEGOTIATE_VERSION_QUERY,
    NegotiateResponse, STATEFUL_RECONNECT_QUERY, TransferFormat, TransportType,
    select_negotiate_version,
};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The hub path; everything under it is routed here.
pub(crate) const HUB_PATH: &str = "/ExecutionLiveServer/v1";

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
