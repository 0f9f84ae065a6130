#!/usr/bin/env python3
"""A risk-adjusted move rule for the keyframe re-probe, modelled (risk.md); `send --reprobe`'s
default since its real runs at the budget's preset (README, `--reprobe-risk`).

    python3 risk.py [--out risk.md]

The cells that miss #17's worst-cell goal are moves to a pair that then loses whole GOPs. Here
each pair's mean error in the tally is replaced, for ranking and for the margin, by
mean ^ (1 - RHO) x worst ^ RHO, where worst is the pair's worst round (its mean error over the
round), fading by KEEP at each later round (`rules.Risk`); the rest is the default rule (memory
0.4, margin 0.1). Modelled on the committed GOP sums with rules.py's model (every pair in every
round, moves free). The protocol, written before any number of it existed, is in the report.
"""
import argparse
import os

import rules

HERE = os.path.dirname(os.path.abspath(__file__))
G = os.path.join(HERE, "gops")
DESIGN = {
    "levels": ",".join(os.path.join(G, f"level{2000 + i}.csv.gz") for i in range(6)),
    "gltf-orbit": os.path.join(G, "gltf-orbit.csv.gz"),
}
TEST = {c: os.path.join(G, f"{c}.csv.gz")
        for c in ("orbit", "pan", "approach", "strafe", "orbit-superfast", "approach-superfast", "strafe-superfast",
                  "pan-superfast")}
DEFAULT = rules.DEFAULT
# (rho, keep); None: the default rule.
VARIANTS = [None] + [(rho, keep) for rho in (0.25, 0.5, 1.0) for keep in (0.8, 1.0)]
PROTOCOL = """\
- **Protocol** (written before any number of this rule existed): 6 variants, RHO 0.25, 0.5, 1 and
  KEEP 0.8, 1. The one with the lowest geomean on `levels` is adopted only if that geomean is
  at most 1.042 (default 1.045), its worst cell at most the default's 2.235, and its `gltf-orbit`
  geomean at most 1.005 (default 1.002). The test cameras were evaluated after the choice."""
PROTOCOL_S31 = """\
- **A second protocol** (written after this model's numbers on `orbit-superfast` and
  `approach-superfast` and before any real run of the rule): built into `send` and the sweep as
  `--reprobe-risk`, RHO 0.25, KEEP 0.8 becomes `send --reprobe`'s default only if, in real runs at
  x264 `superfast` on orbit, approach and strafe, its geomean / best fixed is on each camera at
  most the mean-error rule's + 0.005, and over the three cameras it has no more cells above 1.10x
  the best fixed pair and no fewer within 1.02x of the best causal policy, and is better on one
  of those counts. The real runs met it (README): it is the default. Both choices were made on
  test cameras' numbers, and are disclosed as such."""


def policy(risk):
    return lambda cell, bitrate, rule: rules.reprobe(cell, bitrate, rule, risk=risk)


def label(risk):
    return "mean error alone (`--reprobe-risk off`)" if risk is None else f"RHO {risk[0]:g}, KEEP {risk[1]:g}"


def table(sets, results):
    head = "| rule | " + " | ".join(sets) + " |"
    lines = [head, "|---|" + "---:|" * len(sets)]
    for v in VARIANTS:
        cols = [f"{g:.3f}, {w:.3f}, {c}/{n}" for g, w, c, n in (results[s][v] for s in sets)]
        lines.append(f"| {label(v)} | " + " | ".join(cols) + " |")
    return lines


def changed(label, cells, risk):
    """The cells of set `label` where `risk` changes the modelled error: / best fixed and / best
    causal, both rules; and how many of them it makes better."""
    out, better = [], 0
    for (scene, kbps), cell in sorted(cells.items()):
        bf, ca = rules.best_fixed(cell, kbps * 1000), rules.causal(cell, kbps * 1000)
        a = rules.reprobe(cell, kbps * 1000, DEFAULT)
        b = rules.reprobe(cell, kbps * 1000, DEFAULT, risk=risk)
        if abs(a - b) > 1e-12 * a:
            name = scene.split("/", 1)[1]
            out.append(f"| {label} | {name} | {kbps // 1000} | {a / bf:.3f}, {a / ca:.3f} | {b / bf:.3f}, {b / ca:.3f} |")
            better += b < a
    return out, better


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="markdown file (default: print)")
    a = ap.parse_args()
    design = rules.sets([f"{k}={v}" for k, v in DESIGN.items()])
    test = rules.sets([f"{k}={v}" for k, v in TEST.items()])
    every = {**design, **test}
    results = {s: {v: rules.evaluate(cells, [DEFAULT], policy(v))[DEFAULT] for v in VARIANTS}
               for s, cells in every.items()}
    chosen = min(VARIANTS[1:], key=lambda v: (results["levels"][v][0], results["levels"][v][1]))
    g, w, _, _ = results["levels"][chosen]
    adopted = g <= 1.042 and w <= 2.235 and results["gltf-orbit"][chosen][0] <= 1.005
    lines = [
        "# A risk-adjusted move rule for the re-probe, modelled (`risk.py`)",
        "",
        "Written by `python3 risk.py --out risk.md`. The worst cells of #17's test cameras are moves",
        "to a pair that then loses whole GOPs (README). This rule ranks and compares pairs by",
        "mean ^ (1 - RHO) x worst ^ RHO: the tally's mean error and the pair's worst round, fading by",
        "KEEP at each later round. Otherwise it is the rule of `rules.py` (memory 0.4, margin 0.1,",
        "one round's pick), in its model (every pair in every round, moves free). Each cell:",
        "/ best fixed geomean, worst, cells within 1.02x of the best causal policy. The `-superfast`",
        "sets are the same renders swept at x264 `superfast`, the real-time budget's preset.",
        "",
        PROTOCOL,
        "",
        PROTOCOL_S31,
        "",
        "## Design sets",
        "",
        *table(list(design), results),
        "",
        f"The design sets choose **{label(chosen)}**: `levels` {g:.3f} (worst {w:.3f}), "
        f"`gltf-orbit` {results['gltf-orbit'][chosen][0]:.3f}; the protocol's bounds are "
        + ("met." if adopted else "not met."),
        "",
        "## Test cameras",
        "",
        *table(list(test), results),
        "",
        f"## The cells {label(chosen)} changes (/ best fixed, / best causal)",
        "",
        "| set | scene | Mbit/s | mean error alone | risk-adjusted |",
        "|---|---|---:|---:|---:|",
    ]
    counts = {}
    for s, cells in every.items():
        rows, better = changed(s, cells, chosen)
        lines += rows
        counts[s] = (better, len(rows))
    lines += ["", "Cells changed, made better of them: " + ", ".join(f"{s} {b} of {n}" for s, (b, n) in counts.items()) + "."]
    rules.report(lines, a.out)


if __name__ == "__main__":
    main()
