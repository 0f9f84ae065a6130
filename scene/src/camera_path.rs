//! Camera paths that look like play, placed from the scene's bounds.
//!
//! Placement logic: every built-in path is expressed in terms of the scene's world-space
//! bounding box (the union of every mesh's AABB once the scene has spawned): its centre `c`, its
//! half extents `h`, and `d`, the distance at which the bounding sphere (radius `|h|`) fills the
//! vertical field of view (`d = |h| / sin(fov_y / 2)`, widened for portrait aspect ratios).
//! Paths that look from outside (orbit, pan, approach) stay at about `d` from `c`; the
//! walk-through stays inside the box (eye height 0.25·h.y above centre, ±0.6·h horizontally), which
//! for room scenes walks the room and for objects flies through them.

use std::f32::consts::{PI, TAU};
use std::path::Path;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

/// The scene's world-space bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneBounds {
    /// Centre of the box, metres.
    pub center: Vec3,
    /// Half extents, metres.
    pub half_extents: Vec3,
}

impl SceneBounds {
    /// Radius of the bounding sphere.
    pub fn radius(&self) -> f32 {
        self.half_extents.length().max(1e-3)
    }

    /// Distance at which the bounding sphere fills the view.
    pub fn framing_distance(&self, fov_y: f32, aspect: f32) -> f32 {
        let vertical = fov_y * 0.5;
        let horizontal = (vertical.tan() * aspect).atan();
        let half = vertical.min(horizontal);
        self.radius() / half.sin().max(1e-3)
    }
}

/// A keyframe of a custom path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Keyframe {
    /// Time in seconds.
    pub t: f32,
    /// Eye position.
    pub eye: [f32; 3],
    /// Point looked at.
    pub target: [f32; 3],
}

/// Coordinates of a custom path's keyframes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathSpace {
    /// World coordinates in metres.
    #[default]
    World,
    /// Relative to the scene bounds: `c + v · radius` (so `[0, 0, 2]` is two radii in front).
    Bounds,
}

/// A custom path: keyframes, linearly interpolated, held after the last one.
///
/// JSON file: `{ "space": "bounds", "keyframes": [ { "t": 0, "eye": [0, 0.3, 2], "target": [0, 0, 0] }, ... ] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathFile {
    /// Coordinate space of `eye` and `target` (default `world`).
    #[serde(default)]
    pub space: PathSpace,
    /// Keyframes in increasing time.
    pub keyframes: Vec<Keyframe>,
}

impl PathFile {
    /// Reads a JSON path file.
    ///
    /// # Errors
    /// The file cannot be read, is not valid JSON of this shape, or has no keyframes.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: PathFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if file.keyframes.is_empty() {
            return Err(format!("{}: no keyframes", path.display()));
        }
        Ok(file)
    }
}

/// How the camera moves.
#[derive(Debug, Clone, PartialEq)]
pub enum CameraPath {
    /// Circles the scene at the framing distance, 20° above the centre, one turn per 12 s, with a
    /// slow bob in height.
    Orbit,
    /// Walks inside the bounds between four waypoints: walk, stop, turn on the spot, walk on
    /// (about 1.4 m/s scaled to the scene, 90° turns in 0.6 s, 0.8 s stops).
    Walk,
    /// Stands at the framing distance and pans fast: yaw sweeps ±50° in 1.5 s with short holds.
    Pan,
    /// Moves straight towards the centre and back: distance between 0.35 d and 1.1 d, period 6 s.
    Approach,
    /// A fixed eye and target in world coordinates.
    Fixed {
        /// Eye position.
        eye: Vec3,
        /// Point looked at.
        target: Vec3,
    },
    /// Keyframes from a JSON file.
    Custom(PathFile),
}

