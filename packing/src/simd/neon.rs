//! NEON row kernels: 4 lanes per step, the scalar kernels of [`crate::kernels`] for the tails.
//!
//! Every kernel gives the scalar kernel's output bit for bit, for any inputs and any constants
//! (with `low_bits < 32`). The float steps are the scalar ones in the same order with no fused
//! multiply-add (`vdivq_f32` where scalar divides). NEON's conversions match Rust's casts
//! directly: `vcvtnq_u32_f32` is `round_ties_even() as u32` (nearest, ties to even, saturating,
//! NaN to 0), `vcvtq_f32_u32` is `u32 as f32` (nearest even), and `vmaxnmq_f32`/`vminnmq_f32` are
//! `f32::max`/`f32::min` (a NaN operand gives the other one).

use core::arch::aarch64::*;

use crate::kernels::{self, Quant, Split};

/// Number of lanes per step.
const LANES: usize = 4;

mod hue;
mod triangle;
mod upsample;

pub(super) use hue::{hue_codes_row, unpack_hue_row};
pub(super) use triangle::{block_waves_row, phase_row, quantise_coarse_fine_row, unpack_triangle_row};
pub(crate) use upsample::guided_half_row;

/// [`Quant`] broadcast to every lane.
#[derive(Clone, Copy)]
struct QuantV {
    disparity: bool,
    near: float32x4_t,
    inv_near: float32x4_t,
    far: float32x4_t,
    scale: float32x4_t,
    span: float32x4_t,
    q0: uint32x4_t,
    qspan: float32x4_t,
    inv_qspan: float32x4_t,
}

impl QuantV {
    #[target_feature(enable = "neon")]
    #[inline]
    fn new(c: &Quant) -> QuantV {
        QuantV {
            disparity: c.disparity,
            near: vdupq_n_f32(c.near),
            inv_near: vdupq_n_f32(c.inv_near),
            far: vdupq_n_f32(c.far),
            scale: vdupq_n_f32(c.scale),
            span: vdupq_n_f32(c.span),
            q0: vdupq_n_u32(c.q0),
            qspan: vdupq_n_f32(c.qspan),
            inv_qspan: vdupq_n_f32(c.inv_qspan),
        }
    }

    /// [`Quant::level`] of 4 depths.
    #[target_feature(enable = "neon")]
    #[inline]
    fn level(&self, z: float32x4_t) -> uint32x4_t {
        let zero = vdupq_n_f32(0.0);
        let one = vdupq_n_f32(1.0);
        // `z > 0 && z <= far`; both compares are false for NaN.
        let valid = vandq_u32(vcgtq_f32(z, zero), vcleq_f32(z, self.far));
        let n = if self.disparity {
            vmulq_f32(vsubq_f32(self.inv_near, vdivq_f32(one, z)), self.scale)
        } else {
            vmulq_f32(vsubq_f32(z, self.near), self.scale)
        };
        let n = vminnmq_f32(vmaxnmq_f32(n, zero), one);
        let q = vaddq_u32(self.q0, vcvtnq_u32_f32(vmulq_f32(n, self.qspan)));
        vandq_u32(q, valid)
    }

    /// [`Quant::depth`] of 4 levels.
    #[target_feature(enable = "neon")]
    #[inline]
    fn depth(&self, q: uint32x4_t) -> float32x4_t {
        let invalid = vceqq_u32(q, vdupq_n_u32(0));
        let n = vmulq_f32(vcvtq_f32_u32(vqsubq_u32(q, self.q0)), self.inv_qspan);
        let z = if self.disparity {
            vdivq_f32(vdupq_n_f32(1.0), vsubq_f32(self.inv_near, vmulq_f32(n, self.span)))
        } else {
            vaddq_f32(self.near, vmulq_f32(n, self.span))
        };
        // INVALID_DEPTH is +0.0: all bits clear.
        vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(z), invalid))
    }
}

/// [`Split`] broadcast to every lane.
#[derive(Clone, Copy)]
struct SplitV {
    shl: int32x4_t,
    shr: int32x4_t,
    low_max: uint32x4_t,
    low_max_f: float32x4_t,
    base: uint32x4_t,
    base_f: float32x4_t,
    step: float32x4_t,
    inv_step: float32x4_t,
    half_guard: uint32x4_t,
    guard: uint32x4_t,
    max_code: uint32x4_t,
}

