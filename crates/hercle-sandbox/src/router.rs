//! The top: one HTTP listener, and the path routing that hands each
//! request to its adapter: the hub (`/ExecutionLiveServer/v1...`), the
//! admin API (`/_sandbox/...`) and REST (everything else). Nothing but
//! `sandbox.rs` (the `Sandbox` handle) imports this module.

use crate::adapters::http::{Body, error_reply, into_response};
use crate::adapters::hub::Hub;
use crate::adapters::rest::{DroppedResponse, RestRequest};
use crate::adapters::{admin, hub, rest};
use crate::app::App;
use crate::domain::error::ApiError;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// What a connection needs: the application and the hub's connections.
pub(crate) struct Router {
    app: Arc<App>,
    hub: Arc<Hub>,
}

impl Router {
    pub(crate) fn new(app: Arc<App>) -> Arc<Router> {
        Arc::new(Router {
            hub: Hub::new(Arc::clone(&app)),
            app,
        })
    }
}

/// Accepts connections for ever, each served on its own task.
pub(crate) async fn accept_loop(listener: TcpListener, router: Arc<Router>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let router = Arc::clone(&router);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = hyper::service::service_fn(move |req| serve(Arc::clone(&router), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(io, service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}

/// Serves one HTTP request.
async fn serve(
    router: Arc<Router>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DroppedResponse> {
    let path = req.uri().path().to_owned();
    if path.starts_with(hub::HUB_PATH) {
        return Ok(hub::serve(Arc::clone(&router.hub), req).await);
    }
    let method = req.method().as_str().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let client_id = header("client-id");
    let content_type = header("content-type");
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(into_response(error_reply(&ApiError::invalid(
                "body",
                "Request body too large or unreadable",
            ))));
        }
    };
    if let Some(path) = path.strip_prefix("/_sandbox/") {
        return Ok(into_response(admin::handle(
            &router.app,
            &method,
            path,
            &body,
        )));
    }
    let reply = rest::serve(
        &router.app,
        &RestRequest {
            method: &method,
            path: &path,
            query: &query,
            authorization: authorization.as_deref(),
            client_id: client_id.as_deref(),
            content_type: content_type.as_deref(),
            body: &body,
        },
    )
    .await?;
    Ok(into_response(reply))
}
