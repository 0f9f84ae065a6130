//! [`DepthEncoder`]: depth (or planes already packed on the GPU) → packing → region of interest →
//! encoder with the parameters in-band → transport, with per-frame stats.

use std::time::Instant;

use depthcast_codec::{Container, EncodedPacket, Encoder, EncoderSettings, FrameOptions, PacketSender, Roi};
use depthcast_packing::{
    BitDepth, CameraBlock, DepthImage, DepthView, PackParams, Packer, PackingConfig, Scheme, VbpLayout, YuvFrame,
};

use crate::error::{Result, StreamError};

/// What a frame carries besides its planes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameMeta {
    /// The frame's index in the stream (in-band; the receiver counts gaps in it).
    pub frame_index: u32,
    /// Presentation timestamp in frames (`None`: the encoder numbers the frames itself).
    pub pts: Option<i64>,
    /// Make this frame a keyframe.
    pub force_keyframe: bool,
    /// Sender wall-clock time, µs since the UNIX epoch (in-band, for the receiver's latency;
    /// `None`: not sent).
    pub sent_unix_us: Option<u64>,
}

/// What encoding one frame did.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedFrame {
    /// The packets the encoder returned (already written to the transport, if there is one).
    /// An encoder with look-ahead may return none for a frame and several later.
    pub packets: Vec<EncodedPacket>,
    /// The frame's parameters, as sent in-band.
    pub params: PackParams,
    /// Bytes of [`EncodedFrame::packets`].
    pub bytes: usize,
    /// CPU time packing the depth, µs (0 for frames packed elsewhere).
    pub pack_us: f64,
    /// Time encoding and sending, µs.
    pub encode_us: f64,
}

/// Totals over the stream so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EncoderStats {
    /// Frames encoded.
    pub frames: u64,
    /// Bytes of every packet so far.
    pub bytes: u64,
}

/// The region of interest of a VBP-luma frame of `frame_width x frame_height` whose high plane
/// (the top half) gets quality offset `qoffset`; `None` for other schemes and layouts or without
/// an offset.
pub fn high_plane_roi(params: &PackParams, qoffset: Option<f32>, frame_width: u32, frame_height: u32) -> Option<Roi> {
    let qoffset = qoffset.filter(|_| params.scheme == Scheme::Vbp && params.layout == VbpLayout::Luma)?;
    Some(Roi { left: 0, top: 0, width: frame_width, height: frame_height / 2, qoffset })
}

/// One depth stream's encoder: packs each depth frame with its configuration (or takes planes
/// packed on the GPU), adds the high plane's region of interest, encodes with the parameters
/// in-band and, when it has a URL, writes the packets to the transport.
///
/// The frame size is fixed when the encoder opens (by the first configuration); every later
/// frame must keep it ([`StreamError::FrameSizeChanged`] otherwise).
///
/// ```no_run
/// use depthcast_codec::{EncoderSettings, VideoCodec};
/// use depthcast_packing::{BitDepth, PackingConfig, testdata};
/// use depthcast_stream::{DepthEncoder, FrameMeta};
///
/// let config = PackingConfig::vbp_roi(16, -0.4);
/// let mut settings = EncoderSettings::new(VideoCodec::H264, 0, 0);
/// settings.bitrate = 2_000_000;
/// let mut enc = DepthEncoder::new(settings, &config, 640, 360, Some("udp://127.0.0.1:5600"))?;
/// for i in 0..90 {
///     let depth = testdata::game_scene(640, 360, i as f32 / 30.0);
///     let meta = FrameMeta { frame_index: i, sent_unix_us: Some(depthcast_stream::unix_us()), ..Default::default() };
///     enc.encode(&depth.view(), &config, 0.5, 30.0, &meta)?;
/// }
/// enc.finish()?;
/// # Ok::<(), depthcast_stream::StreamError>(())
/// ```
pub struct DepthEncoder {
    core: DepthCore,
    transport: Option<PacketSender>,
    /// After [`DepthEncoder::reopen`]: the new encoder's pre-roll packets (presentation time
    /// below this) are thrown away until the new stream's first packet is out.
    reopened_at: Option<i64>,
    /// After [`DepthEncoder::reopen`]: the next frame is forced to be a keyframe.
    force_next: bool,
}

/// A depth track's encoder without its transport: packing, the high plane's region of interest,
/// the codec encoder with the parameters (and camera) in-band, stats. [`DepthEncoder`] writes
/// its packets to a transport of its own, [`crate::RgbdEncoder`] to track 1 of a shared one.
pub(crate) struct DepthCore {
    out: Output,
    packer: Packer,
    frame: YuvFrame,
}

