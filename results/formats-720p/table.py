#!/usr/bin/env python3
"""Reduces the test sweeps of run.sh (OUT/chromium, OUT/native, OUT/long, OUT/pan) to formats.json (the probe's cells:
what it measured, chose and got) and table.md (per receiver set, scene and bitrate: the chosen
format and configuration against 8-bit luma with H.264 and the best fixed configuration of any
codec, then the ratios over all cells; with the best causal policy's real run beside it when the
sweep ran one). Usage: table.py OUT [LABEL]."""
import json, math, os, sys

out = sys.argv[1] if len(sys.argv) > 1 else "formats-out"
label = sys.argv[2] if len(sys.argv) > 2 else ""
cells, lines = {}, []
TITLES = {"chromium": "`--receivers chromium`", "native": "`--receivers native`",
          "long": "`--receivers h264-8,h264-10`, 300 frames",
          "pan": "`--receivers h264-8,h264-10`, 300 frames, pan camera (fresh)"}
for receivers in ("chromium", "native", "long", "pan"):
    path = os.path.join(out, receivers, "summary.json")
    if not os.path.exists(path):
        continue
    fs = json.load(open(path))["formats"]
    cells[receivers] = fs
    lines += [f"### {TITLES[receivers]}{label}", "",
              "| scene | Mbit/s | chosen | MAE mm | rate | h264-8 luma-P8 mm | chosen / luma-P8 | best fixed (hindsight) | chosen / best "
              "| best causal: est. mm | real mm | switches | chosen / causal | `--reprobe` policy mm | / best |",
              "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    logs, worst, half, exact = [], 0.0, 0, 0
    vs_causal, causal_best, reprobe_best = [], [], []
    for c in fs:
        vs_best = c["mae_mm"] / c["best_fixed"][2]
        vs_luma = c["mae_mm"] / c["luma8_h264_mm"]
        logs.append(math.log(vs_best)); worst = max(worst, vs_best)
        half += vs_luma <= 0.5; exact += vs_best <= 1.0
        lines.append(f"| {c['sequence']} | {c['bitrate'] / 1e6:g} | {c['chosen'][0]} `{c['chosen'][1]}` | {c['mae_mm']:.2f} "
                     f"| {c['rate_ratio']:.2f} | {c['luma8_h264_mm']:.2f} | {vs_luma:.3f} "
                     f"| {c['best_fixed'][2]:.2f} {c['best_fixed'][0]} `{c['best_fixed'][1]}` | {vs_best:.3f} "
                     + (f"| {k['estimate_mm']:.2f} | {k['mae_mm']:.2f} | {len(k['switches']) - 1} | {c['mae_mm'] / k['mae_mm']:.3f} |"
                        if (k := c.get("causal")) else "| – | – | – | – |")
                     + (f" {r['mae_mm']:.2f} | {r['mae_mm'] / c['best_fixed'][2]:.3f} |" if (r := c.get("reprobe")) else " – | – |"))
        if r:
            reprobe_best.append(r["mae_mm"] / c["best_fixed"][2])
        if k:
            vs_causal.append(c["mae_mm"] / k["mae_mm"]); causal_best.append(k["mae_mm"] / c["best_fixed"][2])
    lines += ["", f"{len(fs)} cells: chosen / best fixed geomean **{math.exp(sum(logs) / len(logs)):.3f}**, worst "
              f"**{worst:.3f}**, {exact} at or below 1.0; **{half}** at or below 0.5x 8-bit luma with H.264.", ""]
    if vs_causal:
        g = lambda v: math.exp(sum(map(math.log, v)) / len(v))
        lines += [f"Chosen / best causal policy (real runs): geomean **{g(vs_causal):.3f}**, worst **{max(vs_causal):.3f}**, "
                  f"**{sum(r <= 1.02 for r in vs_causal)}** of {len(vs_causal)} cells at or below 1.02. "
                  f"The best causal policy / best fixed: geomean {g(causal_best):.3f}, worst {max(causal_best):.3f}.", ""]
    if reprobe_best:
        g = lambda v: math.exp(sum(map(math.log, v)) / len(v))
        lines += [f"The policy of `send --reprobe` (real runs) / best fixed: geomean **{g(reprobe_best):.3f}**, worst "
                  f"**{max(reprobe_best):.3f}**, {sum(r <= 1.02 for r in reprobe_best)} of {len(reprobe_best)} cells at or below 1.02.", ""]
json.dump(cells, open("formats.json", "w"), indent=1)
open("table.md", "w").write("\n".join(lines))
print("\n".join(lines))
