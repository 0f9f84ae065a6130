//! Lossless round trips (no codec): every scheme, bit depth, allowed precision, layout and range
//! mode, exhaustively over every level where P ≤ 16, and with proptest elsewhere.
//!
//! Errors are measured in the normalised domain `n` (0 at near, 1 at far), where one quantisation
//! step is `1 / levels` in both linear and disparity mode. The allowed error is half a step plus
//! `F32_SLACK` for the f32 arithmetic of metres ↔ n (2^-19 ≈ 1.9e-6, a few ulps at n ≈ 1 after the
//! division of the disparity mapping; it only matters at P ≥ 18). The proptests on random ranges
//! add two ulps of the unpacked depth itself (`ulp_in_n`): over a range of a few centimetres at a
//! few metres, one f32 step of z is a third of a P14 step, so no f32 output can do better.

use depthcast_packing::kernels::{Quant, Split};
use depthcast_packing::schemes::{hue, triangle};
use depthcast_packing::{
    BitDepth, DepthImage, DepthRange, DepthView, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame,
    is_valid_depth,
};
use proptest::prelude::*;

const F32_SLACK: f32 = 1.0 / (1 << 19) as f32;

/// Every parameter combination the crate allows (hue once per bit depth and mode).
fn all_params(width: u32, height: u32, near: f32, far: f32) -> Vec<PackParams> {
    let mut v = Vec::new();
    for bits in [BitDepth::Eight, BitDepth::Ten] {
        for scheme in Scheme::ALL {
            let (lo, hi) = PackParams::precision_range(scheme, bits);
            for precision in lo..=hi {
                let layouts: &[VbpLayout] =
                    if scheme == Scheme::Vbp { &[VbpLayout::Chroma, VbpLayout::Luma] } else { &[VbpLayout::Chroma] };
                for &layout in layouts {
                    for mode in [RangeMode::Linear, RangeMode::Disparity] {
                        let mut p = PackParams::new(scheme, precision, near, far, width, height);
                        p.bit_depth = bits;
                        p.layout = layout;
                        p.mode = mode;
                        if scheme == Scheme::Triangle {
                            p.period = triangle::default_period(precision, bits);
                        }
                        p.validate().unwrap();
                        v.push(p);
                    }
                }
            }
        }
    }
    v
}

/// Steps a lossless round trip resolves over the range.
fn levels(p: &PackParams) -> f32 {
    match p.scheme {
        Scheme::Hue => hue::HUE_DEPTH_MAX as f32,
        Scheme::Triangle => triangle::effective_levels(p),
        Scheme::LumaOnly | Scheme::Vbp => Quant::new(p, &p.range().unwrap(), p.precision).qspan,
    }
}

/// Allowed |Δn| for `p` through the YUV frame. Hue goes through BT.709 4:2:0 with rounding of Y,
/// Cb and Cr, which moves a saturated colour by a code or two in each channel: up to 3 hue levels
/// (2.2 measured over all 1530 levels).
/// The triangle scheme adds the fine quantiser's rounding to the phase resolution
/// ([`triangle::max_error_levels`]).
fn tolerance(p: &PackParams) -> f32 {
    match p.scheme {
        Scheme::Hue => 3.0 / levels(p) + F32_SLACK,
        Scheme::Triangle => {
            triangle::max_error_levels(p) / Quant::new(p, &p.range().unwrap(), p.precision).qspan + F32_SLACK
        }
        _ => 0.5 / levels(p) + F32_SLACK,
    }
}

/// One f32 step of the depth `z` (metres) measured in the normalised domain.
/// The smallest change of `range.normalise` near `z` that f32 arithmetic can show, in n: one step
/// of z, or (disparity) one step of `1/z` over the span `1/near - 1/far`, whichever is larger.
/// Over a narrow disparity range the second dominates: near 3.910 m, far 3.949 m, a step of
/// `1/z` is 1.2e-5 in n while steps of z round to no change at all, and a round trip of
/// 3.9211795 m came back 1.18e-5 off in n (3.9211790), beyond the 9.7e-6 that half a P16 step of
/// the 10-bit VBP allowed.
fn ulp_in_n(range: &DepthRange, z: f32) -> f32 {
    let next = f32::from_bits(z.to_bits() + 1);
    let of_z = (range.normalise(next) - range.normalise(z)).abs();
    match range.mode {
        RangeMode::Linear => of_z,
        RangeMode::Disparity => {
            let inv = 1.0 / z;
            let step = f32::from_bits(inv.to_bits() + 1) - inv;
            of_z.max(step / (1.0 / range.near - 1.0 / range.far))
        }
    }
}

