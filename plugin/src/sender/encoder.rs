//! The encoder thread: packed frames straight from the packing pass's channel → `depthcast-stream`'s
//! [`DepthEncoder`] (parameters in-band, the high plane's region of interest) → transport; with
//! colour, each packed depth frame is paired with the colour frame of the same capture index and
//! both go to an [`RgbdEncoder`] (two tracks, one transport, the camera in-band).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use depthcast_codec::EncodedPacket;
use depthcast_packing::{CameraBlock, DepthImage, PackParams, PackingConfig, YuvFrame};
use depthcast_stream::{DepthEncoder, FrameMeta, RgbdEncoder, StreamEncoder, unix_us};

use super::DepthSenderPlugin;
use super::stats::Shared;
use crate::colour::{ColourFrame, ColourFrames};
use crate::pack::{PackedFrame, PackedFrames};

/// Longest wait of a packed depth frame for the colour frame of its capture index. Both are read
/// back in the same render frame, so it normally arrives within a millisecond.
const COLOUR_WAIT: Duration = Duration::from_millis(100);

/// A keyframe re-probe's move, from the main world: the encoder reopens on the first packed
/// frame tagged with its generation ([`crate::GpuPack::tag`]), when that frame's configuration
/// differs from the stream's (the main world sends this before it sets the new configuration
/// and tag for the GPU, so it is here before that frame), pre-rolled over
/// `preroll` (the last frames sent) packed over `range` (see `depthcast_stream::reprobe` for why
/// every move reopens).
pub(crate) struct Reopen {
    /// The move's number (1 for the stream's first; keyframes that moved the stream and were
    /// passed over, or moved it back, count too), the tag of the frames packed for it:
    /// the packets of those frames are tagged with it ([`Tapped::generation`]).
    pub(crate) generation: u64,
    pub(crate) preroll: Vec<DepthImage>,
    pub(crate) range: (f32, f32),
}

/// Packets the stream's encoder gave out, for the re-probe's measurement of the stream's own
/// configuration.
pub(crate) struct Tapped {
    /// The move the frames they are of were packed for (0: none yet). The main world's re-probe
    /// measures only the frames of its latest move: after a move, frames packed the old way
    /// still come through the old encoder for a frame or two.
    pub(crate) generation: u64,
    pub(crate) packets: Vec<EncodedPacket>,
    /// Packets before these were lost: the channel was full (the main world had stopped taking
    /// them), so these and those after them up to a keyframe do not decode as sent.
    pub(crate) after_gap: bool,
}

/// Batches of packets that may wait for the main world's re-probe (some 17 s at 30 fps); beyond
/// that they are dropped, and the next batch says so ([`Tapped::after_gap`]).
pub(crate) const TAP_CAPACITY: usize = 512;

/// Where the encoder thread takes its frames (the packing pass's channel, the re-probe's
/// reopens, and a shutdown signal), and where it hands the stream's packets to the re-probe.
pub(crate) struct Input {
    pub(crate) packed: PackedFrames,
    pub(crate) reopen: Receiver<Reopen>,
    /// With colour: the colour capture's channel.
    pub(crate) colour: Option<ColourFrames>,
    pub(crate) shutdown: Receiver<()>,
    /// Frames that may wait; beyond that the oldest are dropped.
    pub(crate) queue: usize,
    pub(crate) shared: Arc<Shared>,
    /// The stream's packets, to the main world's re-probe while [`Shared::tap_packets`] is on
    /// (`DepthSenderSettings::reprobe_from_stream`): a channel of [`TAP_CAPACITY`].
    pub(crate) sent: Sender<Tapped>,
    /// Whether a batch was dropped since the last one sent.
    pub(crate) tap_lost: std::cell::Cell<bool>,
}

impl Input {
    /// The next frame to encode, blocking until one arrives. When the encoder has fallen behind
    /// (more than `queue` frames wait), the oldest are dropped and counted. `None` once the
    /// sender is gone (what was queued is still returned first) or the render world closed.
    fn next(&self) -> Option<PackedFrame> {
        let rx = self.packed.receiver();
        let mut f = crossbeam_channel::select! {
            recv(rx) -> f => f.ok()?,
            recv(self.shutdown) -> _ => rx.try_recv().ok()?,
        };
        while rx.len() >= self.queue {
            let Ok(newer) = rx.try_recv() else { break };
            self.shared.queue_drops.fetch_add(1, Ordering::Relaxed);
            self.packed.recycle(std::mem::replace(&mut f, newer));
        }
        Some(f)
    }

