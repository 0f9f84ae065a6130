//! The RGB-D reprojection evaluation end to end on a small ray-traced scene (the boxes and sphere
//! of `depthcast_packing::testdata`, textured in world space so that every view agrees), through
//! real x264 encodes of colour and depth, the probe, decoding, reprojection and scoring.

use depthcast_packing::camera::rotate;
use depthcast_packing::testdata::{ray_box, ray_sphere};
use depthcast_packing::{BitDepth, CameraBlock, CameraPose, DepthImage, Intrinsics, RgbImage};
use depthcast_sweep::encode::RunOptions;
use depthcast_sweep::rgbd::{RgbdData, RgbdOptions, RgbdSource, run};

const W: u32 = 192;
const H: u32 = 108;

/// Colour and view depth of the scene seen from `pose` (sky: depth 0, colour by direction).
fn render(pose: &CameraPose, k: &Intrinsics) -> (RgbImage, DepthImage) {
    let mut rgb = RgbImage { width: W, height: H, data: Vec::with_capacity((3 * W * H) as usize) };
    let mut depth = DepthImage::new(W, H);
    let eye = pose.position;
    for v in 0..H {
        for u in 0..W {
            // Camera-space ray with forward component 1: the hit distance is the view depth.
            let c = [(u as f32 + 0.5 - k.cx) / k.fx, (k.cy - (v as f32 + 0.5)) / k.fy, -1.0];
            let dir = rotate(pose.rotation, c);
            let mut best = (f32::INFINITY, 0usize);
            let mut hit = |t: Option<f32>, id: usize| {
                if let Some(t) = t.filter(|&t| t > 1e-3 && t < best.0) {
                    best = (t, id);
                }
            };
            if dir[1] < 0.0 {
                hit(Some(-eye[1] / dir[1]).filter(|&t| eye[2] + t * dir[2] > -20.0), 1);
            }
            if dir[2] < 0.0 {
                let t = (-12.0 - eye[2]) / dir[2];
                hit(Some(t).filter(|&t| eye[1] + t * dir[1] < 4.0), 2);
            }
            hit(ray_box(eye, dir, [-2.5, 0.0, -6.0], [-1.2, 1.0, -4.8]), 3);
            hit(ray_box(eye, dir, [1.5, 0.0, -9.0], [2.7, 2.0, -7.5]), 4);
            hit(ray_sphere(eye, dir, [0.4, 0.7, -3.5], 0.7), 5);
            let (t, id) = best;
            let px = if id == 0 {
                let s = (dir[1] / (dir[0] * dir[0] + dir[1] * dir[1] + 1.0).sqrt()).clamp(0.0, 1.0);
                [(90.0 + 100.0 * s) as u8, (140.0 + 80.0 * s) as u8, 235]
            } else {
                depth.data[(v * W + u) as usize] = t;
                let p = [eye[0] + t * dir[0], eye[1] + t * dir[1], eye[2] + t * dir[2]];
                let check = ((p[0] * 2.0).floor() + (p[1] * 2.0).floor() + (p[2] * 2.0).floor()) as i32 & 1;
                let base: [f32; 3] = [
                    [0.0; 3],
                    [150.0, 120.0, 90.0],
                    [200.0, 200.0, 190.0],
                    [200.0, 60.0, 50.0],
                    [60.0, 170.0, 70.0],
                    [230.0, 200.0, 40.0],
                ][id];
                let f = if check == 0 { 1.0 } else { 0.55 };
                base.map(|c| (c * f) as u8)
            };
            rgb.data.extend(px);
        }
    }
    for z in &mut depth.data {
        if !z.is_finite() {
            *z = 0.0;
        }
    }
    (rgb, depth)
}

/// `n` frames from cameras at `pose(i)`.
fn sequence(name: &str, n: u32, pose: impl Fn(u32) -> CameraPose) -> RgbdData {
    let k = Intrinsics::from_fov_y(60f32.to_radians(), W, H, 0.05);
    let (mut depth, mut colour, mut cameras) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let p = pose(i);
        let (rgb, d) = render(&p, &k);
        depth.push(d);
        colour.push(rgb.to_yuv420(BitDepth::Eight));
        cameras.push(CameraBlock { frame_index: i, pose: p, intrinsics: k });
    }
    RgbdData::new(name.into(), 30.0, depth, colour, cameras).unwrap()
}

fn options(out: &std::path::Path) -> RgbdOptions {
    RgbdOptions {
        out: out.to_path_buf(),
        totals: vec![1_500_000],
        shares: vec![0.2],
        offsets: vec![1, 3],
        run: RunOptions { gop: 30, ..RunOptions::default() },
        threads: 2,
        max_frames: None,
        progress: false,
    }
}

