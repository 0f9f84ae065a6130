//! Every SIMD level against the scalar reference, bit for bit: frames through [`Packer`] for
//! every scheme (luma-only; VBP in both layouts, every precision, two low amplitudes; triangle
//! waves with four periods; hue; both range modes). The
//! row kernels directly through the `simd` test hooks are in `simd_rows.rs`.
//!
//! Levels this CPU cannot run are skipped with a note on stderr (`--nocapture` shows it).

mod common;

use common::{RANGES, Rng, random_depth, simd_levels, special_depths};

use depthcast_packing::{
    BitDepth, CpuLevel, DepthImage, DepthView, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame, testdata,
};

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

/// Parameters of every scheme: both bit depths and both range modes; luma-only; VBP at every
/// precision in both layouts with two amplitudes; triangle waves at every precision with the
/// shortest, the default, an odd and the longest period; hue.
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
                let (min, max) = PackParams::period_range(precision, bd);
                let default = depthcast_packing::schemes::triangle::default_period(precision, bd);
                for period in [min, default, ((min + max) / 2) | 1, max] {
                    let mut p = PackParams::new(Scheme::Triangle, precision, near, far, w, h);
                    p.bit_depth = bd;
                    p.mode = mode;
                    p.period = period;
                    v.push(p);
                }
            }
            let mut p = PackParams::new(Scheme::Hue, 0, near, far, w, h);
            p.bit_depth = bd;
            p.mode = mode;
            v.push(p);
        }
    }
    v
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
    let what = format!("{what}: {}", p);
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
