//! [`AutoPacking`]: the packing configuration chosen for a stream by precision-net, per frame
//! (the switching rule of [`StreamPolicy`]) or once by the start-up probe: the network
//! shortlists, real encodes of the first frames decide ([`Probe`]).
//!
//! Every sender uses it the same way: the CLI's `send --auto [--probe]`, the Bevy sender's
//! `auto` (+ `probe`), and the sweep's predictor policies (which pass their own encode of the
//! shortlist to [`AutoPacking::probe_with`], so a sweep measures exactly what it reports).

use std::time::{Duration, Instant};

use depthcast_codec::{Decoder, EncoderSettings, Format, VideoCodec};
use depthcast_packing::{BitDepth, DepthImage, DepthView, Metrics, Packer, PackingConfig};
use depthcast_precision_net::{Probe, QuantMlp, Settings, StreamPolicy, models};

use crate::encoder::{DepthEncoder, FrameMeta};
use crate::error::{Result, StreamError};

/// What the automatic choice needs to know of the stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoSettings {
    /// Codec.
    pub codec: VideoCodec,
    /// Plane bit depth.
    pub bits: BitDepth,
    /// Target bitrate, bit/s.
    pub bitrate: u64,
    /// Frames per second.
    pub fps: f64,
    /// Keyframe interval in frames (switches happen only there).
    pub gop: u32,
}

impl AutoSettings {
    fn net_settings(&self) -> Settings {
        Settings {
            bitrate: self.bitrate as f64,
            fps: self.fps.max(1.0),
            hevc: self.codec == VideoCodec::Hevc,
            bits: self.bits.bits(),
        }
    }
}

/// What the start-up probe measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReport {
    /// Each shortlisted configuration (best-scored first, then the fallbacks) with its mean
    /// measured MAE in metres over the probe's frames (infinite where a frame was lost).
    pub measured: Vec<(PackingConfig, f64)>,
    /// The configuration that carries the stream.
    pub winner: PackingConfig,
    /// Frames measured per configuration.
    pub frames: usize,
    /// Wall time of the probe's encodes.
    pub wall: Duration,
}

/// precision-net's choice of packing configuration for one stream.
#[derive(Debug)]
pub struct AutoPacking {
    policy: StreamPolicy,
    /// The model's candidates, then fallbacks the probe added.
    configs: Vec<PackingConfig>,
    /// What the start-up probe measures beside the network's shortlist and the fallback.
    probe_also: Vec<PackingConfig>,
    /// The probe's winner: every frame takes it.
    fixed: Option<usize>,
    /// How often each entry of `configs` was chosen.
    counts: Vec<u64>,
    first: Option<usize>,
    bits: BitDepth,
    size: (u32, u32),
    last_us: f64,
}

impl AutoPacking {
    /// The committed int8 model for a `width x height` stream.
    ///
    /// # Errors
    /// The committed model names a candidate this build cannot read.
    pub fn new(settings: &AutoSettings, width: u32, height: u32) -> Result<AutoPacking> {
        AutoPacking::with_model(QuantMlp::from_bytes(models::INT8)?, settings, width, height)
    }

    /// `model` for a `width x height` stream.
    ///
    /// # Errors
    /// The model names a candidate this build cannot read.
    pub fn with_model(model: QuantMlp, settings: &AutoSettings, width: u32, height: u32) -> Result<AutoPacking> {
        let policy = StreamPolicy::new(model, settings.gop.max(1) as usize, settings.net_settings(), width, height)?;
        let configs = policy.candidates().to_vec();
        Ok(AutoPacking {
            counts: vec![0; configs.len()],
            policy,
            configs,
            probe_also: Vec::new(),
            fixed: None,
            first: None,
            bits: settings.bits,
            size: (width, height),
            last_us: 0.0,
        })
    }

    /// Has the start-up probe also measure `configs` (the network knows nothing of them): the
    /// half-size set ([`PackingConfig::half_set`]) for a stream whose receivers all rebuild
    /// half-size maps, as the Bevy sender's `probe_half`.
    pub fn probe_also(&mut self, configs: &[PackingConfig]) {
        for c in configs {
            if !self.probe_also.contains(c) {
                self.probe_also.push(*c);
            }
        }
    }

    /// The configurations it chooses among (the model's candidates, then any probe fallback).
    pub fn candidates(&self) -> &[PackingConfig] {
        &self.configs
    }

    /// The configuration for the next frame, `depth`: the probe's winner once probed, otherwise
    /// the network's choice under the switching rule (the first frame fixes the frame size;
    /// later switches stay within it, at keyframes only).
    ///
    /// # Errors
    /// The model cannot run on the features.
    pub fn choose(&mut self, depth: &DepthView<'_>) -> Result<PackingConfig> {
        let k = match self.fixed {
            Some(k) => {
                self.last_us = 0.0;
                k
            }
            None => {
                let t0 = Instant::now();
                let k = self.policy.push(depth)?;
                self.last_us = t0.elapsed().as_secs_f64() * 1e6;
                k
            }
        };
        self.first.get_or_insert(k);
        self.counts[k] += 1;
        Ok(self.configs[k])
    }

    /// Features + inference time of the last [`AutoPacking::choose`], µs (0 once probed).
    pub fn last_us(&self) -> f64 {
        self.last_us
    }

    /// Whether the stream's encoder needs regions of interest: some configuration it may choose
    /// for the stream (of `first`'s frame size, or the probe's winner) has a high-plane offset.
    pub fn needs_regions_of_interest(&self, first: &PackingConfig) -> bool {
        let (w, h) = self.size;
        let size = first.frame_size(w, h, self.bits);
        match self.fixed {
            Some(k) => self.configs[k].high_plane_qoffset().is_some(),
            None => {
                self.configs.iter().any(|c| c.high_plane_qoffset().is_some() && c.frame_size(w, h, self.bits) == size)
            }
        }
    }

    /// How many frames took each configuration so far (those chosen at least once).
    pub fn summary(&self) -> Vec<(PackingConfig, u64)> {
        self.configs.iter().zip(&self.counts).filter(|&(_, &n)| n > 0).map(|(c, &n)| (*c, n)).collect()
    }

    /// The start-up probe with real encodes: the network's [`Probe::CANDIDATES`] best-scored
    /// configurations on `frames[0]` plus the fallback (luma at the plane bit depth) and any
    /// [`Self::probe_also`] configurations are each
    /// encoded over the first [`Probe::FRAMES`] of `frames` with `settings` (the stream's
    /// encoder settings; its size is set per configuration) and the range `near..far`, decoded,
    /// unpacked and measured against the source; the best measured one carries the stream
    /// from then on. The encodes run side by side, one thread each.
    ///
    /// # Errors
    /// No frames, or an encode failing.
    pub fn probe(
        &mut self,
        frames: &[DepthImage],
        near: f32,
        far: f32,
        settings: &EncoderSettings,
    ) -> Result<ProbeReport> {
        let n = Probe::FRAMES.min(frames.len());
        let head = &frames[..n];
        self.probe_with(head, &|c: &PackingConfig| measure_encode(head, near, far, c, settings))
    }