/// A frame in which every 2x2 block holds one depth, block `i` at normalised position
/// `(i + 0.49) / count` (close to the worst case for rounding), then a few invalid blocks.
fn block_frame(range: &DepthRange, count: usize) -> (DepthImage, Vec<f32>) {
    let bw = 256usize;
    let blocks = count + 4;
    let bh = blocks.div_ceil(bw);
    let (w, h) = (2 * bw, 2 * bh);
    let mut img = DepthImage::new(w as u32, h as u32);
    let mut ns = vec![f32::NAN; bw * bh];
    let invalid = [f32::NAN, f32::INFINITY, -1.0, 0.0];
    for b in 0..bw * bh {
        let z = if b < count {
            let n = ((b as f32 + 0.49) / count as f32).min(1.0);
            ns[b] = n;
            range.denormalise(n)
        } else {
            invalid[b % 4]
        };
        let (bx, by) = (b % bw, b / bw);
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            img.data[(2 * by + dy) * w + 2 * bx + dx] = z;
        }
    }
    (img, ns)
}

fn check_blocks(p: &PackParams, img: &DepthImage, ns: &[f32], out: &DepthImage) {
    let range = p.range().unwrap();
    let tol = tolerance(p);
    let w = img.width as usize;
    let bw = w / 2;
    for (b, &n) in ns.iter().enumerate() {
        let (bx, by) = (b % bw, b / bw);
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let i = (2 * by + dy) * w + 2 * bx + dx;
            let z = out.data[i];
            if n.is_nan() {
                assert_eq!(z, 0.0, "{p:?}: invalid pixel {i} unpacked as {z}");
                continue;
            }
            assert!(is_valid_depth(z), "{p:?}: valid n={n} unpacked as invalid {z}");
            let err = (range.normalise(z) - range.normalise(img.data[i])).abs();
            assert!(err <= tol, "{p:?}: n={n} z={} -> {z}: |Δn| = {err} > {tol}", img.data[i]);
        }
    }
}

#[test]
fn exhaustive_levels_up_to_16_bits() {
    let mut packer = Packer::default();
    for p in all_params(2, 2, 0.3, 40.0) {
        if p.precision > 16 {
            continue;
        }
        let count = (levels(&p).ceil() as usize + 1).min(1 << 16);
        let range = p.range().unwrap();
        let (img, ns) = block_frame(&range, count);
        let mut q = p;
        q.width = img.width;
        q.height = img.height;
        let (fw, fh) = q.frame_size();
        let mut frame = YuvFrame::new(fw, fh, q.bit_depth);
        let mut out = DepthImage::new(1, 1);
        packer.pack_into(&img.view(), &q, &mut frame).unwrap();
        packer.unpack_into(&frame, &q, &mut out).unwrap();
        check_blocks(&q, &img, &ns, &out);
    }
}

#[test]
fn hue_rgb_is_exact_to_half_a_level() {
    let range = DepthRange::new(0.5, 9.0, RangeMode::Linear).unwrap();
    let (img, ns) = block_frame(&range, hue::HUE_DEPTH_MAX as usize + 1);
    let p = PackParams::new(Scheme::Hue, 0, 0.5, 9.0, img.width, img.height);
    let rgb = hue::pack_rgb(&img.view(), &p).unwrap();
    let out = hue::unpack_rgb(&rgb, &p).unwrap();
    for (i, (&z, &r)) in out.data.iter().zip(&img.data).enumerate() {
        let n = ns[(i / img.width as usize / 2) * (img.width as usize / 2) + (i % img.width as usize) / 2];
        if n.is_nan() {
            assert_eq!(z, 0.0);
        } else {
            assert!((range.normalise(z) - range.normalise(r)).abs() <= 0.5 / hue::HUE_DEPTH_MAX as f32 + F32_SLACK);
        }
    }
}

