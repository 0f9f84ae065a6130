//! AVX2 row kernels: 8 lanes per step (two steps per loop where 16 codes pack into one store),
//! the scalar kernels of [`crate::kernels`] for the tails.
//!
//! Every kernel gives the scalar kernel's output bit for bit. The float steps are the scalar ones
//! in the same order, with no fused multiply-add (`_mm256_div_ps` where scalar divides), and
//! `round_ties_even` is `_mm256_cvtps_epi32` under the default MXCSR rounding (Rust code never
//! runs with another) or `_mm256_round_ps` with `_MM_FROUND_TO_NEAREST_INT`.
//!
//! Where a shortcut holds only for some constants (checked once per row by [`QuantV::fast`],
//! [`SplitV::fast`], [`SplitV::integral_step`], [`unpack_fast`] and [`low_mode`], with the reason
//! next to each check), a row whose constants fail the check takes a general path or the scalar
//! kernel, so the output matches for any constants. The shortcuts that need more than what
//! [`Quant::new`] and [`Split::new`] always give are whole-number low steps (full amplitude with
//! `L` dividing the plane bits, e.g. P12 and P16 at 8 bits): 16-bit integer low codes in pack, and
//! integer low values in unpack (see [`low`]). The inputs may be anything: every `f32` depth, every `u16`
//! code, and every `u32` level except in [`block_low_row`], which needs levels below `2^29` (its
//! block sums must fit an `i32`; every level a valid [`crate::PackParams`] gives is below `2^20`).

use core::arch::x86_64::*;

use crate::kernels::{self, Quant, Split};

/// Number of lanes per step.
const LANES: usize = 8;

/// `2^24`: integers below it are exact in f32.
const F32_EXACT: u64 = 1 << 24;

/// Runs `$f::<DISP, CLAMP, $rest>($args)` with the two flags known at compile time.
macro_rules! with_flags {
    ($f:ident$(::<$rest:literal>)?($($arg:expr),*), $disp:expr, $clamp:expr) => {
        match ($disp, $clamp) {
            (false, false) => $f::<false, false $(, $rest)?>($($arg),*),
            (false, true) => $f::<false, true $(, $rest)?>($($arg),*),
            (true, false) => $f::<true, false $(, $rest)?>($($arg),*),
            (true, true) => $f::<true, true $(, $rest)?>($($arg),*),
        }
    };
}

mod hue;
mod triangle;
mod upsample;

pub(super) use hue::{hue_codes_row, unpack_hue_row};
pub(super) use triangle::{block_waves_row, phase_row, quantise_coarse_fine_row, unpack_triangle_row};
pub(crate) use upsample::guided_half_row;

/// [`Quant`] broadcast to every lane.
#[derive(Clone, Copy)]
struct QuantV {
    near: __m256,
    inv_near: __m256,
    /// `far`'s bits with the sign bit flipped, for the validity test in [`QuantV::level`].
    far_key: __m256i,
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
            far_key: _mm256_set1_epi32((c.far.to_bits() ^ 0x8000_0000) as i32),
            scale: _mm256_set1_ps(c.scale),
            span: _mm256_set1_ps(c.span),
            q0: _mm256_set1_epi32(c.q0 as i32),
            qspan: _mm256_set1_ps(c.qspan),
            inv_qspan: _mm256_set1_ps(c.inv_qspan),
        }
    }

    /// Whether [`QuantV::level`] applies to `c`, and if so whether it must clamp `n` to 1:
    /// - `far > 0`, so "`0 < z ≤ far`" is one unsigned compare of bit patterns;
    /// - `scale > 0`, so `n` grows with `z` and its largest valid value is the one at `far`; when
    ///   that is at most 1 (the usual case), `min(n, 1)` changes nothing and is skipped;
    /// - levels below `2^24`, so the conversions cannot overflow.
    ///
    /// Returns `(disparity, clamp_hi)`.
    #[inline]
    fn fast(c: &Quant) -> Option<(bool, bool)> {
        let ok = c.far > 0.0 && c.scale > 0.0 && c.qspan >= 0.0 && u64::from(c.q0) + (c.qspan as u64) < F32_EXACT;
        if !ok {
            return None;
        }
        // The same float steps as `Quant::level` at z = far.
        let n_max = if c.disparity { (c.inv_near - 1.0 / c.far) * c.scale } else { (c.far - c.near) * c.scale };
        Some((c.disparity, n_max > 1.0 || n_max.is_nan()))
    }

    /// The largest level [`Quant::level`] gives (for constants that pass [`QuantV::fast`]).
    #[inline]
    fn max_level(c: &Quant) -> u64 {
        u64::from(c.q0) + c.qspan.round_ties_even() as u64
    }

    /// [`Quant::level`] of 8 depths. `DISP` is [`Quant::disparity`]; `CLAMP` is whether `n` may
    /// exceed 1 (see [`QuantV::fast`]).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn level<const DISP: bool, const CLAMP: bool>(&self, z: __m256) -> __m256i {
        // `z > 0 && z <= far` (false for NaN): positive floats order as their bit patterns, and
        // every other pattern (zero, negative, NaN above +inf) falls outside, so the test is
        // `bits − 1 < far_bits` unsigned; adding 2^31 − 1 is `−1` and a sign flip, which turns the
        // unsigned compare into the signed one AVX2 has.
        let key = _mm256_add_epi32(_mm256_castps_si256(z), _mm256_set1_epi32(0x7fff_ffff));
        let valid = _mm256_cmpgt_epi32(self.far_key, key);
        let n = if DISP {
            _mm256_mul_ps(_mm256_sub_ps(self.inv_near, _mm256_div_ps(_mm256_set1_ps(1.0), z)), self.scale)
        } else {
            _mm256_mul_ps(_mm256_sub_ps(z, self.near), self.scale)
        };
        // `n.max(0.0).min(1.0)`. In valid lanes `n` is never NaN (at worst −inf, from 1/z = inf),
        // so operand order does not matter; invalid lanes are zeroed below.
        let n = _mm256_max_ps(n, _mm256_setzero_ps());
        let n = if CLAMP { _mm256_min_ps(n, _mm256_set1_ps(1.0)) } else { n };
        let q = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(n, self.qspan)), self.q0);
        _mm256_and_si256(q, valid)
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
    /// `31 − low_bits`: moves the parity bit of the high code to the sign bit.
    parity_shift: __m128i,
    low_max: __m256i,
    low_max_f: __m256,
    base: __m256i,
    base_f: __m256,
    step: __m256,
    inv_step: __m256,
    half_guard: __m256i,
    guard: __m256i,
    max_code: __m256i,
    /// 16-bit lanes for [`low_codes_x2_integral`]: `15 − low_bits`, `low_max`, `step`, `base`.
    parity_shift16: __m128i,
    low_max16: __m256i,
    step16: __m256i,
    base16: __m256i,
}

