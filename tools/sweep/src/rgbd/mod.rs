//! # RGB-D reprojection quality: measured by what the player sees
//!
//! For an RGB-D sequence (colour, depth and camera per frame; `depthcast render --colour`), each
//! total bitrate `T` and depth share `s`: the colour is encoded at `(1 − s) · T` and decoded, the
//! depth at `s · T` (i) with depthcast's automatic configuration (precision-net's start-up probe,
//! as `depthcast send --auto --probe`) and (ii) with plain 8-bit luma, each decoded and
//! unpacked. Then, for each frame offset `k` and frame `t`, the decoded colour of `t` is shown
//! at the camera of `t + k` and compared with the ground truth, the source colour of `t + k`:
//!
//! - (a) **stale**: the decoded colour of `t` as it is, not reprojected;
//! - (b) reprojected ([`depthcast_reproject`]) with the depth of the automatic configuration;
//! - (c) reprojected with the 8-bit luma depth (the same depth bitrate);
//! - (d) reprojected with the source depth, uncompressed (the method's ceiling at this colour
//!   bitrate).
//!
//! Scores: PSNR over RGB and SSIM on luma ([`quality`]); per cell also the depth MAE of (b) and
//! (c) and the bitrates the encoders produced. No Bevy here: Bevy only renders the sequences.
//!
//! Outputs (in the output folder): `cells/<sequence>/<encoder options>/<cell>.json` (one per
//! sequence, `T` and `s`: an interrupted run resumes from them), `frames.csv` (a row per cell,
//! offset and frame), `cells.csv` (a row per cell and offset), `summary.json`, `report.md`
//! (tables and the goals of issue #16) and `plots/*.png`.

pub mod encode;
mod plots;
pub mod quality;
mod report;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use depthcast_packing::{CameraBlock, DepthImage, RgbImage, YuvFrame};
use depthcast_reproject::{ReprojectSettings, Reprojector};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::encode::{RunOptions, SeqData};
use encode::{ColourRun, DepthMethod, DepthRun, encode_colour, encode_depth, rgbd_settings};

/// An RGB-D sequence in memory.
#[derive(Debug, Clone)]
pub struct RgbdData {
    /// The depth frames (and the sequence's name, frame rate and depth range).
    pub depth: SeqData,
    /// Each frame's colour, 8-bit 4:2:0 full-range BT.709, the depth's size (rounded up to even).
    pub colour: Vec<YuvFrame>,
    /// Each frame's camera.
    pub cameras: Vec<CameraBlock>,
}

impl RgbdData {
    /// Wraps the frames of one sequence.
    ///
    /// # Errors
    /// No frames, counts or sizes that disagree, colour that is not 8-bit, cameras of another
    /// image size, or no valid depth at all.
    pub fn new(
        name: String,
        fps: f64,
        depth: Vec<DepthImage>,
        colour: Vec<YuvFrame>,
        cameras: Vec<CameraBlock>,
    ) -> anyhow::Result<RgbdData> {
        let depth = SeqData::new(name, fps, depth)?;
        let (w, h, n) = (depth.width(), depth.height(), depth.frames.len());
        anyhow::ensure!(
            colour.len() == n && cameras.len() == n,
            "{}: {n} depth frames, {} colour frames, {} cameras",
            depth.name,
            colour.len(),
            cameras.len()
        );
        for (i, (c, cam)) in colour.iter().zip(&cameras).enumerate() {
            anyhow::ensure!(
                (c.width, c.height, c.bit_depth.bits()) == (w.next_multiple_of(2), h.next_multiple_of(2), 8),
                "{}: colour of frame {i} is {}x{} {}-bit, depth {w}x{h}: 8-bit of the depth's size rounded up to even needed",
                depth.name,
                c.width,
                c.height,
                c.bit_depth.bits()
            );
            let k = cam.intrinsics;
            anyhow::ensure!(
                (k.width, k.height) == (w, h),
                "{}: camera of frame {i} is for {}x{}, frames are {w}x{h}",
                depth.name,
                k.width,
                k.height
            );
        }
        Ok(RgbdData { depth, colour, cameras })
    }

