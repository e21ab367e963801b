//! Per-update overhead of the session, without any wire format: the sans-IO
//! core alone (frame in, delivery out), and the whole driver (channel
//! transport in, subscription stream out) on one tokio thread.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use session_core::{
    ConnectError, Connector, Cx, DeliveryPolicy, Frame, Output, Protocol, Sent, Session,
    SessionConfig, Transport, TransportError, Update,
};
use tokio::sync::mpsc;

/// Delivers every frame's payload to the single topic 0.
struct Feed;

impl Protocol for Feed {
    type Setup = ();
    type Request = ();
    type Response = ();
    type Error = String;
    type Key = u64;
    type Topic = u32;
    type Event = Bytes;

    fn on_frame(&mut self, frame: Frame, cx: &mut Cx<'_, Self>) {
        let (Frame::Text(b) | Frame::Binary(b)) = frame;
        cx.deliver(&0, b);
    }
    fn send_request(&mut self, _: (), _: &mut Cx<'_, Self>) -> Result<Sent<u64, ()>, String> {
        Ok(Sent::Done(()))
    }
    fn subscribe(&mut self, _: &u32, _: &mut Cx<'_, Self>) {}
    fn unsubscribe(&mut self, _: &u32, _: &mut Cx<'_, Self>) {}
}

struct Chan(mpsc::Receiver<Frame>);

impl Transport for Chan {
    async fn recv(&mut self) -> Option<Result<Frame, TransportError>> {
        self.0.recv().await.map(Ok)
    }
    async fn send(&mut self, _: Frame) -> Result<(), TransportError> {
        Ok(())
    }
    async fn close(&mut self) {}
}

struct OneShot(Option<mpsc::Receiver<Frame>>);

impl Connector for OneShot {
    type Setup = ();
    type Transport = Chan;
    async fn pre_connect(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
    async fn open(&mut self, _: &()) -> Result<Chan, ConnectError> {
        match self.0.take() {
            Some(rx) => Ok(Chan(rx)),
            None => std::future::pending().await,
        }
    }
}

fn core(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut s = Session::new(Feed, SessionConfig::default(), t0);
    s.subscribe(t0, 0).unwrap();
    s.on_connected(t0, &());
    while s.poll_output().is_some() {}
    let payload = Bytes::from_static(br#"{"pair":"BTCUSDT","buyPrice":26844.07}"#);
    let mut g = c.benchmark_group("session_core");
    g.throughput(Throughput::Elements(1));
    g.bench_function("frame_to_delivery", |b| {
        b.iter(|| {
            s.on_frame(t0, Frame::Text(payload.clone()));
            match s.poll_output() {
                Some(Output::Deliver {
                    update: Update::Item(e),
                    ..
                }) => e,
                other => panic!("{other:?}"),
            }
        })
    });
    g.finish();
}

fn driver(c: &mut Criterion) {
    const N: u64 = 100_000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("session_driver");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function("channel_to_stream_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let (tx, rx) = mpsc::channel(1024);
                    let (handle, _events, run) =
                        session_core::session(Feed, OneShot(Some(rx)), SessionConfig::default());
                    let task = tokio::spawn(run);
                    let mut sub = handle
                        .subscribe(0, DeliveryPolicy::Buffered { capacity: 1 << 20 })
                        .await
                        .unwrap();
                    let payload = Bytes::from_static(br#"{"pair":"BTCUSDT","buyPrice":26844.07}"#);
                    let start = Instant::now();
                    let producer = tokio::spawn(async move {
                        for _ in 0..N {
                            tx.send(Frame::Text(payload.clone())).await.unwrap();
                        }
                        tx
                    });
                    let mut got = 0;
                    while got < N {
                        match sub.recv().await {
                            Some(Update::Item(_)) => got += 1,
                            Some(other) => panic!("{other:?}"),
                            None => panic!("ended"),
                        }
                    }
                    let elapsed = start.elapsed();
                    drop(producer.await.unwrap());
                    drop(sub);
                    handle.close().await;
                    task.await.unwrap();
                    elapsed
                });
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, core, driver);
criterion_main!(benches);
