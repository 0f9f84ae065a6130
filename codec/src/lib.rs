//! # depthcast-codec
//!
//! Sends packed depth frames through real H.264/HEVC/AV1 encoders with their packing parameters
//! in-band, and gets them back: hardware encoders with a software fallback, SEI-carried
//! [`PackParams`](depthcast_packing::PackParams), full-range planes end to end, and transports
//! over libavformat (ffmpeg-next 9 over the system FFmpeg).
//!
//! | concern | module | what it owns |
//! |---|---|---|
//! | settings | [`settings`] | codec, bit depth, rate control (CBR/VBR/lossless), GOP or intra refresh, ROI |
//! | formats | [`format`] | codec + plane bit depth: which back-end encodes it, whether this FFmpeg decodes it |
//! | back-ends | [`backend`] | NVENC → VA-API → QSV → V4L2 M2M → libx264/libx265/libsvtav1, probing with reasons |
//! | encoding | [`encoder`] | planes in (no swscale), Annex B packets out with the SEI inserted |
//! | in-band params | [`sei`], [`obu`] | `user_data_unregistered` SEI build/extract (parameters, camera), NAL framing; AV1 metadata OBUs (pure Rust) |
//! | decoding | [`decoder`] | software decode, params and camera per frame, resync at keyframes |
//! | transport | [`transport`] | `.mkv`, `.ts`, `udp://`, `tcp://`, `srt://`, `rtmp://`; one track (depth) or two (colour, depth) |
//!
//! ```no_run
//! use depthcast_codec::{Decoder, Encoder, EncoderSettings, FrameOptions, VideoCodec};
//! use depthcast_packing::{pack, testdata, PackParams, Scheme};
//!
//! let depth = testdata::game_scene(320, 180, 0.0);
//! let params = PackParams::new(Scheme::Vbp, 12, 0.5, 30.0, 320, 180);
//! let frame = pack(&depth.view(), &params)?;
//! let mut enc = Encoder::new(&EncoderSettings::new(VideoCodec::H264, 320, 180))?;
//! let mut dec = Decoder::new(VideoCodec::H264)?;
//! for pkt in enc.encode(&frame, &params, &FrameOptions::default())? {
//!     for out in dec.decode(&pkt.data, Some(pkt.pts))? {
//!         let out = out?;
//!         assert_eq!(out.params?.params, params);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod backend;
pub mod decoder;
pub mod encoder;
pub mod error;
pub mod format;
mod hw;
pub mod obu;
mod planes;
mod roi;
pub mod sei;
pub mod settings;
pub mod transport;

pub use backend::{Backend, BackendStatus, probe, probe_all};
pub use decoder::{DecodedFrame, Decoder, PacketStatus};
pub use encoder::{EncodedPacket, Encoder};
pub use error::{BackendFailure, CodecError, Result};
pub use format::Format;
pub use sei::{InBand, NalFormat, SeiContent};
pub use settings::{EncoderSettings, FrameOptions, RateControl, Refresh, Roi, VideoCodec};
pub use transport::{
    Container, PacketReceiver, PacketSender, ReceivedPacket, ReceiverOptions, TrackInfo, TrackRole, has_protocol,
    redact_url,
};

/// Wall-clock time in microseconds since the UNIX epoch (0 if the clock is before it): the clock
/// of the in-band send time ([`FrameOptions::sent_unix_us`]) and of every latency depthcast
/// reports.
pub fn unix_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A timestamp in `time_base` units (`(num, den)`, as [`EncodedPacket::time_base`] and
/// [`TrackInfo::time_base`]) in microseconds, or `None` for a time base with a zero denominator.
pub fn pts_to_us(pts: i64, (num, den): (i32, i32)) -> Option<i64> {
    (den != 0).then(|| (i128::from(pts) * i128::from(num) * 1_000_000 / i128::from(den)) as i64)
}

/// Initialises FFmpeg once (network, log level). Called by every entry point; calling it again
/// is free. The log level is `error` unless `DEPTHCAST_FFMPEG_LOG=info|debug|...` says otherwise.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg_next::init();
        let level = match std::env::var("DEPTHCAST_FFMPEG_LOG").as_deref() {
            Ok("quiet") => ffmpeg_next::util::log::Level::Quiet,
            Ok("warning") => ffmpeg_next::util::log::Level::Warning,
            Ok("info") => ffmpeg_next::util::log::Level::Info,
            Ok("debug") => ffmpeg_next::util::log::Level::Debug,
            _ => ffmpeg_next::util::log::Level::Fatal,
        };
        ffmpeg_next::util::log::set_level(level);
    });
}