impl CameraPath {
    /// Parses a name (`orbit`, `walk`, `pan`, `approach`) or a `.json` path file.
    ///
    /// # Errors
    /// An unknown name, or a path file that cannot be loaded.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "orbit" => Ok(CameraPath::Orbit),
            "walk" | "walk-through" | "walkthrough" => Ok(CameraPath::Walk),
            "pan" => Ok(CameraPath::Pan),
            "approach" => Ok(CameraPath::Approach),
            _ if text.ends_with(".json") => PathFile::load(Path::new(text)).map(CameraPath::Custom),
            _ => Err(format!("unknown camera path {text:?}: use orbit, walk, pan, approach or a .json file")),
        }
    }

    /// The camera transform at time `t` seconds.
    pub fn pose(&self, time_s: f32, bounds: &SceneBounds, fov_y: f32, aspect: f32) -> Transform {
        let c = bounds.center;
        let h = bounds.half_extents;
        let d = bounds.framing_distance(fov_y, aspect);
        let (eye, target) = match self {
            CameraPath::Orbit => {
                let a = TAU * time_s / 12.0;
                let elev = 20f32.to_radians() + 0.08 * (TAU * time_s / 7.0).sin();
                (c + d * Vec3::new(elev.cos() * a.sin(), elev.sin(), elev.cos() * a.cos()), c)
            }
            CameraPath::Walk => return walk(time_s, c, h),
            CameraPath::Pan => {
                let eye = c + d * Vec3::new(0.0, 0.25, 0.97);
                // Sweep to +50°, hold, sweep to −50°, hold: smoothstep segments of 0.75 s.
                let phase = (time_s / 3.0).fract() * 4.0;
                let s = |x: f32| x * x * (3.0 - 2.0 * x);
                let yaw = 50f32.to_radians()
                    * match phase {
                        p if p < 1.0 => s(p),
                        p if p < 2.0 => 1.0,
                        p if p < 3.0 => 1.0 - 2.0 * s(p - 2.0),
                        _ => -1.0 + s(phase - 3.0),
                    };
                let fwd = (c - eye).normalize_or(Vec3::NEG_Z);
                (eye, eye + Quat::from_rotation_y(yaw) * fwd)
            }
            CameraPath::Approach => {
                let k = 0.725 + 0.375 * (TAU * time_s / 6.0).cos();
                (c + d * k * Vec3::new(0.5, 0.35, 0.79).normalize(), c)
            }
            CameraPath::Fixed { eye, target } => (*eye, *target),
            CameraPath::Custom(file) => custom(file, time_s, bounds),
        };
        look(eye, target)
    }
}

fn look(eye: Vec3, target: Vec3) -> Transform {
    let dir = target - eye;
    let up = if dir.normalize_or_zero().y.abs() > 0.999 { Vec3::Z } else { Vec3::Y };
    if dir.length_squared() < 1e-12 {
        return Transform::from_translation(eye);
    }
    Transform::from_translation(eye).looking_at(target, up)
}

/// Walk-through: a loop over four waypoints inside the box. Each leg: walk (constant speed), stop
/// 0.8 s, turn 90° in 0.6 s while standing.
fn walk(t: f32, c: Vec3, h: Vec3) -> Transform {
    let eye_y = c.y + 0.25 * h.y;
    let pts = [
        Vec3::new(c.x - 0.6 * h.x, eye_y, c.z + 0.6 * h.z),
        Vec3::new(c.x - 0.6 * h.x, eye_y, c.z - 0.6 * h.z),
        Vec3::new(c.x + 0.6 * h.x, eye_y, c.z - 0.6 * h.z),
        Vec3::new(c.x + 0.6 * h.x, eye_y, c.z + 0.6 * h.z),
    ];
    // Speed: 1.4 m/s for a 5 m room, scaled with the scene.
    let speed = 1.4 * (h.x.max(h.z) / 2.5).max(1e-3);
    let (stop, turn) = (0.8, 0.6);
    let legs: [f32; 4] = std::array::from_fn(|i| pts[i].distance(pts[(i + 1) % 4]) / speed + stop + turn);
    let total: f32 = legs.iter().sum();
    let mut tt = t.rem_euclid(total.max(1e-3));
    for i in 0..4 {
        let (a, b, next) = (pts[i], pts[(i + 1) % 4], pts[(i + 2) % 4]);
        let walk_time = legs[i] - stop - turn;
        let heading = (b - a).normalize_or(Vec3::NEG_Z);
        let next_heading = (next - b).normalize_or(Vec3::NEG_Z);
        if tt < walk_time {
            let eye = a.lerp(b, tt / walk_time.max(1e-6));
            // A slight sway of the head while walking.
            let sway = 0.02 * h.y * (tt * PI * 2.0).sin();
            return look(eye + Vec3::Y * sway, eye + heading);
        }
        tt -= walk_time;
        if tt < stop {
            return look(b, b + heading);
        }
        tt -= stop;
        if tt < turn {
            let s = tt / turn;
            let s = s * s * (3.0 - 2.0 * s);
            let dir = heading.slerp(next_heading, s);
            return look(b, b + dir);
        }
        tt -= turn;
    }
    look(pts[0], pts[1])
}

