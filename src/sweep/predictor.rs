//! The predictor's policies ([`Policy::Predictor`], [`Policy::Lookup`]): per-frame choices from the
//! committed int8 model of `depthcast-precision-net` (no hindsight), over every candidate of a
//! cell whatever its frame size (the first frame fixes the frame size).

use depthcast_packing::{BitDepth, VbpLayout};
use depthcast_precision_net::{LookupTable, QuantMlp, Settings, StreamPolicy, models};

use super::analysis::Policy;
use super::config::{CodecConfig, PackingConfig};
use super::encode::SeqData;

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

/// `"tall"` for configurations whose frame is taller than the depth map, else `"frame"` (the
/// grouping of the sweep's policy runs).
pub fn group(c: &PackingConfig, bits: BitDepth, width: u32, height: u32) -> &'static str {
    let p = c.params(bits, width, height, 1.0, 2.0, 0);
    if p.frame_size().1 > height.next_multiple_of(2) { "tall" } else { "frame" }
}

/// Per-frame choices `(index into cands, force keyframe)` of a predictor policy, or `None` when
/// the policy is not a predictor policy or the model's candidates are not all among `cands`.
pub fn choices(
    policy: Policy,
    seq: &SeqData,
    codec: CodecConfig,
    bitrate: u64,
    cands: &[PackingConfig],
    gop: usize,
) -> Option<Vec<(usize, bool)>> {
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
            Some(vec![(*map.get(k)?, false); n])
        }
        Policy::Predictor => {
            let groups: Vec<String> = ids
                .iter()
                .map(|id| {
                    let c = cands.iter().find(|c| c.id() == *id).expect("mapped above");
                    group(c, codec.bits, seq.width(), seq.height()).to_string()
                })
                .collect();
            let mut policy = StreamPolicy::new(model, groups, gop, settings, seq.width(), seq.height());
            let mut v = Vec::with_capacity(n);
            for f in &seq.frames {
                v.push((map[policy.push(&f.view()).ok()?], false));
            }
            Some(v)
        }
        _ => None,
    }
}
