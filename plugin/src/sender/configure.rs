//! The sender's main-world system: the range from the newest captured depth, the packing
//! configuration (fixed, or precision-net's [`AutoPacking`] with its start-up probe, optionally
//! re-probed at keyframes), and the camera's [`GpuPack`] for the next frame.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use depthcast_codec::{Container, Format};
use depthcast_packing::{DepthImage, DepthView, PackingConfig, tight_range};
use depthcast_precision_net::Probe;
use depthcast_stream::{
    AutoPacking, ProbeReport, ProbeSet, Reprobe, ReprobeSettings, RoundPairs, SentPackets, probe_formats_encoded,
};

use super::encoder::{Reopen, Tapped};
use super::stats::Shared;
use super::{DepthSender, DepthSenderPlugin, DepthSenderSettings, SenderState, SentDepth};
use crate::capture::DepthFrames;
use crate::pack::GpuPack;

/// The keyframe re-probe of a running stream ([`DepthSenderSettings::reprobe`]).
pub(crate) struct Reprobing {
    /// In a mutex only because a round's result arrives on a channel end that is not `Sync`;
    /// only the main world touches it.
    reprobe: Mutex<Reprobe>,
    /// Frames captured since the stream started (taken or lost); keyframes every `gop`, as the
    /// encoder thread places them.
    frames: u64,
    gop: u64,
    /// The capture index of the next frame to take (`None` until the encoder thread has named
    /// the stream's first).
    next: Option<u32>,
    /// Rounds measured, moves made and the pairs the newest round measures, for
    /// [`super::DepthSenderStats`]. A move is made at most once per update of the main world
    /// ([`Reprobing::made`]): keyframes that the frames of one update reach together (after a
    /// gap in the depth readback) make one move, from the pair before them to the pair after.
    pub(crate) rounds: usize,
    pub(crate) switches: usize,
    pub(crate) round_pairs: usize,
    /// The keyframes that moved the re-probe's pair: the tag of the frames packed from here on
    /// ([`crate::GpuPack::tag`]) and of the encoder thread's packets of them. It counts each
    /// keyframe's move, also those passed over or undone within one update (the encoder thread
    /// passes over them too).
    generation: u64,
    /// The move of the keyframes counted since the caller last took one ([`Reprobing::made`]).
    moving: Option<Moving>,
    /// With [`DepthSenderSettings::reprobe_from_stream`]: the encoder thread's packets, matched
    /// to the frames pushed by their capture index.
    tap: Option<StreamTap>,
    /// For [`super::DepthSenderStats`]: a pair's encode of a frame in a round, a frame's
    /// measurement from the stream's packets, ms, and the packets left out of those
    /// measurements.
    pub(crate) encode_ms: Option<f64>,
    pub(crate) stream_ms: Option<f64>,
    pub(crate) held_back: u64,
    /// The frames of the last round measured from the stream's packets, and whether that round
    /// began with a move.
    pub(crate) stream_frames: Option<usize>,
    pub(crate) after_move: bool,
    /// Whether the running round began with a move.
    round_after_move: bool,
    /// The last round by itself: (configuration id, mean error, rate / target).
    pub(crate) last_round: Vec<(String, f64, f64)>,
    /// Captured frames (with their capture index) waiting for the encoder thread to name the
    /// stream's first encoded frame: the re-probe starts with that one.
    waiting: VecDeque<(u32, DepthImage)>,
}

/// Keyframes' moves not yet handed to the encoder thread: from the pair the stream had before
/// the first of them, to the newest's.
struct Moving {
    from: (Format, PackingConfig),
    /// The pair the stream had: its error at the first keyframe (over the rounds).
    from_mae: f64,
    to: PackingConfig,
    /// The new pair's error at the newest keyframe (over the rounds).
    to_mae: f64,
    /// The newest keyframe (captures since the stream's first), and how many moved.
    at: u64,
    keyframes: usize,
}

/// At most this many captured frames wait for the stream's first encoded frame to be named (a
/// frame or two do; an encoder that never opens starts no re-probe).
const WAITING: usize = 8;

/// The stream's packets on their way from the encoder thread to the re-probe.
struct StreamTap {
    packets: crossbeam_channel::Receiver<Tapped>,
    matched: SentPackets,
}

