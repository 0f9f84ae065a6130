//! Row kernels of the triangle-wave scheme ([`crate::schemes::triangle`]): the scalar reference
//! every SIMD level and the WGSL packer match bit for bit.
//!
//! The wave codes are computed in integers: `U = round(tri(r / n_p) · (2^B − 1))` with
//! `r = m mod n_p` is `round(2r · (2^B − 1) / n_p)` (or its mirror), and `V`, the wave a quarter
//! period later, is the same with `s = (4r − n_p) mod 4n_p` over `4n_p`. Divisions round half to
//! even, as the float form did; with a power-of-two period the two give the same codes (the float
//! steps were exact), with any other period the integer form is the exactly rounded one, which a
//! GPU can reproduce (shaders may round a float division differently).

use super::Quant;
use crate::params::PackParams;
use crate::range::DepthRange;

/// `round(a / b)`, ties to even.
#[inline(always)]
pub fn div_round_even(a: u32, b: u32) -> u32 {
    let (q, r) = (a / b, a % b);
    if 2 * r > b || (2 * r == b && q & 1 == 1) { q + 1 } else { q }
}

/// Constants of the triangle scheme's chroma: the period and the plane's codes.
#[derive(Debug, Clone, Copy)]
pub struct Waves {
    /// Period `n_p` in fine levels.
    pub period: u32,
    /// Largest plane code `2^B − 1`.
    pub max_code: u32,
    /// Chroma code of a block with no valid pixel.
    pub neutral: u16,
    /// First valid fine level: the waves run on `m = level − q0`.
    pub q0: u32,
}

impl Waves {
    /// Constants for `params` (a triangle scheme) with its fine quantiser `fine`.
    pub fn new(params: &PackParams, fine: &Quant) -> Waves {
        Waves {
            period: params.period,
            max_code: u32::from(params.bit_depth.max_code()),
            neutral: params.bit_depth.neutral(),
            q0: fine.q0,
        }
    }

    /// U and V codes of the fine level index `m`: the two triangle waves at phase `m mod n_p`
    /// and a quarter period later.
    #[inline(always)]
    pub fn codes(&self, m: u32) -> (u16, u16) {
        let (np, maxc) = (self.period, self.max_code);
        let r = m % np;
        let u = if 2 * r < np { div_round_even(2 * r * maxc, np) } else { div_round_even(2 * (np - r) * maxc, np) };
        let s = if 4 * r >= np { 4 * r - np } else { 4 * r + 3 * np };
        let v = if s < 2 * np { div_round_even(s * maxc, 2 * np) } else { div_round_even((4 * np - s) * maxc, 2 * np) };
        (u as u16, v as u16)
    }
}

/// `y[x] = coarse.level(src[x])` (the coarse luma code) and `levels[x] = fine.level(src[x])`.
/// Both quantisers must map the same range.
pub fn quantise_coarse_fine_row(coarse: &Quant, fine: &Quant, src: &[f32], y: &mut [u16], levels: &mut [u32]) {
    for ((&z, c), l) in src.iter().zip(y.iter_mut()).zip(levels.iter_mut()) {
        *c = coarse.level(z) as u16;
        *l = fine.level(z);
    }
}

/// Wave codes of 2x2 blocks: each block's `m` is the mean of its valid fine levels less `q0`,
/// rounded half to even; a block with no valid pixel gets neutral chroma.
pub fn block_waves_row(waves: &Waves, q0: &[u32], q1: &[u32], u: &mut [u16], v: &mut [u16]) {
    for (bx, (u, v)) in u.iter_mut().zip(v.iter_mut()).enumerate() {
        let qs = [q0[2 * bx], q0[2 * bx + 1], q1[2 * bx], q1[2 * bx + 1]];
        let count = qs.iter().filter(|&&q| q != 0).count() as u32;
        if count == 0 {
            (*u, *v) = (waves.neutral, waves.neutral);
            continue;
        }
        let sum: u32 = qs.iter().filter(|&&q| q != 0).map(|&q| q - waves.q0).sum();
        (*u, *v) = waves.codes(div_round_even(sum, count));
    }
}

