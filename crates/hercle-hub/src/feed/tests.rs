#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use hercle_models::catalog::HubMethod;
use hercle_models::{Decimal, HubChannel};

const QUOTE: &str = r#"{"id":"23b8c1e9-3924-46de-beb1-3b9046685257","pair":"BTCUSDT","buyPrice":97016.27,"sellPrice":97010.77,"markPrice":97013.52,"size":0.01,"timestamp":"2023-10-11T23:00:57.93094Z"}"#;

/// The envelope text around `data` (a JSON string holding `data_json`).
fn envelope(data_json: &str) -> String {
    format!(
        r#"{{"channel":"subscriptions","topic":"Execution","subject":"execution.feeds.priceUpdate","type":"message","clientId":"px-BTCUSDT-1","data":{}}}"#,
        serde_json::to_string(data_json).unwrap()
    )
}

/// A `subscriptions` record whose argument is `envelope_json` as a string.
fn record(envelope_json: &str) -> Vec<u8> {
    format!(
        r#"{{"type":1,"target":"subscriptions","arguments":[{}]}}"#,
        serde_json::to_string(envelope_json).unwrap()
    )
    .into_bytes()
}

/// A price update whose `data` is `data_json`, with the fields every quote
/// must have (`id`, `pair`, `buyPrice`) added in front where it lacks them,
/// so each test varies only what it is about.
fn price(data_json: &str) -> Vec<u8> {
    let mut data = data_json.to_owned();
    for (key, value) in [("buyPrice", "1"), ("pair", "\"P\""), ("id", "\"i\"")] {
        if !data.contains(&format!("\"{key}\"")) {
            let sep = if data.trim() == "{}" { "" } else { "," };
            data = data.replacen('{', &format!("{{\"{key}\":{value}{sep}"), 1);
        }
    }
    record(&envelope(&data))
}

/// The fast path answers, and exactly as the general path does.
#[track_caller]
fn fast(rec: &[u8]) -> PriceUpdate {
    let fast = decode_fast(rec).expect("the fast path should take this record");
    match decode_general(rec) {
        Ok(FeedRecord::Price(general)) => {
            assert!(fast.identical(&general), "{fast:#?}\n!=\n{general:#?}");
        }
        other => panic!("fast path answered, general path said {other:?}"),
    }
    assert_eq!(decode(rec), Ok(FeedRecord::Price(fast.clone())));
    let (client_id, quote) = decode_fast_quote(rec).expect("the quote-only variant answers too");
    assert_eq!(client_id, fast.envelope.client_id.as_deref());
    assert_eq!(quote, fast.quote);
    fast
}

/// The fast path gives up; `decode` is the general path's answer.
#[track_caller]
fn fallback(rec: &[u8]) -> Result<FeedRecord<'_>, FeedError> {
    assert_eq!(decode_fast(rec), None, "{}", String::from_utf8_lossy(rec));
    assert_eq!(decode_fast_quote(rec), None);
    let general = decode_general(rec);
    assert_eq!(decode(rec), general);
    general
}

#[track_caller]
fn fallback_price(rec: &[u8]) -> PriceUpdate {
    match fallback(rec) {
        Ok(FeedRecord::Price(u)) => u,
        other => panic!("expected a price update, got {other:?}"),
    }
}

fn dec(text: &str) -> Decimal {
    hercle_models::decimal::parse_exact(text).unwrap()
}

/// `decode_fast_quote` skips building the envelope, which is only sound
/// while the envelope has no required field: were one added to the
/// description, a record without it would decode there and fail here.
#[test]
fn envelope_has_no_required_field() {
    let empty: HubEnvelope = hercle_models::decode(b"{}").unwrap();
    assert_eq!(empty, HubEnvelope::default());
}

#[test]
fn constants_agree_with_the_catalog() {
    let m = HubMethod::find("SubscribePairPriceChannel").unwrap();
    assert_eq!(m.channel, SUBSCRIPTIONS_TARGET);
    assert_eq!(m.subjects, [PRICE_UPDATE_SUBJECT]);
}

