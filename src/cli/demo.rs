//! `depthcast demo`: the main job. Renders the built-in room with Bevy (headless), streams its
//! depth through the sender plugin over loopback UDP to the receiver plugin, compares with an
//! 8-bit luma-only stream of the same frames, and writes `demo-out/` (see `depthcast::demo`).

use std::path::PathBuf;

use depthcast::demo::{DemoOptions, DemoSummary};
use depthcast_packing::{BitDepth, PackingConfig, VbpLayout};

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
    /// Target bitrate: `1M`, `500k`, `2000000` (bit/s).
    #[arg(long, value_parser = super::parse_bitrate, default_value = "1M")]
    bitrate: u64,
    /// The old spelling of `--bitrate`, in Mbit/s.
    #[arg(long, hide = true, conflicts_with = "bitrate")]
    mbps: Option<f64>,
    /// VBP precision (low bits in a second luma half, high plane favoured by a region of interest).
    #[arg(long, default_value_t = 16)]
    precision: u8,
    /// Quality offset of the high plane's region of interest (FFmpeg's −1..=1, negative = more
    /// bits; libx264 scales it by 51 QP); 0 = no region of interest.
    #[arg(long, default_value_t = -0.4, allow_negative_numbers = true)]
    roi: f32,
    /// Skip the 8-bit luma-only baseline stream.
    #[arg(long)]
    no_baseline: bool,
    /// Send the baseline as fast as possible instead of in real time.
    #[arg(long)]
    fast: bool,
    /// Use the CPU procedural scene instead of Bevy for every stream (no GPU adapter needed).
    #[arg(long)]
    cpu_scene: bool,
    /// Let precision-net choose the Bevy stream's packing: the start-up probe (real encodes of
    /// the network's shortlist and 8-bit luma over the first 15 frames; the stream starts after
    /// it), then the winner. Off by default: the fixed configuration is the sweeps' best.
    #[arg(long)]
    auto: bool,
    /// With --auto: no start-up probe; the network chooses per frame (switching at keyframes).
    #[arg(long, requires = "auto")]
    no_probe: bool,
    /// Render this glTF scene (orbiting it) instead of the built-in room.
    #[arg(long, conflicts_with = "cpu_scene")]
    scene: Option<PathBuf>,
    /// Software encoder threads of the Bevy stream's sender (0: one per five million pixels of the frame).
    #[arg(long, default_value_t = 0)]
    encoder_threads: u32,
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
    anyhow::ensure!((-1.0..=1.0).contains(&a.roi), "--roi must be within -1..=1, not {}", a.roi);
    let packing =
        PackingConfig { roi_high: (a.roi != 0.0).then_some(a.roi), ..PackingConfig::vbp(a.precision, VbpLayout::Luma) };
    let mut base = DemoOptions {
        width: a.width,
        height: a.height,
        fps: 30,
        frames: a.frames,
        bitrate: a.mbps.map_or(a.bitrate, |m| (m * 1e6) as u64),
        packing,
        out: a.out.clone(),
        realtime: !a.fast,
        auto: a.auto,
        probe: !a.no_probe,
        scene: a.scene.clone(),
        encoder_threads: a.encoder_threads,
        source: None,
    };
    let main = if a.cpu_scene {
        println!(
            "depthcast demo: {} frames of a {}x{} procedural scene (CPU), sender -> loopback UDP (MPEG-TS, H.264) -> receiver",
            a.frames, a.width, a.height
        );
        depthcast::demo::run(&base)?
    } else {
        println!(
            "depthcast demo: {} frames of {} rendered by Bevy at {}x{} (headless), DepthSenderPlugin -> \
             loopback UDP (MPEG-TS, H.264) -> DepthReceiverPlugin",
            a.frames,
            a.scene.as_ref().map_or_else(|| "the built-in room".to_string(), |p| p.display().to_string()),
            a.width,
            a.height
        );
        let run = depthcast::demo::bevy_stream::run(&base)?;
        base.source = Some(std::sync::Arc::new(run.source));
        run.summary
    };
    print(&main);
    let mut summaries = vec![main.clone()];
    if !a.no_baseline {
        println!("baseline: the same frames as 8-bit luma-only, packed on the CPU, same bitrate and transport");
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
