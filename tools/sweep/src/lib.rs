//! # depthcast-sweep
//!
//! Bitrate–error sweeps: encode depth sequences with every configuration of a grid through real
//! encoders, measure every frame after decoding, derive oracles, and re-encode with policies that
//! switch configurations so that switching costs are measured, not assumed.
//!
//! Outputs (in the output folder):
//! - `runs/<sequence>/g<gop>-<preset>/<run>.csv`: per-frame rows of each run (see [`csv`] for the
//!   columns); a run whose file is complete is not encoded again, so an interrupted sweep resumes,
//!   and sweeps with other grids but the same keyframe interval and preset share runs.
//!   With several formats they include `first-round<P>_<fixed run>.csv`: the first GOP of each
//!   pair the start-up probe measured, encoded after a pre-roll of `P` frames over itself, as
//!   `send --reprobe`'s first round measures it (rows of the pre-roll, then of the GOP).
//! - `frames.csv`: every row of every fixed and policy run.
//! - `summary.json`: per sequence, codec, bitrate and range policy, the fixed configurations'
//!   errors, the best fixed configuration, the per-frame oracles (estimates that ignore switching
//!   cost), how the per-frame best precision moves, and the policy runs' real errors; with
//!   several formats (`formats`), the start-up probe across them and the best causal policy
//!   ([`causal`]) against 8-bit luma with H.264 and the best fixed pair in hindsight.
//! - `plots/*.png` and `report.md`, which embeds them with tables.
//!
//! A sweep can be split over machines or batch tasks: [`shard::run_shard`] (`depthcast sweep
//! --shard I/N`, 0-based) encodes one shard's share of the fixed runs into its own folder and
//! writes `shard.json` there instead of the outputs above; [`shard::merge`] (`depthcast sweep
//! --merge SHARD_DIR... --out DIR`) checks that the shards are every shard of one grid with every
//! run complete, copies their runs and runs [`run`], whose outputs equal the unsharded sweep's.

pub mod analysis;
pub mod causal;
pub mod config;
pub mod csv;
pub mod encode;
mod plots;
pub mod predictor;
mod report;
pub mod rgbd;
pub mod shard;

/// Registers the bundled font with plotters (once per process), for anyone drawing text in plots.
pub use plots::fonts as register_fonts;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use depthcast_codec::Format;
use depthcast_packing::{DepthImage, testdata};
use indicatif::{ProgressBar, ProgressStyle};

use analysis::{Cell, Policy, RunResult};
use config::{CodecConfig, Grid, PackingConfig, PackingGrid, RangeChoice, scale_bitrates};
use encode::{RunOptions, SeqData, encode_reopening};

/// Where a sequence comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A depth sequence folder (see [`depthcast_sequence`]).
    Dir(PathBuf),
    /// The built-in procedural scene ([`testdata::game_scene`]) with a moving camera.
    Procedural {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Frame count.
        frames: usize,
        /// Frames per second.
        fps: f64,
    },
}

impl Source {
    /// Loads every frame into memory (at most `max_frames`).
    ///
    /// # Errors
    /// Unreadable sequences.
    pub fn load(&self, max_frames: Option<usize>) -> anyhow::Result<SeqData> {
        match self {
            Source::Dir(dir) => {
                let s = depthcast_sequence::Sequence::open(dir)?;
                let n = max_frames.map_or(s.len(), |m| m.min(s.len()));
                let frames = (0..n).map(|i| s.read_frame(i)).collect::<Result<Vec<DepthImage>, _>>()?;
                let name = dir.file_name().map_or("sequence".into(), |n| n.to_string_lossy().into_owned());
                SeqData::new(sanitize(&name), s.meta.fps, frames)
            }
            &Source::Procedural { width, height, frames, fps } => {
                let n = max_frames.map_or(frames, |m| m.min(frames));
                let frames = (0..n).map(|i| testdata::game_scene(width, height, i as f32 / fps as f32)).collect();
                SeqData::new("procedural".into(), fps, frames)
            }
        }
    }
}

fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// Everything a sweep needs besides its inputs.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Output folder.
    pub out: PathBuf,
    /// Codec configurations.
    pub codecs: Vec<CodecConfig>,
    /// Packing configurations, per codec's bit depth.
    pub packings: PackingGrid,
    /// Bitrates in Mbit/s at 1280x720, 30 fps.
    pub mbps: Vec<f64>,
    /// Scale `mbps` to each sequence's pixel rate (otherwise use them as given).
    pub scale: bool,
    /// Range policies.
    pub ranges: Vec<RangeChoice>,
    /// Encoder options.
    pub run: RunOptions,
    /// Worker threads (runs in parallel, one encoder thread each).
    pub threads: usize,
    /// Run the policy re-encodes.
    pub policies: bool,
    /// With `policies`: also the predictor's (per group of equal frame size, and across groups);
    /// without it only the probe across formats and the keyframe policies run.
    pub predictor_policies: bool,
    /// Use at most this many frames of each sequence.
    pub max_frames: Option<usize>,
    /// What the probe across formats measures in each format (with more than one format).
    pub format_probe: depthcast_stream::ProbeSet,
    /// Frames each encoder reopened by the best causal policy encodes before its first frame to
    /// settle its rate control (see [`encode::encode_reopening`]); 0 for a cold start.
    pub reopen_preroll: usize,
    /// The rule of the modelled `send --reprobe` ([`causal::Rounds`]; `Rounds::default()` is
    /// `send`'s). Its window is the sweep's GOP, as `send` sets the re-probe's to its `--gop`.
    pub reprobe: causal::Rounds,
}

/// One encode job: a fixed configuration or a policy run.
#[derive(Debug, Clone)]
struct Job {
    id: String,
    /// The codec configuration the stream opens with.
    codec: CodecConfig,
    bitrate: u64,
    range: RangeChoice,
    choices: Vec<(PackingConfig, bool)>,
    /// Frames where the encoder is reopened, with the codec configuration from there on (see
    /// [`encode::encode_reopening`]); empty for one encoder throughout.
    reopen: Vec<(usize, CodecConfig)>,
}

