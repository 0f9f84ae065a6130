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
use crate::params::PackParams;

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

#[inline]
fn tri(x: f32) -> f32 {
    let x = x - x.floor();
    if x < 0.5 { 2.0 * x } else { 2.0 - 2.0 * x }
}

/// Phase in `[0, 1)` from the two wave values in `[0, 1]`.
#[inline]
fn phase(ha: f32, hb: f32) -> f32 {
    let ph = if (ha - 0.5).abs() <= (hb - 0.5).abs() {
        if hb < 0.5 { ha * 0.5 } else { 1.0 - ha * 0.5 }
    } else if ha < 0.5 {
        (0.5 - hb) * 0.5
    } else {
        (hb + 0.5) * 0.5
    };
    ph - ph.floor()
}

pub(crate) fn pack(view: &DepthView<'_>, p: &PackParams, f: &mut YuvFrame, q0: &mut [u32], q1: &mut [u32]) {
    let range = p.range().expect("validated");
    let coarse = Quant::new(p, &range, p.bit_depth.bits());
    let fine = Quant::new(p, &range, p.precision);
    let (w, h) = (view.width as usize, view.height as usize);
    let fw = f.width as usize;
    let cw = fw / 2;
    let maxc = f32::from(p.bit_depth.max_code());
    let np = p.period;
    for fy in (0..f.height as usize).step_by(2) {
        for (r, q) in [&mut *q0, &mut *q1].into_iter().enumerate() {
            let src = view.row((fy + r).min(h - 1) as u32);
            let row = &mut f.y[(fy + r) * fw..(fy + r + 1) * fw];
            for x in 0..fw {
                let z = src[x.min(w - 1)];
                row[x] = coarse.level(z) as u16;
                q[x] = fine.level(z);
            }
        }
        for bx in 0..cw {
            let qs = [q0[2 * bx], q0[2 * bx + 1], q1[2 * bx], q1[2 * bx + 1]];
            let count = qs.iter().filter(|&&q| q != 0).count() as u32;
            let ci = (fy / 2) * cw + bx;
            if count == 0 {
                f.u[ci] = p.bit_depth.neutral();
                f.v[ci] = p.bit_depth.neutral();
                continue;
            }
            let sum: u32 = qs.iter().filter(|&&q| q != 0).map(|&q| q - fine.q0).sum();
            let m = (sum as f32 / count as f32).round_ties_even() as u32;
            let ph = (m % np) as f32 / np as f32;
            f.u[ci] = (tri(ph) * maxc).round_ties_even() as u16;
            f.v[ci] = (tri(ph - 0.25) * maxc).round_ties_even() as u16;
        }
    }
}

pub(crate) fn unpack(f: &YuvFrame, p: &PackParams, out: &mut DepthImage) {
    let range = p.range().expect("validated");
    let coarse = Quant::new(p, &range, p.bit_depth.bits());
    let fine = Quant::new(p, &range, p.precision);
    let (w, h) = (p.width as usize, p.height as usize);
    let fw = f.width as usize;
    let cw = fw / 2;
    let maxc = f32::from(p.bit_depth.max_code());
    let guard = u32::from(p.bit_depth.guard());
    let np = p.period as f32;
    // Half a luma step in fine levels, plus one level for the fine quantiser's own rounding.
    let reach = 0.5 * fine.qspan / coarse.qspan + 1.0;
    let round_fine = p.period < 2 * u32::from(p.bit_depth.max_code());
    for y in 0..h {
        for x in 0..w {
            let c = u32::from(f.y[y * fw + x]);
            let o = &mut out.data[y * w + x];
            if c < guard / 2 {
                *o = crate::INVALID_DEPTH;
                continue;
            }
            let c = c.clamp(guard, u32::from(p.bit_depth.max_code()));
            let m_y = (c - guard) as f32 * coarse.inv_qspan * fine.qspan;
            let ci = (y / 2) * cw + x / 2;
            let ha = (f32::from(f.u[ci]) / maxc).min(1.0);
            let hb = (f32::from(f.v[ci]) / maxc).min(1.0);
            let m_ph = phase(ha, hb) * np;
            let k = ((m_y - m_ph) / np).round_ties_even();
            let mut m = (k * np + m_ph).clamp(m_y - reach, m_y + reach).clamp(0.0, fine.qspan);
            if round_fine {
                m = m.round_ties_even();
            }
            *o = range.denormalise(m / fine.qspan);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_inverts_the_waves() {
        for i in 0..1000 {
            let ph = i as f32 / 1000.0;
            let got = phase(tri(ph), tri(ph - 0.25));
            let d = (got - ph).abs().min(1.0 - (got - ph).abs());
            assert!(d < 1e-5, "phase {ph} decoded as {got}");
        }
    }
}
