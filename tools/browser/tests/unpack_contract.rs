//! Contract test: `web/js/unpack.js`, the WebGL2 twin of `depthcast_packing::unpack`, run in
//! headless Chromium (WebGL2 on SwiftShader), gives the same f32 depths as the CPU, **bit for
//! bit**, for every scheme: luma-only; VBP in the chroma and luma layouts at every precision of 8-
//! and 10-bit planes (low amplitudes 255, 77 and 1); triangle waves at every precision with
//! periods across `PackParams::period_range` (its ends, the default, odd periods, the edges of
//! single-level rounding at `2 · (2^B − 1)`); hue; linear and disparity ranges (a wide ratio
//! among them); odd depth sizes (frames padded to even) and decoded planes larger than the frame.
//!
//! Maps sent at half size go through the second pass too, the twin of `packing::resample`'s
//! upsampler, without a guide and with a colour frame's luma as guide (8- and 10-bit, following
//! the depth's edges, flat, arbitrary, and of another size, which both sides ignore).
//!
//! Each frame is unpacked as packed, with codec-like noise (codes moved by up to the guard band
//! plus two), with arbitrary codes (every code value, guard and invalid codes, chroma anywhere),
//! and at 10 bits with codes beyond 1023 (corrupt data): the receiver must match the CPU on any
//! input, as `tools/kernel-check` demands of the SIMD kernels. Code space sweeps cover every
//! chroma pair of 8-bit planes (a quarter of each chroma code at 10 bits) with spread luma codes,
//! through each scheme. Before every frame the page leaves hostile GL state behind (scissor,
//! culling, blending, colour mask, viewport, alignment, bindings), which must neither change the
//! result nor be changed by the unpacker.
//!
//! The shader's exact-arithmetic helpers are also run on their own against the CPU: `div_exact`
//! (the correctly rounded division it uses instead of GLSL's 2.5-ULP `/`) on every division of
//! the hue decoder and on the disparity mapping's reciprocals, and `rne` (round half to even).
//!
//! Frames go to the page as in-memory files of the static server (planes of every case in one
//! blob, a JSON manifest, fetched by `tools/browser/tests/unpack_contract.html`); the depths come
//! back as base64 strings, about a million values per `Page::eval`. Needs Debian's `chromium`;
//! without it the test fails, loudly.

use std::time::Duration;

use base64::Engine as _;
use depthcast_browser::{Chromium, StaticServer};
use depthcast_packing::schemes::triangle::default_period;
use depthcast_packing::{
    BitDepth, DepthImage, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame, pack, testdata,
};

/// SplitMix64, deterministic.
struct Rng(u64);

impl Rng {
    fn u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 32) as u32
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.u32()) * u64::from(n)) >> 32) as u32
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f32 {
        (self.u32() >> 8) as f32 / (1u32 << 24) as f32
    }
}

/// The scene with per-pixel noise (level boundaries get crossed), zeros, infinities, negatives,
/// NaN, subnormals and depths beyond any `far` (deterministic).
fn depth(w: u32, h: u32, t: f32, rng: &mut Rng) -> DepthImage {
    let mut img = testdata::game_scene(w, h, t);
    for (i, z) in img.data.iter_mut().enumerate() {
        let r = rng.unit();
        *z = match i % 89 {
            0 => 0.0,
            1 => f32::INFINITY,
            2 => 1e9,
            3 => -1.0,
            4 => 1e-40,
            5 => f32::NAN,
            6 => 0.01,
            _ if z.is_finite() && *z > 0.0 => *z * (1.0 + 0.01 * (r - 0.5)),
            _ => *z,
        };
    }
    img
}

/// What is done to the packed codes before unpacking.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Damage {
    /// As packed.
    Clean,
    /// Two thirds of the codes moved by up to `guard + 2` (codec noise around the guard band and
    /// the fold and period boundaries), clamped to the plane's range.
    Noisy,
    /// Every code uniform over the plane's range.
    Any,
    /// A quarter of the codes any 16-bit value, the rest over the range (10-bit planes only).
    Beyond,
    /// Code space sweep `k` of a 512x512 frame: each 2x2 block's chroma pair is its position
    /// (every pair at 8 bits; a quarter of the values of each at 10 bits, offset by `k`), its four
    /// luma codes spread a quarter of the range apart and shifted along the block and by `k`.
    Sweep(u32),
}

