//! Row kernels of every scheme (luma-only and VBP here, [`triangle`] and [`hue`] in their
//! modules): the scalar reference every SIMD level must match bit
//! for bit (see [`crate::simd`]).
//!
//! Float steps are written without fused multiply-add and round with ties to even, which is what
//! `_mm256_cvtps_epi32` and `vcvtnq_s32_f32` do, so every level gives identical codes.

use crate::params::{PackParams, RangeMode};
use crate::range::DepthRange;

pub mod hue;
pub mod triangle;

/// Constants of the depth → level `q` mapping. `q = 0` marks an invalid pixel; valid pixels get
/// `q = q0 + round(n · qspan)` with `q0 ≥ 1`.
#[derive(Debug, Clone, Copy)]
pub struct Quant {
    /// Disparity (true) or linear (false) mapping.
    pub disparity: bool,
    /// `near` in metres.
    pub near: f32,
    /// `1 / near`.
    pub inv_near: f32,
    /// Far bound; depths above are invalid.
    pub far: f32,
    /// `1 / span` of the range.
    pub scale: f32,
    /// Span of the range (metres or 1/metres).
    pub span: f32,
    /// First valid level (the invalid guard band in levels).
    pub q0: u32,
    /// Number of level steps above `q0`: `2^P − 1 − q0`.
    pub qspan: f32,
    /// `1 / qspan`.
    pub inv_qspan: f32,
}

impl Quant {
    /// Constants for the luma-plane levels of `params` at its precision (luma-only and VBP) or at the
    /// plane bit depth (`bits_override`, used for the coarse luma of the triangle scheme).
    pub fn new(params: &PackParams, range: &DepthRange, bits: u8) -> Quant {
        let b = params.bit_depth;
        let q0 = u32::from(b.guard()) << (bits - b.bits());
        Quant::with_levels(range, q0, ((1u64 << bits) - 1 - u64::from(q0)) as f32)
    }

    /// Constants for `qspan` steps above `q0` on `range` (the hue scheme's levels).
    pub fn with_levels(range: &DepthRange, q0: u32, qspan: f32) -> Quant {
        Quant {
            disparity: range.mode == RangeMode::Disparity,
            near: range.near,
            inv_near: range.inv_near,
            far: range.far,
            scale: range.scale,
            span: range.span,
            q0,
            qspan,
            inv_qspan: 1.0 / qspan,
        }
    }

    /// Level of one depth sample (0 when invalid).
    #[inline(always)]
    pub fn level(&self, depth: f32) -> u32 {
        if !(depth > 0.0 && depth <= self.far) {
            return 0;
        }
        let n =
            if self.disparity { (self.inv_near - 1.0 / depth) * self.scale } else { (depth - self.near) * self.scale };
        // Not `clamp`: it would pass a NaN through where `max` gives 0 (unreachable for valid `depth`,
        // but this is the reference the SIMD kernels copy).
        #[allow(clippy::manual_clamp)]
        let n = n.max(0.0).min(1.0);
        self.q0 + (n * self.qspan).round_ties_even() as u32
    }

    /// Depth of one level ([`crate::INVALID_DEPTH`] for 0).
    #[inline(always)]
    pub fn depth(&self, level: u32) -> f32 {
        if level == 0 {
            return crate::INVALID_DEPTH;
        }
        let n = (level.saturating_sub(self.q0)) as f32 * self.inv_qspan;
        if self.disparity { 1.0 / (self.inv_near - n * self.span) } else { self.near + n * self.span }
    }
}

/// Constants of the VBP split of a level into a high code and a folded, scaled low code.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    /// Number of low bits `L`.
    pub low_bits: u32,
    /// `2^L − 1`.
    pub low_max: u32,
    /// Low code of low value 0 (centres a reduced-amplitude low plane).
    pub base: u32,
    /// Low code per low step: `span / (2^L − 1)`.
    pub step: f32,
    /// `1 / step`.
    pub inv_step: f32,
    /// Lowest high code of a valid pixel (the guard).
    pub guard: u32,
    /// Largest plane code.
    pub max_code: u32,
}

impl Split {
    /// Constants for `params` (which must be VBP or luma-only).
    pub fn new(params: &PackParams) -> Split {
        let b = params.bit_depth;
        let low_bits = u32::from(params.low_bits());
        let low_max = (1u32 << low_bits) - 1;
        let max_code = u32::from(b.max_code());
        let span = (u32::from(params.low_amplitude) * max_code + 127) / 255;
        let base = (max_code - span) / 2;
        let step = if low_max == 0 { 1.0 } else { span as f32 / low_max as f32 };
        Split { low_bits, low_max, base, step, inv_step: 1.0 / step, guard: u32::from(b.guard()), max_code }
    }

    /// Low code of the (unfolded) low value `fine` of a level whose high code is `hi`.
    #[inline(always)]
    pub fn low_code(&self, hi: u32, fine: u32) -> u16 {
        let folded = if hi & 1 == 1 { self.low_max - fine } else { fine };
        (self.base + (folded as f32 * self.step).round_ties_even() as u32) as u16
    }

