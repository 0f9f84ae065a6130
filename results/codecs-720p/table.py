#!/usr/bin/env python3
"""Reduces the two sweeps of run.sh to runs.csv (one row per run) and table.md (per scene and
bitrate: 8-bit luma with H.264, the best fixed configuration of each codec, the frontier ratio)."""
import csv, collections, sys, os

out = sys.argv[1] if len(sys.argv) > 1 else "codecs-out"
acc = collections.defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0])  # frames, bits, mae, p99, i2v
for sweep in ("sweep8", "sweep10"):
    with open(os.path.join(out, sweep, "frames.csv")) as f:
        for r in csv.DictReader(f):
            k = (r["sequence"], r["codec"], int(r["bitrate_bps"]), r["config"])
            a = acc[k]
            a[0] += 1; a[1] += int(r["bits"]); a[2] += float(r["mae_m"]); a[3] += float(r["p99_m"]); a[4] += int(r["invalid_to_valid"])
rows = []
for (seq, codec, bps, cfg), (n, bits, mae, p99, i2v) in sorted(acc.items()):
    rows.append(dict(sequence=seq, codec=codec, mbps=bps / 1e6, config=cfg, frames=n,
                     kbps=round(bits / n * 30 / 1000), mae_mm=round(mae / n * 1000, 3),
                     p99_mm=round(p99 / n * 1000, 2), invalid_to_valid_per_frame=round(i2v / n, 1)))
with open("runs.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader(); w.writerows(rows)

codecs = ["h264-8", "h264-10", "hevc-10", "av1-8", "av1-10"]
lines = ["| scene | Mbit/s | H.264 luma-P8 mm | " + " | ".join(f"best {c} mm" for c in codecs)
         + " | best / luma-P8 | AV1's best: kbit/s spent |", "|---|---:|---:|" + "---|" * len(codecs) + "---:|---|"]
by = collections.defaultdict(list)
for r in rows:
    by[(r["sequence"], r["mbps"])].append(r)
for (seq, mbps), rs in sorted(by.items()):
    base = next(r for r in rs if r["codec"] == "h264-8" and r["config"] == "luma-P8-lin")
    best = {c: min((r for r in rs if r["codec"] == c), key=lambda r: r["mae_mm"], default=None) for c in codecs}
    overall = min((b for b in best.values() if b), key=lambda r: r["mae_mm"])
    cells = [f"{b['mae_mm']:.2f} ({b['config'].replace('-lin', '').replace('-a255', '')})" if b else "–" for b in best.values()]
    av1 = min((best[c] for c in ("av1-8", "av1-10") if best[c]), key=lambda r: r["mae_mm"])
    lines.append(f"| {seq} | {mbps:g} | {base['mae_mm']:.2f} | " + " | ".join(cells)
                 + f" | {overall['mae_mm'] / base['mae_mm']:.3f} ({overall['codec']}) | {av1['kbps']} of {mbps * 1000:.0f} |")
open("table.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
