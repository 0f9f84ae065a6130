//! AVX2 row kernels: 8 lanes per step, the scalar kernels of [`crate::kernels`] for the tails.
//!
//! Every kernel gives the scalar kernel's output bit for bit. The float steps are the scalar ones
//! in the same order, with no fused multiply-add (`_mm256_div_ps` where scalar divides), and
//! `round_ties_even` is `_mm256_cvtps_epi32` under the default MXCSR rounding (Rust code never runs
//! with another) or `_mm256_round_ps` with `_MM_FROUND_TO_NEAREST_INT`. Validity tests use ordered
//! compares, so NaN is invalid as in [`Quant::level`].
//!
//! Domain: constants from [`Quant::new`] and [`Split::new`] (so `qspan < 2^31`, `low_bits < 32`),
//! any `f32` depth, any `u16` code, and for [`block_low_row`] levels below `2^29` (so the block
//! sum fits an `i32`); every level a valid [`crate::PackParams`] produces is below `2^21`.
//! [`dequantise_row`], [`high_row`] and [`split_row`] match for every `u32`.

use core::arch::x86_64::*;

use crate::kernels::{self, Quant, Split};

/// Number of lanes per step.
const LANES: usize = 8;

/// [`Quant`] broadcast to every lane.
#[derive(Clone, Copy)]
struct QuantV {
    near: __m256,
    inv_near: __m256,
    far: __m256,
    scale: __m256,
    span: __m256,
    q0: __m256i,
    qspan: __m256,
    inv_qspan: __m256,
}

impl QuantV {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new(c: &Quant) -> QuantV {
        QuantV {
            near: _mm256_set1_ps(c.near),
            inv_near: _mm256_set1_ps(c.inv_near),
            far: _mm256_set1_ps(c.far),
            scale: _mm256_set1_ps(c.scale),
            span: _mm256_set1_ps(c.span),
            q0: _mm256_set1_epi32(c.q0 as i32),
            qspan: _mm256_set1_ps(c.qspan),
            inv_qspan: _mm256_set1_ps(c.inv_qspan),
        }
    }

    /// [`Quant::level`] of 8 depths; `DISP` is [`Quant::disparity`].
    #[target_feature(enable = "avx2")]
    #[inline]
    fn level<const DISP: bool>(&self, z: __m256) -> __m256i {
        let zero = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        // `z > 0 && z <= far`, false for NaN (ordered, non-signalling compares).
        let valid = _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(z, zero), _mm256_cmp_ps::<_CMP_LE_OQ>(z, self.far));
        let n = if DISP {
            _mm256_mul_ps(_mm256_sub_ps(self.inv_near, _mm256_div_ps(one, z)), self.scale)
        } else {
            _mm256_mul_ps(_mm256_sub_ps(z, self.near), self.scale)
        };
        // `n.max(0.0).min(1.0)`: `max_ps(a, b)` returns `b` when either is NaN, so a NaN `n`
        // (only possible in invalid lanes, which are zeroed below) becomes 0 as in scalar.
        let n = _mm256_min_ps(_mm256_max_ps(n, zero), one);
        let q = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(n, self.qspan)), self.q0);
        _mm256_and_si256(q, _mm256_castps_si256(valid))
    }

    /// [`Quant::depth`] of 8 levels below `2^24` that are either 0 or at least `q0`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn depth_small<const DISP: bool>(&self, q: __m256i, invalid: __m256i) -> __m256 {
        let n = _mm256_cvtepi32_ps(_mm256_sub_epi32(q, self.q0));
        self.depth_of_index::<DISP>(n, invalid)
    }

    /// [`Quant::depth`] of 8 arbitrary levels.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn depth<const DISP: bool>(&self, q: __m256i) -> __m256 {
        let invalid = _mm256_cmpeq_epi32(q, _mm256_setzero_si256());
        // `q.saturating_sub(q0)`, then `as f32` for every u32: the top and bottom 16 bits convert
        // exactly and their sum rounds once, to nearest even, as Rust's `u32 as f32` does.
        let d = _mm256_sub_epi32(_mm256_max_epu32(q, self.q0), self.q0);
        let top = _mm256_cvtepi32_ps(_mm256_srli_epi32::<16>(d));
        let bottom = _mm256_cvtepi32_ps(_mm256_and_si256(d, _mm256_set1_epi32(0xffff)));
        let n = _mm256_add_ps(_mm256_mul_ps(top, _mm256_set1_ps(65536.0)), bottom);
        self.depth_of_index::<DISP>(n, invalid)
    }

    /// Depth of the level index `n = q − q0` (as f32), 0 where `invalid`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn depth_of_index<const DISP: bool>(&self, n: __m256, invalid: __m256i) -> __m256 {
        let n = _mm256_mul_ps(n, self.inv_qspan);
        let z = if DISP {
            _mm256_div_ps(_mm256_set1_ps(1.0), _mm256_sub_ps(self.inv_near, _mm256_mul_ps(n, self.span)))
        } else {
            _mm256_add_ps(self.near, _mm256_mul_ps(n, self.span))
        };
        // INVALID_DEPTH is +0.0: all bits clear.
        _mm256_andnot_ps(_mm256_castsi256_ps(invalid), z)
    }
}