    /// [`AutoPacking::probe`] with the caller's measurement: `measure(c)` encodes configuration
    /// `c` over the first frames as the stream will be encoded and returns each decoded frame's
    /// error (a lost frame: infinite). `frames[0]` is what the network scores.
    ///
    /// # Errors
    /// No frames, or `measure` failing.
    pub fn probe_with(
        &mut self,
        frames: &[DepthImage],
        measure: &(dyn Fn(&PackingConfig) -> Result<Vec<f64>> + Sync),
    ) -> Result<ProbeReport> {
        let first = frames.first().ok_or_else(|| StreamError::Probe("no frames to probe".into()))?;
        let mut probe = self.policy.probe(&first.view(), Probe::CANDIDATES, Probe::FRAMES)?;
        for f in fallbacks(self.bits).into_iter().chain(self.probe_also.iter().copied()) {
            let k = self.configs.iter().position(|c| *c == f).unwrap_or_else(|| {
                self.configs.push(f);
                self.counts.push(0);
                self.configs.len() - 1
            });
            probe = probe.with_candidate(k);
        }
        let shortlist: Vec<PackingConfig> = probe.shortlist().iter().map(|&k| self.configs[k]).collect();
        let t0 = Instant::now();
        let runs: Vec<Result<Vec<f64>>> = std::thread::scope(|s| {
            let jobs: Vec<_> = shortlist.iter().map(|c| s.spawn(move || measure(c))).collect();
            jobs.into_iter()
                .map(|j| j.join().unwrap_or_else(|_| Err(StreamError::Probe("a probe encode panicked".into()))))
                .collect()
        });
        let wall = t0.elapsed();
        for (slot, errors) in runs.into_iter().enumerate() {
            for e in errors? {
                probe.record(slot, e);
            }
        }
        let winner = probe.winner();
        self.fixed = Some(winner);
        let measured = shortlist.iter().copied().zip(probe.mean_errors()).collect();
        Ok(ProbeReport { measured, winner: self.configs[winner], frames: probe.frames(), wall })
    }
}

/// One encode of the start-up probe: each decoded frame's error (metres; infinite where a frame
/// did not come back) and the bits of every packet.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeEncode {
    /// Per-frame error, metres.
    pub errors: Vec<f64>,
    /// Bits of all packets.
    pub bits: u64,
}

/// One pair the start-up probe across formats measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbedPair {
    /// Format.
    pub format: Format,
    /// Packing configuration.
    pub config: PackingConfig,
    /// Mean MAE in metres over the probe's frames (infinite where a frame was lost).
    pub mae: f64,
    /// Bitrate spent over the probe's frames / the target.
    pub rate: f64,
}

impl ProbedPair {
    /// Whether the pair kept the bitrate: at most [`RATE_TOLERANCE`] times the target.
    pub fn holds_rate(&self) -> bool {
        self.rate <= RATE_TOLERANCE
    }
}

/// How far over its target bitrate a pair of the probe across formats may go and still win.
/// x265 with a strong high-plane rate split (−0.8) at 10 bits overshoots CBR at low rates (2.55x
/// the target at 1 Mbit/s on DepthOfFieldExample at 720p); a sender must keep its budget, so
/// such a pair wins only when no pair holds the rate.
pub const RATE_TOLERANCE: f64 = 1.10;

/// What a sender has measured of each (format, configuration) pair so far, and the one rule by
/// which every automatic choice across pairs picks among them ([`PairTally::best`]): the lowest
/// mean error among the pairs that held the bitrate ([`ProbedPair::holds_rate`]), among all
/// pairs when none did; a pair with a lost frame never wins over one without. The start-up probe
/// across formats ([`probe_formats`]) tallies its first frames; the best causal policy of the
/// sweep (every pair encoded side by side, switching at each keyframe to the best measured so
/// far) tallies every frame up to the keyframe; the keyframe re-probe tallies its rounds, the
/// older ones weighing less ([`PairTally::decay`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PairTally {
    pairs: Vec<(Format, PackingConfig)>,
    /// Per pair: sum of the per-frame errors (metres), frames measured, frames encoded, bits
    /// (each weighted: 1 when measured, less after [`PairTally::decay`]), whether a frame was
    /// lost.
    error_sum: Vec<f64>,
    measured: Vec<f64>,
    frames: Vec<f64>,
    bits: Vec<f64>,
    lost: Vec<bool>,
    fps: f64,
    bitrate: u64,
    /// The slower view of [`PairTally::with_long_view`], when there is one.
    long: Option<LongView>,
    /// Each pair's worst round, when pairs are scored by [`Risk`] ([`PairTally::with_risk`]).
    risk: Option<RiskView>,
}

/// A pair scored by its risk as well as its mean error ([`PairTally::with_risk`]): mean error ^
/// (1 - `rho`) x worst round ^ `rho`, where the worst round is the highest of the pair's
/// per-round mean errors, each earlier one weighed by `keep` at every later round that measures
/// the pair. The cells that miss #17's worst-cell goal are moves to a pair that measured best over
/// a round and then lost whole GOPs; its mean hides that, its worst round does not.
///
/// `rho` 0.25 with `keep` 0.8 ([`Risk::CHOSEN`]) was chosen on procedural levels and glTF
/// training orbits (the protocol in `results/half-720p/risk.md`, modelled on their fixed runs).
/// The keyframe re-probe's default ([`crate::ReprobeSettings::risk`]) since its real runs at the
/// real-time budget's preset (`superfast`) on the test cameras; in the model at `ultrafast` it
/// gained on two of them and lost on one (strafe).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Risk {
    /// The worst round's weight in the score (0: the mean alone, 1: the worst round alone).
    pub rho: f64,
    /// The worst round's weight at each later round that measures the pair (0..=1).
    pub keep: f64,
}

impl Risk {
    /// The rule the design sets chose: `rho` 0.25, `keep` 0.8.
    pub const CHOSEN: Risk = Risk { rho: 0.25, keep: 0.8 };

    /// `mean` scored with `worst` (both in metres): infinite when either is.
    fn score(self, mean: f64, worst: f64) -> f64 {
        if !(mean.is_finite() && worst.is_finite()) {
            return f64::INFINITY;
        }
        mean.powf(1.0 - self.rho) * worst.max(f64::MIN_POSITIVE).powf(self.rho)
    }
}

/// The worst round of each pair ([`PairTally::with_risk`]): `None` before a round measures it.
#[derive(Debug, Clone, PartialEq)]
struct RiskView {
    risk: Risk,
    worst: Vec<Option<f64>>,
}

/// A second, slower memory of the same measurements ([`PairTally::with_long_view`]): its weight
/// of what was measured before at each [`PairTally::decay`], and per pair the weighted sum of
/// errors and of frames measured.
#[derive(Debug, Clone, PartialEq)]
struct LongView {
    keep: f64,
    error_sum: Vec<f64>,
    measured: Vec<f64>,
}

impl PairTally {
    /// Nothing measured yet of `pairs`, for a stream at `fps` and `bitrate` bit/s.
    pub fn new(pairs: Vec<(Format, PackingConfig)>, fps: f64, bitrate: u64) -> PairTally {
        let n = pairs.len();
        PairTally {
            pairs,
            error_sum: vec![0.0; n],
            measured: vec![0.0; n],
            frames: vec![0.0; n],
            bits: vec![0.0; n],
            lost: vec![false; n],
            fps: fps.max(1.0),
            bitrate: bitrate.max(1),
            long: None,
            risk: None,
        }
    }