/// Runs the sweep over `sources`, writing every output, and returns the summary cells.
///
/// # Errors
/// Unreadable inputs, unwritable outputs, or encoder failures (all failed runs are listed).
pub fn run(sources: &[Source], opts: &SweepOptions) -> anyhow::Result<Vec<Cell>> {
    std::fs::create_dir_all(opts.out.join("runs"))?;
    let mut all_rows: Vec<csv::Row> = Vec::new();
    let mut cells = Vec::new();
    let mut format_cells = Vec::new();
    let mut seqs_meta = Vec::new();
    for (si, src) in sources.iter().enumerate() {
        let seq = src.load(opts.max_frames)?;
        eprintln!(
            "sequence {}/{}: {} ({}x{}, {} frames at {} fps, depth {:.3}..{:.3} m)",
            si + 1,
            sources.len(),
            seq.name,
            seq.width(),
            seq.height(),
            seq.frames.len(),
            seq.fps,
            seq.near,
            seq.far
        );
        let dir = run_dir(&opts.out, &seq, opts);
        std::fs::create_dir_all(&dir)?;
        let jobs = fixed_jobs(&seq, si, opts);
        let known: BTreeMap<String, PackingConfig> =
            jobs.iter().map(|j| (j.choices[0].0.id(), j.choices[0].0)).collect();
        let fixed = execute(&seq, &dir, jobs, opts, "fixed runs")?;
        // Policy runs over groups of equal frame size.
        let mut policy_jobs = Vec::new();
        let mut format_probes = Vec::new();
        let groups = group_cells(&seq, &fixed, &known);
        if opts.policies {
            // Every configuration of a cell, across groups.
            let mut cells_all: Vec<CellConfigs> = Vec::new();
            for ((codec, bitrate, range, _), members) in &groups {
                let key = (*codec, *bitrate, *range);
                let cands = members.iter().map(|(_, r)| r.packing);
                match cells_all.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => v.extend(cands),
                    None => cells_all.push((key, cands.collect())),
                }
            }
            if opts.predictor_policies {
                policy_jobs.extend(predictor_jobs(&seq, &groups, &cells_all, opts)?);
            }
            // With more than one format: the start-up probe across them, as `send --auto --probe
            // --receivers` runs it (codec and bit depth chosen with the packing).
            if opts.codecs.iter().any(|c| c.format() != opts.codecs[0].format()) {
                let mut keys: Vec<(u64, RangeChoice)> = Vec::new();
                for ((_, bitrate, range), _) in &cells_all {
                    if !keys.contains(&(*bitrate, *range)) {
                        keys.push((*bitrate, *range));
                    }
                }
                let mut probed = Vec::with_capacity(keys.len());
                for (bitrate, range) in keys {
                    let probe = predictor::ProbeEncodes { range, opts: &opts.run };
                    let (codec, report) = predictor::probe_formats(
                        &seq,
                        &opts.codecs,
                        bitrate,
                        opts.run.gop as usize,
                        opts.format_probe,
                        probe,
                    )?;
                    probed.push((bitrate, range, codec, report));
                }
                // A cold first round reads the fixed runs' first GOP: no encodes of its own.
                let firsts = match opts.reprobe.first {
                    depthcast_stream::FirstRound::Settled => first_rounds(&seq, &dir, &groups, &probed, opts)?,
                    depthcast_stream::FirstRound::Cold => BTreeMap::new(),
                };
                for (bitrate, range, codec, report) in probed {
                    // The chosen stream is the grid's fixed run of that pair when the grid has
                    // it (the same encode); otherwise it is encoded as a policy run.
                    let packing = report.winner;
                    let fixed_id = config::RunSpec { sequence: si, codec, bitrate, packing, range }.id();
                    let id = if fixed.contains_key(&fixed_id) {
                        fixed_id
                    } else {
                        let id = format_probe_id(bitrate, range, codec, &packing);
                        let choices = vec![(packing, false); seq.frames.len()];
                        policy_jobs.push(Job { id: id.clone(), codec, bitrate, range, choices, reopen: Vec::new() });
                        id
                    };
                    // The best causal policy, and the same with the memory of `send --reprobe`.
                    let causal = causal_job(&seq, &groups, (bitrate, range), causal::Memory::SoFar, None, opts);
                    // Rounds of `send --reprobe`: each from a keyframe over the GOP after it (the
                    // first on settled encoders), the earlier rounds weighing less, among the pairs
                    // its probe measured.
                    let rounds =
                        causal::Memory::Rounds(causal::Rounds { window: opts.run.gop.max(1) as usize, ..opts.reprobe });
                    let pairs: Vec<(Format, PackingConfig)> =
                        report.measured.iter().map(|m| (m.format, m.config)).collect();
                    let reprobe = causal_job(
                        &seq,
                        &groups,
                        (bitrate, range),
                        rounds,
                        Some(ReprobePairs { pairs: &pairs, firsts: &firsts }),
                        opts,
                    );
                    for (_, job) in causal.iter().chain(&reprobe) {
                        if let Some(job) = job
                            && !policy_jobs.iter().any(|j: &Job| j.id == job.id)
                        {
                            policy_jobs.push(job.clone());
                        }
                    }
                    format_probes.push(FormatProbe {
                        bitrate,
                        range,
                        codec,
                        report,
                        run: id,
                        causal: causal.map(|(c, _)| c),
                        reprobe: reprobe.map(|(c, _)| c),
                    });
                }
            }
        }
        let policy = execute(&seq, &dir, policy_jobs, opts, "policy runs")?;
        cells.extend(summarise(&seq, &groups, &policy, opts));
        format_cells.extend(summarise_formats(&seq, &groups, &format_probes, &fixed, &policy));
        for rows in fixed.values().chain(policy.values()) {
            all_rows.extend(rows.iter().cloned());
        }
        seqs_meta.push((seq.name.clone(), seq.width(), seq.height(), seq.frames.len(), seq.fps, seq.near, seq.far));
        // Per-sequence plots while the rows are at hand.
        plots::sequence_plots(&opts.out, &seq, &cells, &groups)?;
    }
    let mut text = csv::header();
    for r in &all_rows {
        csv::write_row(&mut text, r);
    }
    std::fs::write(opts.out.join("frames.csv"), text)?;
    let summary = serde_json::json!({
        "note": "oracle_* values are estimates from separate fixed-configuration encodes and ignore the cost of switching; policy_* values are real single-stream encodes",
        "sequences": seqs_meta.iter().map(|(n, w, h, f, fps, a, b)| serde_json::json!({
            "name": n, "width": w, "height": h, "frames": f, "fps": fps, "near_m": a, "far_m": b
        })).collect::<Vec<_>>(),
        "cells": cells,
        "formats": format_cells,
    });
    std::fs::write(opts.out.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    plots::format_plots(&opts.out, &format_cells)?;
    report::write(&opts.out, &cells, &format_cells)?;
    for f in &format_cells {
        eprintln!(
            "{} {:6.2} Mbit/s  probe across formats: {} {} {:8.2} mm{}  best fixed {} {} {:8.2} mm",
            f.sequence,
            f.bitrate as f64 / 1e6,
            f.chosen.0,
            f.chosen.1,
            f.mae_mm,
            f.luma8_h264_mm.map_or(String::new(), |l| format!(" ({:.3}x h264-8 luma-P8)", f.mae_mm / l)),
            f.best_fixed.0,
            f.best_fixed.1,
            f.best_fixed.2
        );
        if let Some(c) = &f.causal {
            eprintln!(
                "{:>32}  best causal policy: {:8.2} mm real, {:8.2} mm estimated, {} switches ({:.3}x the probe's choice)",
                "",
                c.mae_mm,
                c.estimate_mm,
                c.switches.len().saturating_sub(1),
                c.mae_mm / f.mae_mm
            );
        }
    }
    Ok(cells)
}