impl StreamTap {
    /// Takes a batch of the encoder thread's packets, when its frames were packed for the
    /// latest move (`generation`): only those are of the pair the rounds measure as the stream's.
    fn take(&mut self, t: Tapped, generation: u64) {
        if t.after_gap {
            self.matched.gap();
        }
        if t.generation == generation {
            self.matched.sent(t.packets);
        }
    }

    /// Takes every batch that has come.
    fn drain(&mut self, generation: u64) {
        while let Ok(t) = self.packets.try_recv() {
            self.take(t, generation);
        }
    }
}

/// How long a keyframe waits for the packets of the last frame of its round to come from the
/// encoder thread (it is usually ahead: the packed frame goes there straight from the GPU
/// readback, the captured depth to the main world a frame later), where the round measures the
/// stream's configuration from them ([`Reprobe::measures_stream`]).
const LATE_PACKETS: Duration = Duration::from_millis(10);

impl Reprobing {
    /// The re-probe `rp` of a stream with a keyframe every `gop` captures, measuring the
    /// stream's own configuration from the encoder thread's packets when `tap` is given.
    fn new(rp: Reprobe, gop: u32, tap: Option<StreamTap>) -> Reprobing {
        Reprobing {
            reprobe: Mutex::new(rp),
            frames: 0,
            gop: u64::from(gop.max(1)),
            next: None,
            rounds: 0,
            round_pairs: 0,
            switches: 0,
            generation: 0,
            moving: None,
            tap,
            encode_ms: None,
            stream_ms: None,
            held_back: 0,
            stream_frames: None,
            after_move: false,
            round_after_move: false,
            last_round: Vec::new(),
            waiting: VecDeque::new(),
        }
    }

    /// Keeps `frame` (capture `index`, packed over `range`) for the rounds from the stream's
    /// `first` encoded frame on (`None` until the encoder thread has named it: the frame waits).
    /// Frames captured before it were never packed for the stream (the readback runs a frame or
    /// two behind the packing), so the re-probe counts its GOPs from the encoder's first frame
    /// and its keyframes fall on the encoder's. A keyframe's move waits for
    /// [`Reprobing::made`].
    fn push(&mut self, frame: DepthImage, index: u32, range: (f32, f32), first: Option<u32>) {
        self.waiting.push_back((index, frame));
        let Some(first) = first else {
            while self.waiting.len() > WAITING {
                self.waiting.pop_front();
            }
            return;
        };
        self.next.get_or_insert(first);
        while let Some((i, f)) = self.waiting.pop_front() {
            if i >= first {
                self.take(f, i, range);
            }
        }
    }

    /// Keeps `frame` (capture `index`) for the rounds, with the stream's packets of it and of
    /// the frames before it that have come from the encoder thread since, and counts it and
    /// the captures lost before it.
    fn take(&mut self, frame: DepthImage, index: u32, range: (f32, f32)) {
        // Captures between the last frame taken and this one never reached the main world (the
        // depth readback dropped them): the encoder thread's keyframes count every capture, so
        // the rounds count these too. One read back after a later one was counted among them,
        // and is not taken.
        if self.next.is_some_and(|next| index < next) {
            return;
        }
        let lost = self.next.map_or(0, |next| index - next);
        self.next = Some(index.saturating_add(1));
        // The next rounds pack over the range the GPU packs the stream over.
        self.reprobe.get_mut().unwrap_or_else(|e| e.into_inner()).set_range(range);
        self.lose(u64::from(lost));
        let rp = self.reprobe.get_mut().unwrap_or_else(|e| e.into_inner());
        let packets = match self.tap.as_mut() {
            Some(tap) => {
                tap.drain(self.generation);
                tap.matched.push(index, rp.pushed())
            }
            None => Vec::new(),
        };
        if let Err(e) = rp.push_sent(frame, packets) {
            warn!("re-probe: {e}");
        }
        self.count();
    }

    /// Counts `lost` captures that never reached the re-probe ([`Reprobe::skip`]): the running
    /// round takes them off its window. Where they reach a keyframe, the round ends there (one
    /// keyframe, however long the gap: the GOPs lost whole go unmeasured), and the round that
    /// starts there takes off the lost captures of the GOP the next frame is in.
    fn lose(&mut self, lost: u64) {
        if lost == 0 {
            return;
        }
        let to_keyframe = self.gop - self.frames % self.gop;
        let rp = self.reprobe.get_mut().unwrap_or_else(|e| e.into_inner());
        if lost < to_keyframe {
            rp.skip(lost as usize);
            self.frames += lost;
            return;
        }
        rp.skip(to_keyframe as usize);
        self.frames += to_keyframe - 1;
        self.count();
        let rest = lost - to_keyframe;
        self.frames += rest;
        self.reprobe.get_mut().unwrap_or_else(|e| e.into_inner()).skip((rest % self.gop) as usize);
    }