impl SplitV {
    #[target_feature(enable = "neon")]
    #[inline]
    fn new(s: &Split) -> SplitV {
        SplitV {
            shl: vdupq_n_s32(s.low_bits as i32),
            shr: vdupq_n_s32(-(s.low_bits as i32)),
            low_max: vdupq_n_u32(s.low_max),
            low_max_f: vdupq_n_f32(s.low_max as f32),
            base: vdupq_n_u32(s.base),
            base_f: vdupq_n_f32(s.base as f32),
            step: vdupq_n_f32(s.step),
            inv_step: vdupq_n_f32(s.inv_step),
            half_guard: vdupq_n_u32(s.guard / 2),
            guard: vdupq_n_u32(s.guard),
            max_code: vdupq_n_u32(s.max_code),
        }
    }

    /// `q >> low_bits`.
    #[target_feature(enable = "neon")]
    #[inline]
    fn high(&self, q: uint32x4_t) -> uint32x4_t {
        vshlq_u32(q, self.shr)
    }

    /// [`Split::low_code`] of the levels `q` whose high codes are `hi` (before `as u16`).
    #[target_feature(enable = "neon")]
    #[inline]
    fn low_code(&self, hi: uint32x4_t, q: uint32x4_t) -> uint32x4_t {
        let t = vandq_u32(q, self.low_max);
        let folded = vbslq_u32(odd(hi), vsubq_u32(self.low_max, t), t);
        vaddq_u32(self.base, vcvtnq_u32_f32(vmulq_f32(vcvtq_f32_u32(folded), self.step)))
    }

    /// [`Split::merge`] of 4 high and 4 low codes (zero-extended u16).
    #[target_feature(enable = "neon")]
    #[inline]
    fn merge(&self, hi: uint32x4_t, lo: uint32x4_t) -> uint32x4_t {
        let invalid = vcltq_u32(hi, self.half_guard);
        let hi = vminq_u32(vmaxq_u32(hi, self.guard), self.max_code);
        let d = vmulq_f32(vsubq_f32(vcvtq_f32_u32(lo), self.base_f), self.inv_step);
        let f = vminnmq_f32(vmaxnmq_f32(vrndnq_f32(d), vdupq_n_f32(0.0)), self.low_max_f);
        // `f` is a whole number in [0, low_max]: truncation is exact.
        let f = vcvtq_u32_f32(f);
        let t = vbslq_u32(odd(hi), vsubq_u32(self.low_max, f), f);
        vbicq_u32(vorrq_u32(vshlq_u32(hi, self.shl), t), invalid)
    }
}

/// All-ones lanes where `v` is odd.
#[target_feature(enable = "neon")]
#[inline]
fn odd(v: uint32x4_t) -> uint32x4_t {
    vtstq_u32(v, vdupq_n_u32(1))
}

#[target_feature(enable = "neon")]
#[inline]
fn load_f32(s: &[f32]) -> float32x4_t {
    assert!(s.len() >= LANES);
    // SAFETY: `s` holds at least 4 f32 (checked above).
    unsafe { vld1q_f32(s.as_ptr()) }
}

#[target_feature(enable = "neon")]
#[inline]
fn store_f32(d: &mut [f32], v: float32x4_t) {
    assert!(d.len() >= LANES);
    // SAFETY: `d` holds at least 4 f32 (checked above).
    unsafe { vst1q_f32(d.as_mut_ptr(), v) }
}

#[target_feature(enable = "neon")]
#[inline]
fn load_u32(s: &[u32]) -> uint32x4_t {
    assert!(s.len() >= LANES);
    // SAFETY: `s` holds at least 4 u32 (checked above).
    unsafe { vld1q_u32(s.as_ptr()) }
}

#[target_feature(enable = "neon")]
#[inline]
fn store_u32(d: &mut [u32], v: uint32x4_t) {
    assert!(d.len() >= LANES);
    // SAFETY: `d` holds at least 4 u32 (checked above).
    unsafe { vst1q_u32(d.as_mut_ptr(), v) }
}

/// 4 u16, zero-extended.
#[target_feature(enable = "neon")]
#[inline]
fn load_u16(s: &[u16]) -> uint32x4_t {
    assert!(s.len() >= LANES);
    // SAFETY: `s` holds at least 4 u16 (checked above).
    vmovl_u16(unsafe { vld1_u16(s.as_ptr()) })
}

/// `s[x / 2]` for `x` in `0..4`, zero-extended.
#[target_feature(enable = "neon")]
#[inline]
fn load_u16_doubled(s: &[u16]) -> uint32x4_t {
    let pair = [s[0], s[0], s[1], s[1]];
    // SAFETY: `pair` holds 4 u16.
    vmovl_u16(unsafe { vld1_u16(pair.as_ptr()) })
}

/// The low 16 bits of each lane (`as u16`).
#[target_feature(enable = "neon")]
#[inline]
fn store_u16(d: &mut [u16], v: uint32x4_t) {
    assert!(d.len() >= LANES);
    // SAFETY: `d` holds at least 4 u16 (checked above).
    unsafe { vst1_u16(d.as_mut_ptr(), vmovn_u32(v)) }
}