impl SplitV {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new(s: &Split) -> SplitV {
        SplitV {
            shift: _mm_cvtsi32_si128(s.low_bits as i32),
            parity_shift: _mm_cvtsi32_si128(31i32.wrapping_sub(s.low_bits as i32)),
            low_max: _mm256_set1_epi32(s.low_max as i32),
            low_max_f: _mm256_set1_ps(s.low_max as f32),
            base: _mm256_set1_epi32(s.base as i32),
            base_f: _mm256_set1_ps(s.base as f32),
            step: _mm256_set1_ps(s.step),
            inv_step: _mm256_set1_ps(s.inv_step),
            half_guard: _mm256_set1_epi32((s.guard / 2) as i32),
            guard: _mm256_set1_epi32(s.guard as i32),
            max_code: _mm256_set1_epi32(s.max_code as i32),
            parity_shift16: _mm_cvtsi32_si128(15i32.wrapping_sub(s.low_bits as i32)),
            low_max16: _mm256_set1_epi16(s.low_max as i16),
            step16: _mm256_set1_epi16(s.step as u16 as i16),
            base16: _mm256_set1_epi16(s.base as i16),
        }
    }

    /// Whether the shortcuts of [`SplitV::low_code_fast`] apply: `low_max = 2^L − 1` (so folding
    /// is an xor and `hi << L | t` is a sum), and every low code fits a u16 (so narrowing needs
    /// no mask).
    #[inline]
    fn fast(s: &Split) -> bool {
        if s.low_bits > 16 || s.low_max != (1 << s.low_bits) - 1 || s.step.is_nan() || s.step < 0.0 {
            return false;
        }
        // The largest code: folded values are at most `low_max`, and rounding is monotonic.
        let top = (s.low_max as f32 * s.step).round_ties_even();
        top < F32_EXACT as f32 && u64::from(s.base) + top as u64 <= 0xffff
    }

    /// Whether [`low_codes_x2_integral`] applies: [`SplitV::fast`], the parity bit within 16 bits,
    /// and a whole-number step (`span` a multiple of `2^L − 1`, as with the full amplitude at
    /// `L` = 1, 2, 4, 8 on 8-bit planes and 1, 2, 5 on 10-bit planes).
    #[inline]
    fn integral_step(s: &Split) -> bool {
        SplitV::fast(s) && s.low_bits <= 15 && s.step == s.step.trunc() && s.step <= 65535.0
    }

    /// `q >> low_bits`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn high(&self, q: __m256i) -> __m256i {
        _mm256_srl_epi32(q, self.shift)
    }

    /// [`Split::low_code`] of 8 levels for any constants (in the low 16 bits of each lane; the
    /// lanes are below `2^16` for constants from [`Split::new`]).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn low_code(&self, hi: __m256i, q: __m256i) -> __m256i {
        let t = _mm256_and_si256(q, self.low_max);
        let folded = _mm256_blendv_epi8(t, _mm256_sub_epi32(self.low_max, t), odd(hi));
        self.code_of_folded(folded)
    }

    /// [`Split::low_code`] of 8 levels, for constants that pass [`SplitV::fast`]: with
    /// `low_max = 2^L − 1`, `low_max − t = t ^ low_max`, so the fold is `(q ^ m) & low_max` where
    /// `m` is all ones when bit `L` of `q` (the high code's parity) is set.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn low_code_fast(&self, q: __m256i) -> __m256i {
        let m = _mm256_srai_epi32::<31>(_mm256_sll_epi32(q, self.parity_shift));
        self.code_of_folded(_mm256_and_si256(_mm256_xor_si256(q, m), self.low_max))
    }

    /// `base + round(folded · step)`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn code_of_folded(&self, folded: __m256i) -> __m256i {
        // `folded as f32` is exact (folded ≤ low_max); the product is non-negative and at most
        // about `span`, so the rounding conversion cannot overflow.
        let r = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(folded), self.step));
        _mm256_add_epi32(self.base, r)
    }

    /// [`Split::merge`] of 8 high and 8 low codes (zero-extended u16), for any constants.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn merge(&self, hi: __m256i, lo: __m256i) -> __m256i {
        // Signed compare is fine: both sides are below 2^16.
        let invalid = _mm256_cmpgt_epi32(self.half_guard, hi);
        let hi = _mm256_min_epu32(_mm256_max_epu32(hi, self.guard), self.max_code);
        let f = self.low_value(lo);
        let f = _mm256_cvttps_epi32(f);
        let t = _mm256_blendv_epi8(f, _mm256_sub_epi32(self.low_max, f), odd(hi));
        let q = _mm256_or_si256(_mm256_sll_epi32(hi, self.shift), t);
        _mm256_andnot_si256(invalid, q)
    }

    /// The unfolded low value of 8 low codes, `round((lo − base) · inv_step)` clamped to
    /// `[0, low_max]`, as whole-number floats. Clamping before rounding gives the same as
    /// scalar's rounding before clamping: the bounds are whole numbers and rounding is monotonic.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn low_value(&self, lo: __m256i) -> __m256 {
        let d = _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(lo), self.base_f), self.inv_step);
        let d = _mm256_min_ps(_mm256_max_ps(d, _mm256_setzero_ps()), self.low_max_f);
        _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(d)
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
    narrow_small(v)
}

