// The official @microsoft/signalr Node client doing the contract's SignalR
// suite: connect (negotiate, WebSockets, JSON), subscribe with one array
// argument, and handle every `subscriptions` message as the HercleX guide's
// handler does (parse the envelope string, check the subject, parse the
// `data` string, use the fields). Latency: CLOCK_MONOTONIC (process.hrtime,
// libuv's uv_hrtime) after parsing minus data.timestamp.
//
// The client is the install the sandbox's interop test uses
// (crates/hercle-sandbox/interop/node, pinned in its package-lock.json).
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";

const require = createRequire(new URL("../../hercle-sandbox/interop/node/package.json", import.meta.url));
const signalR = require("@microsoft/signalr");
const version = require("@microsoft/signalr/package.json").version;

const env = process.env;
const count = Number(env.BENCH_COUNT || 100000);
const warmup = Number(env.BENCH_WARMUP || 0);
const out = (o) => console.log(JSON.stringify({
  contestant: "node-signalr", kind: "signalr", library: `@microsoft/signalr ${version}`,
  runtime: `node ${process.version}`, expected: count, ...o,
}));

const timer = setTimeout(() => {
  out({ error: "timeout", received });
  process.exit(1);
}, Number(env.BENCH_TIMEOUT_S || 60) * 1000);

let received = 0, errors = 0, k = 0, t0 = 0n, t1 = 0n, cpu0 = null, cpu = 0;
const lat = new BigInt64Array(Math.max(count - warmup, 0));
let done;
const finished = new Promise((resolve) => (done = resolve));

const connection = new signalR.HubConnectionBuilder()
  .withUrl(env.HERCLE_HUB_URL, {
    accessTokenFactory: () => env.HERCLE_API_KEY,
    transport: signalR.HttpTransportType.WebSockets,
  })
  .configureLogging(signalR.LogLevel.Warning)
  .build();

connection.on("subscriptions", (message) => {
  if (received >= count) return;
  const response = JSON.parse(message);
  if (response.subject !== "execution.feeds.priceUpdate") { errors++; return; }
  const priceData = JSON.parse(response.data);
  const now = process.hrtime.bigint();
  if (received === 0) { t0 = now; cpu0 = process.cpuUsage(); }
  received++;
  const ok = priceData.pair === "BTCUSDT" && priceData.id && priceData.buyPrice > 0
    && priceData.sellPrice !== undefined && priceData.markPrice !== undefined;
  if (!ok) errors++;
  if (received > warmup) lat[k++] = now - BigInt(priceData.timestamp);
  if (received === count) {
    t1 = now;
    const c = process.cpuUsage(cpu0);
    cpu = (c.user + c.system) / 1e6;
    done();
  }
});
connection.onclose((err) => {
  if (received < count) {
    out({ error: `closed: ${err?.message ?? "no error"}`, received });
    process.exit(1);
  }
});

try {
  await connection.start();
  await connection.invoke("SubscribePairPriceChannel", ["node-bench", "BTCUSDT", 0.01]);
} catch (e) {
  out({ error: String(e?.message ?? e) });
  process.exit(1);
}
await finished;
clearTimeout(timer);
const secs = Number(t1 - t0) / 1e9;
if (env.BENCH_LAT_FILE) {
  writeFileSync(env.BENCH_LAT_FILE, Buffer.from(lat.buffer, 0, k * 8));
}
out({
  received, errors, first_to_last_s: secs, msgs_per_s: (received - 1) / secs,
  cpu_s: cpu, cpu_s_per_million: cpu * 1e6 / (received - 1), lat_samples: k,
});
await connection.stop().catch(() => {});
process.exit(0);
