//! Copies between packing's [`YuvFrame`] planes and FFmpeg frames, row by row (FFmpeg rows are
//! padded to `linesize`). No swscale and no colour conversion: codes go through unchanged.

use depthcast_packing::{BitDepth, PixelFormat, YuvFrame};
use ff::format::Pixel;
use ffmpeg_next as ff;

use crate::error::{CodecError, Result};

/// FFmpeg's pixel format for a packing format.
pub(crate) fn av_format(f: PixelFormat) -> Pixel {
    match f {
        PixelFormat::Yuv420p => Pixel::YUV420P,
        PixelFormat::Yuv420p10le => Pixel::YUV420P10LE,
        PixelFormat::Nv12 => Pixel::NV12,
        PixelFormat::P010 => Pixel::P010LE,
    }
}

/// Writes `src` into `dst`, which must already be allocated as `format` at `src`'s size and be
/// writable.
pub(crate) fn fill_frame(src: &YuvFrame, dst: &mut ff::frame::Video, format: PixelFormat) {
    let (w, h) = (src.width as usize, src.height as usize);
    let (cw, ch) = (w / 2, h / 2);
    let put8 = |dst: &mut ff::frame::Video, plane: usize, codes: &[u16], pw: usize, ph: usize| {
        let stride = dst.stride(plane);
        let data = dst.data_mut(plane);
        for r in 0..ph {
            let row = &mut data[r * stride..r * stride + pw];
            for (d, &c) in row.iter_mut().zip(&codes[r * pw..(r + 1) * pw]) {
                *d = c as u8;
            }
        }
    };
    let put16 = |dst: &mut ff::frame::Video, plane: usize, codes: &[u16], pw: usize, ph: usize, shift: u32| {
        let stride = dst.stride(plane);
        let data = dst.data_mut(plane);
        for r in 0..ph {
            let row = &mut data[r * stride..r * stride + 2 * pw];
            for (d, &c) in row.chunks_exact_mut(2).zip(&codes[r * pw..(r + 1) * pw]) {
                d.copy_from_slice(&(c << shift).to_le_bytes());
            }
        }
    };
    match format {
        PixelFormat::Yuv420p => {
            put8(dst, 0, &src.y, w, h);
            put8(dst, 1, &src.u, cw, ch);
            put8(dst, 2, &src.v, cw, ch);
        }
        PixelFormat::Yuv420p10le => {
            put16(dst, 0, &src.y, w, h, 0);
            put16(dst, 1, &src.u, cw, ch, 0);
            put16(dst, 2, &src.v, cw, ch, 0);
        }
        PixelFormat::Nv12 | PixelFormat::P010 => {
            let ten = format == PixelFormat::P010;
            if ten {
                put16(dst, 0, &src.y, w, h, 6);
            } else {
                put8(dst, 0, &src.y, w, h);
            }
            let stride = dst.stride(1);
            let data = dst.data_mut(1);
            for r in 0..ch {
                let row = &mut data[r * stride..];
                for x in 0..cw {
                    let (u, v) = (src.u[r * cw + x], src.v[r * cw + x]);
                    if ten {
                        row[4 * x..4 * x + 2].copy_from_slice(&(u << 6).to_le_bytes());
                        row[4 * x + 2..4 * x + 4].copy_from_slice(&(v << 6).to_le_bytes());
                    } else {
                        row[2 * x] = u as u8;
                        row[2 * x + 1] = v as u8;
                    }
                }
            }
        }
    }
}

