//! AVX2 kernels of the triangle-wave scheme ([`crate::kernels::triangle`]), bit for bit.
//!
//! Integer divisions (the phase `m mod n_p` and the rounded wave codes) have no AVX2 instruction:
//! [`div_floor`] estimates the quotient in f32 and corrects it once in integers, exact for the
//! operands these kernels see (below `2^28`, quotients below `2^21`).

use core::arch::x86_64::*;

use super::{
    LANES, QuantV, block_mean, has_tail, load_u16, load_u32, narrow_small, odd, store_f32, store_u16, store_u32,
    vector_len,
};
use crate::kernels::Quant;
use crate::kernels::triangle::{self as scalar, WaveDecode, Waves};

/// `(a / b, a % b)` for `0 ≤ a < 2^28` and `1 ≤ b < 2^28` with quotients below `2^21`;
/// `inv_b = 1 / b` in f32. The estimate `trunc(fl(a) · inv_b)` is within `3 · 2^-24` relative
/// of `a / b`, so within 1 of the quotient; one signed correction makes it exact.
#[target_feature(enable = "avx2")]
#[inline]
fn div_floor(a: __m256i, b: __m256i, inv_b: __m256) -> (__m256i, __m256i) {
    let q = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(a), inv_b));
    let r = _mm256_sub_epi32(a, _mm256_mullo_epi32(q, b));
    // r in (−b, 2b): one step down where negative, one step up where at least b.
    let low = _mm256_cmpgt_epi32(_mm256_setzero_si256(), r);
    let (q, r) = (_mm256_add_epi32(q, low), _mm256_add_epi32(r, _mm256_and_si256(low, b)));
    let high = _mm256_cmpgt_epi32(r, _mm256_sub_epi32(b, _mm256_set1_epi32(1)));
    (_mm256_sub_epi32(q, high), _mm256_sub_epi32(r, _mm256_and_si256(high, b)))
}

/// [`scalar::div_round_even`] of 8 lanes (operands as in [`div_floor`]).
#[target_feature(enable = "avx2")]
#[inline]
fn div_round_even(a: __m256i, b: __m256i, inv_b: __m256) -> __m256i {
    let (q, r) = div_floor(a, b, inv_b);
    let twice = _mm256_add_epi32(r, r);
    let up = _mm256_or_si256(_mm256_cmpgt_epi32(twice, b), _mm256_and_si256(_mm256_cmpeq_epi32(twice, b), odd(q)));
    _mm256_sub_epi32(q, up)
}

/// [`Waves`] broadcast to every lane.
struct WavesV {
    period: __m256i,
    period2: __m256i,
    period3: __m256i,
    period4: __m256i,
    inv_period: __m256,
    inv_period2: __m256,
    max_code: __m256i,
    q0: __m256i,
    neutral: __m256i,
    /// `log2 n_p` and `log2 2n_p` (used where the period is a power of two).
    shift: __m128i,
    shift2: __m128i,
}

impl WavesV {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new(w: &Waves) -> WavesV {
        let np = w.period as i32;
        WavesV {
            period: _mm256_set1_epi32(np),
            period2: _mm256_set1_epi32(2 * np),
            period3: _mm256_set1_epi32(3 * np),
            period4: _mm256_set1_epi32(4 * np),
            inv_period: _mm256_set1_ps(1.0 / np as f32),
            inv_period2: _mm256_set1_ps(1.0 / (2 * np) as f32),
            max_code: _mm256_set1_epi32(w.max_code as i32),
            q0: _mm256_set1_epi32(w.q0 as i32),
            neutral: _mm256_set1_epi32(i32::from(w.neutral)),
            shift: _mm_cvtsi32_si128(w.period.trailing_zeros() as i32),
            shift2: _mm_cvtsi32_si128(w.period.trailing_zeros() as i32 + 1),
        }
    }