    /// Hands the stream's `packets` (already sent) by the encoder of move `generation` to the
    /// re-probe, when it measures from them.
    fn tap(&self, generation: u64, packets: Vec<EncodedPacket>) {
        if !packets.is_empty() && self.shared.tap_packets.load(Ordering::Relaxed) {
            let after_gap = self.tap_lost.get();
            self.tap_lost.set(self.sent.try_send(Tapped { generation, packets, after_gap }).is_err());
        }
    }

    /// The colour frame of capture `index`: from `pending` or the colour channel, waiting at most
    /// [`COLOUR_WAIT`]. Older colour frames are recycled; `None` when it was lost (a newer one
    /// arrived, or the wait ran out).
    fn colour_for(&self, index: u32, pending: &mut BTreeMap<u32, ColourFrame>) -> Option<ColourFrame> {
        let colour = self.colour.as_ref()?;
        let deadline = Instant::now() + COLOUR_WAIT;
        loop {
            let newer = pending.split_off(&index);
            for (_, old) in std::mem::replace(pending, newer) {
                colour.recycle(old);
            }
            if let Some(f) = pending.remove(&index) {
                return Some(f);
            }
            if !pending.is_empty() {
                return None;
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            match colour.receiver().recv_timeout(wait) {
                Ok(f) => {
                    pending.insert(f.index, f);
                }
                Err(_) => return None,
            }
        }
    }
}

/// Opens the stream's encoder on its first packed frame (which fixes the frame size): depth only,
/// or colour and depth.
fn open(cfg: &DepthSenderPlugin, first: &PackedFrame) -> depthcast_stream::Result<StreamEncoder> {
    let (config, (w, h)) = (config_of(first), (first.params.width, first.params.height));
    Ok(if cfg.colour {
        StreamEncoder::Rgbd(RgbdEncoder::new(&cfg.rgbd_settings(), &config, w, h, Some(&cfg.url))?)
    } else {
        StreamEncoder::Depth(DepthEncoder::new(cfg.encoder_settings(), &config, w, h, Some(&cfg.url))?)
    })
}

/// "libx264 (software)", with " + colour ..." for an RGB-D stream.
fn describe(enc: &StreamEncoder) -> String {
    let name = |e: &depthcast_codec::Encoder| format!("{} ({})", e.encoder_name(), e.backend().name());
    match enc.colour_encoder() {
        None => name(enc.depth_encoder()),
        Some(c) => format!("{} + colour {}", name(enc.depth_encoder()), name(c)),
    }
}

/// The configuration a packed frame was packed with (for the encoder's frame size).
fn config_of(f: &PackedFrame) -> PackingConfig {
    let p = &f.params;
    PackingConfig {
        scheme: p.scheme,
        precision: p.precision,
        layout: p.layout,
        mode: p.mode,
        low_amplitude: p.low_amplitude,
        period: p.period,
        roi_high: f.roi_high,
        half: p.half,
    }
}

pub(crate) fn encoder_thread(cfg: DepthSenderPlugin, input: Input, shared: Arc<Shared>) {
    // The encoder opens on the first frame: its size comes from the packing.
    let Some(first) = input.next() else { return };
    let mut enc = match open(&cfg, &first) {
        Ok(e) => e,
        Err(e) => return shared.fail(format!("{}: {e}", depthcast_codec::redact_url(&cfg.url))),
    };
    shared.first_index.store(u64::from(first.index) + 1, Ordering::Relaxed);
    let (mut w, mut h) = enc.depth_frame_size();
    if let Ok(mut st) = shared.stats.lock() {
        st.encoder = Some(describe(&enc));
    }
    let mut pending_colour = BTreeMap::new();
    // The colour planes of the frame being encoded, reused from frame to frame.
    let mut colour_planes = YuvFrame::new(2, 2, depthcast_packing::BitDepth::Eight);
    let mut window = VecDeque::<Instant>::new();
    let mut current = config_of(&first);
    // The re-probe's moves announced and not yet reached, oldest first, and the latest move a
    // frame was packed for (a frame of an earlier one, out of order, changes nothing).
    let (mut moves, mut generation) = (VecDeque::<Reopen>::new(), first.tag);
    let mut keys = KeyGrid::new(first.index, cfg.gop);
    let mut next = Some(first);
    while let Some(f) = next.take().or_else(|| input.next()) {
        let t0 = Instant::now();
        let queue_ms = t0.duration_since(f.read_back).as_secs_f64() * 1e3;
        moves.extend(input.reopen.try_iter());
        let config = config_of(&f);
        if f.tag > generation {
            // The first frame packed for a move: moves that no frame was packed for (the next one
            // came first) are passed over, and a move back to the stream's configuration keeps
            // the running encoder.
            while moves.front().is_some_and(|r| r.generation < f.tag) {
                moves.pop_front();
            }
            let r = moves.pop_front_if(|r| r.generation == f.tag);
            if let Some(r) = r
                && config != current
                && let StreamEncoder::Depth(e) = &mut enc
            {
                let mut s = cfg.encoder_settings();
                s.regions_of_interest = config.high_plane_qoffset().is_some();
                let size = (f.params.width, f.params.height);
                match e.reopen(s, &config, size, &r.preroll, r.range, e.stats().frames as i64) {
                    // The old encoder's last packets, sent before the new stream's.
                    Ok(last) => input.tap(generation, last),
                    Err(err) => return shared.fail(format!("re-probe: reopening the encoder for {config}: {err}")),
                }
                (w, h) = e.frame_size();
                keys.reopened();
                shared.reopens.fetch_add(1, Ordering::Relaxed);
            }
            generation = f.tag;
        }
        current = config;
        if f.params.frame_size() != (w, h) || f.params.bit_depth != cfg.bit_depth {
            shared.fail(format!("frame {} changes the frame size or bit depth; skipped", f.index));
            input.packed.recycle(f);
            continue;
        }
        let frame = match YuvFrame::read(f.layout.format, w, h, &f.bytes) {
            Ok(fr) => fr,
            Err(e) => {
                shared.fail(format!("frame {}: {e}", f.index));
                input.packed.recycle(f);
                continue;
            }
        };
        // In-band send time: the capture time on the wall clock, so a receiver's latency is
        // capture to display. The capture index numbers the frames in the stream (the receiver
        // sees gaps as drops).
        let sent = unix_us().saturating_sub(f.captured.elapsed().as_micros() as u64);
        let force_keyframe = shared.key_grid.load(Ordering::Relaxed) && keys.force(f.index);
        let meta = FrameMeta { frame_index: f.index, sent_unix_us: Some(sent), force_keyframe, ..FrameMeta::default() };
        let encoded = match &mut enc {
            StreamEncoder::Depth(e) => e.encode_packed(&frame, &f.params, f.roi_high, &meta).map(|out| {
                let key = out.packets.iter().find(|p| p.params.is_some_and(|p| p.frame_index == f.index));
                let key = key.map(|p| p.keyframe);
                input.tap(f.tag, out.packets);
                key
            }),
            StreamEncoder::Rgbd(e) => {
                let Some(colour) = input.colour_for(f.index, &mut pending_colour) else {
                    // Colour and depth travel as pairs: a depth frame whose colour was lost
                    // (dropped by the colour readback) is not sent alone.
                    shared.colour_missing.fetch_add(1, Ordering::Relaxed);
                    input.packed.recycle(f);
                    continue;
                };
                let r = encode_rgbd(
                    e,
                    &colour,
                    &mut colour_planes,
                    &frame,
                    &f.params,
                    f.roi_high,
                    &meta,
                    &shared,
                    cfg.keep_source,
                );
                if let Some(c) = input.colour.as_ref() {
                    c.recycle(colour);
                }
                r.map(|()| None)
            }
        };
        match encoded {
            Ok(keyframe) => keys.encoded(f.index, keyframe),
            Err(e) => return shared.fail(format!("encode/send: {e}")),
        }
        let now = Instant::now();
        window.push_back(now);
        while window.front().is_some_and(|t| now.duration_since(*t).as_secs_f64() > 1.0) {
            window.pop_front();
        }
        let (totals, colour_totals) = enc.stats();
        let seconds = |frames: u64| frames as f64 / f64::from(cfg.fps.max(1));
        if let Ok(mut st) = shared.stats.lock() {
            st.frames_sent = totals.frames;
            st.fps = window.len() as f64;
            st.bitrate = totals.bytes as f64 * 8.0 / seconds(totals.frames);
            st.colour_bitrate = colour_totals.map(|c| c.bytes as f64 * 8.0 / seconds(c.frames));
            st.latency_ms = now.duration_since(f.captured).as_secs_f64() * 1e3;
            st.encode_ms = now.duration_since(t0).as_secs_f64() * 1e3;
            st.queue_ms = queue_ms;
            st.current = Some(f.params);
            st.readback_ms = f.read_back.duration_since(f.captured).as_secs_f64() * 1e3;
            st.readback_copy_us = f64::from(f.copy_us);
        }
        input.packed.recycle(f);
    }
    if let Some(c) = input.colour.as_ref() {
        for (_, old) in pending_colour {
            c.recycle(old);
        }
    }
    if let Err(e) = enc.finish().map(drop) {
        shared.fail(format!("finishing the stream: {e}"));
    }
}

/// Where the stream's keyframes go while the keyframe re-probe runs ([`Shared::key_grid`]):
/// every `gop`-th capture from the stream's first encoded frame
/// (`first + k * gop`), on the first frame encoded from there, not every `gop` frames encoded.
/// The main world's re-probe counts its rounds by the frames captured from that first frame, and
/// a round measures the stream's own configuration from the stream's packets from a keyframe at
/// its start on. The encoder's own count drifts off the captures' for the rest of the stream at a
/// frame the queue dropped, and at a move, whose reopened encoder starts a frame or two after the
/// round's start (the frames packed before the move reached the GPU); every later round then
/// measured the stream from its second or third frame on.
///
/// The encoder places a keyframe itself `gop` frames after the last one (its keyframe interval),
/// so a keyframe is forced only where that one would not fall: forcing one there anyway would
/// restart an AV1 encoder, which cannot force one in place (`depthcast_codec::Encoder`).
struct KeyGrid {
    first: u32,
    gop: u32,
    /// The `gop`-capture span of the last frame encoded, counted from `first`.
    span: u32,
    /// Frames encoded since the last keyframe (0: the last frame was one).
    since_key: u32,
    /// The encoder is new (opened or reopened): its next frame is a keyframe whatever the span.
    reopened: bool,
}

impl KeyGrid {
    fn new(first: u32, gop: u32) -> KeyGrid {
        // The encoder's first frame is a keyframe, as a reopened one's is.
        KeyGrid { first, gop: gop.max(1), span: 0, since_key: 0, reopened: true }
    }

