#!/bin/sh
# precision-net trained on the test scenes' kind of content: the seven glTF training models seen
# through many random camera clips (issue #17 item 4, after ../levels-720p showed that levels seen
# from inside do not transfer to glTF models seen from outside).
#
#   OUT=views-out ./run.sh clips FIRST COUNT   # COUNT clips from seed FIRST (paths.py), 720p, 30 frames
#   OUT=views-out ./run.sh gltf                # the seven 63-frame glTF training renders (../levels-720p)
#   OUT=views-out ./run.sh test NAME DIR...    # test scenes: the first 150 frames of each DIR, as OUT/test-NAME
#   OUT=views-out ./run.sh evaluate            # generalise.py: training sets against each test set
#
# Every sweep is ../levels-720p's: H.264 8-bit, the model's 11 candidates, libx264 ultrafast, CBR,
# GOP 30, 1..32 Mbit/s at 720p30 (with DEPTHCAST_SWEEP=pairs in the environment, clips are swept
# over every pair instead: ../pairs-720p). Each clip goes through scripts/training-sequence.sh,
# as the levels do: its frames are deleted once its features and fixed runs are written, a clip
# whose outputs exist is skipped, so the script resumes, and disjoint seed ranges run in parallel
# (one per core or machine).
set -eu
OUT=${OUT:-views-out}
D=${DEPTHCAST:-depthcast}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCENES=${DEPTHCAST_SCENES:-$ROOT/../shared/scenes}
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
what=${1:-}
[ $# -gt 0 ] && shift
mkdir -p "$OUT/features" "$OUT/sweep" "$OUT/seq"
case $what in
clips)
    for seed in $(seq "$1" $(($1 + $2 - 1))); do
        set -- $(python3 "$HERE/paths.py" "$seed" --out "$OUT/seq/view-$seed.path.json")
        DEPTHCAST_BIN=$D "$ROOT/scripts/training-sequence.sh" "$OUT" "view-$seed" 30 "$1 $3 fov $2" \
            --scene "$SCENES/$1" --camera "$OUT/seq/view-$seed.path.json" --fov "$2" --size 1280x720
    done
    ;;
gltf)
    OUT=$OUT "$ROOT/results/levels-720p/run.sh" gltf
    ;;
test)
    name=$1
    shift
    mkdir -p "$OUT/test-$name"
    for dir in "$@"; do
        n=$(basename "$dir")
        [ -f "$OUT/test-$name/$n/summary.json" ] && continue
        $D predict features "$dir" --frames 150 --out "$OUT/features/test-$name-$n.csv.part"
        $D predict sweep "$dir" --out "$OUT/test-$name/$n" --frames 150 --gop 30 --no-policies --threads 1
        mv "$OUT/features/test-$name-$n.csv.part" "$OUT/features/test-$name-$n.csv"
    done
    ;;
evaluate)
    # Against each test set: the committed model, and networks trained on the glTF renders, on the
    # clips and on both (three seeds each), then the ceiling any scores reach there (sets-NAME.md);
    # leave one glTF model out, tested on its render and on its clips (held.md, one seed).
    py=${PYTHON:-python3}
    test=IrradianceVolumeExample,DepthOfFieldExample,Fox
    for t in orbit strafe; do
        [ -d "$OUT/test-$t" ] || continue
        "$py" "$ROOT/precision-net/train/generalise.py" --sweep "$OUT/test-$t"/* "$OUT"/gltf/* "$OUT"/sweep/* \
            --features "$OUT"/features/test-$t-*.csv "$OUT"/features/train-*.csv "$OUT"/features/view-*.csv \
            --test $test --model "$ROOT/precision-net/models/precision-int8.onnx" \
            --seeds 1234,1,2 --skip kinds,scenes,models --out "$OUT/sets-$t.md"
    done
    "$py" "$ROOT/precision-net/train/generalise.py" --sweep "$OUT/test-orbit"/* "$OUT"/gltf/* "$OUT"/sweep/* \
        --features "$OUT"/features/test-orbit-*.csv "$OUT"/features/train-*.csv "$OUT"/features/view-*.csv \
        --test $test --skip sets,kinds,ceiling --out "$OUT/held.md"
    ;;
*)
    echo "usage: run.sh clips FIRST COUNT | gltf | test NAME DIR... | evaluate" >&2
    exit 2
    ;;
esac
