//! The row kernels of the triangle and hue schemes (`quantise_coarse_fine_row`,
//! `block_waves_row`, `phase_row`, `unpack_triangle_row`, `hue_codes_row`, `unpack_hue_row`) at each level
//! against scalar, bit for bit, with the same kinds of inputs as [`crate::rows`]: constants of
//! both bit depths, every precision and period, both range modes; every tail length; unaligned
//! slices; marker-filled outputs; arbitrary codes for the decoders.

use depthcast_packing::frame::Ycbcr709Fixed;
use depthcast_packing::kernels::Quant;
use depthcast_packing::kernels::hue::{HueDecode, hue_quant};
use depthcast_packing::kernels::triangle::{WaveDecode, Waves};
use depthcast_packing::schemes::triangle::default_period;
use depthcast_packing::{BitDepth, CpuLevel, PackParams, RangeMode, Scheme, simd};

use crate::rng::{self, Rng};
use crate::rows::{MARK16, MARK32, MARKF, distinct_levels, length, out_len, placed};
use crate::{Exact, Report};

/// Cases per level.
const CASES: usize = 40_000;

/// A triangle or hue parameter set of a random bit depth, precision, period, range and mode.
fn params(rng: &mut Rng, scheme: Scheme) -> PackParams {
    let bd = if rng.one_in(2) { BitDepth::Eight } else { BitDepth::Ten };
    let b = bd.bits();
    let precision = if scheme == Scheme::Triangle { b + rng.below(9) as u8 } else { 0 };
    let (near, far) = rng.pick(&rng::RANGES);
    let mut p = PackParams::new(scheme, precision, near, far, 8, 8);
    p.bit_depth = bd;
    p.mode = if rng.one_in(2) { RangeMode::Linear } else { RangeMode::Disparity };
    if scheme == Scheme::Triangle {
        let (min, max) = PackParams::period_range(precision, bd);
        p.period = match rng.below(4) {
            0 => min,
            1 => max,
            2 => default_period(precision, bd),
            _ => min + rng.below(max - min + 1),
        };
    }
    p.validate().expect("valid triangle/hue parameters");
    p
}

/// A fine level of the triangle scheme: invalid (0) or valid (`q0..=top`), mostly inside.
fn fine_level(rng: &mut Rng, fine: &Quant, precision: u8) -> u32 {
    let top = (1u32 << precision) - 1;
    match rng.below(8) {
        0 | 1 => 0,
        2 => fine.q0,
        3 => top,
        _ => fine.q0 + rng.below(top - fine.q0 + 1),
    }
}

/// A hue quantiser level: 0 (invalid), the used arc `1..=1522`, or beyond it.
fn hue_level(rng: &mut Rng) -> u32 {
    match rng.below(10) {
        0 | 1 => 0,
        2 => 1,
        3 => 1522,
        4 => 1523 + rng.below(20),
        5 => rng.u32(),
        _ => 1 + rng.below(1522),
    }
}

/// A code of a decoded plane: mostly in range, with the edges and any u16.
fn code(rng: &mut Rng, bd: BitDepth) -> u16 {
    let max = u32::from(bd.max_code());
    let v = match rng.below(10) {
        0 => 0,
        1 => max,
        2 => max + 1 + rng.below(3),
        3 => rng.u32() >> 16,
        4 => u32::from(bd.neutral()),
        5 => rng.below(40),
        _ => rng.below(max + 1),
    };
    v as u16
}

/// Runs the triangle and hue row kernel checks at `levels`.
pub fn check(levels: &[CpuLevel], report: &mut Report) {
    let levels = distinct_levels(levels);
    if levels.is_empty() {
        return;
    }
    let mut rng = Rng::new(0x5eed_0004);
    for _ in 0..CASES {
        triangle_case(&mut rng, &levels, report);
        hue_case(&mut rng, &levels, report);
    }
}

