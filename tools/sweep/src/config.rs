//! What one sweep run encodes: a packing configuration ([`PackingConfig`], from
//! `depthcast-packing`), a range policy, a codec configuration and a bitrate, each with a stable
//! text id (used in file names, CSV rows and plots).

use depthcast_codec::{Format, VideoCodec};
pub use depthcast_packing::PackingConfig;
use depthcast_packing::{BitDepth, PackParams, Scheme, VbpLayout};

/// How the depth range is chosen for each frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeChoice {
    /// One range for the whole sequence: `near = 0.9 · min`, `far = 1.05 · max` over all frames.
    Sequence,
    /// Each frame's own tight range (5% margin), smoothed over time ([`depthcast_packing::RangeSmoother`]
    /// with this narrowing rate; it widens at once). Carried in every frame's `PackParams`.
    PerFrame {
        /// Fraction of the gap closed per frame when the range narrows.
        alpha: f32,
    },
}

impl RangeChoice {
    /// Text id (`seq`, `frame0.10`).
    pub fn id(&self) -> String {
        match self {
            RangeChoice::Sequence => "seq".into(),
            RangeChoice::PerFrame { alpha } => format!("frame{alpha:.2}"),
        }
    }
}

/// Codec configuration of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecConfig {
    /// Codec.
    pub codec: VideoCodec,
    /// Plane bit depth.
    pub bits: BitDepth,
    /// Adaptive quantisation.
    pub aq: bool,
}

impl CodecConfig {
    /// H.264, 8-bit, no AQ.
    pub const H264_8: CodecConfig = CodecConfig { codec: VideoCodec::H264, bits: BitDepth::Eight, aq: false };
    /// HEVC Main10, 10-bit, no AQ.
    pub const HEVC_10: CodecConfig = CodecConfig { codec: VideoCodec::Hevc, bits: BitDepth::Ten, aq: false };

    /// Text id, e.g. `h264-8` or `hevc-10-aq`: the [`Format`] id, then `-aq`.
    pub fn id(&self) -> String {
        format!("{}{}", self.format(), if self.aq { "-aq" } else { "" })
    }

    /// Parses `h264-8`, `hevc-10`, with an optional `-aq`.
    pub fn parse(text: &str) -> Option<CodecConfig> {
        let (text, aq) = match text.strip_suffix("-aq") {
            Some(r) => (r, true),
            None => (text, false),
        };
        let f = Format::parse(text)?;
        Some(CodecConfig { codec: f.codec, bits: f.bits, aq })
    }

    /// The codec and bit depth.
    pub fn format(&self) -> Format {
        Format::new(self.codec, self.bits)
    }
}

/// The packing configurations of a sweep, for each codec's bit depth.
#[derive(Debug, Clone, PartialEq)]
pub enum PackingGrid {
    /// [`Grid::default_packings`] at each codec's bit depth.
    Full,
    /// [`Grid::quick_packings`] at each codec's bit depth.
    Quick,
    /// These configurations for every codec (those a codec's bit depth does not allow are skipped
    /// for it).
    Given(Vec<PackingConfig>),
    /// A grid's configurations, then each of them sent at half size
    /// ([`PackingConfig::at_half`]).
    WithHalf(Box<PackingGrid>),
}

impl PackingGrid {
    /// The configurations for a codec with `bits`-bit planes.
    pub fn for_bits(&self, bits: BitDepth) -> Vec<PackingConfig> {
        match self {
            PackingGrid::Full => Grid::default_packings(bits),
            PackingGrid::Quick => Grid::quick_packings(bits),
            PackingGrid::Given(p) => p.clone(),
            PackingGrid::WithHalf(g) => {
                let full = g.for_bits(bits);
                let half = full.iter().filter(|c| !c.half).map(|c| c.at_half());
                full.iter().copied().chain(half).collect()
            }
        }
    }
}

