//! Inputs of a [`Relay`]: a URL read with [`PacketReceiver`] on its own thread ([`Source`]), and
//! the built-in scene encoded live in-process ([`run_synthetic`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use depthcast_codec::{EncoderSettings, PacketReceiver, ReceiverOptions, VideoCodec, redact_url};
use depthcast_packing::{PackingConfig, testdata};
use depthcast_stream::{DepthEncoder, FrameMeta};

use crate::describe::TrackSpec;
use crate::relay::{PTS_UNKNOWN, Relay};
use crate::{Result, ServeError};

/// How a URL is read.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Anything `depthcast recv` reads: a `.ts`/`.mkv` file, `udp://`, `tcp://` (with
    /// [`SourceConfig::listen`]), `srt://`, `rtmp://`.
    pub url: String,
    /// For `tcp://`: listen for the sender instead of connecting. Default false.
    pub listen: bool,
    /// Files: play again from the start when they end (timestamps keep rising). Default false:
    /// the pages get `end`.
    pub looping: bool,
    /// Files: send packets at their presentation times (real time), as a live sender would.
    /// Default true; false sends as fast as the file reads (tests).
    pub pace: bool,
    /// Live URLs: the longest wait of an open, or of a read without data, after which the URL
    /// is opened again. Default 1 s.
    pub poll: Duration,
}

impl SourceConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> SourceConfig {
        SourceConfig { url: url.into(), listen: false, looping: false, pace: true, poll: Duration::from_secs(1) }
    }

    /// Whether the URL is a network stream (reopened when it ends) rather than a file, as
    /// [`depthcast_stream::ReceiverConfig::is_live`] says.
    pub fn is_live(&self) -> bool {
        self.url.contains("://") && !self.url.starts_with("file:")
    }
}

/// A URL read into a [`Relay`] on its own thread.
#[derive(Debug)]
pub struct Source {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Source {
    /// Starts reading `config.url` into `relay`.
    ///
    /// # Errors
    /// The thread failing to start.
    pub fn start(config: SourceConfig, relay: Relay) -> std::io::Result<Source> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("depthcast-serve-input".into())
            .spawn(move || read_url(&config, &relay, &flag))?;
        Ok(Source { stop, thread: Some(thread) })
    }

    /// Whether the input is over: a file ended (without loop) or failed.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops reading (within a poll) and returns how the input ended.
    ///
    /// # Errors
    /// A file that could not be opened or read.
    pub fn stop(mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        self.join()
    }

