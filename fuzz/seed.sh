#!/bin/sh
# Regenerates the seed corpus of the `receive_path` fuzz target (fuzz/seeds/receive_path): tiny
# real encodes (64x36, four frames) of every scheme, H.264 and HEVC, 8 and 10 bits, MPEG-TS and
# Matroska, made by our own DepthEncoder and checked to read back whole through DepthReceiver
# (the ignored test `fuzz_seed_corpus` in stream/tests/network_fuzz.rs).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/fuzz/seeds/receive_path"
rm -rf "$out"
mkdir -p "$out"
cd "$root"
DEPTHCAST_FUZZ_SEEDS="$out" cargo test -p depthcast-stream --test network_fuzz -- --ignored --exact fuzz_seed_corpus --nocapture
ls -l "$out"
