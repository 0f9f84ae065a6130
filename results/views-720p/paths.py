#!/usr/bin/env python3
"""Random camera clips around the glTF training models: one bounds-space path per seed.

    python3 paths.py SEED --out PATH.json    # writes the path, prints `MODEL FOV KIND`

The model is `SEED % 7` of the seven training models (never a test scene). The motion is one of:
arc (part of an orbit, 10-90 deg/s), dolly (sideways, 0.3-1 radius/s), push (in or out by 25-50%),
crane (up or down, 0.3-0.8 radius/s), pan (the eye holds, the target sweeps 0.3-0.8 radius), hold
(the eye drifts 2% of a radius). Distance 1.4-3.2 radii from the centre, elevation -10..50 deg,
azimuth anywhere, vertical fov 35-65 deg. Written once, before any number of the clips existed.
"""

import argparse
import json
import math
import random

MODELS = [
    "CornellBox.glb",
    "MixedLightingExample/MixedLightingExample.gltf",
    "FlightHelmet/FlightHelmet.gltf",
    "GolfBall.glb",
    "alien.glb",
    "cakeBirthday.glb",
    "tile.glb",
]
KINDS = ["arc", "dolly", "push", "crane", "pan", "hold"]
SECONDS = 1.0


def eye_at(dist, azim, elev):
    """Bounds-space eye at `dist` radii, azimuth and elevation in radians."""
    return [dist * math.cos(elev) * math.sin(azim), dist * math.sin(elev), dist * math.cos(elev) * math.cos(azim)]


def path(seed):
    rng = random.Random(seed)
    model = MODELS[seed % len(MODELS)]
    kind = rng.choice(KINDS)
    dist = rng.uniform(1.4, 3.2)
    azim = rng.uniform(0, 2 * math.pi)
    elev = math.radians(rng.uniform(-10, 50))
    fov = round(rng.uniform(35, 65), 1)
    aim = [rng.uniform(-0.2, 0.2), rng.uniform(-0.15, 0.15), rng.uniform(-0.2, 0.2)]
    sign = rng.choice([-1, 1])
    # One draw per clip for its speed or extent, whatever the kind.
    amount = {"arc": rng.uniform(10, 90), "dolly": rng.uniform(0.3, 1.0), "push": rng.uniform(0.25, 0.5),
              "crane": rng.uniform(0.3, 0.8), "pan": rng.uniform(0.3, 0.8), "hold": 0.02}[kind]
    side = [math.cos(azim), 0.0, -math.sin(azim)]
    e0 = eye_at(dist, azim, elev)
    keys = []
    for i in range(5):
        u = i / 4
        t = u * SECONDS
        eye, target = e0, aim
        if kind == "arc":
            eye = eye_at(dist, azim + sign * math.radians(amount) * t, elev)
        elif kind == "dolly":
            eye = [e0[k] + sign * amount * t * side[k] for k in range(3)]
            target = [aim[k] + sign * amount * t * side[k] * 0.5 for k in range(3)]
        elif kind == "push":
            eye = eye_at(max(dist * (1 - sign * amount * u), 1.2), azim, elev)
        elif kind == "crane":
            eye = [e0[0], e0[1] + sign * amount * t, e0[2]]
        elif kind == "pan":
            target = [aim[k] + sign * amount * (2 * u - 1) * side[k] for k in range(3)]
        else:
            eye = [v + amount * u for v in e0]
        keys.append({"t": round(t, 4), "eye": [round(v, 4) for v in eye], "target": [round(v, 4) for v in target]})
    return model, fov, kind, {"space": "bounds", "keyframes": keys}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    model, fov, kind, p = path(args.seed)
    with open(args.out, "w") as f:
        json.dump(p, f, indent=1)
    print(model, fov, kind)


if __name__ == "__main__":
    main()
