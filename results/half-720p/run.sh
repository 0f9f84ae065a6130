#!/bin/sh
# Depth maps sent at half size (issue #17 item 1: "reduced depth resolution only with an
# edge-aware upsampler"), 720p30, CBR, GOP 30, x264 ultrafast, one thread per encode.
#
# Scenes rendered with colour (the colour is the guide of the RGB-D measurements):
#   depthcast render --scene ../shared/scenes/NAME.glb --frames 63 --size 1280x720 --colour --out DIR
# Training scenes (tuning the upsampler, choosing the probe's half-size set):
#   CornellBox, FlightHelmet (FlightHelmet/FlightHelmet.gltf), level:4, level:6
#   OUT=half-out ./run.sh train CornellBox FlightHelmet level4 level6
# Test scenes (never used to train, calibrate or tune anything):
#   OUT=half-out ./run.sh test DepthOfFieldExample IrradianceVolumeExample Fox
# The same over 300 frames (rendered with --frames 300, no --colour):
#   OUT=half-out ./run.sh long DepthOfFieldExample IrradianceVolumeExample Fox
# and rendered with --camera pan as well (./run.sh pan ...), and --camera approach (./run.sh
# approach ..., the keyframe policies only; rendered after their rules were chosen), and with
# --camera strafe.json (./run.sh strafe ...; rendered after every default was fixed). The
# re-probe with rounds of a
# shortlist (--reprobe-pairs 8, 4, 2; shortlist.md):
#   OUT=half-out ./run.sh shortlist ORBIT_FOLDER PAN_FOLDER
# The re-probe's move margin, chosen on three procedural levels (margin.md):
#   OUT=half-out ./run.sh margin LEVEL2000 LEVEL2001 LEVEL2002
# Then `python3 cells.py OUT/SWEEP/frames.csv` prints each cell's best full-size and half-size
# configuration against 8-bit luma with H.264, and
# `python3 policies.py OUT/long/frames.csv OUT/pan/frames.csv` the keyframe policies modelled on
# the fixed runs (policies.md).
# Moves confirmed by rounds in a row, on six levels (confirm.md):
#   OUT=half-out ./run.sh confirm LEVEL2000 LEVEL2001 LEVEL2002 LEVEL2003 LEVEL2004 LEVEL2005
# Moves never to VBP luma without an ROI, on the six levels and checked on the test scenes
# (guarded.md):
#   OUT=half-out ./run.sh guarded ORBIT_FOLDER PAN_FOLDER LEVEL2000 ... LEVEL2005
# Moves a slower view of the rounds must agree with, on the six levels and checked on the test
# scenes (agree.md):
#   OUT=half-out ./run.sh agree ORBIT_FOLDER PAN_FOLDER APPROACH_FOLDER LEVEL2000 ... LEVEL2005
# Half-size hue in the probe's half-size set, on the levels and checked on the test scenes
# (hue.md; the earlier folders from a binary before the change):
#   OUT=half-out ./run.sh hue ORBIT_FOLDER PAN_FOLDER APPROACH_FOLDER LEVEL2000 ... LEVEL2005
# The orbit renders at x264 superfast, the real-time budget's preset (README), then the approach
# and strafe renders, then `send --reprobe-risk chosen`'s policy on each:
#   OUT=half-out ./run.sh superfast ORBIT_RENDERS/DepthOfFieldExample ORBIT_RENDERS/IrradianceVolumeExample ORBIT_RENDERS/Fox
#   OUT=half-out CAM=approach ./run.sh superfast APPROACH_RENDERS/DepthOfFieldExample ...
#   OUT=half-out CAM=strafe ./run.sh superfast STRAFE_RENDERS/DepthOfFieldExample ...
#   OUT=half-out CAM=pan ./run.sh superfast PAN_RENDERS/DepthOfFieldExample ...
#   OUT=half-out RISK=chosen [CAM=...] ./run.sh superfast ...
# `send` in real time at ultrafast and superfast (live-presets.md), and with `--preset auto`
# beside both (live-auto.md):
#   OUT=half-out ./run.sh live-presets ORBIT_FOLDER
#   OUT=half-out ./run.sh live-auto ORBIT_FOLDER
# `send --reprobe-rule causal` in real time beside the default rule (live-rule.md; with the
# approach and strafe renders, live-rule-approach.md and live-rule-strafe.md, `live_rule.py
# --camera NAME`):
#   OUT=half-out ./run.sh live-rule ORBIT_FOLDER
# `send` reading its frames ahead on a thread, EXR depth from R alone, against a build from before
# (DEPTHCAST_BEFORE), in real time as in `live`, the two builds of a cell one after the other
# (live-read.md, `python3 live_read.py OUT/live-read`):
#   OUT=half-out DEPTHCAST_BEFORE=OLD_BINARY ./run.sh live-read ORBIT_FOLDER
# Three glTF training scenes orbited over 300 frames (rendered like the orbit runs), swept like
# the levels, and the re-probe's whole rule family modelled on the design set (the levels and
# these) and on the test cameras (rules.md):
#   OUT=half-out ./run.sh gltf-orbit FlightHelmet alien cakeBirthday
#   OUT=half-out ./run.sh rules OUT/confirm-m0.1-c1-level2000,...,OUT/confirm-m0.1-c1-level2005 OUT/tr \
#       orbit=OUT/long pan=OUT/pan approach=OUT/approach strafe=OUT/strafe
# `send` in real time on this machine, the start-up probe alone and with --reprobe, on the
# 300-frame orbit renders, then `python3 live.py OUT/live OUT/long` (live.md):
#   OUT=half-out ./run.sh live ORBIT_FOLDER
# RGB-D streams of the test scenes through `send` and `recv --source` (depth 1/2/4 Mbit/s, a
# quarter of the total; each also depth-only at the same depth bitrate), then
# `python3 rgbd.py OUT/rgbd`:
#   OUT=half-out ./run.sh rgbd DepthOfFieldExample IrradianceVolumeExample Fox
# The floor before any codec and the upsampler's tuning: the half_floor example of
# tools/sequence (see its header).
set -eu
OUT=${OUT:-half-out}
D=${DEPTHCAST:-depthcast}
what=$1
shift

