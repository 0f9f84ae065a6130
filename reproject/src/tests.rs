use depthcast_packing::{CameraBlock, CameraPose, DepthImage, Intrinsics, RgbImage, testdata};

use super::*;

/// A camera with round focal lengths, so that plane shifts are whole pixels.
fn camera(w: u32, h: u32, pose: CameraPose) -> CameraBlock {
    let intrinsics =
        Intrinsics { width: w, height: h, fx: 100.0, fy: 100.0, cx: w as f32 / 2.0, cy: h as f32 / 2.0, near: 0.1 };
    CameraBlock { frame_index: 7, pose, intrinsics }
}

/// A different colour for every pixel (low bits of x and y, and a hash).
fn pattern(w: u32, h: u32) -> RgbImage {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&[x as u8, y as u8, (x.wrapping_mul(31) ^ y.wrapping_mul(17)) as u8]);
        }
    }
    RgbImage { width: w, height: h, data }
}

fn plane(w: u32, h: u32, z: f32) -> DepthImage {
    DepthImage { width: w, height: h, data: vec![z; (w * h) as usize] }
}

fn px(img: &RgbImage, x: u32, y: u32) -> [u8; 3] {
    let i = 3 * (y * img.width + x) as usize;
    [img.data[i], img.data[i + 1], img.data[i + 2]]
}

fn run(colour: &RgbImage, depth: &DepthImage, source: &CameraBlock, target: &CameraPose) -> (RgbImage, ReprojectStats) {
    let mut out = RgbImage { width: 0, height: 0, data: Vec::new() };
    let stats = Reprojector::new(ReprojectSettings::default()).reproject(colour, depth, source, target, &mut out);
    (out, stats)
}

fn yaw(angle: f32) -> [f32; 4] {
    let (s, c) = (angle / 2.0).sin_cos();
    [0.0, s, 0.0, c]
}

#[test]
fn identity_pose_returns_the_source_exactly() {
    let (w, h) = (97, 61);
    let colour = pattern(w, h);
    let depth = testdata::game_scene(w, h, 0.3);
    assert!(depth.data.iter().any(|d| !depthcast_packing::is_valid_depth(*d)), "the scene has sky");
    for pose in [
        CameraPose::default(),
        CameraPose { position: [1.5, -0.25, 3.0], rotation: yaw(0.7) },
        CameraPose { position: [0.0, 2.0, 0.0], rotation: [0.2, 0.3, -0.1, (1.0f32 - 0.14).sqrt()] },
    ] {
        let source = camera(w, h, pose);
        let (out, stats) = run(&colour, &depth, &source, &pose);
        assert_eq!(out, colour, "{pose:?}");
        assert_eq!((stats.holes_filled, stats.stale, stats.splatted), (0, 0, u64::from(w * h)), "{pose:?}");
    }
}

#[test]
fn translating_past_a_fronto_parallel_plane_shifts_it_by_whole_pixels() {
    let (w, h) = (80, 50);
    let colour = pattern(w, h);
    let depth = plane(w, h, 4.0);
    let source = camera(w, h, CameraPose::default());
    // 0.2 m right at 4 m and f = 100 px: the image moves 5 px left.
    let (out, stats) =
        run(&colour, &depth, &source, &CameraPose { position: [0.2, 0.0, 0.0], ..CameraPose::default() });
    for y in 0..h {
        for x in 0..w - 5 {
            assert_eq!(px(&out, x, y), px(&colour, x + 5, y), "({x}, {y})");
        }
        // The revealed border columns take the nearest covered pixel of their row.
        for x in w - 5..w {
            assert_eq!(px(&out, x, y), px(&colour, w - 1, y), "({x}, {y})");
        }
    }
    assert_eq!(stats.holes_filled, u64::from(5 * h));
    // 0.08 m up at 4 m: the image moves 2 px down.
    let (out, _) = run(&colour, &depth, &source, &CameraPose { position: [0.0, 0.08, 0.0], ..CameraPose::default() });
    for y in 2..h {
        for x in 0..w {
            assert_eq!(px(&out, x, y), px(&colour, x, y - 2), "({x}, {y})");
        }
    }
    // 0.5 m back at 4 m: the image shrinks to 8/9 about the centre.
    let back = CameraPose { position: [0.0, 0.0, 0.5], ..CameraPose::default() };
    let (out, _) = run(&colour, &depth, &source, &back);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    for (x, y) in [(40u32, 25u32), (13, 7), (70, 44)] {
        let sx = cx + (x as f32 + 0.5 - cx) * 9.0 / 8.0;
        let sy = cy + (y as f32 + 0.5 - cy) * 9.0 / 8.0;
        assert_eq!(px(&out, x, y), px(&colour, sx as u32, sy as u32), "({x}, {y}) from ({sx}, {sy})");
    }
}

const RED: [u8; 3] = [255, 0, 0];

/// A red box 2 m away (x, y within ±0.4 m) over a blue-green wall 10 m away with a texture
/// that never contains red.
fn box_scene(w: u32, h: u32) -> (RgbImage, DepthImage, CameraBlock) {
    let source = camera(w, h, CameraPose::default());
    let mut colour = RgbImage { width: w, height: h, data: Vec::new() };
    let mut depth = DepthImage::new(w, h);
    let k = source.intrinsics;
    for y in 0..h {
        for x in 0..w {
            let [bx, by, _] = k.unproject(x, y, 2.0);
            let in_box = bx.abs() < 0.4 && by.abs() < 0.4;
            depth.data[(y * w + x) as usize] = if in_box { 2.0 } else { 10.0 };
            let rgb = if in_box { RED } else { [0, (x * 7 % 200) as u8, 55 + (y * 3 % 200) as u8] };
            colour.data.extend_from_slice(&rgb);
        }
    }
    (colour, depth, source)
}

