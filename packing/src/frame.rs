//! Video frame planes ([`YuvFrame`], [`RgbImage`]) and their byte layouts for encoders.

use crate::error::{PackError, Result};
use crate::params::BitDepth;

/// Pixel formats the planes can be written in and read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Planar Y, U, V, 8 bits, chroma at half width and height (FFmpeg `yuv420p`).
    Yuv420p,
    /// Planar Y, U, V, 10 bits in little-endian u16, low bits used (FFmpeg `yuv420p10le`).
    Yuv420p10le,
    /// Y plane then interleaved UV, 8 bits (FFmpeg `nv12`), for hardware encoders.
    Nv12,
    /// Y plane then interleaved UV, 10 bits in the high bits of little-endian u16 (FFmpeg `p010le`).
    P010,
}

impl PixelFormat {
    /// FFmpeg's name of the format.
    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            PixelFormat::Yuv420p => "yuv420p",
            PixelFormat::Yuv420p10le => "yuv420p10le",
            PixelFormat::Nv12 => "nv12",
            PixelFormat::P010 => "p010le",
        }
    }

    /// Bit depth of the samples.
    pub fn bit_depth(self) -> BitDepth {
        match self {
            PixelFormat::Yuv420p | PixelFormat::Nv12 => BitDepth::Eight,
            PixelFormat::Yuv420p10le | PixelFormat::P010 => BitDepth::Ten,
        }
    }

    /// Bytes of a `width x height` frame (both even).
    pub fn frame_bytes(self, width: u32, height: u32) -> usize {
        let luma = width as usize * height as usize;
        let samples = luma + luma / 2;
        match self.bit_depth() {
            BitDepth::Eight => samples,
            BitDepth::Ten => samples * 2,
        }
    }
}

/// A 4:2:0 frame with planes of codes in `u16` (8-bit codes use 0..=255). Full range: codes mean
/// exactly what the packing wrote, with no video-range offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YuvFrame {
    /// Luma width (even).
    pub width: u32,
    /// Luma height (even).
    pub height: u32,
    /// Code range of every plane.
    pub bit_depth: BitDepth,
    /// Luma, `width · height` codes, row-major.
    pub y: Vec<u16>,
    /// Chroma U (Cb), `width/2 · height/2` codes.
    pub u: Vec<u16>,
    /// Chroma V (Cr), `width/2 · height/2` codes.
    pub v: Vec<u16>,
}

impl YuvFrame {
    /// A frame of black luma and neutral chroma.
    ///
    /// # Panics
    /// If a size is odd or zero (packing always pads to even; see [`crate::PackParams::frame_size`]).
    pub fn new(width: u32, height: u32, bit_depth: BitDepth) -> Self {
        assert!(
            width > 0 && height > 0 && width.is_multiple_of(2) && height.is_multiple_of(2),
            "frame {width}x{height} must be even and non-empty"
        );
        let luma = width as usize * height as usize;
        let n = bit_depth.neutral();
        YuvFrame { width, height, bit_depth, y: vec![0; luma], u: vec![n; luma / 4], v: vec![n; luma / 4] }
    }

    /// Chroma plane width.
    pub fn chroma_width(&self) -> u32 {
        self.width / 2
    }

    /// Chroma plane height.
    pub fn chroma_height(&self) -> u32 {
        self.height / 2
    }

    /// Reshapes in place (reusing allocations) and resets to black/neutral when the shape changes.
    pub fn reshape(&mut self, width: u32, height: u32, bit_depth: BitDepth) {
        if self.width != width || self.height != height || self.bit_depth != bit_depth {
            *self = YuvFrame::new(width, height, bit_depth);
        }
    }