    /// Counts a frame of the stream (taken or lost); after every `gop`-th, takes the re-probe's
    /// keyframe, and its move, if any, for [`Reprobing::made`].
    fn count(&mut self) {
        self.frames += 1;
        if !self.frames.is_multiple_of(self.gop) {
            return;
        }
        let rp = self.reprobe.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(tap) = self.tap.as_mut() {
            // The round's last frames' packets may come after their depth: wait a little for
            // them, so that the round measures the stream over its whole window (a round that
            // does not measure the stream from its packets, such as the first, waits for none).
            let until = Instant::now() + LATE_PACKETS;
            let takes = rp.measures_stream();
            while takes && !tap.matched.caught_up() {
                match tap.packets.recv_deadline(until) {
                    Ok(t) => tap.take(t, self.generation),
                    Err(_) => break,
                }
            }
            tap.drain(self.generation);
            rp.push_late(tap.matched.ready());
        }
        let before = rp.current();
        let moved = match rp.at_keyframe() {
            Ok(key) => {
                for f in &key.failed {
                    warn!("re-probe: {} {} failed, measured no more: {}", f.format, f.config, f.error);
                }
                key.switch
            }
            Err(e) => {
                warn!("re-probe: {e}; the stream keeps {}", rp.current().1);
                None
            }
        };
        let ended = rp.rounds() > self.rounds;
        (self.rounds, self.round_pairs) = (rp.rounds(), rp.round_size());
        self.encode_ms = rp.cost().map(|c| c.as_secs_f64() * 1e3);
        self.stream_ms = rp.stream_cost().map(|c| c.as_secs_f64() * 1e3);
        self.last_round = rp.last_round().iter().map(|p| (p.config.to_string(), p.mae, p.rate)).collect();
        self.held_back = self.tap.as_ref().map_or(0, |t| t.matched.held_back());
        self.stream_frames = rp.last_stream_frames();
        if ended {
            // The round that ended began at the last keyframe a round ended at; the next begins here.
            self.after_move = std::mem::replace(&mut self.round_after_move, moved.is_some());
        }
        let Some(sw) = moved else { return };
        self.generation += 1;
        if let Some(tap) = self.tap.as_mut() {
            // What waits for frames still to come is the old encoder's.
            tap.matched.restart();
        }
        match self.moving.as_mut() {
            Some(m) => (m.to, m.to_mae, m.at, m.keyframes) = (sw.config, sw.mae, self.frames, m.keyframes + 1),
            None => {
                self.moving = Some(Moving {
                    from: before,
                    from_mae: sw.current_mae,
                    to: sw.config,
                    to_mae: sw.mae,
                    at: self.frames,
                    keyframes: 1,
                })
            }
        }
    }

    /// The move of the keyframes counted since the last call (once per update of the main
    /// world, after its frames are pushed), if any: the configuration from the next frame on,
    /// and the encoder thread's reopen, pre-rolled over the frames pushed so far, packed over
    /// `range`. Keyframes that the frames of one update reach together (after a gap in the
    /// depth readback) make one move (the encoder thread reopens once, for the newest), or none
    /// where they moved the stream away and back: the reopen then only tags the frames (the
    /// encoder thread keeps the running encoder for the stream's own configuration).
    fn made(&mut self, range: (f32, f32)) -> Option<(PackingConfig, Reopen)> {
        let m = self.moving.take()?;
        let rp = self.reprobe.get_mut().unwrap_or_else(|e| e.into_inner());
        let now = rp.current();
        let together = match m.keyframes {
            1 => String::new(),
            n => format!(" ({n} keyframes in one update, after a gap in the depth readback)"),
        };
        if now == m.from {
            info!(
                "re-probe at frame {} (round {}): the stream keeps {}, moved away and back{together}",
                m.at, self.rounds, now.1
            );
        } else {
            self.switches += 1;
            info!(
                "re-probe at frame {} (round {}): {:.3} mm -> {} {:.3} mm over the rounds (older ones weighing \
                 less; at the start-up probe's depth range){together}",
                m.at,
                self.rounds,
                1e3 * m.from_mae,
                m.to,
                1e3 * m.to_mae
            );
        }
        let reopen = Reopen { generation: self.generation, preroll: rp.preroll(), range };
        Some((m.to, reopen))
    }
}

