//! Oracles and summaries computed from fixed runs, and the per-frame choices of policy runs.

use std::collections::BTreeMap;

use serde::Serialize;

use super::config::PackingConfig;
use super::csv::Row;

/// Median of the finite values (the upper one of an even count; NaN when there are none).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Mean of the finite values (NaN when there are none).
pub fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in values {
        if x.is_finite() {
            s += x;
            n += 1;
        }
    }
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// One fixed run reduced to what the analysis needs.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Packing configuration.
    pub packing: PackingConfig,
    /// Per-frame MAE in metres (NaN for a lost frame).
    pub mae: Vec<f64>,
    /// Per-frame bits.
    pub bits: Vec<u64>,
}

impl RunResult {
    /// From the rows of one run, in frame order.
    pub fn from_rows(packing: PackingConfig, rows: &[Row]) -> RunResult {
        RunResult {
            packing,
            mae: rows.iter().map(|r| r.rec.metrics.mae).collect(),
            bits: rows.iter().map(|r| r.rec.bits).collect(),
        }
    }

    /// Mean MAE over frames, with lost frames counted at the worst error seen in the run (a lost
    /// frame is never better than a decoded one).
    pub fn mean_mae(&self) -> f64 {
        let worst = self.mae.iter().copied().filter(|x| x.is_finite()).fold(0.0, f64::max);
        let v: Vec<f64> = self.mae.iter().map(|&x| if x.is_finite() { x } else { worst }).collect();
        mean(v)
    }

    /// Achieved bitrate at `fps`.
    pub fn bitrate(&self, fps: f64) -> f64 {
        self.bits.iter().sum::<u64>() as f64 / self.bits.len().max(1) as f64 * fps
    }
}

/// Per-frame oracle over `runs`: for each frame the index of the run with the lowest MAE.
pub fn per_frame_oracle(runs: &[&RunResult]) -> Vec<usize> {
    let n = runs.iter().map(|r| r.mae.len()).min().unwrap_or(0);
    (0..n)
        .map(|i| {
            let mut best = 0;
            for (k, r) in runs.iter().enumerate() {
                let (a, b) = (r.mae[i], runs[best].mae[i]);
                if a.is_finite() && (!b.is_finite() || a < b) {
                    best = k;
                }
            }
            best
        })
        .collect()
}

/// How often and how far a per-frame choice of precision moves.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Movement {
    /// Frames whose choice differs from the previous frame's.
    pub switches: usize,
    /// Fraction of frame transitions that switch.
    pub switch_rate: f64,
    /// Mean |ΔP| over the switches (bits).
    pub mean_step: f64,
    /// Largest |ΔP|.
    pub max_step: u8,
    /// Distinct precisions chosen.
    pub distinct: usize,
}

/// [`Movement`] of a sequence of precisions.
pub fn movement(ps: &[u8]) -> Movement {
    let mut m = Movement::default();
    let mut steps = Vec::new();
    for w in ps.windows(2) {
        if w[0] != w[1] {
            steps.push(w[0].abs_diff(w[1]));
        }
    }
    m.switches = steps.len();
    m.switch_rate = steps.len() as f64 / ps.len().saturating_sub(1).max(1) as f64;
    m.mean_step = mean(steps.iter().map(|&s| f64::from(s)));
    if steps.is_empty() {
        m.mean_step = 0.0;
    }
    m.max_step = steps.iter().copied().max().unwrap_or(0);
    m.distinct = ps.iter().collect::<std::collections::BTreeSet<_>>().len();
    m
}

/// Policies of policy runs. Each picks, per frame, one of a group's candidate configurations
/// (configurations of equal frame size), using the fixed runs' errors (hindsight) or a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    /// Each frame takes the configuration with the lowest error in the fixed runs; no keyframes
    /// are forced. This is what the per-frame oracle estimate assumes is free.
    OracleFrame,
    /// As [`Policy::OracleFrame`], forcing a keyframe whenever the configuration changes.
    OracleFrameKeyframe,
    /// Switch only at the stream's regular keyframes, to the configuration with the lowest mean
    /// error over the coming GOP.
    OracleGop,
    /// Start from the best fixed configuration; switch (with a forced keyframe) only after the
    /// per-frame oracle's pick has been at least 20% better for 8 frames in a row.
    OracleHysteresis,
    /// A hand-written rule from bits per depth pixel (no hindsight): see [`heuristic_choice`].
    Heuristic,
    /// The int8 predictor of `depthcast-precision-net` (no hindsight), over every configuration of
    /// the cell: the first frame fixes the frame size; later switches only at regular keyframes,
    /// within the group, with hysteresis. Planned by [`super::predictor::choices`].
    Predictor,
    /// The per-bitrate lookup table learnt from the predictor's training scenes (no hindsight),
    /// over every configuration of the cell. Planned by [`super::predictor::choices`].
    Lookup,
    /// The predictor with a start-up probe ([`depthcast_precision_net::Probe`]): its three
    /// best-scored configurations on the first frame and the fallback (plain luma) are encoded
    /// over the first 15 frames (real encodes, decoded and measured), and the best measured one
    /// carries the whole stream. Planned by [`super::predictor::choices`].
    Probe,
}

