//! The depth sender: capture → GPU packing → readback → encoder thread → transport URL.
//!
//! Add [`DepthSenderPlugin`] (it adds the capture and packing plugins), put [`DepthSender`] on one
//! `Camera3d`, and the camera's depth streams to the plugin's URL. Every frame:
//! 1. the newest captured depth frame gives the range (its tight near/far with a margin, smoothed
//!    over time; the range reaches the GPU about two frames after the depth it came from, so the
//!    margin covers motion in between);
//! 2. [`DepthSenderSettings`] gives the packing configuration: fixed, or chosen by precision-net
//!    from the frame's features and the bitrate (`auto`); the camera's [`GpuPack`] is set for
//!    the next frame;
//! 3. packed frames coming back from the GPU go straight from the render world to the encoder
//!    thread through a bounded channel ([`PackedFrames`]: with a sender, its encoder thread is the
//!    consumer); the thread drops the **oldest** frames when more than
//!    [`DepthSenderPlugin::queue`] wait (counted in [`DepthSenderStats::dropped`]);
//! 4. the encoder thread encodes (parameters in-band, SEI) and writes to the transport.
//!
//! The encoder cannot change frame size mid-stream, so the configuration must keep one frame
//! size: VBP's luma layout doubles the height, the other schemes do not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use bevy::diagnostic::{DiagnosticPath, DiagnosticsStore};
use bevy::prelude::*;
use crossbeam_channel::{Receiver, Sender};
use depthcast_codec::{
    Container, EncoderSettings, FrameOptions, RateControl, Refresh, Roi, Sender as Transport, VideoCodec,
};
use depthcast_packing::{BitDepth, PackParams, RangeSmoother, Scheme, VbpLayout, YuvFrame, tight_range};

use crate::capture::{DepthCapture, DepthFrames};
use crate::pack::{GpuPack, GpuPackPlugin, PackedFrame, PackedFrames};

/// Streams this camera's depth (one camera per app). Requires [`DepthCapture`] and [`GpuPack`]
/// (added automatically).
#[derive(Component, Debug, Default, Clone, Copy, Reflect)]
#[reflect(Component, Default, Debug, Clone)]
#[require(DepthCapture, GpuPack)]
pub struct DepthSender;

/// Static choices of the stream.
#[derive(Debug, Clone)]
pub struct DepthSenderPlugin {
    /// Where to send: `udp://`, `tcp://`, `srt://`, `rtmp://`, or a `.ts` / `.mkv` file.
    pub url: String,
    /// Video codec (default H.264).
    pub codec: VideoCodec,
    /// Plane bit depth (default 8).
    pub bit_depth: BitDepth,
    /// Target bitrate in bit/s (default 4 Mbit/s, CBR).
    pub bitrate: u64,
    /// Frames per second the app renders at (default 30; sets the encoder's rate control).
    pub fps: u32,
    /// Keyframe interval in frames (default 30).
    pub gop: u32,
    /// Packed frames that may wait for the encoder before the oldest is dropped (default 3).
    pub queue: usize,
    /// Use libx264/libx265 even when a hardware encoder is usable (default false).
    pub force_software: bool,
    /// Software encoder threads (default 0: one per started five million pixels of the encoded
    /// frame, so one up to 1080p, at most the number of cores; see
    /// `depthcast_codec::EncoderSettings::auto_threads` for why).
    pub encoder_threads: u32,
    /// Keep the newest this many source depth frames in [`SentDepth`] (default 0: none), for
    /// measuring what a receiver gets against what was sent.
    pub keep_source: usize,
    /// Time the capture and packing passes on the GPU (default true): adds Bevy's
    /// `RenderDiagnosticsPlugin` (timestamp queries, where the adapter has them) and fills
    /// [`DepthSenderStats::capture_gpu_ms`] and [`DepthSenderStats::pack_gpu_ms`].
    pub gpu_timing: bool,
}

