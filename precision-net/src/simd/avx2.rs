//! x86-64 kernels: AVX2 (`vpmaddwd`) and AVX-VNNI (`vpdpbusd`). Eight outputs per 256-bit
//! accumulator, the activations broadcast two (or four) at a time, so no horizontal sums.

use std::arch::x86_64::*;

use crate::kernels::Weights;

/// AVX2 [`crate::kernels::matvec`]. Activations (0..=255) and weights (−128..=127) as i16; each
/// `vpmaddwd` lane sums two products of at most 255 · 128, far from i32 overflow: exact.
///
/// # Safety
/// The CPU must support AVX2; `a.len() >= w.in_pad` and `acc.len() >= w.out_pad`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn matvec(w: &Weights, a: &[u8], acc: &mut [i32]) {
    let pairs = w.in_pad / 2;
    for ob in 0..w.out_pad / 8 {
        let block = &w.pairs[ob * pairs * 16..(ob + 1) * pairs * 16];
        // SAFETY: `bias` has `out_pad` values; ob·8 + 8 ≤ out_pad.
        let mut s0 = unsafe { _mm256_loadu_si256(w.bias.as_ptr().add(ob * 8).cast()) };
        let mut s1 = _mm256_setzero_si256();
        let mut p = 0;
        while p + 2 <= pairs {
            let x0 = i32::from(a[2 * p]) | (i32::from(a[2 * p + 1]) << 16);
            let x1 = i32::from(a[2 * p + 2]) | (i32::from(a[2 * p + 3]) << 16);
            // SAFETY: `block` holds 16 i16 per pair; p + 1 < pairs.
            let (w0, w1) = unsafe {
                (
                    _mm256_loadu_si256(block.as_ptr().add(p * 16).cast()),
                    _mm256_loadu_si256(block.as_ptr().add(p * 16 + 16).cast()),
                )
            };
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_set1_epi32(x0), w0));
            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_set1_epi32(x1), w1));
            p += 2;
        }
        if p < pairs {
            let x0 = i32::from(a[2 * p]) | (i32::from(a[2 * p + 1]) << 16);
            // SAFETY: as above, p < pairs.
            let w0 = unsafe { _mm256_loadu_si256(block.as_ptr().add(p * 16).cast()) };
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_set1_epi32(x0), w0));
        }
        // SAFETY: `acc` has at least `out_pad` values (checked by the caller).
        unsafe { _mm256_storeu_si256(acc.as_mut_ptr().add(ob * 8).cast(), _mm256_add_epi32(s0, s1)) };
    }
}

/// AVX-VNNI [`crate::kernels::matvec`]: `vpdpbusd` multiplies four u8 activations by four i8
/// weights and adds the four products to an i32 lane without saturation: exact. (Not run on the
/// development machine, which lacks VNNI; the test prints a skip line there.)
///
/// # Safety
/// The CPU must support AVX2 and AVX-VNNI; `a.len() >= w.in_pad` and `acc.len() >= w.out_pad`.
#[target_feature(enable = "avx2,avxvnni")]
pub(super) unsafe fn matvec_vnni(w: &Weights, a: &[u8], acc: &mut [i32]) {
    let quads = w.in_pad / 4;
    for ob in 0..w.out_pad / 8 {
        let block = &w.quads[ob * quads * 32..(ob + 1) * quads * 32];
        // SAFETY: `bias` has `out_pad` values; ob·8 + 8 ≤ out_pad.
        let mut s = unsafe { _mm256_loadu_si256(w.bias.as_ptr().add(ob * 8).cast()) };
        for q in 0..quads {
            let x = i32::from_le_bytes([a[4 * q], a[4 * q + 1], a[4 * q + 2], a[4 * q + 3]]);
            // SAFETY: `block` holds 32 i8 per quad; q < quads.
            let wv = unsafe { _mm256_loadu_si256(block.as_ptr().add(q * 32).cast()) };
            s = _mm256_dpbusd_avx_epi32(s, _mm256_set1_epi32(x), wv);
        }
        // SAFETY: `acc` has at least `out_pad` values (checked by the caller).
        unsafe { _mm256_storeu_si256(acc.as_mut_ptr().add(ob * 8).cast(), s) };
    }
}
