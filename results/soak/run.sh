#!/bin/bash
# Soak test (issue #18): `depthcast send` (1080p30, 8 Mbit/s, real time, MPEG-TS over UDP)
# -> lossy UDP proxy (2% of datagrams dropped, seeded) -> `depthcast recv`, for 10 minutes,
# sampling both processes' resident memory every second. Not part of CI.
#
# Usage (from the repository root, after
#   CARGO_TARGET_DIR=/var/tmp/depthcast-ci-target cargo build --release --no-default-features --bin depthcast):
#   results/soak/run.sh [OUT]                 # 10 minutes at 1920x1080
#   DURATION=60 results/soak/run.sh /tmp/t    # a 1-minute trial
# then: python3 results/soak/analyze.py OUT   (run.sh calls it at the end)
#
# Settings (environment): DEPTHCAST (binary; copied into OUT first so rebuilds cannot swap it),
# DURATION (s, 600), WIDTH/HEIGHT (1920/1080), BITRATE (8M), GOP (60), LOSS (0.02), SEED (18),
# PORT_A (proxy in, 47510), PORT_B (receiver, 47511), RECV_TIMEOUT (60 s), RECV_QUERY (none),
# RECV_ARGS (none),
# SEQ (the looped 300-frame input sequence; made once if missing: precision-net's procedural
# scene seed 3, a moving camera, written as EXR, sent losslessly and received as 16-bit PNG
# millimetres, ~0.3 GB at 1080p).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-/tmp/depthcast-soak-$(date +%Y%m%d-%H%M%S)}
DURATION=${DURATION:-600}
WIDTH=${WIDTH:-1920}
HEIGHT=${HEIGHT:-1080}
BITRATE=${BITRATE:-8M}
GOP=${GOP:-60}
LOSS=${LOSS:-0.02}
SEED=${SEED:-18}
PORT_A=${PORT_A:-47510}
PORT_B=${PORT_B:-47511}
# recv ends after this many seconds without a valid frame. At 2% loss several keyframes in a row
# can arrive damaged (the decoder then waits for the next one), so the default 10 s can end the
# receiver in the middle of the stream: the 1-minute trial did so after 73 frames.
RECV_TIMEOUT=${RECV_TIMEOUT:-60}
# Options appended to the receiver's URL (e.g. fifo_size=65536: libavformat reads URL options
# after the ones depthcast sets), and the UDP fifo size in packets that results.
RECV_QUERY=${RECV_QUERY:-}
# More `depthcast recv` options, e.g. RECV_ARGS="--source $SEQ" for each frame's error against
# the input (matched by frame index modulo its length; reads one PNG per received frame).
RECV_ARGS=${RECV_ARGS:-}
FIFO_PACKETS=$(sed -n 's/.*fifo_size=\([0-9]*\).*/\1/p' <<< "$RECV_QUERY")
FIFO_PACKETS=${FIFO_PACKETS:-1000000}
FPS=30
SEQ_FRAMES=300
SEQ=${SEQ:-/var/tmp/depthcast-soak-seq-${WIDTH}x${HEIGHT}}
mkdir -p "$OUT"
B="$OUT/depthcast"
cp "${DEPTHCAST:-/var/tmp/depthcast-ci-target/release/depthcast}" "$B" || exit 1

# The input: 300 frames (10 s), looped. PNG16 decodes much faster than the generator's f32 EXR.
if [ ! -f "$SEQ/sequence.json" ]; then
  echo "making $SEQ ($SEQ_FRAMES frames ${WIDTH}x${HEIGHT}) ..."
  tmp="$SEQ.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  "$B" predict scenes --out "$tmp" --seeds 3 --width "$WIDTH" --height "$HEIGHT" --frames $SEQ_FRAMES >/dev/null &&
    "$B" send --input "$tmp/pv3" --url "$tmp/lossless.mkv" --lossless --fast 2>/dev/null &&
    "$B" recv --url "$tmp/lossless.mkv" --output "$SEQ" --stats /dev/null || { echo "making $SEQ failed"; exit 1; }
  rm -rf "$tmp"
fi

