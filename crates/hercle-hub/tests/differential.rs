//! Property tests: the price feed's fast path against its general path on
//! generated records (the wire layout and its variations: any key order,
//! missing, unknown and repeated keys, numbers of every form including
//! invalid ones, strings needing escapes, nulls, whitespace, inline forms)
//! and on byte-level mutations of them. Whenever the fast path answers, the
//! general path gives the identical update; `decode` always equals the
//! general path. Bounded case counts: this runs in CI.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use hercle_hub::feed::{self, FeedRecord};
use proptest::prelude::*;

fn check(record: &[u8]) -> Result<bool, TestCaseError> {
    let general = feed::decode_general(record);
    let fast = feed::decode_fast(record);
    // The hub's own streams take the quote-only variant: same answer.
    let quote_only = feed::decode_fast_quote(record);
    prop_assert_eq!(
        quote_only.as_ref().map(|(c, q)| (c.map(str::to_owned), q)),
        fast.as_ref()
            .map(|u| (u.envelope.client_id.clone(), &u.quote))
    );
    if let Some(fast) = &fast {
        match &general {
            Ok(FeedRecord::Price(g)) => prop_assert!(
                fast.identical(g),
                "paths differ on {}:\n{fast:#?}\n{g:#?}",
                String::from_utf8_lossy(record)
            ),
            other => prop_assert!(
                false,
                "fast answered on {}, general said {other:?}",
                String::from_utf8_lossy(record)
            ),
        }
    }
    prop_assert_eq!(feed::decode(record), general);
    Ok(fast.is_some())
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,29})?([eE][+-]?[0-9]{1,2})?",
        1 => "[-+0-9.eE]{1,10}",
        1 => Just("null".to_owned()),
        1 => "[0-9.]{1,6}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn string_value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Za-z0-9:. -]{0,24}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        1 => any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        1 => Just("null".to_owned()),
        1 => number(),
    ]
}

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "20[0-9]{2}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{0,10})?(Z|[+-][01][0-9]:[0-5][0-9])?"
            .prop_map(|s| serde_json::to_string(&s).unwrap()),
        2 => "-?[0-9]{1,21}",
        1 => number(),
        1 => string_value(),
    ]
}

fn plain_string() -> impl Strategy<Value = String> {
    "[A-Za-z0-9:. -]{0,24}".prop_map(|s| serde_json::to_string(&s).unwrap())
}

fn valid_number() -> impl Strategy<Value = String> {
    "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,29})?([eE][+-]?[0-9])?"
}

/// Each known key at most once (the `required` ones always), in any order,
/// with values the fast path reads: what the server sends, with every
/// number form.
fn clean_members(
    required: Vec<&'static str>,
    optional: Vec<&'static str>,
    quote: bool,
) -> impl Strategy<Value = Vec<(String, String)>> {
    let n = required.len() + optional.len();
    let m = optional.len();
    (
        prop::sample::subsequence(optional, 0..=m)
            .prop_map(move |mut keys| {
                keys.extend(required.iter().copied());
                keys
            })
            .prop_shuffle(),
        prop::collection::vec((plain_string(), valid_number(), timestamp()), n),
    )
        .prop_map(move |(keys, values)| {
            keys.into_iter()
                .zip(values)
                .map(|(k, (s, num, ts))| {
                    let v = match k {
                        _ if !quote => s,
                        "buyPrice" | "sellPrice" | "markPrice" | "size" => num,
                        "timestamp" | "timeStamp" => ts,
                        _ => s,
                    };
                    (k.to_owned(), v)
                })
                .collect()
        })
}

