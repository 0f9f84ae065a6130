//! # depthcast-demo
//!
//! The end-to-end demo behind `depthcast demo`: a sender and a receiver in one process over
//! loopback UDP (MPEG-TS), colour and depth in one stream with the packing parameters and the
//! camera in-band, live stats, and a `demo-out/` folder with pictures, per-frame CSV and a
//! summary.
//!
//! The main stream ([`bevy_stream::run`]) renders the built-in room with Bevy and goes through the
//! sender and receiver plugins as an RGB-D stream; [`rgbd`] measures what a player sees when the
//! received frames are reprojected to newer camera poses. The comparison streams ([`run`]) pack
//! depth on the CPU: either the frames the Bevy stream captured (so both see the same depth) or
//! the procedural scene of [`depthcast_packing::testdata::game_scene`]. No files are needed.

pub mod bevy_stream;
mod images;
pub mod rgbd;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use depthcast_codec::{EncoderSettings, VideoCodec};
use depthcast_packing::{DepthImage, Metrics, testdata};
use depthcast_stream::{DepthEncoder, DepthReceiver, FrameMeta, ReceiverConfig, unix_us};
use serde::Serialize;

use depthcast_packing::PackingConfig;

/// Settings of a demo run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Depth map width.
    pub width: u32,
    /// Depth map height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Frames to send.
    pub frames: u32,
    /// Target bitrate, bit/s: of the depth, or with [`Self::colour`] of colour and depth together.
    pub bitrate: u64,
    /// Bevy stream: send the rendered colour beside the depth (an RGB-D stream).
    pub colour: bool,
    /// With [`Self::colour`]: the depth's share of [`Self::bitrate`].
    pub depth_share: f32,
    /// Packing configuration.
    pub packing: PackingConfig,
    /// Output folder.
    pub out: PathBuf,
    /// Pace frames in real time (otherwise as fast as possible).
    pub realtime: bool,
    /// Bevy stream: let precision-net choose the packing per frame (the sender's `auto`), starting
    /// from `packing`.
    pub auto: bool,
    /// Bevy stream: software encoder threads (0: the sender's default, one per five million pixels).
    pub encoder_threads: u32,
    /// Bevy stream, with `auto`: run the sender's start-up probe first (real encodes of the
    /// network's shortlist and 8-bit luma over the first 15 frames; the stream starts after it).
    pub probe: bool,
    /// Bevy stream, with `auto` and `probe`: the sender's keyframe re-probe (its `reprobe`: the
    /// probe's configurations measured again over each GOP as it is captured, the stream moving
    /// to the best at keyframes; depth-only streams).
    pub reprobe: bool,
    /// Bevy stream, with `reprobe`: measure the stream's own configuration from its packets
    /// (the sender's `reprobe_from_stream`) rather than by an encode in each round.
    pub reprobe_from_stream: bool,
    /// Bevy stream: a glTF scene (orbited) instead of the built-in room (walked).
    pub scene: Option<PathBuf>,
    /// Source frames (for example those the Bevy stream captured); `None`: the procedural scene.
    pub source: Option<std::sync::Arc<Vec<DepthImage>>>,
}

/// One received frame's record (a row of `frames.csv`).
#[derive(Debug, Clone, Serialize)]
pub struct DemoFrame {
    /// Frame index (from the in-band parameters).
    pub frame: u32,
    /// Encoded size in bytes.
    pub bytes: usize,
    /// Whether the demuxer flagged a keyframe.
    pub keyframe: bool,
    /// Precision used.
    pub precision: u8,
    /// Mean absolute error, mm.
    pub mae_mm: f64,
    /// 99th percentile absolute error, mm.
    pub p99_mm: f64,
    /// Largest absolute error, mm.
    pub max_mm: f64,
    /// Validity confusions.
    pub invalid_flips: u64,
    /// Sender pack+encode start to receiver unpack end, ms (same process, same clock).
    pub latency_ms: f64,
}

impl DemoFrame {
    /// The record of a received frame with parameters `params`, measured as `metrics`.
    pub fn measured(
        params: &depthcast_packing::PackParams,
        bytes: usize,
        keyframe: bool,
        metrics: &Metrics,
        latency_ms: f64,
    ) -> DemoFrame {
        DemoFrame {
            frame: params.frame_index,
            bytes,
            keyframe,
            precision: params.precision,
            mae_mm: metrics.mae * 1e3,
            p99_mm: metrics.p99 * 1e3,
            max_mm: metrics.max * 1e3,
            invalid_flips: metrics.valid_to_invalid + metrics.invalid_to_valid,
            latency_ms,
        }
    }
}

