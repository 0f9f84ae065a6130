//! [`DepthReceiver`]: URL → demux → decode → in-band parameters → unpack → depth in metres.
//!
//! The receiver survives what a network does to it: it (re)opens the URL until a stream arrives,
//! so it may start before the sender; stray or garbage data before the stream makes an open fail,
//! and it simply opens again; when a live stream ends or breaks it opens it again; the decoder
//! resynchronises at the next keyframe after lost packets. Every wait is bounded:
//! [`ReceiverConfig::poll`] bounds each call of [`DepthReceiver::next_event`], and
//! [`ReceiverConfig::timeout`] bounds [`DepthReceiver::recv`]'s wait for a valid frame.
//!
//! On an RGB-D stream (two video tracks) it decodes the depth track only. The machinery (the
//! link: opening, reading, a decoder per wanted track, the counts) is shared with
//! [`crate::RgbdReceiver`].

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use depthcast_codec::{DecodedFrame, Decoder, PacketReceiver, ReceiverOptions, TrackRole, redact_url};
use depthcast_packing::{CameraBlock, DepthImage, PackParams, Packer, YuvFrame};

use crate::error::{Result, StreamError};

/// Where and how to receive.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// `udp://`, `tcp://` (with [`ReceiverConfig::listen`]), `srt://`, `rtmp://`, or a `.ts` /
    /// `.mkv` file.
    pub url: String,
    /// For `tcp://`: listen for the sender instead of connecting (default false).
    pub listen: bool,
    /// Longest wait of one step: an open, or a read without data (default 1 s).
    pub poll: Duration,
    /// [`DepthReceiver::recv`] gives up when no valid frame arrived for this long (default 10 s).
    pub timeout: Duration,
    /// Open a live URL again when its stream ends (default true). Files end for good.
    pub reopen: bool,
}

impl ReceiverConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        ReceiverConfig {
            url: url.into(),
            listen: false,
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            reopen: true,
        }
    }

    /// Whether the URL is a network stream (anything with a scheme but `file:`), which may start
    /// late and restart, rather than a file.
    pub fn is_live(&self) -> bool {
        self.url.contains("://") && !self.url.starts_with("file:")
    }
}

/// One received, unpacked depth frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedFrame {
    /// Linear depth in metres, 0 where invalid.
    pub depth: DepthImage,
    /// The frame's in-band packing parameters.
    pub params: PackParams,
    /// The frame's in-band camera (RGB-D streams), when it carries one.
    pub camera: Option<CameraBlock>,
    /// Presentation timestamp (the stream's time base).
    pub pts: i64,
    /// Sender wall-clock time, µs since the UNIX epoch, when the sender put it in-band.
    pub sent_unix_us: Option<u64>,
    /// Receiver wall-clock time once unpacked, µs since the UNIX epoch.
    pub received_unix_us: u64,
    /// Encoded size in bytes (0 if the demuxer's packet was not matched).
    pub bytes: usize,
    /// Whether the demuxer flagged its packet as a keyframe.
    pub keyframe: bool,
}

impl ReceivedFrame {
    /// Send to unpack time in milliseconds, when the sender sent its clock (same-machine or
    /// synchronised clocks).
    pub fn latency_ms(&self) -> Option<f64> {
        self.sent_unix_us.map(|t| self.received_unix_us.saturating_sub(t) as f64 / 1e3)
    }
}

/// What one step of the receiver brought.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiveEvent {
    /// A frame.
    Frame(Box<ReceivedFrame>),
    /// A stream was opened (the first, or again after it ended or broke).
    Connected,
    /// Nothing usable yet; the receiver goes on (no stream, garbage, a stream that ended and is
    /// being reopened). Says why.
    Waiting(String),
    /// The stream ended for good (a file, or a live URL with [`ReceiverConfig::reopen`] off).
    Ended,
}

