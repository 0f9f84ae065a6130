#!/bin/sh
# The start-up probe across formats at 720p30 (issue #17 item 3): what `depthcast send --auto
# --probe --receivers chromium|native` chooses, as real whole-sequence runs, against 8-bit luma
# with H.264 and the best fixed configuration of any codec. Every encoder at its fastest preset,
# CBR, GOP 30, the quick packing grid per bit depth.
#
# Test scenes (never used to train, calibrate or tune anything), rendered with
#   depthcast render --scene ../shared/scenes/NAME.glb --frames 63 --size 1280x720 --out DIR
# for DepthOfFieldExample, IrradianceVolumeExample and Fox:
#   OUT=formats-out ./run.sh test DepthOfFieldExample IrradianceVolumeExample Fox
# Training scenes (precision-net's; used to check the probe's shortlist rule), CornellBox,
# MixedLightingExample and FlightHelmet rendered the same way:
#   OUT=formats-out ./run.sh train CornellBox MixedLightingExample FlightHelmet
# `python3 probe_estimate.py OUT/SWEEP/frames.csv 15` then estimates, from the fixed runs alone,
# what a 15-frame probe over the whole grid of every format would choose, and
# `python3 causal_estimate.py OUT/SWEEP/frames.csv 30` what keyframe policies would (the best
# causal policy, and re-probes every K keyframes as `send --reprobe` makes them).
# 300-frame runs of the test scenes (rendered with --frames 300):
#   OUT=formats-out ./run.sh long DepthOfFieldExample IrradianceVolumeExample Fox
# and with --camera pan as well (./run.sh pan ...).
set -eu
OUT=${OUT:-formats-out}
D=${DEPTHCAST:-depthcast}
what=$1
shift
case $what in
test)
    # Browsers (Chromium: H.264 8/10-bit, AV1), then depthcast's own receivers (HEVC too).
    $D sweep "$@" --codecs h264-8,h264-10,av1-8,av1-10 --grid quick --gop 30 --out "$OUT/chromium"
    $D sweep "$@" --codecs h264-8,h264-10,hevc-10,av1-8,av1-10 --grid quick --gop 30 --out "$OUT/native"
    ;;
long)
    # The same test scenes over 300 frames (10 s; render with --frames 300), H.264 at 8 and 10
    # bits only (AV1 never won a cell over 63 frames, and would double the time): the start-up
    # probe against the best causal policy when the scene has time to change.
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --gop 30 --out "$OUT/long"
    ;;
pan)
    # The same, rendered with --camera pan (fast ±50° pans): sequences nothing was tuned on.
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --gop 30 --out "$OUT/pan"
    ;;
train)
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --gop 30 --no-policies --out "$OUT/train"
    ;;
*)
    echo "usage: run.sh test|long|pan|train SEQ_DIR..." >&2
    exit 2
    ;;
esac
