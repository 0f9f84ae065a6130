//! [`Reprobe`]: the start-up probe across formats repeated while the stream runs, so the
//! choice follows the scene. Issue #17's best causal policy switches at each keyframe to the pair
//! with the lowest error measured so far; a sender cannot encode every pair all the time, so this
//! samples it in rounds: from a keyframe, worker threads encode every pair of the start-up probe
//! over the frames of that GOP as they are sent (each encode first pre-rolled over the frames
//! before the keyframe, or for the first round over the GOP's own first frames, so the
//! measurement is of a settled encoder, as the stream's is after its first GOP). At the
//! next keyframe the round's measurement is added to everything measured before ([`PairTally`],
//! the older rounds weighing less: [`ReprobeSettings::memory`]; the first round, over the
//! stream's first GOP, replaces the start-up probe's measurement of its first frames, so each
//! frame counts once), the stream moves to the tally's best pair when that is another one, and
//! the next round begins. Every move reopens the encoder ([`crate::DepthEncoder::reopen`]),
//! itself pre-rolled, on the same transport: a new configuration inside the running encoder
//! keeps the old one's rate-control state and settings, which cost 3.5x the expected error in
//! the sweep's runs of the same policy.
//!
//! A round measured after its GOP (on a copy of the frames, once the GOP was over) was used a
//! GOP late: on the 300-frame orbit runs of `results/half-720p` that lag alone cost 1.030x
//! against 1.005x the best fixed pair in hindsight, modelled on their fixed runs. A sender whose
//! rounds keep up with the stream (about `pairs x (1 + preroll / window)` encodes per frame sent)
//! has no lag; one whose rounds fall behind uses each at the first keyframe after it ends, and
//! skips the GOPs sent meanwhile.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use depthcast_codec::{EncoderSettings, Format};
use depthcast_packing::{DepthImage, PackingConfig};

use crate::auto::{AutoSettings, FormatProbeReport, MeasuredEncode, PairTally, ProbeEncode, ProbedPair};
use crate::error::{Result, StreamError};

/// How the re-probe measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReprobeSettings {
    /// Frames measured per pair in each round: those sent from the keyframe where it starts.
    /// Set it to the stream's GOP: a round's encoder has the stream's GOP from its first
    /// pre-roll frame, so a window of one GOP holds one keyframe, a GOP after the pre-roll's
    /// (at window position `window - preroll`, 15 by default), as the stream's keyframes are a
    /// GOP apart. Forcing it at the window's first frame instead, 15 frames after the pre-roll's,
    /// measured worse in `results/half-720p` (x264's rate control out of its GOP rhythm). A
    /// window without a keyframe measures configurations whose error soars for a few frames
    /// after each keyframe (VBP at 1 Mbit/s loses its low plane: 357, 237 and 70 mm
    /// against 15 mm mid-GOP on IrradianceVolume at 720p) as better than they are.
    pub window: usize,
    /// Frames each pair's encode runs over before those, unmeasured, so its rate control has
    /// settled: the last ones sent before the round's keyframe (also the pre-roll of a reopened
    /// stream encoder). The first round, which starts with the stream, pre-rolls over the GOP's
    /// own first frames and then measures the GOP from its first frame: a fresh encoder's first
    /// keyframe gets bits that later ones do not (8-bit half-size VBP −0.8 at 1 Mbit/s on
    /// IrradianceVolume: 96 mm at frame 0, 364 mm at the second keyframe; 10-bit half-size
    /// luma 115 then 95 mm), so a cold first round picks what the later GOPs pay for.
    pub preroll: usize,
    /// Worker threads of a round, each encoding its share of the pairs frame by frame. The
    /// stream's own encoder needs a core: on a 2-core machine at 720p, a round with every pair
    /// side by side (16 pairs) stretched a 10 s stream at 32 Mbit/s to 28 s.
    pub threads: usize,
    /// The weight of everything measured before a round against the round itself
    /// ([`PairTally::decay`]): 1 counts every round alike, 0 only the newest. A scene changes,
    /// so older rounds say less about the next GOP. 0.4 was chosen on the 300-frame orbit runs
    /// of `results/half-720p` (modelled on their fixed runs, 0.3–0.6 within 0.2% of each other
    /// and all better than 1) when each round was used a GOP late, and kept when rounds became
    /// streamed (modelled there: 1.005x the best fixed pair at 0.4, 1.004–1.009x at 0.3–0.6).
    pub memory: f64,
    /// How long a keyframe waits for a round whose frames have all been sent (its encoders
    /// have the last frames to finish). `None` waits as long as it takes: the stream is then
    /// what a sender whose rounds keep up sends (`send --fast`, tests). A round still behind
    /// after that is used at the first keyframe after it ends.
    pub deadline: Option<Duration>,
}