/// The newest source depth frames the sender saw, by capture frame index (the stream's
/// `frame_index`), oldest first. Filled when [`DepthSenderPlugin::keep_source`] is above 0.
#[derive(Resource, Debug, Default, Clone)]
pub struct SentDepth {
    /// `(frame index, depth in metres, +inf where nothing was drawn)`.
    pub frames: std::collections::VecDeque<(u32, depthcast_packing::DepthImage)>,
    capacity: usize,
}

impl Default for DepthSenderPlugin {
    fn default() -> Self {
        DepthSenderPlugin {
            url: "udp://127.0.0.1:5600".into(),
            codec: VideoCodec::H264,
            bit_depth: BitDepth::Eight,
            bitrate: 4_000_000,
            fps: 30,
            gop: 30,
            queue: 3,
            force_software: false,
            encoder_threads: 0,
            keep_source: 0,
            gpu_timing: true,
        }
    }
}

/// Runtime settings: the packing configuration (changes apply from the next frame, within one
/// frame size).
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct DepthSenderSettings {
    /// Scheme (luma-only, VBP or triangle waves: what the GPU packs).
    pub scheme: Scheme,
    /// Precision `P` in bits (ignored by luma-only).
    pub precision: u8,
    /// VBP layout.
    pub layout: VbpLayout,
    /// Quality offset (FFmpeg ROI `qoffset`, −1..=1) for the high plane of VBP's luma layout
    /// (negative: the high bits get more of the budget; libx264 scales it by 51 QP), `None` for
    /// no region of interest.
    pub roi_high: Option<f32>,
    /// Range margin: near × (1 − margin), far × (1 + margin) (default 0.1).
    pub margin: f32,
    /// Fraction of the gap closed per frame when the range narrows (default 0.1).
    pub range_alpha: f32,
    /// Let precision-net choose the configuration (default false: the fields above are used).
    /// The committed int8 model scores its candidates from each frame's features and the
    /// plugin's bitrate; the first frame fixes the frame size, later switches stay within it and
    /// happen every `gop` frames when the mean score gains the model's margin (see
    /// `depthcast_precision_net::Switcher`). Off by default: on the held-out rendered scenes the
    /// current model misses its quality goals at 1–2 Mbit/s (`precision-net/models/report.md`).
    pub auto: bool,
}

impl Default for DepthSenderSettings {
    /// VBP, luma layout, P = 16, ROI −0.4: over the 22 training scenes of precision-net the
    /// best fixed configuration in geometric mean from 8 Mbit/s (720p30) up, and within 3% of
    /// the best (−0.6) at 4 Mbit/s; the strong offset −0.8 starves the low plane from 4 Mbit/s
    /// up (`precision-net/models/report.md`). Below about 2 Mbit/s at 720p30 8-bit luma wins.
    fn default() -> Self {
        DepthSenderSettings {
            scheme: Scheme::Vbp,
            precision: 16,
            layout: VbpLayout::Luma,
            roi_high: Some(-0.4),
            margin: 0.1,
            range_alpha: 0.1,
            auto: false,
        }
    }
}

/// What the sender has done so far.
#[derive(Resource, Debug, Default, Clone)]
pub struct DepthSenderStats {
    /// Frames encoded and sent.
    pub frames_sent: u64,
    /// Frames dropped: by the capture or packing readback, or the oldest in the encoder queue.
    pub dropped: u64,
    /// Frames sent per second over the last second.
    pub fps: f64,
    /// Achieved bitrate over the whole stream in bit/s.
    pub bitrate: f64,
    /// The configuration of the last frame packed.
    pub current: Option<PackParams>,
    /// Capture (render-world prepare) to last packet written, last frame, in milliseconds.
    pub latency_ms: f64,
    /// Time spent encoding and sending the last frame, in milliseconds.
    pub encode_ms: f64,
    /// precision-net's features + inference for the last frame, in microseconds (0 when the
    /// configuration is fixed).
    pub predict_us: f64,
    /// GPU time of the capture's linearisation pass (smoothed), in milliseconds; `None` without
    /// [`DepthSenderPlugin::gpu_timing`] or timestamp queries on the adapter.
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
    /// The last error of the encoder thread (it stops on error).
    pub error: Option<String>,
}

