//! The row kernels of every SIMD level against the scalar reference, bit for bit, through the
//! `simd` test hooks: random constants and levels, the fused kernels against the separate ones,
//! and unusual constants. (Whole frames through `Packer` are in `simd.rs`.)
//!
//! Levels this CPU cannot run are skipped with a note on stderr (`--nocapture` shows it).

mod common;

use common::{RANGES, Rng, random_depth, simd_levels};
use depthcast_packing::kernels::{Quant, Split};
use depthcast_packing::{BitDepth, CpuLevel, PackParams, RangeMode, Scheme, simd};

/// What one kernel run gives, gathered for comparison: levels, two code rows, and levels or depth
/// bits.
type Outputs = (Vec<u32>, Vec<u16>, Vec<u16>, Vec<u32>);

/// Quant and Split of random valid parameters.
fn random_consts(rng: &mut Rng) -> (PackParams, Quant, Split) {
    let bd = if rng.below(2) == 0 { BitDepth::Eight } else { BitDepth::Ten };
    let b = bd.bits();
    let scheme = if rng.below(5) == 0 { Scheme::LumaOnly } else { Scheme::Vbp };
    let precision = if scheme == Scheme::Vbp { b + rng.below(9) as u8 } else { b };
    let (near, far) = RANGES[rng.below(RANGES.len() as u32) as usize];
    let mut p = PackParams::new(scheme, precision, near, far, 8, 8);
    p.bit_depth = bd;
    p.mode = if rng.below(2) == 0 { RangeMode::Linear } else { RangeMode::Disparity };
    p.low_amplitude = 1 + rng.below(255) as u8;
    p.validate().unwrap();
    let range = p.range().unwrap();
    (p, Quant::new(&p, &range, p.precision), Split::new(&p))
}

/// A random level: mostly valid for `p`, sometimes anything below `2^29` (the block kernel's
/// domain) or any u32 (`any`).
fn random_level(rng: &mut Rng, p: &PackParams, any: bool) -> u32 {
    match rng.below(8) {
        0 => 0,
        1 if any => rng.u32(),
        1 => rng.u32() >> 3,
        2 => (1 << p.precision) - 1,
        _ => rng.below(1 << p.precision),
    }
}

#[test]
fn row_kernels_match_scalar() {
    let levels = simd_levels();
    if levels.is_empty() {
        return;
    }
    let mut rng = Rng::new(5);
    for iter in 0..400 {
        let (p, quant, split) = random_consts(&mut rng);
        let n = if iter % 4 == 0 { rng.below(80) as usize } else { rng.below(20) as usize };
        let (near, far) = (p.near, p.far);
        let src: Vec<f32> = (0..n).map(|_| random_depth(&mut rng, near, far)).collect();
        let q_any: Vec<u32> = (0..n).map(|_| random_level(&mut rng, &p, true)).collect();
        let q_a: Vec<u32> = (0..2 * n).map(|_| random_level(&mut rng, &p, false)).collect();
        let q_b: Vec<u32> = (0..2 * n).map(|_| random_level(&mut rng, &p, false)).collect();
        let hi: Vec<u16> = (0..n).map(|_| rng.u32() as u16).collect();
        let lo: Vec<u16> = (0..n).map(|_| rng.u32() as u16).collect();
        // Output buffers sometimes longer than the input: the kernels write only `min` lengths.
        let extra = rng.below(3) as usize;
        let what = format!("{p} n={n}");
        for &level in &levels {
            let run = |f: &dyn Fn(CpuLevel) -> Outputs| {
                let want = f(CpuLevel::Scalar);
                let got = f(level);
                assert_eq!(want, got, "{}: {what}", level.name());
            };
            // quantise_row, dequantise_row (levels and depths compared as bits).
            run(&|l| {
                let mut q = vec![7u32; n + extra];
                simd::quantise_row(l, &quant, &src, &mut q);
                let mut out = vec![1.5f32; n + extra];
                simd::dequantise_row(l, &quant, &q_any, &mut out);
                (q, vec![], vec![], out.iter().map(|z| z.to_bits()).collect())
            });
            run(&|l| {
                let mut h = vec![9u16; n + extra];
                let mut o = vec![9u16; n];
                simd::split_row(l, &split, &q_any, &mut h, &mut o);
                let mut h2 = vec![9u16; n];
                simd::high_row(l, &split, &q_any, &mut h2);
                (vec![], h, o, h2.iter().map(|&x| u32::from(x)).collect())
            });
            run(&|l| {
                let mut o = vec![9u16; n];
                simd::block_low_row(l, &split, &q_a, &q_b, &mut o);
                (vec![], o, vec![], vec![])
            });
            run(&|l| {
                let mut q = vec![3u32; n];
                simd::merge_row(l, &split, &hi, &lo, &mut q);
                let mut q2 = vec![3u32; n];
                simd::merge_row_half(l, &split, &hi, &lo[..n.div_ceil(2)], &mut q2);
                (q, vec![], vec![], q2)
            });
            run(&|l| {
                let mut q = vec![3u32; n];
                let mut h = vec![9u16; n];
                simd::quantise_high_row(l, &quant, &split, &src, &mut q, &mut h);
                let mut h2 = vec![9u16; n];
                let mut o = vec![9u16; n + extra];
                simd::quantise_split_row(l, &quant, &split, &src, &mut h2, &mut o);
                h.extend(h2);
                (q, h, o, vec![])
            });
            run(&|l| {
                let mut out = vec![1.5f32; n];
                simd::unpack_row(l, &split, &quant, &hi, &lo, &mut out);
                let mut out2 = vec![1.5f32; n + extra];
                simd::unpack_row_half(l, &split, &quant, &hi, &lo[..n.div_ceil(2)], &mut out2);
                out.extend(out2);
                (vec![], vec![], vec![], out.iter().map(|z| z.to_bits()).collect())
            });
        }
    }
}

