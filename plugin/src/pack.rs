//! GPU packing: the uniform block and output layout of `shaders/pack_depth.wgsl`, and the pass
//! that runs it on captured depth ([`GpuPack`], [`GpuPackPlugin`], [`PackedFrames`]).
//!
//! The shader turns the linear depth of [`crate::capture`] into the encoder's planes, byte for
//! byte what [`depthcast_packing::Packer`] followed by [`YuvFrame::write`] gives on the CPU (the
//! contract test `tests/pack_contract.rs` checks every byte on the software adapter), for every
//! configuration the CPU packs ([`gpu_support`]): luma-only, VBP in both layouts, triangle waves
//! with any period, hue; linear and disparity ranges. Where a shader's float division could round
//! differently from the CPU's (the triangle waves, block means, the disparity mapping's `1/z`),
//! it divides integers, which every GPU does exactly; hue's BT.709 conversion is the CPU's fixed
//! point ([`Ycbcr709Fixed`]), with its coefficients in the uniform.
//!
//! [`YuvFrame::write`]: depthcast_packing::YuvFrame::write

mod pass;

pub use pass::{GpuPack, GpuPackPlugin, PackedFrame, PackedFrames, SPAN_PACK};

use depthcast_packing::kernels::hue::hue_quant;
use depthcast_packing::kernels::{Quant, Split};
use depthcast_packing::{PackParams, PixelFormat, RangeMode, Scheme, VbpLayout, Ycbcr709Fixed};

/// Bytes of the shader's `Params` uniform (40 words; a multiple of 16, as uniforms must be).
pub const PACK_PARAMS_BYTES: usize = 160;
/// Invocations per workgroup of the `pack` entry point.
pub const PACK_TILE: u32 = 64;

const _: () = assert!(PACK_PARAMS_BYTES.is_multiple_of(16));

/// Why a configuration cannot be packed on the GPU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuPackUnsupported {
    /// The parameters are not valid (the CPU packer refuses them too).
    #[error("invalid parameters: {0}")]
    Invalid(String),
    /// The frame does not fit the shader's u32 byte addressing.
    #[error("a {bytes}-byte frame is over the shader's limit of {max} bytes")]
    TooLarge {
        /// Bytes of the frame.
        bytes: usize,
        /// The largest frame the shader addresses.
        max: usize,
    },
}

/// Largest frame the shader addresses: its word index times 4 must stay within u32.
const MAX_FRAME_BYTES: usize = u32::MAX as usize - 3;

/// Whether `params` can be packed by the shader: every configuration that
/// [`PackParams::validate`] accepts, up to frames of 4 GiB.
///
/// # Errors
/// The reason it cannot.
pub fn gpu_support(params: &PackParams) -> Result<(), GpuPackUnsupported> {
    params.validate().map_err(|e| GpuPackUnsupported::Invalid(e.to_string()))?;
    let (fw, fh) = params.frame_size();
    let format = if params.bit_depth.bits() == 8 { PixelFormat::Yuv420p } else { PixelFormat::Yuv420p10le };
    let bytes = format.frame_bytes(fw, fh);
    if bytes > MAX_FRAME_BYTES {
        return Err(GpuPackUnsupported::TooLarge { bytes, max: MAX_FRAME_BYTES });
    }
    Ok(())
}

/// Output layout of one packed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuFrameLayout {
    /// Plane format (`yuv420p` or `yuv420p10le`).
    pub format: PixelFormat,
    /// Luma width in samples.
    pub width: u32,
    /// Luma height in samples (twice the image rows for the VBP luma layout).
    pub height: u32,
    /// Bytes of the frame (Y, then U, then V, tightly packed).
    pub bytes: usize,
    /// u32 words the shader writes (`bytes` rounded up to 4).
    pub words: u32,
}

impl GpuFrameLayout {
    /// Workgroups to dispatch: `(x, y, 1)` with `x ≤ 65535`.
    pub fn workgroups(&self) -> (u32, u32, u32) {
        let groups = self.words.div_ceil(PACK_TILE);
        let x = groups.min(65_535);
        (x, groups.div_ceil(x.max(1)), 1)
    }
}

