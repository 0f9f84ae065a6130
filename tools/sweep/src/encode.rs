//! Encodes a whole sequence as one stream with real rate control, decodes it, unpacks every frame
//! with the parameters found in its SEI (as a receiver would), and measures each frame.

use depthcast_codec::{Decoder, EncoderSettings, Refresh};
use depthcast_packing::{DepthImage, Metrics, Packer, RangeSmoother, tight_range};
use depthcast_stream::{DepthEncoder, FrameMeta};

use super::config::{CodecConfig, PackingConfig, RangeChoice};

/// A sequence held in memory for the sweep.
#[derive(Debug, Clone)]
pub struct SeqData {
    /// Name used in outputs (folder name, or `procedural`).
    pub name: String,
    /// Frames per second.
    pub fps: f64,
    /// The frames (all the same size).
    pub frames: Vec<DepthImage>,
    /// Range of the whole sequence: `0.9 · min` .. `1.05 · max` of the valid depths. Errors are
    /// measured over pixels valid within it.
    pub near: f32,
    /// See `near`.
    pub far: f32,
}

impl SeqData {
    /// Wraps frames and computes the sequence range.
    ///
    /// # Errors
    /// No frames, frames of different sizes, or no valid depth at all.
    pub fn new(name: String, fps: f64, frames: Vec<DepthImage>) -> anyhow::Result<SeqData> {
        let first = frames.first().ok_or_else(|| anyhow::anyhow!("sequence {name} has no frames"))?;
        let (w, h) = (first.width, first.height);
        let (mut lo, mut hi) = (f32::INFINITY, 0.0f32);
        for (i, f) in frames.iter().enumerate() {
            anyhow::ensure!(
                (f.width, f.height) == (w, h),
                "{name}: frame {i} is {}x{}, not {w}x{h}",
                f.width,
                f.height
            );
            if let Some((a, b)) = tight_range(&f.view(), 0.0) {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        anyhow::ensure!(hi > 0.0, "{name}: no frame has a valid depth");
        Ok(SeqData { name, fps, frames, near: 0.9 * lo, far: (1.05 * hi).max(lo * 1.01) })
    }

    /// Width of the depth maps.
    pub fn width(&self) -> u32 {
        self.frames[0].width
    }

    /// Height of the depth maps.
    pub fn height(&self) -> u32 {
        self.frames[0].height
    }

    /// Frames `frames` of the sequence, keeping its name, rate and range (errors are measured
    /// over the same pixels as in the whole sequence).
    pub fn part(&self, frames: std::ops::Range<usize>) -> SeqData {
        SeqData {
            name: self.name.clone(),
            fps: self.fps,
            frames: self.frames[frames].to_vec(),
            near: self.near,
            far: self.far,
        }
    }
}

/// What a run records per frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameRecord {
    /// Frame index.
    pub frame: u32,
    /// Packing configuration id used for this frame.
    pub config: String,
    /// Precision used.
    pub precision: u8,
    /// Whether the encoder made this frame a keyframe.
    pub keyframe: bool,
    /// Encoded size in bits (0 when the packet was lost).
    pub bits: u64,
    /// Range used for the frame.
    pub near: f32,
    /// Range used for the frame.
    pub far: f32,
    /// Whether the decoder returned the frame with valid in-band parameters.
    pub params_ok: bool,
    /// Errors against the source (over pixels valid in the sequence range).
    pub metrics: Metrics,
}

/// Per-frame choice of a run: the packing configuration and whether to force a keyframe.
pub type Choice = (PackingConfig, bool);

/// Options shared by every run of a sweep.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Keyframe interval in frames.
    pub gop: u32,
    /// Use libx264/libx265 only (reproducible; the default for sweeps).
    pub force_software: bool,
    /// x264/x265 preset.
    pub preset: String,
    /// Encoder threads (default 1: reproducible, and one slice; 0: the codec's automatic count,
    /// as a live sender uses).
    pub threads: u32,
    /// Let libx264/libx265 place keyframes at hard cuts (default true; `ultrafast` places none
    /// either way). `send --reprobe` turns them off so that its keyframes stay where its rounds
    /// start ([`depthcast_codec::EncoderSettings::scene_cuts`]): a sweep that models it at
    /// another preset turns them off too.
    pub scene_cuts: bool,
}

impl RunOptions {
    /// The options that change an encode, as a run folder names them: `g30-ultrafast`, and
    /// `-nocuts` without scene cuts (so a resumed sweep never reuses a run made otherwise).
    pub fn folder_name(&self) -> String {
        let cuts = if self.scene_cuts { "" } else { "-nocuts" };
        format!("g{}-{}{cuts}", self.gop, self.preset)
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { gop: 60, force_software: true, preset: "ultrafast".into(), threads: 1, scene_cuts: true }
    }
}

/// Frames a reopened encoder encodes before its first one by default ([`encode_reopening`]): half
/// of a 30-frame GOP. In a cold start at 2 Mbit/s (720p, x264 `ultrafast` CBR) the error takes
/// about ten frames to settle after the keyframe.
pub const DEFAULT_REOPEN_PREROLL: usize = 15;

