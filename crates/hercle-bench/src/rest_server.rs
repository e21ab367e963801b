//! The local HTTP/1.1 server the REST benchmark loads: keep-alive, the
//! documented bodies of `GET /api/v1/pairs` and `GET /api/v1/user/balances`
//! (committed fixtures), 404 otherwise. Prints `PORT <n>` on stdout once
//! listening, so a script can start it on port 0.

use bytes::Bytes;
use http_body_util::Full;
use std::io::Write as _;

const PAIRS: &str = include_str!("../../../fixtures/rest/GetPairs/response-200-docs.json");
// The object form (quirk: balances come as an object or a one-item array).
const BALANCES: &str = include_str!("../../../fixtures/rest/GetBalances/response-200-postman.json");

pub(crate) fn main(port: Option<&str>) -> Result<(), String> {
    let port: u16 = port
        .unwrap_or("0")
        .parse()
        .map_err(|_| "bad port".to_owned())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(serve(port))
}

async fn serve(port: u16) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("PORT {}", addr.port());
    let _ = std::io::stdout().flush();
    let (pairs, balances) = (
        Bytes::from_static(PAIRS.as_bytes()),
        Bytes::from_static(BALANCES.as_bytes()),
    );
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (pairs, balances) = (pairs.clone(), balances.clone());
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let body = match req.uri().path() {
                        "/api/v1/pairs" => Some(pairs.clone()),
                        "/api/v1/user/balances" => Some(balances.clone()),
                        _ => None,
                    };
                    async move {
                        let resp = match body {
                            Some(b) => hyper::Response::builder()
                                .header("content-type", "application/json; charset=utf-8")
                                .body(Full::new(b)),
                            None => hyper::Response::builder()
                                .status(404)
                                .body(Full::new(Bytes::new())),
                        };
                        resp.map_err(|e| e.to_string())
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
