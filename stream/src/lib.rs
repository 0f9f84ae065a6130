//! # depthcast-stream
//!
//! The one depthcast pipeline, used by every sender and receiver (the Bevy plugins, the
//! `depthcast` CLI, the demo and the sweep). It sits on `depthcast-packing` (the math),
//! `depthcast-codec` (FFmpeg and transports) and `depthcast-precision-net` (the predictor), and
//! never on Bevy.
//!
//! | type | module | what it does |
//! |---|---|---|
//! | [`DepthEncoder`] | [`encoder`] | depth (or GPU-packed planes) → [`PackingConfig`](depthcast_packing::PackingConfig) → region of interest → encoder with in-band parameters → transport, per-frame stats |
//! | [`DepthReceiver`] | [`receiver`] | URL → demux → decode → in-band parameters → unpack → depth in metres; reopens, ignores garbage, every wait bounded |
//! | [`RgbdEncoder`] | [`rgbd::encoder`] | colour + depth → two tracks (0 colour, 1 depth) on one transport, same presentation time, camera in-band, one bitrate split by a depth share |
//! | [`RgbdReceiver`] | [`rgbd::receiver`] | both tracks decoded and paired by presentation time, a lost partner waited for within a bound (counted); colour-only and depth-only modes |
//! | [`AutoPacking`] | [`auto`] | precision-net's choice per frame, or once by the start-up probe of real encodes ([`probe_formats`]: across codecs and bit depths too) |
//! | [`Reprobe`] | [`reprobe`] | the probe across formats repeated in rounds streamed over each GOP as it is sent; at keyframes the stream moves to the best pair measured so far ([`DepthEncoder::reopen`] for a new bit depth or frame size) |
//! | [`PresetGuard`] | [`budget`] | the software encoder's preset within a real-time budget: steps down to a faster preset at a keyframe after a GOP over it |
//! | [`Receiver`] | [`caps`] | the formats (codec, bit depth) a stream may take: what the sender encodes and every receiver decodes |
//!
//! ```no_run
//! use depthcast_codec::{EncoderSettings, VideoCodec};
//! use depthcast_packing::testdata;
//! use depthcast_stream::{AutoPacking, AutoSettings, DepthEncoder, FrameMeta};
//!
//! let (w, h) = (640, 360);
//! let frames: Vec<_> = (0..30).map(|i| testdata::game_scene(w, h, i as f32 / 30.0)).collect();
//! let auto = AutoSettings { codec: VideoCodec::H264, bits: depthcast_packing::BitDepth::Eight, bitrate: 2_000_000, fps: 30.0, gop: 30 };
//! let mut settings = EncoderSettings::new(VideoCodec::H264, w, h);
//! settings.bitrate = auto.bitrate;
//! let mut chooser = AutoPacking::new(&auto, w, h)?;
//! let report = chooser.probe(&frames, 0.5, 30.0, &settings)?;
//! settings.regions_of_interest = chooser.needs_regions_of_interest(&report.winner);
//! let mut enc = DepthEncoder::new(settings, &report.winner, w, h, Some("stream.ts"))?;
//! for (i, f) in frames.iter().enumerate() {
//!     let config = chooser.choose(&f.view())?;
//!     enc.encode(&f.view(), &config, 0.5, 30.0, &FrameMeta { frame_index: i as u32, ..Default::default() })?;
//! }
//! enc.finish()?;
//! # Ok::<(), depthcast_stream::StreamError>(())
//! ```

pub mod auto;
pub mod budget;
pub mod caps;
pub mod encoder;
pub mod error;
pub mod receiver;
pub mod reprobe;
pub mod rgbd;

pub use auto::{
    AutoPacking, AutoSettings, FormatProbeReport, Move, MoveRule, PairTally, ProbeEncode, ProbeReport, ProbeSet,
    ProbedPair, Risk, probe_formats, probe_formats_among, probe_formats_encoded, unguarded,
};
pub use budget::{AUTO_PRESETS, PresetGuard, PresetStep};
pub use caps::{Receiver, stream_formats};
pub use encoder::{DepthEncoder, EncodedFrame, EncoderStats, FrameMeta, high_plane_roi};
pub use error::{FailureKind, Result, StreamError};
pub use receiver::{DepthReceiver, ReceiveEvent, ReceivedFrame, ReceiverConfig, ReceiverStats};
pub use reprobe::{
    FIT_SHARE, FailedPair, FirstRound, Keyframe, Reprobe, ReprobeSettings, RoundFrames, RoundPairs, SentPackets, Switch,
};
pub use rgbd::{
    COLOUR_TRACK, DEPTH_TRACK, RgbdConfig, RgbdEncodedFrame, RgbdEncoder, RgbdEncoderStats, RgbdEvent, RgbdFrame,
    RgbdReceiver, RgbdSettings, RgbdStats, RgbdTracks, StreamEncoder,
};

pub use depthcast_codec::unix_us;