/// Encodes `seq` as one stream. `choose(i)` gives frame `i`'s configuration; every configuration
/// must produce the same frame size (a stream cannot change size). `tick` is called per frame.
///
/// # Errors
/// Encoder or decoder failures, or configurations of different frame sizes.
pub fn encode_sequence(
    seq: &SeqData,
    codec: CodecConfig,
    bitrate: u64,
    range: RangeChoice,
    opts: &RunOptions,
    choose: &mut dyn FnMut(usize) -> Choice,
    tick: &dyn Fn(),
) -> anyhow::Result<Vec<FrameRecord>> {
    encode_sequence_with(seq, codec, bitrate, range, opts, choose, tick, &mut |_, _| {})
}

/// [`encode_sequence`] for a stream whose encoder is reopened: it opens with `codec` at frame 0,
/// and at each `(frame, codec)` of `reopen` (ascending) the encoder is replaced by one with that
/// codec ([`DepthEncoder::reopen`], as `send --reprobe` does) and the decoder by a new one, as a
/// receiver meets a new codec, bit depth or frame size at the new stream's first keyframe. Each
/// new encoder first encodes up to `preroll` of the frames before its first one with its first
/// frame's configuration (over that frame's range) and throws those packets away, so its rate
/// control has settled when the receiver's stream begins there, at a forced keyframe; with
/// `preroll` 0 it starts cold, and what a reopening costs is measured either way. Returns each
/// frame's codec with its record.
///
/// # Errors
/// As [`encode_sequence`], or `reopen` not ascending within the sequence.
#[allow(clippy::too_many_arguments)]
pub fn encode_reopening(
    seq: &SeqData,
    codec: CodecConfig,
    reopen: &[(usize, CodecConfig)],
    preroll: usize,
    bitrate: u64,
    range: RangeChoice,
    opts: &RunOptions,
    choose: &mut dyn FnMut(usize) -> Choice,
    tick: &dyn Fn(),
) -> anyhow::Result<Vec<(CodecConfig, FrameRecord)>> {
    let n = seq.frames.len();
    let mut last = 0;
    for &(at, _) in reopen {
        anyhow::ensure!(
            at > last && at < n,
            "{}: reopening at frame {at} is not after frame {last} and within {n}",
            seq.name
        );
        last = at;
    }
    encode_stream(seq, (codec, reopen, preroll), bitrate, range, opts, choose, tick, &mut |_, _| {})
}

/// [`encode_sequence`] that also hands every frame that decoded and unpacked to `decoded(i,
/// depth)` (frame index, depth in metres as the receiver sees it), in decoding order. Frames
/// that did not come back are not handed over.
///
/// # Errors
/// As [`encode_sequence`].
#[allow(clippy::too_many_arguments)]
pub fn encode_sequence_with(
    seq: &SeqData,
    codec: CodecConfig,
    bitrate: u64,
    range: RangeChoice,
    opts: &RunOptions,
    choose: &mut dyn FnMut(usize) -> Choice,
    tick: &dyn Fn(),
    decoded: &mut dyn FnMut(usize, &DepthImage),
) -> anyhow::Result<Vec<FrameRecord>> {
    let records = encode_stream(seq, (codec, &[], 0), bitrate, range, opts, choose, tick, decoded)?;
    Ok(records.into_iter().map(|(_, r)| r).collect())
}

