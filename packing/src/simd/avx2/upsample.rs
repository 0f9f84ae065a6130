//! The guided factor-2 upsampler's row kernel ([`crate::resample`]): 8 pixels of even `x` and the
//! 8 of odd `x` beside them per step, their best candidates kept in registers across all nine.
//!
//! The f32 steps are the scalar definition's in the same order (`(c - l)·(c - l)·inv_colour`
//! added to the spatial term, the strictly larger log-weight winning, the on-surface corners'
//! weighted sum over their weights), with no fused multiply-add. `_mm256_min_ps` differs from
//! `f32::min` only for a NaN chosen sample, whose pixel is invalid whatever the corners say.

use core::arch::x86_64::*;

use crate::depth::INVALID_DEPTH;
use crate::resample::{GUIDED_BLOCK, GuidedRow};

const _: () = assert!(GUIDED_BLOCK == 8, "one AVX2 register per block");

/// Eight lanes from `s[at..at + 8]`.
#[inline(always)]
fn load(s: &[f32], at: usize) -> __m256 {
    let s = &s[at..at + 8];
    // SAFETY: `s` holds 8 floats; unaligned loads are allowed.
    unsafe { _mm256_loadu_ps(s.as_ptr()) }
}

/// Lanes holding a valid depth: `v > 0` and finite (`v < inf`; NaN fails both).
#[target_feature(enable = "avx2")]
#[inline]
fn valid(v: __m256) -> __m256 {
    let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(v, _mm256_setzero_ps());
    _mm256_and_ps(positive, _mm256_cmp_ps::<_CMP_LT_OQ>(v, _mm256_set1_ps(f32::INFINITY)))
}

/// The depths of the best candidates of the pixels `2(at + k)` and `2(at + k) + 1`: both
/// parities at once, as their candidates are the same samples.
#[target_feature(enable = "avx2")]
#[inline]
fn choose(r: &GuidedRow<'_>, spaces: &[[[f32; 2]; 3]; 3], at: usize) -> [__m256; 2] {
    let c = [load(r.cp[0], at), load(r.cp[1], at)];
    let inv_colour = _mm256_set1_ps(r.inv_colour);
    let mut best_l = [_mm256_set1_ps(f32::NEG_INFINITY); 2];
    let mut best_d = [_mm256_set1_ps(INVALID_DEPTH); 2];
    for (&(lumas, depths, _), spaces) in r.rows.iter().zip(spaces) {
        for (oi, space) in spaces.iter().enumerate() {
            let (ls, ds) = (load(lumas, at + oi), load(depths, at + oi));
            for (px, &space) in space.iter().enumerate() {
                let space = _mm256_set1_ps(space);
                let d = _mm256_sub_ps(c[px], ls);
                let l = _mm256_add_ps(space, _mm256_mul_ps(_mm256_mul_ps(d, d), inv_colour));
                let better = _mm256_cmp_ps::<_CMP_GT_OQ>(l, best_l[px]);
                // `max_ps(a, b)` is `a > b ? a : b` (b for a NaN or equal operand): the select.
                best_l[px] = _mm256_max_ps(l, best_l[px]);
                best_d[px] = _mm256_blendv_ps(best_d[px], ds, better);
            }
        }
    }
    best_d
}

/// The pixels' depths from their chosen samples and corners (the `used` corners, weights `w`).
#[target_feature(enable = "avx2")]
#[inline]
fn blend(chosen: __m256, corners: [__m256; 4], w: [f32; 4], tolerance: __m256) -> __m256 {
    let abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
    let (mut sum, mut wsum) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for (v, w) in corners.into_iter().zip(w) {
        if w > 0.0 {
            let w = _mm256_set1_ps(w);
            let near = _mm256_and_ps(_mm256_sub_ps(v, chosen), abs);
            let same = _mm256_cmp_ps::<_CMP_LE_OQ>(near, _mm256_mul_ps(tolerance, _mm256_min_ps(v, chosen)));
            let take = _mm256_and_ps(valid(v), same);
            sum = _mm256_add_ps(sum, _mm256_and_ps(take, _mm256_mul_ps(v, w)));
            wsum = _mm256_add_ps(wsum, _mm256_and_ps(take, w));
        }
    }
    let some = _mm256_cmp_ps::<_CMP_GT_OQ>(wsum, _mm256_setzero_ps());
    let z = _mm256_blendv_ps(chosen, _mm256_div_ps(sum, wsum), some);
    _mm256_and_ps(z, valid(chosen))
}

/// One row of the guided factor-2 upsampler into `out` (the row, full width).
#[target_feature(enable = "avx2")]
pub(crate) fn guided_half_row(r: &GuidedRow<'_>, out: &mut [f32]) {
    const { assert!(INVALID_DEPTH == 0.0, "invalid lanes are cleared by a mask") };
    let width = out.len();
    let tolerance = _mm256_set1_ps(r.tolerance);
    let (w0, w1) = (r.weights(0), r.weights(1));
    let spaces = r.spaces();
    let mut tail = [0.0f32; 16];
    for at in (0..width.div_ceil(2)).step_by(8) {
        let corners = [load(r.r0, at + 1), load(r.r0, at + 2), load(r.r1, at + 1), load(r.r1, at + 2)];
        let [even, odd] = choose(r, &spaces, at);
        let (even, odd) = (blend(even, corners, w0, tolerance), blend(odd, corners, w1, tolerance));
        // Interleaved: e0 o0 e1 o1 .. e7 o7.
        let (lo, hi) = (_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd));
        let first = _mm256_permute2f128_ps::<0x20>(lo, hi);
        let second = _mm256_permute2f128_ps::<0x31>(lo, hi);
        let x = 2 * at;
        let n = (width - x).min(16);
        let to = if n == 16 { &mut out[x..x + 16] } else { &mut tail[..] };
        // SAFETY: `to` holds 16 floats; unaligned stores are allowed.
        unsafe {
            _mm256_storeu_ps(to.as_mut_ptr(), first);
            _mm256_storeu_ps(to.as_mut_ptr().add(8), second);
        }
        if n < 16 {
            out[x..].copy_from_slice(&tail[..n]);
        }
    }
}
