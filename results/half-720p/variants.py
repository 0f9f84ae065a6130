#!/usr/bin/env python3
"""`send --reprobe`'s policy in variants (rounds of a shortlist, a move margin, ...) side by side,
per cell, from the sweeps' summaries (real runs).

    python3 variants.py "every pair=OUT/long" "8 pairs=OUT/long-k8" ...

Each argument is LABEL=FOLDER[,FOLDER...]: one variant, the sweep folders of its sequences (the
same sequences, in the same cells, for every variant). Prints a Markdown table: each cell's best
fixed pair, then for each variant the re-probe's real MAE, its ratio to the best fixed and its
moves, and a summary line per variant (geomean and worst against the best fixed and against the
best causal policy).
"""
import json
import math
import sys


def load(folders):
    cells = {}
    for folder in folders.split(","):
        with open(f"{folder}/summary.json") as f:
            cells.update({(c["sequence"], c["bitrate"]): c for c in json.load(f)["formats"]})
    return cells


def geomean(r):
    return math.exp(sum(map(math.log, r)) / len(r))


def main(args):
    runs = [(a.split("=", 1)[0], load(a.split("=", 1)[1])) for a in args]
    cells = sorted(runs[0][1], key=lambda c: (c[0], c[1]))
    print("| scene | Mbit/s | best fixed (mm) | " + " | ".join(f"{name}: MAE, / best (moves)" for name, _ in runs) + " |")
    print("|---|---:|---:|" + "---:|" * len(runs))
    fixed = {name: [] for name, _ in runs}
    causal = {name: [] for name, _ in runs}
    for cell in cells:
        best = runs[0][1][cell]["best_fixed"][2]
        row = [cell[0], f"{cell[1] / 1e6:g}", f"{best:.3f}"]
        for name, summary in runs:
            c = summary[cell]
            mae = c["reprobe"]["mae_mm"]
            fixed[name].append(mae / best)
            causal[name].append(mae / c["causal"]["mae_mm"])
            row.append(f"{mae:.3f}, {mae / best:.3f} ({len(c['reprobe']['switches']) - 1})")
        print("| " + " | ".join(row) + " |")
    print()
    for name, _ in runs:
        f, c = fixed[name], causal[name]
        print(
            f"- {name}: / best fixed geomean {geomean(f):.3f}, worst {max(f):.3f}; / best causal geomean "
            f"{geomean(c):.3f}, worst {max(c):.3f}, {sum(x <= 1.02 for x in c)} of {len(c)} cells within 1.02x"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