/// One frame for the page: the parameters, the frame planes the CPU unpacks, and the planes the
/// page gets (the frame's, or larger ones holding it in their top-left corner).
struct Case {
    label: String,
    damage: Damage,
    params: PackParams,
    frame: YuvFrame,
    planes: Planes,
    /// For a map sent at half size: the colour frame whose luma guides its rebuild, if any.
    guide: Option<YuvFrame>,
}

struct Planes {
    width: u32,
    height: u32,
    uv_width: u32,
    uv_height: u32,
    y: Vec<u16>,
    u: Vec<u16>,
    v: Vec<u16>,
}

impl Planes {
    /// The frame's own planes.
    fn of(f: &YuvFrame) -> Planes {
        Planes {
            width: f.width,
            height: f.height,
            uv_width: f.chroma_width(),
            uv_height: f.chroma_height(),
            y: f.y.clone(),
            u: f.u.clone(),
            v: f.v.clone(),
        }
    }

    /// The frame's planes inside planes `extra` luma samples wider and taller (even), the rest
    /// filled with arbitrary codes.
    fn around(f: &YuvFrame, extra: u32, rng: &mut Rng) -> Planes {
        let max = u32::from(f.bit_depth.max_code()) + 1;
        let embed = |src: &[u16], w: u32, h: u32, pw: u32, ph: u32, rng: &mut Rng| {
            let mut out: Vec<u16> = (0..pw * ph).map(|_| rng.below(max) as u16).collect();
            for y in 0..h as usize {
                let row = &src[y * w as usize..(y + 1) * w as usize];
                out[y * pw as usize..y * pw as usize + w as usize].copy_from_slice(row);
            }
            out
        };
        let (w, h) = (f.width + extra, f.height + extra);
        let (cw, ch) = (f.chroma_width(), f.chroma_height());
        Planes {
            width: w,
            height: h,
            uv_width: w / 2,
            uv_height: h / 2,
            y: embed(&f.y, f.width, f.height, w, h, rng),
            u: embed(&f.u, cw, ch, w / 2, h / 2, rng),
            v: embed(&f.v, cw, ch, w / 2, h / 2, rng),
        }
    }
}

fn damage(f: &YuvFrame, how: Damage, rng: &mut Rng) -> YuvFrame {
    let mut f = f.clone();
    let max = f.bit_depth.max_code();
    let reach = i32::from(f.bit_depth.guard()) + 2;
    for c in f.y.iter_mut().chain(f.u.iter_mut()).chain(f.v.iter_mut()) {
        match how {
            Damage::Clean => {}
            Damage::Noisy => {
                if rng.below(3) != 0 {
                    let d = rng.below(2 * reach as u32 + 1) as i32 - reach;
                    *c = (i32::from(*c) + d).clamp(0, i32::from(max)) as u16;
                }
            }
            Damage::Any => *c = rng.below(u32::from(max) + 1) as u16,
            Damage::Beyond => {
                *c = if rng.below(4) == 0 { rng.u32() as u16 } else { rng.below(u32::from(max) + 1) as u16 };
            }
            Damage::Sweep(_) => {}
        }
    }
    if let Damage::Sweep(k) = how {
        let codes = u32::from(max) + 1;
        let scale = codes / 256;
        let (w, cw) = (f.width as usize, f.chroma_width() as usize);
        for (i, (u, v)) in f.u.iter_mut().zip(f.v.iter_mut()).enumerate() {
            let (bx, by) = ((i % cw) as u32, (i / cw) as u32);
            *u = ((bx * scale + k % scale) % codes) as u16;
            *v = ((by * scale + (k / scale) % scale) % codes) as u16;
        }
        for (i, c) in f.y.iter_mut().enumerate() {
            let (x, y) = ((i % w) as u32, (i / w) as u32);
            let j = (x & 1) + 2 * (y & 1);
            *c = ((j * codes / 4 + x / 2 + 3 * (y / 2) + 17 * k) % codes) as u16;
        }
    }
    f
}