    /// The same tally keeping a second view of every measurement that forgets more slowly:
    /// `keep` (0..=1) is its weight of the earlier measurements at each [`PairTally::decay`]
    /// (1: every round alike). With it, [`PairTally::move_from`] moves (unforced) only when
    /// this view too has the pick's mean error below the current pair's: one good round of a
    /// pair that lost most GOPs before (10-bit half-size VBP with ROI at 1 Mbit/s on
    /// IrradianceVolume: 5.8 mm over one GOP, 29 mm over the next; 29 mm a GOP up to then)
    /// does not move the stream.
    pub fn with_long_view(mut self, keep: f64) -> PairTally {
        let n = self.pairs.len();
        self.long = Some(LongView { keep: keep.clamp(0.0, 1.0), error_sum: vec![0.0; n], measured: vec![0.0; n] });
        self
    }

    /// The same tally ranking and comparing pairs by their [`Risk`] score, not their mean error
    /// alone ([`PairTally::ranked`], [`PairTally::best_among`], [`PairTally::move_from`]): each
    /// round that measures a pair gives its mean error to [`PairTally::round_measured`]. A pair no
    /// round has measured yet is scored by its mean error.
    pub fn with_risk(mut self, risk: Risk) -> PairTally {
        let n = self.pairs.len();
        let risk = Risk { rho: risk.rho.clamp(0.0, 1.0), keep: risk.keep.clamp(0.0, 1.0) };
        self.risk = Some(RiskView { risk, worst: vec![None; n] });
        self
    }

    /// One round's `errors` of pair `k` (one per frame, metres; not finite: lost), for the
    /// [`Risk`] score: the pair's worst round becomes the higher of this round's mean error
    /// (infinite with a lost frame) and the worst so far weighed by [`Risk::keep`], or with
    /// `replace` this round's (a round that measured the start-up probe's frames again replaces
    /// what the probe measured). Nothing without [`PairTally::with_risk`] or errors.
    pub fn round_measured(&mut self, k: usize, errors: &[f64], replace: bool) {
        let Some(view) = self.risk.as_mut().filter(|_| !errors.is_empty()) else { return };
        let mean = match errors.iter().all(|e| e.is_finite()) {
            true => errors.iter().sum::<f64>() / errors.len() as f64,
            false => f64::INFINITY,
        };
        let worst = &mut view.worst[k];
        *worst = Some(match *worst {
            Some(w) if !replace => mean.max(view.risk.keep * w),
            _ => mean,
        });
    }

    /// What the rule ranks and compares each pair by (metres), in the order given: its mean error
    /// ([`PairTally::measured`]), or with [`PairTally::with_risk`] its [`Risk`] score once a
    /// round has measured it.
    pub fn scores(&self) -> Vec<f64> {
        self.scored().1
    }

    /// [`PairTally::measured`] and [`PairTally::scores`], each worked out once.
    fn scored(&self) -> (Vec<ProbedPair>, Vec<f64>) {
        let m = self.measured();
        let scores = (0..m.len())
            .map(|k| match self.risk.as_ref().and_then(|v| v.worst[k].map(|w| (v.risk, w))) {
                Some((risk, worst)) => risk.score(m[k].mae, worst),
                None => m[k].mae,
            })
            .collect();
        (m, scores)
    }

    /// The pairs, in the order given.
    pub fn pairs(&self) -> &[(Format, PackingConfig)] {
        &self.pairs
    }

    /// One more frame of pair `k`: its error in metres (not finite: lost) and its bits.
    pub fn record(&mut self, k: usize, error: f64, bits: u64) {
        self.record_run(k, &[error], bits, 1);
    }

    /// `errors` of pair `k` (one per frame; not finite: lost), and the `bits` it spent over
    /// `frames` frames (the frames the encode ran over, which may be more than were measured).
    pub fn record_run(&mut self, k: usize, errors: &[f64], bits: u64, frames: usize) {
        // One error at a time, so the sums are those of every earlier run, bit for bit.
        for &e in errors {
            if e.is_finite() {
                self.add_errors(k, e, 0.0);
            } else {
                self.lost[k] = true;
            }
        }
        self.add_errors(k, 0.0, errors.len() as f64);
        self.frames[k] += frames.max(errors.len()) as f64;
        self.bits[k] += bits as f64;
    }

    /// Forgets everything measured (the pairs stay).
    pub fn forget(&mut self) {
        let fresh = PairTally::new(std::mem::take(&mut self.pairs), self.fps, self.bitrate);
        let fresh = match self.long.as_ref() {
            Some(long) => fresh.with_long_view(long.keep),
            None => fresh,
        };
        *self = match self.risk.as_ref() {
            Some(view) => fresh.with_risk(view.risk),
            None => fresh,
        };
    }

    /// `measured` frames of pair `k` whose finite errors sum to `sum` metres, in both views.
    fn add_errors(&mut self, k: usize, sum: f64, measured: f64) {
        self.error_sum[k] += sum;
        self.measured[k] += measured;
        if let Some(long) = self.long.as_mut() {
            long.error_sum[k] += sum;
            long.measured[k] += measured;
        }
    }

    /// Forgets what was measured of pair `k` alone.
    pub fn forget_pair(&mut self, k: usize) {
        self.error_sum[k] = 0.0;
        self.measured[k] = 0.0;
        self.frames[k] = 0.0;
        self.bits[k] = 0.0;
        self.lost[k] = false;
        if let Some(long) = self.long.as_mut() {
            long.error_sum[k] = 0.0;
            long.measured[k] = 0.0;
        }
        if let Some(view) = self.risk.as_mut() {
            view.worst[k] = None;
        }
    }

    /// Weighs everything measured so far by `keep` (0..=1) against what is measured next: the
    /// keyframe re-probe's memory, so the choice follows a scene that changes. A lost frame is
    /// not forgotten. The long view ([`PairTally::with_long_view`]) weighs by its own keep.
    pub fn decay(&mut self, keep: f64) {
        let keep = keep.clamp(0.0, 1.0);
        for v in [&mut self.error_sum, &mut self.measured, &mut self.frames, &mut self.bits] {
            v.iter_mut().for_each(|x| *x *= keep);
        }
        if let Some(long) = self.long.as_mut() {
            for v in [&mut long.error_sum, &mut long.measured] {
                v.iter_mut().for_each(|x| *x *= long.keep);
            }
        }
    }

    /// Pair `k`'s mean error (metres) in the long view ([`PairTally::with_long_view`]); `None`
    /// without one or with nothing measured there. Lost frames count as in
    /// [`PairTally::measured`]: not in the mean.
    pub fn long_mae(&self, k: usize) -> Option<f64> {
        let long = self.long.as_ref()?;
        (long.measured[k] > 0.0).then(|| long.error_sum[k] / long.measured[k])
    }

    /// A measurement summarised: `frames` frames of pair `k` with mean error `mae` (metres; not
    /// finite: a frame was lost) and `bits` spent over them (what a [`ProbedPair`] reports).
    pub fn record_mean(&mut self, k: usize, mae: f64, bits: u64, frames: usize) {
        let sum = if mae.is_finite() { mae * frames as f64 } else { 0.0 };
        self.lost[k] |= !mae.is_finite();
        self.add_errors(k, sum, frames as f64);
        self.frames[k] += frames as f64;
        self.bits[k] += bits as f64;
    }

