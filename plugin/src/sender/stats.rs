//! [`DepthSenderStats`]: what the sender has done, published to the main world each update.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bevy::diagnostic::{DiagnosticPath, DiagnosticsStore};
use bevy::prelude::*;
use depthcast_packing::{CameraBlock, PackParams, YuvFrame};

use super::{SenderState, SentDepth};
use crate::capture::DepthFrames;
use crate::colour::ColourFrames;
use crate::pack::PackedFrames;

/// What the sender has done so far.
#[derive(Resource, Debug, Default, Clone)]
pub struct DepthSenderStats {
    /// Frames encoded and sent.
    pub frames_sent: u64,
    /// Frames dropped: by the capture or packing readback, or the oldest in the encoder queue.
    pub dropped: u64,
    /// Frames sent per second over the last second.
    pub fps: f64,
    /// Achieved bitrate of the depth over the whole stream in bit/s.
    pub bitrate: f64,
    /// With colour: achieved bitrate of the colour track in bit/s.
    pub colour_bitrate: Option<f64>,
    /// With colour: depth frames not sent because their colour frame was lost (the colour
    /// readback dropped it); colour and depth travel as pairs.
    pub colour_missing: u64,
    /// The configuration of the last frame packed.
    pub current: Option<PackParams>,
    /// Capture (render-world prepare) to last packet written, last frame, in milliseconds.
    pub latency_ms: f64,
    /// Time spent encoding and sending the last frame, in milliseconds.
    pub encode_ms: f64,
    /// precision-net's features + inference for the last frame, in microseconds (0 when the
    /// configuration is fixed, or once the start-up probe has fixed it).
    pub predict_us: f64,
    /// The start-up probe (`auto` + `probe`): each measured configuration's id with its mean
    /// MAE in metres, once it has run.
    pub probe: Option<Vec<(String, f64)>>,
    /// The probe's winner, which carries the stream.
    pub probe_winner: Option<String>,
    /// Wall time of the probe's encodes, in milliseconds.
    pub probe_ms: Option<f64>,
    /// With [`super::DepthSenderSettings::reprobe`]: the re-probe's rounds measured so far.
    pub reprobe_rounds: usize,
    /// With the re-probe: the moves to another configuration so far. Keyframes that the frames
    /// of one update reach together (after a gap in the depth readback) make at most one move
    /// (the encoder thread makes only the newest), from the configuration before them to the
    /// one after.
    pub reprobe_switches: usize,
    /// With the re-probe: the configurations the newest round measures (with
    /// [`super::DepthSenderSettings::reprobe_pairs`] `Fit`, what its worker has time for).
    pub reprobe_round_pairs: usize,
    /// With the re-probe: what the last round that ended measured, by itself (each
    /// configuration's id, mean error in metres over the round's frames, and bitrate over the
    /// target), as the first columns of `send --reprobe-log`; empty before the first round
    /// ends. Errors are in metres at the round's own depth range (the moves compare rounds at the
    /// start-up probe's: `depthcast_stream::Reprobe::set_range`).
    pub reprobe_last_round: Vec<(String, f64, f64)>,
    /// With the re-probe: what one configuration's encode of one frame has cost a round's
    /// worker (encode, decode and error), in milliseconds (before a round has ended, the
    /// start-up probe's estimate).
    pub reprobe_encode_ms: Option<f64>,
    /// With [`super::DepthSenderSettings::reprobe_from_stream`]: what measuring one frame of the
    /// stream's own configuration from its packets has cost a round, in milliseconds (`None`
    /// before a round has done it).
    pub reprobe_stream_ms: Option<f64>,
    /// With `reprobe_from_stream`: the stream's packets held back from those measurements: of
    /// frames whose captured depth never reached the re-probe, and the packets after those, or
    /// after packets lost on their way to the re-probe, up to a keyframe.
    pub reprobe_held_back: u64,
    /// With `reprobe_from_stream`: how many frames of the last round that ended measured the
    /// stream's own configuration from its packets (`None` when that round did not take it: the
    /// first round, or after the stream's configuration failed in a round). The round's
    /// GOP, less frames lost or held back on the way, and less the frames packed the old way at
    /// the start of a round that began with a move ([`Self::reprobe_after_move`]): the GPU had
    /// packed them before the move reached it, and the reopened encoder starts after them.
    pub reprobe_stream_frames: Option<usize>,
    /// With the re-probe: whether the last round that ended began at a keyframe that moved the
    /// re-probe's pair (also one the same update passed over or undid: the frames' tag moved
    /// on, so the stream's packets were matched afresh from there).
    pub reprobe_after_move: bool,
    /// The encoder's reopens for those moves (on the first frame packed for a move; none for a
    /// move no frame was packed for before the next, nor for one back to the configuration the
    /// encoder runs).
    pub reopens: u64,
    /// GPU time of the capture's linearisation pass (smoothed), in milliseconds; `None` without
    /// `DepthSenderPlugin::gpu_timing` or timestamp queries on the adapter.
    pub capture_gpu_ms: Option<f64>,
    /// GPU time of the packing pass (smoothed), in milliseconds; `None` as above.
    pub pack_gpu_ms: Option<f64>,
    /// Capture (render-world prepare) until the packed planes of the last frame were on the CPU,
    /// in milliseconds: the frame's rendering, the GPU passes and the wait for the mapping.
    pub readback_ms: f64,
    /// CPU time copying the last frame's packed planes out of the mapped staging buffer, in
    /// microseconds.
    pub readback_copy_us: f64,
    /// The sender's main-world CPU time for the last frame besides prediction (draining the
    /// depth readback, range, settings), in microseconds.
    pub policy_us: f64,
    /// Time the last frame waited between readback and the encoder thread, in milliseconds.
    pub queue_ms: f64,
    /// The encoder's name and back-end, once it opened.
    pub encoder: Option<String>,
    /// The last error of the encoder thread or the probe (the encoder thread stops on error).
    pub error: Option<String>,
}

