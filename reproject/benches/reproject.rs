//! `Reprojector::reproject` of a 1280x720 game-like RGB-D frame (one thread) to a pose one frame
//! of camera motion away (5 cm sideways, 0.6° of yaw), and to the same pose, with a copy of the
//! colour frame as the memory-bound floor.
//!
//! `cargo bench -p depthcast-reproject` (about 20 seconds).
#![allow(missing_docs, reason = "criterion_group! defines an undocumented pub fn")]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use depthcast_packing::{CameraBlock, CameraPose, Intrinsics, RgbImage, testdata};
use depthcast_reproject::{ReprojectSettings, Reprojector};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

fn bench(c: &mut Criterion) {
    let depth = testdata::game_scene(WIDTH, HEIGHT, 0.4);
    let data = (0..WIDTH * HEIGHT * 3).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let colour = RgbImage { width: WIDTH, height: HEIGHT, data };
    let source = CameraBlock {
        frame_index: 0,
        pose: CameraPose { position: [0.0, 1.6, 0.0], ..CameraPose::default() },
        intrinsics: Intrinsics::from_fov_y(60f32.to_radians(), WIDTH, HEIGHT, 0.1),
    };
    let (s, co) = (0.005f32).sin_cos();
    let moved = CameraPose { position: [0.05, 1.6, 0.0], rotation: [0.0, s, 0.0, co] };
    let mut group = c.benchmark_group("reproject_1280x720");
    group.throughput(Throughput::Elements(u64::from(WIDTH * HEIGHT)));
    group.sample_size(30).measurement_time(Duration::from_secs(4));
    let mut out = RgbImage { width: 0, height: 0, data: Vec::new() };
    let mut r = Reprojector::new(ReprojectSettings::default());
    group.bench_function("copy_colour", |b| b.iter(|| out.data.clone_from(black_box(&colour.data))));
    group.bench_function("same_pose", |b| {
        b.iter(|| r.reproject(black_box(&colour), &depth, &source, &source.pose, &mut out))
    });
    group.bench_function("one_frame_moved", |b| {
        b.iter(|| r.reproject(black_box(&colour), &depth, &source, &moved, &mut out))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
