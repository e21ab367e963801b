//! The admin API under `/_sandbox/`, for tests in any language:
//!
//! | Request | Effect |
//! |---|---|
//! | `GET health` | `{"status":"ok"}` |
//! | `POST faults/rest {"status":503,"delayMs":0,"count":1}` | the next `count` REST calls fail or wait |
//! | `POST faults/drop-responses {"perMille":200}` | that share of REST requests is processed, then the connection is dropped unanswered |
//! | `POST faults/maintenance {"seconds":60}` | hub negotiate answers 503 for that long |
//! | `POST faults/hub {"action":"drop"\|"stall"\|"close","connectionId":null,"allowReconnect":true}` | acts on live hub connections |
//! | `POST faults/webhooks {"duplicate":true}` | every webhook is delivered twice |
//! | `DELETE faults` | clears every fault |
//! | `POST deposit {"apiKey":"…","asset":"BTC","amount":1.5}` | credits an account |
//! | `POST webhooks/endpoints {"url":"http://127.0.0.1:9000/hook"}` | adds a webhook endpoint |
//! | `GET webhooks/deliveries` | the delivery log |
//! | `GET webhooks/public-key` | the PEM public key deliveries verify with |

use crate::adapters::http::error_reply;
use crate::app::faults::{HubFault, RestFault};
use crate::app::{App, Reply};
use hercle_models::decimal::ExactDecimal;
use serde::Deserialize;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestFaultBody {
    status: Option<u16>,
    delay_ms: Option<u64>,
    count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HubFaultBody {
    action: String,
    connection_id: Option<String>,
    allow_reconnect: Option<bool>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DepositBody {
    api_key: String,
    asset: String,
    amount: ExactDecimal,
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| Reply::json(400, &serde_json::json!({ "error": e.to_string() })))
}

fn done() -> Reply {
    Reply::json(200, &serde_json::json!({ "status": "ok" }))
}

pub(crate) fn handle(app: &App, method: &str, path: &str, body: &[u8]) -> Reply {
    let result = match (method, path) {
        ("GET", "health") => Ok(done()),
        ("POST", "faults/rest") => parse::<RestFaultBody>(body).map(|b| {
            app.faults().set_rest(RestFault {
                status: b.status,
                delay: b.delay_ms.map(Duration::from_millis),
                count: b.count.unwrap_or(1),
            });
            done()
        }),
        ("POST", "faults/drop-responses") => parse::<serde_json::Value>(body).map(|b| {
            let per_mille = b
                .get("perMille")
                .and_then(serde_json::Value::as_u64)
                .map_or(0, |p| u32::try_from(p.min(1000)).unwrap_or(1000));
            app.faults().set_drop_responses(per_mille);
            done()
        }),
        ("POST", "faults/maintenance") => parse::<serde_json::Value>(body).map(|b| {
            let secs = b
                .get("seconds")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(3600);
            app.faults().start_maintenance(Duration::from_secs(secs));
            done()
        }),
        ("POST", "faults/hub") => parse::<HubFaultBody>(body).and_then(|b| {
            let connection = b.connection_id;
            let fault = match b.action.as_str() {
                "drop" => HubFault::Drop { connection },
                "stall" => HubFault::Stall { connection },
                "close" => HubFault::Close {
                    connection,
                    allow_reconnect: b.allow_reconnect.unwrap_or(false),
                    error: b.error,
                },
                other => {
                    return Err(Reply::json(
                        400,
                        &serde_json::json!({ "error": format!("unknown action {other}") }),
                    ));
                }
            };
            // No receiver just means no live connection.
            let reached = app.hub_faults.send(fault).unwrap_or(0);
            Ok(Reply::json(
                200,
                &serde_json::json!({ "status": "ok", "connections": reached }),
            ))
        }),
        ("POST", "faults/webhooks") => parse::<serde_json::Value>(body).map(|b| {
            app.faults().webhook_duplicates = b
                .get("duplicate")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(true);
            done()
        }),
        ("DELETE", "faults") => {
            app.faults().clear();
            Ok(done())
        }
        ("POST", "deposit") => parse::<DepositBody>(body).and_then(|b| {
            let key = app
                .authenticate_token(&b.api_key)
                .map_err(|e| error_reply(&e))?;
            app.state().deposit(&key, &b.asset, b.amount.0);
            Ok(done())
        }),
        ("POST", "webhooks/endpoints") => parse::<serde_json::Value>(body).and_then(|b| {
            let url = b
                .get("url")
                .and_then(serde_json::Value::as_str)
                .filter(|u| u.starts_with("http://"));
            let Some(url) = url else {
                return Err(Reply::json(
                    400,
                    &serde_json::json!({ "error": "url must be an http:// URL" }),
                ));
            };
            app.outbox.add_url(url);
            Ok(done())
        }),
        ("GET", "webhooks/deliveries") => Ok(Reply::json(200, &app.outbox.deliveries())),
        ("GET", "webhooks/public-key") => Ok(Reply {
            status: 200,
            body: app.outbox.public_key_pem().as_bytes().to_vec(),
            headers: vec![("content-type", "application/x-pem-file".to_owned())],
        }),
        _ => Err(Reply::json(
            404,
            &serde_json::json!({ "error": format!("no admin route {method} /_sandbox/{path}") }),
        )),
    };
    result.unwrap_or_else(|r| r)
}
