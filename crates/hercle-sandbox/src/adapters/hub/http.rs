//! The HTTP transports, with ASP.NET Core's semantics: Server-Sent Events
//! and long polling carry records to the client, HTTP POSTs carry the
//! client's records to the hub, and a DELETE ends the connection.
//!
//! * SSE: `GET {hub}?id=…` with `Accept: text/event-stream` holds a
//!   `text/event-stream` response open; every send is one event whose
//!   `data:` line holds the records.
//! * Long polling: the first `GET {hub}?id=…` answers 200 at once with an
//!   empty body (it only sets the connection up); later polls are held until
//!   there is a record (200), the poll timeout passes (200, empty) or the
//!   connection has ended (204). A newer poll replaces a held one, which
//!   then gets 204. Each poll carries one record: the .NET server sends all
//!   that are queued, which the protocol allows either way, but signalrcore
//!   (the client HercleX's docs recommend) reads only the first record of a
//!   poll and falls behind by one for every batch.
//! * `POST {hub}?id=…`: the body holds one or more records; 200 once
//!   handed over, 404 when the connection is gone, 409 while another POST
//!   of the same connection is in flight.
//! * `DELETE {hub}?id=…`: ends the connection (202).
//!
//! A missing `id` is 400, an unknown one 404. The `id` is the secret
//! connection token of negotiate v1 (v0: the connection id) handed out to
//! an authenticated negotiate, so these requests need no credentials of
//! their own (signalrcore sends none on polls); credentials that are sent
//! must be valid and the negotiating key's. Records POSTed before the first
//! GET are kept for the connection, as the .NET server's pipe keeps them.

use super::context::{Hub, claim_error, credentials};
use super::link::{HttpHandle, HttpLink, Inbound, Link, PollQueue};
use super::session::run_link;
use crate::adapters::http::{Body, Query, api_error, response, text};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use signalr_proto::negotiate::ID_QUERY;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Notify, mpsc};

/// How long a poll is held without records (the .NET `PollTimeout`).
const POLL_TIMEOUT: Duration = Duration::from_secs(90);
/// While a poll is held, the connection is reported alive this often, so
/// the client timeout only fires when polls stop coming.
const POLL_ALIVE: Duration = Duration::from_secs(5);
/// Records queued for the client before sends wait for a poll or the stream.
const OUTBOUND: usize = 64;
/// Largest POST body.
const MAX_POST: usize = 1 << 20;

/// Which HTTP transport a GET asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    ServerSentEvents,
    LongPolling,
}

/// A GET on the hub URL that is not a WebSocket upgrade.
pub(super) async fn get(hub: Arc<Hub>, req: Request<Incoming>, kind: Kind) -> Response<Body> {
    let query = Query::parse(req.uri().query());
    let Some(token) = query.get(ID_QUERY).map(str::to_owned) else {
        return text(StatusCode::BAD_REQUEST, "Connection ID required");
    };
    if kind == Kind::LongPolling
        && !hub.registry.is_pending(&token)
        && let Some(handle) = hub.registry.http(&hub.app, &token)
    {
        return poll(&hub, handle).await;
    }
    let key = match credentials(&hub.app, req.headers(), &query) {
        Ok(key) => key,
        Err(e) => return api_error(&e),
    };
    // Subscribed before the claim, so a fault aimed at every connection
    // reaches this one as soon as it exists.
    let faults = hub.app.hub_faults.subscribe();
    let claimed = match hub.registry.claim(&hub.app, &token, key.as_deref()) {
        Ok(c) => c,
        Err(e) => return claim_error(e),
    };
    let (inbound_tx, inbound_rx) = mpsc::channel(OUTBOUND.max(claimed.early.len()));
    for early in claimed.early {
        // Capacity was reserved above: this cannot fail.
        let _ = inbound_tx.try_send(Inbound::Data(early));
    }
    let (connection_id, key) = (claimed.connection_id, claimed.key);
    let (outbound_tx, outbound_rx) = mpsc::channel(OUTBOUND);
    let long_polling = kind == Kind::LongPolling;
    let link = HttpLink::new(inbound_rx, outbound_tx, long_polling);
    let (polls, body) = if long_polling {
        let queue = PollQueue {
            sent: outbound_rx,
            held: std::collections::VecDeque::new(),
        };
        (Some(Arc::new(Mutex::new(queue))), None)
    } else {
        (None, Some(outbound_rx))
    };
    hub.registry.attach_http(
        &connection_id,
        HttpHandle {
            connection_id: connection_id.clone(),
            inbound: inbound_tx,
            polls,
            replaced: Arc::new(Notify::new()),
            posting: Arc::new(AtomicBool::new(false)),
        },
    );
    tokio::spawn(run_link(
        Arc::clone(&hub),
        faults,
        Link::Http(link),
        connection_id,
        key,
        // Stateful reconnect is for WebSockets only, as in ASP.NET Core.
        false,
    ));
    match body {
        // The first poll only sets the connection up.
        None => response(StatusCode::OK, "text/plain", Vec::new()),
        Some(rx) => event_stream(rx),
    }
}

