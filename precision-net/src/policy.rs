//! What to do with the predictions: the causal switching rule, and the per-bitrate lookup table
//! baseline learnt from the same training scenes.
//!
//! Switching the packing configuration mid-stream breaks inter prediction, and a configuration of
//! another frame size (the tall VBP-luma frames) cannot be switched to at all without a new
//! stream. So [`Switcher`] picks a configuration on the first frame among every candidate (this
//! fixes the frame size), and afterwards only at the stream's regular keyframes, only within the
//! same frame-size group, and only when the mean score over the last GOP beats the current one by a
//! margin (hysteresis). It never forces a keyframe.
//!
//! The frame size is the one decision that cannot be revisited. The committed model chooses it
//! on the first frame like any other (its metadata says `first_frame = network`; it was trained
//! with first-frame copies of every sample costed over the whole stream). An older model, which
//! preferred the tall VBP frames at every bitrate, had `first_frame` unset: for such models
//! [`Switcher::with_first_group`] fixes the group from the bitrate alone (the lookup table's
//! choice, learnt over the training scenes) and the network chooses within it.

use std::collections::BTreeMap;

use depthcast_packing::{BitDepth, DepthView, PackingConfig};

use crate::{Engine, FeatureExtractor, QuantMlp, Result, Settings};

/// A frame-size group: the frame size (luma plane) a configuration produces for the stream. A
/// stream keeps one frame size, so it switches only within a group.
pub type FrameSize = (u32, u32);

/// precision-net in the loop of one stream: each frame's features and the stream's settings go
/// through the int8 model, and a [`Switcher`] turns the scores into the configuration to pack the
/// frame with. The candidates are the model's ([`QuantMlp::candidates`]), grouped by the frame
/// size each gives this stream. Who chooses the first frame's frame size is the model's metadata:
/// see [`first_group`].
#[derive(Debug)]
pub struct StreamPolicy {
    engine: Engine,
    features: FeatureExtractor,
    switcher: Switcher,
    settings: Settings,
    candidates: Vec<PackingConfig>,
    frame: usize,
}

impl StreamPolicy {
    /// The policy for a `width x height` stream with `settings` and a keyframe every `gop`
    /// frames. The switching margin and lookup table come from the model's metadata.
    ///
    /// # Errors
    /// The model names a candidate this build cannot read.
    pub fn new(model: QuantMlp, gop: usize, settings: Settings, width: u32, height: u32) -> Result<Self> {
        let candidates = model.candidates()?;
        let bits = BitDepth::from_bits(settings.bits).unwrap_or(BitDepth::Eight);
        let groups: Vec<FrameSize> = candidates.iter().map(|c| c.frame_size(width, height, bits)).collect();
        let margin = model.metadata.get("margin").and_then(|m| m.parse().ok()).unwrap_or(0.1);
        let first_group = first_group(&model.metadata, &groups, settings.bpp(width, height));
        let mut switcher = Switcher::new(groups, gop, margin);
        if let Some(g) = first_group {
            switcher = switcher.with_first_group(g);
        }
        Ok(StreamPolicy {
            engine: Engine::new(model),
            features: FeatureExtractor::new(),
            switcher,
            settings,
            candidates,
            frame: 0,
        })
    }

    /// The configurations the model scores, in output order.
    pub fn candidates(&self) -> &[PackingConfig] {
        &self.candidates
    }

    /// The engine (its level, and the model with its metadata).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The candidate (index into [`StreamPolicy::candidates`]) to pack the next frame, `depth`,
    /// with.
    ///
    /// # Errors
    /// The model cannot run on the features (a model with another input size).
    pub fn push(&mut self, depth: &DepthView<'_>) -> Result<usize> {
        let x = self.features.extract(depth, &self.settings);
        let scores = self.engine.scores(&x)?;
        let k = self.switcher.push(self.frame, &scores);
        self.frame += 1;
        Ok(k)
    }

    /// A [`Probe`] of the network's `candidates` best-scored outputs on the stream's first frame,
    /// `depth`, measured over `frames` frames (the model's first-frame group rule applies, as in
    /// [`StreamPolicy::push`]). Does not advance the stream: push the frames as usual, or take the
    /// probe's winner for the whole stream.
    ///
    /// # Errors
    /// The model cannot run on the features.
    pub fn probe(&mut self, depth: &DepthView<'_>, candidates: usize, frames: usize) -> Result<Probe> {
        let x = self.features.extract(depth, &self.settings);
        let scores = self.engine.scores(&x)?;
        let allowed: Vec<bool> = (0..scores.len()).map(|k| self.switcher.first_allowed(k)).collect();
        Ok(Probe::new(&scores, &allowed, candidates, frames))
    }
}

