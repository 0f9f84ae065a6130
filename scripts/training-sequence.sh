#!/usr/bin/env bash
# One sequence of precision-net training data: renders it (`depthcast render` with the arguments
# given after NOTE), writes its features (`depthcast predict features`) and the fixed runs of every
# candidate (`depthcast predict sweep --no-policies`, GOP 30, one thread), then deletes the frames
# (sequence.json and preview.png stay). A sequence whose outputs exist is skipped, so callers resume.
# With DEPTHCAST_SWEEP=pairs the fixed runs are every pair of the whole format space instead of the
# model's candidates: `depthcast sweep --codecs h264-8,h264-10 --grid quick --half --no-policies`
# (32 pairs, results/pairs-720p).
#
#   DEPTHCAST_BIN=depthcast [DEPTHCAST_SWEEP=pairs] scripts/training-sequence.sh OUT NAME FRAMES NOTE RENDER_ARGS...
#
# Writes OUT/features/NAME.csv, OUT/sweep/NAME/ and OUT/seq/NAME/, the log in OUT/seq/NAME.log, and
# prints one line: "NAME: NOTE, SECONDS s", or why it did nothing. Used by scripts/render-levels.sh
# and results/views-720p/run.sh.
set -euo pipefail
out="$1" name="$2" frames="$3" note="$4"
shift 4
bin="${DEPTHCAST_BIN:?DEPTHCAST_BIN: the depthcast binary}"
case "${DEPTHCAST_SWEEP:-candidates}" in
candidates) sweep=(predict sweep) ;;
pairs) sweep=(sweep --codecs h264-8,h264-10 --grid quick --half) ;;
*) echo "DEPTHCAST_SWEEP: candidates or pairs, not ${DEPTHCAST_SWEEP}" >&2; exit 2 ;;
esac
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
"$bin" "${sweep[@]}" "$seq" --out "$out/sweep/$name" --frames "$frames" --gop 30 --no-policies --threads 1 \
  >> "$out/seq/$name.log" 2>&1
mv "$out/features/$name.csv.part" "$out/features/$name.csv"
find "$seq" \( -name '*.exr' -o -name '*.png' \) ! -name preview.png -delete
echo "$name: $note, $(( $(date +%s) - start )) s"
