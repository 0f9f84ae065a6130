//! Reduced depth resolution: keep one sample of each `f x f` block on the sender, rebuild the full
//! size on the receiver with an edge-aware upsampler.
//!
//! A depth map has few pixels that matter for the bitrate (its smooth surfaces compress well at any
//! size) and a few that decide the error: the silhouettes, where a pixel put on the wrong side is
//! wrong by the whole depth jump. Blurring across them (bilinear) or guessing (nearest) leaves a
//! floor of tens of millimetres before any codec. So the upsampler here never blends across an edge
//! and decides which side a pixel is on from the best evidence it has:
//!
//! - **with a guide** (the stream's colour frame, full size, what an RGB-D receiver decodes anyway),
//!   each full-size pixel takes the side of the nearby sample whose colour is closest to its own
//!   (a joint-bilateral *selection*, after Kopf et al. 2007, but choosing instead of averaging),
//!   then averages only the nearby samples on that same surface;
//! - **without one**, it interpolates where the four surrounding samples lie on one surface and
//!   takes the nearest sample elsewhere.
//!
//! Samples are kept, never averaged ([`downsample`]): sample `(i, j)` is full-size pixel
//! `(f·i, f·j)`, so its depth is a real depth and its guide colour is known exactly.

use crate::depth::{DepthImage, DepthView, INVALID_DEPTH, is_valid_depth};
use crate::frame::YuvFrame;
use crate::simd::CpuLevel;

/// Size of a map reduced by `factor`: every dimension rounded up, so the last samples cover the
/// right and bottom edges.
///
/// # Panics
/// If `factor` is zero.
pub fn reduced_size(width: u32, height: u32, factor: u32) -> (u32, u32) {
    assert!(factor > 0, "reduction factor must be at least 1");
    (width.div_ceil(factor), height.div_ceil(factor))
}

/// Keeps full-size pixel `(factor·i, factor·j)` as sample `(i, j)` ([`reduced_size`] samples).
///
/// # Panics
/// If `factor` is zero.
pub fn downsample(depth: &DepthView<'_>, factor: u32) -> DepthImage {
    let mut out = DepthImage::new(1, 1);
    downsample_into(depth, factor, &mut out);
    out
}

/// [`downsample`] into `out`, reusing its allocation.
///
/// # Panics
/// If `factor` is zero.
pub fn downsample_into(depth: &DepthView<'_>, factor: u32, out: &mut DepthImage) {
    let (w, h) = reduced_size(depth.width, depth.height, factor);
    out.width = w;
    out.height = h;
    out.data.resize(w as usize * h as usize, INVALID_DEPTH);
    let f = factor as usize;
    for (j, row) in out.data.chunks_exact_mut(w as usize).enumerate() {
        let src = depth.row(j as u32 * factor);
        for (i, z) in row.iter_mut().enumerate() {
            *z = src[i * f];
        }
    }
}

/// How [`upsample`] decides between surfaces; the defaults are what the sweep measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpsampleSettings {
    /// Two samples lie on one surface when their depths differ by at most this fraction of the
    /// nearer one.
    pub same_surface: f32,
    /// Width of the spatial weight, in full-size pixels (Gaussian sigma).
    pub sigma_space: f32,
    /// Width of the colour weight, in 8-bit luma code values (Gaussian sigma).
    pub sigma_colour: f32,
}

impl Default for UpsampleSettings {
    fn default() -> Self {
        UpsampleSettings { same_surface: 0.05, sigma_space: 1.5, sigma_colour: 8.0 }
    }
}

/// Rebuilds a `width x height` map from samples kept by [`downsample`] with the same `factor`.
///
/// `guide` is the full-size colour of the frame (any bit depth; its size must be `width x height`
/// rounded up to even), or `None` for a depth-only stream. Invalid samples (sky) stay invalid: a
/// pixel whose chosen sample is invalid is invalid.
///
/// # Panics
/// If `factor` is zero, `low` is not [`reduced_size`]`(width, height, factor)`, or the guide's size
/// does not match.
pub fn upsample(
    low: &DepthView<'_>,
    factor: u32,
    width: u32,
    height: u32,
    guide: Option<&YuvFrame>,
    settings: &UpsampleSettings,
) -> DepthImage {
    let mut out = DepthImage::new(width, height);
    upsample_into(low, factor, guide, settings, &mut out);
    out
}

/// [`upsample`] into `out`, whose size is the full size.
///
/// # Panics
/// As [`upsample`].
pub fn upsample_into(
    low: &DepthView<'_>,
    factor: u32,
    guide: Option<&YuvFrame>,
    settings: &UpsampleSettings,
    out: &mut DepthImage,
) {
    upsample_into_at(CpuLevel::detect(), low, factor, guide, settings, out);
}

/// [`upsample_into`] with the loops compiled for `level` (which this CPU must run; a level
/// without loops of its own runs the baseline ones). Public for `tools/kernel-check`, which checks
/// every level against [`reference`]; not part of the supported API.
///
/// # Panics
/// As [`upsample`].
#[doc(hidden)]
pub fn upsample_into_at(
    level: CpuLevel,
    low: &DepthView<'_>,
    factor: u32,
    guide: Option<&YuvFrame>,
    settings: &UpsampleSettings,
    out: &mut DepthImage,
) {
    let (width, height) = (out.width, out.height);
    assert_eq!((low.width, low.height), reduced_size(width, height, factor), "low-resolution size mismatch");
    if let Some(g) = guide {
        assert!(
            g.width >= width && g.height >= height && g.width - width < 2 && g.height - height < 2,
            "guide size mismatch"
        );
    }
    assert!(level.is_supported(), "{} does not run on this CPU", level.name());
    match guide {
        Some(g) => guided(level, low, factor, g, settings, out),
        None => unguided(level, low, factor, settings, out),
    }
}