/// The uniform block for packing a depth buffer of `p.width x p.height` whose rows start
/// `src_offset` f32 into the buffer and are `src_stride` f32 apart.
///
/// # Errors
/// [`gpu_support`] refuses `params`.
pub fn pack_uniform(
    params: &PackParams,
    src_stride: u32,
    src_offset: u32,
) -> Result<([u8; PACK_PARAMS_BYTES], GpuFrameLayout), GpuPackUnsupported> {
    gpu_support(params)?;
    let range = params.range().map_err(|e| GpuPackUnsupported::Invalid(e.to_string()))?;
    let b = params.bit_depth;
    let hue = params.scheme == Scheme::Hue;
    // Hue has no precision (0): its levels are the wheel's 1521 steps above 1.
    let quant = if hue { hue_quant(&range) } else { Quant::new(params, &range, params.precision) };
    let coarse = Quant::new(params, &range, b.bits());
    let split = Split::new(params);
    let ycc = Ycbcr709Fixed::new(b);
    let (fw, fh) = params.frame_size();
    let format = if b.bits() == 8 { PixelFormat::Yuv420p } else { PixelFormat::Yuv420p10le };
    let bytes = format.frame_bytes(fw, fh);
    let kind = match params.scheme {
        Scheme::Hue => 4u32,
        Scheme::Triangle => 3,
        Scheme::Vbp if split.low_bits > 0 && params.layout == VbpLayout::Luma => 2,
        Scheme::Vbp if split.low_bits > 0 => 1,
        _ => 0,
    };
    // Two's complement bits: the shader reads these words as i32.
    let i = i32::cast_unsigned;
    // The shader's `Params`, field by field (vec3<i32> fields start at 16-byte boundaries).
    // A map sent at half size: the shader packs the half-size map, reading every other depth.
    let packed = params.packed();
    let words: [u32; PACK_PARAMS_BYTES / 4] = [
        packed.width,
        packed.height,
        src_stride,
        src_offset,
        fw,
        fh,
        if b.bits() == 8 { 1 } else { 2 },
        kind,
        quant.near.to_bits(),
        quant.far.to_bits(),
        quant.scale.to_bits(),
        quant.qspan.to_bits(),
        quant.q0,
        split.low_bits,
        split.low_max,
        split.base,
        split.step.to_bits(),
        u32::from(b.neutral()),
        coarse.qspan.to_bits(),
        coarse.q0,
        params.period,
        u32::from(b.max_code()),
        u32::try_from(bytes).unwrap_or(u32::MAX),
        u32::from(params.mode == RangeMode::Disparity),
        quant.inv_near.to_bits(),
        i(ycc.offset),
        if params.half { 2 } else { 1 },
        0,
        i(ycc.luma[0]),
        i(ycc.luma[1]),
        i(ycc.luma[2]),
        0,
        i(ycc.cb[0]),
        i(ycc.cb[1]),
        i(ycc.cb[2]),
        0,
        i(ycc.cr[0]),
        i(ycc.cr[1]),
        i(ycc.cr[2]),
        0,
    ];
    let mut out = [0u8; PACK_PARAMS_BYTES];
    for (i, w) in words.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    let layout = GpuFrameLayout {
        format,
        width: fw,
        height: fh,
        bytes,
        words: u32::try_from(bytes.div_ceil(4)).unwrap_or(u32::MAX),
    };
    Ok((out, layout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use depthcast_packing::BitDepth;

    fn params(scheme: Scheme, precision: u8, bits: BitDepth, w: u32, h: u32) -> PackParams {
        PackParams { bit_depth: bits, ..PackParams::new(scheme, precision, 0.5, 20.0, w, h) }
    }

    #[test]
    fn every_valid_configuration_packs_on_the_gpu() {
        let mut p = params(Scheme::Vbp, 14, BitDepth::Eight, 64, 48);
        assert_eq!(gpu_support(&p), Ok(()));
        p.mode = RangeMode::Disparity;
        assert_eq!(gpu_support(&p), Ok(()));
        assert_eq!(gpu_support(&params(Scheme::Hue, 0, BitDepth::Ten, 64, 48)), Ok(()));
        let mut tri = PackParams { period: 4096, ..params(Scheme::Triangle, 16, BitDepth::Eight, 64, 48) };
        assert_eq!(gpu_support(&tri), Ok(()));
        tri.period = 3000;
        assert_eq!(gpu_support(&tri), Ok(()));
        // What the CPU packer refuses, the GPU refuses too.
        tri.period = 1 << 16;
        assert!(matches!(gpu_support(&tri), Err(GpuPackUnsupported::Invalid(_))));
        assert_eq!(gpu_support(&PackParams { half: true, ..p }), Ok(()));
        let huge = PackParams { layout: VbpLayout::Luma, ..params(Scheme::Vbp, 16, BitDepth::Ten, 65534, 32766) };
        assert!(matches!(gpu_support(&huge), Err(GpuPackUnsupported::TooLarge { .. })));
    }

    /// The shader's `recip` (`pack_depth.wgsl`) step by step: the correctly rounded `1 / z`.
    fn recip_model(z: f32) -> f32 {
        let bits = z.to_bits();
        let e = bits >> 23;
        if e == 0 {
            return f32::MAX;
        }
        let m = (bits & 0x7f_ffff) | 0x80_0000;
        let (mut q, mut r) = (0x100_0000 / m, 0x100_0000 % m);
        for shift in [8, 8, 7] {
            q = (q << shift) | ((r << shift) / m);
            r = (r << shift) % m;
        }
        if 2 * r > m || (2 * r == m && q & 1 == 1) {
            q += 1;
        }
        f32::from_bits(((252 - e) << 23) + q)
    }

    #[test]
    fn the_shaders_reciprocal_is_the_cpus_division() {
        // Every significand at one exponent (the long division does not see the exponent), then
        // samples across the exponents a depth may have.
        for bits in 0x3f80_0000u32..0x4000_0000 {
            let z = f32::from_bits(bits);
            assert_eq!(recip_model(z).to_bits(), (1.0 / z).to_bits(), "1/{z}");
        }
        for e in 1u32..=252 {
            for m in (0..0x80_0000).step_by(65_537).chain([0, 1, 0x7f_ffff]) {
                let z = f32::from_bits(e << 23 | m);
                assert_eq!(recip_model(z).to_bits(), (1.0 / z).to_bits(), "1/{z}");
            }
        }
    }

    /// The shader's branch-free hue wheel (`hue_rgb`) is `level_to_rgb`.
    #[test]
    fn the_shaders_hue_wheel_is_the_cpus() {
        let wheel = |d: i32| {
            [(d - 765).abs() - 255, 510 - (d - 510).abs(), 510 - (d - 1020).abs()].map(|c| c.clamp(0, 255) as u8)
        };
        for d in 0..depthcast_packing::schemes::hue::HUE_LEVELS {
            assert_eq!(wheel(d as i32), depthcast_packing::schemes::hue::level_to_rgb(d), "level {d}");
        }
    }

    #[test]
    fn layout_matches_the_cpu_frame() {
        for (p, tall) in [
            (params(Scheme::Vbp, 16, BitDepth::Ten, 33, 17), false),
            (PackParams { layout: VbpLayout::Luma, ..params(Scheme::Vbp, 14, BitDepth::Eight, 33, 17) }, true),
            (params(Scheme::Hue, 0, BitDepth::Ten, 33, 17), false),
        ] {
            let (_, l) = pack_uniform(&p, 64, 4).expect("supported");
            assert_eq!((l.width, l.height), (34, if tall { 36 } else { 18 }));
            let f = depthcast_packing::YuvFrame::new(l.width, l.height, p.bit_depth);
            let mut bytes = Vec::new();
            f.write(l.format, &mut bytes).expect("write");
            assert_eq!(bytes.len(), l.bytes);
            assert_eq!(l.words as usize, l.bytes.div_ceil(4));
        }
    }
}
