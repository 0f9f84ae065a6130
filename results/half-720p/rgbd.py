#!/usr/bin/env python3
"""The RGB-D runs of `run.sh rgbd`: per scene and depth bitrate, the depth MAE of each
configuration received with its colour (half-size maps rebuilt with the decoded colour as the
guide) and depth-only (rebuilt without one), against 8-bit luma, from `recv --stats` CSVs.

usage: python3 rgbd.py DIR
"""
import csv
import os
import re
import sys

CONFIGS = ["luma-P8-lin", "luma-P10-lin", "luma-P10-lin-half", "vbp-luma-P16-lin-a255-roi-0.80-half"]


def mean_mae(path):
    rows = [r for r in csv.DictReader(open(path)) if r["status"] == "ok"]
    mae = sum(float(r["mae_mm"]) for r in rows) / len(rows)
    flips = sum(int(r["invalid_flips"]) for r in rows) / len(rows)
    return mae, flips


def main():
    d = sys.argv[1]
    runs = {}
    for f in os.listdir(d):
        m = re.match(r"(.+)-(\d+)-(.+)-(rgbd|depth)\.csv$", f)
        if m:
            runs[(m[1], int(m[2]), m[3], m[4])] = mean_mae(os.path.join(d, f))
    scenes = sorted({k[0] for k in runs})
    rates = sorted({k[1] for k in runs})
    head = " | ".join(f"`{c}`" for c in CONFIGS)
    print(f"| scene | depth Mbit/s | {head} |")
    print("|---|---:|" + "---:|" * len(CONFIGS))
    best = {"rgbd": [], "depth": []}
    for s in scenes:
        for b in rates:
            cells = []
            luma = runs.get((s, b, "luma-P8-lin", "depth"))
            for c in CONFIGS:
                parts = []
                for mode in ("rgbd", "depth"):
                    r = runs.get((s, b, c, mode))
                    if r and luma:
                        parts.append(f"{r[0]:.2f} ({r[0] / luma[0]:.3f}x, {r[1]:.0f} px)")
                cells.append(" / ".join(parts))
            print(f"| {s} | {b} | " + " | ".join(cells) + " |")
            for mode in best:
                got = [runs[(s, b, c, mode)][0] for c in CONFIGS if (s, b, c, mode) in runs]
                if got and luma:
                    best[mode].append(min(got) / luma[0])
    for mode, ratios in best.items():
        n = sum(r <= 0.5 for r in ratios)
        print(f"\n{mode}: best of these configurations at or below 0.5x 8-bit luma in {n} of {len(ratios)} cells")


if __name__ == "__main__":
    main()
