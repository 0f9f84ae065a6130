#!/usr/bin/env python3
"""Keyframe policies modelled on a sweep's fixed runs (switching free), against the best fixed
pair in hindsight: what the re-probe's rule and its lag cost, before any real run.

    python3 policies.py OUT/long/frames.csv [OUT/pan/frames.csv ...]

Each cell (sequence, bitrate) has every fixed run of the sweep as a candidate (both bit depths,
full and half size). Per frame it reads the run's MAE and bits. Rules, as in the sweep and in
`depthcast_stream::PairTally`: the lowest mean error among the pairs that held the bitrate
(at most 1.10x over what was measured), keyframes every 30 frames, a 15-frame start-up probe.

- *so far*: at each keyframe, every frame before it (the best causal policy of #17);
- *rounds, memory M*: `send --reprobe`: at each keyframe, a round over the GOP before it (a
  round is encoded as its GOP is sent, so it is in at the next keyframe), the first round
  replacing the probe's frames, and before each later round what was measured weighs M (M = 0:
  the GOP before the keyframe alone);
- *late rounds, memory M*: `send --reprobe` before its rounds were streamed: each round
  measured the GOP before the previous keyframe (encoded after that GOP was sent, so in a GOP
  late).

Prints a markdown table: geomean and worst of policy / best fixed, moves, cells within 1.02x.
"""
import csv
import math
import sys
from collections import defaultdict

FPS, GOP, HEAD, TOL = 30.0, 30, 15, 1.10


def load(path):
    runs = defaultdict(lambda: ([], []))
    with open(path) as f:
        for row in csv.DictReader(f):
            if "policy" in row["run"] or row["run"].startswith("formats_"):
                continue
            key = (row["sequence"], int(row["bitrate_bps"]), row["codec"], row["config"])
            mae = float(row["mae_m"]) if row["params_ok"] == "1" else math.inf
            runs[key][0].append(mae)
            runs[key][1].append(int(row["bits"]))
    cells = defaultdict(list)
    for (seq, br, codec, cfg), (e, b) in runs.items():
        cells[(seq, br)].append((codec, cfg, e, b))
    return cells


def mean(xs):
    return sum(xs) / len(xs)


class Tally:
    def __init__(self, n):
        self.e, self.m, self.b = [0.0] * n, [0.0] * n, [0.0] * n

    def add(self, cands, frames):
        for k, c in enumerate(cands):
            self.e[k] += sum(c[2][i] for i in frames)
            self.b[k] += sum(c[3][i] for i in frames)
            self.m[k] += len(frames)

    def decay(self, keep):
        for v in (self.e, self.m, self.b):
            for k in range(len(v)):
                v[k] *= keep

    def best(self, br, allowed):
        scored = [(self.e[k] / self.m[k], self.b[k] * FPS / self.m[k] / br, k) for k in allowed]
        held = [s for s in scored if s[1] <= TOL] or scored
        return min(held)[2]


def run_policy(cands, br, rule, memory=1.0):
    n = min(len(c[2]) for c in cands)
    every = range(len(cands))
    choice, moves, codec = [], 0, None
    tally = Tally(len(cands))
    for g in range(0, n, GOP):
        if g == 0:
            tally.add(cands, range(0, HEAD))
        elif rule == "so far":
            tally = Tally(len(cands))
            tally.add(cands, range(0, g))
        elif rule == "rounds":
            if g - GOP <= 0:
                tally = Tally(len(cands))  # the first round measures the probe's frames again
            else:
                tally.decay(memory)
            tally.add(cands, range(g - GOP, g))
        elif rule == "late rounds" and g - GOP > 0:
            k = g - GOP
            if k - GOP <= 0:
                tally = Tally(len(cands))  # the first round measures the probe's frames again
            else:
                tally.decay(memory)
            tally.add(cands, range(max(0, k - GOP), k))
        # A transport carries one codec: the re-probe keeps its first pick's.
        allowed = [k for k in every if codec is None or cands[k][0].split("-")[0] == codec]
        pick = tally.best(br, allowed)
        if choice and choice[-1] != pick:
            moves += 1
        if rule != "so far" and codec is None:
            codec = cands[pick][0].split("-")[0]
        choice += [pick] * min(GOP, n - g)
    return mean([cands[k][2][i] for i, k in enumerate(choice)]), moves


def best_fixed(cands, br):
    n = min(len(c[2]) for c in cands)
    held = [c for c in cands if sum(c[3]) * FPS / n / br <= TOL and all(map(math.isfinite, c[2]))]
    return min(mean(c[2]) for c in held)


POLICIES = [
    ("so far (the best causal policy)", "so far", 1.0),
    ("rounds, memory 1 (every round alike)", "rounds", 1.0),
    ("rounds, memory 0.8", "rounds", 0.8),
    ("rounds, memory 0.6", "rounds", 0.6),
    ("rounds, memory 0.4 (`send --reprobe`)", "rounds", 0.4),
    ("rounds, memory 0.3", "rounds", 0.3),
    ("rounds, memory 0.2", "rounds", 0.2),
    ("rounds, memory 0 (the last GOP alone)", "rounds", 0.0),
    ("late rounds, memory 1", "late rounds", 1.0),
    ("late rounds, memory 0.4 (`send --reprobe` before)", "late rounds", 0.4),
    ("late rounds, memory 0", "late rounds", 0.0),
]


def main():
    for path in sys.argv[1:]:
        cells = load(path)
        print(f"\n{path}: {len(cells)} cells\n")
        print("| policy (modelled, switching free) | / best fixed: geomean | worst | moves | cells ≤ 1.02x |")
        print("|---|---:|---:|---:|---:|")
        for name, rule, memory in POLICIES:
            ratios, moves = [], 0
            for (seq, br), cands in sorted(cells.items()):
                cands = sorted(cands)
                m, mv = run_policy(cands, br, rule, memory)
                ratios.append((m / best_fixed(cands, br), f"{seq} {br // 1_000_000}M"))
                moves += mv
            geo = math.exp(mean([math.log(r) for r, _ in ratios]))
            worst = max(ratios)
            within = sum(r <= 1.02 for r, _ in ratios)
            print(f"| {name} | {geo:.3f} | {worst[0]:.3f} ({worst[1]}) | {moves} | {within} of {len(ratios)} |")


if __name__ == "__main__":
    main()