    /// Loads an RGB-D sequence folder (at most `max_frames` frames).
    ///
    /// # Errors
    /// An unreadable sequence, or one without colour and cameras on every frame.
    pub fn load(dir: &Path, max_frames: Option<usize>) -> anyhow::Result<RgbdData> {
        let s = depthcast_sequence::Sequence::open(dir)?;
        anyhow::ensure!(
            s.has_colour(),
            "{}: not an RGB-D sequence (render it with `depthcast render --colour`)",
            dir.display()
        );
        let n = max_frames.map_or(s.len(), |m| m.min(s.len()));
        let (mut depth, mut colour, mut cameras) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            depth.push(s.read_frame(i)?);
            colour.push(s.read_colour(i)?.expect("has_colour checked every frame"));
            cameras.push(s.camera(i)?.expect("has_colour checked every frame"));
        }
        let name = dir.file_name().map_or("sequence".into(), |n| n.to_string_lossy().into_owned());
        RgbdData::new(crate::sanitize(&name), s.meta.fps, depth, colour, cameras)
    }

    /// The sequence's name.
    pub fn name(&self) -> &str {
        &self.depth.name
    }

    /// Frame width.
    pub fn width(&self) -> u32 {
        self.depth.width()
    }

    /// Frame height.
    pub fn height(&self) -> u32 {
        self.depth.height()
    }
}

/// Where a sequence comes from.
#[derive(Debug, Clone)]
pub enum RgbdSource {
    /// An RGB-D sequence folder (loaded when its turn comes).
    Dir(PathBuf),
    /// A sequence already in memory.
    Data(Box<RgbdData>),
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct RgbdOptions {
    /// Output folder.
    pub out: PathBuf,
    /// Total bitrates (colour + depth), bit/s, used as given (not scaled to the pixel rate).
    pub totals: Vec<u64>,
    /// Depth shares of the total, in `0.01..=0.99`.
    pub shares: Vec<f64>,
    /// Frame offsets `k`: frame `t` is shown at the camera of `t + k`.
    pub offsets: Vec<u32>,
    /// Encoder options of every track (the sweep's: software, preset, keyframe interval, one
    /// thread).
    pub run: RunOptions,
    /// Worker threads of the reprojection and scoring.
    pub threads: usize,
    /// Use at most this many frames of each sequence.
    pub max_frames: Option<usize>,
    /// Show progress bars.
    pub progress: bool,
}

/// JSON has no NaN: `f64` fields that may be NaN (no value) are written as `null` and read back
/// as NaN, so that stored cells load again.
mod nan {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        v.is_finite().then_some(*v).serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    /// The same for arrays.
    pub(super) mod arr {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub(in super::super) fn serialize<S: Serializer, const N: usize>(
            v: &[f64; N],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            v.map(|x| x.is_finite().then_some(x)).to_vec().serialize(s)
        }

        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
            d: D,
        ) -> Result<[f64; N], D::Error> {
            let v = Vec::<Option<f64>>::deserialize(d)?;
            let n = v.len();
            let a: [Option<f64>; N] =
                v.try_into().map_err(|_| serde::de::Error::invalid_length(n, &"an array of the right length"))?;
            Ok(a.map(|x| x.unwrap_or(f64::NAN)))
        }
    }
}

/// The means over the frames of one cell at one offset; each array is (a) stale, (b) auto
/// depth, (c) 8-bit luma depth, (d) source depth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffsetScores {
    /// Frame offset.
    pub k: u32,
    /// Frames scored (pairs `t`, `t + k` with both colour frames decoded).
    pub frames: usize,
    /// Mean PSNR over RGB, dB.
    #[serde(with = "nan::arr")]
    pub psnr_db: [f64; 4],
    /// Mean SSIM of luma.
    #[serde(with = "nan::arr")]
    pub ssim: [f64; 4],
    /// `(b − a) / (d − a)` of the mean PSNRs: the share of the ceiling's gain that (b) recovers
    /// (NaN where the ceiling gains less than 0.05 dB).
    #[serde(with = "nan")]
    pub gain_ratio: f64,
    /// The same for (c).
    #[serde(with = "nan")]
    pub gain_ratio_luma8: f64,
    /// Mean fraction of pixels that reprojection filled (cracks + holes + stale) with (b), (c),
    /// (d).
    #[serde(with = "nan::arr")]
    pub filled: [f64; 3],
}

