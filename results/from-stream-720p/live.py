#!/usr/bin/env python3
"""`send --reprobe` measuring the stream's own pair from its packets, live (live.md).

    python3 live.py OUT/orbit OUT/strafe > live.md

Each folder holds `./run.sh live`'s runs of one camera: per scene, bitrate and mode (`probe`:
the start-up probe alone; `encode`: `--reprobe --reprobe-from-stream false`, the rule before;
`stream`: `--reprobe`, the stream's own pair measured from its packets), the sender's log and
`recv --source`'s per-frame stats. Every ratio is between live runs of the same cell.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "half-720p"))
from live import MBPS, SCENES, geo, live_mae, log_facts  # noqa: E402


def costs(path):
    """The sender's last line on the rounds: ms per pair and frame of an encode, and of the
    stream's own pair measured from its packets (None when not)."""
    text = open(path).read()
    encode = re.search(r"([\d.]+) ms per pair and frame", text)
    own = re.search(r"the stream's own pair ([\d.]+) ms per frame", text)
    return (float(encode.group(1)) if encode else None, float(own.group(1)) if own else None)


def camera(folder):
    print(f"## {os.path.basename(os.path.normpath(folder))}\n")
    print("| scene | Mbit/s | start-up probe's pick | rounds (pairs in the last), moves: before | "
          "from the stream | from the stream / before | before / probe | from the stream / probe "
          "| ms per pair and frame (encode) / per frame (stream's own) |")
    print("|---|---:|---|---|---|---:|---:|---:|---|")
    ratios = {"from the stream / before": [], "before / probe": [], "from the stream / probe": []}
    enc, own, slow = [], [], []
    for scene in SCENES:
        for mbps in MBPS:
            base = os.path.join(folder, f"{scene}-{mbps}M")
            if not all(os.path.exists(f"{base}-{m}.csv") for m in ("probe", "encode", "stream")):
                continue
            probe, before, stream = (live_mae(f"{base}-{m}.csv")[0] for m in ("probe", "encode", "stream"))
            facts = {m: log_facts(f"{base}-{m}.log") for m in ("probe", "encode", "stream")}
            slow += [f"{scene} {mbps}M {m} {x['secs']:.2f} s" for m, x in facts.items() if x["secs"] > 10.5]
            e, o = costs(f"{base}-stream.log")
            enc += [c for c in (costs(f"{base}-encode.log")[0], e) if c]
            own += [o] if o else []
            row = (stream / before, before / probe, stream / probe)
            for key, value in zip(ratios, row):
                ratios[key].append(value)
            b, s = facts["encode"], facts["stream"]
            print(f"| {scene} | {mbps} | {facts['probe']['pick']} | {b['rounds']}, {b['switches']} "
                  f"| {s['rounds']}, {s['switches']} | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} "
                  f"| {e or 0:.1f} / {o or 0:.1f} |")
    print()
    for key, v in ratios.items():
        if v:
            print(f"- {key}: geomean {geo(v):.3f}, worst {max(v):.3f}, best {min(v):.3f} ({len(v)} cells)")
    if enc and own:
        print(f"- mean cost: an encode {sum(enc) / len(enc):.1f} ms per pair and frame (each over 1.5 frames "
              f"per frame sent), the stream's own pair {sum(own) / len(own):.1f} ms per frame")
    print(f"- streams that took over 10.5 s to send 10 s of video: {', '.join(slow) or 'none'}\n")


def main():
    print("# `send --reprobe`, live: the stream's own pair from its packets against an encode of it\n")
    print("Written by `live.py` from `run.sh live`'s runs (see README.md and protocol.txt).\n")
    for folder in sys.argv[1:]:
        camera(folder)


if __name__ == "__main__":
    main()