/// Whether two valid depths lie on one surface.
fn same_surface(a: f32, b: f32, tolerance: f32) -> bool {
    (a - b).abs() <= tolerance * a.min(b)
}

/// [`is_valid_depth`] with `&` instead of `&&`: the factor-2 loops select on it over values
/// computed anyway, which the compiler keeps free of data-dependent branches (sky edges would
/// mispredict).
#[inline(always)]
fn valid_lane(v: f32) -> bool {
    (v > 0.0) & v.is_finite()
}

/// Whether `v` is valid and on the surface of the valid depth `a` (as the general loops' test,
/// branch-free).
#[inline(always)]
fn on_surface(v: f32, a: f32, tolerance: f32) -> bool {
    valid_lane(v) & same_surface(v, a, tolerance)
}

/// Where a full-size coordinate falls between samples along one axis, computed once per row and
/// once per column: the two samples around it (`i0`, `i1`), the fraction of the way to `i1`, and
/// the range of the 3 samples around the covering one that [`guided`] chooses among.
#[derive(Debug, Clone, Copy)]
struct Axis {
    i0: usize,
    i1: usize,
    t: f32,
    lo: usize,
    hi: usize,
}

fn axis(len: usize, low_len: usize, factor: u32) -> Vec<Axis> {
    let (fi, f) = (factor as usize, factor as f32);
    (0..len)
        .map(|x| {
            let i0 = (x / fi).min(low_len - 1);
            Axis {
                i0,
                i1: (i0 + 1).min(low_len - 1),
                t: x as f32 / f - i0 as f32,
                lo: i0.saturating_sub(1),
                hi: (i0 + 1).min(low_len - 1),
            }
        })
        .collect()
}

/// The four samples around a pixel and their bilinear weights.
fn corners(r0: &[f32], r1: &[f32], cx: Axis, ty: f32) -> [(f32, f32); 4] {
    let tx = cx.t;
    [
        (r0[cx.i0], (1.0 - tx) * (1.0 - ty)),
        (r0[cx.i1], tx * (1.0 - ty)),
        (r1[cx.i0], (1.0 - tx) * ty),
        (r1[cx.i1], tx * ty),
    ]
}

/// Without a guide: bilinear where the four surrounding samples are one surface, else the nearest.
fn unguided(level: CpuLevel, low: &DepthView<'_>, factor: u32, s: &UpsampleSettings, out: &mut DepthImage) {
    if factor == 2 {
        return unguided_half(level, low, s.same_surface, out);
    }
    let width = out.width as usize;
    let cols = axis(width, low.width as usize, factor);
    let rows = axis(out.height as usize, low.height as usize, factor);
    for (row, cy) in out.data.chunks_exact_mut(width).zip(rows) {
        let (r0, r1) = (low.row(cy.i0 as u32), low.row(cy.i1 as u32));
        for (z, &cx) in row.iter_mut().zip(&cols) {
            let corners = corners(r0, r1, cx, cy.t);
            // The nearest sample decides the surface (and whether the pixel is valid).
            let nearest =
                corners.iter().fold((INVALID_DEPTH, -1.0f32), |best, &(d, w)| if w > best.1 { (d, w) } else { best }).0;
            if !is_valid_depth(nearest) {
                *z = INVALID_DEPTH;
                continue;
            }
            let all_one = corners
                .iter()
                .all(|&(d, w)| w == 0.0 || (is_valid_depth(d) && same_surface(d, nearest, s.same_surface)));
            *z = if all_one { corners.iter().map(|&(d, w)| if w == 0.0 { 0.0 } else { d * w }).sum() } else { nearest };
        }
    }
}

/// [`unguided`] at factor 2, the one the in-band flag sends: every weight is 0, 1/2 or 1/4, the
/// nearest sample is always the top-left one (the first of the largest weight), and each output
/// pixel is one of four cases by the parity of its coordinates. The same f32 operations in the
/// same order as the general loop (a weighted depth is exact; the adds of zero weights change
/// nothing), so the result is bit-identical, at a fraction of the cost.
fn unguided_half(level: CpuLevel, low: &DepthView<'_>, tolerance: f32, out: &mut DepthImage) {
    #[cfg(target_arch = "x86_64")]
    if level >= CpuLevel::Avx2 {
        // SAFETY: the caller checked that this CPU runs `level`, and Avx2 and above have AVX2.
        return unsafe { unguided_half_avx2(low, tolerance, out) };
    }
    // Elsewhere one set of loops (NEON is aarch64's baseline, vectorised by the compiler).
    #[cfg(not(target_arch = "x86_64"))]
    let _ = level;
    unguided_half_loops(low, tolerance, out);
}

/// [`unguided_half_loops`] compiled for AVX2: the same operations on eight lanes where the
/// compiler vectorises (no FMA: AVX2 does not enable it, and Rust never contracts).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn unguided_half_avx2(low: &DepthView<'_>, tolerance: f32, out: &mut DepthImage) {
    unguided_half_loops(low, tolerance, out);
}

