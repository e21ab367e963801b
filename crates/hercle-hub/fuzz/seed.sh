#!/usr/bin/env sh
# Builds the seed corpus of the feed_differential target. The first byte of
# each seed picks its level (see the target): 0 a whole record, 1 an envelope,
# 2 a quote. Seeds: every SignalR hub fixture, the HubEnvelope and PriceQuote
# model fixtures, the hub's SubscribePairPriceChannel data, and generated
# price updates in the wire layout (envelope and data as JSON strings) with
# the number and timestamp forms the fast path must agree on.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../../../fixtures"
out="$here/corpus/feed_differential"
mkdir -p "$out"
seed() { # level name file
    { printf "\\$(printf '%03o' "$1")"; cat "$3"; } > "$out/seed-$2"
}
for f in "$fixtures"/signalr/hub/*.json; do seed 0 "record-$(basename "$f" .json)" "$f"; done
for f in "$fixtures"/models/HubEnvelope/*.json; do seed 1 "envelope-$(basename "$f" .json)" "$f"; done
for f in "$fixtures"/models/PriceQuote/*.json "$fixtures"/hub/SubscribePairPriceChannel/data-*.json; do
    seed 2 "quote-$(basename "$(dirname "$f")")-$(basename "$f" .json)" "$f"
done
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def compact(v): return json.dumps(v, separators=(",", ":"))
base = '{"id":"23b8c1e9-3924-46de-beb1-3b9046685257","pair":"BTCUSDT","buyPrice":97016.27,"sellPrice":97010.77,"markPrice":97013.52,"size":0.01,"timestamp":"2023-10-11T23:00:57.93094Z"}'
quotes = {
    "wire": base,
    "digits18": base.replace("97016.27", "123456789.123456789"),
    "tiny": base.replace("0.01", "0.00000001"),
    "exponent": base.replace("0.01", "1e-8").replace("97016.27", "9.701627E+4"),
    "negzero": base.replace("0.01", "-0.0"),
    "max": base.replace("97016.27", "79228162514264337593543950335"),
    "millis": base.replace('"2023-10-11T23:00:57.93094Z"', "123456789012"),
    "timeStamp": base.replace('"timestamp"', '"timeStamp"'),
    "scale": base.replace("97016.27", "97016.270"),
}
for name, q in quotes.items():
    env = {"channel": "subscriptions", "topic": "Execution", "subject": "execution.feeds.priceUpdate",
           "type": "message", "clientId": "px-BTCUSDT-1", "data": q}
    env_text = compact(env)
    record = '{"type":1,"target":"subscriptions","arguments":[' + compact(env_text) + ']}'
    for level, text in ((0, record), (1, env_text), (2, q)):
        with open(os.path.join(out, f"seed-gen-{name}-{level}"), "wb") as f:
            f.write(bytes([level]) + text.encode())
PY
echo "seeded $(ls "$out" | wc -l) files into $out"