/// 8 lanes below `2^16`, as u16, in order.
#[target_feature(enable = "avx2")]
#[inline]
fn narrow_small(v: __m256i) -> __m128i {
    _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
}

/// 16 lanes below `2^16` (8 in `a`, then 8 in `b`), as u16, in order. `packus` works within
/// 128-bit halves, giving the 64-bit groups a0 b0 a1 b1; the permute puts them back in order.
#[target_feature(enable = "avx2")]
#[inline]
fn narrow_small_x2(a: __m256i, b: __m256i) -> __m256i {
    _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(a, b))
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

#[target_feature(enable = "avx2")]
#[inline]
fn store_u16_x2(d: &mut [u16], v: __m256i) {
    assert!(d.len() >= 2 * LANES);
    // SAFETY: `d` holds at least 16 u16, 32 bytes (checked above); unaligned store.
    unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), v) }
}

/// Whether the scalar tail after `done` elements has anything to do. The scalar kernels zip the
/// slices in `lens` (and index the others, so they panic where those are short), so they stop at
/// the shortest; skipping an empty tail saves a call per row.
#[inline(always)]
fn has_tail(lens: &[usize], done: usize) -> bool {
    lens.iter().all(|&l| l > done)
}

/// Length processed `step` lanes at a time: the shortest of `lens`, rounded down to a multiple of
/// `step`.
#[inline(always)]
fn vector_len(lens: &[usize], step: usize) -> usize {
    let n = lens.iter().copied().min().unwrap_or(0);
    n - n % step
}

#[target_feature(enable = "avx2")]
fn quantise_row_impl<const DISP: bool, const CLAMP: bool>(quant: &Quant, src: &[f32], q: &mut [u32]) {
    let c = QuantV::new(quant);
    let n = vector_len(&[src.len(), q.len()], LANES);
    for (s, d) in src[..n].as_chunks::<LANES>().0.iter().zip(q[..n].as_chunks_mut::<LANES>().0) {
        store_u32(d, c.level::<DISP, CLAMP>(load_f32(s)));
    }
    if has_tail(&[src.len(), q.len()], n) {
        kernels::quantise_row(quant, &src[n..], &mut q[n..]);
    }
}

/// [`kernels::quantise_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn quantise_row(quant: &Quant, src: &[f32], q: &mut [u32]) {
    match QuantV::fast(quant) {
        Some((disp, clamp)) => with_flags!(quantise_row_impl(quant, src, q), disp, clamp),
        None => kernels::quantise_row(quant, src, q),
    }
}

/// [`kernels::split_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn split_row(split: &Split, q: &[u32], hi: &mut [u16], lo: &mut [u16]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), lo.len()], LANES);
    for ((s, h), l) in q[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(hi[..n].as_chunks_mut::<LANES>().0)
        .zip(lo[..n].as_chunks_mut::<LANES>().0)
    {
        let q = load_u32(s);
        let hv = c.high(q);
        store_u16(h, narrow_u16(hv));
        store_u16(l, narrow_u16(c.low_code(hv, q)));
    }
    if has_tail(&[q.len(), hi.len(), lo.len()], n) {
        kernels::split_row(split, &q[n..], &mut hi[n..], &mut lo[n..]);
    }
}

/// [`kernels::high_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn high_row(split: &Split, q: &[u32], hi: &mut [u16]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len()], LANES);
    for (s, h) in q[..n].as_chunks::<LANES>().0.iter().zip(hi[..n].as_chunks_mut::<LANES>().0) {
        store_u16(h, narrow_u16(c.high(load_u32(s))));
    }
    if has_tail(&[q.len(), hi.len()], n) {
        kernels::high_row(split, &q[n..], &mut hi[n..]);
    }
}

/// Reciprocals of the valid-pixel count of a block, indexed by the low 3 bits of minus the number
/// of invalid pixels (0 → 4 valid, −1 → 3, −2 → 2, −3 → 1, −4 → none: sum 0, any finite value).
const RECIP_BY_NEG_INVALID: [f32; 8] = [0.25, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 1.0 / 3.0];

