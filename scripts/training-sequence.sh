#!/usr/bin/env bash
# One sequence of precision-net training data: renders it (`depthcast render` with the arguments
# given after NOTE), writes its features (`depthcast predict features`) and the fixed runs of every
# candidate (`depthcast predict sweep --no-policies`, GOP 30, one thread), then deletes the frames
# (sequence.json and preview.png stay). A sequence whose outputs exist is skipped, so callers resume.
#
#   DEPTHCAST_BIN=depthcast scripts/training-sequence.sh OUT NAME FRAMES NOTE RENDER_ARGS...
#
# Writes OUT/features/NAME.csv, OUT/sweep/NAME/ and OUT/seq/NAME/, the log in OUT/seq/NAME.log, and
# prints one line: "NAME: NOTE, SECONDS s", or why it did nothing. Used by scripts/render-levels.sh
# and results/views-720p/run.sh.
set -euo pipefail
out="$1" name="$2" frames="$3" note="$4"
shift 4
bin="${DEPTHCAST_BIN:?DEPTHCAST_BIN: the depthcast binary}"
mkdir -p "$out/features" "$out/sweep" "$out/seq"
if [ -f "$out/features/$name.csv" ] && [ -f "$out/sweep/$name/summary.json" ]; then
  echo "$name: done before, skipped"
  exit 0
fi
seq="$out/seq/$name"
start=$(date +%s)
"$bin" render "$@" --frames "$frames" --out "$seq" > "$out/seq/$name.log" 2>&1 \
  || { echo "$name: render failed (see $out/seq/$name.log)"; exit 0; }
"$bin" predict features "$seq" --frames "$frames" --out "$out/features/$name.csv.part" >> "$out/seq/$name.log" 2>&1
"$bin" predict sweep "$seq" --out "$out/sweep/$name" --frames "$frames" --gop 30 --no-policies --threads 1 \
  >> "$out/seq/$name.log" 2>&1
mv "$out/features/$name.csv.part" "$out/features/$name.csv"
find "$seq" \( -name '*.exr' -o -name '*.png' \) ! -name preview.png -delete
echo "$name: $note, $(( $(date +%s) - start )) s"
