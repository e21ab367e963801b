//! The price feed decode path, fast scanner against general path, on the
//! same bytes: WebSocket text frames as the hub sends them (one record each,
//! built the way the sandbox builds them), framed by `signalr-proto`'s
//! decoder and decoded to typed price updates.
//!
//! - `updates`: 1000 price updates, four pairs, prices with 1 to 8
//!   fractional digits, sizes from 0.001 to 250, timestamps of 0 to 7
//!   fractional digits: what a busy subscription sees.
//! - `mix`: 1000 records, 94% such updates, 3% updates the fast path leaves
//!   to the general one (an unknown quote field, an escaped character),
//!   2% `executionEvents` replies, 1% pings.
//!
//! Throughput counts records; on `updates` every record is a typed update.

// Setup code may fail loudly: a bench with broken inputs is worthless.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_main};
use hercle_hub::feed::{self, FeedRecord};
use hercle_models::{
    Decimal, EmbeddedJson, HubChannel, HubEnvelope, HubMessageType, PriceQuote, RawJson, Timestamp,
};
use signalr_proto::{Decoder, encode};

#[path = "../../signalr-proto/benches/support/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::ThreadCpu;

const RECORDS: usize = 1000;
const PAIRS: [(&str, i64); 4] = [
    ("BTCUSDT", 97_016),
    ("ETHEUR", 3_120),
    ("SOLUSDC", 187),
    ("XRPUSDT", 2),
];

/// A small deterministic generator (xorshift): varied digits, same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn quote(rng: &mut Rng, i: usize) -> PriceQuote {
    let (pair, base) = PAIRS[i % PAIRS.len()];
    let scale = 1 + u32::try_from(rng.next(8)).unwrap();
    let unit = 10_i64.pow(scale);
    let spread = i64::try_from(rng.next(1000)).unwrap();
    let mid = base * unit + i64::try_from(rng.next(u64::try_from(unit).unwrap())).unwrap();
    let size = [
        Decimal::new(1, 3),
        Decimal::new(1, 2),
        Decimal::ONE,
        Decimal::new(255, 1),
        Decimal::new(250, 0),
    ][i % 5];
    let frac = [
        "", ".9", ".93", ".930", ".9309", ".93094", ".930940", ".9309401",
    ][i % 8];
    PriceQuote {
        id: format!("23b8c1e9-3924-46de-beb1-{i:012x}"),
        pair: pair.to_owned(),
        buy_price: Decimal::new(mid + spread, scale),
        sell_price: Some(Decimal::new(mid - spread, scale)),
        mark_price: Some(Decimal::new(mid, scale)),
        size: Some(size),
        timestamp: Some(Timestamp::from_text(&format!(
            "2026-11-30T11:{:02}:{:02}{frac}Z",
            i / 60 % 60,
            i % 60
        ))),
        ..PriceQuote::default()
    }
}

fn envelope(
    channel: HubChannel,
    subject: &str,
    client_id: &str,
    data: EmbeddedJson,
) -> HubEnvelope {
    HubEnvelope {
        channel: Some(channel),
        topic: Some("Execution".into()),
        subject: Some(subject.into()),
        r#type: Some(HubMessageType::Message),
        client_id: Some(client_id.into()),
        data: Some(data),
        ..HubEnvelope::default()
    }
}

/// One frame: the envelope serialized to a string, as an invocation
/// argument (what the sandbox's `push_event` does).
fn frame(target: &str, e: &HubEnvelope) -> Vec<u8> {
    let text = serde_json::to_string(e).unwrap();
    let mut out = Vec::new();
    encode::invocation(&mut out, None, target, &(text,)).unwrap();
    out
}

fn price_frame(q: &PriceQuote) -> Vec<u8> {
    let client_id = format!("px-{}-1", q.pair);
    let data = EmbeddedJson::encode_as_string(q).unwrap();
    frame(
        "subscriptions",
        &envelope(
            HubChannel::Subscriptions,
            feed::PRICE_UPDATE_SUBJECT,
            &client_id,
            data,
        ),
    )
}

fn updates() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..RECORDS)
        .map(|i| price_frame(&quote(&mut rng, i)))
        .collect()
}

