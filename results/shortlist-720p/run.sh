#!/bin/sh
# `send --reprobe` with rounds of a shortlist: which pair fills a round's last place (issue #17;
# protocol.txt, README.md). 720p30, CBR, GOP 30, x264 ultrafast, one thread per encode.
#
# The model, on the GOP sums committed in ../half-720p/gops (a second; model.md):
#   ./run.sh model
# Real runs (the sweep's model of `send --reprobe`, every plan encoded for real, moves reopening
# the encoder) on the three test scenes over 300 frames, rendered as in ../half-720p (`long`,
# `approach`, `strafe`):
#   depthcast render --scene ../shared/scenes/NAME.glb --frames 300 --size 1280x720 [--camera C] --out DIR/NAME
# for DepthOfFieldExample, IrradianceVolumeExample and Fox; then
#   OUT=shortlist-out DEPTHCAST_BEFORE=/path/to/old/depthcast ./run.sh real DIR NAME
# sweeps them (every fixed run once, the keyframe policies only) with rounds of 2 and of 4 pairs,
# with this build and with DEPTHCAST_BEFORE, a build of the commit before the rule changed
# (04b61e7), on copies of the folder (the fixed runs are reused; only the plans that differ are
# encoded), and prints the per-cell tables (../half-720p/variants.py). `real-m0 DIR NAME` does
# the rounds of 2 at a margin of 0, as ../half-720p/shortlist.md's runs of the rule before. The
# rounds of 3 in the README are the same sweep by this build with `--reprobe-pairs 3`, on a copy
# of OUT/NAME-k2-now.
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
real|real-m0)
    src=$1
    name=$2
    margin=
    [ "$what" = real ] || { margin="--reprobe-margin 0"; name=$name-m0; }
    sweep() {
        bin=$1
        shift
        $bin sweep "$src/DepthOfFieldExample" "$src/IrradianceVolumeExample" "$src/Fox" --codecs h264-8,h264-10 \
            --grid quick --half --gop 30 --format-probe half --no-predictor-policies $margin "$@"
    }
    sweep "$D" --reprobe-pairs 2 --out "$OUT/$name-k2-now"
    for k in 2 4; do
        for who in now before; do
            [ "$what" = real ] || [ $k = 2 ] || continue
            run=$OUT/$name-k$k-$who
            [ -d "$run" ] || cp -a "$OUT/$name-k2-now" "$run"
            bin=$D
            [ $who = now ] || bin=$DEPTHCAST_BEFORE
            sweep "$bin" --reprobe-pairs $k --out "$run"
        done
        if [ -d "$OUT/$name-k$k-before" ]; then
            python3 "$here/../half-720p/variants.py" "before=$OUT/$name-k$k-before" "by turns=$OUT/$name-k$k-now"
        fi
    done
    ;;
*)
    echo "usage: run.sh model | real RENDERS_DIR NAME | real-m0 RENDERS_DIR NAME" >&2
    exit 2
    ;;
esac