/// Constants of the triangle scheme's decoder. It multiplies by reciprocals where it could divide
/// (as [`Quant::depth`] does): a SIMD division costs as much as the rest of a pixel's work.
#[derive(Debug, Clone, Copy)]
pub struct WaveDecode {
    /// Lowest valid coarse code; codes below `guard / 2` are invalid.
    pub guard: u32,
    /// Largest plane code.
    pub max_code: u32,
    /// `1 / max_code`: wave codes to wave values.
    pub inv_max_code: f32,
    /// `1 / qspan` of the coarse quantiser.
    pub coarse_inv_qspan: f32,
    /// `qspan` of the fine quantiser.
    pub fine_qspan: f32,
    /// `1 / qspan` of the fine quantiser.
    pub fine_inv_qspan: f32,
    /// Period `n_p` as f32.
    pub period: f32,
    /// `1 / n_p`.
    pub inv_period: f32,
    /// How far the decoded level may move from the luma's own estimate: half a luma step in
    /// fine levels, plus one level for the fine quantiser's rounding.
    pub reach: f32,
    /// Whether the decoded level is rounded to a whole level (periods shorter than
    /// `2 · (2^B − 1)`, where the chroma resolves single levels).
    pub round_fine: bool,
    /// The range the levels map.
    pub range: DepthRange,
}

impl WaveDecode {
    /// Constants for `params` (a triangle scheme).
    pub fn new(params: &PackParams, range: &DepthRange) -> WaveDecode {
        let coarse = Quant::new(params, range, params.bit_depth.bits());
        let fine = Quant::new(params, range, params.precision);
        let max_code = u32::from(params.bit_depth.max_code());
        WaveDecode {
            guard: u32::from(params.bit_depth.guard()),
            max_code,
            inv_max_code: 1.0 / max_code as f32,
            coarse_inv_qspan: coarse.inv_qspan,
            fine_qspan: fine.qspan,
            fine_inv_qspan: fine.inv_qspan,
            period: params.period as f32,
            inv_period: 1.0 / params.period as f32,
            reach: 0.5 * fine.qspan / coarse.qspan + 1.0,
            round_fine: params.period < 2 * max_code,
            range: *range,
        }
    }

    /// Depth of one pixel from its luma code and its block's two wave codes.
    #[inline(always)]
    pub fn depth(&self, y: u16, u: u16, v: u16) -> f32 {
        self.depth_at(y, self.phase_level(u, v))
    }

    /// Depth of one pixel from its luma code and its block's [`WaveDecode::phase_level`].
    #[inline(always)]
    pub fn depth_at(&self, y: u16, m_ph: f32) -> f32 {
        let c = u32::from(y);
        if c < self.guard / 2 {
            return crate::INVALID_DEPTH;
        }
        let c = c.clamp(self.guard, self.max_code);
        let m_y = (c - self.guard) as f32 * self.coarse_inv_qspan * self.fine_qspan;
        let k = ((m_y - m_ph) * self.inv_period).round_ties_even();
        let mut m = (k * self.period + m_ph).clamp(m_y - self.reach, m_y + self.reach).clamp(0.0, self.fine_qspan);
        if self.round_fine {
            m = m.round_ties_even();
        }
        self.range.denormalise(m * self.fine_inv_qspan)
    }

    /// The position within the period, in fine levels, that a block's two wave codes give.
    #[inline(always)]
    pub fn phase_level(&self, u: u16, v: u16) -> f32 {
        let ha = (f32::from(u) * self.inv_max_code).min(1.0);
        let hb = (f32::from(v) * self.inv_max_code).min(1.0);
        phase(ha, hb) * self.period
    }
}