/// [`Split`] broadcast to every lane.
#[derive(Clone, Copy)]
struct SplitV {
    shift: __m128i,
    low_max: __m256i,
    low_max_f: __m256,
    base: __m256i,
    base_f: __m256,
    step: __m256,
    inv_step: __m256,
    half_guard: __m256i,
    guard: __m256i,
    max_code: __m256i,
}

impl SplitV {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new(s: &Split) -> SplitV {
        SplitV {
            shift: _mm_cvtsi32_si128(s.low_bits as i32),
            low_max: _mm256_set1_epi32(s.low_max as i32),
            low_max_f: _mm256_set1_ps(s.low_max as f32),
            base: _mm256_set1_epi32(s.base as i32),
            base_f: _mm256_set1_ps(s.base as f32),
            step: _mm256_set1_ps(s.step),
            inv_step: _mm256_set1_ps(s.inv_step),
            half_guard: _mm256_set1_epi32((s.guard / 2) as i32),
            guard: _mm256_set1_epi32(s.guard as i32),
            max_code: _mm256_set1_epi32(s.max_code as i32),
        }
    }

    /// `q >> low_bits`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn high(&self, q: __m256i) -> __m256i {
        _mm256_srl_epi32(q, self.shift)
    }

    /// [`Split::low_code`] of 8 levels (in the low 16 bits of each lane; the lanes are below
    /// `2^16` for constants from [`Split::new`]).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn low_code(&self, hi: __m256i, q: __m256i) -> __m256i {
        let t = _mm256_and_si256(q, self.low_max);
        let folded = _mm256_blendv_epi8(t, _mm256_sub_epi32(self.low_max, t), odd(hi));
        // `folded as f32` is exact (folded ≤ low_max < 2^31); the product is non-negative and at
        // most `span`, so the rounding conversion cannot overflow.
        let r = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(folded), self.step));
        _mm256_add_epi32(self.base, r)
    }

    /// [`Split::merge`] of 8 high and 8 low codes (zero-extended u16).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn merge(&self, hi: __m256i, lo: __m256i) -> (__m256i, __m256i) {
        // Signed compare is fine: both sides are below 2^16.
        let invalid = _mm256_cmpgt_epi32(self.half_guard, hi);
        let hi = _mm256_min_epu32(_mm256_max_epu32(hi, self.guard), self.max_code);
        let d = _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(lo), self.base_f), self.inv_step);
        // Round, then clamp in float as scalar does; the clamped value is a small whole number,
        // so truncating conversion is exact.
        let d = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(d);
        let f = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(d, _mm256_setzero_ps()), self.low_max_f));
        let t = _mm256_blendv_epi8(f, _mm256_sub_epi32(self.low_max, f), odd(hi));
        let q = _mm256_or_si256(_mm256_sll_epi32(hi, self.shift), t);
        (_mm256_andnot_si256(invalid, q), invalid)
    }
}

/// All-ones lanes where `v` is odd.
#[target_feature(enable = "avx2")]
#[inline]
fn odd(v: __m256i) -> __m256i {
    _mm256_srai_epi32::<31>(_mm256_slli_epi32::<31>(v))
}

/// The low 16 bits of each lane (`as u16`), in order.
#[target_feature(enable = "avx2")]
#[inline]
fn narrow_u16(v: __m256i) -> __m128i {
    let v = _mm256_and_si256(v, _mm256_set1_epi32(0xffff));
    _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
}

#[target_feature(enable = "avx2")]
#[inline]
fn load_f32(s: &[f32]) -> __m256 {
    assert!(s.len() >= LANES);
    // SAFETY: `s` holds at least 8 f32 (checked above); unaligned load.
    unsafe { _mm256_loadu_ps(s.as_ptr()) }
}

#[target_feature(enable = "avx2")]
#[inline]
fn store_f32(d: &mut [f32], v: __m256) {
    assert!(d.len() >= LANES);
    // SAFETY: `d` holds at least 8 f32 (checked above); unaligned store.
    unsafe { _mm256_storeu_ps(d.as_mut_ptr(), v) }
}

