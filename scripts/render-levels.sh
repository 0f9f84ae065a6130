#!/usr/bin/env bash
# Renders procedural game levels (`depthcast render --scene level:SEED`) and turns each into
# precision-net training data (scripts/training-sequence.sh): its features (`depthcast predict
# features`) and the fixed runs of every candidate (`depthcast predict sweep --no-policies`). The
# frames are deleted once both are written (a 640x360 EXR frame is about 2.5 MB), so thousands of
# levels fit on a disk; a level whose outputs exist is skipped, so the script resumes, and disjoint
# seed ranges run on other machines.
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
kinds=(interior terrain city arena)   # `LevelKind::of_seed`: SEED % 4
for ((seed = first; seed < first + count; seed++)); do
  DEPTHCAST_BIN="$bin" scripts/training-sequence.sh "$out" "level-$seed" "$frames" "${kinds[seed % 4]}" \
    --scene "level:$seed" --size "$size" --encoding exr
done
