//! [`RgbdReceiver`]: an RGB-D stream's two tracks, decoded and paired by presentation time.
//!
//! It runs on [`crate::DepthReceiver`]'s machinery (reopening, garbage, bounded waits, the same
//! counts), with a decoder per track. A frame whose partner on the other track is lost is not
//! held back for ever: it is handed out alone as soon as the other track has moved past its
//! presentation time, or after [`RgbdConfig::pair_timeout`] at the latest (checked whenever a
//! frame arrives and at every step, so within a [`ReceiverConfig::poll`] when nothing arrives),
//! and counted ([`RgbdStats::colour_only`], [`RgbdStats::depth_only`]). With
//! [`RgbdTracks::ColourOnly`] or [`RgbdTracks::DepthOnly`] the other track is not decoded. A
//! depth-only stream (one track) gives depth-only frames at once. A new connection, or a track
//! whose timestamps go back (a sender that restarted), start the pairing afresh.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use depthcast_codec::{CodecError, TrackRole};
use depthcast_packing::{CameraBlock, DepthImage, PackParams, Packer, YuvFrame};

use crate::error::Result;
use crate::receiver::{Decoded, Link, Polled, Receive, ReceivedFrame, ReceiverConfig, ReceiverStats, Step, Wanted};

/// Which tracks of an RGB-D stream to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RgbdTracks {
    /// Colour and depth, paired (the default).
    #[default]
    Both,
    /// Colour only: the depth track is not decoded.
    ColourOnly,
    /// Depth only: the colour track is not decoded.
    DepthOnly,
}

/// Where and how to receive an RGB-D stream.
#[derive(Debug, Clone)]
pub struct RgbdConfig {
    /// The URL and its waits, as for [`crate::DepthReceiver`].
    pub receiver: ReceiverConfig,
    /// The tracks to decode. Default both.
    pub tracks: RgbdTracks,
    /// Longest wait for a frame's partner on the other track (default 100 ms, three frames at
    /// 30 fps); a partner that the other track has already moved past is not waited for.
    pub pair_timeout: Duration,
}

impl RgbdConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RgbdConfig {
            receiver: ReceiverConfig::new(url),
            tracks: RgbdTracks::Both,
            pair_timeout: Duration::from_millis(100),
        }
    }
}

/// One received RGB-D frame: colour and depth of the same presentation time (either may be
/// missing when its track lost the frame, or was not decoded).
#[derive(Debug, Clone, PartialEq)]
pub struct RgbdFrame {
    /// The colour picture: 8-bit 4:2:0, full-range BT.709 codes as decoded
    /// (`RgbImage::from_yuv420` turns it into RGB).
    pub colour: Option<YuvFrame>,
    /// Linear depth in metres, 0 where invalid.
    pub depth: Option<DepthImage>,
    /// The depth's in-band packing parameters.
    pub params: Option<PackParams>,
    /// The frame's camera (from the depth track, or else the colour track).
    pub camera: Option<CameraBlock>,
    /// Presentation time in microseconds (the tracks' timestamps in one unit).
    pub pts_us: i64,
    /// The frame's index (the parameters', or else the camera's).
    pub frame_index: Option<u32>,
    /// Sender wall-clock time, µs since the UNIX epoch, when the sender put it in-band.
    pub sent_unix_us: Option<u64>,
    /// Receiver wall-clock time when the frame was handed out (paired), µs since the UNIX epoch.
    pub received_unix_us: u64,
    /// How long the first of the two tracks' frames waited for the other, ms.
    pub pair_wait_ms: f64,
    /// Encoded bytes of the colour and the depth frame.
    pub bytes: (usize, usize),
    /// Whether the demuxer flagged the depth frame's packet as a keyframe (false without depth).
    pub keyframe: bool,
}

impl RgbdFrame {
    /// Send to hand-out time of the pair in milliseconds (both tracks decoded, paired), when the
    /// sender sent its clock (same-machine or synchronised clocks).
    pub fn latency_ms(&self) -> Option<f64> {
        self.sent_unix_us.map(|t| self.received_unix_us.saturating_sub(t) as f64 / 1e3)
    }

    /// Whether it has both colour and depth.
    pub fn is_paired(&self) -> bool {
        self.colour.is_some() && self.depth.is_some()
    }
}

/// What one step of the receiver brought.
#[derive(Debug, Clone, PartialEq)]
pub enum RgbdEvent {
    /// A frame.
    Frame(Box<RgbdFrame>),
    /// A stream was opened (the first, or again after it ended or broke).
    Connected,
    /// Nothing usable yet; the receiver goes on. Says why.
    Waiting(String),
    /// The stream ended for good.
    Ended,
}