/// Block means of 8 2x2 blocks from 16 levels of each of two rows: the mean of the valid
/// (non-zero) levels, rounded to nearest even, 0 for a block with none.
#[target_feature(enable = "avx2")]
#[inline]
fn block_mean(a0: __m256i, a1: __m256i, b0: __m256i, b1: __m256i) -> __m256i {
    let zero = _mm256_setzero_si256();
    // Vertical sums, then pair sums: even lanes plus odd lanes of the two vectors. The shuffle
    // works within 128-bit halves, so blocks come out in the order 0 1 4 5 2 3 6 7; one 64-bit
    // permute at the end restores 0..8.
    let pairs = |x: __m256i, y: __m256i| {
        let (x, y) = (_mm256_castsi256_ps(x), _mm256_castsi256_ps(y));
        let even = _mm256_castps_si256(_mm256_shuffle_ps::<0b10_00_10_00>(x, y));
        let odd = _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(x, y));
        _mm256_add_epi32(even, odd)
    };
    let sum = pairs(_mm256_add_epi32(a0, b0), _mm256_add_epi32(a1, b1));
    // Each invalid (zero) level adds −1.
    let z0 = _mm256_add_epi32(_mm256_cmpeq_epi32(a0, zero), _mm256_cmpeq_epi32(b0, zero));
    let z1 = _mm256_add_epi32(_mm256_cmpeq_epi32(a1, zero), _mm256_cmpeq_epi32(b1, zero));
    let neg_invalid = pairs(z0, z1);
    let sum_f = _mm256_cvtepi32_ps(sum);
    // SAFETY: the table holds 8 f32; unaligned load.
    let table = unsafe { _mm256_loadu_ps(RECIP_BY_NEG_INVALID.as_ptr()) };
    let mean = if _mm256_testz_si256(sum, _mm256_set1_epi32(!0 << 22)) != 0 {
        // Sums below 2^22: multiplying by the reciprocal gives what scalar's division gives after
        // rounding. For 1, 2 and 4 valid pixels the reciprocal is a power of two and both are
        // exact. For 3, sum/3 is k, k + 1/3 or k + 2/3, at least 1/6 from a tie, and both
        // sum / 3 (half an ulp, < 1/16 below 2^21) and sum · fl(1/3) (fl(1/3) = 1/3 · (1 + 2^-25),
        // then half an ulp: < 1/8) stay within 1/6 of it, so both round to the nearest integer.
        _mm256_mul_ps(sum_f, _mm256_permutevar8x32_ps(table, neg_invalid))
    } else {
        // Levels below 2^29: the sum fits an i32 and converts exactly as `u32 as f32`; a block
        // with no valid pixel has sum 0, and 0 / 1 = 0 is what scalar gives it.
        let count = _mm256_max_epi32(_mm256_add_epi32(_mm256_set1_epi32(4), neg_invalid), _mm256_set1_epi32(1));
        _mm256_div_ps(sum_f, _mm256_cvtepi32_ps(count))
    };
    _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_cvtps_epi32(mean))
}

#[target_feature(enable = "avx2")]
fn block_low_row_fast<const INT_STEP: bool>(split: &Split, q0: &[u32], q1: &[u32], lo: &mut [u16]) {
    let c = SplitV::new(split);
    let lens = [lo.len(), q0.len() / 2, q1.len() / 2];
    let mean_at =
        |a: &[u32], b: &[u32]| block_mean(load_u32(a), load_u32(&a[LANES..]), load_u32(b), load_u32(&b[LANES..]));
    // 16 blocks per loop when the codes can be made 16 at a time.
    let n = if INT_STEP { vector_len(&lens, 2 * LANES) } else { 0 };
    for ((a, b), l) in q0[..2 * n]
        .as_chunks::<{ 4 * LANES }>()
        .0
        .iter()
        .zip(q1[..2 * n].as_chunks::<{ 4 * LANES }>().0)
        .zip(lo[..n].as_chunks_mut::<{ 2 * LANES }>().0)
    {
        let m0 = mean_at(a, b);
        let m1 = mean_at(&a[2 * LANES..], &b[2 * LANES..]);
        store_u16_x2(l, low_codes_x2_integral(&c, m0, m1));
    }
    let m = vector_len(&lens, LANES);
    for ((a, b), l) in q0[2 * n..2 * m]
        .as_chunks::<{ 2 * LANES }>()
        .0
        .iter()
        .zip(q1[2 * n..2 * m].as_chunks::<{ 2 * LANES }>().0)
        .zip(lo[n..m].as_chunks_mut::<LANES>().0)
    {
        store_u16(l, narrow_small(c.low_code_fast(mean_at(a, b))));
    }
    if has_tail(&[lo.len()], m) {
        kernels::block_low_row(split, &q0[2 * m..], &q1[2 * m..], &mut lo[m..]);
    }
}

/// [`kernels::block_low_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn block_low_row(split: &Split, q0: &[u32], q1: &[u32], lo: &mut [u16]) {
    if SplitV::integral_step(split) {
        block_low_row_fast::<true>(split, q0, q1, lo);
    } else if SplitV::fast(split) {
        block_low_row_fast::<false>(split, q0, q1, lo);
    } else {
        kernels::block_low_row(split, q0, q1, lo);
    }
}

/// [`kernels::merge_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn merge_row(split: &Split, hi: &[u16], lo: &[u16], q: &mut [u32]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), lo.len()], LANES);
    for ((h, l), d) in
        hi[..n].as_chunks::<LANES>().0.iter().zip(lo[..n].as_chunks::<LANES>().0).zip(q[..n].as_chunks_mut::<LANES>().0)
    {
        store_u32(d, c.merge(load_u16(h), load_u16(l)));
    }
    if has_tail(&[hi.len(), lo.len(), q.len()], n) {
        kernels::merge_row(split, &hi[n..], &lo[n..], &mut q[n..]);
    }
}

/// [`kernels::merge_row_half`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn merge_row_half(split: &Split, hi: &[u16], lo: &[u16], q: &mut [u32]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), 2 * lo.len()], LANES);
    for ((h, l), d) in hi[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(lo[..n / 2].as_chunks::<{ LANES / 2 }>().0)
        .zip(q[..n].as_chunks_mut::<LANES>().0)
    {
        store_u32(d, c.merge(load_u16(h), load_u16_doubled(l)));
    }
    if has_tail(&[hi.len(), q.len()], n) {
        kernels::merge_row_half(split, &hi[n..], &lo[n / 2..], &mut q[n..]);
    }
}

