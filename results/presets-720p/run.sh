#!/bin/sh
# The encoder preset as a choice within a real-time budget (issue #17, item 1).
# 1. Each software encoder's time per 720p frame on one core at each preset, for both frame
#    shapes a packing has, against 16 ms (bench.txt):
#      depthcast bench --presets --width 1280 --height 720 --budget-ms 16 > bench.txt
#    and at 4, 16 and 32 Mbit/s on 2026-12-07 (bench-rates.txt; stopped after the H.264 rows at
#    32 Mbit/s):
#      depthcast bench --presets --width 1280 --height 720 --budget-ms 16 --mbps 4,16,32
# 2. The test scenes of ../formats-720p (63 frames, rendered as there) swept with H.264 at 8 and
#    10 bits at the slowest preset where every H.264 pair fits the budget (superfast) and at
#    ultrafast, then reduced by table.py:
#      OUT=presets-out ./run.sh DepthOfFieldExample IrradianceVolumeExample Fox
set -eu
OUT=${OUT:-presets-out}
D=${DEPTHCAST:-depthcast}
for preset in superfast ultrafast; do
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --gop 30 --preset $preset --out "$OUT/$preset"
done
python3 "$(dirname "$0")/table.py" "$OUT"
