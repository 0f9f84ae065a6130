#!/usr/bin/env python3
"""Chooses the start-up probe's settings, and bounds what any measuring policy can reach.

    python3 precision-net/train/probe.py --sweep SWEEP... --features FEATS.csv... \
        --model precision-net/models/precision-int8.onnx --scenes train

The probe (`depthcast_precision_net::Probe`, the sweep's `all/probe` policy) encodes the network's
K best-scored candidates of the first frame (optionally plus the 8-bit luma fallback) over the
first N frames, measures each after decoding, and keeps the best measured one for the whole
stream. Its result is computed here from the fixed runs on disk, exactly: with no look-ahead in
the encoder (x264 ultrafast, one thread) a probe encode of the first N frames *is* the first N
frames of the candidate's fixed run, and the stream that goes on with the winner *is* that run
(`tests/sweep.rs` checks the first claim on real encodes).

It also prints the "parallel encoders" bound: every candidate (or the shortlist) encoded all the
time, the sent stream switching at each keyframe to the encoder with the lowest measured error so
far (a switch at an IDR keyframe splices two valid streams, so the received frames are those of
the fixed runs). No causal policy that picks by measured error can do better than this family
without knowing the future; where it stays above the best fixed configuration in hindsight, the
2% goal is out of reach for measurement as well as for prediction.

`--scenes train` reads only the model's training scenes (choose settings there); `--scenes test`
only its held-out ones (report). Ratios are against the best fixed candidate in hindsight; luma-8
ratios as in quality.py. Deterministic; nothing is hard-coded.
"""

import argparse
import csv
import glob
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import CANDIDATES, GOP, load_errors, load_features  # noqa: E402

LUMA8 = CANDIDATES.index("luma-P8-lin")
# Fallbacks outside the model (depthcast::sweep::predictor::fallbacks), as rows after the
# candidates; read from any sweep folder that has their fixed runs (`depthcast sweep --only`).
EXTRA = ["hue-lin"]
HUE = len(CANDIDATES)


def load_extra(sweeps, ids):
    """(sequence, bitrate) -> {row: MAE per frame} for configurations outside the model."""
    out = {}
    for sw in sweeps:
        for path in glob.glob(os.path.join(sw, "runs", "**", "h264-8_*k_*_seq.csv"), recursive=True):
            run = os.path.basename(path)[: -len("_seq.csv")].split("_", 2)
            if len(run) != 3 or run[2] not in ids:
                continue
            with open(path) as f:
                rows = list(csv.DictReader(f))
            if not rows:
                continue
            mae = np.array([float(r["mae_m"]) for r in rows])
            worst = np.nanmax(mae) if np.isfinite(mae).any() else 1.0
            key = (rows[0]["sequence"], int(rows[0]["bitrate_bps"]))
            out.setdefault(key, {})[len(CANDIDATES) + ids.index(run[2])] = np.where(np.isfinite(mae), mae, worst)
    return out


def scores(sess, feats, seq, bitrate, n):
    x = np.stack([feats[(seq, bitrate, i)] for i in range(n)]).astype(np.float32)
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i : i + 1]})[0] for i in range(n)])


def probe(mae, sc, k, frames, fallbacks):
    """Per-frame MAE of the probed stream: shortlist from the first frame's scores, plus the
    `fallbacks` rows."""
    short = list(np.argsort(-sc[0], kind="stable")[:k])
    short += [f for f in fallbacks if f not in short]
    win = min(short, key=lambda c: mae[c, :frames].mean())
    return mae[win]


# The region-of-interest ladder, strongest split first (plain P16 is the mildest step).
LADDER = [CANDIDATES.index(c) for c in ["vbp-luma-P12-lin-a255-roi-0.80", "vbp-luma-P14-lin-a255-roi-0.80",
                                        "vbp-luma-P16-lin-a255-roi-0.60", "vbp-luma-P16-lin-a255-roi-0.40",
                                        "vbp-luma-P16-lin-a255-roi-0.20", "vbp-luma-P16-lin-a255"]]


def ladder(mae, sc, frames, fallbacks):
    """Probe of the network's first choice and its neighbours on the ROI ladder (one stronger,
    one milder split), plus the fallbacks."""
    top = int(np.argmax(sc[0]))
    short = [top]
    if top in LADDER:
        i = LADDER.index(top)
        short += [LADDER[j] for j in (i - 1, i + 1) if 0 <= j < len(LADDER)]
    else:
        short += list(np.argsort(-sc[0], kind="stable")[1:3])
    short += [f for f in fallbacks if f not in short]
    win = min(short, key=lambda c: mae[c, :frames].mean())
    return mae[win]


