//! The predictor's policies ([`Policy::Predictor`], [`Policy::Lookup`], [`Policy::Probe`]):
//! per-frame choices from the committed int8 model of `depthcast-precision-net` (no hindsight),
//! over every candidate of a cell whatever its frame size (the first frame fixes the frame size).
//! The probe measures its shortlist with real encodes of the first frames, as a sender would.

use depthcast_packing::{BitDepth, VbpLayout};
use depthcast_precision_net::{LookupTable, Probe, QuantMlp, Settings, StreamPolicy, models};

use super::analysis::Policy;
use super::config::{CodecConfig, PackingConfig, RangePolicy};
use super::encode::{FrameRecord, RunOptions, SeqData, encode_sequence};

/// The candidate configurations the committed model scores, in its output order: 8-bit luma and
/// VBP-chroma P12 (frame-sized), VBP-luma P10..P16, VBP-luma P12/P14 with a strong high-plane ROI
/// (−0.8) and P16 with milder ones (−0.6, −0.4, −0.2) (tall). A model names its candidates in
/// its metadata; every id of a committed model must be here.
pub fn candidates() -> Vec<PackingConfig> {
    vec![
        PackingConfig::luma(BitDepth::Eight),
        PackingConfig::vbp(12, VbpLayout::Chroma),
        PackingConfig::vbp(10, VbpLayout::Luma),
        PackingConfig::vbp(12, VbpLayout::Luma),
        PackingConfig::vbp(14, VbpLayout::Luma),
        PackingConfig::vbp(16, VbpLayout::Luma),
        PackingConfig::vbp_roi(12, -0.8),
        PackingConfig::vbp_roi(14, -0.8),
        PackingConfig::vbp_roi(16, -0.6),
        PackingConfig::vbp_roi(16, -0.4),
        PackingConfig::vbp_roi(16, -0.2),
    ]
}

/// `model`'s outputs as configurations, in output order (its metadata names them).
///
/// # Errors
/// A candidate id this build does not know (a model newer than [`candidates`]).
pub fn model_candidates(model: &QuantMlp) -> anyhow::Result<Vec<PackingConfig>> {
    let known = candidates();
    model
        .metadata_list("candidates")
        .iter()
        .map(|id| {
            known
                .iter()
                .find(|c| c.id() == *id)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("the model's candidate {id} is unknown to this build"))
        })
        .collect()
}

/// `"tall"` for configurations whose frame is taller than the depth map, else `"frame"` (the
/// grouping of the sweep's policy runs).
pub fn group(c: &PackingConfig, bits: BitDepth, width: u32, height: u32) -> &'static str {
    let p = c.params(bits, width, height, 1.0, 2.0, 0);
    if p.frame_size().1 > height.next_multiple_of(2) { "tall" } else { "frame" }
}

/// The encodes a [`Policy::Probe`] plan makes: the stream's codec, range policy and encoder options.
#[derive(Debug, Clone, Copy)]
pub struct ProbeEncodes<'a> {
    /// Range policy of the stream.
    pub range: RangePolicy,
    /// Encoder options of the stream.
    pub opts: &'a RunOptions,
}

/// The configurations a [`Policy::Probe`] measures whatever the network scores (when it does not
/// shortlist them itself): plain luma at the plane bit depth, the fallback where nothing beats
/// it. Hue colorisation, which wins some training cells at 1–2 Mbit/s, was tried as a second
/// fallback and not kept: on the training scenes it put more streams above plain luma (see
/// `precision-net/models/report.md`). The list may hold configurations outside the model.
pub fn fallbacks(bits: BitDepth) -> Vec<PackingConfig> {
    vec![PackingConfig::luma(bits)]
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
    let Some(plan) = plan(policy, stream) else {
        return Ok(None);
    };
    match plan {
        Plan::Choices(v) => Ok(Some(v.into_iter().map(|(k, kf)| (stream.cands[k], kf)).collect())),
        Plan::Probe { probe_state, configs } => {
            let measured = measure(probe_state, configs, stream, probe)?;
            Ok(Some(vec![(measured.winner(), false); stream.seq.frames.len()]))
        }
    }
}

/// A start-up probe after its encodes ([`Policy::Probe`]).
#[derive(Debug, Clone)]
pub struct MeasuredProbe {
    /// The probe, with the measured errors (metres); its candidates index `configs`.
    pub probe: Probe,
    /// The cell's candidates, then the [`fallbacks`] that are not among them.
    pub configs: Vec<PackingConfig>,
}