/// Reads a decoded frame's planes into `out` (reshaped as needed), codes exactly as decoded.
///
/// # Errors
/// [`CodecError::UnsupportedPixelFormat`] for formats other than 4:2:0 8/10-bit planar or
/// semi-planar.
pub(crate) fn read_frame(src: &ff::frame::Video, out: &mut YuvFrame) -> Result<()> {
    let (bits, semi, shift) = match src.format() {
        Pixel::YUV420P | Pixel::YUVJ420P => (BitDepth::Eight, false, 0),
        Pixel::YUV420P10LE => (BitDepth::Ten, false, 0),
        Pixel::NV12 => (BitDepth::Eight, true, 0),
        Pixel::P010LE => (BitDepth::Ten, true, 6),
        other => return Err(CodecError::UnsupportedPixelFormat(format!("{other:?}"))),
    };
    let (w, h) = (src.width() as usize, src.height() as usize);
    if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 {
        return Err(CodecError::Unsupported(format!("decoded frame is {w}x{h}; depthcast frames are even-sized")));
    }
    out.reshape(w as u32, h as u32, bits);
    let (cw, ch) = (w / 2, h / 2);
    let wide = bits == BitDepth::Ten;
    // One loop per sample layout, each simple enough for the compiler to vectorise (a decoded
    // frame is read for every measured encode: the probes, the re-probe's rounds, the sweeps).
    let get = |plane: usize, dst: &mut [u16], pw: usize, ph: usize, step: usize, off: usize| {
        let stride = src.stride(plane);
        let data = src.data(plane);
        let bytes = if wide { 2 } else { 1 };
        for (r, dst) in dst.chunks_exact_mut(pw).take(ph).enumerate() {
            let row = &data[r * stride + off * bytes..][..((pw - 1) * step + 1) * bytes];
            match (wide, step) {
                (false, 1) => dst.iter_mut().zip(row).for_each(|(d, &s)| *d = u16::from(s)),
                (false, _) => dst.iter_mut().zip(row.iter().step_by(step)).for_each(|(d, &s)| *d = u16::from(s)),
                (true, 1) => dst
                    .iter_mut()
                    .zip(row.chunks_exact(2))
                    .for_each(|(d, s)| *d = u16::from_le_bytes([s[0], s[1]]) >> shift),
                (true, _) => dst
                    .iter_mut()
                    .zip(row.chunks(2).step_by(step))
                    .for_each(|(d, s)| *d = u16::from_le_bytes([s[0], s[1]]) >> shift),
            }
        }
    };
    get(0, &mut out.y, w, h, 1, 0);
    if semi {
        get(1, &mut out.u, cw, ch, 2, 0);
        get(1, &mut out.v, cw, ch, 2, 1);
    } else {
        get(1, &mut out.u, cw, ch, 1, 0);
        get(2, &mut out.v, cw, ch, 1, 0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_reads_back_the_codes_written() {
        // Odd-looking widths so FFmpeg pads the rows, and codes that use every bit of the depth.
        let (w, h) = (38, 10);
        for (format, bits) in [
            (PixelFormat::Yuv420p, BitDepth::Eight),
            (PixelFormat::Nv12, BitDepth::Eight),
            (PixelFormat::Yuv420p10le, BitDepth::Ten),
            (PixelFormat::P010, BitDepth::Ten),
        ] {
            let mut src = YuvFrame::new(w, h, bits);
            let max = (1u32 << bits.bits()) - 1;
            let code =
                |k: usize, salt: u32| ((k as u32 * 2_654_435_761u32.wrapping_add(salt)) >> 7) as u16 & max as u16;
            for (plane, salt) in [(&mut src.y, 1), (&mut src.u, 2), (&mut src.v, 3)] {
                plane.iter_mut().enumerate().for_each(|(k, c)| *c = code(k, salt));
            }
            let mut frame = ff::frame::Video::new(av_format(format), w, h);
            fill_frame(&src, &mut frame, format);
            let mut out = YuvFrame::new(2, 2, BitDepth::Eight);
            read_frame(&frame, &mut out).unwrap();
            assert_eq!((out.width, out.height, out.bit_depth), (w, h, bits), "{format:?}");
            assert_eq!((&out.y, &out.u, &out.v), (&src.y, &src.u, &src.v), "{format:?}");
        }
    }
}