#[derive(Default)]
struct Shared {
    stats: Mutex<DepthSenderStats>,
    queue_drops: AtomicU64,
}

#[derive(Resource)]
struct SenderState {
    /// `None` once dropped: the encoder thread then encodes what is queued, flushes and ends.
    shutdown: Option<Sender<()>>,
    shared: Arc<Shared>,
    smoother: RangeSmoother,
    range: Option<(f32, f32)>,
    thread: Option<JoinHandle<()>>,
    cfg: DepthSenderPlugin,
    predictor: Option<Predictor>,
    /// CPU time of the last `choose_params` besides prediction, µs.
    policy_us: f64,
}

/// One packing configuration the predictor can choose.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    scheme: Scheme,
    layout: VbpLayout,
    precision: u8,
    roi_high: Option<f32>,
}

impl Candidate {
    /// Parses a candidate id of the model's metadata: `luma-P8-lin`, `vbp-chroma-P12-lin-a255`,
    /// `vbp-luma-P14-lin-a255-roi-0.80` (the sweep's configuration ids; linear range, full
    /// amplitude).
    fn parse(id: &str) -> Option<Candidate> {
        let mut parts = id.split('-');
        let (scheme, layout) = match parts.next()? {
            "luma" => (Scheme::LumaOnly, VbpLayout::Chroma),
            "vbp" => (Scheme::Vbp, VbpLayout::from_name(parts.next()?)?),
            _ => return None,
        };
        let precision = parts.next()?.strip_prefix('P')?.parse().ok()?;
        let rest: Vec<&str> = parts.collect();
        // `-roi-0.80` splits into "roi", "0.80" (a negative offset); `-roi+0.50` stays one part.
        let roi_high = match rest.iter().position(|p| p.starts_with("roi")) {
            Some(i) if rest[i] == "roi" => Some(-rest.get(i + 1)?.parse::<f32>().ok()?),
            Some(i) => Some(rest[i].trim_start_matches("roi").parse::<f32>().ok()?),
            None => None,
        };
        Some(Candidate { scheme, layout, precision, roi_high })
    }

    /// Whether its frame is taller than the depth map (VBP luma layout with low bits).
    fn tall(&self, bits: BitDepth) -> bool {
        self.scheme == Scheme::Vbp && self.layout == VbpLayout::Luma && self.precision > bits.bits()
    }
}

/// precision-net in the loop: features → int8 MLP → switching rule.
struct Predictor {
    policy: depthcast_precision_net::StreamPolicy,
    candidates: Vec<Candidate>,
    choice: Option<Candidate>,
    /// Features + inference of the last frame, µs.
    last_us: f64,
}

impl Predictor {
    /// The committed model for this stream, or `None` (with the reason logged) if its candidates
    /// are unknown.
    fn load(cfg: &DepthSenderPlugin, size: (u32, u32)) -> Option<Predictor> {
        use depthcast_precision_net::{QuantMlp, Settings, StreamPolicy, models};
        let model = QuantMlp::from_bytes(models::INT8).map_err(|e| warn!("precision-net: {e}")).ok()?;
        let candidates: Vec<Candidate> =
            model.metadata_list("candidates").iter().map(|id| Candidate::parse(id)).collect::<Option<_>>()?;
        let groups =
            candidates.iter().map(|c| if c.tall(cfg.bit_depth) { "tall" } else { "frame" }.to_string()).collect();
        let settings = Settings {
            bitrate: cfg.bitrate as f64,
            fps: f64::from(cfg.fps.max(1)),
            hevc: cfg.codec == VideoCodec::Hevc,
            bits: cfg.bit_depth.bits(),
        };
        let policy = StreamPolicy::new(model, groups, cfg.gop as usize, settings, size.0, size.1);
        Some(Predictor { policy, candidates, choice: None, last_us: 0.0 })
    }
}

