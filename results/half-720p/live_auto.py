#!/usr/bin/env python3
"""`send --preset auto` in real time against both fixed presets (live-auto.md).

    python3 live_auto.py OUT/live-auto [--out live-auto.md]

OUT/live-auto holds `./run.sh live-auto`'s runs: per scene, bitrate, preset (`ultrafast`,
`superfast`, `auto`) and mode (`probe`: the start-up probe alone; `reprobe`: with `--reprobe` and
its defaults), the sender's log and `recv --source`'s per-frame stats. The six runs of a cell ran
one after another on the same machine, so each ratio compares runs made a minute or two apart.
"""
import re

from live import LATE, flag, log_facts
from live_presets import MODES, cells, main, ratio_lines, stream_lines

PRESETS = ["ultrafast", "superfast", "auto"]


def auto_facts(path):
    """What `--preset auto` did: the frame it stepped down at (None: never) and why (the GOP's
    mean encode time, or how late the keyframe was), the preset it ended at, and its encodes'
    mean time per frame, ms."""
    text = open(path).read()
    step = re.search(r"preset: frames \d+\.\.(\d+) took ([\d.]+) ms per frame on average, (?:and the keyframe (\d+) ms late)?", text)
    end = re.search(r"preset: the stream ended at (\S+); its encodes took ([\d.]+) ms per frame", text)
    why = None
    if step:
        why = f"{step.group(3)} ms late" if step.group(3) else f"{step.group(2)} ms"
    return {
        "step": int(step.group(1)) if step else None,
        "why": why,
        "end": end.group(1) if end else "?",
        "mean_ms": float(end.group(2)) if end else float("nan"),
    }


def preset_facts(path, preset):
    """The sender log's facts (`live.log_facts`), with `auto_facts` for `--preset auto`'s runs."""
    out = log_facts(path)
    if preset == "auto":
        out.update(auto_facts(path))
    return out


def report(folder, out="live-auto.md"):
    runs = cells(folder, PRESETS, preset_facts)
    lines = [
        "# `send --preset auto` in real time (`run.sh live-auto`)",
        "",
        f"Written by `python3 live_auto.py OUT/live-auto --out {out}`. The 300-frame orbit renders",
        "sent by `send --auto --probe --receivers chromium` paced at 30 fps (GOP 30) into MPEG-TS, alone",
        "and with `--reprobe` (its defaults), at `ultrafast`, `superfast` and `auto` (superfast, down to",
        "ultrafast by the rule of the binary that sent it); the error is `recv --source`'s over what",
        "arrived. Per cell: the error of `auto` and of `superfast` over `ultrafast`'s, where `auto`",
        "stepped down (frame, or never) and why (the GOP's mean encode time per frame, or how late",
        "the keyframe was), its stream's mean encode time per frame, and the seconds each preset took",
        "to send the 10 s.",
        "",
    ]
    ratios = {}
    slow, short = [], []
    for mode in MODES:
        lines += [
            f"**{'The start-up probe alone' if mode == 'probe' else 'With `--reprobe`'}:**",
            "",
            "| scene | Mbit/s | auto / ultrafast | superfast / ultrafast | auto: stepped down at | auto: ms per frame "
            "| s to send 10 s: ultrafast, superfast, auto |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for (scene, mbps), r in runs.items():
            (u, _, fu), (s, _, fs), (x, _, fx) = (r[(p, mode)] for p in PRESETS)
            ratios.setdefault(f"{mode}: auto / ultrafast", []).append(x / u)
            ratios.setdefault(f"{mode}: superfast / ultrafast", []).append(s / u)
            ratios.setdefault(f"{mode}: auto / superfast", []).append(x / s)
            step = "never" if fx["step"] is None else f"frame {fx['step']} ({fx['why']})"
            lines.append(f"| {scene} | {mbps} | {x / u:.3f} | {s / u:.3f} | {step} | {fx['mean_ms']:.1f} "
                         f"| {fu['secs']:.2f}, {fs['secs']:.2f}, {fx['secs']:.2f} |")
        lines.append("")
    for (scene, mbps), r in runs.items():
        for (preset, mode), (_, frames, facts) in r.items():
            flag(f"{scene} {mbps}M {preset} {mode}", frames, facts, slow, short)
    lines += ratio_lines(ratios)
    for preset in PRESETS:
        for mode in MODES:
            late = sum(r[(preset, mode)][2]["secs"] > LATE for r in runs.values())
            lines.append(f"- {preset}, {mode}: {late} of {len(runs)} streams took over {LATE} s to send 10 s")
    steps = sum(r[("auto", m)][2]["step"] is not None for r in runs.values() for m in MODES)
    lines.append(f"- `auto` stepped down to ultrafast in {steps} of {2 * len(runs)} streams")
    return lines + stream_lines(slow, short)


if __name__ == "__main__":
    main(report, __doc__, named=True)