/// The folder of a sequence's runs under `out`. The run id names codec, bitrate, packing and
/// range; what else changes the encode is in the folder, so a resumed sweep never reuses a run
/// made with other encoder options.
fn run_dir(out: &Path, seq: &SeqData, opts: &SweepOptions) -> PathBuf {
    out.join("runs").join(&seq.name).join(opts.run.folder_name())
}

/// The fixed-configuration runs of sequence `si` (index in the sweep's inputs).
fn fixed_jobs(seq: &SeqData, si: usize, opts: &SweepOptions) -> Vec<Job> {
    let bitrates = if opts.scale {
        scale_bitrates(&opts.mbps, seq.width(), seq.height(), seq.fps)
    } else {
        opts.mbps.iter().map(|m| (m * 1e6).round() as u64).collect()
    };
    let mut jobs = Vec::new();
    for &codec in &opts.codecs {
        let grid = Grid {
            packings: opts.packings.for_bits(codec.bits),
            codecs: vec![codec],
            bitrates: bitrates.clone(),
            ranges: opts.ranges.clone(),
        };
        for r in grid.runs(si) {
            jobs.push(Job {
                id: r.id(),
                codec,
                bitrate: r.bitrate,
                range: r.range,
                choices: vec![(r.packing, false); seq.frames.len()],
                reopen: Vec::new(),
            });
        }
    }
    jobs
}

type GroupKey = (CodecConfig, u64, RangeChoice, String);

/// Groups fixed runs by (codec, bitrate, range, frame-size group), keeping run ids.
fn group_cells(
    seq: &SeqData,
    fixed: &BTreeMap<String, Vec<csv::Row>>,
    known: &BTreeMap<String, PackingConfig>,
) -> Vec<(GroupKey, Vec<(String, RunResult)>)> {
    let mut out: Vec<(GroupKey, Vec<(String, RunResult)>)> = Vec::new();
    for (id, rows) in fixed {
        let Some(first) = rows.first() else { continue };
        let Some(&packing) = known.get(&first.rec.config) else { continue };
        let codec = CodecConfig::parse(&first.codec).expect("codec id written by this sweep");
        let range = if first.range == "seq" {
            RangeChoice::Sequence
        } else {
            RangeChoice::PerFrame { alpha: first.range.trim_start_matches("frame").parse().unwrap_or(0.1) }
        };
        let p = packing.params(codec.bits, seq.width(), seq.height(), seq.near, seq.far, 0);
        // One group per frame size: the VBP luma layout's is twice as tall, a half-size map's
        // (`-half`) is half as wide.
        let tall = p.frame_size().1 > p.packed().height.next_multiple_of(2);
        let group = match (p.half, tall) {
            (false, false) => "frame",
            (false, true) => "tall",
            (true, false) => "half",
            (true, true) => "half-tall",
        }
        .to_string();
        let key = (codec, first.bitrate, range, group);
        let rr = RunResult::from_rows(packing, rows);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push((id.clone(), rr)),
            None => out.push((key, vec![(id.clone(), rr)])),
        }
    }
    out
}

