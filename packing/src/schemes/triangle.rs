//! **Triangle waves**, after Pece, Kautz & Weyrich 2011, "Adapting standard video codecs for
//! depth streaming" (Joint Virtual Reality Conference of EuroVR).
//!
//! Luma carries the coarse depth; chroma carries two triangle waves of period `n_p` levels,
//! a quarter period apart, which give the fine position within a period. With `w = 2^P` levels
//! (here `qspan = 2^P − 1 − q0` levels above the guard, as in [`super::vbp`]), the fine level
//! `m = round(n · qspan)` and the phase `φ = (m mod n_p) / n_p`:
//!
//! ```text
//! Y  = luma-only code of n                              (coarse, B bits, guard for invalid)
//! Ha = tri(φ),  Hb = tri(φ − 1/4)                        tri(x) = 2x for x mod 1 < 1/2, else 2 − 2x
//! U  = round(Ha · (2^B − 1)),  V = round(Hb · (2^B − 1))  one pair per 2x2 block (block mean of m)
//! ```
//!
//! The codes are computed in integers, rounded half to even ([`crate::kernels::triangle`]), so
//! every CPU level and the GPU packer agree for any period.
//!
//! Decoding differs from the paper's in one way that makes it more robust: the phase comes from
//! the chroma pair alone, using whichever wave is in its linear part (`|H − 1/2|` smaller), and the
//! luma only chooses the period: `k = round((m_Y − φ·n_p) / n_p)`, `m = k·n_p + φ·n_p`, clamped to
//! within half a luma step (plus one level) of the luma's own estimate `m_Y`. The paper's decoder
//! picks the wave from the luma and needs luma errors below `n_p/8` levels; this one tolerates
//! luma errors up to `n_p/2`. So periods need `n_p · (2^B − 1 − G) > w`
//! ([`crate::PackParams::period_range`]).
//!
//! **Precision.** The chroma codes resolve the phase to `1/(2 · (2^B − 1))` of a period, so the
//! effective step is `max(1, n_p / (2 · (2^B − 1)))` levels ([`effective_levels`]). A lossless round
//! trip is within half a level (the fine quantiser's rounding) plus half the effective step, or
//! exact to the level when `n_p < 2 · (2^B − 1)` ([`max_error_levels`]). Long periods give coarser
//! steps but smoother, cheaper chroma.
//!
//! **Default period.** `n_p = w / 16` (4096 at `w = 2^16`): a probe on this project's scenes found
//! `n_p = 4096, w = 2^16` far better than the paper's `n_p = 512` under H.264 at low rates, since
//! short periods put many wave cycles, high-frequency chroma, over a depth ramp
//! ([`default_period`]).

use crate::depth::{DepthImage, DepthView};
use crate::frame::YuvFrame;
use crate::kernels::Quant;
use crate::kernels::triangle::{WaveDecode, Waves};
use crate::params::PackParams;
use crate::simd::{self, CpuLevel};

/// The default period for precision `P`: `2^P / 16`, kept within the allowed range.
pub fn default_period(precision: u8, bit_depth: crate::BitDepth) -> u32 {
    let (min, max) = PackParams::period_range(precision, bit_depth);
    ((1u32 << precision) / 16).clamp(min, max)
}

/// Number of distinct steps over the range that a lossless round trip resolves.
pub fn effective_levels(params: &PackParams) -> f32 {
    let fine = Quant::new(params, &params.range().expect("validated"), params.precision).qspan;
    let maxc = f32::from(params.bit_depth.max_code());
    fine / (params.period as f32 / (2.0 * maxc)).max(1.0)
}

/// Largest error of a lossless round trip on flat 2x2 blocks, in levels of `qspan`.
pub fn max_error_levels(params: &PackParams) -> f32 {
    let maxc = f32::from(params.bit_depth.max_code());
    if params.period < 2 * u32::from(params.bit_depth.max_code()) {
        0.5
    } else {
        0.5 + params.period as f32 / (4.0 * maxc)
    }
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
    let coarse = Quant::new(p, &range, p.bit_depth.bits());
    let fine = Quant::new(p, &range, p.precision);
    let waves = Waves::new(p, &fine);
    let (w, h) = (view.width as usize, view.height as usize);
    let fw = f.width as usize;
    let cw = fw / 2;
    for fy in (0..f.height as usize).step_by(2) {
        for (r, q) in [&mut *q0, &mut *q1].into_iter().enumerate() {
            let src = view.row((fy + r).min(h - 1) as u32);
            let y = &mut f.y[(fy + r) * fw..(fy + r + 1) * fw];
            simd::quantise_coarse_fine_row(level, &coarse, &fine, src, &mut y[..w], &mut q[..w]);
            // A padding column repeats the last pixel.
            if fw > w {
                y[w] = y[w - 1];
                q[w] = q[w - 1];
            }
        }
        let c = (fy / 2) * cw..(fy / 2 + 1) * cw;
        simd::block_waves_row(level, &waves, q0, q1, &mut f.u[c.clone()], &mut f.v[c]);
    }
}

pub(crate) fn unpack(level: CpuLevel, f: &YuvFrame, p: &PackParams, out: &mut DepthImage, phase: &mut [f32]) {
    let range = p.range().expect("validated");
    let decode = WaveDecode::new(p, &range);
    let (w, h) = (p.width as usize, p.height as usize);
    let fw = f.width as usize;
    let cw = fw / 2;
    for y0 in (0..h).step_by(2) {
        let c = (y0 / 2) * cw..(y0 / 2 + 1) * cw;
        simd::phase_row(level, &decode, &f.u[c.clone()], &f.v[c], phase);
        for y in y0..(y0 + 2).min(h) {
            let row = &mut out.data[y * w..(y + 1) * w];
            simd::unpack_triangle_row(level, &decode, &f.y[y * fw..y * fw + w], phase, row);
        }
    }
}