    /// Serialises into `out` (cleared first) in `format`, planes tightly packed.
    ///
    /// # Errors
    /// [`PackError::FormatMismatch`] when the format's bit depth differs from the frame's.
    pub fn write(&self, format: PixelFormat, out: &mut Vec<u8>) -> Result<()> {
        if format.bit_depth() != self.bit_depth {
            return Err(PackError::FormatMismatch { format: format.ffmpeg_name(), bits: self.bit_depth.bits() });
        }
        out.clear();
        out.reserve(format.frame_bytes(self.width, self.height));
        match format {
            PixelFormat::Yuv420p => {
                for plane in [&self.y, &self.u, &self.v] {
                    out.extend(plane.iter().map(|&c| c as u8));
                }
            }
            PixelFormat::Yuv420p10le => {
                for plane in [&self.y, &self.u, &self.v] {
                    out.extend(plane.iter().flat_map(|&c| c.to_le_bytes()));
                }
            }
            PixelFormat::Nv12 => {
                out.extend(self.y.iter().map(|&c| c as u8));
                for (&u, &v) in self.u.iter().zip(&self.v) {
                    out.extend([u as u8, v as u8]);
                }
            }
            PixelFormat::P010 => {
                out.extend(self.y.iter().flat_map(|&c| (c << 6).to_le_bytes()));
                for (&u, &v) in self.u.iter().zip(&self.v) {
                    out.extend((u << 6).to_le_bytes());
                    out.extend((v << 6).to_le_bytes());
                }
            }
        }
        Ok(())
    }

    /// Parses bytes written by [`YuvFrame::write`]. Codes above the bit depth's range (possible in
    /// corrupted 10-bit data) are clamped.
    ///
    /// # Errors
    /// Odd or empty size, or fewer bytes than the format needs.
    pub fn read(format: PixelFormat, width: u32, height: u32, bytes: &[u8]) -> Result<YuvFrame> {
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return Err(PackError::EmptySize { width, height });
        }
        let needed = format.frame_bytes(width, height);
        if bytes.len() < needed {
            return Err(PackError::BufferTooShort { needed, got: bytes.len() });
        }
        let bd = format.bit_depth();
        let max = bd.max_code();
        let mut f = YuvFrame::new(width, height, bd);
        let luma = f.y.len();
        let ch = f.u.len();
        let le = |b: &[u8], i: usize| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
        match format {
            PixelFormat::Yuv420p => {
                for (i, c) in f.y.iter_mut().enumerate() {
                    *c = u16::from(bytes[i]);
                }
                for i in 0..ch {
                    f.u[i] = u16::from(bytes[luma + i]);
                    f.v[i] = u16::from(bytes[luma + ch + i]);
                }
            }
            PixelFormat::Yuv420p10le => {
                for (i, c) in f.y.iter_mut().enumerate() {
                    *c = le(bytes, i).min(max);
                }
                for i in 0..ch {
                    f.u[i] = le(bytes, luma + i).min(max);
                    f.v[i] = le(bytes, luma + ch + i).min(max);
                }
            }
            PixelFormat::Nv12 => {
                for (i, c) in f.y.iter_mut().enumerate() {
                    *c = u16::from(bytes[i]);
                }
                for i in 0..ch {
                    f.u[i] = u16::from(bytes[luma + 2 * i]);
                    f.v[i] = u16::from(bytes[luma + 2 * i + 1]);
                }
            }
            PixelFormat::P010 => {
                for (i, c) in f.y.iter_mut().enumerate() {
                    *c = le(bytes, i) >> 6;
                }
                for i in 0..ch {
                    f.u[i] = le(bytes, luma + 2 * i) >> 6;
                    f.v[i] = le(bytes, luma + 2 * i + 1) >> 6;
                }
            }
        }
        Ok(f)
    }
}

/// An 8-bit RGB image, `width · height · 3` bytes, row-major (the hue scheme's native output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Interleaved R, G, B.
    pub data: Vec<u8>,
}

/// Full-range BT.709 RGB (0..=255) to luma and chroma in 8-bit units (not rounded).
#[inline]
pub fn rgb_to_ycbcr709(red: f32, green: f32, blue: f32) -> (f32, f32, f32) {
    let y = 0.2126 * red + 0.7152 * green + 0.0722 * blue;
    (y, (blue - y) / 1.8556 + 128.0, (red - y) / 1.5748 + 128.0)
}

/// Inverse of [`rgb_to_ycbcr709`], in 8-bit units (not clamped or rounded).
#[inline]
pub fn ycbcr709_to_rgb(luma: f32, cb: f32, cr: f32) -> (f32, f32, f32) {
    let (cb, cr) = (cb - 128.0, cr - 128.0);
    let r = luma + 1.5748 * cr;
    let b = luma + 1.8556 * cb;
    let g = (luma - 0.2126 * r - 0.0722 * b) / 0.7152;
    (r, g, b)
}

