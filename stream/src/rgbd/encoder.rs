//! [`RgbdEncoder`]: a colour picture and its depth per frame → two encoders (one bitrate split
//! by [`RgbdSettings::depth_share`]) → one transport with two tracks (0 colour, 1 depth), both
//! with the same presentation time and the frame's camera in-band.

use std::time::Instant;

use depthcast_codec::{
    CodecError, Container, EncodedPacket, Encoder, EncoderSettings, FrameOptions, PacketSender, Refresh, VideoCodec,
};
use depthcast_packing::{BitDepth, CameraBlock, DepthView, PackParams, PackingConfig, YuvFrame};

use crate::encoder::{DepthCore, EncodedFrame, EncoderStats, FrameMeta, send_timed};
use crate::error::Result;

/// The track of the colour in an RGB-D stream (players play the first video track).
pub const COLOUR_TRACK: usize = 0;
/// The track of the depth in an RGB-D stream.
pub const DEPTH_TRACK: usize = 1;

/// How an RGB-D stream is encoded: one total bitrate, split between colour and depth.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbdSettings {
    /// Bitrate of both tracks together, bit/s. No default.
    pub total_bitrate: u64,
    /// The depth track's share of [`RgbdSettings::total_bitrate`], in `0.01..=0.99`. Default
    /// [`RgbdSettings::DEFAULT_DEPTH_SHARE`].
    pub depth_share: f32,
    /// Codec of both tracks. Default H.264.
    pub codec: VideoCodec,
    /// Plane bit depth of the depth track (the colour track is 8-bit). Default 8.
    pub depth_bit_depth: BitDepth,
    /// Frame rate `(numerator, denominator)`. Default 30/1.
    pub fps: (u32, u32),
    /// A keyframe every this many frames, on both tracks. Default 60.
    pub gop: u32,
    /// Whether depth frames carry the high plane's region of interest. Default true.
    pub regions_of_interest: bool,
    /// Skip hardware encoders. Default false.
    pub force_software: bool,
    /// Encoder threads per track (0: [`EncoderSettings::auto_threads`]). Default 0.
    pub threads: u32,
}

impl RgbdSettings {
    /// The depth share [`RgbdSettings::new`] starts with: 30%. Measured by what a player sees
    /// (the received colour reprojected with the received depth to the poses 1–3 frames later,
    /// PSNR against the frames rendered there; H.264, 720p30, 4/8/16 Mbit/s in all), the mean
    /// over the built-in room and three scenes never used to train the precision network was
    /// 29.59 / 30.73 / 31.04 / 30.98 dB at 10 / 20 / 30 / 40% (`results/rgbd-reprojection/`).
    /// Chosen on those same scenes: no other scenes were measured.
    pub const DEFAULT_DEPTH_SHARE: f32 = 0.3;

    /// Defaults for `codec` at `total_bitrate` bit/s.
    pub fn new(codec: VideoCodec, total_bitrate: u64) -> Self {
        RgbdSettings {
            total_bitrate,
            depth_share: Self::DEFAULT_DEPTH_SHARE,
            codec,
            depth_bit_depth: BitDepth::Eight,
            fps: (30, 1),
            gop: 60,
            regions_of_interest: true,
            force_software: false,
            threads: 0,
        }
    }

    /// The depth track's bitrate, bit/s.
    pub fn depth_bitrate(&self) -> u64 {
        (self.total_bitrate as f64 * f64::from(self.depth_share)).round() as u64
    }

    /// The colour track's bitrate, bit/s (the rest of the total).
    pub fn colour_bitrate(&self) -> u64 {
        self.total_bitrate.saturating_sub(self.depth_bitrate())
    }

    /// Checks the share (the encoders check the rest).
    ///
    /// # Errors
    /// [`CodecError::InvalidSetting`] for a depth share outside `0.01..=0.99`.
    pub fn validate(&self) -> Result<()> {
        if !(0.01..=0.99).contains(&self.depth_share) {
            return Err(CodecError::InvalidSetting {
                name: "depth_share",
                value: self.depth_share.to_string(),
                allowed: "0.01 ..= 0.99 of the total bitrate".into(),
            }
            .into());
        }
        Ok(())
    }

    fn common(&self, bitrate: u64) -> EncoderSettings {
        let mut s = EncoderSettings::new(self.codec, 0, 0);
        s.bitrate = bitrate;
        s.fps = self.fps;
        s.refresh = Refresh::Gop(self.gop);
        s.force_software = self.force_software;
        s.threads = self.threads;
        s
    }

    /// The depth track's encoder settings (its frame size is set by the packing configuration).
    pub fn depth_encoder_settings(&self) -> EncoderSettings {
        let mut s = self.common(self.depth_bitrate());
        s.bit_depth = self.depth_bit_depth;
        s.regions_of_interest = self.regions_of_interest;
        s
    }

    /// The colour track's encoder settings for `width x height` pictures: 8-bit, full-range
    /// BT.709 signalled in the VUI.
    pub fn colour_encoder_settings(&self, width: u32, height: u32) -> EncoderSettings {
        let mut s = self.common(self.colour_bitrate());
        (s.width, s.height) = (width, height);
        s.full_range = true;
        s.bt709 = true;
        s
    }
}

