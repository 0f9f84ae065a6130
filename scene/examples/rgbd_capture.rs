//! Colour + depth + camera per frame from the headless renderer, timed: renders the built-in room
//! at 1280x720 (Mesa's software Vulkan works), times `SceneRenderer::next_frame` (depth only) and
//! `SceneRenderer::next_rgbd` (depth, GPU colour capture, pairing), prints the readback sizes, and
//! writes one captured colour frame, converted back to RGB with `RgbImage::from_yuv420`, as a PNG.
//!
//! ```text
//! WGPU_BACKEND=vulkan cargo run --release -p depthcast-scene --example rgbd_capture -- [out.png] [frames]
//! ```

use std::time::Instant;

use depthcast_packing::{PixelFormat, RgbImage};
use depthcast_scene::{BUILTIN_SCENE, SceneRenderConfig, SceneRenderer};

fn config(frames: u32, colour: bool) -> SceneRenderConfig {
    let mut cfg = SceneRenderConfig::new(BUILTIN_SCENE);
    (cfg.width, cfg.height, cfg.frames, cfg.colour) = (1280, 720, frames, colour);
    cfg
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "colour-capture.png".into());
    let frames: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(30);

    let mut depth_only = SceneRenderer::new(config(frames, false))?;
    let t = Instant::now();
    let mut n = 0;
    while let Some(f) = depth_only.next_frame()? {
        depth_only.recycle(f);
        n += 1;
    }
    let depth_fps = f64::from(n) / t.elapsed().as_secs_f64();
    drop(depth_only);

    let mut rgbd = SceneRenderer::new(config(frames, true))?;
    let t = Instant::now();
    let mut saved = None;
    let mut n = 0;
    while let Some(c) = rgbd.next_rgbd()? {
        if c.frame == frames / 2 {
            saved = Some(c);
        }
        n += 1;
    }
    let rgbd_fps = f64::from(n) / t.elapsed().as_secs_f64();

    let colour_bytes = PixelFormat::Yuv420p.frame_bytes(1280, 720);
    let depth_bytes = 16 + 720 * 1280usize.next_multiple_of(64) * 4;
    println!("1280x720, {frames} frames of the built-in room:");
    println!("  next_frame (depth only): {depth_fps:.1} frames/s");
    println!("  next_rgbd (depth + colour): {rgbd_fps:.1} frames/s");
    println!("  readback per frame: colour {colour_bytes} bytes (+16 header), depth {depth_bytes} bytes");
    if let Some(c) = saved {
        let rgb = RgbImage::from_yuv420(&c.colour, c.depth.width, c.depth.height);
        image::save_buffer(&out, &rgb.data, rgb.width, rgb.height, image::ExtendedColorType::Rgb8)?;
        let p = c.camera.pose.position;
        println!("  frame {} (camera at {:.2}, {:.2}, {:.2}) written to {out}", c.frame, p[0], p[1], p[2]);
    }
    Ok(())
}
