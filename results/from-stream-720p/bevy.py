#!/usr/bin/env python3
"""Tabulates `run.sh bevy`: the Bevy sender's re-probe measuring the stream's own pair by an
encode (`--reprobe-from-stream false`) against from the stream, per scene and bitrate.

    python3 bevy.py fs-out/bevy > bevy.md

The last column (rounds not begun by a move that measured the stream's own pair over the whole
GOP, of those rounds, and the fewest frames any round measured) is in demos since the keyframe
grid only (`–` before).
"""
import json
import math
import re
import sys
from pathlib import Path

SCENES = ["DepthOfFieldExample", "IrradianceVolumeExample", "Fox"]
RATES = [1, 4]


def load(folder, scene, mbps, from_stream):
    """The run's summary: MAE (mm), frames received and sent, and what its packing line says."""
    path = Path(folder) / f"{scene}-{mbps}M-{from_stream}" / "summary.json"
    if not path.is_file():
        return None
    s = json.loads(path.read_text())["depth_only"]["stream"]
    packing = s["packing"]
    number = lambda pattern: (m := re.search(pattern, packing)) and float(m.group(1))
    return {
        "mae": s["mean_mae_mm"],
        "frames": s["frames_received"],
        "sent": s["frames_sent"],
        "rounds": number(r"(\d+) rounds"),
        "moves": number(r"(\d+) moves"),
        "encode_ms": number(r"([\d.]+) ms per pair encoded"),
        "stream_ms": number(r"([\d.]+) ms per frame of the stream's own"),
        "end": (m := re.search(r"ending with (.*)\)$", packing)) and m.group(1),
        # Demos since the keyframe grid: rounds that measured the stream's own pair over the
        # whole GOP, of those not begun by a move, and the fewest frames any round measured.
        "whole": (m := re.search(r"(\d+) of (\d+) not begun by a move over all \d+ frames, fewest (\d+)", packing))
        and (int(m.group(1)), int(m.group(2)), int(m.group(3))),
    }


def main(folder):
    print("| scene | Mbit/s | by an encode: MAE mm (rounds, moves, ends on) | from the stream: MAE mm (rounds, moves, ends on) | from / by | encode ms per pair and frame | stream's own ms per frame | whole GOPs from the stream (fewest frames) |")
    print("|---|---:|---|---|---:|---:|---:|---:|")
    ratios, encode, stream = [], [], []
    for scene in SCENES:
        for mbps in RATES:
            a, b = load(folder, scene, mbps, "false"), load(folder, scene, mbps, "true")
            if a is None or b is None:
                continue
            cell = lambda r: f"{r['mae']:.3f} ({r['rounds']:.0f}, {r['moves']:.0f}, {r['end']})"
            ratio = b["mae"] / a["mae"]
            ratios.append(ratio)
            encode += [x for x in (a["encode_ms"], b["encode_ms"]) if x]
            if b["stream_ms"]:
                stream.append(b["stream_ms"])
            whole = b["whole"] and f"{b['whole'][0]} of {b['whole'][1]} ({b['whole'][2]})" or "–"
            print(f"| {scene} | {mbps} | {cell(a)} | {cell(b)} | {ratio:.3f} | {b['encode_ms'] or float('nan'):.2f} | {b['stream_ms'] or float('nan'):.2f} | {whole} |")
    if ratios:
        geomean = math.exp(sum(map(math.log, ratios)) / len(ratios))
        print()
        print(f"- from the stream / by an encode, geomean over {len(ratios)} cells: {geomean:.3f}"
              f" (worst {max(ratios):.3f}, best {min(ratios):.3f})")
    if encode and stream:
        print(f"- an encode {sum(encode) / len(encode):.2f} ms per pair and frame ({len(encode)} runs);"
              f" the stream's own pair {sum(stream) / len(stream):.2f} ms per frame ({len(stream)} runs)")


if __name__ == "__main__":
    main(sys.argv[1])
