//! [`Reprobe`]: the start-up probe across formats repeated while the stream runs, so the
//! choice follows the scene. Issue #17's best causal policy switches at each keyframe to the pair
//! with the lowest error measured so far; a sender cannot encode every pair all the time, so this
//! samples it in rounds: from a keyframe, worker threads encode every pair of the start-up probe
//! over the frames of that GOP as they are sent (each encode first pre-rolled over the frames
//! before the keyframe, or for the first round over the GOP's own first frames, so the
//! measurement is of a settled encoder, as the stream's is after its first GOP; or, with
//! [`FirstRound::Cold`], the first round from the stream's first frame, as the best causal
//! policy's encodes are: [`ReprobeSettings::causal`] is that policy's own rule). At the
//! next keyframe the round's measurement is added to everything measured before ([`PairTally`],
//! the older rounds weighing less: [`ReprobeSettings::memory`]; the first round, over the
//! stream's first GOP, replaces the start-up probe's measurement of its first frames, so each
//! frame counts once), the stream moves to the tally's best pair when that is another one
//! better by a margin (and, with [`ReprobeSettings::confirm`], picked by rounds in a row:
//! [`MoveRule`]; pairs ranked by their mean error and, by default, their worst round:
//! [`ReprobeSettings::risk`]), and the next round begins. Every move reopens the encoder
//! ([`crate::DepthEncoder::reopen`]), itself pre-rolled, on the same transport: a new configuration inside the running encoder
//! keeps the old one's rate-control state and settings, which cost 3.5x the expected error in
//! the sweep's runs of the same policy.
//!
//! A round measured after its GOP (on a copy of the frames, once the GOP was over) was used a
//! GOP late: on the 300-frame orbit runs of `results/half-720p` that lag alone cost 1.030x
//! against 1.005x the best fixed pair in hindsight, modelled on their fixed runs. A sender whose
//! rounds keep up with the stream (about `pairs x (1 + preroll / window)` encodes per frame sent)
//! has no lag; one whose rounds fall behind uses each at the first keyframe after it ends, and
//! skips the GOPs sent meanwhile.
//!
//! At 720p every pair (about 20) keeps up with 30 fps only with about 14 cores of a small
//! machine, so a round may measure a shortlist ([`RoundPairs`]): the stream's pair, the best
//! others so far and, by turns, the next best or the one measured longest ago
//! ([`PairTally::shortlist`]), of a fixed length or of the length its
//! workers encode in a GOP's time ([`RoundPairs::Fit`]). In `results/half-720p` rounds of 8
//! pairs made the same moves as rounds of every pair; rounds of 2 kept much less of the gain.
//! In `results/shortlist-720p` rounds of 4 (the last place by turns) matched every pair on one
//! test camera and were 1.3% behind on the two others.
//!
//! A round need not encode the stream's own pair: the stream is encoding it. With
//! [`ReprobeSettings::from_stream`] the rounds after the first measure it from the packets the
//! stream sends ([`Reprobe::push_sent`]), decoded on a thread beside the round, at about a third
//! of an encode's cost, so every encode goes to another pair (`results/from-stream-720p`). A
//! sender whose encoder runs on a thread of its own, dropping frames when it falls behind, matches
//! its packets to the frames it pushes with [`SentPackets`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use depthcast_codec::{EncodedPacket, EncoderSettings, Format, VideoCodec};
use depthcast_packing::{DepthImage, PackingConfig};

use crate::auto::{
    AutoSettings, FormatProbeReport, Measure, MeasuredEncode, MoveRule, PairTally, ProbeEncode, ProbedPair, Risk,
};
use crate::error::{Result, StreamError};

mod sent;
pub use sent::SentPackets;

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
    /// How many of the pairs each round measures.
    pub pairs: RoundPairs,
    /// How much better (relative mean error) the best pair must measure than the stream's
    /// for the stream to move ([`PairTally::move_from`]): a move reopens the encoder, and a
    /// reopened encoder pays for a while; a pair that measured best over one GOP may be worse
    /// over the next. 0.1 was chosen on three procedural levels no test touches (0, 0.05, 0.1
    /// and 0.2 tried; the lowest geomean against the best fixed pair, 1.022x against 1.142x
    /// without a margin, whose worst cell was 6.0x: a city level at 32 Mbit/s, where 10-bit VBP
    /// P18 measured best over a GOP and then lost whole GOPs). On three more levels, swept
    /// later, 0 and 0.1 measured alike (1.075x and 1.079x). See `results/half-720p`.
    pub margin: f64,
    /// How many rounds in a row must pick the same pair (by the margin) before the stream moves
    /// to it ([`MoveRule`]); 1 moves on every round's pick. A move away from a pair out of the
    /// running (a lost frame, over the bitrate, failed) does not wait. 1, chosen on six
    /// procedural levels no test touches (1, 2 and 3 with margins 0 and 0.1: 1.050x the best
    /// fixed pair at 1, 1.076x at 2 and 3): a confirmed move comes later, and the pairs that
    /// lose the GOPs after a move (VBP without ROI) often win two rounds first. See
    /// `results/half-720p` (`confirm.md`).
    pub confirm: usize,
    /// Never move to VBP luma without a region of interest ([`crate::unguarded`]; the stream may
    /// start on it): on a scene's hard GOPs it can lose whole GOPs with nothing in the round
    /// before to warn ([`MoveRule`]). Off: on six procedural levels it helped (1.024x the best
    /// fixed pair against 1.050x), on the test scenes it hurt in every cell it changed (orbit
    /// 1.057x against 1.005x, pan 1.026x against 0.963x: IrradianceVolume gains by moving to VBP
    /// without ROI, which never collapses there). Kept off after seeing those numbers; see
    /// `results/half-720p` (`guarded.md`).
    pub guarded: bool,
    /// The memory of a second, slower view of the rounds that must agree with a move
    /// ([`PairTally::with_long_view`]): the stream moves to the pick of the tally above (by
    /// [`ReprobeSettings::memory`] and the margin) only when that view too has the pick's mean
    /// error below the current pair's. `None` (the default): no second view. It keeps the stream
    /// off a pair that measured best over one GOP after losing most before (orbit runs of
    /// `results/half-720p`, where it was designed: 0.991x the best fixed pair against 1.005x at
    /// 0.8), but on six procedural levels it also blocked good moves after a scene changed
    /// (1.054x against 1.050x), and on a camera rendered afterwards it changed nothing; see
    /// `agree.md` there.
    pub long_memory: Option<f64>,
    /// Measure the stream's own pair from what the stream sends (the packets given to
    /// [`Reprobe::push_sent`], decoded and unpacked on a thread of the round's) rather than by
    /// one of the round's encodes: a decode and an error per frame in place of an encode, so a
    /// round of `n` encodes measures `n + 1` pairs, and [`RoundPairs::Fit`] counts encodes. The
    /// first round, which starts with the stream, still encodes it (the stream's first GOP is
    /// a cold encoder's, whose keyframe gets bits the later ones do not). Off by default: a
    /// caller that gives no packets ([`Reprobe::push`]) leaves the stream's pair unmeasured by
    /// the rounds. `send --reprobe` turns it on; see `results/from-stream-720p`.
    pub from_stream: bool,
    /// Rank and compare the pairs by their [`Risk`] score (mean error and worst round) rather
    /// than their mean error alone ([`PairTally::with_risk`]); `None`: by the mean. The default,
    /// [`Risk::CHOSEN`], was chosen on procedural levels and glTF training orbits in a model of
    /// the sweeps' runs, and made the default by a rule written before its real runs at the
    /// real-time budget's x264 preset (`superfast`) on the test cameras: there it took the
    /// worst cell of orbit from 1.104x the best fixed pair to 1.077x and of approach from
    /// 1.119x to 1.054x, and changed no strafe cell. See `results/half-720p` (`risk.md`).
    pub risk: Option<Risk>,
    /// How the first round, which starts with the stream, measures each pair's first GOP: on a
    /// settled encoder (pre-rolled over the GOP's first frames, the default) or on a cold one
    /// from the stream's first frame, as the best causal policy of `results/half-720p` does
    /// ([`FirstRound`]).
    pub first_round: FirstRound,
}

/// How a re-probe's first round measures each pair's first GOP ([`ReprobeSettings::first_round`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FirstRound {
    /// Pre-rolled over the GOP's first [`ReprobeSettings::preroll`] frames, then the GOP measured
    /// from its first frame: what the later GOPs of a pair will cost, without the bits a fresh
    /// encoder's first keyframe gets.
    #[default]
    Settled,
    /// A fresh encoder from the stream's first frame, as the pair's own stream would have begun:
    /// what the best causal policy weighs in (every pair encoded side by side from the first
    /// frame), and one GOP fewer of encodes.
    Cold,
}

impl ReprobeSettings {
    /// The best causal policy's own rule: every round counts alike (memory 1), the stream moves
    /// on each round's pick without a margin, a confirmation, a guard, a slower view or a risk
    /// score, and the first round is cold ([`FirstRound::Cold`]). With every pair in every round,
    /// rounds that keep up and a GOP no shorter than the start-up probe's frames, it chooses
    /// exactly what the sweep's best causal policy does among the pairs the start-up probe
    /// measured (`sweep --reprobe-rule causal`). In the sweeps of `results/half-720p` at the
    /// real-time budget's x264 preset (`superfast`) that met each of #17's quality goals on
    /// every camera, where the default rule, better on average, missed three; at `ultrafast` it
    /// was worse (see `causal-rule.md` there).
    pub fn causal() -> Self {
        Self::default().with_causal_rule()
    }

    /// These settings with the rule of [`ReprobeSettings::causal`] (memory, margin,
    /// confirmation, guard, slower view, risk score and first round), the rest kept.
    pub fn with_causal_rule(self) -> Self {
        ReprobeSettings {
            memory: 1.0,
            margin: 0.0,
            confirm: 1,
            guarded: false,
            long_memory: None,
            risk: None,
            first_round: FirstRound::Cold,
            ..self
        }
    }
}

