//! # depthcast-reproject
//!
//! Draws an RGB-D frame (colour + view-space depth in metres + the camera it was rendered from)
//! from another camera pose: the receiver's late-stage reprojection, which hides the network's
//! latency by moving the last received frame to where the camera is now. Pure math, no IO; the
//! CPU reference ("the definition") of `shaders/reproject.wgsl`, which gives the same pixels.
//!
//! ## Algorithm
//! 1. **Splat** (`splat` + `splat_index` passes on the GPU): every source pixel is unprojected
//!    with its depth, moved into the target camera ([`RelativeTransform`]) and projected; it
//!    covers the one target pixel its centre lands in. A z-buffer keeps the nearest: the key is
//!    the target depth's `f32` bits (positive floats order like their bits), ties broken by the
//!    smaller source index (`atomicMin` on the depth, then `atomicMin` on the index among the
//!    pixels that won the depth). No triangles are drawn, so no "rubber sheet" is stretched across
//!    a depth edge. Source pixels without valid depth (sky, 0, ∞, NaN) are reprojected as
//!    directions at infinity (rotation only) with the key [`KEY_FAR`]: any real surface wins over
//!    them, and the stale sky still turns with the camera.
//! 2. **Resolve**: each covered target pixel takes the colour of the source pixel that won.
//!    Pixels that *poke through* a surface become holes: a background point that landed in a
//!    1-pixel crack of a magnified foreground surface (both neighbours on a row or column are
//!    nearer by more than [`ReprojectSettings::poke_through`] and were neighbours in the source
//!    too).
//! 3. **Cracks** (small holes from forward motion, zoom or rotation): a hole at most
//!    [`CRACK_WIDTH`] pixels wide along its row or column, with covered pixels on both sides
//!    within that distance, takes the colour of the **farther** of those two ends (of the
//!    narrower axis; the row on a tie). Inside one surface both ends are that surface; at a
//!    depth edge the farther end is the background, which is what a 1–2 pixel disocclusion
//!    reveals.
//! 4. **Fill** (disocclusions, and the image border): each remaining hole looks for the nearest
//!    covered pixel in the four directions (at most [`ReprojectSettings::max_search`] pixels).
//!    Of the row and the column, the one where both ends were found and the hole is narrower is
//!    used (for a disocclusion, the direction of the parallax), and the hole takes the colour of
//!    the **farther** end: a disocclusion reveals background, so foreground colour is never
//!    smeared into it. With no axis bounded on both sides, the farthest end found is used; with
//!    none at all, the source's (stale) colour at the same pixel.
//!
//! Every stage reads only the previous stage's buffers, so each pixel is computed on its own:
//! the GPU runs each stage as one compute pass and gets the same pixels.
//!
//! ## Limits
//! - A disocclusion is painted by stretching the background's edge pixel across it (no texture
//!   synthesis): wide holes show streaks.
//! - Geometry hidden in the source frame cannot appear.
//! - Splats cover one pixel: at magnifications above 3 (very fast forward motion) cracks are
//!   wider than [`CRACK_WIDTH`] and are filled like disocclusions, from the farther side, which
//!   can look speckled on slanted surfaces.
//! - Target and source share the intrinsics (the same camera, moved).
//!
//! ```
//! use depthcast_packing::{CameraBlock, CameraPose, DepthImage, Intrinsics, RgbImage};
//! use depthcast_reproject::{ReprojectSettings, Reprojector};
//!
//! let (w, h) = (64, 36);
//! let colour = RgbImage { width: w, height: h, data: vec![200; (w * h * 3) as usize] };
//! let mut depth = DepthImage::new(w, h);
//! depth.data.fill(4.0);
//! let source = CameraBlock {
//!     frame_index: 0,
//!     pose: CameraPose::default(),
//!     intrinsics: Intrinsics::from_fov_y(1.0, w, h, 0.1),
//! };
//! let target = CameraPose { position: [0.1, 0.0, 0.0], ..CameraPose::default() };
//! let mut out = RgbImage { width: 0, height: 0, data: Vec::new() };
//! let stats = Reprojector::new(ReprojectSettings::default()).reproject(&colour, &depth, &source, &target, &mut out);
//! assert_eq!((out.width, out.height), (w, h));
//! assert_eq!(stats.pixels, u64::from(w * h));
//! ```

mod fill;
mod transform;

pub use fill::CRACK_WIDTH;
pub use transform::{KEY_EMPTY, KEY_FAR, RelativeTransform, valid_depth_bits};

use depthcast_packing::{CameraBlock, CameraPose, DepthImage, RgbImage};

/// How holes are filled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReprojectSettings {
    /// How far (pixels) a hole looks for covered pixels in each direction (default 64). Holes
    /// wider and taller than twice this keep the stale colour.
    pub max_search: u32,
    /// A covered pixel is made a hole when both its neighbours on a row or a column are covered
    /// by source pixels that were neighbours in the source, and are nearer than its depth by
    /// more than this fraction (default 0.1): a background point seen through a crack of a
    /// magnified foreground surface. `f32::INFINITY` turns this off.
    pub poke_through: f32,
}