impl Default for ReprobeSettings {
    /// A 30-frame GOP (`send`'s default) measured after 15 frames of pre-roll (at 2 Mbit/s and
    /// 720p a cold x264 encoder takes about ten frames to settle); one worker thread; a memory
    /// of 0.4 per round; keyframes wait up to a frame at 30 fps for their round.
    fn default() -> Self {
        ReprobeSettings { window: 30, preroll: 15, threads: 1, memory: 0.4, deadline: Some(Duration::from_millis(33)) }
    }
}

/// Where the stream should go at this keyframe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Switch {
    /// The pair's format.
    pub format: Format,
    /// The pair's configuration.
    pub config: PackingConfig,
    /// Whether the receiver sees another bit depth or frame size.
    pub format_changes: bool,
    /// Its mean error over everything measured, metres.
    pub mae: f64,
    /// The current pair's, metres.
    pub current_mae: f64,
}

/// One pair's encode in a round: the measured frames' errors and bits (not the pre-roll's).
type Encoded = Result<ProbeEncode>;

/// A running round: its workers, what they sent back, and what it measures.
struct Round {
    /// One per worker thread: the frames each encodes (pre-roll first). Dropped when the round
    /// has all its frames, which ends the workers' encodes.
    feeds: Vec<Sender<Arc<DepthImage>>>,
    /// Frames of the stream the round still takes.
    wanted: usize,
    /// Each pair's encode, as the workers finish them.
    done: Receiver<(usize, Encoded)>,
    encodes: Vec<Option<Encoded>>,
    /// Whether it measures the stream from its first frame (so the start-up probe's frames
    /// again).
    from_start: bool,
}

impl Round {
    /// Takes what the workers have finished, waiting until `until` (`None`: as long as it takes)
    /// once the round has all its frames (before that, only what is in). `Some` when every
    /// pair's encode is in (an error for a pair whose worker died).
    fn poll(&mut self, until: Option<Instant>) -> Option<Result<Vec<ProbeEncode>>> {
        loop {
            if self.encodes.iter().all(Option::is_some) {
                let encodes = std::mem::take(&mut self.encodes);
                return Some(encodes.into_iter().flatten().collect());
            }
            let next = match (self.wanted, until) {
                (0, None) => self.done.recv().map_err(|_| TryRecvError::Disconnected),
                (0, Some(t)) => {
                    self.done.recv_timeout(t.saturating_duration_since(Instant::now())).map_err(|e| match e {
                        RecvTimeoutError::Timeout => TryRecvError::Empty,
                        RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
                    })
                }
                _ => self.done.try_recv(),
            };
            match next {
                Ok((k, encode)) => self.encodes[k] = Some(encode),
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => {
                    for e in self.encodes.iter_mut().filter(|e| e.is_none()) {
                        *e = Some(Err(StreamError::Probe("a re-probe encode's thread panicked".into())));
                    }
                }
            }
        }
    }

    /// Sends the stream's next frame to the workers while the round wants frames.
    fn feed(&mut self, frame: &Arc<DepthImage>) {
        if self.wanted == 0 {
            return;
        }
        for feed in &self.feeds {
            // A worker gone has sent its pairs' errors already.
            let _ = feed.send(Arc::clone(frame));
        }
        self.wanted -= 1;
        if self.wanted == 0 {
            self.feeds.clear();
        }
    }

    /// Takes no more frames: the workers finish with what they have.
    fn close(&mut self) {
        self.wanted = 0;
        self.feeds.clear();
    }
}

/// The keyframe re-probe of one stream (see the module docs).
pub struct Reprobe {
    tally: PairTally,
    current: usize,
    settings: ReprobeSettings,
    encoder: EncoderSettings,
    range: (f32, f32),
    size: (u32, u32),
    /// The last `window + preroll` frames pushed.
    recent: VecDeque<Arc<DepthImage>>,
    /// Frames pushed in all.
    pushed: usize,
    round: Option<Round>,
    rounds: usize,
}

impl std::fmt::Debug for Reprobe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reprobe")
            .field("current", &self.tally.pairs()[self.current])
            .field("rounds", &self.rounds)
            .field("running", &self.round.is_some())
            .finish_non_exhaustive()
    }
}

