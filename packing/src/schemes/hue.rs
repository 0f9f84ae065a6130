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
//! For a YUV encoder the RGB image is converted to full-range BT.709 4:2:0
//! ([`crate::RgbImage::to_yuv420`]); chroma subsampling then blurs the hue at depth edges, which is
//! this scheme's known weakness.

use crate::depth::{DepthImage, DepthView};
use crate::frame::{RgbImage, YuvFrame};
use crate::params::PackParams;
use crate::range::DepthRange;

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

fn depth_of_level(range: &DepthRange, d: f32) -> f32 {
    // The wheel closes: a level in the unused gap past HUE_DEPTH_MAX belongs to whichever end of
    // the used arc is nearer around the wheel.
    let top = HUE_DEPTH_MAX as f32;
    let d = if d > top + 0.5 * (HUE_LEVELS as f32 - top) { 0.0 } else { d.min(top) };
    range.denormalise(d / top)
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

pub(crate) fn pack(view: &DepthView<'_>, p: &PackParams, f: &mut YuvFrame) {
    let rgb = pack_rgb(view, p).expect("validated");
    *f = rgb.to_yuv420(p.bit_depth);
}

/// Luma (8-bit units) below which a YUV pixel is invalid: black has Y = 0 and the darkest valid
/// colour, pure blue, has Y = 0.0722 · 255 ≈ 18.4.
const YUV_INVALID_LUMA: f32 = 9.0;

pub(crate) fn unpack(f: &YuvFrame, p: &PackParams, out: &mut DepthImage) {
    // Validity comes from luma, which is per pixel: with 4:2:0 chroma a black pixel next to a
    // coloured one inherits a colour, and a coloured one next to black is desaturated.
    let range = p.range().expect("validated");
    let rgb = RgbImage::from_yuv420(f, p.width, p.height);
    let scale = 255.0 / f32::from(f.bit_depth.max_code());
    let (w, fw) = (p.width as usize, f.width as usize);
    for (i, (o, c)) in out.data.iter_mut().zip(rgb.data.chunks_exact(3)).enumerate() {
        let luma = f32::from(f.y[(i / w) * fw + i % w]) * scale;
        *o = if luma < YUV_INVALID_LUMA {
            crate::INVALID_DEPTH
        } else {
            // No saturation test here: luma already said the pixel is valid.
            depth_of_level(&range, hue_level(f32::from(c[0]), f32::from(c[1]), f32::from(c[2])))
        };
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