/// How many of the start-up probe's pairs (of the stream's codec) a round encodes. A round
/// costs about `pairs x (preroll + window)` encodes (each with its decode and error) per
/// `window` frames sent: at 720p on this project's 2-core machine 11–15 ms per pair and
/// frame, so every pair (about 20) keeps up with 30 fps only with about 14 cores. With
/// [`ReprobeSettings::from_stream`] the stream's own pair is measured beside the encodes, one
/// pair more (after the first round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoundPairs {
    /// Every pair: the policy of `results/half-720p`'s `send --reprobe` runs.
    #[default]
    Every,
    /// `n` of them ([`PairTally::shortlist`]: at least 2 pairs, so at least 1 encode with
    /// [`ReprobeSettings::from_stream`]): the stream's, the best others so far, and by turns the
    /// next best or the one measured longest ago, so every pair comes back.
    Shortlist(usize),
    /// A shortlist as long as the round's workers can encode in [`FIT_SHARE`] of a GOP's time,
    /// from what the rounds' encodes have cost so far (the first round: what the start-up
    /// probe's did) and how long the last GOP took to send, not counting a keyframe's wait for
    /// its round and never faster than the stream's nominal frame rate ([`fit_frame_secs`]):
    /// rounds that keep up with a stream sent in real time, and measure more of a stream whose
    /// frames come slower (a software renderer). A stream sent as fast as it goes (`send
    /// --fast`, no deadline) gets the rounds of the same stream sent in real time.
    Fit,
}

/// The share of a GOP's time a [`RoundPairs::Fit`] round is sized to take, leaving the rest as
/// slack for encodes that cost more than the last ones (a margin on time, not tuned on any
/// error).
pub const FIT_SHARE: f64 = 0.8;

/// The seconds per frame a [`RoundPairs::Fit`] round is sized for: the last GOP's `elapsed`
/// time over its `frames`, less what its keyframe `waited` for the round before (a round that
/// took longer would otherwise lengthen the GOP and so size the next round longer still: with
/// no deadline, the GOP time was mostly that wait), and never under a frame at the nominal
/// `fps` (a stream sent faster than real time is sized as if it were sent in real time).
fn fit_frame_secs(elapsed: Duration, waited: Duration, frames: usize, fps: f64) -> f64 {
    let nominal = 1.0 / fps.max(1.0);
    if frames == 0 {
        return nominal;
    }
    (elapsed.saturating_sub(waited).as_secs_f64() / frames as f64).max(nominal)
}

/// How many pairs a [`RoundPairs::Fit`] round of `settings` measures when one pair's encode of
/// one frame costs a worker `cost` seconds and the stream sends a frame every `frame_secs`: as
/// many as its workers encode (pre-roll and window) in [`FIT_SHARE`] of a window's time.
fn fit_pairs(cost: f64, frame_secs: f64, settings: &ReprobeSettings) -> usize {
    let (window, preroll) = (settings.window.max(1) as f64, settings.preroll as f64);
    let budget = FIT_SHARE * settings.threads.max(1) as f64 * window * frame_secs;
    (budget / ((window + preroll) * cost)).floor() as usize
}

impl Default for ReprobeSettings {
    /// A 30-frame window (the sweeps' GOP; `send` sets the window to its own GOP, 30 frames by
    /// default with `--reprobe`) measured after 15 frames of pre-roll (at 2 Mbit/s and 720p a
    /// cold x264 encoder takes about ten frames to settle); one worker thread; a memory of 0.4
    /// per round; keyframes wait up to a frame at 30 fps for their round; every pair in every
    /// round; a move only for a pair 10% better, on one round's pick.
    fn default() -> Self {
        ReprobeSettings {
            window: 30,
            preroll: 15,
            threads: 1,
            memory: 0.4,
            deadline: Some(Duration::from_millis(33)),
            pairs: RoundPairs::Every,
            margin: 0.1,
            confirm: 1,
            guarded: false,
            long_memory: None,
            risk: Some(Risk::CHOSEN),
            from_stream: false,
            first_round: FirstRound::Settled,
        }
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
    /// Its mean error over everything measured, metres at the range given to [`Reprobe::new`]
    /// ([`Reprobe::measured`]).
    pub mae: f64,
    /// The current pair's, likewise.
    pub current_mae: f64,
}

/// How a pair of the last round was measured ([`Reprobe::last_round_frames`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundFrames {
    /// The frames its error is over.
    pub frames: usize,
    /// Whether they were measured from the stream's own packets
    /// ([`ReprobeSettings::from_stream`]) rather than by an encode of the round's.
    pub from_stream: bool,
}

/// What a keyframe brings ([`Reprobe::at_keyframe`]).
#[derive(Debug, Default)]
pub struct Keyframe {
    /// Where the stream goes from this keyframe, when it moves.
    pub switch: Option<Switch>,
    /// The pairs whose encode failed in the round that ended here, with why. They are measured
    /// no more and never chosen; the round's other pairs count as usual.
    pub failed: Vec<FailedPair>,
}

/// A pair whose encode failed in a round.
#[derive(Debug)]
pub struct FailedPair {
    /// The pair's format.
    pub format: Format,
    /// The pair's configuration.
    pub config: PackingConfig,
    /// Why.
    pub error: StreamError,
}

/// One pair's encode in a round: the measured frames' errors and bits (not the pre-roll's).
type Encoded = Result<ProbeEncode>;

/// What a round's worker sends back for one pair: its index, its encode, and the time its
/// encodes took (busy, not waiting for frames) over how many frames.
type PairDone = (usize, Encoded, Duration, usize);

/// A running round: its workers, what they sent back, and what it measures.
struct Round {
    /// One per worker thread: the frames each encodes (pre-roll first). Dropped when the round
    /// has all its frames, which ends the workers' encodes.
    feeds: Vec<Sender<Arc<DepthImage>>>,
    /// Frames of the stream the round still takes.
    wanted: usize,
    /// Each pair's encode, as the workers finish them.
    done: Receiver<PairDone>,
    /// The pairs it measures (indices into the tally), and each one's encode once in.
    members: Vec<usize>,
    encodes: Vec<Option<Encoded>>,
    /// The workers' time encoding, and the frames encoded (all pairs).
    busy: Duration,
    pair_frames: usize,
    /// Whether it measures the stream from its first frame (so the start-up probe's frames
    /// again).
    from_start: bool,
    /// What its errors are multiplied by in the tally: the start-up probe's range over the
    /// range it packs over (widths; see [`Reprobe::set_range`]).
    scale: f64,
    /// The measurement of the stream's own pair from its packets
    /// ([`ReprobeSettings::from_stream`]), when the round takes it.
    stream: Option<StreamTap>,
}

/// What a round's measurement of the stream's own pair is given ([`Reprobe::push_sent`]).
enum Sent {
    /// The source of the stream's next frame.
    Frame(Arc<DepthImage>),
    /// Packets the stream's encoder gave out after it.
    Packets(Vec<EncodedPacket>),
}

/// A round's feed of what the stream sends to the thread that measures it.
struct StreamTap {
    /// The stream's pair's slot in the round.
    slot: usize,
    /// Closed when the round is taken, or the stream ends ([`Reprobe::wait`]): after the
    /// window's last frame, packets of its frames that come out late still go
    /// ([`Reprobe::push_late`]).
    feed: Option<Sender<Sent>>,
    /// Whether the window's frames have all gone (only their packets go from then on).
    full: bool,
    /// The thread's time decoding and measuring, over how many frames.
    busy: Duration,
    frames: usize,
}

