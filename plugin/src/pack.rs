//! GPU packing: the uniform block and output layout of `shaders/pack_depth.wgsl`, and the pass
//! that runs it on captured depth ([`GpuPack`], [`GpuPackPlugin`], [`PackedFrames`]).
//!
//! The shader turns the linear depth of [`crate::capture`] into the encoder's planes, byte for
//! byte what [`depthcast_packing::Packer`] followed by [`YuvFrame::write`] gives on the CPU (the
//! contract test `tests/pack_contract.rs` checks every byte on the software adapter). What it
//! supports ([`gpu_support`]): luma-only, VBP in both layouts and triangle waves with a
//! power-of-two period, all with the linear range mapping. Hue, disparity ranges and other periods
//! pack on the CPU: they need a division or a table, which shaders may round differently.
//!
//! [`YuvFrame::write`]: depthcast_packing::YuvFrame::write

mod pass;

pub use pass::{GpuPack, GpuPackPlugin, PackedFrame, PackedFrames, SPAN_PACK};

use depthcast_packing::kernels::{Quant, Split};
use depthcast_packing::{PackParams, PixelFormat, RangeMode, Scheme, VbpLayout};

/// Bytes of the shader's `Params` uniform.
pub const PACK_PARAMS_BYTES: usize = 112;
/// Invocations per workgroup of the `pack` entry point.
pub const PACK_TILE: u32 = 64;

/// Why a configuration cannot be packed on the GPU (pack it on the CPU instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuPackUnsupported {
    /// The hue scheme (a colour-wheel table and divisions).
    #[error("the hue scheme packs on the CPU only")]
    Hue,
    /// Disparity ranges need `1 / z`, which shaders may round differently from the CPU.
    #[error("disparity ranges pack on the CPU only (shader division is not correctly rounded)")]
    Disparity,
    /// Triangle periods other than powers of two need a division.
    #[error("triangle period {0} is not a power of two")]
    Period(u32),
    /// The parameters do not describe a valid range.
    #[error("invalid parameters: {0}")]
    Invalid(String),
}

/// Whether `params` can be packed by the shader.
///
/// # Errors
/// The reason it cannot.
pub fn gpu_support(params: &PackParams) -> Result<(), GpuPackUnsupported> {
    params.range().map_err(|e| GpuPackUnsupported::Invalid(e.to_string()))?;
    match params.scheme {
        Scheme::Hue => return Err(GpuPackUnsupported::Hue),
        Scheme::Triangle if !params.period.is_power_of_two() => return Err(GpuPackUnsupported::Period(params.period)),
        _ => {}
    }
    if params.mode == RangeMode::Disparity {
        return Err(GpuPackUnsupported::Disparity);
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
    let quant = Quant::new(params, &range, params.precision);
    let coarse = Quant::new(params, &range, b.bits());
    let split = Split::new(params);
    let (fw, fh) = params.frame_size();
    let format = if b.bits() == 8 { PixelFormat::Yuv420p } else { PixelFormat::Yuv420p10le };
    let bytes = format.frame_bytes(fw, fh);
    let kind = match params.scheme {
        Scheme::Triangle => 3u32,
        Scheme::Vbp if split.low_bits > 0 && params.layout == VbpLayout::Luma => 2,
        Scheme::Vbp if split.low_bits > 0 => 1,
        _ => 0,
    };
    let words: [u32; PACK_PARAMS_BYTES / 4] = [
        params.width,
        params.height,
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
        params.period.max(1),
        (1.0 / params.period.max(1) as f32).to_bits(),
        f32::from(b.max_code()).to_bits(),
        u32::try_from(bytes).unwrap_or(u32::MAX),
        0,
        0,
        0,
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
    fn support_follows_what_the_shader_can_round_exactly() {
        let mut p = params(Scheme::Vbp, 14, BitDepth::Eight, 64, 48);
        assert_eq!(gpu_support(&p), Ok(()));
        p.mode = RangeMode::Disparity;
        assert_eq!(gpu_support(&p), Err(GpuPackUnsupported::Disparity));
        assert_eq!(gpu_support(&params(Scheme::Hue, 0, BitDepth::Eight, 64, 48)), Err(GpuPackUnsupported::Hue));
        let mut tri = PackParams { period: 4096, ..params(Scheme::Triangle, 16, BitDepth::Eight, 64, 48) };
        assert_eq!(gpu_support(&tri), Ok(()));
        tri.period = 3000;
        assert_eq!(gpu_support(&tri), Err(GpuPackUnsupported::Period(3000)));
    }

    #[test]
    fn layout_matches_the_cpu_frame() {
        for (p, tall) in [
            (params(Scheme::Vbp, 16, BitDepth::Ten, 33, 17), false),
            (PackParams { layout: VbpLayout::Luma, ..params(Scheme::Vbp, 14, BitDepth::Eight, 33, 17) }, true),
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