/// One cell: a sequence at one total bitrate and depth share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RgbdCell {
    /// Sequence name.
    pub sequence: String,
    /// Frames of the sequence.
    pub frames: usize,
    /// Total target bitrate, bit/s.
    pub total_bitrate: u64,
    /// Depth share of it.
    pub depth_share: f64,
    /// Target bitrates of colour and depth, bit/s.
    pub target_bps: [u64; 2],
    /// Bitrates produced: colour, depth (auto), depth (8-bit luma), bit/s.
    #[serde(with = "nan::arr")]
    pub actual_bps: [f64; 3],
    /// The configuration the automatic depth took (the probe's winner).
    pub auto_config: String,
    /// What the probe measured: configuration id, mean MAE in mm over its frames.
    pub probe_mae_mm: Vec<(String, f64)>,
    /// Mean depth MAE in mm over the frames: auto, 8-bit luma.
    #[serde(with = "nan::arr")]
    pub depth_mae_mm: [f64; 2],
    /// Mean over the frames of each frame's 99th percentile of the absolute depth error, mm:
    /// auto, 8-bit luma (reprojection moves a pixel by its depth error: outliers show, where the
    /// mean hides them).
    #[serde(with = "nan::arr")]
    pub depth_p99_mm: [f64; 2],
    /// Mean fraction of pixels whose validity flipped (valid ↔ invalid, e.g. a silhouette pixel
    /// decoded as background or the reverse): auto, 8-bit luma.
    #[serde(with = "nan::arr")]
    pub depth_flipped: [f64; 2],
    /// Frames lost: colour, depth (auto), depth (luma).
    pub lost: [usize; 3],
    /// Scores per frame offset.
    pub offsets: Vec<OffsetScores>,
}

/// One scored frame of a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameScore {
    /// Frame offset.
    pub k: u32,
    /// Source frame `t` (shown at the camera of `t + k`).
    pub frame: u32,
    /// PSNR of (a), (b), (c), (d), dB.
    #[serde(with = "nan::arr")]
    pub psnr_db: [f64; 4],
    /// SSIM of (a), (b), (c), (d).
    #[serde(with = "nan::arr")]
    pub ssim: [f64; 4],
    /// Fraction of pixels filled by reprojection with (b), (c), (d).
    #[serde(with = "nan::arr")]
    pub filled: [f64; 3],
}

/// A cell with its frames, as stored on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellRecord {
    /// The cell.
    pub cell: RgbdCell,
    /// Every scored frame.
    pub rows: Vec<FrameScore>,
}

/// Runs the evaluation over `sources` (one at a time in memory), writes every output and returns
/// the cells with their frames.
///
/// # Errors
/// Unreadable inputs, unwritable outputs, or encoder failures.
pub fn run(sources: Vec<RgbdSource>, opts: &RgbdOptions) -> anyhow::Result<Vec<CellRecord>> {
    anyhow::ensure!(!opts.totals.is_empty() && !opts.shares.is_empty(), "no bitrates or depth shares to measure");
    for &s in &opts.shares {
        anyhow::ensure!((0.01..=0.99).contains(&s), "depth share {s} is outside 0.01..=0.99");
    }
    anyhow::ensure!(opts.offsets.iter().all(|&k| k > 0), "frame offsets must be at least 1");
    std::fs::create_dir_all(&opts.out)?;
    let mut records = Vec::new();
    let count = sources.len();
    for (si, src) in sources.into_iter().enumerate() {
        let seq = match src {
            RgbdSource::Dir(d) => RgbdData::load(&d, opts.max_frames)?,
            RgbdSource::Data(d) => {
                let mut d = *d;
                if let Some(m) = opts.max_frames.filter(|&m| m < d.colour.len()) {
                    d.depth.frames.truncate(m);
                    d.colour.truncate(m);
                    d.cameras.truncate(m);
                }
                d
            }
        };
        if opts.progress {
            eprintln!(
                "sequence {}/{count}: {} ({}x{}, {} frames at {} fps, depth {:.3}..{:.3} m)",
                si + 1,
                seq.name(),
                seq.width(),
                seq.height(),
                seq.colour.len(),
                seq.depth.fps,
                seq.depth.near,
                seq.depth.far
            );
        }
        records.extend(run_sequence(&seq, opts)?);
    }
    report::write_all(&opts.out, &records)?;
    Ok(records)
}

