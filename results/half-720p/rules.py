#!/usr/bin/env python3
"""The keyframe re-probe's rule family modelled on a sweep's runs: which rules the design set
would choose, and what they give on the test scenes (rules.md).

    python3 rules.py --design LABEL=SRC[,SRC...] ... --test LABEL=SRC[,SRC...] ... [--out rules.md]
    python3 rules.py extract DIR FILE.csv.gz

Each SRC is a sweep folder of `./run.sh long|pan|approach|strafe|confirm ...` (its `runs/`): the
fixed runs of every pair, and the `first-round15_*` runs, whose pairs are the ones the start-up
probe and `send --reprobe` measure (the probe's set in the stream's codec); or what `extract`
kept of one (`gops/*.csv.gz` here): per run, the sums the model adds up (error, frames, bits)
over the probe's first frames, each GOP and the first round's GOP.

The model is the sweep's (`tools/sweep/src/causal.rs`, `Memory::Rounds`) with every pair in every
round, and `depthcast_stream::PairTally`'s rule: the start-up probe's 15 frames of every pair;
at each keyframe the round of the GOP before it (the first round, measured on the settled
`first-round15` encodes, replaces what the probe measured; before each later round what was
measured weighs MEMORY); the stream moves to the best pair (lowest mean error among those that
held 1.10x the bitrate) when it measures MARGIN better than the stream's, CONFIRM rounds in a row,
and, with a long view KEEP, also better there. Moves are free: each GOP gets its pair's fixed-run
error. The sweep's real runs pay for reopening the encoder, so they can be worse (the README's
tables are real runs). Every rule here ranks pairs by mean error alone; `send --reprobe` has since
also scored them by their worst round (`reprobe(..., risk=)`, `Risk`; risk.py), and DEFAULT is
its rule with `--reprobe-risk off`.

The best causal policy (#17's yardstick) switches at each keyframe to the fixed run, of every
pair of the sweep, with the lowest error over every frame before it; best fixed is in hindsight
over every fixed run that held the bitrate.
"""
import argparse
import csv
import functools
import glob
import gzip
import itertools
import math
import os
import re
import sys
from collections import defaultdict

FPS, GOP, HEAD, TOL = 30.0, 30, 15, 1.10
DEFAULT = (0.4, 0.1, 1, None)
GRID = list(itertools.product([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], [0.0, 0.05, 0.1, 0.2, 0.3], [1, 2], [None, 0.8, 1.0]))


def part(mae, bits):
    """Frames summed as the tally sums them: (error sum, frames, bits, whether one was lost)."""
    return (sum(x for x in mae if math.isfinite(x)), len(mae), sum(bits), not all(map(math.isfinite, mae)))


def add(a, b):
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] or b[3])


