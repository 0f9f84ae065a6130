//! The predictor's policies ([`Policy::Predictor`], [`Policy::Lookup`], [`Policy::Probe`]):
//! per-frame choices from the committed int8 model of `depthcast-precision-net` (no hindsight),
//! over every candidate of a cell whatever its frame size (the first frame fixes the frame size).
//! The probe measures its shortlist with real encodes of the first frames, as a sender would.

use depthcast_codec::Format;
use depthcast_precision_net::{LookupTable, Probe, QuantMlp, Settings, StreamPolicy, models};
pub use depthcast_stream::auto::fallbacks;
use depthcast_stream::{AutoPacking, AutoSettings, FormatProbeReport, ProbeEncode, ProbeSet};

use super::analysis::Policy;
use super::config::{CodecConfig, PackingConfig, RangeChoice};
use super::encode::{RunOptions, SeqData, encode_sequence};

/// The candidate configurations the committed model scores, in its output order (its metadata
/// names them): 8-bit luma and VBP-chroma P12 (frame-sized), VBP-luma P10..P16, VBP-luma P12/P14
/// with a strong high-plane ROI (−0.8) and P16 with milder ones (−0.6, −0.4, −0.2) (tall).
///
/// # Panics
/// If the committed model does not read (a broken build).
pub fn candidates() -> Vec<PackingConfig> {
    QuantMlp::from_bytes(models::INT8).and_then(|m| m.candidates()).expect("the committed model reads")
}

/// The encodes a [`Policy::Probe`] plan makes: the stream's codec, range policy and encoder options.
#[derive(Debug, Clone, Copy)]
pub struct ProbeEncodes<'a> {
    /// Range policy of the stream.
    pub range: RangeChoice,
    /// Encoder options of the stream.
    pub opts: &'a RunOptions,
}

/// The stream a predictor policy plans: `seq` encoded with `codec` at `bitrate`, a keyframe every
/// `gop` frames, over the cell's candidate configurations `cands`.
#[derive(Debug, Clone, Copy)]
pub struct Stream<'a> {
    /// The sequence.
    pub seq: &'a SeqData,
    /// Codec configuration.
    pub codec: CodecConfig,
    /// Target bitrate, bit/s.
    pub bitrate: u64,
    /// The cell's configurations (the model's candidates must all be among them).
    pub cands: &'a [PackingConfig],
    /// Keyframe interval in frames.
    pub gop: usize,
}

/// Per-frame choices `(configuration, force keyframe)` of a predictor policy, or `None` when the
/// policy is not a predictor policy or the model's candidates are not all among `cands`.
/// [`Policy::Probe`] encodes its shortlist over the first frames with `probe`'s options (as the
/// stream will be encoded) and measures each after decoding (see [`probe`]); its winner may be a
/// [`fallbacks`] configuration outside `cands`.
///
/// # Errors
/// A probe encode failed.
pub fn choices(
    policy: Policy,
    stream: Stream<'_>,
    probe: ProbeEncodes<'_>,
) -> anyhow::Result<Option<Vec<(PackingConfig, bool)>>> {
    if policy == Policy::Probe {
        let measured = self::probe(stream, probe)?;
        return Ok(measured.map(|m| vec![(m.winner(), false); stream.seq.frames.len()]));
    }
    Ok(plan(policy, stream).map(|v| v.into_iter().map(|(k, kf)| (stream.cands[k], kf)).collect()))
}

/// A start-up probe after its encodes ([`Policy::Probe`]).
#[derive(Debug, Clone)]
pub struct MeasuredProbe {
    /// What the probe measured, and its winner.
    pub report: depthcast_stream::ProbeReport,
}

impl MeasuredProbe {
    /// The configuration with the lowest measured error.
    pub fn winner(&self) -> PackingConfig {
        self.report.winner
    }

    /// Each shortlisted configuration (best-scored first, then the fallbacks) and its mean
    /// measured MAE in metres.
    pub fn measured(&self) -> Vec<(PackingConfig, f64)> {
        self.report.measured.clone()
    }
}

