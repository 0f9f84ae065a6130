#!/usr/bin/env python3
"""The keyframe re-probe's rule family modelled on a sweep's runs: which rules the design set
would choose, and what they give on the test scenes (rules.md).

    python3 rules.py --design LABEL=DIR[,DIR...] ... --test LABEL=DIR[,DIR...] ... [--out rules.md]

Each DIR is a sweep folder of `./run.sh long|pan|approach|strafe|confirm ...` (its `runs/`): the
fixed runs of every pair, and the `first-round15_*` runs, whose pairs are the ones the start-up
probe and `send --reprobe` measure (the probe's set in the stream's codec).

The model is the sweep's (`tools/sweep/src/causal.rs`, `Memory::Rounds`) with every pair in every
round, and `depthcast_stream::PairTally`'s rule: the start-up probe's 15 frames of every pair;
at each keyframe the round of the GOP before it (the first round, measured on the settled
`first-round15` encodes, replaces what the probe measured; before each later round what was
measured weighs MEMORY); the stream moves to the best pair (lowest mean error among those that
held 1.10x the bitrate) when it measures MARGIN better than the stream's, CONFIRM rounds in a row,
and, with a long view KEEP, also better there. Moves are free: each GOP gets its pair's fixed-run
error. The sweep's real runs pay for reopening the encoder, so they can be worse (the README's
tables are real runs).

The best causal policy (#17's yardstick) switches at each keyframe to the fixed run, of every
pair of the sweep, with the lowest error over every frame before it; best fixed is in hindsight
over every fixed run that held the bitrate.
"""
import argparse
import csv
import glob
import itertools
import math
import os
import re
from collections import defaultdict

FPS, GOP, HEAD, TOL = 30.0, 30, 15, 1.10
DEFAULT = (0.4, 0.1, 1, None)
GRID = list(itertools.product([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], [0.0, 0.05, 0.1, 0.2, 0.3], [1, 2], [None, 0.8, 1.0]))