/// The box's projected rectangle seen from `target` (pixel bounds, inclusive-exclusive).
fn box_rect(source: &CameraBlock, target: &CameraPose) -> (f32, f32, f32, f32) {
    let k = source.intrinsics;
    let corner = |x: f32, y: f32| k.project(target.to_camera(source.pose.to_world([x, y, -2.0]))).unwrap();
    let (a, b) = (corner(-0.4, 0.4), corner(0.4, -0.4));
    (a.0, a.1, b.0, b.1)
}

#[test]
fn revealed_background_is_filled_with_background_never_foreground() {
    let (w, h) = (160, 120);
    let (colour, depth, source) = box_scene(w, h);
    for target in [
        CameraPose { position: [0.3, 0.0, 0.0], ..CameraPose::default() },
        CameraPose { position: [-0.2, 0.15, 0.0], ..CameraPose::default() },
        CameraPose { position: [0.0, 0.0, -0.3], ..CameraPose::default() },
        CameraPose { position: [0.25, 0.0, 0.1], rotation: yaw(0.05) },
    ] {
        let (out, stats) = run(&colour, &depth, &source, &target);
        let (x0, y0, x1, y1) = box_rect(&source, &target);
        assert!(stats.holes_filled > 0, "{target:?}: something is revealed");
        for y in 0..h {
            for x in 0..w {
                let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
                let inside = cx > x0 + 1.0 && cx < x1 - 1.0 && cy > y0 + 1.0 && cy < y1 - 1.0;
                let outside = cx < x0 - 1.0 || cx > x1 + 1.0 || cy < y0 - 1.0 || cy > y1 + 1.0;
                let c = px(&out, x, y);
                assert!(!inside || c == RED, "{target:?}: ({x}, {y}) in the box is {c:?}");
                assert!(!outside || c[0] == 0, "{target:?}: ({x}, {y}) off the box is {c:?}");
            }
        }
    }
}

#[test]
fn invalid_depth_is_far_and_keeps_its_stale_colour() {
    let (w, h) = (64, 48);
    let colour = pattern(w, h);
    // Top half sky in every spelling of invalid; bottom half a floor-like plane 5 m away.
    let mut depth = plane(w, h, 5.0);
    let invalid = [0.0, f32::INFINITY, f32::NAN, -3.0, f32::NEG_INFINITY];
    for (i, d) in depth.data[..(w * h / 2) as usize].iter_mut().enumerate() {
        *d = invalid[i % invalid.len()];
    }
    let source = camera(w, h, CameraPose::default());
    let target = CameraPose { position: [0.25, 0.0, 0.0], ..CameraPose::default() };
    let (out, stats) = run(&colour, &depth, &source, &target);
    assert_eq!(stats.far_splats, u64::from(w * h / 2));
    // Sky is at infinity: a translation leaves it where it was.
    for y in 0..h / 2 {
        for x in 0..w {
            assert_eq!(px(&out, x, y), px(&colour, x, y), "sky ({x}, {y})");
        }
    }
    // The plane moved 5 px left and nothing of the sky covers it.
    for y in h / 2..h {
        for x in 0..w - 5 {
            assert_eq!(px(&out, x, y), px(&colour, x + 5, y), "plane ({x}, {y})");
        }
    }
    // A plane risen into the sky stays in front of it (the sky loses every depth test).
    let up = CameraPose { position: [0.0, -0.5, 0.0], ..CameraPose::default() };
    let (out, _) = run(&colour, &depth, &source, &up);
    for y in h / 2 - 10..h - 10 {
        for x in 0..w {
            assert_eq!(px(&out, x, y), px(&colour, x, y + 10), "({x}, {y})");
        }
    }
    // Turning the camera turns the sky: a yaw of one pixel's angle at the centre moves it by 1.
    let all_sky = DepthImage::new(w, h);
    let (out, stats) = run(&colour, &all_sky, &source, &CameraPose { rotation: yaw(-(0.01f32).atan()), ..target });
    assert_eq!(stats.far_splats, stats.splatted);
    assert_eq!(px(&out, w / 2, h / 2), px(&colour, w / 2 + 1, h / 2));
}

#[test]
fn points_behind_the_target_camera_are_dropped() {
    let (w, h) = (32, 24);
    let colour = pattern(w, h);
    let source = camera(w, h, CameraPose::default());
    // The camera walks 6 m forward through a plane 4 m away: nothing is in front of it.
    let target = CameraPose { position: [0.0, 0.0, -6.0], ..CameraPose::default() };
    let (out, stats) = run(&colour, &plane(w, h, 4.0), &source, &target);
    assert_eq!((stats.splatted, stats.stale), (0, u64::from(w * h)));
    assert_eq!(out, colour, "nothing to show: the stale frame");
}

#[test]
fn output_is_resized_and_buffers_are_reused() {
    let mut r = Reprojector::new(ReprojectSettings::default());
    let mut out = RgbImage { width: 3, height: 3, data: vec![1; 27] };
    for (w, h) in [(40, 30), (17, 9), (40, 30)] {
        let source = camera(w, h, CameraPose::default());
        let colour = pattern(w, h);
        let stats = r.reproject(&colour, &plane(w, h, 3.0), &source, &source.pose, &mut out);
        assert_eq!((out.width, out.height, out.data.len()), (w, h, (w * h * 3) as usize));
        assert_eq!(out, colour);
        assert_eq!(stats.pixels, u64::from(w * h));
    }
}