fn triangle_case(rng: &mut Rng, levels: &[CpuLevel], report: &mut Report) {
    let p = params(rng, Scheme::Triangle);
    let range = p.range().expect("valid range");
    let coarse = Quant::new(&p, &range, p.bit_depth.bits());
    let fine = Quant::new(&p, &range, p.precision);
    let waves = Waves::new(&p, &fine);
    let decode = WaveDecode::new(&p, &range);
    let n = length(rng);
    let m = n.div_ceil(2);
    let (src, so) = placed(rng, n, 1, |r| rng::depth(r, p.near, p.far));
    let (q_a, ao) = placed(rng, 2 * m, 2, |r| fine_level(r, &fine, p.precision));
    let (q_b, bo) = placed(rng, 2 * m, 2, |r| fine_level(r, &fine, p.precision));
    let (y, yo) = placed(rng, n, 1, |r| code(r, p.bit_depth));
    let (u, uo) = placed(rng, m, 1, |r| code(r, p.bit_depth));
    let (v, vo) = placed(rng, m, 1, |r| code(r, p.bit_depth));
    let (src, q_a, q_b, y, u, v) = (&src[so..], &q_a[ao..], &q_b[bo..], &y[yo..], &u[uo..], &v[vo..]);
    let (o1, o2, o3) = (out_len(rng, n), out_len(rng, n), out_len(rng, m));
    // The decoder reads `u[x / 2]`, `v[x / 2]` for every pixel it writes.
    let o_dec = o1.min(2 * u.len().min(v.len()));
    let label = p.to_string();
    let at = |i: usize| {
        let g = |s: Option<String>| s.unwrap_or_else(|| "-".into());
        format!(
            "{label}; n={n}; inputs at {i}: src {} y {} u[i/2] {} v[i/2] {} blocks {:?} {:?}",
            g(src.get(i).map(|z| z.show())),
            g(y.get(i).map(u16::to_string)),
            g(u.get(i / 2).map(u16::to_string)),
            g(v.get(i / 2).map(u16::to_string)),
            q_a.get(2 * i..2 * i + 2),
            q_b.get(2 * i..2 * i + 2),
        )
    };
    for &level in levels {
        let run = |l: CpuLevel| {
            let (mut yc, mut q) = (vec![MARK16; o1], vec![MARK32; o2]);
            simd::quantise_coarse_fine_row(l, &coarse, &fine, src, &mut yc, &mut q);
            (yc, q)
        };
        let ((want_y, want_q), (got_y, got_q)) = (run(CpuLevel::Scalar), run(level));
        report.compare("quantise_coarse_fine_row", level, &at, "coarse codes", &want_y, &got_y);
        report.compare("quantise_coarse_fine_row", level, &at, "fine levels", &want_q, &got_q);
        let run = |l: CpuLevel| {
            let blocks = o3.min(q_a.len() / 2).min(q_b.len() / 2);
            let (mut uc, mut vc) = (vec![MARK16; blocks], vec![MARK16; blocks + usize::from(o3 > m)]);
            simd::block_waves_row(l, &waves, q_a, q_b, &mut uc, &mut vc);
            uc.extend(vc);
            uc
        };
        report.compare("block_waves_row", level, &at, "u then v codes", &run(CpuLevel::Scalar), &run(level));
        let phases = |l: CpuLevel| {
            let mut phase = vec![MARKF; o3.min(u.len()).min(v.len())];
            simd::phase_row(l, &decode, u, v, &mut phase);
            phase
        };
        let phase = phases(CpuLevel::Scalar);
        report.compare("phase_row", level, &at, "phase levels", &phase, &phases(level));
        // The decoder reads `phase[x / 2]` for every pixel it writes.
        let o_dec = o_dec.min(2 * phase.len());
        let run = |l: CpuLevel| {
            let mut out = vec![MARKF; o_dec];
            simd::unpack_triangle_row(l, &decode, y, &phase, &mut out);
            out
        };
        report.compare("unpack_triangle_row", level, &at, "depths", &run(CpuLevel::Scalar), &run(level));
    }
}

fn hue_case(rng: &mut Rng, levels: &[CpuLevel], report: &mut Report) {
    let p = params(rng, Scheme::Hue);
    let range = p.range().expect("valid range");
    let ycc = Ycbcr709Fixed::new(p.bit_depth);
    let decode = HueDecode::new(&p, &range);
    let n = length(rng);
    let m = n.div_ceil(2);
    let (q_a, ao) = placed(rng, 2 * m, 2, hue_level);
    let (q_b, bo) = placed(rng, 2 * m, 2, hue_level);
    let (y, yo) = placed(rng, n, 1, |r| code(r, p.bit_depth));
    let (u, uo) = placed(rng, m, 1, |r| code(r, p.bit_depth));
    let (v, vo) = placed(rng, m, 1, |r| code(r, p.bit_depth));
    let (q_a, q_b, y, u, v) = (&q_a[ao..], &q_b[bo..], &y[yo..], &u[uo..], &v[vo..]);
    let blocks = out_len(rng, m).min(q_a.len() / 2).min(q_b.len() / 2);
    let o_dec = out_len(rng, n).min(2 * u.len().min(v.len()));
    let label = p.to_string();
    let at = |i: usize| {
        let g = |s: Option<String>| s.unwrap_or_else(|| "-".into());
        format!(
            "{label}; n={n}; inputs at {i}: y {} u[i/2] {} v[i/2] {} hue levels of block i {:?} {:?}",
            g(y.get(i).map(u16::to_string)),
            g(u.get(i / 2).map(u16::to_string)),
            g(v.get(i / 2).map(u16::to_string)),
            q_a.get(2 * i..2 * i + 2),
            q_b.get(2 * i..2 * i + 2),
        )
    };
    // The quantiser of the hue scheme through the shared kernel (its own constants).
    let quant = hue_quant(&range);
    let (src, so) = placed(rng, n, 1, |r| rng::depth(r, p.near, p.far));
    let src = &src[so..];
    for &level in levels {
        let run = |l: CpuLevel| {
            let mut q = vec![MARK32; n];
            simd::quantise_row(l, &quant, src, &mut q);
            q
        };
        let at_q = |i: usize| format!("{label} (hue quantiser); depth {}", src.get(i).map_or("-".into(), |z| z.show()));
        report.compare("quantise_row (hue levels)", level, &at_q, "levels", &run(CpuLevel::Scalar), &run(level));
        let run = |l: CpuLevel| {
            // A luma row one code longer than the blocks need, as on odd widths.
            let extra = n % 2;
            let (mut y0, mut y1) = (vec![MARK16; 2 * blocks + extra], vec![MARK16; 2 * blocks]);
            let (mut uc, mut vc) = (vec![MARK16; blocks], vec![MARK16; blocks]);
            simd::hue_codes_row(l, &ycc, q_a, q_b, &mut y0, &mut y1, &mut uc, &mut vc);
            y0.extend(y1);
            y0.extend(uc);
            y0.extend(vc);
            y0
        };
        report.compare("hue_codes_row", level, &at, "y0, y1, u, v codes", &run(CpuLevel::Scalar), &run(level));
        let run = |l: CpuLevel| {
            let mut out = vec![MARKF; o_dec];
            simd::unpack_hue_row(l, &decode, y, u, v, &mut out);
            out
        };
        report.compare("unpack_hue_row", level, &at, "depths", &run(CpuLevel::Scalar), &run(level));
    }
}
