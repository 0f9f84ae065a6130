//! The best causal policy of issue #17, the reference the automatic choice is held to: every
//! (format, configuration) pair of a cell encoded side by side for the whole stream (the sweep's
//! fixed runs are those encodes), and at each keyframe the stream switches to the pair with the
//! lowest mean error measured so far, by the rule of every automatic choice across pairs
//! ([`PairTally::best`]: among the pairs that held the bitrate).
//!
//! Before the first keyframe nothing is measured; the stream starts, as the start-up probe's
//! stream does, with the best pair over the probe's first frames. A sender would have to run one
//! encoder per pair all the time to follow this policy, so it is a yardstick, not a mode of
//! `send`.
//!
//! [`plan`] gives its per-frame choice; [`estimate`] what that choice would cost if each frame
//! had the error of its pair's fixed run (switching is free); [`Plan::reopen`] where a real
//! single-stream encode of it reopens the encoder: at every switch, which the sweep then runs.

use depthcast_stream::{FirstRound, MoveRule, PairTally, Risk};

use super::analysis::RunResult;
use super::config::{CodecConfig, PackingConfig};

/// One candidate of a cell: a fixed run and its codec configuration.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Codec configuration.
    pub codec: CodecConfig,
    /// The fixed run of its packing configuration.
    pub run: &'a RunResult,
    /// Its first GOP encoded as `send --reprobe`'s first round encodes it: pre-rolled over the
    /// GOP's first frames, then the GOP measured (its keyframe, a GOP after the pre-roll's, a
    /// settled encoder's, unlike the fixed run's first). [`Memory::Rounds`] measures the first
    /// GOP on these when every pair of its first round has one.
    pub first: Option<&'a RunResult>,
}

/// What the best causal policy does over a sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Per frame: the index of the candidate it takes.
    pub choice: Vec<usize>,
    /// Per candidate: its codec configuration and packing configuration.
    pub pairs: Vec<(CodecConfig, PackingConfig)>,
    /// Per candidate: its packed frame size.
    sizes: Vec<(u32, u32)>,
}

impl Plan {
    /// The frames where the choice changes, with the pair taken there (frame 0 first).
    pub fn switches(&self) -> Vec<(usize, CodecConfig, PackingConfig)> {
        let mut out = Vec::new();
        for (i, &k) in self.choice.iter().enumerate() {
            if i == 0 || self.choice[i - 1] != k {
                out.push((i, self.pairs[k].0, self.pairs[k].1));
            }
        }
        out
    }

    /// The frames (after 0) where the encoder is reopened, and with which codec configuration:
    /// every switch. A new configuration inside the running encoder, even of the same codec, bit
    /// depth and frame size, keeps the old one's rate-control state and encoder settings (the
    /// adaptive quantisation a region of interest needs): on IrradianceVolumeExample at
    /// 32 Mbit/s (300 frames) a move from VBP+ROI to plain VBP at 10 bits that way gave 2.05 mm
    /// against 0.59 mm estimated from the fixed runs, with 37 mm on its first frame.
    pub fn reopen(&self) -> Vec<(usize, CodecConfig)> {
        (1..self.choice.len())
            .filter(|&i| self.choice[i - 1] != self.choice[i])
            .map(|i| (i, self.pairs[self.choice[i]].0))
            .collect()
    }

    /// Whether the pairs of frames `a` and `b` differ in codec configuration or packed frame size
    /// (what a stream's transport sees change).
    pub fn format_changes(&self, a: usize, b: usize) -> bool {
        let (x, y) = (self.choice[a], self.choice[b]);
        self.pairs[x].0 != self.pairs[y].0 || self.sizes[x] != self.sizes[y]
    }

    /// The first frame's codec configuration.
    pub fn first_codec(&self) -> CodecConfig {
        self.pairs[self.choice[0]].0
    }

    /// Frame `i`'s packing configuration.
    pub fn config(&self, i: usize) -> PackingConfig {
        self.pairs[self.choice[i]].1
    }

