#!/usr/bin/env bash
# Renders procedural game levels (`depthcast render --scene level:SEED`) and turns each into
# precision-net training data: its features (`depthcast predict features`) and the fixed runs of
# every candidate (`depthcast predict sweep --no-policies`). The frames are deleted once both are
# written (a 640x360 EXR frame is about 2.5 MB), so thousands of levels fit on a disk; a level whose
# outputs exist is skipped, so the script resumes, and disjoint seed ranges run on other machines.
#
#   scripts/render-levels.sh OUT FIRST_SEED COUNT [FRAMES] [SIZE]
#                                   (defaults: 60 frames at 640x360, 30 fps)
#
# Writes OUT/features/level-SEED.csv, OUT/sweep/level-SEED/ (summary.json, frames.csv, runs/) and
# OUT/seq/level-SEED/ (sequence.json and preview.png only). Bitrates are the sweep's 1..32 Mbit/s at
# 1280x720 scaled to the level's pixel rate, as for every training sequence. Without a GPU the
# renders run on Mesa's software Vulkan (WGPU_BACKEND=vulkan).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/render-levels.sh OUT FIRST_SEED COUNT [FRAMES] [SIZE]}"
first="${2:?first seed}"
count="${3:?number of levels}"
frames="${4:-60}"
size="${5:-640x360}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
bin="${DEPTHCAST_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --bin depthcast
  bin="${CARGO_TARGET_DIR:-target}/release/depthcast"
fi
mkdir -p "$out/features" "$out/sweep" "$out/seq"
for ((seed = first; seed < first + count; seed++)); do
  name="level-$seed"
  if [ -f "$out/features/$name.csv" ] && [ -f "$out/sweep/$name/summary.json" ]; then
    echo "$name: done before, skipped"
    continue
  fi
  seq="$out/seq/$name"
  start=$(date +%s)
  "$bin" render --scene "level:$seed" --frames "$frames" --size "$size" --encoding exr --out "$seq" \
    > "$out/seq/$name.log" 2>&1 || { echo "$name: render failed (see $out/seq/$name.log)"; continue; }
  "$bin" predict features "$seq" --frames "$frames" --out "$out/features/$name.csv.part" >> "$out/seq/$name.log" 2>&1
  "$bin" predict sweep "$seq" --out "$out/sweep/$name" --frames "$frames" --gop 30 --no-policies --threads 1 \
    >> "$out/seq/$name.log" 2>&1
  mv "$out/features/$name.csv.part" "$out/features/$name.csv"
  find "$seq" -name '*.exr' -delete
  echo "$name: $(grep -o 'interior\|terrain\|city\|arena' "$seq/sequence.json" | head -1), $(( $(date +%s) - start )) s"
done