/// The pairing's counts (the receiving's are [`RgbdReceiver::receiver_stats`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RgbdStats {
    /// Frames handed out.
    pub frames: u64,
    /// Of those, with colour and depth.
    pub paired: u64,
    /// With colour only (the depth was lost or not decoded).
    pub colour_only: u64,
    /// With depth only (the colour was lost or not decoded, or the stream has no colour).
    pub depth_only: u64,
    /// Of the unpaired ones, those released by [`RgbdConfig::pair_timeout`] (the others because
    /// the other track had moved past them, or the stream ended).
    pub pair_timeouts: u64,
    /// Colour frames decoded.
    pub colour_frames: u64,
    /// Depth frames decoded and unpacked.
    pub depth_frames: u64,
    /// Of those, maps sent at half size ([`depthcast_packing::PackParams::half`]) rebuilt with
    /// their colour frame as the upsampler's guide (the colour had arrived first); the others
    /// at half size were rebuilt without one.
    pub depth_guided: u64,
    /// Frames that arrived after their presentation time had been handed out (dropped).
    pub late: u64,
    /// Times a track's timestamps went back (a sender that restarted): the pairing started
    /// afresh.
    pub restarts: u64,
    /// Colour frames whose camera block was corrupt (the frame is kept, without the camera).
    pub camera_invalid: u64,
    /// Sum of [`RgbdFrame::pair_wait_ms`] over the frames handed out: what pairing cost.
    pub pair_wait_ms_total: f64,
    /// Longest [`RgbdFrame::pair_wait_ms`].
    pub pair_wait_ms_max: f64,
}

impl RgbdStats {
    /// Mean wait for the partner, ms.
    pub fn pair_wait_ms_mean(&self) -> f64 {
        if self.frames == 0 { 0.0 } else { self.pair_wait_ms_total / self.frames as f64 }
    }
}

/// A colour frame waiting for its depth.
#[derive(Debug)]
struct ColourPart {
    frame: YuvFrame,
    camera: Option<CameraBlock>,
    sent_unix_us: Option<u64>,
    bytes: usize,
}

/// One presentation time's frames so far.
#[derive(Debug)]
struct Pending {
    colour: Option<ColourPart>,
    depth: Option<ReceivedFrame>,
    since: Instant,
}

/// The pairing state: frames by presentation time (µs), handed out in order.
#[derive(Debug)]
struct Pairing {
    pending: BTreeMap<i64, Pending>,
    /// Newest presentation time seen per track (colour, depth).
    newest: [Option<i64>; 2],
    /// Presentation time of the last frame handed out.
    last_out: Option<i64>,
    ready: VecDeque<RgbdFrame>,
    stats: RgbdStats,
    timeout: Duration,
}

/// A timestamp in microseconds (as it is without a time base).
fn to_us(pts: i64, time_base: (i32, i32)) -> i64 {
    depthcast_codec::pts_to_us(pts, time_base).unwrap_or(pts)
}

impl Pairing {
    /// Hands out what is pending and forgets the timeline: a new stream starts.
    fn restart(&mut self, want: [bool; 2]) {
        self.settle(want, true);
        self.newest = [None, None];
        self.last_out = None;
    }

    fn arrive(&mut self, want: [bool; 2], key: i64, colour: Option<ColourPart>, depth: Option<ReceivedFrame>) {
        let slot = usize::from(colour.is_none());
        if self.newest[slot].is_some_and(|n| key < n) {
            // A track's timestamps only rise: this one went back, so its sender restarted.
            self.stats.restarts += 1;
            self.restart(want);
        } else if self.last_out.is_some_and(|l| key <= l) {
            self.stats.late += 1;
            return;
        }
        self.newest[slot] = Some(self.newest[slot].map_or(key, |n| n.max(key)));
        let p = self.pending.entry(key).or_insert_with(|| Pending { colour: None, depth: None, since: Instant::now() });
        if colour.is_some() {
            p.colour = colour;
        }
        if depth.is_some() {
            p.depth = depth;
        }
    }