impl Drop for SenderState {
    /// Closes the queue and waits for the encoder thread to flush the stream (the last packets
    /// and the container trailer), so a file output is complete when the app is gone.
    fn drop(&mut self) {
        self.shutdown = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Plugin for DepthSenderPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<crate::DepthCapturePlugin>() {
            app.add_plugins(crate::DepthCapturePlugin::default());
        }
        if !app.is_plugin_added::<GpuPackPlugin>() {
            app.add_plugins(GpuPackPlugin::default());
        }
        if self.gpu_timing && !app.is_plugin_added::<bevy::render::diagnostic::RenderDiagnosticsPlugin>() {
            app.add_plugins(bevy::render::diagnostic::RenderDiagnosticsPlugin);
        }
        // The encoder thread takes packed frames straight from the packing pass's channel: a hop
        // through the main world would add a frame of latency.
        let (shutdown, shutdown_rx) = crossbeam_channel::bounded::<()>(0);
        let shared = Arc::new(Shared::default());
        let input = Input {
            packed: app.world().resource::<PackedFrames>().clone(),
            shutdown: shutdown_rx,
            queue: self.queue.max(1),
            shared: shared.clone(),
        };
        let cfg = self.clone();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("depthcast-encoder".into())
            .spawn(move || encoder_thread(cfg, input, thread_shared))
            .ok();
        app.register_type::<DepthSender>()
            .init_resource::<DepthSenderSettings>()
            .init_resource::<DepthSenderStats>()
            .insert_resource(SentDepth { frames: Default::default(), capacity: self.keep_source })
            .insert_resource(SenderState {
                shutdown: Some(shutdown),
                shared,
                smoother: RangeSmoother::new(0.1),
                range: None,
                thread,
                cfg: self.clone(),
                predictor: None,
                policy_us: 0.0,
            })
            .add_systems(Update, (choose_params, publish_stats).chain());
    }
}

/// Sets the next frame's packing from the newest depth frame's range and the settings.
fn choose_params(
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
    while let Some(f) = frames.try_recv() {
        // Every frame is kept for measurement (two can arrive in one update); only the newest
        // steers the range and the policy.
        if sent.capacity > 0 {
            let t0 = Instant::now();
            if sent.frames.len() >= sent.capacity {
                sent.frames.pop_front();
            }
            let img = depthcast_packing::DepthImage { width: f.width, height: f.height, data: f.data.clone() };
            sent.frames.push_back((f.index, img));
            // A measurement aid, not part of the sender's cost.
            aside += t0.elapsed().as_secs_f64() * 1e6;
        }
        if let Some(old) = newest.replace(f) {
            frames.recycle(old);
        }
    }
    if let Some(f) = newest {
        let view = depthcast_packing::DepthView::new(f.width, f.height, f.width as usize, &f.data).ok();
        if let Some((lo, hi)) = view.as_ref().and_then(|v| tight_range(v, 0.0)) {
            state.smoother.alpha = settings.range_alpha.clamp(0.0, 1.0);
            let (lo, hi) = state.smoother.update(lo, hi);
            let m = settings.margin.clamp(0.0, 0.9);
            state.range = Some((lo * (1.0 - m), hi * (1.0 + m)));
        }
        if settings.auto {
            if state.predictor.is_none() {
                state.predictor = Predictor::load(&state.cfg, (f.width, f.height));
            }
            if let (Some(pred), Some(view)) = (state.predictor.as_mut(), view.as_ref()) {
                let t0 = Instant::now();
                if let Ok(k) = pred.policy.push(view) {
                    pred.choice = pred.candidates.get(k).copied();
                }
                pred.last_us = t0.elapsed().as_secs_f64() * 1e6;
                predict = pred.last_us;
            }
        }
        state.policy_us = (start.elapsed().as_secs_f64() * 1e6 - predict - aside).max(0.0);
        frames.recycle(f);
    }
    let Some((near, far)) = state.range else { return };
    // precision-net's choice when `auto` (it is made before the first frame is packed, so the
    // stream opens with its frame size), else the fixed settings.
    let chosen = if settings.auto { state.predictor.as_ref().and_then(|p| p.choice) } else { None };
    let c = chosen.unwrap_or(Candidate {
        scheme: settings.scheme,
        layout: settings.layout,
        precision: settings.precision,
        roi_high: settings.roi_high,
    });
    for (camera, mut pack) in &mut cameras {
        let Some(size) = camera.physical_target_size() else { continue };
        let mut p = PackParams::new(c.scheme, c.precision, near, far, size.x, size.y);
        p.layout = c.layout;
        p.bit_depth = state.cfg.bit_depth;
        if c.scheme == Scheme::Triangle {
            p.period = depthcast_packing::schemes::triangle::default_period(c.precision, p.bit_depth);
        }
        let p = if p.validate().is_ok() { Some(p) } else { None };
        let roi = if c.scheme == Scheme::Vbp && c.layout == VbpLayout::Luma { c.roi_high } else { None };
        if pack.params != p || pack.roi_high != roi {
            pack.params = p;
            pack.roi_high = roi;
        }
    }
}

