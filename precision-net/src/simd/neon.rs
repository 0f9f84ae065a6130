//! aarch64 NEON kernel: eight outputs in two int32x4 accumulators; each activation, widened to
//! i16, multiplies the eight i16 weights of its column with `smlal`/`smlal2` (exact).

use std::arch::aarch64::*;

use crate::kernels::Weights;

/// NEON [`crate::kernels::matvec`].
///
/// # Safety
/// The CPU must support NEON; `a.len() >= w.in_pad` and `acc.len() >= w.out_pad`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn matvec(w: &Weights, a: &[u8], acc: &mut [i32]) {
    for ob in 0..w.out_pad / 8 {
        let block = &w.cols[ob * w.in_pad * 8..(ob + 1) * w.in_pad * 8];
        // SAFETY: `bias` has `out_pad` values; ob·8 + 8 ≤ out_pad.
        let (mut lo, mut hi) =
            unsafe { (vld1q_s32(w.bias.as_ptr().add(ob * 8)), vld1q_s32(w.bias.as_ptr().add(ob * 8 + 4))) };
        for i in 0..w.in_pad {
            let x = i16::from(a[i]);
            // SAFETY: `block` holds 8 i16 per input; i < in_pad.
            let wv = unsafe { vld1q_s16(block.as_ptr().add(i * 8)) };
            lo = vmlal_n_s16(lo, vget_low_s16(wv), x);
            hi = vmlal_high_n_s16(hi, wv, x);
        }
        // SAFETY: `acc` has at least `out_pad` values (checked by the caller).
        unsafe {
            vst1q_s32(acc.as_mut_ptr().add(ob * 8), lo);
            vst1q_s32(acc.as_mut_ptr().add(ob * 8 + 4), hi);
        }
    }
}