    /// Hands out, in presentation order, every frame that is complete or whose partner will not
    /// come (the other track moved past it, the wait ran out, or `flush`).
    fn settle(&mut self, want: [bool; 2], flush: bool) {
        while let Some(entry) = self.pending.first_entry() {
            let key = *entry.key();
            let p = entry.get();
            let missing = [want[0] && p.colour.is_none(), want[1] && p.depth.is_none()];
            let passed = (0..2).any(|t| missing[t] && self.newest[t].is_some_and(|n| n > key));
            let timed_out = p.since.elapsed() >= self.timeout;
            if !(missing == [false, false] || passed || timed_out || flush) {
                break;
            }
            let p = entry.remove();
            if missing != [false, false] && !passed && !flush {
                self.stats.pair_timeouts += 1;
            }
            self.emit(key, p);
        }
    }

    fn emit(&mut self, key: i64, p: Pending) {
        let wait_ms = p.since.elapsed().as_secs_f64() * 1e3;
        let s = &mut self.stats;
        s.frames += 1;
        match (&p.colour, &p.depth) {
            (Some(_), Some(_)) => s.paired += 1,
            (Some(_), None) => s.colour_only += 1,
            (None, _) => s.depth_only += 1,
        }
        s.pair_wait_ms_total += wait_ms;
        s.pair_wait_ms_max = s.pair_wait_ms_max.max(wait_ms);
        self.last_out = Some(key);
        let depth = p.depth;
        let colour = p.colour;
        let camera = depth.as_ref().and_then(|d| d.camera).or(colour.as_ref().and_then(|c| c.camera));
        let keyframe = depth.as_ref().is_some_and(|d| d.keyframe);
        self.ready.push_back(RgbdFrame {
            params: depth.as_ref().map(|d| d.params),
            frame_index: depth.as_ref().map(|d| d.params.frame_index).or(camera.map(|c| c.frame_index)),
            sent_unix_us: depth.as_ref().and_then(|d| d.sent_unix_us).or(colour.as_ref().and_then(|c| c.sent_unix_us)),
            bytes: (colour.as_ref().map_or(0, |c| c.bytes), depth.as_ref().map_or(0, |d| d.bytes)),
            camera,
            colour: colour.map(|c| c.frame),
            depth: depth.map(|d| d.depth),
            pts_us: key,
            received_unix_us: crate::unix_us(),
            pair_wait_ms: wait_ms,
            keyframe,
        });
    }
}

/// Receives an RGB-D stream: colour and depth paired by presentation time, with the camera and
/// send time. See the module docs for what happens to a frame whose partner is lost.
///
/// ```no_run
/// use depthcast_stream::{RgbdConfig, RgbdReceiver};
///
/// let mut rx = RgbdReceiver::new(RgbdConfig::new("udp://127.0.0.1:5600"));
/// while let Some(f) = rx.recv()? {
///     println!("frame {:?}: colour {}, depth {}, camera {:?}", f.frame_index, f.colour.is_some(), f.depth.is_some(), f.camera);
/// }
/// println!("{:?}", rx.stats());
/// # Ok::<(), depthcast_stream::StreamError>(())
/// ```
pub struct RgbdReceiver {
    link: Link,
    tracks: RgbdTracks,
    packer: Packer,
    pairing: Pairing,
    /// Frame index of the last frame handed out, for [`ReceiverStats::gaps`].
    last_index: Option<u32>,
}

impl std::fmt::Debug for RgbdReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbdReceiver")
            .field("config", &self.link.config)
            .field("tracks", &self.tracks)
            .field("connected", &self.link.connected())
            .field("stats", &self.pairing.stats)
            .finish_non_exhaustive()
    }
}

impl RgbdReceiver {
    /// A receiver for `config` (nothing is opened before the first call).
    pub fn new(config: RgbdConfig) -> Self {
        let wanted =
            Wanted { colour: config.tracks != RgbdTracks::DepthOnly, depth: config.tracks != RgbdTracks::ColourOnly };
        RgbdReceiver {
            link: Link::new(config.receiver, wanted),
            tracks: config.tracks,
            packer: Packer::default(),
            pairing: Pairing {
                pending: BTreeMap::new(),
                newest: [None, None],
                last_out: None,
                ready: VecDeque::new(),
                stats: RgbdStats::default(),
                timeout: config.pair_timeout,
            },
            last_index: None,
        }
    }

    /// The pairing's counts.
    pub fn stats(&self) -> &RgbdStats {
        &self.pairing.stats
    }

    /// The receiving's counts (connections, bytes, decode errors, parameters dropped; `frames`
    /// counts the frames handed out, `gaps` the forward jumps of their frame index).
    pub fn receiver_stats(&self) -> &ReceiverStats {
        &self.link.stats
    }

