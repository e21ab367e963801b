//! A criterion measurement of this thread's CPU time, shared by the benches
//! that compare decode paths (`signalr-proto`'s `price_stream`,
//! `hercle-hub`'s `price_feed`) through `#[path]`.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Time this thread spent on a CPU, from `/proc/thread-self/schedstat` (ns).
///
/// The bench machine is shared with other builds; wall time would count the
/// time our thread waited for a core. Reported with criterion's time units.
pub(crate) struct ThreadCpu;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) is required")
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    // Nanoseconds of a bench run: far below 2^53, and not money.
    #[allow(clippy::cast_precision_loss)]
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}
