//! The demo's main stream on Bevy: the built-in room rendered headless, its colour and depth
//! captured on the GPU (colour converted to YUV 4:2:0, depth packed) by [`DepthSenderPlugin`],
//! sent as one RGB-D stream (two tracks, the camera in-band) over loopback UDP, received, paired
//! and unpacked by [`DepthReceiverPlugin`] in a second app of the same process; every received
//! frame's depth is compared with the source depth of the same frame index, and the received
//! RGB-D frames are kept for the reprojection measurement ([`crate::rgbd`]).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use depthcast_codec::VideoCodec;
use depthcast_packing::{DepthImage, Metrics};
use depthcast_plugin::receiver::{DepthReceiverPlugin, ReceivedDepth};
use depthcast_plugin::{DepthSender, DepthSenderPlugin, DepthSenderSettings, DepthSenderStats, SentDepth};
use depthcast_scene::{BUILTIN_SCENE, CameraPath, SceneRenderConfig, SceneRenderer};

use super::rgbd::RgbdSample;
use super::{DemoFrame, DemoOptions, DemoSummary, SenderCosts, free_udp_port, images, write_outputs};

/// What the Bevy stream produced besides its summary: the source frames (for the baseline) and
/// the RGB-D frames sent and received (for the reprojection measurement).
pub struct BevyRun {
    /// The summary (also written to `out/summary.json`).
    pub summary: DemoSummary,
    /// Source depth of the frames the sender captured, in order (invalid = 0).
    pub source: Vec<DepthImage>,
    /// The capture frame index of each of [`Self::source`] (the stream's frame indices).
    pub source_indices: Vec<u32>,
    /// With colour: what was sent and received, and how the pairs fared.
    pub rgbd: Option<RgbdRun>,
}

/// The RGB-D side of a run.
pub struct RgbdRun {
    /// What the sender sent, by frame index: colour as encoded, source depth, camera.
    pub sent: BTreeMap<u32, RgbdSample>,
    /// What the receiver handed out as pairs, by frame index.
    pub received: BTreeMap<u32, RgbdSample>,
    /// Capture to display of each pair (both tracks decoded, paired), ms.
    pub latency_ms: Vec<f64>,
    /// Each pair's wait of its first track for the second, ms.
    pub pair_wait_ms: Vec<f64>,
    /// The receiver's pairing counts.
    pub stats: depthcast_stream::RgbdStats,
    /// Achieved colour bitrate, bit/s.
    pub colour_bps: f64,
}

