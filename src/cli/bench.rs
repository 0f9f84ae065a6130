//! `depthcast bench`: pack/unpack timings per scheme, scalar vs the best SIMD level vs a copy.

use std::hint::black_box;
use std::time::Instant;

use depthcast_packing::{
    BitDepth, CpuLevel, DepthImage, PackParams, Packer, Scheme, VbpLayout, YuvFrame, testdata, tight_range,
};

/// Options of `depthcast bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    /// Timed iterations per measurement (the median is reported).
    #[arg(long, default_value_t = 21)]
    iters: usize,
    /// Frame width.
    #[arg(long, default_value_t = 1920)]
    width: u32,
    /// Frame height.
    #[arg(long, default_value_t = 1080)]
    height: u32,
    /// Skip the start-up probe's timing (real encodes: a few seconds at 1080p).
    #[arg(long)]
    no_probe: bool,
    /// Instead of the packing benchmarks: each software encoder's time per frame at each preset,
    /// one thread, for every format this FFmpeg encodes and the two frame sizes a packing can
    /// have (one plane: luma, hue; two stacked: VBP's luma layout), against `--budget-ms`.
    #[arg(long)]
    presets: bool,
    /// With --presets: the real-time budget per frame on one core, ms.
    #[arg(long, default_value_t = 16.0)]
    budget_ms: f64,
    /// With --presets: the bitrates to time at, Mbit/s at 720p30 (scaled to the frame size, as the
    /// sweep scales them). An encoder's time per frame grows with its bitrate: more bits to code.
    #[arg(long, value_delimiter = ',', default_value = "4")]
    mbps: Vec<f64>,
}

/// Median wall time of `f` in nanoseconds over `iters` runs, after one warm-up run.
pub(crate) fn median_ns(iters: usize, mut f: impl FnMut()) -> u64 {
    f();
    let mut t: Vec<u64> = (0..iters.max(1))
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_nanos() as u64
        })
        .collect();
    t.sort_unstable();
    t[t.len() / 2]
}

struct Case {
    scheme: Scheme,
    layout: Option<VbpLayout>,
    precision: u8,
}