/// The start-up probe of the committed model for `stream` ([`AutoPacking::probe_with`]), each
/// shortlisted configuration measured by a real encode of the first frames with the sweep's own
/// [`encode_sequence`] (the stream's range policy and encoder options), side by side. `None`
/// when the model's candidates are not all among the cell's `cands`.
///
/// # Errors
/// A probe encode failed.
pub fn probe(stream: Stream<'_>, encodes: ProbeEncodes<'_>) -> anyhow::Result<Option<MeasuredProbe>> {
    let Stream { seq, codec, bitrate, cands, gop } = stream;
    let settings = AutoSettings { codec: codec.codec, bits: codec.bits, bitrate, fps: seq.fps, gop: gop as u32 };
    let mut auto = AutoPacking::new(&settings, seq.width(), seq.height())?;
    if !auto.candidates().iter().all(|c| cands.contains(c)) {
        return Ok(None);
    }
    let head = probe_head(seq);
    let measure = |c: &depthcast_packing::PackingConfig| -> depthcast_stream::Result<Vec<f64>> {
        let c = *c;
        let recs = encode_sequence(&head, codec, bitrate, encodes.range, encodes.opts, &mut |_| (c, false), &|| {})
            .map_err(|e| depthcast_stream::StreamError::Probe(format!("{c}: {e:#}")))?;
        Ok(recs.iter().map(|r| if r.params_ok { r.metrics.mae } else { f64::INFINITY }).collect())
    };
    let report = auto.probe_with(&head.frames, &measure)?;
    Ok(Some(MeasuredProbe { report }))
}

/// The start-up probe across the sweep's codec configurations ([`depthcast_stream::probe_formats`]):
/// the codec and bit depth are chosen with the packing, as `depthcast send --auto --probe
/// --receivers` chooses them, measuring `set` in each format. One format each: a codec
/// configuration whose format an earlier one has (the `-aq` variant) is left out. Each pair is measured with the sweep's own
/// [`encode_sequence`] over the first [`Probe::FRAMES`] frames. Returns the winner's codec
/// configuration and the probe's report.
///
/// # Errors
/// A probe encode failed.
pub fn probe_formats(
    seq: &SeqData,
    codecs: &[CodecConfig],
    bitrate: u64,
    gop: usize,
    set: ProbeSet,
    encodes: ProbeEncodes<'_>,
) -> anyhow::Result<(CodecConfig, FormatProbeReport)> {
    let mut chosen: Vec<CodecConfig> = Vec::new();
    for c in codecs {
        if !chosen.iter().any(|k| k.format() == c.format()) {
            chosen.push(*c);
        }
    }
    let formats: Vec<Format> = chosen.iter().map(CodecConfig::format).collect();
    let head = probe_head(seq);
    let codec_of = |f: Format| *chosen.iter().find(|c| c.format() == f).expect("a format of the list");
    let settings =
        AutoSettings { codec: formats[0].codec, bits: formats[0].bits, bitrate, fps: seq.fps, gop: gop as u32 };
    let measure = |f: Format, c: &depthcast_packing::PackingConfig| -> depthcast_stream::Result<ProbeEncode> {
        let c = *c;
        let recs =
            encode_sequence(&head, codec_of(f), bitrate, encodes.range, encodes.opts, &mut |_| (c, false), &|| {})
                .map_err(|e| depthcast_stream::StreamError::Probe(format!("{f} {c}: {e:#}")))?;
        Ok(ProbeEncode {
            errors: recs.iter().map(|r| if r.params_ok { r.metrics.mae } else { f64::INFINITY }).collect(),
            bits: recs.iter().map(|r| r.bits).sum(),
        })
    };
    let report = depthcast_stream::probe_formats_among(&head.frames, &formats, &settings, set, &measure)?;
    Ok((codec_of(report.format), report))
}

/// The first [`Probe::FRAMES`] frames of `seq`: what a start-up probe encodes.
fn probe_head(seq: &SeqData) -> SeqData {
    seq.part(0..Probe::FRAMES.min(seq.frames.len()))
}

/// Per-frame choices (indices into the cell's candidates) of the predictor and lookup policies.
fn plan(policy: Policy, stream: Stream<'_>) -> Option<Vec<(usize, bool)>> {
    let Stream { seq, codec, bitrate, cands, gop } = stream;
    let model = QuantMlp::from_bytes(models::INT8).ok()?;
    let map: Vec<usize> =
        model.candidates().ok()?.iter().map(|m| cands.iter().position(|c| c == m)).collect::<Option<_>>()?;
    let settings = Settings {
        bitrate: bitrate as f64,
        fps: seq.fps,
        hevc: codec.codec == depthcast_codec::VideoCodec::Hevc,
        bits: codec.bits.bits(),
    };
    let n = seq.frames.len();
    match policy {
        Policy::Lookup => {
            let table = LookupTable::parse(model.metadata.get("lookup")?)?;
            let k = table.choose(settings.bpp(seq.width(), seq.height()));
            Some(vec![(*map.get(k)?, false); n])
        }
        Policy::Predictor => {
            let mut stream = StreamPolicy::new(model, gop, settings, seq.width(), seq.height()).ok()?;
            seq.frames.iter().map(|f| Some((map[stream.push(&f.view()).ok()?], false))).collect()
        }
        _ => None,
    }
}
