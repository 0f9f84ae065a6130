#!/bin/sh
# precision-net over every pair of the format space (issue #17 item 4; protocol.txt, pairs.py).
#
#   OUT=pairs-out ./run.sh clips FIRST COUNT        # COUNT clips from seed FIRST, swept over every pair
#   OUT=pairs-out ./run.sh features CAMERA DIR...   # features of 300-frame renders: CAMERA-NAME.csv
#   OUT=pairs-out ./run.sh evaluate                 # pairs.py: pairs.md
#
# Clips are ../views-720p's (`../views-720p/run.sh clips`: paths.py's random camera clips of the
# seven glTF training models, 30 frames at 720p, through scripts/training-sequence.sh), here with
# DEPTHCAST_SWEEP=pairs: H.264 8 and 10-bit, the quick grid, full and half size (32 pairs),
# libx264 ultrafast, CBR, GOP 30, 1..32 Mbit/s, one thread; frames deleted once swept, finished
# clips skipped (the script resumes; disjoint seed ranges run in parallel, one per core). The 300-frame sequences are
# ../half-720p's: their GOP sums are committed there (gops/), so only their features are made
# here, from the same renders:
#   ./run.sh features train .../FlightHelmet .../alien .../cakeBirthday .../level2000 ... .../level2005
#   ./run.sh features orbit .../DepthOfFieldExample .../IrradianceVolumeExample .../Fox   (and strafe, pan, approach)
set -eu
OUT=${OUT:-pairs-out}
HERE=$(cd "$(dirname "$0")" && pwd)
export OUT
what=${1:-}
[ $# -gt 0 ] && shift
case $what in
clips)
    DEPTHCAST_SWEEP=pairs "$HERE/../views-720p/run.sh" clips "$@"
    ;;
features)
    camera=$1
    shift
    mkdir -p "$OUT/features"
    for dir in "$@"; do
        f="$OUT/features/$camera-$(basename "$dir").csv"
        [ -f "$f" ] || { ${DEPTHCAST:-depthcast} predict features "$dir" --frames 300 --out "$f.part" && mv "$f.part" "$f"; }
    done
    ;;
evaluate)
    ${PYTHON:-python3} "$HERE/pairs.py" --features "$OUT/features" --clips "$OUT"/sweep/* --out "$HERE/pairs.md"
    ;;
*)
    echo "usage: run.sh clips FIRST COUNT | features CAMERA DIR... | evaluate" >&2
    exit 2
    ;;
esac
