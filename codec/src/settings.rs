//! [`EncoderSettings`]: what to encode and how, independent of the back-end.

use depthcast_packing::BitDepth;

use crate::backend::Backend;
use crate::error::{CodecError, Result};

/// The video codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC (Main, or Main10 for 10-bit planes).
    Hevc,
    /// AV1 (Main profile, 8 or 10 bits): libsvtav1 to encode, libdav1d to decode; the in-band
    /// messages are metadata OBUs ([`crate::obu`]).
    Av1,
}

impl VideoCodec {
    /// Every codec, in the order tools list them.
    pub const ALL: [VideoCodec; 3] = [VideoCodec::H264, VideoCodec::Hevc, VideoCodec::Av1];

    /// Short lower-case name (`h264`, `hevc`, `av1`).
    pub fn name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::Hevc => "hevc",
            VideoCodec::Av1 => "av1",
        }
    }
    /// Whether frames of this codec can carry regions of interest ([`FrameOptions::rois`]). AV1
    /// cannot here: FFmpeg 5.1's libsvtav1 wrapper ignores `AV_FRAME_DATA_REGIONS_OF_INTEREST`, so
    /// the encoder refuses them ([`NO_ROI_REASON`]) and the sweep and the CLI leave them out.
    pub fn carries_regions_of_interest(self) -> bool {
        self != VideoCodec::Av1
    }

    /// Parses [`VideoCodec::name`] (also `h265`, `avc`).
    pub fn from_name(name: &str) -> Option<VideoCodec> {
        match name {
            "h264" | "avc" => Some(VideoCodec::H264),
            "hevc" | "h265" => Some(VideoCodec::Hevc),
            "av1" => Some(VideoCodec::Av1),
            _ => None,
        }
    }
}

/// Why a codec without [`VideoCodec::carries_regions_of_interest`] refuses them.
pub const NO_ROI_REASON: &str = "regions of interest with AV1 (this FFmpeg's libsvtav1 ignores them)";

/// Rate control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateControl {
    /// Constant bitrate at [`EncoderSettings::bitrate`] with a VBV buffer of
    /// [`EncoderSettings::vbv_frames`] frames (the default: low, steady latency).
    Cbr,
    /// Variable bitrate averaging [`EncoderSettings::bitrate`], peaking at `max_bitrate` bit/s.
    Vbr {
        /// Peak bitrate in bit/s.
        max_bitrate: u64,
    },
    /// Mathematically lossless (x264 `qp=0`, x265 `lossless=1`; software back-ends only).
    Lossless,
}

/// How the stream refreshes (where a receiver can join and errors stop propagating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// A keyframe every `n` frames.
    Gop(u32),
    /// Periodic intra refresh: a column of intra blocks sweeps the picture over about `n` frames,
    /// no large keyframes (x264, x265, NVENC).
    IntraRefresh(u32),
}

