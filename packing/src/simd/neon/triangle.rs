//! NEON kernels of the triangle-wave scheme ([`crate::kernels::triangle`]), bit for bit.
//!
//! As in the AVX2 kernels, integer divisions are an f32 estimate corrected once in integers
//! ([`div_floor`]); clamps are compare-and-select, which is `f32::clamp` for zeros of either
//! sign too (`vmaxnmq_f32` orders −0 below +0, `f32::clamp` does not).

use core::arch::aarch64::*;

use super::{LANES, QuantV, has_tail, load_f32, load_u16, load_u32, store_f32, store_u16, store_u32, vector_len};
use crate::kernels::Quant;
use crate::kernels::triangle::{self as scalar, WaveDecode, Waves};

/// `(a / b, a % b)` for `a < 2^28`, `1 ≤ b < 2^28`, quotients below `2^21`; `inv_b = 1 / b`.
/// The truncated estimate is within 1 of the quotient; one signed correction makes it exact.
#[target_feature(enable = "neon")]
#[inline]
fn div_floor(a: uint32x4_t, b: uint32x4_t, inv_b: float32x4_t) -> (uint32x4_t, uint32x4_t) {
    let q = vreinterpretq_s32_u32(vcvtq_u32_f32(vmulq_f32(vcvtq_f32_u32(a), inv_b)));
    let (a, b) = (vreinterpretq_s32_u32(a), vreinterpretq_s32_u32(b));
    let r = vsubq_s32(a, vmulq_s32(q, b));
    let low = vreinterpretq_s32_u32(vcltq_s32(r, vdupq_n_s32(0)));
    let (q, r) = (vaddq_s32(q, low), vaddq_s32(r, vandq_s32(low, b)));
    let high = vreinterpretq_s32_u32(vcgeq_s32(r, b));
    let (q, r) = (vsubq_s32(q, high), vsubq_s32(r, vandq_s32(high, b)));
    (vreinterpretq_u32_s32(q), vreinterpretq_u32_s32(r))
}

/// [`scalar::div_round_even`] of 4 lanes (operands as in [`div_floor`]).
#[target_feature(enable = "neon")]
#[inline]
fn div_round_even(a: uint32x4_t, b: uint32x4_t, inv_b: float32x4_t) -> uint32x4_t {
    let (q, r) = div_floor(a, b, inv_b);
    let twice = vaddq_u32(r, r);
    let up = vorrq_u32(vcgtq_u32(twice, b), vandq_u32(vceqq_u32(twice, b), super::odd(q)));
    vsubq_u32(q, up)
}

/// [`Waves`] broadcast to every lane.
struct WavesV {
    period: uint32x4_t,
    period2: uint32x4_t,
    period3: uint32x4_t,
    period4: uint32x4_t,
    inv_period: float32x4_t,
    inv_period2: float32x4_t,
    max_code: uint32x4_t,
    q0: uint32x4_t,
    neutral: uint32x4_t,
}

impl WavesV {
    #[target_feature(enable = "neon")]
    #[inline]
    fn new(w: &Waves) -> WavesV {
        let np = w.period;
        WavesV {
            period: vdupq_n_u32(np),
            period2: vdupq_n_u32(2 * np),
            period3: vdupq_n_u32(3 * np),
            period4: vdupq_n_u32(4 * np),
            inv_period: vdupq_n_f32(1.0 / np as f32),
            inv_period2: vdupq_n_f32(1.0 / (2 * np) as f32),
            max_code: vdupq_n_u32(w.max_code),
            q0: vdupq_n_u32(w.q0),
            neutral: vdupq_n_u32(u32::from(w.neutral)),
        }
    }

    /// [`Waves::codes`] of 4 fine level indices `m`.
    #[target_feature(enable = "neon")]
    #[inline]
    fn codes(&self, m: uint32x4_t) -> (uint32x4_t, uint32x4_t) {
        let (_, r) = div_floor(m, self.period, self.inv_period);
        let r2 = vaddq_u32(r, r);
        let a = vbslq_u32(vcltq_u32(r2, self.period), r2, vsubq_u32(self.period2, r2));
        let u = div_round_even(vmulq_u32(a, self.max_code), self.period, self.inv_period);
        let r4 = vaddq_u32(r2, r2);
        let s = vbslq_u32(vcltq_u32(r4, self.period), vaddq_u32(r4, self.period3), vsubq_u32(r4, self.period));
        let a = vbslq_u32(vcltq_u32(s, self.period2), s, vsubq_u32(self.period4, s));
        let v = div_round_even(vmulq_u32(a, self.max_code), self.period2, self.inv_period2);
        (u, v)
    }
}