#[inline(always)]
fn unguided_half_loops(low: &DepthView<'_>, tolerance: f32, out: &mut DepthImage) {
    let width = out.width as usize;
    let lw = low.width as usize;
    let lh = low.height as usize;
    // Selects over values computed anyway (see `valid_lane`).
    let one = |v: f32, a: f32| on_surface(v, a, tolerance);
    // `v` where the nearest sample `a` is valid, else invalid.
    let valid_or = |a: f32, v: f32| if valid_lane(a) { v } else { INVALID_DEPTH };
    let keep = |a: f32| valid_or(a, a);
    // The nearest sample `a`, or `a` and `b` averaged when `b` lies on its surface.
    let pair = |a: f32, b: f32| valid_or(a, if one(b, a) { a * 0.5 + b * 0.5 } else { a });
    let quad = |a: f32, b: f32, c: f32, d: f32| {
        let mean = a * 0.25 + b * 0.25 + c * 0.25 + d * 0.25;
        valid_or(a, if one(b, a) & one(c, a) & one(d, a) { mean } else { a })
    };
    for (y, row) in out.data.chunks_exact_mut(width).enumerate() {
        let j0 = y / 2;
        let r0 = low.row(j0 as u32);
        let r1 = low.row((j0 + 1).min(lh - 1) as u32);
        // Pixel pairs (2i, 2i + 1) over samples i and i + 1; the last sample's pair (or single
        // pixel, at an odd width) has i + 1 clamped to i.
        let pairs = width / 2;
        let full = pairs.min(lw - 1);
        let (body, tail) = row.split_at_mut(2 * full);
        if y % 2 == 1 {
            for (i, px) in body.chunks_exact_mut(2).enumerate() {
                px[0] = pair(r0[i], r1[i]);
                px[1] = quad(r0[i], r0[i + 1], r1[i], r1[i + 1]);
            }
            let i = full;
            tail[0] = pair(r0[i], r1[i]);
            if let Some(z) = tail.get_mut(1) {
                *z = quad(r0[i], r0[i], r1[i], r1[i]);
            }
        } else {
            for (i, px) in body.chunks_exact_mut(2).enumerate() {
                px[0] = keep(r0[i]);
                px[1] = pair(r0[i], r0[i + 1]);
            }
            let i = full;
            tail[0] = keep(r0[i]);
            if let Some(z) = tail.get_mut(1) {
                *z = pair(r0[i], r0[i]);
            }
        }
    }
}

/// With a guide: the sample whose colour and position are closest to the pixel's decides the
/// surface; the pixel is then interpolated bilinearly from the surrounding samples on that surface
/// (the chosen sample alone when none of them is).
fn guided(level: CpuLevel, low: &DepthView<'_>, factor: u32, g: &YuvFrame, s: &UpsampleSettings, out: &mut DepthImage) {
    if factor == 2 {
        return guided_half(level, low, g, s, out);
    }
    let fi = factor as usize;
    let scale = 255.0 / f32::from(g.bit_depth.max_code());
    let gw = g.width as usize;
    // Luma only: 4:2:0 chroma is one value per 2x2 block, the block of the sample at its top-left
    // corner, so it cannot tell a pixel's side of an edge inside the block, and would pull every
    // pixel towards its own block's sample.
    let luma = |x: usize, y: usize| f32::from(g.y[y * gw + x]) * scale;
    let inv_space = -0.5 / (s.sigma_space * s.sigma_space);
    let inv_colour = -0.5 / (s.sigma_colour * s.sigma_colour);
    let width = out.width as usize;
    let lw = low.width as usize;
    let cols = axis(width, lw, factor);
    let rows = axis(out.height as usize, low.height as usize, factor);
    // Each sample's guide luma, and each pixel's squared distances to the samples of its range
    // along each axis: computed once, not once per pixel and candidate.
    let sample_luma: Vec<f32> = (0..low.height as usize)
        .flat_map(|j| (0..lw).map(move |i| (i, j)))
        .map(|(i, j)| luma(i * fi, j * fi))
        .collect();
    let squares = |c: &[Axis]| -> Vec<[f32; 3]> {
        c.iter()
            .enumerate()
            .map(|(x, a)| {
                let mut d2 = [0.0f32; 3];
                for (k, i) in (a.lo..=a.hi).enumerate() {
                    let d = (i * fi) as f32 - x as f32;
                    d2[k] = d * d;
                }
                d2
            })
            .collect()
    };
    let (dx2, dy2) = (squares(&cols), squares(&rows));
    for (y, (row, cy)) in out.data.chunks_exact_mut(width).zip(rows).enumerate() {
        let (r0, r1) = (low.row(cy.i0 as u32), low.row(cy.i1 as u32));
        for (x, (z, &cx)) in row.iter_mut().zip(&cols).enumerate() {
            let cp = luma(x, y);
            // Choose among the 3x3 samples around the covering one (every sample within 3 px at
            // factor 2), which include the 2x2 that surround the pixel.
            let mut best = (INVALID_DEPTH, f32::NEG_INFINITY);
            for (kj, j) in (cy.lo..=cy.hi).enumerate() {
                let (samples, lumas) = (low.row(j as u32), &sample_luma[j * lw..(j + 1) * lw]);
                let dy2 = dy2[y][kj];
                for (ki, i) in (cx.lo..=cx.hi).enumerate() {
                    // A plain product, not `powi`, whose precision Rust leaves open: the browser's
                    // twin (web/js/unpack.js) computes the same f32 operations.
                    let dc = (cp - lumas[i]) * (cp - lumas[i]);
                    // Log-weight: the largest wins.
                    let l = (dx2[x][ki] + dy2) * inv_space + dc * inv_colour;
                    if l > best.1 {
                        best = (samples[i], l);
                    }
                }
            }
            let chosen = best.0;
            if !is_valid_depth(chosen) {
                *z = INVALID_DEPTH;
                continue;
            }
            let (mut sum, mut wsum) = (0.0f32, 0.0f32);
            for (d, w) in corners(r0, r1, cx, cy.t) {
                if w > 0.0 && is_valid_depth(d) && same_surface(d, chosen, s.same_surface) {
                    sum += d * w;
                    wsum += w;
                }
            }
            *z = if wsum > 0.0 { sum / wsum } else { chosen };
        }
    }
}