/// Encoder settings. [`EncoderSettings::new`] gives the low-latency defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSettings {
    /// Codec. Default H.264.
    pub codec: VideoCodec,
    /// Plane bit depth (8, or 10 for HEVC Main10 / H.264 High10). Default 8.
    pub bit_depth: BitDepth,
    /// Frame width in pixels (even). No default.
    pub width: u32,
    /// Frame height in pixels (even). No default.
    pub height: u32,
    /// Frame rate as `(numerator, denominator)` frames per second. Default 30/1.
    pub fps: (u32, u32),
    /// Target bitrate in bit/s. Default 4 Mbit/s.
    pub bitrate: u64,
    /// Rate control. Default [`RateControl::Cbr`].
    pub rate_control: RateControl,
    /// VBV buffer size in frames of the target bitrate (CBR and VBR). Default 2: a tight buffer
    /// keeps frame sizes, and so the latency, steady.
    pub vbv_frames: f32,
    /// Keyframes or intra refresh. Default a keyframe every 60 frames.
    pub refresh: Refresh,
    /// Full-range flag in the bitstream (the planes are always encoded as given). Default true.
    pub full_range: bool,
    /// Signal BT.709 primaries, transfer and matrix in the VUI (with [`EncoderSettings::full_range`]:
    /// full-range BT.709, what depthcast's colour frames are), so a standard player shows the
    /// colour track's colours right. Default false (depth planes are not colour).
    pub bt709: bool,
    /// Adaptive quantisation (x264 `aq-mode`; x265 `aq-mode` with `aq-strength=1.0`, since its
    /// ultrafast preset sets the strength to 0, which turns AQ off). Needed for regions of interest
    /// with x264 and x265 (FFmpeg maps them to AQ offsets). Default false (ROIs turn it on).
    pub adaptive_quant: bool,
    /// Whether frames will carry regions of interest (turns on adaptive quantisation where the
    /// back-end needs it). Default false.
    pub regions_of_interest: bool,
    /// Software speed preset (x264/x265 names). Default `ultrafast`.
    pub preset: String,
    /// Let libx264 and libx265 place extra keyframes at scene cuts, as their presets other than
    /// `ultrafast` do (a hard cut at 320x180 gets one at `superfast`, `veryfast` and `medium`;
    /// the test `scene_cuts.rs`). Default true. Off, keyframes come exactly every
    /// [`Refresh::Gop`] frames (and where forced): the keyframe re-probe's rounds measure GOPs
    /// that start at the stream's keyframes (`send --reprobe` turns it off). `ultrafast` places
    /// none either way (byte-identical); SVT-AV1 and hardware encoders keep their own.
    pub scene_cuts: bool,
    /// Back-ends to try, in order. Default [`Backend::DEFAULT_ORDER`].
    pub backends: Vec<Backend>,
    /// Skip hardware and use libx264/libx265 only. Default false.
    pub force_software: bool,
    /// Write SPS/PPS once in extradata instead of before every keyframe (Matroska, FLV). Set by
    /// [`crate::transport::PacketSender`]; default false (Annex B with in-band headers).
    pub global_header: bool,
    /// Encoder threads. Default 0: [`EncoderSettings::auto_threads`] (one per started five million
    /// pixels). FFmpeg's own choice (one per core) gives x264 a slice per thread under the
    /// low-latency tuning, which costs depth frames a lot of quality.
    pub threads: u32,
    /// Extra encoder options passed as given (names are validated).
    pub extra_options: Vec<(String, String)>,
}