# The variants of `send --reprobe`'s policy: TAG, sweep FLAGS, then level folders. Each level's
# `confirm` run (margin 0.1, confirmation 1; run those first) is copied to OUT/TAG-LEVEL, whose
# fixed runs are reused, and swept again with FLAGS (the keyframe policies only).
level_variant() {
    tag=$1
    flags=$2
    shift 2
    for lv in "$@"; do
        name=$(basename "$lv")
        [ -d "$OUT/$tag-$name" ] || cp -a "$OUT/confirm-m0.1-c1-$name" "$OUT/$tag-$name"
        $D sweep "$lv" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half \
            --no-predictor-policies $flags --out "$OUT/$tag-$name"
    done
}
# The folders OUT/PREFIX-LEVEL of the level folders given, comma-separated (variants.py).
levels() {
    prefix=$1
    shift
    for lv in "$@"; do printf '%s,' "$OUT/$prefix-$(basename "$lv")"; done | sed 's/,$//'
}
# The same for a camera's sweep of the three test scenes: CAM (long, pan or approach), its
# sequences' folder, TAG, FLAGS: OUT/CAM copied to OUT/CAM-TAG and swept again with FLAGS.
scene_variant() {
    cam=$1
    src=$2
    tag=$3
    flags=$4
    # The approach sweep runs the keyframe policies only.
    only=
    [ "$cam" != approach ] || only=--no-predictor-policies
    [ -d "$OUT/$cam-$tag" ] || cp -a "$OUT/$cam" "$OUT/$cam-$tag"
    $D sweep "$src/DepthOfFieldExample" "$src/IrradianceVolumeExample" "$src/Fox" --codecs h264-8,h264-10 \
        --grid quick --half --gop 30 --format-probe half $only $flags --out "$OUT/$cam-$tag"
}
# One `send` in real time into RUN.ts (paced at 30 fps, GOP 30, the start-up probe across H.264 at
# 8 and 10 bits with the half-size set) and `recv --source` of it into RUN.csv: RUN, the render's
# folder, Mbit/s, MODE (probe: the probe alone; reprobe: with --reprobe), then more send flags.
# Skipped when RUN.csv is there.
live_run() {
    run=$1
    seq=$2
    mbps=$3
    mode=$4
    shift 4
    [ -f "$run.csv" ] && return
    extra=
    [ "$mode" = probe ] || extra=--reprobe
    $D send --input "$seq" --url "$run.ts" --bitrate "${mbps}M" --gop 30 --auto --probe \
        --receivers chromium $extra "$@" 2> "$run.log"
    $D recv --url "$run.ts" --source "$seq" --stats "$run.csv.part" 2>> "$run.log"
    mv "$run.csv.part" "$run.csv"
}
# DIR RENDERS PRESET...: `live_run` of every orbit cell at each preset, the probe alone and with
# --reprobe, a cell's runs one after another, into DIR.
live_presets() {
    dir=$1
    src=$2
    shift 2
    mkdir -p "$dir"
    for scene in DepthOfFieldExample IrradianceVolumeExample Fox; do
        for mbps in 1 2 4 8 16 32; do
            for preset in "$@"; do
                for mode in probe reprobe; do
                    live_run "$dir/$scene-${mbps}M-$preset-$mode" "$src/$scene" $mbps $mode --preset $preset
                done
            done
        done
    done
}
case $what in
train)
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --half --gop 30 --mbps 1,2,4 --no-policies --out "$OUT/train"
    ;;