/// The encode behind [`encode_sequence_with`] and [`encode_reopening`]: `codecs` is the first
/// codec, the reopenings (frame, codec) and the pre-roll of each new encoder.
#[allow(clippy::too_many_arguments)]
fn encode_stream(
    seq: &SeqData,
    (codec, reopen, preroll): (CodecConfig, &[(usize, CodecConfig)], usize),
    bitrate: u64,
    range: RangeChoice,
    opts: &RunOptions,
    choose: &mut dyn FnMut(usize) -> Choice,
    tick: &dyn Fn(),
    decoded: &mut dyn FnMut(usize, &DepthImage),
) -> anyhow::Result<Vec<(CodecConfig, FrameRecord)>> {
    let (w, h) = (seq.width(), seq.height());
    let n = seq.frames.len();
    let choices: Vec<Choice> = (0..n).map(&mut *choose).collect();
    // Each frame's codec, and each encoder's settings (regions of interest when one of its
    // frames has them).
    let mut codecs = vec![codec; n];
    for &(at, c) in reopen {
        codecs[at..].fill(c);
    }
    let settings_at = |start: usize| {
        let end = reopen.iter().map(|r| r.0).find(|&r| r > start).unwrap_or(n);
        let c = codecs[start];
        let mut settings = EncoderSettings::new(c.codec, w, h);
        settings.bit_depth = c.bits;
        settings.bitrate = bitrate;
        settings.fps = ((seq.fps * 1000.0).round() as u32, 1000);
        settings.refresh = Refresh::Gop(opts.gop);
        settings.adaptive_quant = c.aq;
        settings.force_software = opts.force_software;
        settings.preset = opts.preset.clone();
        settings.scene_cuts = opts.scene_cuts;
        settings.threads = opts.threads;
        settings.regions_of_interest = choices[start..end].iter().any(|(c, _)| c.roi_high.is_some());
        settings
    };
    let first = choices.first().map(|c| c.0).ok_or_else(|| anyhow::anyhow!("{}: no frames", seq.name))?;
    let mut enc = DepthEncoder::new(settings_at(0), &first, w, h, None)?;
    let mut dec = Decoder::new(codec.codec)?;
    let mut unpacker = Packer::default();
    let mut out = DepthImage::new(w, h);
    let mut smoother = match range {
        RangeChoice::PerFrame { alpha } => Some(RangeSmoother::new(alpha)),
        RangeChoice::Sequence => None,
    };
    let mut records: Vec<Option<FrameRecord>> = vec![None; n];
    let mut bits = vec![0u64; n];
    let mut keyframes = vec![false; n];
    let mut measure = |d: depthcast_codec::DecodedFrame, records: &mut Vec<Option<FrameRecord>>| {
        let i = d.pts as usize;
        if i >= n {
            return;
        }
        let reference = &seq.frames[i];
        let (params_ok, metrics, used) = match d.params {
            Ok(inb) => {
                let p = inb.params;
                match unpacker.unpack_into(&d.frame, &p, &mut out) {
                    Ok(()) => {
                        decoded(i, &out);
                        (true, Metrics::compute(&reference.view(), &out.view(), seq.near, seq.far), Some(p))
                    }
                    Err(_) => (false, lost(reference, seq), None),
                }
            }
            Err(_) => (false, lost(reference, seq), None),
        };
        let (c, _) = &choices[i];
        records[i] = Some(FrameRecord {
            frame: i as u32,
            config: c.id(),
            precision: c.precision,
            keyframe: false,
            bits: 0,
            near: used.map_or(f32::NAN, |p| p.near),
            far: used.map_or(f32::NAN, |p| p.far),
            params_ok,
            metrics,
        });
    };
    // Decodes and measures `pkts`; with `end`, the stream ends there and the decoder gives out
    // what it still holds.
    let mut handle = |pkts: Vec<depthcast_codec::EncodedPacket>,
                      dec: &mut Decoder,
                      records: &mut Vec<Option<FrameRecord>>,
                      end: bool|
     -> anyhow::Result<()> {
        for p in pkts {
            if let Ok(i) = usize::try_from(p.pts)
                && i < n
            {
                bits[i] = 8 * p.data.len() as u64;
                keyframes[i] = p.keyframe;
            }
            for d in dec.decode(&p.data, Some(p.pts))?.into_iter().flatten() {
                measure(d, records);
            }
        }
        if end {
            dec.send_eof()?;
            while let Ok(Some(d)) = dec.receive_frame() {
                measure(d, records);
            }
        }
        Ok(())
    };
    // In-band frame indices count from each encoder's first frame, its pre-roll included.
    let mut index_base = 0;
    for (i, (cfg, force_kf)) in choices.iter().enumerate() {
        let (near, far) = match &mut smoother {
            None => (seq.near, seq.far),
            Some(s) => {
                let (a, b) = tight_range(&seq.frames[i].view(), 0.05).unwrap_or((seq.near, seq.far));
                let (a, b) = s.update(a, b);
                (a.max(depthcast_packing::range::MIN_NEAR), b)
            }
        };
        if i > 0 && reopen.iter().any(|r| r.0 == i) {
            index_base = i - preroll.min(i);
            let warm = &seq.frames[index_base..i];
            let last = enc.reopen(settings_at(i), cfg, (w, h), warm, (near, far), i as i64)?;
            // The old stream ends; a new decoder takes the new one.
            handle(last, &mut dec, &mut records, true)?;
            dec = Decoder::new(codecs[i].codec)?;
        }
        let meta = FrameMeta {
            frame_index: (i - index_base) as u32,
            pts: Some(i as i64),
            force_keyframe: *force_kf,
            sent_unix_us: None,
        };
        let pkts = enc.encode(&seq.frames[i].view(), cfg, near, far, &meta)?.packets;
        handle(pkts, &mut dec, &mut records, false)?;
        tick();
    }
    let pkts = enc.finish()?;
    handle(pkts, &mut dec, &mut records, true)?;
    Ok(records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.unwrap_or_else(|| FrameRecord {
                frame: i as u32,
                config: choices[i].0.id(),
                precision: choices[i].0.precision,
                keyframe: false,
                bits: 0,
                near: f32::NAN,
                far: f32::NAN,
                params_ok: false,
                metrics: lost(&seq.frames[i], seq),
            });
            r.bits = bits[i];
            r.keyframe = keyframes[i];
            (codecs[i], r)
        })
        .collect())
}

/// Metrics of a frame that never arrived: every valid pixel lost.
fn lost(reference: &DepthImage, seq: &SeqData) -> Metrics {
    let valid = reference.data.iter().filter(|&&z| z > 0.0 && z <= seq.far).count() as u64;
    Metrics {
        valid_to_invalid: valid,
        mae: f64::NAN,
        rmse: f64::NAN,
        max: f64::NAN,
        p99: f64::NAN,
        ..Metrics::default()
    }
}
