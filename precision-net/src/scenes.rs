//! Procedural scene variants for training data: ray-cast rooms with random size, objects, surface
//! relief, sensor-like noise and camera paths, each fixed by a seed.
//!
//! They are deliberately different from `depthcast_packing::testdata::game_scene` (one fixed room),
//! which the training never sees and so serves as a held-out scene.

use depthcast_packing::DepthImage;

/// A small deterministic generator (xorshift64*), so a seed always gives the same scene.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }
    /// Log-uniform in `lo..hi`.
    fn log_range(&mut self, lo: f32, hi: f32) -> f32 {
        (self.range(lo.ln(), hi.ln())).exp()
    }
}

#[derive(Debug, Clone, Copy)]
enum Object {
    Box { lo: [f32; 3], hi: [f32; 3] },
    Sphere { c: [f32; 3], r: f32 },
}

/// The parameters of one scene variant (see [`Scene::from_seed`]).
#[derive(Debug, Clone)]
pub struct Scene {
    /// Room half-width, metres.
    pub half_width: f32,
    /// Room depth (distance to the back wall), metres.
    pub depth: f32,
    /// Wall height, metres (above it: sky).
    pub wall_height: f32,
    /// Whether the back wall has a doorway open to the sky.
    pub doorway: bool,
    /// Amplitude of the sinusoidal relief on walls and floor, metres.
    pub relief: f32,
    /// Spatial frequency of the relief, 1/m.
    pub relief_freq: f32,
    /// Multiplicative depth noise (standard deviation relative to depth).
    pub noise: f32,
    /// Camera forward speed, m/s.
    pub speed: f32,
    /// Camera yaw oscillation amplitude, radians.
    pub yaw: f32,
    /// Camera height, metres.
    pub eye_height: f32,
    objects: Vec<Object>,
}

impl Scene {
    /// The variant for `seed`.
    pub fn from_seed(seed: u64) -> Scene {
        let mut r = Rng::new(seed);
        let half_width = r.log_range(2.0, 15.0);
        let depth = r.log_range(5.0, 60.0);
        let wall_height = r.range(2.5, 10.0);
        let doorway = r.range(0.0, 1.0) < 0.5;
        let relief = [0.0, 0.0, 0.005, 0.03, 0.15][(r.next() % 5) as usize];
        let relief_freq = r.log_range(0.3, 4.0);
        let noise = [0.0, 0.0, 0.0, 2e-4, 1e-3, 4e-3][(r.next() % 6) as usize];
        let speed = [0.0, 0.3, 1.0, 3.0][(r.next() % 4) as usize];
        let yaw = r.range(0.0, 0.4);
        let eye_height = r.range(0.8, 3.0);
        let n = 2 + (r.next() % 10) as usize;
        let mut objects = Vec::with_capacity(n);
        for _ in 0..n {
            let x = r.range(-half_width * 0.9, half_width * 0.9);
            let z = -r.range(1.5 + speed * 2.5, depth * 0.95);
            let s = r.log_range(0.2, 2.5);
            if r.range(0.0, 1.0) < 0.5 {
                let h = r.log_range(0.2, 4.0);
                objects.push(Object::Box { lo: [x - s, 0.0, z - s], hi: [x + s, h, z + s] });
            } else {
                objects.push(Object::Sphere { c: [x, s + r.range(0.0, 1.5), z], r: s });
            }
        }
        Scene { half_width, depth, wall_height, doorway, relief, relief_freq, noise, speed, yaw, eye_height, objects }
    }

    /// Renders frame `index` at `fps` as a `width x height` depth map (view depth in metres,
    /// `f32::INFINITY` for sky), with a 60° vertical field of view.
    pub fn render(&self, width: u32, height: u32, index: usize, fps: f64) -> DepthImage {
        let t = index as f32 / fps as f32;
        let mut img = DepthImage::new(width, height);
        let fy = 0.5 * height as f32 / 30f32.to_radians().tan();
        let (cx, cy) = (0.5 * width as f32, 0.5 * height as f32);
        let yaw = self.yaw * (0.5 * t).sin();
        let eye = [0.3 * self.half_width * (0.2 * t).sin(), self.eye_height, -self.speed * t];
        let (sy, cyaw) = yaw.sin_cos();
        for py in 0..height {
            for px in 0..width {
                let dx = (px as f32 + 0.5 - cx) / fy;
                let dy = -(py as f32 + 0.5 - cy) / fy;
                let dir = [dx * cyaw - sy, dy, -dx * sy - cyaw];
                let (mut best, mut relief) = (f32::INFINITY, false);
                let mut hit = |tt: f32, rel: bool| {
                    if tt > 1e-3 && tt < best {
                        best = tt;
                        relief = rel;
                    }
                };
                let at = |tt: f32| [eye[0] + tt * dir[0], eye[1] + tt * dir[1], eye[2] + tt * dir[2]];
                let back = -self.depth;
                if dir[1] < 0.0 {
                    let tt = -eye[1] / dir[1];
                    let p = at(tt);
                    if p[2] > back && p[0].abs() < self.half_width {
                        hit(tt, true);
                    }
                }
                if dir[2] < 0.0 {
                    let tt = (back - eye[2]) / dir[2];
                    let p = at(tt);
                    let door = self.doorway && p[0].abs() < 0.15 * self.half_width && p[1] < 0.6 * self.wall_height;
                    if !door && p[1] < self.wall_height && p[0].abs() < self.half_width {
                        hit(tt, true);
                    }
                }
                for side in [-1.0f32, 1.0] {
                    if dir[0] * side > 0.0 {
                        let tt = (side * self.half_width - eye[0]) / dir[0];
                        let p = at(tt);
                        if p[1] < self.wall_height && p[2] > back {
                            hit(tt, true);
                        }
                    }
                }
                for o in &self.objects {
                    match *o {
                        Object::Box { lo, hi } => {
                            if let Some(t) = depthcast_packing::testdata::ray_box(eye, dir, lo, hi) {
                                hit(t, false);
                            }
                        }
                        Object::Sphere { c, r } => {
                            if let Some(t) = depthcast_packing::testdata::ray_sphere(eye, dir, c, r) {
                                hit(t, false);
                            }
                        }
                    }
                }
                let mut z = best;
                if z.is_finite() {
                    if relief && self.relief > 0.0 {
                        let p = at(z);
                        let f = self.relief_freq * std::f32::consts::TAU;
                        z += self.relief * (f * p[0]).sin() * (f * (p[1] + p[2])).sin();
                    }
                    if self.noise > 0.0 {
                        z *= 1.0 + self.noise * noise(px, py, index as u32);
                    }
                    z = z.max(0.05);
                }
                img.data[(py * width + px) as usize] = z;
            }
        }
        img
    }
}

/// Deterministic approximately normal noise (sum of four uniforms, unit variance) per pixel and frame.
fn noise(x: u32, y: u32, f: u32) -> f32 {
    let mut h = (u64::from(x) << 40) ^ (u64::from(y) << 20) ^ u64::from(f) ^ 0xD1B5_4A32_D192_ED03;
    let mut s = 0.0;
    for _ in 0..4 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        s += (h >> 40) as f32 / (1u64 << 24) as f32;
    }
    (s - 2.0) * 3f32.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_and_repeat() {
        let a = Scene::from_seed(1).render(64, 36, 3, 30.0);
        let b = Scene::from_seed(1).render(64, 36, 3, 30.0);
        let c = Scene::from_seed(2).render(64, 36, 3, 30.0);
        assert_eq!(a.data, b.data);
        assert_ne!(a.data, c.data);
        assert!(a.data.iter().any(|z| z.is_finite()));
    }
}
