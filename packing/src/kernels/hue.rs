//! Row kernels of the hue scheme ([`crate::schemes::hue`]) on YUV planes: the scalar reference
//! every SIMD level and the WGSL packer match bit for bit.
//!
//! Packing quantises each depth with a [`Quant`] of 1522 levels above `q0 = 1` (so level 0 still
//! means invalid, and hue level `d = level − 1`), takes the wheel's RGB of `d`
//! ([`crate::schemes::hue::level_to_rgb`]) and converts it in fixed point ([`Ycbcr709Fixed`]):
//! exactly `RgbImage::to_yuv420` of the RGB image. Unpacking is float, pixel by pixel: YUV to RGB,
//! rounded to 8 bits as a decoder's RGB output would be, then the hue level of that RGB.

use super::Quant;
use crate::frame::Ycbcr709Fixed;
use crate::params::PackParams;
use crate::range::DepthRange;
use crate::schemes::hue::{HUE_DEPTH_MAX, HUE_LEVELS, hue_level, level_to_rgb};

/// The quantiser of the hue scheme: levels `1 + round(n · 1521)`, 0 for invalid depths.
pub fn hue_quant(range: &DepthRange) -> Quant {
    Quant::with_levels(range, 1, HUE_DEPTH_MAX as f32)
}

/// Luma codes of two rows and chroma codes of their 2x2 blocks from hue quantiser levels
/// ([`hue_quant`]): level 0 is black. The rows hold `2 · u.len()` levels.
pub fn hue_codes_row(
    ycc: &Ycbcr709Fixed,
    q0: &[u32],
    q1: &[u32],
    y0: &mut [u16],
    y1: &mut [u16],
    u: &mut [u16],
    v: &mut [u16],
) {
    let rgb = |q: u32| if q == 0 { [0, 0, 0] } else { level_to_rgb(q - 1) };
    for (bx, (u, v)) in u.iter_mut().zip(v.iter_mut()).enumerate() {
        let (mut cb, mut cr) = (0, 0);
        for (q, y) in [(q0, &mut *y0), (q1, &mut *y1)] {
            for x in [2 * bx, 2 * bx + 1] {
                let [r, g, b] = rgb(q[x]);
                y[x] = ycc.luma_code(r, g, b);
                cb += Ycbcr709Fixed::dot(ycc.cb, r, g, b);
                cr += Ycbcr709Fixed::dot(ycc.cr, r, g, b);
            }
        }
        *u = ycc.chroma_code(cb);
        *v = ycc.chroma_code(cr);
    }
}

/// Luma (8-bit units) below which a YUV pixel is invalid: black has Y = 0 and the darkest valid
/// colour, pure blue, has Y = 0.0722 · 255 ≈ 18.4.
pub const YUV_INVALID_LUMA: f32 = 9.0;

/// Constants of the hue scheme's YUV decoder.
#[derive(Debug, Clone, Copy)]
pub struct HueDecode {
    /// `255 / max_code`: codes to 8-bit units.
    pub scale: f32,
    /// The range the levels map.
    pub range: DepthRange,
}

impl HueDecode {
    /// Constants for `params` (a hue scheme).
    pub fn new(params: &PackParams, range: &DepthRange) -> HueDecode {
        HueDecode { scale: 255.0 / f32::from(params.bit_depth.max_code()), range: *range }
    }

    /// Depth of one pixel from its luma code and its block's chroma codes. Validity comes from
    /// luma, which is per pixel: with 4:2:0 chroma a black pixel next to a coloured one inherits
    /// a colour, and a coloured one next to black is desaturated.
    #[inline(always)]
    pub fn depth(&self, y: u16, u: u16, v: u16) -> f32 {
        let luma = f32::from(y) * self.scale;
        if luma < YUV_INVALID_LUMA {
            return crate::INVALID_DEPTH;
        }
        // Full-range BT.709 to RGB (the inverse of `rgb_to_ycbcr709`, dividing by the green
        // coefficient as a multiply), rounded to bytes as a decoder's RGB output would be.
        let (cb, cr) = (f32::from(u) * self.scale - 128.0, f32::from(v) * self.scale - 128.0);
        let r = luma + 1.5748 * cr;
        let b = luma + 1.8556 * cb;
        let g = (luma - 0.2126 * r - 0.0722 * b) * INV_GREEN;
        let byte = |c: f32| c.round_ties_even().clamp(0.0, 255.0);
        depth_of_level(&self.range, hue_level(byte(r), byte(g), byte(b)))
    }
}

/// `1 / 0.7152`, the BT.709 green coefficient's reciprocal.
pub const INV_GREEN: f32 = 1.0 / 0.7152;

/// Depth of a (fractional) hue level (`level · (1 / 1521)` on the range). The wheel closes: a level in the unused gap past
/// [`HUE_DEPTH_MAX`] belongs to whichever end of the used arc is nearer around the wheel.
#[inline(always)]
pub fn depth_of_level(range: &DepthRange, level: f32) -> f32 {
    let top = HUE_DEPTH_MAX as f32;
    let level = if level > top + 0.5 * (HUE_LEVELS as f32 - top) { 0.0 } else { level.min(top) };
    range.denormalise(level * (1.0 / top))
}

/// `out[x] = decode.depth(y[x], u[x / 2], v[x / 2])`: one row of a frame.
pub fn unpack_hue_row(decode: &HueDecode, y: &[u16], u: &[u16], v: &[u16], out: &mut [f32]) {
    for (x, (o, &c)) in out.iter_mut().zip(y).enumerate() {
        *o = decode.depth(c, u[x / 2], v[x / 2]);
    }
}