/// Every scheme's parameter sets for one bit depth, mode and range.
fn configurations(bd: BitDepth, mode: RangeMode, near: f32, far: f32) -> Vec<PackParams> {
    let b = bd.bits();
    let base = |scheme, precision| {
        let mut p = PackParams::new(scheme, precision, near, far, 1, 1);
        p.bit_depth = bd;
        p.mode = mode;
        p
    };
    let mut v = vec![base(Scheme::LumaOnly, b), base(Scheme::Hue, 0)];
    let max_code = u32::from(bd.max_code());
    for precision in b..=b + 8 {
        for layout in [VbpLayout::Chroma, VbpLayout::Luma] {
            let amps: &[u8] = if precision == b + 3 { &[255, 77, 1] } else { &[255] };
            for &amp in amps {
                let mut p = base(Scheme::Vbp, precision);
                p.layout = layout;
                p.low_amplitude = amp;
                v.push(p);
            }
        }
        let (min, max) = PackParams::period_range(precision, bd);
        let mut periods = vec![min, default_period(precision, bd), max, ((min + max) / 3) | 1, min + 1];
        // Around the switch to rounding to whole levels (`round_fine`: n_p < 2 (2^B − 1)).
        periods.extend([2 * max_code - 1, 2 * max_code, 1000]);
        periods.retain(|&n| (min..=max).contains(&n));
        periods.sort_unstable();
        periods.dedup();
        for period in periods {
            let mut p = base(Scheme::Triangle, precision);
            p.period = period;
            v.push(p);
        }
    }
    v
}

/// The cases: every configuration at an odd size, as packed, noisy and with arbitrary codes (and
/// codes beyond 10 bits); every fourth also at other sizes and in larger planes.
fn cases() -> Vec<Case> {
    let mut rng = Rng(0x5eed_0001);
    // Ranges: a room-sized one, a tight one (near surfaces clamped, far ones invalid), a wide one
    // (a ratio near the allowed 10^6).
    let ranges = [(0.4f32, 30.0f32), (2.5, 9.0), (1e-3, 900.0)];
    let sizes = [(1u32, 1u32), (2, 1), (3, 5), (64, 2), (131, 7), (20, 21)];
    let mut out = Vec::new();
    let mut n = 0usize;
    for bd in [BitDepth::Eight, BitDepth::Ten] {
        for mode in [RangeMode::Linear, RangeMode::Disparity] {
            for (ri, &(near, far)) in ranges.iter().enumerate() {
                for p in configurations(bd, mode, near, far) {
                    n += 1;
                    // The first range gets every configuration, the others every third.
                    if ri > 0 && !n.is_multiple_of(3) {
                        continue;
                    }
                    let mut shapes = vec![(37u32, 23u32, 0u32)];
                    if n.is_multiple_of(4) || matches!(p.scheme, Scheme::LumaOnly | Scheme::Hue) {
                        let (w, h) = sizes[(n / 4) % sizes.len()];
                        shapes.push((w, h, 0));
                        shapes.push((11, 9, 2 + 2 * (n as u32 % 5)));
                    }
                    for (w, h, extra) in shapes {
                        let p = PackParams { width: w, height: h, ..p };
                        p.validate().unwrap_or_else(|e| panic!("{}: {e}", p));
                        let img = depth(w, h, (n % 7) as f32 * 0.3, &mut rng);
                        let packed = pack(&img.view(), &p).unwrap_or_else(|e| panic!("{}: {e}", p));
                        let mut kinds = vec![Damage::Clean, Damage::Noisy, Damage::Any];
                        if bd == BitDepth::Ten {
                            kinds.push(Damage::Beyond);
                        }
                        if extra > 0 {
                            kinds = vec![Damage::Clean, Damage::Any];
                        }
                        for how in kinds {
                            let frame = damage(&packed, how, &mut rng);
                            let planes =
                                if extra > 0 { Planes::around(&frame, extra, &mut rng) } else { Planes::of(&frame) };
                            let label = format!("{how:?} planes {}x{}: {}", planes.width, planes.height, p);
                            out.push(Case { label, damage: how, params: p, frame, planes, guide: None });
                        }
                    }
                }
            }
        }
    }
    out.extend(sweeps(&mut rng));
    out.extend(half_size(&mut rng));
    out
}

