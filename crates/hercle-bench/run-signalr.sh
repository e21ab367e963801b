#!/usr/bin/env bash
# SignalR price-feed benchmark, every contestant in the same run on the same
# stream from the same local hub (crates/hercle-bench: `signalr-server`):
# hercle-rs (`hercle-bench signalr`), the official @microsoft/signalr Node
# client and Python signalrcore, and two floors (`signalr-floor`: the same
# stream read with no decode, blocking and on tokio) that show what the
# kernel and the WebSocket framing alone cost here. Three runs each: as fast as the client
# reads, then fixed rates of 5,000 and 20,000 updates a second. Prints a
# Markdown table (throughput, CPU per million, latency percentiles from the
# latency files) and the issue's targets against the Node client; leaves
# the JSON lines in $OUT (default target/bench-signalr.jsonl) and the
# latency files beside them.
# Usage: crates/hercle-bench/run-signalr.sh [max_rate_count] [seconds_at_fixed_rates]
set -euo pipefail
cd "$(dirname "$0")/../.."
MAX_COUNT=${1:-200000}
SECS=${2:-20}
OUT=${OUT:-target/bench-signalr.jsonl}
LAT=target/bench-signalr
PEERS=crates/hercle-bench/peers
# The peers are the installs the sandbox's interop tests use (.ci/run
# installs them the same way; idempotent, pinned).
NODE_DIR=crates/hercle-sandbox/interop/node
PY_DEPS=crates/hercle-sandbox/interop/python/.deps
[ -d "$NODE_DIR/node_modules/@microsoft/signalr" ] \
  || (cd "$NODE_DIR" && npm ci --no-audit --no-fund --silent)
[ -d "$PY_DEPS/signalrcore" ] \
  || python3 -m pip install --quiet --disable-pip-version-check \
       --target "$PY_DEPS" -r crates/hercle-sandbox/interop/python/requirements.txt

cargo build --release --quiet -p hercle-bench
BIN=${CARGO_TARGET_DIR:-target}/release/hercle-bench
mkdir -p "$LAT"
: > "$OUT"
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null || true' EXIT
last_json() { grep '^{' | tail -1 || true; }

for RATE in 0 5000 20000; do
  if [ "$RATE" = 0 ]; then COUNT=$MAX_COUNT; else COUNT=$((RATE * SECS)); fi
  # The first tenth is warm-up (JIT, buffers); the latency files hold the rest.
  export BENCH_COUNT=$COUNT BENCH_WARMUP=$((COUNT / 10)) BENCH_TIMEOUT_S=$((SECS * 4 + 60))
  "$BIN" signalr-server 0 "$RATE" > "$LAT/server.out" 2> "$LAT/server.err" &
  SERVER=$!
  for _ in $(seq 50); do grep -q PORT "$LAT/server.out" && break; sleep 0.1; done
  PORT=$(awk '/PORT/{print $2}' "$LAT/server.out")
  export HERCLE_HUB_URL=http://127.0.0.1:$PORT/ExecutionLiveServer/v1 HERCLE_API_KEY=bench-key
  for C in hercle-rs node-signalr python-signalrcore floor floor-tokio; do
    export BENCH_LAT_FILE=$LAT/$C-$RATE.lat
    # A contestant that fails leaves its error line; the others still run.
    case $C in
      hercle-rs) LINE=$("$BIN" signalr | last_json) || true ;;
      node-signalr) LINE=$(node $PEERS/node_signalr.mjs | last_json) || true ;;
      python-signalrcore) LINE=$(PYTHONPATH=$PY_DEPS python3 $PEERS/py_signalr.py | last_json) || true ;;
      floor) LINE=$(BENCH_FLOOR_IO=blocking "$BIN" signalr-floor | last_json) || true ;;
      floor-tokio) LINE=$(BENCH_FLOOR_IO=tokio "$BIN" signalr-floor | last_json) || true ;;
    esac
    [ -n "$LINE" ] || LINE="{\"contestant\":\"$C\",\"error\":\"no output\"}"
    echo "{\"rate\":$RATE,\"lat_file\":\"$BENCH_LAT_FILE\",${LINE#\{}" >> "$OUT"
  done
  kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=
done

python3 - "$OUT" <<'PY'
import array, json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]

def pct(r):
    a = array.array("q")
    try:
        with open(r["lat_file"], "rb") as f:
            a.frombytes(f.read())
    except OSError:
        return {}
    s = sorted(a)
    at = lambda p: s[min(len(s) - 1, int(p * len(s)))] / 1000 if s else float("nan")
    return {"p50": at(0.50), "p99": at(0.99), "p999": at(0.999)}

print("| rate (msg/s) | contestant | received | errors | msgs/s | CPU s / M msgs | p50 µs | p99 µs | p99.9 µs |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    r.update(pct(r))
    rate = "max" if r["rate"] == 0 else f'{r["rate"]:,}'
    if "error" in r:
        print(f'| {rate} | {r["contestant"]} | {r.get("received", "—")} | error: {r["error"]} | | | | | |')
        continue
    # At max rate the latency is the queue the hub fills, not the client's.
    lat = ["—"] * 3 if r["rate"] == 0 else [f'{r[k]:.0f}' for k in ("p50", "p99", "p999")]
    print(f'| {rate} | {r["contestant"]} | {r["received"]} | {r["errors"]} | {r["msgs_per_s"]:,.0f} '
          f'| {r["cpu_s_per_million"]:.1f} | {" | ".join(lat)} |')

def get(c, rate):
    return next((r for r in rows if r["contestant"] == c and r["rate"] == rate and "error" not in r), None)

print()
for rate in (0, 5000, 20000):
    ours, node = get("hercle-rs", rate), get("node-signalr", rate)
    if not ours or not node:
        print(f"rate {rate}: a run failed, no comparison")
        continue
    if rate == 0:
        x = ours["msgs_per_s"] / node["msgs_per_s"]
        print(f"- throughput: {x:.1f}× the Node client's (target ≥ 10×: {'met' if x >= 10 else 'NOT met'})")
    c = node["cpu_s_per_million"] / ours["cpu_s_per_million"]
    label = "max" if rate == 0 else f"{rate:,} msg/s"
    print(f"- CPU per message at {label}: 1/{c:.1f} of the Node client's (target ≤ 1/10: {'met' if c >= 10 else 'NOT met'})")
    if rate:
        p = node["p99"] / ours["p99"]
        print(f"- p99 at {label}: 1/{p:.1f} of the Node client's (target ≤ 1/5: {'met' if p >= 5 else 'NOT met'})")
    # What no client could beat here: the floors against the same targets.
    for f in ("floor", "floor-tokio"):
        fl = get(f, rate)
        if not fl:
            continue
        parts = [f"CPU 1/{node['cpu_s_per_million'] / fl['cpu_s_per_million']:.1f} of Node's"]
        if rate == 0:
            parts.insert(0, f"throughput {fl['msgs_per_s'] / node['msgs_per_s']:.1f}× Node's")
        else:
            parts.append(f"p99 1/{node['p99'] / fl['p99']:.1f} of Node's")
        print(f"  - {f} (no decode) at {label}: " + ", ".join(parts))
PY
