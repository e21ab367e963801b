//! `hercle-bench webhook`: the webhook receiver under the contract's load.
//!
//! A server on `127.0.0.1:$PORT` (or the port given as the first argument or
//! after `--port`) with the public key PEM in `$WEBHOOK_PUBLIC_KEY_FILE`,
//! serving `POST /webhooks/hercle` until SIGTERM (or Ctrl-C).
//!
//! `$HERCLE_WEBHOOK_MODE` picks what stands behind the door:
//! * `verify` (default): the contract's semantics, those of the docs' Express
//!   and Flask samples: the timestamp within 5 minutes, the double-hash
//!   signature over the raw body; 200 `{"success":true}`, else 400. Nothing
//!   else is looked at, as in the samples.
//! * `durable`: the whole `hercle-webhooks` receiver on SQLite
//!   (`$HERCLE_WEBHOOK_DB`, default `webhooks-bench.db`): also parses the
//!   envelope, deduplicates and stores durably (fsync per group commit)
//!   before answering, and runs a no-op handler.

use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use hercle_webhooks::{HandlerError, Receiver, SqliteStore, StoredEvent, Verifier};
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn port(args: &[String]) -> Result<u16, Error> {
    let from_args = match args {
        [flag, p, ..] if flag == "--port" => Some(p.clone()),
        [p, ..] if !p.starts_with('-') => Some(p.clone()),
        _ => None,
    };
    let text = from_args
        .or_else(|| std::env::var("PORT").ok())
        .ok_or("PORT is not set")?;
    Ok(text.parse()?)
}

pub(crate) fn main(args: Vec<String>) -> ExitCode {
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hercle-bench webhook: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), Error> {
    let port = port(args)?;
    let key_file = std::env::var("WEBHOOK_PUBLIC_KEY_FILE")
        .map_err(|_| "WEBHOOK_PUBLIC_KEY_FILE is not set")?;
    let verifier = Verifier::from_pems([std::fs::read_to_string(key_file)?.as_str()])?;
    let mode = std::env::var("HERCLE_WEBHOOK_MODE").unwrap_or_else(|_| "verify".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!(
            "hercle-bench webhook ({mode}) on {}",
            listener.local_addr()?
        );
        match mode.as_str() {
            "verify" => serve_verify(listener, Arc::new(verifier)).await,
            "durable" => {
                let db = std::env::var("HERCLE_WEBHOOK_DB")
                    .unwrap_or_else(|_| "webhooks-bench.db".into());
                let receiver = Receiver::new(verifier, SqliteStore::open(db)?);
                receiver.serve(listener, noop, stop()).await?;
                Ok(())
            }
            other => Err(format!("unknown HERCLE_WEBHOOK_MODE {other:?}").into()),
        }
    })
}

async fn noop(_e: StoredEvent) -> Result<(), HandlerError> {
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stop() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn answer(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

async fn verify_only(
    verifier: &Verifier,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    if req.method() != Method::POST || req.uri().path() != "/webhooks/hercle" {
        return answer(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#);
    }
    let (parts, body) = req.into_parts();
    let Ok(body) = http_body_util::Limited::new(body, 1024 * 1024)
        .collect()
        .await
    else {
        return answer(
            StatusCode::BAD_REQUEST,
            r#"{"error":"could not read body"}"#,
        );
    };
    match verifier.verify_headers(&parts.headers, &body.to_bytes()) {
        Ok(_) => answer(StatusCode::OK, r#"{"success":true}"#),
        Err(_) => answer(StatusCode::BAD_REQUEST, r#"{"error":"invalid signature"}"#),
    }
}

async fn serve_verify(listener: TcpListener, verifier: Arc<Verifier>) -> Result<(), Error> {
    let mut stop = std::pin::pin!(stop());
    loop {
        let (stream, _) = tokio::select! {
            () = &mut stop => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        let _ = stream.set_nodelay(true);
        let verifier = verifier.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let verifier = verifier.clone();
                async move { Ok::<_, std::convert::Infallible>(verify_only(&verifier, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
