#!/usr/bin/env python3
"""`send --reprobe`'s policy with rounds of a shortlist (`--reprobe-pairs N`) against rounds of
every pair, per cell, from the sweeps' summaries (real runs).

    python3 shortlist.py OUT/long OUT/long-k8 OUT/long-k4 OUT/long-k2

The first folder is the sweep with every pair in every round; each other one the same sweep with
`--reprobe-pairs N` (N read from the folder's name, after `-k`). Prints a Markdown table: each
cell's best fixed pair, then for each sweep the re-probe's real MAE and its ratio to the best
fixed, and a summary line per sweep.
"""
import json
import math
import sys


def load(folder):
    with open(f"{folder}/summary.json") as f:
        return {(c["sequence"], c["bitrate"]): c for c in json.load(f)["formats"]}


def label(folder):
    tail = folder.rstrip("/").rsplit("-k", 1)
    return f"{tail[1]} pairs" if len(tail) == 2 and tail[1].isdigit() else "every pair"


def main(folders):
    runs = [(label(f), load(f)) for f in folders]
    cells = sorted(runs[0][1], key=lambda c: (c[0], c[1]))
    head = "| scene | Mbit/s | best fixed (mm) | " + " | ".join(f"{name}: MAE, / best" for name, _ in runs) + " |"
    print(head)
    print("|---|---:|---:|" + "---:|" * len(runs))
    ratios = {name: [] for name, _ in runs}
    for cell in cells:
        best = runs[0][1][cell]["best_fixed"][2]
        row = [cell[0], f"{cell[1] / 1e6:g}", f"{best:.3f}"]
        for name, summary in runs:
            mae = summary[cell]["reprobe"]["mae_mm"]
            ratios[name].append(mae / best)
            moves = len(summary[cell]["reprobe"]["switches"]) - 1
            row.append(f"{mae:.3f}, {mae / best:.3f} ({moves} moves)")
        print("| " + " | ".join(row) + " |")
    print()
    for name, r in ratios.items():
        geo = math.exp(sum(map(math.log, r)) / len(r))
        print(f"- {name}: / best fixed geomean {geo:.3f}, worst {max(r):.3f}, {sum(x <= 1.02 for x in r)} of {len(r)} cells within 1.02x")


if __name__ == "__main__":
    main(sys.argv[1:])