test)
    # The quick grid and each of its configurations at half size, H.264 at 8 and 10 bits, with
    # the start-up probe across both formats measuring the half-size set too (as `send
    # --receivers native` does) and the keyframe policies.
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half --out "$OUT/test"
    ;;
long)
    # The test scenes over 300 frames (10 s; rendered with --frames 300, depth only): the
    # start-up probe and `send --reprobe`'s policy with the half-size set against the best
    # causal policy, when the scene has time to change.
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half --out "$OUT/long"
    ;;
pan)
    # The same with the scenes rendered with --camera pan (fast ±50° pans with holds): the
    # keyframe policies' rules were shaped on orbit runs of these scenes, never on pans.
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half --out "$OUT/pan"
    ;;
approach)
    # The same with the scenes rendered with --camera approach (300 frames), rendered and swept
    # after the keyframe policies' rules had been chosen: nothing was tuned on them. The
    # keyframe policies only (no predictor), as on the levels.
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half \
        --no-predictor-policies --out "$OUT/approach"
    ;;
live)
    # `send` as a user runs it on this machine, in real time (paced at 30 fps, GOP 30, to an
    # MPEG-TS file), then `recv --source` for the error of what arrived: the start-up probe alone
    # (`--receivers chromium`: H.264 at 8 and 10 bits with the half-size set, as the sweeps) and
    # with `--reprobe` (its defaults: rounds that fit the time between keyframes on one worker).
    # Argument: the folder of the 300-frame orbit (or approach) renders. Then `python3 live.py
    # OUT/live OUT/long` (or OUT/approach; live.md).
    src=$1
    mkdir -p "$OUT/live"
    for scene in DepthOfFieldExample IrradianceVolumeExample Fox; do
        for mbps in 1 2 4 8 16 32; do
            for mode in probe reprobe; do
                live_run "$OUT/live/$scene-${mbps}M-$mode" "$src/$scene" $mbps $mode
            done
        done
    done
    ;;
live-presets)
    # `send` in real time as in `live`, at x264 ultrafast (send's default) and superfast (the
    # real-time budget's preset), the start-up probe alone and with --reprobe, the four runs of
    # a cell one after another; then `python3 live_presets.py OUT/live-presets`
    # (live-presets.md). Argument: the folder of the 300-frame orbit renders.
    live_presets "$OUT/live-presets" "$1" ultrafast superfast
    ;;
live-auto)
    # `send --preset auto` in real time against both fixed presets, as in `live-presets`: the
    # start-up probe alone and with --reprobe at ultrafast, superfast and auto, the six runs of a
    # cell one after another; then `python3 live_auto.py OUT/live-auto` (live-auto.md).
    # Argument: the folder of the 300-frame orbit renders.
    live_presets "$OUT/live-auto" "$1" ultrafast superfast auto
    ;;
