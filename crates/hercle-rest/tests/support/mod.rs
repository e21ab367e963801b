//! Shared test setup: a sandbox on 127.0.0.1 and a client for it, and a
//! tiny canned-answer server for what the sandbox never sends.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use hercle_rest::{Client, RetryPolicy};
use hercle_sandbox::{Config, Sandbox};
use http_body_util::Full;
use std::sync::{Arc, Mutex};

pub const KEY: &str = "sandbox-key";

pub async fn sandbox(config: Config) -> Sandbox {
    Sandbox::start(config).await.unwrap()
}

pub fn client(sandbox: &Sandbox, retry: RetryPolicy) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(sandbox.base_url())
        .retry(retry)
        .build()
        .unwrap()
}

pub fn body<T: serde::de::DeserializeOwned>(json: &str) -> T {
    hercle_models::decode(json.as_bytes()).unwrap()
}

pub fn d(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

/// One canned answer: status, headers, body.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What a canned server saw: method, path and query, `Client-Id`.
pub type Seen = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

/// Serves `answers` in order (the last one repeats) on 127.0.0.1.
pub async fn canned(answers: Vec<Canned>) -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let answers = Arc::new(answers);
    let counter = Arc::new(Mutex::new(0usize));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (answers, counter, log) =
                (Arc::clone(&answers), Arc::clone(&counter), Arc::clone(&log));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    let n = {
                        let mut c = counter.lock().unwrap();
                        *c += 1;
                        *c - 1
                    };
                    log.lock().unwrap().push((
                        req.method().to_string(),
                        req.uri().to_string(),
                        req.headers()
                            .get("client-id")
                            .map(|v| v.to_str().unwrap().to_owned()),
                    ));
                    let a = answers[n.min(answers.len() - 1)].clone();
                    async move {
                        let mut resp = hyper::Response::builder().status(a.status);
                        for (k, v) in a.headers {
                            resp = resp.header(k, v);
                        }
                        Ok::<_, std::convert::Infallible>(
                            resp.body(Full::new(Bytes::from(a.body))).unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

pub fn answer(status: u16, body: &str) -> Canned {
    Canned {
        status,
        headers: vec![("content-type", "application/json".to_owned())],
        body: body.as_bytes().to_vec(),
    }
}
