#!/usr/bin/env python3
"""`send` in real time on this machine against the sweep's runs of the same cells (live.md).

    python3 live.py OUT/live OUT/long

OUT/live holds `./run.sh live`'s runs: per scene, bitrate and mode (`probe`: the start-up probe
alone; `reprobe`: `send --reprobe` with its defaults), the sender's log and `recv --source`'s
per-frame stats. OUT/long is the sweep of the same 300-frame renders (`./run.sh long`): its
summary gives the best fixed pair in hindsight, the start-up probe's real run and the real run
of `send --reprobe`'s policy with every pair in every round (the sweep's model of it: rounds
as fast as needed, as on a machine with a core per pair).

The live runs and the sweep do not share a range: `send` maps the render's own range, the sweep
a range 10% nearer and 5% farther (`tools/sweep/src/encode.rs`), so the live errors are lower
for the same pair. The live columns are therefore against the live start-up probe (the same
stream conditions); the sweep's columns are against its best fixed pair.
"""
import csv
import math
import os
import re
import sys

import variants

SCENES = ["DepthOfFieldExample", "IrradianceVolumeExample", "Fox"]
MBPS = [1, 2, 4, 8, 16, 32]
# Seconds past which a stream of 10 s of video was late.
LATE = 10.5


def live_mae(path):
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "ok"]
    return sum(float(r["mae_mm"]) for r in rows) / len(rows), len(rows)


def log_facts(path):
    text = open(path).read()
    pick = re.search(r"the start-up probe's choice across formats: (\S+), (\S+),", text)
    rounds = re.search(r"re-probe: (\d+) rounds measured \(the last of (\d+) pairs", text)
    switches = re.search(r"(\d+) switches", text)
    secs = re.search(r"in ([\d.]+) s\n", text)
    return {
        "pick": f"{pick.group(1)} `{pick.group(2)}`" if pick else "?",
        "rounds": f"{rounds.group(1)} of {rounds.group(2)}" if rounds else "",
        "switches": switches.group(1) if switches else "",
        "secs": float(secs.group(1)) if secs else math.nan,
    }


def sweep_cells(sweep):
    """(scene, Mbit/s) -> best fixed, probe real, re-probe real (mm), from the sweep's summary."""
    return {(scene, bitrate / 1e6): (c["best_fixed"][2], c["mae_mm"], c["reprobe"]["mae_mm"])
            for (scene, bitrate), c in variants.load(sweep).items()}


def flag(label, frames, facts, late, short):
    """Adds `label` to `late` (with its time) when its stream took over `LATE` s to send 10 s of
    video, and to `short` (with its count) when fewer than its 300 frames arrived."""
    if facts["secs"] > LATE:
        late.append(f"{label} {facts['secs']:.2f} s")
    if frames < 300:
        short.append(f"{label} {frames}")


def geo(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs))


def main():
    live, sweep = sys.argv[1], sys.argv[2]
    cells = sweep_cells(sweep)
    print("| scene | Mbit/s | start-up probe's pick | live: re-probe / probe | rounds (pairs in the last), "
          "moves | re-probe: s to send 10 s | sweep: probe / best fixed | sweep: re-probe, every pair / best fixed |")
    print("|---|---:|---|---:|---|---:|---:|---:|")
    ratios = {"live: re-probe / probe": [], "sweep: probe / best fixed": [],
              "sweep: re-probe, every pair / best fixed": [], "sweep: re-probe / probe": []}
    slow = []
    for scene in SCENES:
        for mbps in MBPS:
            base = os.path.join(live, f"{scene}-{mbps}M")
            if not all(os.path.exists(f"{base}-{m}.csv") for m in ("probe", "reprobe")):
                continue
            best, probe_sweep, reprobe_sweep = cells[(scene, float(mbps))]
            (probe, _), (reprobe, _) = live_mae(f"{base}-probe.csv"), live_mae(f"{base}-reprobe.csv")
            p, r = log_facts(f"{base}-probe.log"), log_facts(f"{base}-reprobe.log")
            slow += [f"{scene} {mbps}M {m} {x['secs']:.2f} s" for m, x in (("probe", p), ("re-probe", r))
                     if x["secs"] > LATE]
            for key, value in zip(ratios, (reprobe / probe, probe_sweep / best, reprobe_sweep / best,
                                           reprobe_sweep / probe_sweep)):
                ratios[key].append(value)
            print(f"| {scene} | {mbps} | {p['pick']} | {reprobe / probe:.3f} | {r['rounds']}, {r['switches']} "
                  f"| {r['secs']:.2f} | {probe_sweep / best:.3f} | {reprobe_sweep / best:.3f} |")
    print()
    for key, v in ratios.items():
        if v:
            print(f"- {key}: geomean {geo(v):.3f}, worst {max(v):.3f}, best {min(v):.3f} ({len(v)} cells)")
    print(f"- streams that took over 10.5 s to send 10 s of video: {', '.join(slow) or 'none'}")


if __name__ == "__main__":
    main()