#[test]
fn the_wire_layout_takes_the_fast_path() {
    let u = fast(&price(QUOTE));
    assert_eq!(u.envelope.channel, Some(HubChannel::Subscriptions));
    assert_eq!(u.envelope.client_id.as_deref(), Some("px-BTCUSDT-1"));
    assert_eq!(u.envelope.data, None);
    let q = &u.quote;
    assert_eq!(q.id, "23b8c1e9-3924-46de-beb1-3b9046685257");
    assert_eq!(q.pair, "BTCUSDT");
    assert_eq!(q.buy_price.to_string(), "97016.27");
    assert_eq!(q.size.unwrap().to_string(), "0.01");
    let t = q.timestamp.as_ref().unwrap();
    assert_eq!(t.raw_text(), Some("2023-10-11T23:00:57.93094Z"));
    assert_eq!(t.get().unwrap().nanosecond(), 930_940_000);
}

#[test]
fn the_bench_contract_example_takes_the_fast_path() {
    let rec = br#"{"type":1,"target":"subscriptions","arguments":["{\"channel\":\"subscriptions\",\"topic\":\"Execution\",\"subject\":\"execution.feeds.priceUpdate\",\"type\":\"message\",\"clientId\":\"cid\",\"data\":\"{\\\"id\\\":\\\"23b8c1e9-3924-46de-beb1-3b9046685257\\\",\\\"pair\\\":\\\"BTCUSDT\\\",\\\"buyPrice\\\":97016.27,\\\"sellPrice\\\":97010.77,\\\"markPrice\\\":97013.52,\\\"size\\\":0.01,\\\"timestamp\\\":123456789012}\"}"]}"#;
    let u = fast(rec);
    assert_eq!(
        u.quote.timestamp.unwrap().unix_millis(),
        Some(123_456_789_012)
    );
}