    /// Each pair's mean error (infinite where a frame was lost or none was measured) and
    /// bitrate / target, in the order given.
    pub fn measured(&self) -> Vec<ProbedPair> {
        (0..self.pairs.len())
            .map(|k| {
                let (format, config) = self.pairs[k];
                let n = self.measured[k];
                let mae = if self.lost[k] || n <= 0.0 { f64::INFINITY } else { self.error_sum[k] / n };
                let rate = self.bits[k] * self.fps / self.frames[k].max(f64::MIN_POSITIVE) / self.bitrate as f64;
                ProbedPair { format, config, mae, rate }
            })
            .collect()
    }

    /// The pair the rule picks (ties go to the earlier pair); `None` with no pairs.
    pub fn best(&self) -> Option<usize> {
        self.best_among(|_| true)
    }

    /// What a stream on pair `current` moves to by the rule among the pairs `allowed`: the pick
    /// of [`PairTally::best_among`] when its mean error (or [`Risk`] score) is below
    /// `1 - margin` times the current pair's, or when the current pair is out of the running
    /// (not allowed, a lost frame, over the bitrate where the pick holds it: [`Move::forced`]);
    /// `None` to stay. A move costs (the keyframe re-probe reopens the encoder), so a pick that is
    /// barely better is not worth one. With a long view ([`PairTally::with_long_view`]), an unforced move also needs the pick's
    /// mean error there below the current pair's.
    pub fn move_from(&self, current: usize, margin: f64, allowed: impl Fn(usize) -> bool) -> Option<Move> {
        let best = self.best_among(&allowed)?;
        if best == current {
            return None;
        }
        let (m, scores) = self.scored();
        let (now, pick) = (&m[current], &m[best]);
        let forced = !allowed(current) || !now.mae.is_finite() || (pick.holds_rate() && !now.holds_rate());
        let long_agrees = match (self.long_mae(best), self.long_mae(current)) {
            (Some(pick), Some(now)) => pick < now,
            _ => true,
        };
        let better = scores[best] < (1.0 - margin) * scores[current];
        (forced || (better && long_agrees)).then_some(Move { to: best, forced })
    }

    /// The pairs `allowed` (by index) in the rule's order: those that held the bitrate first
    /// (when any did), each part by mean error (or [`Risk`] score), then index; a pair with a
    /// lost frame or none measured last within its part. The first is [`PairTally::best_among`]'s pick.
    pub fn ranked(&self, allowed: impl Fn(usize) -> bool) -> Vec<usize> {
        let (measured, scores) = self.scored();
        let mut open: Vec<usize> = (0..measured.len()).filter(|&k| allowed(k)).collect();
        let any_holds = open.iter().any(|&k| measured[k].holds_rate());
        let misses = |k: usize| any_holds && !measured[k].holds_rate();
        open.sort_by(|&a, &b| misses(a).cmp(&misses(b)).then(scores[a].total_cmp(&scores[b])).then(a.cmp(&b)));
        open
    }

    /// The `n` pairs (at least 2, in index order) the re-probe's round number `round` (from 0)
    /// measures when it cannot measure every `allowed` one: `current` (the stream's), the
    /// `n - 2` others that rank best ([`PairTally::ranked`]), and one of the rest, by turns: in
    /// even rounds the best-ranked, in odd ones the one the tally knows least (the smallest
    /// measured weight: with [`PairTally::decay`] between rounds, the one measured longest ago;
    /// ties to the earlier pair), so that every pair is measured again now and then. Every
    /// allowed pair when `n` covers them.
    ///
    /// Rounds of 2 (what `RoundPairs::Fit` gave on a 2-core machine at 720p) had only the
    /// stalest in that place: the stream's pair and the others in turn, about twenty GOPs a
    /// turn at 720p with H.264 at 8 and 10 bits, full and half size, whatever the tally said.
    /// By turns, a challenger that measured well is measured again in the next round, while
    /// every pair still comes back. Chosen by a protocol on procedural
    /// levels and glTF training orbits in a model of the sweeps' runs (1.067x the best fixed
    /// pair against 1.090x at rounds of 2; better at 3 and 4 too). In real runs on three test
    /// cameras rounds of 4 gained 1.8–4.5% (orbit 1.018x against 1.041x) and rounds of 2 moved
    /// under 1%; see `results/shortlist-720p`.
    pub fn shortlist(&self, current: usize, n: usize, round: usize, allowed: impl Fn(usize) -> bool) -> Vec<usize> {
        let ranked = self.ranked(&allowed);
        let n = n.max(2);
        if n >= ranked.len() {
            let mut all = ranked;
            all.sort_unstable();
            return all;
        }
        let mut list: Vec<usize> = Vec::with_capacity(n);
        if allowed(current) {
            list.push(current);
        }
        list.extend(ranked.iter().copied().filter(|&k| k != current).take(n - 1 - list.len()));
        let mut rest = ranked.iter().copied().filter(|k| !list.contains(k));
        let last = if round.is_multiple_of(2) {
            rest.next()
        } else {
            rest.min_by(|&a, &b| self.measured[a].total_cmp(&self.measured[b]).then(a.cmp(&b)))
        };
        list.extend(last);
        list.sort_unstable();
        list
    }

    /// [`PairTally::best`] among the pairs `allowed` (by index); `None` when it allows none.
    pub fn best_among(&self, allowed: impl Fn(usize) -> bool) -> Option<usize> {
        let (measured, scores) = self.scored();
        let open: Vec<usize> = (0..measured.len()).filter(|&k| allowed(k)).collect();
        let any_holds = open.iter().any(|&k| measured[k].holds_rate());
        open.into_iter()
            .filter(|&k| measured[k].holds_rate() || !any_holds)
            .reduce(|best, k| if scores[k] < scores[best] { k } else { best })
    }
}

/// What the start-up probe across formats ([`probe_formats`]) measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatProbeReport {
    /// Every measured pair: the formats in the order given, each one's shortlist best-scored
    /// first, then its fallback and the scheme set.
    pub measured: Vec<ProbedPair>,
    /// The format that carries the stream.
    pub format: Format,
    /// The configuration that carries the stream.
    pub winner: PackingConfig,
    /// Frames measured per configuration.
    pub frames: usize,
    /// Wall time of the probe's encodes.
    pub wall: Duration,
}

/// The start-up probe across formats: for each of `formats` (what the sender encodes and its
/// receivers decode, see [`crate::caps::stream_formats`]) the fallback (luma at the format's bit
/// depth) and one configuration of each scheme at that bit depth ([`PackingConfig::quick_set`],
/// less what the codec cannot carry; with [`ProbeSet::NetworkAndSchemes`] also the network's
/// [`Probe::CANDIDATES`] best-scored configurations on `frames[0]`) are measured by
/// `measure(format, config)` (an encode of `frames` as the stream will be encoded at
/// `settings.bitrate` and `settings.fps`), all side by side, one thread each. The pair with the
/// lowest mean error among those that hold the bitrate ([`ProbedPair::holds_rate`]; among all
/// when none does) carries the stream. Ties go to the earlier format, then the earlier entry.
///
/// The network was trained on H.264 with 8-bit planes only, so it ranks the candidates as for
/// that format (`settings`' codec and bit depth are not shown to it), and its candidates miss
/// what wins with 10-bit planes (VBP luma at P16 with a −0.8 split, 10-bit luma): hence the
/// scheme set. See [`ProbeSet`] for how the two compare.
///
/// # Errors
/// No frames, no formats, the model failing, or `measure` failing.
pub fn probe_formats(
    frames: &[DepthImage],
    formats: &[Format],
    settings: &AutoSettings,
    measure: &(dyn Fn(Format, &PackingConfig) -> Result<ProbeEncode> + Sync),
) -> Result<FormatProbeReport> {
    probe_formats_among(frames, formats, settings, ProbeSet::default(), measure)
}