#[target_feature(enable = "avx2")]
#[inline]
fn load_u32(s: &[u32]) -> __m256i {
    assert!(s.len() >= LANES);
    // SAFETY: `s` holds at least 8 u32 (checked above); unaligned load.
    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
}

#[target_feature(enable = "avx2")]
#[inline]
fn store_u32(d: &mut [u32], v: __m256i) {
    assert!(d.len() >= LANES);
    // SAFETY: `d` holds at least 8 u32 (checked above); unaligned store.
    unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), v) }
}

/// 8 u16, zero-extended to u32 lanes.
#[target_feature(enable = "avx2")]
#[inline]
fn load_u16(s: &[u16]) -> __m256i {
    assert!(s.len() >= LANES);
    // SAFETY: `s` holds at least 8 u16, 16 bytes (checked above); unaligned load.
    _mm256_cvtepu16_epi32(unsafe { _mm_loadu_si128(s.as_ptr().cast()) })
}

/// 4 u16, each repeated twice, zero-extended to u32 lanes: `s[x / 2]` for `x` in `0..8`.
#[target_feature(enable = "avx2")]
#[inline]
fn load_u16_doubled(s: &[u16]) -> __m256i {
    assert!(s.len() >= LANES / 2);
    // SAFETY: `s` holds at least 4 u16, 8 bytes (checked above); unaligned 64-bit load.
    let v = unsafe { _mm_loadl_epi64(s.as_ptr().cast()) };
    _mm256_cvtepu16_epi32(_mm_unpacklo_epi16(v, v))
}

#[target_feature(enable = "avx2")]
#[inline]
fn store_u16(d: &mut [u16], v: __m128i) {
    assert!(d.len() >= LANES);
    // SAFETY: `d` holds at least 8 u16, 16 bytes (checked above); unaligned store.
    unsafe { _mm_storeu_si128(d.as_mut_ptr().cast(), v) }
}

/// Length processed 8 lanes at a time: the shortest of `lens`, rounded down to a multiple of 8.
#[inline(always)]
fn vector_len(lens: &[usize]) -> usize {
    let n = lens.iter().copied().min().unwrap_or(0);
    n - n % LANES
}

#[target_feature(enable = "avx2")]
fn quantise_row_impl<const DISP: bool>(quant: &Quant, src: &[f32], q: &mut [u32]) {
    let c = QuantV::new(quant);
    let n = vector_len(&[src.len(), q.len()]);
    for (s, d) in src[..n].chunks_exact(LANES).zip(q[..n].chunks_exact_mut(LANES)) {
        store_u32(d, c.level::<DISP>(load_f32(s)));
    }
    kernels::quantise_row(quant, &src[n..], &mut q[n..]);
}

/// [`kernels::quantise_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn quantise_row(quant: &Quant, src: &[f32], q: &mut [u32]) {
    if quant.disparity {
        quantise_row_impl::<true>(quant, src, q);
    } else {
        quantise_row_impl::<false>(quant, src, q);
    }
}

/// [`kernels::split_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn split_row(split: &Split, q: &[u32], hi: &mut [u16], lo: &mut [u16]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), lo.len()]);
    for ((s, h), l) in
        q[..n].chunks_exact(LANES).zip(hi[..n].chunks_exact_mut(LANES)).zip(lo[..n].chunks_exact_mut(LANES))
    {
        let q = load_u32(s);
        let hv = c.high(q);
        store_u16(h, narrow_u16(hv));
        store_u16(l, narrow_u16(c.low_code(hv, q)));
    }
    kernels::split_row(split, &q[n..], &mut hi[n..], &mut lo[n..]);
}

/// [`kernels::high_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn high_row(split: &Split, q: &[u32], hi: &mut [u16]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len()]);
    for (s, h) in q[..n].chunks_exact(LANES).zip(hi[..n].chunks_exact_mut(LANES)) {
        store_u16(h, narrow_u16(c.high(load_u32(s))));
    }
    kernels::high_row(split, &q[n..], &mut hi[n..]);
}