/// Fixed-point full-range BT.709 RGB → Y'CbCr at a plane bit depth: the conversion of
/// [`RgbImage::to_yuv420`] and of the hue scheme, in integers so that every CPU level and the GPU
/// packer give the same codes.
///
/// The coefficients of [`rgb_to_ycbcr709`] are scaled by `max_code / 255 · 2^16` and rounded
/// (in f64, once, when the constants are made). A pixel's luma code is `(Σ k·c + 2^15) >> 16`;
/// a 2x2 block's chroma code is `(Σ_block Σ k·c + 4 · offset + 2^17) >> 18`, where `offset` is 128
/// scaled the same way: the mean of the four, rounded half up. Codes are clamped to the plane's
/// range. The largest sums (10-bit planes, four pixels) stay below `2^29`: they fit an `i32`
/// everywhere, WGSL included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ycbcr709Fixed {
    /// Luma coefficients of R, G, B.
    pub luma: [i32; 3],
    /// Cb coefficients of R, G, B.
    pub cb: [i32; 3],
    /// Cr coefficients of R, G, B.
    pub cr: [i32; 3],
    /// 128 (the chroma zero) in the same units.
    pub offset: i32,
    /// Largest code of the plane.
    pub max_code: i32,
}

impl Ycbcr709Fixed {
    /// Fractional bits of the coefficients.
    pub const FRAC_BITS: u32 = 16;

    /// The constants for planes of `bit_depth`.
    pub fn new(bit_depth: BitDepth) -> Ycbcr709Fixed {
        let max_code = f64::from(bit_depth.max_code());
        let unit = max_code / 255.0 * f64::from(1u32 << Self::FRAC_BITS);
        let k = |c: f64| (c * unit).round() as i32;
        let (kr, kg, kb) = (0.2126, 0.7152, 0.0722);
        Ycbcr709Fixed {
            luma: [k(kr), k(kg), k(kb)],
            cb: [k(-kr / 1.8556), k(-kg / 1.8556), k((1.0 - kb) / 1.8556)],
            cr: [k((1.0 - kr) / 1.5748), k(-kg / 1.5748), k(-kb / 1.5748)],
            offset: k(128.0),
            max_code: i32::from(bit_depth.max_code()),
        }
    }

    /// `Σ k·c` of one pixel for the coefficients `k`.
    #[inline(always)]
    pub fn dot(k: [i32; 3], red: u8, green: u8, blue: u8) -> i32 {
        k[0] * i32::from(red) + k[1] * i32::from(green) + k[2] * i32::from(blue)
    }

    /// Luma code of one pixel.
    #[inline(always)]
    pub fn luma_code(&self, red: u8, green: u8, blue: u8) -> u16 {
        let sum = Self::dot(self.luma, red, green, blue) + (1 << (Self::FRAC_BITS - 1));
        (sum >> Self::FRAC_BITS).clamp(0, self.max_code) as u16
    }

    /// Chroma code of a 2x2 block from the sum of its four pixels' `Σ k·c` (Cb or Cr).
    #[inline(always)]
    pub fn chroma_code(&self, block_sum: i32) -> u16 {
        let sum = block_sum + 4 * self.offset + (1 << (Self::FRAC_BITS + 1));
        (sum >> (Self::FRAC_BITS + 2)).clamp(0, self.max_code) as u16
    }
}

