#!/usr/bin/env python3
"""`send` in real time at two x264 presets (live-presets.md).

    python3 live_presets.py OUT/live-presets [--out live-presets.md]

OUT/live-presets holds `./run.sh live-presets`'s runs: per scene, bitrate, preset (`ultrafast`,
`superfast`) and mode (`probe`: the start-up probe alone; `reprobe`: with `--reprobe` and its
defaults), the sender's log and `recv --source`'s per-frame stats. The four runs of a cell ran
one after another on the same machine, so each ratio compares runs made minutes apart.
"""
import argparse
import os

from live import MBPS, SCENES, flag, geo, live_mae, log_facts

PRESETS = ["ultrafast", "superfast"]
MODES = ["probe", "reprobe"]


def cells(folder, presets=PRESETS, facts=lambda log, preset: log_facts(log)):
    """(scene, Mbit/s) -> {(preset, mode): (MAE mm, frames received, facts(log, preset))} of the
    cells with a run of every preset and mode."""
    out = {}
    for scene in SCENES:
        for mbps in MBPS:
            runs = {}
            for preset in presets:
                for mode in MODES:
                    base = os.path.join(folder, f"{scene}-{mbps}M-{preset}-{mode}")
                    if os.path.exists(f"{base}.csv"):
                        mae, frames = live_mae(f"{base}.csv")
                        runs[(preset, mode)] = (mae, frames, facts(f"{base}.log", preset))
            if len(runs) == len(presets) * len(MODES):
                out[(scene, mbps)] = runs
    return out


def main(report, doc, camera=False, named=False):
    """`SCRIPT FOLDER [--out FILE]`: prints `report(FOLDER)`'s lines, or writes them to FILE; `doc`
    is the script's docstring. With `camera`, `--camera NAME` (default orbit) is passed on:
    `report(FOLDER, NAME)`; with `named`, FILE's name, for the report's own first lines:
    `report(FOLDER, out=NAME)`."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("folder")
    if camera:
        ap.add_argument("--camera", default="orbit", help="the renders' camera, for the text (default: orbit)")
    ap.add_argument("--out", help="markdown file (default: print)")
    a = ap.parse_args()
    out = {"out": os.path.basename(a.out)} if named and a.out else {}
    text = "\n".join(report(a.folder, a.camera) if camera else report(a.folder, **out)) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        print(text, end="")


def report(folder):
    runs = cells(folder)
    lines = [
        "# `send` in real time at x264 ultrafast and superfast (`run.sh live-presets`)",
        "",
        "Written by `python3 live_presets.py OUT/live-presets --out live-presets.md`. The 300-frame orbit",
        "renders sent by `send --auto --probe --receivers chromium` paced at 30 fps (GOP 30) into MPEG-TS,",
        "alone and with `--reprobe` (its defaults), at each preset; the error is `recv --source`'s over",
        "what arrived. The README's superfast section says what was decided on it.",
        "",
        "| scene | Mbit/s | probe's pick: ultrafast | superfast | probe: superfast / ultrafast "
        "| re-probe: superfast / ultrafast | rounds (pairs in the last), moves: ultrafast | superfast "
        "| re-probe s to send 10 s: ultrafast | superfast |",
        "|---|---:|---|---|---:|---:|---|---|---:|---:|",
    ]
    ratios = {"probe alone: superfast / ultrafast": [], "re-probe: superfast / ultrafast": [],
              "ultrafast: re-probe / probe": [], "superfast: re-probe / probe": []}
    slow, short = [], []
    for (scene, mbps), r in runs.items():
        (pu, _, fpu), (ps, _, fps_) = r[("ultrafast", "probe")], r[("superfast", "probe")]
        (ru, _, fru), (rs, _, frs) = r[("ultrafast", "reprobe")], r[("superfast", "reprobe")]
        for key, value in zip(ratios, (ps / pu, rs / ru, ru / pu, rs / ps)):
            ratios[key].append(value)
        for (preset, mode), (_, frames, facts) in r.items():
            flag(f"{scene} {mbps}M {preset} {mode}", frames, facts, slow, short)
        lines.append(
            f"| {scene} | {mbps} | {fpu['pick']} | {fps_['pick']} | {ps / pu:.3f} | {rs / ru:.3f} "
            f"| {fru['rounds']}, {fru['switches']} | {frs['rounds']}, {frs['switches']} "
            f"| {fru['secs']:.2f} | {frs['secs']:.2f} |")
    lines.append("")
    return lines + ratio_lines(ratios) + stream_lines(slow, short)


def ratio_lines(ratios):
    """A line per ratio with values: its geomean, worst and best over the cells."""
    return [f"- {key}: geomean {geo(v):.3f}, worst {max(v):.3f}, best {min(v):.3f} ({len(v)} cells)"
            for key, v in ratios.items() if v]


def stream_lines(slow, short):
    """The streams that were late and those that arrived short."""
    return [f"- streams that took over 10.5 s to send 10 s of video: {', '.join(slow) or 'none'}",
            f"- streams with fewer than 300 frames decoded: {', '.join(short) or 'none'}"]


if __name__ == "__main__":
    main(report, __doc__)