/// Whether the scalar tail after `done` elements has anything to do: the scalar kernels zip the
/// slices in `lens` (and index the others, so they panic where those are short).
#[inline(always)]
fn has_tail(lens: &[usize], done: usize) -> bool {
    lens.iter().all(|&l| l > done)
}

/// Length processed 4 lanes at a time: the shortest of `lens`, rounded down to a multiple of 4.
#[inline(always)]
fn vector_len(lens: &[usize]) -> usize {
    let n = lens.iter().copied().min().unwrap_or(0);
    n - n % LANES
}

/// [`kernels::quantise_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn quantise_row(quant: &Quant, src: &[f32], q: &mut [u32]) {
    let c = QuantV::new(quant);
    let n = vector_len(&[src.len(), q.len()]);
    for (s, d) in src[..n].as_chunks::<LANES>().0.iter().zip(q[..n].as_chunks_mut::<LANES>().0.iter_mut()) {
        store_u32(d, c.level(load_f32(s)));
    }
    if has_tail(&[src.len(), q.len()], n) {
        kernels::quantise_row(quant, &src[n..], &mut q[n..]);
    }
}

/// [`kernels::split_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn split_row(split: &Split, q: &[u32], hi: &mut [u16], lo: &mut [u16]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), lo.len()]);
    for ((s, h), l) in q[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(hi[..n].as_chunks_mut::<LANES>().0.iter_mut())
        .zip(lo[..n].as_chunks_mut::<LANES>().0.iter_mut())
    {
        let q = load_u32(s);
        let hv = c.high(q);
        store_u16(h, hv);
        store_u16(l, c.low_code(hv, q));
    }
    if has_tail(&[q.len(), hi.len(), lo.len()], n) {
        kernels::split_row(split, &q[n..], &mut hi[n..], &mut lo[n..]);
    }
}

/// [`kernels::high_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn high_row(split: &Split, q: &[u32], hi: &mut [u16]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len()]);
    for (s, h) in q[..n].as_chunks::<LANES>().0.iter().zip(hi[..n].as_chunks_mut::<LANES>().0.iter_mut()) {
        store_u16(h, c.high(load_u32(s)));
    }
    if has_tail(&[q.len(), hi.len()], n) {
        kernels::high_row(split, &q[n..], &mut hi[n..]);
    }
}

/// [`kernels::block_low_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn block_low_row(split: &Split, q0: &[u32], q1: &[u32], lo: &mut [u16]) {
    let c = SplitV::new(split);
    let zero = vdupq_n_u32(0);
    let one = vdupq_n_u32(1);
    let n = vector_len(&[lo.len(), q0.len() / 2, q1.len() / 2]);
    for ((a, b), l) in q0[..2 * n]
        .as_chunks::<{ 2 * LANES }>()
        .0
        .iter()
        .zip(q1[..2 * n].as_chunks::<{ 2 * LANES }>().0.iter())
        .zip(lo[..n].as_chunks_mut::<LANES>().0.iter_mut())
    {
        let (a0, a1, b0, b1) = (load_u32(a), load_u32(&a[LANES..]), load_u32(b), load_u32(&b[LANES..]));
        // Pairwise sums of the vertical sums give the 4 block sums in order (wrapping like the
        // scalar sum in release builds).
        let sum = vpaddq_u32(vaddq_u32(a0, b0), vaddq_u32(a1, b1));
        let valid = |x: uint32x4_t| vandq_u32(vmvnq_u32(vceqq_u32(x, zero)), one);
        let count = vpaddq_u32(vaddq_u32(valid(a0), valid(b0)), vaddq_u32(valid(a1), valid(b1)));
        // A block with no valid level has sum 0, and 0 / 1 = 0 is what scalar gives it.
        let mean = vdivq_f32(vcvtq_f32_u32(sum), vcvtq_f32_u32(vmaxq_u32(count, one)));
        let mean = vcvtnq_u32_f32(mean);
        store_u16(l, c.low_code(c.high(mean), mean));
    }
    if has_tail(&[lo.len()], n) {
        kernels::block_low_row(split, &q0[2 * n..], &q1[2 * n..], &mut lo[n..]);
    }
}

