//! Every scheme through [`Packer`] at each level against `Packer::new(CpuLevel::Scalar)`, bit for
//! bit: luma-only, VBP (chroma and luma layouts, every precision, two low amplitudes), triangle
//! (every precision, the shortest, default and longest periods) and hue; 8 and 10 bits; linear and
//! disparity ranges. Whichever scheme has a SIMD path at a level is covered here without naming it.
//!
//! Each depth map is packed at both levels (frames compared code for code), then the scalar frame
//! is unpacked at both (depths compared bit for bit), and so are two damaged copies of it: codes
//! moved by a few steps (codec noise, the clamps near the guard band and at fold boundaries) and
//! arbitrary codes (corruption, codes above the bit depth's maximum).

use depthcast_packing::schemes::triangle::default_period;
use depthcast_packing::{
    BitDepth, CpuLevel, DepthImage, DepthView, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame, testdata,
    tight_range,
};

use crate::Report;
use crate::rng::{self, Rng};

/// Sizes of the random depth maps: odd and even, one pixel, single rows and columns, every
/// remainder modulo the vector widths, rows longer than the widest unrolled steps.
const SIZES: [(u32, u32); 13] =
    [(1, 1), (2, 1), (1, 3), (3, 3), (5, 2), (7, 5), (13, 3), (17, 4), (31, 2), (37, 3), (66, 5), (131, 3), (203, 2)];

/// Every scheme's parameters for one range and size.
fn all_params(near: f32, far: f32, w: u32, h: u32) -> Vec<PackParams> {
    let mut v = Vec::new();
    for bd in [BitDepth::Eight, BitDepth::Ten] {
        let b = bd.bits();
        for mode in [RangeMode::Linear, RangeMode::Disparity] {
            let base = |scheme, precision| {
                let mut p = PackParams::new(scheme, precision, near, far, w, h);
                p.bit_depth = bd;
                p.mode = mode;
                p
            };
            v.push(base(Scheme::LumaOnly, b));
            v.push(base(Scheme::Hue, 0));
            for precision in b..=b + 8 {
                for layout in [VbpLayout::Chroma, VbpLayout::Luma] {
                    for amp in [255, 77] {
                        let mut p = base(Scheme::Vbp, precision);
                        p.layout = layout;
                        p.low_amplitude = amp;
                        v.push(p);
                    }
                }
                let (min, max) = PackParams::period_range(precision, bd);
                let mut periods = vec![min, default_period(precision, bd), max];
                periods.dedup();
                for period in periods {
                    let mut p = base(Scheme::Triangle, precision);
                    p.period = period;
                    v.push(p);
                }
            }
        }
    }
    v
}

/// Check name of a parameter set's path: scheme, and layout for VBP.
fn path(p: &PackParams) -> &'static str {
    match (p.scheme, p.layout) {
        (Scheme::LumaOnly, _) => "luma",
        (Scheme::Vbp, VbpLayout::Chroma) => "vbp chroma",
        (Scheme::Vbp, VbpLayout::Luma) => "vbp luma",
        (Scheme::Triangle, _) => "triangle",
        (Scheme::Hue, _) => "hue",
    }
}

/// Packs `view` at scalar and `level`, compares the frames; unpacks the scalar frame and its
/// damaged copies at both, compares the depths.
fn check_one(report: &mut Report, level: CpuLevel, view: &DepthView<'_>, p: &PackParams, what: &str, rng: &mut Rng) {
    let name = path(p);
    let label = format!("{what}: {}", p);
    let (fw, fh) = p.frame_size();
    let mut want = YuvFrame::new(fw, fh, p.bit_depth);
    let mut got = YuvFrame::new(fw, fh, p.bit_depth);
    let packed = Packer::new(CpuLevel::Scalar)
        .pack_into(view, p, &mut want)
        .and_then(|()| Packer::new(level).pack_into(view, p, &mut got));
    if let Err(e) = packed {
        report.fail(format!("pack {name} at {}: {label}: {e}", level.name()));
        return;
    }
    for (plane, a, b, pw) in
        [("y", &want.y, &got.y, fw), ("u", &want.u, &got.u, fw / 2), ("v", &want.v, &got.v, fw / 2)]
    {
        let at = |i: usize| {
            let (x, y) = (i % pw as usize, i / pw as usize);
            let z = if plane == "y" && (x as u32) < view.width && (y as u32) < view.height {
                crate::Exact::show(view.row(y as u32)[x])
            } else {
                "-".into()
            };
            format!("{label}; plane {plane} at ({x}, {y}); depth there {z}")
        };
        report.compare(&format!("pack {name}"), level, &at, &format!("{plane} codes"), a, b);
    }
    check_unpack(report, level, &want, p, &format!("unpack {name}"), &label);
    let max = p.bit_depth.max_code();
    let reach = i32::from(p.bit_depth.guard()) + 2;
    let mut noisy = want.clone();
    for c in noisy.y.iter_mut().chain(noisy.u.iter_mut()).chain(noisy.v.iter_mut()) {
        if !rng.one_in(3) {
            let d = rng.below(2 * reach as u32 + 1) as i32 - reach;
            *c = (i32::from(*c) + d).clamp(0, i32::from(max)) as u16;
        }
    }
    check_unpack(report, level, &noisy, p, &format!("unpack {name} noisy"), &label);
    let mut codes = want;
    for c in codes.y.iter_mut().chain(codes.u.iter_mut()).chain(codes.v.iter_mut()) {
        *c = if rng.one_in(4) { rng.u32() as u16 } else { rng.below(u32::from(max) + 1) as u16 };
    }
    check_unpack(report, level, &codes, p, &format!("unpack {name} any codes"), &label);
}

