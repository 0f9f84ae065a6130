//! Every SIMD level against the scalar reference, bit for bit: frames through [`Packer`] for
//! luma-only and VBP (both layouts, every precision, both range modes, two low amplitudes), and
//! the row kernels directly through the `simd` test hooks.
//!
//! Levels this CPU cannot run are skipped with a note on stderr (`--nocapture` shows it).

use depthcast_packing::kernels::{Quant, Split};

/// What one kernel run gives, gathered for comparison: levels, two code rows, and levels or depth
/// bits.
type Outputs = (Vec<u32>, Vec<u16>, Vec<u16>, Vec<u32>);
use depthcast_packing::{
    BitDepth, CpuLevel, DepthImage, DepthView, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame, simd,
    testdata,
};

/// xorshift64*: small, deterministic, good enough to scatter test values.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// The SIMD levels this CPU runs; prints the ones it skips.
fn simd_levels() -> Vec<CpuLevel> {
    let mut v = Vec::new();
    for &level in CpuLevel::compiled() {
        if level == CpuLevel::Scalar {
            continue;
        }
        if !level.is_supported() {
            eprintln!("skipping {}: not supported on this CPU", level.name());
            continue;
        }
        v.push(level);
    }
    v
}

/// Depths that probe every branch of the level mapping for `near..=far`.
fn special_depths(near: f32, far: f32) -> Vec<f32> {
    vec![
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001), // signalling NaN
        f32::INFINITY,
        f32::NEG_INFINITY,
        -1.0,
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        f32::from_bits(1), // smallest subnormal: valid, 1/z overflows
        near,
        f32::from_bits(near.to_bits() - 1),
        f32::from_bits(near.to_bits() + 1),
        near * 0.5,
        far,
        f32::from_bits(far.to_bits() - 1),
        f32::from_bits(far.to_bits() + 1),
        far * 2.0,
        f32::MAX,
        0.5 * (near + far),
    ]
}

/// A random depth: mostly inside the range, some clamped below near, some invalid, some special.
fn random_depth(rng: &mut Rng, near: f32, far: f32) -> f32 {
    match rng.below(16) {
        0 => {
            let s = special_depths(near, far);
            s[rng.below(s.len() as u32) as usize]
        }
        1 => f32::from_bits(rng.u32()),
        2 => near * rng.unit(),
        3 => far * (1.0 + rng.unit()),
        _ => near + (far - near) * rng.unit(),
    }
}

fn random_image(rng: &mut Rng, w: u32, h: u32, near: f32, far: f32) -> DepthImage {
    let mut img = DepthImage::new(w, h);
    for z in &mut img.data {
        *z = random_depth(rng, near, far);
    }
    img
}

fn filled(w: u32, h: u32, z: f32) -> DepthImage {
    let mut img = DepthImage::new(w, h);
    img.data.fill(z);
    img
}

/// Luma-only and VBP parameters: both bit depths, every precision, both layouts, both modes and
/// two amplitudes.
fn all_params(near: f32, far: f32, w: u32, h: u32) -> Vec<PackParams> {
    let mut v = Vec::new();
    for bd in [BitDepth::Eight, BitDepth::Ten] {
        let b = bd.bits();
        for mode in [RangeMode::Linear, RangeMode::Disparity] {
            let mut p = PackParams::new(Scheme::LumaOnly, b, near, far, w, h);
            p.bit_depth = bd;
            p.mode = mode;
            v.push(p);
            for precision in b..=b + 8 {
                for layout in [VbpLayout::Chroma, VbpLayout::Luma] {
                    for amp in [255, 77] {
                        let mut p = PackParams::new(Scheme::Vbp, precision, near, far, w, h);
                        p.bit_depth = bd;
                        p.mode = mode;
                        p.layout = layout;
                        p.low_amplitude = amp;
                        v.push(p);
                    }
                }
            }
        }
    }
    v
}

