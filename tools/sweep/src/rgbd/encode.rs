//! The two tracks of an RGB-D stream, encoded and decoded as a receiver gets them: the colour
//! with the codec encoder (no packing), the depth through `depthcast-stream` either with the
//! automatic configuration (precision-net with the start-up probe) or with plain 8-bit luma.

use depthcast_codec::{Decoder, EncodedPacket, Encoder, FrameOptions, Refresh, VideoCodec};
use depthcast_packing::{DepthImage, PackingConfig, RgbImage};
use depthcast_stream::RgbdSettings;

use super::RgbdData;
use crate::config::{CodecConfig, RangeChoice};
use crate::encode::{RunOptions, encode_sequence_with};
use crate::predictor::{self, ProbeEncodes, Stream};

/// The colour track after decoding.
#[derive(Debug, Clone)]
pub struct ColourRun {
    /// Each frame's decoded colour as RGB ([`RgbImage::from_yuv420`]); `None` where the frame
    /// did not come back.
    pub frames: Vec<Option<RgbImage>>,
    /// Encoded size of each frame in bits.
    pub bits: Vec<u64>,
}

/// The settings of both tracks at `total` bit/s with `depth_share` of it for the depth: the
/// product's split ([`RgbdSettings`]) with the sweep's encoder options (software, preset,
/// keyframe interval, threads).
pub fn rgbd_settings(total: u64, depth_share: f64, fps: f64, opts: &RunOptions) -> RgbdSettings {
    let mut s = RgbdSettings::new(VideoCodec::H264, total);
    s.depth_share = depth_share as f32;
    s.fps = ((fps * 1000.0).round() as u32, 1000);
    s.gop = opts.gop;
    s.force_software = opts.force_software;
    s.threads = opts.threads;
    s
}

/// Encodes every colour frame of `seq` at the colour bitrate of `settings` (H.264, 8-bit, CBR,
/// full-range BT.709, the sweep's preset and keyframe interval) as one stream and decodes it.
///
/// # Errors
/// The encoder or decoder failing.
pub fn encode_colour(seq: &RgbdData, settings: &RgbdSettings, opts: &RunOptions) -> anyhow::Result<ColourRun> {
    let (w, h) = (seq.width(), seq.height());
    // Planes of an odd-sized sequence are rounded up to even; decoding crops back.
    let mut s = settings.colour_encoder_settings(w.next_multiple_of(2), h.next_multiple_of(2));
    s.preset = opts.preset.clone();
    s.scene_cuts = opts.scene_cuts;
    s.refresh = Refresh::Gop(opts.gop);
    let n = seq.colour.len();
    let mut enc = Encoder::new(&s)?;
    let mut dec = Decoder::new(settings.codec)?;
    let mut run = ColourRun { frames: vec![None; n], bits: vec![0; n] };
    let handle = |pkts: Vec<EncodedPacket>, dec: &mut Decoder, run: &mut ColourRun| -> anyhow::Result<()> {
        for p in pkts {
            if let Some(b) = usize::try_from(p.pts).ok().and_then(|i| run.bits.get_mut(i)) {
                *b = 8 * p.data.len() as u64;
            }
            for d in dec.decode(&p.data, Some(p.pts))?.into_iter().flatten() {
                if let Some(slot) = usize::try_from(d.pts).ok().and_then(|i| run.frames.get_mut(i)) {
                    *slot = Some(RgbImage::from_yuv420(&d.frame, w, h));
                }
            }
        }
        Ok(())
    };
    for (i, c) in seq.colour.iter().enumerate() {
        let opts = FrameOptions { pts: Some(i as i64), camera: Some(seq.cameras[i]), ..FrameOptions::default() };
        let pkts = enc.encode_picture(c, &opts)?;
        handle(pkts, &mut dec, &mut run)?;
    }
    let pkts = enc.finish()?;
    handle(pkts, &mut dec, &mut run)?;
    dec.send_eof()?;
    while let Ok(Some(d)) = dec.receive_frame() {
        if let Some(slot) = usize::try_from(d.pts).ok().and_then(|i| run.frames.get_mut(i)) {
            *slot = Some(RgbImage::from_yuv420(&d.frame, w, h));
        }
    }
    Ok(run)
}

/// How the depth track is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthMethod {
    /// depthcast's automatic configuration: precision-net's start-up probe (as `depthcast send
    /// --auto --probe`), its winner for the whole stream.
    Auto,
    /// Plain 8-bit luma (`luma-P8-lin`), the baseline.
    Luma8,
}

/// The depth track after decoding and unpacking.
#[derive(Debug, Clone)]
pub struct DepthRun {
    /// The configuration that carried the stream.
    pub config: PackingConfig,
    /// What the probe measured (configuration id, mean MAE in mm over its frames), for
    /// [`DepthMethod::Auto`].
    pub probe: Vec<(String, f64)>,
    /// Each frame's depth as the receiver unpacks it (metres; all invalid where the frame did
    /// not come back).
    pub frames: Vec<DepthImage>,
    /// Whether each frame came back.
    pub received: Vec<bool>,
    /// Encoded size of each frame in bits.
    pub bits: Vec<u64>,
    /// Each frame's errors against the source over the pixels valid in the sequence range (NaN
    /// errors where lost).
    pub metrics: Vec<depthcast_packing::Metrics>,
}

/// Encodes the depth of `seq` at `bitrate` bit/s with `method` (H.264 8-bit, CBR, one range for
/// the sequence, the sweep's encoder options) as one stream, decodes and unpacks it.
///
/// # Errors
/// A probe encode, the encoder or the decoder failing.
pub fn encode_depth(seq: &RgbdData, bitrate: u64, method: DepthMethod, opts: &RunOptions) -> anyhow::Result<DepthRun> {
    let codec = CodecConfig::H264_8;
    let range = RangeChoice::Sequence;
    let (config, probe) = match method {
        DepthMethod::Luma8 => (PackingConfig::luma(codec.bits), Vec::new()),
        DepthMethod::Auto => {
            let cands = predictor::candidates();
            let stream = Stream { seq: &seq.depth, codec, bitrate, cands: &cands, gop: opts.gop as usize };
            let measured = predictor::probe(stream, ProbeEncodes { range, opts })?
                .ok_or_else(|| anyhow::anyhow!("the committed model's candidates are not its own"))?;
            let probe = measured.measured().into_iter().map(|(c, e)| (c.id(), 1e3 * e)).collect();
            (measured.winner(), probe)
        }
    };
    let (w, h) = (seq.width(), seq.height());
    let n = seq.depth.frames.len();
    let mut frames = vec![DepthImage::new(w, h); n];
    let mut received = vec![false; n];
    let recs = encode_sequence_with(
        &seq.depth,
        codec,
        bitrate,
        range,
        opts,
        &mut |_| (config, false),
        &|| {},
        &mut |i, d| {
            if let Some(slot) = frames.get_mut(i) {
                slot.data.clone_from(&d.data);
                received[i] = true;
            }
        },
    )?;
    // A lost frame keeps an all-invalid depth (0): reprojection treats it as far away.
    let bits = recs.iter().map(|r| r.bits).collect();
    let metrics = recs.iter().map(|r| r.metrics).collect();
    Ok(DepthRun { config, probe, frames, received, bits, metrics })
}
