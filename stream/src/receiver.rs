//! [`DepthReceiver`]: URL → demux → decode → in-band parameters → unpack → depth in metres.
//!
//! The receiver survives what a network does to it: it (re)opens the URL until a stream arrives,
//! so it may start before the sender; stray or garbage data before the stream makes an open fail,
//! and it simply opens again; when a live stream ends or breaks it opens it again; the decoder
//! resynchronises at the next keyframe after lost packets. Every wait is bounded:
//! [`ReceiverConfig::poll`] bounds each call of [`DepthReceiver::next_event`], and
//! [`ReceiverConfig::timeout`] bounds [`DepthReceiver::recv`]'s wait for a valid frame.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use depthcast_codec::{DecodedFrame, Decoder, PacketReceiver, ReceiverOptions, redact_url};
use depthcast_packing::{DepthImage, PackParams, Packer};

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

struct Connection {
    rx: PacketReceiver,
    dec: Decoder,
    /// Packet size and keyframe flag by timestamp, to report them with the decoded frame.
    sizes: BTreeMap<i64, (usize, bool)>,
}

/// Receives one depth stream. See the module docs for what it survives.
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
    config: ReceiverConfig,
    conn: Option<Connection>,
    ready: VecDeque<ReceivedFrame>,
    packer: Packer,
    stats: ReceiverStats,
    last_index: Option<u32>,
    /// Frame index and timestamp of the newest frame queued, to drop a repeat of it.
    last_queued: Option<(u32, i64)>,
    ended: bool,
    /// When [`DepthReceiver::recv`] gives up; bounds the steps it takes.
    deadline: Option<Instant>,
}

impl std::fmt::Debug for DepthReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DepthReceiver")
            .field("config", &self.config)
            .field("connected", &self.conn.is_some())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Shortest interval between two attempts to open the URL.
const RETRY: Duration = Duration::from_millis(100);

impl DepthReceiver {
    /// A receiver for `config` (nothing is opened before the first call).
    pub fn new(config: ReceiverConfig) -> Self {
        DepthReceiver {
            config,
            conn: None,
            ready: VecDeque::new(),
            packer: Packer::default(),
            stats: ReceiverStats::default(),
            last_index: None,
            last_queued: None,
            ended: false,
            deadline: None,
        }
    }

    /// What it has seen so far.
    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// The next frame: `Ok(None)` once the stream has ended for good (see
    /// [`ReceiveEvent::Ended`]).
    ///
    /// # Errors
    /// [`StreamError::Timeout`] when no valid frame arrived within [`ReceiverConfig::timeout`]
    /// (the receiver can be called again); a file that cannot be opened or read.
    pub fn recv(&mut self) -> Result<Option<ReceivedFrame>> {
        let start = Instant::now();
        self.deadline = Some(start + self.config.timeout);
        loop {
            let event = self.next_event();
            if !matches!(event, Ok(ReceiveEvent::Waiting(_) | ReceiveEvent::Connected)) {
                self.deadline = None;
            }
            match event? {
                ReceiveEvent::Frame(f) => return Ok(Some(*f)),
                ReceiveEvent::Ended => return Ok(None),
                ReceiveEvent::Connected | ReceiveEvent::Waiting(_) => {}
            }
            if start.elapsed() >= self.config.timeout {
                self.deadline = None;
                let s = &self.stats;
                return Err(StreamError::Timeout {
                    url: redact_url(&self.config.url),
                    waited: start.elapsed(),
                    data_seen: s.data_seen(),
                    last_error: s.last_error.clone(),
                });
            }
        }
    }