    /// [`Waves::codes`] of 8 fine level indices `m`. With `POW2` (a power-of-two period, as
    /// every default period is) the divisions are shifts: `round(a / 2^k)` is `a >> k` plus the
    /// rounding of the `k` bits shifted out.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn codes<const POW2: bool>(&self, m: __m256i) -> (__m256i, __m256i) {
        let r = if POW2 {
            _mm256_and_si256(m, _mm256_sub_epi32(self.period, _mm256_set1_epi32(1)))
        } else {
            div_floor(m, self.period, self.inv_period).1
        };
        let r2 = _mm256_add_epi32(r, r);
        // 2r < n_p: 2r, else 2(n_p − r).
        let rising = _mm256_cmpgt_epi32(self.period, r2);
        let a = _mm256_blendv_epi8(_mm256_sub_epi32(self.period2, r2), r2, rising);
        let a = _mm256_mullo_epi32(a, self.max_code);
        let u = if POW2 {
            self.div_pow2(a, self.period, self.shift)
        } else {
            div_round_even(a, self.period, self.inv_period)
        };
        // s = (4r − n_p) mod 4n_p; s < 2n_p: s, else 4n_p − s; over 2n_p.
        let r4 = _mm256_add_epi32(r2, r2);
        let wrap = _mm256_cmpgt_epi32(self.period, r4);
        let s = _mm256_blendv_epi8(_mm256_sub_epi32(r4, self.period), _mm256_add_epi32(r4, self.period3), wrap);
        let rising = _mm256_cmpgt_epi32(self.period2, s);
        let a = _mm256_blendv_epi8(_mm256_sub_epi32(self.period4, s), s, rising);
        let a = _mm256_mullo_epi32(a, self.max_code);
        let v = if POW2 {
            self.div_pow2(a, self.period2, self.shift2)
        } else {
            div_round_even(a, self.period2, self.inv_period2)
        };
        (u, v)
    }

    /// [`scalar::div_round_even`] by `b = 2^shift` (non-negative `a`).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn div_pow2(&self, a: __m256i, b: __m256i, shift: __m128i) -> __m256i {
        let q = _mm256_srl_epi32(a, shift);
        let rem = _mm256_and_si256(a, _mm256_sub_epi32(b, _mm256_set1_epi32(1)));
        let twice = _mm256_add_epi32(rem, rem);
        let up = _mm256_or_si256(_mm256_cmpgt_epi32(twice, b), _mm256_and_si256(_mm256_cmpeq_epi32(twice, b), odd(q)));
        _mm256_sub_epi32(q, up)
    }
}

#[target_feature(enable = "avx2")]
fn quantise_coarse_fine_row_impl<const DISP: bool, const CLAMP: bool>(
    coarse: &Quant,
    fine: &Quant,
    src: &[f32],
    y: &mut [u16],
    levels: &mut [u32],
) {
    let (c, f) = (QuantV::new(coarse), QuantV::new(fine));
    let lens = [src.len(), y.len(), levels.len()];
    let n = vector_len(&lens, LANES);
    for ((s, yc), l) in src[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(y[..n].as_chunks_mut::<LANES>().0)
        .zip(levels[..n].as_chunks_mut::<LANES>().0)
    {
        let z = super::load_f32(s);
        store_u16(yc, narrow_small(c.level::<DISP, CLAMP>(z)));
        store_u32(l, f.level::<DISP, CLAMP>(z));
    }
    if has_tail(&lens, n) {
        scalar::quantise_coarse_fine_row(coarse, fine, &src[n..], &mut y[n..], &mut levels[n..]);
    }
}

/// [`scalar::quantise_coarse_fine_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(in crate::simd) unsafe fn quantise_coarse_fine_row(
    coarse: &Quant,
    fine: &Quant,
    src: &[f32],
    y: &mut [u16],
    levels: &mut [u32],
) {
    // The two quantisers share the range, so they share the flags; coarse codes are below 2^16
    // (narrowing needs no mask) for any plane bit depth.
    match (QuantV::fast(coarse), QuantV::fast(fine)) {
        (Some(flags), Some(fine_flags)) if flags == fine_flags && QuantV::max_level(coarse) <= 0xffff => {
            with_flags!(quantise_coarse_fine_row_impl(coarse, fine, src, y, levels), flags.0, flags.1)
        }
        _ => scalar::quantise_coarse_fine_row(coarse, fine, src, y, levels),
    }
}

