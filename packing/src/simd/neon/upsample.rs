//! The guided factor-2 upsampler's row kernel ([`crate::resample`]): 4 pixels of even `x` and the
//! 4 of odd `x` beside them per step, their best candidates kept in registers across all nine.
//!
//! The f32 steps are the scalar definition's in the same order (`(c - l)·(c - l)·inv_colour`
//! added to the spatial term, the strictly larger log-weight winning, the on-surface corners'
//! weighted sum over their weights), with no fused multiply-add. `vminq_f32` differs from
//! `f32::min` only for a NaN chosen sample, whose pixel is invalid whatever the corners say.

use core::arch::aarch64::*;

use crate::depth::INVALID_DEPTH;
use crate::resample::{GUIDED_BLOCK, GuidedRow};

/// Number of lanes per step.
const LANES: usize = 4;

const _: () = assert!(GUIDED_BLOCK % LANES == 0, "rows are padded to whole steps");

/// Four lanes from `s[at..at + 4]`.
#[inline(always)]
fn load(s: &[f32], at: usize) -> float32x4_t {
    let s = &s[at..at + LANES];
    // SAFETY: `s` holds 4 floats.
    unsafe { vld1q_f32(s.as_ptr()) }
}

/// Lanes holding a valid depth: `v > 0` and finite (`v < inf`; NaN fails both).
#[target_feature(enable = "neon")]
#[inline]
fn valid(v: float32x4_t) -> uint32x4_t {
    vandq_u32(vcgtq_f32(v, vdupq_n_f32(0.0)), vcltq_f32(v, vdupq_n_f32(f32::INFINITY)))
}

/// The depths of the best candidates of the pixels `2(at + k)` and `2(at + k) + 1`: both
/// parities at once, as their candidates are the same samples.
#[target_feature(enable = "neon")]
#[inline]
fn choose(r: &GuidedRow<'_>, spaces: &[[[f32; 2]; 3]; 3], at: usize) -> [float32x4_t; 2] {
    let c = [load(r.cp[0], at), load(r.cp[1], at)];
    let inv_colour = vdupq_n_f32(r.inv_colour);
    let mut best_l = [vdupq_n_f32(f32::NEG_INFINITY); 2];
    let mut best_d = [vdupq_n_f32(INVALID_DEPTH); 2];
    for (&(lumas, depths, _), spaces) in r.rows.iter().zip(spaces) {
        for (oi, space) in spaces.iter().enumerate() {
            let (ls, ds) = (load(lumas, at + oi), load(depths, at + oi));
            for (px, &space) in space.iter().enumerate() {
                let d = vsubq_f32(c[px], ls);
                let l = vaddq_f32(vdupq_n_f32(space), vmulq_f32(vmulq_f32(d, d), inv_colour));
                let better = vcgtq_f32(l, best_l[px]);
                best_l[px] = vbslq_f32(better, l, best_l[px]);
                best_d[px] = vbslq_f32(better, ds, best_d[px]);
            }
        }
    }
    best_d
}

/// `v` where `mask` is set, else +0.
#[target_feature(enable = "neon")]
#[inline]
fn and(mask: uint32x4_t, v: float32x4_t) -> float32x4_t {
    vreinterpretq_f32_u32(vandq_u32(mask, vreinterpretq_u32_f32(v)))
}

/// The pixels' depths from their chosen samples and corners (weights `w`; zero: left out).
#[target_feature(enable = "neon")]
#[inline]
fn blend(chosen: float32x4_t, corners: [float32x4_t; 4], w: [f32; 4], tolerance: float32x4_t) -> float32x4_t {
    let (mut sum, mut wsum) = (vdupq_n_f32(0.0), vdupq_n_f32(0.0));
    for (v, w) in corners.into_iter().zip(w) {
        if w > 0.0 {
            let w = vdupq_n_f32(w);
            let near = vabsq_f32(vsubq_f32(v, chosen));
            let same = vcleq_f32(near, vmulq_f32(tolerance, vminq_f32(v, chosen)));
            let take = vandq_u32(valid(v), same);
            sum = vaddq_f32(sum, and(take, vmulq_f32(v, w)));
            wsum = vaddq_f32(wsum, and(take, w));
        }
    }
    let some = vcgtq_f32(wsum, vdupq_n_f32(0.0));
    let z = vbslq_f32(some, vdivq_f32(sum, wsum), chosen);
    and(valid(chosen), z)
}

/// One row of the guided factor-2 upsampler into `out` (the row, full width).
#[target_feature(enable = "neon")]
pub(crate) fn guided_half_row(r: &GuidedRow<'_>, out: &mut [f32]) {
    const { assert!(INVALID_DEPTH == 0.0, "invalid lanes are cleared by a mask") };
    let width = out.len();
    let tolerance = vdupq_n_f32(r.tolerance);
    let (w0, w1) = (r.weights(0), r.weights(1));
    let spaces = r.spaces();
    let mut tail = [0.0f32; 2 * LANES];
    for at in (0..width.div_ceil(2)).step_by(LANES) {
        let corners = [load(r.r0, at + 1), load(r.r0, at + 2), load(r.r1, at + 1), load(r.r1, at + 2)];
        let [even, odd] = choose(r, &spaces, at);
        let pair = float32x4x2_t(blend(even, corners, w0, tolerance), blend(odd, corners, w1, tolerance));
        let x = 2 * at;
        let n = (width - x).min(2 * LANES);
        let to = if n == 2 * LANES { &mut out[x..x + 2 * LANES] } else { &mut tail[..] };
        // SAFETY: `to` holds 8 floats; `vst2q_f32` stores the two parities interleaved.
        unsafe { vst2q_f32(to.as_mut_ptr(), pair) };
        if n < 2 * LANES {
            out[x..].copy_from_slice(&tail[..n]);
        }
    }
}
