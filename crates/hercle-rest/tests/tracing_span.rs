//! One span per call with operation, path template, status, attempt and
//! latency, and never the key or a body.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use hercle_rest::RetryPolicy;
use hercle_sandbox::{Config, RestFault};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use support::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Writes every span opening, field record and event as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Text<'a>(&'a mut String);
impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut log = self.0.lock().unwrap();
        let _ = write!(log, "\nspan {}", span.metadata().name());
        span.record(&mut Text(&mut log));
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut log = self.0.lock().unwrap();
        log.push_str("\nrecord");
        values.record(&mut Text(&mut log));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut log = self.0.lock().unwrap();
        log.push_str("\nevent");
        event.record(&mut Text(&mut log));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(start_paused = true)]
async fn a_span_per_call_without_secrets_or_bodies() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let sb = sandbox(Config::default()).await;
    let c = client(&sb, RetryPolicy::default());
    sb.inject_rest_fault(RestFault {
        status: Some(503),
        delay: None,
        count: 1,
    });
    c.get_pair_price(hercle_models::ops::GetPairPricePath {
        pair: "BTCUSDT".into(),
        size: d("0.5"),
    })
    .await
    .unwrap();
    let log = capture.0.lock().unwrap().clone();
    assert!(
        log.contains(
            "span hercle_rest.call operation=\"GetPairPrice\" path=\"/api/v1/price/{pair}/{size}\""
        ),
        "{log}"
    );
    assert!(log.contains("attempt=2"), "{log}");
    assert!(log.contains("status=200"), "{log}");
    assert!(log.contains("latency_us="), "{log}");
    assert!(!log.contains(KEY), "no key: {log}");
    assert!(!log.contains("buyPrice"), "no body: {log}");
}