    /// A short stable text for run ids: the switches, hashed (FNV-1a, 32 bits, hex).
    pub fn digest(&self) -> String {
        let mut h: u32 = 0x811c_9dc5;
        for (i, c, p) in self.switches() {
            for b in format!("{i}:{}:{};", c.id(), p.id()).bytes() {
                h ^= u32::from(b);
                h = h.wrapping_mul(0x0100_0193);
            }
        }
        format!("{h:08x}")
    }
}

/// The stream a keyframe policy plans for: one sequence of `width x height` at `fps`, one bitrate
/// and range, keyframes every `gop` frames, and the start-up probe's `head` frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stream {
    /// Depth map width.
    pub width: u32,
    /// Depth map height.
    pub height: u32,
    /// Frames per second.
    pub fps: f64,
    /// Target bitrate, bit/s.
    pub bitrate: u64,
    /// Keyframe interval, frames.
    pub gop: usize,
    /// Frames the start-up probe measures.
    pub head: usize,
}

/// What a keyframe policy has measured when it picks at keyframe `g`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Memory {
    /// Every frame before `g`: the best causal policy of #17.
    SoFar,
    /// The start-up probe's frames, then rounds: what `send --reprobe` measures when each round
    /// keeps up with the stream. A round starts at a keyframe when none is running (the first
    /// with the stream), measures the `window` frames sent from there, and is in at the first
    /// keyframe after them (the next one when `window` is the GOP, as `send` sets it; with a
    /// longer window, a round every few GOPs). Before each round what
    /// was measured weighs `keep` ([`PairTally::decay`]); a round from the first frame replaces
    /// the probe's measurement instead (it measures those frames again). It keeps the codec of
    /// its first pick, as `send --reprobe` does (`depthcast_stream::ReprobeSettings`).
    Rounds(Rounds),
}

/// The rule of [`Memory::Rounds`]: the settings of `send --reprobe`
/// (`depthcast_stream::ReprobeSettings`) that its model uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rounds {
    /// Frames measured per round.
    pub window: usize,
    /// Weight of the earlier measurements against each round.
    pub keep: f64,
    /// Pairs each round measures (`depthcast_stream::RoundPairs::Shortlist`: the stream's
    /// pair, the best others and, by turns, the next best or the one measured longest ago, by
    /// [`PairTally::shortlist`], chosen at the keyframe where the round starts); `None`: every
    /// pair.
    pub pairs: Option<usize>,
    /// How much better the best pair must measure for the stream to move
    /// (`depthcast_stream::ReprobeSettings::margin`, [`PairTally::move_from`]).
    pub margin: f64,
    /// Rounds in a row that must pick the same pair before the stream moves
    /// (`depthcast_stream::ReprobeSettings::confirm`, [`MoveRule`]).
    pub confirm: usize,
    /// Never move to VBP luma without an ROI (`depthcast_stream::ReprobeSettings::guarded`).
    pub guarded: bool,
    /// The memory of the slower view a move must agree with
    /// (`depthcast_stream::ReprobeSettings::long_memory`, [`PairTally::with_long_view`]).
    pub long: Option<f64>,
    /// Pairs ranked and compared by their risk score (`depthcast_stream::ReprobeSettings::risk`,
    /// [`PairTally::with_risk`]); `None`: by mean error.
    pub risk: Option<Risk>,
    /// How the first round measures the first GOP (`depthcast_stream::ReprobeSettings::first_round`):
    /// on each candidate's [`Candidate::first`] ([`FirstRound::Settled`], where every pair of the
    /// round has one) or on its fixed run, a cold encoder from the first frame
    /// ([`FirstRound::Cold`]).
    pub first: FirstRound,
}

impl Rounds {
    /// The best causal policy's own rule (`depthcast_stream::ReprobeSettings::causal`), over
    /// `window` frames a round: with every pair in every round, the window the GOP and the GOP
    /// no shorter than the start-up probe's frames ([`Stream::head`]), its [`plan`] is
    /// [`Memory::SoFar`]'s among the candidates of the stream's codec. (With a shorter GOP the
    /// best causal policy knows the probe's frames past the first keyframe there; the first
    /// round knows only the GOP's.)
    pub fn causal(window: usize) -> Self {
        Rounds { window, ..Rounds::from(&depthcast_stream::ReprobeSettings::causal()) }
    }
}

