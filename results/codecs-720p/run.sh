#!/bin/sh
# Codecs and bit depths against 8-bit H.264 at 720p30 (issue #17): x264, x265 (Main10) and
# SVT-AV1 (8 and 10 bits), each at its fastest preset (x264/x265 ultrafast, SVT-AV1 12), CBR with a
# 2-frame buffer, GOP 30, the quick packing grid (AV1 skips the ROI configuration: FFmpeg 5.1's
# libsvtav1 ignores ROIs). Usage: run.sh SEQ_DIR... (rendered with
#   depthcast render --scene ../shared/scenes/NAME.glb --frames 63 --size 1280x720 --out SEQ_DIR)
# then `python3 table.py OUT` writes runs.csv and table.md.
set -eu
OUT=${OUT:-codecs-out}
D=${DEPTHCAST:-depthcast}
# The quick grid is per bit depth: one sweep for the 8-bit codecs, one for the 10-bit ones.
$D sweep "$@" --codecs h264-8,av1-8 --grid quick --gop 30 --no-policies --out "$OUT/sweep8"
$D sweep "$@" --codecs h264-10,hevc-10,av1-10 --grid quick --gop 30 --no-policies --out "$OUT/sweep10"