/// Block levels of 8 2x2 blocks from 16 levels of each of two rows: the mean of the valid
/// (non-zero) levels, rounded to nearest even, 0 for a block with none.
#[target_feature(enable = "avx2")]
#[inline]
fn block_mean(a0: __m256i, a1: __m256i, b0: __m256i, b1: __m256i) -> __m256i {
    let zero = _mm256_setzero_si256();
    // Vertical sums, then horizontal pair sums. `hadd` works within 128-bit halves, giving
    // blocks in the order 0 1 4 5 2 3 6 7; the 64-bit permute restores 0..8.
    let s0 = _mm256_add_epi32(a0, b0);
    let s1 = _mm256_add_epi32(a1, b1);
    let sum = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(s0, s1));
    // Each zero level adds −1; count = 4 − zeros.
    let z0 = _mm256_add_epi32(_mm256_cmpeq_epi32(a0, zero), _mm256_cmpeq_epi32(b0, zero));
    let z1 = _mm256_add_epi32(_mm256_cmpeq_epi32(a1, zero), _mm256_cmpeq_epi32(b1, zero));
    let neg_zeros = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(z0, z1));
    let count = _mm256_add_epi32(_mm256_set1_epi32(4), neg_zeros);
    // A block without valid levels has sum 0, and 0 / 1 = 0 is what scalar gives it; the sum is
    // below 2^31 (levels below 2^29), so the signed conversion is `u32 as f32`.
    let count = _mm256_max_epi32(count, _mm256_set1_epi32(1));
    let mean = _mm256_div_ps(_mm256_cvtepi32_ps(sum), _mm256_cvtepi32_ps(count));
    _mm256_cvtps_epi32(mean)
}

/// [`kernels::block_low_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn block_low_row(split: &Split, q0: &[u32], q1: &[u32], lo: &mut [u16]) {
    let c = SplitV::new(split);
    let n = vector_len(&[lo.len(), q0.len() / 2, q1.len() / 2]);
    for ((a, b), l) in q0[..2 * n]
        .chunks_exact(2 * LANES)
        .zip(q1[..2 * n].chunks_exact(2 * LANES))
        .zip(lo[..n].chunks_exact_mut(LANES))
    {
        let mean = block_mean(load_u32(a), load_u32(&a[LANES..]), load_u32(b), load_u32(&b[LANES..]));
        store_u16(l, narrow_u16(c.low_code(c.high(mean), mean)));
    }
    kernels::block_low_row(split, &q0[2 * n..], &q1[2 * n..], &mut lo[n..]);
}

/// [`kernels::merge_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn merge_row(split: &Split, hi: &[u16], lo: &[u16], q: &mut [u32]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), lo.len()]);
    for ((h, l), d) in hi[..n].chunks_exact(LANES).zip(lo[..n].chunks_exact(LANES)).zip(q[..n].chunks_exact_mut(LANES))
    {
        store_u32(d, c.merge(load_u16(h), load_u16(l)).0);
    }
    kernels::merge_row(split, &hi[n..], &lo[n..], &mut q[n..]);
}

/// [`kernels::merge_row_half`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn merge_row_half(split: &Split, hi: &[u16], lo: &[u16], q: &mut [u32]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), 2 * lo.len()]);
    for ((h, l), d) in
        hi[..n].chunks_exact(LANES).zip(lo[..n / 2].chunks_exact(LANES / 2)).zip(q[..n].chunks_exact_mut(LANES))
    {
        store_u32(d, c.merge(load_u16(h), load_u16_doubled(l)).0);
    }
    kernels::merge_row_half(split, &hi[n..], &lo[n / 2..], &mut q[n..]);
}

#[target_feature(enable = "avx2")]
fn dequantise_row_impl<const DISP: bool>(quant: &Quant, q: &[u32], out: &mut [f32]) {
    let c = QuantV::new(quant);
    let n = vector_len(&[q.len(), out.len()]);
    for (s, d) in q[..n].chunks_exact(LANES).zip(out[..n].chunks_exact_mut(LANES)) {
        store_f32(d, c.depth::<DISP>(load_u32(s)));
    }
    kernels::dequantise_row(quant, &q[n..], &mut out[n..]);
}

/// [`kernels::dequantise_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn dequantise_row(quant: &Quant, q: &[u32], out: &mut [f32]) {
    if quant.disparity {
        dequantise_row_impl::<true>(quant, q, out);
    } else {
        dequantise_row_impl::<false>(quant, q, out);
    }
}

#[target_feature(enable = "avx2")]
fn quantise_high_row_impl<const DISP: bool>(quant: &Quant, split: &Split, src: &[f32], q: &mut [u32], hi: &mut [u16]) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let n = vector_len(&[src.len(), q.len(), hi.len()]);
    for ((z, d), h) in
        src[..n].chunks_exact(LANES).zip(q[..n].chunks_exact_mut(LANES)).zip(hi[..n].chunks_exact_mut(LANES))
    {
        let v = c.level::<DISP>(load_f32(z));
        store_u32(d, v);
        store_u16(h, narrow_u16(s.high(v)));
    }
    kernels::quantise_high_row(quant, split, &src[n..], &mut q[n..], &mut hi[n..]);
}