/// What the probe's worker thread hands back: the chooser, and the probe's report with the
/// re-probe that starts from it (when asked for), or why it failed.
type Probed = (Box<AutoPacking>, Result<(ProbeReport, Option<Reprobe>), String>);

/// precision-net for the stream: nothing yet, collecting the probe's frames, probing on a
/// worker thread, or choosing.
#[derive(Default)]
pub(crate) enum Chooser {
    /// `auto` is off, or no frame has arrived yet.
    #[default]
    Idle,
    /// The start-up probe collects its first frames (none is sent meanwhile).
    Collecting { auto: Box<AutoPacking>, frames: Vec<DepthImage> },
    /// The probe's encodes run on a worker thread (none is sent meanwhile).
    Probing(crossbeam_channel::Receiver<Probed>),
    /// Choosing per frame, or the probe's winner for every frame, or (with the re-probe) the
    /// winner until a keyframe moves the stream.
    Ready {
        auto: Box<AutoPacking>,
        choice: Option<PackingConfig>,
        probe: Option<ProbeReport>,
        reprobe: Option<Box<Reprobing>>,
    },
    /// precision-net could not run; the fixed configuration is used.
    Failed(String),
}

impl Chooser {
    /// The configuration for the next frame: `None` while the probe runs (send nothing), the
    /// fixed one when `auto` is off or failed.
    fn config(&self, settings: &DepthSenderSettings) -> Option<PackingConfig> {
        match self {
            Chooser::Collecting { .. } | Chooser::Probing(_) => None,
            Chooser::Ready { choice, .. } => choice.or(Some(settings.config)),
            Chooser::Idle | Chooser::Failed(_) => Some(settings.config),
        }
    }

    pub(crate) fn predict_us(&self) -> f64 {
        match self {
            Chooser::Ready { auto, .. } => auto.last_us(),
            _ => 0.0,
        }
    }

    pub(crate) fn probe_report(&self) -> Option<&ProbeReport> {
        match self {
            Chooser::Ready { probe, .. } => probe.as_ref(),
            _ => None,
        }
    }

    /// The keyframe re-probe, once running.
    pub(crate) fn reprobing(&self) -> Option<&Reprobing> {
        match self {
            Chooser::Ready { reprobe, .. } => reprobe.as_deref(),
            _ => None,
        }
    }

    /// The tag of the frames packed from here on ([`crate::GpuPack::tag`]): the re-probe's
    /// keyframes that moved it so far.
    fn generation(&self) -> u64 {
        self.reprobing().map_or(0, |r| r.generation)
    }

