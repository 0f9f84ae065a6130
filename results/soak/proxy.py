#!/usr/bin/env python3
"""Lossy UDP proxy for the soak test: forwards datagrams from 127.0.0.1:PORT_IN to
127.0.0.1:PORT_OUT and drops a fraction of them with a seeded RNG (the same seed drops the same
datagram numbers).

It reads the MPEG-TS headers of every datagram it receives (before deciding to drop it), so each
datagram is tied to the video frames (PES packets, named by their PTS) whose bytes it carries:

  OUT/drops.csv   one row per dropped datagram: seq,t_unix,bytes,pts (space-separated PTS of
                  every video PES it carried bytes of; empty for PAT/PMT-only datagrams)
  OUT/wire.csv    one row per video PES seen on the wire: pts,keyframe,first_seq,datagrams,
                  dropped,bytes,t_first_unix,t_last_unix
  OUT/proxy.json  totals, written on SIGTERM/SIGINT or after --idle seconds without datagrams

Standard library only. Usage: proxy.py PORT_IN PORT_OUT OUT [--loss 0.02] [--seed 18]
"""

import argparse
import json
import random
import signal
import socket
import sys
import time

TS = 188


def pes_pts(payload):
    """PTS of a PES header at the start of `payload`, or None."""
    if len(payload) < 14 or payload[0:3] != b"\x00\x00\x01":
        return None
    if not (0xE0 <= payload[3] <= 0xEF):  # video stream ids only
        return None
    if not payload[7] & 0x80:
        return None
    b = payload[9:14]
    return ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


class Wire:
    """Follows the video PES packets across datagrams."""

    def __init__(self, out):
        self.video_pid = None
        self.cur = None  # PTS of the PES being carried
        self.rows = {}  # pts -> [keyframe, first_seq, datagrams, dropped, bytes, t_first, t_last]
        self.out = out
        self.out.write("pts,keyframe,first_seq,datagrams,dropped,bytes,t_first_unix,t_last_unix\n")
        self.ts_errors = 0

    def parse(self, data, seq, t):
        """The PTS of every video PES whose bytes `data` carries, in order."""
        touched = []
        for off in range(0, len(data) - TS + 1, TS):
            p = data[off : off + TS]
            if p[0] != 0x47:
                self.ts_errors += 1
                continue
            pusi = p[1] & 0x40
            pid = (p[1] & 0x1F) << 8 | p[2]
            afc = (p[3] >> 4) & 3
            i, rai = 4, False
            if afc & 2:
                aflen = p[4]
                if aflen > 0:
                    rai = bool(p[5] & 0x40)
                i = 5 + aflen
            if not afc & 1 or i >= TS:
                continue
            payload = p[i:]
            if pusi:
                pts = pes_pts(payload)
                if pts is not None and self.video_pid in (None, pid):
                    self.video_pid = pid
                    self.cur = pts
                    if pts not in self.rows:
                        self.rows[pts] = [int(rai), seq, 0, 0, 0, t, t]
                    touched.append(pts)
                    continue
            if pid == self.video_pid and self.cur is not None and (not touched or touched[-1] != self.cur):
                touched.append(self.cur)
        return touched

    def account(self, touched, nbytes, dropped, t):
        for pts in touched:
            r = self.rows[pts]
            r[2] += 1
            r[3] += int(dropped)
            r[4] += nbytes
            r[6] = t
        # A PES is complete once the next one has started: write its row.
        for pts in [p for p in self.rows if p != self.cur]:
            self.finish(pts)

    def finish(self, pts):
        r = self.rows.pop(pts, None) if pts is not None else None
        if r is not None:
            self.out.write(f"{pts},{r[0]},{r[1]},{r[2]},{r[3]},{r[4]},{r[5]:.6f},{r[6]:.6f}\n")

    def close(self):
        for pts in list(self.rows):
            self.finish(pts)
        self.out.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("port_in", type=int)
    ap.add_argument("port_out", type=int)
    ap.add_argument("out")
    ap.add_argument("--loss", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--idle", type=float, default=0.0, help="exit after this many seconds without datagrams (0: never)")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.bind(("127.0.0.1", a.port_in))
    rx.settimeout(0.5)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dest = ("127.0.0.1", a.port_out)

    drops = open(f"{a.out}/drops.csv", "w", buffering=1)
    drops.write("seq,t_unix,bytes,pts\n")
    wire = Wire(open(f"{a.out}/wire.csv", "w"))
    totals = {"datagrams": 0, "dropped": 0, "forwarded": 0, "bytes_in": 0, "send_errors": 0,
              "loss": a.loss, "seed": a.seed, "t_first_unix": None, "t_last_unix": None}

    stop = []
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.append(1))

    last = time.time()
    while not stop:
        try:
            data = rx.recv(65536)
        except socket.timeout:
            if a.idle and totals["datagrams"] and time.time() - last > a.idle:
                break
            continue
        except InterruptedError:
            continue
        t = time.time()
        last = t
        seq = totals["datagrams"]
        totals["datagrams"] += 1
        totals["bytes_in"] += len(data)
        totals["t_first_unix"] = totals["t_first_unix"] or t
        totals["t_last_unix"] = t
        touched = wire.parse(data, seq, t)
        drop = rng.random() < a.loss
        wire.account(touched, len(data), drop, t)
        if drop:
            totals["dropped"] += 1
            drops.write(f"{seq},{t:.6f},{len(data)},{' '.join(map(str, touched))}\n")
            continue
        try:
            tx.sendto(data, dest)
            totals["forwarded"] += 1
        except OSError:
            totals["send_errors"] += 1

    wire.close()
    drops.close()
    totals["ts_sync_errors"] = wire.ts_errors
    totals["video_pid"] = wire.video_pid
    with open(f"{a.out}/proxy.json", "w") as f:
        json.dump(totals, f, indent=1)
    print(f"proxy: {totals['datagrams']} datagrams, {totals['dropped']} dropped, {totals['forwarded']} forwarded",
          file=sys.stderr)


if __name__ == "__main__":
    main()