#[target_feature(enable = "avx2")]
fn dequantise_row_impl<const DISP: bool>(quant: &Quant, q: &[u32], out: &mut [f32]) {
    let c = QuantV::new(quant);
    let n = vector_len(&[q.len(), out.len()], LANES);
    for (s, d) in q[..n].as_chunks::<LANES>().0.iter().zip(out[..n].as_chunks_mut::<LANES>().0) {
        store_f32(d, c.depth::<DISP>(load_u32(s)));
    }
    if has_tail(&[q.len(), out.len()], n) {
        kernels::dequantise_row(quant, &q[n..], &mut out[n..]);
    }
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

/// Whether the high codes of every level `quant` gives fit a u16 unmasked.
#[inline]
fn high_codes_fit(quant: &Quant, split: &Split) -> bool {
    split.low_bits < 32 && QuantV::max_level(quant) >> split.low_bits <= 0xffff
}

#[target_feature(enable = "avx2")]
fn quantise_high_row_impl<const DISP: bool, const CLAMP: bool>(
    quant: &Quant,
    split: &Split,
    src: &[f32],
    q: &mut [u32],
    hi: &mut [u16],
) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let n = vector_len(&[src.len(), q.len(), hi.len()], 2 * LANES);
    for ((z, d), h) in src[..n]
        .as_chunks::<{ 2 * LANES }>()
        .0
        .iter()
        .zip(q[..n].as_chunks_mut::<{ 2 * LANES }>().0)
        .zip(hi[..n].as_chunks_mut::<{ 2 * LANES }>().0)
    {
        let (d0, d1) = d.split_at_mut(LANES);
        let v0 = c.level::<DISP, CLAMP>(load_f32(z));
        let v1 = c.level::<DISP, CLAMP>(load_f32(&z[LANES..]));
        store_u32(d0, v0);
        store_u32(d1, v1);
        store_u16_x2(h, narrow_small_x2(s.high(v0), s.high(v1)));
    }
    let m = vector_len(&[src.len(), q.len(), hi.len()], LANES);
    if m > n {
        let v = c.level::<DISP, CLAMP>(load_f32(&src[n..]));
        store_u32(&mut q[n..], v);
        store_u16(&mut hi[n..], narrow_small(s.high(v)));
    }
    if has_tail(&[src.len(), q.len(), hi.len()], m) {
        kernels::quantise_high_row(quant, split, &src[m..], &mut q[m..], &mut hi[m..]);
    }
}

/// [`kernels::quantise_high_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn quantise_high_row(quant: &Quant, split: &Split, src: &[f32], q: &mut [u32], hi: &mut [u16]) {
    match QuantV::fast(quant) {
        Some((disp, clamp)) if high_codes_fit(quant, split) => {
            with_flags!(quantise_high_row_impl(quant, split, src, q, hi), disp, clamp)
        }
        _ => kernels::quantise_high_row(quant, split, src, q, hi),
    }
}

/// The low codes of 16 levels (8 in `a`, then 8 in `b`) as u16, in order, for constants that
/// pass [`SplitV::integral_step`]: folded values times a whole-number step are exact, so
/// `base + round(folded · step)` is `base + folded · step` in 16-bit integers, 16 lanes at a time.
#[target_feature(enable = "avx2")]
#[inline]
fn low_codes_x2_integral(s: &SplitV, a: __m256i, b: __m256i) -> __m256i {
    let low16 = _mm256_set1_epi32(0xffff);
    // The low 16 bits of each level hold `t` and the parity bit `L` (L ≤ 15).
    let w = narrow_small_x2(_mm256_and_si256(a, low16), _mm256_and_si256(b, low16));
    let m = _mm256_srai_epi16::<15>(_mm256_sll_epi16(w, s.parity_shift16));
    let folded = _mm256_and_si256(_mm256_xor_si256(w, m), s.low_max16);
    _mm256_add_epi16(_mm256_mullo_epi16(folded, s.step16), s.base16)
}

#[target_feature(enable = "avx2")]
fn quantise_split_row_impl<const DISP: bool, const CLAMP: bool, const INT_STEP: bool>(
    quant: &Quant,
    split: &Split,
    src: &[f32],
    hi: &mut [u16],
    lo: &mut [u16],
) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let n = vector_len(&[src.len(), hi.len(), lo.len()], 2 * LANES);
    for ((z, h), l) in src[..n]
        .as_chunks::<{ 2 * LANES }>()
        .0
        .iter()
        .zip(hi[..n].as_chunks_mut::<{ 2 * LANES }>().0)
        .zip(lo[..n].as_chunks_mut::<{ 2 * LANES }>().0)
    {
        let v0 = c.level::<DISP, CLAMP>(load_f32(z));
        let v1 = c.level::<DISP, CLAMP>(load_f32(&z[LANES..]));
        store_u16_x2(h, narrow_small_x2(s.high(v0), s.high(v1)));
        let codes = if INT_STEP {
            low_codes_x2_integral(&s, v0, v1)
        } else {
            narrow_small_x2(s.low_code_fast(v0), s.low_code_fast(v1))
        };
        store_u16_x2(l, codes);
    }
    let m = vector_len(&[src.len(), hi.len(), lo.len()], LANES);
    if m > n {
        let v = c.level::<DISP, CLAMP>(load_f32(&src[n..]));
        store_u16(&mut hi[n..], narrow_small(s.high(v)));
        store_u16(&mut lo[n..], narrow_small(s.low_code_fast(v)));
    }
    if has_tail(&[src.len(), hi.len(), lo.len()], m) {
        kernels::quantise_split_row(quant, split, &src[m..], &mut hi[m..], &mut lo[m..]);
    }
}