impl From<&depthcast_stream::ReprobeSettings> for Rounds {
    /// The rule of `s`, every pair in every round.
    fn from(s: &depthcast_stream::ReprobeSettings) -> Self {
        Rounds {
            window: s.window,
            keep: s.memory,
            pairs: None,
            margin: s.margin,
            confirm: s.confirm,
            guarded: s.guarded,
            long: s.long_memory,
            risk: s.risk,
            first: s.first_round,
        }
    }
}

impl Default for Rounds {
    /// `send --reprobe`'s defaults (`depthcast_stream::ReprobeSettings::default()`), every pair
    /// in every round.
    fn default() -> Self {
        Rounds::from(&depthcast_stream::ReprobeSettings::default())
    }
}

/// The keyframe policy over `cands` with `memory`: the best pair over the start-up probe's
/// frames until the first keyframe after frame 0, then at each keyframe the best pair over what
/// it has measured (by [`PairTally::best`]). `None` without candidates or frames.
pub fn plan(cands: &[Candidate<'_>], stream: &Stream, memory: Memory) -> Option<Plan> {
    let n = cands.iter().map(|c| c.run.mae.len().min(c.run.bits.len())).min()?;
    if n == 0 {
        return None;
    }
    let pairs: Vec<(CodecConfig, PackingConfig)> = cands.iter().map(|c| (c.codec, c.run.packing)).collect();
    let sizes: Vec<(u32, u32)> =
        cands.iter().map(|c| c.run.packing.frame_size(stream.width, stream.height, c.codec.bits)).collect();
    let formats = cands.iter().map(|c| (c.codec.format(), c.run.packing)).collect();
    let mut tally = PairTally::new(formats, stream.fps, stream.bitrate);
    if let Memory::Rounds(Rounds { long: Some(keep), .. }) = memory {
        tally = tally.with_long_view(keep);
    }
    if let Memory::Rounds(Rounds { risk: Some(risk), .. }) = memory {
        tally = tally.with_risk(risk);
    }
    // Each frame is measured once (but for a round that measures the probe's frames again).
    let mut measured = vec![false; n];
    let every: Vec<usize> = (0..cands.len()).collect();
    let measure = |tally: &mut PairTally, measured: &mut [bool], frames: std::ops::Range<usize>, of: &[usize]| {
        for i in frames {
            if !std::mem::replace(&mut measured[i], true) {
                for &k in of {
                    tally.record(k, cands[k].run.mae[i], cands[k].run.bits[i]);
                }
            }
        }
    };
    // `measure`, and each pair's mean over `frames` as one round of the risk score (with
    // `replace`: a round that measures the probe's frames again).
    let measure_round =
        |tally: &mut PairTally, measured: &mut [bool], frames: std::ops::Range<usize>, of: &[usize], replace: bool| {
            measure(tally, measured, frames.clone(), of);
            for &k in of {
                tally.round_measured(k, &cands[k].run.mae[frames.clone()], replace);
            }
        };
    let gop = stream.gop.max(1);
    let mut choice: Vec<usize> = Vec::with_capacity(n);
    // The running round: the keyframe it started at, and its pairs (chosen there).
    let mut running: Option<usize> = None;
    let mut members = every.clone();
    // Rounds started so far: the shortlist's turns (`PairTally::shortlist`).
    let mut started = 0;
    let mut rule: Option<MoveRule> = None;
    for g in (0..n).step_by(gop) {
        match memory {
            _ if g == 0 => measure_round(&mut tally, &mut measured, 0..stream.head.clamp(1, n), &every, true),
            Memory::SoFar => measure(&mut tally, &mut measured, 0..g, &every),
            Memory::Rounds(Rounds { window, keep, first, .. }) => {
                // A round is in at the first keyframe after its `window` frames.
                let Some(start) = running.filter(|&s| s + window.max(1) <= g) else {
                    choice.extend(std::iter::repeat_n(choice[g - 1], gop.min(n - g)));
                    continue;
                };
                running = None;
                let round = start..start + window.max(1);
                if round.start > 0 {
                    tally.decay(keep);
                    measure_round(&mut tally, &mut measured, round, &members, false);
                } else {
                    // What the probe measured of the round's pairs is measured again.
                    members.iter().for_each(|&k| tally.forget_pair(k));
                    measured.fill(false);
                    let settled = (first == FirstRound::Settled)
                        .then(|| members.iter().map(|&k| cands[k].first.map(|f| (k, f))).collect::<Option<Vec<_>>>())
                        .flatten();
                    match settled {
                        Some(firsts) => {
                            for (k, f) in firsts {
                                let taken = f.mae.len().min(f.bits.len()).min(round.end);
                                for (&e, &b) in f.mae.iter().zip(&f.bits).take(taken) {
                                    tally.record(k, e, b);
                                }
                                tally.round_measured(k, &f.mae[..taken], true);
                            }
                            measured[round].fill(true);
                        }
                        None => measure_round(&mut tally, &mut measured, round, &members, true),
                    }
                }
            }
        }
        // `send --reprobe` keeps the start's codec: a transport carries one.
        let k = match (memory, choice.last()) {
            (Memory::Rounds(Rounds { margin, confirm, guarded, .. }), Some(&now)) => {
                let codec = pairs[now].0.codec;
                let rule = rule.get_or_insert_with(|| MoveRule::new(margin, confirm, guarded));
                rule.after_round(&tally, now, |j| pairs[j].0.codec == codec).unwrap_or(now)
            }
            _ => tally.best()?,
        };
        if let Memory::Rounds(Rounds { pairs: size, .. }) = memory {
            // The next round starts here, over pairs of the stream's codec.
            running = Some(g);
            let codec = pairs[k].0.codec;
            let same = |j: usize| pairs[j].0.codec == codec;
            members = match size {
                Some(size) => tally.shortlist(k, size, started, same),
                None => (0..pairs.len()).filter(|&j| same(j)).collect(),
            };
            started += 1;
        }
        choice.extend(std::iter::repeat_n(k, gop.min(n - g)));
    }
    Some(Plan { choice, pairs, sizes })
}

/// What [`plan`]'s choice would score if every frame had its pair's error in the fixed runs
/// (switching free): mean MAE in metres, a lost frame counted as the worst decoded frame of the
/// chosen runs.
pub fn estimate(cands: &[Candidate<'_>], plan: &Plan) -> f64 {
    let errors: Vec<f64> = plan.choice.iter().enumerate().map(|(i, &k)| cands[k].run.mae[i]).collect();
    let worst = errors.iter().copied().filter(|e| e.is_finite()).fold(0.0, f64::max);
    super::analysis::mean(errors.iter().map(|&e| if e.is_finite() { e } else { worst }))
}

#[cfg(test)]
mod tests {
    use depthcast_packing::BitDepth;

    use super::*;

    /// Rounds over `window` frames with memory `keep`, every pair in each, moving on each
    /// round's pick without a margin.
    fn rule(window: usize, keep: f64) -> Rounds {
        Rounds {
            window,
            keep,
            pairs: None,
            margin: 0.0,
            confirm: 1,
            guarded: false,
            long: None,
            risk: None,
            first: FirstRound::Settled,
        }
    }

    /// [`rule`] as a [`Memory`].
    fn rounds(window: usize, keep: f64) -> Memory {
        Memory::Rounds(rule(window, keep))
    }

    fn run(packing: PackingConfig, mae: &[f64], bits: u64) -> RunResult {
        RunResult { packing, mae: mae.to_vec(), bits: vec![bits; mae.len()] }
    }

    #[test]
    fn switches_at_keyframes_to_the_best_measured_and_reopens_at_each_switch() {
        let luma8 = PackingConfig::luma(BitDepth::Eight);
        let luma10 = PackingConfig::luma(BitDepth::Ten);
        let hue = PackingConfig::quick_set(BitDepth::Eight)
            .into_iter()
            .find(|c| c.scheme == depthcast_packing::Scheme::Hue)
            .expect("the quick set has hue");
        // 8 frames, keyframes every 3, a 2-frame head. At 1 bit/frame and 1 fps against a 1 bit/s
        // target every pair holds the rate.
        let a = run(luma8, &[1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0], 1); // best at the start
        let b = run(hue, &[2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0], 1); // same codec, better later
        let c = run(luma10, &[3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.1], 1); // other format, best later
        let h264 = CodecConfig::H264_8;
        let h264_10 = CodecConfig { bits: BitDepth::Ten, ..h264 };
        let cands = [
            Candidate { codec: h264, run: &a, first: None },
            Candidate { codec: h264, run: &b, first: None },
            Candidate { codec: h264_10, run: &c, first: None },
        ];
        let stream = Stream { width: 64, height: 32, fps: 1.0, bitrate: 1, gop: 3, head: 2 };
        let p = plan(&cands, &stream, Memory::SoFar).unwrap();
        // Frames 0..2: a (1.0 over the head). At 3: over 0..3 a 1.0, b 2.0, c 2.0: a. At 6: over
        // 0..6 a 5.0, b 1.5, c 1.0: c.
        assert_eq!(p.choice, [0, 0, 0, 0, 0, 0, 2, 2]);
        assert_eq!(p.reopen(), [(6, h264_10)]);
        assert_eq!(p.switches().len(), 2);
        assert!((estimate(&cands, &p) - (1.0 + 1.0 + 1.0 + 9.0 * 3.0 + 0.2) / 8.0).abs() < 1e-12);
        // A pair that overspends cannot win while another holds the rate: c at 3 bit/frame.
        let c3 = RunResult { bits: vec![3; 8], ..c.clone() };
        let cands3 = [cands[0], cands[1], Candidate { codec: h264_10, run: &c3, first: None }];
        let p3 = plan(&cands3, &stream, Memory::SoFar).unwrap();
        assert_eq!(p3.choice, [0, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(p3.reopen(), [(6, h264)], "every switch reopens");
        assert!(!p3.format_changes(5, 6) && p.format_changes(5, 6), "luma and hue at 8 bits share the frame size");
        assert_ne!(p3.digest(), p.digest());
        // A lost frame rules a pair out.
        let lost = run(luma8, &[0.1, f64::NAN, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 1);
        let p4 = plan(&[Candidate { codec: h264, run: &lost, first: None }, cands[1]], &stream, Memory::SoFar).unwrap();
        assert!(p4.choice.iter().all(|&k| k == 1));
        assert!(plan(&[], &stream, Memory::SoFar).is_none());
        // Rounds of two frames from each keyframe, each in at the keyframe after it, the newest
        // alone counting. At 3 the first round, over 0..2 (replacing the head's): a 1.0, b 2.0,
        // c 3.0, so a stays. At 6 the round over 3..5 (frame 5 is in no round: the window is
        // shorter than the GOP): a 9.0, b 1.0, c 0.0, so c, as the best causal policy.
        let r = plan(&cands, &stream, rounds(2, 0.0)).unwrap();
        assert_eq!(r.choice, [0, 0, 0, 0, 0, 0, 2, 2]);
        // With keyframes every 2 frames and every round alike the rounds measure every frame, as
        // the best causal policy does: at 4, c (3+3+0+0)/4 = 1.5 against a's (1+1+1+9)/4 = 3.0
        // and b's 1.75.
        let every2 = Stream { gop: 2, ..stream };
        let r2 = plan(&cands, &every2, rounds(2, 1.0)).unwrap();
        assert_eq!(r2.choice, [0, 0, 0, 0, 2, 2, 2, 2]);
        assert_eq!(r2.choice, plan(&cands, &every2, Memory::SoFar).unwrap().choice);
        // `send --reprobe` keeps its codec: with c in HEVC it never moves there; the best causal
        // policy does.
        let hevc = CodecConfig { codec: depthcast_codec::VideoCodec::Hevc, ..h264_10 };
        let mixed = [cands[0], cands[1], Candidate { codec: hevc, run: &c, first: None }];
        assert!(plan(&mixed, &every2, rounds(2, 1.0)).unwrap().choice.iter().all(|&k| k != 2));
        assert!(plan(&mixed, &every2, Memory::SoFar).unwrap().choice.contains(&2));
        // The memory: before each round what was measured weighs `keep`. e is worse than d over
        // frames 0..4, then better. At 6 the round over frames 4..6 is in: with every round
        // alike e's mean is (4 * 5 + 2 * 0.5) / 6 = 3.5 and d (1.0) stays (at 8, 2.75: still d);
        // with the newest round alone e's is 0.5 and the stream moves.
        let d = run(luma8, &[1.0; 10], 1);
        let e = run(hue, &[5.0, 5.0, 5.0, 5.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 1);
        let de = [Candidate { codec: h264, run: &d, first: None }, Candidate { codec: h264, run: &e, first: None }];
        let alike = plan(&de, &every2, rounds(2, 1.0)).unwrap();
        assert_eq!(alike.choice, [0; 10]);
        let newest = plan(&de, &every2, rounds(2, 0.0)).unwrap();
        assert_eq!(newest.choice, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        // The first round on settled encodes of the first GOP where each candidate has one (as
        // `send --reprobe` measures it): there e is better (0.5 against 1.0), so the stream moves
        // at 2, then back at 4, when the fixed runs' frames 2..4 weigh in. The best causal
        // policy has no rounds: it ignores them.
        let (df, ef) = (run(luma8, &[1.0, 1.0], 1), run(hue, &[0.5, 0.5], 1));
        let settled = [Candidate { first: Some(&df), ..de[0] }, Candidate { first: Some(&ef), ..de[1] }];
        let s = plan(&settled, &every2, rounds(2, 1.0)).unwrap();
        assert_eq!(s.choice[..6], [0, 0, 1, 1, 0, 0]);
        assert_eq!(
            plan(&settled, &every2, Memory::SoFar).unwrap().choice,
            plan(&de, &every2, Memory::SoFar).unwrap().choice
        );
        // A window of two GOPs: a round every other keyframe, as `send` runs them (a round still
        // running at a keyframe is not waited for). e's better frames from 4 on are seen by the
        // round over 4..8, in at 8; rounds of one GOP see them at 6.
        let (d12, e12) =
            (run(luma8, &[1.0; 12], 1), run(hue, &[5.0, 5.0, 5.0, 5.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 1));
        let de12 =
            [Candidate { codec: h264, run: &d12, first: None }, Candidate { codec: h264, run: &e12, first: None }];
        let long = plan(&de12, &every2, rounds(4, 0.0)).unwrap();
        assert_eq!(long.choice, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        let short = plan(&de12, &every2, rounds(2, 0.0)).unwrap();
        assert_eq!(short.choice, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
        // The best causal policy's own rule ignores them (a cold first round, every round
        // alike, no margin): it is the best causal policy.
        let causal_rule = Memory::Rounds(Rounds::causal(2));
        assert_eq!(
            plan(&settled, &every2, causal_rule).unwrap().choice,
            plan(&de, &every2, Memory::SoFar).unwrap().choice
        );
        assert_ne!(plan(&settled, &every2, causal_rule).unwrap().choice, s.choice);
        // Without one for every candidate, the fixed runs' first GOP.
        let some = [settled[0], de[1]];
        assert_eq!(plan(&some, &every2, rounds(2, 1.0)).unwrap().choice, alike.choice);
    }

    /// The best causal policy's own rule, with every pair in every round of one GOP, plans what
    /// the best causal policy plans, whatever the runs and whatever the settled first rounds
    /// measured: 200 random cells of 2 to 6 pairs of one codec, some over the bitrate, some with
    /// lost frames.
    #[test]
    fn the_causal_rule_plans_the_best_causal_policy() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let configs = PackingConfig::quick_set(BitDepth::Eight);
        let (mut moved, mut differs) = (0, 0);
        for _ in 0..200 {
            let pairs = 2 + (next() * 5.0) as usize;
            let (gop, n) = (3 + (next() * 4.0) as usize, 12 + (next() * 20.0) as usize);
            let mut runs = Vec::new();
            let mut firsts = Vec::new();
            for k in 0..pairs {
                // Each pair's error drifts over the sequence; a pair in eight spends over the
                // bitrate and one frame in fifty is lost.
                let (base, drift) = (0.5 + next(), next() - 0.5);
                let mae: Vec<f64> = (0..n)
                    .map(|i| if next() < 0.02 { f64::NAN } else { base + drift * i as f64 / n as f64 + 0.3 * next() })
                    .collect();
                let bits = if next() < 0.125 { 2 } else { 1 };
                runs.push(run(configs[k % configs.len()], &mae, bits));
                firsts.push(run(configs[k % configs.len()], &(0..gop).map(|_| next()).collect::<Vec<_>>(), 1));
            }
            let cands: Vec<Candidate<'_>> = runs
                .iter()
                .zip(&firsts)
                .map(|(run, first)| Candidate { codec: CodecConfig::H264_8, run, first: Some(first) })
                .collect();
            let stream = Stream { width: 64, height: 32, fps: 1.0, bitrate: 1, gop, head: 1 + (next() * 2.0) as usize };
            let want = plan(&cands, &stream, Memory::SoFar).unwrap();
            assert_eq!(plan(&cands, &stream, Memory::Rounds(Rounds::causal(gop))).unwrap(), want);
            moved += usize::from(want.switches().len() > 1);
            differs += usize::from(plan(&cands, &stream, Memory::Rounds(rule(gop, 1.0))).unwrap() != want);
        }
        // The cells are not all alike: the stream moves in many, and the settled first rounds
        // change the plan of many.
        assert!(moved > 50 && differs > 50, "{moved} moved, {differs} differ with settled first rounds");
    }

    #[test]
    fn a_risk_score_keeps_the_stream_off_a_pair_whose_worst_round_is_recent() {
        // e beats d but for one GOP (frames 2..4), measured by the round in at 4.
        let d = run(PackingConfig::luma(BitDepth::Eight), &[1.0; 12], 1);
        let e = run(PackingConfig::hue(), &[0.5, 0.5, 8.0, 8.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 1);
        let cands = [
            Candidate { codec: CodecConfig::H264_8, run: &d, first: None },
            Candidate { codec: CodecConfig::H264_8, run: &e, first: None },
        ];
        let stream = Stream { width: 64, height: 32, fps: 1.0, bitrate: 1, gop: 2, head: 2 };
        let plan_of = |risk| plan(&cands, &stream, Memory::Rounds(Rounds { risk, ..rule(2, 0.0) })).unwrap().choice;
        // By mean error (the newest round alone): e, d after its bad round, e again at once.
        assert_eq!(plan_of(None), [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]);
        // By the risk score with RHO 0.5 and KEEP 0.8: e's worst round (8, then 6.4, 5.12 and
        // 4.1) keeps sqrt(0.5 x worst) above d's 1.0 to the end.
        assert_eq!(plan_of(Some(Risk { rho: 0.5, keep: 0.8 })), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        // RHO 0 is the mean alone.
        assert_eq!(plan_of(Some(Risk { rho: 0.0, keep: 0.8 })), plan_of(None));
    }

    #[test]
    fn rounds_of_two_measure_the_best_other_and_the_stalest_by_turns() {
        // a holds; b, second on the probe's frame, falls to 0.1 from frame 4; c and d never win.
        let a = run(PackingConfig::luma(BitDepth::Eight), &[1.0; 10], 1);
        let b = run(PackingConfig::hue(), &[2.0, 2.0, 2.0, 2.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 1);
        let c = run(PackingConfig::vbp(16, depthcast_packing::VbpLayout::Luma), &[3.0; 10], 1);
        let d = run(PackingConfig::vbp(12, depthcast_packing::VbpLayout::Luma), &[4.0; 10], 1);
        let runs = [a, b, c, d];
        let cands: Vec<Candidate<'_>> =
            runs.iter().map(|run| Candidate { codec: CodecConfig::H264_8, run, first: None }).collect();
        let stream = Stream { width: 64, height: 32, fps: 1.0, bitrate: 1, gop: 2, head: 1 };
        let plan_of = |pairs| plan(&cands, &stream, Memory::Rounds(Rounds { pairs, ..rule(2, 0.5) })).unwrap().choice;
        // Round 0 (0..2) takes b, the best other; round 1 (2..4) c, the one measured least (its
        // probe frame alone); round 2 (4..6) b again, the best other, which measures 0.1 there:
        // at 6 b's mean (1.2 over a weight of 2.5) is below a's 1.0, and the stream moves, as it
        // does with every pair in every round. With the stalest alone in that place, round 2
        // would have taken d and the move waited for round 3, at 8.
        assert_eq!(plan_of(Some(2)), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(plan_of(None), plan_of(Some(2)));
    }

    #[test]
    fn rounds_of_a_shortlist_measure_the_current_pair_the_best_others_and_the_stalest() {
        let vbp = PackingConfig::vbp(16, depthcast_packing::VbpLayout::Luma);
        let a = run(PackingConfig::luma(BitDepth::Eight), &[1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 9.0], 1);
        let b = run(PackingConfig::hue(), &[2.0; 8], 1);
        let c = run(vbp, &[3.0, 3.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 1);
        let h264 = CodecConfig::H264_8;
        let runs = [a, b, c];
        let cands: Vec<Candidate<'_>> = runs.iter().map(|run| Candidate { codec: h264, run, first: None }).collect();
        let stream = Stream { width: 64, height: 32, fps: 1.0, bitrate: 1, gop: 2, head: 2 };
        let plan_of = |r: Rounds| plan(&cands, &stream, Memory::Rounds(r)).unwrap().choice;
        let rounds = |pairs| plan_of(Rounds { pairs, ..rule(2, 0.0) });
        // Every pair in every round (the newest alone counts): c's 0.1 over 2..4 wins at 4.
        assert_eq!(rounds(None), [0, 0, 0, 0, 2, 2, 2, 2]);
        // Two a round: the stream's pair (a) and, by turns, the best other or the one measured
        // least. Round 0 (over 0..2) takes b, the best other; round 1 (2..4) b again, the one
        // measured least (a tie with c's two probe frames: the earlier); with nothing kept
        // (keep 0) c then has no measurement and ranks last, so round 2 (4..6) takes b too, and
        // at 6 the stream moves to b (2 against a's 9), never having measured c's 0.1.
        assert_eq!(rounds(Some(2)), [0, 0, 0, 0, 0, 0, 1, 1]);
        // A list that covers every pair is every pair.
        assert_eq!(rounds(Some(3)), rounds(None));
        // A margin: at 4 the newest round has c at 0.1 against a's 1.0, past a margin of 0.5,
        // not of 0.95; at 6, 0.1 against 9.0 is past both.
        let with = |margin| plan_of(Rounds { margin, ..rule(2, 0.0) });
        assert_eq!(with(0.5), rounds(None));
        assert_eq!(with(0.95), [0, 0, 0, 0, 0, 0, 2, 2]);
        // Confirmed by rounds in a row: c is picked by the rounds over 2..4 and 4..6, so the
        // stream moves at 6 with 2, not before the stream ends with 3.
        let confirmed = |confirm| plan_of(Rounds { confirm, ..rule(2, 0.0) });
        assert_eq!(confirmed(2), [0, 0, 0, 0, 0, 0, 2, 2]);
        assert_eq!(confirmed(3), [0; 8]);
        // A long view that keeps every round must agree: at 4 it has c at 1.55 mm over 0..4
        // against a's 1.0, so the move waits for the round over 4..6 (c 1.07 against a 3.67).
        let agreed = |long| plan_of(Rounds { long, ..rule(2, 0.0) });
        assert_eq!(agreed(Some(1.0)), [0, 0, 0, 0, 0, 0, 2, 2]);
        assert_eq!(agreed(Some(0.0)), rounds(None));
    }
}