fn mix() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    (0..RECORDS)
        .map(|i| {
            let mut q = quote(&mut rng, i);
            match i % 100 {
                0 => {
                    q.extra.insert("venue".into(), RawJson::from_text(r#""otc""#).unwrap());
                    price_frame(&q)
                }
                1 | 2 => {
                    q.id = format!("q/{i}");
                    let data = EmbeddedJson::encode_as_string(&q).unwrap();
                    // An escape in a value (.NET's writer sends `\u00E9` for
                    // `é`; any writer escapes a control character): the
                    // general path's job.
                    let text = serde_json::to_string(&envelope(
                        HubChannel::Subscriptions,
                        feed::PRICE_UPDATE_SUBJECT,
                        "px-\u{1}",
                        data,
                    ))
                    .unwrap();
                    let mut out = Vec::new();
                    encode::invocation(&mut out, None, "subscriptions", &(text,)).unwrap();
                    out
                }
                3 | 4 => {
                    let order = r#"{"id":"o-1","clientId":"order-7","status":1,"price":97016.27,"quantity":0.01}"#;
                    let data = EmbeddedJson::encode_as_string(&RawJson::from_text(order).unwrap()).unwrap();
                    frame(
                        "executionEvents",
                        &envelope(HubChannel::ExecutionEvents, "execution.order.executed", "order-7", data),
                    )
                }
                5 => b"{\"type\":6}\x1e".to_vec(),
                _ => price_frame(&q),
            }
        })
        .collect()
}

type Decode = for<'a> fn(&'a [u8]) -> Result<FeedRecord<'a>, feed::FeedError>;

/// Frames through the SignalR decoder, records through `decode`.
fn run(dec: &mut Decoder, frames: &[Vec<u8>], decode: Decode) -> usize {
    let mut updates = 0;
    for f in frames {
        dec.push(f);
        while let Some(record) = dec.next_record().unwrap() {
            if let FeedRecord::Price(u) = black_box(decode(record).unwrap()) {
                updates += 1;
                black_box(u);
            }
        }
    }
    updates
}

/// Both paths agree on every record, and the fast path takes what it should.
fn check(name: &str, frames: &[Vec<u8>], fast_share: usize) {
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut fast = 0;
    for f in frames {
        let record = f.strip_suffix(b"\x1e").unwrap();
        let general = feed::decode_general(record).unwrap();
        if let Some(u) = feed::decode_fast(record) {
            fast += 1;
            let FeedRecord::Price(g) = &general else {
                panic!("{name}: fast on a non-update")
            };
            assert!(u.identical(g), "{name}: paths differ");
        }
        assert_eq!(feed::decode(record).unwrap(), general);
    }
    assert_eq!(fast, fast_share, "{name}: records taken by the fast path");
    println!(
        "{name}: {} records, {bytes} bytes, {} bytes/record, {fast} on the fast path",
        frames.len(),
        bytes / frames.len()
    );
}

fn bench(c: &mut Criterion<ThreadCpu>) {
    let sets = [
        ("updates", updates(), RECORDS),
        ("mix", mix(), RECORDS * 94 / 100),
    ];
    for (name, frames, fast_share) in &sets {
        check(name, frames, *fast_share);
        let mut g = c.benchmark_group(format!("price_feed/{name}"));
        g.throughput(Throughput::Elements(frames.len() as u64));
        // The CPU clock advances in scheduler ticks: few, long, equal samples.
        g.sampling_mode(SamplingMode::Flat);
        g.sample_size(20);
        g.measurement_time(std::time::Duration::from_secs(6));
        for (path, decode) in [
            ("fast_then_general", feed::decode as Decode),
            ("general_only", feed::decode_general as Decode),
        ] {
            g.bench_function(path, |b| {
                let mut dec = Decoder::new();
                b.iter(|| run(&mut dec, frames, decode));
            });
        }
        g.finish();
    }
    // The scanner alone on already framed records: what framing costs on top.
    let records: Vec<Vec<u8>> = sets[0]
        .1
        .iter()
        .map(|f| f[..f.len() - 1].to_vec())
        .collect();
    let mut g = c.benchmark_group("price_feed/updates");
    g.throughput(Throughput::Elements(records.len() as u64));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(6));
    g.bench_function("fast_scanner_only", |b| {
        b.iter(|| {
            for r in &records {
                black_box(feed::decode_fast(r).unwrap());
            }
        });
    });
    g.finish();
}

// criterion_group! generates an undocumented `pub fn`.
#[allow(missing_docs, unreachable_pub)]
mod harness {
    use super::{ThreadCpu, bench};
    criterion::criterion_group! {
        name = benches;
        config = criterion::Criterion::default().with_measurement(ThreadCpu);
        targets = bench
    }
}
criterion_main!(harness::benches);
