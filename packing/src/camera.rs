//! The camera of a frame: its pose and pinhole intrinsics, and the 64-byte in-band block that
//! carries them beside the packing parameters (versioned and CRC'd like [`crate::PackParams`]).
//!
//! Conventions (Bevy's, and OpenGL's): the camera looks down its local −Z axis with +Y up and +X
//! right; the pose maps camera space to world space (`world = position + rotation * camera`); the
//! depth of a pixel is its view-space distance along the viewing axis (what
//! [`crate::ndc_to_linear`] returns), not the distance along the ray; pixel `(u, v)` has its
//! centre at `(u + 0.5, v + 0.5)`, `v` counting down from the top row.

use crate::error::{PackError, ParamsDecodeError, Result};
use crate::params::crc16;

/// Bytes of [`CameraBlock::to_bytes`].
pub const CAMERA_LEN: usize = 64;
const MAGIC: u16 = 0x4b44; // "DK" little-endian
const VERSION: u8 = 1;

/// Where a camera is: camera space → world space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraPose {
    /// Camera centre in world space, metres.
    pub position: [f32; 3],
    /// Rotation camera → world as a unit quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
}

impl Default for CameraPose {
    fn default() -> Self {
        CameraPose { position: [0.0; 3], rotation: [0.0, 0.0, 0.0, 1.0] }
    }
}

/// Rotates `v` by the unit quaternion `q = [x, y, z, w]`.
pub fn rotate(q: [f32; 4], v: [f32; 3]) -> [f32; 3] {
    let (qv, w) = ([q[0], q[1], q[2]], q[3]);
    let cross =
        |a: [f32; 3], b: [f32; 3]| [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    // v + 2w (qv × v) + 2 qv × (qv × v)
    let t = cross(qv, v).map(|c| 2.0 * c);
    let u = cross(qv, t);
    [v[0] + w * t[0] + u[0], v[1] + w * t[1] + u[1], v[2] + w * t[2] + u[2]]
}

impl CameraPose {
    /// The inverse rotation (the conjugate).
    pub fn inverse_rotation(&self) -> [f32; 4] {
        let q = self.rotation;
        [-q[0], -q[1], -q[2], q[3]]
    }

    /// Camera space → world space.
    pub fn to_world(&self, p: [f32; 3]) -> [f32; 3] {
        let r = rotate(self.rotation, p);
        [r[0] + self.position[0], r[1] + self.position[1], r[2] + self.position[2]]
    }

    /// World space → camera space.
    pub fn to_camera(&self, p: [f32; 3]) -> [f32; 3] {
        let d = [p[0] - self.position[0], p[1] - self.position[1], p[2] - self.position[2]];
        rotate(self.inverse_rotation(), d)
    }
}

/// Pinhole intrinsics of a `width x height` image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intrinsics {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Focal length along x, pixels.
    pub fx: f32,
    /// Focal length along y, pixels.
    pub fy: f32,
    /// Principal point x, pixels from the left edge.
    pub cx: f32,
    /// Principal point y, pixels from the top edge.
    pub cy: f32,
    /// Near plane, metres (depth below it is not rendered).
    pub near: f32,
}

impl Intrinsics {
    /// A symmetric perspective camera with vertical field of view `fov_y` (radians) and square
    /// pixels, as Bevy's `PerspectiveProjection` renders it.
    pub fn from_fov_y(fov_y: f32, width: u32, height: u32, near: f32) -> Intrinsics {
        let fy = height as f32 / 2.0 / (fov_y / 2.0).tan();
        Intrinsics { width, height, fx: fy, fy, cx: width as f32 / 2.0, cy: height as f32 / 2.0, near }
    }

    /// The camera-space point of pixel `(u, v)` (its centre) at view depth `depth` metres.
    pub fn unproject(&self, u: u32, v: u32, depth: f32) -> [f32; 3] {
        let x = (u as f32 + 0.5 - self.cx) / self.fx * depth;
        let y = (self.cy - (v as f32 + 0.5)) / self.fy * depth;
        [x, y, -depth]
    }

