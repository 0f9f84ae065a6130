//! Every row kernel of `depthcast_packing::simd` at each level against scalar, bit for bit.
//!
//! Each case draws constants ([`Quant`], [`Split`]: valid parameters of both bit depths, every
//! precision, both range modes, any amplitude; one case in five with constants no parameters
//! give), a length (mostly below 24, so every tail length and slices shorter than a vector come
//! often), slices starting at any offset of their buffer (unaligned loads), inputs a little
//! longer than the outputs or the other way round, and outputs pre-filled with a marker, so a
//! kernel that writes past what scalar writes is caught too.

use depthcast_packing::kernels::{Quant, Split};
use depthcast_packing::{BitDepth, CpuLevel, PackParams, Packer, RangeMode, Scheme, simd};

use crate::Report;
use crate::rng::{self, Rng};

/// Cases per level.
const CASES: usize = 40_000;

/// Marker the outputs start as.
pub(crate) const MARK32: u32 = 0xdead_beef;
pub(crate) const MARK16: u16 = 0xbeef;
pub(crate) const MARKF: f32 = -7.25;

/// Constants of one case and a description of where they came from.
struct Consts {
    p: PackParams,
    quant: Quant,
    split: Split,
    label: String,
}

fn consts(rng: &mut Rng, unusual: bool) -> Consts {
    let bd = if rng.one_in(2) { BitDepth::Eight } else { BitDepth::Ten };
    let b = bd.bits();
    let scheme = if rng.one_in(5) { Scheme::LumaOnly } else { Scheme::Vbp };
    let precision = if scheme == Scheme::Vbp { b + rng.below(9) as u8 } else { b };
    let (near, far) = if rng.one_in(4) {
        let near = 10f32.powf(-3.0 + 4.0 * rng.unit());
        (near, near * (1.0 + 10f32.powf(-2.0 + 7.0 * rng.unit())).min(1e6))
    } else {
        rng.pick(&rng::RANGES)
    };
    let mut p = PackParams::new(scheme, precision, near, far, 8, 8);
    p.bit_depth = bd;
    p.mode = if rng.one_in(2) { RangeMode::Linear } else { RangeMode::Disparity };
    p.low_amplitude = if rng.one_in(2) { 255 } else { 1 + rng.below(255) as u8 };
    let mut label = format!(
        "{} {}-bit P={} {} amp={} near={near:e} far={far:e}",
        scheme.name(),
        b,
        precision,
        p.mode.name(),
        p.low_amplitude
    );
    let Ok(range) = p.validate().and_then(|()| p.range()) else {
        // A drawn range beyond what packing accepts: take an ordinary one.
        p.near = 0.5;
        p.far = 40.0;
        label.push_str(" (fallback range 0.5..40)");
        let range = p.range().expect("ordinary range");
        return Consts { quant: Quant::new(&p, &range, p.precision), split: Split::new(&p), p, label };
    };
    // Triangle's coarse luma quantises at the plane's bit depth: that constant set too.
    let bits = if scheme == Scheme::Vbp && rng.one_in(6) { b } else { p.precision };
    let mut quant = Quant::new(&p, &range, bits);
    let mut split = Split::new(&p);
    if bits != p.precision {
        label.push_str(&format!(" quant at {bits} bits"));
    }
    if unusual {
        match rng.below(6) {
            0 => quant.scale *= 1.5,
            1 => quant.scale *= 0.75,
            2 => split.step *= 1.3,
            3 => {
                split.low_max = split.low_max.saturating_sub(1 + rng.below(3));
                split.base = rng.below(40);
            }
            4 => quant.q0 = rng.below(64),
            _ => split.guard = rng.below(40),
        }
        split.inv_step = 1.0 / split.step;
        label.push_str(&format!(" unusual {quant:?} {split:?}"));
    }
    Consts { p, quant, split, label }
}

/// A random level: mostly valid for the constants, with the edges and anything in `0..=max`.
fn level(rng: &mut Rng, c: &Consts, max: u32) -> u32 {
    let top = (1u32 << c.p.precision) - 1;
    let v = match rng.below(12) {
        0 => 0,
        1 => c.quant.q0,
        2 => c.quant.q0.saturating_sub(1),
        3 => top,
        4 => top + 1,
        5 => rng.u32(),
        6 => 1,
        _ => c.quant.q0 + rng.below(top - c.quant.q0 + 1),
    };
    v.min(max)
}

