//! Receives a depth stream with `DepthReceiverPlugin` and shows it: prints stats every second and
//! writes the newest depth in false colour to `received.png` (near blue, far red, invalid black).
//!
//! ```sh
//! cargo run --release --example bevy_receiver -- udp://127.0.0.1:5600 20
//! ```
//! Arguments: URL, seconds to run (default 20). Headless: the depth also lives in
//! `ReceivedDepth::image` (`R32Float`, metres) for an app's own materials.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use depthcast::plugin::{DepthReceiverPlugin, ReceivedDepth};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args.first().cloned().unwrap_or_else(|| "udp://127.0.0.1:5600".into());
    let secs: f64 = args.get(1).map_or(Ok(20.0), |s| s.parse())?;
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, AssetPlugin::default()))
        .init_asset::<Image>()
        .add_plugins(DepthReceiverPlugin { url: url.clone(), ..Default::default() });
    println!("receiving {url} for {secs} s");
    let start = Instant::now();
    let mut last = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        app.update();
        std::thread::sleep(Duration::from_millis(5));
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            let d = app.world().resource::<ReceivedDepth>();
            println!(
                "{} frames, {} gaps, {} connections, frame {:?}, {} bytes, {:?}",
                d.frames,
                d.gaps,
                d.connections,
                d.params.map(|p| p.frame_index),
                d.bytes,
                d.last_error
            );
            if d.frames > 0 {
                write_png(&d.depth, "received.png")?;
            }
        }
    }
    Ok(())
}

fn write_png(depth: &depthcast::packing::DepthImage, path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let valid = depth.data.iter().copied().filter(|z| z.is_finite() && *z > 0.0);
    let (lo, hi) = valid.fold((f32::INFINITY, 0f32), |(l, h), z| (l.min(z), h.max(z)));
    let img = image::RgbImage::from_fn(depth.width, depth.height, |x, y| {
        let z = depth.data[(y * depth.width + x) as usize];
        if !(z.is_finite() && z > 0.0) {
            return image::Rgb([0, 0, 0]);
        }
        let t = ((z - lo) / (hi - lo).max(1e-6)).clamp(0.0, 1.0);
        image::Rgb([(255.0 * t) as u8, (255.0 * (1.0 - (2.0 * t - 1.0).abs())) as u8, (255.0 * (1.0 - t)) as u8])
    });
    img.save(path)?;
    Ok(())
}