/// [`kernels::quantise_split_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn quantise_split_row(quant: &Quant, split: &Split, src: &[f32], hi: &mut [u16], lo: &mut [u16]) {
    match QuantV::fast(quant) {
        Some((disp, clamp)) if high_codes_fit(quant, split) && SplitV::fast(split) => {
            if SplitV::integral_step(split) {
                with_flags!(quantise_split_row_impl::<true>(quant, split, src, hi, lo), disp, clamp)
            } else {
                with_flags!(quantise_split_row_impl::<false>(quant, split, src, hi, lo), disp, clamp)
            }
        }
        _ => kernels::quantise_split_row(quant, split, src, hi, lo),
    }
}

/// Whether the unpack kernels' shortcuts apply: with `low_max = 2^L − 1` the merged level is
/// `hi · 2^L + t` (`t` is an xor-fold of the low value); every valid level is at least
/// `max(q0, 1)` (so scalar's saturating subtraction is a plain one and level 0 means exactly
/// "invalid"); and every level is below `2^24`, so `q − q0` converts to f32 exactly.
#[inline]
fn unpack_fast(split: &Split, quant: &Quant) -> bool {
    if split.low_bits > 16 || split.low_max != (1 << split.low_bits) - 1 {
        return false;
    }
    let top = (u64::from(split.max_code) << split.low_bits) + u64::from(split.low_max);
    let bottom = u64::from(split.guard.min(split.max_code)) << split.low_bits;
    top < F32_EXACT && bottom >= u64::from(quant.q0.max(1))
}

/// How the unpack kernels get the unfolded low value `f` of a low code.
mod low {
    /// `L = 0`: no low part, `f = 0`.
    pub(super) const NONE: u8 = 0;
    /// [`super::SplitV::low_value`], in f32 (any constants).
    pub(super) const FLOAT: u8 = 1;
    /// `step = 1`: `f = min(max(lo − base, 0), low_max)` in 16-bit lanes.
    pub(super) const UNIT: u8 = 2;
    /// An odd whole-number step `s` with `inv_step = fl(1/s)` (full amplitude at P12 on 8-bit
    /// planes, P15 on 10-bit): `f = floor((min(max(lo − base, 0), s · low_max) + (s−1)/2) / s)`,
    /// the clamp in 16-bit lanes and the division as `(y · ceil(2^k/s)) >> k`, `k = 31 − L`.
    ///
    /// Why this is scalar's `round((lo − base) · inv_step)` clamped to `[0, low_max]`: `x/s`
    /// (x = lo − base) is `j + i/s` with `s` odd, so at least `1/(2s)` from a tie, and the f32
    /// product is within `(65535/s) · 2^-23 < 1/(2s)` of it, so scalar rounds to the nearest
    /// integer of `x/s`: for `x ≥ 0` that is `floor((x + (s−1)/2) / s)`, for `x < 0` it is ≤ 0
    /// and clamps to 0, and for `x ≥ s · low_max` it is at least `low_max`, as the formula gives.
    /// The multiply-shift is exact: `y < s · 2^L`, so its error `y/2^k` stays below `1/s` (as
    /// `s · 2^L ≤ span + s < 2^15`) and `y · ceil(2^k/s) < 2^31 + s · 2^L` fits a u32.
    pub(super) const ODD: u8 = 3;
}

/// The [`low`] mode for `s` (with [`unpack_fast`] already true).
#[inline]
fn low_mode(s: &Split) -> u8 {
    let st = s.step;
    let whole = SplitV::fast(s) && st >= 1.0 && st == st.trunc() && s.inv_step == 1.0 / st;
    if s.low_bits == 0 {
        low::NONE
    } else if whole && st == 1.0 {
        // `(lo − base) · 1` is exact and whole, so rounding changes nothing.
        low::UNIT
    } else if whole && (st as u64) % 2 == 1 && (st as u64) << s.low_bits < 1 << 15 {
        low::ODD
    } else {
        low::FLOAT
    }
}

/// Extra constants of the unpack kernels.
#[derive(Clone, Copy)]
struct UnpackV {
    /// `2^L`, for the f32 level index.
    two_l: __m256,
    /// `−q0`.
    neg_q0: __m256,
    /// `32 − L`: turns an all-ones lane into `low_max`.
    fold_shift: __m128i,
    /// 16-bit lanes of the integer low values: `base`, `s · low_max`.
    base16: __m256i,
    cap16: __m256i,
    /// [`low::ODD`]: `(s − 1)/2`, `ceil(2^k/s)` and `k = 31 − L`.
    half: __m256i,
    magic: __m256i,
    magic_shift: __m128i,
}

impl UnpackV {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new<const MODE: u8>(split: &Split, quant: &Quant) -> UnpackV {
        // Only meaningful in the modes that use them (see `low_mode`); the division only in the
        // one mode that needs it (this runs once per row).
        let st = (split.step as u32).max(1);
        let k = 31u32.saturating_sub(split.low_bits);
        let magic = if MODE == low::ODD { (1u64 << k).div_ceil(u64::from(st)) as u32 } else { 0 };
        UnpackV {
            two_l: _mm256_set1_ps((1u32 << split.low_bits) as f32),
            neg_q0: _mm256_set1_ps(-(quant.q0 as f32)),
            fold_shift: _mm_cvtsi32_si128(32 - split.low_bits as i32),
            base16: _mm256_set1_epi16(split.base as u16 as i16),
            cap16: _mm256_set1_epi16(st.wrapping_mul(split.low_max) as u16 as i16),
            half: _mm256_set1_epi32(((st - 1) / 2) as i32),
            magic: _mm256_set1_epi32(magic as i32),
            magic_shift: _mm_cvtsi32_si128(k as i32),
        }
    }

