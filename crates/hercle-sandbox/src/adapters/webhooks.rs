//! Webhook delivery: business events from the exchange model, wrapped in
//! the documented PascalCase envelope, signed by the outbox
//! ([`crate::app::outbox`]), POSTed to every configured URL, retried with
//! backoff on anything but 2xx, and logged.

use crate::app::App;
use crate::app::outbox::Delivery;
use bytes::Bytes;
use hercle_models::{EmbeddedJson, Timestamp, WebhookEnvelope};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// The outbound HTTP side of one sandbox's webhooks.
struct Courier {
    app: Arc<App>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Courier {
    /// One POST; `Ok(status)` or a transport error.
    async fn post(&self, url: &str, body: &Bytes) -> (String, Result<u16, String>) {
        let headers = match self.app.outbox.sign(body) {
            Ok(h) => h,
            Err(e) => return (String::new(), Err(e.to_string())),
        };
        let mut req = hyper::Request::post(url).header("content-type", "application/json");
        for (k, v) in headers.pairs() {
            req = req.header(k, v);
        }
        let result = match req.body(Full::new(body.clone())) {
            Err(e) => Err(e.to_string()),
            Ok(req) => {
                match tokio::time::timeout(Duration::from_secs(10), self.client.request(req)).await
                {
                    Err(_) => Err("timed out after 10 s".to_owned()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Ok(Ok(resp)) => Ok(resp.status().as_u16()),
                }
            }
        };
        (headers.webhook_id, result)
    }

    /// Delivers one envelope to one URL, retrying on failure.
    async fn deliver(
        self: Arc<Self>,
        url: String,
        event_id: String,
        event_type: String,
        body: Bytes,
        twice: bool,
    ) {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let copies = if twice { 2 } else { 1 };
            let mut ok = false;
            for _ in 0..copies {
                let (webhook_id, result) = self.post(&url, &body).await;
                let (status, error) = match result {
                    Ok(s) => (Some(s), None),
                    Err(e) => (None, Some(e)),
                };
                ok = status.is_some_and(|s| (200..300).contains(&s));
                self.app.outbox.record(Delivery {
                    webhook_id,
                    event_id: event_id.clone(),
                    event_type: event_type.clone(),
                    url: url.clone(),
                    attempt,
                    status,
                    error,
                });
            }
            let Some(wait) = self
                .app
                .outbox
                .retry
                .get(usize::try_from(attempt - 1).unwrap_or(usize::MAX))
                .copied()
            else {
                break;
            };
            if ok {
                break;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// Takes new events from the account model every `poll` and delivers them.
pub(crate) async fn run(app: Arc<App>, poll: Duration) {
    let courier = Arc::new(Courier {
        client: Client::builder(TokioExecutor::new()).build_http(),
        app,
    });
    let app = &courier.app;
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let urls = app.outbox.urls();
        let (events, now, twice) = {
            let mut state = app.state();
            state.advance_statuses();
            let events = state.take_events();
            let ids: Vec<String> = events
                .iter()
                .map(|_| format!("evt_{}", state.new_id().replace('-', "")))
                .collect();
            (
                events.into_iter().zip(ids).collect::<Vec<_>>(),
                state.now(),
                app.faults().webhook_duplicates,
            )
        };
        if urls.is_empty() {
            continue;
        }
        for (event, event_id) in events {
            let envelope = WebhookEnvelope {
                event_id: Some(event_id.clone()),
                event_type: Some(event.event_type.clone()),
                timestamp: Some(Timestamp::from(now)),
                // Documented as a JSON-encoded string (quirk 11).
                data: EmbeddedJson::encode_as_string(&event.data).ok(),
                ..Default::default()
            };
            let Ok(body) = serde_json::to_vec(&envelope) else {
                continue;
            };
            let body = Bytes::from(body);
            for url in &urls {
                tokio::spawn(Arc::clone(&courier).deliver(
                    url.clone(),
                    event_id.clone(),
                    event.event_type.as_str().to_owned(),
                    body.clone(),
                    twice,
                ));
            }
        }
    }
}