/// What the probe across formats measures in each format, besides the luma fallback.
///
/// On three unseen scenes at 720p (`results/formats-720p/`, real runs, 18 cells each) the scheme
/// set alone came within 1.040x (geomean) of the best fixed pair for Chromium's formats and
/// 1.090x for native receivers, against 1.082x and 1.109x with the network's three added; on
/// the network's own training scenes the network helped (1.009x against 1.025x). It does not
/// generalise, so the default is the scheme set (chosen on those unseen scenes: disclosed there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProbeSet {
    /// The network's three best-scored configurations and the scheme set.
    NetworkAndSchemes,
    /// The scheme set alone ([`PackingConfig::quick_set`]): no network (the default).
    #[default]
    Schemes,
    /// The scheme set and the half-size set ([`PackingConfig::half_set`]), for receivers that
    /// all rebuild half-size maps ([`crate::Receiver::upsamples_half`]).
    SchemesAndHalf,
}

/// [`probe_formats`] measuring `set` in each format.
///
/// # Errors
/// As [`probe_formats`].
pub fn probe_formats_among(
    frames: &[DepthImage],
    formats: &[Format],
    settings: &AutoSettings,
    set: ProbeSet,
    measure: &(dyn Fn(Format, &PackingConfig) -> Result<ProbeEncode> + Sync),
) -> Result<FormatProbeReport> {
    let first = frames.first().ok_or_else(|| StreamError::Probe("no frames to probe".into()))?;
    if formats.is_empty() {
        return Err(StreamError::Probe("no formats to probe".into()));
    }
    // The network's candidates best-scored first (the model runs only when it is asked).
    let ranked: Vec<PackingConfig> = match set {
        ProbeSet::Schemes | ProbeSet::SchemesAndHalf => Vec::new(),
        ProbeSet::NetworkAndSchemes => {
            let trained = AutoSettings { codec: VideoCodec::H264, bits: BitDepth::Eight, ..*settings };
            let mut auto = AutoPacking::new(&trained, first.width, first.height)?;
            let probe = auto.policy.probe(&first.view(), auto.configs.len(), Probe::FRAMES)?;
            probe.shortlist().iter().map(|&k| auto.configs[k]).collect()
        }
    };
    let mut jobs: Vec<(Format, PackingConfig)> = Vec::new();
    for &f in formats {
        let carried = |c: &PackingConfig| f.codec.carries_regions_of_interest() || c.high_plane_qoffset().is_none();
        let mut list: Vec<PackingConfig> = ranked.iter().copied().filter(carried).take(Probe::CANDIDATES).collect();
        let half = if set == ProbeSet::SchemesAndHalf { PackingConfig::half_set(f.bits) } else { Vec::new() };
        let schemes = PackingConfig::quick_set(f.bits).into_iter().chain(half).filter(carried);
        for c in fallbacks(f.bits).into_iter().chain(schemes) {
            if !list.contains(&c) {
                list.push(c);
            }
        }
        jobs.extend(list.into_iter().map(|c| (f, c)));
    }
    let n = Probe::FRAMES.min(frames.len());
    let t0 = Instant::now();
    let runs: Vec<Result<ProbeEncode>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs.iter().map(|&(f, c)| s.spawn(move || measure(f, &c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(StreamError::Probe("a probe encode panicked".into()))))
            .collect()
    });
    let wall = t0.elapsed();
    let mut tally = PairTally::new(jobs.clone(), settings.fps, settings.bitrate);
    for (slot, run) in runs.into_iter().enumerate() {
        let run = run?;
        tally.record_run(slot, &run.errors[..n.min(run.errors.len())], run.bits, run.errors.len());
    }
    let measured = tally.measured();
    let (format, winner) = jobs[tally.best().expect("at least one format, so at least its fallback")];
    Ok(FormatProbeReport { measured, format, winner, frames: n, wall })
}

/// [`probe_formats`] measured with [`measure_encode_bits`]: each pair encoded over the first
/// [`Probe::FRAMES`] of `frames` with `settings` (the stream's encoder settings; codec, bit depth,
/// size and regions of interest are set per pair) and the range `near..far`.
///
/// # Errors
/// As [`probe_formats`].
pub fn probe_formats_encoded(
    frames: &[DepthImage],
    formats: &[Format],
    auto: &AutoSettings,
    set: ProbeSet,
    near: f32,
    far: f32,
    settings: &EncoderSettings,
) -> Result<FormatProbeReport> {
    let head = &frames[..Probe::FRAMES.min(frames.len())];
    probe_formats_among(head, formats, auto, set, &|f: Format, c: &PackingConfig| {
        let mut s = settings.clone();
        s.codec = f.codec;
        s.bit_depth = f.bits;
        measure_encode_bits(head, near, far, c, &s)
    })
}

/// The configurations the probe measures whatever the network scores: plain luma at the plane
/// bit depth, the fallback where nothing beats it. Hue colourisation, which wins some training
/// cells at 1–2 Mbit/s, was tried as a second fallback and not kept: on the training scenes it
/// put more streams above plain luma (see `precision-net/models/report.md`).
pub fn fallbacks(bits: BitDepth) -> Vec<PackingConfig> {
    vec![PackingConfig::luma(bits)]
}

/// Encodes `frames` with `config` over `near..far` as one stream (no transport), decodes it and
/// returns each frame's MAE in metres against its source (infinite where a frame did not come
/// back with valid parameters).
///
/// # Errors
/// The encoder or decoder failing.
pub fn measure_encode(
    frames: &[DepthImage],
    near: f32,
    far: f32,
    config: &PackingConfig,
    settings: &EncoderSettings,
) -> Result<Vec<f64>> {
    Ok(measure_encode_bits(frames, near, far, config, settings)?.errors)
}

/// [`measure_encode`] with the bits the encoder spent.
///
/// # Errors
/// The encoder or decoder failing.
pub fn measure_encode_bits(
    frames: &[DepthImage],
    near: f32,
    far: f32,
    config: &PackingConfig,
    settings: &EncoderSettings,
) -> Result<ProbeEncode> {
    let Some(first) = frames.first() else { return Ok(ProbeEncode { errors: Vec::new(), bits: 0 }) };
    let mut run = MeasuredEncode::new(config, settings, (first.width, first.height), (near, far))?;
    for f in frames {
        run.push(f)?;
    }
    run.finish()
}

/// One pair's encode measured frame by frame as the frames come ([`measure_encode_bits`] is
/// this over a slice): each frame is packed, encoded, decoded and unpacked, and its error taken
/// against the source. `F` is how the source frames are held until their decoded frame comes
/// back (`&DepthImage` over a slice; a shared `Arc` when they arrive from another thread, as
/// in the keyframe re-probe's rounds).
pub(crate) struct MeasuredEncode<F> {
    enc: DepthEncoder,
    config: PackingConfig,
    decoded: Measure<F>,
}