/// Runs the Bevy stream and writes `o.out`.
///
/// # Errors
/// No GPU adapter, or encoder, transport or file failures.
pub fn run(options: &DemoOptions) -> anyhow::Result<BevyRun> {
    std::fs::create_dir_all(&options.out)?;
    let port = free_udp_port()?;
    let url = format!("udp://127.0.0.1:{port}");
    let start = Instant::now();

    // The receiver first: it waits for the stream.
    let mut rx = DepthReceiverPlugin { url: format!("{url}?timeout=500000"), ..Default::default() }.headless_app();
    rx.update();

    let (scene, path) = match &options.scene {
        Some(file) => (file.clone(), CameraPath::Orbit),
        None => (BUILTIN_SCENE.into(), CameraPath::Walk),
    };
    let mut cfg = SceneRenderConfig::new(scene);
    (cfg.width, cfg.height, cfg.fps, cfg.path) = (options.width, options.height, f64::from(options.fps), path);
    cfg.sender = Some(DepthSenderPlugin {
        url: format!("{url}?pkt_size=1316"),
        codec: VideoCodec::H264,
        bitrate: options.bitrate,
        fps: options.fps,
        gop: GOP,
        keep_source: 64,
        encoder_threads: options.encoder_threads,
        colour: options.colour,
        depth_share: options.depth_share,
        ..Default::default()
    });
    let mut tx = SceneRenderer::new(cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let p = &options.packing;
    let settings = DepthSenderSettings {
        config: *p,
        auto: options.auto,
        probe: options.probe,
        reprobe: options.reprobe,
        reprobe_from_stream: options.reprobe_from_stream,
        ..Default::default()
    };
    tx.app_mut().insert_resource(settings);
    let camera = tx.camera();
    tx.app_mut().world_mut().entity_mut(camera).insert(DepthSender);

    let mut records: Vec<DemoFrame> = Vec::new();
    let mut source: Vec<(u32, DepthImage)> = Vec::new();
    let mut sent_colour: BTreeMap<u32, (depthcast_packing::YuvFrame, depthcast_packing::CameraBlock)> = BTreeMap::new();
    let mut received: BTreeMap<u32, RgbdSample> = BTreeMap::new();
    let (mut pair_latency, mut pair_wait) = (Vec::new(), Vec::new());
    let mut last: Option<(u32, DepthImage, DepthImage, f32, f32)> = None;
    let mut last_print = Instant::now();
    let mut seen = None;
    let mut waiting: Vec<(depthcast_packing::PackParams, DepthImage, usize, bool, f64)> = Vec::new();
    let mut costs = CostSamples::default();
    // Each re-probe round's measurement of the stream's own configuration from its packets:
    // (frames measured, whether the round began with a move).
    let mut stream_rounds: Vec<(usize, bool)> = Vec::new();
    let mut rounds_seen = 0;
    let mut step =
        |tx: &mut SceneRenderer, rx: &mut App, records: &mut Vec<DemoFrame>, source: &mut Vec<(u32, DepthImage)>| {
            let t0 = Instant::now();
            tx.app_mut().update();
            let stats = tx.app_mut().world().resource::<DepthSenderStats>();
            costs.push(t0.elapsed(), stats);
            if stats.reprobe_rounds > rounds_seen {
                rounds_seen = stats.reprobe_rounds;
                if let Some(frames) = stats.reprobe_stream_frames {
                    stream_rounds.push((frames, stats.reprobe_after_move));
                }
            }
            rx.update();
            // Copy only the frames not seen yet (not the whole ring every update).
            let sent = tx.app_mut().world().resource::<SentDepth>();
            let newest = source.last().map(|(j, _)| *j);
            for (i, img) in &sent.frames {
                if newest.is_none_or(|j| *i > j) {
                    source.push((*i, img.clone()));
                }
            }
            let newest_colour = sent_colour.last_key_value().map(|(j, _)| *j);
            for (i, yuv, camera) in &sent.colour {
                if newest_colour.is_none_or(|j| *i > j) {
                    sent_colour.insert(*i, (yuv.clone(), *camera));
                }
            }
            let d = rx.world().resource::<ReceivedDepth>();
            if let Some(params) = d.params
                && seen != Some((params.frame_index, d.received_unix_us))
            {
                seen = Some((params.frame_index, d.received_unix_us));
                if d.paired
                    && let (Some(colour), Some(camera)) = (&d.colour, d.camera)
                {
                    let depth = d.depth.clone();
                    received.insert(params.frame_index, RgbdSample { colour: colour.clone(), depth, camera });
                    pair_latency
                        .push(d.sent_unix_us.map_or(f64::NAN, |t| d.received_unix_us.saturating_sub(t) as f64 / 1e3));
                    pair_wait.push(d.pair_wait_ms);
                }
                let latency_ms = d.sent_unix_us.map_or(f64::NAN, |t| d.received_unix_us.saturating_sub(t) as f64 / 1e3);
                waiting.push((params, d.depth.clone(), d.bytes, d.keyframe, latency_ms));
            }
            // A frame can arrive before the sender's main world has recorded its source (the
            // stream is faster than an update): it waits for it.
            waiting.retain(|(p, depth, bytes, keyframe, latency_ms)| {
                let Some((_, src)) = source.iter().rev().find(|(i, _)| *i == p.frame_index) else { return true };
                let m = Metrics::compute(&src.view(), &depth.view(), p.near, p.far);
                records.push(DemoFrame::measured(p, *bytes, *keyframe, &m, *latency_ms));
                last = Some((p.frame_index, src.clone(), depth.clone(), p.near, p.far));
                false
            });
        };
    // A game renders at its frame rate: pace the sender at `fps` (a fast GPU would otherwise run
    // the whole demo before the encoder has opened).
    let period = Duration::from_secs_f64(1.0 / f64::from(options.fps.max(1)));
    let paced = Instant::now();
    for i in 0..options.frames {
        // The camera moves along its path: one step of it per rendered frame.
        tx.place_camera(i);
        step(&mut tx, &mut rx, &mut records, &mut source);
        if options.realtime
            && let Some(wait) = (paced + period * (i + 1)).checked_duration_since(Instant::now())
        {
            std::thread::sleep(wait);
        }
        if last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            let s = tx.app_mut().world().resource::<DepthSenderStats>().clone();
            let mae = records.last().map_or(f64::NAN, |r| r.mae_mm);
            print!(
                "\r  sent {:>4}  received {:>4}  {:>4.1} fps  {:>5.2} Mbit/s  MAE {:>6.2} mm  capture->packet {:>5.1} ms  drops {}   ",
                s.frames_sent,
                records.len(),
                s.fps,
                s.bitrate / 1e6,
                mae,
                s.latency_ms,
                s.dropped
            );
            let _ = std::io::stdout().flush();
        }
    }
    let stats = tx.app_mut().world().resource::<DepthSenderStats>().clone();
    if let Some(e) = &stats.error {
        anyhow::bail!("sender: {e}");
    }
    // Let the last frames through, then close the stream.
    for j in 0..6 {
        tx.place_camera(options.frames + j);
        step(&mut tx, &mut rx, &mut records, &mut source);
    }
    let stats = tx.app_mut().world().resource::<DepthSenderStats>().clone();
    drop(tx);
    if records.is_empty() {
        let d = rx.world().resource::<ReceivedDepth>();
        anyhow::bail!(
            "no frame arrived: the sender sent {} frames (encoder: {}; dropped {}); the receiver is {:?} \
             with {} frames, last error: {}",
            stats.frames_sent,
            stats.encoder.as_deref().unwrap_or("not open yet"),
            stats.dropped,
            d.status,
            d.frames,
            d.last_error.as_deref().unwrap_or("none")
        );
    }
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(10));
        rx.update();
    }
    let rgbd_stats = rx.world().resource::<ReceivedDepth>().rgbd.clone();
    println!();
    let wall_s = start.elapsed().as_secs_f64();
    let frames_sent = u32::try_from(stats.frames_sent).unwrap_or(u32::MAX);
    let summary = DemoSummary {
        packing: match (&stats.probe_winner, options.auto) {
            (Some(w), _) if options.reprobe => format!(
                "auto (start-up probe: {w}; re-probed: {} rounds, the last of {} pairs, {} moves, {}{}, ending with {})",
                stats.reprobe_rounds,
                stats.reprobe_round_pairs,
                stats.reprobe_switches,
                match (stats.reprobe_encode_ms, stats.reprobe_stream_ms) {
                    (Some(e), Some(s)) =>
                        format!("{e:.2} ms per pair encoded and frame, {s:.2} ms per frame of the stream's own"),
                    (Some(e), None) => format!("{e:.2} ms per pair encoded and frame"),
                    _ => "no cost yet".into(),
                },
                stream_rounds_line(&stream_rounds),
                stats.current.map_or("?".into(), |p| format!(
                    "{} P{}{}",
                    p.scheme.name(),
                    p.precision,
                    if p.half { " half" } else { "" }
                ))
            ),
            (Some(w), _) => format!("auto (precision-net, start-up probe: {w})"),
            (None, true) => format!("auto (precision-net), from {}", options.packing.id()),
            (None, false) => options.packing.id(),
        },
        encoder: stats.encoder.clone().unwrap_or_default(),
        url,
        width: options.width,
        height: options.height,
        frames_sent,
        frames_received: records.len(),
        target_bps: if options.colour {
            (options.bitrate as f64 * f64::from(options.depth_share)).round() as u64
        } else {
            options.bitrate
        },
        achieved_bps: stats.bitrate,
        mean_mae_mm: 0.0,
        mean_p99_mm: 0.0,
        median_latency_ms: 0.0,
        wall_s,
        sender_costs: Some(costs.summary()),
        probe_winner: stats.probe_winner.clone(),
    };
    let summary = write_outputs(&options.out, records, summary)?;
    if let Some((i, src, received, near, far)) = last {
        images::side_by_side(&options.out.join("side_by_side.png"), &src, &received, near, far)?;
        println!("  side by side: frame {i}");
    }
    if let Some(c) = &summary.sender_costs {
        print_costs(c);
    }
    let source: Vec<(u32, DepthImage)> = source
        .into_iter()
        .map(|(i, mut img)| {
            for z in &mut img.data {
                if !z.is_finite() {
                    *z = 0.0;
                }
            }
            (i, img)
        })
        .collect();
    let rgbd = options.colour.then(|| {
        let depth_of: BTreeMap<u32, &DepthImage> = source.iter().map(|(i, d)| (*i, d)).collect();
        let sent = sent_colour
            .into_iter()
            .filter_map(|(i, (colour, camera))| {
                let depth = (*depth_of.get(&i)?).clone();
                Some((i, RgbdSample { colour, depth, camera }))
            })
            .collect();
        RgbdRun {
            sent,
            received,
            latency_ms: pair_latency,
            pair_wait_ms: pair_wait,
            stats: rgbd_stats,
            colour_bps: stats.colour_bitrate.unwrap_or(0.0),
        }
    });
    let source_indices = source.iter().map(|(i, _)| *i).collect();
    Ok(BevyRun { summary, source: source.into_iter().map(|(_, d)| d).collect(), source_indices, rgbd })
}