/// The fused kernels are the separate ones composed, at every level including scalar.
#[test]
fn fused_kernels_compose_the_separate_ones() {
    let mut rng = Rng::new(6);
    for _ in 0..200 {
        let (p, quant, split) = random_consts(&mut rng);
        let n = rng.below(50) as usize;
        let src: Vec<f32> = (0..n).map(|_| random_depth(&mut rng, p.near, p.far)).collect();
        let hi: Vec<u16> = (0..n).map(|_| rng.u32() as u16).collect();
        let lo: Vec<u16> = (0..n).map(|_| rng.u32() as u16).collect();
        for &level in CpuLevel::compiled().iter().filter(|l| l.is_supported()) {
            let mut q = vec![0u32; n];
            simd::quantise_row(level, &quant, &src, &mut q);
            let (mut h, mut l) = (vec![0u16; n], vec![0u16; n]);
            simd::split_row(level, &split, &q, &mut h, &mut l);
            let (mut q2, mut h2, mut h3, mut l3) = (vec![0u32; n], vec![0u16; n], vec![0u16; n], vec![0u16; n]);
            simd::quantise_high_row(level, &quant, &split, &src, &mut q2, &mut h2);
            simd::quantise_split_row(level, &quant, &split, &src, &mut h3, &mut l3);
            assert_eq!((&q, &h, &h, &l), (&q2, &h2, &h3, &l3), "{}", level.name());

            let mut m = vec![0u32; n];
            simd::merge_row(level, &split, &hi, &lo, &mut m);
            let mut want = vec![0f32; n];
            simd::dequantise_row(level, &quant, &m, &mut want);
            let mut got = vec![0f32; n];
            simd::unpack_row(level, &split, &quant, &hi, &lo, &mut got);
            let bits = |v: &[f32]| v.iter().map(|z| z.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&want), bits(&got), "{}", level.name());
            simd::merge_row_half(level, &split, &hi, &lo[..n.div_ceil(2)], &mut m);
            simd::dequantise_row(level, &quant, &m, &mut want);
            simd::unpack_row_half(level, &split, &quant, &hi, &lo[..n.div_ceil(2)], &mut got);
            assert_eq!(bits(&want), bits(&got), "{}", level.name());
        }
    }
}

/// Hand-made constants that [`Quant::new`] and [`Split::new`] never give (a scale that lets `n`
/// pass 1, uneven low ranges, odd steps): the SIMD kernels may take other paths for them, but the
/// output must still be scalar's.
#[test]
fn row_kernels_match_scalar_for_unusual_constants() {
    let levels = simd_levels();
    let mut rng = Rng::new(7);
    for iter in 0..300 {
        let (p, mut quant, mut split) = random_consts(&mut rng);
        match iter % 4 {
            0 => quant.scale *= 1.5,
            1 => quant.scale *= 0.75,
            2 => split.step *= 1.3,
            _ => {
                split.low_max = split.low_max.saturating_sub(1 + rng.below(3));
                split.base = rng.below(40);
            }
        }
        split.inv_step = 1.0 / split.step;
        let n = rng.below(60) as usize;
        let src: Vec<f32> = (0..n).map(|_| random_depth(&mut rng, p.near, p.far)).collect();
        let hi: Vec<u16> = (0..n).map(|_| rng.u32() as u16).collect();
        let lo: Vec<u16> = (0..n).map(|_| rng.u32() as u16).collect();
        let q_a: Vec<u32> = (0..2 * n).map(|_| random_level(&mut rng, &p, false)).collect();
        let q_b: Vec<u32> = (0..2 * n).map(|_| random_level(&mut rng, &p, false)).collect();
        let run = |l: CpuLevel| {
            let mut q = vec![0u32; n];
            let mut h = vec![0u16; n];
            let mut o = vec![0u16; n];
            simd::quantise_high_row(l, &quant, &split, &src, &mut q, &mut h);
            simd::quantise_split_row(l, &quant, &split, &src, &mut h, &mut o);
            let mut b = vec![0u16; n];
            simd::block_low_row(l, &split, &q_a, &q_b, &mut b);
            let mut out = vec![0f32; 2 * n];
            let (x, y) = out.split_at_mut(n);
            simd::unpack_row(l, &split, &quant, &hi, &lo, x);
            simd::unpack_row_half(l, &split, &quant, &hi, &lo[..n.div_ceil(2)], y);
            let mut q2 = vec![0u32; n];
            simd::quantise_row(l, &quant, &src, &mut q2);
            (q, h, o, b, q2, out.iter().map(|z| z.to_bits()).collect::<Vec<_>>())
        };
        let want = run(CpuLevel::Scalar);
        for &level in &levels {
            assert_eq!(want, run(level), "{}: iteration {iter}: {quant:?} {split:?}", level.name());
        }
    }
}
