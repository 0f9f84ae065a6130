//! What a user sets: the [`DepthSender`] camera component, the plugin's static choices
//! ([`DepthSenderPlugin`]) and the runtime packing settings ([`DepthSenderSettings`]).

use bevy::prelude::*;
use depthcast_codec::{EncoderSettings, RateControl, Refresh, VideoCodec};
use depthcast_packing::{BitDepth, CameraBlock, PackingConfig, YuvFrame};
use depthcast_stream::{RgbdSettings, RoundPairs};

use crate::capture::DepthCapture;
use crate::pack::GpuPack;

/// Streams this camera's depth (one camera per app). Requires [`DepthCapture`] and [`GpuPack`]
/// (added automatically).
#[derive(Component, Debug, Default, Clone, Copy, Reflect)]
#[reflect(Component, Default, Debug, Clone)]
#[require(DepthCapture, GpuPack)]
pub struct DepthSender;

/// Static choices of the stream.
#[derive(Debug, Clone)]
pub struct DepthSenderPlugin {
    /// Where to send: `udp://`, `tcp://`, `srt://`, `rtmp://`, or a `.ts` / `.mkv` file.
    pub url: String,
    /// Video codec (default H.264).
    pub codec: VideoCodec,
    /// Plane bit depth (default 8).
    pub bit_depth: BitDepth,
    /// Target bitrate in bit/s (default 4 Mbit/s, CBR): the depth stream's, or with
    /// [`Self::colour`] the total of colour and depth.
    pub bitrate: u64,
    /// Also capture the camera's colour (on the GPU, as YUV 4:2:0) and send it as a second video
    /// track beside the depth: one transport, the same presentation time for a frame's colour and
    /// depth, its camera pose and intrinsics in-band on both (default false: depth only).
    /// RTMP carries one video track, so an RGB-D stream needs `udp://`, `tcp://`, `srt://` or a
    /// `.ts` / `.mkv` file.
    pub colour: bool,
    /// With [`Self::colour`]: the depth's share of [`Self::bitrate`] (default
    /// [`depthcast_stream::RgbdSettings::DEFAULT_DEPTH_SHARE`]); the depth configuration is chosen for the
    /// depth's bitrate.
    pub depth_share: f32,
    /// Frames per second the app renders at (default 30; sets the encoder's rate control).
    pub fps: u32,
    /// Keyframe interval in frames (default 30). With the keyframe re-probe, in captured frames:
    /// a keyframe on the first frame encoded from every `gop`-th capture after the stream's
    /// first, so that frames the encoder's queue drops, and a move that reopens the encoder a
    /// frame or two into a GOP, do not shift the keyframes after them off the re-probe's rounds.
    pub gop: u32,
    /// Packed frames that may wait for the encoder before the oldest is dropped (default 3).
    pub queue: usize,
    /// Use libx264/libx265 even when a hardware encoder is usable (default false).
    pub force_software: bool,
    /// Software encoder threads (default 0: one per started five million pixels of the encoded
    /// frame, so one up to 1080p, at most the number of cores; see
    /// `depthcast_codec::EncoderSettings::auto_threads` for why).
    pub encoder_threads: u32,
    /// Keep the newest this many source depth frames in [`SentDepth`] (default 0: none), for
    /// measuring what a receiver gets against what was sent.
    pub keep_source: usize,
    /// Time the capture and packing passes on the GPU (default true): adds Bevy's
    /// `RenderDiagnosticsPlugin` (timestamp queries, where the adapter has them) and fills
    /// `DepthSenderStats::capture_gpu_ms` and `pack_gpu_ms`.
    pub gpu_timing: bool,
}

impl Default for DepthSenderPlugin {
    fn default() -> Self {
        DepthSenderPlugin {
            url: "udp://127.0.0.1:5600".into(),
            codec: VideoCodec::H264,
            bit_depth: BitDepth::Eight,
            bitrate: 4_000_000,
            colour: false,
            depth_share: depthcast_stream::RgbdSettings::DEFAULT_DEPTH_SHARE,
            fps: 30,
            gop: 30,
            queue: 3,
            force_software: false,
            encoder_threads: 0,
            keep_source: 0,
            gpu_timing: true,
        }
    }
}

impl DepthSenderPlugin {
    /// The depth track's bitrate: [`Self::bitrate`], or its [`Self::depth_share`] with colour.
    pub fn depth_bitrate(&self) -> u64 {
        if self.colour { self.rgbd_settings().depth_bitrate() } else { self.bitrate }
    }

