#!/usr/bin/env python3
"""Does the network generalise, and does it beat the per-bitrate lookup table on scenes it never saw?

    python3 precision-net/train/generalise.py --sweep SWEEPS... --features CSVS... \
        --test IrradianceVolumeExample,DepthOfFieldExample,Fox [--model precision-net/models/precision-int8.onnx] \
        [--steps 8000] [--out generalise.md]

Every number is an estimate from the fixed runs: the causal switching rule of `src/policy.rs` (the
first frame picks the frame size, later switches only at keyframes, within that size, past a
margin) run over the per-frame scores, each frame's error read from that candidate's fixed encode
(`cv.evaluate_fold`; it ignores what a switch costs). The lookup table picks one candidate per
cell from the bitrate. Three experiments:

1. Training sets against the held-out test scenes: the rendered glTF training scenes only, random
   camera clips of the same models only (`view-SEED`, `results/views-720p`), both, the procedural
   levels only (`depthcast render --scene level:SEED`, `scripts/render-levels.sh`), and glTF scenes
   with levels; each trains a network (the committed settings: soft targets, tau 1, first-frame copies on
   whole-stream costs) and a lookup table on the same scenes. `--model` adds a committed model
   (its own lookup table from its metadata) as the baseline, scored on the test scenes and on every
   level (levels it never saw: they came after it).
2. Held-out levels: train on the glTF scenes and half the levels (SEED % 8 < 4), test on the other
   half; then leave one level kind out: train on the glTF scenes and the levels of three kinds, test
   on the fourth (the kind is `SEED % 4`: interior, terrain, city, arena; `Level::from_seed`).
3. Leave one scene out over the glTF training scenes, trained on the other scenes, the clips of the
   other models and every level.
4. Leave one glTF model out, tested on its camera clips: trained as in 3.
5. The ceiling on the test scenes: the switching rule fed the training target itself, and networks
   trained on the test scenes (in sample), both against the training scenes' lookup table.

Per experiment: cells (scene x bitrate), the mean over cells of net/lookup (the goal: <= 0.9), its
geometric mean, cells where the network is worse than the table by more than 2%, and both against
the best fixed candidate in hindsight (geometric mean, worst).
"""

import argparse
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cv as CV  # noqa: E402
import train as T  # noqa: E402

KINDS = ["interior", "terrain", "city", "arena"]
MARGIN = 0.1


def kind(scene):
    """The level kind of a sequence named `level-SEED`, else None."""
    m = re.fullmatch(r"level-(\d+)", scene)
    return KINDS[int(m.group(1)) % 4] if m else None


# The glTF training models in the order of `results/views-720p/paths.py` (a clip's model is SEED % 7).
VIEW_MODELS = ["CornellBox", "MixedLightingExample", "FlightHelmet", "GolfBall", "alien", "cakeBirthday", "tile"]


def view_model(scene):
    """The glTF model of a camera clip named `view-SEED` (`results/views-720p`), else None."""
    m = re.fullmatch(r"view-(\d+)", scene)
    return VIEW_MODELS[int(m.group(1)) % len(VIEW_MODELS)] if m else None


def model_of(scene):
    """The glTF model a training sequence shows: a clip's, or a render's name without `train-`."""
    return view_model(scene) or scene.removeprefix("train-")


def fit(errors, feats, scenes, steps, seed, drop=()):
    """A network and a lookup table trained on `scenes` with the committed settings, from `seed`;
    the features in `drop` are zeroed in training and their first-layer weights set to 0, so the
    network ignores them (the Rust extractor still computes them)."""
    X, C, _, K = T.dataset(errors, feats, set(scenes))
    X2, C2 = T.augment_first_frame(X, C, T.stream_costs(errors, K))
    drop = list(drop)
    X2[:, drop] = 0
    T.SEED = seed
    params = T.train(X2, C2, steps=steps, loss="soft", tau=1.0)
    params[0][0][drop, :] = 0
    return params, T.lookup_table(X, C), len(X)


def score(errors, feats, scenes, params=None, table=None, scores_fn=None):
    """Per cell of `scenes`: (scene, bitrate, estimated MAE, best fixed, luma8). `scores_fn`: a
    committed model's scores, through the same switching rule."""
    X, _, M, K = T.dataset(errors, feats, set(scenes))
    if not len(X):
        return []
    logits = scores_fn(X) if scores_fn is not None else None
    return CV.evaluate_fold(params, X, M, K, MARGIN, table=table, logits=logits)