#[test]
fn vbp_fold_is_continuous() {
    for bits in [BitDepth::Eight, BitDepth::Ten] {
        for precision in bits.bits()..=bits.bits() + 8 {
            for amplitude in [255u8, 128, 40] {
                let mut p = PackParams::new(Scheme::Vbp, precision, 1.0, 2.0, 2, 2);
                p.bit_depth = bits;
                p.low_amplitude = amplitude;
                let s = Split::new(&p);
                let quant = Quant::new(&p, &p.range().unwrap(), precision);
                let step = s.step.ceil() as i32;
                let code = |q: u32| ((q >> s.low_bits) as i32, i32::from(s.low_code(q >> s.low_bits, q & s.low_max)));
                for q in quant.q0..(1u32 << precision) - 1 {
                    let (h0, l0) = code(q);
                    let (h1, l1) = code(q + 1);
                    assert!((h1 - h0).abs() <= 1, "P{precision} q={q}: high {h0}->{h1}");
                    assert!((l1 - l0).abs() <= step, "P{precision} amp {amplitude} q={q}: low {l0}->{l1}");
                    // Full amplitude with a low plane: every level decodes back exactly.
                    if amplitude == 255 {
                        assert_eq!(s.merge(h0 as u16, l0 as u16), q);
                    }
                }
            }
        }
    }
}

#[test]
fn odd_sizes_are_padded_and_cropped() {
    let mut packer = Packer::default();
    for (w, h) in [(1, 1), (3, 5), (17, 2), (2, 9)] {
        let img = depthcast_packing::testdata::game_scene(w, h, 0.3);
        for p in all_params(w, h, 0.5, 31.0) {
            let mut frame = YuvFrame::new(2, 2, p.bit_depth);
            let mut out = DepthImage::new(1, 1);
            packer.pack_into(&img.view(), &p, &mut frame).unwrap();
            assert_eq!((frame.width, frame.height), p.frame_size());
            assert_eq!(frame.width % 2, 0);
            packer.unpack_into(&frame, &p, &mut out).unwrap();
            assert_eq!((out.width, out.height), (w, h));
            for (&a, &b) in img.data.iter().zip(&out.data) {
                assert_eq!(a.is_finite() && a <= 31.0, is_valid_depth(b), "{p:?} {a} -> {b}");
            }
        }
    }
}

#[test]
fn bad_inputs_are_errors_or_invalid_never_panics() {
    let d = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -3.0, 0.0, -0.0, 1e30, f32::MIN_POSITIVE];
    let view = DepthView::new(4, 2, 4, &d).unwrap();
    let mut packer = Packer::default();
    for p in all_params(4, 2, 0.5, 10.0) {
        let frame = depthcast_packing::pack(&view, &p).unwrap();
        let out = depthcast_packing::unpack(&frame, &p).unwrap();
        for (i, &z) in out.data.iter().enumerate() {
            if i == 7 && p.scheme == Scheme::Hue {
                // Valid, but its 2x2 block's chroma is three quarters black: the hue of a lone red
                // pixel is too desaturated to tell near (level 0) from far (level 1529, also red).
                assert!(is_valid_depth(z), "{p:?}: {z}");
            } else if i == 7 {
                // A tiny positive depth is valid and clamps to near.
                assert!((z - 0.5).abs() <= 0.5 * 9.5 / levels(&p) + 1e-5, "{p:?}: {z}");
            } else {
                assert_eq!(z, 0.0, "{p:?}: input {} unpacked as {z}", d[i]);
            }
        }
        // Wrong frame shape.
        let small = YuvFrame::new(2, 2, p.bit_depth);
        let mut out = DepthImage::new(1, 1);
        assert!(packer.unpack_into(&small, &p, &mut out).is_err());
    }
    let ok = PackParams::new(Scheme::Vbp, 12, 0.5, 10.0, 4, 2);
    for bad in [
        PackParams { near: 10.0, far: 0.5, ..ok },
        PackParams { far: f32::INFINITY, ..ok },
        PackParams { near: f32::NAN, ..ok },
        PackParams { width: 0, ..ok },
        PackParams { precision: 17, ..ok },
        PackParams { precision: 7, ..ok },
        PackParams { low_amplitude: 0, ..ok },
        PackParams { scheme: Scheme::Triangle, period: 3, ..ok },
    ] {
        assert!(depthcast_packing::pack(&view, &bad).is_err(), "{bad:?} accepted");
    }
    // A view whose size differs from the parameters.
    assert!(depthcast_packing::pack(&view, &PackParams { width: 5, ..ok }).is_err());
    // A buffer shorter than stride x height.
    assert!(DepthView::new(4, 3, 4, &d).is_err());
    assert!(DepthView::new(4, 2, 5, &d).is_err());
}

