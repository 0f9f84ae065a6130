//! `depthcast sweep`: bitrate–error sweeps over packing configurations (see `depthcast::sweep`).

use std::path::PathBuf;

use depthcast::sweep::causal::Rounds;
use depthcast::sweep::config::{CodecConfig, DEFAULT_MBPS_720P30, PackingGrid, RangeChoice};
use depthcast::sweep::encode::RunOptions;
use depthcast::sweep::shard::Shard;
use depthcast::sweep::{Source, SweepOptions};
use depthcast_packing::BitDepth;
use depthcast_stream::ProbeSet;

/// Options of `depthcast sweep`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Depth sequence folders (see README); none = the built-in procedural scene.
    sequences: Vec<PathBuf>,
    /// Output folder (runs already complete there are reused).
    #[arg(long, default_value = "sweep-out")]
    out: PathBuf,
    /// The quick preset: a 60-frame 640x360 procedural sequence (unless sequences are given),
    /// a reduced grid, 0.5..8 Mbit/s, H.264 only.
    #[arg(long)]
    quick: bool,
    /// Codec configurations: `CODEC-BITS` with CODEC h264, hevc or av1 and BITS 8 or 10 (h264-8,
    /// hevc-10, av1-10, ...; add -aq for adaptive quantisation). AV1 runs skip the ROI packings.
    #[arg(long, value_delimiter = ',', default_value = "h264-8,hevc-10")]
    codecs: Vec<String>,
    /// Bitrates at 1280x720, 30 fps (scaled to each sequence's pixel rate): `1M,2M,4M`, `500k`.
    #[arg(long, value_delimiter = ',', value_parser = super::parse_bitrate, conflicts_with = "mbps")]
    bitrates: Vec<u64>,
    /// The same in Mbit/s (`1,2,4`).
    #[arg(long, value_delimiter = ',')]
    mbps: Vec<f64>,
    /// Also sweep per-frame ranges (tight, smoothed) besides one range per sequence.
    #[arg(long)]
    per_frame_range: bool,
    /// Skip the policy re-encodes.
    #[arg(long)]
    no_policies: bool,
    /// Skip the predictor's policy re-encodes (per group and across groups): only the start-up
    /// probe across formats and the keyframe policies (best causal, `send --reprobe`) run.
    #[arg(long)]
    no_predictor_policies: bool,
    /// Use at most this many frames per sequence.
    #[arg(long)]
    frames: Option<usize>,
    /// Keyframe interval in frames.
    #[arg(long, default_value_t = 60)]
    gop: u32,
    /// x264/x265 preset.
    #[arg(long, default_value = "ultrafast")]
    preset: String,
    /// Let x264/x265 place keyframes at hard cuts, as presets other than `ultrafast` do (it places
    /// none, so its runs are the same either way). `send --reprobe` turns them off, so that its
    /// keyframes stay where its rounds start: `false` models it at another preset (its runs go
    /// to a folder of their own, `g30-superfast-nocuts`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    scene_cuts: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Packing grid: `full` (default; `--quick` implies `quick`) or `quick` (8 configurations:
    /// luma-only, VBP chroma and luma at B+4 and B+8, VBP luma+ROI at B+6, triangle, hue).
    #[arg(long)]
    grid: Option<String>,
    /// Add each configuration of the grid sent at half size (`-half` ids): one sample of each 2x2
    /// block, rebuilt at full size by the receiver's edge-aware upsampler, and measured there.
    #[arg(long)]
    half: bool,
    /// Keep only these configurations of the grid, by id (as in run names and `frames.csv`, e.g.
    /// `hue-lin,luma-P8-lin`): adds configurations to an earlier sweep's folder.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Encode only shard I of N of the grid's fixed runs (0-based: `0/4` .. `3/4`, as Slurm array
    /// and Kubernetes job indices count) into `--out`, and write `shard.json` there; no analysis.
    /// Merge the shard folders with `--merge`.
    #[arg(long, value_name = "I/N", conflicts_with = "merge")]
    shard: Option<Shard>,
    /// Merge these shard folders (made by `--shard` with the same sequences and grid arguments)
    /// into `--out`, then analyse, re-encode the policies and report as an unsharded sweep would.
    #[arg(long, value_name = "SHARD_DIR", num_args = 1..)]
    merge: Vec<PathBuf>,
    /// With several codecs: what the start-up probe across them measures in each format besides
    /// the luma fallback: `schemes` (one configuration of each scheme, as `send --receivers`
    /// does), `half` (those and the half-size set, as `send --receivers native` does) or
    /// `network` (the network's three best-scored configurations too).
    #[arg(long, default_value = "schemes", value_parser = ["schemes", "half", "network"])]
    format_probe: String,
    /// Frames each encoder that the best causal policy reopens (for a new codec, bit depth or
    /// frame size) encodes before its first frame, throwing the packets away, so that its rate
    /// control has settled when the receiver's stream begins; 0: a cold start.
    #[arg(long, default_value_t = depthcast::sweep::encode::DEFAULT_REOPEN_PREROLL)]
    reopen_preroll: usize,
    /// The memory of the modelled `send --reprobe`: the weight of what earlier rounds measured
    /// against each new round (1: every round alike, 0: the newest alone).
    #[arg(long, default_value_t = depthcast_stream::ReprobeSettings::default().memory)]
    reprobe_memory: f64,
    /// The pairs each round of the modelled `send --reprobe` measures (at least 2): the stream's
    /// pair, the best others and, by turns, the next best or the one measured longest ago;
    /// every pair when left out. `send --reprobe-pairs N` encodes N a round and, with its default
    /// `--reprobe-from-stream`, measures the stream's pair beside them after the first round:
    /// N + 1 here.
    #[arg(long, value_parser = clap::value_parser!(u16).range(2..))]
    reprobe_pairs: Option<u16>,
    /// How much better (relative mean error) the best pair must measure for the modelled `send
    /// --reprobe` to move (`send --reprobe-margin`).
    #[arg(long, default_value_t = depthcast_stream::ReprobeSettings::default().margin)]
    reprobe_margin: f64,
    /// How many rounds in a row must pick the same pair before the modelled `send --reprobe`
    /// moves (`send --reprobe-confirm`).
    #[arg(long, default_value_t = depthcast_stream::ReprobeSettings::default().confirm,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    reprobe_confirm: usize,
    /// Whether the modelled `send --reprobe` never moves to VBP luma without an ROI (`send
    /// --reprobe-guarded`).
    #[arg(long, default_value_t = depthcast_stream::ReprobeSettings::default().guarded,
          action = clap::ArgAction::Set, value_name = "BOOL")]
    reprobe_guarded: bool,
    /// The memory (0..=1) of a second, slower view of the rounds that a move of the modelled
    /// `send --reprobe` must agree with (`send --reprobe-long-memory`); none by default.
    #[arg(long, value_parser = super::send::parse_memory, value_name = "KEEP")]
    reprobe_long_memory: Option<f64>,
    /// Rank and compare the modelled `send --reprobe`'s pairs by their risk score, mean error
    /// ^ (1 - RHO) x worst round ^ RHO, or by mean error alone (`off`), as `send
    /// --reprobe-risk`.
    #[arg(long, default_value = "chosen", value_parser = super::send::parse_risk,
          value_name = "RHO,KEEP|chosen|off")]
    reprobe_risk: super::send::RiskRule,
    /// How the modelled `send --reprobe`'s first round measures each pair's first GOP
    /// (`send --reprobe-first`): `settled`, on encodes pre-rolled over its first frames (the
    /// `first-round` runs), or `cold`, on the fixed runs (no encodes of its own).
    #[arg(long, default_value = "settled", value_parser = super::send::parse_first_round)]
    reprobe_first: depthcast_stream::FirstRound,
    /// `causal`: model `send --reprobe-rule causal`, the best causal policy's own rule, whose
    /// plan with every pair in every round is the best causal policy's among the probe's pairs
    /// (its real runs the same encodes). Not with the rule's own options.
    #[arg(long, value_parser = ["causal"], conflicts_with_all = super::send::RULE_OPTIONS)]
    reprobe_rule: Option<String>,
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    let mut codecs = a
        .codecs
        .iter()
        .map(|c| {
            CodecConfig::parse(c).ok_or_else(|| {
                anyhow::anyhow!("unknown codec configuration {c:?}: use h264-8, hevc-10, optionally with -aq")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut sources: Vec<Source> = a.sequences.iter().cloned().map(Source::Dir).collect();
    let (mut mbps, mut scale, mut packings) = (DEFAULT_MBPS_720P30.to_vec(), true, PackingGrid::Full);
    if a.quick {
        if sources.is_empty() {
            sources.push(Source::Procedural { width: 640, height: 360, frames: 60, fps: 30.0 });
        }
        mbps = vec![0.5, 1.0, 2.0, 4.0, 8.0];
        scale = false;
        codecs.retain(|c| c.bits == BitDepth::Eight);
        if codecs.is_empty() {
            codecs.push(CodecConfig::H264_8);
        }
        packings = PackingGrid::Quick;
    } else if sources.is_empty() {
        sources.push(Source::Procedural { width: 1280, height: 720, frames: 300, fps: 30.0 });
    }
    if !a.bitrates.is_empty() {
        mbps = a.bitrates.iter().map(|&b| b as f64 / 1e6).collect();
    } else if !a.mbps.is_empty() {
        mbps = a.mbps.clone();
    }
    match a.grid.as_deref() {
        None => {}
        Some("full") => packings = PackingGrid::Full,
        Some("quick") => packings = PackingGrid::Quick,
        Some(g) => anyhow::bail!("--grid {g}: use full or quick"),
    }
    if a.half {
        packings = PackingGrid::WithHalf(Box::new(packings));
    }
    if !a.only.is_empty() {
        if codecs.iter().any(|c| c.bits != codecs[0].bits) {
            anyhow::bail!("--only takes codecs of one bit depth; run one sweep per bit depth");
        }
        let grid = packings.for_bits(codecs[0].bits);
        let mut kept = Vec::new();
        for id in &a.only {
            let Some(p) = grid.iter().find(|p| p.id() == *id) else {
                let ids: Vec<String> = grid.iter().map(|p| p.id()).collect();
                anyhow::bail!("--only {id}: not in the grid; its configurations are {}", ids.join(", "));
            };
            kept.push(*p);
        }
        packings = PackingGrid::Given(kept);
    }
    let mut ranges = vec![RangeChoice::Sequence];
    if a.per_frame_range {
        ranges.push(RangeChoice::PerFrame { alpha: 0.1 });
    }
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let opts = SweepOptions {
        out: a.out.clone(),
        codecs,
        packings,
        mbps,
        scale,
        ranges,
        run: RunOptions { gop: a.gop, force_software: true, preset: a.preset, threads: 1, scene_cuts: a.scene_cuts },
        threads,
        policies: !a.no_policies,
        predictor_policies: !a.no_predictor_policies,
        max_frames: a.frames,
        format_probe: match a.format_probe.as_str() {
            "schemes" => ProbeSet::Schemes,
            "half" => ProbeSet::SchemesAndHalf,
            _ => ProbeSet::NetworkAndSchemes,
        },
        reopen_preroll: a.reopen_preroll,
        reprobe: match a.reprobe_rule {
            Some(_) => Rounds { pairs: a.reprobe_pairs.map(usize::from), ..Rounds::causal(a.gop as usize) },
            None => Rounds {
                keep: a.reprobe_memory,
                pairs: a.reprobe_pairs.map(usize::from),
                margin: a.reprobe_margin,
                confirm: a.reprobe_confirm,
                guarded: a.reprobe_guarded,
                long: a.reprobe_long_memory,
                risk: a.reprobe_risk.0,
                first: a.reprobe_first,
                ..Rounds::default()
            },
        },
    };
    let start = std::time::Instant::now();
    if let Some(shard) = a.shard {
        let f = depthcast::sweep::shard::run_shard(&sources, &opts, shard)?;
        println!(
            "shard {shard}: {} runs complete in {:.1} s; wrote {}/shard.json (grid {}); merge with \
             `depthcast sweep --merge DIR... --out DIR` and the same grid arguments",
            f.runs.len(),
            start.elapsed().as_secs_f64(),
            a.out.display(),
            f.fingerprint
        );
        return Ok(());
    }
    let cells = if a.merge.is_empty() {
        depthcast::sweep::run(&sources, &opts)?
    } else {
        depthcast::sweep::shard::merge(&a.merge, &sources, &opts)?
    };
    println!(
        "{} cells in {:.1} s; wrote {}/report.md, summary.json, frames.csv, plots/",
        cells.len(),
        start.elapsed().as_secs_f64(),
        a.out.display()
    );
    for c in &cells {
        println!(
            "{:<12} {:<8} {:>6.2} Mbit/s  best fixed {:>8.2} mm ({})",
            c.sequence,
            c.codec,
            c.bitrate as f64 / 1e6,
            c.best_fixed.1,
            c.best_fixed.0
        );
    }
    Ok(())
}