fn cases() -> Vec<Case> {
    let mut v = vec![Case { scheme: Scheme::LumaOnly, layout: None, precision: 8 }];
    for precision in [12, 16] {
        for layout in [VbpLayout::Chroma, VbpLayout::Luma] {
            v.push(Case { scheme: Scheme::Vbp, layout: Some(layout), precision });
        }
        v.push(Case { scheme: Scheme::Triangle, layout: None, precision });
    }
    v.push(Case { scheme: Scheme::Hue, layout: None, precision: 0 });
    v
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    if a.presets {
        return bench_presets(&a);
    }
    let depth = testdata::game_scene(a.width, a.height, 0.0);
    let view = depth.view();
    let (near, far) = tight_range(&view, 0.05).ok_or_else(|| anyhow::anyhow!("test frame has no valid depth"))?;
    let src_bytes: &[u8] = bytemuck_f32(&depth.data);
    let mut dst = vec![0u8; src_bytes.len()];
    let memcpy_ns = median_ns(a.iters, || {
        dst.copy_from_slice(black_box(src_bytes));
        black_box(&mut dst);
    });
    // The packing kernels' level (AVX-VNNI machines run the AVX2 packing kernels).
    let best = Packer::new(CpuLevel::detect()).level();
    if !a.json {
        println!(
            "{}x{} game-like depth frame, single thread, median of {} runs; copy of the {} input bytes: {:.3} ms; best level: {}",
            a.width,
            a.height,
            a.iters,
            src_bytes.len(),
            memcpy_ns as f64 / 1e6,
            best.name()
        );
        println!(
            "{:<17} {:<7} {:>2} {:<7} {:>10} {:>8} {:>10} {:>8} {:>8}",
            "op", "scheme", "P", "layout", "level", "ms", "x copy", "x scalar", ""
        );
    }
    for c in cases() {
        let mut p = PackParams::new(c.scheme, c.precision, near, far, a.width, a.height);
        p.bit_depth = BitDepth::Eight;
        if let Some(l) = c.layout {
            p.layout = l;
        }
        if c.scheme == Scheme::Triangle {
            p.period = depthcast_packing::schemes::triangle::default_period(c.precision, p.bit_depth);
        }
        let (fw, fh) = p.frame_size();
        let mut frame = YuvFrame::new(fw, fh, p.bit_depth);
        let mut out = DepthImage::new(a.width, a.height);
        let mut scalar = [0u64; 2];
        for level in levels() {
            let mut packer = Packer::new(level);
            let pack_ns = median_ns(a.iters, || packer.pack_into(&view, &p, &mut frame).expect("pack"));
            let unpack_ns = median_ns(a.iters, || packer.unpack_into(&frame, &p, &mut out).expect("unpack"));
            for (i, (op, ns)) in [("pack", pack_ns), ("unpack", unpack_ns)].into_iter().enumerate() {
                if level == CpuLevel::Scalar {
                    scalar[i] = ns;
                }
                let ratio = ns as f64 / memcpy_ns as f64;
                let speedup = scalar[i] as f64 / ns as f64;
                let layout = c.layout.map_or("-", |l| l.name());
                if a.json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "bench": op, "scheme": c.scheme.name(), "layout": layout, "precision": c.precision,
                            "level": level.name(), "width": a.width, "height": a.height, "median_ns": ns,
                            "memcpy_ns": memcpy_ns, "ratio_to_memcpy": ratio, "speedup_vs_scalar": speedup,
                        })
                    );
                } else {
                    println!(
                        "{:<17} {:<7} {:>2} {:<7} {:>10} {:>8.3} {:>10.2} {:>8.2}",
                        op,
                        c.scheme.name(),
                        c.precision,
                        layout,
                        level.name(),
                        ns as f64 / 1e6,
                        ratio,
                        speedup
                    );
                }
            }
        }
    }
    bench_half(&a, &depth, near, far, memcpy_ns);
    bench_predict(&a, &depth)?;
    if !a.no_probe {
        bench_probe(&a)?;
    }
    Ok(())
}

/// Every level this CPU runs, once per distinct set of packing kernels (AVX-VNNI runs the AVX2
/// ones), scalar first.
fn levels() -> Vec<CpuLevel> {
    let mut levels: Vec<CpuLevel> =
        CpuLevel::compiled().iter().filter(|l| l.is_supported()).map(|&l| Packer::new(l).level()).collect();
    levels.dedup();
    levels
}

/// Maps sent at half size (`luma-P8-lin-half`): pack (keep one sample of each 2x2 block, pack
/// those), unpack without a guide and with one (the receiver's upsampler), at every level, against
/// the scalar level and the full-size map's unpack at the same level.
fn bench_half(a: &Args, depth: &DepthImage, near: f32, far: f32, memcpy_ns: u64) {
    let full = PackParams::new(Scheme::LumaOnly, 8, near, far, a.width, a.height);
    let half = PackParams { half: true, ..full };
    let mut scalar = [0u64; 3];
    for level in levels() {
        let mut packer = Packer::new(level);
        let (mut frame, mut out) = (YuvFrame::new(2, 2, BitDepth::Eight), DepthImage::new(1, 1));
        packer.pack_into(&depth.view(), &full, &mut frame).expect("pack");
        let full_unpack = median_ns(a.iters, || packer.unpack_into(&frame, &full, &mut out).expect("unpack"));
        // A guide with an edge wherever the depth has one: the full-size 8-bit luma of the map.
        let guide = frame.clone();
        let pack = median_ns(a.iters, || packer.pack_into(&depth.view(), &half, &mut frame).expect("pack"));
        let unguided = median_ns(a.iters, || packer.unpack_into(&frame, &half, &mut out).expect("unpack"));
        let guided =
            median_ns(a.iters, || packer.unpack_guided_into(&frame, &half, Some(&guide), &mut out).expect("unpack"));
        for (i, (op, ns)) in [("pack", pack), ("unpack", unguided), ("unpack+guide", guided)].into_iter().enumerate() {
            if level == CpuLevel::Scalar {
                scalar[i] = ns;
            }
            let vs_full = ns as f64 / full_unpack as f64;
            let speedup = scalar[i] as f64 / ns as f64;
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "bench": format!("half-{op}"), "scheme": "luma", "precision": 8, "level": level.name(),
                        "width": a.width, "height": a.height, "median_ns": ns, "memcpy_ns": memcpy_ns,
                        "ratio_to_memcpy": ns as f64 / memcpy_ns as f64, "ratio_to_full_unpack": vs_full,
                        "speedup_vs_scalar": speedup,
                    })
                );
            } else {
                println!(
                    "{:<17} {:<7} {:>2} {:<7} {:>10} {:>8.3} {:>10.2} {:>8.2}   x{vs_full:.2} the full-size unpack (luma-P8-lin-half)",
                    format!("half {op}"),
                    "luma",
                    8,
                    "-",
                    level.name(),
                    ns as f64 / 1e6,
                    ns as f64 / memcpy_ns as f64,
                    speedup,
                );
            }
        }
    }
}

