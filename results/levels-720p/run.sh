#!/bin/sh
# precision-net on procedural levels (issue #17 item 4): does far more varied training data make the
# network beat the per-bitrate lookup table on scenes it never saw?
#
#   OUT=levels-out ./run.sh levels FIRST COUNT     # COUNT levels from seed FIRST, 720p, 30 frames each
#   OUT=levels-out ./run.sh gltf                   # the seven rendered glTF training scenes, 63 frames
#   OUT=levels-out ./run.sh test DIR...            # the test scenes (150 frames of each DIR)
#   OUT=levels-out ./run.sh evaluate               # generalise.py over everything above
#
# The test scenes are the 300-frame orbit renders of results/formats-720p (DepthOfFieldExample,
# IrradianceVolumeExample, Fox; never used to train, calibrate or tune anything), of which the
# first 150 frames are swept. Levels run in parallel as disjoint seed ranges (one per core or per
# machine: scripts/render-levels.sh skips what is done). Every sweep: H.264 8-bit, the model's 11
# candidates, libx264 ultrafast, CBR, GOP 30, 1..32 Mbit/s at 720p30 (scaled to the pixel rate).
set -eu
OUT=${OUT:-levels-out}
D=${DEPTHCAST:-depthcast}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCENES=${DEPTHCAST_SCENES:-$ROOT/../shared/scenes}
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
what=${1:-}
[ $# -gt 0 ] && shift
mkdir -p "$OUT/features"
case $what in
levels)
    DEPTHCAST_BIN=$(realpath "$(command -v "$D")") "$ROOT/scripts/render-levels.sh" "$OUT/levels" "$1" "$2" 30 1280x720
    ;;
gltf)
    for e in "CornellBox.glb orbit" "MixedLightingExample/MixedLightingExample.gltf orbit" \
        "FlightHelmet/FlightHelmet.gltf orbit" "GolfBall.glb approach" "alien.glb orbit" \
        "cakeBirthday.glb approach" "tile.glb pan"; do
        set -- $e
        n=$(basename "${1%.*}")
        [ -f "$OUT/gltf/$n/summary.json" ] && continue
        $D render --scene "$SCENES/$1" --camera "$2" --frames 63 --size 1280x720 --encoding exr --out "$OUT/seq/train-$n"
        $D predict features "$OUT/seq/train-$n" --frames 63 --out "$OUT/features/train-$n.csv"
        $D predict sweep "$OUT/seq/train-$n" --out "$OUT/gltf/$n" --frames 63 --gop 30 --no-policies --threads 1
    done
    ;;
test)
    for dir in "$@"; do
        n=$(basename "$dir")
        $D predict features "$dir" --frames 150 --out "$OUT/features/test-$n.csv"
        $D predict sweep "$dir" --out "$OUT/test/$n" --frames 150 --gop 30 --no-policies --threads 1
    done
    ;;
evaluate)
    # The training sets against the test scenes over three seeds; the held-out levels and glTF
    # scenes over one (generalise.md is the two outputs, one after the other).
    set -- --sweep "$OUT"/test/* "$OUT"/gltf/* "$OUT"/levels/sweep/* \
        --features "$OUT"/features/*.csv "$OUT"/levels/features/*.csv \
        --test IrradianceVolumeExample,DepthOfFieldExample,Fox \
        --model "$ROOT/precision-net/models/precision-int8.onnx"
    python3 "$ROOT/precision-net/train/generalise.py" "$@" --seeds 1234,1,2 --skip kinds,scenes --out "$OUT/sets.md"
    python3 "$ROOT/precision-net/train/generalise.py" "$@" --skip sets --out "$OUT/held.md"
    ;;
*)
    echo "usage: run.sh levels FIRST COUNT | gltf | test DIR... | evaluate" >&2
    exit 2
    ;;
esac
