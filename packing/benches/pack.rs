//! Pack and unpack of a 1920x1080 game-like depth frame, scalar vs the detected SIMD level, with a
//! copy of the input f32 frame in each group as the memory-bound floor.
//!
//! `cargo bench -p depthcast-packing` (about two minutes); `DEPTHCAST_CPU_LEVEL=scalar` lowers the
//! detected level.
#![allow(missing_docs, reason = "criterion_group! defines an undocumented pub fn")]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use depthcast_packing::{CpuLevel, DepthImage, PackParams, Packer, Scheme, VbpLayout, YuvFrame, testdata, tight_range};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;

/// The cases of `depthcast bench`: every scheme.
fn cases(near: f32, far: f32) -> Vec<(&'static str, PackParams)> {
    let mut v = vec![("luma", PackParams::new(Scheme::LumaOnly, 8, near, far, WIDTH, HEIGHT))];
    for (name, precision, layout) in [
        ("vbp-chroma-p12", 12, VbpLayout::Chroma),
        ("vbp-luma-p12", 12, VbpLayout::Luma),
        ("vbp-chroma-p16", 16, VbpLayout::Chroma),
        ("vbp-luma-p16", 16, VbpLayout::Luma),
    ] {
        let mut p = PackParams::new(Scheme::Vbp, precision, near, far, WIDTH, HEIGHT);
        p.layout = layout;
        v.push((name, p));
    }
    for (name, precision) in [("triangle-p12", 12), ("triangle-p16", 16)] {
        let mut p = PackParams::new(Scheme::Triangle, precision, near, far, WIDTH, HEIGHT);
        p.period = depthcast_packing::schemes::triangle::default_period(precision, p.bit_depth);
        v.push((name, p));
    }
    v.push(("hue", PackParams::new(Scheme::Hue, 0, near, far, WIDTH, HEIGHT)));
    v
}

fn as_bytes(v: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and every byte of it is initialised; u8 has alignment 1 and the
    // length covers exactly the same memory.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

fn bench(c: &mut Criterion) {
    let depth = testdata::game_scene(WIDTH, HEIGHT, 0.0);
    let view = depth.view();
    let (near, far) = tight_range(&view, 0.05).expect("the scene has valid depth");
    let src = as_bytes(&depth.data);
    let mut copy = vec![0u8; src.len()];
    let mut levels = vec![CpuLevel::Scalar];
    if CpuLevel::detect() != CpuLevel::Scalar {
        levels.push(CpuLevel::detect());
    }
    // The sender scans every frame for its range: the library's lane-parallel scan against a
    // plain loop (what it replaced), same data.
    {
        let mut g = c.benchmark_group("range/tight_range");
        g.throughput(Throughput::Bytes(src.len() as u64)).sample_size(20).measurement_time(Duration::from_secs(2));
        g.bench_function("plain_loop", |b| {
            b.iter(|| {
                let (mut lo, mut hi) = (f32::INFINITY, 0.0f32);
                for row in black_box(&view).rows() {
                    for &z in row {
                        if z > 0.0 && z < f32::INFINITY {
                            lo = lo.min(z);
                            hi = hi.max(z);
                        }
                    }
                }
                (lo, hi)
            })
        });
        g.bench_function("tight_range", |b| b.iter(|| tight_range(black_box(&view), 0.05)));
        g.finish();
    }
    // Every measured encode (the probes, the re-probe's rounds, the sweeps) takes a decoded
    // frame's error against its source: the full metrics against the mean error alone.
    {
        let mut decoded = depth.clone();
        for (k, z) in decoded.data.iter_mut().enumerate() {
            *z += 0.001 * (k % 7) as f32;
        }
        let d = decoded.view();
        let mut g = c.benchmark_group("metrics");
        g.throughput(Throughput::Bytes(src.len() as u64)).sample_size(20).measurement_time(Duration::from_secs(2));
        g.bench_function("compute", |b| {
            b.iter(|| depthcast_packing::Metrics::compute(black_box(&view), &d, near, far))
        });
        g.bench_function("mean_error", |b| {
            b.iter(|| depthcast_packing::Metrics::mean_error(black_box(&view), &d, far))
        });
        g.finish();
    }
    for (name, p) in cases(near, far) {
        let (fw, fh) = p.frame_size();
        let mut packed = YuvFrame::new(fw, fh, p.bit_depth);
        Packer::new(CpuLevel::Scalar).pack_into(&view, &p, &mut packed).expect("pack");
        for op in ["pack", "unpack"] {
            let mut g = c.benchmark_group(format!("{op}/{name}"));
            g.throughput(Throughput::Bytes(src.len() as u64))
                .sample_size(20)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2))
                .sampling_mode(SamplingMode::Flat);
            g.bench_function("memcpy", |b| {
                b.iter(|| copy.copy_from_slice(black_box(src)));
            });
            for &level in &levels {
                let mut packer = Packer::new(level);
                if op == "pack" {
                    let mut frame = YuvFrame::new(fw, fh, p.bit_depth);
                    g.bench_function(level.name(), |b| b.iter(|| packer.pack_into(black_box(&view), &p, &mut frame)));
                } else {
                    let mut out = DepthImage::new(WIDTH, HEIGHT);
                    g.bench_function(level.name(), |b| b.iter(|| packer.unpack_into(black_box(&packed), &p, &mut out)));
                }
            }
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