fn describe(p: &PackParams) -> String {
    format!(
        "{} {}-bit P={} {} {} amp={} near={} far={} {}x{}",
        p.scheme.name(),
        p.bit_depth.bits(),
        p.precision,
        p.layout.name(),
        p.mode.name(),
        p.low_amplitude,
        p.near,
        p.far,
        p.width,
        p.height
    )
}

fn assert_same_depths(level: CpuLevel, what: &str, want: &DepthImage, got: &DepthImage) {
    assert_eq!((want.width, want.height), (got.width, got.height), "{what}");
    for (i, (a, b)) in want.data.iter().zip(&got.data).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "{}: {what}: pixel {i}: scalar {a} vs {b}", level.name());
    }
}

fn assert_same_frames(level: CpuLevel, what: &str, want: &YuvFrame, got: &YuvFrame) {
    assert_eq!((want.width, want.height, want.bit_depth), (got.width, got.height, got.bit_depth), "{what}");
    for (plane, a, b) in [("y", &want.y, &got.y), ("u", &want.u, &got.u), ("v", &want.v, &got.v)] {
        if let Some(i) = a.iter().zip(b.iter()).position(|(x, y)| x != y) {
            panic!("{}: {what}: plane {plane} code {i}: scalar {} vs {}", level.name(), a[i], b[i]);
        }
    }
}

/// Packs `view` at scalar and at `level`, compares the frames, then unpacks the scalar frame at
/// both and compares the depths.
fn check_round_trip(level: CpuLevel, view: &DepthView<'_>, p: &PackParams, what: &str) {
    let what = format!("{what}: {}", describe(p));
    let (fw, fh) = p.frame_size();
    let mut want = YuvFrame::new(fw, fh, p.bit_depth);
    let mut got = YuvFrame::new(fw, fh, p.bit_depth);
    Packer::new(CpuLevel::Scalar).pack_into(view, p, &mut want).unwrap();
    Packer::new(level).pack_into(view, p, &mut got).unwrap();
    assert_same_frames(level, &format!("pack {what}"), &want, &got);
    check_unpack(level, &want, p, &what);
}

fn check_unpack(level: CpuLevel, frame: &YuvFrame, p: &PackParams, what: &str) {
    let mut want = DepthImage::new(1, 1);
    let mut got = DepthImage::new(1, 1);
    Packer::new(CpuLevel::Scalar).unpack_into(frame, p, &mut want).unwrap();
    Packer::new(level).unpack_into(frame, p, &mut got).unwrap();
    assert_same_depths(level, &format!("unpack {what}"), &want, &got);
}

const RANGES: [(f32, f32); 4] = [(0.5, 40.0), (1.7, 2.3), (0.001, 900.0), (3.0, 1.0e6)];

#[test]
fn pack_random_frames_every_size_and_precision() {
    let levels = simd_levels();
    if levels.is_empty() {
        return;
    }
    let mut rng = Rng::new(1);
    for (ri, &(near, far)) in RANGES.iter().enumerate() {
        // Odd and even widths 1..=37 (vector bodies and every tail length), odd heights.
        for w in 1..=37u32 {
            let h = [1, 3, 2, 5][(w as usize + ri) % 4];
            let img = random_image(&mut rng, w, h, near, far);
            for p in all_params(near, far, w, h) {
                for &level in &levels {
                    check_round_trip(level, &img.view(), &p, &format!("random {w}x{h}"));
                }
            }
        }
    }
}

#[test]
fn pack_wide_frames_and_strided_views() {
    let levels = simd_levels();
    let mut rng = Rng::new(2);
    for &(near, far) in &RANGES {
        let (w, h, stride) = (67u32, 7u32, 75usize);
        let data: Vec<f32> = (0..stride * h as usize).map(|_| random_depth(&mut rng, near, far)).collect();
        let view = DepthView::new(w, h, stride, &data).unwrap();
        for p in all_params(near, far, w, h) {
            for &level in &levels {
                check_round_trip(level, &view, &p, "strided 67x7");
            }
        }
    }
    let scene = testdata::game_scene(97, 55, 0.3);
    let (near, far) = depthcast_packing::tight_range(&scene.view(), 0.05).unwrap();
    for p in all_params(near, far, 97, 55) {
        for &level in &levels {
            check_round_trip(level, &scene.view(), &p, "game scene 97x55");
        }
    }
}