    fn span_of(&self, index: u32) -> u32 {
        index.saturating_sub(self.first) / self.gop
    }

    /// Whether the encoder makes its next frame a keyframe by itself.
    fn keyframe_due(&self) -> bool {
        self.reopened || self.since_key + 1 >= self.gop
    }

    /// Whether the frame of capture `index`, about to be encoded, must be forced to a keyframe:
    /// it is the first of a new span, and the encoder would not make it one by itself.
    fn force(&self, index: u32) -> bool {
        self.span_of(index) > self.span && !self.keyframe_due()
    }

    /// The frame of capture `index` was encoded, a `keyframe` or not where its packet came out
    /// at once (the encoders run without delay, so it does but for RGB-D, whose packets go
    /// straight to the transport); where it did not, a keyframe when it began a new span
    /// (forced, or due anyway) or was due. A keyframe the encoder placed by itself (at a scene
    /// cut, which the `ultrafast` preset places none of) so restarts the model's interval.
    fn encoded(&mut self, index: u32, keyframe: Option<bool>) {
        let span = self.span_of(index);
        let keyframe = keyframe.unwrap_or_else(|| span > self.span || self.keyframe_due());
        self.since_key = if keyframe { 0 } else { self.since_key + 1 };
        self.span = self.span.max(span);
        self.reopened = false;
    }