def parallel(mae, sc, k, frames, all_rows=False):
    """Per-frame MAE when the shortlist's encoders (or every row's) all run and the stream switches
    at keyframes to the lowest cumulative measured error (after a probe of `frames` frames)."""
    short = list(range(mae.shape[0])) if all_rows else list(np.argsort(-sc[0], kind="stable")[:k])
    n = mae.shape[1]
    cur = min(short, key=lambda c: mae[c, :frames].mean())
    out = np.empty(n)
    for g in range(0, n, GOP):
        if g >= frames:
            best = min(short, key=lambda c: mae[c, :g].mean())
            if mae[best, :g].mean() < 0.98 * mae[cur, :g].mean():
                cur = best
        out[g : g + GOP] = mae[cur, g : g + GOP]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", nargs="+", required=True)
    ap.add_argument("--features", nargs="+", required=True)
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "models", "precision-int8.onnx"))
    ap.add_argument("--scenes", choices=["train", "test"], default="train")
    args = ap.parse_args()
    meta = {p.key: p.value for p in onnx.load(args.model).metadata_props}
    assert meta["candidates"].split(",") == CANDIDATES, "the model's candidates differ from train.py's"
    test = set(meta["test_scenes"].split(","))
    sess = ort.InferenceSession(args.model)
    feats = load_features(args.features)
    errors = load_errors(args.sweep)
    extra = load_extra(args.sweep, EXTRA)
    cells = []
    for (seq, bitrate), mae in sorted(errors.items()):
        if (seq in test) != (args.scenes == "test"):
            continue
        rows = extra.get((seq, bitrate), {})
        if len(rows) == len(EXTRA):
            n = min([mae.shape[1]] + [len(v) for v in rows.values()])
            mae = np.vstack([mae[:, :n]] + [rows[HUE + i][None, :n] for i in range(len(EXTRA))])
        n = mae.shape[1]
        while n > 0 and (seq, bitrate, n - 1) not in feats:
            n -= 1
        if n < GOP:
            continue
        cells.append((seq, bitrate, mae[:, :n], scores(sess, feats, seq, bitrate, n)))
    with_hue = all(c[2].shape[0] > HUE for c in cells)
    print(f"{len(cells)} cells from {len({c[0] for c in cells})} {args.scenes} scenes (H.264 8-bit, GOP {GOP})"
          + ("" if with_hue else "; no hue runs for every cell (`depthcast sweep --only hue-lin`): hue variants left out"))
    print()
    print("Ratios against the best of the model's candidates (hue, when read, only as a probe fallback).")
    print()
    print("| policy | worst / best fixed | cells over +2% | geomean / best fixed | cells over luma-8 | max / luma-8 | mean / luma-8 per scene, worst |")
    print("|---|---|---|---|---|---|---|")
    variants = [("predictor's first-frame choice", lambda m, s: m[int(np.argmax(s[0]))])]
    names = {LUMA8: "luma-8", HUE: "hue"}
    for k, frames, fb in [(2, 15, []), (3, 15, []), (4, 15, []), (5, 15, []), (3, 30, []), (2, 15, [LUMA8]),
                          (3, 15, [LUMA8]), (3, 30, [LUMA8]), (2, 15, [LUMA8, HUE]), (3, 15, [LUMA8, HUE]),
                          (3, 30, [LUMA8, HUE])]:
        if HUE in fb and not with_hue:
            continue
        name = f"probe: top {k}{''.join(' + ' + names[f] for f in fb)}, {frames} frames"
        variants.append((name, lambda m, s, k=k, f=frames, b=fb: probe(m, s, k, f, b)))
    variants.append(("probe: first choice + its ROI-ladder neighbours + luma-8, 15 frames",
                     lambda m, s: ladder(m, s, 15, [LUMA8])))
    for k in [3, len(CANDIDATES)]:
        variants.append((f"parallel encoders: top {k}, switch at keyframes", lambda m, s, k=k: parallel(m, s, k, 15)))
    if with_hue:
        variants.append(("parallel encoders: all + hue, switch at keyframes", lambda m, s: parallel(m, s, 0, 15, all_rows=True)))
    for name, fn in variants:
        rb, rl, per_scene = [], [], {}
        for seq, _, mae, sc in cells:
            v = fn(mae, sc).mean()
            rb.append(v / mae[: len(CANDIDATES)].mean(axis=1).min())
            rl.append(v / mae[LUMA8].mean())
            per_scene.setdefault(seq, []).append(rl[-1])
        rb, rl = np.array(rb), np.array(rl)
        worst_scene = max(np.mean(v) for v in per_scene.values())
        print(f"| {name} | {rb.max():.3f} | {(rb > 1.02).sum()}/{len(rb)} | {np.exp(np.log(rb).mean()):.4f} | "
              f"{(rl > 1.0001).sum()} | {rl.max():.3f} | {worst_scene:.3f} |")


if __name__ == "__main__":
    main()