fn check_unpack(report: &mut Report, level: CpuLevel, frame: &YuvFrame, p: &PackParams, name: &str, label: &str) {
    let mut want = DepthImage::new(1, 1);
    let mut got = DepthImage::new(1, 1);
    let unpacked = Packer::new(CpuLevel::Scalar)
        .unpack_into(frame, p, &mut want)
        .and_then(|()| Packer::new(level).unpack_into(frame, p, &mut got));
    if let Err(e) = unpacked {
        report.fail(format!("{name} at {}: {label}: {e}", level.name()));
        return;
    }
    let w = p.width as usize;
    let fw = frame.width as usize;
    let at = |i: usize| {
        let (x, y) = (i % w, i / w);
        let c = |plane: &[u16], k: usize| plane.get(k).map_or("-".into(), u16::to_string);
        let hp = p.height.next_multiple_of(2) as usize;
        format!(
            "{label}; pixel ({x}, {y}): y {} u {} v {} (second luma half {})",
            c(&frame.y, y * fw + x),
            c(&frame.u, (y / 2) * (fw / 2) + x / 2),
            c(&frame.v, (y / 2) * (fw / 2) + x / 2),
            c(&frame.y, (hp + y) * fw + x),
        )
    };
    report.compare(name, level, &at, "depths", &want.data, &got.data);
}

fn random_image(rng: &mut Rng, w: u32, h: u32, near: f32, far: f32) -> DepthImage {
    let mut img = DepthImage::new(w, h);
    for z in &mut img.data {
        *z = rng::depth(rng, near, far);
    }
    img
}

/// Runs every scheme check at `levels`.
pub fn check(levels: &[CpuLevel], report: &mut Report) {
    let levels = crate::rows::distinct_levels(levels);
    let mut rng = Rng::new(0x5eed_0002);
    for &level in &levels {
        for (ri, &(near, far)) in rng::RANGES.iter().enumerate() {
            for &(w, h) in &SIZES {
                let img = random_image(&mut rng, w, h, near, far);
                for p in all_params(near, far, w, h) {
                    check_one(report, level, &img.view(), &p, &format!("random {w}x{h}"), &mut rng);
                }
            }
            // Every special depth at every lane position, and each alone over a whole frame.
            let specials = rng::special_depths(near, far);
            let (w, h) = (23u32, 5u32);
            let mut img = DepthImage::new(w, h);
            for (i, z) in img.data.iter_mut().enumerate() {
                *z = specials[(i * 7 + ri) % specials.len()];
            }
            for p in all_params(near, far, w, h) {
                check_one(report, level, &img.view(), &p, "special depths 23x5", &mut rng);
            }
            for &z in &specials {
                let mut img = DepthImage::new(9, 2);
                img.data.fill(z);
                for p in all_params(near, far, 9, 2) {
                    check_one(report, level, &img.view(), &p, &format!("all {z:e} 9x2"), &mut rng);
                }
            }
            // A strided view: rows do not start at multiples of the vector width.
            let (w, h, stride) = (45u32, 3u32, 51usize);
            let data: Vec<f32> = (0..stride * h as usize).map(|_| rng::depth(&mut rng, near, far)).collect();
            let view = DepthView::new(w, h, stride, &data).expect("strided view");
            for p in all_params(near, far, w, h) {
                check_one(report, level, &view, &p, "strided 45x3 (stride 51)", &mut rng);
            }
        }
        // A rendered-like scene with its own tight range.
        let scene = testdata::game_scene(97, 55, 0.3);
        let (near, far) = tight_range(&scene.view(), 0.05).expect("scene has valid depths");
        for p in all_params(near, far, 97, 55) {
            check_one(report, level, &scene.view(), &p, "game scene 97x55", &mut rng);
        }
    }
}