impl Reprobe {
    /// Starts from the start-up probe's `report` (its pairs of the chosen codec, and what it
    /// measured of them: a transport carries one codec, so the stream keeps it) for a stream of
    /// `width x height` depth maps over `range` at `auto`'s bitrate and frame rate; the rounds
    /// encode with `encoder` (codec, bit depth and size are set per pair). The first round
    /// starts with the first frame pushed.
    pub fn new(
        report: &FormatProbeReport,
        auto: &AutoSettings,
        encoder: EncoderSettings,
        (width, height): (u32, u32),
        range: (f32, f32),
        settings: ReprobeSettings,
    ) -> Reprobe {
        let same_codec: Vec<&ProbedPair> =
            report.measured.iter().filter(|m| m.format.codec == report.format.codec).collect();
        let pairs: Vec<(Format, PackingConfig)> = same_codec.iter().map(|m| (m.format, m.config)).collect();
        let mut tally = PairTally::new(pairs, auto.fps, auto.bitrate);
        let seconds = report.frames as f64 / auto.fps.max(1.0);
        for (k, m) in same_codec.iter().enumerate() {
            let bits = (m.rate * auto.bitrate as f64 * seconds).round() as u64;
            tally.record_mean(k, m.mae, bits, report.frames);
        }
        let current = tally.pairs().iter().position(|&p| p == (report.format, report.winner)).unwrap_or(0);
        Reprobe {
            tally,
            current,
            settings,
            encoder,
            range,
            size: (width, height),
            recent: VecDeque::new(),
            pushed: 0,
            round: None,
            rounds: 0,
        }
    }

    /// The pair that carries the stream.
    pub fn current(&self) -> (Format, PackingConfig) {
        self.tally.pairs()[self.current]
    }

    /// Rounds measured so far (not counting the start-up probe).
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// Whether a round is running.
    pub fn running(&self) -> bool {
        self.round.is_some()
    }

    /// Takes `frame`, the stream's newest: keeps it, and passes it to the running round. The
    /// first frame starts the first round.
    ///
    /// # Errors
    /// The first round's threads could not start (later rounds start at keyframes).
    pub fn push(&mut self, frame: DepthImage) -> Result<()> {
        if self.pushed == 0 && self.round.is_none() {
            self.start_round()?;
        }
        let frame = Arc::new(frame);
        if let Some(round) = self.round.as_mut() {
            round.feed(&frame);
        }
        self.recent.push_back(frame);
        self.pushed += 1;
        while self.recent.len() > self.settings.window + self.settings.preroll {
            self.recent.pop_front();
        }
        Ok(())
    }

    /// The last `n` frames pushed (fewer at the start): the pre-roll of a reopened encoder.
    pub fn last(&self, n: usize) -> Vec<DepthImage> {
        self.recent.iter().skip(self.recent.len().saturating_sub(n)).map(|f| DepthImage::clone(f)).collect()
    }

    /// At a keyframe (before its frame is pushed): adds the running round to the tally when it
    /// has ended (waiting up to [`ReprobeSettings::deadline`] for one whose frames have all been
    /// pushed), starts the next round from this keyframe when none is running, and returns where
    /// the stream goes from this keyframe when the tally's best pair is another one (it becomes
    /// the current pair).
    ///
    /// # Errors
    /// A round's encode failed (the stream can go on with its pair; later rounds still run), or
    /// a round's threads could not start.
    pub fn at_keyframe(&mut self) -> Result<Option<Switch>> {
        let outcome = self.take_round(self.settings.deadline.map(|d| Instant::now() + d));
        if self.round.is_none() {
            self.start_round()?;
        }
        outcome.transpose()?;
        let Some(best) = self.tally.best() else { return Ok(None) };
        if best == self.current {
            return Ok(None);
        }
        let measured = self.tally.measured();
        let (from, to) = (self.tally.pairs()[self.current], self.tally.pairs()[best]);
        let size = |(f, c): (Format, PackingConfig)| c.frame_size(self.size.0, self.size.1, f.bits);
        let switch = Switch {
            format: to.0,
            config: to.1,
            format_changes: from.0 != to.0 || size(from) != size(to),
            mae: measured[best].mae,
            current_mae: measured[self.current].mae,
        };
        self.current = best;
        Ok(Some(switch))
    }

