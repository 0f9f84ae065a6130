#!/usr/bin/env python3
"""Reduces run.sh's two sweeps (OUT/superfast, OUT/ultrafast) to presets.json and table.md: per
scene and bitrate, 8-bit luma with H.264, the best fixed pair and the start-up probe's choice at
each preset, the frontier (best fixed / luma-P8 at the same preset) and the gain of the slower
preset (superfast choice / ultrafast luma-P8, the old baseline). Usage: table.py OUT."""
import json, math, os, sys

out = sys.argv[1] if len(sys.argv) > 1 else "presets-out"
runs = {p: json.load(open(os.path.join(out, p, "summary.json")))["formats"] for p in ("superfast", "ultrafast")}
key = lambda c: (c["sequence"], c["bitrate"])
uf = {key(c): c for c in runs["ultrafast"]}
lines = ["| scene | Mbit/s | luma-P8 ultrafast | luma-P8 superfast | frontier ultrafast | frontier superfast "
         "| choice ultrafast | choice superfast | superfast choice / ultrafast luma-P8 |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
stats = {"fu": 0, "fs": 0, "cu": 0, "cs": 0, "x": 0}
gain = []
for c in runs["superfast"]:
    u = uf[key(c)]
    fu, fs = u["best_fixed"][2] / u["luma8_h264_mm"], c["best_fixed"][2] / c["luma8_h264_mm"]
    cu, cs = u["mae_mm"] / u["luma8_h264_mm"], c["mae_mm"] / c["luma8_h264_mm"]
    x = c["mae_mm"] / u["luma8_h264_mm"]
    gain.append(c["mae_mm"] / u["mae_mm"])
    for k, v in (("fu", fu), ("fs", fs), ("cu", cu), ("cs", cs), ("x", x)):
        stats[k] += v <= 0.5
    lines.append(f"| {c['sequence']} | {c['bitrate'] / 1e6:g} | {u['luma8_h264_mm']:.2f} | {c['luma8_h264_mm']:.2f} "
                 f"| {fu:.3f} | {fs:.3f} | {cu:.3f} | {cs:.3f} | {x:.3f} |")
n = len(runs["superfast"])
lines += ["", f"{n} cells at or below 0.5x: frontier {stats['fu']} (ultrafast), {stats['fs']} (superfast); the choice "
          f"{stats['cu']} and {stats['cs']}; the superfast choice against ultrafast 8-bit luma {stats['x']}. "
          f"Superfast choice / ultrafast choice: geomean {math.exp(sum(map(math.log, gain)) / n):.3f}."]
json.dump(runs, open("presets.json", "w"), indent=1)
open("table.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