    /// The next frame: `Ok(None)` once the stream has ended for good.
    ///
    /// # Errors
    /// [`crate::StreamError::Timeout`] when no frame arrived within [`ReceiverConfig::timeout`]
    /// (the receiver can be called again); a file that cannot be opened or read.
    pub fn recv(&mut self) -> Result<Option<RgbdFrame>> {
        crate::receiver::recv(self)
    }

    /// Counts a frame handed out in [`ReceiverStats::frames`], and forward jumps of the frame
    /// index in [`ReceiverStats::gaps`], as [`crate::DepthReceiver`] does.
    fn count(&mut self, f: RgbdFrame) -> RgbdFrame {
        let stats = &mut self.link.stats;
        stats.frames += 1;
        if let Some(i) = f.frame_index {
            if let Some(prev) = self.last_index
                && i > prev
            {
                stats.gaps += u64::from(i - prev - 1);
            }
            self.last_index = Some(i);
        }
        f
    }

    /// The tracks expected in a frame: colour (when decoded and the stream has it), depth.
    fn want(&self) -> [bool; 2] {
        [self.tracks != RgbdTracks::DepthOnly && self.link.has_colour, self.tracks != RgbdTracks::ColourOnly]
    }

    /// One step: returns within about [`ReceiverConfig::poll`] (plus a frame's decode).
    ///
    /// # Errors
    /// A file that cannot be opened or read (live URLs are retried instead).
    pub fn next_event(&mut self) -> Result<RgbdEvent> {
        let want = self.want();
        self.pairing.settle(want, self.link.ended);
        if let Some(f) = self.pairing.ready.pop_front() {
            return Ok(RgbdEvent::Frame(Box::new(self.count(f))));
        }
        let (pairing, packer) = (&mut self.pairing, &mut self.packer);
        let step = self.link.step(&mut |d, stats| {
            arrive(pairing, want, packer, stats, d);
            pairing.settle(want, false);
            !pairing.ready.is_empty()
        })?;
        let want = self.want();
        match step {
            // A new connection may be a new sender, whose timestamps start again.
            Step::Connected => self.pairing.restart(want),
            _ => self.pairing.settle(want, matches!(step, Step::Ended)),
        }
        if let Some(f) = self.pairing.ready.pop_front() {
            return Ok(RgbdEvent::Frame(Box::new(self.count(f))));
        }
        Ok(match step {
            Step::Connected => RgbdEvent::Connected,
            Step::Waiting(why) => RgbdEvent::Waiting(why),
            Step::Ready => RgbdEvent::Waiting("no frame yet".into()),
            Step::Ended => RgbdEvent::Ended,
        })
    }
}

/// A decoded frame of either track into the pairing.
fn arrive(pairing: &mut Pairing, want: [bool; 2], packer: &mut Packer, stats: &mut ReceiverStats, d: Decoded) {
    let key = to_us(d.frame.pts, d.time_base);
    match d.role {
        TrackRole::Colour => {
            let camera = match d.frame.camera {
                Ok((c, t)) => Some((c, t)),
                Err(CodecError::CameraMissing) => None,
                Err(e) => {
                    pairing.stats.camera_invalid += 1;
                    stats.last_error = Some(format!("colour camera: {e}"));
                    None
                }
            };
            pairing.stats.colour_frames += 1;
            let part = ColourPart {
                frame: d.frame.frame,
                camera: camera.map(|c| c.0),
                sent_unix_us: camera.and_then(|c| c.1),
                bytes: d.bytes,
            };
            pairing.arrive(want, key, Some(part), None);
        }
        TrackRole::Depth => {
            // A half-size map is rebuilt with its colour frame as the guide when that has come.
            let guide = pairing.pending.get(&key).and_then(|p| p.colour.as_ref()).map(|c| &c.frame);
            let guided = guide.is_some() && d.frame.params.as_ref().is_ok_and(|p| p.params.half);
            if let Some(r) = crate::receiver::unpack_guided(packer, stats, d, guide) {
                pairing.stats.depth_frames += 1;
                pairing.stats.depth_guided += u64::from(guided);
                pairing.arrive(want, key, None, Some(r));
            }
        }
        TrackRole::Other => {}
    }
}

impl Receive for RgbdReceiver {
    type Frame = RgbdFrame;

    fn link(&mut self) -> &mut Link {
        &mut self.link
    }

    fn poll_step(&mut self) -> Result<Polled<RgbdFrame>> {
        Ok(match self.next_event()? {
            RgbdEvent::Frame(f) => Polled::Frame(*f),
            RgbdEvent::Ended => Polled::Ended,
            RgbdEvent::Connected | RgbdEvent::Waiting(_) => Polled::Pending,
        })
    }
}
