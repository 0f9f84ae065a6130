//! `depthcast demo`: the main job. Renders the built-in room with Bevy (headless) while the
//! camera walks, streams its colour and depth as one RGB-D stream through the sender plugin over
//! loopback UDP to the receiver plugin, reprojects each received frame to the camera poses of the
//! next frames and scores what a player would see against what was rendered there; compares the
//! depth with an 8-bit luma-only stream of the same frames at the same depth bitrate; writes
//! `demo-out/` (see `depthcast::demo`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use depthcast::demo::{DemoOptions, DemoSummary, rgbd};
use depthcast_packing::{BitDepth, DepthImage, PackingConfig, VbpLayout};
use depthcast_stream::RgbdSettings;

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
    /// Total bitrate of colour and depth (of the depth alone with --depth-only or --cpu-scene):
    /// `4M`, `500k`, `2000000` (bit/s).
    #[arg(long, value_parser = super::parse_bitrate, default_value = "4M")]
    bitrate: u64,
    /// The depth's share of the bitrate (the colour gets the rest).
    #[arg(long, default_value_t = RgbdSettings::DEFAULT_DEPTH_SHARE)]
    depth_share: f32,
    /// Send depth only, no colour (the demo before RGB-D streams).
    #[arg(long)]
    depth_only: bool,
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
    /// With --auto: the sender's keyframe re-probe (`DepthSenderSettings::reprobe`): the probe
    /// measures the scheme and half-size sets, measures them again over each GOP as it is
    /// captured, and moves the stream to the best at keyframes. Depth-only streams.
    #[arg(long, requires = "auto", conflicts_with = "no_probe")]
    reprobe: bool,
    /// With --reprobe: after the first round, measure the stream's own configuration from the
    /// packets it sends rather than by an encode (`DepthSenderSettings::reprobe_from_stream`).
    #[arg(long, default_value_t = true, requires = "reprobe", action = clap::ArgAction::Set, value_name = "BOOL")]
    reprobe_from_stream: bool,
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

/// The reprojection offsets measured, in frames at 30 fps.
const OFFSETS: [u32; 3] = [1, 2, 3];

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!((-1.0..=1.0).contains(&a.roi), "--roi must be within -1..=1, not {}", a.roi);
    anyhow::ensure!(
        (0.01..=0.99).contains(&a.depth_share),
        "--depth-share must be within 0.01..=0.99, not {}",
        a.depth_share
    );
    let colour = !(a.depth_only || a.cpu_scene);
    anyhow::ensure!(!(a.reprobe && colour), "--reprobe is for depth-only streams (add --depth-only)");
    let packing =
        PackingConfig { roi_high: (a.roi != 0.0).then_some(a.roi), ..PackingConfig::vbp(a.precision, VbpLayout::Luma) };
    let mut base = DemoOptions {
        width: a.width,
        height: a.height,
        fps: 30,
        frames: a.frames,
        bitrate: a.mbps.map_or(a.bitrate, |m| (m * 1e6) as u64),
        colour,
        depth_share: a.depth_share,
        packing,
        out: a.out.clone(),
        realtime: !a.fast,
        auto: a.auto,
        probe: !a.no_probe,
        reprobe: a.reprobe,
        reprobe_from_stream: a.reprobe_from_stream,
        scene: a.scene.clone(),
        encoder_threads: a.encoder_threads,
        source: None,
    };
    let (main, indices, rgbd_run) = if a.cpu_scene {
        println!(
            "depthcast demo: {} frames of a {}x{} procedural scene (CPU), depth only, sender -> loopback UDP \
             (MPEG-TS, H.264) -> receiver",
            a.frames, a.width, a.height
        );
        (depthcast::demo::run(&base)?.summary, Vec::new(), None)
    } else {
        let what = if colour { "colour + depth (RGB-D, two tracks)" } else { "depth" };
        println!(
            "depthcast demo: {} frames of {} rendered by Bevy at {}x{} (headless), {what}: DepthSenderPlugin -> \
             loopback UDP (MPEG-TS, H.264) -> DepthReceiverPlugin",
            a.frames,
            a.scene.as_ref().map_or_else(|| "the built-in room".to_string(), |p| p.display().to_string()),
            a.width,
            a.height
        );
        if colour {
            println!(
                "  {:.2} Mbit/s in all: depth {:.0}% ({:.2} Mbit/s), colour {:.2} Mbit/s",
                base.bitrate as f64 / 1e6,
                100.0 * a.depth_share,
                base.bitrate as f64 * f64::from(a.depth_share) / 1e6,
                base.bitrate as f64 * f64::from(1.0 - a.depth_share) / 1e6
            );
        }
        let run = depthcast::demo::bevy_stream::run(&base)?;
        base.source = Some(std::sync::Arc::new(run.source));
        (run.summary, run.source_indices, run.rgbd)
    };
    print(&main);
    let mut baseline = None;
    let mut luma8: BTreeMap<u32, DepthImage> = BTreeMap::new();
    if !a.no_baseline {
        println!(
            "baseline: the same frames' depth as 8-bit luma-only, packed on the CPU, same depth bitrate and transport"
        );
        let b = DemoOptions {
            packing: PackingConfig::luma(BitDepth::Eight),
            out: a.out.join("baseline-luma8"),
            bitrate: main.target_bps,
            colour: false,
            ..base.clone()
        };
        let run = depthcast::demo::run(&b)?;
        print(&run.summary);
        println!("  {} error / 8-bit luma error: {:.3}", main.packing, main.mean_mae_mm / run.summary.mean_mae_mm);
        // The baseline numbers its frames 0.. in capture order; the RGB-D stream by capture index.
        luma8 = run
            .received
            .into_iter()
            .filter_map(|(i, d)| Some((if indices.is_empty() { i } else { *indices.get(i as usize)? }, d)))
            .collect();
        baseline = Some(run.summary);
    }
    let depth_only = serde_json::json!({
        "stream": main,
        "baseline_luma8": baseline,
        "error_vs_luma8": baseline.as_ref().map(|b| main.mean_mae_mm / b.mean_mae_mm),
    });
    let summary = match &rgbd_run {
        Some(r) => reprojection_summary(&a, &base, r, &luma8, &main, depth_only)?,
        None => serde_json::json!({ "depth_only": depth_only }),
    };
    std::fs::write(a.out.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    let pictures = if rgbd_run.is_some() { "rgbd.png, {0}/reprojection.md, {0}/" } else { "" };
    println!(
        "wrote {0}/{1}side_by_side.png, {0}/frames.csv, {0}/summary.json",
        a.out.display(),
        pictures.replace("{0}", &a.out.display().to_string())
    );
    Ok(())
}