/// Where the encoder thread takes its frames: the packing pass's channel, and a shutdown signal.
struct Input {
    packed: PackedFrames,
    shutdown: Receiver<()>,
    /// Frames that may wait; beyond that the oldest are dropped.
    queue: usize,
    shared: Arc<Shared>,
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
}

fn publish_stats(
    state: Res<SenderState>,
    packed: Res<PackedFrames>,
    frames: Res<DepthFrames>,
    diagnostics: Option<Res<DiagnosticsStore>>,
    mut stats: ResMut<DepthSenderStats>,
) {
    let shared = state.shared.stats.lock().map(|s| s.clone()).unwrap_or_default();
    let gpu_ms = |span: &str| {
        let path = DiagnosticPath::from_components(["render", span, "elapsed_gpu"]);
        diagnostics.as_ref()?.get(&path)?.smoothed()
    };
    *stats = DepthSenderStats {
        predict_us: state.predictor.as_ref().map_or(0.0, |p| p.last_us),
        capture_gpu_ms: gpu_ms(crate::capture::SPAN_LINEARIZE),
        pack_gpu_ms: gpu_ms(crate::pack::SPAN_PACK),
        policy_us: state.policy_us,
        dropped: state.shared.queue_drops.load(Ordering::Relaxed) + packed.dropped() + frames.dropped(),
        ..shared
    };
}

