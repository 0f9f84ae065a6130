#!/usr/bin/env python3
"""Analyses a soak run written by run.sh: resident memory growth, frames sent/received/lost,
lost frames against the GOPs that lost datagrams, latency drift, panics. Writes OUT/summary.json
and OUT/soak.svg and prints a summary. Standard library only.

Mapping of datagrams to frames and GOPs: the proxy reads the MPEG-TS headers of every datagram
and records which video PES packets (one per frame, named by PTS) it carried bytes of, and the
random-access flag of each PES (wire.csv, drops.csv). Frame n of the stream has PTS
pts0 + n * step (pts0: the smallest PTS on the wire, step: the median PTS difference, 3000 at
30 fps in 90 kHz); the receiver's stats carry the in-band frame index n, which the sender sets to
its frame counter. The GOP of frame n is the last keyframe at or before n (keyframes from the
random-access flags; run.sh asks for one every GOP frames). A dropped datagram counts against
every frame whose bytes it carried, hence against those frames' GOPs.

Usage: analyze.py OUT
"""

import csv
import json
import os
import re
import statistics
import sys
from bisect import bisect_right


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fit(xs, ys):
    """Least-squares slope and intercept."""
    n = len(xs)
    if n < 2:
        return float("nan"), float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx if sxx else float("nan")
    return slope, my - slope * mx


def rss_stats(samples, key, t_end, minus=None):
    """RSS (kB) at start, at 60 s, at the end of the send window, and growth after the first minute
    (of `key` less the column `minus`, where given and sampled)."""
    pts = [(t, int(r[key]) - (int(r[minus]) if minus else 0)) for t, r in samples
           if r[key] and (not minus or r.get(minus)) and t <= t_end + 0.5]
    if not pts:
        return None
    start = pts[0][1]
    after = [(t, v) for t, v in pts if t >= 60.0]
    if not after:
        return {"start_kb": start, "end_kb": pts[-1][1], "note": "run shorter than a minute"}
    at60 = after[0][1]
    end = pts[-1][1]
    peak = max(v for _, v in after)
    # Sampled RSS moves with transient frame buffers (mmapped above glibc's threshold): medians of
    # the second minute and of the last minute are the steadier comparison.
    m2 = [v for t, v in pts if 60.0 <= t < 120.0]
    last = [v for t, v in pts if t >= pts[-1][0] - 60.0]
    med2, medl = statistics.median(m2), statistics.median(last)
    if pts[-1][0] - 60.0 < 120.0:  # the two windows overlap: no comparison
        medl = None
    return {
        "start_kb": start,
        "at_60s_kb": at60,
        "median_60_120s_kb": round(med2),
        "median_last_60s_kb": round(medl) if medl else None,
        "growth_last_minute_vs_second_minute_medians_pct": round(100.0 * (medl - med2) / med2, 2) if medl else None,
        "end_kb": end,
        "peak_after_60s_kb": peak,
        "growth_end_vs_60s_pct": round(100.0 * (end - at60) / at60, 2),
        "growth_peak_vs_60s_pct": round(100.0 * (peak - at60) / at60, 2),
        "samples": len(pts),
    }