/// The `"bench":"probe"` line: one start-up probe at this frame size (the built-in scene's first
/// frames, 4 Mbit/s at 720p30 scaled to the frame size, libx264 ultrafast, one thread per encode,
/// the encodes side by side): the wall time the stream's start waits on top of the probe's frames.
fn bench_probe(a: &Args) -> anyhow::Result<()> {
    use depthcast::precision_net::Probe;
    use depthcast::sweep::config::{CodecConfig, RangeChoice, scale_bitrates};
    use depthcast::sweep::encode::RunOptions;
    use depthcast::sweep::{Source, predictor};
    let seq = Source::Procedural { width: a.width, height: a.height, frames: Probe::FRAMES, fps: 30.0 }.load(None)?;
    let bitrate = scale_bitrates(&[4.0], a.width, a.height, 30.0)[0];
    let cands = predictor::candidates();
    let opts = RunOptions { gop: 30, ..RunOptions::default() };
    let encodes = predictor::ProbeEncodes { range: RangeChoice::Sequence, opts: &opts };
    let stream = predictor::Stream { seq: &seq, codec: CodecConfig::H264_8, bitrate, cands: &cands, gop: 30 };
    let t = Instant::now();
    let m = predictor::probe(stream, encodes)?.ok_or_else(|| anyhow::anyhow!("the committed model's candidates"))?;
    let wall_ms = t.elapsed().as_secs_f64() * 1e3;
    let n = m.measured().len();
    let frames_ms = Probe::FRAMES as f64 / 30.0 * 1e3;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "probe", "width": a.width, "height": a.height, "bitrate": bitrate,
                "configurations": n, "frames": Probe::FRAMES, "wall_ms": wall_ms,
                "start_delay_ms": frames_ms + wall_ms,
                "winner": m.winner().id(),
            })
        );
    } else {
        println!(
            "start-up probe: {n} configurations x {} frames in {wall_ms:.0} ms (encodes side by side); \
             the stream starts {:.0} ms late at 30 fps; winner {}",
            Probe::FRAMES,
            frames_ms + wall_ms,
            m.winner().id()
        );
    }
    Ok(())
}