    /// Image coordinates `(x, y)` (continuous: pixel `u` spans `u..u + 1`) and view depth of a
    /// camera-space point; `None` behind the near plane.
    pub fn project(&self, p: [f32; 3]) -> Option<(f32, f32, f32)> {
        let depth = -p[2];
        if depth.is_nan() || depth < self.near {
            return None;
        }
        let x = self.cx + p[0] / depth * self.fx;
        let y = self.cy - p[1] / depth * self.fy;
        Some((x, y, depth))
    }
}

/// What travels in-band with each frame of an RGB-D stream: which frame, the camera's pose and
/// intrinsics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraBlock {
    /// The frame's index (the same as the depth's [`crate::PackParams::frame_index`]).
    pub frame_index: u32,
    /// The camera pose the frame was rendered from.
    pub pose: CameraPose,
    /// The camera's intrinsics (of the colour and depth images, which have the same size).
    pub intrinsics: Intrinsics,
}

impl CameraBlock {
    /// Checks that every field is usable: finite, a unit quaternion (within 1e-3), positive
    /// focal lengths, near plane and size.
    ///
    /// # Errors
    /// [`PackError::InvalidCamera`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(PackError::InvalidCamera(what));
        let k = &self.intrinsics;
        let lens = [k.fx, k.fy, k.cx, k.cy, k.near];
        let mut all = self.pose.position.iter().chain(&self.pose.rotation).chain(&lens);
        if let Some(v) = all.find(|v| !v.is_finite()) {
            return bad(format!("non-finite value {v}"));
        }
        let n = self.pose.rotation.iter().map(|c| c * c).sum::<f32>().sqrt();
        if (n - 1.0).abs() > 1e-3 {
            return bad(format!("rotation quaternion of norm {n}, not 1"));
        }
        if k.width == 0 || k.height == 0 || k.width > 65535 || k.height > 65535 {
            return bad(format!("image size {}x{} outside 1..=65535", k.width, k.height));
        }
        if !(k.fx > 0.0 && k.fy > 0.0 && k.near > 0.0) {
            return bad(format!("focal lengths {} / {} and near {} must be positive", k.fx, k.fy, k.near));
        }
        Ok(())
    }

    /// Encodes to [`CAMERA_LEN`] bytes, little-endian:
    ///
    /// | bytes | field |
    /// |---|---|
    /// | 0..2 | magic `"DK"` (`0x4b44`) |
    /// | 2 | version (1) |
    /// | 3 | flags (0) |
    /// | 4..8 | frame index (u32) |
    /// | 8..20 | position x, y, z (f32, metres) |
    /// | 20..36 | rotation x, y, z, w (f32) |
    /// | 36..38, 38..40 | width, height (u16) |
    /// | 40..56 | fx, fy, cx, cy (f32, pixels) |
    /// | 56..60 | near (f32, metres) |
    /// | 60..62 | reserved (0) |
    /// | 62..64 | CRC-16/CCITT-FALSE of bytes 0..62 |
    pub fn to_bytes(&self) -> [u8; CAMERA_LEN] {
        let mut b = [0u8; CAMERA_LEN];
        b[0..2].copy_from_slice(&MAGIC.to_le_bytes());
        b[2] = VERSION;
        b[4..8].copy_from_slice(&self.frame_index.to_le_bytes());
        let k = &self.intrinsics;
        let floats = self.pose.position.iter().chain(&self.pose.rotation);
        for (i, v) in floats.enumerate() {
            b[8 + 4 * i..12 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        b[36..38].copy_from_slice(&(k.width.min(65535) as u16).to_le_bytes());
        b[38..40].copy_from_slice(&(k.height.min(65535) as u16).to_le_bytes());
        for (i, v) in [k.fx, k.fy, k.cx, k.cy, k.near].iter().enumerate() {
            b[40 + 4 * i..44 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        let crc = crc16(&b[..62]);
        b[62..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes [`CameraBlock::to_bytes`] and validates it. Extra trailing bytes are ignored.
    ///
    /// # Errors
    /// [`PackError::MalformedParams`] for short input, a wrong magic, version or checksum, or
    /// unknown flags; [`PackError::InvalidCamera`] for fields out of range.
    pub fn from_bytes(bytes: &[u8]) -> Result<CameraBlock> {
        let bad = PackError::MalformedParams;
        if bytes.len() < CAMERA_LEN {
            return Err(bad(ParamsDecodeError::Truncated { needed: CAMERA_LEN, got: bytes.len() }));
        }
        let b = &bytes[..CAMERA_LEN];
        let magic = u16::from_le_bytes([b[0], b[1]]);
        if magic != MAGIC {
            return Err(bad(ParamsDecodeError::BadMagic(magic)));
        }
        if b[2] != VERSION {
            return Err(bad(ParamsDecodeError::UnsupportedVersion(b[2])));
        }
        let found = u16::from_le_bytes([b[62], b[63]]);
        let computed = crc16(&b[..62]);
        if found != computed {
            return Err(bad(ParamsDecodeError::BadChecksum { found, computed }));
        }
        if b[3] != 0 {
            return Err(bad(ParamsDecodeError::UnknownValue { field: "camera flags", value: b[3] }));
        }
        let f = |i: usize| f32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u16_at = |i: usize| u32::from(u16::from_le_bytes([b[i], b[i + 1]]));
        let block = CameraBlock {
            frame_index: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            pose: CameraPose { position: [f(8), f(12), f(16)], rotation: [f(20), f(24), f(28), f(32)] },
            intrinsics: Intrinsics {
                width: u16_at(36),
                height: u16_at(38),
                fx: f(40),
                fy: f(44),
                cx: f(48),
                cy: f(52),
                near: f(56),
            },
        };
        block.validate()?;
        Ok(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> CameraBlock {
        let h = std::f32::consts::FRAC_1_SQRT_2;
        CameraBlock {
            frame_index: 0x0000_0300,
            pose: CameraPose { position: [1.0, -2.5, 3.25], rotation: [0.0, h, 0.0, h] },
            intrinsics: Intrinsics::from_fov_y(std::f32::consts::FRAC_PI_4, 1280, 720, 0.1),
        }
    }

    #[test]
    fn bytes_round_trip_and_damage_is_caught() {
        let b = block();
        let bytes = b.to_bytes();
        assert_eq!(CameraBlock::from_bytes(&bytes).unwrap(), b);
        for i in 0..CAMERA_LEN {
            let mut d = bytes;
            d[i] ^= 0x10;
            assert!(CameraBlock::from_bytes(&d).is_err(), "flipping a bit of byte {i} went unnoticed");
        }
        assert!(CameraBlock::from_bytes(&bytes[..63]).is_err());
        let mut odd = b;
        odd.pose.rotation = [0.0, 0.0, 0.0, 2.0];
        assert!(CameraBlock::from_bytes(&odd.to_bytes()).is_err(), "a non-unit quaternion is refused");
    }

    #[test]
    fn project_inverts_unproject_through_a_pose() {
        let b = block();
        let k = b.intrinsics;
        for &(u, v, d) in &[(0u32, 0u32, 0.5f32), (639, 359, 3.0), (1279, 719, 40.0)] {
            let world = b.pose.to_world(k.unproject(u, v, d));
            let (x, y, depth) = k.project(b.pose.to_camera(world)).unwrap();
            assert!((x - (u as f32 + 0.5)).abs() < 1e-3 && (y - (v as f32 + 0.5)).abs() < 1e-3, "{x} {y}");
            assert!((depth - d).abs() < 1e-4 * d);
        }
        // A quarter turn about +Y maps the camera's forward (−Z) to world −X.
        let fwd = rotate(b.pose.rotation, [0.0, 0.0, -1.0]);
        assert!((fwd[0] + 1.0).abs() < 1e-6 && fwd[1].abs() < 1e-6 && fwd[2].abs() < 1e-6, "{fwd:?}");
        assert!(k.project([0.0, 0.0, 0.05]).is_none(), "behind the camera");
    }
}
