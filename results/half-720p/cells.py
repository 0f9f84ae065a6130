#!/usr/bin/env python3
"""Each cell (sequence, bitrate) of a sweep with `--half`: 8-bit luma with H.264 (the goal's
baseline), the best fixed full-size configuration and the best fixed half-size one, each as MAE
and as a ratio to 8-bit luma, with the pixels put on the wrong side of valid/invalid per frame
(not in the MAE: they are reported beside it). Only runs that held the bitrate (within
RATE_TOLERANCE, as the probe's rule) compete.

usage: python3 cells.py SWEEP/frames.csv [FPS]
"""
import collections
import csv
import sys

RATE_TOLERANCE = 1.10  # depthcast_stream::auto::RATE_TOLERANCE


def main():
    path = sys.argv[1]
    fps = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    runs = collections.defaultdict(lambda: {"mae": 0.0, "ok": 0, "n": 0, "bits": 0, "mislabelled": 0})
    for r in csv.DictReader(open(path)):
        k = (r["sequence"], int(r["bitrate_bps"]), r["codec"], r["config"], r["run"])
        a = runs[k]
        a["n"] += 1
        a["bits"] += int(r["bits"] or 0)
        a["mislabelled"] += int(r["valid_to_invalid"] or 0) + int(r["invalid_to_valid"] or 0)
        if r["mae_m"] not in ("", "inf", "nan"):
            a["mae"] += float(r["mae_m"])
            a["ok"] += 1
    cells = collections.defaultdict(list)
    for (seq, bps, codec, config, run), a in runs.items():
        if "policy" in run or a["ok"] == 0:
            continue
        rate = a["bits"] / a["n"] * fps / bps
        cells[(seq, bps)].append((a["mae"] / a["ok"] * 1e3, codec, config, rate, a["mislabelled"] / a["n"]))
    print("| scene | Mbit/s | h264-8 luma-P8 mm | best full size | / luma | best half size | / luma | wrong side of valid, px/frame (luma / full / half) |")
    print("|---|---:|---:|---|---:|---|---:|---:|")
    reach = {"full": 0, "any": 0}
    for (seq, bps) in sorted(cells):
        runs_ = cells[(seq, bps)]
        luma = next(r for r in runs_ if r[1] == "h264-8" and r[2] == "luma-P8-lin")
        kept = [r for r in runs_ if r[3] <= RATE_TOLERANCE]
        full = min(r for r in kept if not r[2].endswith("-half"))
        half = min(r for r in kept if r[2].endswith("-half"))
        reach["full"] += full[0] / luma[0] <= 0.5
        reach["any"] += min(full[0], half[0]) / luma[0] <= 0.5
        print(
            f"| {seq} | {bps / 1e6:g} | {luma[0]:.2f} | {full[0]:.2f} {full[1]} `{full[2]}` | {full[0] / luma[0]:.3f} "
            f"| {half[0]:.2f} {half[1]} `{half[2]}` | {half[0] / luma[0]:.3f} "
            f"| {luma[4]:.0f} / {full[4]:.0f} / {half[4]:.0f} |"
        )
    n = len(cells)
    print(f"\nCells at or below 0.5x 8-bit luma: {reach['full']} of {n} at full size, {reach['any']} of {n} with half size.")


if __name__ == "__main__":
    main()
