#!/bin/sh
# `send --reprobe` measuring the stream's own pair from its packets, live (see protocol.txt).
#   DEPTHCAST=depthcast OUT=fs-out ./run.sh live CAMERA RENDERS   # e.g. orbit ../s/orbit
#   python3 live.py fs-out/orbit fs-out/strafe > live.md
#   DEPTHCAST=depthcast OUT=fs-out ./run.sh bevy ../shared/scenes   # the Bevy sender
#   python3 bevy.py fs-out/bevy > bevy.md
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
bevy)
    # The Bevy sender (`depthcast demo --depth-only --auto --reprobe`: rendered headless, GPU
    # packing, the plugin's encoder thread, loopback UDP to the receiver plugin) on the three
    # test scenes, orbited at 640x360, 300 frames, the stream's own pair by an encode and from
    # the stream. SCENES is the folder of the glTF scenes (../shared/scenes).
    scenes=$1
    mkdir -p "$OUT/bevy"
    for scene in DepthOfFieldExample IrradianceVolumeExample Fox; do
        for mbps in 1 4; do
            for from_stream in false true; do
                run="$OUT/bevy/$scene-${mbps}M-$from_stream"
                [ -f "$run/summary.json" ] && continue
                $D demo --depth-only --auto --reprobe --reprobe-from-stream $from_stream --no-baseline \
                    --scene "$scenes/$scene.glb" --frames 300 --bitrate ${mbps}M --out "$run" > "$run.log" 2>&1
            done
        done
    done
    ;;
*)
    echo "usage: $0 live CAMERA RENDERS | $0 bevy SCENES" >&2
    exit 2
    ;;
esac