impl RgbImage {
    /// Converts to full-range BT.709 YUV 4:2:0 at `bit_depth`, chroma averaged over each 2x2 block,
    /// in fixed point ([`Ycbcr709Fixed`]). Odd sizes are padded to even by edge replication.
    pub fn to_yuv420(&self, bit_depth: BitDepth) -> YuvFrame {
        let (w, h) = (self.width.next_multiple_of(2), self.height.next_multiple_of(2));
        let mut f = YuvFrame::new(w, h, bit_depth);
        let k = Ycbcr709Fixed::new(bit_depth);
        let px = |x: u32, y: u32| {
            let (x, y) = (x.min(self.width - 1) as usize, y.min(self.height - 1) as usize);
            let i = 3 * (y * self.width as usize + x);
            (self.data[i], self.data[i + 1], self.data[i + 2])
        };
        for by in 0..h / 2 {
            for bx in 0..w / 2 {
                let (mut cb, mut cr) = (0, 0);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (x, y) = (2 * bx + dx, 2 * by + dy);
                    let (r, g, b) = px(x, y);
                    f.y[(y * w + x) as usize] = k.luma_code(r, g, b);
                    cb += Ycbcr709Fixed::dot(k.cb, r, g, b);
                    cr += Ycbcr709Fixed::dot(k.cr, r, g, b);
                }
                let i = (by * (w / 2) + bx) as usize;
                f.u[i] = k.chroma_code(cb);
                f.v[i] = k.chroma_code(cr);
            }
        }
        f
    }

    /// Converts a full-range BT.709 4:2:0 frame back to RGB, cropped to `width x height`.
    pub fn from_yuv420(frame: &YuvFrame, width: u32, height: u32) -> RgbImage {
        let scale = 255.0 / f32::from(frame.bit_depth.max_code());
        let mut data = Vec::with_capacity(width as usize * height as usize * 3);
        for y in 0..height.min(frame.height) {
            for x in 0..width.min(frame.width) {
                let yy = f32::from(frame.y[(y * frame.width + x) as usize]) * scale;
                let ci = ((y / 2) * (frame.width / 2) + x / 2) as usize;
                let (r, g, b) = ycbcr709_to_rgb(yy, f32::from(frame.u[ci]) * scale, f32::from(frame.v[ci]) * scale);
                data.extend([r, g, b].map(|c| c.round_ties_even().clamp(0.0, 255.0) as u8));
            }
        }
        RgbImage { width, height, data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(bd: BitDepth) -> YuvFrame {
        let mut f = YuvFrame::new(6, 4, bd);
        let m = u32::from(bd.max_code()) + 1;
        for (i, c) in f.y.iter_mut().enumerate() {
            *c = ((i as u32 * 37) % m) as u16;
        }
        for i in 0..f.u.len() {
            f.u[i] = ((i as u32 * 91 + 5) % m) as u16;
            f.v[i] = ((i as u32 * 53 + 9) % m) as u16;
        }
        f
    }

    #[test]
    fn every_format_round_trips() {
        for fmt in [PixelFormat::Yuv420p, PixelFormat::Yuv420p10le, PixelFormat::Nv12, PixelFormat::P010] {
            let f = sample(fmt.bit_depth());
            let mut bytes = Vec::new();
            f.write(fmt, &mut bytes).unwrap();
            assert_eq!(bytes.len(), fmt.frame_bytes(6, 4));
            assert_eq!(YuvFrame::read(fmt, 6, 4, &bytes).unwrap(), f, "{fmt:?}");
            assert!(YuvFrame::read(fmt, 6, 4, &bytes[1..]).is_err());
        }
        assert!(sample(BitDepth::Eight).write(PixelFormat::P010, &mut Vec::new()).is_err());
    }

    #[test]
    fn fixed_point_conversion_matches_the_float_one() {
        // Within one code of rounding the float conversion (the fixed-point coefficients are off by
        // at most 2^-17 of a code per unit of colour).
        for bd in [BitDepth::Eight, BitDepth::Ten] {
            let k = Ycbcr709Fixed::new(bd);
            let scale = f32::from(bd.max_code()) / 255.0;
            for (r, g, b) in [(255, 255, 255), (0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (12, 200, 99)] {
                let (y, u, v) = rgb_to_ycbcr709(f32::from(r), f32::from(g), f32::from(b));
                let max = f32::from(bd.max_code());
                let close =
                    |code: u16, want: f32| (f32::from(code) - (want * scale).clamp(0.0, max)).abs() <= 0.5 + 1e-3;
                assert!(close(k.luma_code(r, g, b), y), "{bd:?} luma of {r},{g},{b}");
                assert!(close(k.chroma_code(4 * Ycbcr709Fixed::dot(k.cb, r, g, b)), u), "{bd:?} cb of {r},{g},{b}");
                assert!(close(k.chroma_code(4 * Ycbcr709Fixed::dot(k.cr, r, g, b)), v), "{bd:?} cr of {r},{g},{b}");
            }
            assert_eq!(k.luma_code(255, 255, 255), bd.max_code());
        }
    }

    #[test]
    fn ycbcr_inverts() {
        for (r, g, b) in [(255.0, 0.0, 0.0), (0.0, 255.0, 0.0), (0.0, 0.0, 255.0), (12.0, 200.0, 99.0)] {
            let (y, u, v) = rgb_to_ycbcr709(r, g, b);
            let (r2, g2, b2) = ycbcr709_to_rgb(y, u, v);
            assert!((r - r2).abs() < 1e-3 && (g - g2).abs() < 1e-3 && (b - b2).abs() < 1e-3);
        }
    }
}