/// What encoding one RGB-D frame did.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbdEncodedFrame {
    /// The colour track's packets (already written to the transport, if there is one).
    pub colour: Vec<EncodedPacket>,
    /// Bytes of [`RgbdEncodedFrame::colour`].
    pub colour_bytes: usize,
    /// Time encoding and sending the colour, µs.
    pub colour_encode_us: f64,
    /// The depth track's frame (packets, parameters, bytes, packing and encoding times).
    pub depth: EncodedFrame,
    /// The presentation timestamp of both tracks, in frames.
    pub pts: i64,
}

/// Totals per track.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RgbdEncoderStats {
    /// The colour track.
    pub colour: EncoderStats,
    /// The depth track.
    pub depth: EncoderStats,
}

/// An RGB-D stream's encoder: each frame's colour picture (8-bit 4:2:0, full-range BT.709, the
/// depth image's size) and depth (packed here, or on the GPU) go to two encoders whose packets
/// share one transport: track 0 the colour ([`COLOUR_TRACK`]), track 1 the depth
/// ([`DEPTH_TRACK`]), with the same presentation time. The frame's [`CameraBlock`] travels
/// in-band on both tracks. The depth side is [`crate::DepthEncoder`]'s.
///
/// ```no_run
/// use depthcast_codec::VideoCodec;
/// use depthcast_packing::{BitDepth, CameraBlock, CameraPose, Intrinsics, PackingConfig, RgbImage, testdata};
/// use depthcast_stream::{FrameMeta, RgbdEncoder, RgbdSettings};
///
/// let (w, h) = (640, 360);
/// let config = PackingConfig::vbp_roi(16, -0.4);
/// let settings = RgbdSettings::new(VideoCodec::H264, 8_000_000);
/// let mut enc = RgbdEncoder::new(&settings, &config, w, h, Some("udp://127.0.0.1:5600"))?;
/// let camera = CameraBlock { frame_index: 0, pose: CameraPose::default(), intrinsics: Intrinsics::from_fov_y(1.0, w, h, 0.1) };
/// for i in 0..90 {
///     let depth = testdata::game_scene(w, h, i as f32 / 30.0);
///     let colour = RgbImage { width: w, height: h, data: vec![128; (w * h * 3) as usize] }.to_yuv420(BitDepth::Eight);
///     let meta = FrameMeta { frame_index: i, ..Default::default() };
///     enc.encode(&colour, &depth.view(), &config, 0.5, 30.0, &meta, &camera)?;
/// }
/// enc.finish()?;
/// # Ok::<(), depthcast_stream::StreamError>(())
/// ```
pub struct RgbdEncoder {
    colour: Encoder,
    colour_stats: EncoderStats,
    depth: DepthCore,
    transport: Option<PacketSender>,
    size: (u32, u32),
    next_pts: i64,
}