/// The decoding side of a [`MeasuredEncode`], and of the keyframe re-probe's measurement of
/// the stream's own packets: frames are expected in order (their index is their position), and
/// each packet's timestamp is the index of its frame.
pub(crate) struct Measure<F> {
    dec: Decoder,
    unpacker: Packer,
    out: DepthImage,
    range: (f32, f32),
    /// Frames encoded whose decoded frame has not come back, oldest first, with their index.
    pending: std::collections::VecDeque<(usize, F)>,
    errors: Vec<f64>,
    bits: u64,
    /// Bits of each frame's packets, by the packets' timestamps.
    frame_bits: Vec<u64>,
}

impl<F: std::borrow::Borrow<DepthImage>> MeasuredEncode<F> {
    /// An encoder of `config` with `settings` (regions of interest as the configuration needs)
    /// for `width x height` depth maps over `near..far`, and its decoder.
    pub(crate) fn new(
        config: &PackingConfig,
        settings: &EncoderSettings,
        (width, height): (u32, u32),
        range: (f32, f32),
    ) -> Result<Self> {
        let mut settings = settings.clone();
        settings.regions_of_interest = config.high_plane_qoffset().is_some();
        Ok(MeasuredEncode {
            enc: DepthEncoder::new(settings.clone(), config, width, height, None)?,
            config: *config,
            decoded: Measure::new(settings.codec, (width, height), range)?,
        })
    }

    /// Encodes the next frame, and measures every frame decoded so far.
    pub(crate) fn push(&mut self, frame: F) -> Result<()> {
        let m = &mut self.decoded;
        let i = m.errors.len();
        let meta = FrameMeta { frame_index: i as u32, pts: Some(i as i64), ..FrameMeta::default() };
        let (near, far) = m.range;
        let out = self.enc.encode(&frame.borrow().view(), &self.config, near, far, &meta)?;
        m.expect(frame);
        for p in out.packets {
            m.packet(&p.data, p.pts)?;
        }
        Ok(())
    }

    /// [`MeasuredEncode::finish`] for the frames from `skip` on (those before were a
    /// pre-roll): their errors and their packets' bits.
    pub(crate) fn finish_after(self, skip: usize) -> Result<ProbeEncode> {
        let (run, frame_bits) = self.finish_all()?;
        let errors = run.errors.get(skip..).unwrap_or(&[]).to_vec();
        Ok(ProbeEncode { errors, bits: frame_bits.iter().skip(skip).sum() })
    }

    /// Flushes the encoder and decoder: each frame's error (infinite where a frame did not come
    /// back with valid parameters) and the bits of every packet.
    pub(crate) fn finish(self) -> Result<ProbeEncode> {
        Ok(self.finish_all()?.0)
    }

    /// [`MeasuredEncode::finish`], and each frame's bits.
    fn finish_all(self) -> Result<(ProbeEncode, Vec<u64>)> {
        let MeasuredEncode { enc, mut decoded, .. } = self;
        for p in enc.finish()? {
            decoded.packet(&p.data, p.pts)?;
        }
        decoded.finish()
    }
}

impl<F: std::borrow::Borrow<DepthImage>> Measure<F> {
    /// A decoder of `codec` for `width x height` depth maps over `range`.
    pub(crate) fn new(codec: VideoCodec, (width, height): (u32, u32), range: (f32, f32)) -> Result<Self> {
        Ok(Measure {
            dec: Decoder::new(codec)?,
            unpacker: Packer::default(),
            out: DepthImage::new(width, height),
            range,
            pending: std::collections::VecDeque::new(),
            errors: Vec::new(),
            bits: 0,
            frame_bits: Vec::new(),
        })
    }

    /// The source of the next frame, kept until its decoded frame comes back (its error is
    /// infinite until then).
    pub(crate) fn expect(&mut self, frame: F) {
        let i = self.errors.len();
        self.errors.push(f64::INFINITY);
        self.frame_bits.push(0);
        self.pending.push_back((i, frame));
    }

    /// Flushes the decoder: each frame's error (infinite where it did not come back with
    /// valid parameters), the bits of every packet, and each frame's bits.
    pub(crate) fn finish(mut self) -> Result<(ProbeEncode, Vec<u64>)> {
        self.dec.send_eof()?;
        while let Ok(Some(d)) = self.dec.receive_frame() {
            self.measure(d);
        }
        Ok((ProbeEncode { errors: self.errors, bits: self.bits }, self.frame_bits))
    }

    /// Decodes `data`, a packet of frame `pts`, and measures what comes back.
    pub(crate) fn packet(&mut self, data: &[u8], pts: i64) -> Result<()> {
        self.bits += 8 * data.len() as u64;
        if let Some(b) = usize::try_from(pts).ok().and_then(|i| self.frame_bits.get_mut(i)) {
            *b += 8 * data.len() as u64;
        }
        for d in self.dec.decode(data, Some(pts))?.into_iter().flatten() {
            self.measure(d);
        }
        Ok(())
    }

    /// The error of decoded frame `d` against its source; the sources of frames before it,
    /// which did not come back, are let go.
    fn measure(&mut self, d: depthcast_codec::DecodedFrame) {
        let Ok(i) = usize::try_from(d.pts) else { return };
        while self.pending.front().is_some_and(|&(k, _)| k < i) {
            self.pending.pop_front();
        }
        let Some((_, reference)) = self.pending.pop_front_if(|(k, _)| *k == i) else { return };
        let Ok(inband) = d.params else { return };
        if self.unpacker.unpack_into(&d.frame, &inband.params, &mut self.out).is_ok() {
            self.errors[i] = Metrics::mean_error(&reference.borrow().view(), &self.out.view(), self.range.1);
        }
    }
}

/// A move [`PairTally::move_from`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// The pair to move to.
    pub to: usize,
    /// The current pair is out of the running (not allowed, a lost frame, over the bitrate
    /// where the pick holds it): the stream moves whatever the margin and the confirmation.
    pub forced: bool,
}

/// When a stream on the keyframe re-probe moves, round after round: to the pair
/// [`PairTally::move_from`] picks by `margin` once the same pick has come out of `confirm`
/// rounds in a row (a forced move at once). A pair whose error swings from GOP to GOP (10-bit
/// VBP without ROI at high precision: 0.6, 49, 8.8, 0.2, 31 mm over five GOPs of a city level
/// at 32 Mbit/s) can measure best over one round and lose the next GOPs; one more round that
/// agrees is the evidence a move waits for. On six procedural levels that cost more than it
/// saved (the good moves came later, the bad picks often won two rounds too), so the re-probe's
/// default confirmation is 1: every pick by the margin moves.
///
/// With `guarded`, the stream never moves to VBP luma without a region of interest
/// ([`unguarded`]), though it may start on it (off by default in the re-probe: it helped on
/// procedural levels and hurt on the test scenes).
#[derive(Debug, Clone, PartialEq)]
pub struct MoveRule {
    margin: f64,
    confirm: usize,
    guarded: bool,
    /// The pick of the rounds so far that did not move yet, and how many rounds in a row.
    pending: Option<(usize, usize)>,
}

impl MoveRule {
    /// Moves by `margin` (a share of the current pair's mean error) after `confirm` rounds that
    /// agree (at least 1: every round's pick moves); with `guarded`, never to an [`unguarded`]
    /// pair.
    pub fn new(margin: f64, confirm: usize, guarded: bool) -> MoveRule {
        MoveRule { margin, confirm: confirm.max(1), guarded, pending: None }
    }

