//! [`Reprobe`]: the start-up probe across formats repeated while the stream runs, so the
//! choice follows the scene. Issue #17's best causal policy switches at each keyframe to the pair
//! with the lowest error measured so far; a sender cannot encode every pair all the time, so this
//! samples it: on a worker thread it encodes every pair of the start-up probe over the last
//! frames sent (each encode pre-rolled first, so the measurement is of a settled encoder, as the
//! stream's is), adds what it measured to everything measured before ([`PairTally`], the older
//! rounds weighing less: [`ReprobeSettings::memory`]; the first round, over the stream's first
//! GOP, replaces the start-up probe's measurement of its first frames, so each frame counts
//! once, as in the sweep's model of this policy), and at the next keyframe the stream moves to
//! the tally's best pair when that is another one. Every move
//! reopens the encoder ([`crate::DepthEncoder::reopen`]), itself pre-rolled, on the same
//! transport: a new configuration inside the running encoder keeps the old one's rate-control
//! state and settings, which cost 3.5x the expected error in the sweep's runs of the same policy.
//!
//! On 300-frame (10 s) test scenes at 720p the best causal policy came within 1.02x of the best
//! fixed pair in hindsight where the start-up probe alone was up to 2.3x off
//! (`results/formats-720p/`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use depthcast_codec::{EncoderSettings, Format};
use depthcast_packing::{DepthImage, PackingConfig};

use crate::auto::{AutoSettings, FormatProbeReport, PairTally, ProbeEncode, ProbedPair, measure_encode_bits};
use crate::error::{Result, StreamError};

/// How the re-probe measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReprobeSettings {
    /// Frames measured per pair in each round: the last ones before the round starts. Set it to
    /// the stream's GOP: a round's encode has the stream's GOP, so a window of one GOP holds one
    /// keyframe and the frames after it, as the stream does. A shorter window after the
    /// pre-roll holds no keyframe at all; then configurations whose error soars for a few frames
    /// after each keyframe (VBP at 1 Mbit/s loses its low plane: 357, 237 and 70 mm against 15 mm
    /// mid-GOP on IrradianceVolume at 720p) are measured as better than they are.
    pub window: usize,
    /// Frames each pair's encode runs over before those, unmeasured, so its rate control has
    /// settled (also the pre-roll of a reopened stream encoder). The first round, at the first
    /// keyframe, has only the frames sent so far: it pre-rolls over those beyond `window` (none
    /// when `window` is the GOP), as the stream's own first GOP started cold.
    pub preroll: usize,
    /// Pairs encoded at once in a round, each on one thread. The stream's own encoder needs a
    /// core: on a 2-core machine at 720p, a round with every pair side by side (16 pairs)
    /// stretched a 10 s stream at 32 Mbit/s to 28 s.
    pub threads: usize,
    /// The weight of everything measured before a round against the round itself
    /// ([`PairTally::decay`]): 1 counts every round alike, 0 only the newest. A scene changes,
    /// so older rounds say less about the next GOP. 0.4 was chosen on the 300-frame orbit runs
    /// of `results/half-720p` (modelled on their fixed runs, 0.3–0.6 within 0.2% of each other
    /// and all better than 1), and checked with real runs there.
    pub memory: f64,
}

impl Default for ReprobeSettings {
    /// A 30-frame GOP (`send`'s default) measured after 15 frames of pre-roll (at 2 Mbit/s and
    /// 720p a cold x264 encoder takes about ten frames to settle); one pair at a time; a memory
    /// of 0.4 per round.
    fn default() -> Self {
        ReprobeSettings { window: 30, preroll: 15, threads: 1, memory: 0.4 }
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

/// A round's encodes, the frames each pre-rolled over, and whether it measured the stream from
/// its first frame (so the start-up probe's frames again).
type Round = (Result<Vec<ProbeEncode>>, usize, bool);

/// The keyframe re-probe of one stream (see the module docs).
pub struct Reprobe {
    tally: PairTally,
    current: usize,
    settings: ReprobeSettings,
    encoder: EncoderSettings,
    range: (f32, f32),
    size: (u32, u32),
    /// The last `window + preroll` frames pushed.
    recent: VecDeque<DepthImage>,
    /// Frames pushed in all.
    pushed: usize,
    job: Option<Receiver<Round>>,
    rounds: usize,
}

impl std::fmt::Debug for Reprobe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reprobe")
            .field("current", &self.tally.pairs()[self.current])
            .field("rounds", &self.rounds)
            .field("running", &self.job.is_some())
            .finish_non_exhaustive()
    }
}