/// What the receiver has seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceiverStats {
    /// Frames unpacked.
    pub frames: u64,
    /// Frames missing between received ones (forward jumps of the in-band frame index).
    pub gaps: u64,
    /// Times a stream was opened.
    pub connections: u64,
    /// Opens that failed (no sender yet, garbage instead of a stream).
    pub failed_opens: u64,
    /// Of those, the opens that found data that was not a stream (garbage, no H.264/HEVC video).
    pub rejected_opens: u64,
    /// Decoded frames without valid in-band parameters, or whose parameters are out of range or
    /// disagree with the decoded frame (dropped): the sum of the three counts below.
    pub invalid_params: u64,
    /// Of those, frames that carry no depthcast parameters at all.
    pub params_missing: u64,
    /// Frames whose parameter block is corrupt (CRC) or out of range, or whose SEI is malformed.
    pub params_corrupt: u64,
    /// Frames whose valid parameters disagree with the decoded frame (size, bit depth).
    pub params_mismatched: u64,
    /// Packets or frames the decoder rejected.
    pub decode_errors: u64,
    /// Frames dropped as repeats of the frame just handed out (duplicated datagrams).
    pub duplicates: u64,
    /// Bytes of the packets read.
    pub bytes: u64,
    /// The last thing that went wrong.
    pub last_error: Option<String>,
}

impl ReceiverStats {
    /// Whether anything arrived: packets, opens on garbage, frames dropped for their parameters,
    /// decode errors (as opposed to nothing at all).
    pub fn data_seen(&self) -> bool {
        self.bytes > 0 || self.rejected_opens + self.invalid_params + self.decode_errors > 0
    }
}

/// Which tracks a [`Link`] decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wanted {
    /// The colour track (of a two-track stream).
    pub(crate) colour: bool,
    /// The depth track.
    pub(crate) depth: bool,
}

/// One open stream and a decoder per wanted track.
struct Connection {
    rx: PacketReceiver,
    /// By track index; `None` for tracks not wanted.
    tracks: Vec<Option<TrackDecoder>>,
}

struct TrackDecoder {
    role: TrackRole,
    dec: Decoder,
    time_base: (i32, i32),
    /// Packet size and keyframe flag by timestamp, to report them with the decoded frame.
    sizes: BTreeMap<i64, (usize, bool)>,
}

impl TrackDecoder {
    fn decoded(&mut self, frame: DecodedFrame) -> Decoded {
        let (bytes, keyframe) = self.sizes.get(&frame.pts).copied().unwrap_or((0, false));
        self.sizes = self.sizes.split_off(&frame.pts);
        Decoded { role: self.role, time_base: self.time_base, frame, bytes, keyframe }
    }
}

/// A decoded frame of a wanted track, with what the demuxer said of its packet.
pub(crate) struct Decoded {
    /// Colour or depth.
    pub(crate) role: TrackRole,
    /// The track's time base `(num, den)` (of `frame.pts`).
    pub(crate) time_base: (i32, i32),
    /// The planes, the in-band parameters and camera.
    pub(crate) frame: DecodedFrame,
    /// Encoded size in bytes (0 if the demuxer's packet was not matched).
    pub(crate) bytes: usize,
    /// Whether the demuxer flagged its packet as a keyframe.
    pub(crate) keyframe: bool,
}

/// What one [`Link::step`] did.
pub(crate) enum Step {
    /// A stream was opened.
    Connected,
    /// Nothing yet, and why.
    Waiting(String),
    /// The sink said it has something to hand out.
    Ready,
    /// The stream ended for good.
    Ended,
}

/// The receiving machinery every receiver shares ([`DepthReceiver`], [`crate::RgbdReceiver`]):
/// (re)opening the URL with bounded waits, demuxing, a decoder per wanted track, and the counts.
/// Decoded frames go to the caller's sink.
pub(crate) struct Link {
    pub(crate) config: ReceiverConfig,
    conn: Option<Connection>,
    pub(crate) stats: ReceiverStats,
    pub(crate) ended: bool,
    /// When `recv` gives up; bounds the steps it takes.
    pub(crate) deadline: Option<Instant>,
    wanted: Wanted,
    /// Whether the stream last opened has a colour track.
    pub(crate) has_colour: bool,
}

/// Shortest interval between two attempts to open the URL.
const RETRY: Duration = Duration::from_millis(100);

impl Link {
    pub(crate) fn new(config: ReceiverConfig, wanted: Wanted) -> Link {
        Link {
            config,
            conn: None,
            stats: ReceiverStats::default(),
            ended: false,
            deadline: None,
            wanted,
            has_colour: false,
        }
    }

    pub(crate) fn connected(&self) -> bool {
        self.conn.is_some()
    }

