#!/usr/bin/env python3
"""What a start-up probe over the whole grid of every format would choose, from the fixed runs
alone: the first N frames of a fixed run are exactly what the probe's encode of that pair
measures (x264, x265 and SVT-AV1 here are causal: 98 of 98 pairs compared gave the same
numbers), and the run's whole-sequence MAE is what the stream then gets. As the real probe, a
pair that spent more than 1.1x the bitrate over its N frames cannot win unless none kept it, and
the best fixed run in hindsight is the best of those that kept the bitrate over the sequence.
Usage: probe_estimate.py SWEEP/frames.csv N [CODEC,CODEC...]"""
import collections, csv, math, sys

path, n = sys.argv[1], int(sys.argv[2])
codecs = sys.argv[3].split(",") if len(sys.argv) > 3 else None
TOL = 1.10
runs = collections.defaultdict(list)
for r in csv.DictReader(open(path)):
    if "policy" in r["run"] or r["run"].startswith("formats") or (codecs and r["codec"] not in codecs):
        continue
    runs[(r["sequence"], int(r["bitrate_bps"]), r["codec"], r["config"])].append(
        (int(r["frame"]), float(r["mae_m"]), int(r["bits"])))
fps = 30.0
cells = collections.defaultdict(dict)
for (seq, bps, codec, cfg), v in runs.items():
    v.sort()
    head = v[:n]
    cells[(seq, bps)][(codec, cfg)] = dict(
        mae_head=sum(x[1] for x in head) / len(head), rate_head=sum(x[2] for x in head) * fps / len(head) / bps,
        mae=sum(x[1] for x in v) / len(v), rate=sum(x[2] for x in v) * fps / len(v) / bps)


def best(items, key, rate):
    kept = [kv for kv in items if kv[1][rate] <= TOL]
    return min(kept or items, key=lambda kv: kv[1][key])


logs, worst, exact = [], 0.0, 0
for (seq, bps), c in sorted(cells.items()):
    items = list(c.items())
    pick, hind = best(items, "mae_head", "rate_head"), best(items, "mae", "rate")
    luma = c.get(("h264-8", "luma-P8-lin"))
    ratio = pick[1]["mae"] / hind[1]["mae"]
    logs.append(math.log(ratio)); worst = max(worst, ratio); exact += ratio <= 1.0
    print(f"{seq[:22]:22} {bps // 1000:6} probe {pick[0][0]:8} {pick[0][1]:34} {pick[1]['mae'] * 1e3:9.2f}  "
          f"best {hind[0][0]:8} {hind[0][1]:34} {hind[1]['mae'] * 1e3:9.2f}  {ratio:.3f}"
          + (f"  vs h264-8 luma-P8 {pick[1]['mae'] / luma['mae']:.3f}" if luma else ""))
print(f"cells {len(logs)} geomean {math.exp(sum(logs) / len(logs)):.3f} worst {worst:.3f} exact {exact}")