live-rule)
    # `send --reprobe-rule causal` (the best causal policy's own rule) in real time beside the
    # default rule and the start-up probe alone, as in `live` (ultrafast, rounds that fit), the
    # three runs of a cell one after another; then `python3 live_rule.py OUT/live-rule`
    # (live-rule.md). Argument: the folder of the 300-frame orbit (approach, strafe) renders.
    mkdir -p "$OUT/live-rule"
    for scene in DepthOfFieldExample IrradianceVolumeExample Fox; do
        for mbps in 1 2 4 8 16 32; do
            live_run "$OUT/live-rule/$scene-${mbps}M-probe" "$1/$scene" $mbps probe
            live_run "$OUT/live-rule/$scene-${mbps}M-default" "$1/$scene" $mbps reprobe
            live_run "$OUT/live-rule/$scene-${mbps}M-causal" "$1/$scene" $mbps reprobe --reprobe-rule causal
        done
    done
    ;;
live-read)
    # The probe alone and with --reprobe (ultrafast, rounds that fit), each cell sent by the
    # build from before and by this one, one after the other; DepthOfFieldExample's frames are
    # 16-bit PNG, the two others' f32 EXR (their depth reaches past 65.535 m).
    mkdir -p "$OUT/live-read"
    after=$D
    for scene in DepthOfFieldExample IrradianceVolumeExample Fox; do
        for mbps in 1 2 4 8 16 32; do
            for mode in probe reprobe; do
                D=$DEPTHCAST_BEFORE
                live_run "$OUT/live-read/$scene-${mbps}M-$mode-before" "$1/$scene" $mbps $mode
                D=$after
                live_run "$OUT/live-read/$scene-${mbps}M-$mode-after" "$1/$scene" $mbps $mode
            done
        done
    done
    ;;
superfast)
    # The 300-frame orbit renders swept at the real-time budget's x264 preset (../presets-720p),
    # scene-cut keyframes off as `send --reprobe` has them; the keyframe policies only. Then
    # `python3 cells.py OUT/superfast/frames.csv` and `python3 rules.py extract OUT/superfast
    # gops/orbit-superfast.csv.gz`. Arguments: the orbit renders' folders. With CAM=approach,
    # CAM=strafe or CAM=pan, another camera's renders into OUT/superfast-CAM. These run the
    # re-probe by mean error alone (`--reprobe-risk off`, its rule when they were first run).
    # With RISK=chosen (or RHO,KEEP), after that sweep: `send --reprobe-risk`'s policy on a copy
    # of it (its fixed runs reused), OUT/superfast[-CAM]-risk.
    out="$OUT/superfast${CAM:+-$CAM}"
    flags="--reprobe-risk off"
    if [ -n "${RISK:-}" ]; then
        [ -d "$out-risk" ] || cp -a "$out" "$out-risk"
        out="$out-risk"
        flags="--reprobe-risk $RISK"
    fi
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half \
        --no-predictor-policies --preset superfast --scene-cuts false $flags --out "$out"
    ;;
gltf-orbit)
    # Three glTF training scenes (FlightHelmet, alien, cakeBirthday), rendered like the orbit
    # test runs (--frames 300) and swept like the levels: test-like content a rule may be chosen
    # on. Arguments: their folders.
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half \
        --no-predictor-policies --out "$OUT/tr"
    ;;
rules)
    # The re-probe's rule family (memory, margin, confirmation, long view: 180 rules) modelled on
    # the runs above (rules.py, rules.md): which rule the design set (the six levels of `confirm`
    # and the three glTF training scenes orbited) would choose, and what each gives on the test
    # cameras. Arguments: the levels' `confirm` folders, comma-separated; the `gltf-orbit`
    # folder; then the test sweeps as LABEL=FOLDER. `python3 rules.py extract FOLDER FILE.csv.gz`
    # keeps what the model reads of a sweep: gops/ holds those of the sweeps in rules.md, which
    # rules.py reads in place of the folders.
    levels=$1
    gltf=$2
    shift 2
    python3 "$(dirname "$0")/rules.py" --design levels="$levels" gltf-orbit="$gltf" --test "$@" \
        --out "$(dirname "$0")/rules.md"
    ;;