#[test]
fn pack_all_invalid_all_near_all_far() {
    let levels = simd_levels();
    for &(near, far) in &RANGES {
        let (w, h) = (23, 5);
        let mut frames: Vec<(String, DepthImage)> = special_depths(near, far)
            .into_iter()
            .map(|z| (format!("all {z:e} ({:#x})", z.to_bits()), filled(w, h, z)))
            .collect();
        // Every invalid kind mixed in one frame.
        let invalid = [f32::NAN, f32::INFINITY, -1.0, 0.0, far * 1.5, f32::NEG_INFINITY];
        let mut mixed = DepthImage::new(w, h);
        for (i, z) in mixed.data.iter_mut().enumerate() {
            *z = invalid[i % invalid.len()];
        }
        frames.push(("all invalid, mixed".into(), mixed));
        for (what, img) in &frames {
            for p in all_params(near, far, w, h) {
                for &level in &levels {
                    check_round_trip(level, &img.view(), &p, what);
                }
            }
        }
    }
}

/// Frames of arbitrary codes (codec noise, corruption), including codes above the 10-bit maximum.
#[test]
fn unpack_garbage_codes() {
    let levels = simd_levels();
    let mut rng = Rng::new(3);
    for &(near, far) in &RANGES[..2] {
        for (w, h) in [(1, 1), (9, 3), (31, 5), (37, 2)] {
            for p in all_params(near, far, w, h) {
                let (fw, fh) = p.frame_size();
                let mut f = YuvFrame::new(fw, fh, p.bit_depth);
                let max = u32::from(p.bit_depth.max_code()) + 1;
                for plane in [&mut f.y, &mut f.u, &mut f.v] {
                    for c in plane.iter_mut() {
                        *c = match rng.below(4) {
                            0 => rng.u32() as u16,
                            _ => rng.below(max) as u16,
                        };
                    }
                }
                for &level in &levels {
                    check_unpack(level, &f, &p, &format!("garbage {w}x{h}"));
                }
            }
        }
    }
}

/// Every 16-bit code in the high (luma) plane and, over four frames, in the low plane.
#[test]
fn unpack_every_16_bit_code() {
    let levels = simd_levels();
    if levels.is_empty() {
        return;
    }
    let mut rng = Rng::new(4);
    let (near, far) = RANGES[0];
    let (w, h) = (256u32, 256u32);
    for p in all_params(near, far, w, h).into_iter().filter(|p| p.low_amplitude == 255 || p.precision % 3 == 0) {
        let (fw, fh) = p.frame_size();
        let luma_layout = fh == 2 * h;
        for round in 0..4u32 {
            let mut f = YuvFrame::new(fw, fh, p.bit_depth);
            let hp = (h * w) as usize;
            for (i, c) in f.y[..hp].iter_mut().enumerate() {
                *c = (i as u32 ^ (round * 0x5555)) as u16;
            }
            if luma_layout {
                for (i, c) in f.y[hp..].iter_mut().enumerate() {
                    *c = (i as u32).wrapping_mul(40_503).wrapping_add(round) as u16;
                }
            } else {
                let n = f.u.len() as u32;
                for (i, c) in f.u.iter_mut().enumerate() {
                    *c = (i as u32 + round * n) as u16;
                }
            }
            for c in &mut f.v {
                *c = rng.u32() as u16;
            }
            for &level in &levels {
                check_unpack(level, &f, &p, &format!("every code, round {round}"));
            }
            if luma_layout && round == 0 {
                // The luma layout covers every low code in one frame.
                break;
            }
        }
    }
}

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
        let what = format!("{} n={n}", describe(&p));
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
