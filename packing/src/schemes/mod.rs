//! The packing schemes, and [`Packer`], which runs any of them with reusable scratch memory.

pub mod hue;
pub mod luma;
pub mod triangle;
pub mod vbp;

use crate::depth::{DepthImage, DepthView};
use crate::error::{PackError, Result};
use crate::frame::YuvFrame;
use crate::params::{PackParams, Scheme};
use crate::resample;
use crate::simd::CpuLevel;

/// Packs and unpacks frames, keeping its scratch rows between calls (no allocation per frame once
/// the size is stable).
#[derive(Debug, Clone)]
pub struct Packer {
    level: CpuLevel,
    q: [Vec<u32>; 2],
    phase: Vec<f32>,
    /// The map at half size, for parameters with [`PackParams::half`].
    half: DepthImage,
}

impl Default for Packer {
    fn default() -> Self {
        Packer::new(CpuLevel::detect())
    }
}

impl Packer {
    /// A packer whose row kernels run at `level` (unsupported levels run scalar).
    pub fn new(level: CpuLevel) -> Self {
        Packer { level, q: [Vec::new(), Vec::new()], phase: Vec::new(), half: DepthImage::new(1, 1) }
    }

    /// The level the kernels run at.
    pub fn level(&self) -> CpuLevel {
        crate::simd::checked(self.level)
    }

    fn scratch(&mut self, width: usize) -> (&mut [u32], &mut [u32]) {
        for q in &mut self.q {
            if q.len() < width {
                q.resize(width, 0);
            }
        }
        let [a, b] = &mut self.q;
        (&mut a[..width], &mut b[..width])
    }

    /// Packs `view` into `frame` (reshaped to [`PackParams::frame_size`] if needed); with
    /// [`PackParams::half`], one sample of each 2x2 block ([`crate::resample::downsample`]).
    ///
    /// # Errors
    /// Invalid parameters, or a view whose size differs from `params.width x params.height`.
    pub fn pack_into(&mut self, view: &DepthView<'_>, params: &PackParams, frame: &mut YuvFrame) -> Result<()> {
        params.validate()?;
        if params.half && view.width == params.width && view.height == params.height {
            let mut half = std::mem::replace(&mut self.half, DepthImage::new(1, 1));
            resample::downsample_into(view, 2, &mut half);
            let r = self.pack_into(&half.view(), &params.packed(), frame);
            self.half = half;
            return r;
        }
        if view.width != params.width || view.height != params.height {
            return Err(PackError::FrameMismatch {
                got_w: view.width,
                got_h: view.height,
                got_bits: params.bit_depth.bits(),
                want_w: params.width,
                want_h: params.height,
                want_bits: params.bit_depth.bits(),
            });
        }
        let (fw, fh) = params.frame_size();
        frame.reshape(fw, fh, params.bit_depth);
        let level = self.level();
        let (q0, q1) = self.scratch(fw as usize);
        match params.scheme {
            Scheme::LumaOnly | Scheme::Vbp => vbp::pack(level, view, params, frame, q0, q1),
            Scheme::Triangle => triangle::pack(level, view, params, frame, q0, q1),
            Scheme::Hue => hue::pack(level, view, params, frame, q0, q1),
        }
        Ok(())
    }

    /// Unpacks `frame` into `out` (resized to `params.width x params.height`). Invalid pixels
    /// become [`crate::INVALID_DEPTH`]. A map sent at half size ([`PackParams::half`]) is rebuilt
    /// without a guide ([`crate::resample::upsample`]); see [`Self::unpack_guided_into`].
    ///
    /// # Errors
    /// Invalid parameters, or a frame whose size or bit depth is not what `params` produce.
    pub fn unpack_into(&mut self, frame: &YuvFrame, params: &PackParams, out: &mut DepthImage) -> Result<()> {
        self.unpack_guided_into(frame, params, None, out)
    }

    /// [`Self::unpack_into`], a map sent at half size rebuilt with `guide`, the frame's colour
    /// (full size, as an RGB-D receiver decodes it), to find its edges. The guide is ignored for
    /// full-size maps and when its size is not the map's (padded to even).
    ///
    /// # Errors
    /// As [`Self::unpack_into`].
    pub fn unpack_guided_into(
        &mut self,
        frame: &YuvFrame,
        params: &PackParams,
        guide: Option<&YuvFrame>,
        out: &mut DepthImage,
    ) -> Result<()> {
        params.validate()?;
        if params.half {
            let mut half = std::mem::replace(&mut self.half, DepthImage::new(1, 1));
            let r = self.unpack_into(frame, &params.packed(), &mut half);
            if r.is_ok() {
                if out.width != params.width || out.height != params.height {
                    *out = DepthImage::new(params.width, params.height);
                }
                let guide = guide.filter(|g| {
                    (g.width, g.height) == (params.width.next_multiple_of(2), params.height.next_multiple_of(2))
                });
                let settings = resample::UpsampleSettings::default();
                resample::upsample_into_at(self.level(), &half.view(), 2, guide, &settings, out);
            }
            self.half = half;
            return r;
        }
        let (fw, fh) = params.frame_size();
        if frame.width != fw || frame.height != fh || frame.bit_depth != params.bit_depth {
            return Err(PackError::FrameMismatch {
                got_w: frame.width,
                got_h: frame.height,
                got_bits: frame.bit_depth.bits(),
                want_w: fw,
                want_h: fh,
                want_bits: params.bit_depth.bits(),
            });
        }
        let plane_ok = frame.y.len() == (fw * fh) as usize
            && frame.u.len() == (fw * fh / 4) as usize
            && frame.v.len() == frame.u.len();
        if !plane_ok {
            return Err(PackError::BufferTooShort { needed: (fw * fh) as usize, got: frame.y.len() });
        }
        if out.width != params.width || out.height != params.height {
            *out = DepthImage::new(params.width, params.height);
        }
        let level = self.level();
        let (q0, _) = self.scratch(fw as usize);
        match params.scheme {
            Scheme::LumaOnly | Scheme::Vbp => vbp::unpack(level, frame, params, out, q0),
            Scheme::Triangle => {
                self.phase.resize(fw as usize / 2, 0.0);
                triangle::unpack(level, frame, params, out, &mut self.phase)
            }
            Scheme::Hue => hue::unpack(level, frame, params, out),
        }
        Ok(())
    }
}

/// Packs one depth map with the best CPU level. See [`Packer::pack_into`].
///
/// # Errors
/// As [`Packer::pack_into`].
pub fn pack(view: &DepthView<'_>, params: &PackParams) -> Result<YuvFrame> {
    let (fw, fh) = params.frame_size();
    params.validate()?;
    let mut frame = YuvFrame::new(fw, fh, params.bit_depth);
    Packer::default().pack_into(view, params, &mut frame)?;
    Ok(frame)
}

/// Unpacks one frame with the best CPU level. See [`Packer::unpack_into`].
///
/// # Errors
/// As [`Packer::unpack_into`].
pub fn unpack(frame: &YuvFrame, params: &PackParams) -> Result<DepthImage> {
    let mut out = DepthImage::new(params.width.max(1), params.height.max(1));
    Packer::default().unpack_into(frame, params, &mut out)?;
    Ok(out)
}