    /// The settings of an RGB-D stream (with [`Self::colour`]): [`Self::bitrate`] split by
    /// [`Self::depth_share`], the codec, rate and keyframe interval of the depth.
    pub fn rgbd_settings(&self) -> RgbdSettings {
        let mut s = RgbdSettings::new(self.codec, self.bitrate);
        s.depth_share = self.depth_share;
        s.depth_bit_depth = self.bit_depth;
        s.fps = (self.fps.max(1), 1);
        s.gop = self.gop.max(1);
        s.regions_of_interest = true;
        s.force_software = self.force_software;
        s.threads = self.encoder_threads;
        s
    }

    /// What precision-net's choice and the probes are told of the stream: codec, bit depth, the
    /// depth's bitrate, frame rate and keyframe interval.
    pub fn auto_settings(&self) -> depthcast_stream::AutoSettings {
        depthcast_stream::AutoSettings {
            codec: self.codec,
            bits: self.bit_depth,
            bitrate: self.depth_bitrate(),
            fps: f64::from(self.fps.max(1)),
            gop: self.gop,
        }
    }

    /// The depth encoder's settings (its frame size is set when the encoder opens): CBR at
    /// [`Self::depth_bitrate`], a keyframe every [`Self::gop`] frames, regions of interest on.
    /// The start-up probe encodes with the same settings.
    pub fn encoder_settings(&self) -> EncoderSettings {
        let mut s = EncoderSettings::new(self.codec, 0, 0);
        s.bit_depth = self.bit_depth;
        s.fps = (self.fps.max(1), 1);
        s.bitrate = self.depth_bitrate();
        s.rate_control = RateControl::Cbr;
        s.refresh = Refresh::Gop(self.gop.max(1));
        s.force_software = self.force_software;
        s.threads = self.encoder_threads;
        s.regions_of_interest = true;
        s
    }
}

/// The newest source depth frames the sender saw, by capture frame index (the stream's
/// `frame_index`), oldest first. Filled when [`DepthSenderPlugin::keep_source`] is above 0.
#[derive(Resource, Debug, Default, Clone)]
pub struct SentDepth {
    /// `(frame index, depth in metres, +inf where nothing was drawn)`.
    pub frames: std::collections::VecDeque<(u32, depthcast_packing::DepthImage)>,
    /// With [`DepthSenderPlugin::colour`]: `(frame index, colour as sent, camera)` of the newest
    /// frames sent, oldest first.
    pub colour: std::collections::VecDeque<(u32, YuvFrame, CameraBlock)>,
    pub(crate) capacity: usize,
}