/// [`scalar::quantise_coarse_fine_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(in crate::simd) unsafe fn quantise_coarse_fine_row(
    coarse: &Quant,
    fine: &Quant,
    src: &[f32],
    y: &mut [u16],
    levels: &mut [u32],
) {
    let (c, f) = (QuantV::new(coarse), QuantV::new(fine));
    let lens = [src.len(), y.len(), levels.len()];
    let n = vector_len(&lens);
    for ((s, yc), l) in src[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(y[..n].as_chunks_mut::<LANES>().0)
        .zip(levels[..n].as_chunks_mut::<LANES>().0)
    {
        let z = load_f32(s);
        // Coarse levels are below 2^16 (B-bit codes): `as u16` keeps them.
        store_u16(yc, c.level(z));
        store_u32(l, f.level(z));
    }
    if has_tail(&lens, n) {
        scalar::quantise_coarse_fine_row(coarse, fine, &src[n..], &mut y[n..], &mut levels[n..]);
    }
}

/// [`scalar::block_waves_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(in crate::simd) unsafe fn block_waves_row(waves: &Waves, q0: &[u32], q1: &[u32], u: &mut [u16], v: &mut [u16]) {
    let c = WavesV::new(waves);
    let (zero, one) = (vdupq_n_u32(0), vdupq_n_u32(1));
    let lens = [u.len(), v.len(), q0.len() / 2, q1.len() / 2];
    let n = vector_len(&lens);
    for (((a, b), uc), vc) in q0[..2 * n]
        .as_chunks::<{ 2 * LANES }>()
        .0
        .iter()
        .zip(q1[..2 * n].as_chunks::<{ 2 * LANES }>().0)
        .zip(u[..n].as_chunks_mut::<LANES>().0)
        .zip(v[..n].as_chunks_mut::<LANES>().0)
    {
        let (a0, a1, b0, b1) = (load_u32(a), load_u32(&a[LANES..]), load_u32(b), load_u32(&b[LANES..]));
        let sum = vpaddq_u32(vaddq_u32(a0, b0), vaddq_u32(a1, b1));
        let valid = |x: uint32x4_t| vandq_u32(vmvnq_u32(vceqq_u32(x, zero)), one);
        let count = vpaddq_u32(vaddq_u32(valid(a0), valid(b0)), vaddq_u32(valid(a1), valid(b1)));
        // The mean of the valid levels (sums below 2^20: exact in f32, and the division rounds
        // once, as scalar's integer rounding does); less q0, which is even, it is the mean of
        // the levels less q0, ties included.
        let mean = vcvtnq_u32_f32(vdivq_f32(vcvtq_f32_u32(sum), vcvtq_f32_u32(vmaxq_u32(count, one))));
        let empty = vceqq_u32(count, zero);
        let (cu, cv) = c.codes(vsubq_u32(vmaxq_u32(mean, c.q0), c.q0));
        store_u16(uc, vbslq_u32(empty, c.neutral, cu));
        store_u16(vc, vbslq_u32(empty, c.neutral, cv));
    }
    if has_tail(&lens, n) {
        scalar::block_waves_row(waves, &q0[2 * n..], &q1[2 * n..], &mut u[n..], &mut v[n..]);
    }
}

/// `x.clamp(lo, hi)` for lanes with `lo ≤ hi` and `x` not NaN.
#[target_feature(enable = "neon")]
#[inline]
pub(super) fn clamp(x: float32x4_t, lo: float32x4_t, hi: float32x4_t) -> float32x4_t {
    let x = vbslq_f32(vcltq_f32(x, lo), lo, x);
    vbslq_f32(vcgtq_f32(x, hi), hi, x)
}

/// [`WaveDecode`] broadcast to every lane.
struct DecodeV {
    disparity: bool,
    round_fine: bool,
    half_guard: uint32x4_t,
    guard: uint32x4_t,
    max_code: uint32x4_t,
    inv_max_code: float32x4_t,
    coarse_inv_qspan: float32x4_t,
    fine_qspan: float32x4_t,
    fine_inv_qspan: float32x4_t,
    period: float32x4_t,
    inv_period: float32x4_t,
    reach: float32x4_t,
    near: float32x4_t,
    inv_near: float32x4_t,
    span: float32x4_t,
}

impl DecodeV {
    #[target_feature(enable = "neon")]
    #[inline]
    fn new(d: &WaveDecode) -> DecodeV {
        DecodeV {
            disparity: d.range.mode == crate::RangeMode::Disparity,
            round_fine: d.round_fine,
            half_guard: vdupq_n_u32(d.guard / 2),
            guard: vdupq_n_u32(d.guard),
            max_code: vdupq_n_u32(d.max_code),
            inv_max_code: vdupq_n_f32(d.inv_max_code),
            coarse_inv_qspan: vdupq_n_f32(d.coarse_inv_qspan),
            fine_qspan: vdupq_n_f32(d.fine_qspan),
            fine_inv_qspan: vdupq_n_f32(d.fine_inv_qspan),
            period: vdupq_n_f32(d.period),
            inv_period: vdupq_n_f32(d.inv_period),
            reach: vdupq_n_f32(d.reach),
            near: vdupq_n_f32(d.range.near),
            inv_near: vdupq_n_f32(d.range.inv_near),
            span: vdupq_n_f32(d.range.span),
        }
    }