/// A random plane code: mostly in range, with the guard edges, the low plane's edges and any u16.
fn code(rng: &mut Rng, c: &Consts) -> u16 {
    let max = u32::from(c.p.bit_depth.max_code());
    let v = match rng.below(14) {
        0 => 0,
        1 => (c.split.guard / 2).saturating_sub(1),
        2 => c.split.guard / 2,
        3 => c.split.guard,
        4 => max,
        5 => max + 1 + rng.below(3),
        6 => rng.u32() >> 16,
        7 => c.split.base,
        8 => c.split.base.saturating_sub(1),
        9 => (c.split.base + (c.split.step * c.split.low_max as f32) as u32 + rng.below(3)).min(65535),
        _ => rng.below(max + 1),
    };
    v as u16
}

/// A vector of `len + (0..=extra)` draws, placed at a random offset of a slightly bigger buffer
/// (returned with the offset).
pub(crate) fn placed<T: Copy + Default>(
    rng: &mut Rng,
    len: usize,
    extra: usize,
    mut draw: impl FnMut(&mut Rng) -> T,
) -> (Vec<T>, usize) {
    let len = len + rng.index(extra + 1);
    let off = rng.index(4);
    let mut v = vec![T::default(); off];
    v.extend((0..len).map(|_| draw(rng)));
    (v, off)
}

/// Output length for `n` inputs: usually `n`, sometimes shorter or longer.
pub(crate) fn out_len(rng: &mut Rng, n: usize) -> usize {
    match rng.below(6) {
        0 => n + 1 + rng.index(3),
        1 => n.saturating_sub(1 + rng.index(2)),
        _ => n,
    }
}

/// A case's length: often short (tails, slices below a vector), often long enough for the widest
/// unrolled bodies (32 levels per step) and their tails.
pub(crate) fn length(rng: &mut Rng) -> usize {
    match rng.below(8) {
        0 => rng.index(4),
        1..=3 => 24 + rng.index(180),
        _ => rng.index(24),
    }
}

/// The levels whose packing kernels differ (AVX-VNNI runs the AVX2 ones): one per kernel set.
pub(crate) fn distinct_levels(levels: &[CpuLevel]) -> Vec<CpuLevel> {
    let mut seen = Vec::new();
    let mut v = Vec::new();
    for &l in levels {
        let runs = Packer::new(l).level();
        if runs == CpuLevel::Scalar {
            continue;
        }
        if !seen.contains(&runs) {
            seen.push(runs);
            v.push(l);
        }
    }
    v
}