/// Runtime settings: the packing configuration (changes apply from the next frame, within one
/// frame size).
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct DepthSenderSettings {
    /// The packing configuration when not `auto` (any scheme: the GPU packs them all; a triangle
    /// period outside the plugin's bit depth's range becomes the precision's default). Its region
    /// of interest applies to the VBP luma layout's high plane. A half-size one (`-half`)
    /// packs every other depth of every other row; the receiver rebuilds the full size.
    pub config: PackingConfig,
    /// Range margin: near × (1 − margin), far × (1 + margin) (default 0.1).
    pub margin: f32,
    /// Fraction of the gap closed per frame when the range narrows (default 0.1).
    pub range_alpha: f32,
    /// Let precision-net choose the configuration (default false: [`Self::config`] is used).
    /// The committed int8 model scores its candidates from each frame's features and the
    /// plugin's bitrate; the first frame fixes the frame size, later switches stay within it and
    /// happen every `gop` frames when the mean score gains the model's margin (see
    /// `depthcast_precision_net::Switcher`).
    pub auto: bool,
    /// With `auto`: the start-up probe (default true). The first
    /// `depthcast_precision_net::Probe::FRAMES` captured frames are packed on the CPU with the
    /// network's three best-scored configurations and 8-bit luma, encoded with the stream's
    /// settings side by side, decoded and measured; the best measured one carries the stream,
    /// which starts once the probe is done (the frames meanwhile are not sent). On scenes nobody
    /// trained on, the network alone was worse than the per-bitrate lookup table; with the probe
    /// it beat it (`precision-net/models/report.md`).
    pub probe: bool,
    /// With `probe`: also measure the half-size set (`PackingConfig::half_set`: luma, VBP luma
    /// −0.8 and hue sent at half width and height, rebuilt by the receiver's edge-aware upsampler),
    /// which won at 1–2 Mbit/s on scenes nobody tuned on (`results/half-720p/`). Default true:
    /// every depthcast receiver rebuilds them (`RgbdReceiver` and `DepthReceiver`, so the Bevy
    /// receiver and `recv`, and the browser page); turn it off for a receiver that does not.
    pub probe_half: bool,
    /// With `probe`: the keyframe re-probe of `depthcast send --reprobe` (default false). The
    /// start-up probe then measures the scheme set (and with `probe_half` the half-size set)
    /// in the plugin's codec and bit depth, with their bitrates, instead of the network's
    /// shortlist. While the stream runs a worker thread encodes the measured configurations
    /// over each GOP as it is captured (one core; `depthcast_stream::Reprobe`), as many as it
    /// encodes in a GOP's time (`reprobe_pairs`: the best others so far and, by turns, the next
    /// best or the one measured longest ago; the current one too, unless a thread beside it
    /// measures that from the stream's packets, `reprobe_from_stream`), and at every
    /// `gop`-th frame the stream moves to the configuration with the lowest error measured so
    /// far; each move reopens the encoder, pre-rolled, and may change the frame size (half size,
    /// the VBP luma layout). The rounds pack their encodes over the range the GPU packs the
    /// stream over at the round's start (`Reprobe::set_range`). On 300-frame test scenes at 720p `send --reprobe`'s policy came to
    /// 1.005x (orbit camera) and 0.963x (pan) of the best fixed configuration in hindsight,
    /// where the start-up probe alone was 1.17x and 1.10x (`results/half-720p/`), when its
    /// rounds keep up with the stream (the main world waits up to 33 ms at a keyframe for the
    /// round of the GOP before it; those numbers measure every configuration in every round,
    /// which at 720p takes about 14 cores of this project's 2-core machine: with fewer, the
    /// rounds measure fewer, see `results/half-720p/`). Depth-only
    /// streams over MPEG-TS or RTP only (`.ts`, `udp://`, `srt://`, `tcp://`, `rtp://`: they
    /// carry the codec's headers with every keyframe); otherwise it is off, with a warning.
    pub reprobe: bool,
    /// With `reprobe`: how many configurations each round measures. Default
    /// `RoundPairs::Fit`: as many as its worker encodes in 80% of the time the last GOP took to
    /// send (before one has, at the plugin's `fps`), from what its encodes have cost, so a
    /// renderer slower than real time gets longer rounds; `RoundPairs::Every` for every
    /// configuration whatever it costs (as the numbers above); with `reprobe_from_stream` the
    /// stream's own configuration is measured beside those encodes, not by one of them.
    pub reprobe_pairs: RoundPairs,
    /// With `reprobe`: the rounds after the first measure the stream's own configuration from
    /// the packets the encoder thread sends, decoded and measured against the captured depth of
    /// the same capture index, rather than by encoding it again (`ReprobeSettings::from_stream`,
    /// as `send --reprobe`; `results/from-stream-720p`): a decode in place of an encode, so a
    /// round of `Fit` measures one configuration more. Frames the encoder's queue dropped are
    /// left out; a frame encoded whose captured depth was dropped leaves out the frames after it
    /// up to the stream's next keyframe (`depthcast_stream::SentPackets`); after a move, frames
    /// still packed the old way are not measured as the new configuration (each packed frame
    /// carries the move it was packed for, `GpuPack::tag`). Default true.
    pub reprobe_from_stream: bool,
}

impl Default for DepthSenderSettings {
    /// VBP, luma layout, P = 16, ROI −0.4: over the 22 training scenes of precision-net the
    /// best fixed configuration in geometric mean from 8 Mbit/s (720p30) up, and within 3% of
    /// the best (−0.6) at 4 Mbit/s; the strong offset −0.8 starves the low plane from 4 Mbit/s
    /// up (`precision-net/models/report.md`). Below about 2 Mbit/s at 720p30 8-bit luma wins.
    fn default() -> Self {
        DepthSenderSettings {
            config: PackingConfig::vbp_roi(16, -0.4),
            margin: 0.1,
            range_alpha: 0.1,
            auto: false,
            probe: true,
            probe_half: true,
            reprobe: false,
            reprobe_pairs: RoundPairs::Fit,
            reprobe_from_stream: true,
        }
    }
}
