#!/bin/sh
# `send --reprobe` with rounds of a shortlist: which pair fills a round's last place (issue #17;
# protocol.txt, README.md). 720p30, CBR, GOP 30, x264 ultrafast, one thread per encode.
#
# The model, on the GOP sums committed in ../half-720p/gops (a second; model.md):
#   ./run.sh model
# Real runs (the sweep's model of `send --reprobe`, every rule encoded for real, moves reopening
# the encoder) on the three test scenes orbited over 300 frames, rendered as half-720p's `long`:
#   depthcast render --scene ../shared/scenes/NAME.glb --frames 300 --size 1280x720 --out DIR/NAME
# for DepthOfFieldExample, IrradianceVolumeExample and Fox; then
#   OUT=shortlist-out ./run.sh real DIR
# sweeps them (every fixed run once; the keyframe policies only) with rounds of 2 pairs at a
# margin of 0 (as ../half-720p/shortlist.md's 2-pair runs, of the rule before) and at the default
# margin, and prints the per-cell tables (../half-720p/variants.py).
set -eu
OUT=${OUT:-shortlist-out}
D=${DEPTHCAST:-depthcast}
here=$(dirname "$0")
what=$1
shift
case $what in
model)
    g=$here/../half-720p/gops
    python3 "$here/../half-720p/shortlist.py" \
        --design levels=$g/level2000.csv.gz,$g/level2001.csv.gz,$g/level2002.csv.gz,$g/level2003.csv.gz,$g/level2004.csv.gz,$g/level2005.csv.gz \
        gltf-orbit=$g/gltf-orbit.csv.gz \
        --test orbit=$g/orbit.csv.gz pan=$g/pan.csv.gz approach=$g/approach.csv.gz strafe=$g/strafe.csv.gz \
        --out "$here/model.md"
    ;;
real)
    src=$1
    sweep() {
        $D sweep "$src/DepthOfFieldExample" "$src/IrradianceVolumeExample" "$src/Fox" --codecs h264-8,h264-10 \
            --grid quick --half --gop 30 --format-probe half --no-predictor-policies "$@"
    }
    sweep --reprobe-pairs 2 --reprobe-margin 0 --out "$OUT/k2-m0"
    # The same fixed runs, the policies again at the default margin.
    [ -d "$OUT/k2" ] || cp -a "$OUT/k2-m0" "$OUT/k2"
    sweep --reprobe-pairs 2 --out "$OUT/k2"
    python3 "$here/../half-720p/variants.py" "2 pairs, margin 0=$OUT/k2-m0" "2 pairs=$OUT/k2"
    ;;
*)
    echo "usage: run.sh model | real RENDERS_DIR" >&2
    exit 2
    ;;
esac