/// A colour frame's luma for the guided rebuild: `w x h` (even) codes that follow the depth's
/// surfaces (a band per depth step, so edges in depth are edges in luma), with texture and noise;
/// or flat (every candidate ties, and the first must win as on the CPU); or arbitrary.
fn guide(depth: &DepthImage, bd: BitDepth, kind: u32, rng: &mut Rng) -> YuvFrame {
    let (w, h) = (depth.width.next_multiple_of(2), depth.height.next_multiple_of(2));
    let mut g = YuvFrame::new(w, h, bd);
    let max = u32::from(bd.max_code());
    for y in 0..h {
        for x in 0..w {
            let d = depth.data[(y.min(depth.height - 1) * depth.width + x.min(depth.width - 1)) as usize];
            let code = match kind {
                0 => {
                    let band = if d.is_finite() && d > 0.0 { (d * 7.0) as u32 % 5 } else { 5 };
                    (band * max / 6 + (x * 3 + y) % 9 + rng.below(4)).min(max)
                }
                1 => max / 3,
                _ => rng.below(max + 1),
            };
            g.y[(y * w + x) as usize] = code as u16;
        }
    }
    g
}

/// Maps sent at half size (`PackParams::half`), rebuilt by the second pass without a guide and
/// with one (8- and 10-bit colour; a guide that ties everywhere; arbitrary luma; a guide of
/// another size, which both sides ignore), for a configuration of each scheme at even and odd
/// sizes, as packed, noisy and with arbitrary codes.
fn half_size(rng: &mut Rng) -> Vec<Case> {
    let mut out = Vec::new();
    let mut n = 0u32;
    for bd in [BitDepth::Eight, BitDepth::Ten] {
        let b = bd.bits();
        let base = |scheme, precision| {
            let mut p = PackParams::new(scheme, precision, 0.4, 30.0, 1, 1);
            p.bit_depth = bd;
            p.half = true;
            p
        };
        let mut vbp = base(Scheme::Vbp, b + 6);
        vbp.layout = VbpLayout::Luma;
        let mut tri = base(Scheme::Triangle, b + 6);
        tri.period = default_period(b + 6, bd);
        let mut disparity = base(Scheme::LumaOnly, b);
        disparity.mode = RangeMode::Disparity;
        for p in [base(Scheme::LumaOnly, b), vbp, base(Scheme::Vbp, b + 8), tri, base(Scheme::Hue, 0), disparity] {
            for (w, h) in [(96u32, 54u32), (37, 23), (1, 1), (2, 3)] {
                n += 1;
                let p = PackParams { width: w, height: h, ..p };
                p.validate().unwrap_or_else(|e| panic!("{}: {e}", p));
                let img = depth(w, h, (n % 7) as f32 * 0.3, rng);
                let packed = pack(&img.view(), &p).unwrap_or_else(|e| panic!("{}: {e}", p));
                for how in [Damage::Clean, Damage::Noisy, Damage::Any] {
                    let frame = damage(&packed, how, rng);
                    // Guides: none, one following the depth (the colour's bit depth alternating),
                    // and every few frames a flat one, an arbitrary one, one of another size.
                    let colour = if n.is_multiple_of(2) { BitDepth::Eight } else { BitDepth::Ten };
                    let mut guides = vec![None, Some(guide(&img, colour, 0, rng))];
                    if how == Damage::Noisy {
                        guides.push(Some(guide(&img, bd, 1, rng)));
                        guides.push(Some(guide(&img, colour, 2, rng)));
                        let bigger = DepthImage::new(w + 2, h + 2);
                        guides.push(Some(guide(&bigger, BitDepth::Eight, 0, rng)));
                    }
                    for g in guides {
                        let planes = Planes::of(&frame);
                        let with = match &g {
                            Some(g) => format!(" guide {}x{} {}-bit", g.width, g.height, g.bit_depth.bits()),
                            None => String::new(),
                        };
                        let label = format!("{how:?} half{with}: {}", p);
                        out.push(Case { label, damage: how, params: p, frame: frame.clone(), planes, guide: g });
                    }
                }
            }
        }
    }
    out
}

