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

use depthcast_stream::PairTally;

use super::analysis::RunResult;
use super::config::{CodecConfig, PackingConfig};

/// One candidate of a cell: a fixed run and its codec configuration.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Codec configuration.
    pub codec: CodecConfig,
    /// The fixed run of its packing configuration.
    pub run: &'a RunResult,
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

/// The best causal policy over `cands` (all for one sequence of `width x height` at `fps`, one
/// bitrate `bitrate` and one range): the best pair over the first `head` frames until the first
/// keyframe after frame 0, then at each keyframe `g` (every `gop` frames) the best pair over
/// frames `0..g`. `None` without candidates or frames.
pub fn plan(
    cands: &[Candidate<'_>],
    width: u32,
    height: u32,
    fps: f64,
    bitrate: u64,
    gop: usize,
    head: usize,
) -> Option<Plan> {
    let n = cands.iter().map(|c| c.run.mae.len().min(c.run.bits.len())).min()?;
    if n == 0 {
        return None;
    }
    let pairs: Vec<(CodecConfig, PackingConfig)> = cands.iter().map(|c| (c.codec, c.run.packing)).collect();
    let sizes = cands.iter().map(|c| c.run.packing.frame_size(width, height, c.codec.bits)).collect();
    let mut tally = PairTally::new(cands.iter().map(|c| (c.codec.format(), c.run.packing)).collect(), fps, bitrate);
    let mut measured = 0;
    let mut measure_to = |tally: &mut PairTally, to: usize| {
        for i in measured..to {
            for (k, c) in cands.iter().enumerate() {
                tally.record(k, c.run.mae[i], c.run.bits[i]);
            }
        }
        measured = measured.max(to);
    };
    let gop = gop.max(1);
    let mut choice = Vec::with_capacity(n);
    for g in (0..n).step_by(gop) {
        measure_to(&mut tally, if g == 0 { head.clamp(1, n) } else { g });
        let k = tally.best()?;
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

    fn run(packing: PackingConfig, mae: &[f64], bits: u64) -> RunResult {
        RunResult { packing, mae: mae.to_vec(), bits: vec![bits; mae.len()] }
    }

    #[test]
    fn switches_at_keyframes_to_the_best_so_far_and_reopens_only_for_a_new_format() {
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
            Candidate { codec: h264, run: &a },
            Candidate { codec: h264, run: &b },
            Candidate { codec: h264_10, run: &c },
        ];
        let p = plan(&cands, 64, 32, 1.0, 1, 3, 2).unwrap();
        // Frames 0..2: a (1.0 over the head). At 3: over 0..3 a 1.0, b 2.0, c 2.0: a. At 6: over
        // 0..6 a 5.0, b 1.5, c 1.0: c.
        assert_eq!(p.choice, [0, 0, 0, 0, 0, 0, 2, 2]);
        assert_eq!(p.reopen(), [(6, h264_10)]);
        assert_eq!(p.switches().len(), 2);
        assert!((estimate(&cands, &p) - (1.0 + 1.0 + 1.0 + 9.0 * 3.0 + 0.2) / 8.0).abs() < 1e-12);
        // A pair that overspends cannot win while another holds the rate: c at 3 bit/frame.
        let c3 = RunResult { bits: vec![3; 8], ..c.clone() };
        let cands3 = [cands[0], cands[1], Candidate { codec: h264_10, run: &c3 }];
        let p3 = plan(&cands3, 64, 32, 1.0, 1, 3, 2).unwrap();
        assert_eq!(p3.choice, [0, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(p3.reopen(), [(6, h264)], "every switch reopens");
        assert!(!p3.format_changes(5, 6) && p.format_changes(5, 6), "luma and hue at 8 bits share the frame size");
        assert_ne!(p3.digest(), p.digest());
        // A lost frame rules a pair out.
        let lost = run(luma8, &[0.1, f64::NAN, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 1);
        let p4 = plan(&[Candidate { codec: h264, run: &lost }, cands[1]], 64, 32, 1.0, 1, 3, 2).unwrap();
        assert!(p4.choice.iter().all(|&k| k == 1));
        assert!(plan(&[], 64, 32, 1.0, 1, 3, 2).is_none());
    }
}