def oracle(X, M, keys):
    """Per cell, the best any scores can do under the switching rule: one frame-size group for the
    whole stream (the first frame fixes it) and in it each GOP's best candidate, known in hindsight
    (the rule switches only at keyframes, so no sequence of scores picks better). Rows as `score`."""
    groups = np.array(T.GROUPS)
    res = []
    for (seq, br), idxs in sorted(CV.cells_of(keys).items()):
        m = M[idxs]
        gops = [m[s : s + T.GOP] for s in range(0, len(m), T.GOP)]
        total = min(sum(g[:, groups == grp].sum(axis=0).min() for g in gops) for grp in set(T.GROUPS))
        fixed = m.mean(axis=0)
        assert total / len(m) <= fixed.min() * (1 + 1e-9), "hindsight worse than a fixed candidate"
        res.append((seq, br, float(total / len(m)), float(fixed.min()), float(fixed[0])))
    return res


def stats(net, lut):
    """Net against the lookup table and both against the best fixed candidate, over the cells."""
    by = {(s, b): e for s, b, e, _, _ in lut}
    pairs = [(e, by[(s, b)], best) for s, b, e, best, _ in net if (s, b) in by]
    r = np.array([e / max(l, 1e-12) for e, l, _ in pairs])
    nb = np.array([e / best for e, _, best in pairs])
    lb = np.array([l / best for _, l, best in pairs])
    g = lambda v: float(np.exp(np.log(v).mean()))  # noqa: E731
    return dict(cells=len(pairs), mean=r.mean(), geo=g(r), worse=int((r > 1.02).sum()), better=int((r < 0.98).sum()),
                net_geo=g(nb), net_max=nb.max(), lut_geo=g(lb), lut_max=lb.max())


def summary(name, runs):
    """One table line over the training seeds: the key ratio as mean (min-max over seeds), the
    rest as means over seeds."""
    m = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    spread = f" ({min(r['mean'] for r in runs):.3f}-{max(r['mean'] for r in runs):.3f})" if len(runs) > 1 else ""
    return (f"| {name} | {runs[0]['cells']} | **{m['mean']:.3f}**{spread} | {m['geo']:.3f} | {m['worse']:.1f} / {m['better']:.1f} | "
            f"{m['net_geo']:.3f} / {m['net_max']:.3f} | {m['lut_geo']:.3f} / {m['lut_max']:.3f} |")


HEADER = ("| experiment | cells | net / lookup, mean (over seeds) | geomean | cells net worse / better by 2% | "
          "net / best fixed, geomean / worst | lookup / best fixed, geomean / worst |\n|---|---:|---:|---:|---:|---:|---:|")


