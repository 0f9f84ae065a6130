#!/usr/bin/env python3
"""Leave-one-scene-out cross-validation on the TRAINING scenes only (the test scenes are dropped
before anything else), to choose training settings without looking at the test scenes.

    python3 precision-net/train/cv.py --sweep ... --features ... --test A,B,C [--folds S1,S2,...] \
        [--variant NAME:key=value,key=value ...]

For each fold scene: train on the other training scenes, then simulate the causal switching rule
(`src/policy.rs`: first frame picks among all candidates, afterwards only at keyframes, within the
frame-size group, mean GOP score better by `margin`) on the fold scene's per-frame scores, and
estimate its MAE from the separate fixed encodes (ignores the cost of switching). Prints, per
variant: cells, worst and geometric-mean est/best-fixed-candidate, cells over +2%, mean est/luma8.

Variant keys: steps, clip (cost clip), window (1 = GOP-windowed label, 0 = per-frame), margin,
wd (weight decay), lr, logcost (1 = cost log(mae/best) instead of mae/best - 1), nopv (1 = train
without the procedural pv* scenes), aug0 (1 = add first-frame copies, see train.augment_first_frame),
firstgroup (1 = the first frame chooses within the lookup table's frame-size group, as the Rust
policy does), hidden (units of both hidden layers), stream0 (1 = first-frame copies trained on
whole-stream costs, see train.stream_costs), soft (1 = cross-entropy to softmax(-cost/tau) instead
of the expected cost), tau, lookup (1 = the per-bitrate lookup table instead of a network).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T  # noqa: E402


def switcher(scores, groups, gop, margin, first_group=None):
    """Python mirror of policy::Switcher::push over one sequence; returns the choice per frame.
    `first_group`: the frame-size group the first frame must choose in (`with_first_group`)."""
    k = scores.shape[1]
    cur, s, cnt, out = None, np.zeros(k), 0, []
    for i, x in enumerate(scores):
        s += x
        cnt += 1
        if cur is None:
            allowed = [j for j in range(k) if first_group is None or groups[j] == first_group]
            cur = max(allowed, key=lambda j: (x[j], -j))
        elif i % gop == 0:
            allowed = [j for j in range(k) if groups[j] == groups[cur]]
            best = max(allowed, key=lambda j: (s[j], -j))
            if s[best] / cnt > s[cur] / cnt + margin:
                cur = best
        if i % gop == 0:
            s[:] = 0
            cnt = 0
        out.append(cur)
    return out


def parse_variant(v):
    name, _, kv = v.partition(":")
    d = {}
    for item in filter(None, kv.split(",")):
        a, b = item.split("=")
        d[a] = float(b)
    return name, d


def dataset(errors, feats, scenes, window, clip, logcost):
    X, C, M, keys = [], [], [], []
    for (seq, bitrate), mae in sorted(errors.items()):
        if seq not in scenes:
            continue
        w = T.windowed(mae) if window else mae
        for i in range(mae.shape[1]):
            f = feats.get((seq, bitrate, i))
            if f is None:
                continue
            X.append(f)
            best = max(w[:, i].min(), 1e-9)
            c = np.log(np.maximum(w[:, i], 1e-9) / best) if logcost else w[:, i] / best - 1.0
            C.append(np.minimum(c, clip))
            M.append(mae[:, i])
            keys.append((seq, bitrate, i))
    return np.array(X, np.float32), np.array(C, np.float32), np.array(M), keys


def lookup_groups(Xtr, Ctr):
    """The frame-size group of the lookup table's choice (train.lookup_table), as a function of a
    sample's features."""
    table = T.lookup_table(Xtr, Ctr)
    return lambda x: T.GROUPS[T.lookup_choice(table, x)]


def cells_of(keys):
    """{(sequence, bitrate): the indices of its samples, in order} of `dataset`'s keys."""
    cells = {}
    for idx, (seq, br, _) in enumerate(keys):
        cells.setdefault((seq, br), []).append(idx)
    return cells