/// The start-up probe: the network shortlists, real encodes decide.
///
/// On scenes it never saw, the network's misses are mostly near-ties it ranks one step off (the
/// region-of-interest strength, or the frame size at the first frame), and the candidate it ranks
/// second or third is then the best. A sender that can run `candidates` encoders for the first
/// `frames` frames encodes each shortlisted candidate, decodes each stream and measures it
/// against the source depth ([`Probe::record`]), and keeps the [`Probe::winner`] for the stream:
/// its encoder simply goes on, the others are dropped, and the stream starts `frames` frames late.
/// [`Probe::CANDIDATES`], [`Probe::FRAMES`] and the fallbacks ([`Probe::with_candidate`]) were
/// chosen on the training scenes' sweeps (see `precision-net/models/report.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    shortlist: Vec<usize>,
    frames: usize,
    errors: Vec<Vec<f64>>,
}

impl Probe {
    /// Default shortlist length.
    pub const CANDIDATES: usize = 3;
    /// Default probe length in frames (half a second at 30 fps).
    pub const FRAMES: usize = 15;

    /// The `candidates` highest of `scores` among the `allowed` ones (best first; ties keep the
    /// model's order), measured over `frames` frames (at least 1).
    ///
    /// # Panics
    /// If `allowed` does not have one flag per score.
    pub fn new(scores: &[f32], allowed: &[bool], candidates: usize, frames: usize) -> Probe {
        assert_eq!(scores.len(), allowed.len(), "one flag per score");
        let mut order: Vec<usize> = (0..scores.len()).filter(|&k| allowed[k]).collect();
        if order.is_empty() {
            order = (0..scores.len()).collect();
        }
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        order.truncate(candidates.max(1));
        let n = order.len();
        Probe { shortlist: order, frames: frames.max(1), errors: vec![Vec::new(); n] }
    }

    /// The same probe with its shortlist renumbered by `renumber`: from model outputs to the sender's
    /// own list of configurations, which may hold fallbacks the model does not score.
    pub fn map_candidates(mut self, renumber: impl Fn(usize) -> usize) -> Probe {
        for k in &mut self.shortlist {
            *k = renumber(*k);
        }
        self
    }

    /// Adds `candidate` to the shortlist if it is not on it: a safe fallback the network can
    /// rank out of its top candidates at low bitrates, where nothing beats it (8-bit luma).
    pub fn with_candidate(mut self, candidate: usize) -> Probe {
        if !self.shortlist.contains(&candidate) {
            self.shortlist.push(candidate);
            self.errors.push(Vec::new());
        }
        self
    }

    /// The shortlisted candidates (model output indices), best-scored first.
    pub fn shortlist(&self) -> &[usize] {
        &self.shortlist
    }

    /// Frames to measure per candidate.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Records the measured error of one decoded frame of shortlist entry `slot` (a lost frame is
    /// `f64::INFINITY` or NaN: that candidate cannot win unless every one lost frames). Frames past
    /// [`Probe::frames`] are ignored.
    ///
    /// # Panics
    /// If `slot` is not an index into [`Probe::shortlist`].
    pub fn record(&mut self, slot: usize, error: f64) {
        let e = &mut self.errors[slot];
        if e.len() < self.frames {
            e.push(if error.is_finite() { error } else { f64::INFINITY });
        }
    }

    /// Whether every shortlisted candidate has its frames measured.
    pub fn is_done(&self) -> bool {
        self.errors.iter().all(|e| e.len() >= self.frames)
    }

    /// Mean measured error of each shortlist entry so far (infinite where a frame was lost, NaN
    /// where nothing was recorded).
    pub fn mean_errors(&self) -> Vec<f64> {
        self.errors.iter().map(|e| e.iter().sum::<f64>() / e.len() as f64).collect()
    }

    /// The candidate (model output index) with the lowest mean measured error; ties and
    /// unmeasured entries go to the better-scored one.
    pub fn winner(&self) -> usize {
        let m = self.mean_errors();
        let mut best = 0;
        for (slot, &e) in m.iter().enumerate() {
            if e < m[best] || (m[best].is_nan() && !e.is_nan()) {
                best = slot;
            }
        }
        self.shortlist[best]
    }
}

/// The frame-size group a model's metadata fixes for a stream's first frame at `bpp` bits per depth
/// pixel: `None` when `first_frame = network` (the network's scores choose among every candidate),
/// otherwise the group of the lookup table's choice (models without `first_frame`), if the model
/// has a table.
pub fn first_group(metadata: &BTreeMap<String, String>, groups: &[FrameSize], bpp: f64) -> Option<FrameSize> {
    if metadata.get("first_frame").is_some_and(|v| v == "network") {
        return None;
    }
    let table = LookupTable::parse(metadata.get("lookup")?)?;
    groups.get(table.choose(bpp)).copied()
}