def committed(path):
    """Scores and lookup table of a committed int8 model (onnxruntime), or None without it."""
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        return None
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    table = [(float(v), int(k)) for v, k in (e.split(":") for e in meta["lookup"].split(";"))]
    session = ort.InferenceSession(path)
    scores = lambda X: np.concatenate([session.run(None, {"features": x[None]})[0] for x in X])  # noqa: E731
    return scores, table, meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", nargs="+", required=True)
    ap.add_argument("--features", nargs="+", required=True)
    ap.add_argument("--test", required=True, help="held-out test scenes (comma-separated)")
    ap.add_argument("--model", help="a committed int8 model to score as the baseline")
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--seeds", default="1234", help="training seeds (comma-separated); each network is trained once per seed")
    ap.add_argument("--drop", default="", help="feature indices the networks ignore (comma-separated; e.g. 1,2: absolute near and far)")
    ap.add_argument("--skip", default="", help="experiments to skip: comma-separated of sets,kinds,scenes,models,ceiling")
    ap.add_argument("--out", help="write the tables here (markdown) as well")
    args = ap.parse_args()
    feats = T.load_features(args.features)
    errors = T.load_errors(args.sweep)
    scenes = sorted({s for s, _ in errors})
    test = [s for s in args.test.split(",") if s in scenes]
    missing = set(args.test.split(",")) - set(test)
    if missing:
        sys.exit(f"test scenes without complete fixed runs: {sorted(missing)}")
    levels = [s for s in scenes if kind(s)]
    views = [s for s in scenes if view_model(s) is not None]
    gltf = [s for s in scenes if s not in test and not kind(s) and view_model(s) is None]
    counts = {k: sum(kind(s) == k for s in levels) for k in KINDS}
    skip = set(args.skip.split(","))
    seeds = [int(v) for v in args.seeds.split(",")]
    drop = [int(v) for v in args.drop.split(",") if v]

    def trained(train, held):
        """Stats of networks trained on `train` (one per seed) against their lookup table on `held`."""
        runs, n = [], 0
        for seed in seeds:
            params, table, n = fit(errors, feats, train, args.steps, seed, drop)
            runs.append(stats(score(errors, feats, held, params), score(errors, feats, held, table=table)))
        return runs, n
    out = [f"Training scenes: {len(gltf)} rendered glTF ({', '.join(gltf)}), {len(views)} camera clips of them "
           f"and {len(levels)} procedural levels ({', '.join(f'{n} {k}' for k, n in counts.items())}); "
           f"test scenes {', '.join(test)}. "
           f"Estimates from the fixed runs through the causal switching rule (margin {MARGIN}, GOP {T.GOP}).", ""]

    def emit(line):
        print(line, flush=True)
        out.append(line)

    # The training sets: each group alone, and the glTF renders with the clips or the levels (a
    # combination only where its second group exists, else it repeats the glTF row).
    training = [(name, train) for name, train, present in [
        ("glTF scenes only", gltf, gltf), ("camera clips only", views, views),
        ("glTF scenes + camera clips", gltf + views, views), ("levels only", levels, levels),
        ("glTF scenes + levels", gltf + levels, levels)] if present]
    if "sets" not in skip:
        emit("**Training set against the test scenes**")
        emit("")
        emit(HEADER)
        if args.model:
            c = committed(args.model)
            if c:
                scores_fn, table, meta = c
                net = score(errors, feats, test, scores_fn=scores_fn)
                lut = score(errors, feats, test, table=table)
                emit(summary(f"committed model (trained on {len(meta.get('train_scenes', '').split(','))} scenes)", [stats(net, lut)]))
                if levels:
                    net = score(errors, feats, levels, scores_fn=scores_fn)
                    lut = score(errors, feats, levels, table=table)
                    emit(summary(f"committed model on the {len(levels)} levels (none seen in its training)", [stats(net, lut)]))
        for name, train in training:
            runs, n = trained(train, test)
            emit(summary(f"{name} ({len(train)} scenes, {n} samples)", runs))
        emit("")
    if "kinds" not in skip and levels:
        emit("**Held-out levels**: the first row trains on the glTF scenes and half the levels (SEED % 8 < 4) and tests "
             "on the other half; each kind's row trains on the glTF scenes and the levels of the other three kinds")
        emit("")
        emit(HEADER)
        seed_of = lambda s: int(s.split("-")[1])  # noqa: E731
        held = [s for s in levels if seed_of(s) % 8 >= 4]
        train = gltf + [s for s in levels if seed_of(s) % 8 < 4]
        if held:
            emit(summary(f"every kind: the levels with SEED % 8 >= 4 ({len(held)} levels)", trained(train, held)[0]))
        for k in KINDS:
            held = [s for s in levels if kind(s) == k]
            if not held:
                continue
            train = gltf + [s for s in levels if kind(s) != k]
            emit(summary(f"{k} ({len(held)} levels)", trained(train, held)[0]))
        emit("")
    if "scenes" not in skip and len(gltf) > 1:
        emit("**Leave one glTF scene out** (trained on the other glTF scenes, their camera clips and every level)")
        emit("")
        emit(HEADER)
        for s in gltf:
            train = [g for g in gltf + views if model_of(g) != model_of(s)] + levels
            emit(summary(s, trained(train, [s])[0]))
        emit("")
    if "ceiling" not in skip:
        # How far any network could go on the test scenes under this switching rule: scores that are
        # exactly the training target (each frame's GOP costs, so the first frame sees its whole GOP
        # and later keyframes the GOP before), and networks trained on the test scenes themselves.
        # Against each lookup table the goal could mean: the committed model's and those of the
        # training sets above.
        emit("**Ceiling on the test scenes**: the switching rule fed the training target itself (each frame's GOP "
             "costs), and networks trained on the test scenes (in sample), against each lookup table")
        emit("")
        emit(HEADER)
        X, C, M, K = T.dataset(errors, feats, set(test))
        nets = [fit(errors, feats, test, args.steps, seed, drop)[0] for seed in seeds]
        tables = [(f"the table of the {name.removesuffix(' only')}", T.lookup_table(*T.dataset(errors, feats, set(train))[:2]))
                  for name, train in training]
        c = committed(args.model) if args.model else None
        if c:
            tables.insert(0, ("the committed model's table", c[1]))
        hindsight = oracle(X, M, K)
        for name, table in tables:
            lut = score(errors, feats, test, table=table)
            emit(summary(f"hindsight: each GOP's best candidate, against {name}", [stats(hindsight, lut)]))
            emit(summary(f"scores = the GOP's costs, against {name}", [stats(CV.evaluate_fold(None, X, M, K, MARGIN, logits=-C), lut)]))
            emit(summary(f"networks trained on the test scenes, against {name}", [stats(score(errors, feats, test, p), lut) for p in nets]))
        emit("")
    if "models" not in skip and views:
        emit("**Leave one glTF model out, tested on its camera clips** (trained on the other models' renders and "
             "clips and every level)")
        emit("")
        emit(HEADER)
        for m in VIEW_MODELS:
            held = [v for v in views if view_model(v) == m]
            if not held:
                continue
            train = [g for g in gltf + views if model_of(g) != m] + levels
            emit(summary(f"{m} ({len(held)} clips)", trained(train, held)[0]))
        emit("")
    if args.out:
        open(args.out, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