/// The codec encoder and what it has done.
struct Output {
    encoder: Encoder,
    bits: BitDepth,
    frame_size: (u32, u32),
    stats: EncoderStats,
}

impl std::fmt::Debug for DepthEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DepthEncoder")
            .field("encoder", &self.core.out.encoder.encoder_name())
            .field("transport", &self.transport)
            .field("frame_size", &self.core.out.frame_size)
            .field("stats", &self.core.out.stats)
            .finish_non_exhaustive()
    }
}

/// A reopened encoder's pre-roll ([`DepthEncoder::reopen`]) forces a keyframe every this many
/// frames. x264's rate control learns what an I-frame costs from the I-frames it has encoded, one
/// per GOP; pre-rolled over 15 frames with one I-frame, a new encoder starved its first
/// keyframes for several GOPs (IrradianceVolume at 4 Mbit/s, 720p, a move to 8-bit VBP: 135 and
/// 16 mm at its first two keyframes against 17 and 1.1 mm in the stream that ran from the start,
/// with the same bits). Measured on the 300-frame orbit runs of `results/half-720p`, the sweep's
/// best causal policy (every move reopens) against the best fixed configuration: 1.029x with one
/// I-frame, 1.024x with one every 5 frames, 1.021x every 3 or 2 frames, which is what it would
/// score with free switching.
pub const PREROLL_KEYFRAMES_EVERY: usize = 3;

impl DepthEncoder {
    /// Opens the encoder for `width x height` depth maps packed with `config` (which fixes the
    /// frame size: `settings.width`/`height` are replaced by it), and the transport to `url`
    /// (`None`: packets are only returned). With a URL, `settings.global_header` follows the
    /// container.
    ///
    /// # Errors
    /// No usable encoder back-end, invalid settings, or the transport failing to open.
    pub fn new(
        mut settings: EncoderSettings,
        config: &PackingConfig,
        width: u32,
        height: u32,
        url: Option<&str>,
    ) -> Result<DepthEncoder> {
        if let Some(url) = url {
            settings.global_header = Container::for_url(url)?.needs_global_header();
        }
        let core = DepthCore::new(settings, config, width, height)?;
        let transport = url.map(|u| PacketSender::open(u, core.encoder())).transpose()?;
        Ok(DepthEncoder { core, transport, reopened_at: None, force_next: false })
    }

    /// Replaces the codec encoder on the same transport, for a new plane bit depth or frame size
    /// (a new `config`), as the keyframe re-probe does when a switch pays. The old encoder is
    /// flushed to the transport; the new one first encodes `preroll` (the frames just before the
    /// next one, packed with `config` over `near..far`, a keyframe every
    /// [`PREROLL_KEYFRAMES_EVERY`] of them) and throws those packets away, so its rate control
    /// has settled, for keyframes too, when the receiver sees it; the next frame (presentation time
    /// `next_pts`) is then forced to be a keyframe and starts the new stream. In-band parameters
    /// tell receivers the new packing; the codec's own headers come with the keyframe.
    ///
    /// With a transport the codec stays the transport's, and the container must carry the headers
    /// in-band (MPEG-TS and RTP: `.ts`, `udp://`, `srt://`, `tcp://`, `rtp://`; Matroska and FLV
    /// store them once); without one (packets only returned) the codec may change too. Encoders
    /// that reorder frames (B-frames) could send a decoding time back: use a preset without them
    /// (`ultrafast`). Returns the old encoder's last packets (already sent to the transport).
    ///
    /// # Errors
    /// Another codec on a transport, a container that stores its headers once, or the new
    /// encoder failing.
    pub fn reopen(
        &mut self,
        mut settings: EncoderSettings,
        config: &PackingConfig,
        (width, height): (u32, u32),
        preroll: &[DepthImage],
        (near, far): (f32, f32),
        next_pts: i64,
    ) -> Result<Vec<EncodedPacket>> {
        let codec = self.core.encoder().settings().codec;
        if settings.codec != codec && self.transport.is_some() {
            return Err(StreamError::Reopen(format!(
                "the stream is {} and a transport carries one codec; {} needs a new stream",
                codec.name(),
                settings.codec.name()
            )));
        }
        if let Some(t) = &self.transport
            && t.container().needs_global_header()
        {
            return Err(StreamError::Reopen(format!(
                "{:?} stores the codec's headers once; a new bit depth or frame size needs a new stream \
                 (MPEG-TS or RTP carry them with every keyframe)",
                t.container()
            )));
        }
        settings.global_header = self.core.encoder().settings().global_header;
        let mut core = DepthCore::new(settings, config, width, height)?;
        let first = next_pts - preroll.len() as i64;
        for (i, f) in preroll.iter().enumerate() {
            let force_keyframe = i % PREROLL_KEYFRAMES_EVERY == 0;
            let meta = FrameMeta {
                frame_index: i as u32,
                pts: Some(first + i as i64),
                force_keyframe,
                ..FrameMeta::default()
            };
            core.encode(&f.view(), config, near, far, &meta, None)?;
        }
        // The pre-roll's packets never count: the new encoder's totals go on from the old one's.
        core.out.stats = self.core.stats();
        let mut old = std::mem::replace(&mut self.core, core);
        let packets = old.finish()?;
        self.core.out.stats.bytes += packets.iter().map(|p| p.data.len() as u64).sum::<u64>();
        send_timed(self.transport.as_mut(), 0, &packets)?;
        self.reopened_at = Some(next_pts);
        self.force_next = true;
        Ok(packets)
    }