    /// The level from a high code and a low code, tolerant of codec noise: invalid when the high
    /// code is below `guard / 2`; high codes in the guard band are raised to `guard`; the low code
    /// is clamped to its range; the fold direction comes from the decoded high code, so a high
    /// code off by one at a fold boundary costs only the low plane's error.
    #[inline(always)]
    pub fn merge(&self, hi: u16, lo: u16) -> u32 {
        let hi = u32::from(hi);
        if hi < self.guard / 2 {
            return 0;
        }
        let hi = hi.max(self.guard).min(self.max_code);
        let d = (lo as f32 - self.base as f32) * self.inv_step;
        let f = d.round_ties_even().max(0.0).min(self.low_max as f32) as u32;
        let t = if hi & 1 == 1 { self.low_max - f } else { f };
        (hi << self.low_bits) | t
    }
}

/// `q[x] = quant.level(src[x])`.
pub fn quantise_row(quant: &Quant, src: &[f32], levels: &mut [u32]) {
    for (o, &z) in levels.iter_mut().zip(src) {
        *o = quant.level(z);
    }
}

/// High and per-pixel low codes of a row of levels (VBP luma layout; luma-only with `L = 0`
/// ignores `lo`). Invalid levels give high 0 and the low code of 0.
pub fn split_row(split: &Split, levels: &[u32], hi: &mut [u16], lo: &mut [u16]) {
    for ((&levels, h), l) in levels.iter().zip(hi.iter_mut()).zip(lo.iter_mut()) {
        let hv = levels >> split.low_bits;
        *h = hv as u16;
        *l = split.low_code(hv, levels & split.low_max);
    }
}

/// High codes only (VBP chroma layout, luma-only).
pub fn high_row(split: &Split, levels: &[u32], hi: &mut [u16]) {
    for (&levels, h) in levels.iter().zip(hi.iter_mut()) {
        *h = (levels >> split.low_bits) as u16;
    }
}

/// Low codes of 2x2 blocks (VBP chroma layout): each block's level is the mean of its valid
/// levels, `round_ties_even(sum / count)` in f32 (exact for these sizes); a block with no valid
/// pixel gets the low code of 0.
pub fn block_low_row(split: &Split, q0: &[u32], q1: &[u32], lo: &mut [u16]) {
    for (bx, l) in lo.iter_mut().enumerate() {
        let qs = [q0[2 * bx], q0[2 * bx + 1], q1[2 * bx], q1[2 * bx + 1]];
        let count = qs.iter().filter(|&&q| q != 0).count() as u32;
        let sum: u32 = qs.iter().sum();
        let mean = if count == 0 { 0 } else { (sum as f32 / count as f32).round_ties_even() as u32 };
        *l = split.low_code(mean >> split.low_bits, mean & split.low_max);
    }
}

/// `q[x] = split.merge(hi[x], lo[x])`.
pub fn merge_row(split: &Split, hi: &[u16], lo: &[u16], levels: &mut [u32]) {
    for ((o, &h), &l) in levels.iter_mut().zip(hi).zip(lo) {
        *o = split.merge(h, l);
    }
}

/// `q[x] = split.merge(hi[x], lo[x / 2])`: VBP chroma layout, one low code per 2 pixels.
pub fn merge_row_half(split: &Split, hi: &[u16], lo: &[u16], levels: &mut [u32]) {
    for (x, (o, &h)) in levels.iter_mut().zip(hi).enumerate() {
        *o = split.merge(h, lo[x / 2]);
    }
}

/// `out[x] = quant.depth(q[x])`.
pub fn dequantise_row(quant: &Quant, levels: &[u32], out: &mut [f32]) {
    for (o, &levels) in out.iter_mut().zip(levels) {
        *o = quant.depth(levels);
    }
}

/// [`quantise_row`] then [`high_row`] in one pass (luma-only and the VBP chroma layout, which
/// keeps the levels for [`block_low_row`]).
pub fn quantise_high_row(quant: &Quant, split: &Split, src: &[f32], levels: &mut [u32], hi: &mut [u16]) {
    for ((&z, o), h) in src.iter().zip(levels.iter_mut()).zip(hi.iter_mut()) {
        let v = quant.level(z);
        *o = v;
        *h = (v >> split.low_bits) as u16;
    }
}

/// [`quantise_row`] then [`split_row`] in one pass, without the row of levels (VBP luma layout).
pub fn quantise_split_row(quant: &Quant, split: &Split, src: &[f32], hi: &mut [u16], lo: &mut [u16]) {
    for ((&z, h), l) in src.iter().zip(hi.iter_mut()).zip(lo.iter_mut()) {
        let v = quant.level(z);
        let hv = v >> split.low_bits;
        *h = hv as u16;
        *l = split.low_code(hv, v & split.low_max);
    }
}

/// [`merge_row`] then [`dequantise_row`] in one pass: `out[x] = quant.depth(split.merge(hi[x],
/// lo[x]))` (VBP luma layout, luma-only).
pub fn unpack_row(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    for ((o, &h), &l) in out.iter_mut().zip(hi).zip(lo) {
        *o = quant.depth(split.merge(h, l));
    }
}

/// [`merge_row_half`] then [`dequantise_row`] in one pass: `out[x] = quant.depth(split.merge(hi[x],
/// lo[x / 2]))` (VBP chroma layout).
pub fn unpack_row_half(split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    for (x, (o, &h)) in out.iter_mut().zip(hi).enumerate() {
        *o = quant.depth(split.merge(h, lo[x / 2]));
    }
}