    /// The encoder was reopened: its next frame is a keyframe, and its interval counts from there.
    fn reopened(&mut self) {
        self.reopened = true;
    }
}

/// Encodes one RGB-D frame: the colour of the capture (its planes copied into `yuv`) with its
/// camera, the packed depth.
#[allow(clippy::too_many_arguments)]
fn encode_rgbd(
    enc: &mut RgbdEncoder,
    colour: &ColourFrame,
    yuv: &mut YuvFrame,
    packed: &YuvFrame,
    params: &PackParams,
    roi_high: Option<f32>,
    meta: &FrameMeta,
    shared: &Shared,
    keep: usize,
) -> depthcast_stream::Result<()> {
    let camera: CameraBlock = crate::camera::camera_block(
        colour.index,
        &colour.world_from_view,
        &colour.clip_from_view,
        colour.width,
        colour.height,
    );
    colour.yuv_into(yuv);
    enc.encode_packed(yuv, packed, params, roi_high, meta, &camera)?;
    if keep > 0
        && let Ok(mut sent) = shared.sent_colour.lock()
    {
        if sent.len() >= keep {
            sent.pop_front();
        }
        sent.push_back((colour.index, yuv.clone(), camera));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bevy::prelude::Entity;
    use depthcast_packing::{BitDepth, PixelFormat, testdata};
    use depthcast_stream::{DepthReceiver, ReceiverConfig};

    use super::*;
    use crate::pack::{PackedFrame, pack_uniform};

    const W: u32 = 64;
    const H: u32 = 48;
    const RANGE: (f32, f32) = (0.5, 20.0);

    /// A frame of `config` as the GPU packing pass would hand it over (packed on the CPU here),
    /// packed for the re-probe's move `tag`.
    fn packed(index: u32, config: &PackingConfig, tag: u64) -> PackedFrame {
        let depth = testdata::game_scene(W, H, index as f32 / 30.0);
        let params = config.params(BitDepth::Eight, W, H, RANGE.0, RANGE.1, index);
        let frame = depthcast_packing::pack(&depth.view(), &params).unwrap();
        let (_, layout) = pack_uniform(&params, W, 0).unwrap();
        let mut bytes = Vec::new();
        frame.write(PixelFormat::Yuv420p, &mut bytes).unwrap();
        let now = Instant::now();
        PackedFrame {
            camera: Entity::PLACEHOLDER,
            index,
            params,
            layout,
            bytes,
            roi_high: config.high_plane_qoffset(),
            tag,
            captured: now,
            read_back: now,
            copy_us: 0.0,
        }
    }

    /// A move's reopen, pre-rolled over the frames before `at`.
    fn reopen(generation: u64, at: u32) -> Reopen {
        let preroll = (at - 5..at).map(|k| testdata::game_scene(W, H, k as f32 / 30.0)).collect();
        Reopen { generation, preroll, range: RANGE }
    }

    /// What the encoder thread did with some frames: the stream it wrote, its shared state, and
    /// the packets it handed to the re-probe (the tap on).
    struct Encoded {
        url: String,
        dir: std::path::PathBuf,
        shared: Arc<Shared>,
        tapped: Vec<Tapped>,
    }

    /// Runs the encoder thread (GOP 10) over `frames` into an MPEG-TS file named `name`, one
    /// frame at a time (its queue drops the oldest when it falls behind), sending each of `moves`
    /// just before the frame of its index.
    fn encode(name: &str, frames: Vec<PackedFrame>, mut moves: Vec<(u32, Reopen)>) -> Encoded {
        let dir = std::env::temp_dir().join(format!("depthcast-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = dir.join("moves.ts").to_string_lossy().into_owned();
        let cfg = DepthSenderPlugin {
            url: url.clone(),
            bitrate: 500_000,
            gop: 10,
            force_software: true,
            encoder_threads: 1,
            ..Default::default()
        };
        let (packed, sink) = crate::channel::channel::<PackedFrame>(64, 0);
        let (reopen_tx, reopen_rx) = crossbeam_channel::unbounded();
        let (_shutdown_tx, shutdown) = crossbeam_channel::bounded(0);
        let shared = Arc::new(Shared::default());
        let (sent, tapped) = crossbeam_channel::bounded(TAP_CAPACITY);
        shared.tap_packets.store(true, Ordering::Relaxed);
        shared.key_grid.store(true, Ordering::Relaxed);
        let input = Input {
            packed,
            reopen: reopen_rx,
            colour: None,
            shutdown,
            queue: 64,
            shared: shared.clone(),
            sent,
            tap_lost: Default::default(),
        };
        let thread = {
            let (cfg, shared) = (cfg.clone(), shared.clone());
            std::thread::spawn(move || encoder_thread(cfg, input, shared))
        };
        for (n, f) in frames.into_iter().enumerate() {
            while let Some(k) = moves.iter().position(|(at, _)| *at == f.index) {
                reopen_tx.send(moves.remove(k).1).unwrap();
            }
            sink.send(f);
            while !frames_sent_at_least(&shared, n as u32 + 1) && !thread.is_finished() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        drop(sink);
        thread.join().unwrap();
        assert_eq!(shared.stats.lock().unwrap().error, None);
        Encoded { url, dir, shared, tapped: tapped.try_iter().collect() }
    }

    /// The in-band frame index, keyframe flag and tag of each packet handed to the re-probe.
    fn tapped(e: &Encoded) -> Vec<(u32, bool, u64)> {
        let frame = |p: &EncodedPacket| p.params.expect("in-band parameters").frame_index;
        e.tapped.iter().flat_map(|t| t.packets.iter().map(|p| (frame(p), p.keyframe, t.generation))).collect()
    }

    /// A re-probe's move from full-size luma to the half-size VBP luma layout (another frame
    /// size) reopens the encoder on the first frame packed for it, and a receiver decodes every
    /// frame of the stream with its own configuration; a change of configuration that no move
    /// announced (the network's keyframe switch) stays in the running encoder. The packets
    /// handed to the re-probe carry the move their frames were packed for, and the new
    /// encoder's start at a keyframe; the keyframes after it stay every 10th capture, where the
    /// re-probe's rounds start.
    #[test]
    fn a_move_reopens_the_encoder_on_the_first_frame_packed_for_it() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let hue = PackingConfig::hue();
        let half = PackingConfig::vbp_roi(16, -0.8).at_half();
        // The move at 25, between the stream's own keyframes (every 10), so that a keyframe
        // there is the reopened encoder's.
        let want = |i: u32| match i {
            0..10 => luma,
            10..25 => hue,
            _ => half,
        };
        let frames = (0..45).map(|i| packed(i, &want(i), u64::from(i >= 25))).collect();
        let e = encode("reopen", frames, vec![(25, reopen(1, 25))]);
        assert_eq!(e.shared.reopens.load(Ordering::Relaxed), 1, "one move, one reopen");
        let tapped = tapped(&e);
        assert_eq!(tapped.iter().map(|t| t.0).collect::<Vec<_>>(), (0..45).collect::<Vec<_>>());
        assert!(tapped.iter().all(|&(i, _, tag)| tag == u64::from(i >= 25)), "{tapped:?}");
        // 25: the new encoder's start; 30 and 40, not 35: the captures' grid, not its own count.
        assert_eq!(keyframes(&tapped), [0, 10, 20, 25, 30, 40], "{tapped:?}");

        let mut rx = DepthReceiver::new(ReceiverConfig::new(e.url.clone()));
        let mut seen = Vec::new();
        while let Some(f) = rx.recv().unwrap() {
            let (i, p) = (f.params.frame_index, f.params);
            let c = want(i);
            assert_eq!((p.scheme, p.layout, p.half), (c.scheme, c.layout, c.half), "frame {i}");
            assert_eq!((f.depth.width, f.depth.height), (W, H), "frame {i}: rebuilt at full size");
            seen.push(i);
        }
        assert_eq!(seen, (0..45).collect::<Vec<_>>());
        std::fs::remove_dir_all(&e.dir).ok();
    }

    /// Frames lost before the encoder (its queue dropped them, or the GPU readback did) do not
    /// move the keyframes off every 10th capture: the first frame encoded at or after a multiple
    /// of 10 is one, so a round of the re-probe (which counts the captures) still starts with
    /// the stream's keyframe. Where the encoder's own interval falls there anyway (40 lost after
    /// nine frames encoded since 30: 41 is its tenth) nothing is forced, and no keyframe comes
    /// between the grid's.
    #[test]
    fn keyframes_stay_every_gop_captures_when_frames_are_lost() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let lost = [3, 10, 24, 25, 26, 40];
        let frames = (0..50).filter(|i| !lost.contains(i)).map(|i| packed(i, &luma, 0)).collect();
        let e = encode("lost", frames, Vec::new());
        let tapped = tapped(&e);
        assert_eq!(tapped.len(), 50 - lost.len());
        assert_eq!(keyframes(&tapped), [0, 11, 20, 30, 41], "{tapped:?}");
        let mut rx = DepthReceiver::new(ReceiverConfig::new(e.url.clone()));
        let mut seen = Vec::new();
        while let Some(f) = rx.recv().unwrap() {
            seen.push(f.params.frame_index);
        }
        assert_eq!(seen, tapped.iter().map(|t| t.0).collect::<Vec<_>>(), "every frame sent decodes");
        std::fs::remove_dir_all(&e.dir).ok();
    }

    /// `KeyGrid` forces a keyframe only at the first frame of a span that the encoder would not
    /// make one by itself (forcing one on AV1 restarts its encoder): not at 10 after 0..=9, nor
    /// at a reopen, nor at 30 or 41 after nine frames since the last; at 11 and 20 after a frame
    /// lost, at 30 after a reopen at 25, and at 10 after a keyframe the encoder placed by itself
    /// at 5.
    #[test]
    fn the_key_grid_forces_only_where_the_encoders_own_keyframe_would_not_fall() {
        let run = |frames: &[(u32, Option<bool>)], reopen_at: Option<u32>| -> Vec<u32> {
            let mut k = KeyGrid::new(0, 10);
            let mut forced = Vec::new();
            for &(i, seen) in frames {
                if reopen_at == Some(i) {
                    k.reopened();
                }
                if k.force(i) {
                    forced.push(i);
                }
                k.encoded(i, seen);
            }
            forced
        };
        let every = |r: std::ops::Range<u32>| r.map(|i| (i, None)).collect::<Vec<_>>();
        assert_eq!(run(&every(0..30), None), Vec::<u32>::new(), "the encoder's own interval is the grid");
        let lost: Vec<_> = every(0..50).into_iter().filter(|(i, _)| ![3, 10, 40].contains(i)).collect();
        // 30 and 41: the encoder's own tenth frame since 20 and since 30.
        assert_eq!(run(&lost, None), [11, 20]);
        assert_eq!(run(&every(0..45), Some(25)), [30], "40: the tenth since 30");
        let cut: Vec<_> = every(0..12).into_iter().map(|(i, _)| (i, Some(i == 0 || i == 5))).collect();
        assert_eq!(run(&cut, None), [10], "a scene cut at 5 restarts the encoder's interval");
    }

    /// The capture indices of the keyframes among `tapped`.
    fn keyframes(tapped: &[(u32, bool, u64)]) -> Vec<u32> {
        tapped.iter().filter(|t| t.1).map(|t| t.0).collect()
    }

    /// Two moves announced before any frame was packed for the first (a stalled encoder, a
    /// short GOP): the frames come packed for the second, and that move is the one made. Back to
    /// the stream's own configuration, it keeps the running encoder; on to a third, it reopens.
    #[test]
    fn a_move_no_frame_was_packed_for_is_passed_over() {
        let luma = PackingConfig::luma(BitDepth::Eight);
        let hue = PackingConfig::hue();
        // Moves 1 (to half size) and 2 (back to luma) before frame 13; moves 3 (half size) and
        // 4 (hue) before frame 23 (the stream's own keyframes are at 0, 10 and 20).
        let want = |i: u32| if i < 23 { (luma, u64::from(i >= 13) * 2) } else { (hue, 4) };
        let frames = (0..30).map(|i| packed(i, &want(i).0, want(i).1)).collect();
        let moves = vec![(13, reopen(1, 13)), (13, reopen(2, 13)), (23, reopen(3, 23)), (23, reopen(4, 23))];
        let e = encode("passed-over", frames, moves);
        assert_eq!(e.shared.reopens.load(Ordering::Relaxed), 1, "only the move to hue reopened");
        let tapped = tapped(&e);
        assert_eq!(tapped.len(), 30);
        assert!(tapped.iter().all(|&(i, _, tag)| tag == want(i).1), "{tapped:?}");
        assert!(!tapped[13].1 && tapped[23].1, "the running encoder goes on; the new one starts at a keyframe");
        std::fs::remove_dir_all(&e.dir).ok();
    }

    fn frames_sent_at_least(shared: &Shared, n: u32) -> bool {
        shared.stats.lock().is_ok_and(|s| s.frames_sent >= u64::from(n))
    }
}