/// [`kernels::quantise_high_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn quantise_high_row(quant: &Quant, split: &Split, src: &[f32], q: &mut [u32], hi: &mut [u16]) {
    if quant.disparity {
        quantise_high_row_impl::<true>(quant, split, src, q, hi);
    } else {
        quantise_high_row_impl::<false>(quant, split, src, q, hi);
    }
}

#[target_feature(enable = "avx2")]
fn quantise_split_row_impl<const DISP: bool>(
    quant: &Quant,
    split: &Split,
    src: &[f32],
    hi: &mut [u16],
    lo: &mut [u16],
) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let n = vector_len(&[src.len(), hi.len(), lo.len()]);
    for ((z, h), l) in
        src[..n].chunks_exact(LANES).zip(hi[..n].chunks_exact_mut(LANES)).zip(lo[..n].chunks_exact_mut(LANES))
    {
        let v = c.level::<DISP>(load_f32(z));
        let hv = s.high(v);
        store_u16(h, narrow_u16(hv));
        store_u16(l, narrow_u16(s.low_code(hv, v)));
    }
    kernels::quantise_split_row(quant, split, &src[n..], &mut hi[n..], &mut lo[n..]);
}

/// [`kernels::quantise_split_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn quantise_split_row(quant: &Quant, split: &Split, src: &[f32], hi: &mut [u16], lo: &mut [u16]) {
    if quant.disparity {
        quantise_split_row_impl::<true>(quant, split, src, hi, lo);
    } else {
        quantise_split_row_impl::<false>(quant, split, src, hi, lo);
    }
}

/// Whether every level [`Split::merge`] gives is 0 exactly where it reports invalid, at least
/// `quant.q0` elsewhere, and below `2^31`, so that [`QuantV::depth_small`] applies.
fn merge_levels_are_small(split: &Split, quant: &Quant) -> bool {
    if split.low_bits >= 32 {
        return false;
    }
    let top = (u64::from(split.max_code) << split.low_bits) | u64::from(split.low_max);
    let bottom = u64::from(split.guard.min(split.max_code)) << split.low_bits;
    top < 1 << 31 && bottom >= u64::from(quant.q0.max(1))
}

/// Merge and dequantise 8 lanes per step; `HALF` reads one low code per 2 pixels.
#[target_feature(enable = "avx2")]
fn unpack_row_impl<const DISP: bool, const SMALL: bool, const HALF: bool>(
    split: &Split,
    quant: &Quant,
    hi: &[u16],
    lo: &[u16],
    out: &mut [f32],
) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let (lo_step, lo_len) = if HALF { (LANES / 2, 2 * lo.len()) } else { (LANES, lo.len()) };
    let n = vector_len(&[hi.len(), lo_len, out.len()]);
    let lo_n = if HALF { n / 2 } else { n };
    for ((h, l), d) in
        hi[..n].chunks_exact(LANES).zip(lo[..lo_n].chunks_exact(lo_step)).zip(out[..n].chunks_exact_mut(LANES))
    {
        let l = if HALF { load_u16_doubled(l) } else { load_u16(l) };
        let (q, invalid) = s.merge(load_u16(h), l);
        let z = if SMALL { c.depth_small::<DISP>(q, invalid) } else { c.depth::<DISP>(q) };
        store_f32(d, z);
    }
    if HALF {
        kernels::unpack_row_half(split, quant, &hi[n..], &lo[lo_n..], &mut out[n..]);
    } else {
        kernels::unpack_row(split, quant, &hi[n..], &lo[lo_n..], &mut out[n..]);
    }
}

/// Picks the `unpack_row_impl` instance for the constants.
#[target_feature(enable = "avx2")]
fn unpack_row_any<const HALF: bool>(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    match (quant.disparity, merge_levels_are_small(split, quant)) {
        (false, true) => unpack_row_impl::<false, true, HALF>(split, quant, hi, lo, out),
        (true, true) => unpack_row_impl::<true, true, HALF>(split, quant, hi, lo, out),
        (false, false) => unpack_row_impl::<false, false, HALF>(split, quant, hi, lo, out),
        (true, false) => unpack_row_impl::<true, false, HALF>(split, quant, hi, lo, out),
    }
}

/// [`kernels::unpack_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn unpack_row(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    unpack_row_any::<false>(split, quant, hi, lo, out);
}

/// [`kernels::unpack_row_half`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn unpack_row_half(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    unpack_row_any::<true>(split, quant, hi, lo, out);
}