#[test]
fn numbers_keep_every_digit_and_their_scale() {
    for (text, want) in [
        ("123456789.123456789", "123456789.123456789"), // 18 significant digits
        ("999999999999999999", "999999999999999999"),
        ("0.00000001", "0.00000001"),
        ("26844.070", "26844.070"),
        ("1e-8", "0.00000001"),
        ("1E-8", "0.00000001"),
        ("2.5e3", "2500"),
        ("2.5E+3", "2500"),
        ("0", "0"),
        ("-1.50", "-1.50"),
        // Around the 19 digits the scanner builds itself; past them, parse_exact.
        ("9999999999999999999", "9999999999999999999"),
        ("999999999.9999999999", "999999999.9999999999"),
        ("0.000000000000000001", "0.000000000000000001"),
        ("18446744073709551615", "18446744073709551615"),
        ("18446744073709551616", "18446744073709551616"),
        ("12345678901234567890.5", "12345678901234567890.5"),
        ("4294967296.1", "4294967296.1"),
        ("10.10", "10.10"),
        (
            "79228162514264337593543950335",
            "79228162514264337593543950335",
        ),
        (
            "0.0000000000000000000000000001",
            "0.0000000000000000000000000001",
        ),
    ] {
        let u = fast(&price(&format!(r#"{{"buyPrice":{text}}}"#)));
        let got = u.quote.buy_price;
        assert_eq!(got.to_string(), want, "{text}");
        assert_eq!(got.serialize(), dec(text).serialize(), "{text}");
    }
}

#[test]
fn negative_zero_is_what_the_models_make_of_it() {
    for text in ["-0", "-0.0", "-0e3", "0.000"] {
        let u = fast(&price(&format!(r#"{{"size":{text}}}"#)));
        assert_eq!(
            u.quote.size.unwrap().serialize(),
            dec(text).serialize(),
            "{text}"
        );
    }
}

#[test]
fn numbers_the_models_refuse_go_to_the_general_path_and_fail_there() {
    for text in [
        "79228162514264337593543950336",
        "1e29",
        "1e400",
        "0.00000000000000000000000000001",
        "01.5",
        // Leading zeros after a sign: parse_exact alone would take these.
        "-00",
        "-000000000000000000",
        "-01.5",
        "1.",
        ".5",
        "+1",
        "1.5.1",
        "\"1.5\"",
        "NaN",
        "true",
    ] {
        let rec = price(&format!(r#"{{"buyPrice":{text}}}"#));
        match fallback(&rec) {
            // About the number (a syntax error has no path), not a missing field.
            Err(FeedError::Data(e)) => assert!(
                ["buyPrice", "?"].contains(&e.path()) && !e.to_string().contains("missing"),
                "{text}: {e}"
            ),
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn timestamps_are_the_models_timestamps() {
    for ts in [
        r#""2023-10-11T23:00:57Z""#,
        r#""2023-10-12T01:00:57.123456789+02:00""#,
        r#""2023-10-11T23:00:57""#,
        r#""0001-01-01T00:00:00""#,
        r#""""#,
        r#""2023-07-23T32:35.000Z""#,
        "0",
        "1718000000123",
        "999999999999999999",
    ] {
        for key in ["timestamp", "timeStamp"] {
            let u = fast(&price(&format!(r#"{{"{key}":{ts}}}"#)));
            assert!(u.quote.timestamp.is_some(), "{key} {ts}");
        }
    }
}

#[test]
fn timestamps_it_does_not_read_fall_back() {
    // i64 range but longer than the fast path reads; negative; float; too big.
    for (ts, ok) in [
        ("9223372036854775807", true),
        ("-1000", true),
        ("-0", false),
        ("1.5", false),
        ("1e3", false),
        ("18446744073709551616", false),
        ("01", false),
        ("null", true),
    ] {
        let rec = price(&format!(r#"{{"timestamp":{ts}}}"#));
        assert_eq!(
            matches!(fallback(&rec), Ok(FeedRecord::Price(_))),
            ok,
            "{ts}: {:?}",
            fallback(&rec)
        );
    }
}

#[test]
fn field_order_and_missing_fields_do_not_matter() {
    fast(&price(
        r#"{"timestamp":"2023-10-11T23:00:57Z","size":1,"markPrice":2,"sellPrice":3,"buyPrice":4,"pair":"X","id":"y"}"#,
    ));
    // Optional fields may be missing; a required one is a decode error that
    // names it, from the general path.
    fast(&price("{}"));
    match fallback(&record(&envelope(r#"{"id":"i","buyPrice":1}"#))) {
        Err(FeedError::Data(e)) => assert!(e.to_string().contains("pair"), "{e}"),
        other => panic!("{other:?}"),
    }
    let env = r#"{"data":"{\"pair\":\"ETHEUR\",\"id\":\"i\",\"buyPrice\":2}","clientId":"c","subject":"execution.feeds.priceUpdate"}"#;
    let u = fast(&record(env));
    assert_eq!(u.envelope.channel, None);
    assert_eq!(u.quote.pair, "ETHEUR");
}

#[test]
fn unknown_fields_fall_back_and_are_kept() {
    let u = fallback_price(&price(r#"{"id":"q","buyPrice":1,"venue":"x"}"#));
    assert_eq!(u.quote.extra["venue"].get(), r#""x""#);
    let env = envelope(QUOTE).replacen('{', r#"{"sequence":12,"#, 1);
    let u = fallback_price(&record(&env));
    assert_eq!(u.envelope.extra["sequence"].get(), "12");
}

#[test]
fn repeated_keys_fall_back_and_the_last_wins() {
    let u = fallback_price(&price(r#"{"buyPrice":1,"buyPrice":2}"#));
    assert_eq!(u.quote.buy_price, dec("2"));
    let u = fallback_price(&price(
        r#"{"timestamp":"2023-10-11T23:00:57Z","timeStamp":"2024-01-01T00:00:00Z"}"#,
    ));
    assert_eq!(
        u.quote.timestamp.unwrap().raw_text(),
        Some("2024-01-01T00:00:00Z")
    );
    let env = envelope(QUOTE).replacen('{', r#"{"clientId":"first","#, 1);
    let u = fallback_price(&record(&env));
    assert_eq!(u.envelope.client_id.as_deref(), Some("px-BTCUSDT-1"));
}

#[test]
fn escapes_non_ascii_and_whitespace_fall_back() {
    for (data, id) in [
        (r#"{"id":"a\/b"}"#, "a/b"),
        (r#"{"id":"caf\u00e9"}"#, "café"),
        (r#"{"id":"tab\there"}"#, "tab\there"),
        (r#"{"id":"q\"uote"}"#, "q\"uote"),
        (r#"{ "id" : "spaced" }"#, "spaced"),
        ("{\n\"id\":\"newline\"}", "newline"),
    ] {
        let u = fallback_price(&price(data));
        assert_eq!(u.quote.id, id, "{data}");
    }
    // A pretty-printed envelope, and an escape in an envelope value.
    let pretty = envelope(QUOTE).replace(",\"", ", \"");
    fallback_price(&record(&pretty));
    let escaped = envelope(QUOTE).replace("px-BTCUSDT-1", "px\\/1");
    let u = fallback_price(&record(&escaped));
    assert_eq!(u.envelope.client_id.as_deref(), Some("px/1"));
}

#[test]
fn raw_non_ascii_is_read_and_raw_control_characters_fall_back() {
    let u = fast(&price(r#"{"id":"café ₿ 🚀","pair":"ÉTH"}"#));
    assert_eq!(
        (u.quote.id.as_str(), u.quote.pair.as_str()),
        ("café ₿ 🚀", "ÉTH")
    );
    let env = envelope(QUOTE).replace("px-BTCUSDT-1", "px-€");
    assert_eq!(
        fast(&record(&env)).envelope.client_id.as_deref(),
        Some("px-€")
    );
    // JSON refuses a raw control character in a string: the general path
    // reports it, whichever level's value holds it.
    for raw in [0x01, b'\t', 0x1f] {
        for with_x in [
            price(r#"{"id":"aXb"}"#),
            record(&envelope(QUOTE).replace("px-", "pxX")),
        ] {
            let rec: Vec<u8> = with_x
                .iter()
                .map(|&c| if c == b'X' { raw } else { c })
                .collect();
            assert!(fallback(&rec).is_err(), "{raw:#x}");
        }
    }
}

#[test]
fn nulls_fall_back() {
    let u = fallback_price(&price(r#"{"sellPrice":null,"timestamp":null}"#));
    assert_eq!((u.quote.sell_price, u.quote.timestamp), (None, None));
    // null is no value for a required field.
    assert!(matches!(
        fallback(&price(r#"{"id":null}"#)),
        Err(FeedError::Data(_))
    ));
    let env = envelope(QUOTE).replace(r#""topic":"Execution""#, r#""topic":null"#);
    assert_eq!(fallback_price(&record(&env)).envelope.topic, None);
}

#[test]
fn other_forms_of_the_same_update_fall_back() {
    let want = fast(&price(QUOTE));
    // data inline (quirk 10), the envelope inline, both.
    let inline_data = envelope(QUOTE).replace(&serde_json::to_string(QUOTE).unwrap(), QUOTE);
    let records = [
        record(&inline_data),
        format!(
            r#"{{"type":1,"target":"subscriptions","arguments":[{}]}}"#,
            envelope(QUOTE)
        )
        .into_bytes(),
        format!(r#"{{"type":1,"target":"subscriptions","arguments":[{inline_data}]}}"#)
            .into_bytes(),
        // Other property order, headers, an extra argument, whitespace.
        {
            let arg = serde_json::to_string(&envelope(QUOTE)).unwrap();
            format!(r#"{{"target":"subscriptions","arguments":[{arg}],"type":1}}"#).into_bytes()
        },
        {
            let arg = serde_json::to_string(&envelope(QUOTE)).unwrap();
            format!(
                r#"{{"type":1,"target":"subscriptions","arguments":[{arg}],"headers":{{"a":"b"}}}}"#
            )
            .into_bytes()
        },
        {
            let arg = serde_json::to_string(&envelope(QUOTE)).unwrap();
            format!(r#"{{"type":1,"target":"subscriptions","arguments":[{arg},1]}}"#).into_bytes()
        },
        {
            let arg = serde_json::to_string(&envelope(QUOTE)).unwrap();
            format!(r#"{{"type":1, "target":"subscriptions","arguments":[{arg}]}} "#).into_bytes()
        },
    ];
    for rec in &records {
        let got = fallback_price(rec);
        assert!(got.identical(&want), "{}", String::from_utf8_lossy(rec));
    }
}

#[test]
fn records_that_are_not_price_updates_are_messages() {
    let other_subject = envelope(QUOTE).replace(PRICE_UPDATE_SUBJECT, "execution.pairs");
    let with_id = {
        let arg = serde_json::to_string(&envelope(QUOTE)).unwrap();
        format!(r#"{{"type":1,"invocationId":"7","target":"subscriptions","arguments":[{arg}]}}"#)
    };
    let other_target = String::from_utf8(price(QUOTE))
        .unwrap()
        .replace("\"subscriptions\"", "\"executionEvents\"");
    for rec in [
        record(&other_subject),
        with_id.clone().into_bytes(),
        other_target.into_bytes(),
        br#"{"type":1,"target":"subscriptions","arguments":[]}"#.to_vec(),
        br#"{"type":6}"#.to_vec(),
        br#"{"type":3,"invocationId":"1"}"#.to_vec(),
    ] {
        assert!(
            matches!(fallback(&rec), Ok(FeedRecord::Message(_))),
            "{}",
            String::from_utf8_lossy(&rec)
        );
    }
    // The caller answers the invocation, and can still read its quote.
    let rec = with_id.into_bytes();
    let Ok(FeedRecord::Message(HubMessage::Invocation(inv))) = decode(&rec) else {
        panic!()
    };
    assert!(
        price_update(&inv)
            .unwrap()
            .unwrap()
            .identical(&fast(&price(QUOTE)))
    );
    assert_eq!(fallback(br#"{"type":99}"#), Ok(FeedRecord::Skipped));
}

#[test]
fn broken_records_are_typed_errors() {
    let full = price(QUOTE);
    assert!(matches!(
        fallback(&full[..full.len() - 1]),
        Err(FeedError::Record(_))
    ));
    let mut garbage = full.clone();
    garbage.extend_from_slice(b"x");
    assert!(matches!(fallback(&garbage), Err(FeedError::Record(_))));
    assert!(matches!(fallback(b"\xff"), Err(FeedError::Record(_))));

    let no_data = envelope(QUOTE).replace(",\"data\":", ",\"other\":");
    assert_eq!(fallback(&record(&no_data)), Err(FeedError::MissingData));
    for bad_env in [
        "not json",
        "[1]",
        r#"{"subject":1}"#,
        "{\"subject\":\"execution.feeds.priceUpdate\"} x",
    ] {
        assert!(
            matches!(fallback(&record(bad_env)), Err(FeedError::Envelope(_))),
            "{bad_env}"
        );
    }
    // data with trailing text, truncated, of the wrong shape.
    for data in [
        &format!("{QUOTE} x"),
        &QUOTE[..QUOTE.len() - 1],
        "[]",
        r#"{"size":"1"}"#,
    ] {
        let err = fallback(&price(data)).unwrap_err();
        assert!(matches!(err, FeedError::Data(_)), "{data}: {err:?}");
    }
    let err = fallback(&price(r#"{"size":"1"}"#)).unwrap_err();
    let FeedError::Data(e) = &err else { panic!() };
    assert_eq!(e.path(), "size");
    assert!(err.to_string().contains("execution.feeds.priceUpdate"));
}

#[test]
fn fixture_price_update_goes_the_fast_path_once_stringified() {
    // The SignalR fixture carries the envelope inline (general path); the
    // same envelope as a string, as HercleX sends it, is fast.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    let inline = std::fs::read(format!("{root}/signalr/hub/hercle_price_update.json")).unwrap();
    let inline = inline.trim_ascii_end();
    let want = fallback_price(inline);
    let env = std::fs::read_to_string(format!(
        "{root}/models/HubEnvelope/quirk-10-price-update-data-as-string.json"
    ))
    .unwrap();
    let u = fast(&record(env.trim_end()));
    // Same prices, different quote ids.
    let prices = |q: &PriceQuote| {
        (
            q.buy_price,
            q.sell_price,
            q.mark_price,
            q.size,
            q.timestamp.clone(),
        )
    };
    assert_eq!(prices(&u.quote), prices(&want.quote));
    assert_ne!(u.quote.id, want.quote.id);
}

#[test]
fn string_ends_are_found_at_every_offset() {
    let naive = |b: &[u8]| b.iter().position(|&c| c == b'\\' || c == b'"' || c < 0x20);
    for len in 0..40 {
        // Bytes one bit away from the targets (`]`, `#`), the lowest
        // printable one, and bytes of multi-byte characters must not match.
        let plain: Vec<u8> = (0..len)
            .map(|j| [b'a', b'\\' ^ 1, b'"' ^ 1, b'~', b' ', 0x80, 0x9f, 0xff][j % 8])
            .collect();
        assert_eq!(super::scan::string_end(&plain), None, "{len}");
        for at in 0..len {
            for (first, later) in [
                (b'\\', b'"'),
                (b'"', b'\\'),
                (b'\\', b'\\'),
                (0x1f, b'"'),
                (0x00, 0x1f),
                (b'\n', b'\\'),
            ] {
                let mut b = plain.clone();
                b[at] = first;
                // A second hit after the first must not move the answer.
                for (j, c) in b.iter_mut().enumerate().skip(at + 1) {
                    *c = [later, b'\\' ^ 1, b'"' ^ 1, b']', 0x00][j % 5];
                }
                assert_eq!(super::scan::string_end(&b), naive(&b), "{len} {at}");
                assert_eq!(naive(&b), Some(at));
            }
        }
    }
}

#[test]
fn digit_runs_are_read_eight_bytes_at_a_time() {
    let naive = |b: &[u8]| {
        let k = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let v = b[..k].iter().fold(0, |v, c| v * 10 + u64::from(c - b'0'));
        (k, v)
    };
    // Every run length, followed by bytes next to the digits ('/', ':'),
    // bytes that carry when 6 is added (0xfa to 0xff) and other stops.
    let stops = [
        b'/',
        b':',
        b'.',
        b'e',
        b'\\',
        0x00,
        0x29,
        0x40,
        0xfa,
        0xff,
        0x3a + 0x80,
    ];
    let mut digit = 7_u8;
    for k in 0..=8 {
        for stop in stops {
            for fill in [b'0', b'9', stop, 0xff] {
                let mut b: Vec<u8> = (0..k)
                    .map(|_| {
                        digit = (digit * 3 + 1) % 10;
                        b'0' + digit
                    })
                    .collect();
                if k < 8 {
                    b.push(stop);
                }
                b.resize(8, fill);
                assert_eq!(super::scan::digit_run(&b), naive(&b), "{b:?}");
            }
        }
    }
    assert_eq!(super::scan::digit_run(b"99999999"), (8, 99_999_999));
    assert_eq!(super::scan::digit_run(b"00000001"), (8, 1));
    // Not eight bytes: no run (the caller reads such tails byte by byte).
    assert_eq!(super::scan::digit_run(b"1234567"), (0, 0));
}