fn custom(file: &PathFile, t: f32, b: &SceneBounds) -> (Vec3, Vec3) {
    let map = |v: [f32; 3]| match file.space {
        PathSpace::World => Vec3::from(v),
        PathSpace::Bounds => b.center + Vec3::from(v) * b.radius(),
    };
    let k = &file.keyframes;
    if t <= k[0].t || k.len() == 1 {
        return (map(k[0].eye), map(k[0].target));
    }
    for w in k.windows(2) {
        if t <= w[1].t {
            let s = ((t - w[0].t) / (w[1].t - w[0].t).max(1e-6)).clamp(0.0, 1.0);
            return (map(w[0].eye).lerp(map(w[1].eye), s), map(w[0].target).lerp(map(w[1].target), s));
        }
    }
    let last = k[k.len() - 1];
    (map(last.eye), map(last.target))
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: SceneBounds = SceneBounds { center: Vec3::new(1.0, 2.0, 3.0), half_extents: Vec3::new(2.0, 1.0, 2.0) };

    #[test]
    fn outside_paths_look_at_the_scene_from_outside() {
        for path in [CameraPath::Orbit, CameraPath::Approach] {
            for i in 0..50 {
                let p = path.pose(i as f32 * 0.25, &B, 0.8, 16.0 / 9.0);
                assert!(p.translation.distance(B.center) > B.radius() * 0.3);
                let fwd = p.forward();
                assert!(fwd.dot((B.center - p.translation).normalize()) > 0.99, "{path:?} at {i}");
            }
        }
    }

    #[test]
    fn walk_stays_inside_and_stops() {
        let mut still = 0;
        let mut prev = CameraPath::Walk.pose(0.0, &B, 0.8, 1.5).translation;
        for i in 1..400 {
            let p = CameraPath::Walk.pose(i as f32 / 30.0, &B, 0.8, 1.5).translation;
            assert!(((p - B.center).abs() - B.half_extents).max_element() < 0.0);
            if p.distance(prev) < 1e-6 {
                still += 1;
            }
            prev = p;
        }
        assert!(still > 30, "the walk should stop and turn on the spot ({still} still frames)");
    }

    #[test]
    fn custom_interpolates_and_holds() {
        let f = PathFile {
            space: PathSpace::World,
            keyframes: vec![
                Keyframe { t: 0.0, eye: [0.0, 0.0, 10.0], target: [0.0; 3] },
                Keyframe { t: 2.0, eye: [0.0, 0.0, 6.0], target: [0.0; 3] },
            ],
        };
        let p = CameraPath::Custom(f);
        assert!((p.pose(1.0, &B, 0.8, 1.0).translation.z - 8.0).abs() < 1e-5);
        assert!((p.pose(9.0, &B, 0.8, 1.0).translation.z - 6.0).abs() < 1e-5);
    }
}