/// Code space sweeps (Damage::Sweep) through one or two configurations of each scheme.
fn sweeps(rng: &mut Rng) -> Vec<Case> {
    let mut out = Vec::new();
    for bd in [BitDepth::Eight, BitDepth::Ten] {
        let b = bd.bits();
        for mode in [RangeMode::Linear, RangeMode::Disparity] {
            let base = |scheme, precision| {
                let mut p = PackParams::new(scheme, precision, 0.4, 30.0, 512, 512);
                p.bit_depth = bd;
                p.mode = mode;
                p
            };
            let mut ps = vec![(base(Scheme::Hue, 0), 2u32), (base(Scheme::LumaOnly, b), 1)];
            let mut vbp = base(Scheme::Vbp, b + 8);
            ps.push((vbp, 1));
            vbp.layout = VbpLayout::Luma;
            vbp.precision = b + 3;
            ps.push((vbp, 1));
            for (precision, period) in [(b + 8, default_period(b + 8, bd)), (b, PackParams::period_range(b, bd).0)] {
                let mut p = base(Scheme::Triangle, precision);
                p.period = period;
                ps.push((p, 1));
            }
            for (p, frames) in ps {
                let img = depth(512, 512, 0.0, rng);
                let packed = pack(&img.view(), &p).unwrap_or_else(|e| panic!("{}: {e}", p));
                for k in 0..frames {
                    let how = Damage::Sweep(k + u32::from(mode == RangeMode::Disparity) * 5);
                    let frame = damage(&packed, how, rng);
                    let planes = Planes::of(&frame);
                    let label = format!("{how:?}: {}", p);
                    out.push(Case { label, damage: how, params: p, frame, planes, guide: None });
                }
            }
        }
    }
    out
}

/// The page's manifest (JSON) and the blob of every case's planes.
fn fixtures(cases: &[Case]) -> (Vec<u8>, Vec<u8>) {
    let mut blob = Vec::new();
    let mut manifest = Vec::new();
    for c in cases {
        let p = &c.params;
        let bytes = if p.bit_depth == BitDepth::Eight { 1 } else { 2 };
        blob.resize(blob.len().next_multiple_of(4), 0);
        let offset = blob.len();
        for plane in [&c.planes.y, &c.planes.u, &c.planes.v] {
            for &s in plane.iter() {
                if bytes == 1 {
                    blob.push(u8::try_from(s).expect("8-bit code"));
                } else {
                    blob.extend(s.to_le_bytes());
                }
            }
        }
        let guide = c.guide.as_ref().map(|g| {
            let bytes = if g.bit_depth == BitDepth::Eight { 1 } else { 2 };
            blob.resize(blob.len().next_multiple_of(4), 0);
            let offset = blob.len();
            for &s in &g.y {
                if bytes == 1 {
                    blob.push(u8::try_from(s).expect("8-bit code"));
                } else {
                    blob.extend(s.to_le_bytes());
                }
            }
            let fits = (g.width, g.height) == (p.width.next_multiple_of(2), p.height.next_multiple_of(2));
            serde_json::json!({
                "width": g.width, "height": g.height, "bitDepth": g.bit_depth.bits(), "bytes": bytes,
                "offset": offset, "used": fits,
            })
        });
        manifest.push(serde_json::json!({
            "guide": guide,
            "params": {
                "scheme": p.scheme.name(),
                "bitDepth": p.bit_depth.bits(),
                "precision": p.precision,
                "layout": p.layout.name(),
                "mode": p.mode.name(),
                "lowAmplitude": p.low_amplitude,
                "period": p.period,
                "nearBits": p.near.to_bits(),
                "farBits": p.far.to_bits(),
                "width": p.width,
                "height": p.height,
                "half": p.half,
                "frameIndex": 0,
            },
            "planes": {
                "width": c.planes.width,
                "height": c.planes.height,
                "uvWidth": c.planes.uv_width,
                "uvHeight": c.planes.uv_height,
                "bytes": bytes,
                "offset": offset,
            },
        }));
    }
    (serde_json::to_vec(&manifest).expect("json"), blob)
}

fn decode_f32(v: &serde_json::Value) -> Vec<u32> {
    let s = v.as_str().unwrap_or_else(|| panic!("expected base64 text, got {v}"));
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).expect("base64 from the page");
    bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// `a / b` and `round_ties_even(a)` probes: pairs of f32 bit patterns and the CPU's answers.