    /// One step: opens the URL, or reads packets for about [`ReceiverConfig::poll`], decoding
    /// those of wanted tracks into `sink` until it says it has something ready (returns true).
    pub(crate) fn step(&mut self, sink: &mut dyn FnMut(Decoded, &mut ReceiverStats) -> bool) -> Result<Step> {
        if self.ended {
            return Ok(Step::Ended);
        }
        let live = self.config.is_live();
        let Some(conn) = self.conn.as_mut() else {
            let attempt = Instant::now();
            // An open waits at most one poll, and not past the deadline of `recv` (at least a
            // few milliseconds, so that an open can still succeed right at the end).
            let wait = match self.deadline {
                Some(d) => self.config.poll.min(d.saturating_duration_since(attempt)).max(Duration::from_millis(20)),
                None => self.config.poll,
            };
            let opts = ReceiverOptions { timeout: Some(wait), listen: self.config.listen, ..Default::default() };
            let wanted = self.wanted;
            let opened = PacketReceiver::open(&self.config.url, &opts).and_then(|rx| {
                let tracks = (0..rx.tracks().len())
                    .map(|i| {
                        let info = rx.tracks()[i];
                        let want = match info.role {
                            TrackRole::Colour => wanted.colour,
                            TrackRole::Depth => wanted.depth,
                            TrackRole::Other => false,
                        };
                        want.then(|| {
                            let dec = rx.decoder_for(i)?;
                            Ok(TrackDecoder { role: info.role, dec, time_base: info.time_base, sizes: BTreeMap::new() })
                        })
                        .transpose()
                    })
                    .collect::<depthcast_codec::Result<Vec<_>>>()?;
                Ok(Connection { rx, tracks })
            });
            return match opened {
                Ok(conn) => {
                    self.has_colour = conn.rx.colour_track().is_some();
                    self.conn = Some(conn);
                    self.stats.connections += 1;
                    Ok(Step::Connected)
                }
                Err(e) if live => {
                    self.stats.failed_opens += 1;
                    if e.is_bad_stream() {
                        self.stats.rejected_opens += 1;
                    }
                    let why = e.to_string();
                    self.stats.last_error = Some(why.clone());
                    // An open that already waited (a UDP open waits for data) retries at once:
                    // while no socket is open a sender's datagrams are lost.
                    std::thread::sleep(RETRY.saturating_sub(attempt.elapsed()));
                    Ok(Step::Waiting(why))
                }
                Err(e) => Err(e.into()),
            };
        };
        let step = Instant::now();
        let poll = match self.deadline {
            Some(d) => self.config.poll.min(d.saturating_duration_since(step)),
            None => self.config.poll,
        };
        while step.elapsed() < poll {
            let pkt = match conn.rx.read_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(self.stream_ended(sink, "the stream ended".into())),
                Err(e) if live => return Ok(self.stream_ended(sink, e.to_string())),
                Err(e) => return Err(e.into()),
            };
            let Some(track) = conn.tracks.get_mut(pkt.track).and_then(Option::as_mut) else {
                continue;
            };
            self.stats.bytes += pkt.data.len() as u64;
            if let Some(pts) = pkt.pts {
                track.sizes.insert(pts, (pkt.data.len(), pkt.keyframe));
            }
            let outs = match track.dec.decode(&pkt.data, pkt.pts) {
                Ok(outs) => outs,
                Err(e) => {
                    self.stats.decode_errors += 1;
                    self.stats.last_error = Some(format!("decode: {e}"));
                    continue;
                }
            };
            let mut ready = false;
            for out in outs {
                match out {
                    Ok(f) => ready |= sink(track.decoded(f), &mut self.stats),
                    Err(e) => {
                        self.stats.decode_errors += 1;
                        self.stats.last_error = Some(format!("decode: {e}"));
                    }
                }
            }
            if ready {
                return Ok(Step::Ready);
            }
        }
        Ok(Step::Waiting("no valid frame yet".into()))
    }

    /// The connection ended: drain the decoders into `sink`, then reopen (live) or end.
    fn stream_ended(&mut self, sink: &mut dyn FnMut(Decoded, &mut ReceiverStats) -> bool, why: String) -> Step {
        if let Some(mut conn) = self.conn.take() {
            for track in conn.tracks.iter_mut().flatten() {
                if track.dec.send_eof().is_ok() {
                    while let Ok(Some(f)) = track.dec.receive_frame() {
                        sink(track.decoded(f), &mut self.stats);
                    }
                }
            }
        }
        if !(self.config.is_live() && self.config.reopen) {
            self.ended = true;
        }
        if self.ended { Step::Ended } else { Step::Waiting(why) }
    }
}