/// [`guided`] at factor 2, the one the in-band flag sends, a row at a time and data-parallel:
/// the pixels of a row with even `x` (and those with odd `x`) have their candidates at the same
/// offsets, so each candidate, in the general loop's order, is scored for many of them at once,
/// its spatial term a constant, and the best kept by selects. The same f32 operations in the same
/// order per pixel as [`guided`] (skipped candidates, and the adds of zero-weight corners, which
/// change nothing), so the result is bit-identical.
///
/// With AVX2 or NEON a row kernel (`simd::{avx2,neon}::upsample`) takes 8 or 4 pixels of each
/// parity per step and keeps their best candidates in registers across all nine candidates
/// ([`GuidedRow`]). The baseline loops ([`guided_half_loops`]), for the compiler to vectorise,
/// score one candidate for a whole row before the next.
fn guided_half(level: CpuLevel, low: &DepthView<'_>, g: &YuvFrame, s: &UpsampleSettings, out: &mut DepthImage) {
    #[cfg(target_arch = "x86_64")]
    if level >= CpuLevel::Avx2 {
        // SAFETY: the caller checked that this CPU runs `level`, and Avx2 and above have AVX2.
        return unsafe { guided_half_avx2(low, g, s, out) };
    }
    #[cfg(target_arch = "aarch64")]
    if level >= CpuLevel::Neon {
        // SAFETY: the caller checked that this CPU runs `level`.
        return unsafe { guided_half_neon(low, g, s, out) };
    }
    let _ = level;
    guided_half_loops(low, g, s, out);
}

/// [`guided_half_rows`] with AVX2's row kernel, its own loops compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn guided_half_avx2(low: &DepthView<'_>, g: &YuvFrame, s: &UpsampleSettings, out: &mut DepthImage) {
    // The closure has this function's target features.
    guided_half_rows(low, g, s, out, |row, out| crate::simd::guided_half_row_avx2(row, out));
}

/// [`guided_half_rows`] with NEON's row kernel.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
fn guided_half_neon(low: &DepthView<'_>, g: &YuvFrame, s: &UpsampleSettings, out: &mut DepthImage) {
    // The closure has this function's target features.
    guided_half_rows(low, g, s, out, |row, out| crate::simd::guided_half_row_neon(row, out));
}

/// Pixels of each parity that a SIMD row kernel of [`guided_half`] takes per step: the rows it
/// reads are padded to whole blocks.
pub(crate) const GUIDED_BLOCK: usize = 8;

/// One output row of [`guided_half`] as its SIMD row kernels take it. Every sample row is padded:
/// sample `i` at `i + 1`, one pad before and, after the last, pads up to a whole block and one
/// more, so that pixels `2i` and `2i + 1` read their candidates `i - 1, i, i + 1` at `i, i + 1,
/// i + 2` without a bounds test. A pad's luma is infinite: its log-weight is -inf, which never
/// beats the best so far (that starts at -inf), so a missing candidate is skipped as in
/// [`guided`]. A pad's depth after the last sample is that sample: the right-hand corner
/// clamped, as in [`axis`].
pub(crate) struct GuidedRow<'a> {
    /// The candidate sample rows `j0 - 1, j0, j0 + 1` that exist, in that order: padded lumas,
    /// padded depths, and their vertical distance to the pixel row in pixels (`2 oj - (y % 2)`).
    pub(crate) rows: &'a [(&'a [f32], &'a [f32], f32)],
    /// The padded sample rows above (`j0`) and below (`j1`) the pixel row: the corners.
    pub(crate) r0: &'a [f32],
    pub(crate) r1: &'a [f32],
    /// The pixels' lumas of even and odd `x` (pixel `2i + px` at `cp[px][i]`), padded to whole
    /// blocks.
    pub(crate) cp: [&'a [f32]; 2],
    /// Whether the row's `y` is odd.
    pub(crate) odd_row: bool,
    /// `-1 / (2 sigma_space^2)`, `-1 / (2 sigma_colour^2)` and the same-surface tolerance.
    pub(crate) inv_space: f32,
    pub(crate) inv_colour: f32,
    pub(crate) tolerance: f32,
}

impl GuidedRow<'_> {
    /// The spatial log-weights of the candidates, `[r][oi][px]`: candidate `oi - 1` of row
    /// `rows[r]` for pixels of parity `px` (rows that do not exist left 0). The f32 operations of
    /// [`guided`]: exact squared distances, one rounding in the product.
    pub(crate) fn spaces(&self) -> [[[f32; 2]; 3]; 3] {
        let mut spaces = [[[0.0f32; 2]; 3]; 3];
        for (&(_, _, dy), by_oi) in self.rows.iter().zip(spaces.iter_mut()) {
            for (oi, by_px) in by_oi.iter_mut().enumerate() {
                for (px, space) in by_px.iter_mut().enumerate() {
                    let dx = (2 * oi as isize - 2 - px as isize) as f32;
                    *space = (dx * dx + dy * dy) * self.inv_space;
                }
            }
        }
        spaces
    }

    /// [`half_corner_weights`] for pixels of parity `px` in this row.
    #[inline(always)]
    pub(crate) fn weights(&self, px: usize) -> [f32; 4] {
        half_corner_weights(px == 1, self.odd_row)
    }
}

/// At factor 2, the bilinear weights of a pixel's corners (top-left, top-right, bottom-left,
/// bottom-right) for an odd or even `x` and `y`: 1/2 along an odd axis, zero for the corners
/// [`guided`] leaves out.
#[inline(always)]
fn half_corner_weights(odd_x: bool, odd_y: bool) -> [f32; 4] {
    let (tx, ty) = (if odd_x { 0.5f32 } else { 0.0 }, if odd_y { 0.5f32 } else { 0.0 });
    [(1.0 - tx) * (1.0 - ty), tx * (1.0 - ty), (1.0 - tx) * ty, tx * ty]
}