    /// Ends the running round with the frames pushed so far (fewer than the window before the
    /// next keyframe), waits for it and adds it to the tally: for a stream that ends, and for
    /// tests.
    ///
    /// # Errors
    /// The round's encode failed.
    pub fn wait(&mut self) -> Result<()> {
        if let Some(round) = self.round.as_mut() {
            round.close();
        }
        self.take_round(None).transpose().map(drop)
    }

    /// The running round's measurement added to the tally, when it has ended (see
    /// [`Round::poll`] for `until`).
    fn take_round(&mut self, until: Option<Instant>) -> Option<Result<()>> {
        let encodes = self.round.as_mut()?.poll(until)?;
        let round = self.round.take()?;
        Some(encodes.map(|runs| self.record(&runs, round.from_start)))
    }

    /// Adds one round's encodes (one per pair, of the measured frames) to the tally, after
    /// weighing what was measured before by [`ReprobeSettings::memory`]. A round that began with
    /// the stream's first frame measured the start-up probe's frames again, over a whole GOP:
    /// what the probe measured is then forgotten, so each frame counts once (as in the sweep's
    /// model of this policy).
    fn record(&mut self, runs: &[ProbeEncode], from_start: bool) {
        if from_start {
            self.tally.forget();
        } else {
            self.tally.decay(self.settings.memory);
        }
        for (k, run) in runs.iter().enumerate() {
            self.tally.record_run(k, &run.errors, run.bits, run.errors.len());
        }
        self.rounds += 1;
    }

    /// Starts a round from here: every pair encoded, on [`ReprobeSettings::threads`] worker
    /// threads (pair `k` on thread `k mod threads`), over the last [`ReprobeSettings::preroll`]
    /// frames kept, then the next [`ReprobeSettings::window`] frames pushed (at the stream's
    /// start: over the first `preroll` of those, then all of them).
    fn start_round(&mut self) -> Result<()> {
        let pairs = self.tally.pairs().to_vec();
        let threads = self.settings.threads.clamp(1, pairs.len().max(1));
        let preroll: Vec<Arc<DepthImage>> =
            self.recent.iter().skip(self.recent.len().saturating_sub(self.settings.preroll)).cloned().collect();
        let from_start = self.pushed == 0;
        let rewind = if from_start { self.settings.preroll.min(self.settings.window) } else { 0 };
        let (done_tx, done) = channel();
        let mut feeds = Vec::with_capacity(threads);
        for t in 0..threads {
            let (feed, frames) = channel::<Arc<DepthImage>>();
            for f in &preroll {
                let _ = feed.send(Arc::clone(f));
            }
            feeds.push(feed);
            let mine: Vec<(usize, Format, PackingConfig)> =
                pairs.iter().enumerate().skip(t).step_by(threads).map(|(k, &(f, c))| (k, f, c)).collect();
            let (encoder, range, size, done) = (self.encoder.clone(), self.range, self.size, done_tx.clone());
            let frames = Feed { frames, preroll: preroll.len(), rewind };
            std::thread::Builder::new()
                .name("depthcast-reprobe".into())
                .spawn(move || measure_round(&mine, &encoder, size, range, frames, &done))
                .map_err(|e| StreamError::Probe(format!("starting a re-probe round: {e}")))?;
        }
        let wanted = self.settings.window.max(1);
        let encodes = (0..pairs.len()).map(|_| None).collect();
        self.round = Some(Round { feeds, wanted, done, encodes, from_start });
        Ok(())
    }
}

/// What a round's worker encodes: `preroll` frames kept from before the round, then the frames
/// sent from its keyframe on, of which the first `rewind` are encoded twice (pre-roll, then
/// measured).
struct Feed {
    frames: Receiver<Arc<DepthImage>>,
    preroll: usize,
    rewind: usize,
}