/// What a receiver's step gave, for [`recv`].
pub(crate) enum Polled<T> {
    /// A frame.
    Frame(T),
    /// Nothing yet (connected, waiting).
    Pending,
    /// The stream ended for good.
    Ended,
}

/// A receiver built on a [`Link`], for [`recv`].
pub(crate) trait Receive {
    /// What it hands out.
    type Frame;
    /// Its link.
    fn link(&mut self) -> &mut Link;
    /// One bounded step.
    fn poll_step(&mut self) -> Result<Polled<Self::Frame>>;
}

/// The next frame, waiting at most [`ReceiverConfig::timeout`]: the `recv` of every receiver.
pub(crate) fn recv<R: Receive>(r: &mut R) -> Result<Option<R::Frame>> {
    let start = Instant::now();
    let timeout = r.link().config.timeout;
    r.link().deadline = Some(start + timeout);
    loop {
        let polled = r.poll_step();
        if !matches!(polled, Ok(Polled::Pending)) {
            r.link().deadline = None;
        }
        match polled? {
            Polled::Frame(f) => return Ok(Some(f)),
            Polled::Ended => return Ok(None),
            Polled::Pending => {}
        }
        if start.elapsed() >= timeout {
            let link = r.link();
            link.deadline = None;
            let s = &link.stats;
            return Err(StreamError::Timeout {
                url: redact_url(&link.config.url),
                waited: start.elapsed(),
                data_seen: s.data_seen(),
                last_error: s.last_error.clone(),
            });
        }
    }
}

/// Receives one depth stream (the depth track of an RGB-D stream: its colour track is not
/// decoded). See the module docs for what it survives.
///
/// ```no_run
/// use depthcast_stream::{DepthReceiver, ReceiverConfig};
///
/// let mut rx = DepthReceiver::new(ReceiverConfig::new("udp://127.0.0.1:5600"));
/// while let Some(f) = rx.recv()? {
///     println!("frame {}: {}x{} m, {:?} ms", f.params.frame_index, f.depth.width, f.depth.height, f.latency_ms());
/// }
/// # Ok::<(), depthcast_stream::StreamError>(())
/// ```
pub struct DepthReceiver {
    link: Link,
    ready: VecDeque<ReceivedFrame>,
    packer: Packer,
    last_index: Option<u32>,
    /// Frame index and timestamp of the newest frame queued, to drop a repeat of it.
    last_queued: Option<(u32, i64)>,
}

impl std::fmt::Debug for DepthReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DepthReceiver")
            .field("config", &self.link.config)
            .field("connected", &self.link.connected())
            .field("stats", &self.link.stats)
            .finish_non_exhaustive()
    }
}

impl DepthReceiver {
    /// A receiver for `config` (nothing is opened before the first call).
    pub fn new(config: ReceiverConfig) -> Self {
        DepthReceiver {
            link: Link::new(config, Wanted { colour: false, depth: true }),
            ready: VecDeque::new(),
            packer: Packer::default(),
            last_index: None,
            last_queued: None,
        }
    }

    /// What it has seen so far.
    pub fn stats(&self) -> &ReceiverStats {
        &self.link.stats
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.link.config
    }

    /// The next frame: `Ok(None)` once the stream has ended for good (see
    /// [`ReceiveEvent::Ended`]).
    ///
    /// # Errors
    /// [`StreamError::Timeout`] when no valid frame arrived within [`ReceiverConfig::timeout`]
    /// (the receiver can be called again); a file that cannot be opened or read.
    pub fn recv(&mut self) -> Result<Option<ReceivedFrame>> {
        recv(self)
    }

