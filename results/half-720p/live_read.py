#!/usr/bin/env python3
"""`send` reading its frames ahead, EXR depth from R alone, against the build before (live-read.md).

    python3 live_read.py OUT/live-read [--out live-read.md]

OUT/live-read holds `./run.sh live-read`'s runs: per scene, bitrate and mode (`probe`: the
start-up probe alone; `reprobe`: with `--reprobe`, its defaults), the sender's log and `recv
--source`'s per-frame stats, once from the build before (`before`: each frame read on the sending
thread just before it is encoded, EXR through the `image` crate) and once from this one
(`after`). The two runs of a cell ran one after the other on the same machine, x264 ultrafast,
paced at 30 fps, rounds that fit.
"""
import os
import re

from live import MBPS, SCENES, flag, geo, live_mae, log_facts
from live_presets import main

MODES = {"probe": "probe alone", "reprobe": "--reprobe"}
BUILDS = ["before", "after"]


def read_facts(path):
    """The after build's own account: ms to read a frame on its thread, s the sender waited."""
    m = re.search(r"read ahead on a thread of their own, ([\d.]+) ms each; the sender waited ([\d.]+) s",
                  open(path).read())
    return (float(m.group(1)), float(m.group(2))) if m else (float("nan"), float("nan"))


def report(folder):
    lines = [
        "# `send` reading its frames ahead, against the build before (`run.sh live-read`)",
        "",
        "Written by `python3 live_read.py OUT/live-read --out live-read.md`. The 300-frame orbit renders",
        "sent by `send --auto --probe --receivers chromium` paced at 30 fps (GOP 30, x264 ultrafast) into",
        "MPEG-TS, the probe alone and with `--reprobe` (rounds that fit), by the build before (each frame",
        "read on the sending thread just before its encode; f32 EXR decoded by the `image` crate) and by",
        "this one (frames read 4 ahead on a thread of their own; EXR depth read from its R channel alone).",
        "DepthOfFieldExample's frames are 16-bit PNG; IrradianceVolumeExample's and Fox's f32 EXR. The",
        "error is `recv --source`'s over what arrived. One run per cell and build, one after the other.",
        "",
        "| scene | Mbit/s | run | s to send 10 s: before | after | error after / before "
        "| after: ms to read a frame | after: s waited for frames |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    late = {b: [] for b in BUILDS}
    short = {b: [] for b in BUILDS}
    ratios = {m: [] for m in MODES}
    secs = {b: [] for b in BUILDS}
    for scene in SCENES:
        for mbps in MBPS:
            for mode, name in MODES.items():
                base = {b: os.path.join(folder, f"{scene}-{mbps}M-{mode}-{b}") for b in BUILDS}
                if not all(os.path.exists(f"{p}.csv") for p in base.values()):
                    continue
                got = {b: (*live_mae(f"{p}.csv"), log_facts(f"{p}.log")) for b, p in base.items()}
                for b, (_, frames, facts) in got.items():
                    flag(f"{scene} {mbps}M {name}", frames, facts, late[b], short[b])
                    secs[b].append(facts["secs"])
                ratio = got["after"][0] / got["before"][0]
                ratios[mode].append(ratio)
                read, waited = read_facts(f"{base['after']}.log")
                lines.append(
                    f"| {scene} | {mbps} | {name} | {got['before'][2]['secs']:.2f} | {got['after'][2]['secs']:.2f} "
                    f"| {ratio:.3f} | {read:.1f} | {waited:.2f} |")
    runs = len(secs["after"])
    lines += [
        "",
        f"Late streams (over 10.5 s to send 10 s), of {runs}: before **{len(late['before'])}**, "
        f"after **{len(late['after'])}**.",
        f"Mean seconds to send 10 s: before {sum(secs['before']) / max(runs, 1):.2f}, "
        f"after {sum(secs['after']) / max(runs, 1):.2f}.",
        "Error after / before, geomean: " + "; ".join(
            f"{MODES[m]} **{geo(v):.3f}** (worst {max(v):.3f}, best {min(v):.3f})" for m, v in ratios.items() if v) + ".",
    ]
    for b in BUILDS:
        lines.append(f"Late, {b}: " + ("; ".join(late[b]) if late[b] else "none") + ".")
    for b in BUILDS:
        lines.append(f"Frames missing at the receiver, {b}: " + ("; ".join(short[b]) if short[b] else "none") + ".")
    return lines


if __name__ == "__main__":
    main(report, __doc__)