/// One fixed-configuration run of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Index of the sequence in the sweep's inputs.
    pub sequence: usize,
    /// Codec configuration.
    pub codec: CodecConfig,
    /// Target bitrate in bit/s.
    pub bitrate: u64,
    /// Packing.
    pub packing: PackingConfig,
    /// Range policy.
    pub range: RangeChoice,
}

impl RunSpec {
    /// Text id without the sequence, e.g. `h264-8_2000k_vbp-luma-P14-lin-a255_seq`.
    pub fn id(&self) -> String {
        format!("{}_{}k_{}_{}", self.codec.id(), self.bitrate / 1000, self.packing.id(), self.range.id())
    }
}

/// The grid of a sweep.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Packing configurations (their precision must suit every codec's bit depth; configurations a
    /// codec cannot carry are skipped for it).
    pub packings: Vec<PackingConfig>,
    /// Codec configurations.
    pub codecs: Vec<CodecConfig>,
    /// Target bitrates in bit/s (already scaled to the sequence's pixel rate).
    pub bitrates: Vec<u64>,
    /// Range policies.
    pub ranges: Vec<RangeChoice>,
}

/// Bitrates the issue fixes at 1280x720, 30 fps: 1, 2, 4, 8, 16, 32 Mbit/s.
pub const DEFAULT_MBPS_720P30: [f64; 6] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];

/// Scales bitrates given for 1280x720 at 30 fps to another pixel rate.
pub fn scale_bitrates(mbps_720p30: &[f64], width: u32, height: u32, fps: f64) -> Vec<u64> {
    let k = (f64::from(width) * f64::from(height) * fps) / (1280.0 * 720.0 * 30.0);
    mbps_720p30.iter().map(|m| (m * 1e6 * k).round() as u64).collect()
}

impl Grid {
    /// The full default grid for one bit depth: luma-only, VBP in both layouts at several
    /// precisions, the luma layout with a strong high-plane ROI (−0.8) at three precisions and
    /// with milder ones (−0.6, −0.4, −0.2) at the highest, triangle waves at two periods, hue.
    /// It contains every candidate of precision-net (see [`super::predictor`]), so a full sweep
    /// also provides the predictor's training runs.
    ///
    /// FFmpeg's libx264 wrapper scales the ROI offset by 51 QP: −0.8 gives the high plane about
    /// 41 QP less than the rest, which keeps it intact at low bitrates but starves the low plane
    /// at high ones, where −0.4 or −0.2 win (the sweep measures by how much).
    pub fn default_packings(bits: BitDepth) -> Vec<PackingConfig> {
        let b = bits.bits();
        let mut v = vec![PackingConfig::luma(bits)];
        for p in [b + 2, b + 4, b + 6, b + 8] {
            v.push(PackingConfig::vbp(p, VbpLayout::Chroma));
            v.push(PackingConfig::vbp(p, VbpLayout::Luma));
        }
        for p in [b + 4, b + 6, b + 8] {
            v.push(PackingConfig::vbp_roi(p, -0.8));
        }
        for q in [-0.6, -0.4, -0.2] {
            v.push(PackingConfig::vbp_roi(b + 8, q));
        }
        let w = b + 8;
        v.push(PackingConfig::triangle(w, 1 << (w - 6), bits));
        v.push(PackingConfig::triangle(w, 0, bits));
        v.push(PackingConfig::hue());
        v
    }

    /// The reduced grid of `--quick` ([`PackingConfig::quick_set`]).
    pub fn quick_packings(bits: BitDepth) -> Vec<PackingConfig> {
        PackingConfig::quick_set(bits)
    }

