#!/bin/sh
# `send --reprobe` measuring the stream's own pair from its packets, live (see protocol.txt).
#   DEPTHCAST=depthcast OUT=fs-out ./run.sh live CAMERA RENDERS   # e.g. orbit ../s/orbit
#   python3 live.py fs-out/orbit fs-out/strafe > live.md
# RENDERS holds the 300-frame renders of the three test scenes (README.md says how, as
# results/shortlist-720p/run.sh). Each cell: the start-up probe alone, the re-probe measuring the stream's pair
# by an encode (the rule before), and from the stream (the default now); paced at 30 fps, GOP
# 30, into MPEG-TS; then `recv --source` for the error of what arrived. Resumable: a cell's run
# with its .csv is not run again. Run nothing else meanwhile: the rounds fit the idle cores.
set -eu
OUT=${OUT:-fs-out}
D=${DEPTHCAST:-depthcast}
what=$1
shift
case $what in
live)
    camera=$1
    src=$2
    mkdir -p "$OUT/$camera"
    for scene in DepthOfFieldExample IrradianceVolumeExample Fox; do
        for mbps in 1 2 4 8 16 32; do
            for mode in probe encode stream; do
                run="$OUT/$camera/$scene-${mbps}M-$mode"
                [ -f "$run.csv" ] && continue
                case $mode in
                probe) extra= ;;
                encode) extra="--reprobe --reprobe-from-stream false" ;;
                stream) extra="--reprobe" ;;
                esac
                # shellcheck disable=SC2086
                $D send --input "$src/$scene" --url "$run.ts" --bitrate ${mbps}M --gop 30 --auto --probe \
                    --receivers chromium $extra 2> "$run.log"
                $D recv --url "$run.ts" --source "$src/$scene" --stats "$run.csv.part" 2>> "$run.log"
                mv "$run.csv.part" "$run.csv"
                rm -f "$run.ts"
            done
        done
    done
    ;;
*)
    echo "usage: $0 live CAMERA RENDERS" >&2
    exit 2
    ;;
esac