/// A round's worker: encodes `pairs` (index, format, configuration) frame by frame over what
/// it is fed; once the feed ends it sends each pair's errors and bits over the measured frames.
/// A pair whose encoder failed is sent its error at once and encodes no more.
fn measure_round(
    pairs: &[(usize, Format, PackingConfig)],
    encoder: &EncoderSettings,
    (width, height): (u32, u32),
    range: (f32, f32),
    feed: Feed,
    done: &Sender<(usize, Encoded)>,
) {
    let mut runs: Vec<(usize, MeasuredEncode<Arc<DepthImage>>)> = Vec::with_capacity(pairs.len());
    for &(k, format, config) in pairs {
        let mut settings = encoder.clone();
        (settings.codec, settings.bit_depth) = (format.codec, format.bits);
        // One core per worker: `threads` sets how many the round takes.
        settings.threads = 1;
        match MeasuredEncode::new(&config, &settings, (width, height), range) {
            Ok(run) => runs.push((k, run)),
            Err(e) => {
                let _ = done.send((k, Err(e)));
            }
        }
    }
    let encode = |runs: &mut Vec<(usize, MeasuredEncode<Arc<DepthImage>>)>, frame: &Arc<DepthImage>| {
        runs.retain_mut(|(k, run)| match run.push(Arc::clone(frame)) {
            Ok(()) => true,
            Err(e) => {
                let _ = done.send((*k, Err(e)));
                false
            }
        });
    };
    // The first `rewind` frames after the pre-roll, held until all have come, then encoded
    // twice: once as pre-roll, once measured.
    let mut held: Vec<Arc<DepthImage>> = Vec::with_capacity(feed.rewind);
    let rewind = |runs: &mut Vec<_>, held: &[Arc<DepthImage>]| {
        held.iter().chain(held).for_each(|f| encode(runs, f));
    };
    let mut rewound = feed.rewind == 0;
    for (i, frame) in feed.frames.iter().enumerate() {
        if i < feed.preroll || rewound {
            encode(&mut runs, &frame);
            continue;
        }
        held.push(frame);
        if held.len() == feed.rewind {
            rewind(&mut runs, &held);
            rewound = true;
        }
    }
    // The feed ended before `rewind` frames came: the same over those that did.
    if !rewound && !held.is_empty() {
        rewind(&mut runs, &held);
    }
    let skip = feed.preroll + held.len();
    for (k, run) in runs {
        let _ = done.send((k, run.finish_after(skip)));
    }
}

#[cfg(test)]
mod tests {
    use depthcast_codec::{Refresh, VideoCodec};
    use depthcast_packing::{BitDepth, testdata};

    use super::*;

    /// Runs one worker over `n` frames of a synthetic scene, `preroll` of them kept from before
    /// the round and the first `rewind` after those encoded twice: each pair's measured encode.
    fn worker(n: usize, preroll: usize, rewind: usize) -> Vec<(usize, ProbeEncode)> {
        let (w, h) = (96, 64);
        let mut s = EncoderSettings::new(VideoCodec::H264, w, h);
        (s.bitrate, s.fps, s.refresh, s.force_software) = (300_000, (30, 1), Refresh::Gop(30), true);
        let (feed, frames) = channel();
        for i in 0..n {
            feed.send(Arc::new(testdata::game_scene(w, h, i as f32 / 30.0))).unwrap();
        }
        drop(feed);
        let pairs =
            [(0, Format::H264_8, PackingConfig::luma(BitDepth::Eight)), (1, Format::H264_8, PackingConfig::hue())];
        let (done, encodes) = channel();
        measure_round(&pairs, &s, (w, h), (0.5, 20.0), Feed { frames, preroll, rewind }, &done);
        drop(done);
        let mut out: Vec<_> = encodes.iter().map(|(k, e)| (k, e.unwrap())).collect();
        out.sort_by_key(|e| e.0);
        out
    }

    #[test]
    fn a_round_measures_every_frame_after_its_pre_roll_and_the_first_rewinds_over_its_own() {
        // A later round: 4 frames from before it, then its 6.
        let later = worker(10, 4, 0);
        for (k, e) in &later {
            assert_eq!(e.errors.len(), 6, "pair {k}");
            assert!(e.errors.iter().all(|x| x.is_finite()) && e.bits > 0, "pair {k}: {e:?}");
        }
        // Its bits are the measured frames': fewer than the whole encode's, with its keyframes.
        let whole = worker(10, 0, 0);
        assert_eq!(whole[0].1.errors.len(), 10);
        assert!(later[0].1.bits < whole[0].1.bits, "{later:?} {whole:?}");
        // The first round: its first 3 frames encoded as pre-roll, then all 8 measured.
        let first = worker(8, 0, 3);
        assert_eq!(first.len(), 2);
        for (k, e) in &first {
            assert_eq!(e.errors.len(), 8, "pair {k}");
            assert!(e.errors.iter().all(|x| x.is_finite()), "pair {k}: {e:?}");
        }
        // Its frames 0..3 are the pre-roll's again, from a warmer encoder: not the cold encode.
        let cold = worker(8, 0, 0);
        assert_ne!(first[0].1.errors, cold[0].1.errors);
        // A feed that ends before the frames to rewind: pre-rolled over those that came.
        for (k, e) in worker(2, 0, 3) {
            assert_eq!(e.errors.len(), 2, "pair {k}");
        }
    }
}