    /// The codec encoder (its name, back-end and settings).
    pub fn encoder(&self) -> &Encoder {
        self.core.encoder()
    }

    /// The frame size (luma plane) of the stream.
    pub fn frame_size(&self) -> (u32, u32) {
        self.core.frame_size()
    }

    /// The transport the packets are written to, when the encoder was given a URL (for its
    /// container, or the SDP of an `rtp://` output: [`PacketSender::sdp`]).
    pub fn transport(&self) -> Option<&PacketSender> {
        self.transport.as_ref()
    }

    /// Totals so far.
    pub fn stats(&self) -> EncoderStats {
        self.core.stats()
    }

    /// Packs `depth` with `config` over `near..far` and encodes it.
    ///
    /// # Errors
    /// A configuration of another frame size, parameters out of range, or the encoder or
    /// transport failing.
    pub fn encode(
        &mut self,
        depth: &DepthView<'_>,
        config: &PackingConfig,
        near: f32,
        far: f32,
        meta: &FrameMeta,
    ) -> Result<EncodedFrame> {
        let meta = FrameMeta { force_keyframe: meta.force_keyframe || std::mem::take(&mut self.force_next), ..*meta };
        let mut e = self.core.encode(depth, config, near, far, &meta, None)?;
        self.drop_preroll(&mut e);
        e.encode_us += send_timed(self.transport.as_mut(), 0, &e.packets)?;
        Ok(e)
    }

    /// After a reopen: drops the pre-roll's packets (and their bytes from the stats) from `e`;
    /// once a packet of the new stream has come out, nothing more is dropped.
    fn drop_preroll(&mut self, e: &mut EncodedFrame) {
        let Some(start) = self.reopened_at else { return };
        let before: usize = e.packets.iter().filter(|p| p.pts < start).map(|p| p.data.len()).sum();
        e.packets.retain(|p| p.pts >= start);
        e.bytes -= before;
        self.core.out.stats.bytes -= before as u64;
        if !e.packets.is_empty() {
            self.reopened_at = None;
        }
    }

    /// Encodes planes packed elsewhere (on the GPU) with their `params`; `roi_high` is the high
    /// plane's quality offset (used for the VBP luma layout only). `params.frame_index` is
    /// replaced by `meta.frame_index`.
    ///
    /// # Errors
    /// Planes of another frame size or bit depth, or the encoder or transport failing.
    pub fn encode_packed(
        &mut self,
        frame: &YuvFrame,
        params: &PackParams,
        roi_high: Option<f32>,
        meta: &FrameMeta,
    ) -> Result<EncodedFrame> {
        let meta = FrameMeta { force_keyframe: meta.force_keyframe || std::mem::take(&mut self.force_next), ..*meta };
        let mut e = self.core.encode_packed(frame, params, roi_high, &meta, None)?;
        self.drop_preroll(&mut e);
        e.encode_us += send_timed(self.transport.as_mut(), 0, &e.packets)?;
        Ok(e)
    }

    /// Flushes the encoder (its last packets go to the transport and are returned) and closes
    /// the transport (the container's trailer).
    ///
    /// # Errors
    /// The encoder or transport failing.
    pub fn finish(mut self) -> Result<Vec<EncodedPacket>> {
        let mut packets = self.core.finish()?;
        if let Some(start) = self.reopened_at {
            packets.retain(|p| p.pts >= start);
        }
        send_timed(self.transport.as_mut(), 0, &packets)?;
        if let Some(t) = self.transport.take() {
            t.finish()?;
        }
        Ok(packets)
    }
}