fn division_probes() -> (Vec<u32>, Vec<u32>) {
    let mut rng = Rng(0x5eed_0002);
    let mut pairs: Vec<(f32, f32)> = Vec::new();
    // Every division of the hue decoder: (v − min) / c over byte-valued channels.
    for c in 1..=255u16 {
        for v in 0..=c {
            pairs.push((f32::from(v), f32::from(c)));
        }
    }
    // The disparity mapping's 1 / (inv_near − n · span) over ranges and levels.
    for _ in 0..20_000 {
        let near = 1e-3 * (1.0 + 999.0 * rng.unit());
        let far = near * (1.0 + 9.99e5 * rng.unit() * rng.unit());
        let inv_near = 1.0 / near;
        let span = inv_near - 1.0 / far;
        let n = if rng.below(4) == 0 { 1.0 } else { rng.unit() };
        let x = inv_near - n * span;
        assert!(x.is_normal() && x > 0.0, "disparity probe {near}..{far} at {n}");
        pairs.push((1.0, x));
    }
    // Normal quotients across exponents and signs, and significands near 1 and 2.
    for _ in 0..40_000 {
        let sig = |r: &mut Rng| f32::from_bits(0x3f80_0000 | (r.u32() >> 9));
        let e = |r: &mut Rng| 2f32.powi(r.below(120) as i32 - 60);
        let sign = |r: &mut Rng| if r.below(2) == 0 { 1.0 } else { -1.0 };
        let (a, b) = (sig(&mut rng) * e(&mut rng) * sign(&mut rng), sig(&mut rng) * e(&mut rng) * sign(&mut rng));
        pairs.push((a, b));
        let near_one = f32::from_bits(0x3f80_0000 + rng.below(8));
        pairs.push((a, near_one));
        pairs.push((near_one, f32::from_bits(0x3fff_fff8 + rng.below(8))));
    }
    pairs.push((0.0, 3.0));
    pairs.push((-0.0, 3.0));
    for &(a, b) in &pairs {
        let q = a / b;
        assert!(q == 0.0 || q.is_normal(), "probe {a} / {b} leaves div_exact's domain");
    }
    let input = pairs.iter().flat_map(|&(a, b)| [a.to_bits(), b.to_bits()]).collect();
    let want = pairs.iter().map(|&(a, b)| (a / b).to_bits()).collect();
    (input, want)
}

fn rounding_probes() -> (Vec<u32>, Vec<u32>) {
    let mut rng = Rng(0x5eed_0003);
    let mut xs: Vec<f32> = vec![0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 8388607.5, -8388607.5];
    xs.extend([f32::from_bits(0x3eff_ffff), -f32::from_bits(0x3eff_ffff)]);
    xs.extend([8388608.0, 8388609.0, 16777216.0, 1e30, -1e30, 1e-30, -1e-30, 0.3, -0.3, 0.7, -0.7]);
    for _ in 0..30_000 {
        let k = rng.below(1 << 24) as f32 - 8388608.0;
        xs.push(k + 0.5);
        xs.push(k * 0.5);
        let x = (rng.unit() - 0.5) * 2f32.powi(rng.below(30) as i32 - 4);
        xs.push(x);
        xs.push(f32::from_bits(x.to_bits() ^ 1));
    }
    let input = xs.iter().flat_map(|&x| [x.to_bits(), 0]).collect();
    let want = xs.iter().map(|&x| x.round_ties_even().to_bits()).collect();
    (input, want)
}