    /// [`WaveDecode::phase_level`] of 4 pairs of wave codes.
    #[target_feature(enable = "neon")]
    #[inline]
    fn phase_level(&self, u: uint32x4_t, v: uint32x4_t) -> float32x4_t {
        let (half, one) = (vdupq_n_f32(0.5), vdupq_n_f32(1.0));
        // `f32::min` of non-NaN values: no zero of either sign reaches 1.
        let ha = vminnmq_f32(vmulq_f32(vcvtq_f32_u32(u), self.inv_max_code), one);
        let hb = vminnmq_f32(vmulq_f32(vcvtq_f32_u32(v), self.inv_max_code), one);
        let a_linear = vcleq_f32(vabsq_f32(vsubq_f32(ha, half)), vabsq_f32(vsubq_f32(hb, half)));
        let ha_half = vmulq_f32(ha, half);
        let from_a = vbslq_f32(vcltq_f32(hb, half), ha_half, vsubq_f32(one, ha_half));
        let from_b =
            vbslq_f32(vcltq_f32(ha, half), vmulq_f32(vsubq_f32(half, hb), half), vmulq_f32(vaddq_f32(hb, half), half));
        let ph = vbslq_f32(a_linear, from_a, from_b);
        vmulq_f32(vsubq_f32(ph, vrndmq_f32(ph)), self.period)
    }

    /// [`WaveDecode::depth_at`] of 4 pixels.
    #[target_feature(enable = "neon")]
    #[inline]
    fn depth_at(&self, y: uint32x4_t, m_ph: float32x4_t) -> float32x4_t {
        let invalid = vcltq_u32(y, self.half_guard);
        let c = vminq_u32(vmaxq_u32(y, self.guard), self.max_code);
        let m_y = vmulq_f32(vmulq_f32(vcvtq_f32_u32(vsubq_u32(c, self.guard)), self.coarse_inv_qspan), self.fine_qspan);
        let k = vrndnq_f32(vmulq_f32(vsubq_f32(m_y, m_ph), self.inv_period));
        let m = vaddq_f32(vmulq_f32(k, self.period), m_ph);
        let m = clamp(m, vsubq_f32(m_y, self.reach), vaddq_f32(m_y, self.reach));
        let m = clamp(m, vdupq_n_f32(0.0), self.fine_qspan);
        let m = if self.round_fine { vrndnq_f32(m) } else { m };
        let one = vdupq_n_f32(1.0);
        let n = clamp(vmulq_f32(m, self.fine_inv_qspan), vdupq_n_f32(0.0), one);
        let z = if self.disparity {
            vdivq_f32(one, vsubq_f32(self.inv_near, vmulq_f32(n, self.span)))
        } else {
            vaddq_f32(self.near, vmulq_f32(n, self.span))
        };
        vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(z), invalid))
    }
}

/// [`scalar::phase_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(in crate::simd) unsafe fn phase_row(decode: &WaveDecode, u: &[u16], v: &[u16], phase: &mut [f32]) {
    let c = DecodeV::new(decode);
    let lens = [u.len(), v.len(), phase.len()];
    let n = vector_len(&lens);
    for ((uc, vc), p) in u[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(v[..n].as_chunks::<LANES>().0)
        .zip(phase[..n].as_chunks_mut::<LANES>().0)
    {
        store_f32(p, c.phase_level(load_u16(uc), load_u16(vc)));
    }
    if has_tail(&lens, n) {
        scalar::phase_row(decode, &u[n..], &v[n..], &mut phase[n..]);
    }
}

/// [`scalar::unpack_triangle_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(in crate::simd) unsafe fn unpack_triangle_row(decode: &WaveDecode, y: &[u16], phase: &[f32], out: &mut [f32]) {
    let c = DecodeV::new(decode);
    let n = vector_len(&[y.len(), out.len(), 2 * phase.len()]);
    for (x, (yc, o)) in y[..n].as_chunks::<LANES>().0.iter().zip(out[..n].as_chunks_mut::<LANES>().0).enumerate() {
        // SAFETY: `phase` holds at least `n / 2` f32, and `2x + 2 ≤ n / 2`; 64-bit load.
        let pair = unsafe { vld1_f32(phase[2 * x..2 * x + 2].as_ptr()) };
        store_f32(o, c.depth_at(load_u16(yc), vzip1q_f32(vcombine_f32(pair, pair), vcombine_f32(pair, pair))));
    }
    if has_tail(&[y.len(), out.len()], n) {
        scalar::unpack_triangle_row(decode, &y[n..], &phase[n / 2..], &mut out[n..]);
    }
}