impl Default for ReprojectSettings {
    fn default() -> Self {
        ReprojectSettings { max_search: 64, poke_through: 0.1 }
    }
}

/// What one [`Reprojector::reproject`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReprojectStats {
    /// Pixels in the output.
    pub pixels: u64,
    /// Source pixels that landed in the target image (splats, before the z-test).
    pub splatted: u64,
    /// Source pixels with invalid depth, reprojected as directions at infinity.
    pub far_splats: u64,
    /// Covered pixels that poked through a surface and were made holes.
    pub poked_through: u64,
    /// Holes filled by the crack stage (at most [`CRACK_WIDTH`] wide).
    pub cracks_filled: u64,
    /// Holes filled by the fill stage (disocclusions, borders).
    pub holes_filled: u64,
    /// Output pixels that found no neighbour and kept the stale source colour.
    pub stale: u64,
}

/// Reprojects RGB-D frames; keeps its buffers between calls (no allocation per frame once the
/// size is steady).
#[derive(Debug, Clone, Default)]
pub struct Reprojector {
    settings: ReprojectSettings,
    /// z-buffer: `key << 32 | source index`, `u64::MAX` where empty.
    zbuf: Vec<u64>,
    /// Camera-space ray x of each column.
    rays: Vec<f32>,
    /// One row's target pixel index (`u32::MAX`: none) and key.
    targets: Vec<(u32, u32)>,
    scratch: fill::Scratch,
}

impl Reprojector {
    /// A reprojector with `settings`.
    pub fn new(settings: ReprojectSettings) -> Reprojector {
        Reprojector { settings, ..Reprojector::default() }
    }

    /// The settings.
    pub fn settings(&self) -> &ReprojectSettings {
        &self.settings
    }

    /// Draws `colour` + `depth` (rendered from `source`) as seen from `target` (with the
    /// source's intrinsics) into `out`, which is resized to the source's size.
    ///
    /// # Panics
    /// If `colour` or `depth` is not `source.intrinsics.width x height`, or their buffers are
    /// shorter than that.
    pub fn reproject(
        &mut self,
        colour: &RgbImage,
        depth: &DepthImage,
        source: &CameraBlock,
        target: &CameraPose,
        out: &mut RgbImage,
    ) -> ReprojectStats {
        let k = source.intrinsics;
        let (w, h) = (k.width as usize, k.height as usize);
        assert!(
            colour.width == k.width && colour.height == k.height && colour.data.len() >= 3 * w * h,
            "colour is {}x{}, the camera {}x{}",
            colour.width,
            colour.height,
            k.width,
            k.height
        );
        assert!(
            depth.width == k.width && depth.height == k.height && depth.data.len() >= w * h,
            "depth is {}x{}, the camera {}x{}",
            depth.width,
            depth.height,
            k.width,
            k.height
        );
        let mut stats = ReprojectStats { pixels: (w * h) as u64, ..ReprojectStats::default() };
        let t = RelativeTransform::new(source, target);
        self.zbuf.clear();
        self.zbuf.resize(w * h, u64::MAX);
        self.rays.clear();
        self.rays.extend((0..k.width).map(|u| t.ray_x(u)));
        self.targets.resize(w, (u32::MAX, 0));
        let (wf, hf) = (k.width as f32, k.height as f32);
        for v in 0..k.height {
            let ry = t.ray_y(v);
            let row = &depth.data[v as usize * w..][..w];
            // Branch-free over the row (it vectorises), then the scattered z-test.
            for ((slot, &d), &rx) in self.targets.iter_mut().zip(row).zip(&self.rays) {
                let (tx, ty, key) = t.project(rx, ry, d);
                let inside = (key != KEY_EMPTY) & (tx >= 0.0) & (tx < wf) & (ty >= 0.0) & (ty < hf);
                // SAFETY: `max` turns NaN into 0 and `min` caps +∞, so both values are finite,
                // in 0..=65535 (the camera's size is at most that), and fit an i32.
                let (ix, iy) = unsafe {
                    (tx.max(0.0).min(wf).to_int_unchecked::<i32>(), ty.max(0.0).min(hf).to_int_unchecked::<i32>())
                };
                *slot = (if inside { iy as u32 * k.width + ix as u32 } else { u32::MAX }, key);
            }
            let base = u64::from(v) * w as u64;
            for (u, &(at, key)) in self.targets.iter().enumerate() {
                if at == u32::MAX {
                    continue;
                }
                stats.splatted += 1;
                stats.far_splats += u64::from(key == KEY_FAR);
                let slot = &mut self.zbuf[at as usize];
                *slot = (*slot).min(u64::from(key) << 32 | (base + u as u64));
            }
        }
        out.width = k.width;
        out.height = k.height;
        out.data.resize(3 * w * h, 0);
        fill::resolve_and_fill(&mut self.zbuf, colour, &self.settings, &mut self.scratch, out, &mut stats);
        stats
    }
}

#[cfg(test)]
mod tests;