fn arb_params() -> impl Strategy<Value = PackParams> {
    (0usize..1000, 0.05f32..5.0, 1.01f32..50.0, 1u32..24, 1u32..16, any::<u32>(), 30u8..=255).prop_map(
        |(pick, near, ratio, w, h, frame, amp)| {
            let all = all_params(w, h, near, near * ratio);
            let mut p = all[pick % all.len()];
            p.frame_index = frame;
            p.low_amplitude = amp;
            p
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, max_global_rejects: 20_000, ..ProptestConfig::default() })]

    /// Per-pixel layouts (luma-only, VBP luma) are within half a step on any content; for VBP the
    /// low amplitude must keep one code per low step for that.
    #[test]
    fn per_pixel_layouts_round_trip(p in arb_params(), seed in any::<u64>()) {
        prop_assume!(p.scheme == Scheme::LumaOnly || (p.scheme == Scheme::Vbp && p.layout == VbpLayout::Luma));
        let s = Split::new(&p);
        prop_assume!(s.step >= 1.0);
        let range = p.range().unwrap();
        let mut x = seed | 1;
        let data: Vec<f32> = (0..p.width * p.height).map(|_| {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            let u = (x >> 40) as f32 / (1u64 << 24) as f32;
            match x % 17 { 0 => f32::NAN, 1 => range.far * 1.5, _ => range.denormalise(u) }
        }).collect();
        let img = DepthImage { width: p.width, height: p.height, data };
        let frame = depthcast_packing::pack(&img.view(), &p).unwrap();
        let out = depthcast_packing::unpack(&frame, &p).unwrap();
        let tol = tolerance(&p);
        for (&a, &b) in img.data.iter().zip(&out.data) {
            if range.is_valid(a) {
                // Plus two ulps of the unpacked metres in n: over a narrow disparity range one
                // f32 step of z is a third of a quantisation step (near 4.558 m, far 4.604 m).
                let tol = tol + 2.0 * ulp_in_n(&range, b);
                prop_assert!((range.normalise(a) - range.normalise(b)).abs() <= tol, "{a} -> {b}");
            } else {
                prop_assert_eq!(b, 0.0);
            }
        }
    }

    /// Every scheme on block-constant content (all of them are exact to half a step there), at
    /// every precision including 17..=20 bits.
    #[test]
    fn block_constant_content_round_trips(p in arb_params(), seed in any::<u64>()) {
        let range = p.range().unwrap();
        let (bw, bh) = (p.width.div_ceil(2), p.height.div_ceil(2));
        let mut x = seed | 1;
        let blocks: Vec<f32> = (0..bw * bh).map(|_| {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            if x % 11 == 0 { f32::INFINITY } else { range.denormalise((x >> 40) as f32 / (1u64 << 24) as f32) }
        }).collect();
        let data: Vec<f32> = (0..p.height).flat_map(|y| (0..p.width).map(move |x| (x, y)))
            .map(|(x, y)| blocks[((y / 2) * bw + x / 2) as usize]).collect();
        let img = DepthImage { width: p.width, height: p.height, data };
        let frame = depthcast_packing::pack(&img.view(), &p).unwrap();
        let out = depthcast_packing::unpack(&frame, &p).unwrap();
        let mut p_full = p;
        p_full.low_amplitude = 255;
        let tol = if p.scheme == Scheme::Vbp && Split::new(&p).step < 1.0 {
            // A reduced low amplitude keeps only `span + 1` low values: the low part is off by up
            // to 0.5 / step from the code's rounding plus 0.5 from rounding back to a level, on
            // top of the level's own half step.
            let s = Split::new(&p);
            (1.0 + 0.5 / s.step) / levels(&p_full) + F32_SLACK
        } else {
            tolerance(&p)
        };
        for (&a, &b) in img.data.iter().zip(&out.data) {
            if range.is_valid(a) {
                let tol = tol + 2.0 * ulp_in_n(&range, b);
                prop_assert!((range.normalise(a) - range.normalise(b)).abs() <= tol, "{:?}: {} -> {}", p, a, b);
            } else {
                prop_assert_eq!(b, 0.0);
            }
        }
    }

    /// Arbitrary plane codes never panic and unpack to valid depths inside the range or invalid.
    #[test]
    fn garbage_planes_unpack_safely(p in arb_params(), seed in any::<u64>()) {
        let (fw, fh) = p.frame_size();
        let mut f = YuvFrame::new(fw, fh, p.bit_depth);
        let mut x = seed | 1;
        for c in f.y.iter_mut().chain(f.u.iter_mut()).chain(f.v.iter_mut()) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            *c = (x >> 48) as u16;
        }
        let out = depthcast_packing::unpack(&f, &p).unwrap();
        for &z in &out.data {
            prop_assert!(z == 0.0 || (z >= p.near * 0.9999 && z <= p.far * 1.0001), "{}", z);
        }
    }
}