/// The rows of [`guided_half`] for a SIMD row kernel: pads each sample row once, as the rows
/// advance, and each guide row as it comes (see [`GuidedRow`]).
#[inline(always)]
fn guided_half_rows(
    low: &DepthView<'_>,
    g: &YuvFrame,
    s: &UpsampleSettings,
    out: &mut DepthImage,
    kernel: impl Fn(&GuidedRow<'_>, &mut [f32]),
) {
    let scale = 255.0 / f32::from(g.bit_depth.max_code());
    let gw = g.width as usize;
    let width = out.width as usize;
    let (lw, lh) = (low.width as usize, low.height as usize);
    let inv_space = -0.5 / (s.sigma_space * s.sigma_space);
    let inv_colour = -0.5 / (s.sigma_colour * s.sigma_colour);
    let padded = lw.div_ceil(GUIDED_BLOCK) * GUIDED_BLOCK;
    let stride = padded + 2;
    // The padded sample rows a pixel row reads (j0 - 1, j0, j0 + 1) in a ring of four slots, each
    // row padded once as the rows advance: a few kilobytes that stay in cache, not a padded copy
    // of the whole map. A slot holds the row's lumas, then its depths.
    const SLOTS: usize = 4;
    let mut ring = vec![0.0f32; SLOTS * 2 * stride];
    let mut held = [usize::MAX; SLOTS];
    let pad_row = |j: usize, slot: &mut [f32]| {
        let (lrow, drow) = slot.split_at_mut(stride);
        // Every other code of guide row 2j, in pairs (which the compiler vectorises), the last
        // alone where the guide's row ends with it.
        let grow = &g.y[2 * j * gw..];
        let pairs = (2 * lw).min(grow.len()) / 2;
        for (l, p) in lrow[1..=pairs].iter_mut().zip(grow.chunks_exact(2)) {
            *l = f32::from(p[0]) * scale;
        }
        if pairs < lw {
            lrow[lw] = f32::from(grow[2 * (lw - 1)]) * scale;
        }
        lrow[0] = f32::INFINITY;
        lrow[lw + 1..].fill(f32::INFINITY);
        let samples = low.row(j as u32);
        drow[0] = INVALID_DEPTH;
        drow[1..=lw].copy_from_slice(samples);
        drow[lw + 1..].fill(samples[lw - 1]);
    };
    let mut guide_row = vec![0.0f32; 2 * padded];
    let (mut cp0, mut cp1) = (vec![0.0f32; padded], vec![0.0f32; padded]);
    for (y, row) in out.data.chunks_exact_mut(width).enumerate() {
        let (j0, py) = (y / 2, y % 2);
        let j1 = (j0 + 1).min(lh - 1);
        for j in j0.saturating_sub(1)..=j1 {
            if held[j % SLOTS] != j {
                pad_row(j, &mut ring[j % SLOTS * 2 * stride..(j % SLOTS + 1) * 2 * stride]);
                held[j % SLOTS] = j;
            }
        }
        let padded_row = |j: usize| ring[j % SLOTS * 2 * stride..(j % SLOTS + 1) * 2 * stride].split_at(stride);
        for (f, &code) in guide_row.iter_mut().zip(&g.y[y * gw..y * gw + width]) {
            *f = f32::from(code) * scale;
        }
        for ((pair, c0), c1) in guide_row.chunks_exact(2).zip(cp0.iter_mut()).zip(cp1.iter_mut()) {
            *c0 = pair[0];
            *c1 = pair[1];
        }
        let (mut rows, mut n) = ([(&[][..], &[][..], 0.0f32); 3], 0);
        for oj in -1isize..=1 {
            if let Some(j) = j0.checked_add_signed(oj).filter(|&j| j < lh) {
                let (l, d) = padded_row(j);
                rows[n] = (l, d, (2 * oj - py as isize) as f32);
                n += 1;
            }
        }
        let guided_row = GuidedRow {
            rows: &rows[..n],
            r0: padded_row(j0).1,
            r1: padded_row(j1).1,
            cp: [&cp0, &cp1],
            odd_row: py == 1,
            inv_space,
            inv_colour,
            tolerance: s.same_surface,
        };
        kernel(&guided_row, row);
    }
}

/// [`guided_half`]'s baseline loops.
fn guided_half_loops(low: &DepthView<'_>, g: &YuvFrame, s: &UpsampleSettings, out: &mut DepthImage) {
    let scale = 255.0 / f32::from(g.bit_depth.max_code());
    let gw = g.width as usize;
    let inv_space = -0.5 / (s.sigma_space * s.sigma_space);
    let inv_colour = -0.5 / (s.sigma_colour * s.sigma_colour);
    let tolerance = s.same_surface;
    let width = out.width as usize;
    let (lw, lh) = (low.width as usize, low.height as usize);
    let sample_luma: Vec<f32> =
        (0..lh).flat_map(|j| (0..lw).map(move |i| f32::from(g.y[2 * j * gw + 2 * i]) * scale)).collect();
    // Per pixel of one parity: its luma, and the best candidate's log-weight and depth.
    let (mut cp, mut best_l, mut best_d) = (vec![0.0f32; lw], vec![0.0f32; lw], vec![0.0f32; lw]);
    // The two sample rows shifted by one (sample i + 1, clamped to the last), once per row for
    // both parities: the right-hand corners.
    let (mut r0s, mut r1s) = (vec![0.0f32; lw], vec![0.0f32; lw]);
    let shift = |r: &[f32], to: &mut [f32]| {
        to[..lw - 1].copy_from_slice(&r[1..lw]);
        to[lw - 1] = r[lw - 1];
    };
    for (y, row) in out.data.chunks_exact_mut(width).enumerate() {
        let (j0, py) = (y / 2, y % 2);
        let j1 = (j0 + 1).min(lh - 1);
        let (r0, r1) = (low.row(j0 as u32), low.row(j1 as u32));
        shift(r0, &mut r0s);
        shift(r1, &mut r1s);
        let guide_row = &g.y[y * gw..y * gw + width];
        for px in 0..2 {
            // Pixels x = 2i + px, i in 0..n: the samples i0 = i, i1 = min(i + 1, lw - 1).
            let n = (width + 1 - px) / 2;
            for (c, &code) in cp[..n].iter_mut().zip(guide_row[px..].iter().step_by(2)) {
                *c = f32::from(code) * scale;
            }
            best_l[..n].fill(f32::NEG_INFINITY);
            best_d[..n].fill(INVALID_DEPTH);
            // Candidates: samples (i + oi, j0 + oj), oi and oj in -1..=1 where they exist.
            for oj in -1isize..=1 {
                let Some(j) = j0.checked_add_signed(oj).filter(|&j| j < lh) else { continue };
                let dy = (2 * oj - py as isize) as f32;
                let (lumas, depths) = (&sample_luma[j * lw..(j + 1) * lw], low.row(j as u32));
                for oi in -1isize..=1 {
                    let dx = (2 * oi - px as isize) as f32;
                    let space = (dx * dx + dy * dy) * inv_space;
                    // Pixels i whose candidate i + oi exists: from, from + 1, .., to - 1.
                    let from = usize::from(oi < 0);
                    let to = n.min((lw as isize - oi) as usize);
                    if from >= to {
                        continue;
                    }
                    let (k, len) = ((from as isize + oi) as usize, to - from);
                    let (ls, ds) = (&lumas[k..k + len], &depths[k..k + len]);
                    let (c, bl, bd) = (&cp[from..to], &mut best_l[from..to], &mut best_d[from..to]);
                    for (((&c, &sl), &sd), (bl, bd)) in c.iter().zip(ls).zip(ds).zip(bl.iter_mut().zip(bd.iter_mut())) {
                        let l = space + (c - sl) * (c - sl) * inv_colour;
                        // A select by bit mask: the compiler keeps it branch-free and vectorises
                        // the loop (as an `if`, it branched on every pixel).
                        let m = 0u32.wrapping_sub(u32::from(l > *bl));
                        *bl = f32::from_bits((l.to_bits() & m) | (bl.to_bits() & !m));
                        *bd = f32::from_bits((sd.to_bits() & m) | (bd.to_bits() & !m));
                    }
                }
            }
            // The surrounding samples on the chosen one's surface, bilinearly.
            let corners = [&r0[..n], &r0s[..n], &r1[..n], &r1s[..n]];
            let res = &mut cp[..n];
            match (px, py) {
                (0, 0) => blend::<false, false>(&best_d[..n], corners, tolerance, res),
                (1, 0) => blend::<true, false>(&best_d[..n], corners, tolerance, res),
                (0, _) => blend::<false, true>(&best_d[..n], corners, tolerance, res),
                _ => blend::<true, true>(&best_d[..n], corners, tolerance, res),
            }
            for (z, &v) in row[px..].iter_mut().step_by(2).zip(res.iter()) {
                *z = v;
            }
        }
    }
}

/// The last step of [`guided_half`] for the pixels of one parity (`PX`: odd `x`, `PY`: odd `y`):
/// each the mean of its surrounding samples (`corners`: top-left, top-right, bottom-left,
/// bottom-right, per pixel) that lie on its chosen sample's surface, weighted bilinearly (1/2
/// along an odd axis; corners of zero weight left out, as in [`guided`]), or the chosen sample
/// when none does; invalid where the chosen sample is.
#[inline(always)]
fn blend<const PX: bool, const PY: bool>(chosen: &[f32], corners: [&[f32]; 4], tolerance: f32, out: &mut [f32]) {
    let w = half_corner_weights(PX, PY);
    let used = [true, PX, PY, PX && PY];
    let n = out.len();
    let [c0, c1, c2, c3] = corners.map(|c| &c[..n]);
    for i in 0..n {
        let c = chosen[i];
        let d = [c0[i], c1[i], c2[i], c3[i]];
        let (mut sum, mut wsum) = (0.0f32, 0.0f32);
        for k in 0..4 {
            if used[k] {
                let take = on_surface(d[k], c, tolerance);
                sum += if take { d[k] * w[k] } else { 0.0 };
                wsum += if take { w[k] } else { 0.0 };
            }
        }
        let z = if wsum > 0.0 { sum / wsum } else { c };
        out[i] = if valid_lane(c) { z } else { INVALID_DEPTH };
    }
}

/// The upsampler as first written and measured (`results/half-720p/`), one pixel at a time: the
/// definition the faster loops above must match, bit for bit. Public for the unit tests and for
/// `tools/kernel-check` (which runs on aarch64 under qemu), not part of the supported API.
#[doc(hidden)]
pub mod reference {
    use super::{UpsampleSettings, same_surface};
    use crate::depth::{DepthImage, DepthView, INVALID_DEPTH, is_valid_depth};
    use crate::frame::YuvFrame;

    /// Without a guide: bilinear where the four surrounding samples are one surface, else the nearest.
    pub fn unguided(low: &DepthView<'_>, factor: u32, s: &UpsampleSettings, out: &mut DepthImage) {
        let (lw, lh) = (low.width as usize, low.height as usize);
        let f = factor as f32;
        let width = out.width as usize;
        for (y, row) in out.data.chunks_exact_mut(width).enumerate() {
            let fy = y as f32 / f;
            let j0 = (fy.floor() as usize).min(lh - 1);
            let j1 = (j0 + 1).min(lh - 1);
            let ty = fy - j0 as f32;
            for (x, z) in row.iter_mut().enumerate() {
                let fx = x as f32 / f;
                let i0 = (fx.floor() as usize).min(lw - 1);
                let i1 = (i0 + 1).min(lw - 1);
                let tx = fx - i0 as f32;
                let corners = [
                    (low.row(j0 as u32)[i0], (1.0 - tx) * (1.0 - ty)),
                    (low.row(j0 as u32)[i1], tx * (1.0 - ty)),
                    (low.row(j1 as u32)[i0], (1.0 - tx) * ty),
                    (low.row(j1 as u32)[i1], tx * ty),
                ];
                // The nearest sample decides the surface (and whether the pixel is valid).
                let nearest = corners
                    .iter()
                    .fold((INVALID_DEPTH, -1.0f32), |best, &(d, w)| if w > best.1 { (d, w) } else { best })
                    .0;
                if !is_valid_depth(nearest) {
                    *z = INVALID_DEPTH;
                    continue;
                }
                let all_one = corners
                    .iter()
                    .all(|&(d, w)| w == 0.0 || (is_valid_depth(d) && same_surface(d, nearest, s.same_surface)));
                *z = if all_one {
                    corners.iter().map(|&(d, w)| if w == 0.0 { 0.0 } else { d * w }).sum()
                } else {
                    nearest
                };
            }
        }
    }

    /// With a guide: the sample whose colour and position are closest to the pixel's decides the
    /// surface; the pixel is then interpolated bilinearly from the surrounding samples on that surface
    /// (the chosen sample alone when none of them is).
    pub fn guided(low: &DepthView<'_>, factor: u32, g: &YuvFrame, s: &UpsampleSettings, out: &mut DepthImage) {
        let (lw, lh) = (low.width as usize, low.height as usize);
        let fi = factor as usize;
        let f = factor as f32;
        let scale = 255.0 / f32::from(g.bit_depth.max_code());
        let gw = g.width as usize;
        // Luma only: 4:2:0 chroma is one value per 2x2 block, the block of the sample at its top-left
        // corner, so it cannot tell a pixel's side of an edge inside the block, and would pull every
        // pixel towards its own block's sample.
        let luma = |x: usize, y: usize| f32::from(g.y[y * gw + x]) * scale;
        let inv_space = -0.5 / (s.sigma_space * s.sigma_space);
        let inv_colour = -0.5 / (s.sigma_colour * s.sigma_colour);
        let width = out.width as usize;
        for (y, row) in out.data.chunks_exact_mut(width).enumerate() {
            let j0 = (y / fi).min(lh - 1);
            let j1 = (j0 + 1).min(lh - 1);
            let ty = y as f32 / f - j0 as f32;
            for (x, z) in row.iter_mut().enumerate() {
                let i0 = (x / fi).min(lw - 1);
                let i1 = (i0 + 1).min(lw - 1);
                let tx = x as f32 / f - i0 as f32;
                let cp = luma(x, y);
                // Choose among the 3x3 samples around the covering one (every sample within 3 px at
                // factor 2), which include the 2x2 that surround the pixel.
                let mut best = (INVALID_DEPTH, f32::NEG_INFINITY);
                for j in j0.saturating_sub(1)..=(j0 + 1).min(lh - 1) {
                    for i in i0.saturating_sub(1)..=(i0 + 1).min(lw - 1) {
                        let (sx, sy) = (i * fi, j * fi);
                        let (dx, dy) = (sx as f32 - x as f32, sy as f32 - y as f32);
                        let dc = (cp - luma(sx, sy)) * (cp - luma(sx, sy));
                        // Log-weight: the largest wins.
                        let l = (dx * dx + dy * dy) * inv_space + dc * inv_colour;
                        if l > best.1 {
                            best = (low.row(j as u32)[i], l);
                        }
                    }
                }
                let chosen = best.0;
                if !is_valid_depth(chosen) {
                    *z = INVALID_DEPTH;
                    continue;
                }
                let corners = [
                    (low.row(j0 as u32)[i0], (1.0 - tx) * (1.0 - ty)),
                    (low.row(j0 as u32)[i1], tx * (1.0 - ty)),
                    (low.row(j1 as u32)[i0], (1.0 - tx) * ty),
                    (low.row(j1 as u32)[i1], tx * ty),
                ];
                let (mut sum, mut wsum) = (0.0f32, 0.0f32);
                for (d, w) in corners {
                    if w > 0.0 && is_valid_depth(d) && same_surface(d, chosen, s.same_surface) {
                        sum += d * w;
                        wsum += w;
                    }
                }
                *z = if wsum > 0.0 { sum / wsum } else { chosen };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{BitDepth, PackParams, Scheme};
    use crate::{Metrics, pack, unpack};

    #[test]
    fn the_upsampler_matches_its_straightforward_version_bit_for_bit() {
        // Random maps with sky (and NaN, infinite and negative samples), edges and odd sizes,
        // factors 2 and 3, guided (8- and 10-bit) and not.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (w, h, factor) in [(97, 41, 2), (64, 48, 2), (31, 17, 3), (2, 2, 2), (5, 1, 2), (1, 7, 2), (6, 5, 2)] {
            let mut d = DepthImage::new(w, h);
            for z in &mut d.data {
                *z = match next() % 40 {
                    0..=3 => INVALID_DEPTH,
                    4 => f32::NAN,
                    5 => f32::INFINITY,
                    6 => -1.0,
                    7..=16 => 2.0 + (next() % 100) as f32 * 1e-3,
                    _ => 9.0 + (next() % 1000) as f32 * 1e-3,
                };
            }
            let mut g = colour_of(&d);
            g.y.iter_mut().for_each(|y| *y = (*y + (next() % 9) as u16).min(255));
            // A 10-bit guide too (its codes scaled to 8-bit units by a product that rounds).
            let mut g10 = g.clone();
            g10.bit_depth = BitDepth::Ten;
            g10.y.iter_mut().for_each(|y| *y = 4 * *y + (next() % 4) as u16);
            let low = downsample(&d.view(), factor);
            let s = UpsampleSettings::default();
            for guide in [None, Some(&g), Some(&g10)] {
                let mut want = DepthImage::new(w, h);
                match guide {
                    Some(g) => reference::guided(&low.view(), factor, g, &s, &mut want),
                    None => reference::unguided(&low.view(), factor, &s, &mut want),
                }
                let bits = |i: &DepthImage| i.data.iter().map(|z| z.to_bits()).collect::<Vec<_>>();
                // Every level this CPU runs (the baseline loops and, on x86, the AVX2 ones).
                for &level in CpuLevel::compiled().iter().filter(|l| l.is_supported()) {
                    let mut fast = DepthImage::new(w, h);
                    upsample_into_at(level, &low.view(), factor, guide, &s, &mut fast);
                    let case = format!("{w}x{h} factor {factor} guided {} at {}", guide.is_some(), level.name());
                    assert_eq!(bits(&fast), bits(&want), "{case}");
                }
            }
        }
    }

    #[test]
    fn sizes_round_up() {
        assert_eq!(reduced_size(1280, 720, 2), (640, 360));
        assert_eq!(reduced_size(1281, 721, 2), (641, 361));
        assert_eq!(reduced_size(5, 3, 1), (5, 3));
    }

    /// A tilted plane (bilinear rebuilds it exactly) with a box in front whose left edge falls at
    /// odd columns, between samples; sky above row `sky`.
    fn scene(w: u32, h: u32, sky: u32) -> DepthImage {
        let mut d = DepthImage::new(w, h);
        for y in sky..h {
            for x in 0..w {
                let fg = (x as i32 - 13).rem_euclid(32) < 11 && y > h / 3;
                d.data[(y * w + x) as usize] = if fg { 2.0 } else { 8.0 + 0.01 * x as f32 + 0.02 * y as f32 };
            }
        }
        d
    }

    /// The scene's colour: the box red, the wall grey, the sky blue (BT.709 codes, 8-bit).
    fn colour_of(d: &DepthImage) -> YuvFrame {
        let mut c = YuvFrame::new(d.width.next_multiple_of(2), d.height.next_multiple_of(2), BitDepth::Eight);
        let yuv = |z: f32| {
            if !is_valid_depth(z) {
                [60, 200, 110]
            } else if z < 3.0 {
                [80, 110, 220]
            } else {
                [150, 128, 128]
            }
        };
        for y in 0..d.height as usize {
            for x in 0..d.width as usize {
                let [l, u, v] = yuv(d.data[y * d.width as usize + x]);
                c.y[y * c.width as usize + x] = l;
                if x % 2 == 0 && y % 2 == 0 {
                    let i = (y / 2) * c.chroma_width() as usize + x / 2;
                    c.u[i] = u;
                    c.v[i] = v;
                }
            }
        }
        c
    }

    #[test]
    fn samples_are_kept_not_averaged() {
        let d = scene(9, 7, 2);
        let low = downsample(&d.view(), 2);
        assert_eq!((low.width, low.height), (5, 4));
        for j in 0..4 {
            for i in 0..5 {
                assert_eq!(low.data[j * 5 + i].to_bits(), d.data[(2 * j) * 9 + 2 * i].to_bits());
            }
        }
    }

    #[test]
    fn a_plane_comes_back_exactly_and_samples_are_untouched() {
        let mut d = scene(64, 48, 0);
        d.data.iter_mut().enumerate().for_each(|(i, z)| *z = 5.0 + 0.01 * (i % 64) as f32 + 0.003 * (i / 64) as f32);
        let low = downsample(&d.view(), 2);
        for guide in [None, Some(colour_of(&d))] {
            let up = upsample(&low.view(), 2, 64, 48, guide.as_ref(), &UpsampleSettings::default());
            for y in 0..47 {
                for x in 0..63 {
                    let (a, b) = (up.data[y * 64 + x], d.data[y * 64 + x]);
                    assert!((a - b).abs() < 1e-5, "({x}, {y}): {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn the_guide_puts_edge_pixels_on_their_side() {
        let d = scene(128, 64, 6);
        let low = downsample(&d.view(), 2);
        let s = UpsampleSettings::default();
        let m = |up: &DepthImage| Metrics::compute(&d.view(), &up.view(), 1.0, 20.0);
        let unguided = m(&upsample(&low.view(), 2, 128, 64, None, &s));
        let guided = m(&upsample(&low.view(), 2, 128, 64, Some(&colour_of(&d)), &s));
        // Unguided: the nearest sample of an edge pixel between samples may be the wrong side.
        assert!(unguided.max > 5.0, "{unguided:?}");
        // Guided: every pixel on its own surface, no blend across the edge, the sky kept.
        assert!(guided.max < 0.05, "{guided:?}");
        assert_eq!(guided.valid_to_invalid + guided.invalid_to_valid, 0, "{guided:?}");
    }

    #[test]
    fn half_size_round_trips_through_pack_and_the_in_band_bytes() {
        let d = scene(97, 41, 5);
        let mut p = PackParams::new(Scheme::LumaOnly, 10, 1.0, 20.0, 97, 41);
        p.bit_depth = BitDepth::Ten;
        p.half = true;
        let back = PackParams::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(back, p);
        let frame = pack(&d.view(), &p).unwrap();
        assert_eq!((frame.width, frame.height), (50, 22));
        let out = unpack(&frame, &p).unwrap();
        assert_eq!((out.width, out.height), (97, 41));
        // What the packer does is downsample + pack at half size + upsample.
        let low = unpack(&pack(&downsample(&d.view(), 2).view(), &p.packed()).unwrap(), &p.packed()).unwrap();
        let want = upsample(&low.view(), 2, 97, 41, None, &UpsampleSettings::default());
        assert_eq!(out, want);
        let mut guided = DepthImage::new(1, 1);
        crate::Packer::default().unpack_guided_into(&frame, &p, Some(&colour_of(&d)), &mut guided).unwrap();
        let want = upsample(&low.view(), 2, 97, 41, Some(&colour_of(&d)), &UpsampleSettings::default());
        assert_eq!(guided, want);
    }
}