def read_run(path):
    mae, bits = [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            mae.append(float(row["mae_m"]) if row["params_ok"] == "1" else math.inf)
            bits.append(int(row["bits"]))
    return mae, bits


def fixed_parts(mae, bits):
    """A fixed run as the model reads it: its first HEAD frames and each whole GOP."""
    gops = len(mae) // GOP
    return {"head": part(mae[:HEAD], bits[:HEAD]),
            "gops": [part(mae[GOP * g:GOP * (g + 1)], bits[GOP * g:GOP * (g + 1)]) for g in range(gops)]}


def read_runs(runs):
    """One sequence's runs folder (`runs/SCENE/g30-ultrafast`): its fixed runs and its first
    rounds, each as {kbit/s: {pair: parts}} (policy runs skipped)."""
    fixed, first = defaultdict(dict), defaultdict(dict)
    for path in glob.glob(os.path.join(runs, "*_seq.csv")):
        name = os.path.basename(path)
        m = re.fullmatch(r"(first-round15_)?(h264-\d+)_(\d+)k_(.+)_seq\.csv", name)
        if not m or "policy" in name:
            continue
        mae, bits = read_run(path)
        pair, kbps = (m.group(2), m.group(4)), int(m.group(3))
        if m.group(1):
            first[kbps][pair] = part(mae[-GOP:], bits[-GOP:])
        else:
            fixed[kbps][pair] = fixed_parts(mae, bits)
    return fixed, first


def load_folder(folder):
    """Cells of a sweep folder: (scene, kbit/s) -> (probe's pairs, fixed runs, first rounds). Each
    scene's runs are those of its one GOP-30 encoder setting (`g30-ultrafast`, or another preset,
    `g30-superfast-nocuts`)."""
    cells = {}
    for scene_runs in sorted(glob.glob(os.path.join(folder, "runs", "*"))):
        options = glob.glob(os.path.join(scene_runs, "g30-*"))
        if len(options) != 1:
            sys.exit(f"{scene_runs}: {len(options)} folders of GOP-30 runs (one expected)")
        runs = options[0]
        scene = os.path.basename(scene_runs)
        fixed, first = read_runs(runs)
        for kbps, rounds in first.items():
            if all(p in fixed[kbps] for p in rounds):
                cells[(scene, kbps)] = (sorted(rounds), fixed[kbps], rounds)
    return cells


FIELDS = ["scene", "kbps", "run", "codec", "config", "part", "error_sum_m", "frames", "bits", "lost"]


def save(cells, path):
    """The cells in the compact form `load` also reads (`rules.py extract`)."""
    with gzip.open(path, "wt", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FIELDS)
        for (scene, kbps), (pairs, fixed, first) in sorted(cells.items()):
            rows = [("fixed", pair, "head", r["head"]) for pair, r in fixed.items()]
            rows += [("fixed", pair, f"gop{g}", x) for pair, r in fixed.items() for g, x in enumerate(r["gops"])]
            rows += [("first-round", pair, "gop0", first[pair]) for pair in pairs]
            for run, (codec, config), name, (e, n, b, lost) in sorted(rows):
                w.writerow([scene, kbps, run, codec, config, name, repr(e), n, b, int(lost)])


def load_file(path):
    fixed, first = defaultdict(lambda: defaultdict(lambda: {"gops": []})), defaultdict(dict)
    with gzip.open(path, "rt") as f:
        for row in csv.DictReader(f):
            cell, pair = (row["scene"], int(row["kbps"])), (row["codec"], row["config"])
            x = (float(row["error_sum_m"]), int(row["frames"]), int(row["bits"]), row["lost"] == "1")
            if row["run"] == "first-round":
                first[cell][pair] = x
            elif row["part"] == "head":
                fixed[cell][pair]["head"] = x
            else:
                gops = fixed[cell][pair]["gops"]
                g = int(row["part"][3:])
                gops.extend([None] * (g + 1 - len(gops)))
                gops[g] = x
    return {cell: (sorted(first[cell]), fixed[cell], first[cell]) for cell in first}


def load(source):
    """A sweep folder, or a file `rules.py extract` wrote from one."""
    return load_file(source) if source.endswith(".csv.gz") else load_folder(source)


class Tally:
    """`PairTally`: weighted error sums, frames and bits per pair; lost frames never forgotten."""

    def __init__(self, n, bitrate):
        self.e, self.m, self.b, self.lost, self.bitrate = [0.0] * n, [0.0] * n, [0.0] * n, [False] * n, bitrate

    def record(self, k, frames):
        e, n, b, lost = frames
        self.e[k] += e
        self.m[k] += n
        self.b[k] += b
        self.lost[k] = self.lost[k] or lost

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

    def ranked(self, allowed=lambda k: True, score=None):
        """`PairTally::ranked`: the pairs `allowed`, those that held the bitrate first (when any
        did), each part by mean error (or `score(k)`), then index."""
        score = score or self.mae
        ks = [k for k in range(len(self.e)) if allowed(k)]
        any_holds = any(self.holds(k) for k in ks)
        return sorted(ks, key=lambda k: (any_holds and not self.holds(k), score(k), k))

    def best(self, score=None):
        return self.ranked(score=score)[0]


class Risk:
    """The risk-adjusted score of `risk.py` (not in `send --reprobe`): a pair's mean error in the
    tally ^ (1 - RHO) x its worst round's ^ RHO, the worst round a maximum of the per-round means
    that fades by KEEP at each round that measures the pair."""

    def __init__(self, rho, keep, n):
        self.rho, self.keep, self.worst = rho, keep, [0.0] * n

    def measured(self, k, frames, replace=False):
        e, n, b, lost = frames
        mean = math.inf if lost or n <= 0 else e / n
        self.worst[k] = mean if replace else max(mean, self.keep * self.worst[k])

    def score(self, tally):
        def of(k):
            mean, worst = tally.mae(k), self.worst[k]
            if not (math.isfinite(mean) and math.isfinite(worst)):
                return math.inf
            return mean ** (1 - self.rho) * max(worst, 1e-300) ** self.rho
        return of


def gop_count(runs):
    return min(len(r["gops"]) for r in runs)


def gop_error(run, g):
    """The error sum of a run's GOP `g` (infinite with a lost frame)."""
    e, n, b, lost = run["gops"][g]
    return math.inf if lost else e


def reprobe(cell, bitrate, rule, members=None, risk=None):
    """Mean error of `send --reprobe` with `rule` = (memory, margin, confirm, long keep or None).
    Each round measures every pair, or with `members` the pairs `members(tally, current, g)`
    lists for the round that starts at keyframe `g` (the rounds of a shortlist: shortlist.py).
    With `risk` = (rho, keep), pairs are ranked and compared by a `Risk` score (risk.py)."""
    memory, margin, confirm, keep = rule
    pairs, fixed, first = cell
    gops = gop_count([fixed[p] for p in pairs])
    views = [Tally(len(pairs), bitrate)] + ([Tally(len(pairs), bitrate)] if keep is not None else [])
    for view in views:
        for k, p in enumerate(pairs):
            view.record(k, fixed[p]["head"])
    tally = views[0]
    worst = risk and Risk(*risk, len(pairs))
    for k, p in enumerate(pairs if worst else []):
        worst.measured(k, fixed[p]["head"], replace=True)
    score = worst.score(tally) if worst else tally.mae
    current, streak, total = tally.best(score), (None, 0), 0.0
    measured = members(tally, current, 0) if members else range(len(pairs))
    for g in range(gops):
        if g > 0:
            # The round of GOP g - 1 (the first on its settled encodes), which replaces the probe's.
            parts = {k: first[pairs[k]] if g == 1 else fixed[pairs[k]]["gops"][g - 1] for k in measured}
            for view, w in zip(views, (memory, keep)):
                if g > 1:
                    view.decay(w)
                for k, part in parts.items():
                    if g == 1:
                        view.forget(k)
                    view.record(k, part)
            for k, part in parts.items() if worst else []:
                worst.measured(k, part, replace=g == 1)
            best = tally.best(score)
            if best == current:
                streak = (None, 0)
            else:
                now, pick = score(current), score(best)
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
            if members:
                measured = members(tally, current, g)
        total += gop_error(fixed[pairs[current]], g)
    return total / (gops * GOP)


def causal(cell, bitrate):
    """The best causal policy over every fixed run of the cell."""
    runs = list(cell[1].values())
    gops = gop_count(runs)
    total, so_far = 0.0, [(0.0, 0, 0, False)] * len(runs)
    for g in range(gops):
        tally = Tally(len(runs), bitrate)
        for k, r in enumerate(runs):
            tally.record(k, r["head"] if g == 0 else so_far[k])
        total += gop_error(runs[tally.best()], g)
        so_far = [add(s, r["gops"][g]) for s, r in zip(so_far, runs)]
    return total / (gops * GOP)


def holds_whole(run, bitrate):
    """Whether a fixed run held the bitrate (within TOL) over its GOPs, without a lost frame."""
    e, n, b, lost = functools.reduce(add, run["gops"])
    return b * FPS / n / bitrate <= TOL and not lost


def gop_means(fixed, kbps):
    """{"codec/config": [mean MAE per GOP]} of one cell's fixed runs; a run that lost a frame or did
    not hold the bitrate is infinite in every GOP."""
    return {f"{codec}/{config}": [gop_error(r, g) / r["gops"][g][1] if holds_whole(r, kbps * 1000) else math.inf
                                  for g in range(len(r["gops"]))]
            for (codec, config), r in fixed.items()}


def best_fixed(cell, bitrate):
    whole = [functools.reduce(add, r["gops"]) for r in cell[1].values() if holds_whole(r, bitrate)]
    return min(e / n for e, n, b, lost in whole)


def evaluate(cells, rules, policy=None):
    """Per rule: geomean and worst of / best fixed, cells within 1.02x of the best causal. The
    mean error of a rule in a cell is `policy(cell, bitrate, rule)`, by default `reprobe`'s."""
    policy = policy or reprobe
    base = [(best_fixed(c, kb * 1000), causal(c, kb * 1000), c, kb * 1000) for (_, kb), c in sorted(cells.items())]
    out = {}
    for rule in rules:
        ratios, within = [], 0
        for bf, ca, cell, bitrate in base:
            m = policy(cell, bitrate, rule)
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


def report(lines, out=None):
    """Prints a report's lines and writes them to `out` too when given (every script here)."""
    text = "\n".join(lines) + "\n"
    if out:
        with open(out, "w") as f:
            f.write(text)
    print(text, end="")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "extract":
        save(load_folder(sys.argv[2]), sys.argv[3])
        return
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
    report(lines, a.out)


if __name__ == "__main__":
    main()
