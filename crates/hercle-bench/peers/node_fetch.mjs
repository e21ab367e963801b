// Node's built-in fetch (undici) doing the contract's REST loop.
import { writeFileSync } from "node:fs";

const env = process.env;
const base = env.HERCLE_BASE_URL;
const key = env.HERCLE_API_KEY;
const conc = Number(env.BENCH_CONCURRENCY || 1);
const warmup = Number(env.BENCH_WARMUP_S || 1) * 1000;
const dur = Number(env.BENCH_DURATION_S || 5) * 1000;
const maxReq = Number(env.BENCH_MAX_REQUESTS || Infinity);
const headers = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };

let requests = 0, errors = 0, cpu0 = null, t0 = null;
const lat = [];
const start = performance.now();
const from = start + warmup, stop = from + dur;

async function worker(i) {
  for (;;) {
    const now = performance.now();
    if (now >= stop || requests >= maxReq) return;
    const counted = now >= from;
    if (counted && cpu0 === null) { cpu0 = process.cpuUsage(); t0 = now; }
    const a = performance.now();
    let ok = false;
    try {
      if (i % 2 === 0) {
        const r = await fetch(base + "/api/v1/pairs", { headers });
        const b = await r.json();
        ok = r.status === 200 && Array.isArray(b) && b[0].name === "BTCUSDT";
      } else {
        const r = await fetch(base + "/api/v1/user/balances", { headers });
        const b = await r.json();
        ok = r.status === 200 && typeof b.userId === "string" && b.assets.length === 2;
      }
    } catch { ok = false; }
    const l = performance.now() - a;
    i++;
    if (counted) { requests++; if (!ok) errors++; lat.push(BigInt(Math.round(l * 1e6))); }
  }
}

const timer = setTimeout(() => {
  console.log(JSON.stringify({ contestant: "node-fetch", kind: "rest", concurrency: conc, error: "timeout" }));
  process.exit(1);
}, Number(env.BENCH_TIMEOUT_S || 60) * 1000);
await Promise.all(Array.from({ length: conc }, (_, i) => worker(i)));
clearTimeout(timer);
const end = performance.now();
const c = process.cpuUsage(cpu0);
const secs = (end - t0) / 1000, cpu = (c.user + c.system) / 1e6;
if (env.BENCH_LAT_FILE) {
  const buf = Buffer.alloc(lat.length * 8);
  lat.forEach((v, k) => buf.writeBigInt64LE(v, k * 8));
  writeFileSync(env.BENCH_LAT_FILE, buf);
}
console.log(JSON.stringify({
  contestant: "node-fetch", kind: "rest", library: "undici (fetch)", runtime: `node ${process.version}`,
  concurrency: conc, requests, errors, duration_s: secs, req_per_s: requests / secs,
  cpu_s: cpu, cpu_us_per_req: cpu * 1e6 / requests, lat_samples: lat.length,
}));