/// The causal per-frame decision rule around a scorer (higher score = better candidate).
#[derive(Debug, Clone)]
pub struct Switcher {
    groups: Vec<FrameSize>,
    gop: usize,
    margin: f32,
    current: Option<usize>,
    sum: Vec<f32>,
    count: usize,
    first_group: Option<FrameSize>,
}

impl Switcher {
    /// A switcher over candidates in frame-size `groups` (each candidate's frame size), for a
    /// stream with a keyframe every `gop` frames; `margin` is the score advantage a switch needs.
    pub fn new(groups: Vec<FrameSize>, gop: usize, margin: f32) -> Switcher {
        let k = groups.len();
        Switcher { groups, gop: gop.max(1), margin, current: None, sum: vec![0.0; k], count: 0, first_group: None }
    }

    /// The first frame chooses only among candidates of frame-size `group` (when any candidate
    /// has it), instead of among all.
    pub fn with_first_group(mut self, group: FrameSize) -> Switcher {
        if self.groups.contains(&group) {
            self.first_group = Some(group);
        }
        self
    }

    /// Whether the first frame may choose `candidate` (see [`Switcher::with_first_group`]).
    pub fn first_allowed(&self, candidate: usize) -> bool {
        self.first_group.is_none_or(|g| self.groups.get(candidate) == Some(&g))
    }

    /// The candidate for frame `index` given its `scores`.
    ///
    /// # Panics
    /// If `scores` does not have one value per candidate.
    pub fn push(&mut self, index: usize, scores: &[f32]) -> usize {
        assert_eq!(scores.len(), self.groups.len(), "one score per candidate");
        for (s, &x) in self.sum.iter_mut().zip(scores) {
            *s += x;
        }
        self.count += 1;
        let cur = match self.current {
            None => match self.first_group {
                Some(g) => argmax(scores, |k| self.groups[k] == g),
                None => argmax(scores, |_| true),
            },
            Some(cur) if index.is_multiple_of(self.gop) => {
                let n = self.count as f32;
                let g = self.groups[cur];
                let best = argmax(&self.sum, |k| self.groups[k] == g);
                if self.sum[best] / n > self.sum[cur] / n + self.margin { best } else { cur }
            }
            Some(cur) => cur,
        };
        if index.is_multiple_of(self.gop) {
            self.sum.fill(0.0);
            self.count = 0;
        }
        self.current = Some(cur);
        cur
    }
}

fn argmax(v: &[f32], allowed: impl Fn(usize) -> bool) -> usize {
    let mut best = usize::MAX;
    for (k, &x) in v.iter().enumerate() {
        if allowed(k) && (best == usize::MAX || x > v[best]) {
            best = k;
        }
    }
    best.min(v.len().saturating_sub(1))
}

/// The per-bitrate lookup table: for each training bitrate (as log2 of bits per depth pixel) the
/// candidate with the lowest mean cost over the training scenes. Stored in the model's metadata as
/// `lookup = "log2bpp:index;log2bpp:index;..."`.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupTable {
    entries: Vec<(f64, usize)>,
}

