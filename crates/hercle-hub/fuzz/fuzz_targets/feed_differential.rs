//! Differential: the price feed's fast scanner against the general path.
//! Whenever the fast path answers, the general path must give the identical
//! price update (same values, same decimal scales, same timestamps, same
//! envelope); `decode` must always equal the general path, and the
//! quote-only variant the hub's streams use must answer exactly when the
//! fast path does, with its clientId and quote. Nothing panics.
//!
//! The first byte picks what the rest is, so that mutations reach every
//! level of the nesting: 0 a whole record, 1 the envelope text (sent as the
//! argument string), 2 the quote text (sent as `data` inside a standard
//! envelope, itself sent as the argument string).
#![no_main]

use hercle_hub::feed::{self, FeedRecord};
use libfuzzer_sys::fuzz_target;

fn record_around_envelope(envelope: &str) -> Vec<u8> {
    let arg = serde_json::to_string(envelope).unwrap_or_default();
    format!(r#"{{"type":1,"target":"subscriptions","arguments":[{arg}]}}"#).into_bytes()
}

fn envelope_around_quote(quote: &str) -> String {
    let data = serde_json::to_string(quote).unwrap_or_default();
    format!(
        r#"{{"channel":"subscriptions","topic":"Execution","subject":"execution.feeds.priceUpdate","type":"message","clientId":"px-1","data":{data}}}"#
    )
}

fn check(record: &[u8]) {
    let general = feed::decode_general(record);
    let fast = feed::decode_fast(record);
    assert_eq!(
        feed::decode_fast_quote(record),
        fast.as_ref()
            .map(|u| (u.envelope.client_id.as_deref(), u.quote.clone()))
    );
    if let Some(fast) = fast {
        match &general {
            Ok(FeedRecord::Price(g)) => assert!(
                fast.identical(g),
                "paths differ on {:?}:\nfast {fast:#?}\ngeneral {g:#?}",
                String::from_utf8_lossy(record)
            ),
            other => panic!(
                "fast path answered on {:?}, general path said {other:?}",
                String::from_utf8_lossy(record)
            ),
        }
    }
    assert_eq!(feed::decode(record), general);
    if let Err(e) = &general {
        let _ = e.to_string();
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => check(rest),
        1 => check(&record_around_envelope(&String::from_utf8_lossy(rest))),
        _ => check(&record_around_envelope(&envelope_around_quote(
            &String::from_utf8_lossy(rest),
        ))),
    }
});