strafe)
    # The same with a fourth camera, rendered with --camera strafe.json (this folder: a sideways
    # dolly with a crane move, a stop and a push-in), after every default had been fixed: a
    # report-only check, nothing chosen on it.
    $D sweep "$@" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half \
        --no-predictor-policies --out "$OUT/strafe"
    ;;
shortlist)
    # `send --reprobe`'s policy with rounds of 8, 4 and 2 pairs (`--reprobe-pairs`) on copies of
    # the long and pan sweeps (run those first; the fixed runs are reused), then
    # `python3 variants.py` (shortlist.md). Arguments: the 300-frame orbit folder, then the pan
    # folder (each holding the three test scenes).
    orbit=$1
    pan=$2
    for k in 8 4 2; do
        for cam in long pan; do
            [ -d "$OUT/$cam-k$k" ] || cp -a "$OUT/$cam" "$OUT/$cam-k$k"
            if [ $cam = long ]; then src=$orbit; else src=$pan; fi
            $D sweep "$src/DepthOfFieldExample" "$src/IrradianceVolumeExample" "$src/Fox" --codecs h264-8,h264-10 \
                --grid quick --half --gop 30 --format-probe half --reprobe-pairs $k --out "$OUT/$cam-k$k"
        done
    done
    for cam in long pan; do
        python3 "$(dirname "$0")/variants.py" "every pair=$OUT/$cam" "8 pairs=$OUT/$cam-k8" "4 pairs=$OUT/$cam-k4" \
            "2 pairs=$OUT/$cam-k2"
    done
    ;;
margin)
    # The re-probe's move margin (`--reprobe-margin`), chosen on procedural levels no test
    # touches, rendered with
    #   depthcast render --scene level:SEED --frames 300 --size 1280x720 --out DIR
    # for SEED 2000 (interior), 2001 (terrain), 2002 (city): margins 0, 0.05, 0.1 and 0.2 on
    # each (the keyframe policies only), then `python3 variants.py` (margin.md). Arguments: the
    # level folders.
    for m in 0 0.05 0.1 0.2; do
        for lv in "$@"; do
            name=$(basename "$lv")
            [ $m = 0 ] || [ -d "$OUT/margin$m-$name" ] || cp -a "$OUT/margin0-$name" "$OUT/margin$m-$name"
            $D sweep "$lv" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half \
                --no-predictor-policies --reprobe-margin $m --out "$OUT/margin$m-$name"
        done
    done
    folders() { for lv in "$@"; do printf '%s,' "$OUT/margin$m-$(basename "$lv")"; done | sed 's/,$//'; }
    args=""
    for m in 0 0.05 0.1 0.2; do args="$args margin-$m=$(folders "$@")"; done
    python3 "$(dirname "$0")/variants.py" $args
    ;;
confirm)
    # Moves confirmed by rounds in a row (`--reprobe-confirm` 1, 2, 3) with margins 0 and 0.1,
    # on six procedural levels: those of `margin` and levels 2003 (arena), 2004 (interior),
    # 2005 (terrain), rendered the same way (confirm.md). Arguments: the level folders.
    for lv in "$@"; do
        name=$(basename "$lv")
        for m in 0.1 0; do
            for c in 1 2 3; do
                out="$OUT/confirm-m$m-c$c-$name"
                [ -d "$out" ] || [ ! -d "$OUT/confirm-m0.1-c1-$name" ] || cp -a "$OUT/confirm-m0.1-c1-$name" "$out"
                $D sweep "$lv" --codecs h264-8,h264-10 --grid quick --half --gop 30 --format-probe half \
                    --no-predictor-policies --reprobe-margin $m --reprobe-confirm $c --out "$out"
            done
        done
    done
    folders() { for lv in "$@"; do printf '%s,' "$OUT/confirm-m$m-c$c-$(basename "$lv")"; done | sed 's/,$//'; }
    args=""
    for m in 0.1 0; do for c in 1 2 3; do args="$args margin-$m-confirm-$c=$(folders "$@")"; done; done
    python3 "$(dirname "$0")/variants.py" $args
    ;;