/// The cells of one sequence, each read from disk when a complete record is there.
fn run_sequence(seq: &RgbdData, opts: &RgbdOptions) -> anyhow::Result<Vec<CellRecord>> {
    let n = seq.colour.len();
    let dir =
        opts.out.join("cells").join(seq.name()).join(format!("{}-t{}-n{n}", opts.run.folder_name(), opts.run.threads));
    std::fs::create_dir_all(&dir)?;
    let truth: Vec<RgbImage> = seq.colour.iter().map(|c| RgbImage::from_yuv420(c, seq.width(), seq.height())).collect();
    let mut out = Vec::new();
    for &total in &opts.totals {
        for &share in &opts.shares {
            let path = dir.join(format!("T{}k-s{:02}.json", total / 1000, (share * 100.0).round() as u32));
            if let Some(rec) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<CellRecord>(&t).ok())
                .filter(|r| r.cell.offsets.iter().map(|o| o.k).eq(opts.offsets.iter().copied()))
            {
                if opts.progress {
                    eprintln!("  {:>5.1} Mbit/s, depth {:>2.0}%: on disk", total as f64 / 1e6, share * 100.0);
                }
                out.push(rec);
                continue;
            }
            let rec = run_cell(seq, &truth, total, share, opts)?;
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_string(&rec)?)?;
            std::fs::rename(&tmp, &path)?;
            out.push(rec);
        }
    }
    Ok(out)
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.filter(|x| x.is_finite()).fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

fn bps(bits: &[u64], fps: f64) -> f64 {
    bits.iter().sum::<u64>() as f64 / bits.len().max(1) as f64 * fps
}