    /// 16 low codes clamped to `[base, base + s · low_max]`, minus `base` (16-bit lanes): the
    /// low values in mode [`low::UNIT`], the input of [`UnpackV::finish_low`] in [`low::ODD`].
    #[target_feature(enable = "avx2")]
    #[inline]
    fn low_values16(&self, lo: __m256i) -> __m256i {
        _mm256_min_epu16(_mm256_subs_epu16(lo, self.base16), self.cap16)
    }

    /// The integer low values of 8 clamped low codes `x` (u32 lanes) in `MODE`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn finish_low<const MODE: u8>(&self, x: __m256i) -> __m256i {
        if MODE == low::ODD {
            _mm256_srl_epi32(_mm256_mullo_epi32(_mm256_add_epi32(x, self.half), self.magic), self.magic_shift)
        } else {
            x
        }
    }

    /// [`UnpackV::low_values16`] of 8 low codes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn low_values8(&self, lo: __m128i) -> __m128i {
        _mm_min_epu16(_mm_subs_epu16(lo, _mm256_castsi256_si128(self.base16)), _mm256_castsi256_si128(self.cap16))
    }
}

/// [`Quant::depth`] of [`Split::merge`] of 8 high codes and their unfolded low values, for
/// constants that pass [`unpack_fast`]. In [`low::FLOAT`] and [`low::NONE`] mode the low values
/// are `f` (f32) and the level index `q − q0 = hi · 2^L − q0 + t` is built in f32 from exact
/// whole numbers, `t` being `f` folded (`low_max − f`) where `hi` is odd; in the integer modes
/// they are `fi` (u32 lanes) and `q = hi << L | (fi ^ fold)` is built in integers.
#[target_feature(enable = "avx2")]
#[inline]
fn unpack8<const DISP: bool, const MODE: u8>(
    c: &QuantV,
    s: &SplitV,
    u: &UnpackV,
    hi: __m256i,
    f: __m256,
    fi: __m256i,
) -> __m256 {
    let invalid = _mm256_cmpgt_epi32(s.half_guard, hi);
    let hi = _mm256_min_epu32(_mm256_max_epu32(hi, s.guard), s.max_code);
    let n = match MODE {
        low::NONE => _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(hi), u.two_l), u.neg_q0),
        low::FLOAT => {
            let high = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(hi), u.two_l), u.neg_q0);
            // `blendv_ps` picks by the sign bit: the parity of `hi`, shifted up.
            let odd = _mm256_castsi256_ps(_mm256_slli_epi32::<31>(hi));
            _mm256_add_ps(high, _mm256_blendv_ps(f, _mm256_sub_ps(s.low_max_f, f), odd))
        }
        _ => {
            // `low_max` where `hi` is odd: all ones from the parity bit, shifted down to L bits.
            let fold = _mm256_srl_epi32(odd(hi), u.fold_shift);
            let q = _mm256_or_si256(_mm256_sll_epi32(hi, s.shift), _mm256_xor_si256(fi, fold));
            _mm256_cvtepi32_ps(_mm256_sub_epi32(q, c.q0))
        }
    };
    c.depth_of_index::<DISP>(n, invalid)
}

/// Merge and dequantise one low code per pixel (VBP luma layout): 16 pixels per loop in the
/// integer low modes, 8 otherwise.
#[target_feature(enable = "avx2")]
fn unpack_row_impl<const DISP: bool, const MODE: u8>(
    split: &Split,
    quant: &Quant,
    hi: &[u16],
    lo: &[u16],
    out: &mut [f32],
) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let u = UnpackV::new::<MODE>(split, quant);
    let lens = [hi.len(), lo.len(), out.len()];
    let zero_f = _mm256_setzero_ps();
    let zero_i = _mm256_setzero_si256();
    let n = if MODE >= low::UNIT { vector_len(&lens, 2 * LANES) } else { 0 };
    for ((h, l), d) in hi[..n]
        .as_chunks::<{ 2 * LANES }>()
        .0
        .iter()
        .zip(lo[..n].as_chunks::<{ 2 * LANES }>().0)
        .zip(out[..n].as_chunks_mut::<{ 2 * LANES }>().0)
    {
        assert!(l.len() >= 2 * LANES);
        // SAFETY: `l` holds at least 16 u16, 32 bytes (checked above); unaligned load.
        let f = u.low_values16(unsafe { _mm256_loadu_si256(l.as_ptr().cast()) });
        let f0 = u.finish_low::<MODE>(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(f)));
        let f1 = u.finish_low::<MODE>(_mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(f)));
        let (d0, d1) = d.split_at_mut(LANES);
        store_f32(d0, unpack8::<DISP, MODE>(&c, &s, &u, load_u16(h), zero_f, f0));
        store_f32(d1, unpack8::<DISP, MODE>(&c, &s, &u, load_u16(&h[LANES..]), zero_f, f1));
    }
    let m = vector_len(&lens, LANES);
    for ((h, l), d) in hi[n..m]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(lo[n..m].as_chunks::<LANES>().0)
        .zip(out[n..m].as_chunks_mut::<LANES>().0)
    {
        let (f, fi) = match MODE {
            low::NONE => (zero_f, zero_i),
            low::FLOAT => (s.low_value(load_u16(l)), zero_i),
            _ => {
                // SAFETY: `l` holds exactly 8 u16, 16 bytes (a chunk); unaligned load.
                let codes = unsafe { _mm_loadu_si128(l.as_ptr().cast()) };
                (zero_f, u.finish_low::<MODE>(_mm256_cvtepu16_epi32(u.low_values8(codes))))
            }
        };
        store_f32(d, unpack8::<DISP, MODE>(&c, &s, &u, load_u16(h), f, fi));
    }
    if has_tail(&[hi.len(), lo.len(), out.len()], m) {
        kernels::unpack_row(split, quant, &hi[m..], &lo[m..], &mut out[m..]);
    }
}

