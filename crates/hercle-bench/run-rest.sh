#!/usr/bin/env bash
# REST benchmark, every contestant in the same run against the same local
# server (crates/hercle-bench: `rest-server`): hercle-rs, Node fetch, Python
# httpx and requests, and wrk as the ceiling; sequential (c=1) and 16 in
# flight. Installs the peers it needs (pinned). Prints a Markdown table and
# leaves the JSON lines in $OUT (default target/bench-rest.jsonl).
# Usage: crates/hercle-bench/run-rest.sh [duration_s] [warmup_s]
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-5}
WARM=${2:-1}
OUT=${OUT:-target/bench-rest.jsonl}
PEERS=crates/hercle-bench/peers
DEPS=$PEERS/.deps

# Peers (idempotent, pinned).
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -d "$DEPS/httpx" ] && [ -d "$DEPS/requests" ] \
  || python3 -m pip install --quiet --disable-pip-version-check --target "$DEPS" \
       httpx==0.28.1 requests==2.32.5
command -v node >/dev/null || { echo "node (>= 18, for fetch) is required" >&2; exit 1; }

cargo build --release --quiet -p hercle-bench
BIN=target/release/hercle-bench

"$BIN" rest-server 0 > target/bench-rest-server.out 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q PORT target/bench-rest-server.out && break; sleep 0.1; done
PORT=$(awk '/PORT/{print $2}' target/bench-rest-server.out)
export HERCLE_BASE_URL=http://127.0.0.1:$PORT HERCLE_API_KEY=bench-key
export BENCH_WARMUP_S=$WARM BENCH_DURATION_S=$DUR BENCH_TIMEOUT_S=$((DUR + WARM + 30))
: > "$OUT"

last_json() { grep '^{' | tail -1; }
# wrk: one thread, C connections, the same alternating requests; no parsing.
# It runs before and after the contestants and the ceiling is the mean, so a
# load change on a shared machine does not favour one side.
ceiling() {
  RATE=$(wrk -t1 -c"$C" -d"$((DUR + WARM))"s -s $PEERS/wrk_alternate.lua "$HERCLE_BASE_URL" \
    | awk '/Requests\/sec/{print $2}')
  printf '{"contestant":"wrk","kind":"rest","concurrency":%s,"req_per_s":%s}\n' "$C" "$RATE" >> "$OUT"
}
for C in 1 16; do
  export BENCH_CONCURRENCY=$C
  ceiling
  "$BIN" rest | last_json >> "$OUT"
  node $PEERS/node_fetch.mjs | last_json >> "$OUT"
  PYTHONPATH=$DEPS python3 $PEERS/py_rest.py httpx | last_json >> "$OUT"
  PYTHONPATH=$DEPS python3 $PEERS/py_rest.py requests | last_json >> "$OUT"
  ceiling
done

python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| concurrency | contestant | req/s | % of wrk | CPU µs/req | errors |")
print("|---|---|---|---|---|---|")
for c in sorted({r["concurrency"] for r in rows}):
    wrk = [r["req_per_s"] for r in rows if r["contestant"] == "wrk" and r["concurrency"] == c]
    ceiling = sum(wrk) / len(wrk)
    print(f'| {c} | wrk (mean of before/after: {" / ".join(f"{w:.0f}" for w in wrk)}) | {ceiling:.0f} | 100% | — | — |')
    for r in (r for r in rows if r["concurrency"] == c and r["contestant"] != "wrk"):
        cpu = f'{r["cpu_us_per_req"]:.1f}' if "cpu_us_per_req" in r else "—"
        print(f'| {c} | {r["contestant"]} | {r["req_per_s"]:.0f} | {100 * r["req_per_s"] / ceiling:.0f}% | {cpu} | {r.get("errors", "—")} |')
PY