    /// Every run for sequence `sequence`, once each, skipping packings whose precision the
    /// codec's bit depth does not allow, and regions of interest where the codec cannot carry
    /// them ([`VideoCodec::carries_regions_of_interest`]: AV1).
    pub fn runs(&self, sequence: usize) -> Vec<RunSpec> {
        let mut v = Vec::new();
        for &codec in &self.codecs {
            for &bitrate in &self.bitrates {
                for packing in &self.packings {
                    let (lo, hi) = PackParams::precision_range(packing.scheme, codec.bits);
                    let p = if packing.scheme == Scheme::LumaOnly { codec.bits.bits() } else { packing.precision };
                    if p < lo || p > hi || (packing.roi_high.is_some() && !codec.codec.carries_regions_of_interest()) {
                        continue;
                    }
                    for &range in &self.ranges {
                        let mut packing = *packing;
                        packing.precision = p;
                        // Luma-only takes the codec's bit depth, so two luma entries of a grid
                        // can name one run: encode it once.
                        let run = RunSpec { sequence, codec, bitrate, packing, range };
                        if !v.contains(&run) {
                            v.push(run);
                        }
                    }
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_parse_back() {
        let g = Grid {
            packings: Grid::default_packings(BitDepth::Eight),
            codecs: vec![CodecConfig::H264_8, CodecConfig::HEVC_10],
            bitrates: vec![1_000_000, 2_000_000],
            ranges: vec![RangeChoice::Sequence, RangeChoice::PerFrame { alpha: 0.1 }],
        };
        let runs = g.runs(0);
        let ids: std::collections::BTreeSet<String> = runs.iter().map(RunSpec::id).collect();
        assert_eq!(ids.len(), runs.len());
        // 8-bit precisions (P 10..16) only fit the 10-bit codec's 10..=18 where they are >= 10.
        assert!(runs.iter().all(|r| {
            let (lo, hi) = PackParams::precision_range(r.packing.scheme, r.codec.bits);
            (lo..=hi).contains(&r.packing.precision)
        }));
        for c in [CodecConfig::H264_8, CodecConfig::HEVC_10, CodecConfig { aq: true, ..CodecConfig::H264_8 }] {
            assert_eq!(CodecConfig::parse(&c.id()), Some(c));
        }
        let av1 = CodecConfig::parse("av1-10").unwrap();
        assert_eq!(av1, CodecConfig { codec: VideoCodec::Av1, bits: BitDepth::Ten, aq: false });
        let g = Grid { codecs: vec![av1], packings: Grid::default_packings(BitDepth::Ten), ..g };
        let runs = g.runs(0);
        assert!(!runs.is_empty() && runs.iter().all(|r| r.packing.roi_high.is_none()), "AV1 runs have no ROI");
        // Luma-only takes each codec's bit depth: 8- and 10-bit luma in one grid are one run per
        // codec, not two with one id (two workers once wrote the same file at once).
        let g = Grid {
            codecs: vec![CodecConfig::H264_8, CodecConfig::HEVC_10],
            packings: vec![PackingConfig::luma(BitDepth::Eight), PackingConfig::luma(BitDepth::Ten)],
            ..g
        };
        let ids: Vec<String> = g.runs(0).iter().map(RunSpec::id).collect();
        assert_eq!(ids.len(), 2 * 2 * 2, "{ids:?}");
        assert_eq!(ids.iter().collect::<std::collections::BTreeSet<_>>().len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn with_half_adds_each_configuration_at_half_size() {
        let g = PackingGrid::WithHalf(Box::new(PackingGrid::Quick));
        let quick = Grid::quick_packings(BitDepth::Ten);
        let all = g.for_bits(BitDepth::Ten);
        assert_eq!(all.len(), 2 * quick.len());
        assert_eq!(&all[..quick.len()], &quick[..]);
        for (full, half) in quick.iter().zip(&all[quick.len()..]) {
            assert_eq!(half.to_string(), format!("{full}-half"));
        }
        // A given list with half-size entries is not doubled again.
        let given = PackingGrid::WithHalf(Box::new(PackingGrid::Given(vec![PackingConfig::hue().at_half()])));
        assert_eq!(given.for_bits(BitDepth::Eight), vec![PackingConfig::hue().at_half()]);
    }

    #[test]
    fn bitrates_scale_with_pixel_rate() {
        assert_eq!(scale_bitrates(&[1.0, 32.0], 1280, 720, 30.0), vec![1_000_000, 32_000_000]);
        assert_eq!(scale_bitrates(&[4.0], 640, 360, 30.0), vec![1_000_000]);
    }
}