/// Per-frame samples of the sender's costs, taken when a new frame was sent.
#[derive(Default)]
struct CostSamples {
    sent: u64,
    update_ms: Vec<f64>,
    capture_gpu_ms: Vec<f64>,
    pack_gpu_ms: Vec<f64>,
    readback_copy_us: Vec<f64>,
    readback_wait_ms: Vec<f64>,
    predict_us: Vec<f64>,
    policy_us: Vec<f64>,
    queue_ms: Vec<f64>,
    encode_ms: Vec<f64>,
    latency_ms: Vec<f64>,
}

impl CostSamples {
    fn push(&mut self, update: Duration, s: &DepthSenderStats) {
        self.update_ms.push(update.as_secs_f64() * 1e3);
        if s.frames_sent == self.sent {
            return;
        }
        self.sent = s.frames_sent;
        self.capture_gpu_ms.extend(s.capture_gpu_ms);
        self.pack_gpu_ms.extend(s.pack_gpu_ms);
        self.readback_copy_us.push(s.readback_copy_us);
        self.readback_wait_ms.push(s.readback_ms);
        self.predict_us.push(s.predict_us);
        self.policy_us.push(s.policy_us);
        self.queue_ms.push(s.queue_ms);
        self.encode_ms.push(s.encode_ms);
        self.latency_ms.push(s.latency_ms);
    }