/// Scores the received RGB-D frames reprojected to later poses, prints and writes the table and
/// the picture, and returns the summary.
fn reprojection_summary(
    a: &Args,
    base: &DemoOptions,
    r: &depthcast::demo::bevy_stream::RgbdRun,
    luma8: &BTreeMap<u32, DepthImage>,
    main: &DemoSummary,
    depth_only: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    println!("reprojection: each received frame shown at the camera poses of the next {} frames", OFFSETS.len());
    let (rows, picture) = rgbd::evaluate(&r.received, &r.sent, luma8, &OFFSETS);
    let table = rgbd::table(&rows);
    print!("{table}");
    let header = format!(
        "# depthcast demo: what the player sees\n\n{}x{}, {} Mbit/s in all, depth share {:.0}% (depth {} as sent; \
         colour H.264). (a) the stale received colour frame; (b) reprojected with the received depth; (c) \
         reprojected with 8-bit luma depth at the same depth bitrate; (d) reprojected with the source depth \
         (the method's ceiling). Ground truth: the frame rendered at the later pose.\n\n",
        a.width,
        a.height,
        base.bitrate as f64 / 1e6,
        100.0 * a.depth_share,
        main.packing
    );
    std::fs::write(a.out.join("reprojection.md"), header + &table)?;
    if let Some(p) = &picture {
        rgbd::write_picture(&a.out.join("rgbd.png"), p)?;
    }
    let frames: usize = rows.iter().map(|r| r.frames).sum();
    let mean = |f: fn(&rgbd::OffsetRow) -> f64| {
        rows.iter().map(|r| f(r) * r.frames as f64).sum::<f64>() / frames.max(1) as f64
    };
    let median = |v: &[f64]| depthcast::sweep::analysis::median(v.iter().copied());
    let s = &r.stats;
    let depth_bps = (base.bitrate as f64 * f64::from(a.depth_share)).round();
    println!(
        "  pairs: {} paired, {} colour only, {} depth only; capture to display (pair) {:.1} ms median; pairing wait {:.2} ms mean",
        s.paired,
        s.colour_only,
        s.depth_only,
        median(&r.latency_ms),
        s.pair_wait_ms_mean()
    );
    Ok(serde_json::json!({
        "psnr_stale_db": mean(|r| r.psnr_stale_db),
        "psnr_reprojected_db": mean(|r| r.psnr_reprojected_db),
        "psnr_reprojected_luma8_db": mean(|r| r.psnr_reprojected_luma8_db),
        "psnr_source_depth_db": mean(|r| r.psnr_source_depth_db),
        "psnr_note": "means over frames and offsets 1..=3 (30 fps); per offset in `offsets`",
        "offsets": rows,
        "total_bps": base.bitrate,
        "depth_share": (f64::from(a.depth_share) * 1e4).round() / 1e4,
        "depth_target_bps": depth_bps,
        "colour_target_bps": base.bitrate as f64 - depth_bps,
        "depth_achieved_bps": main.achieved_bps,
        "colour_achieved_bps": r.colour_bps,
        "width": a.width,
        "height": a.height,
        "depth_packing": main.packing,
        "pairs": {
            "frames": s.frames,
            "paired": s.paired,
            "colour_only": s.colour_only,
            "depth_only": s.depth_only,
            "pair_timeouts": s.pair_timeouts,
            "late": s.late,
            "median_capture_to_display_ms": median(&r.latency_ms),
            "mean_pair_wait_ms": s.pair_wait_ms_mean(),
            "max_pair_wait_ms": s.pair_wait_ms_max,
        },
        "depth_only": depth_only,
    }))
}