/// Runs every row kernel check at `levels`.
pub fn check(levels: &[CpuLevel], report: &mut Report) {
    let levels = distinct_levels(levels);
    if levels.is_empty() {
        return;
    }
    let mut rng = Rng::new(0x5eed_0001);
    for case in 0..CASES {
        let c = consts(&mut rng, case % 5 == 4);
        let n = length(&mut rng);
        let (near, far) = (c.p.near, c.p.far);
        let (src, so) = placed(&mut rng, n, 1, |r| rng::depth(r, near, far));
        let (q_any, qo) = placed(&mut rng, n, 1, |r| level(r, &c, u32::MAX));
        let (hi, ho) = placed(&mut rng, n, 1, |r| code(r, &c));
        let (lo, lo_off) = placed(&mut rng, n, 1, |r| code(r, &c));
        // Block inputs: two rows of `2m` levels below 2^29 (the block kernel's domain).
        let m = n.div_ceil(2);
        let (q_a, ao) = placed(&mut rng, 2 * m, 2, |r| level(r, &c, (1 << 29) - 1));
        let (q_b, bo) = placed(&mut rng, 2 * m, 2, |r| level(r, &c, (1 << 29) - 1));
        let (src, q_any, hi, lo) = (&src[so..], &q_any[qo..], &hi[ho..], &lo[lo_off..]);
        let (q_a, q_b) = (&q_a[ao..], &q_b[bo..]);
        // The half-width low row: one code per 2 pixels of `hi`.
        let lo_half = &lo[..hi.len().div_ceil(2).min(lo.len())];
        let (o1, o2, o3) = (out_len(&mut rng, n), out_len(&mut rng, n), out_len(&mut rng, m));
        let o_half = o1.min(2 * lo_half.len());
        let label = &c.label;
        let at = |i: usize| {
            let g = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            format!(
                "{label}; n={n}; inputs at {i}: src {} q {} hi {} lo {} lo[i/2] {} blocks {:?} {:?}",
                g(src.get(i).map(|z| crate::Exact::show(*z))),
                g(q_any.get(i).map(u32::to_string)),
                g(hi.get(i).map(u16::to_string)),
                g(lo.get(i).map(u16::to_string)),
                g(lo_half.get(i / 2).map(u16::to_string)),
                q_a.get(2 * i..2 * i + 2),
                q_b.get(2 * i..2 * i + 2),
            )
        };
        let (quant, split) = (&c.quant, &c.split);
        for &level in &levels {
            let mut cmp32 = |name: &str, what: &str, f: &dyn Fn(CpuLevel) -> Vec<u32>| {
                report.compare(name, level, &at, what, &f(CpuLevel::Scalar), &f(level));
            };
            cmp32("quantise_row", "levels", &|l| {
                let mut q = vec![MARK32; o1];
                simd::quantise_row(l, quant, src, &mut q);
                q
            });
            cmp32("merge_row", "levels", &|l| {
                let mut q = vec![MARK32; o1];
                simd::merge_row(l, split, hi, lo, &mut q);
                q
            });
            cmp32("merge_row_half", "levels", &|l| {
                let mut q = vec![MARK32; o_half];
                simd::merge_row_half(l, split, hi, lo_half, &mut q);
                q
            });
            // Two code rows (high, low) compared as one: high then low.
            let mut cmp16 = |name: &str, f: &dyn Fn(CpuLevel) -> Vec<u16>| {
                report.compare(name, level, &at, "high then low codes", &f(CpuLevel::Scalar), &f(level));
            };
            cmp16("split_row", &|l| {
                let (mut h, mut o) = (vec![MARK16; o1], vec![MARK16; o2]);
                simd::split_row(l, split, q_any, &mut h, &mut o);
                h.extend(o);
                h
            });
            cmp16("high_row", &|l| {
                let mut h = vec![MARK16; o1];
                simd::high_row(l, split, q_any, &mut h);
                h
            });
            cmp16("block_low_row", &|l| {
                let mut o = vec![MARK16; o3.min(q_a.len() / 2).min(q_b.len() / 2)];
                simd::block_low_row(l, split, q_a, q_b, &mut o);
                o
            });
            cmp16("quantise_split_row", &|l| {
                let (mut h, mut o) = (vec![MARK16; o1], vec![MARK16; o2]);
                simd::quantise_split_row(l, quant, split, src, &mut h, &mut o);
                h.extend(o);
                h
            });
            // Levels and high codes of the fused kernel.
            let (want_q, want_h) = quantise_high(CpuLevel::Scalar, quant, split, src, o1, o2);
            let (got_q, got_h) = quantise_high(level, quant, split, src, o1, o2);
            report.compare("quantise_high_row", level, &at, "levels", &want_q, &got_q);
            report.compare("quantise_high_row", level, &at, "high codes", &want_h, &got_h);
            let mut cmpf = |name: &str, f: &dyn Fn(CpuLevel) -> Vec<f32>| {
                report.compare(name, level, &at, "depths", &f(CpuLevel::Scalar), &f(level));
            };
            cmpf("dequantise_row", &|l| {
                let mut out = vec![MARKF; o1];
                simd::dequantise_row(l, quant, q_any, &mut out);
                out
            });
            cmpf("unpack_row", &|l| {
                let mut out = vec![MARKF; o1];
                simd::unpack_row(l, split, quant, hi, lo, &mut out);
                out
            });
            cmpf("unpack_row_half", &|l| {
                let mut out = vec![MARKF; o_half];
                simd::unpack_row_half(l, split, quant, hi, lo_half, &mut out);
                out
            });
        }
    }
}

fn quantise_high(
    level: CpuLevel,
    quant: &Quant,
    split: &Split,
    src: &[f32],
    levels: usize,
    codes: usize,
) -> (Vec<u32>, Vec<u16>) {
    let (mut q, mut h) = (vec![MARK32; levels], vec![MARK16; codes]);
    simd::quantise_high_row(level, quant, split, src, &mut q, &mut h);
    (q, h)
}