    /// After a round has been added to `tally`: the pair a stream on `current` moves to among
    /// those `allowed`, or `None` to stay (the pick, if any, waits for the next round).
    pub fn after_round(&mut self, tally: &PairTally, current: usize, allowed: impl Fn(usize) -> bool) -> Option<usize> {
        let pairs = tally.pairs();
        let open = |k: usize| allowed(k) && (k == current || !self.guarded || !unguarded(&pairs[k].1));
        let Some(pick) = tally.move_from(current, self.margin, open) else {
            self.pending = None;
            return None;
        };
        let rounds = match self.pending {
            Some((to, n)) if to == pick.to => n + 1,
            _ => 1,
        };
        if pick.forced || rounds >= self.confirm {
            self.pending = None;
            Some(pick.to)
        } else {
            self.pending = Some((pick.to, rounds));
            None
        }
    }
}

/// VBP luma without a region of interest: nothing keeps the bits on its high plane, and on a
/// scene's hard GOPs a CBR encoder starves it, so whole GOPs unpack a period off (procedural
/// levels in `results/half-720p`: 0.07 mm a frame over one GOP, 7.2 mm the next).
pub fn unguarded(config: &PackingConfig) -> bool {
    config.scheme == depthcast_packing::Scheme::Vbp
        && config.layout == depthcast_packing::VbpLayout::Luma
        && config.roi_high.is_none()
}

#[cfg(test)]
mod tests {
    use depthcast_packing::BitDepth;

    use super::*;

    /// Five pairs: means 5, 1, 3 (over the bitrate), 2, 4 mm; pair 4 measured over fewer frames.
    fn tally() -> PairTally {
        let configs = [
            PackingConfig::luma(BitDepth::Eight),
            PackingConfig::hue(),
            PackingConfig::vbp(16, depthcast_packing::VbpLayout::Luma),
            PackingConfig::vbp(12, depthcast_packing::VbpLayout::Luma),
            PackingConfig::vbp(14, depthcast_packing::VbpLayout::Luma),
        ];
        let mut t = PairTally::new(configs.iter().map(|&c| (Format::H264_8, c)).collect(), 30.0, 30_000);
        // 1000 bits a frame holds 30 kbit/s at 30 fps; 2000 is twice over.
        for (k, (mae, bits, frames)) in
            [(5.0, 1000, 30), (1.0, 1000, 30), (3.0, 2000, 30), (2.0, 1000, 30), (4.0, 1000, 10)]
                .into_iter()
                .enumerate()
        {
            t.record_mean(k, mae * 1e-3, bits * frames as u64, frames);
        }
        t
    }

    #[test]
    fn pairs_rank_by_the_rule_and_a_shortlist_keeps_the_current_the_best_and_the_stalest() {
        let t = tally();
        // Those that held the bitrate by error, then the one over it.
        assert_eq!(t.ranked(|_| true), vec![1, 3, 4, 0, 2]);
        assert_eq!(t.ranked(|_| true)[0], t.best().unwrap());
        assert_eq!(t.ranked(|k| k != 1), vec![3, 4, 0, 2]);
        // The current pair (0), the best other (1), and of the rest (3, 4, 2) in an odd round
        // the one measured least (4), in an even round the best-ranked (3).
        assert_eq!(t.shortlist(0, 3, 1, |_| true), vec![0, 1, 4]);
        assert_eq!(t.shortlist(0, 3, 0, |_| true), vec![0, 1, 3]);
        assert_eq!(t.shortlist(0, 3, 2, |_| true), vec![0, 1, 3]);
        // Four: the current, the two best others, then of the rest (4 and 2) the stalest (4 has
        // fewer frames) or the better-ranked (4 again: 2 is over the bitrate).
        assert_eq!(t.shortlist(0, 4, 1, |_| true), vec![0, 1, 3, 4]);
        assert_eq!(t.shortlist(0, 4, 0, |_| true), vec![0, 1, 3, 4]);
        // At least two: the current and, by turns, the best other or the stalest.
        assert_eq!(t.shortlist(1, 1, 1, |_| true), vec![1, 4]);
        assert_eq!(t.shortlist(1, 1, 0, |_| true), vec![1, 3]);
        // Every allowed pair when the list covers them.
        assert_eq!(t.shortlist(0, 9, 0, |_| true), vec![0, 1, 2, 3, 4]);
        assert_eq!(t.shortlist(0, 3, 1, |k| k != 1), vec![0, 3, 4]);
        // A current pair not allowed (it failed): the two best, then of the rest (0, 2) the
        // stalest (they tie: the earlier) or the better-ranked; 0 either way.
        assert_eq!(t.shortlist(1, 3, 1, |k| k != 1), vec![0, 3, 4]);
        assert_eq!(t.shortlist(1, 3, 0, |k| k != 1), vec![0, 3, 4]);
    }

    #[test]
    fn a_move_needs_the_margin_unless_the_current_pair_is_out_of_the_running() {
        let t = tally();
        // From pair 3 (2 mm) the best is pair 1 (1 mm): half the error.
        let to = |m: Option<Move>| m.map(|m| (m.to, m.forced));
        assert_eq!(to(t.move_from(3, 0.0, |_| true)), Some((1, false)));
        assert_eq!(to(t.move_from(3, 0.4, |_| true)), Some((1, false)));
        assert_eq!(t.move_from(3, 0.5, |_| true), None, "not better by more than half");
        assert_eq!(t.move_from(1, 0.0, |_| true), None, "already on the best");
        // From pair 2 (3 mm, over the bitrate) to one that holds it, whatever the margin; and
        // away from a pair no longer allowed (it failed).
        assert_eq!(to(t.move_from(2, 0.9, |_| true)), Some((1, true)));
        assert_eq!(to(t.move_from(3, 0.9, |k| k != 3)), Some((1, true)));
    }

    #[test]
    fn a_risk_score_holds_a_pair_back_until_its_worst_round_fades() {
        let pairs =
            vec![(Format::H264_8, PackingConfig::luma(BitDepth::Eight)), (Format::H264_8, PackingConfig::hue())];
        let plain = PairTally::new(pairs, 30.0, 30_000);
        let mut risky = plain.clone().with_risk(Risk { rho: 0.5, keep: 0.8 });
        let mut plain = plain;
        // One round of two frames per pair (mm), the newest round alone in the mean (memory 0).
        let round = |t: &mut PairTally, mm: [f64; 2], replace: bool| {
            t.decay(0.0);
            for (k, e) in mm.into_iter().enumerate() {
                let errors = [e * 1e-3; 2];
                t.record_run(k, &errors, 2000, 2);
                t.round_measured(k, &errors, replace);
            }
        };
        // The probe: pair 1 better. Then a round where it loses badly, then it is better again.
        for t in [&mut plain, &mut risky] {
            round(t, [1.0, 0.5], true);
        }
        assert_eq!((plain.best(), risky.best()), (Some(1), Some(1)), "a pair's first round is its worst");
        for t in [&mut plain, &mut risky] {
            round(t, [1.0, 8.0], false);
        }
        assert_eq!((plain.best(), risky.best()), (Some(0), Some(0)));
        // Pair 1 measures 0.5 mm again: the mean alone moves back at once; the risk score waits
        // while its worst round (8 mm, weighing 0.8 a round: 6.4, 5.1, 4.1, 3.3, 2.6, 2.1 mm)
        // keeps sqrt(0.5 x worst) above pair 0's 1 mm: six rounds.
        let mut waited = 0;
        loop {
            for t in [&mut plain, &mut risky] {
                round(t, [1.0, 0.5], false);
            }
            assert_eq!(plain.best(), Some(1));
            assert_eq!(plain.move_from(0, 0.1, |_| true).map(|m| m.to), Some(1));
            if risky.best() == Some(1) {
                break;
            }
            assert_eq!(risky.move_from(0, 0.0, |_| true), None);
            waited += 1;
        }
        assert_eq!(waited, 6);
        assert_eq!(risky.ranked(|_| true), vec![1, 0], "ranked as best_among picks");
        // The margin applies to the scores: sqrt(0.5 x 1.68) = 0.92 mm against 1 mm.
        assert_eq!(risky.move_from(0, 0.05, |_| true).map(|m| (m.to, m.forced)), Some((1, false)));
        assert_eq!(risky.move_from(0, 0.1, |_| true), None);
        // A round that replaces (one that measured the probe's frames again): the pair's worst is
        // that round's mean alone.
        risky.round_measured(1, &[9e-3; 2], true);
        assert_eq!(risky.best(), Some(0));
        risky.round_measured(1, &[0.5e-3; 2], true);
        assert_eq!(risky.best(), Some(1));
        // A round with a lost frame scores infinite, as the mean would.
        risky.round_measured(1, &[0.5e-3, f64::NAN], false);
        assert_eq!(risky.best(), Some(0));
        // Forgetting keeps the rule: a fresh tally scores by the mean until a round measures it.
        let mut fresh = risky.clone();
        fresh.forget();
        assert!(fresh.risk.as_ref().is_some_and(|v| v.worst.iter().all(Option::is_none)));
    }