fn event_stream(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    let mut resp = Response::new(StreamBody::new(events).boxed());
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    resp
}

/// A later poll: held until records, the poll timeout or the end.
async fn poll(hub: &Hub, handle: HttpHandle) -> Response<Body> {
    let Some(polls) = handle.polls.clone() else {
        return text(
            StatusCode::BAD_REQUEST,
            "This connection does not use long polling",
        );
    };
    // Replace a held poll rather than queueing behind it.
    handle.replaced.notify_waiters();
    let replaced = handle.replaced.notified();
    tokio::pin!(replaced);
    let mut queue = tokio::select! {
        q = polls.lock() => q,
        () = &mut replaced => return response(StatusCode::NO_CONTENT, "text/plain", Vec::new()),
    };
    let _ = handle.inbound.try_send(Inbound::Activity);
    let deadline = tokio::time::Instant::now() + POLL_TIMEOUT;
    let mut alive = tokio::time::interval_at(tokio::time::Instant::now() + POLL_ALIVE, POLL_ALIVE);
    while queue.held.is_empty() {
        tokio::select! {
            chunk = queue.sent.recv() => match chunk {
                Some(chunk) => queue.hold(&chunk),
                None => {
                    // Ended and drained: the connection can go now.
                    hub.registry.remove(&handle.connection_id);
                    return response(StatusCode::NO_CONTENT, "text/plain", Vec::new());
                }
            },
            _ = alive.tick() => {
                let _ = handle.inbound.try_send(Inbound::Activity);
            }
            () = &mut replaced => {
                return response(StatusCode::NO_CONTENT, "text/plain", Vec::new());
            }
            () = tokio::time::sleep_until(deadline) => {
                return response(StatusCode::OK, "text/plain", Vec::new());
            }
        }
    }
    let record = queue.held.pop_front().unwrap_or_default();
    // The client is here right now; count the answer as activity too.
    let _ = handle.inbound.try_send(Inbound::Activity);
    response(StatusCode::OK, "text/plain", record.to_vec())
}

/// `POST {hub}?id=…`: the client's records.
pub(super) async fn post(hub: Arc<Hub>, req: Request<Incoming>) -> Response<Body> {
    let query = Query::parse(req.uri().query());
    let Some(token) = query.get(ID_QUERY) else {
        return text(StatusCode::BAD_REQUEST, "Connection ID required");
    };
    let Some(handle) = hub.registry.http(&hub.app, token) else {
        // Before the transport's first request the records wait for it.
        if hub.registry.is_pending(token) {
            let Ok(body) = Limited::new(req.into_body(), MAX_POST).collect().await else {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Request body too large or unreadable",
                );
            };
            if hub.registry.post_early(&hub.app, token, body.to_bytes()) {
                return response(StatusCode::OK, "text/plain", Vec::new());
            }
        }
        return text(StatusCode::NOT_FOUND, "No Connection with that ID");
    };
    if handle.posting.swap(true, Ordering::AcqRel) {
        return text(
            StatusCode::CONFLICT,
            "Another message is being sent on this connection",
        );
    }
    let body = Limited::new(req.into_body(), MAX_POST).collect().await;
    let sent = match body {
        Ok(body) => handle
            .inbound
            .send(Inbound::Data(body.to_bytes()))
            .await
            .is_ok(),
        Err(_) => {
            handle.posting.store(false, Ordering::Release);
            return text(
                StatusCode::BAD_REQUEST,
                "Request body too large or unreadable",
            );
        }
    };
    handle.posting.store(false, Ordering::Release);
    if sent {
        response(StatusCode::OK, "text/plain", Vec::new())
    } else {
        text(StatusCode::NOT_FOUND, "No Connection with that ID")
    }
}

/// `DELETE {hub}?id=…`: the client ends the connection.
pub(super) async fn delete(hub: Arc<Hub>, req: Request<Incoming>) -> Response<Body> {
    let query = Query::parse(req.uri().query());
    let Some(token) = query.get(ID_QUERY) else {
        return text(StatusCode::BAD_REQUEST, "Connection ID required");
    };
    let Some(handle) = hub.registry.http(&hub.app, token) else {
        return text(StatusCode::NOT_FOUND, "No Connection with that ID");
    };
    let _ = handle.inbound.send(Inbound::Closed).await;
    response(StatusCode::ACCEPTED, "text/plain", Vec::new())
}