impl Reprobe {
    /// Starts from the start-up probe's `report` (its pairs of the chosen codec, and what it
    /// measured of them: a transport carries one codec, so the stream keeps it) for a stream of
    /// `width x height` depth maps over `range` at `auto`'s bitrate and frame rate; the rounds
    /// encode with `encoder` (codec, bit depth and size are set per pair).
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
            job: None,
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
        self.job.is_some()
    }

    /// Keeps `frame`, the stream's newest.
    pub fn push(&mut self, frame: DepthImage) {
        self.recent.push_back(frame);
        self.pushed += 1;
        while self.recent.len() > self.settings.window + self.settings.preroll {
            self.recent.pop_front();
        }
    }

    /// The last `n` frames pushed (fewer at the start): the pre-roll of a reopened encoder.
    pub fn last(&self, n: usize) -> Vec<DepthImage> {
        self.recent.iter().skip(self.recent.len().saturating_sub(n)).cloned().collect()
    }

    /// At a keyframe: adds a finished round to the tally, starts the next round over the frames
    /// kept when none is running and at least `window` are kept, and returns where the stream goes from
    /// this keyframe when the tally's best pair is another one (it becomes the current pair).
    ///
    /// # Errors
    /// A round's encode failed (the stream can go on with its pair; later rounds still run), or
    /// its thread could not start.
    pub fn at_keyframe(&mut self) -> Result<Option<Switch>> {
        let finished = match self.job.as_ref().map(Receiver::try_recv) {
            Some(Ok(round)) => Some(round),
            Some(Err(TryRecvError::Disconnected)) => {
                Some((Err(StreamError::Probe("a re-probe round's thread panicked".into())), 0, false))
            }
            Some(Err(TryRecvError::Empty)) | None => None,
        };
        if finished.is_some() {
            self.job = None;
        }
        let outcome =
            finished.map(|(round, preroll, from_start)| round.map(|runs| self.record(&runs, preroll, from_start)));
        if self.job.is_none() && self.recent.len() >= self.settings.window.max(1) {
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

    /// Adds one round's encodes (one per pair, over `preroll` frames then the measured ones) to
    /// the tally, after weighing what was measured before by [`ReprobeSettings::memory`]. A
    /// round that began with the stream's first frame measured the start-up probe's frames again,
    /// over a whole GOP: what the probe measured is then forgotten, so each frame counts once (as
    /// in the sweep's model of this policy).
    fn record(&mut self, runs: &[ProbeEncode], preroll: usize, from_start: bool) {
        if from_start {
            self.tally.forget();
        } else {
            self.tally.decay(self.settings.memory);
        }
        let skip = preroll;
        for (k, run) in runs.iter().enumerate() {
            let errors = run.errors.get(skip..).unwrap_or(&[]);
            self.tally.record_run(k, errors, run.bits, run.errors.len());
        }
        self.rounds += 1;
    }

    /// Starts a round over the frames kept (the first ones beyond `window` pre-roll): every pair
    /// encoded, [`ReprobeSettings::threads`] at a time, on worker threads.
    fn start_round(&mut self) -> Result<()> {
        let frames: Vec<DepthImage> = self.recent.iter().cloned().collect();
        let preroll = frames.len().saturating_sub(self.settings.window);
        // Measured from the stream's first frame: nothing dropped, nothing pre-rolled.
        let from_start = preroll == 0 && self.pushed == frames.len();
        let pairs = self.tally.pairs().to_vec();
        let (encoder, (near, far)) = (self.encoder.clone(), self.range);
        let threads = self.settings.threads.clamp(1, pairs.len().max(1));
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("depthcast-reprobe".into())
            .spawn(move || {
                let next = AtomicUsize::new(0);
                let results: Vec<Mutex<Option<Result<ProbeEncode>>>> = pairs.iter().map(|_| Mutex::new(None)).collect();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(|| {
                            loop {
                                let k = next.fetch_add(1, Ordering::Relaxed);
                                let Some(&(f, c)) = pairs.get(k) else { break };
                                let mut settings = encoder.clone();
                                (settings.codec, settings.bit_depth) = (f.codec, f.bits);
                                // One core per encode: `threads` sets how many the round takes.
                                settings.threads = 1;
                                let run = measure_encode_bits(&frames, near, far, &c, &settings);
                                *results[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(run);
                            }
                        });
                    }
                });
                let round: Result<Vec<ProbeEncode>> = results
                    .into_iter()
                    .map(|r| {
                        r.into_inner()
                            .unwrap_or_else(|e| e.into_inner())
                            .unwrap_or_else(|| Err(StreamError::Probe("a re-probe encode panicked".into())))
                    })
                    .collect();
                let _ = tx.send((round, preroll, from_start));
            })
            .map_err(|e| StreamError::Probe(format!("starting a re-probe round: {e}")))?;
        self.job = Some(rx);
        Ok(())
    }

    /// Waits for the running round, if any, and adds it to the tally (for a sender with time to
    /// spare, and for tests).
    ///
    /// # Errors
    /// The round's encode failed.
    pub fn wait(&mut self) -> Result<()> {
        let Some(rx) = self.job.take() else { return Ok(()) };
        let (round, preroll, from_start) =
            rx.recv().map_err(|_| StreamError::Probe("a re-probe round's thread panicked".into()))?;
        self.record(&round?, preroll, from_start);
        Ok(())
    }
}