guarded)
    # Moves never to VBP luma without an ROI (`--reprobe-guarded true`) on the levels, then
    # checked on copies of the long and pan sweeps (guarded.md). Arguments: the 300-frame orbit
    # folder, the pan folder, then the six level folders.
    orbit=$1
    pan=$2
    shift 2
    level_variant guarded "--reprobe-guarded true" "$@"
    python3 "$(dirname "$0")/variants.py" "guarded-false=$(levels confirm-m0.1-c1 "$@")" \
        "guarded-true=$(levels guarded "$@")"
    scene_variant long "$orbit" guarded "--reprobe-guarded true"
    scene_variant pan "$pan" guarded "--reprobe-guarded true"
    for cam in long pan; do
        python3 "$(dirname "$0")/variants.py" "guarded-false=$OUT/$cam" "guarded-true=$OUT/$cam-guarded"
    done
    ;;
agree)
    # A move that a slower view of the rounds must agree with (`--reprobe-long-memory` 1 and
    # 0.8) on the levels, then on copies of the long, pan and approach sweeps (run those first;
    # agree.md). Arguments: the 300-frame orbit folder, the pan folder, the approach folder,
    # then the six level folders.
    orbit=$1
    pan=$2
    approach=$3
    shift 3
    for l in 1 0.8; do
        level_variant "agree$l" "--reprobe-long-memory $l" "$@"
        scene_variant long "$orbit" "agree$l" "--reprobe-long-memory $l"
        scene_variant pan "$pan" "agree$l" "--reprobe-long-memory $l"
        scene_variant approach "$approach" "agree$l" "--reprobe-long-memory $l"
    done
    python3 "$(dirname "$0")/variants.py" "off=$(levels confirm-m0.1-c1 "$@")" \
        "long-1=$(levels agree1 "$@")" "long-0.8=$(levels agree0.8 "$@")"
    for cam in long pan approach; do
        python3 "$(dirname "$0")/variants.py" "off=$OUT/$cam" "long-1=$OUT/$cam-agree1" "long-0.8=$OUT/$cam-agree0.8"
    done
    ;;
hue)
    # Half-size hue in the start-up probe's half-size set (hue.md): the `confirm` level runs and
    # the long, pan and approach sweeps, made with a binary from before the change (commit
    # dc3f3d7; with this one they already hold it), swept again with this one. Arguments: the
    # orbit folder, the pan folder, the approach folder, the six level folders.
    orbit=$1
    pan=$2
    approach=$3
    shift 3
    level_variant hue "" "$@"
    scene_variant long "$orbit" hue ""
    scene_variant pan "$pan" hue ""
    scene_variant approach "$approach" hue ""
    python3 "$(dirname "$0")/variants.py" "before=$(levels confirm-m0.1-c1 "$@")" "hue-half=$(levels hue "$@")"
    for cam in long pan approach; do
        python3 "$(dirname "$0")/variants.py" "before=$OUT/$cam" "hue-half=$OUT/$cam-hue"
    done
    ;;
rgbd)
    mkdir -p "$OUT/rgbd"
    for seq in "$@"; do
        s=$(basename "$seq")
        for d in 1 2 4; do
            for cb in "luma-P8-lin 8" "luma-P10-lin 10" "luma-P10-lin-half 10" "vbp-luma-P16-lin-a255-roi-0.80-half 10"; do
                set -- $cb
                for mode in rgbd depth; do
                    tag=$s-$d-$1-$mode
                    [ -f "$OUT/rgbd/$tag.csv" ] && continue
                    if [ $mode = depth ]; then rate=${d}M; only=--depth-only; else rate=$((4 * d))M; only=; fi
                    $D send --input "$seq" --url "$OUT/rgbd/$tag.mkv" --codec h264 --bits "$2" --config "$1" \
                        --bitrate "$rate" --depth-share 0.25 --gop 30 --software --fast $only
                    $D recv --url "$OUT/rgbd/$tag.mkv" --source "$seq" --stats "$OUT/rgbd/$tag.csv"
                    rm -f "$OUT/rgbd/$tag.mkv"
                done
            done
        done
    done
    ;;
*)
    echo "usage: run.sh train|test|long|pan|approach|shortlist|margin|confirm|guarded|agree|hue|rgbd SEQ_DIR..." >&2
    exit 2
    ;;
esac