#[target_feature(enable = "avx2")]
fn block_waves_row_impl<const POW2: bool>(waves: &Waves, q0: &[u32], q1: &[u32], u: &mut [u16], v: &mut [u16]) {
    // The block mean of the levels less q0 is the mean of the levels less q0: q0 (a guard code
    // shifted left) is even, so subtracting it does not move a tie's even neighbour. Levels are
    // below 2^18, so the block sums are far below block_mean's 2^29.
    let c = WavesV::new(waves);
    let lens = [u.len(), v.len(), q0.len() / 2, q1.len() / 2];
    let n = vector_len(&lens, LANES);
    for (((a, b), uc), vc) in q0[..2 * n]
        .as_chunks::<{ 2 * LANES }>()
        .0
        .iter()
        .zip(q1[..2 * n].as_chunks::<{ 2 * LANES }>().0)
        .zip(u[..n].as_chunks_mut::<LANES>().0)
        .zip(v[..n].as_chunks_mut::<LANES>().0)
    {
        let mean = block_mean(load_u32(a), load_u32(&a[LANES..]), load_u32(b), load_u32(&b[LANES..]));
        let empty = _mm256_cmpeq_epi32(mean, _mm256_setzero_si256());
        // Empty blocks wrap below zero here; their codes are replaced by neutral.
        let (cu, cv) = c.codes::<POW2>(_mm256_sub_epi32(mean, c.q0));
        store_u16(uc, narrow_small(_mm256_blendv_epi8(cu, c.neutral, empty)));
        store_u16(vc, narrow_small(_mm256_blendv_epi8(cv, c.neutral, empty)));
    }
    if has_tail(&lens, n) {
        scalar::block_waves_row(waves, &q0[2 * n..], &q1[2 * n..], &mut u[n..], &mut v[n..]);
    }
}

/// [`scalar::block_waves_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(in crate::simd) unsafe fn block_waves_row(waves: &Waves, q0: &[u32], q1: &[u32], u: &mut [u16], v: &mut [u16]) {
    if waves.period.is_power_of_two() {
        block_waves_row_impl::<true>(waves, q0, q1, u, v);
    } else {
        block_waves_row_impl::<false>(waves, q0, q1, u, v);
    }
}

/// [`WaveDecode`] broadcast to every lane.
struct DecodeV {
    half_guard: __m256i,
    guard: __m256i,
    max_code: __m256i,
    inv_max_code: __m256,
    coarse_inv_qspan: __m256,
    fine_qspan: __m256,
    fine_inv_qspan: __m256,
    period: __m256,
    inv_period: __m256,
    reach: __m256,
    near: __m256,
    inv_near: __m256,
    span: __m256,
}

impl DecodeV {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new(d: &WaveDecode) -> DecodeV {
        DecodeV {
            half_guard: _mm256_set1_epi32((d.guard / 2) as i32),
            guard: _mm256_set1_epi32(d.guard as i32),
            max_code: _mm256_set1_epi32(d.max_code as i32),
            inv_max_code: _mm256_set1_ps(d.inv_max_code),
            coarse_inv_qspan: _mm256_set1_ps(d.coarse_inv_qspan),
            fine_qspan: _mm256_set1_ps(d.fine_qspan),
            fine_inv_qspan: _mm256_set1_ps(d.fine_inv_qspan),
            period: _mm256_set1_ps(d.period),
            inv_period: _mm256_set1_ps(d.inv_period),
            reach: _mm256_set1_ps(d.reach),
            near: _mm256_set1_ps(d.range.near),
            inv_near: _mm256_set1_ps(d.range.inv_near),
            span: _mm256_set1_ps(d.range.span),
        }
    }