impl Policy {
    /// Every policy.
    pub const ALL: [Policy; 5] = [
        Policy::OracleFrame,
        Policy::OracleFrameKeyframe,
        Policy::OracleGop,
        Policy::OracleHysteresis,
        Policy::Heuristic,
    ];

    /// Policies over every configuration of a cell (group `all` in run ids and summaries).
    pub const CROSS_GROUP: [Policy; 3] = [Policy::Predictor, Policy::Lookup, Policy::Probe];

    /// Name used in run ids.
    pub fn name(self) -> &'static str {
        match self {
            Policy::OracleFrame => "oracle-frame",
            Policy::OracleFrameKeyframe => "oracle-frame-kf",
            Policy::OracleGop => "oracle-gop",
            Policy::OracleHysteresis => "oracle-hysteresis",
            Policy::Heuristic => "heuristic",
            Policy::Predictor => "predictor",
            Policy::Lookup => "lookup",
            Policy::Probe => "probe",
        }
    }
}

/// The rule of [`Policy::Heuristic`]: more bits per depth pixel afford more precision. With
/// `bpp = bitrate / (width · height · fps)` of the depth map, the target precision is
/// `B + clamp(round(4 · log2(bpp / 0.05)), 0, 8)`: the plain B-bit luma below 0.05 bit per pixel,
/// two more bits per doubling of the budget. Among the candidates it takes the VBP configuration
/// (preferring one with a region of interest) whose precision is closest to the target, or
/// luma-only when the target is B.
pub fn heuristic_choice(cands: &[PackingConfig], bits: u8, bpp: f64) -> usize {
    let target = f64::from(bits) + (4.0 * (bpp / 0.05).log2()).round().clamp(0.0, 8.0);
    let score = |c: &PackingConfig| -> f64 {
        let p = if c.scheme == depthcast_packing::Scheme::LumaOnly { f64::from(bits) } else { f64::from(c.precision) };
        let family_penalty = match c.scheme {
            depthcast_packing::Scheme::Vbp | depthcast_packing::Scheme::LumaOnly => 0.0,
            _ => 100.0,
        };
        (p - target).abs() + family_penalty - if c.roi_high.is_some() { 0.5 } else { 0.0 }
    };
    (0..cands.len()).min_by(|&a, &b| score(&cands[a]).total_cmp(&score(&cands[b]))).unwrap_or(0)
}

/// Per-frame choices `(candidate index, force keyframe)` of a hindsight policy over `runs`. The
/// cross-group policies ([`Policy::CROSS_GROUP`]) are planned by [`super::predictor::choices`];
/// here they fall back to the heuristic's choice.
pub fn policy_choices(policy: Policy, runs: &[&RunResult], gop: usize, heuristic: usize) -> Vec<(usize, bool)> {
    let n = runs.iter().map(|r| r.mae.len()).min().unwrap_or(0);
    let oracle = per_frame_oracle(runs);
    let best_fixed = (0..runs.len()).min_by(|&a, &b| runs[a].mean_mae().total_cmp(&runs[b].mean_mae())).unwrap_or(0);
    match policy {
        Policy::OracleFrame => oracle.iter().map(|&k| (k, false)).collect(),
        Policy::OracleFrameKeyframe => {
            let mut prev = usize::MAX;
            oracle
                .iter()
                .map(|&k| {
                    let kf = prev != usize::MAX && k != prev;
                    prev = k;
                    (k, kf)
                })
                .collect()
        }
        Policy::OracleGop => {
            let mut v = Vec::with_capacity(n);
            for start in (0..n).step_by(gop.max(1)) {
                let end = (start + gop.max(1)).min(n);
                let k = (0..runs.len())
                    .min_by(|&a, &b| {
                        mean(runs[a].mae[start..end].iter().copied())
                            .total_cmp(&mean(runs[b].mae[start..end].iter().copied()))
                    })
                    .unwrap_or(0);
                v.extend((start..end).map(|_| (k, false)));
            }
            v
        }
        Policy::OracleHysteresis => {
            let mut cur = best_fixed;
            let mut streak = 0;
            let mut v = Vec::with_capacity(n);
            for (i, &k) in oracle.iter().enumerate() {
                let better = k != cur && runs[k].mae[i] < 0.8 * runs[cur].mae[i];
                streak = if better { streak + 1 } else { 0 };
                if streak >= 8 {
                    cur = k;
                    streak = 0;
                    v.push((cur, true));
                } else {
                    v.push((cur, false));
                }
            }
            v
        }
        Policy::Heuristic | Policy::Predictor | Policy::Lookup | Policy::Probe => {
            (0..n).map(|_| (heuristic, false)).collect()
        }
    }
}