/// Runs the jobs not already complete on disk, in parallel, and returns every job's rows.
fn execute(
    seq: &SeqData,
    dir: &Path,
    jobs: Vec<Job>,
    opts: &SweepOptions,
    what: &str,
) -> anyhow::Result<BTreeMap<String, Vec<csv::Row>>> {
    let n = seq.frames.len();
    let mut done = BTreeMap::new();
    let mut pending = Vec::new();
    for job in jobs {
        let path = dir.join(format!("{}.csv", job.id));
        match csv::read(&path) {
            Ok(rows) if rows.len() == n => {
                done.insert(job.id.clone(), rows);
            }
            _ => pending.push(job),
        }
    }
    if pending.is_empty() {
        if !done.is_empty() {
            eprintln!("  {what}: all {} already on disk", done.len());
        }
        return Ok(done);
    }
    eprintln!("  {what}: {} to encode, {} already on disk", pending.len(), done.len());
    let pb = ProgressBar::new((pending.len() * n) as u64);
    pb.set_style(
        ProgressStyle::with_template("  {elapsed_precise} [{bar:40}] {pos}/{len} frames  ETA {eta}  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let queue = Mutex::new(pending.into_iter());
    let results = Mutex::new(BTreeMap::new());
    let failures = Mutex::new(Vec::new());
    let threads = opts.threads.max(1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let Some(job) = queue.lock().expect("queue").next() else { break };
                    pb.set_message(job.id.clone());
                    let mut choose = |i: usize| job.choices[i];
                    let res = encode_reopening(
                        seq,
                        job.codec,
                        &job.reopen,
                        opts.reopen_preroll,
                        job.bitrate,
                        job.range,
                        &opts.run,
                        &mut choose,
                        &|| pb.inc(1),
                    );
                    match res.and_then(|recs| {
                        let rows: Vec<csv::Row> = recs
                            .into_iter()
                            .map(|(codec, rec)| csv::Row {
                                sequence: seq.name.clone(),
                                codec: codec.id(),
                                bitrate: job.bitrate,
                                run: job.id.clone(),
                                range: job.range.id(),
                                family: job.choices[rec.frame as usize].0.family(),
                                rec,
                            })
                            .collect();
                        let mut text = csv::header();
                        for r in &rows {
                            csv::write_row(&mut text, r);
                        }
                        let path = dir.join(format!("{}.csv", job.id));
                        let tmp = path.with_extension("csv.tmp");
                        std::fs::write(&tmp, text)?;
                        std::fs::rename(&tmp, &path)?;
                        Ok(rows)
                    }) {
                        Ok(rows) => {
                            results.lock().expect("results").insert(job.id.clone(), rows);
                        }
                        Err(e) => failures.lock().expect("failures").push(format!("{}: {e:#}", job.id)),
                    }
                }
            });
        }
    });
    pb.finish_and_clear();
    let failures = failures.into_inner().expect("failures");
    anyhow::ensure!(failures.is_empty(), "{} runs failed:\n  {}", failures.len(), failures.join("\n  "));
    done.extend(results.into_inner().expect("results"));
    Ok(done)
}

/// The start-up probe across formats at one bitrate and range, and the best causal policy there.
struct FormatProbe {
    bitrate: u64,
    range: RangeChoice,
    /// The chosen codec configuration.
    codec: CodecConfig,
    report: depthcast_stream::FormatProbeReport,
    /// The run id of the chosen stream.
    run: String,
    causal: Option<CausalRun>,
    /// The keyframe policy of `send --reprobe` ([`causal::Memory::Rounds`]).
    reprobe: Option<CausalRun>,
}

/// The best causal policy of a cell ([`causal`]): its plan, its estimate from the fixed runs and
/// the id of its real run.
struct CausalRun {
    plan: causal::Plan,
    plan_bitrate: u64,
    estimate_m: f64,
    run: String,
}