/// What the encoder thread shares with the main world.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) stats: Mutex<DepthSenderStats>,
    pub(crate) queue_drops: AtomicU64,
    pub(crate) colour_missing: AtomicU64,
    pub(crate) reopens: AtomicU64,
    /// The capture index of the stream's first encoded frame, plus one (0 until the encoder
    /// opened): the re-probe starts with it ([`Shared::first_encoded`]).
    pub(crate) first_index: AtomicU64,
    /// Whether the encoder thread hands the stream's packets to the main world
    /// ([`super::DepthSenderSettings::reprobe_from_stream`]).
    pub(crate) tap_packets: AtomicBool,
    /// Whether the encoder thread keeps the stream's keyframes on every GOP-th capture (the
    /// keyframe re-probe runs: its rounds count captures); off, the encoder's own interval.
    pub(crate) key_grid: AtomicBool,
    /// The newest colour frames sent with their cameras (`keep_source` of them), for
    /// [`super::SentDepth::colour`].
    pub(crate) sent_colour: Mutex<VecDeque<(u32, YuvFrame, CameraBlock)>>,
}

impl Shared {
    /// The capture index of the stream's first encoded frame, once the encoder has opened.
    pub(crate) fn first_encoded(&self) -> Option<u32> {
        let v = self.first_index.load(Ordering::Relaxed);
        (v > 0).then(|| (v - 1) as u32)
    }

    /// Records an error of the encoder thread.
    pub(crate) fn fail(&self, e: String) {
        if let Ok(mut s) = self.stats.lock() {
            s.error = Some(e);
        }
    }
}

pub(crate) fn publish_stats(
    state: Res<SenderState>,
    packed: Res<PackedFrames>,
    frames: Res<DepthFrames>,
    colour: Option<Res<ColourFrames>>,
    diagnostics: Option<Res<DiagnosticsStore>>,
    mut stats: ResMut<DepthSenderStats>,
    mut sent: ResMut<SentDepth>,
) {
    if let Ok(mut fresh) = state.shared.sent_colour.lock() {
        sent.colour.extend(fresh.drain(..));
        let excess = sent.colour.len().saturating_sub(sent.capacity);
        sent.colour.drain(..excess);
    }
    let shared = state.shared.stats.lock().map(|s| s.clone()).unwrap_or_default();
    let gpu_ms = |span: &str| {
        let path = DiagnosticPath::from_components(["render", span, "elapsed_gpu"]);
        diagnostics.as_ref()?.get(&path)?.smoothed()
    };
    let probe = state.chooser.probe_report();
    *stats = DepthSenderStats {
        predict_us: state.chooser.predict_us(),
        probe: probe.map(|r| r.measured.iter().map(|(c, e)| (c.to_string(), *e)).collect()),
        probe_winner: probe.map(|r| r.winner.to_string()),
        probe_ms: probe.map(|r| r.wall.as_secs_f64() * 1e3),
        reprobe_rounds: state.chooser.reprobing().map_or(0, |r| r.rounds),
        reprobe_switches: state.chooser.reprobing().map_or(0, |r| r.switches),
        reprobe_round_pairs: state.chooser.reprobing().map_or(0, |r| r.round_pairs),
        reprobe_last_round: state.chooser.reprobing().map_or_else(Vec::new, |r| r.last_round.clone()),
        reprobe_encode_ms: state.chooser.reprobing().and_then(|r| r.encode_ms),
        reprobe_stream_ms: state.chooser.reprobing().and_then(|r| r.stream_ms),
        reprobe_held_back: state.chooser.reprobing().map_or(0, |r| r.held_back),
        reprobe_stream_frames: state.chooser.reprobing().and_then(|r| r.stream_frames),
        reprobe_after_move: state.chooser.reprobing().is_some_and(|r| r.after_move),
        reopens: state.shared.reopens.load(Ordering::Relaxed),
        capture_gpu_ms: gpu_ms(crate::capture::SPAN_LINEARIZE),
        pack_gpu_ms: gpu_ms(crate::pack::SPAN_PACK),
        policy_us: state.policy_us,
        dropped: state.shared.queue_drops.load(Ordering::Relaxed)
            + packed.dropped()
            + frames.dropped()
            + colour.map_or(0, |c| c.dropped()),
        colour_missing: state.shared.colour_missing.load(Ordering::Relaxed),
        error: shared.error.clone().or_else(|| state.chooser.error().map(str::to_string)),
        ..shared
    };
}