/// [`kernels::merge_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn merge_row(split: &Split, hi: &[u16], lo: &[u16], q: &mut [u32]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), lo.len()]);
    for ((h, l), d) in hi[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(lo[..n].as_chunks::<LANES>().0.iter())
        .zip(q[..n].as_chunks_mut::<LANES>().0.iter_mut())
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
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn merge_row_half(split: &Split, hi: &[u16], lo: &[u16], q: &mut [u32]) {
    let c = SplitV::new(split);
    let n = vector_len(&[q.len(), hi.len(), 2 * lo.len()]);
    for ((h, l), d) in hi[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(lo[..n / 2].as_chunks::<{ LANES / 2 }>().0.iter())
        .zip(q[..n].as_chunks_mut::<LANES>().0.iter_mut())
    {
        store_u32(d, c.merge(load_u16(h), load_u16_doubled(l)));
    }
    if has_tail(&[hi.len(), q.len()], n) {
        kernels::merge_row_half(split, &hi[n..], &lo[n / 2..], &mut q[n..]);
    }
}

/// [`kernels::dequantise_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn dequantise_row(quant: &Quant, q: &[u32], out: &mut [f32]) {
    let c = QuantV::new(quant);
    let n = vector_len(&[q.len(), out.len()]);
    for (s, d) in q[..n].as_chunks::<LANES>().0.iter().zip(out[..n].as_chunks_mut::<LANES>().0.iter_mut()) {
        store_f32(d, c.depth(load_u32(s)));
    }
    if has_tail(&[q.len(), out.len()], n) {
        kernels::dequantise_row(quant, &q[n..], &mut out[n..]);
    }
}

/// [`kernels::quantise_high_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn quantise_high_row(quant: &Quant, split: &Split, src: &[f32], q: &mut [u32], hi: &mut [u16]) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let n = vector_len(&[src.len(), q.len(), hi.len()]);
    for ((z, d), h) in src[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(q[..n].as_chunks_mut::<LANES>().0.iter_mut())
        .zip(hi[..n].as_chunks_mut::<LANES>().0.iter_mut())
    {
        let v = c.level(load_f32(z));
        store_u32(d, v);
        store_u16(h, s.high(v));
    }
    if has_tail(&[src.len(), q.len(), hi.len()], n) {
        kernels::quantise_high_row(quant, split, &src[n..], &mut q[n..], &mut hi[n..]);
    }
}

/// [`kernels::quantise_split_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn quantise_split_row(quant: &Quant, split: &Split, src: &[f32], hi: &mut [u16], lo: &mut [u16]) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    let n = vector_len(&[src.len(), hi.len(), lo.len()]);
    for ((z, h), l) in src[..n]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(hi[..n].as_chunks_mut::<LANES>().0.iter_mut())
        .zip(lo[..n].as_chunks_mut::<LANES>().0.iter_mut())
    {
        let v = c.level(load_f32(z));
        let hv = s.high(v);
        store_u16(h, hv);
        store_u16(l, s.low_code(hv, v));
    }
    if has_tail(&[src.len(), hi.len(), lo.len()], n) {
        kernels::quantise_split_row(quant, split, &src[n..], &mut hi[n..], &mut lo[n..]);
    }
}

/// Merge and dequantise 4 lanes per step; `HALF` reads one low code per 2 pixels.
#[target_feature(enable = "neon")]
fn unpack_row_impl<const HALF: bool>(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    let c = QuantV::new(quant);
    let s = SplitV::new(split);
    if HALF {
        let n = vector_len(&[hi.len(), 2 * lo.len(), out.len()]);
        for ((h, l), d) in hi[..n]
            .as_chunks::<LANES>()
            .0
            .iter()
            .zip(lo[..n / 2].as_chunks::<{ LANES / 2 }>().0)
            .zip(out[..n].as_chunks_mut::<LANES>().0)
        {
            store_f32(d, c.depth(s.merge(load_u16(h), load_u16_doubled(l))));
        }
        if has_tail(&[hi.len(), out.len()], n) {
            kernels::unpack_row_half(split, quant, &hi[n..], &lo[n / 2..], &mut out[n..]);
        }
    } else {
        let n = vector_len(&[hi.len(), lo.len(), out.len()]);
        for ((h, l), d) in hi[..n]
            .as_chunks::<LANES>()
            .0
            .iter()
            .zip(lo[..n].as_chunks::<LANES>().0)
            .zip(out[..n].as_chunks_mut::<LANES>().0)
        {
            store_f32(d, c.depth(s.merge(load_u16(h), load_u16(l))));
        }
        if has_tail(&[hi.len(), lo.len(), out.len()], n) {
            kernels::unpack_row(split, quant, &hi[n..], &lo[n..], &mut out[n..]);
        }
    }
}

/// [`kernels::unpack_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn unpack_row(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    unpack_row_impl::<false>(split, quant, hi, lo, out);
}

/// [`kernels::unpack_row_half`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn unpack_row_half(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    unpack_row_impl::<true>(split, quant, hi, lo, out);
}
