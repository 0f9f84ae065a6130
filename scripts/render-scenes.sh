#!/usr/bin/env bash
# Renders every scene of ../shared/scenes into depth sequences with `depthcast render`.
#
#   scripts/render-scenes.sh OUT [FRAMES] [SIZE] [ENCODING]
#                                   (defaults: 300 frames, 1280x720, 30 fps, exr)
#
# Frames are f32 EXR by default, the depth a game engine hands the sender. Millimetre PNG
# (ENCODING=png16 or auto) quantises a small scene to a few hundred levels (the 0.56 m FlightHelmet
# to about 9 bits), a staircase no renderer would send; precision-net's labels barely changed
# with it (precision-net/models/report.md), but the training data should be what the sender sees.
# EXR costs about 10 MB a frame at 1280x720.
#
# One camera path per scene, picked for what the scene is: rooms are walked through (turns and
# stops), dioramas get fast pans, single objects are orbited or approached. Each sequence lands in
# OUT/<scene>/ with a preview.png of its first frame; a summary line per scene goes to
# OUT/render-log.txt. Without a GPU this runs on Mesa's software Vulkan (WGPU_BACKEND=vulkan).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/render-scenes.sh OUT [FRAMES] [SIZE] [ENCODING]}"
frames="${2:-300}"
size="${3:-1280x720}"
encoding="${4:-exr}"
scenes="${DEPTHCAST_SCENES:-../shared/scenes}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

# scene file (relative to $scenes) and camera path
plan=(
  "CornellBox.glb walk"
  "IrradianceVolumeExample.glb walk"
  "MixedLightingExample/MixedLightingExample.gltf walk"
  "DepthOfFieldExample.glb pan"
  "FlightHelmet/FlightHelmet.gltf orbit"
  "Fox.glb orbit"
  "GolfBall.glb approach"
  "alien.glb orbit"
  "cakeBirthday.glb approach"
  "tile.glb pan"
)

cargo build --release --bin depthcast
bin="${CARGO_TARGET_DIR:-target}/release/depthcast"
mkdir -p "$out"
for entry in "${plan[@]}"; do
  read -r file path <<<"$entry"
  name="$(basename "${file%.*}")"
  if [ -f "$out/$name/sequence.json" ]; then
    echo "$name: already rendered, skipped"
    continue
  fi
  "$bin" render --scene "$scenes/$file" --frames "$frames" --size "$size" --fps 30 \
    --camera "$path" --encoding "$encoding" --out "$out/$name" | tee -a "$out/render-log.txt"
done