/// Summary of one (sequence, codec, bitrate, range) cell.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// Sequence.
    pub sequence: String,
    /// Codec id.
    pub codec: String,
    /// Target bitrate, bit/s.
    pub bitrate: u64,
    /// Range policy id.
    pub range: String,
    /// Mean MAE (mm) of every fixed configuration.
    pub fixed_mae_mm: BTreeMap<String, f64>,
    /// Achieved bitrate / target of every fixed configuration.
    pub fixed_rate_ratio: BTreeMap<String, f64>,
    /// Per family: its best fixed configuration and MAE (mm).
    pub best_per_family: BTreeMap<String, (String, f64)>,
    /// Best fixed configuration overall and its MAE (mm).
    pub best_fixed: (String, f64),
    /// Per family: the per-frame oracle over its precisions (estimate from separate encodes:
    /// ignores the cost of switching), MAE (mm).
    pub oracle_per_family_mm: BTreeMap<String, f64>,
    /// Per family: how the per-frame best precision moves.
    pub oracle_movement: BTreeMap<String, Movement>,
    /// Per frame-size group: the per-frame oracle over all its configurations (estimate), MAE (mm).
    pub oracle_per_group_mm: BTreeMap<String, f64>,
    /// Policy runs (real single-stream encodes), by `group/policy`: MAE (mm).
    pub policy_mae_mm: BTreeMap<String, f64>,
    /// Policy runs: achieved bitrate / target.
    pub policy_rate_ratio: BTreeMap<String, f64>,
}

/// The start-up probe across formats for one (sequence, bitrate, range): codec and bit depth are
/// chosen with the packing, then the chosen stream is encoded whole (a real single-stream run).
#[derive(Debug, Clone, Serialize)]
pub struct FormatCell {
    /// Sequence.
    pub sequence: String,
    /// Target bitrate, bit/s.
    pub bitrate: u64,
    /// Range policy id.
    pub range: String,
    /// What the probe measured over its first frames: (codec id, configuration id, MAE mm,
    /// bitrate spent / target).
    pub probe: Vec<(String, String, f64, f64)>,
    /// The probe's choice: (codec id, configuration id).
    pub chosen: (String, String),
    /// The chosen stream's MAE (mm) over the whole sequence.
    pub mae_mm: f64,
    /// Its achieved bitrate / target.
    pub rate_ratio: f64,
    /// 8-bit luma with H.264 (`h264-8`, `luma-P8-lin`), MAE (mm), when the sweep has that run.
    pub luma8_h264_mm: Option<f64>,
    /// The best fixed configuration in hindsight over every codec of the sweep, among the runs
    /// that kept the bitrate (at most [`depthcast_stream::auto::RATE_TOLERANCE`] times the
    /// target, as the probe requires; of all runs when none did): (codec id, configuration id,
    /// MAE mm).
    pub best_fixed: (String, String, f64),
    /// The best causal policy over every fixed run of the cell ([`super::causal`]), when the
    /// sweep ran it.
    pub causal: Option<CausalCell>,
    /// The keyframe policy of `send --reprobe` (rounds over the GOP before each keyframe,
    /// streamed as it is sent; [`super::causal::Memory::Rounds`]), when the sweep ran it.
    pub reprobe: Option<CausalCell>,
}

/// The best causal policy of a cell: every pair encoded side by side, switching at keyframes to
/// the best measured so far ([`super::causal`]).
#[derive(Debug, Clone, Serialize)]
pub struct CausalCell {
    /// Estimate from the fixed runs (each frame with its pair's error there; switching free),
    /// MAE (mm).
    pub estimate_mm: f64,
    /// The real single-stream run (the encoder reopened where the codec, bit depth or frame size
    /// changes), MAE (mm).
    pub mae_mm: f64,
    /// Its achieved bitrate / target.
    pub rate_ratio: f64,
    /// Where its choice changes: (frame, codec id, configuration id), frame 0 first.
    pub switches: Vec<(usize, String, String)>,
}

/// Mean MAE in mm of a policy run's rows (a lost frame counts as the run's worst frame) and its
/// bitrate in bit/s at `fps`.
pub fn policy_result(rows: &[Row], fps: f64) -> (f64, f64) {
    let mae: Vec<f64> = rows.iter().map(|r| r.rec.metrics.mae).collect();
    let bits: u64 = rows.iter().map(|r| r.rec.bits).sum();
    let worst = mae.iter().copied().filter(|x| x.is_finite()).fold(0.0, f64::max);
    let m = mean(mae.iter().map(|&x| if x.is_finite() { x } else { worst })) * 1e3;
    (m, bits as f64 / rows.len().max(1) as f64 * fps)
}