    /// One step: returns within about [`ReceiverConfig::poll`] (plus one frame's decode).
    ///
    /// # Errors
    /// A file that cannot be opened or read (live URLs are retried instead).
    pub fn next_event(&mut self) -> Result<ReceiveEvent> {
        if let Some(f) = self.ready.pop_front() {
            return Ok(ReceiveEvent::Frame(Box::new(self.count(f))));
        }
        if self.ended {
            return Ok(ReceiveEvent::Ended);
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
            let opened = PacketReceiver::open(&self.config.url, &opts).and_then(|rx| Ok((rx.decoder()?, rx)));
            return match opened {
                Ok((dec, rx)) => {
                    self.conn = Some(Connection { rx, dec, sizes: BTreeMap::new() });
                    self.stats.connections += 1;
                    Ok(ReceiveEvent::Connected)
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
                    Ok(ReceiveEvent::Waiting(why))
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
                Ok(None) => return Ok(self.stream_ended("the stream ended".into())),
                Err(e) if live => return Ok(self.stream_ended(e.to_string())),
                Err(e) => return Err(e.into()),
            };
            self.stats.bytes += pkt.data.len() as u64;
            if let Some(pts) = pkt.pts {
                conn.sizes.insert(pts, (pkt.data.len(), pkt.keyframe));
            }
            let outs = match conn.dec.decode(&pkt.data, pkt.pts) {
                Ok(outs) => outs,
                Err(e) => {
                    self.stats.decode_errors += 1;
                    self.stats.last_error = Some(format!("decode: {e}"));
                    continue;
                }
            };
            for out in outs {
                match out {
                    Ok(f) => {
                        let sizes = &mut conn.sizes;
                        if let Some(r) = unpack(&mut self.packer, &mut self.stats, sizes, f) {
                            queue(&mut self.ready, &mut self.last_queued, &mut self.stats, r);
                        }
                    }
                    Err(e) => {
                        self.stats.decode_errors += 1;
                        self.stats.last_error = Some(format!("decode: {e}"));
                    }
                }
            }
            if let Some(f) = self.ready.pop_front() {
                return Ok(ReceiveEvent::Frame(Box::new(self.count(f))));
            }
        }
        Ok(ReceiveEvent::Waiting("no valid frame yet".into()))
    }

    /// Counts a frame handed out (gaps in the frame index).
    fn count(&mut self, f: ReceivedFrame) -> ReceivedFrame {
        let i = f.params.frame_index;
        if let Some(prev) = self.last_index
            && i > prev
        {
            self.stats.gaps += u64::from(i - prev - 1);
        }
        self.last_index = Some(i);
        self.stats.frames += 1;
        f
    }

    /// The connection ended: drain the decoder, then reopen (live) or end.
    fn stream_ended(&mut self, why: String) -> ReceiveEvent {
        if let Some(mut conn) = self.conn.take()
            && conn.dec.send_eof().is_ok()
        {
            while let Ok(Some(f)) = conn.dec.receive_frame() {
                if let Some(r) = unpack(&mut self.packer, &mut self.stats, &mut conn.sizes, f) {
                    queue(&mut self.ready, &mut self.last_queued, &mut self.stats, r);
                }
            }
        }
        if !(self.config.is_live() && self.config.reopen) {
            self.ended = true;
        }
        match self.ready.pop_front() {
            Some(f) => ReceiveEvent::Frame(Box::new(self.count(f))),
            None if self.ended => ReceiveEvent::Ended,
            None => ReceiveEvent::Waiting(why),
        }
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

/// Unpacks a decoded frame with its in-band parameters; `None` (counted) when they are missing
/// or disagree with the decoded frame.
fn unpack(
    packer: &mut Packer,
    stats: &mut ReceiverStats,
    sizes: &mut BTreeMap<i64, (usize, bool)>,
    f: DecodedFrame,
) -> Option<ReceivedFrame> {
    let (bytes, keyframe) = sizes.get(&f.pts).copied().unwrap_or((0, false));
    *sizes = sizes.split_off(&f.pts);
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
    if let Err(e) = packer.unpack_into(&f.frame, &params, &mut depth) {
        stats.invalid_params += 1;
        stats.params_mismatched += 1;
        stats.last_error = Some(format!("unpack: {e}"));
        return None;
    }
    Some(ReceivedFrame {
        depth,
        params,
        pts: f.pts,
        sent_unix_us: inband.sent_unix_us,
        received_unix_us: crate::unix_us(),
        bytes,
        keyframe,
    })
}