#[test]
fn webgl_unpacking_matches_the_cpu_bit_for_bit() {
    let cases = cases();
    let (manifest, blob) = fixtures(&cases);
    let (div_in, div_want) = division_probes();
    let (round_in, round_want) = rounding_probes();
    let words = |w: &[u32]| w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();

    let web = depthcast_browser::web_dir();
    let mut server = StaticServer::new(web);
    server.add("/contract/unpack.html", include_bytes!("unpack_contract.html").to_vec(), "text/html");
    server.add("/contract/manifest.json", manifest, "application/json");
    server.add("/contract/planes.bin", blob, "application/octet-stream");
    server.add("/contract/div.bin", words(&div_in), "application/octet-stream");
    server.add("/contract/round.bin", words(&round_in), "application/octet-stream");
    let server = server.start().expect("static server");
    let chromium = Chromium::launch_with_args(&["--enable-unsafe-swiftshader"])
        .unwrap_or_else(|e| panic!("this test needs headless Chromium (Debian's `chromium` package): {e}"));
    let page = chromium.new_page(&server.url("/contract/unpack.html")).expect("the contract page");
    page.wait_for("window.unpackContract !== undefined", Duration::from_secs(60))
        .expect("the contract page did not load (web/js/unpack.js failing to parse?)");
    let env = page.eval("window.unpackContract.environment()").expect("environment");
    println!("WebGL2: {env}");

    // The exact-arithmetic helpers on their own.
    for (op, want, url) in [("div", &div_want, "/contract/div.bin"), ("rne", &round_want, "/contract/round.bin")] {
        let got =
            decode_f32(&page.eval(&format!("window.unpackContract.probe('{op}', '{url}', {})", want.len())).expect(op));
        assert_eq!(got.len(), want.len(), "{op}: result count");
        let bad: Vec<usize> = (0..want.len()).filter(|&i| got[i] != want[i]).collect();
        let input = if op == "div" { &div_in } else { &round_in };
        for &i in bad.iter().take(10) {
            let (a, b) = (f32::from_bits(input[2 * i]), f32::from_bits(input[2 * i + 1]));
            eprintln!(
                "{op}({a:e}, {b:e}): shader {:e} ({:#010x}), cpu {:e} ({:#010x})",
                f32::from_bits(got[i]),
                got[i],
                f32::from_bits(want[i]),
                want[i]
            );
        }
        assert!(bad.is_empty(), "{op}: {} of {} results differ from the CPU", bad.len(), want.len());
        println!("{op}: {} results equal to the CPU's, bit for bit", want.len());
    }

    // Every case through DepthUnpacker, in batches of about a million values (a few MB of base64
    // per reply).
    let loaded = page
        .eval("window.unpackContract.load('/contract/manifest.json', '/contract/planes.bin')")
        .expect("loading the cases in the page");
    assert_eq!(loaded.as_u64(), Some(cases.len() as u64), "cases loaded by the page");
    let mut got = Vec::new();
    let mut from = 0;
    while from < cases.len() {
        let mut to = from;
        let mut values = 0;
        while to < cases.len() && (to == from || values < 1 << 20) {
            values += (cases[to].params.width * cases[to].params.height) as usize;
            to += 1;
        }
        let reply = page.eval(&format!("window.unpackContract.run({from}, {to})")).expect("unpacking in the page");
        got.extend(decode_f32(&reply));
        from = to;
    }
    let total: usize = cases.iter().map(|c| (c.params.width * c.params.height) as usize).sum();
    assert_eq!(got.len(), total, "values from the page");
    let mut at = 0;
    let (mut differ, mut worst_ulp, mut failed) = (0usize, 0u32, Vec::new());
    for c in &cases {
        let mut want = DepthImage::new(c.params.width, c.params.height);
        Packer::default()
            .unpack_guided_into(&c.frame, &c.params, c.guide.as_ref(), &mut want)
            .unwrap_or_else(|e| panic!("{}: {e}", c.label));
        let n = want.data.len();
        let here = &got[at..at + n];
        at += n;
        let mut first = None;
        for (i, (&g, &w)) in here.iter().zip(&want.data).enumerate() {
            let w = w.to_bits();
            if g != w {
                differ += 1;
                worst_ulp = worst_ulp.max(g.abs_diff(w));
                first.get_or_insert((i, g, w));
            }
        }
        if let Some((i, g, w)) = first {
            let (x, y) = (i as u32 % c.params.width, i as u32 / c.params.width);
            failed.push(format!(
                "{}: pixel ({x}, {y}): shader {:e} ({g:#010x}), cpu {:e} ({w:#010x})",
                c.label,
                f32::from_bits(g),
                f32::from_bits(w)
            ));
        }
    }
    // Configurations: the parameters less the size.
    let configs: std::collections::BTreeSet<String> =
        cases.iter().map(|c| PackParams { width: 1, height: 1, ..c.params }.to_string()).collect();
    let mut tally: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for c in &cases {
        let path = match (c.params.half, &c.guide, c.params.scheme) {
            (true, Some(_), _) => "half guided".to_string(),
            (true, None, _) => "half".to_string(),
            (false, _, Scheme::Vbp) => format!("vbp {}", c.params.layout.name()),
            (false, _, s) => s.name().to_string(),
        };
        let damage = match c.damage {
            Damage::Sweep(_) => "Sweep".to_string(),
            d => format!("{d:?}"),
        };
        for key in [path, damage] {
            let t = tally.entry(key).or_default();
            t.0 += 1;
            t.1 += (c.params.width * c.params.height) as usize;
        }
    }
    for (key, (frames, values)) in &tally {
        println!("  {key:>12}: {frames:5} frames, {values:8} values");
    }
    println!(
        "{} frames of {} configurations, {total} depth values compared bit for bit: {differ} differ",
        cases.len(),
        configs.len(),
    );
    for f in failed.iter().take(20) {
        eprintln!("{f}");
    }
    assert!(
        failed.is_empty(),
        "{} of {} frames differ ({differ} values, up to {worst_ulp} in the bit pattern)",
        failed.len(),
        cases.len()
    );
}