impl MeasuredProbe {
    /// The configuration with the lowest measured error.
    pub fn winner(&self) -> PackingConfig {
        self.configs[self.probe.winner()]
    }

    /// Each shortlisted configuration (best-scored first, then the fallbacks) and its mean
    /// measured MAE in metres.
    pub fn measured(&self) -> Vec<(PackingConfig, f64)> {
        self.probe.shortlist().iter().zip(self.probe.mean_errors()).map(|(&k, e)| (self.configs[k], e)).collect()
    }
}

/// The start-up probe of the committed model for `stream`, measured with real encodes of its
/// first frames (`None` when the model's candidates are not all among its `cands`).
///
/// # Errors
/// A probe encode failed.
pub fn probe(stream: Stream<'_>, encodes: ProbeEncodes<'_>) -> anyhow::Result<Option<MeasuredProbe>> {
    match plan(Policy::Probe, stream) {
        Some(Plan::Probe { probe_state, configs }) => Ok(Some(measure(probe_state, configs, stream, encodes)?)),
        _ => Ok(None),
    }
}

/// Encodes each shortlisted configuration over the probe's frames (with the whole sequence's
/// range, as the stream will have; one thread per configuration, as a sender runs its probe
/// encoders side by side) and records every decoded frame's error.
fn measure(
    mut probe_state: Probe,
    configs: Vec<PackingConfig>,
    stream: Stream<'_>,
    encodes: ProbeEncodes<'_>,
) -> anyhow::Result<MeasuredProbe> {
    let Stream { seq, codec, bitrate, .. } = stream;
    let n = probe_state.frames().min(seq.frames.len());
    let head = SeqData {
        name: seq.name.clone(),
        fps: seq.fps,
        frames: seq.frames[..n].to_vec(),
        near: seq.near,
        far: seq.far,
    };
    let shortlist: Vec<PackingConfig> = probe_state.shortlist().iter().map(|&k| configs[k]).collect();
    let runs: Vec<anyhow::Result<Vec<FrameRecord>>> = std::thread::scope(|s| {
        let head = &head;
        let jobs: Vec<_> = shortlist
            .iter()
            .map(|&c| {
                s.spawn(move || {
                    encode_sequence(head, codec, bitrate, encodes.range, encodes.opts, &mut |_| (c, false), &|| {})
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a probe encode panicked")))).collect()
    });
    for (slot, recs) in runs.into_iter().enumerate() {
        for r in &recs? {
            probe_state.record(slot, if r.params_ok { r.metrics.mae } else { f64::INFINITY });
        }
    }
    Ok(MeasuredProbe { probe: probe_state, configs })
}

enum Plan {
    /// Indices into the cell's candidates.
    Choices(Vec<(usize, bool)>),
    /// A probe to measure, over `configs` (the cell's candidates, then missing fallbacks).
    Probe { probe_state: Probe, configs: Vec<PackingConfig> },
}

fn plan(policy: Policy, stream: Stream<'_>) -> Option<Plan> {
    let Stream { seq, codec, bitrate, cands, gop } = stream;
    let model = QuantMlp::from_bytes(models::INT8).ok()?;
    let ids = model.metadata_list("candidates");
    let map: Vec<usize> = ids.iter().map(|id| cands.iter().position(|c| c.id() == *id)).collect::<Option<_>>()?;
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
            Some(Plan::Choices(vec![(*map.get(k)?, false); n]))
        }
        Policy::Predictor | Policy::Probe => {
            let groups: Vec<String> = ids
                .iter()
                .map(|id| {
                    let c = cands.iter().find(|c| c.id() == *id).expect("mapped above");
                    group(c, codec.bits, seq.width(), seq.height()).to_string()
                })
                .collect();
            let mut stream = StreamPolicy::new(model, groups, gop, settings, seq.width(), seq.height());
            if policy == Policy::Probe {
                let mut probe_state = stream
                    .probe(&seq.frames.first()?.view(), Probe::CANDIDATES, Probe::FRAMES)
                    .ok()?
                    .map_candidates(|k| map[k]);
                let mut configs = cands.to_vec();
                for f in fallbacks(codec.bits) {
                    let i = configs.iter().position(|c| *c == f).unwrap_or_else(|| {
                        configs.push(f);
                        configs.len() - 1
                    });
                    probe_state = probe_state.with_candidate(i);
                }
                return Some(Plan::Probe { probe_state, configs });
            }
            let mut v = Vec::with_capacity(n);
            for f in &seq.frames {
                v.push((map[stream.push(&f.view()).ok()?], false));
            }
            Some(Plan::Choices(v))
        }
        _ => None,
    }
}