/// Writes `packets` to `track` of the transport, if there is one; returns the time it took, µs.
pub(crate) fn send_timed(transport: Option<&mut PacketSender>, track: usize, packets: &[EncodedPacket]) -> Result<f64> {
    let t0 = Instant::now();
    if let Some(t) = transport {
        for p in packets {
            t.send_track(track, p)?;
        }
    }
    Ok(t0.elapsed().as_secs_f64() * 1e6)
}

impl DepthCore {
    /// Opens the encoder for `width x height` depth maps packed with `config`, which fixes the
    /// frame size (`settings.width`/`height` are replaced by it).
    pub(crate) fn new(mut settings: EncoderSettings, config: &PackingConfig, width: u32, height: u32) -> Result<Self> {
        let frame_size = config.frame_size(width, height, settings.bit_depth);
        (settings.width, settings.height) = frame_size;
        let encoder = Encoder::new(&settings)?;
        Ok(DepthCore {
            frame: YuvFrame::new(frame_size.0, frame_size.1, settings.bit_depth),
            packer: Packer::default(),
            out: Output { encoder, bits: settings.bit_depth, frame_size, stats: EncoderStats::default() },
        })
    }

    pub(crate) fn encoder(&self) -> &Encoder {
        &self.out.encoder
    }

    pub(crate) fn frame_size(&self) -> (u32, u32) {
        self.out.frame_size
    }

    pub(crate) fn stats(&self) -> EncoderStats {
        self.out.stats
    }

    /// Packs and encodes one depth frame (packets returned, not sent).
    pub(crate) fn encode(
        &mut self,
        depth: &DepthView<'_>,
        config: &PackingConfig,
        near: f32,
        far: f32,
        meta: &FrameMeta,
        camera: Option<&CameraBlock>,
    ) -> Result<EncodedFrame> {
        let params = config.params(self.out.bits, depth.width, depth.height, near, far, meta.frame_index);
        self.out.check_size(&params)?;
        let t0 = Instant::now();
        self.packer.pack_into(depth, &params, &mut self.frame)?;
        let pack_us = t0.elapsed().as_secs_f64() * 1e6;
        let encoded = self.out.encode(&self.frame, &params, config.high_plane_qoffset(), meta, camera)?;
        Ok(EncodedFrame { pack_us, ..encoded })
    }

    /// Encodes planes packed elsewhere (packets returned, not sent).
    pub(crate) fn encode_packed(
        &mut self,
        frame: &YuvFrame,
        params: &PackParams,
        roi_high: Option<f32>,
        meta: &FrameMeta,
        camera: Option<&CameraBlock>,
    ) -> Result<EncodedFrame> {
        let params = PackParams { frame_index: meta.frame_index, ..*params };
        self.out.check_size(&params)?;
        self.out.encode(frame, &params, roi_high, meta, camera)
    }

    /// Flushes the encoder; its last packets count in the stats.
    pub(crate) fn finish(&mut self) -> Result<Vec<EncodedPacket>> {
        let packets = self.out.encoder.finish()?;
        self.out.stats.bytes += packets.iter().map(|p| p.data.len() as u64).sum::<u64>();
        Ok(packets)
    }
}

impl Output {
    fn check_size(&self, params: &PackParams) -> Result<()> {
        if params.frame_size() != self.frame_size || params.bit_depth != self.bits {
            return Err(StreamError::FrameSizeChanged {
                frame_index: params.frame_index,
                got: params.frame_size(),
                got_bits: params.bit_depth.bits(),
                want: self.frame_size,
                want_bits: self.bits.bits(),
            });
        }
        Ok(())
    }

    fn encode(
        &mut self,
        frame: &YuvFrame,
        params: &PackParams,
        roi_high: Option<f32>,
        meta: &FrameMeta,
        camera: Option<&CameraBlock>,
    ) -> Result<EncodedFrame> {
        let t0 = Instant::now();
        let (fw, fh) = self.frame_size;
        let opts = FrameOptions {
            force_keyframe: meta.force_keyframe,
            rois: high_plane_roi(params, roi_high, fw, fh).into_iter().collect(),
            pts: meta.pts,
            sent_unix_us: meta.sent_unix_us,
            camera: camera.copied(),
        };
        let packets = self.encoder.encode(frame, params, &opts)?;
        let bytes = packets.iter().map(|p| p.data.len()).sum::<usize>();
        self.stats.bytes += bytes as u64;
        self.stats.frames += 1;
        Ok(EncodedFrame { packets, params: *params, bytes, pack_us: 0.0, encode_us: t0.elapsed().as_secs_f64() * 1e6 })
    }
}