    pub(crate) fn error(&self) -> Option<&str> {
        match self {
            Chooser::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Advances with the newest depth frame (every captured frame goes to `push` while the probe
    /// collects).
    fn update(
        &mut self,
        (cfg, shared, sent): (&DepthSenderPlugin, &Shared, &crossbeam_channel::Receiver<Tapped>),
        settings: &DepthSenderSettings,
        newest: &DepthView<'_>,
        range: (f32, f32),
    ) {
        if !settings.auto {
            return;
        }
        if let Chooser::Idle = self {
            *self = match AutoPacking::new(&cfg.auto_settings(), newest.width, newest.height) {
                Ok(mut auto) if settings.probe => {
                    if settings.probe_half {
                        auto.probe_also(&PackingConfig::half_set(cfg.bit_depth));
                    }
                    Chooser::Collecting { auto: Box::new(auto), frames: Vec::new() }
                }
                Ok(auto) => Chooser::Ready { auto: Box::new(auto), choice: None, probe: None, reprobe: None },
                Err(e) => {
                    warn!("precision-net: {e}; sending the fixed configuration");
                    Chooser::Failed(e.to_string())
                }
            };
        }
        if let Chooser::Collecting { frames, .. } = self
            && frames.len() >= Probe::FRAMES
            && let Chooser::Collecting { mut auto, frames } = std::mem::take(self)
        {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let mut encoder = cfg.encoder_settings();
            // The probe's encodes run side by side, one thread each.
            encoder.threads = encoder.threads.max(1);
            let reprobe = settings.reprobe && reprobe_possible(cfg);
            let rounds = (settings.probe_half, settings.reprobe_pairs, settings.reprobe_from_stream);
            let (cfg, size) = (cfg.clone(), (newest.width, newest.height));
            std::thread::spawn(move || {
                let report = if reprobe {
                    probe_for_reprobe(&cfg, &frames, range, rounds, size, &encoder)
                        .map(|(report, rp)| (report, Some(rp)))
                } else {
                    auto.probe(&frames, range.0, range.1, &encoder).map(|report| (report, None))
                };
                let _ = tx.send((auto, report.map_err(|e| e.to_string())));
            });
            *self = Chooser::Probing(rx);
            return;
        }
        match self {
            Chooser::Probing(rx) => match rx.try_recv() {
                Ok((auto, Ok((report, reprobe)))) => {
                    info!(
                        "start-up probe: {} carries the stream ({:.0} ms){}",
                        report.winner,
                        report.wall.as_secs_f64() * 1e3,
                        if reprobe.is_some() { "; re-probed at keyframes" } else { "" }
                    );
                    let reprobe = reprobe.map(|rp| {
                        // The encoder thread hands over its packets from here on; the first frame
                        // pushed from here on is the matcher's first too.
                        shared.key_grid.store(true, Ordering::Relaxed);
                        let tap = rp.settings().from_stream.then(|| {
                            shared.tap_packets.store(true, Ordering::Relaxed);
                            StreamTap { packets: sent.clone(), matched: SentPackets::new() }
                        });
                        Box::new(Reprobing::new(rp, cfg.gop, tap))
                    });
                    *self = Chooser::Ready { auto, choice: Some(report.winner), probe: Some(report), reprobe };
                }
                Ok((_, Err(e))) => {
                    warn!("start-up probe failed: {e}; sending the fixed configuration");
                    *self = Chooser::Failed(e);
                }
                Err(crossbeam_channel::TryRecvError::Empty) => {}
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    *self = Chooser::Failed("the probe thread panicked".into())
                }
            },
            // With the re-probe the stream keeps the probe's winner until a keyframe moves it.
            Chooser::Ready { reprobe: Some(_), .. } => {}
            Chooser::Ready { auto, choice, .. } => match auto.choose(newest) {
                Ok(c) => *choice = Some(c),
                Err(e) => warn!("precision-net: {e}"),
            },
            _ => {}
        }
    }

    /// Whether [`Chooser::push`] keeps the next captured frame: the probe collecting, or the
    /// re-probe running.
    fn wants_frames(&self) -> bool {
        match self {
            Chooser::Collecting { frames, .. } => frames.len() < Probe::FRAMES,
            Chooser::Ready { reprobe, .. } => reprobe.is_some(),
            _ => false,
        }
    }

    /// Keeps a captured frame (when [`Chooser::wants_frames`]) for the probe while it collects,
    /// or for the re-probe's rounds. The re-probe runs once the probe has, so the range (`None`
    /// only before the first frame with depth) is known.
    fn push(&mut self, frame: DepthImage, index: u32, range: Option<(f32, f32)>, first: Option<u32>) {
        match self {
            Chooser::Collecting { frames, .. } if frames.len() < Probe::FRAMES => frames.push(frame),
            Chooser::Ready { reprobe: Some(rp), .. } => {
                if let Some(range) = range {
                    rp.push(frame, index, range, first);
                }
            }
            _ => {}
        }
    }

    /// After the frames of an update were pushed: when re-probe keyframes among them moved the
    /// stream, the encoder thread's reopen (the new configuration is then the choice), one for
    /// all of them ([`Reprobing::made`]).
    fn made(&mut self, range: Option<(f32, f32)>) -> Option<Reopen> {
        match self {
            Chooser::Ready { choice, reprobe: Some(rp), .. } => {
                let (config, reopen) = rp.made(range?)?;
                *choice = Some(config);
                Some(reopen)
            }
            _ => None,
        }
    }
}

/// Whether the plugin's stream can be re-probed: depth only (an RGB-D stream's two tracks keep
/// one depth frame size), over a container that carries the codec's headers with every keyframe
/// (a move reopens the encoder, see `depthcast_stream::reprobe`). Warns why not.
fn reprobe_possible(cfg: &DepthSenderPlugin) -> bool {
    let why = if cfg.colour {
        Some("an RGB-D stream keeps one depth frame size".to_string())
    } else {
        match Container::for_url(&cfg.url) {
            Ok(c) if c.needs_global_header() => Some(format!(
                "{} stores the codec's headers once; send MPEG-TS or RTP (.ts, udp://, srt://, tcp://, rtp://)",
                c.ffmpeg_name()
            )),
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        }
    };
    if let Some(why) = &why {
        warn!("re-probe off: {why}; the start-up probe's winner carries the whole stream");
    }
    why.is_none()
}

/// The start-up probe when the re-probe follows: as `send --reprobe`'s, the scheme set (with
/// `half`, the half-size set too) and 8-bit luma measured in the plugin's codec and bit depth
/// with their bitrates (a pair over the bitrate cannot win), and the re-probe starting from it,
/// its rounds measuring `pairs` (the stream's own `from_stream`).
fn probe_for_reprobe(
    cfg: &DepthSenderPlugin,
    frames: &[DepthImage],
    range: (f32, f32),
    (half, pairs, from_stream): (bool, RoundPairs, bool),
    size: (u32, u32),
    encoder: &depthcast_codec::EncoderSettings,
) -> depthcast_stream::Result<(ProbeReport, Reprobe)> {
    let auto = cfg.auto_settings();
    let set = if half { ProbeSet::SchemesAndHalf } else { ProbeSet::Schemes };
    let format = Format::new(cfg.codec, cfg.bit_depth);
    let report = probe_formats_encoded(frames, &[format], &auto, set, range.0, range.1, encoder)?;
    let every = ReprobeSettings { window: cfg.gop.max(1) as usize, pairs, from_stream, ..Default::default() };
    let rp = Reprobe::new(&report, &auto, encoder.clone(), size, range, every);
    let summary = ProbeReport {
        measured: report.measured.iter().map(|m| (m.config, m.mae)).collect(),
        winner: report.winner,
        frames: report.frames,
        wall: report.wall,
    };
    Ok((summary, rp))
}

/// Sets the next frame's packing from the newest depth frame's range and the settings.
pub(crate) fn choose_params(
    frames: Res<DepthFrames>,
    settings: Res<DepthSenderSettings>,
    mut state: ResMut<SenderState>,
    mut sent: ResMut<SentDepth>,
    mut cameras: Query<(&Camera, &mut GpuPack), With<DepthSender>>,
) {
    if cameras.is_empty() {
        // Leave the depth frames to whoever else reads them until a camera sends.
        return;
    }
    let start = Instant::now();
    let (mut predict, mut aside) = (0.0, 0.0);
    let mut newest = None;
    let state = &mut *state;
    while let Some(f) = frames.try_recv() {
        if !cameras.contains(f.camera) {
            // Another camera's capture: not this stream's depth, for its range, probe or
            // re-probe (whose packets are matched to these frames by capture index).
            frames.recycle(f);
            continue;
        }
        // Every frame is kept for measurement and for the probe (two can arrive in one update);
        // only the newest steers the range and the policy.
        if sent.capacity > 0 || state.chooser.wants_frames() {
            let t0 = Instant::now();
            // One copy of the captured buffer (it goes back to the capture's pool) per keeper.
            let copy = || DepthImage { width: f.width, height: f.height, data: f.data.clone() };
            if state.chooser.wants_frames() {
                state.chooser.push(copy(), f.index, state.range, state.shared.first_encoded());
            }
            if sent.capacity > 0 {
                if sent.frames.len() >= sent.capacity {
                    sent.frames.pop_front();
                }
                sent.frames.push_back((f.index, copy()));
            }
            // A measurement aid (or the probe's input), not part of the sender's per-frame cost.
            aside += t0.elapsed().as_secs_f64() * 1e6;
        }
        if let Some(old) = newest.replace(f) {
            frames.recycle(old);
        }
    }
    // One move for the update, over the range its frames were packed at (before the newest
    // frame sets the next one).
    if let Some(reopen) = state.chooser.made(state.range)
        && state.reopen.send(reopen).is_err()
    {
        warn!("re-probe: the encoder thread is gone");
    }
    if let Some(f) = newest {
        let view = DepthView::new(f.width, f.height, f.width as usize, &f.data).ok();
        if let Some((lo, hi)) = view.as_ref().and_then(|v| tight_range(v, 0.0)) {
            state.smoother.alpha = settings.range_alpha.clamp(0.0, 1.0);
            let (lo, hi) = state.smoother.update(lo, hi);
            let m = settings.margin.clamp(0.0, 0.9);
            state.range = Some((lo * (1.0 - m), hi * (1.0 + m)));
        }
        if let (Some(view), Some(range)) = (view.as_ref(), state.range) {
            let t0 = Instant::now();
            state.chooser.update((&state.cfg, &state.shared, &state.sent), &settings, view, range);
            predict = state.chooser.predict_us().min(t0.elapsed().as_secs_f64() * 1e6);
        }
        state.policy_us = (start.elapsed().as_secs_f64() * 1e6 - predict - aside).max(0.0);
        frames.recycle(f);
    }
    let Some((near, far)) = state.range else { return };
    // precision-net's choice when `auto` (made before the first frame is packed, so the stream
    // opens with its frame size; nothing is packed while the probe runs), else the fixed one.
    let chosen = state.chooser.config(&settings);
    let tag = state.chooser.generation();
    for (camera, mut pack) in &mut cameras {
        let Some(size) = camera.physical_target_size() else { continue };
        let (params, roi) = match chosen {
            Some(c) => {
                let mut c = c;
                let bits = state.cfg.bit_depth;
                if c.scheme == depthcast_packing::Scheme::Triangle {
                    // The GPU packs any period; one outside this bit depth's range (or unset)
                    // gets the precision's default.
                    let (lo, hi) = depthcast_packing::PackParams::period_range(c.precision, bits);
                    if !(lo..=hi).contains(&c.period) {
                        c.period = PackingConfig::triangle(c.precision, 0, bits).period;
                    }
                }
                let p = c.params(bits, size.x, size.y, near, far, 0);
                (p.validate().is_ok().then_some(p), c.high_plane_qoffset())
            }
            None => (None, None),
        };
        if pack.params != params || pack.roi_high != roi || pack.tag != tag {
            pack.params = params;
            pack.roi_high = roi;
            pack.tag = tag;
        }
    }
}

#[cfg(test)]
mod tests {
    use depthcast_packing::{BitDepth, VbpLayout, testdata};
    use depthcast_stream::{FormatProbeReport, ProbedPair};

    use super::*;

    /// The main world's re-probe counts captures, as the encoder thread places the stream's
    /// keyframes (every 10th capture here): captures whose depth never reached it (14 and 15;
    /// 22, read back after 23) still count, so the rounds end at 10, 20 and 30 whatever reached
    /// it, and each next round starts where the stream's keyframe is. A long gap (40 to 74)
    /// ends one round, at 50, not one per GOP lost; the round after it takes 75 to 79.
    #[test]
    fn the_rounds_count_the_captures_whose_depth_was_lost() {
        let (w, h, range) = (64, 48, (0.5, 20.0));
        let cfg = DepthSenderPlugin { gop: 10, bitrate: 300_000, force_software: true, ..Default::default() };
        let frames: Vec<DepthImage> = (0..90).map(|i| testdata::game_scene(w, h, i as f32 / 30.0)).collect();
        let mut encoder = cfg.encoder_settings();
        encoder.threads = 1;
        let format = Format::new(cfg.codec, BitDepth::Eight);
        let report = probe_formats_encoded(
            &frames[..Probe::FRAMES],
            &[format],
            &cfg.auto_settings(),
            ProbeSet::Schemes,
            range.0,
            range.1,
            &encoder,
        )
        .unwrap();
        // No deadline: a keyframe waits for a round that has all its frames, so that the test
        // does not depend on the machine's speed.
        let every =
            ReprobeSettings { window: 10, pairs: RoundPairs::Shortlist(2), deadline: None, ..Default::default() };
        let rp = Reprobe::new(&report, &cfg.auto_settings(), encoder, (w, h), range, every);
        let mut r = Reprobing::new(rp, cfg.gop, None);
        let lost = |i: &u32| [14, 15, 22].contains(i) || (40..75).contains(i);
        let order = (0..90u32).filter(|i| !lost(i)).flat_map(|i| match i {
            23 => vec![23, 22],
            _ => vec![i],
        });
        let mut rounds = Vec::new();
        for i in order {
            r.push(frames[i as usize].clone(), i, range, Some(0));
            if i % 10 == 9 {
                rounds.push((i, r.rounds));
            }
        }
        assert_eq!(rounds, [(9, 1), (19, 2), (29, 3), (39, 4), (79, 6), (89, 7)]);
        assert_eq!(r.reprobe.get_mut().unwrap().pushed(), 52, "22 was not taken when it came late");
    }

    /// Keyframes that the frames of one update reach together make one move, however many
    /// moved: the encoder thread reopens once, for the newest (it passes over the others), so
    /// the moves counted and logged are the ones made. Smooth frames make 16-bit VBP the best
    /// pair by about 10x, noise 8-bit luma by as much; every round by itself decides (memory 0,
    /// margin 0; GOP 5). The first update takes the smooth frames 0 to 3. Then either one frame,
    /// noisy 14 (4 to 13 lost), reaches the keyframe at 5 (round of 0 to 3) and at 15 (round of
    /// 14); or two frames, smooth 4 and noisy 9 (5 to 8 lost), reach those at 5 and 10.
    #[test]
    fn keyframes_one_update_reaches_make_one_move() {
        let (w, h, range) = (64, 48, (0.5, 20.0));
        let smooth = |i: u32| {
            let mut d = DepthImage::new(w, h);
            for y in 0..h {
                for x in 0..w {
                    d.data[(y * w + x) as usize] = 1.0 + 0.25 * x as f32 + 0.05 * y as f32 + 0.01 * i as f32;
                }
            }
            d
        };
        let noisy = |i: u32| {
            let mut d = DepthImage::new(w, h);
            let mut s = 0x9e37_79b9u32.wrapping_mul(i + 1);
            for v in &mut d.data {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *v = 0.5 + 19.5 * (s >> 8) as f32 / (1u32 << 24) as f32;
            }
            d
        };
        let cfg = DepthSenderPlugin { gop: 5, bitrate: 1_200_000, force_software: true, ..Default::default() };
        let mut encoder = cfg.encoder_settings();
        encoder.threads = 1;
        let format = Format::new(cfg.codec, BitDepth::Eight);
        let (luma, vbp) = (PackingConfig::luma(BitDepth::Eight), PackingConfig::vbp(16, VbpLayout::Luma));
        let run = |winner: PackingConfig, second: &[(u32, DepthImage)]| {
            // The probe's own measurement is replaced by the first round's.
            let report = FormatProbeReport {
                measured: [luma, PackingConfig::hue(), vbp]
                    .map(|config| ProbedPair { format, config, mae: 0.05, rate: 1.0 })
                    .to_vec(),
                format,
                winner,
                frames: Probe::FRAMES,
                wall: Duration::from_millis(10),
            };
            let every = ReprobeSettings {
                window: 5,
                preroll: 2,
                memory: 0.0,
                margin: 0.0,
                pairs: RoundPairs::Every,
                deadline: None,
                ..Default::default()
            };
            let rp = Reprobe::new(&report, &cfg.auto_settings(), encoder.clone(), (w, h), range, every);
            let mut r = Reprobing::new(rp, cfg.gop, None);
            for i in 0..4 {
                r.push(smooth(i), i, range, Some(0));
            }
            assert!(r.made(range).is_none(), "no keyframe before 5");
            for (i, f) in second {
                r.push(f.clone(), *i, range, Some(0));
            }
            let made = r.made(range).map(|(config, reopen)| (config, reopen.generation));
            assert!(r.made(range).is_none(), "nothing left for the next update");
            (made, r)
        };
        let second: [Vec<(u32, DepthImage)>; 2] = [vec![(14, noisy(14))], vec![(4, smooth(4)), (9, noisy(9))]];
        for second in second {
            let (made, r) = run(PackingConfig::hue(), &second);
            assert_eq!(made, Some((luma, 2)), "hue to VBP, then to luma: frames from here on are tagged 2");
            assert_eq!((r.rounds, r.switches, r.generation), (2, 1, 2));
            let (made, r) = run(luma, &second);
            assert_eq!(made, Some((luma, 2)), "luma to VBP and back: the frames' tag moves on");
            assert_eq!((r.rounds, r.switches, r.generation), (2, 0, 2), "no move made");
        }
    }
}
