#!/usr/bin/env python3
"""`send --reprobe` with rounds of a shortlist, modelled on the sweeps' runs: which pair fills a
round's last place (../shortlist-720p/model.md).

    python3 shortlist.py --design LABEL=SRC[,SRC...] ... --test LABEL=SRC[,SRC...] ... [--out FILE]

SRC as in rules.py (a sweep folder or its `gops/*.csv.gz`). The model is rules.py's `reprobe`
(every GOP gets its pair's fixed-run error, moves are free; `depthcast_stream::ReprobeSettings`'
default rule) with what a shortlist changes, as `tools/sweep/src/causal.rs` plans it: a round
measures only its pairs, chosen at the keyframe where it starts by `PairTally::shortlist`. Every
pair of these sweeps is H.264 (at 8 or 10 bits), so the codec `send` keeps (a transport carries
one) narrows nothing.

`PairTally::shortlist(current, n)` fills a round with the stream's pair, the n - 2 others that
rank best, and one more pair: the one measured longest ago (`stalest`, the rule in use). On a
2-core machine `--reprobe-pairs fit` gives rounds of 2, so the last place is the only one and a
full turn of the 21 other pairs takes 21 GOPs. The other rules here fill that place by what the
tally says, not only by age:

- `discount-B`: the other pair with the lowest mean error times (1 - B x staleness), staleness
  being 1 - the pair's measured weight in GOPs (capped at 1): a pair measured fresh competes by
  its error, one measured long ago by its error less B of it.
- `alternate`: the best other pair in even rounds, the stalest in odd ones.
- `top-half`: the stalest among the better half of the others (by the tally's ranking).
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rules  # noqa: E402

SLOTS = ["stalest", "alternate", "top-half", "discount-0.25", "discount-0.5", "discount-0.75"]


def last_place(tally, others, slot, round_no):
    """The pair `slot` puts in a round's last place among `others` (ranked, best first)."""
    stalest = min(others, key=lambda k: (tally.m[k], k))
    if slot == "stalest":
        return stalest
    if slot == "alternate":
        return others[0] if round_no % 2 == 0 else stalest
    if slot == "top-half":
        top = others[: max(1, (len(others) + 1) // 2)]
        return min(top, key=lambda k: (tally.m[k], k))
    if slot.startswith("discount-"):
        b = float(slot.split("-", 1)[1])
        any_holds = any(tally.holds(k) for k in others)

        def score(k):
            stale = 1.0 - min(1.0, tally.m[k] / rules.GOP)
            return (any_holds and not tally.holds(k), tally.mae(k) * (1.0 - b * stale), k)
        return min(others, key=score)
    raise ValueError(slot)


def shortlist(tally, current, n, allowed, slot, round_no):
    """`PairTally::shortlist` with the last place filled by `slot`."""
    order = tally.ranked(allowed)
    n = max(n, 2)
    if n >= len(order):
        return sorted(order)
    members = [current] if allowed(current) else []
    members += [k for k in order if k != current][: n - 1 - len(members)]
    rest = [k for k in order if k not in members]
    members.append(last_place(tally, rest, slot, round_no))
    return sorted(members)


def reprobe(cell, bitrate, n, slot, rule=rules.DEFAULT):
    """Mean error of `send --reprobe` with `rule` (rules.py's; its default by default) and rounds
    of `n` pairs (None: every pair; 0: no rounds, the start-up probe's pick throughout), the last
    place filled by `slot`."""
    if n is None:
        return rules.reprobe(cell, bitrate, rule)
    if n == 0:
        return rules.reprobe(cell, bitrate, rule, lambda tally, current, g: [])
    return rules.reprobe(cell, bitrate, rule,
                         lambda tally, current, g: shortlist(tally, current, n, lambda k: True, slot, g))


def evaluate(cells, variants):
    """Per variant (n, slot): rules.evaluate's geomean and worst of / best fixed and cells within
    1.02x of the best causal policy."""
    return rules.evaluate(cells, variants, lambda cell, bitrate, v: reprobe(cell, bitrate, *v))


def label(v):
    n, slot = v
    return {None: "every pair", 0: "none (the start-up probe only)"}.get(n, f"{n} pairs, {slot}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--design", nargs="+", required=True, help="LABEL=SRC[,SRC...]: where a rule may be chosen")
    ap.add_argument("--test", nargs="*", default=[], help="LABEL=SRC[,SRC...]: the test sets")
    ap.add_argument("--pairs", default="2,3,4", help="round sizes to model (comma-separated)")
    ap.add_argument("--out", help="markdown file (default: print)")
    a = ap.parse_args()
    variants = [(0, "stalest"), (None, "stalest")] + [(int(n), s) for n in a.pairs.split(",") for s in SLOTS]
    groups = [(lbl, "design", c) for lbl, c in rules.sets(a.design).items()]
    groups += [(lbl, "test", c) for lbl, c in rules.sets(a.test).items()]
    results = [(lbl, kind, evaluate(c, variants)) for lbl, kind, c in groups]
    pooled = {}
    for v in variants:
        logs = [math.log(r[v][0]) * r[v][3] for lbl, kind, r in results if kind == "design"]
        cells = sum(r[v][3] for lbl, kind, r in results if kind == "design")
        pooled[v] = math.exp(sum(logs) / cells)
    head = "| rounds | design, pooled geomean | " + " | ".join(f"{lbl} ({kind})" for lbl, kind, _ in results) + " |"
    lines = ["Each cell: / best fixed geomean, worst, cells within 1.02x of the best causal policy (model).", "",
             head, "|---|---:|" + "---:|" * len(results)]
    for v in variants:
        cols = [f"{g:.3f}, {w:.3f}, {c}/{n}" for g, w, c, n in (r[v] for _, _, r in results)]
        lines.append(f"| {label(v)} | {pooled[v]:.4f} | " + " | ".join(cols) + " |")
    rules.report(lines, a.out)


if __name__ == "__main__":
    main()
