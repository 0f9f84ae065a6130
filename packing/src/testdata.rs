//! A procedural depth frame shaped like a game scene, for the demo, benchmarks and tests (no files).

use crate::depth::DepthImage;

/// Renders a `width x height` depth map (metres, `f32::INFINITY` for sky) of a room-like scene
/// seen from a pinhole camera with a 60° vertical field of view: a floor, a back wall with a
/// doorway open to the sky, a side wall, two boxes and a sphere. `time_s` (seconds) moves the camera
/// along a slow arc, so consecutive frames differ like a game's.
pub fn game_scene(width: u32, height: u32, time_s: f32) -> DepthImage {
    let mut img = DepthImage::new(width, height);
    let fy = 0.5 * height as f32 / (30f32).to_radians().tan();
    let (cx, cy) = (0.5 * width as f32, 0.5 * height as f32);
    let yaw = 0.15 * (0.4 * time_s).sin();
    let eye = [0.6 * (0.3 * time_s).sin(), 1.6, 0.0];
    let (sy, cyaw) = yaw.sin_cos();
    for py in 0..height {
        for px in 0..width {
            // Camera looks down −z; x right, y up.
            let dx = (px as f32 + 0.5 - cx) / fy;
            let dy = -(py as f32 + 0.5 - cy) / fy;
            let dir = [dx * cyaw - sy, dy, -dx * sy - cyaw];
            let mut best = f32::INFINITY;
            let mut hit = |tt: f32| {
                if tt > 1e-3 && tt < best {
                    best = tt;
                }
            };
            // Floor y = 0, ending 30 m away (sky beyond).
            if dir[1] < 0.0 {
                let tt = -eye[1] / dir[1];
                if eye[2] + tt * dir[2] > -30.0 && (eye[0] + tt * dir[0]).abs() < 12.0 {
                    hit(tt);
                }
            }
            // Back wall z = −12 with a doorway |x| < 1, y < 2.2 open to the sky.
            if dir[2] < 0.0 {
                let tt = (-12.0 - eye[2]) / dir[2];
                let (x, y) = (eye[0] + tt * dir[0], eye[1] + tt * dir[1]);
                if !(x.abs() < 1.0 && y < 2.2) && y < 4.0 && x.abs() < 12.0 {
                    hit(tt);
                }
            }
            // Side wall x = −4 up to 3 m.
            if dir[0] < 0.0 {
                let tt = (-4.0 - eye[0]) / dir[0];
                if eye[1] + tt * dir[1] < 3.0 && eye[2] + tt * dir[2] > -12.0 {
                    hit(tt);
                }
            }
            // Axis-aligned boxes.
            for (lo, hi) in [([-2.5f32, 0.0, -6.0], [-1.2f32, 1.0, -4.8]), ([1.5, 0.0, -9.0], [2.7, 2.0, -7.5])] {
                if let Some(time_s) = ray_box(eye, dir, lo, hi) {
                    hit(time_s);
                }
            }
            // Sphere.
            if let Some(time_s) = ray_sphere(eye, dir, [0.4, 0.7, -3.5], 0.7) {
                hit(time_s);
            }
            // View depth is the distance along the optical axis: time_s · (dir · forward) with |forward| = 1,
            // and dir's forward component is 1 by construction.
            img.data[(py * width + px) as usize] = best;
        }
    }
    img
}

/// Frame `frame` of [`game_scene`] at 30 fps with a hard cut at frame `cut`: from there on another
/// part of the scene (50 s later), upside down and reversed in depth (40.5 m less the depth), as a
/// game's cut to another view. For tests of where encoders place keyframes.
pub fn game_scene_with_cut(width: u32, height: u32, frame: u32, cut: u32) -> DepthImage {
    let t = if frame < cut { frame as f32 / 30.0 } else { 50.0 + frame as f32 / 30.0 };
    let mut depth = game_scene(width, height, t);
    if frame >= cut {
        depth.data.reverse();
        depth.data.iter_mut().for_each(|d| *d = 40.5 - *d);
    }
    depth
}

/// Entry distance (in units of `dir`) of the ray `eye + t · dir` into the axis-aligned box
/// `lo..hi` (slab test), or `None` when it misses. `t` is clamped at 0 from below.
pub fn ray_box(eye: [f32; 3], dir: [f32; 3], lo: [f32; 3], hi: [f32; 3]) -> Option<f32> {
    let (mut t0, mut t1) = (0.0f32, f32::INFINITY);
    for a in 0..3 {
        let inv = 1.0 / dir[a];
        let (mut ta, mut tb) = ((lo[a] - eye[a]) * inv, (hi[a] - eye[a]) * inv);
        if ta > tb {
            std::mem::swap(&mut ta, &mut tb);
        }
        t0 = t0.max(ta);
        t1 = t1.min(tb);
    }
    (t0 <= t1).then_some(t0)
}

/// Nearer intersection distance of the ray `eye + t · dir` with the sphere of centre `centre`
/// and radius `radius`, or `None` when it misses (may be negative when the sphere is behind).
pub fn ray_sphere(eye: [f32; 3], dir: [f32; 3], centre: [f32; 3], radius: f32) -> Option<f32> {
    let oc = [eye[0] - centre[0], eye[1] - centre[1], eye[2] - centre[2]];
    let b = oc[0] * dir[0] + oc[1] * dir[1] + oc[2] * dir[2];
    let dd = dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2];
    let cc = oc[0] * oc[0] + oc[1] * oc[1] + oc[2] * oc[2] - radius * radius;
    let disc = b * b - dd * cc;
    (disc >= 0.0).then(|| (-b - disc.sqrt()) / dd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scene_has_depth_layers_and_sky() {
        let img = game_scene(160, 90, 0.0);
        let valid: Vec<f32> = img.data.iter().copied().filter(|z| z.is_finite()).collect();
        assert!(valid.len() > img.data.len() / 2);
        assert!(valid.len() < img.data.len(), "the doorway shows sky");
        let (lo, hi) = valid.iter().fold((f32::MAX, 0.0f32), |(a, b), &z| (a.min(z), b.max(z)));
        assert!(lo < 3.0 && hi > 10.0, "range {lo}..{hi}");
    }
}