/// JSON values equal up to a relative 1e-12 on numbers.
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn evaluation_end_to_end_holds_its_invariants() {
    let out = std::env::temp_dir().join(format!("depthcast-rgbd-eval-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    // A static camera: reprojection to the same pose must give the decoded colour back, so
    // (d) scores exactly as (a). A camera strafing 6 cm per frame and turning slowly: the stale
    // frame is wrong, reprojection recovers most of it.
    let still = sequence("still", 8, |_| CameraPose { position: [0.0, 1.6, 0.0], ..CameraPose::default() });
    let moving = sequence("moving", 16, |i| {
        let yaw = 0.01 * i as f32;
        CameraPose {
            position: [-0.5 + 0.06 * i as f32, 1.6, 0.0],
            rotation: [0.0, (yaw / 2.0).sin(), 0.0, (yaw / 2.0).cos()],
        }
    });
    let sources = vec![RgbdSource::Data(Box::new(still)), RgbdSource::Data(Box::new(moving))];
    let opts = options(&out);
    let recs = run(sources.clone(), &opts).unwrap();
    assert_eq!(recs.len(), 2);

    let still = &recs[0];
    assert_eq!(still.cell.sequence, "still");
    assert_eq!(still.rows.len(), (8 - 1) + (8 - 3));
    for r in &still.rows {
        assert_eq!(r.psnr_db[3], r.psnr_db[0], "identity motion changed the source-depth image: {r:?}");
        assert_eq!(r.ssim[3], r.ssim[0]);
        assert_eq!(r.filled[2], 0.0);
    }

    let moving = &recs[1];
    let c = &moving.cell;
    assert_eq!(c.lost, [0, 0, 0]);
    assert!(c.depth_mae_mm.iter().all(|m| m.is_finite() && *m >= 0.0), "{c:?}");
    assert_eq!(c.target_bps, [1_200_000, 300_000]);
    for (actual, target) in c.actual_bps.iter().zip([1_200_000.0, 300_000.0, 300_000.0]) {
        assert!(*actual > 0.3 * target && *actual < 2.0 * target, "{c:?}");
    }
    assert!(!c.probe_mae_mm.is_empty() && c.probe_mae_mm.iter().any(|(id, _)| *id == c.auto_config));
    for o in &c.offsets {
        let [a, b, _, d] = o.psnr_db;
        assert!(d > a + 1.0, "source-depth reprojection should beat the stale frame: {o:?}");
        assert!(b > a, "auto-depth reprojection should beat the stale frame: {o:?}");
        assert!(o.ssim[3] > o.ssim[0], "{o:?}");
        // The larger offset moves further: the stale frame is worse.
        assert!(o.psnr_db.iter().all(|p| p.is_finite()));
    }
    assert!(c.offsets[1].psnr_db[0] < c.offsets[0].psnr_db[0], "{:?}", c.offsets);

    for f in ["summary.json", "report.md", "frames.csv", "cells.csv", "plots/psnr_b_vs_share_all.png"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + still.rows.len() + moving.rows.len());

    // Resuming reads every cell back from disk: the same numbers.
    let again = run(sources, &opts).unwrap();
    for (x, y) in recs.iter().zip(&again) {
        // Compared as JSON (the still scene's gain ratios are NaN, which is not equal to itself),
        // number by number to 1e-12: serde_json's default float parser may be off by an ulp.
        let (a, b) = (serde_json::to_value(x).unwrap(), serde_json::to_value(y).unwrap());
        assert!(same(&a, &b), "resumed cell differs:\n{a}\n{b}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn rgbd_sequences_load_from_disk_as_written() {
    use depthcast_sequence::{DepthEncoding, SequenceWriter};
    let dir = std::env::temp_dir().join(format!("depthcast-rgbd-seq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let seq = sequence("disk", 3, |i| CameraPose { position: [0.1 * i as f32, 1.6, 0.0], ..CameraPose::default() });
    let mut w = SequenceWriter::create(&dir, W, H, 30.0, DepthEncoding::ExrF32).unwrap();
    for i in 0..3 {
        w.push_rgbd(&seq.depth.frames[i], None, Some(&seq.colour[i]), Some(&seq.cameras[i])).unwrap();
    }
    w.finish().unwrap();
    let back = RgbdData::load(&dir, Some(2)).unwrap();
    assert_eq!(back.colour, seq.colour[..2]);
    assert_eq!(back.cameras, seq.cameras[..2]);
    assert_eq!(back.depth.frames[..], seq.depth.frames[..2]);
    // A depth-only sequence is refused with a hint.
    let plain = dir.join("plain");
    let mut w = SequenceWriter::create(&plain, W, H, 30.0, DepthEncoding::ExrF32).unwrap();
    w.push(&seq.depth.frames[0], None).unwrap();
    w.finish().unwrap();
    let e = RgbdData::load(&plain, None).unwrap_err().to_string();
    assert!(e.contains("--colour"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
