#!/usr/bin/env sh
# Builds the seed corpus from fixtures/signalr: each record gets its 0x1E
# terminator; the multi-record streams are copied as they are.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../../../fixtures/signalr"
out="$here/corpus/decode"
mkdir -p "$out"
for f in "$fixtures"/hub/*.json "$fixtures"/handshake/*.json "$fixtures"/negotiate/*.json; do
    { cat "$f"; printf '\036'; } > "$out/seed-$(basename "$f" .json)"
done
for f in "$fixtures"/streams/*.records; do
    cp "$f" "$out/seed-$(basename "$f" .records)"
done
echo "seeded $(ls "$out" | wc -l) files into $out"