/// Encodes the tracks of one cell, then reprojects and scores every frame pair.
fn run_cell(
    seq: &RgbdData,
    truth: &[RgbImage],
    total: u64,
    share: f64,
    opts: &RgbdOptions,
) -> anyhow::Result<CellRecord> {
    let t0 = std::time::Instant::now();
    let fps = seq.depth.fps;
    let settings = rgbd_settings(total, share, fps, &opts.run);
    let label = format!("{:.1} Mbit/s, depth {:.0}%", total as f64 / 1e6, share * 100.0);
    let colour = encode_colour(seq, &settings, &opts.run)?;
    let auto = &encode_depth(seq, settings.depth_bitrate(), DepthMethod::Auto, &opts.run)?;
    let luma = encode_depth(seq, settings.depth_bitrate(), DepthMethod::Luma8, &opts.run)?;
    let encode_s = t0.elapsed().as_secs_f64();
    let rows = score(seq, truth, &colour, auto, &luma, opts, &label)?;
    let offsets = opts
        .offsets
        .iter()
        .map(|&k| {
            let r: Vec<&FrameScore> = rows.iter().filter(|r| r.k == k).collect();
            let psnr_db: [f64; 4] = std::array::from_fn(|j| mean(r.iter().map(|x| x.psnr_db[j])));
            let ssim = std::array::from_fn(|j| mean(r.iter().map(|x| x.ssim[j])));
            let filled = std::array::from_fn(|j| mean(r.iter().map(|x| x.filled[j])));
            let ratio = |x: f64| {
                let ceiling = psnr_db[3] - psnr_db[0];
                if ceiling >= 0.05 { (x - psnr_db[0]) / ceiling } else { f64::NAN }
            };
            OffsetScores {
                k,
                frames: r.len(),
                psnr_db,
                ssim,
                gain_ratio: ratio(psnr_db[1]),
                gain_ratio_luma8: ratio(psnr_db[2]),
                filled,
            }
        })
        .collect();
    let cell = RgbdCell {
        sequence: seq.name().to_string(),
        frames: seq.colour.len(),
        total_bitrate: total,
        depth_share: share,
        target_bps: [settings.colour_bitrate(), settings.depth_bitrate()],
        actual_bps: [bps(&colour.bits, fps), bps(&auto.bits, fps), bps(&luma.bits, fps)],
        auto_config: auto.config.id(),
        probe_mae_mm: auto.probe.clone(),
        depth_mae_mm: [auto, &luma].map(|r| mean(r.metrics.iter().map(|m| 1e3 * m.mae))),
        depth_p99_mm: [auto, &luma].map(|r| mean(r.metrics.iter().map(|m| 1e3 * m.p99))),
        depth_flipped: [auto, &luma].map(|r| {
            let pixels = f64::from(seq.width()) * f64::from(seq.height());
            mean(r.metrics.iter().map(|m| (m.valid_to_invalid + m.invalid_to_valid) as f64 / pixels))
        }),
        lost: [
            colour.frames.iter().filter(|f| f.is_none()).count(),
            auto.received.iter().filter(|r| !**r).count(),
            luma.received.iter().filter(|r| !**r).count(),
        ],
        offsets,
    };
    if opts.progress {
        let o = cell.offsets.first();
        eprintln!(
            "  {label}: depth {} ({:.1} mm) vs luma8 ({:.1} mm); k={} PSNR a/b/c/d {} ({:.0} s encode, {:.0} s total)",
            cell.auto_config,
            cell.depth_mae_mm[0],
            cell.depth_mae_mm[1],
            o.map_or(0, |o| o.k),
            o.map_or(String::new(), |o| o.psnr_db.map(|p| format!("{p:.2}")).join("/")),
            encode_s,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(CellRecord { cell, rows })
}

/// Reprojects and scores every `(k, t)` pair of a cell on `opts.threads` workers.
fn score(
    seq: &RgbdData,
    truth: &[RgbImage],
    colour: &ColourRun,
    auto: &DepthRun,
    luma: &DepthRun,
    opts: &RgbdOptions,
    label: &str,
) -> anyhow::Result<Vec<FrameScore>> {
    let n = seq.colour.len();
    let pairs: Vec<(u32, usize)> = opts
        .offsets
        .iter()
        .flat_map(|&k| (0..n.saturating_sub(k as usize)).map(move |t| (k, t)))
        .filter(|&(k, t)| colour.frames[t].is_some() && colour.frames[t + k as usize].is_some())
        .collect();
    let pb = if opts.progress { ProgressBar::new(pairs.len() as u64) } else { ProgressBar::hidden() };
    pb.set_style(
        ProgressStyle::with_template("  {elapsed_precise} [{bar:40}] {pos}/{len} reprojections  ETA {eta}  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(label.to_string());
    let queue = Mutex::new(pairs.into_iter());
    let rows = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..opts.threads.max(1) {
            s.spawn(|| {
                let mut rp = Reprojector::new(ReprojectSettings::default());
                let mut img = RgbImage { width: 0, height: 0, data: Vec::new() };
                loop {
                    let Some((k, t)) = queue.lock().expect("queue").next() else { break };
                    let target = &seq.cameras[t + k as usize].pose;
                    let gt = &truth[t + k as usize];
                    let stale = colour.frames[t].as_ref().expect("filtered to decoded frames");
                    let mut psnr_db = [0.0; 4];
                    let mut ssim = [0.0; 4];
                    let mut filled = [0.0; 3];
                    psnr_db[0] = quality::psnr_rgb(stale, gt);
                    ssim[0] = quality::ssim_luma(stale, gt);
                    let depths = [&auto.frames[t], &luma.frames[t], &seq.depth.frames[t]];
                    for (j, depth) in depths.into_iter().enumerate() {
                        let st = rp.reproject(stale, depth, &seq.cameras[t], target, &mut img);
                        psnr_db[j + 1] = quality::psnr_rgb(&img, gt);
                        ssim[j + 1] = quality::ssim_luma(&img, gt);
                        filled[j] = (st.cracks_filled + st.holes_filled + st.stale) as f64 / st.pixels.max(1) as f64;
                    }
                    rows.lock().expect("rows").push(FrameScore { k, frame: t as u32, psnr_db, ssim, filled });
                    pb.inc(1);
                }
            });
        }
    });
    pb.finish_and_clear();
    let mut rows = rows.into_inner().expect("rows");
    rows.sort_by_key(|r| (r.k, r.frame));
    Ok(rows)
}