/// The `"bench":"predict"` lines: the precision predictor's features at this frame size, and the
/// same committed model run by our int8 engine (scalar and best level), tract f32 and tract int8.
fn bench_predict(a: &Args, depth: &DepthImage) -> anyhow::Result<()> {
    use depthcast::precision_net::{self as pn, CpuLevel, Engine, FeatureExtractor, QuantMlp, Settings};
    const REPS: usize = 200;
    let settings = Settings { bitrate: 4e6, fps: 30.0, hevc: false, bits: 8 };
    let mut fx = FeatureExtractor::new();
    let f = fx.extract(&depth.view(), &settings);
    let per = |ns: u64| ns as f64 / REPS as f64;
    let features_ns = per(median_ns(a.iters, || {
        for _ in 0..REPS {
            black_box(fx.extract(black_box(&depth.view()), &settings));
        }
    }));
    let model = QuantMlp::from_bytes(pn::models::INT8)?;
    let mut rows: Vec<(&str, String, f64)> = vec![("features", "-".into(), features_ns)];
    for level in [CpuLevel::Scalar, CpuLevel::detect()] {
        let mut e = Engine::with_level(model.clone(), level);
        let ns = per(median_ns(a.iters, || {
            for _ in 0..REPS {
                black_box(e.run(black_box(&f)).expect("engine").len());
            }
        }));
        rows.push(("own_int8", level.name().into(), ns));
        if level == CpuLevel::detect() {
            break;
        }
    }
    // tract, the reference runtime, is the `tract` feature (default on; heavy to build).
    #[cfg(feature = "tract")]
    for (name, bytes) in [("tract_f32", pn::models::F32), ("tract_int8", pn::models::INT8)] {
        let t = pn::tract::TractModel::from_bytes(bytes, f.len())?;
        let ns = per(median_ns(a.iters, || {
            for _ in 0..REPS {
                black_box(t.run(black_box(&f)).expect("tract"));
            }
        }));
        rows.push((name, "tract".into(), ns));
    }
    let own = rows.iter().filter(|r| r.0 == "own_int8").map(|r| r.2).fold(f64::INFINITY, f64::min);
    let tract = rows.iter().filter(|r| r.0.starts_with("tract")).map(|r| r.2).fold(f64::INFINITY, f64::min);
    let vs_tract = |ns: f64| tract.is_finite().then(|| tract / ns);
    if !a.json {
        println!("precision predictor ({}x{} features, {}-input MLP), ns per frame:", a.width, a.height, f.len());
    }
    for (engine, level, ns) in rows {
        if a.json {
            println!(
                "{}",
                serde_json::json!({
                    "bench": "predict", "engine": engine, "level": level, "width": a.width, "height": a.height,
                    "median_ns": ns, "speedup_vs_faster_tract": vs_tract(ns),
                    "features_plus_own_int8_ns": features_ns + own,
                })
            );
        } else {
            match vs_tract(ns) {
                Some(x) => println!("{engine:<12} {level:<8} {ns:>10.0} ns   x{x:.1} vs the faster tract"),
                None => println!("{engine:<12} {level:<8} {ns:>10.0} ns   (built without the tract feature)"),
            }
        }
    }
    if !a.json {
        println!("features + own int8: {:.0} ns per frame", features_ns + own);
    }
    Ok(())
}

