#!/usr/bin/env python3
"""Keyframe policies across formats estimated from a sweep's fixed runs alone: each frame takes
the error and bits of its pair's fixed run, so switching is free (with the encoder pre-roll of
`sweep --reopen-preroll 15` the real runs came within 0.6-12% of this on the 63-frame test runs).
Every policy picks by the rule of the start-up probe (stream::auto::PairTally): the lowest mean
error among the pairs that kept 1.1x the bitrate over what it measured.

  probe       the start-up probe: the best pair over frames 0..15, kept for the whole stream
  causal      the best causal policy of #17: at each keyframe g, the best over frames 0..g
              (before the first, the probe's pick)
  causal-fmt  as causal, but only among the pairs of the probe's format (no codec change)
  window W/K  every K keyframes, re-measure every pair over the W frames before the keyframe
              and add them to what the probe measured; switch to the best of that tally

Prints per cell the ratio to the best fixed pair in hindsight (among those that kept the bitrate
over the whole sequence), then geomean and worst per policy.
Usage: causal_estimate.py SWEEP/frames.csv [GOP] [CODEC,CODEC...]"""
import collections, csv, math, sys

path = sys.argv[1]
gop = int(sys.argv[2]) if len(sys.argv) > 2 else 30
codecs = sys.argv[3].split(",") if len(sys.argv) > 3 else None
HEAD, TOL, FPS = 15, 1.10, 30.0
runs = collections.defaultdict(list)
for r in csv.DictReader(open(path)):
    if "policy" in r["run"] or r["run"].startswith("formats") or (codecs and r["codec"] not in codecs):
        continue
    mae = float(r["mae_m"]) if r["mae_m"] not in ("", "nan", "NaN") else math.inf
    runs[(r["sequence"], int(r["bitrate_bps"]), r["codec"], r["config"])].append((int(r["frame"]), mae, int(r["bits"])))
cells = collections.defaultdict(dict)
for (seq, bps, codec, cfg), v in runs.items():
    v.sort()
    cells[(seq, bps)][(codec, cfg)] = ([x[1] for x in v], [x[2] for x in v])


def best(c, frames, bps, only=None):
    """The rule: lowest mean error over `frames` among pairs that kept TOL x the bitrate there."""
    st = {}
    for k, (m, b) in c.items():
        if only and not only(k):
            continue
        e = [m[i] for i in frames]
        st[k] = (sum(e) / len(e), sum(b[i] for i in frames) * FPS / len(frames) / bps)
    kept = [k for k in st if st[k][1] <= TOL] or list(st)
    return min(kept, key=lambda k: st[k][0])


def run_policy(c, n, bps, pick):
    """Mean error of the per-keyframe choices pick(g, current)."""
    errs, cur = [], None
    for g in range(0, n, gop):
        cur = pick(g, cur)
        errs += c[cur][0][g:min(g + gop, n)]
    finite = [e for e in errs if math.isfinite(e)]
    worst = max(finite) if finite else math.inf
    return sum(e if math.isfinite(e) else worst for e in errs) / n


policies = {
    "probe": lambda c, n, bps: lambda g, cur: cur or best(c, range(HEAD), bps),
    "causal": lambda c, n, bps: lambda g, cur: best(c, range(HEAD) if g == 0 else range(g), bps),
    "causal-fmt": lambda c, n, bps: lambda g, cur: best(c, range(HEAD), bps) if g == 0
    else best(c, range(g), bps, only=lambda k: k[0] == cur[0]),
}
for w, k in [(15, 1), (15, 3), (30, 3)]:
    def mk(w=w, k=k):
        def policy(c, n, bps):
            def pick(g, cur):
                if g == 0:
                    return best(c, range(HEAD), bps)
                if (g // gop) % k:
                    return cur
                frames = list(range(HEAD)) + [i for kg in range(gop * k, g + 1, gop * k) for i in range(max(HEAD, kg - w), kg)]
                return best(c, frames, bps)
            return pick
        return policy
    policies[f"window {w}/{k}"] = mk()

ratios = collections.defaultdict(list)
for (seq, bps), c in sorted(cells.items()):
    n = min(len(m) for m, _ in c.values())
    hind = best(c, range(n), bps)
    ref = sum(c[hind][0][:n]) / n
    line = f"{seq[:22]:22} {bps // 1000:6}k best {hind[0]} {hind[1]:36} {ref * 1e3:9.2f} mm"
    for name, p in policies.items():
        r = run_policy(c, n, bps, p(c, n, bps)) / ref
        ratios[name].append(r)
        line += f"  {name} {r:.3f}"
    print(line)
for name, v in ratios.items():
    print(f"{name:12} geomean {math.exp(sum(map(math.log, v)) / len(v)):.3f} worst {max(v):.3f} "
          f"cells<=1.02 {sum(r <= 1.02 for r in v)}/{len(v)}")
