#!/usr/bin/env bash
# Runs Schemathesis (pinned in api/requirements.txt) against a freshly started
# sandbox with every check on, including the stateful phase over the
# description's links. Exits non-zero on any failure.
#
#   api/contract-test.sh                 # CI size: fixed seed, few examples
#   EXAMPLES=100 SEED=7 api/contract-test.sh   # a larger local run
#
# Needs `python3 -m pip install -r api/requirements.txt` and a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED="${SEED:-20261130}"
EXAMPLES="${EXAMPLES:-10}"
MAX_TIME="${MAX_TIME:-}"
PROFILE_FLAG=()
[ "${RELEASE:-0}" = 1 ] && PROFILE_FLAG=(--release)

cargo build --quiet --locked "${PROFILE_FLAG[@]}" -p hercle-sandbox --bin hercle-sandbox
BIN="target/$([ "${RELEASE:-0}" = 1 ] && echo release || echo debug)/hercle-sandbox"

# A free loopback port: bind port 0, read what the kernel chose, release it.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
LOG="$(mktemp)"
"$BIN" --port "$PORT" >"$LOG" 2>&1 &
SANDBOX=$!
cleanup() {
  kill "$SANDBOX" 2>/dev/null || true
  wait "$SANDBOX" 2>/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT

# Wait (bounded) until the sandbox answers its health endpoint.
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/_sandbox/health', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SANDBOX" 2>/dev/null; then
    echo "sandbox exited early:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.1
done

ARGS=(
  run api/hercle.openapi.json
  --url "http://127.0.0.1:$PORT"
  --header "Authorization: Bearer sandbox-key"
  --checks all
  --phases examples,coverage,fuzzing,stateful
  --seed "$SEED"
  --max-examples "$EXAMPLES"
  --workers 1
  --no-shrink
  --report junit
  --report-dir "${REPORT_DIR:-target/schemathesis}"
)
[ -n "$MAX_TIME" ] && ARGS+=(--max-time "$MAX_TIME")
# `--config-file` must precede `run`; the config holds the per-check settings.
schemathesis --config-file api/schemathesis.toml "${ARGS[@]}" "$@"
