#!/usr/bin/env python3
"""How much a per-GOP chooser could gain over a per-bitrate lookup table, in the whole format space
of ../half-720p (32 pairs: H.264 8 and 10-bit, the quick grid, full and half size) rather than the
network's 11 H.264 8-bit candidates. Reads the committed GOP sums of the fixed runs
(../half-720p/gops/*.csv.gz), nothing else; writes headroom.md.

    python3 headroom.py [--out headroom.md]

Per test cell (scene x bitrate, 300 frames, GOP 30), three choosers against two lookup tables:
- hindsight: each GOP's best pair (no chooser that switches only at keyframes does better);
- the previous GOP's best: what perfect scores of the GOP just sent give, the first GOP's best for
  the first GOP (as the switching rule gives the first frame its GOP's scores), moves free;
- the table: one pair per bitrate, the lowest mean relative excess over the best pair per GOP
  (clipped at 3, as precision-net/train/train.py) on the training sequences: the three glTF
  training orbits, or those and the six procedural levels of ../half-720p.
"""

import argparse
import math
import os
import sys
from collections import defaultdict

import numpy as np

HALF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "half-720p")
sys.path.insert(0, HALF)
import rules  # noqa: E402  (the GOP files' reader and the sweep's yardsticks)

CAMERAS = ["orbit", "pan", "approach", "strafe"]
CLIP = 3.0


def load(name):
    """{(scene, kbps): {pair: [MAE per GOP]}} of the fixed runs that held the bitrate in one GOP
    file (`rules.load_file`; a GOP with a lost frame is infinite)."""
    cells = rules.load_file(os.path.join(HALF, "gops", name + ".csv.gz"))
    return {(scene, kbps): {p: e for p, e in rules.gop_means(fixed, kbps).items() if math.isfinite(e[0])}
            for (scene, kbps), (_, fixed, _) in cells.items()}


def table(sets):
    """{kbps: pair}: the pair with the lowest mean clipped relative excess per GOP over `sets`."""
    cost = defaultdict(lambda: defaultdict(list))
    for cells in sets:
        for (_, kbps), pairs in cells.items():
            for g in range(len(next(iter(pairs.values())))):
                best = min(p[g] for p in pairs.values())
                for k, p in pairs.items():
                    cost[kbps][k].append(min(p[g] / best - 1, CLIP))
    return {kbps: min(c, key=lambda k: np.mean(c[k])) for kbps, c in cost.items()}


def choosers(pairs):
    """MAE of hindsight, previous-GOP-best and every fixed pair over one cell."""
    n = len(next(iter(pairs.values())))
    best_of = [min(pairs, key=lambda k: pairs[k][g]) for g in range(n)]
    hindsight = np.mean([pairs[best_of[g]][g] for g in range(n)])
    previous = np.mean([pairs[best_of[max(g - 1, 0)]][g] for g in range(n)])
    return hindsight, previous, {k: np.mean(v) for k, v in pairs.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "headroom.md"))
    args = ap.parse_args()
    gltf = load("gltf-orbit")
    levels = [load(f"level200{i}") for i in range(6)]
    tables = [("glTF training orbits", table([gltf])), ("the same and six levels", table([gltf] + levels))]
    g = lambda v: float(np.exp(np.mean(np.log(v))))  # noqa: E731
    out = ["| camera | table from | pairs | hindsight / table (mean) | previous GOP's best / table (mean) | "
           "table / best fixed: geomean, worst | hindsight / best fixed (geomean) |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for cam in CAMERAS:
        cells = load(cam)
        for name, t in tables:
            h, p, lb, hb = [], [], [], []
            for (_, kbps), pairs in sorted(cells.items()):
                hind, prev, fixed = choosers(pairs)
                lut, best = fixed[t[kbps]], min(fixed.values())
                h.append(hind / lut)
                p.append(prev / lut)
                lb.append(lut / best)
                hb.append(hind / best)
            out.append(f"| {cam} | {name} | {len(next(iter(cells.values())))} | **{np.mean(h):.3f}** | {np.mean(p):.3f} | "
                       f"{g(lb):.3f}, {max(lb):.3f} | {g(hb):.3f} |")
    rules.report(out, args.out)


if __name__ == "__main__":
    main()