def evaluate_fold(params, X, M, keys, margin, group_of=None, table=None, logits=None):
    """Estimated MAE per cell of the fold scene: the network's switching rule, or with `table` the
    lookup table's choice for the whole cell; `logits`: another model's scores of `X` instead."""
    if table is not None:
        logits = np.eye(len(T.CANDIDATES))[[T.lookup_choice(table, x) for x in X]]
    elif logits is None:
        logits = T.forward(params, X.astype(np.float64))[-1]
    res = []
    for (seq, br), idxs in sorted(cells_of(keys).items()):
        fg = group_of(X[idxs[0]]) if group_of else None
        ch = switcher(logits[idxs], T.GROUPS, T.GOP, margin, fg)
        m = M[idxs]
        est = float(np.mean([m[j, c] for j, c in enumerate(ch)]))
        fixed = m.mean(axis=0)
        res.append((seq, br, est, float(fixed.min()), float(fixed[0])))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", nargs="+", required=True)
    ap.add_argument("--features", nargs="+", required=True)
    ap.add_argument("--test", required=True, help="held-out test scenes: excluded entirely")
    ap.add_argument("--folds", default="", help="training scenes to use as folds (default: all training scenes)")
    ap.add_argument("--variant", nargs="+", default=["base:"])
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    feats = T.load_features(args.features)
    errors = T.load_errors(args.sweep)
    test = set(args.test.split(","))
    errors = {k: v for k, v in errors.items() if k[0] not in test}
    scenes = sorted({s for s, _ in errors})
    folds = [s for s in args.folds.split(",") if s] or scenes
    print(f"training scenes {scenes}; folds {folds}")
    for v in args.variant:
        name, d = parse_variant(v)
        steps, clip, window = int(d.get("steps", 4000)), d.get("clip", T.COST_CLIP), bool(d.get("window", 1))
        margin, wd, lr, logcost = d.get("margin", 0.1), d.get("wd", 1e-4), d.get("lr", 3e-3), bool(d.get("logcost", 0))
        rows = []
        for f in folds:
            tr = set(scenes) - {f}
            if d.get("nopv", 0):
                tr = {s for s in tr if not s.startswith("pv")}
            Xtr, Ctr, _, Ktr = dataset(errors, feats, tr, window, clip, logcost)
            Xf, _, Mf, Kf = dataset(errors, feats, {f}, window, clip, logcost)
            if d.get("lookup", 0):
                rows += evaluate_fold(None, Xf, Mf, Kf, margin, table=T.lookup_table(Xtr, Ctr))
                continue
            group_of = lookup_groups(Xtr, Ctr) if d.get("firstgroup", 0) else None
            if d.get("aug0", 0):
                C0 = T.stream_costs(errors, Ktr, clip) if d.get("stream0", 0) else None
                Xtr, Ctr = T.augment_first_frame(Xtr, Ctr, C0)
            loss = "soft" if d.get("soft", 0) else "expected"
            hidden = [int(d["hidden"])] * 2 if d.get("hidden") else None
            params = T.train(Xtr, Ctr, steps=steps, lr=lr, wd=wd, loss=loss, tau=d.get("tau", 0.1), hidden=hidden)
            rows += evaluate_fold(params, Xf, Mf, Kf, margin, group_of)
        r_best = np.array([e / b for _, _, e, b, _ in rows])
        r_l8 = np.array([e / l for _, _, e, _, l in rows])
        print(f"{name:12s} {d}: cells {len(rows)}, est/best max {r_best.max():.3f} geomean {np.exp(np.log(r_best).mean()):.3f}, "
              f"over +2%: {(r_best > 1.02).sum()}, est/luma8 mean {r_l8.mean():.3f} max {r_l8.max():.3f}", flush=True)
        if args.verbose:
            for (s, br, e, b, l), rb in zip(rows, r_best):
                print(f"    {s:22s} {br / 1e6:5g} est {e * 1e3:8.2f} best {b * 1e3:8.2f} luma8 {l * 1e3:8.2f} ratio {rb:.3f}")


if __name__ == "__main__":
    main()
