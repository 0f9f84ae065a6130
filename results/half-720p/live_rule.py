#!/usr/bin/env python3
"""`send --reprobe-rule causal` in real time beside the default rule (live-rule.md).

    python3 live_rule.py OUT/live-rule [--camera orbit] [--out live-rule.md]

OUT/live-rule holds `./run.sh live-rule`'s runs: per scene and bitrate, the start-up probe alone
(`probe`), `--reprobe` with its default rule (`default`) and with `--reprobe-rule causal`
(`causal`), each the sender's log and `recv --source`'s per-frame stats. The three runs of a cell
ran one after another on the same machine, x264 ultrafast, paced at 30 fps, rounds that fit.
"""
import os

from live import MBPS, SCENES, flag, geo, live_mae, log_facts
from live_presets import main

RUNS = ["probe", "default", "causal"]


def report(folder, camera="orbit"):
    out = "live-rule.md" if camera == "orbit" else f"live-rule-{camera}.md"
    option = "" if camera == "orbit" else f" --camera {camera}"
    lines = [
        f"# `send --reprobe-rule causal` in real time, {camera} camera (`run.sh live-rule`)",
        "",
        f"Written by `python3 live_rule.py OUT/live-rule{option} --out {out}`. The 300-frame {camera} renders",
        "sent by `send --auto --probe --receivers chromium` paced at 30 fps (GOP 30, x264 ultrafast) into",
        "MPEG-TS: the start-up probe alone, with `--reprobe` (its default rule) and with `--reprobe",
        "--reprobe-rule causal`, rounds as many pairs as fit (`--reprobe-pairs fit`); the error is `recv",
        "--source`'s over what arrived. One run per cell and rule, a cell's three one after another.",
        "",
        "| scene | Mbit/s | probe alone, mm | default / probe | causal / probe | causal / default "
        "| rounds (pairs in the last), moves: default | causal | s to send 10 s: default | causal |",
        "|---|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    ratios = {"default / probe": [], "causal / probe": [], "causal / default": []}
    late, short, cells = [], [], 0
    for scene in SCENES:
        for mbps in MBPS:
            base = {r: os.path.join(folder, f"{scene}-{mbps}M-{r}") for r in RUNS}
            if not all(os.path.exists(f"{b}.csv") for b in base.values()):
                continue
            cells += 1
            got = {r: (*live_mae(f"{b}.csv"), log_facts(f"{b}.log")) for r, b in base.items()}
            (p, _, _), (d, _, fd), (c, _, fc) = got["probe"], got["default"], got["causal"]
            for key, value in zip(ratios, (d / p, c / p, c / d)):
                ratios[key].append(value)
            for r, (_, frames, facts) in got.items():
                flag(f"{scene} {mbps}M {r}", frames, facts, late, short)
            lines.append(
                f"| {scene} | {mbps} | {p:.2f} | {d / p:.3f} | {c / p:.3f} | {c / d:.3f} "
                f"| {fd['rounds']}, {fd['switches']} | {fc['rounds']}, {fc['switches']} "
                f"| {fd['secs']:.2f} | {fc['secs']:.2f} |")
    lines += ["", f"Geomeans over the {cells} cells: "
              + "; ".join(f"{k} **{geo(v):.3f}**" for k, v in ratios.items() if v) + ".",
              f"Cells where the causal rule has more than 2% more error than the default: "
              f"{sum(v > 1.02 for v in ratios['causal / default'])}; less than 0.98x: "
              f"{sum(v < 0.98 for v in ratios['causal / default'])}.",
              "Streams late (over 10.5 s to send 10 s): " + ("; ".join(late) if late else "none") + ".",
              "Streams with frames missing at the receiver: " + ("; ".join(short) if short else "none") + "."]
    return lines


if __name__ == "__main__":
    main(report, __doc__, camera=True)