/// A keyframe policy with `memory` over every fixed run of `seq` at `bitrate` and `range` (every
/// codec of the sweep; for `send --reprobe`'s policy, only those of the pairs its start-up
/// probe measured, each with its settled first round from [`first_rounds`], by fixed run id),
/// and the job of its real single-stream run unless that is a fixed run
/// already (the policy never switched). The run id names the switches, so two policies that plan
/// the same stream share its run. `None` without fixed runs there.
fn causal_job(
    seq: &SeqData,
    groups: &[(GroupKey, Vec<(String, RunResult)>)],
    (bitrate, range): (u64, RangeChoice),
    memory: causal::Memory,
    reprobe: Option<ReprobePairs<'_>>,
    opts: &SweepOptions,
) -> Option<(CausalRun, Option<Job>)> {
    let members: Vec<(&String, causal::Candidate<'_>)> = groups
        .iter()
        .filter(|((_, b, r, _), _)| *b == bitrate && *r == range)
        .flat_map(|((codec, ..), m)| {
            m.iter().map(|(id, run)| {
                let first = reprobe.and_then(|r| r.firsts.get(id));
                (id, causal::Candidate { codec: *codec, run, first })
            })
        })
        .filter(|(_, c)| reprobe.is_none_or(|r| r.pairs.contains(&(c.codec.format(), c.run.packing))))
        .collect();
    let cands: Vec<causal::Candidate<'_>> = members.iter().map(|m| m.1).collect();
    let stream = causal::Stream {
        width: seq.width(),
        height: seq.height(),
        fps: seq.fps,
        bitrate,
        gop: opts.run.gop as usize,
        head: depthcast_precision_net::Probe::FRAMES,
    };
    let plan = causal::plan(&cands, &stream, memory)?;
    let estimate_m = causal::estimate(&cands, &plan);
    if plan.switches().len() == 1 {
        let run = members[plan.choice[0]].0.clone();
        return Some((CausalRun { run, plan, plan_bitrate: bitrate, estimate_m }, None));
    }
    let id = format!(
        "formats_{}k_policy-all-causal-{}-reopen{}_{}",
        bitrate / 1000,
        plan.digest(),
        opts.reopen_preroll,
        range.id()
    );
    let job = Job {
        id: id.clone(),
        codec: plan.first_codec(),
        bitrate,
        range,
        choices: (0..plan.choice.len()).map(|i| (plan.config(i), false)).collect(),
        reopen: plan.reopen(),
    };
    Some((CausalRun { plan, plan_bitrate: bitrate, estimate_m, run: id }, Some(job)))
}

/// A cell (codec configuration, bitrate, range) and every packing configuration swept in it.
type CellConfigs = ((CodecConfig, u64, RangeChoice), Vec<PackingConfig>);

/// The predictor's policy runs of one sequence: each policy of [`Policy::ALL`] within each group
/// of equal frame size (of two configurations or more), and each of [`Policy::CROSS_GROUP`]
/// among every configuration of a cell (`cells_all`).
///
/// # Errors
/// A probe encode of a predictor policy failing.
fn predictor_jobs(
    seq: &SeqData,
    groups: &[(GroupKey, Vec<(String, RunResult)>)],
    cells_all: &[CellConfigs],
    opts: &SweepOptions,
) -> anyhow::Result<Vec<Job>> {
    let mut policy_jobs = Vec::new();
    for ((codec, bitrate, range, group), members) in groups {
        if members.len() < 2 {
            continue;
        }
        let runs: Vec<&RunResult> = members.iter().map(|(_, r)| r).collect();
        let cands: Vec<PackingConfig> = members.iter().map(|(_, r)| r.packing).collect();
        let bpp = *bitrate as f64 / (f64::from(seq.width()) * f64::from(seq.height()) * seq.fps);
        let heur = analysis::heuristic_choice(&cands, codec.bits.bits(), bpp);
        for policy in Policy::ALL {
            let ch = analysis::policy_choices(policy, &runs, opts.run.gop as usize, heur);
            policy_jobs.push(Job {
                id: format!("{}_{}k_policy-{}-{}_{}", codec.id(), bitrate / 1000, group, policy.name(), range.id()),
                codec: *codec,
                bitrate: *bitrate,
                range: *range,
                choices: ch.into_iter().map(|(k, kf)| (cands[k], kf)).collect(),
                reopen: Vec::new(),
            });
        }
    }
    // The predictor's policies choose among every configuration of a cell.
    for ((codec, bitrate, range), cands) in cells_all {
        for policy in Policy::CROSS_GROUP {
            let probe = predictor::ProbeEncodes { range: *range, opts: &opts.run };
            let stream = predictor::Stream { seq, codec: *codec, bitrate: *bitrate, cands, gop: opts.run.gop as usize };
            let Some(ch) = predictor::choices(policy, stream, probe)? else {
                continue;
            };
            policy_jobs.push(Job {
                id: format!("{}_{}k_policy-all-{}_{}", codec.id(), bitrate / 1000, policy.name(), range.id()),
                codec: *codec,
                bitrate: *bitrate,
                range: *range,
                choices: ch,
                reopen: Vec::new(),
            });
        }
    }
    Ok(policy_jobs)
}

/// What `send --reprobe`'s policy chooses among: the pairs its start-up probe measured, and
/// their settled first rounds ([`first_rounds`]) by fixed run id.
#[derive(Clone, Copy)]
struct ReprobePairs<'a> {
    pairs: &'a [(Format, PackingConfig)],
    firsts: &'a BTreeMap<String, RunResult>,
}