impl std::fmt::Debug for RgbdEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbdEncoder")
            .field("colour", &self.colour.encoder_name())
            .field("depth", &self.depth.encoder().encoder_name())
            .field("transport", &self.transport)
            .field("size", &self.size)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl RgbdEncoder {
    /// Opens both encoders for `width x height` colour pictures and depth maps (the depth packed
    /// with `config`, which fixes the depth track's frame size) and the transport to `url` with
    /// two tracks (`None`: packets are only returned).
    ///
    /// # Errors
    /// An invalid share or settings, no usable encoder back-end, a URL that cannot carry two
    /// tracks (RTMP), or the transport failing to open.
    pub fn new(
        settings: &RgbdSettings,
        config: &PackingConfig,
        width: u32,
        height: u32,
        url: Option<&str>,
    ) -> Result<RgbdEncoder> {
        settings.validate()?;
        let global_header = url.map(Container::for_url).transpose()?.is_some_and(Container::needs_global_header);
        let mut colour_settings = settings.colour_encoder_settings(width, height);
        colour_settings.global_header = global_header;
        let mut depth_settings = settings.depth_encoder_settings();
        depth_settings.global_header = global_header;
        let colour = Encoder::new(&colour_settings)?;
        let depth = DepthCore::new(depth_settings, config, width, height)?;
        let transport = url.map(|u| PacketSender::open_tracks(u, &[&colour, depth.encoder()])).transpose()?;
        Ok(RgbdEncoder {
            colour,
            colour_stats: EncoderStats::default(),
            depth,
            transport,
            size: (width, height),
            next_pts: 0,
        })
    }

    /// The colour track's encoder.
    pub fn colour_encoder(&self) -> &Encoder {
        &self.colour
    }

    /// The depth track's encoder.
    pub fn depth_encoder(&self) -> &Encoder {
        self.depth.encoder()
    }

    /// The colour pictures' size (and the depth maps').
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The depth track's frame size (luma plane).
    pub fn depth_frame_size(&self) -> (u32, u32) {
        self.depth.frame_size()
    }

    /// Totals per track.
    pub fn stats(&self) -> RgbdEncoderStats {
        RgbdEncoderStats { colour: self.colour_stats, depth: self.depth.stats() }
    }

    /// Encodes one frame: `colour` as it is, `depth` packed with `config` over `near..far`, the
    /// `camera` (its frame index replaced by `meta.frame_index`) in-band on both tracks, the
    /// same presentation time and send time on both.
    ///
    /// # Errors
    /// A colour picture of another size or bit depth, a depth configuration of another frame
    /// size, parameters or a camera out of range, or an encoder or the transport failing.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &mut self,
        colour: &YuvFrame,
        depth: &DepthView<'_>,
        config: &PackingConfig,
        near: f32,
        far: f32,
        meta: &FrameMeta,
        camera: &CameraBlock,
    ) -> Result<RgbdEncodedFrame> {
        let (meta, camera) = self.frame_meta(meta, camera);
        let (colour, colour_encode_us) = self.encode_colour(colour, &meta, &camera)?;
        let depth = self.depth.encode(depth, config, near, far, &meta, Some(&camera))?;
        self.finish_frame(colour, colour_encode_us, depth, &meta)
    }

    /// Encodes one frame whose depth was packed elsewhere (on the GPU) with its `params`;
    /// `roi_high` is the high plane's quality offset (VBP luma only). As
    /// [`RgbdEncoder::encode`] otherwise; `params.frame_index` is replaced by `meta.frame_index`.
    ///
    /// # Errors
    /// As [`RgbdEncoder::encode`].
    pub fn encode_packed(
        &mut self,
        colour: &YuvFrame,
        packed: &YuvFrame,
        params: &PackParams,
        roi_high: Option<f32>,
        meta: &FrameMeta,
        camera: &CameraBlock,
    ) -> Result<RgbdEncodedFrame> {
        let (meta, camera) = self.frame_meta(meta, camera);
        let (colour, colour_encode_us) = self.encode_colour(colour, &meta, &camera)?;
        let depth = self.depth.encode_packed(packed, params, roi_high, &meta, Some(&camera))?;
        self.finish_frame(colour, colour_encode_us, depth, &meta)
    }

    /// Flushes both encoders (their last packets go to the transport and are returned, colour
    /// then depth) and closes the transport.
    ///
    /// # Errors
    /// An encoder or the transport failing.
    pub fn finish(mut self) -> Result<(Vec<EncodedPacket>, Vec<EncodedPacket>)> {
        let colour = self.colour.finish()?;
        self.colour_stats.bytes += colour.iter().map(|p| p.data.len() as u64).sum::<u64>();
        let depth = self.depth.finish()?;
        send_timed(self.transport.as_mut(), COLOUR_TRACK, &colour)?;
        send_timed(self.transport.as_mut(), DEPTH_TRACK, &depth)?;
        if let Some(t) = self.transport.take() {
            t.finish()?;
        }
        Ok((colour, depth))
    }

    /// The frame's metadata with one presentation time and send time for both tracks, and its
    /// camera numbered like the frame.
    fn frame_meta(&mut self, meta: &FrameMeta, camera: &CameraBlock) -> (FrameMeta, CameraBlock) {
        let pts = meta.pts.unwrap_or(self.next_pts);
        self.next_pts = pts + 1;
        let meta =
            FrameMeta { pts: Some(pts), sent_unix_us: Some(meta.sent_unix_us.unwrap_or_else(crate::unix_us)), ..*meta };
        (meta, CameraBlock { frame_index: meta.frame_index, ..*camera })
    }

    fn encode_colour(
        &mut self,
        colour: &YuvFrame,
        meta: &FrameMeta,
        camera: &CameraBlock,
    ) -> Result<(Vec<EncodedPacket>, f64)> {
        let t0 = Instant::now();
        let opts = FrameOptions {
            force_keyframe: meta.force_keyframe,
            rois: Vec::new(),
            pts: meta.pts,
            sent_unix_us: meta.sent_unix_us,
            camera: Some(*camera),
        };
        let packets = self.colour.encode_picture(colour, &opts)?;
        self.colour_stats.frames += 1;
        self.colour_stats.bytes += packets.iter().map(|p| p.data.len() as u64).sum::<u64>();
        Ok((packets, t0.elapsed().as_secs_f64() * 1e6))
    }

    /// Writes both tracks' packets, colour first.
    fn finish_frame(
        &mut self,
        colour: Vec<EncodedPacket>,
        colour_encode_us: f64,
        mut depth: EncodedFrame,
        meta: &FrameMeta,
    ) -> Result<RgbdEncodedFrame> {
        let colour_encode_us = colour_encode_us + send_timed(self.transport.as_mut(), COLOUR_TRACK, &colour)?;
        depth.encode_us += send_timed(self.transport.as_mut(), DEPTH_TRACK, &depth.packets)?;
        Ok(RgbdEncodedFrame {
            colour_bytes: colour.iter().map(|p| p.data.len()).sum(),
            colour,
            colour_encode_us,
            depth,
            pts: meta.pts.unwrap_or(0),
        })
    }
}
