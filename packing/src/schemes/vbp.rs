//! **VBP, variable bit packing** at precision `P` (after Siekkinen & Kämäräinen, ACM TOMM 2023,
//! "Neural Network Assisted Depth Map Packing for Compression Using Standard Hardware Video
//! Codecs", with the low part folded as in reflected-binary packings).
//!
//! With `n ∈ [0, 1]` from the range mapping, plane bit depth `B`, guard `G` (reserved codes for
//! invalid pixels, [`crate::BitDepth::guard`]) and `L = P − B` low bits:
//!
//! ```text
//! q0  = G · 2^L                              first valid level
//! q   = q0 + round(n · (2^P − 1 − q0))       level (q = 0: invalid)
//! hi  = q >> L                               high code, in luma
//! t   = q & (2^L − 1)
//! t'  = t            if hi is even
//!       2^L − 1 − t  if hi is odd           folded: no jump from the top code to 0
//! lo  = base + round(t' · span / (2^L − 1))  low code, span = amplitude · (2^B − 1)
//! ```
//!
//! Folding makes the low code continuous: when `q` crosses from one high code to the next, `t'`
//! stays at its end of the range instead of wrapping, so adjacent levels differ by at most one step
//! in each plane. The low code is scaled to fill `span` codes centred in the plane's range
//! (`low_amplitude = 255` is the full range; a smaller amplitude is less high-frequency content
//! for the codec but, once `span < 2^L − 1`, fewer distinct low values).
//!
//! Layouts ([`crate::VbpLayout`]):
//! - **chroma**: `hi` per pixel in luma; `lo` in U, one value per 2x2 block, computed from the mean
//!   level of the block's valid pixels; V neutral. Pixels of a block with different levels share
//!   one low value: the round trip is exact to half a step where each block is flat, and within
//!   half a step plus the block's own level spread elsewhere (each pixel keeps its own `hi`).
//! - **luma**: the frame is twice as tall; rows `0..H` hold `hi`, rows `H..2H` hold `lo` per
//!   pixel; chroma neutral. Exact to half a step everywhere.
//!
//! Unpacking ([`crate::kernels::Split::merge`]) is robust to codec noise: `hi < G/2` is invalid,
//! `hi` is clamped to `[G, 2^B − 1]`, `lo` is clamped to its range, and the fold direction comes
//! from the decoded `hi`, so a high code off by one at a fold boundary costs only the low plane's
//! small error instead of a whole high step.

use crate::depth::{DepthImage, DepthView};
use crate::frame::YuvFrame;
use crate::kernels::{Quant, Split};
use crate::params::{PackParams, VbpLayout};
use crate::simd::{self, CpuLevel};

pub(crate) fn pack(
    level: CpuLevel,
    view: &DepthView<'_>,
    p: &PackParams,
    f: &mut YuvFrame,
    q0: &mut [u32],
    q1: &mut [u32],
) {
    let range = p.range().expect("validated");
    let quant = Quant::new(p, &range, p.precision);
    let split = Split::new(p);
    let (w, h) = (view.width as usize, view.height as usize);
    let fw = f.width as usize;
    let hp = p.height.next_multiple_of(2) as usize;
    let luma_layout = p.layout == VbpLayout::Luma && split.low_bits > 0;
    let chroma_layout = p.layout == VbpLayout::Chroma && split.low_bits > 0;
    let cw = fw / 2;
    let neutral = p.bit_depth.neutral();
    f.v.fill(neutral);
    if !chroma_layout {
        f.u.fill(neutral);
    }
    for fy in (0..hp).step_by(2) {
        for (r, q) in [&mut *q0, &mut *q1].into_iter().enumerate() {
            let sy = (fy + r).min(h - 1);
            let src = view.row(sy as u32);
            let row = fy + r;
            // One pass per row (no separate level row for the luma layout); a padding column
            // repeats the last pixel's codes, which are a function of its level.
            if luma_layout {
                let (top, bottom) = f.y.split_at_mut(hp * fw);
                let (hi, lo) = (&mut top[row * fw..(row + 1) * fw], &mut bottom[row * fw..(row + 1) * fw]);
                simd::quantise_split_row(level, &quant, &split, src, &mut hi[..w], &mut lo[..w]);
                if fw > w {
                    hi[w] = hi[w - 1];
                    lo[w] = lo[w - 1];
                }
            } else {
                let hi = &mut f.y[row * fw..(row + 1) * fw];
                simd::quantise_high_row(level, &quant, &split, src, &mut q[..w], &mut hi[..w]);
                if fw > w {
                    q[w] = q[w - 1];
                    hi[w] = hi[w - 1];
                }
            }
        }
        if chroma_layout {
            let cy = fy / 2;
            simd::block_low_row(level, &split, q0, q1, &mut f.u[cy * cw..(cy + 1) * cw]);
        }
    }
}

pub(crate) fn unpack(level: CpuLevel, f: &YuvFrame, p: &PackParams, out: &mut DepthImage, _q: &mut [u32]) {
    let range = p.range().expect("validated");
    let quant = Quant::new(p, &range, p.precision);
    let split = Split::new(p);
    let (w, h) = (p.width as usize, p.height as usize);
    let fw = f.width as usize;
    let hp = p.height.next_multiple_of(2) as usize;
    let cw = fw / 2;
    let luma_layout = p.layout == VbpLayout::Luma && split.low_bits > 0;
    // Merge and dequantise in one pass per row; the level scratch row is not needed.
    for y in 0..h {
        let hi = &f.y[y * fw..y * fw + w];
        let row = &mut out.data[y * w..(y + 1) * w];
        if luma_layout {
            let lo = &f.y[(hp + y) * fw..(hp + y) * fw + w];
            simd::unpack_row(level, &split, &quant, hi, lo, row);
        } else {
            let lo = &f.u[(y / 2) * cw..(y / 2 + 1) * cw];
            simd::unpack_row_half(level, &split, &quant, hi, lo, row);
        }
    }
}