/// `send --reprobe`'s first round over each pair its start-up probe measured in the codec it
/// chose (`probed`: bitrate, range, the chosen codec and the probe's report): the pair's first
/// GOP encoded after a pre-roll over its own first
/// [`depthcast_stream::ReprobeSettings::preroll`] frames, as the round that starts with the
/// stream encodes it: its keyframe, a GOP after the pre-roll's, is a settled encoder's. Keyed by
/// the pair's fixed run id; the measured GOP only.
///
/// # Errors
/// As [`execute`].
fn first_rounds(
    seq: &SeqData,
    dir: &Path,
    groups: &[(GroupKey, Vec<(String, RunResult)>)],
    probed: &[(u64, RangeChoice, CodecConfig, depthcast_stream::FormatProbeReport)],
    opts: &SweepOptions,
) -> anyhow::Result<BTreeMap<String, RunResult>> {
    let window = (opts.run.gop.max(1) as usize).min(seq.frames.len());
    let preroll = depthcast_stream::ReprobeSettings::default().preroll.min(window);
    let frames = seq.frames[..preroll].iter().chain(&seq.frames[..window]).cloned().collect();
    let first = SeqData { name: seq.name.clone(), fps: seq.fps, frames, near: seq.near, far: seq.far };
    let mut jobs = Vec::new();
    let mut fixed_of = BTreeMap::new();
    for (bitrate, range, chosen, report) in probed {
        // The stream keeps its codec: the rounds measure that codec's pairs only.
        let cell = groups.iter().filter(|((c, b, r, _), _)| b == bitrate && r == range && c.codec == chosen.codec);
        for ((codec, ..), members) in cell {
            for (id, run) in members {
                if report.measured.iter().any(|m| (m.format, m.config) == (codec.format(), run.packing)) {
                    let job_id = format!("first-round{preroll}_{id}");
                    fixed_of.insert(job_id.clone(), (id.clone(), run.packing));
                    let choices = vec![(run.packing, false); first.frames.len()];
                    jobs.push(Job {
                        id: job_id,
                        codec: *codec,
                        bitrate: *bitrate,
                        range: *range,
                        choices,
                        reopen: Vec::new(),
                    });
                }
            }
        }
    }
    let runs = execute(&first, dir, jobs, opts, "first re-probe rounds")?;
    Ok(runs
        .into_iter()
        .filter_map(|(job_id, rows)| {
            let (id, packing) = fixed_of.remove(&job_id)?;
            Some((id, RunResult::from_rows(packing, rows.get(preroll..)?)))
        })
        .collect())
}

/// The run id of the probe across formats at `bitrate` that chose `codec` and `packing`: what it
/// encodes is in the id, so a sweep over other formats never reuses it for another choice.
fn format_probe_id(bitrate: u64, range: RangeChoice, codec: CodecConfig, packing: &PackingConfig) -> String {
    format!("formats_{}k_policy-all-probe-{}-{}_{}", bitrate / 1000, codec.id(), packing.id(), range.id())
}

/// The probe-across-formats cells of one sequence: what each probe measured and chose, the chosen
/// stream's real error, and what it is compared with (8-bit luma with H.264, the best fixed
/// configuration of any codec).
fn summarise_formats(
    seq: &SeqData,
    groups: &[(GroupKey, Vec<(String, RunResult)>)],
    probes: &[FormatProbe],
    fixed: &BTreeMap<String, Vec<csv::Row>>,
    policy: &BTreeMap<String, Vec<csv::Row>>,
) -> Vec<analysis::FormatCell> {
    let mut out = Vec::new();
    let rows_of = |run: &String| policy.get(run).or_else(|| fixed.get(run));
    let keyframe_cell = |c: &CausalRun| {
        let (mae_mm, rate) = analysis::policy_result(rows_of(&c.run)?, seq.fps);
        Some(analysis::CausalCell {
            estimate_mm: c.estimate_m * 1e3,
            mae_mm,
            rate_ratio: rate / c.plan_bitrate as f64,
            switches: c.plan.switches().into_iter().map(|(i, k, p)| (i, k.id(), p.id())).collect(),
        })
    };
    for FormatProbe { bitrate, range, codec, report, run, causal, reprobe } in probes {
        let Some(rows) = rows_of(run) else { continue };
        let (mae_mm, rate) = analysis::policy_result(rows, seq.fps);
        let fixed =
            groups.iter().filter(|((_, b, r, _), _)| b == bitrate && r == range).flat_map(|((c, ..), members)| {
                members
                    .iter()
                    .map(move |(_, r)| (c, r.packing, r.mean_mae() * 1e3, r.bitrate(seq.fps) / *bitrate as f64))
            });
        let fixed: Vec<_> = fixed.collect();
        let luma8 = PackingConfig::luma(depthcast_packing::BitDepth::Eight);
        let luma8_h264_mm = fixed.iter().find(|f| *f.0 == CodecConfig::H264_8 && f.1 == luma8).map(|f| f.2);
        // The best of the runs that kept the bitrate, or of all when none did (as the probe).
        let any_kept = fixed.iter().any(|f| f.3 <= depthcast_stream::auto::RATE_TOLERANCE);
        let best_fixed = fixed
            .iter()
            .filter(|f| f.3 <= depthcast_stream::auto::RATE_TOLERANCE || !any_kept)
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .map_or((String::new(), String::new(), f64::INFINITY), |f| (f.0.id(), f.1.id(), f.2));
        out.push(analysis::FormatCell {
            sequence: seq.name.clone(),
            bitrate: *bitrate,
            range: range.id(),
            probe: report.measured.iter().map(|m| (m.format.id(), m.config.id(), m.mae * 1e3, m.rate)).collect(),
            chosen: (codec.id(), report.winner.id()),
            mae_mm,
            rate_ratio: rate / *bitrate as f64,
            luma8_h264_mm,
            best_fixed,
            causal: causal.as_ref().and_then(&keyframe_cell),
            reprobe: reprobe.as_ref().and_then(&keyframe_cell),
        });
    }
    out.sort_by(|a, b| (&a.range, a.bitrate).cmp(&(&b.range, b.bitrate)));
    out
}

