#!/usr/bin/env bash
# Preset sweep for issue #17: error (MAE, mm) and CPU time per frame of `depthcast send` for
# software x264/x265 presets. Encodes run one at a time; each cell is timed REPS times.
# Timing = (user+sys CPU of the whole `send --fast` process) / frames, median over REPS runs.
# That includes reading the PNG frames and packing, so it is an upper bound on encode time.
# Usage: [REPS=3] [TAG=-repeat] results/presets/run.sh [grid]   grid: h264 (default) | hevc | synth
# Writes results/presets/<grid><TAG>.csv.
set -euo pipefail
B=${DEPTHCAST:-/var/tmp/depthcast-ci-target/release/depthcast}
SEQ=${SEQ:-/var/tmp/wt-eval-seq/DepthOfFieldExample}
REPS=${REPS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
GRID=${1:-h264}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cell() { # codec preset config bitrate input-args... ; appends one CSV row
  local codec=$1 preset=$2 config=$3 rate=$4; shift 4
  local cpu=() frames=0
  for r in $(seq "$REPS"); do
    /usr/bin/time -f '%U %S %e' -o "$WORK/t" "$B" send "$@" --url "$WORK/o.ts" --codec "$codec" \
      --config "$config" --bitrate "$rate" --preset "$preset" --software --fast >"$WORK/send.log" 2>&1
    read -r u s e <"$WORK/t"
    frames=$(sed -n 's/^sent \([0-9]*\) frames.*/\1/p' "$WORK/send.log")
    kbps=$(sed -n 's/.*, \([0-9]*\) kbit\/s of.*/\1/p' "$WORK/send.log")
    cpu+=("$(echo "($u+$s)*1000/$frames" | bc -l)")
    walls+=("$e")
  done
  local med; med=$(printf '%s\n' "${cpu[@]}" | sort -g | sed -n "$(( (REPS+1)/2 ))p")
  local all; all=$(printf '%.1f/' "${cpu[@]}")
  "$B" recv --url "$WORK/o.ts" --source "$SRC" --stats "$WORK/s.csv" >"$WORK/recv.log" 2>&1
  local mae; mae=$(awk -F, 'NR>1{s+=$6;n++} END{printf "%.3f", s/n}' "$WORK/s.csv")
  local n; n=$(awk 'NR>1' "$WORK/s.csv" | wc -l)
  # One more run under `perf record` for the share of CPU samples inside libx264/libx265: the
  # encoder-only estimate is that share times the median (the rest is PNG reading, packing, muxing).
  local share=""
  if command -v perf >/dev/null; then
    perf record -q -F 4000 -o "$WORK/p.data" "$B" send "$@" --url "$WORK/o.ts" --codec "$codec" \
      --config "$config" --bitrate "$rate" --preset "$preset" --software --fast >/dev/null 2>&1
    share=$(perf report -i "$WORK/p.data" --sort dso --stdio 2>/dev/null |
      awk '/libx26[45]/{gsub("%","",$1); s+=$1} END{printf "%.1f", s}')
  fi
  local enc=""; [ -n "$share" ] && enc=$(echo "$share*$med/100" | bc -l | xargs printf '%.2f')
  printf '%s,%s,%s,%s,%s,%s,%s,%.2f,%s,%s,%s\n' "$SEQNAME" "$codec" "$preset" "$config" "$rate" "$n" "$mae" "$med" "${all%/}" "$share" "$enc" | tee -a "$CSV"
}

PRESETS_264="ultrafast superfast veryfast faster fast medium"
case $GRID in
  h264|hevc)
    SEQNAME=DepthOfFieldExample SRC=$SEQ CSV=$HERE/$GRID${TAG:-}.csv
    echo "sequence,codec,preset,config,bitrate,frames_received,mae_mm,cpu_ms_per_frame_median,cpu_ms_per_frame_runs,encoder_lib_cpu_share_pct,encoder_lib_ms_per_frame" >"$CSV"
    if [ "$GRID" = h264 ]; then
      for p in $PRESETS_264; do for c in vbp-luma-P16-lin-a255-roi-0.40 luma-P8-lin; do for r in 1M 2M 4M; do
        walls=(); cell h264 "$p" "$c" "$r" --input "$SEQ" --depth-only
      done; done; done
    else
      for p in ultrafast superfast veryfast; do for c in vbp-luma-P16-lin-a255-roi-0.40 luma-P8-lin; do
        walls=(); cell hevc "$p" "$c" 2M --input "$SEQ" --depth-only
      done; done
    fi ;;
  synth)
    # Built-in synthetic scene (640x360, 90 frames). `send --synthetic` writes the sequence into
    # $TMPDIR/depthcast-synthetic-PID; write it once with a throwaway send and reuse it as --input.
    SEQNAME=synthetic-640x360 CSV=$HERE/synth${TAG:-}.csv
    echo "sequence,codec,preset,config,bitrate,frames_received,mae_mm,cpu_ms_per_frame_median,cpu_ms_per_frame_runs,encoder_lib_cpu_share_pct,encoder_lib_ms_per_frame" >"$CSV"
    T=$(mktemp -d); TMPDIR=$T "$B" send --synthetic 90 --url "$WORK/o.ts" --software --fast >/dev/null 2>&1
    SRC=$(echo "$T"/depthcast-synthetic-*)
    for p in $PRESETS_264; do for c in vbp-luma-P16-lin-a255-roi-0.40 luma-P8-lin; do
      walls=(); cell h264 "$p" "$c" 1M --input "$SRC"
    done; done
    rm -rf "$T" ;;
esac