/// What the demo measured.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// Packing configuration id.
    pub packing: String,
    /// Encoder that ran.
    pub encoder: String,
    /// URL used.
    pub url: String,
    /// Size.
    pub width: u32,
    /// Size.
    pub height: u32,
    /// Frames sent.
    pub frames_sent: u32,
    /// Frames received with valid in-band parameters.
    pub frames_received: usize,
    /// Target bitrate, bit/s.
    pub target_bps: u64,
    /// Achieved bitrate, bit/s.
    pub achieved_bps: f64,
    /// Mean of per-frame MAE, mm.
    pub mean_mae_mm: f64,
    /// Mean of per-frame p99 error, mm.
    pub mean_p99_mm: f64,
    /// Median latency, ms.
    pub median_latency_ms: f64,
    /// Wall time, s.
    pub wall_s: f64,
    /// Where the sender's time went per frame (Bevy stream only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_costs: Option<SenderCosts>,
    /// The start-up probe's winner (Bevy stream with `auto` and `probe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_winner: Option<String>,
}

/// Medians over the frames sent of the sender's per-frame costs ([`DepthSenderStats`] sampled
/// whenever a frame was sent). GPU times are `None` where the adapter has no timestamp queries.
///
/// [`DepthSenderStats`]: depthcast_plugin::DepthSenderStats
#[derive(Debug, Clone, Default, Serialize)]
pub struct SenderCosts {
    /// Frames sampled.
    pub frames: usize,
    /// The sender app's whole update (render, capture, pack, readback, policy), ms.
    pub app_update_ms: f64,
    /// Capture: GPU time of the depth linearisation pass, ms.
    pub capture_gpu_ms: Option<f64>,
    /// Pack: GPU time of the packing pass, ms.
    pub pack_gpu_ms: Option<f64>,
    /// Readback: CPU time copying the packed planes from the mapped buffer, µs.
    pub readback_copy_us: f64,
    /// Capture until the packed planes were on the CPU (render, GPU, map wait), ms.
    pub readback_wait_ms: f64,
    /// Predict: precision-net features + inference, µs (0 with a fixed configuration).
    pub predict_us: f64,
    /// The sender's other main-world work (range, settings), µs.
    pub policy_us: f64,
    /// Wait in the encoder queue, ms.
    pub queue_ms: f64,
    /// Encode + send, ms.
    pub encode_ms: f64,
    /// Capture to the last packet sent, ms.
    pub capture_to_packet_ms: f64,
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// What a CPU-packed stream produced.
pub struct CpuRun {
    /// The summary (also written to `out/summary.json`).
    pub summary: DemoSummary,
    /// The received depth by frame index (metres, 0 = invalid).
    pub received: BTreeMap<u32, DepthImage>,
}

/// Runs a depth stream packed on the CPU and writes `out/`.
///
/// # Errors
/// Encoder, transport or file failures.
pub fn run(options: &DemoOptions) -> anyhow::Result<CpuRun> {
    std::fs::create_dir_all(&options.out)?;
    let port = free_udp_port()?;
    let url = format!("udp://127.0.0.1:{port}");
    let (w, h) = (options.width, options.height);
    let fps = options.fps;
    let source = options.source.clone();
    let frames =
        source.as_ref().map_or(options.frames, |s| options.frames.min(u32::try_from(s.len()).unwrap_or(u32::MAX)));
    let depth_at = move |i: u32| match &source {
        Some(s) => s[i as usize].clone(),
        None => testdata::game_scene(w, h, i as f32 / fps as f32),
    };
    // Range: the scene's own depths over the whole clip (the sender knows its scene).
    let (near, far) = match &options.source {
        Some(s) => s
            .iter()
            .filter_map(|f| depthcast_packing::tight_range(&f.view(), 0.15))
            .fold(None, |acc: Option<(f32, f32)>, (lo, hi)| {
                Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))))
            }),
        None => depthcast_packing::tight_range(&testdata::game_scene(w / 4, h / 4, 0.0).view(), 0.15),
    }
    .ok_or_else(|| anyhow::anyhow!("empty scene"))?;
    let mut settings = EncoderSettings::new(VideoCodec::H264, w, h);
    settings.bitrate = options.bitrate;
    settings.fps = (options.fps, 1);
    settings.regions_of_interest = options.packing.roi_high.is_some();
    // The same thread count as the sender plugin, so the baseline is encoded alike.
    settings.threads = options.encoder_threads;

    let received = Arc::new(AtomicU64::new(0));
    let records: Arc<Mutex<Vec<DemoFrame>>> = Arc::default();
    let last_images: Arc<Mutex<Option<(u32, DepthImage)>>> = Arc::default();
    let kept: Arc<Mutex<BTreeMap<u32, DepthImage>>> = Arc::default();
    let start = Instant::now();

    // Receiver first: it binds the port and waits for the stream.
    let rx_thread = {
        let (url, received, records, last_images, kept) =
            (url.clone(), received.clone(), records.clone(), last_images.clone(), kept.clone());
        let total = u64::from(frames);
        let depth_at = depth_at.clone();
        std::thread::spawn(move || -> anyhow::Result<()> {
            let config = ReceiverConfig { timeout: Duration::from_secs(5), ..ReceiverConfig::new(url) };
            let mut rx = DepthReceiver::new(config);
            // Every frame in: stop; otherwise the timeout ends a stream with losses.
            while received.load(Ordering::Relaxed) < total {
                let f = match rx.recv() {
                    Ok(Some(f)) => f,
                    Ok(None) | Err(depthcast_stream::StreamError::Timeout { .. }) => break,
                    Err(e) => return Err(e.into()),
                };
                let p = f.params;
                let src = depth_at(p.frame_index);
                let m = Metrics::compute(&src.view(), &f.depth.view(), near, far);
                let latency_ms = f.latency_ms().unwrap_or(f64::NAN);
                records.lock().expect("records").push(DemoFrame::measured(&p, f.bytes, f.keyframe, &m, latency_ms));
                received.fetch_add(1, Ordering::Relaxed);
                kept.lock().expect("kept").insert(p.frame_index, f.depth.clone());
                *last_images.lock().expect("images") = Some((p.frame_index, f.depth));
            }
            Ok(())
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    // Sender.
    let mut enc = DepthEncoder::new(settings, &options.packing, w, h, Some(&url))?;
    let encoder_name = enc.encoder().encoder_name().to_string();
    let mut last_print = Instant::now();
    for i in 0..frames {
        let due = start + Duration::from_secs_f64(0.3 + f64::from(i) / f64::from(options.fps));
        if options.realtime {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let meta =
            FrameMeta { frame_index: i, pts: Some(i64::from(i)), sent_unix_us: Some(unix_us()), ..Default::default() };
        let depth = depth_at(i);
        enc.encode(&depth.view(), &options.packing, near, far, &meta)?;
        if last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            let el = start.elapsed().as_secs_f64();
            print!(
                "\r  sent {:>4}/{}  received {:>4}  {:>5.1} fps  {:>6.2} Mbit/s   ",
                i + 1,
                frames,
                received.load(Ordering::Relaxed),
                f64::from(i + 1) / el,
                enc.stats().bytes as f64 * 8.0 / el / 1e6
            );
            let _ = std::io::stdout().flush();
        }
    }
    let mut sent_bytes = enc.stats().bytes as usize;
    sent_bytes += enc.finish()?.iter().map(|p| p.data.len()).sum::<usize>();
    rx_thread.join().map_err(|_| anyhow::anyhow!("receiver thread panicked"))??;
    println!();
    let wall_s = start.elapsed().as_secs_f64();

    let recs = records.lock().expect("records").clone();
    let summary = DemoSummary {
        packing: options.packing.id(),
        encoder: encoder_name,
        url,
        width: w,
        height: h,
        frames_sent: frames,
        frames_received: recs.len(),
        target_bps: options.bitrate,
        achieved_bps: sent_bytes as f64 * 8.0 / (f64::from(frames) / f64::from(options.fps)),
        mean_mae_mm: 0.0,
        mean_p99_mm: 0.0,
        median_latency_ms: 0.0,
        wall_s,
        sender_costs: None,
        probe_winner: None,
    };
    let summary = write_outputs(&options.out, recs, summary)?;
    if let Some((i, received)) = last_images.lock().expect("images").take() {
        let src = depth_at(i);
        images::side_by_side(&options.out.join("side_by_side.png"), &src, &received, near, far)?;
    }
    let received = std::mem::take(&mut *kept.lock().expect("kept"));
    Ok(CpuRun { summary, received })
}

/// Writes `frames.csv` and `summary.json` (the summary's means and median latency computed from
/// `recs`) and returns the completed summary.
fn write_outputs(out: &std::path::Path, mut recs: Vec<DemoFrame>, summary: DemoSummary) -> anyhow::Result<DemoSummary> {
    recs.sort_by_key(|r| r.frame);
    let mut csv = String::from("frame,bytes,keyframe,precision,mae_mm,p99_mm,max_mm,invalid_flips,latency_ms\n");
    for r in &recs {
        csv.push_str(&format!(
            "{},{},{},{},{:.4},{:.4},{:.4},{},{:.2}\n",
            r.frame,
            r.bytes,
            u8::from(r.keyframe),
            r.precision,
            r.mae_mm,
            r.p99_mm,
            r.max_mm,
            r.invalid_flips,
            r.latency_ms
        ));
    }
    std::fs::write(out.join("frames.csv"), csv)?;
    let mean = |f: fn(&DemoFrame) -> f64| depthcast_sweep::analysis::mean(recs.iter().map(f));
    let summary = DemoSummary {
        frames_received: recs.len(),
        mean_mae_mm: mean(|r| r.mae_mm),
        mean_p99_mm: mean(|r| r.p99_mm),
        median_latency_ms: depthcast_sweep::analysis::median(recs.iter().map(|r| r.latency_ms)),
        ..summary
    };
    std::fs::write(out.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    Ok(summary)
}