    /// Waits for the input to end (a file without loop) and returns how it ended.
    ///
    /// # Errors
    /// As [`Source::stop`].
    pub fn join(&mut self) -> Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok(()),
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Sleeps until `until` or until `stop`, in short steps.
fn sleep_until(until: Instant, stop: &AtomicBool) {
    loop {
        let now = Instant::now();
        if now >= until || stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// `pts` in µs with `time_base`.
fn to_us(pts: Option<i64>, time_base: (i32, i32)) -> i64 {
    pts.and_then(|p| depthcast_codec::pts_to_us(p, time_base)).unwrap_or(PTS_UNKNOWN)
}

/// Reads `config.url` into `relay` until `stop`, the end of a file (without loop), or a file's
/// error.
fn read_url(config: &SourceConfig, relay: &Relay, stop: &AtomicBool) -> Result<()> {
    let live = config.is_live();
    let name = redact_url(&config.url);
    // Files: µs added to the timestamps of this pass (loops keep them rising), and pacing.
    let mut offset_us: i64 = 0;
    let mut clock: Option<(Instant, i64)> = None;
    let mut frame_us: i64 = 33_333;
    while !stop.load(Ordering::Relaxed) {
        let attempt = Instant::now();
        let opts = ReceiverOptions {
            timeout: Some(if live { config.poll } else { Duration::from_secs(10) }),
            listen: config.listen,
            ..Default::default()
        };
        let mut rx = match PacketReceiver::open(&config.url, &opts) {
            Ok(rx) => rx,
            Err(e) if live => {
                relay.set_input_error(&e.to_string());
                // As DepthReceiver: an open that already waited retries at once.
                sleep_until(attempt + Duration::from_millis(200), stop);
                continue;
            }
            Err(e) => {
                relay.end();
                return Err(e.into());
            }
        };
        let infos = rx.tracks().to_vec();
        let specs: Vec<TrackSpec> = infos
            .iter()
            .enumerate()
            .map(|(i, t)| TrackSpec {
                role: t.role,
                codec: t.codec,
                extradata: rx.extradata(i).map(<[u8]>::to_vec).unwrap_or_default(),
            })
            .collect();
        relay.set_source(&name, &specs);
        let (mut first_us, mut last_us) = (None::<i64>, None::<i64>);
        let mut prev_us: Option<i64> = None;
        while !stop.load(Ordering::Relaxed) {
            let p = match rx.read_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(_) if live => break,
                Err(e) => {
                    relay.end();
                    return Err(e.into());
                }
            };
            let Some(info) = infos.get(p.track) else { continue };
            let raw = to_us(p.pts, info.time_base);
            let mut pts_us = raw;
            if !live && raw != PTS_UNKNOWN {
                first_us.get_or_insert(raw);
                if let Some(prev) = prev_us
                    && raw > prev
                {
                    frame_us = frame_us.min(raw - prev).max(1);
                }
                prev_us = Some(raw);
                last_us = Some(last_us.map_or(raw, |l: i64| l.max(raw)));
                pts_us = raw + offset_us;
                if config.pace {
                    let (origin, origin_pts) = *clock.get_or_insert((Instant::now(), pts_us));
                    let due = origin + Duration::from_micros((pts_us - origin_pts).max(0) as u64);
                    if due + Duration::from_secs(1) < Instant::now() {
                        // Far behind (the machine stalled): start the clock again.
                        clock = Some((Instant::now(), pts_us));
                    } else {
                        sleep_until(due, stop);
                    }
                }
            }
            relay.publish(p.track, p.keyframe, pts_us, &p.data);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if !live {
            if !config.looping {
                relay.end();
                return Ok(());
            }
            if let (Some(f), Some(l)) = (first_us, last_us) {
                offset_us += l - f + frame_us;
            }
        }
    }
    Ok(())
}

/// The built-in scene, encoded live.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Depth map size. Default 640 x 360.
    pub width: u32,
    /// Depth map height. Default 360.
    pub height: u32,
    /// Frames per second. Default 30.
    pub fps: u32,
    /// Bit/s. Default 3 Mbit/s.
    pub bitrate: u64,
    /// Codec. Default H.264.
    pub codec: VideoCodec,
    /// A keyframe every this many frames. Default 30 (a page that joins waits at most 1 s... and
    /// gets at most 1 s of cache at once).
    pub gop: u32,
    /// Stop after this many frames (then `end`). Default none: until stopped.
    pub frames: Option<u64>,
    /// The packing. Default VBP, precision 16, the high plane's quality raised
    /// (`PackingConfig::vbp_roi(16, -0.4)`).
    pub packing: PackingConfig,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            width: 640,
            height: 360,
            fps: 30,
            bitrate: 3_000_000,
            codec: VideoCodec::H264,
            gop: 30,
            frames: None,
            packing: PackingConfig::vbp_roi(16, -0.4),
        }
    }
}

/// Encodes [`testdata::game_scene`] at `config.fps` (real time) with a
/// [`DepthEncoder`] (no transport) and publishes its packets into `relay` as `synthetic`, until
/// `stop` or `config.frames`.
///
/// # Errors
/// No usable encoder, or encoding failing.
pub fn run_synthetic(config: &SyntheticConfig, relay: &Relay, stop: &AtomicBool) -> Result<()> {
    let (w, h) = (config.width, config.height);
    let mut settings = EncoderSettings::new(config.codec, w, h);
    settings.bitrate = config.bitrate;
    settings.fps = (config.fps.max(1), 1);
    settings.refresh = depthcast_codec::Refresh::Gop(config.gop.max(1));
    settings.regions_of_interest = config.packing.high_plane_qoffset().is_some();
    let mut enc = DepthEncoder::new(settings, &config.packing, w, h, None).map_err(ServeError::from)?;
    relay.set_source("synthetic", &TrackSpec::from_encoders(&[enc.encoder()]));
    let period = Duration::from_secs_f64(1.0 / f64::from(config.fps.max(1)));
    let start = Instant::now();
    let mut i: u64 = 0;
    while !stop.load(Ordering::Relaxed) && config.frames.is_none_or(|n| i < n) {
        let t = i as f32 / config.fps.max(1) as f32;
        let depth = testdata::game_scene(w, h, t);
        let meta =
            FrameMeta { frame_index: i as u32, sent_unix_us: Some(depthcast_codec::unix_us()), ..Default::default() };
        let frame = enc.encode(&depth.view(), &config.packing, 0.5, 40.0, &meta)?;
        for p in &frame.packets {
            relay.publish_packet(0, p);
        }
        i += 1;
        sleep_until(start + period * i as u32, stop);
    }
    for p in &enc.finish()? {
        relay.publish_packet(0, p);
    }
    relay.end();
    Ok(())
}