    #[test]
    fn a_confirmed_move_waits_for_rounds_that_agree_and_a_forced_one_does_not() {
        // Two pairs, each round a GOP of one frame: pair 1 measures better than pair 0 (the
        // stream's) in rounds 1, 3 and 4, worse in round 2.
        let rounds = [(2.0, 1.0), (1.0, 3.0), (2.0, 1.0), (2.0, 1.0)];
        let pairs =
            || vec![(Format::H264_8, PackingConfig::luma(BitDepth::Eight)), (Format::H264_8, PackingConfig::hue())];
        let moves = |confirm: usize| {
            let mut t = PairTally::new(pairs(), 1.0, 1000);
            let mut rule = MoveRule::new(0.1, confirm, false);
            rounds
                .iter()
                .map(|&(a, b)| {
                    t.decay(0.0);
                    t.record(0, a, 1000);
                    t.record(1, b, 1000);
                    rule.after_round(&t, 0, |_| true)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(moves(1), vec![Some(1), None, Some(1), Some(1)]);
        // Round 2 breaks the run: the move waits for rounds 3 and 4.
        assert_eq!(moves(2), vec![None, None, None, Some(1)]);
        assert_eq!(moves(3), vec![None, None, None, None]);
        // Pair 0 over the bitrate: away at once, whatever the confirmation.
        let mut t = PairTally::new(pairs(), 1.0, 1000);
        t.record(0, 1.0, 5000);
        t.record(1, 2.0, 1000);
        assert_eq!(MoveRule::new(0.1, 3, false).after_round(&t, 0, |_| true), Some(1));
    }

    #[test]
    fn a_long_view_vetoes_one_good_round_of_a_pair_that_lost_before() {
        // Pair 1 loses three rounds (30 mm against 17) and then wins one (2 against 15).
        let rounds = [(17.0, 30.0), (17.0, 30.0), (17.0, 30.0), (15.0, 2.0)];
        let pairs =
            || vec![(Format::H264_8, PackingConfig::luma(BitDepth::Eight)), (Format::H264_8, PackingConfig::hue())];
        let moves = |long: Option<f64>| {
            let mut t = PairTally::new(pairs(), 1.0, 1000);
            if let Some(keep) = long {
                t = t.with_long_view(keep);
            }
            let mut rule = MoveRule::new(0.1, 1, false);
            let mut picks = Vec::new();
            for &(a, b) in &rounds {
                t.decay(0.4);
                t.record(0, a, 1000);
                t.record(1, b, 1000);
                picks.push(rule.after_round(&t, 0, |_| true));
            }
            (picks, t)
        };
        // Memory 0.4 alone: the last round tips it (pair 1 at 12.8 mm against 15.8, weighted).
        assert_eq!(moves(None).0, vec![None, None, None, Some(1)]);
        // Every round alike: 23 mm against 16.5, so the stream stays.
        let (picks, t) = moves(Some(1.0));
        assert_eq!(picks, vec![None; 4]);
        assert!((t.long_mae(1).unwrap() - 23.0).abs() < 1e-9 && (t.long_mae(0).unwrap() - 16.5).abs() < 1e-9);
        // A long view as short as the tally's agrees with it.
        assert_eq!(moves(Some(0.4)).0, moves(None).0);
        // Forgetting a pair forgets it in both views; a tally without a long view has none.
        let (_, mut t) = moves(Some(1.0));
        t.forget_pair(1);
        assert_eq!(t.long_mae(1), None);
        assert_eq!(moves(None).1.long_mae(0), None);
    }

    #[test]
    fn a_guarded_rule_never_moves_to_vbp_without_a_region_of_interest() {
        let bare = PackingConfig::vbp(16, depthcast_packing::VbpLayout::Luma);
        let roi = PackingConfig { roi_high: Some(-0.8), ..bare };
        let pairs = [PackingConfig::luma(BitDepth::Eight), bare, roi];
        assert_eq!(pairs.map(|c| unguarded(&c)), [false, true, false]);
        let mut t = PairTally::new(pairs.iter().map(|&c| (Format::H264_8, c)).collect(), 1.0, 1000);
        for (k, e) in [3.0, 1.0, 2.0].into_iter().enumerate() {
            t.record(k, e, 1000);
        }
        // From luma the best is the bare VBP; guarded, the one with an ROI.
        assert_eq!(MoveRule::new(0.1, 1, false).after_round(&t, 0, |_| true), Some(1));
        assert_eq!(MoveRule::new(0.1, 1, true).after_round(&t, 0, |_| true), Some(2));
        // A stream that started on the bare VBP is not forced off it.
        assert_eq!(MoveRule::new(0.1, 1, true).after_round(&t, 1, |_| true), None);
    }

    #[test]
    fn a_pair_measured_longest_ago_comes_back_after_the_memory_decays_the_others() {
        let mut t = tally();
        // Rounds of the current pair (0) and the best (1) and one more: in odd rounds whoever is
        // left out longest is measured next, so each comes back in turn.
        let mut seen = std::collections::BTreeSet::new();
        for r in 0..4 {
            let round = t.shortlist(0, 3, r, |_| true);
            assert!(round.contains(&0) && round.contains(&1), "{round:?}");
            t.decay(0.4);
            for &k in &round {
                t.record_mean(k, [5.0, 1.0, 3.0, 2.0, 4.0][k] * 1e-3, 1000 * 30, 30);
            }
            seen.extend(round);
        }
        assert_eq!(seen.len(), 5, "every pair measured again within four rounds: {seen:?}");
        // Forgetting one pair leaves the others.
        let before = t.measured();
        t.forget_pair(1);
        let after = t.measured();
        assert!(after[1].mae.is_infinite());
        assert_eq!((before[0], before[3]), (after[0], after[3]));
    }
}