/// Phase in `[0, 1)` from the two wave values in `[0, 1]`, read from whichever wave is in its
/// linear part (`|H − 1/2|` smaller).
#[inline(always)]
pub fn phase(ha: f32, hb: f32) -> f32 {
    let ph = if (ha - 0.5).abs() <= (hb - 0.5).abs() {
        if hb < 0.5 { ha * 0.5 } else { 1.0 - ha * 0.5 }
    } else if ha < 0.5 {
        (0.5 - hb) * 0.5
    } else {
        (hb + 0.5) * 0.5
    };
    ph - ph.floor()
}

/// `phase[i] = decode.phase_level(u[i], v[i])`: one chroma row, shared by two rows of pixels.
pub fn phase_row(decode: &WaveDecode, u: &[u16], v: &[u16], phase: &mut [f32]) {
    for ((p, &u), &v) in phase.iter_mut().zip(u).zip(v) {
        *p = decode.phase_level(u, v);
    }
}

/// `out[x] = decode.depth_at(y[x], phase[x / 2])`: one row of a frame, with its chroma row's
/// [`phase_row`].
pub fn unpack_triangle_row(decode: &WaveDecode, y: &[u16], phase: &[f32], out: &mut [f32]) {
    for (x, (o, &c)) in out.iter_mut().zip(y).enumerate() {
        *o = decode.depth_at(c, phase[x / 2]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tri(x: f32) -> f32 {
        let x = x - x.floor();
        if x < 0.5 { 2.0 * x } else { 2.0 - 2.0 * x }
    }

    #[test]
    fn integer_waves_are_the_exactly_rounded_float_waves() {
        // Against the float form in f64 (exact for these sizes): equal except where the exact
        // value is a tie, which the integer form breaks to even.
        for (period, max_code) in [(4096, 255), (1000, 255), (262, 255), (300, 1023), (65536, 1023), (17, 255)] {
            let w = Waves { period, max_code, neutral: 128, q0: 0 };
            for m in (0..3 * period).step_by(1 + period as usize / 500) {
                let (u, v) = w.codes(m);
                let ph = f64::from(m % period) / f64::from(period);
                let tri64 = |x: f64| {
                    let x = x - x.floor();
                    if x < 0.5 { 2.0 * x } else { 2.0 - 2.0 * x }
                };
                for (code, want) in [(u, tri64(ph) * f64::from(max_code)), (v, tri64(ph - 0.25) * f64::from(max_code))]
                {
                    assert!((f64::from(code) - want).abs() <= 0.5 + 1e-9, "period {period} m {m}: {code} vs {want}");
                }
            }
        }
    }

    #[test]
    fn power_of_two_periods_keep_the_float_codes() {
        for period in [16u32, 256, 4096, 32768] {
            let w = Waves { period, max_code: 255, neutral: 128, q0: 0 };
            for m in 0..2 * period {
                let ph = (m % period) as f32 / period as f32;
                let want =
                    ((tri(ph) * 255.0).round_ties_even() as u16, (tri(ph - 0.25) * 255.0).round_ties_even() as u16);
                assert_eq!(w.codes(m), want, "period {period} m {m}");
            }
        }
    }

    #[test]
    fn phase_inverts_the_waves() {
        for i in 0..1000 {
            let ph = i as f32 / 1000.0;
            let got = phase(tri(ph), tri(ph - 0.25));
            let d = (got - ph).abs().min(1.0 - (got - ph).abs());
            assert!(d < 1e-5, "phase {ph} decoded as {got}");
        }
    }

    #[test]
    fn rounded_division() {
        for (a, b, q) in [(5, 2, 2), (7, 2, 4), (7, 3, 2), (8, 3, 3), (0, 3, 0), (6, 4, 2), (10, 4, 2), (14, 4, 4)] {
            assert_eq!(div_round_even(a, b), q, "{a}/{b}");
        }
    }
}
