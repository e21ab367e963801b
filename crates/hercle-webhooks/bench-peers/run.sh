#!/usr/bin/env bash
# Webhook receiver benchmark: hercle-webhooks (durable SQLite store, the
# PostgreSQL store on a throwaway local server, and verify-only) vs the docs'
# Express sample and Flask sample (under gunicorn),
# all driven by the same bounded load generator on loopback, plus ring's raw
# RSA-2048 verify rate (the ceiling). Prints a table.
#
# Usage: crates/hercle-webhooks/bench-peers/run.sh   (from anywhere)
# Env: N1 (requests at c=1, default 2000), N32 (at c=32, default 20000),
#      CAP (seconds cap per run, default 20), THREADS (server/loadgen threads, default 2),
#      PG (1: also the PostgreSQL store, default 1; needs the Debian postgresql package).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
N1="${N1:-2000}"; N32="${N32:-20000}"; CAP="${CAP:-20}"; THREADS="${THREADS:-2}"; PG="${PG:-1}"
PUB="$ROOT/fixtures/webhooks/test-only-primary-public-spki.pem"
PRIV="$ROOT/fixtures/webhooks/test-only-primary-private-pkcs8.pem"
WORK="$(mktemp -d)"; PGDIR=""; PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -z "$PGDIR" ] || { [ -f "$PGDIR/pid" ] && kill -INT "$(cat "$PGDIR/pid")" 2>/dev/null; sleep 1; rm -rf "$PGDIR"; }
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== installing peers" >&2
(cd "$HERE/node" && npm install --no-audit --no-fund --silent >/dev/null)
[ -x "$HERE/python/.venv/bin/gunicorn" ] || python3 -m venv "$HERE/python/.venv"
"$HERE/python/.venv/bin/pip" install -q -r "$HERE/python/requirements.txt"
echo "== building (release)" >&2
[ -n "${SKIP_BUILD:-}" ] || (cd "$ROOT" && cargo build --release -q -p hercle-webhooks --examples && cargo build --release -q -p hercle-bench)
BIN="$CARGO_TARGET_DIR/release/examples"

wait_port() { # bounded readiness poll (max 10 s)
  for _ in $(seq 1 100); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$1/webhooks/hercle" && return 0; sleep 0.1
  done; echo "server on $1 did not come up" >&2; return 1
}
load() { # label port conc n
  "$BIN/loadgen" --private-key "$PRIV" --url "http://127.0.0.1:$2/webhooks/hercle" \
    --concurrency "$3" --requests "$4" --time-cap "$CAP" --threads "$THREADS" \
    --label "$1" --id-prefix "evt_$1_c$3" | grep '^RESULT' | tee -a "$WORK/results"
}
run_target() { # label port start-command...
  local label=$1 port=$2; shift 2
  "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" & local pid=$!; PIDS+=("$pid")
  wait_port "$port"
  # The contract's twelve correctness cases first (bench-contract.md).
  "$HERE/python/.venv/bin/python" "$HERE/python/correctness.py" "http://127.0.0.1:$port/webhooks/hercle" \
    | tail -1 | tee -a "$WORK/correctness" >&2
  load "$label" "$port" 1 "$N1"
  load "$label" "$port" 32 "$N32"
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}

start_pg() { # port: a throwaway PostgreSQL cluster (fsync on), as nobody when root
  local bin; bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -x "$bin/postgres" ] || { echo "PostgreSQL not installed (apt-get install postgresql)" >&2; return 1; }
  PGDIR="$(mktemp -d)"; chmod 755 "$PGDIR"
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown nobody "$PGDIR"; as=(setpriv --reuid "$(id -u nobody)" --regid "$(id -g nobody)" --clear-groups --)
  fi
  "${as[@]}" "$bin/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 >/dev/null
  "${as[@]}" "$bin/postgres" -D "$PGDIR/data" -p "$1" -k "$PGDIR" -c listen_addresses=127.0.0.1 \
    2>"$PGDIR/log" & echo $! >"$PGDIR/pid"
  for _ in $(seq 1 100); do "$bin/pg_isready" -q -h 127.0.0.1 -p "$1" && return 0; sleep 0.1; done
  echo "postgres did not come up" >&2; return 1
}

echo "== ring raw verify" >&2
"$BIN/loadgen" --private-key "$PRIV" --raw-verify 3 --threads "$THREADS" | tee "$WORK/raw"
run_target durable 18181 "$BIN/receiver" --mode durable --public-key "$PUB" --db "$WORK/durable.db" --port 18181 --threads "$THREADS"
run_target durable-normal 18182 "$BIN/receiver" --mode durable-normal --public-key "$PUB" --db "$WORK/normal.db" --port 18182 --threads "$THREADS"
if [ "$PG" = 1 ]; then
  start_pg 18190
  run_target durable-postgres 18186 "$BIN/receiver" --mode postgres --public-key "$PUB" --port 18186 --threads "$THREADS" \
    --pg "host=127.0.0.1 port=18190 user=postgres dbname=postgres"
fi
run_target verify-only 18183 "$BIN/receiver" --mode verify-only --public-key "$PUB" --port 18183 --threads "$THREADS"
# The contract's command (bench-contract.md, webhook): verify semantics, then the durable receiver.
run_target bench-webhook 18187 env PORT=18187 WEBHOOK_PUBLIC_KEY_FILE="$PUB" \
  "$CARGO_TARGET_DIR/release/hercle-bench" webhook
run_target bench-webhook-durable 18188 env PORT=18188 WEBHOOK_PUBLIC_KEY_FILE="$PUB" \
  HERCLE_WEBHOOK_MODE=durable HERCLE_WEBHOOK_DB="$WORK/bench.db" "$CARGO_TARGET_DIR/release/hercle-bench" webhook
run_target express 18184 env PUBLIC_KEY_PATH="$PUB" PORT=18184 node "$HERE/node/server.js"
run_target flask-gunicorn 18185 env PUBLIC_KEY_PATH="$PUB" "$HERE/python/.venv/bin/gunicorn" \
  --chdir "$HERE/python" -w "$THREADS" -b 127.0.0.1:18185 --log-level warning app:app

echo
echo "| target | c=1 req/s | c=1 p99 (ms) | c=32 req/s | c=32 p99 (ms) | non-200 |"
echo "|---|---|---|---|---|---|"
awk '{t=$2; for(i=3;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]}
      if(!(t in seen)){order[++n]=t; seen[t]=1}
      r[t,v["c"]]=v["rps"]; p[t,v["c"]]=sprintf("%.2f", v["p99_us"]/1000); e[t]+=v["non200"]}
     END{for(i=1;i<=n;i++){t=order[i]; printf "| %s | %s | %s | %s | %s | %d |\n", t, r[t,1], p[t,1], r[t,32], p[t,32], e[t]}}' "$WORK/results"
echo
cat "$WORK/correctness"
echo
cat "$WORK/raw"
echo "cores: $(nproc); loadgen and server share them"