    /// [`scalar::phase`] of 8 pairs of wave values.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn phase(ha: __m256, hb: __m256) -> __m256 {
        let half = _mm256_set1_ps(0.5);
        let abs = |x: __m256| _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
        let a_linear = _mm256_cmp_ps::<_CMP_LE_OQ>(abs(_mm256_sub_ps(ha, half)), abs(_mm256_sub_ps(hb, half)));
        let ha_half = _mm256_mul_ps(ha, half);
        let from_a = _mm256_blendv_ps(
            _mm256_sub_ps(_mm256_set1_ps(1.0), ha_half),
            ha_half,
            _mm256_cmp_ps::<_CMP_LT_OQ>(hb, half),
        );
        let from_b = _mm256_blendv_ps(
            _mm256_mul_ps(_mm256_add_ps(hb, half), half),
            _mm256_mul_ps(_mm256_sub_ps(half, hb), half),
            _mm256_cmp_ps::<_CMP_LT_OQ>(ha, half),
        );
        let ph = _mm256_blendv_ps(from_b, from_a, a_linear);
        _mm256_sub_ps(ph, _mm256_floor_ps(ph))
    }

    /// [`WaveDecode::phase_level`] of 8 pairs of wave codes (zero-extended to u32 lanes).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn phase_level(&self, u: __m256i, v: __m256i) -> __m256 {
        let one = _mm256_set1_ps(1.0);
        let ha = _mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(u), self.inv_max_code), one);
        let hb = _mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), self.inv_max_code), one);
        _mm256_mul_ps(Self::phase(ha, hb), self.period)
    }

    /// [`WaveDecode::depth_at`] of 8 pixels (luma codes zero-extended to u32 lanes).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn depth_at<const DISP: bool, const ROUND: bool>(&self, y: __m256i, m_ph: __m256) -> __m256 {
        let invalid = _mm256_cmpgt_epi32(self.half_guard, y);
        let c = _mm256_min_epi32(_mm256_max_epi32(y, self.guard), self.max_code);
        let m_y = _mm256_mul_ps(
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(c, self.guard)), self.coarse_inv_qspan),
            self.fine_qspan,
        );
        let k = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
            _mm256_sub_ps(m_y, m_ph),
            self.inv_period,
        ));
        let m = _mm256_add_ps(_mm256_mul_ps(k, self.period), m_ph);
        let m = clamp(m, _mm256_sub_ps(m_y, self.reach), _mm256_add_ps(m_y, self.reach));
        let m = clamp(m, _mm256_setzero_ps(), self.fine_qspan);
        let m = if ROUND { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(m) } else { m };
        let one = _mm256_set1_ps(1.0);
        let n = clamp(_mm256_mul_ps(m, self.fine_inv_qspan), _mm256_setzero_ps(), one);
        let z = if DISP {
            _mm256_div_ps(one, _mm256_sub_ps(self.inv_near, _mm256_mul_ps(n, self.span)))
        } else {
            _mm256_add_ps(self.near, _mm256_mul_ps(n, self.span))
        };
        _mm256_andnot_ps(_mm256_castsi256_ps(invalid), z)
    }
}

/// `x.clamp(lo, hi)` for lanes with `lo ≤ hi` and `x` not NaN: `maxps`/`minps` return their
/// second operand on equality, which is `f32::clamp`'s `x` (zeros of either sign included).
#[target_feature(enable = "avx2")]
#[inline]
pub(super) fn clamp(x: __m256, lo: __m256, hi: __m256) -> __m256 {
    _mm256_min_ps(hi, _mm256_max_ps(lo, x))
}

/// 4 f32, each repeated twice: `s[x / 2]` for `x` in `0..8`.
#[target_feature(enable = "avx2")]
#[inline]
fn load_f32_doubled(s: &[f32]) -> __m256 {
    assert!(s.len() >= LANES / 2);
    // SAFETY: `s` holds at least 4 f32 (checked above); unaligned load.
    let v = unsafe { _mm_loadu_ps(s.as_ptr()) };
    _mm256_set_m128(_mm_unpackhi_ps(v, v), _mm_unpacklo_ps(v, v))
}

/// [`scalar::phase_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(in crate::simd) unsafe fn phase_row(decode: &WaveDecode, u: &[u16], v: &[u16], phase: &mut [f32]) {
    let c = DecodeV::new(decode);
    let lens = [u.len(), v.len(), phase.len()];
    let n = vector_len(&lens, LANES);
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

#[target_feature(enable = "avx2")]
fn unpack_triangle_row_impl<const DISP: bool, const ROUND: bool>(
    decode: &WaveDecode,
    y: &[u16],
    phase: &[f32],
    out: &mut [f32],
) {
    let c = DecodeV::new(decode);
    let n = vector_len(&[y.len(), out.len(), 2 * phase.len()], LANES);
    for (x, (yc, o)) in y[..n].as_chunks::<LANES>().0.iter().zip(out[..n].as_chunks_mut::<LANES>().0).enumerate() {
        store_f32(o, c.depth_at::<DISP, ROUND>(load_u16(yc), load_f32_doubled(&phase[x * LANES / 2..])));
    }
    if has_tail(&[y.len(), out.len()], n) {
        scalar::unpack_triangle_row(decode, &y[n..], &phase[n / 2..], &mut out[n..]);
    }
}

/// [`scalar::unpack_triangle_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(in crate::simd) unsafe fn unpack_triangle_row(decode: &WaveDecode, y: &[u16], phase: &[f32], out: &mut [f32]) {
    let disp = decode.range.mode == crate::RangeMode::Disparity;
    match (disp, decode.round_fine) {
        (false, false) => unpack_triangle_row_impl::<false, false>(decode, y, phase, out),
        (false, true) => unpack_triangle_row_impl::<false, true>(decode, y, phase, out),
        (true, false) => unpack_triangle_row_impl::<true, false>(decode, y, phase, out),
        (true, true) => unpack_triangle_row_impl::<true, true>(decode, y, phase, out),
    }
}