fn bytemuck_f32(v: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding or invalid bit patterns as bytes; the length covers exactly the
    // same memory and u8 has alignment 1.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// Presets from fastest to slowest: x264/x265 names (SVT-AV1 maps them to its numbers, see
/// `depthcast_codec::backend::svt_preset`).
const PRESETS: [&str; 6] = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"];

/// Frames `bench --presets` encodes before it times (the first keyframe's GOP, warm).
const WARM: usize = 10;

/// The `"bench":"preset"` lines: the built-in scene's frames (a moving camera, CBR at each
/// `--mbps` at 720p30 scaled to the frame size, GOP 30) packed and encoded by each software encoder
/// at each preset with one thread; the mean time per frame after the first keyframe's GOP is warm,
/// and the slowest preset of each that fits `--budget-ms` with every faster one.
fn bench_presets(a: &Args) -> anyhow::Result<()> {
    use depthcast::sweep::config::scale_bitrates;
    const FRAMES: usize = 40;
    let frames: Vec<DepthImage> =
        (0..FRAMES).map(|i| testdata::game_scene(a.width, a.height, i as f32 / 30.0)).collect();
    let (near, far) =
        tight_range(&frames[0].view(), 0.05).ok_or_else(|| anyhow::anyhow!("test frame has no valid depth"))?;
    anyhow::ensure!(
        !a.mbps.is_empty() && a.mbps.iter().all(|m| m.is_finite() && *m > 0.0),
        "--mbps: positive bitrates, Mbit/s"
    );
    if !a.json {
        println!(
            "{}x{} built-in scene, CBR, one thread, mean of frames {WARM}..{FRAMES}; budget {} ms/frame",
            a.width, a.height, a.budget_ms
        );
        println!(
            "{:<8} {:<9} {:>10} {:>8} {:<10} {:>8} {:>7}",
            "format", "frame", "size", "kbit/s", "preset", "ms", "budget"
        );
    }
    for bitrate in scale_bitrates(&a.mbps, a.width, a.height, 30.0) {
        bench_presets_at(a, &frames, (near, far), bitrate)?;
    }
    Ok(())
}

/// `bench --presets` at one bitrate: every format, both frame shapes, every preset.
fn bench_presets_at(a: &Args, frames: &[DepthImage], (near, far): (f32, f32), bitrate: u64) -> anyhow::Result<()> {
    use depthcast_codec::{EncoderSettings, Format, Refresh};
    use depthcast_packing::PackingConfig;
    use depthcast_stream::{DepthEncoder, FrameMeta};
    for format in Format::ALL {
        let mut settings = EncoderSettings::new(format.codec, a.width, a.height);
        settings.bit_depth = format.bits;
        settings.bitrate = bitrate;
        settings.refresh = Refresh::Gop(30);
        settings.force_software = true;
        settings.threads = 1;
        if let Err(why) = format.encoder(&settings) {
            eprintln!("{format}: not timed: {why}");
            continue;
        }
        let b = format.bits.bits();
        let configs =
            [("one plane", PackingConfig::luma(format.bits)), ("stacked", PackingConfig::vbp(b + 8, VbpLayout::Luma))];
        for (kind, config) in configs {
            let (fw, fh) = config.frame_size(a.width, a.height, format.bits);
            let (mut within, mut all_fit) = (None, true);
            for preset in PRESETS {
                settings.preset = preset.to_string();
                let mut enc = DepthEncoder::new(settings.clone(), &config, a.width, a.height, None)?;
                let mut spent = std::time::Duration::ZERO;
                for (i, f) in frames.iter().enumerate() {
                    let meta = FrameMeta { frame_index: i as u32, ..FrameMeta::default() };
                    let t = Instant::now();
                    black_box(enc.encode(&f.view(), &config, near, far, &meta)?);
                    if i >= WARM {
                        spent += t.elapsed();
                    }
                }
                enc.finish()?;
                let ms = spent.as_secs_f64() * 1e3 / (frames.len() - WARM) as f64;
                let fits = ms <= a.budget_ms;
                // The slowest preset that fits with every faster one.
                all_fit &= fits;
                if all_fit {
                    within = Some(preset);
                }
                if a.json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "bench": "preset", "format": format.id(), "frame": kind, "width": fw, "height": fh,
                            "bitrate": bitrate, "preset": preset, "ms_per_frame": ms, "budget_ms": a.budget_ms, "within": fits,
                        })
                    );
                } else {
                    let size = format!("{fw}x{fh}");
                    let mark = if fits { "yes" } else { "no" };
                    let kbps = bitrate / 1000;
                    println!(
                        "{:<8} {:<9} {:>10} {:>8} {:<10} {:>8.2} {:>7}",
                        format.id(),
                        kind,
                        size,
                        kbps,
                        preset,
                        ms,
                        mark
                    );
                }
            }
            if !a.json {
                let w = within.map_or("none".to_string(), str::to_string);
                println!(
                    "{:<8} {:<9} {:>10} {:>8} slowest preset within {} ms: {w}",
                    format.id(),
                    kind,
                    "",
                    bitrate / 1000,
                    a.budget_ms
                );
            }
        }
    }
    Ok(())
}