/// Merge and dequantise with one low code per 2 pixels (VBP chroma layout, luma-only): 16 pixels
/// per loop, whose 8 low values are computed once and then spread to both pixels of each pair.
#[target_feature(enable = "avx2")]
fn unpack_row_half_impl<const DISP: bool, const MODE: u8>(
    split: &Split,
    quant: &Quant,
    hi: &[u16],
    lo: &[u16],
    out: &mut [f32],
) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let u = UnpackV::new::<MODE>(split, quant);
    let lens = [hi.len(), 2 * lo.len(), out.len()];
    let zero_f = _mm256_setzero_ps();
    let zero_i = _mm256_setzero_si256();
    let n = vector_len(&lens, 2 * LANES);
    for ((h, l), d) in hi[..n]
        .as_chunks::<{ 2 * LANES }>()
        .0
        .iter()
        .zip(lo[..n / 2].as_chunks::<LANES>().0)
        .zip(out[..n].as_chunks_mut::<{ 2 * LANES }>().0)
    {
        let (d0, d1) = d.split_at_mut(LANES);
        assert!(l.len() >= LANES);
        let ((f0, fi0), (f1, fi1)) = match MODE {
            low::NONE => ((zero_f, zero_i), (zero_f, zero_i)),
            low::FLOAT => {
                // SAFETY: `l` holds at least 8 u16, 16 bytes (checked above); unaligned load.
                let codes = unsafe { _mm_loadu_si128(l.as_ptr().cast()) };
                // Low codes in the lane order 0 1 4 5 | 2 3 6 7, so that duplicating each lane
                // within its 128-bit half gives 0 0 1 1 2 2 3 3 and 4 4 5 5 6 6 7 7.
                let codes = _mm256_cvtepu16_epi32(_mm_shuffle_epi32::<0b11_01_10_00>(codes));
                let f = s.low_value(codes);
                ((_mm256_unpacklo_ps(f, f), zero_i), (_mm256_unpackhi_ps(f, f), zero_i))
            }
            _ => {
                // SAFETY: `l` holds at least 8 u16, 16 bytes (checked above); unaligned load.
                let codes = unsafe { _mm_loadu_si128(l.as_ptr().cast()) };
                // As for the float values: lanes 0 1 4 5 | 2 3 6 7, then duplicated in-lane.
                let x = _mm_shuffle_epi32::<0b11_01_10_00>(u.low_values8(codes));
                let f = u.finish_low::<MODE>(_mm256_cvtepu16_epi32(x));
                let f0 = _mm256_unpacklo_epi32(f, f);
                let f1 = _mm256_unpackhi_epi32(f, f);
                ((zero_f, f0), (zero_f, f1))
            }
        };
        store_f32(d0, unpack8::<DISP, MODE>(&c, &s, &u, load_u16(h), f0, fi0));
        store_f32(d1, unpack8::<DISP, MODE>(&c, &s, &u, load_u16(&h[LANES..]), f1, fi1));
    }
    let m = vector_len(&lens, LANES);
    if m > n {
        // One more step of 8 pixels, with the float low values (right in every mode).
        let f = if MODE == low::NONE { zero_f } else { s.low_value(load_u16_doubled(&lo[n / 2..])) };
        let store_mode_float = |c: &QuantV, s: &SplitV, u: &UnpackV, h: __m256i| {
            if MODE == low::NONE {
                unpack8::<DISP, { low::NONE }>(c, s, u, h, f, zero_i)
            } else {
                unpack8::<DISP, { low::FLOAT }>(c, s, u, h, f, zero_i)
            }
        };
        store_f32(&mut out[n..], store_mode_float(&c, &s, &u, load_u16(&hi[n..])));
    }
    if has_tail(&[hi.len(), out.len()], m) {
        kernels::unpack_row_half(split, quant, &hi[m..], &lo[m / 2..], &mut out[m..]);
    }
}

/// Runs `$f::<DISP, MODE>($args)` with both known at compile time.
macro_rules! with_disp_mode {
    ($f:ident($($arg:expr),*), $disp:expr, $mode:expr) => {
        match ($disp, $mode) {
            (false, low::NONE) => $f::<false, { low::NONE }>($($arg),*),
            (false, low::FLOAT) => $f::<false, { low::FLOAT }>($($arg),*),
            (false, low::UNIT) => $f::<false, { low::UNIT }>($($arg),*),
            (false, _) => $f::<false, { low::ODD }>($($arg),*),
            (true, low::NONE) => $f::<true, { low::NONE }>($($arg),*),
            (true, low::FLOAT) => $f::<true, { low::FLOAT }>($($arg),*),
            (true, low::UNIT) => $f::<true, { low::UNIT }>($($arg),*),
            (true, _) => $f::<true, { low::ODD }>($($arg),*),
        }
    };
}

/// [`kernels::unpack_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn unpack_row(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    if unpack_fast(split, quant) {
        // With one low code per pixel the integer division of `low::ODD` measured no faster
        // than the float path here (it pays off when each value serves two pixels).
        let mode = match low_mode(split) {
            low::ODD => low::FLOAT,
            m => m,
        };
        with_disp_mode!(unpack_row_impl(split, quant, hi, lo, out), quant.disparity, mode);
    } else {
        kernels::unpack_row(split, quant, hi, lo, out);
    }
}

/// [`kernels::unpack_row_half`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn unpack_row_half(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    if unpack_fast(split, quant) {
        with_disp_mode!(unpack_row_half_impl(split, quant, hi, lo, out), quant.disparity, low_mode(split));
    } else {
        kernels::unpack_row_half(split, quant, hi, lo, out);
    }
}
