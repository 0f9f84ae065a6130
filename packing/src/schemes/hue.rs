//! **Hue colourisation**, after Intel RealSense, "Depth image compression by colorization for
//! Intel RealSense depth cameras" (white paper, 2019).
//!
//! The normalised depth is placed on a fully saturated hue wheel of 6 × 255 = 1530 levels,
//! `d = round(n · 1521)` (the white paper floors, which the inverse cannot undo; rounding makes
//! the round trip exact to half a level). The last 8 levels before the wheel closes are left
//! unused ([`HUE_SEAM_GUARD`]): level 1529 differs from level 0 by one code of blue, so codec noise
//! would otherwise swap the far end for the near end (a proptest found exactly that):
//!
//! ```text
//! d ∈ [   0,  255]: (R, G, B) = (255,        d,          0)
//! d ∈ [ 256,  510]:             (510 − d,    255,        0)
//! d ∈ [ 511,  765]:             (0,          255,        d − 510)
//! d ∈ [ 766, 1020]:             (0,          1020 − d,   255)
//! d ∈ [1021, 1275]:             (d − 1020,   0,          255)
//! d ∈ [1276, 1529]:             (255,        0,          1530 − d)
//! invalid:                      (0, 0, 0)
//! ```
//!
//! Decoding finds the largest and smallest channels, which pick the segment, and the position in
//! it from `(mid − min) / (max − min) · 255`, so a codec's loss of saturation does not shift the
//! depth. A pixel whose largest channel is below 128 is invalid. The precision is fixed
//! (`log2 1530 ≈ 10.6` bits); [`crate::PackParams::precision`] is 0 for this scheme.
//!
//! For a YUV encoder the RGB image is converted to full-range BT.709 4:2:0 in fixed point
//! ([`crate::RgbImage::to_yuv420`], [`crate::Ycbcr709Fixed`]; the packer does it row by row with
//! the kernels of [`crate::kernels::hue`]); chroma subsampling then blurs the hue at depth edges,
//! which is this scheme's known weakness.

use crate::depth::{DepthImage, DepthView};
use crate::frame::{RgbImage, Ycbcr709Fixed, YuvFrame};
use crate::kernels::hue::{HueDecode, depth_of_level, hue_quant};
use crate::params::PackParams;
use crate::simd::{self, CpuLevel};

/// Levels on the hue wheel.
pub const HUE_LEVELS: u32 = 1530;

/// Levels left unused before the wheel closes. Level 1529 is (255, 0, 1) and level 0 is
/// (255, 0, 0): one code of codec noise would turn the far end into the near end. Depth uses
/// levels `0..=HUE_DEPTH_MAX`; decoded levels in the gap go to the nearer end.
pub const HUE_SEAM_GUARD: u32 = 8;

/// Largest level a depth is packed to: `HUE_LEVELS − 1 − HUE_SEAM_GUARD` (1521).
pub const HUE_DEPTH_MAX: u32 = HUE_LEVELS - 1 - HUE_SEAM_GUARD;

/// RGB of hue level `level` (0..=1529).
pub fn level_to_rgb(level: u32) -> [u8; 3] {
    let level = level.min(HUE_LEVELS - 1) as i32;
    let (r, g, b) = match level {
        0..=255 => (255, level, 0),
        256..=510 => (510 - level, 255, 0),
        511..=765 => (0, 255, level - 510),
        766..=1020 => (0, 1020 - level, 255),
        1021..=1275 => (level - 1020, 0, 255),
        _ => (255, 0, 1530 - level),
    };
    [r as u8, g as u8, b as u8]
}

/// Hue level (fractional, `0..1530`) of an RGB triple, or `None` when it reads as invalid.
pub fn rgb_to_level(red: f32, green: f32, blue: f32) -> Option<f32> {
    if red.max(green).max(blue) < 128.0 { None } else { Some(hue_level(red, green, blue)) }
}

/// Hue level (fractional, `0..1530`) of any RGB triple, without a validity test; grey gives 0.
pub fn hue_level(red: f32, green: f32, blue: f32) -> f32 {
    let max = red.max(green).max(blue);
    let min = red.min(green).min(blue);
    let c = max - min;
    if c <= 0.0 {
        // Grey: no hue survives; take the wheel's start (only codec damage produces this).
        return 0.0;
    }
    let f = |v: f32| (v - min) / c * 255.0;
    if max == red && min == blue {
        f(green)
    } else if max == green && min == blue {
        510.0 - f(red)
    } else if max == green {
        510.0 + f(blue)
    } else if max == blue && min == red {
        1020.0 - f(green)
    } else if max == blue {
        1020.0 + f(red)
    } else {
        1530.0 - f(blue)
    }
}