impl EncoderSettings {
    /// The thread count the encoder opens with: [`EncoderSettings::threads`], or for 0 one per
    /// started five million pixels of the frame, within `1..=` the cores. Measured with the
    /// depthcast demo (x264 ultrafast, zerolatency, VBP luma P14 + ROI) on a 16-core host:
    /// 640x720 frames at 1 Mbit/s, MAE 1.07 mm with 1 thread, 1.48 with 2, 1.71 with 4, 2.41 with
    /// 8, 2.91 with one per core; 1920x2160 frames at 8 Mbit/s, 0.68 mm with 1 thread against
    /// 1.46..2.37 with 2..16, and one thread encodes such a frame in 11.6..14.5 ms.
    pub fn auto_threads(&self) -> u32 {
        if self.threads > 0 {
            return self.threads;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let pixels = u64::from(self.width) * u64::from(self.height);
        (pixels.div_ceil(5_000_000) as u32).clamp(1, cores.max(1))
    }

    /// Low-latency defaults for a `width x height` stream.
    pub fn new(codec: VideoCodec, width: u32, height: u32) -> Self {
        EncoderSettings {
            codec,
            bit_depth: BitDepth::Eight,
            width,
            height,
            fps: (30, 1),
            bitrate: 4_000_000,
            rate_control: RateControl::Cbr,
            vbv_frames: 2.0,
            refresh: Refresh::Gop(60),
            full_range: true,
            bt709: false,
            adaptive_quant: false,
            regions_of_interest: false,
            preset: "ultrafast".into(),
            scene_cuts: true,
            backends: Backend::DEFAULT_ORDER.to_vec(),
            force_software: false,
            global_header: false,
            threads: 0,
            extra_options: Vec::new(),
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`CodecError::InvalidSetting`] naming the first bad field and what is allowed.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, allowed: &str| {
            Err(CodecError::InvalidSetting { name, value, allowed: allowed.into() })
        };
        if self.width < 16 || self.height < 16 || self.width % 2 == 1 || self.height % 2 == 1 {
            return bad("size", format!("{}x{}", self.width, self.height), "even, at least 16x16");
        }
        if self.width > 8192 || self.height > 8192 {
            return bad("size", format!("{}x{}", self.width, self.height), "at most 8192x8192");
        }
        if self.fps.0 == 0 || self.fps.1 == 0 || self.fps.0 > 1000 * self.fps.1 {
            return bad("fps", format!("{}/{}", self.fps.0, self.fps.1), "a positive rate up to 1000 fps");
        }
        if self.rate_control != RateControl::Lossless && !(10_000..=1_000_000_000).contains(&self.bitrate) {
            return bad("bitrate", self.bitrate.to_string(), "10 kbit/s ..= 1 Gbit/s");
        }
        if let RateControl::Vbr { max_bitrate } = self.rate_control
            && max_bitrate < self.bitrate
        {
            return bad("max_bitrate", max_bitrate.to_string(), "at least the target bitrate");
        }
        if !(self.vbv_frames >= 0.5 && self.vbv_frames <= 600.0) {
            return bad("vbv_frames", self.vbv_frames.to_string(), "0.5 ..= 600");
        }
        match self.refresh {
            Refresh::Gop(n) | Refresh::IntraRefresh(n) if n == 0 || n > 100_000 => {
                return bad("refresh", n.to_string(), "1 ..= 100000 frames");
            }
            _ => {}
        }
        if self.backends.is_empty() && !self.force_software {
            return bad("backends", "[]".into(), "at least one back-end");
        }
        Ok(())
    }

    /// Frames per second as a float.
    pub fn fps_f64(&self) -> f64 {
        f64::from(self.fps.0) / f64::from(self.fps.1)
    }

    /// The back-ends that will be tried, in order.
    pub fn effective_backends(&self) -> Vec<Backend> {
        if self.force_software { vec![Backend::Software] } else { self.backends.clone() }
    }
}

/// A rectangle of the luma plane that gets a QP offset (FFmpeg's regions of interest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    /// Left edge in pixels.
    pub left: u32,
    /// Top edge in pixels.
    pub top: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Quality offset in `-1.0..=1.0`: negative spends more bits (lower QP), positive fewer.
    pub qoffset: f32,
}

/// Per-frame options of [`crate::Encoder::send_frame`].
#[derive(Debug, Clone, Default)]
pub struct FrameOptions {
    /// Make this frame a keyframe (IDR).
    pub force_keyframe: bool,
    /// Regions of interest with their QP offsets.
    pub rois: Vec<Roi>,
    /// Presentation timestamp in frame units (`1/fps`); `None` continues from the last frame.
    pub pts: Option<i64>,
    /// Sender wall-clock time to put in the SEI (microseconds since the UNIX epoch), for latency
    /// measurement at the receiver. `None` writes the current time.
    pub sent_unix_us: Option<u64>,
    /// The frame's camera, carried in-band in its own SEI message (RGB-D streams). `None`: no
    /// camera message.
    pub camera: Option<depthcast_packing::CameraBlock>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_threads_follow_the_frame_size() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let threads =
            |w, h, t| EncoderSettings { threads: t, ..EncoderSettings::new(VideoCodec::H264, w, h) }.auto_threads();
        assert_eq!(threads(640, 720, 3), 3, "an explicit count is kept");
        assert_eq!(threads(640, 720, 0), 1, "0.46 MP: one slice");
        assert_eq!(threads(1920, 2160, 0), 1, "4.1 MP (1080p VBP, tall): one slice");
        assert_eq!(threads(3840, 4320, 0), 4.min(cores), "16.6 MP: four, at most the cores");
    }
}