/// Summary cells of one sequence.
fn summarise(
    seq: &SeqData,
    groups: &[(GroupKey, Vec<(String, RunResult)>)],
    policy: &BTreeMap<String, Vec<csv::Row>>,
    opts: &SweepOptions,
) -> Vec<Cell> {
    let mut cells: BTreeMap<(String, u64, String), Cell> = BTreeMap::new();
    for ((codec, bitrate, range, group), members) in groups {
        let key = (codec.id(), *bitrate, range.id());
        let cell = cells.entry(key.clone()).or_insert_with(|| Cell {
            sequence: seq.name.clone(),
            codec: key.0.clone(),
            bitrate: *bitrate,
            range: key.2.clone(),
            fixed_mae_mm: BTreeMap::new(),
            fixed_rate_ratio: BTreeMap::new(),
            best_per_family: BTreeMap::new(),
            best_fixed: (String::new(), f64::INFINITY),
            oracle_per_family_mm: BTreeMap::new(),
            oracle_movement: BTreeMap::new(),
            oracle_per_group_mm: BTreeMap::new(),
            policy_mae_mm: BTreeMap::new(),
            policy_rate_ratio: BTreeMap::new(),
        });
        for (_, r) in members {
            let id = r.packing.id();
            let mae = r.mean_mae() * 1e3;
            cell.fixed_mae_mm.insert(id.clone(), mae);
            cell.fixed_rate_ratio.insert(id.clone(), r.bitrate(seq.fps) / *bitrate as f64);
            let fam = r.packing.family();
            let better = cell.best_per_family.get(&fam).is_none_or(|(_, m)| mae < *m);
            if better {
                cell.best_per_family.insert(fam, (id.clone(), mae));
            }
            if mae < cell.best_fixed.1 {
                cell.best_fixed = (id, mae);
            }
        }
        // Per-family oracle over precisions (families never span groups).
        let mut fams: BTreeMap<String, Vec<&RunResult>> = BTreeMap::new();
        for (_, r) in members {
            fams.entry(r.packing.family()).or_default().push(r);
        }
        for (fam, runs) in fams {
            if runs.len() < 2 {
                continue;
            }
            let o = analysis::per_frame_oracle(&runs);
            let est = analysis::mean(o.iter().enumerate().map(|(i, &k)| runs[k].mae[i])) * 1e3;
            let ps: Vec<u8> = o.iter().map(|&k| runs[k].packing.precision).collect();
            cell.oracle_per_family_mm.insert(fam.clone(), est);
            cell.oracle_movement.insert(fam, analysis::movement(&ps));
        }
        let runs: Vec<&RunResult> = members.iter().map(|(_, r)| r).collect();
        let o = analysis::per_frame_oracle(&runs);
        cell.oracle_per_group_mm
            .insert(group.clone(), analysis::mean(o.iter().enumerate().map(|(i, &k)| runs[k].mae[i])) * 1e3);
        let per_group = Policy::ALL.map(|p| (p, group.as_str()));
        for (p, group) in per_group.into_iter().chain(Policy::CROSS_GROUP.map(|p| (p, "all"))) {
            let id = format!("{}_{}k_policy-{}-{}_{}", codec.id(), bitrate / 1000, group, p.name(), range.id());
            if let Some(rows) = policy.get(&id) {
                let (m, rate) = analysis::policy_result(rows, seq.fps);
                cell.policy_mae_mm.insert(format!("{group}/{}", p.name()), m);
                cell.policy_rate_ratio.insert(format!("{group}/{}", p.name()), rate / *bitrate as f64);
            }
        }
    }
    let _ = opts;
    cells.into_values().collect()
}
