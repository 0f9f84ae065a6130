#!/bin/bash
# The Bevy sender's fixed default (VBP luma P16, ROI -0.4) against auto + start-up probe, on the
# built-in room (walked) and DepthOfFieldExample (orbited), 1280x720, 150 frames, 1/4/16 Mbit/s.
# Usage: results/bevy-sender-probe/run.sh [OUT]   (from the repository root, after a release build)
# then:  python3 results/bevy-sender-probe/compare.py [OUT]
set -u
B=${DEPTHCAST:-target/release/depthcast}
SCENES=${SCENES:-../shared/scenes}
OUT=${1:-bevy-sender-probe-out}
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
mkdir -p "$OUT"
for scene in room dof; do
  for br in 1M 4M 16M; do
    for mode in fixed auto; do
      args=(demo --width 1280 --height 720 --frames 150 --bitrate "$br" --no-baseline --out "$OUT/$scene-$br-$mode")
      [ "$mode" = auto ] && args+=(--auto)
      [ "$scene" = dof ] && args+=(--scene "$SCENES/DepthOfFieldExample.glb")
      start=$(date +%s)
      "$B" "${args[@]}" > "$OUT/$scene-$br-$mode.log" 2>&1
      echo "$scene $br $mode exit $? $(( $(date +%s) - start )) s"
    done
  done
done