loops=$(( (DURATION * FPS + SEQ_FRAMES - 1) / SEQ_FRAMES ))
udp_errors() { awk '/^Udp:/ { if (h) print $4, $6; h = 1 }' /proc/net/snmp; }  # InErrors RcvbufErrors
{
  echo "{"
  echo " \"git\": \"$(git -C "$REPO" rev-parse HEAD 2>/dev/null)\","
  echo " \"binary_sha256\": \"$(sha256sum "$B" | cut -c1-64)\","
  echo " \"width\": $WIDTH, \"height\": $HEIGHT, \"fps\": $FPS, \"bitrate\": \"$BITRATE\", \"gop\": $GOP,"
  echo " \"loss\": $LOSS, \"seed\": $SEED, \"loops\": $loops, \"seq_frames\": $SEQ_FRAMES, \"seq\": \"$SEQ\","
  echo " \"cores\": $(nproc), \"recv_timeout\": $RECV_TIMEOUT, \"recv_query\": \"$RECV_QUERY\", \"recv_args\": \"$RECV_ARGS\", \"fifo_packets\": $FIFO_PACKETS, \"udp_errors_before\": \"$(udp_errors)\","
} > "$OUT/meta.part"

# RSS (kB) and CPU time (clock ticks) of the three processes, every second, and the resident part
# of the receiver's UDP fifo: libavformat's udp input allocates its circular buffer (fifo_size
# packets of 188 bytes; depthcast sets 1,000,000 = 179 MiB) in one go, and its pages become
# resident as the write position first passes through them (~1 MB/s at 8 Mbit/s), then stay.
FIFO_KB=$(( FIFO_PACKETS * 188 / 1024 ))
fifo_rss() {  # Rss of the one anonymous mapping of about FIFO_KB
  awk -v lo=$(( FIFO_KB - 8 )) -v hi=$(( FIFO_KB + 4096 )) '
    /^[0-9a-f]+-[0-9a-f]+ / { anon = (NF == 5) }
    /^Size:/ { s = $2 }
    /^Rss:/ { if (anon && s >= lo && s <= hi) { r = $2; n++ } }
    END { if (n == 1) print r }' "/proc/$1/smaps" 2>/dev/null
}
sample() {
  local pids=("$@") line rest f k v
  echo "t_unix,recv_rss_kb,send_rss_kb,proxy_rss_kb,recv_cpu_ticks,send_cpu_ticks,proxy_cpu_ticks,recv_fifo_rss_kb"
  while :; do
    local rss=() cpu=() alive=0
    for p in "${pids[@]}"; do
      v=""
      if [ -r "/proc/$p/status" ]; then
        { while read -r k f _; do [ "$k" = VmRSS: ] && v=$f && break; done < "/proc/$p/status"; } 2>/dev/null
      fi
      rss+=("$v")
      v=""
      if { read -r line < "/proc/$p/stat"; } 2>/dev/null; then
        rest=${line##*) }
        set -- $rest
        v=$(( ${12} + ${13} ))
        alive=1
      fi
      cpu+=("$v")
    done
    [ $alive = 1 ] || break
    echo "$EPOCHREALTIME,${rss[0]},${rss[1]},${rss[2]},${cpu[0]},${cpu[1]},${cpu[2]},$(fifo_rss "${pids[0]}")"
    sleep 1
  done
}

python3 "$HERE/proxy.py" "$PORT_A" "$PORT_B" "$OUT" --loss "$LOSS" --seed "$SEED" 2> "$OUT/proxy.err" &
proxy=$!
sleep 0.5
"$B" recv --url "udp://127.0.0.1:$PORT_B${RECV_QUERY:+?$RECV_QUERY}" --stats "$OUT/recv.csv" --timeout "$RECV_TIMEOUT" $RECV_ARGS 2> "$OUT/recv.err" &
recv=$!
sleep 1
t_send=$EPOCHREALTIME
"$B" send --input "$SEQ" --loops "$loops" --url "udp://127.0.0.1:$PORT_A?pkt_size=1316" \
  --bitrate "$BITRATE" --gop "$GOP" --software 2> "$OUT/send.err" &
send=$!
sample "$recv" "$send" "$proxy" > "$OUT/rss.csv" &
sampler=$!
echo "soak: send $send, recv $recv, proxy $proxy; $((loops * SEQ_FRAMES)) frames (${loops} loops) -> $OUT"

wait "$send"; send_rc=$?
wait "$recv"; recv_rc=$?
kill -TERM "$proxy"; wait "$proxy"; proxy_rc=$?
wait "$sampler"
{
  cat "$OUT/meta.part"
  echo " \"udp_errors_after\": \"$(udp_errors)\","
  echo " \"t_send_start_unix\": $t_send,"
  echo " \"send_rc\": $send_rc, \"recv_rc\": $recv_rc, \"proxy_rc\": $proxy_rc"
  echo "}"
} > "$OUT/meta.json"
rm -f "$OUT/meta.part"
echo "soak: exit codes send $send_rc, recv $recv_rc, proxy $proxy_rc"
python3 "$HERE/analyze.py" "$OUT"
