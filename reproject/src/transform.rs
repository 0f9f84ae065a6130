//! The per-pixel math shared with `shaders/reproject.wgsl`: source camera → target camera, and
//! the projection into the target image.
//!
//! Both sides evaluate the same `f32` expressions in the same order (left to right, one rounding
//! per operation, no fused multiply-add on the CPU); the only division per pixel is the
//! perspective divide's `1 / depth`, which the shader writes the same way. The constants (rotation matrix,
//! translation, reciprocal focal lengths) are computed once here, on the CPU, and the shader
//! receives these exact bits in its uniform block.

use depthcast_packing::camera::rotate;
use depthcast_packing::{CameraBlock, CameraPose, Intrinsics};

/// z-buffer key of a source pixel without valid depth (sky, depth 0): `+∞`'s bits, farther than
/// any valid depth, nearer than an empty pixel.
pub const KEY_FAR: u32 = 0x7f80_0000;
/// z-buffer key of a target pixel that no source pixel reached.
pub const KEY_EMPTY: u32 = u32::MAX;

/// Whether a depth is a real distance (positive, finite; as
/// [`depthcast_packing::is_valid_depth`]), tested on its bits as the shader does (GPUs may
/// assume that no float is NaN or infinite).
#[inline(always)]
pub fn valid_depth_bits(depth: f32) -> bool {
    depth.to_bits().wrapping_sub(1) < 0x7f7f_ffff
}

/// Source camera space → target camera space (`p_t = rotation · p_s + translation`), plus the
/// intrinsics terms of the per-pixel math.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeTransform {
    /// Row-major 3x3 rotation: `rotation[row][column]`.
    pub rotation: [[f32; 3]; 3],
    /// Translation in metres (the source camera centre seen from the target camera).
    pub translation: [f32; 3],
    /// The (shared) intrinsics of both cameras.
    pub intrinsics: Intrinsics,
    /// `1 / fx`.
    pub inv_fx: f32,
    /// `1 / fy`.
    pub inv_fy: f32,
}

impl RelativeTransform {
    /// The transform from `source`'s camera to a camera at `target` with the same intrinsics.
    pub fn new(source: &CameraBlock, target: &CameraPose) -> RelativeTransform {
        let to_target = target.inverse_rotation();
        let mut rotation = [[0.0f32; 3]; 3];
        for (j, e) in [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]].into_iter().enumerate() {
            let column = rotate(to_target, rotate(source.pose.rotation, e));
            for (i, c) in column.into_iter().enumerate() {
                rotation[i][j] = c;
            }
        }
        let (s, t) = (source.pose.position, target.position);
        let translation = rotate(to_target, [s[0] - t[0], s[1] - t[1], s[2] - t[2]]);
        let k = source.intrinsics;
        RelativeTransform { rotation, translation, intrinsics: k, inv_fx: 1.0 / k.fx, inv_fy: 1.0 / k.fy }
    }

    /// Camera-space ray x per unit depth of source column `u` (the shader's expression).
    #[inline]
    pub fn ray_x(&self, u: u32) -> f32 {
        (u as f32 + 0.5 - self.intrinsics.cx) * self.inv_fx
    }

    /// Camera-space ray y per unit depth of source row `v` (up is positive).
    #[inline]
    pub fn ray_y(&self, v: u32) -> f32 {
        (self.intrinsics.cy - (v as f32 + 0.5)) * self.inv_fy
    }

    /// Where the source pixel with ray `(rx, ry)` (from [`ray_x`](Self::ray_x),
    /// [`ray_y`](Self::ray_y)) and depth `depth` lands in the target image: `(x, y, key)` with
    /// `key` the z-buffer key (the target depth's bits, or [`KEY_FAR`] for an invalid depth,
    /// which is reprojected as a direction at infinity); `None` outside the image or behind the
    /// near plane.
    #[inline]
    pub fn splat(&self, rx: f32, ry: f32, depth: f32) -> Option<(u32, u32, u32)> {
        let k = &self.intrinsics;
        let (tx, ty, key) = self.project(rx, ry, depth);
        let inside = tx >= 0.0 && tx < k.width as f32 && ty >= 0.0 && ty < k.height as f32;
        (key != KEY_EMPTY && inside).then_some((tx as u32, ty as u32, key))
    }

    /// The continuous target position and key of [`splat`](Self::splat) without the image bounds
    /// test; the key is [`KEY_EMPTY`] behind the near plane. Branch-free, so that a row of pixels
    /// vectorises; a valid depth `d` moves the point `(rx·d, ry·d, −d)` and adds the translation,
    /// an invalid one the direction `(rx, ry, −1)` without it (the same expression with `d = 1`
    /// and a zero translation, which changes no bit of the result).
    #[inline(always)]
    pub fn project(&self, rx: f32, ry: f32, depth: f32) -> (f32, f32, u32) {
        let r = &self.rotation;
        let k = &self.intrinsics;
        let valid = valid_depth_bits(depth);
        let d = if valid { depth } else { 1.0 };
        let t = if valid { self.translation } else { [0.0; 3] };
        let (x, y, z) = (rx * d, ry * d, -d);
        let px = r[0][0] * x + r[0][1] * y + r[0][2] * z + t[0];
        let py = r[1][0] * x + r[1][1] * y + r[1][2] * z + t[1];
        let pz = r[2][0] * x + r[2][1] * y + r[2][2] * z + t[2];
        let dt = -pz;
        // Valid points must be beyond the near plane, directions merely in front.
        let near = if valid { k.near } else { f32::MIN_POSITIVE };
        let key = if dt >= near { if valid { dt.to_bits() } else { KEY_FAR } } else { KEY_EMPTY };
        let inv = 1.0 / dt;
        (k.cx + px * inv * k.fx, k.cy - py * inv * k.fy, key)
    }
}