/// Packs to RGB (the scheme's native form).
///
/// # Errors
/// Invalid parameters.
pub fn pack_rgb(view: &DepthView<'_>, params: &PackParams) -> crate::Result<RgbImage> {
    let range = params.range()?;
    let mut data = Vec::with_capacity(view.width as usize * view.height as usize * 3);
    for row in view.rows() {
        for &z in row {
            if range.is_valid(z) {
                let d = (range.normalise(z) * HUE_DEPTH_MAX as f32).round_ties_even() as u32;
                data.extend(level_to_rgb(d));
            } else {
                data.extend([0, 0, 0]);
            }
        }
    }
    Ok(RgbImage { width: view.width, height: view.height, data })
}

/// Unpacks RGB produced by [`pack_rgb`] (possibly after a codec).
///
/// # Errors
/// Invalid parameters, or an image of another size or too few bytes.
pub fn unpack_rgb(img: &RgbImage, params: &PackParams) -> crate::Result<DepthImage> {
    let range = params.range()?;
    let n = params.width as usize * params.height as usize;
    if img.width != params.width || img.height != params.height || img.data.len() < 3 * n {
        return Err(crate::PackError::BufferTooShort { needed: 3 * n, got: img.data.len() });
    }
    let mut out = DepthImage::new(params.width, params.height);
    for (o, c) in out.data.iter_mut().zip(img.data.chunks_exact(3)) {
        *o = match rgb_to_level(f32::from(c[0]), f32::from(c[1]), f32::from(c[2])) {
            Some(d) => depth_of_level(&range, d),
            None => crate::INVALID_DEPTH,
        };
    }
    Ok(out)
}

pub(crate) fn pack(
    level: CpuLevel,
    view: &DepthView<'_>,
    p: &PackParams,
    f: &mut YuvFrame,
    q0: &mut [u32],
    q1: &mut [u32],
) {
    let range = p.range().expect("validated");
    let quant = hue_quant(&range);
    let ycc = Ycbcr709Fixed::new(p.bit_depth);
    let (w, h) = (view.width as usize, view.height as usize);
    let fw = f.width as usize;
    let cw = fw / 2;
    for fy in (0..f.height as usize).step_by(2) {
        for (r, q) in [&mut *q0, &mut *q1].into_iter().enumerate() {
            simd::quantise_row(level, &quant, view.row((fy + r).min(h - 1) as u32), &mut q[..w]);
            if fw > w {
                q[w] = q[w - 1];
            }
        }
        let (top, bottom) = f.y[fy * fw..(fy + 2) * fw].split_at_mut(fw);
        let c = (fy / 2) * cw..(fy / 2 + 1) * cw;
        simd::hue_codes_row(level, &ycc, q0, q1, top, bottom, &mut f.u[c.clone()], &mut f.v[c]);
    }
}

pub(crate) fn unpack(level: CpuLevel, f: &YuvFrame, p: &PackParams, out: &mut DepthImage) {
    let range = p.range().expect("validated");
    let decode = HueDecode::new(p, &range);
    let (w, h) = (p.width as usize, p.height as usize);
    let fw = f.width as usize;
    let cw = fw / 2;
    for y in 0..h {
        let c = (y / 2) * cw..(y / 2 + 1) * cw;
        let row = &mut out.data[y * w..(y + 1) * w];
        simd::unpack_hue_row(level, &decode, &f.y[y * fw..y * fw + w], &f.u[c.clone()], &f.v[c], row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_round_trips_in_rgb() {
        for d in 0..HUE_LEVELS {
            let [r, g, b] = level_to_rgb(d);
            let got = rgb_to_level(f32::from(r), f32::from(g), f32::from(b)).unwrap();
            assert_eq!(got, d as f32, "level {d} rgb {r},{g},{b}");
        }
        assert_eq!(rgb_to_level(0.0, 0.0, 0.0), None);
    }

    #[test]
    fn the_row_packer_is_the_rgb_image_converted() {
        // Odd size: padding by edge replication in both; every scheme level through the packer.
        let depth = crate::testdata::game_scene(37, 23, 0.3);
        for bd in [crate::BitDepth::Eight, crate::BitDepth::Ten] {
            let mut p = PackParams::new(crate::Scheme::Hue, 0, 0.4, 30.0, 37, 23);
            p.bit_depth = bd;
            let want = pack_rgb(&depth.view(), &p).unwrap().to_yuv420(bd);
            for &level in crate::CpuLevel::compiled() {
                let mut f = YuvFrame::new(38, 24, bd);
                crate::Packer::new(level).pack_into(&depth.view(), &p, &mut f).unwrap();
                assert_eq!(f, want, "{bd:?} at {level:?}");
            }
        }
    }

    #[test]
    fn desaturation_does_not_shift_hue() {
        // A codec that pulls every channel 20% towards grey keeps the level.
        for d in (0..HUE_LEVELS).step_by(7) {
            let [r, g, b] = level_to_rgb(d).map(f32::from);
            let mix = |c: f32| 0.8 * c + 0.2 * 128.0;
            let got = rgb_to_level(mix(r), mix(g), mix(b)).unwrap();
            assert!((got - d as f32).abs() < 1e-2, "{d} -> {got}");
        }
    }
}