impl Round {
    /// Takes what the workers have finished, waiting until `until` (`None`: as long as it takes)
    /// once the round has all its frames (before that, only what is in). `Some` when every
    /// pair's encode is in (an error for a pair whose worker died): each with its pair's index.
    fn poll(&mut self, until: Option<Instant>) -> Option<Vec<(usize, Encoded)>> {
        loop {
            if self.encodes.iter().all(Option::is_some) {
                let encodes = std::mem::take(&mut self.encodes);
                return Some(self.members.iter().copied().zip(encodes.into_iter().flatten()).collect());
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
                Ok((slot, encode, busy, frames)) => {
                    self.encodes[slot] = Some(encode);
                    match self.stream.as_mut().filter(|t| t.slot == slot) {
                        Some(tap) => (tap.busy, tap.frames) = (tap.busy + busy, tap.frames + frames),
                        None => (self.busy, self.pair_frames) = (self.busy + busy, self.pair_frames + frames),
                    }
                }
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => {
                    let stream = self.stream.as_ref().map(|t| t.slot);
                    for (slot, e) in self.encodes.iter_mut().enumerate().filter(|(_, e)| e.is_none()) {
                        *e = Some(if Some(slot) == stream {
                            // The stream's own pair is not one to drop: unmeasured by this round.
                            Ok(ProbeEncode { errors: Vec::new(), bits: 0 })
                        } else {
                            Err(StreamError::Probe("a re-probe encode's thread panicked".into()))
                        });
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

    /// Sends the stream's next frame and the `packets` its encoder gave out after it to the
    /// measurement of the stream's own pair, while that wants frames (after [`Round::feed`] of
    /// the same frame); closes its feed with the window's last frame, as `feed` closes the
    /// workers'.
    fn tap(&mut self, frame: &Arc<DepthImage>, packets: Vec<EncodedPacket>) {
        let Some(tap) = self.stream.as_mut() else { return };
        let Some(feed) = tap.feed.as_ref() else { return };
        // A measurement gone has sent what it had. After the window, the packets of a later
        // frame are not the round's (the measurement leaves them out by their timestamps), but
        // late ones of the window's frames are.
        if !tap.full {
            let _ = feed.send(Sent::Frame(Arc::clone(frame)));
        }
        if !packets.is_empty() {
            let _ = feed.send(Sent::Packets(packets));
        }
        if self.wanted == 0 {
            tap.full = true;
        }
    }

    /// Packets of the window's frames that came out after them, for the measurement of the
    /// stream's own pair while it is open.
    fn late(&mut self, packets: Vec<EncodedPacket>) {
        if let Some(feed) = self.stream.as_ref().and_then(|t| t.feed.as_ref())
            && !packets.is_empty()
        {
            let _ = feed.send(Sent::Packets(packets));
        }
    }

    /// Takes `n` fewer frames (the stream's frames the sender could not push): closes the feeds
    /// when that leaves none to take, as the window's last frame would.
    fn skip(&mut self, n: usize) {
        if self.wanted > 0 && self.wanted <= n {
            self.end_window();
        } else {
            self.wanted -= n.min(self.wanted);
        }
    }

    /// Takes no more frames: the workers finish with what they have; the measurement of the
    /// stream's own pair still takes late packets until [`Round::close`].
    fn end_window(&mut self) {
        self.wanted = 0;
        self.feeds.clear();
        if let Some(tap) = self.stream.as_mut() {
            tap.full = true;
        }
    }

    /// Takes nothing more: the measurement of the stream's own pair finishes too.
    fn close(&mut self) {
        self.end_window();
        if let Some(tap) = self.stream.as_mut() {
            tap.feed = None;
        }
    }
}

/// The keyframe re-probe of one stream (see the module docs).
pub struct Reprobe {
    tally: PairTally,
    current: usize,
    /// When the stream moves, from round to round.
    rule: MoveRule,
    settings: ReprobeSettings,
    encoder: EncoderSettings,
    range: (f32, f32),
    /// The width of the range given to [`Reprobe::new`] (the start-up probe's): the tally's
    /// errors are at that range.
    reference: f64,
    size: (u32, u32),
    /// The last `window + preroll` frames pushed.
    recent: VecDeque<Arc<DepthImage>>,
    /// Frames pushed in all, and frames of the stream skipped ([`Reprobe::skip`]).
    pushed: usize,
    skipped: usize,
    /// Frames skipped while no round ran, which the next round takes off its window.
    skip_next: usize,
    round: Option<Round>,
    rounds: usize,
    /// Per pair: whether its encode failed in a round (it is measured no more).
    failed: Vec<bool>,
    /// What one pair's encode of one frame costs a worker, seconds (the start-up probe's
    /// estimate, then the rounds', the newest weighing half): for [`RoundPairs::Fit`].
    cost: Option<f64>,
    /// What measuring one frame of the stream's own pair from its packets costs, seconds (as
    /// `cost`): [`ReprobeSettings::from_stream`].
    stream_cost: Option<f64>,
    fps: f64,
    /// When the GOP being sent began (the first frame pushed, then each keyframe), the frames
    /// pushed before it and how long its keyframe waited for a round; the seconds per frame
    /// the last whole GOP took ([`fit_frame_secs`]): for [`RoundPairs::Fit`].
    gop_start: Option<(Instant, usize, Duration)>,
    frame_secs: Option<f64>,
    /// Pairs the newest round measures.
    round_size: usize,
    /// What the last round that ended measured of each of its pairs, by itself, and over how
    /// many frames, and whether from the stream's own packets.
    last_round: Vec<ProbedPair>,
    last_round_frames: Vec<RoundFrames>,
    /// The frames of the last round that ended whose error was measured from the stream's own
    /// packets (`None`: that round did not take the stream's).
    last_stream_frames: Option<usize>,
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
        if let Some(keep) = settings.long_memory {
            tally = tally.with_long_view(keep);
        }
        if let Some(risk) = settings.risk {
            tally = tally.with_risk(risk);
        }
        let seconds = report.frames as f64 / auto.fps.max(1.0);
        for (k, m) in same_codec.iter().enumerate() {
            let bits = (m.rate * auto.bitrate as f64 * seconds).round() as u64;
            tally.record_mean(k, m.mae, bits, report.frames);
            tally.round_measured(k, &[m.mae], true);
        }
        let current = tally.pairs().iter().position(|&p| p == (report.format, report.winner)).unwrap_or(0);
        // The probe encoded all its pairs side by side, so on as many cores as it had (or pairs).
        let jobs = report.measured.len();
        let cores = std::thread::available_parallelism().map_or(1, usize::from).min(jobs);
        let cost = (jobs > 0 && report.frames > 0)
            .then(|| report.wall.as_secs_f64() * cores as f64 / (jobs * report.frames) as f64);
        let n = tally.pairs().len();
        Reprobe {
            tally,
            current,
            rule: MoveRule::new(settings.margin, settings.confirm, settings.guarded),
            settings,
            encoder,
            range,
            reference: width_of(range),
            size: (width, height),
            recent: VecDeque::new(),
            pushed: 0,
            skipped: 0,
            skip_next: 0,
            round: None,
            rounds: 0,
            failed: vec![false; n],
            cost,
            stream_cost: None,
            fps: auto.fps.max(1.0),
            gop_start: None,
            frame_secs: None,
            round_size: 0,
            last_round: Vec::new(),
            last_round_frames: Vec::new(),
            last_stream_frames: None,
        }
    }

    /// What has been measured of each pair (of the stream's codec), the older rounds weighing
    /// less, in the start-up probe's order; a pair whose encode failed in a round has an
    /// infinite error. Errors are at the range given to [`Reprobe::new`] (the rounds' own
    /// ranges scaled to it: [`Reprobe::set_range`]), as a [`Switch`]'s are.
    pub fn measured(&self) -> Vec<crate::auto::ProbedPair> {
        let mut m = self.tally.measured();
        for (p, _) in m.iter_mut().zip(&self.failed).filter(|(_, f)| **f) {
            p.mae = f64::INFINITY;
        }
        m
    }

    /// What the move rule compares of each pair, in [`Reprobe::measured`]'s order: the mean
    /// error there, or with [`ReprobeSettings::risk`] the [`Risk`] score
    /// ([`PairTally::scores`]); infinite for a pair whose encode failed.
    pub fn scores(&self) -> Vec<f64> {
        let mut scores = self.tally.scores();
        for (score, _) in scores.iter_mut().zip(&self.failed).filter(|(_, f)| **f) {
            *score = f64::INFINITY;
        }
        scores
    }

    /// Pairs the newest round measures (0 before the first), the stream's own among them when
    /// it is measured from the stream.
    pub fn round_size(&self) -> usize {
        self.round_size
    }

    /// What the last round that ended measured, by itself (not weighed with earlier rounds, as
    /// [`Reprobe::measured`] is): each pair whose encode came back, in the start-up probe's
    /// order, with its mean error over the round's frames in metres at the round's own range
    /// (infinite where a frame was lost) and bitrate / target. Empty before the first round
    /// ends. For logs (`send --reprobe-log`).
    pub fn last_round(&self) -> &[ProbedPair] {
        &self.last_round
    }

    /// For each pair of [`Reprobe::last_round`], in its order: how it was measured.
    pub fn last_round_frames(&self) -> &[RoundFrames] {
        &self.last_round_frames
    }

    /// How many frames of the last round that ended measured the stream's own pair from its
    /// packets ([`ReprobeSettings::from_stream`]; `None` when that round did not, as the first
    /// does not). The round's window, less its frames whose packets did not reach the round
    /// (dropped, late or held back: see [`SentPackets`]) and those before the stream's first
    /// keyframe in the round (its decode starts there).
    pub fn last_stream_frames(&self) -> Option<usize> {
        self.last_stream_frames
    }

    /// What one pair's encode of one frame has cost a round's worker (busy time; before the
    /// first round ends, the start-up probe's estimate).
    pub fn cost(&self) -> Option<Duration> {
        self.cost.map(Duration::from_secs_f64)
    }

    /// What measuring one frame of the stream's own pair from its packets has cost
    /// ([`ReprobeSettings::from_stream`]; `None` before a round has done it).
    pub fn stream_cost(&self) -> Option<Duration> {
        self.stream_cost.map(Duration::from_secs_f64)
    }

    /// How it measures.
    pub fn settings(&self) -> &ReprobeSettings {
        &self.settings
    }

    /// Frames pushed so far: the next frame's index among those pushed, as
    /// [`Reprobe::push_sent`] takes its packets' timestamps ([`SentPackets::push`]).
    pub fn pushed(&self) -> usize {
        self.pushed
    }

    /// The range the rounds that start from here pack their encodes over and count pixels within
    /// (the near..far given to [`Reprobe::new`] until then): a sender whose range follows the
    /// scene (the Bevy sender's, per frame) sets it before each keyframe, so that a round's
    /// encodes are packed as the stream's frames are, and the stream's own pair measured from
    /// its packets (over each frame's own in-band range) competes with them on equal terms.
    /// Errors in metres grow with the range (a code step of a packing, and so what the codec
    /// loses of it, is a share of the range): the tally keeps each round's errors at the range
    /// given to [`Reprobe::new`], scaled by the ratio of the two ranges' widths, so that rounds
    /// over different ranges weigh alike, and a pair measured only while the scene was shallow
    /// does not look better than one measured while it was deep ([`Reprobe::measured`]).
    pub fn set_range(&mut self, range: (f32, f32)) {
        self.range = range;
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

    /// Whether the running round measures the stream's own pair from its packets
    /// ([`ReprobeSettings::from_stream`]) and still takes them ([`Reprobe::push_late`]): a
    /// sender whose encoder runs apart waits for late packets only then. The first round
    /// encodes the stream's pair like the others, so it takes none.
    pub fn measures_stream(&self) -> bool {
        self.round.as_ref().is_some_and(|r| r.stream.as_ref().is_some_and(|t| t.feed.is_some()))
    }

    /// Takes `frame`, the stream's newest: keeps it, and passes it to the running round. The
    /// first frame starts the first round.
    ///
    /// # Errors
    /// The first round's threads could not start (later rounds start at keyframes).
    pub fn push(&mut self, frame: DepthImage) -> Result<()> {
        self.push_sent(frame, Vec::new())
    }

    /// [`Reprobe::push`] with the `packets` the stream's encoder gave out for `frame` (after it,
    /// in order, as the stream sends them): what a round measures the stream's own pair from
    /// ([`ReprobeSettings::from_stream`]). Each packet's timestamp is the index of its frame
    /// among those pushed (0 for the first), as a [`crate::DepthEncoder`] that starts with the
    /// re-probe gives them (and keeps across a reopen at the keyframe's index); where the
    /// encoder runs apart and numbers frames its own way, [`SentPackets`] stamps them so. Packets
    /// that come out a few frames late count too, while the round takes frames; a frame whose
    /// packets have not come by then, and the frames before the first the decoder gives back (a
    /// stream with no keyframe where the round starts), are left out of the measurement.
    ///
    /// # Errors
    /// As [`Reprobe::push`].
    pub fn push_sent(&mut self, frame: DepthImage, packets: Vec<EncodedPacket>) -> Result<()> {
        if self.pushed == 0 && self.round.is_none() {
            self.start_round()?;
        }
        self.gop_start.get_or_insert_with(|| (Instant::now(), self.pushed + self.skipped, Duration::ZERO));
        let frame = Arc::new(frame);
        if let Some(round) = self.round.as_mut() {
            round.feed(&frame);
            round.tap(&frame, packets);
        }
        self.recent.push_back(frame);
        self.pushed += 1;
        while self.recent.len() > self.settings.window + self.settings.preroll {
            self.recent.pop_front();
        }
        Ok(())
    }

    /// Counts `n` frames of the stream that will never be pushed, in the place of the next
    /// frame: a sender whose frames reach the re-probe apart from its encoder (the Bevy sender's
    /// depth readback) lost them, and its keyframes count them. The running round takes `n`
    /// frames fewer, so that it still ends with the stream's GOP and the next one starts at the
    /// stream's next keyframe; a round that already has all its frames is not changed. The
    /// stream's packets of those frames are not the round's: [`SentPackets`] holds them back.
    pub fn skip(&mut self, n: usize) {
        match self.round.as_mut() {
            Some(round) => round.skip(n),
            // Before the first round (it starts with the first frame pushed): it takes them off.
            None => self.skip_next += n,
        }
        self.skipped += n;
    }

    /// Packets of frames already pushed that the stream's encoder gave out after them (a sender
    /// whose encoder runs apart: [`SentPackets::ready`]), stamped as [`Reprobe::push_sent`] takes
    /// them: the running round's measurement of the stream's own pair takes those of its frames
    /// until the keyframe that ends it, so that a window's last frames are measured though their
    /// packets came after them.
    pub fn push_late(&mut self, packets: Vec<EncodedPacket>) {
        if let Some(round) = self.round.as_mut() {
            round.late(packets);
        }
    }

    /// The preset of the rounds that start from now on (those running keep theirs): the stream's
    /// own, after `send --preset auto` stepped it down ([`crate::PresetGuard`]), so that the
    /// rounds measure the pairs as the stream would send them and cost what it costs. What earlier
    /// rounds measured at the slower preset fades with the tally's memory.
    pub fn set_preset(&mut self, preset: &str) {
        self.encoder.preset = preset.to_string();
    }

    /// The last `n` frames pushed (fewer at the start).
    pub fn last(&self, n: usize) -> Vec<DepthImage> {
        self.recent.iter().skip(self.recent.len().saturating_sub(n)).map(|f| DepthImage::clone(f)).collect()
    }

    /// The pre-roll of an encoder reopened at this keyframe: the last
    /// [`ReprobeSettings::preroll`] frames pushed, as the rounds' encodes were pre-rolled.
    pub fn preroll(&self) -> Vec<DepthImage> {
        self.last(self.settings.preroll)
    }

    /// At a keyframe (before its frame is pushed): adds the running round to the tally when it
    /// has ended (waiting up to [`ReprobeSettings::deadline`] for one whose frames have all been
    /// pushed), starts the next round from this keyframe when none is running, and returns where
    /// the stream goes from this keyframe when the tally's best pair is another one (it becomes
    /// the current pair), and the pairs whose encode failed in the round.
    ///
    /// # Errors
    /// A round's threads could not start (the stream can go on with its pair; the next
    /// keyframe tries again).
    pub fn at_keyframe(&mut self) -> Result<Keyframe> {
        let now = Instant::now();
        if let Some((start, pushed, waited)) = self.gop_start.take() {
            let frames = self.pushed + self.skipped - pushed;
            if frames > 0 {
                self.frame_secs = Some(fit_frame_secs(now.duration_since(start), waited, frames, self.fps));
            }
        }
        let taken = self.take_round(self.settings.deadline.map(|d| now + d));
        // The next GOP's time starts here; the wait for this round is not the stream's pace.
        self.gop_start = Some((now, self.pushed + self.skipped, now.elapsed()));
        // Only a round moves the stream: the tally is as it was at the last keyframe otherwise.
        let was = self.current;
        let switch = taken.as_ref().and_then(|_| self.best_switch());
        let failed = taken.unwrap_or_default();
        if self.round.is_none()
            && let Err(e) = self.start_round()
        {
            // The caller keeps the stream's pair on an error: so does the re-probe.
            self.current = was;
            return Err(e);
        }
        Ok(Keyframe { switch, failed })
    }

    /// Where the stream goes after a round when the tally's best pair (of those that never
    /// failed) is not the current one, better by [`ReprobeSettings::margin`] and confirmed by
    /// [`ReprobeSettings::confirm`] rounds ([`MoveRule`]); it becomes the current one.
    fn best_switch(&mut self) -> Option<Switch> {
        let failed = &self.failed;
        let best = self.rule.after_round(&self.tally, self.current, |k| !failed[k])?;
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
        Some(switch)
    }

    /// Ends the running round with the frames pushed so far (fewer than the window before the
    /// next keyframe), waits for it and adds it to the tally: for a stream that ends, and for
    /// tests. Returns the pairs whose encode failed in it.
    pub fn wait(&mut self) -> Vec<FailedPair> {
        if let Some(round) = self.round.as_mut() {
            round.close();
        }
        self.take_round(None).unwrap_or_default()
    }

    /// The running round's measurement added to the tally, when it has ended (see
    /// [`Round::poll`] for `until`): the pairs whose encode failed in it.
    fn take_round(&mut self, until: Option<Instant>) -> Option<Vec<FailedPair>> {
        let round = self.round.as_mut()?;
        if round.wanted == 0 {
            // The window is in: what late packets came have been given.
            round.close();
        }
        let encodes = round.poll(until)?;
        let round = self.round.take()?;
        let average = |old: Option<f64>, busy: Duration, frames: usize| match frames {
            0 => old,
            _ => {
                let new = busy.as_secs_f64() / frames as f64;
                Some(old.map_or(new, |c| 0.5 * (c + new)))
            }
        };
        self.cost = average(self.cost, round.busy, round.pair_frames);
        if let Some(tap) = &round.stream {
            self.stream_cost = average(self.stream_cost, tap.busy, tap.frames);
        }
        let stream = round.stream.as_ref().map(|tap| round.members[tap.slot]);
        Some(self.record(encodes, round.from_start, round.scale, stream))
    }

    /// Adds one round's encodes (of the measured frames, each with its pair's index) to the
    /// tally, after weighing what was measured before by [`ReprobeSettings::memory`]. A round
    /// that began with the stream's first frame measured the start-up probe's frames again,
    /// over a whole GOP: what the probe measured of its pairs is then forgotten, so each frame
    /// counts once (as in the sweep's model of this policy). A pair whose encode failed is
    /// measured no more; the others count. `stream` is the pair measured from the stream's
    /// packets, if any.
    fn record(
        &mut self,
        encodes: Vec<(usize, Encoded)>,
        from_start: bool,
        scale: f64,
        stream: Option<usize>,
    ) -> Vec<FailedPair> {
        // A round whose frames were all lost before it (`Reprobe::skip`) measured nothing: what
        // was measured before does not fade for it.
        let measured_any = encodes.iter().any(|(_, e)| e.as_ref().map_or(true, |run| !run.errors.is_empty()));
        if !from_start && measured_any {
            self.tally.decay(self.settings.memory);
        }
        let mut failed = Vec::new();
        // The round by itself, by the tally's rule for errors and rates.
        let mut alone = self.tally.clone();
        alone.forget();
        let mut measured = Vec::new();
        for (k, encode) in encodes {
            match encode {
                // The stream's own pair with no packets to measure it from (`Reprobe::push`).
                Ok(run) if run.errors.is_empty() => {}
                Ok(run) => {
                    if from_start {
                        self.tally.forget_pair(k);
                    }
                    // At the start-up probe's range (x 1, exactly, while the range stays).
                    let at_reference: Vec<f64> = run.errors.iter().map(|e| e * scale).collect();
                    self.tally.record_run(k, &at_reference, run.bits, run.errors.len());
                    self.tally.round_measured(k, &at_reference, from_start);
                    alone.record_run(k, &run.errors, run.bits, run.errors.len());
                    measured.push((k, run.errors.len()));
                }
                Err(error) => {
                    self.failed[k] = true;
                    let (format, config) = self.tally.pairs()[k];
                    failed.push(FailedPair { format, config, error });
                }
            }
        }
        measured.sort_unstable();
        let alone = alone.measured();
        self.last_round = measured.iter().map(|&(k, _)| alone[k]).collect();
        self.last_round_frames =
            measured.iter().map(|&(k, frames)| RoundFrames { frames, from_stream: Some(k) == stream }).collect();
        // The stream's own pair with no packets measured none of its frames (not in `measured`).
        self.last_stream_frames =
            stream.map(|s| measured.iter().find(|&&(k, _)| k == s).map_or(0, |&(_, frames)| frames));
        self.rounds += 1;
        failed
    }

    /// How many pairs the next round asks for (see [`RoundPairs`]; [`PairTally::shortlist`]
    /// makes it at least 2 and at most every pair allowed).
    fn round_pairs(&self) -> usize {
        match self.settings.pairs {
            RoundPairs::Every => usize::MAX,
            RoundPairs::Shortlist(n) => n,
            RoundPairs::Fit => {
                let Some(cost) = self.cost.filter(|&c| c > 0.0) else { return usize::MAX };
                let frame_secs = self.frame_secs.unwrap_or(1.0 / self.fps);
                fit_pairs(cost, frame_secs, &self.settings)
            }
        }
    }

    /// Starts a round from here: the pairs of [`ReprobeSettings::pairs`] encoded, on
    /// [`ReprobeSettings::threads`] worker threads (the `i`-th encoded on thread `i mod
    /// threads`), over the last [`ReprobeSettings::preroll`] frames kept, then the next
    /// [`ReprobeSettings::window`] frames pushed (at the stream's start: over the first
    /// `preroll` of those, then all of them). With [`ReprobeSettings::from_stream`], after the
    /// first round, the stream's own pair is one more and measured from the stream's packets
    /// on a thread of its own.
    fn start_round(&mut self) -> Result<()> {
        let from_start = self.pushed == 0;
        let from_stream = self.settings.from_stream && !from_start && !self.failed[self.current];
        let encodes = self.round_pairs();
        let n = if from_stream { encodes.max(1).saturating_add(1) } else { encodes };
        let members = self.tally.shortlist(self.current, n, self.rounds, |k| !self.failed[k]);
        let stream_slot = members.iter().position(|&k| from_stream && k == self.current);
        let pairs: Vec<(usize, Format, PackingConfig)> = members
            .iter()
            .enumerate()
            .filter(|&(slot, _)| Some(slot) != stream_slot)
            .map(|(slot, &k)| (slot, self.tally.pairs()[k].0, self.tally.pairs()[k].1))
            .collect();
        let threads = self.settings.threads.clamp(1, pairs.len().max(1));
        let preroll: Vec<Arc<DepthImage>> =
            self.recent.iter().skip(self.recent.len().saturating_sub(self.settings.preroll)).cloned().collect();
        let rewind = match self.settings.first_round {
            FirstRound::Settled if from_start => self.settings.preroll.min(self.settings.window),
            _ => 0,
        };
        let wanted = self.settings.window.max(1);
        let (done_tx, done) = channel();
        let mut feeds = Vec::with_capacity(threads);
        for t in 0..threads {
            let (feed, frames) = channel::<Arc<DepthImage>>();
            for f in &preroll {
                let _ = feed.send(Arc::clone(f));
            }
            feeds.push(feed);
            let mine: Vec<(usize, Format, PackingConfig)> = pairs.iter().skip(t).step_by(threads).copied().collect();
            let (encoder, range, size, done) = (self.encoder.clone(), self.range, self.size, done_tx.clone());
            let frames = Feed { frames, preroll: preroll.len(), rewind };
            std::thread::Builder::new()
                .name("depthcast-reprobe".into())
                .spawn(move || measure_round(&mine, &encoder, size, range, frames, &done))
                .map_err(|e| StreamError::Probe(format!("starting a re-probe round: {e}")))?;
        }
        let stream = match stream_slot {
            Some(slot) => {
                let (feed, sent) = channel();
                let (codec, size, range) = (self.tally.pairs()[self.current].0.codec, self.size, self.range);
                let frames = (self.pushed as i64, wanted);
                std::thread::Builder::new()
                    .name("depthcast-reprobe-stream".into())
                    .spawn(move || measure_stream(codec, size, range, frames, slot, &sent, &done_tx))
                    .map_err(|e| StreamError::Probe(format!("starting a re-probe round: {e}")))?;
                Some(StreamTap { slot, feed: Some(feed), full: false, busy: Duration::ZERO, frames: 0 })
            }
            None => None,
        };
        let encodes = (0..members.len()).map(|_| None).collect();
        self.round_size = members.len();
        let (busy, pair_frames) = (Duration::ZERO, 0);
        if self.reference < MIN_REFERENCE {
            // The start-up probe saw no depth range (a flat view): the first real one is the
            // tally's.
            self.reference = width_of(self.range);
        }
        let scale = self.reference / width_of(self.range);
        let mut round = Round { feeds, wanted, done, members, encodes, busy, pair_frames, from_start, scale, stream };
        round.skip(std::mem::take(&mut self.skip_next));
        self.round = Some(round);
        Ok(())
    }
}

/// The narrowest range the tally's errors are kept at ([`Reprobe::set_range`]): a millimetre.
const MIN_REFERENCE: f64 = 1e-3;

/// The width of a depth range, at least a micrometre (the ratio of two is then finite).
fn width_of((near, far): (f32, f32)) -> f64 {
    (f64::from(far) - f64::from(near)).max(1e-6)
}

/// The measurement of the stream's own pair from what it sends ([`ReprobeSettings::from_stream`]):
/// decodes the stream's packets of `codec` whose timestamps fall in `frames` (the round's first
/// frame's index among those pushed, and the window's length), unpacks each decoded frame and
/// takes its error against its source (the frames `sent`, in order). Sends back, for the round's
/// `slot`, the error and bits of each frame whose packets came, from the first frame the decoder
/// gave back (the decoder starts at a keyframe; a frame it then loses counts as lost), with the
/// time it took over how many frames. A decoder that cannot open, or a decode that fails, sends
/// back no frames (the pair is then not measured by this round), never an error: the stream's
/// pair is not one to drop.
fn measure_stream(
    codec: VideoCodec,
    size: (u32, u32),
    range: (f32, f32),
    (origin, window): (i64, usize),
    slot: usize,
    sent: &Receiver<Sent>,
    done: &Sender<PairDone>,
) {
    let (mut busy, mut frames) = (Duration::ZERO, 0);
    let mut measure = || -> Result<ProbeEncode> {
        let t0 = Instant::now();
        let mut m = Measure::<Arc<DepthImage>>::new(codec, size, range)?;
        busy += t0.elapsed();
        for s in sent.iter() {
            let t0 = Instant::now();
            match s {
                Sent::Frame(f) => {
                    m.expect(f);
                    frames += 1;
                }
                Sent::Packets(packets) => {
                    // Packets of the GOP before, late out of the encoder, are not the round's.
                    for p in packets.iter().filter(|p| (0..window as i64).contains(&(p.pts - origin))) {
                        m.packet(&p.data, p.pts - origin)?;
                    }
                }
            }
            busy += t0.elapsed();
        }
        let t0 = Instant::now();
        let (run, frame_bits) = m.finish()?;
        busy += t0.elapsed();
        let first = run.errors.iter().position(|e| e.is_finite()).unwrap_or(run.errors.len());
        let measured: Vec<(f64, u64)> =
            run.errors.iter().zip(&frame_bits).skip(first).filter(|&(_, &b)| b > 0).map(|(&e, &b)| (e, b)).collect();
        Ok(ProbeEncode { errors: measured.iter().map(|m| m.0).collect(), bits: measured.iter().map(|m| m.1).sum() })
    };
    let run = measure().unwrap_or(ProbeEncode { errors: Vec::new(), bits: 0 });
    let _ = done.send((slot, Ok(run), busy, frames));
}

/// What a round's worker encodes: `preroll` frames kept from before the round, then the frames
/// sent from its keyframe on, of which the first `rewind` are encoded twice (pre-roll, then
/// measured).
struct Feed {
    frames: Receiver<Arc<DepthImage>>,
    preroll: usize,
    rewind: usize,
}

/// One pair's encode on a worker, with its busy time and frames encoded.
struct WorkerRun {
    slot: usize,
    run: MeasuredEncode<Arc<DepthImage>>,
    busy: Duration,
    frames: usize,
}

/// A round's worker: encodes `pairs` (slot in the round, format, configuration) frame by frame
/// over what it is fed; once the feed ends it sends each pair's errors and bits over the
/// measured frames, with the time its encodes took. A pair whose encoder failed is sent its
/// error at once and encodes no more.
fn measure_round(
    pairs: &[(usize, Format, PackingConfig)],
    encoder: &EncoderSettings,
    (width, height): (u32, u32),
    range: (f32, f32),
    feed: Feed,
    done: &Sender<PairDone>,
) {
    let mut runs: Vec<WorkerRun> = Vec::with_capacity(pairs.len());
    for &(slot, format, config) in pairs {
        let mut settings = encoder.clone();
        (settings.codec, settings.bit_depth) = (format.codec, format.bits);
        // One core per worker: `threads` sets how many the round takes.
        settings.threads = 1;
        let t0 = Instant::now();
        match MeasuredEncode::new(&config, &settings, (width, height), range) {
            Ok(run) => runs.push(WorkerRun { slot, run, busy: t0.elapsed(), frames: 0 }),
            Err(e) => {
                let _ = done.send((slot, Err(e), Duration::ZERO, 0));
            }
        }
    }
    let encode = |runs: &mut Vec<WorkerRun>, frame: &Arc<DepthImage>| {
        runs.retain_mut(|r| {
            let t0 = Instant::now();
            let pushed = r.run.push(Arc::clone(frame));
            r.busy += t0.elapsed();
            r.frames += 1;
            match pushed {
                Ok(()) => true,
                Err(e) => {
                    let _ = done.send((r.slot, Err(e), r.busy, r.frames));
                    false
                }
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
    for WorkerRun { slot, run, busy, frames } in runs {
        let t0 = Instant::now();
        let encoded = run.finish_after(skip);
        let _ = done.send((slot, encoded, busy + t0.elapsed(), frames));
    }
}

#[cfg(test)]
mod tests {
    use depthcast_codec::{Refresh, VideoCodec};
    use depthcast_packing::{BitDepth, testdata};

    use super::*;

    #[test]
    fn a_fitted_round_measures_more_pairs_when_frames_come_slower_or_workers_are_more() {
        // 12.5 ms per pair and frame (x264 at 720p on this project's 2-core machine), a window of
        // 30 after 15 of pre-roll: 0.5625 s of work per pair.
        let settings = ReprobeSettings::default();
        let cost = 0.0125;
        // At 30 fps a window's 80% is 0.8 s: one pair (a shortlist makes it two).
        assert_eq!(fit_pairs(cost, 1.0 / 30.0, &settings), 1);
        // Frames from a renderer at 4 fps: 6 s, ten pairs; two workers twice that.
        assert_eq!(fit_pairs(cost, 0.25, &settings), 10);
        assert_eq!(fit_pairs(cost, 0.25, &ReprobeSettings { threads: 2, ..settings }), 21);
    }

    #[test]
    fn a_fitted_round_is_sized_by_the_streams_pace_not_by_its_own_wait() {
        let ms = Duration::from_millis;
        // Paced at 30 fps: 30 frames in 1 s, no wait: a frame every 33 ms.
        assert!((fit_frame_secs(ms(1000), ms(0), 30, 30.0) - 1.0 / 30.0).abs() < 1e-12);
        // A software renderer at 4 fps: 7.5 s for 30 frames, 250 ms a frame.
        assert!((fit_frame_secs(ms(7500), ms(0), 30, 30.0) - 0.25).abs() < 1e-12);
        // `send --fast` with no deadline: 30 frames sent in 0.3 s after waiting 6 s for the
        // round. The wait does not count (else the next round is sized for 210 ms a frame, and
        // so on), and a stream faster than real time is sized as if in real time.
        assert!((fit_frame_secs(ms(6300), ms(6000), 30, 30.0) - 1.0 / 30.0).abs() < 1e-12);
        assert!((fit_frame_secs(ms(300), ms(0), 30, 30.0) - 1.0 / 30.0).abs() < 1e-12);
        // The same rounds either way: one pair of 12.5 ms per frame at 30 fps.
        let settings = ReprobeSettings::default();
        let fast = fit_frame_secs(ms(6300), ms(6000), 30, 30.0);
        assert_eq!(fit_pairs(0.0125, fast, &settings), fit_pairs(0.0125, 1.0 / 30.0, &settings));
        // No frames: the nominal rate.
        assert!((fit_frame_secs(ms(10), ms(0), 0, 30.0) - 1.0 / 30.0).abs() < 1e-12);
    }

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
        let mut out: Vec<_> = encodes
            .iter()
            .map(|(k, e, busy, frames)| {
                assert!(frames >= n && busy > Duration::ZERO, "pair {k}: {frames} frames in {busy:?}");
                (k, e.unwrap())
            })
            .collect();
        out.sort_by_key(|e| e.0);
        out
    }

    #[test]
    fn rounds_of_a_shortlist_take_turns_and_a_pair_that_fails_is_dropped_not_the_round() {
        let (w, h) = (96, 64);
        let mut s = EncoderSettings::new(VideoCodec::H264, w, h);
        (s.bitrate, s.fps, s.refresh, s.force_software) = (300_000, (30, 1), Refresh::Gop(10), true);
        let luma = PackingConfig::luma(BitDepth::Eight);
        // A precision no 8-bit plane holds: every encode of it fails when it packs a frame.
        let broken = PackingConfig::vbp(40, depthcast_packing::VbpLayout::Luma);
        let pairs = [luma, PackingConfig::hue(), broken, PackingConfig::vbp(16, depthcast_packing::VbpLayout::Luma)];
        // The probe's numbers (1 frame each): the broken pair measured best, the stream on luma.
        let (report, auto) = probed(&pairs, &[0.05, 0.06, 0.001, 0.07], luma);
        let every = ReprobeSettings {
            window: 10,
            preroll: 4,
            threads: 2,
            deadline: None,
            pairs: RoundPairs::Shortlist(3),
            ..ReprobeSettings::default()
        };
        let mut rp = Reprobe::new(&report, &auto, s, (w, h), (0.5, 20.0), every);
        let mut failed = Vec::new();
        let mut sizes = Vec::new();
        for i in 0..40 {
            if i > 0 && i % 10 == 0 {
                let key = rp.at_keyframe().unwrap();
                failed.extend(key.failed.into_iter().map(|f| f.config));
                assert_ne!(rp.current().1, broken, "a pair that failed is never chosen");
                sizes.push(rp.round_size());
                if i == 10 {
                    // The first round by itself: the two pairs whose encodes came back.
                    let last: Vec<PackingConfig> = rp.last_round().iter().map(|p| p.config).collect();
                    assert_eq!(last, vec![luma, PackingConfig::hue()]);
                }
            }
            rp.push(testdata::game_scene(w, h, i as f32 / 30.0)).unwrap();
        }
        failed.extend(rp.wait().into_iter().map(|f| f.config));
        // The first round (round 0, an even one): the stream's pair, the best other (the broken
        // one), which fails once and drops out, and the best-ranked of the rest (hue);
        // the two beside the broken one count. Then the three that work.
        assert_eq!(failed, vec![broken]);
        assert_eq!(rp.rounds(), 4, "no round lost to the failure");
        assert_eq!(sizes, vec![3, 3, 3]);
        // The last round by itself: the three that work, each over its frames alone.
        let last = rp.last_round();
        assert_eq!(last.iter().map(|p| p.config).collect::<Vec<_>>(), vec![pairs[0], pairs[1], pairs[3]]);
        assert!(last.iter().all(|p| p.mae.is_finite() && p.mae > 0.0 && p.rate > 0.0), "{last:?}");
        let m = rp.measured();
        assert!(m[2].mae.is_infinite(), "{m:?}");
        // Every other pair was measured by a round: none keeps the probe's round number.
        for k in [0, 1, 3] {
            assert!(m[k].mae.is_finite() && ![0.05, 0.06, 0.07].contains(&m[k].mae), "pair {k}: {m:?}");
        }
        // What an encode costs a worker, from the rounds.
        assert!(rp.cost().is_some_and(|c| c > Duration::ZERO));
    }

    /// A start-up probe's report of H.264 8-bit `configs`, each measured at its error in `maes`
    /// over one frame at the bitrate, the stream on `winner`; and its stream's settings (300
    /// kbit/s, 30 fps, GOP 10).
    fn probed(configs: &[PackingConfig], maes: &[f64], winner: PackingConfig) -> (FormatProbeReport, AutoSettings) {
        let measured = configs
            .iter()
            .zip(maes)
            .map(|(&config, &mae)| ProbedPair { format: Format::H264_8, config, mae, rate: 1.0 })
            .collect();
        let report = FormatProbeReport { measured, format: Format::H264_8, winner, frames: 1, wall: Duration::ZERO };
        let auto =
            AutoSettings { codec: VideoCodec::H264, bits: BitDepth::Eight, bitrate: 300_000, fps: 30.0, gop: 10 };
        (report, auto)
    }

    /// The stream of the tests of [`ReprobeSettings::from_stream`]: `n` frames of a synthetic
    /// scene encoded as one stream on `config` by a real encoder (keyframes every 10), each frame
    /// with its packets.
    fn sent_stream(n: usize, config: PackingConfig) -> Vec<(DepthImage, Vec<EncodedPacket>)> {
        let (w, h) = (96, 64);
        let mut enc = crate::DepthEncoder::new(stream_settings(), &config, w, h, None).unwrap();
        (0..n)
            .map(|i| {
                let frame = testdata::game_scene(w, h, i as f32 / 30.0);
                let meta = crate::FrameMeta { frame_index: i as u32, ..Default::default() };
                let out = enc.encode(&frame.view(), &config, 0.5, 20.0, &meta).unwrap();
                (frame, out.packets)
            })
            .collect()
    }

    fn stream_settings() -> EncoderSettings {
        let mut s = EncoderSettings::new(VideoCodec::H264, 96, 64);
        (s.bitrate, s.fps, s.refresh, s.force_software) = (300_000, (30, 1), Refresh::Gop(10), true);
        s
    }

    /// A re-probe of three 8-bit pairs, the stream on luma, rounds of `pairs` over a window of
    /// 10 frames (the stream's GOP) after 4 of pre-roll.
    fn three_pair_reprobe(pairs: RoundPairs, from_stream: bool) -> Reprobe {
        three_pair_reprobe_with(|s| (s.pairs, s.from_stream) = (pairs, from_stream))
    }

    /// [`three_pair_reprobe`]'s re-probe, its settings changed by `tweak`.
    fn three_pair_reprobe_with(tweak: impl FnOnce(&mut ReprobeSettings)) -> Reprobe {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let configs = [luma, PackingConfig::hue(), PackingConfig::vbp(16, depthcast_packing::VbpLayout::Luma)];
        let (report, auto) = probed(&configs, &[0.05, 0.06, 0.07], luma);
        // A margin no round reaches: the stream stays on luma, so every round measures it.
        let mut settings =
            ReprobeSettings { window: 10, preroll: 4, deadline: None, margin: 0.99, ..Default::default() };
        tweak(&mut settings);
        Reprobe::new(&report, &auto, stream_settings(), (96, 64), (0.5, 20.0), settings)
    }

    /// What `sent` (a stretch of [`sent_stream`] from one of its keyframes) measures when its
    /// packets are decoded here: the mean error, and the bitrate over the target.
    fn as_sent(sent: &[(DepthImage, Vec<EncodedPacket>)]) -> (f64, f64) {
        let mut dec = depthcast_codec::Decoder::new(VideoCodec::H264).unwrap();
        let (mut errors, mut bits) = (Vec::new(), 0);
        let mut out = DepthImage::new(96, 64);
        for (frame, packets) in sent {
            for p in packets {
                bits += 8 * p.data.len() as u64;
                for d in dec.decode(&p.data, Some(p.pts)).unwrap() {
                    let d = d.unwrap();
                    depthcast_packing::Packer::default()
                        .unpack_into(&d.frame, &d.params.unwrap().params, &mut out)
                        .unwrap();
                    errors.push(depthcast_packing::Metrics::compute(&frame.view(), &out.view(), 0.5, 20.0).mae);
                }
            }
        }
        assert_eq!(errors.len(), sent.len(), "one frame out per frame in");
        let seconds = sent.len() as f64 / 30.0;
        (errors.iter().sum::<f64>() / errors.len() as f64, bits as f64 / (300_000.0 * seconds))
    }

    /// The rule's scores follow [`ReprobeSettings::risk`]: the mean error without it; with the
    /// worst round alone (RHO 1) that weighs nothing once another round measures the pair (KEEP
    /// 0), each pair's score is its newest round's mean error, the first round's replacing what
    /// the start-up probe measured.
    #[test]
    fn with_a_risk_score_the_rule_compares_each_pairs_worst_round_as_well() {
        let stream = sent_stream(30, PackingConfig::luma(BitDepth::Eight));
        for risk in [None, Some(Risk { rho: 1.0, keep: 0.0 })] {
            let mut rp = three_pair_reprobe_with(|s| s.risk = risk);
            let probe = rp.measured();
            let scores: Vec<f64> = probe.iter().map(|p| p.mae).collect();
            assert_eq!(rp.scores(), scores, "before a round: the probe's errors either way");
            for (i, (frame, packets)) in stream.iter().enumerate() {
                if i == 10 || i == 20 {
                    rp.at_keyframe().unwrap();
                    let last: Vec<f64> = rp.last_round().iter().map(|p| p.mae).collect();
                    let want = match risk {
                        None => rp.measured().iter().map(|p| p.mae).collect(),
                        Some(_) => last,
                    };
                    assert_eq!(rp.last_round().len(), 3, "every pair in every round");
                    for (got, want) in rp.scores().iter().zip(&want) {
                        assert!((got - want).abs() <= 1e-12 * want, "at {i}: {got} against {want} ({risk:?})");
                    }
                }
                rp.push_sent(frame.clone(), packets.clone()).unwrap();
            }
        }
    }

    /// A cold first round ([`FirstRound::Cold`], the best causal policy's measurement) measures
    /// each pair's first GOP as that pair's own stream from the first frame encodes it: for the
    /// stream's pair, the frames the stream sent. The settled first round, pre-rolled over the
    /// GOP's first frames, measures something else.
    #[test]
    fn a_cold_first_round_measures_each_pair_as_its_stream_from_the_first_frame() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let stream = sent_stream(20, luma);
        let (mae, _) = as_sent(&stream[..10]);
        let mut firsts = Vec::new();
        for first_round in [FirstRound::Cold, FirstRound::Settled] {
            // Every pair encoded by the rounds, none measured from the stream.
            let mut rp = three_pair_reprobe_with(|s| {
                (s.pairs, s.from_stream, s.first_round) = (RoundPairs::Every, false, first_round)
            });
            for (i, (frame, packets)) in stream.iter().enumerate() {
                if i == 10 {
                    rp.at_keyframe().unwrap();
                    assert_eq!(rp.last_round_frames().len(), 3, "every pair");
                    assert!(rp.last_round_frames().iter().all(|f| f.frames == 10 && !f.from_stream));
                    firsts.push(*rp.last_round().iter().find(|p| p.config == luma).unwrap());
                    // The first round replaces what the start-up probe measured.
                    for (all, round) in rp.measured().iter().zip(rp.last_round()) {
                        assert!((all.mae - round.mae).abs() <= 1e-12 * round.mae, "{all:?} {round:?}");
                    }
                }
                rp.push_sent(frame.clone(), packets.clone()).unwrap();
            }
            assert!(rp.wait().is_empty());
        }
        let (cold, settled) = (firsts[0], firsts[1]);
        assert!((cold.mae - mae).abs() <= 1e-9 * mae, "cold {} against the stream's {mae}", cold.mae);
        assert!((settled.mae - mae).abs() > 1e-6 * mae, "settled {} against the stream's {mae}", settled.mae);
        // The causal rule: every round alike, no margin and no score but the mean.
        let causal = ReprobeSettings::causal();
        assert_eq!((causal.memory, causal.margin, causal.confirm, causal.risk), (1.0, 0.0, 1, None));
        assert_eq!(
            (causal.first_round, ReprobeSettings::default().first_round),
            (FirstRound::Cold, FirstRound::Settled)
        );
    }

    /// A sender whose encoder runs apart waits for late packets only where a round takes them:
    /// not in the first round (it encodes the stream's pair like the others), not without
    /// `from_stream`, and not once the stream has ended.
    #[test]
    fn only_a_round_measuring_the_stream_from_its_packets_takes_late_ones() {
        let stream = sent_stream(20, PackingConfig::luma(BitDepth::Eight));
        for from_stream in [true, false] {
            let mut rp = three_pair_reprobe(RoundPairs::Shortlist(1), from_stream);
            let mut taking = Vec::new();
            for (i, (frame, packets)) in stream.iter().enumerate() {
                if i == 10 {
                    rp.at_keyframe().unwrap();
                }
                rp.push_sent(frame.clone(), packets.clone()).unwrap();
                taking.push(rp.measures_stream());
            }
            // After the window's last frame (19) too: its packets may still come.
            let want: Vec<bool> = (0..20).map(|i| from_stream && i >= 10).collect();
            assert_eq!(taking, want, "from_stream {from_stream}");
            rp.wait();
            assert!(!rp.measures_stream(), "the stream ended");
        }
    }

    #[test]
    fn a_round_that_starts_between_the_streams_keyframes_measures_it_from_the_next() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        // Keyframes at 0, 10, 20 and 30; the third round starts at 25.
        let stream = sent_stream(40, luma);
        let mut rp = three_pair_reprobe(RoundPairs::Shortlist(1), true);
        for (i, (frame, packets)) in stream.iter().enumerate() {
            if i == 10 || i == 25 {
                rp.at_keyframe().unwrap();
            }
            rp.push_sent(frame.clone(), packets.clone()).unwrap();
        }
        assert!(rp.wait().is_empty());
        assert_eq!(rp.rounds(), 3);
        // Frames 25..30 come before any keyframe of the round's and are left out; 30..35 are
        // measured, each against its own source.
        let (mae, rate) = as_sent(&stream[30..35]);
        assert_eq!(rp.last_stream_frames(), Some(5));
        // The round's encode of the other pair measures its whole window, 25..35.
        let frames: Vec<(PackingConfig, RoundFrames)> =
            rp.last_round().iter().map(|p| p.config).zip(rp.last_round_frames().iter().copied()).collect();
        assert_eq!(frames.len(), 2, "{frames:?}");
        let want = |c| match c == luma {
            true => RoundFrames { frames: 5, from_stream: true },
            false => RoundFrames { frames: 10, from_stream: false },
        };
        assert!(frames.iter().all(|&(c, f)| f == want(c)), "{frames:?}");
        let own = *rp.last_round().iter().find(|p| p.config == luma).expect("the stream's pair measured");
        assert!((own.mae - mae).abs() <= 1e-9 * mae, "{} against {mae}", own.mae);
        assert!((own.rate - rate).abs() < 1e-9, "{} against {rate}", own.rate);
        assert!(rp.measured().iter().all(|p| p.mae.is_finite()), "nothing lost");
    }

    #[test]
    fn the_streams_own_pair_is_measured_from_its_packets_in_place_of_an_encode() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let stream = sent_stream(30, luma);
        // Rounds of one encode: the stream's pair from the stream makes two pairs a round.
        let mut rp = three_pair_reprobe(RoundPairs::Shortlist(1), true);
        let mut sizes = Vec::new();
        for (i, (frame, packets)) in stream.iter().enumerate() {
            if i > 0 && i % 10 == 0 {
                rp.at_keyframe().unwrap();
                sizes.push(rp.round_size());
            }
            rp.push_sent(frame.clone(), packets.clone()).unwrap();
        }
        assert!(rp.wait().is_empty());
        // The rounds after the first measure the stream's pair from the stream beside one encode
        // (the first encodes both: a shortlist has two).
        assert_eq!(sizes, vec![2, 2]);
        assert_eq!(rp.rounds(), 3);
        assert!(rp.stream_cost().is_some_and(|c| c > Duration::ZERO));
        // The last round's luma is the stream's frames 20..30 as sent (an encode of luma by the
        // round, pre-rolled and with its keyframe mid-window, measures otherwise).
        let (mae, rate) = as_sent(&stream[20..30]);
        assert_eq!(rp.last_stream_frames(), Some(10));
        let last = rp.last_round();
        assert_eq!(last.len(), 2, "{last:?}");
        let own = last.iter().find(|p| p.config == luma).expect("the stream's pair measured");
        assert!((own.mae - mae).abs() <= 1e-9 * mae, "{} against {mae}", own.mae);
        assert!((own.rate - rate).abs() < 1e-9, "{} against {rate}", own.rate);
    }

    /// A sender whose encoder runs on its own thread (the Bevy plugin's): its encoder numbers
    /// frames its own way, drops some it was given, encodes some whose depth never reached the
    /// re-probe, and gives packets out late. Matched by their in-band index ([`SentPackets`]), the
    /// stream's pair is measured over the frames sent as sent, and over no frame decoded wrong.
    #[test]
    fn packets_matched_by_their_frames_index_measure_the_stream_of_an_encoder_apart() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let (w, h) = (96, 64);
        // Captures 100..=130. The encoder's queue dropped 104 and 127 (so its keyframes, every 10
        // frames it encodes, are at 100, 111 and 121); the depth of 113 never reached the
        // re-probe.
        let mut enc = crate::DepthEncoder::new(stream_settings(), &luma, w, h, None).unwrap();
        let mut sent = std::collections::BTreeMap::new();
        for c in 100..=130u32 {
            let frame = testdata::game_scene(w, h, (c - 100) as f32 / 30.0);
            let packets = if c == 104 || c == 127 {
                Vec::new()
            } else {
                let meta = crate::FrameMeta { frame_index: c, ..Default::default() };
                enc.encode(&frame.view(), &luma, 0.5, 20.0, &meta).unwrap().packets
            };
            sent.insert(c, (frame, packets));
        }
        let stretch = |r: std::ops::RangeInclusive<u32>| r.map(|c| sent[&c].clone()).collect::<Vec<_>>();

        let mut tap = SentPackets::new();
        let mut rp = three_pair_reprobe(RoundPairs::Shortlist(1), true);
        let (mut pushed, mut second_round) = (0, None);
        for c in 100..=130u32 {
            // 125's packets come out a frame late, with 126's.
            match c {
                125 => {}
                126 => tap.sent(sent[&125].1.iter().chain(&sent[&126].1).cloned()),
                _ => tap.sent(sent[&c].1.iter().cloned()),
            }
            if c == 113 {
                continue;
            }
            if pushed > 0 && pushed % 10 == 0 {
                rp.at_keyframe().unwrap();
                if pushed == 20 {
                    second_round = Some(rp.last_round().to_vec());
                    assert_eq!(rp.last_stream_frames(), Some(2), "111 and 112");
                }
            }
            let packets = tap.push(c, rp.pushed());
            rp.push_sent(sent[&c].0.clone(), packets).unwrap();
            pushed += 1;
        }
        assert!(rp.wait().is_empty());
        assert_eq!(rp.rounds(), 3);
        // 113's packet and those after it up to the keyframe at 121 were held back.
        assert_eq!(tap.held_back(), 8);
        let own = |round: &[ProbedPair]| *round.iter().find(|p| p.config == luma).expect("the stream's pair measured");
        // The second round (pushed frames 10..20: captures 110..=120 but 113) measures 111 and
        // 112: 110 comes before the stream's keyframe, 114..=120 after the frame it lost.
        let (mae, rate) = as_sent(&stretch(111..=112));
        let second = own(&second_round.expect("three rounds"));
        assert!((second.mae - mae).abs() <= 1e-9 * mae, "{} against {mae}", second.mae);
        assert!((second.rate - rate).abs() < 1e-9, "{} against {rate}", second.rate);
        // The third (captures 121..=130) measures all but 127, 125 too.
        let third: Vec<_> = stretch(121..=130).into_iter().filter(|(_, p)| !p.is_empty()).collect();
        assert_eq!(third.len(), 9);
        assert_eq!(rp.last_stream_frames(), Some(9));
        let (mae, rate) = as_sent(&third);
        let third = own(rp.last_round());
        assert!((third.mae - mae).abs() <= 1e-9 * mae, "{} against {mae}", third.mae);
        assert!((third.rate - rate).abs() < 1e-9, "{} against {rate}", third.rate);
    }

    /// A sender that lost frames before the re-probe (its depth readback dropped 14 and 15)
    /// skips them: the second round takes 8 frames and ends at the stream's keyframe at 20, and
    /// the third starts there. Without the skip it would still want two frames at 20, and the
    /// keyframe there would end no round.
    #[test]
    fn frames_skipped_shorten_the_running_round_so_it_ends_with_the_streams_gop() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let stream = sent_stream(30, luma);
        let mut rp = three_pair_reprobe(RoundPairs::Shortlist(1), true);
        let mut tap = SentPackets::new();
        for (i, (frame, packets)) in stream.iter().enumerate() {
            tap.sent(packets.iter().cloned());
            if i == 10 || i == 20 {
                rp.at_keyframe().unwrap();
                assert_eq!(rp.rounds(), i / 10, "a round ends at {i}");
            }
            if i == 14 || i == 15 {
                rp.skip(1);
                continue;
            }
            let packets = tap.push(i as u32, rp.pushed());
            rp.push_sent(frame.clone(), packets).unwrap();
        }
        // The second round measured the stream's 10..=13 (14 and 15 lost, 16..=19 held back
        // until the keyframe at 20); the third all of 20..30.
        assert!(rp.wait().is_empty());
        assert_eq!(rp.rounds(), 3);
        assert_eq!(rp.last_stream_frames(), Some(10));
        let (mae, _) = as_sent(&stream[20..30]);
        let own = *rp.last_round().iter().find(|p| p.config == luma).expect("the stream's pair measured");
        assert!((own.mae - mae).abs() <= 1e-9 * mae, "{} against {mae}", own.mae);
    }

    /// A window's last frame whose packets come out after its depth was pushed (the Bevy
    /// sender's encoder thread behind its main world) is measured when they are given before
    /// the keyframe ([`Reprobe::push_late`]): the round measures the stream as sent; without
    /// them, one frame fewer.
    #[test]
    fn packets_that_come_after_the_windows_last_frame_still_count() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let stream = sent_stream(20, luma);
        for late in [true, false] {
            let mut rp = three_pair_reprobe(RoundPairs::Shortlist(1), true);
            let mut tap = SentPackets::new();
            for (i, (frame, packets)) in stream.iter().enumerate() {
                if i == 10 {
                    rp.at_keyframe().unwrap();
                }
                if i != 19 {
                    tap.sent(packets.iter().cloned());
                }
                let packets = tap.push(i as u32, rp.pushed());
                rp.push_sent(frame.clone(), packets).unwrap();
            }
            assert!(!tap.caught_up(), "19's packets have not come");
            tap.sent(stream[19].1.iter().cloned());
            assert!(tap.caught_up());
            if late {
                rp.push_late(tap.ready());
            }
            rp.at_keyframe().unwrap();
            assert_eq!(rp.rounds(), 2);
            assert_eq!(rp.last_stream_frames(), Some(if late { 10 } else { 9 }), "late packets given: {late}");
            if late {
                let (mae, rate) = as_sent(&stream[10..20]);
                let own = *rp.last_round().iter().find(|p| p.config == luma).expect("the stream's pair measured");
                assert!((own.mae - mae).abs() <= 1e-9 * mae, "{} against {mae}", own.mae);
                assert!((own.rate - rate).abs() < 1e-9, "{} against {rate}", own.rate);
            }
        }
    }

    /// Frames skipped before the first frame pushed come off the first round too: it ends at
    /// the stream's first keyframe after them (the Bevy sender's first capture lost).
    #[test]
    fn frames_skipped_before_the_first_round_shorten_it() {
        let stream = sent_stream(10, PackingConfig::luma(BitDepth::Eight));
        let mut rp = three_pair_reprobe(RoundPairs::Shortlist(1), false);
        rp.skip(2);
        for (frame, _) in &stream[2..] {
            rp.push(frame.clone()).unwrap();
        }
        rp.at_keyframe().unwrap();
        assert_eq!(rp.rounds(), 1, "the first round ended at the keyframe");
    }

    /// The tally keeps errors at the start-up probe's range: the rounds after the range doubled
    /// count their errors halved (a code step of every packing is twice as deep there), while the
    /// round by itself stays in metres at its own range.
    #[test]
    fn rounds_over_another_range_count_at_the_probes_range() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        // Memory 0: the tally is the last round's alone.
        let mut rp = three_pair_reprobe_with(|s| (s.memory, s.from_stream) = (0.0, false));
        let stream = sent_stream(30, luma);
        let tally_against_alone = |rp: &Reprobe| -> Vec<(f64, f64)> {
            let tally = rp.measured();
            rp.last_round()
                .iter()
                .map(|p| (tally.iter().find(|t| t.config == p.config).expect("in the tally").mae, p.mae))
                .collect()
        };
        for (i, (frame, _)) in stream.iter().enumerate() {
            if i == 15 {
                // 19.5 m deep to 39 m: the rounds from the next keyframe on.
                rp.set_range((0.5, 39.5));
            }
            if i == 10 || i == 20 {
                rp.at_keyframe().unwrap();
            }
            if i == 20 {
                let second = tally_against_alone(&rp);
                assert_eq!(second.len(), 3);
                assert!(second.iter().all(|(t, a)| t == a), "the probe's range: as measured {second:?}");
            }
            rp.push(frame.clone()).unwrap();
        }
        assert!(rp.wait().is_empty());
        let third = tally_against_alone(&rp);
        assert_eq!(third.len(), 3);
        assert!(third.iter().all(|(t, a)| a.is_finite() && *t == 0.5 * a), "halved: {third:?}");
    }

    #[test]
    fn without_packets_the_streams_own_pair_goes_unmeasured_not_dropped() {
        let stream = sent_stream(20, PackingConfig::luma(BitDepth::Eight));
        let mut rp = three_pair_reprobe(RoundPairs::Shortlist(1), true);
        for (i, (frame, _)) in stream.iter().enumerate() {
            if i == 10 {
                let key = rp.at_keyframe().unwrap();
                assert!(key.failed.is_empty());
            }
            rp.push(frame.clone()).unwrap();
        }
        assert!(rp.wait().is_empty());
        // The second round had only its one encode to record; the stream keeps its pair.
        assert_eq!(rp.last_stream_frames(), Some(0), "the stream's pair was taken, with no packets");
        let last = rp.last_round();
        assert_eq!(last.len(), 1, "{last:?}");
        assert_ne!(last[0].config, PackingConfig::luma(BitDepth::Eight));
        assert_eq!(rp.current().1, PackingConfig::luma(BitDepth::Eight));
        assert!(rp.measured().iter().all(|p| p.mae.is_finite()));
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