def read_run(path):
    mae, bits = [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            mae.append(float(row["mae_m"]) if row["params_ok"] == "1" else math.inf)
            bits.append(int(row["bits"]))
    return mae, bits


def load(folder):
    """Cells of a sweep folder: (scene, kbit/s) -> (probe's pairs, fixed runs, first-round runs)."""
    cells = {}
    for runs in sorted(glob.glob(os.path.join(folder, "runs", "*", "g30-ultrafast"))):
        scene = os.path.basename(os.path.dirname(runs))
        fixed, first = defaultdict(dict), defaultdict(dict)
        for path in glob.glob(os.path.join(runs, "*_seq.csv")):
            name = os.path.basename(path)
            m = re.fullmatch(r"(first-round15_)?(h264-\d+)_(\d+)k_(.+)_seq\.csv", name)
            if not m or "policy" in name:
                continue
            (first if m.group(1) else fixed)[int(m.group(3))][(m.group(2), m.group(4))] = read_run(path)
        for kbps, runs_first in first.items():
            pairs = sorted(runs_first)
            if all(p in fixed[kbps] for p in pairs):
                cells[(scene, kbps)] = (pairs, fixed[kbps], runs_first)
    return cells


class Tally:
    """`PairTally`: weighted error sums, frames and bits per pair; lost frames never forgotten."""

    def __init__(self, n, bitrate):
        self.e, self.m, self.b, self.lost, self.bitrate = [0.0] * n, [0.0] * n, [0.0] * n, [False] * n, bitrate

    def record(self, k, errors, bits):
        for x in errors:
            if math.isfinite(x):
                self.e[k] += x
            else:
                self.lost[k] = True
        self.m[k] += len(errors)
        self.b[k] += sum(bits)

    def forget(self, k):
        self.e[k] = self.m[k] = self.b[k] = 0.0
        self.lost[k] = False

    def decay(self, keep):
        for v in (self.e, self.m, self.b):
            for k in range(len(v)):
                v[k] *= keep

    def mae(self, k):
        return math.inf if self.lost[k] or self.m[k] <= 0 else self.e[k] / self.m[k]

    def holds(self, k):
        return self.b[k] * FPS / max(self.m[k], 1e-300) / self.bitrate <= TOL

    def best(self):
        ks = range(len(self.e))
        held = [k for k in ks if self.holds(k)] or list(ks)
        return min(held, key=lambda k: (self.mae(k), k))


def gop_errors(run, g):
    return run[0][GOP * g : GOP * (g + 1)], run[1][GOP * g : GOP * (g + 1)]


def reprobe(cell, bitrate, rule):
    """Mean error of `send --reprobe` with `rule` = (memory, margin, confirm, long keep or None)."""
    memory, margin, confirm, keep = rule
    pairs, fixed, first = cell
    gops = min(len(fixed[p][0]) for p in pairs) // GOP
    views = [Tally(len(pairs), bitrate)] + ([Tally(len(pairs), bitrate)] if keep is not None else [])
    for view in views:
        for k, p in enumerate(pairs):
            view.record(k, fixed[p][0][:HEAD], fixed[p][1][:HEAD])
    tally = views[0]
    current, streak, total = tally.best(), (None, 0), 0.0
    for g in range(gops):
        if g > 0:
            for view, w in zip(views, (memory, keep)):
                if g > 1:
                    view.decay(w)
                for k, p in enumerate(pairs):
                    if g == 1:
                        view.forget(k)
                        view.record(k, first[p][0][-GOP:], first[p][1][-GOP:])
                    else:
                        view.record(k, *gop_errors(fixed[p], g - 1))
            best = tally.best()
            if best == current:
                streak = (None, 0)
            else:
                now, pick = tally.mae(current), tally.mae(best)
                forced = not math.isfinite(now) or (tally.holds(best) and not tally.holds(current))
                agrees = keep is None or views[1].mae(best) < views[1].mae(current)
                if forced:
                    current, streak = best, (None, 0)
                elif pick < (1 - margin) * now and agrees:
                    streak = (best, streak[1] + 1) if streak[0] == best else (best, 1)
                    if streak[1] >= confirm:
                        current, streak = best, (None, 0)
                else:
                    streak = (None, 0)
        total += sum(gop_errors(fixed[pairs[current]], g)[0])
    return total / (gops * GOP)


def causal(cell, bitrate):
    """The best causal policy over every fixed run of the cell."""
    runs = list(cell[1].values())
    gops = min(len(r[0]) for r in runs) // GOP
    total = 0.0
    for g in range(gops):
        tally = Tally(len(runs), bitrate)
        upto = HEAD if g == 0 else GOP * g
        for k, r in enumerate(runs):
            tally.record(k, r[0][:upto], r[1][:upto])
        total += sum(gop_errors(runs[tally.best()], g)[0])
    return total / (gops * GOP)


def best_fixed(cell, bitrate):
    held = [r for r in cell[1].values() if sum(r[1]) * FPS / len(r[1]) / bitrate <= TOL]
    return min(sum(r[0]) / len(r[0]) for r in held)


def evaluate(cells, rules):
    """Per rule: geomean and worst of / best fixed, cells within 1.02x of the best causal."""
    base = [(best_fixed(c, kb * 1000), causal(c, kb * 1000), c, kb * 1000) for (_, kb), c in sorted(cells.items())]
    out = {}
    for rule in rules:
        ratios, within = [], 0
        for bf, ca, cell, bitrate in base:
            m = reprobe(cell, bitrate, rule)
            ratios.append(m / bf)
            within += m <= 1.02 * ca
        geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
        out[rule] = (geo, max(ratios), within, len(ratios))
    return out


def sets(specs):
    out = {}
    for spec in specs:
        label, folders = spec.split("=", 1)
        cells = {}
        for folder in folders.split(","):
            cells.update({(f"{os.path.basename(folder)}/{s}", kb): c for (s, kb), c in load(folder).items()})
        out[label] = cells
    return out


def name(rule):
    memory, margin, confirm, keep = rule
    text = f"memory {memory:g}, margin {margin:g}"
    if confirm > 1:
        text += f", confirm {confirm}"
    if keep is not None:
        text += f", long view {keep:g}"
    return text + (" (default)" if rule == DEFAULT else "")


def row(rule, results):
    cols = [f"{g:.3f}, {w:.3f}, {c}/{n}" for g, w, c, n in (r[rule] for r in results)]
    return f"| {name(rule)} | " + " | ".join(cols) + " |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--design", nargs="+", required=True, help="LABEL=DIR[,DIR...]: the sets a rule may be chosen on")
    ap.add_argument("--test", nargs="+", required=True, help="LABEL=DIR[,DIR...]: the sets the goals are held on")
    ap.add_argument("--top", type=int, default=5, help="rules shown from the design set's ranking")
    ap.add_argument("--out", help="markdown file (default: print)")
    a = ap.parse_args()
    design, test = sets(a.design), sets(a.test)
    d = {label: evaluate(cells, GRID) for label, cells in design.items()}
    t = {label: evaluate(cells, GRID) for label, cells in test.items()}
    first = next(iter(d))
    ranked = sorted(GRID, key=lambda r: (d[first][r][0], d[first][r][1]))
    meets = [r for r in GRID if all(g <= 1.02 and w <= 1.10 and c == n for g, w, c, n in (t[x][r] for x in t))]
    cols = list(d) + list(t)
    head = "| rule | " + " | ".join(f"{c} ({'design' if c in d else 'test'})" for c in cols) + " |"
    sep = "|---|" + "---:|" * len(cols)
    lines = [
        f"{len(GRID)} rules; each cell: / best fixed geomean, worst, cells within 1.02x of the best causal policy.",
        f"Ranked by geomean on `{first}`: the default is number {ranked.index(DEFAULT) + 1}.",
        "",
        f"**The design set's best {a.top}:**",
        "",
        head,
        sep,
    ]
    lines += [row(r, list(d.values()) + list(t.values())) for r in ranked[: a.top]]
    lines += ["", f"**The rules that meet every goal on every test set ({len(meets)}):**", "", head, sep]
    lines += [row(r, list(d.values()) + list(t.values())) for r in sorted(meets, key=ranked.index)]
    text = "\n".join(lines) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