def svg_plot(path, rss_series, lat_series, t_max):
    """Two panels: RSS (MiB) of recv and send, latency (ms, per-second median) over time (s)."""
    W, H, L, R, T, G = 900, 560, 70, 20, 30, 60
    ph = (H - T - 2 * G) / 2
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>']

    def panel(y0, title, series, unit):
        ys = [v for _, pts in series for _, v in pts]
        if not ys:
            return
        lo, hi = min(ys), max(ys)
        pad = (hi - lo) * 0.1 or max(1.0, hi * 0.05)
        lo, hi = max(0.0, lo - pad), hi + pad
        X = lambda t: L + (W - L - R) * t / max(t_max, 1e-9)
        Y = lambda v: y0 + ph - ph * (v - lo) / (hi - lo)
        out.append(f'<text x="{L}" y="{y0 - 8}" font-weight="bold">{title}</text>')
        out.append(f'<rect x="{L}" y="{y0}" width="{W - L - R}" height="{ph}" fill="none" stroke="#888"/>')
        for k in range(6):
            v = lo + (hi - lo) * k / 5
            out.append(f'<text x="{L - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
            out.append(f'<line x1="{L}" x2="{W - R}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#eee"/>')
        step = 60 if t_max > 180 else 10
        t = 0
        while t <= t_max:
            out.append(f'<text x="{X(t):.1f}" y="{y0 + ph + 14}" text-anchor="middle">{t:.0f}</text>')
            t += step
        out.append(f'<text x="{W - R}" y="{y0 + ph + 28}" text-anchor="end">seconds since the sender started</text>')
        for i, (name, pts) in enumerate(series):
            colour = ["#1f77b4", "#d62728", "#2ca02c"][i % 3]
            d = " ".join(f"{X(t):.1f},{Y(v):.1f}" for t, v in pts)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{d}"/>')
            out.append(f'<text x="{L + 10 + 120 * i}" y="{y0 + 16}" fill="{colour}">{name}</text>')

    panel(T, "Resident memory (MiB)", rss_series, "MiB")
    panel(T + ph + G, "Latency, send to unpacked (ms, median per second)", lat_series, "ms")
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    out = sys.argv[1]
    p = lambda name: os.path.join(out, name)
    meta = json.load(open(p("meta.json")))
    t0 = meta["t_send_start_unix"]
    fps, gop_len = meta["fps"], meta["gop"]
    s = {"meta": meta}

    # Exit codes, panics, the processes' last words.
    errs = {k: open(p(f"{k}.err"), errors="replace").read() for k in ("send", "recv", "proxy")}
    s["exit_codes"] = {k: meta[f"{k}_rc"] for k in ("send", "recv", "proxy")}
    s["panics"] = {k: len(re.findall(r"panicked at", v)) for k, v in errs.items()}
    s["stderr_tail"] = {k: v.strip().splitlines()[-3:] for k, v in errs.items()}
    m = re.search(r"sent (\d+) frames, (\d+) bytes, (\d+) kbit/s of (\d+) kbit/s target, in ([\d.]+) s", errs["send"])
    sent = int(m.group(1)) if m else None
    if m:
        s["sender"] = {"frames": sent, "bytes": int(m.group(2)), "kbit_s": int(m.group(3)),
                       "wall_s": float(m.group(5)), "achieved_fps": round(sent / float(m.group(5)), 3)}
    # The receiver's closing line (its wording has changed over time: read the numbers by name).
    m = re.search(r"received (\d+) frames \((\d+) missing by frame index\)(.*)", errs["recv"])
    if m:
        rest = m.group(3)
        num = lambda pat: int(x.group(1)) if (x := re.search(pat, rest)) else None
        s["receiver_report"] = {"frames": int(m.group(1)), "gaps": int(m.group(2)),
                                "invalid_params": num(r"(\d+) (?:without valid params|dropped for their in-band)"),
                                "decode_errors": num(r"(\d+) decode errors"), "connections": num(r"(\d+) connection")}
    before, after = meta["udp_errors_before"].split(), meta["udp_errors_after"].split()
    if len(before) == 2 and len(after) == 2:
        s["udp_kernel_errors_delta"] = {"InErrors": int(after[0]) - int(before[0]),
                                        "RcvbufErrors": int(after[1]) - int(before[1]),
                                        "note": "system-wide (/proc/net/snmp)"}
    s["recv_timeout_s"] = meta.get("recv_timeout")

    # Wire: PTS -> frame index, keyframes, GOPs.
    wire = read_csv(p("wire.csv"))
    ptss = sorted(int(r["pts"]) for r in wire)
    diffs = sorted(b - a for a, b in zip(ptss, ptss[1:]))
    step = diffs[len(diffs) // 2] if diffs else 3000
    pts0 = ptss[0] if ptss else 0
    frame_of = lambda pts: round((pts - pts0) / step)
    wire_frames = {frame_of(int(r["pts"])): r for r in wire}
    keyframes = sorted(n for n, r in wire_frames.items() if r["keyframe"] == "1")
    off_grid = [k for k in keyframes if k % gop_len]
    gop_of = lambda n: keyframes[bisect_right(keyframes, n) - 1] if keyframes and n >= keyframes[0] else -1  # its first frame
    s["wire"] = {"frames": len(wire_frames), "pts_step": step, "first_frame": min(wire_frames, default=None),
                 "last_frame": max(wire_frames, default=None), "keyframes": len(keyframes),
                 "keyframes_off_the_gop_grid": off_grid[:20], "gops": len({gop_of(n) for n in wire_frames})}
    # Keeping up with real time: when each frame's first datagram reached the proxy, against the
    # schedule of frame 0's arrival + n / fps.
    if 0 in wire_frames:
        ta = float(wire_frames[0]["t_first_unix"])
        lag = [(n, float(r["t_first_unix"]) - ta - n / fps) for n, r in sorted(wire_frames.items())]
        s["schedule_lag_s"] = {"max": round(max(v for _, v in lag), 3), "end": round(lag[-1][1], 3),
                               "wire_fps": round((len(lag) - 1) / max(1e-9, float(wire_frames[lag[-1][0]]["t_first_unix"]) - ta), 3)}

    # Drops -> frames -> GOPs.
    drops = read_csv(p("drops.csv"))
    drop_frames, drop_gops, no_frame = {}, {}, 0
    for d in drops:
        frames = [frame_of(int(x)) for x in d["pts"].split()]
        if not frames:
            no_frame += 1
        for n in frames:
            drop_frames[n] = drop_frames.get(n, 0) + 1
            drop_gops.setdefault(gop_of(n), []).append(n)
    proxy = json.load(open(p("proxy.json")))

    # Received frames.
    recv = read_csv(p("recv.csv"))
    got = [int(r["frame"]) for r in recv]
    got_set = set(got)
    lost = sorted(set(wire_frames) - got_set)
    lost_gops = {}
    for n in lost:
        lost_gops.setdefault(gop_of(n), []).append(n)
    outside = sorted(g for g in lost_gops if g not in drop_gops)
    # Within a GOP, frames should be lost only from the first damaged frame on.
    before_damage = sorted(g for g, ns in lost_gops.items() if g in drop_gops and min(ns) < min(drop_gops[g]))
    s["frames"] = {
        "sent_by_sender": sent, "on_the_wire": len(wire_frames), "received": len(got),
        "received_unique": len(got_set), "out_of_order": sum(1 for a, b in zip(got, got[1:]) if b <= a),
        "received_not_on_wire": len(got_set - set(wire_frames)), "lost": len(lost),
        "lost_pct": round(100.0 * len(lost) / max(1, len(wire_frames)), 3),
    }
    s["gops"] = {
        "datagrams": proxy["datagrams"], "datagrams_dropped": proxy["dropped"],
        "dropped_without_video_bytes": no_frame,
        "keyframes_with_dropped_bytes": sum(1 for k in keyframes if k in drop_frames), "frames_with_dropped_bytes": len(drop_frames),
        "gops_total": s["wire"]["gops"], "gops_with_drops": len(drop_gops), "gops_with_lost_frames": len(lost_gops),
        "gops_with_drops_but_no_lost_frame": len(set(drop_gops) - set(lost_gops)),
        "gops_with_lost_frames_but_no_drop": outside,
        "gops_losing_frames_before_their_first_damaged_frame": before_damage,
        "lost_frames_per_lossy_gop_median": statistics.median([len(v) for v in lost_gops.values()]) if lost_gops else 0,
        "whole_gops_lost": sum(1 for g, ns in lost_gops.items()
                               if len(ns) == sum(1 for n in wire_frames if gop_of(n) == g)),
    }
    s["gop_detail"] = [
        {"gop": g, "dropped_datagrams": len(drop_gops.get(g, [])), "first_damaged_frame": min(drop_gops[g]) if g in drop_gops else None,
         "lost_frames": len(lost_gops.get(g, [])), "first_lost": min(lost_gops[g]) if g in lost_gops else None}
        for g in sorted(set(drop_gops) | set(lost_gops))
    ]

    # Received frames by the damage before them in their GOP. The decoder drops everything up to
    # the next keyframe after an error it notices, but not every loss is noticed: when the
    # datagram with the start of a frame's PES is lost, the demuxer appends the rest of that frame
    # to the previous one (which arrives with both sizes), that frame is missing, and the next
    # ones decode without an error. With `recv --source` (RECV_ARGS) each class gets its error
    # against the input, to see whether such frames are damaged.
    lost_set = set(lost)
    classes = {"clean": [], "damaged_gop_nothing_lost_before": [], "after_a_lost_frame_in_its_gop": []}
    for r in recv:
        n = int(r["frame"])
        g = gop_of(n)
        if g < 0:
            continue
        if any(k in lost_set for k in range(g, n)):
            c = "after_a_lost_frame_in_its_gop"
        elif any(k in drop_frames for k in range(g, n + 1)):
            c = "damaged_gop_nothing_lost_before"
        else:
            c = "clean"
        classes[c].append(r)

    def err_stats(rows):
        out = {"frames": len(rows)}
        for col in ("mae_mm", "max_mm"):
            v = sorted(float(r[col]) for r in rows if r.get(col))
            if v:
                out[col] = {"median": round(statistics.median(v), 3), "p95": round(v[int(0.95 * (len(v) - 1))], 3),
                            "max": round(v[-1], 3)}
        return out
    s["received_by_damage"] = {k: err_stats(v) for k, v in classes.items()}

    # Latency: by frame time n / fps.
    lat = [(int(r["frame"]) / fps, float(r["latency_ms"])) for r in recv if r["latency_ms"]]
    per_min = {}
    for t, v in lat:
        per_min.setdefault(int(t // 60), []).append(v)
    minutes = sorted(per_min)
    slope, icpt = fit([t / 60 for t, _ in lat], [v for _, v in lat])
    # The stream's last frames leave the demuxer only when the receiver gives the stream up
    # (its parser holds an access unit until the next one starts): their latency is the read
    # timeout, not the pipeline's. The steady-state fit leaves out the last second.
    t_cut = (max(wire_frames, default=0) + 1) / fps - 1.0
    steady = [(t, v) for t, v in lat if t < t_cut]
    sslope, _ = fit([t / 60 for t, _ in steady], [v for _, v in steady])
    mslope, _ = fit(minutes, [statistics.median(per_min[k]) for k in minutes])
    s["latency_ms"] = {
        "median_per_minute": [round(statistics.median(per_min[k]), 2) for k in minutes],
        "p95_per_minute": [round(sorted(per_min[k])[int(0.95 * (len(per_min[k]) - 1))], 2) for k in minutes],
        "max_per_minute": [round(max(per_min[k]), 2) for k in minutes],
        "frames_per_minute": [len(per_min[k]) for k in minutes],
        "first_minute_median": round(statistics.median(per_min[minutes[0]]), 2) if minutes else None,
        "last_minute_median": round(statistics.median(per_min[minutes[-1]]), 2) if minutes else None,
        "slope_ms_per_min_all_frames": round(slope, 4),
        "slope_ms_per_min_without_last_second": round(sslope, 4),
        "last_second_frames": [round(v, 1) for t, v in lat if t >= t_cut],
        "slope_ms_per_min_minute_medians": round(mslope, 4) if len(minutes) > 1 else None,
        "note": "last minute may be partial" if minutes and len(per_min[minutes[-1]]) < 60 * fps * 0.9 else "",
    }

    # Resident memory, and CPU over the send window.
    samples = [(float(r["t_unix"]) - t0, r) for r in read_csv(p("rss.csv"))]
    send_alive = [t for t, r in samples if r["send_rss_kb"]]
    t_end = max(send_alive) if send_alive else 0.0
    s["rss"] = {"recv": rss_stats(samples, "recv_rss_kb", t_end), "send": rss_stats(samples, "send_rss_kb", t_end),
                "proxy": rss_stats(samples, "proxy_rss_kb", t_end), "window_s": round(t_end, 1)}
    if samples and samples[0][1].get("recv_fifo_rss_kb") is not None:
        # The receiver's UDP fifo (see run.sh) apart from the rest of its memory.
        s["rss"]["recv_udp_fifo"] = rss_stats(samples, "recv_fifo_rss_kb", t_end)
        s["rss"]["recv_outside_udp_fifo"] = rss_stats(samples, "recv_rss_kb", t_end, minus="recv_fifo_rss_kb")
        s["rss"]["recv_udp_fifo_size_kb"] = meta.get("fifo_packets", 0) * 188 // 1024
    tick = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for k in ("recv", "send", "proxy"):
        pts = [(t, int(r[f"{k}_cpu_ticks"])) for t, r in samples if r[f"{k}_cpu_ticks"] and 0 <= t <= t_end]
        if len(pts) > 1 and pts[-1][0] > pts[0][0]:
            cpu[k] = round(100.0 * (pts[-1][1] - pts[0][1]) / tick / (pts[-1][0] - pts[0][0]), 1)
    s["cpu_pct_of_one_core"] = cpu

    # Verdicts of issue #18's criteria.
    r, snd = s["rss"]["recv"], s["rss"]["send"]
    s["criteria"] = {
        "rss_growth_after_first_minute_le_5pct (minute medians)": all(
            x and x.get("growth_last_minute_vs_second_minute_medians_pct") is not None
            and x["growth_last_minute_vs_second_minute_medians_pct"] <= 5.0 for x in (r, snd)),
        "frames_lost_only_in_gops_with_drops": not outside,
        # Per-minute medians: robust to the end-of-stream frames and to bursts of CPU contention.
        "latency_without_drift (slope of minute medians < 1 ms/min)": len(minutes) > 1 and mslope < 1.0,
        "no_panic": not any(s["panics"].values()) and s["exit_codes"]["send"] == 0 and s["exit_codes"]["recv"] == 0,
    }
    json.dump(s, open(p("summary.json"), "w"), indent=1)

    # Plot.
    rss_series = [(name, [(t, int(r[f"{name}_rss_kb"]) / 1024) for t, r in samples if r[f"{name}_rss_kb"] and t <= t_end + 0.5])
                  for name in ("recv", "send")]
    if "recv_udp_fifo" in s["rss"]:
        rss_series.append(("recv without its UDP fifo",
                           [(t, (int(r["recv_rss_kb"]) - int(r["recv_fifo_rss_kb"])) / 1024) for t, r in samples
                            if r["recv_rss_kb"] and r.get("recv_fifo_rss_kb") and t <= t_end + 0.5]))
    per_s = {}
    for t, v in lat:
        per_s.setdefault(int(t), []).append(v)
    lat_series = [("latency", [(k, statistics.median(v)) for k, v in sorted(per_s.items())])]
    svg_plot(p("soak.svg"), rss_series, lat_series, max(t_end, max(per_s, default=0)))

    short = {k: v for k, v in s.items() if k not in ("meta", "gop_detail")}
    print(json.dumps(short, indent=1))


if __name__ == "__main__":
    main()
