//! Decoding and encoding a HercleX price stream: `subscriptions` invocations
//! whose single argument is the hub envelope, whose `data` is a JSON string
//! holding a `PriceQuote`. Compared with the floor: one plain serde_json parse
//! of the same record bytes into the same types.

// Setup code may fail loudly: a bench with broken inputs is worthless.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_main};
use hercle_models::{Decimal, EmbeddedJson, HubChannel, HubEnvelope, HubMessageType, PriceQuote};
use serde::{Deserialize, Serialize};
use signalr_proto::{Decoder, HubMessage, encode, split_record};

// Shared with hercle-hub's price_feed bench.
#[path = "support/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::ThreadCpu;

const MESSAGES: usize = 1000;

fn quote(i: usize) -> PriceQuote {
    let cents = i64::try_from(i).unwrap();
    let quote_json = format!(
        r#"{{"id":"5f0c8a4e-6a43-4c5e-9a3e-{i:012}","buyPrice":{},"sellPrice":{},"size":1,"pair":"BTCUSDT","markPrice":{},"timestamp":"2023-10-11T23:00:57.93094Z"}}"#,
        Decimal::new(2_679_850 + cents, 2),
        Decimal::new(2_679_050 + cents, 2),
        Decimal::new(26_794_575 + cents, 3),
    );
    serde_json::from_str(&quote_json).unwrap()
}

fn envelope(q: &PriceQuote) -> HubEnvelope {
    HubEnvelope {
        channel: Some(HubChannel::Subscriptions),
        topic: Some("Execution".into()),
        subject: Some("execution.feeds.priceUpdate".into()),
        r#type: Some(HubMessageType::Message),
        client_id: Some("c1".into()),
        data: Some(EmbeddedJson::encode_as_string(q).unwrap()),
        ..HubEnvelope::default()
    }
}

/// One WebSocket text frame per record, as the hub sends them.
fn frames(quotes: &[PriceQuote]) -> Vec<Vec<u8>> {
    quotes
        .iter()
        .map(|q| {
            let mut out = Vec::new();
            encode::invocation(&mut out, None, "subscriptions", &(envelope(q),)).unwrap();
            out
        })
        .collect()
}

fn typed(envelope: &HubEnvelope) -> PriceQuote {
    envelope
        .data
        .as_ref()
        .unwrap()
        .decode::<PriceQuote>()
        .unwrap()
}

/// The floor: the record parsed by serde_json straight into the same types.
#[derive(Deserialize)]
struct FloorInvocation<'a> {
    #[serde(rename = "type")]
    _type: u8,
    #[serde(borrow)]
    target: &'a str,
    arguments: (HubEnvelope,),
}

#[derive(Serialize)]
struct FloorOut<'a> {
    #[serde(rename = "type")]
    type_: u8,
    target: &'a str,
    arguments: (&'a HubEnvelope,),
}

/// The CPU clock advances in scheduler ticks: few, long, equal samples keep
/// the tick error near 1%.
fn configure(g: &mut criterion::BenchmarkGroup<'_, ThreadCpu>) {
    g.throughput(Throughput::Elements(MESSAGES as u64));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(8));
}