/// `(key, value)` members of a quote, in generated order.
fn quote_members() -> impl Strategy<Value = Vec<(String, String)>> {
    let member = prop_oneof![
        Just("id").prop_flat_map(|k| string_value().prop_map(move |v| (k.to_owned(), v))),
        Just("pair").prop_flat_map(|k| string_value().prop_map(move |v| (k.to_owned(), v))),
        prop::sample::select(vec!["buyPrice", "sellPrice", "markPrice", "size"])
            .prop_flat_map(|k| number().prop_map(move |v| (k.to_owned(), v))),
        prop::sample::select(vec!["timestamp", "timeStamp"])
            .prop_flat_map(|k| timestamp().prop_map(move |v| (k.to_owned(), v))),
        ("[a-zA-Z]{1,8}", string_value()),
    ];
    // What every quote must have, and what it may have.
    let required = vec!["id", "pair", "buyPrice"];
    let optional = vec!["sellPrice", "markPrice", "size", "timestamp", "timeStamp"];
    prop_oneof![
        3 => clean_members(required, optional, true),
        1 => prop::collection::vec(member, 0..9),
    ]
}

fn envelope_members() -> impl Strategy<Value = Vec<(String, String)>> {
    let known = prop::sample::select(vec!["channel", "topic", "type", "clientId", "subject"]);
    let member = prop_oneof![
        6 => known.prop_flat_map(|k| string_value().prop_map(move |v| (k.to_owned(), v))),
        1 => Just(("subject".to_owned(), "\"execution.pairs\"".to_owned())),
        1 => ("[a-zA-Z]{1,8}", string_value()),
    ];
    prop_oneof![
        3 => clean_members(Vec::new(), vec!["channel", "topic", "type", "clientId"], false),
        1 => prop::collection::vec(member, 0..4),
    ]
}

fn object(members: &[(String, String)], spaced: bool) -> String {
    let sep = if spaced { ", " } else { "," };
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
        .collect();
    format!("{{{}}}", body.join(sep))
}

/// A record: the wire layout most of the time, other forms sometimes.
fn record() -> impl Strategy<Value = Vec<u8>> {
    (
        quote_members(),
        envelope_members(),
        prop::bool::weighted(0.9),  // data as a string
        prop::bool::weighted(0.9),  // envelope as a string
        prop::bool::weighted(0.05), // whitespace
        prop_oneof![
            6 => Just(r#"{"type":1,"target":"subscriptions","arguments":[ARG]}"#),
            1 => prop::sample::select(vec![
            r#"{"type":1,"target":"subscriptions","arguments":[ARG],"headers":{}}"#,
            r#"{"type":1,"invocationId":"1","target":"subscriptions","arguments":[ARG]}"#,
            r#"{"target":"subscriptions","type":1,"arguments":[ARG]}"#,
            r#"{"type":1,"target":"executionEvents","arguments":[ARG]}"#,
            ]),
        ],
    )
        .prop_map(|(quote, mut env, data_str, env_str, spaced, layout)| {
            let quote = object(&quote, spaced);
            let data = if data_str {
                serde_json::to_string(&quote).unwrap()
            } else {
                quote
            };
            env.push(("subject".into(), "\"execution.feeds.priceUpdate\"".into()));
            env.rotate_right(1);
            env.push(("data".into(), data));
            let env = object(&env, spaced);
            let arg = if env_str {
                serde_json::to_string(&env).unwrap()
            } else {
                env
            };
            layout.replace("ARG", &arg).into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_records_agree(rec in record()) {
        check(&rec)?;
    }

    #[test]
    fn mutated_records_agree(
        rec in record(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
    ) {
        let mut rec = rec;
        for (at, byte, op) in edits {
            if rec.is_empty() {
                break;
            }
            let i = at.index(rec.len());
            match op {
                0 => rec[i] = byte,
                1 => { rec.remove(i); }
                _ => rec.insert(i, byte),
            }
        }
        check(&rec)?;
    }
}

#[test]
fn the_generator_reaches_the_fast_path() {
    // A differential test that never exercises one side proves nothing.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = record();
    let (mut fast, mut total) = (0, 0);
    for _ in 0..500 {
        let rec = strategy.new_tree(&mut runner).unwrap().current();
        total += 1;
        if check(&rec).unwrap() {
            fast += 1;
        }
    }
    assert!(
        fast * 10 > total,
        "only {fast} of {total} took the fast path"
    );
    assert!(fast < total, "nothing fell back");
}
