//! The half-size rebuild (`depthcast_packing::resample::upsample`: the receiver's edge-aware
//! upsampler, without a guide and with a colour guide) at each level, scalar included, against
//! its straightforward one-pixel-at-a-time definition (`resample::reference`), bit for bit. The
//! fast loops are plain Rust the compiler vectorises (the baseline, and AVX2 on x86 through
//! `CpuLevel`), and the guided rebuild has row kernels written with AVX2 and NEON intrinsics, so
//! this is what tells whether each kept every operation.
//!
//! Maps mix surfaces (so the same-surface test passes and fails) with arbitrary depths (NaN, ±∞,
//! negative, subnormal, `f32::MAX`, any bits); sizes are odd and even, single rows and columns,
//! and rows longer than the vector widths; guides are 8- and 10-bit, following the depth, flat
//! (every candidate ties) and arbitrary; factor 2 (what the in-band flag sends) and factor 3 (the
//! general loops).

use depthcast_packing::resample::{UpsampleSettings, downsample, reference, upsample_into_at};
use depthcast_packing::{BitDepth, CpuLevel, DepthImage, YuvFrame};

use crate::Report;
use crate::rng::{self, Rng};

/// Full sizes of the rebuilt maps.
const SIZES: [(u32, u32); 10] = [(1, 1), (2, 1), (1, 5), (3, 3), (6, 5), (17, 4), (33, 9), (64, 6), (131, 7), (203, 4)];

/// A map of a few surfaces (slanted planes a few percent deep) cut by arbitrary depths.
fn map(rng: &mut Rng, w: u32, h: u32, near: f32, far: f32) -> DepthImage {
    let mut img = DepthImage::new(w, h);
    let surfaces: Vec<f32> = (0..3).map(|_| near + (far - near) * rng.unit()).collect();
    for y in 0..h {
        for x in 0..w {
            let z = if rng.below(5) == 0 {
                rng::depth(rng, near, far)
            } else {
                let s = surfaces[((x / 3 + y / 2) % 3) as usize];
                s * (1.0 + 0.002 * (x as f32 - y as f32) + 0.01 * (rng.unit() - 0.5))
            };
            img.data[(y * w + x) as usize] = z;
        }
    }
    img
}

/// A guide of `depth`'s size padded to even: luma that follows the depth (kind 0), flat (1) or
/// arbitrary (2).
fn guide(rng: &mut Rng, depth: &DepthImage, bits: BitDepth, kind: u32, far: f32) -> YuvFrame {
    let (w, h) = (depth.width.next_multiple_of(2), depth.height.next_multiple_of(2));
    let mut g = YuvFrame::new(w, h, bits);
    let max = u32::from(bits.max_code());
    for y in 0..h {
        for x in 0..w {
            let z = depth.data[(y.min(depth.height - 1) * depth.width + x.min(depth.width - 1)) as usize];
            let code = match kind {
                0 if z.is_finite() && z > 0.0 => ((z / far).min(1.0) * max as f32) as u32 + rng.below(3),
                0 => 7,
                1 => max / 2,
                _ => rng.below(max + 1),
            };
            g.y[(y * w + x) as usize] = code.min(max) as u16;
        }
    }
    g
}

/// Runs the check at scalar and at `levels`.
pub fn check(levels: &[CpuLevel], report: &mut Report) {
    let mut rng = Rng::new(0x5eed_0005);
    let settings = UpsampleSettings::default();
    let mut all = vec![CpuLevel::Scalar];
    all.extend(levels.iter().copied().filter(|&l| l != CpuLevel::Scalar));
    for &(near, far) in &rng::RANGES {
        for &(w, h) in &SIZES {
            let img = map(&mut rng, w, h, near, far);
            let guides = [
                None,
                Some(guide(&mut rng, &img, BitDepth::Eight, 0, far)),
                Some(guide(&mut rng, &img, BitDepth::Ten, 0, far)),
                Some(guide(&mut rng, &img, BitDepth::Eight, 1, far)),
                Some(guide(&mut rng, &img, BitDepth::Ten, 2, far)),
            ];
            for factor in [2u32, 3] {
                let low = downsample(&img.view(), factor);
                for g in &guides {
                    let mut want = DepthImage::new(w, h);
                    match g {
                        Some(g) => reference::guided(&low.view(), factor, g, &settings, &mut want),
                        None => reference::unguided(&low.view(), factor, &settings, &mut want),
                    }
                    let check = if g.is_some() { "resample guided" } else { "resample unguided" };
                    let bits = g.as_ref().map_or(0, |g| g.bit_depth.bits());
                    for &level in &all {
                        let mut got = DepthImage::new(w, h);
                        upsample_into_at(level, &low.view(), factor, g.as_ref(), &settings, &mut got);
                        let case = |i: usize| {
                            format!("{w}x{h} factor {factor} range {near}..{far} guide {bits}-bit, pixel {i}")
                        };
                        report.compare(check, level, &case, "depth (against the reference)", &want.data, &got.data);
                    }
                }
            }
        }
    }
}
