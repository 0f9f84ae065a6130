//! `depthcast demo`: the main job. Streams a built-in moving depth scene from a sender to a
//! receiver over loopback UDP and writes `demo-out/` (see `depthcast::demo`).

use std::path::PathBuf;

use depthcast::demo::{DemoOptions, DemoSummary};
use depthcast::sweep::config::PackingConfig;
use depthcast_packing::{BitDepth, VbpLayout};

/// Options of `depthcast demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Output folder.
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    /// Depth map width.
    #[arg(long, default_value_t = 640)]
    width: u32,
    /// Depth map height.
    #[arg(long, default_value_t = 360)]
    height: u32,
    /// Frames to stream (at 30 fps).
    #[arg(long, default_value_t = 90)]
    frames: u32,
    /// Target bitrate in Mbit/s.
    #[arg(long, default_value_t = 1.0)]
    mbps: f64,
    /// VBP precision (low bits in a second luma half, high plane favoured by a region of interest).
    #[arg(long, default_value_t = 14)]
    precision: u8,
    /// Skip the 8-bit luma-only baseline stream.
    #[arg(long)]
    no_baseline: bool,
    /// Send as fast as possible instead of in real time.
    #[arg(long)]
    fast: bool,
}

fn print(s: &DemoSummary) {
    println!(
        "  {:<34} {} -> {}: {}/{} frames, {:.2} Mbit/s (target {:.2}), MAE {:.2} mm, p99 {:.2} mm, latency {:.1} ms",
        s.packing,
        s.encoder,
        s.url,
        s.frames_received,
        s.frames_sent,
        s.achieved_bps / 1e6,
        s.target_bps as f64 / 1e6,
        s.mean_mae_mm,
        s.mean_p99_mm,
        s.median_latency_ms
    );
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    let packing = PackingConfig { roi_high: Some(-0.8), ..PackingConfig::vbp(a.precision, VbpLayout::Luma) };
    let base = DemoOptions {
        width: a.width,
        height: a.height,
        fps: 30,
        frames: a.frames,
        bitrate: (a.mbps * 1e6) as u64,
        packing,
        out: a.out.clone(),
        realtime: !a.fast,
    };
    println!(
        "depthcast demo: {} frames of a {}x{} procedural game scene, sender -> loopback UDP (MPEG-TS, H.264) -> receiver",
        a.frames, a.width, a.height
    );
    let main = depthcast::demo::run(&base)?;
    print(&main);
    let mut summaries = vec![main.clone()];
    if !a.no_baseline {
        let b =
            DemoOptions { packing: PackingConfig::luma(BitDepth::Eight), out: a.out.join("baseline-luma8"), ..base };
        let s = depthcast::demo::run(&b)?;
        print(&s);
        println!("  {} error / 8-bit luma error: {:.3}", main.packing, main.mean_mae_mm / s.mean_mae_mm);
        summaries.push(s);
    }
    std::fs::write(a.out.join("summary.json"), serde_json::to_string_pretty(&summaries)?)?;
    println!("wrote {0}/side_by_side.png, {0}/frames.csv, {0}/summary.json", a.out.display());
    Ok(())
}