    fn summary(&self) -> SenderCosts {
        let m = |v: &[f64]| depthcast_sweep::analysis::median(v.iter().copied());
        // GPU times: none where the adapter has no timestamp queries.
        let gpu = |v: &[f64]| Some(m(v)).filter(|x| !x.is_nan());
        SenderCosts {
            frames: self.encode_ms.len(),
            app_update_ms: m(&self.update_ms),
            capture_gpu_ms: gpu(&self.capture_gpu_ms),
            pack_gpu_ms: gpu(&self.pack_gpu_ms),
            readback_copy_us: m(&self.readback_copy_us),
            readback_wait_ms: m(&self.readback_wait_ms),
            predict_us: m(&self.predict_us),
            policy_us: m(&self.policy_us),
            queue_ms: m(&self.queue_ms),
            encode_ms: m(&self.encode_ms),
            capture_to_packet_ms: m(&self.latency_ms),
        }
    }
}

/// The demo's keyframe interval (the re-probe's rounds are as long).
const GOP: u32 = 30;

/// ", the stream's own from its packets: ..." for the summary's packing line: how many rounds
/// measured the stream's own configuration from its packets over their whole GOP, of those
/// that did not begin with a move (the frames before the reopened encoder's first are not the
/// new configuration's), and the fewest frames any round measured; empty when none did.
fn stream_rounds_line(rounds: &[(usize, bool)]) -> String {
    let Some(fewest) = rounds.iter().map(|r| r.0).min() else { return String::new() };
    let plain: Vec<usize> = rounds.iter().filter(|r| !r.1).map(|r| r.0).collect();
    let whole = plain.iter().filter(|&&f| f == GOP as usize).count();
    format!(
        ", the stream's own from its packets in {} rounds: {whole} of {} not begun by a move over all {GOP} frames, \
         fewest {fewest}",
        rounds.len(),
        plain.len()
    )
}

fn print_costs(c: &SenderCosts) {
    let gpu =
        |v: Option<f64>| v.map_or_else(|| "n/a (no timestamp queries)".to_string(), |ms| format!("{ms:.3} ms GPU"));
    println!("  sender per frame (medians of {} frames):", c.frames);
    println!("    app update (render, capture, pack, readback, policy)  {:>8.1} ms", c.app_update_ms);
    println!("    capture (linearise depth)                               {}", gpu(c.capture_gpu_ms));
    println!("    pack (WGSL)                                             {}", gpu(c.pack_gpu_ms));
    println!("    readback: copy out of the mapped buffer                 {:>8.1} us", c.readback_copy_us);
    println!("    readback: capture until the planes are on the CPU       {:>8.1} ms", c.readback_wait_ms);
    println!("    predict (precision-net features + int8 MLP)             {:>8.1} us", c.predict_us);
    println!("    policy (range, settings)                                {:>8.1} us", c.policy_us);
    println!("    encoder queue wait                                      {:>8.1} ms", c.queue_ms);
    println!("    encode + send                                           {:>8.2} ms", c.encode_ms);
    println!("    capture to last packet                                  {:>8.1} ms", c.capture_to_packet_ms);
}
