//! What every part of the hub shares: the [`Hub`] (the application and
//! the connection registry), and how a transport request's credentials
//! and `id` are checked.

use super::registry::{self, Registry};
use crate::adapters::http::{Body, Query, text};
use crate::app::App;
use crate::domain::error::ApiError;
use hyper::Response;
use hyper::StatusCode;
use hyper::header::HeaderMap;
use signalr_proto::negotiate::ACCESS_TOKEN_QUERY;
use std::sync::Arc;

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

/// What the .NET server answers for a transport request whose `id` it refuses.
pub(super) fn claim_error(e: registry::ClaimError) -> Response<Body> {
    match e {
        registry::ClaimError::Unknown => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
        registry::ClaimError::InUse => text(StatusCode::CONFLICT, "Connection ID already in use"),
        registry::ClaimError::OtherUser => text(StatusCode::FORBIDDEN, "Forbidden"),
    }
}

/// The requester's API key when it sent credentials (checked), `None` when
/// it sent none: the HTTP transports' `id` is itself the secret token.
pub(super) fn credentials(
    app: &App,
    headers: &HeaderMap,
    query: &Query,
) -> Result<Option<String>, ApiError> {
    if headers.contains_key("authorization") || query.get(ACCESS_TOKEN_QUERY).is_some() {
        authenticate(app, headers, query).map(Some)
    } else {
        Ok(None)
    }
}

/// The API key from `Authorization: Bearer …` or, where clients cannot set
/// headers (browsers, some WebSocket libraries, SSE), the `access_token` query.
pub(super) fn authenticate(
    app: &App,
    headers: &HeaderMap,
    query: &Query,
) -> Result<String, ApiError> {
    match (
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        query.get(ACCESS_TOKEN_QUERY),
    ) {
        (Some(header), _) => app.authenticate(Some(header)),
        (None, Some(token)) => app.authenticate_token(token),
        (None, None) => app.authenticate(None),
    }
}