fn encoder_thread(cfg: DepthSenderPlugin, input: Input, shared: Arc<Shared>) {
    let fail = |e: String| {
        if let Ok(mut s) = shared.stats.lock() {
            s.error = Some(e);
        }
    };
    // The encoder opens on the first frame: its size comes from the packing.
    let Some(first) = input.next() else { return };
    let (w, h) = first.params.frame_size();
    let mut s = EncoderSettings::new(cfg.codec, w, h);
    s.bit_depth = cfg.bit_depth;
    s.fps = (cfg.fps.max(1), 1);
    s.bitrate = cfg.bitrate;
    s.rate_control = RateControl::Cbr;
    s.refresh = Refresh::Gop(cfg.gop.max(1));
    s.force_software = cfg.force_software;
    s.threads = cfg.encoder_threads;
    s.regions_of_interest = true;
    s.global_header = match Container::for_url(&cfg.url) {
        Ok(c) => c.needs_global_header(),
        Err(e) => return fail(format!("{}: {e}", cfg.url)),
    };
    let mut enc = match depthcast_codec::Encoder::new(&s) {
        Ok(e) => e,
        Err(e) => return fail(format!("encoder: {e}")),
    };
    let mut tx = match Transport::open(&cfg.url, &enc) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", cfg.url)),
    };
    if let Ok(mut st) = shared.stats.lock() {
        st.encoder = Some(format!("{} ({})", enc.encoder_name(), enc.backend().name()));
    }
    let (mut bytes, mut sent, mut window) = (0u64, 0u64, std::collections::VecDeque::<Instant>::new());
    let mut next = Some(first);
    while let Some(f) = next.take().or_else(|| input.next()) {
        let t0 = Instant::now();
        let queue_ms = t0.duration_since(f.read_back).as_secs_f64() * 1e3;
        if f.params.frame_size() != (w, h) || f.params.bit_depth != cfg.bit_depth {
            fail(format!("frame {} changes the frame size or bit depth; skipped", f.index));
            input.packed.recycle(f);
            continue;
        }
        let frame = match YuvFrame::read(f.layout.format, w, h, &f.bytes) {
            Ok(fr) => fr,
            Err(e) => {
                fail(format!("frame {}: {e}", f.index));
                input.packed.recycle(f);
                continue;
            }
        };
        // In-band send time: the capture time on the wall clock, so a receiver's latency is
        // capture to display.
        let age = f.captured.elapsed();
        let now_us =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
        let mut opts =
            FrameOptions { sent_unix_us: Some(now_us.saturating_sub(age.as_micros() as u64)), ..Default::default() };
        if let (Some(q), Scheme::Vbp, VbpLayout::Luma) = (f.roi_high, f.params.scheme, f.params.layout) {
            opts.rois.push(Roi { left: 0, top: 0, width: w, height: h / 2, qoffset: q });
        }
        // The capture index numbers the frames in the stream (the receiver sees gaps as drops).
        let params = PackParams { frame_index: f.index, ..f.params };
        let packets = match enc.encode(&frame, &params, &opts) {
            Ok(p) => p,
            Err(e) => return fail(format!("encode: {e}")),
        };
        for pkt in &packets {
            bytes += pkt.data.len() as u64;
            if let Err(e) = tx.send(pkt) {
                return fail(format!("send: {e}"));
            }
        }
        sent += 1;
        let now = Instant::now();
        window.push_back(now);
        while window.front().is_some_and(|t| now.duration_since(*t).as_secs_f64() > 1.0) {
            window.pop_front();
        }
        if let Ok(mut st) = shared.stats.lock() {
            st.frames_sent = sent;
            st.fps = window.len() as f64;
            st.bitrate = bytes as f64 * 8.0 / (sent as f64 / f64::from(cfg.fps.max(1)));
            st.latency_ms = now.duration_since(f.captured).as_secs_f64() * 1e3;
            st.encode_ms = now.duration_since(t0).as_secs_f64() * 1e3;
            st.queue_ms = queue_ms;
            st.current = Some(f.params);
            st.readback_ms = f.read_back.duration_since(f.captured).as_secs_f64() * 1e3;
            st.readback_copy_us = f64::from(f.copy_us);
        }
        input.packed.recycle(f);
    }
    if let Ok(packets) = enc.finish() {
        for pkt in &packets {
            let _ = tx.send(pkt);
        }
    }
    let _ = tx.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_ids_of_the_model_parse() {
        let c = Candidate::parse("vbp-luma-P14-lin-a255-roi-0.80").expect("parses");
        assert_eq!((c.scheme, c.layout, c.precision), (Scheme::Vbp, VbpLayout::Luma, 14));
        assert!((c.roi_high.expect("roi") + 0.8).abs() < 1e-6);
        assert!(c.tall(BitDepth::Eight));
        let l = Candidate::parse("luma-P8-lin").expect("parses");
        assert_eq!((l.scheme, l.precision, l.roi_high), (Scheme::LumaOnly, 8, None));
        assert!(!l.tall(BitDepth::Eight));
        assert!(!Candidate::parse("vbp-chroma-P12-lin-a255").expect("parses").tall(BitDepth::Eight));
        assert!(Candidate::parse("hue-lin").is_none());
        // Every candidate of the committed model is understood.
        assert!(Predictor::load(&DepthSenderPlugin::default(), (1280, 720)).is_some());
    }
}