impl LookupTable {
    /// Parses the metadata string; `None` if empty or malformed.
    pub fn parse(text: &str) -> Option<LookupTable> {
        let entries = text
            .split(';')
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let (a, b) = e.split_once(':')?;
                Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
            })
            .collect::<Option<Vec<(f64, usize)>>>()?;
        (!entries.is_empty()).then_some(LookupTable { entries })
    }

    /// The candidate of the entry nearest to `bpp` (in log2).
    pub fn choose(&self, bpp: f64) -> usize {
        let l = bpp.max(1e-9).log2();
        self.entries.iter().min_by(|a, b| (a.0 - l).abs().total_cmp(&(b.0 - l).abs())).map_or(0, |e| e.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: FrameSize = (640, 360);
    const TALL: FrameSize = (640, 720);

    #[test]
    fn switcher_keeps_the_group_and_waits_for_keyframes() {
        let groups = vec![FRAME, TALL, TALL];
        let mut s = Switcher::new(groups, 4, 0.1);
        assert_eq!(s.push(0, &[0.0, 1.0, 0.5]), 1);
        // Candidate 0 is much better but in another group; candidate 2 better only from frame 1.
        assert_eq!(s.push(1, &[9.0, 0.0, 1.0]), 1);
        assert_eq!(s.push(2, &[9.0, 0.0, 1.0]), 1, "no switch between keyframes");
        assert_eq!(s.push(3, &[9.0, 0.0, 1.0]), 1);
        assert_eq!(s.push(4, &[9.0, 0.0, 1.0]), 2, "switch at the keyframe, within the group");
    }

    #[test]
    fn the_first_group_can_be_fixed() {
        let groups = vec![FRAME, TALL, TALL];
        let mut s = Switcher::new(groups.clone(), 4, 0.1).with_first_group(FRAME);
        assert_eq!(s.push(0, &[0.0, 5.0, 9.0]), 0, "the tall candidates score higher but the group is fixed");
        let mut s = Switcher::new(groups, 4, 0.1).with_first_group((1, 1));
        assert_eq!(s.push(0, &[0.0, 5.0, 9.0]), 2, "an unknown group leaves the choice free");
    }

    #[test]
    fn metadata_says_who_chooses_the_frame_size() {
        let groups = vec![FRAME, TALL, TALL];
        let mut meta = BTreeMap::new();
        assert_eq!(first_group(&meta, &groups, 0.01), None, "no table, no fixed group");
        meta.insert("lookup".to_string(), "-6:0;-2:2".to_string());
        assert_eq!(first_group(&meta, &groups, 2f64.powi(-6)), Some(FRAME));
        assert_eq!(first_group(&meta, &groups, 2f64.powi(-1)), Some(TALL));
        meta.insert("first_frame".to_string(), "network".to_string());
        assert_eq!(first_group(&meta, &groups, 2f64.powi(-6)), None, "the network chooses");
    }

    #[test]
    fn probe_shortlists_by_score_and_keeps_the_best_measured() {
        let mut p = Probe::new(&[0.1, 0.9, 0.5, 0.7, 0.2], &[true, true, true, false, true], 3, 2);
        assert_eq!(p.shortlist(), &[1, 2, 4], "best-scored first, the disallowed one skipped");
        assert!(!p.is_done());
        for (slot, errs) in [(0, [2.0, 2.0, 9.0]), (1, [1.0, 1.5, 0.0]), (2, [1.0, f64::NAN, 0.0])] {
            for e in errs {
                p.record(slot, e);
            }
        }
        assert!(p.is_done());
        assert_eq!(p.mean_errors(), vec![2.0, 1.25, f64::INFINITY], "frames past the probe are ignored");
        assert_eq!(p.winner(), 2, "the measured best wins over the best-scored");
        let p = Probe::new(&[0.1, 0.9, 0.5], &[true; 3], 2, 1).with_candidate(0).with_candidate(1);
        assert_eq!(p.shortlist(), &[1, 2, 0], "the fallback joins once");
        let p = Probe::new(&[0.1, 0.9, 0.5], &[true; 3], 2, 1).map_candidates(|k| 10 + k).with_candidate(0);
        assert_eq!(p.shortlist(), &[11, 12, 0], "renumbered, then a fallback outside the model");
        let tie = Probe::new(&[0.3, 0.4], &[true, true], 5, 1);
        assert_eq!(tie.shortlist(), &[1, 0], "no more entries than candidates");
        assert_eq!(tie.winner(), 1, "nothing measured: the network's choice");
    }

    #[test]
    fn lookup_picks_the_nearest_bitrate() {
        let t = LookupTable::parse("-4:0; -2:3;0:5").unwrap();
        assert_eq!(t.choose(2f64.powi(-5)), 0);
        assert_eq!(t.choose(2f64.powf(-1.2)), 3);
        assert_eq!(t.choose(4.0), 5);
        assert!(LookupTable::parse("x").is_none());
    }
}

#[cfg(test)]
mod candidate_tests {
    use super::*;
    use crate::models;

    #[test]
    fn the_committed_model_hands_out_typed_candidates_grouped_by_frame_size() {
        let model = QuantMlp::from_bytes(models::INT8).expect("model");
        let ids = model.metadata_list("candidates");
        let settings = Settings { bitrate: 2e6, fps: 30.0, hevc: false, bits: 8 };
        let policy = StreamPolicy::new(model, 30, settings, 640, 360).expect("every candidate parses");
        assert_eq!(policy.candidates().len(), ids.len());
        for (c, id) in policy.candidates().iter().zip(&ids) {
            assert_eq!(&c.to_string(), id, "the id format round-trips the model's metadata");
        }
        let sizes: std::collections::BTreeSet<FrameSize> =
            policy.candidates().iter().map(|c| c.frame_size(640, 360, BitDepth::Eight)).collect();
        assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![(640, 360), (640, 720)]);
    }
}