    /// One step: returns within about [`ReceiverConfig::poll`] (plus one frame's decode).
    ///
    /// # Errors
    /// A file that cannot be opened or read (live URLs are retried instead).
    pub fn next_event(&mut self) -> Result<ReceiveEvent> {
        if let Some(f) = self.ready.pop_front() {
            return Ok(ReceiveEvent::Frame(Box::new(self.count(f))));
        }
        let (ready, last_queued, packer) = (&mut self.ready, &mut self.last_queued, &mut self.packer);
        let step = self.link.step(&mut |d, stats| {
            if let Some(r) = unpack(packer, stats, d) {
                queue(ready, last_queued, stats, r);
            }
            !ready.is_empty()
        })?;
        if let Some(f) = self.ready.pop_front() {
            return Ok(ReceiveEvent::Frame(Box::new(self.count(f))));
        }
        Ok(match step {
            Step::Connected => ReceiveEvent::Connected,
            Step::Waiting(why) => ReceiveEvent::Waiting(why),
            Step::Ready => ReceiveEvent::Waiting("no valid frame yet".into()),
            Step::Ended => ReceiveEvent::Ended,
        })
    }

    /// Counts a frame handed out (gaps in the frame index).
    fn count(&mut self, f: ReceivedFrame) -> ReceivedFrame {
        let i = f.params.frame_index;
        let stats = &mut self.link.stats;
        if let Some(prev) = self.last_index
            && i > prev
        {
            stats.gaps += u64::from(i - prev - 1);
        }
        self.last_index = Some(i);
        stats.frames += 1;
        f
    }
}

impl Receive for DepthReceiver {
    type Frame = ReceivedFrame;

    fn link(&mut self) -> &mut Link {
        &mut self.link
    }

    fn poll_step(&mut self) -> Result<Polled<ReceivedFrame>> {
        Ok(match self.next_event()? {
            ReceiveEvent::Frame(f) => Polled::Frame(*f),
            ReceiveEvent::Ended => Polled::Ended,
            ReceiveEvent::Connected | ReceiveEvent::Waiting(_) => Polled::Pending,
        })
    }
}

/// Queues an unpacked frame, unless it repeats the frame queued just before (same index and
/// timestamp: a duplicated datagram can make the decoder output a picture twice), which is
/// dropped and counted.
fn queue(
    ready: &mut VecDeque<ReceivedFrame>,
    last: &mut Option<(u32, i64)>,
    stats: &mut ReceiverStats,
    f: ReceivedFrame,
) {
    let key = (f.params.frame_index, f.pts);
    if *last == Some(key) {
        stats.duplicates += 1;
        return;
    }
    *last = Some(key);
    ready.push_back(f);
}

/// Unpacks a decoded depth frame with its in-band parameters; `None` (counted) when they are
/// missing or disagree with the decoded frame.
pub(crate) fn unpack(packer: &mut Packer, stats: &mut ReceiverStats, d: Decoded) -> Option<ReceivedFrame> {
    unpack_guided(packer, stats, d, None)
}

/// [`unpack`], a map sent at half size rebuilt with `guide` (the frame's colour) when given.
pub(crate) fn unpack_guided(
    packer: &mut Packer,
    stats: &mut ReceiverStats,
    d: Decoded,
    guide: Option<&YuvFrame>,
) -> Option<ReceivedFrame> {
    let f = d.frame;
    let inband = match f.params {
        Ok(p) => p,
        Err(e) => {
            stats.invalid_params += 1;
            if matches!(e, depthcast_codec::CodecError::ParamsMissing) {
                stats.params_missing += 1;
            } else {
                stats.params_corrupt += 1;
            }
            stats.last_error = Some(format!("in-band parameters: {e}"));
            return None;
        }
    };
    let params = inband.params;
    // `unpack_into` sizes the depth buffer from the parameters only once they have been
    // validated and agree with the decoded frame.
    let mut depth = DepthImage::new(1, 1);
    if let Err(e) = packer.unpack_guided_into(&f.frame, &params, guide, &mut depth) {
        stats.invalid_params += 1;
        stats.params_mismatched += 1;
        stats.last_error = Some(format!("unpack: {e}"));
        return None;
    }
    Some(ReceivedFrame {
        depth,
        params,
        camera: inband.camera,
        pts: f.pts,
        sent_unix_us: inband.sent_unix_us,
        received_unix_us: crate::unix_us(),
        bytes: d.bytes,
        keyframe: d.keyframe,
    })
}
