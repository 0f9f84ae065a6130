//! `depthcast rgbd-sweep`: what the player sees of an RGB-D stream: stale colour against colour
//! reprojected with the received depth (automatic configuration or 8-bit luma) and with the
//! source depth, over total bitrates and depth shares (see `depthcast::sweep::rgbd`).

use std::path::PathBuf;

use depthcast::sweep::encode::RunOptions;
use depthcast::sweep::rgbd::{RgbdOptions, RgbdSource};

/// Options of `depthcast rgbd-sweep`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// RGB-D sequence folders (`depthcast render --colour`).
    #[arg(required = true)]
    sequences: Vec<PathBuf>,
    /// Output folder (cells already complete there are reused).
    #[arg(long, default_value = "rgbd-out")]
    out: PathBuf,
    /// Total bitrates (colour + depth) in Mbit/s, used as given.
    #[arg(long, value_delimiter = ',', default_value = "4,8,16")]
    mbps: Vec<f64>,
    /// Depth shares of the total, in percent.
    #[arg(long, value_delimiter = ',', default_value = "10,20,30")]
    shares: Vec<f64>,
    /// Frame offsets: frame t is shown at the camera of frame t + k.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    offsets: Vec<u32>,
    /// Use at most this many frames per sequence.
    #[arg(long)]
    frames: Option<usize>,
    /// Keyframe interval in frames (both tracks).
    #[arg(long, default_value_t = 60)]
    gop: u32,
    /// x264 preset (both tracks).
    #[arg(long, default_value = "ultrafast")]
    preset: String,
    /// Worker threads of reprojection and scoring (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(a.mbps.iter().all(|m| m.is_finite() && *m > 0.0), "--mbps must be positive");
    let opts = RgbdOptions {
        out: a.out.clone(),
        totals: a.mbps.iter().map(|m| (m * 1e6).round() as u64).collect(),
        shares: a.shares.iter().map(|s| s / 100.0).collect(),
        offsets: a.offsets,
        run: RunOptions { gop: a.gop, force_software: true, preset: a.preset, threads: 1, scene_cuts: true },
        threads: a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        max_frames: a.frames,
        progress: true,
    };
    let start = std::time::Instant::now();
    let recs = depthcast::sweep::rgbd::run(a.sequences.into_iter().map(RgbdSource::Dir).collect(), &opts)?;
    println!(
        "{} cells in {:.1} s; wrote {}/report.md, summary.json, cells.csv, frames.csv, plots/",
        recs.len(),
        start.elapsed().as_secs_f64(),
        a.out.display()
    );
    println!("{:<28} {:>6} {:>5} {:>3}  PSNR a / b / c / d dB        gain b", "sequence", "Mbit/s", "share", "k");
    for r in &recs {
        let c = &r.cell;
        for o in &c.offsets {
            let p = o.psnr_db;
            println!(
                "{:<28} {:>6.1} {:>4.0}% {:>3}  {:>6.2} {:>6.2} {:>6.2} {:>6.2}  {:>6.2}",
                c.sequence,
                c.total_bitrate as f64 / 1e6,
                c.depth_share * 100.0,
                o.k,
                p[0],
                p[1],
                p[2],
                p[3],
                o.gain_ratio
            );
        }
    }
    Ok(())
}