fn decode(c: &mut Criterion<ThreadCpu>) {
    let quotes: Vec<PriceQuote> = (0..MESSAGES).map(quote).collect();
    let frames = frames(&quotes);
    let bytes: usize = frames.iter().map(Vec::len).sum();
    println!(
        "price stream: {MESSAGES} records, {bytes} bytes, {} bytes/record",
        bytes / MESSAGES
    );
    // Sanity: both paths produce the quotes we started from.
    let mut dec = Decoder::new();
    for (f, q) in frames.iter().zip(&quotes) {
        dec.push(f);
        let Some(HubMessage::Invocation(inv)) = dec.next_message().unwrap() else {
            panic!()
        };
        assert_eq!(&typed(&inv.argument::<HubEnvelope>(0).unwrap().unwrap()), q);
        let floor: FloorInvocation<'_> =
            serde_json::from_slice(split_record(f).unwrap().0).unwrap();
        assert_eq!(&typed(&floor.arguments.0), q);
    }

    let mut g = c.benchmark_group("decode");
    configure(&mut g);
    g.bench_function("signalr_proto_typed", |b| {
        let mut dec = Decoder::new();
        b.iter(|| {
            for f in &frames {
                dec.push(f);
                while let Some(msg) = dec.next_message().unwrap() {
                    if let HubMessage::Invocation(inv) = msg
                        && inv.target == "subscriptions"
                    {
                        let env: HubEnvelope = inv.argument(0).unwrap().unwrap();
                        black_box(typed(&env));
                    }
                }
            }
        });
    });
    g.bench_function("serde_json_floor_typed", |b| {
        b.iter(|| {
            for f in &frames {
                // from_utf8 + from_str beats from_slice: the strongest plain floor.
                let record = std::str::from_utf8(split_record(f).unwrap().0).unwrap();
                let inv: FloorInvocation<'_> = serde_json::from_str(record).unwrap();
                if inv.target == "subscriptions" {
                    black_box(typed(&inv.arguments.0));
                }
            }
        });
    });
    g.bench_function("signalr_proto_framing_only", |b| {
        let mut dec = Decoder::new();
        b.iter(|| {
            for f in &frames {
                dec.push(f);
                while let Some(msg) = dec.next_message().unwrap() {
                    black_box(msg);
                }
            }
        });
    });
    // Splitting frames into records, without parsing them: copied through
    // the decoder's buffer, or read in place.
    g.bench_function("records_pushed", |b| {
        let mut dec = Decoder::new();
        b.iter(|| {
            for f in &frames {
                dec.push(f);
                while let Some(record) = dec.next_record().unwrap() {
                    black_box(record);
                }
            }
        });
    });
    g.bench_function("records_in_place", |b| {
        let mut dec = Decoder::new();
        b.iter(|| {
            for f in &frames {
                dec.records(f, |r| {
                    black_box(r.unwrap());
                    std::ops::ControlFlow::Continue(())
                });
            }
        });
    });
    g.finish();
}

fn encode_bench(c: &mut Criterion<ThreadCpu>) {
    let quotes: Vec<PriceQuote> = (0..MESSAGES).map(quote).collect();
    let envelopes: Vec<HubEnvelope> = quotes.iter().map(envelope).collect();
    let mut g = c.benchmark_group("encode");
    configure(&mut g);
    g.bench_function("signalr_proto_from_quote", |b| {
        let mut out = Vec::with_capacity(512 * MESSAGES);
        b.iter(|| {
            out.clear();
            for q in &quotes {
                encode::invocation(&mut out, None, "subscriptions", &(envelope(q),)).unwrap();
            }
            black_box(&out);
        });
    });
    g.bench_function("signalr_proto_envelope", |b| {
        let mut out = Vec::with_capacity(512 * MESSAGES);
        b.iter(|| {
            out.clear();
            for e in &envelopes {
                encode::invocation(&mut out, None, "subscriptions", &(e,)).unwrap();
            }
            black_box(&out);
        });
    });
    g.bench_function("serde_json_floor_envelope", |b| {
        let mut out = Vec::with_capacity(512 * MESSAGES);
        b.iter(|| {
            out.clear();
            for e in &envelopes {
                let msg = FloorOut {
                    type_: 1,
                    target: "subscriptions",
                    arguments: (e,),
                };
                serde_json::to_writer(&mut out, &msg).unwrap();
                out.push(0x1E);
            }
            black_box(&out);
        });
    });
    g.finish();
}

// criterion_group! generates an undocumented `pub fn`.
#[allow(missing_docs, unreachable_pub)]
mod harness {
    use super::{ThreadCpu, decode, encode_bench};
    criterion::criterion_group! {
        name = benches;
        config = criterion::Criterion::default().with_measurement(ThreadCpu);
        targets = decode, encode_bench
    }
}
criterion_main!(harness::benches);
