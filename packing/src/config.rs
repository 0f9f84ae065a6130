//! [`PackingConfig`]: everything that decides a stream's frame planes except the depth range, with
//! the text id used in run names, CSV files, plots and the predictor's model metadata.
//!
//! A configuration is what a sender chooses (by hand, from a sweep, or by precision-net); the
//! [`PackParams`] of each frame are the configuration plus that frame's range and index
//! ([`PackingConfig::params`]).
//!
//! ```
//! use depthcast_packing::{BitDepth, PackingConfig};
//!
//! let c: PackingConfig = "vbp-luma-P16-lin-a255-roi-0.40".parse()?;
//! assert_eq!(c, PackingConfig::vbp_roi(16, -0.4));
//! assert_eq!(c.to_string(), "vbp-luma-P16-lin-a255-roi-0.40");
//! // The VBP luma layout puts the low bits below the high ones: the frame is twice as tall.
//! assert_eq!(c.frame_size(640, 359, BitDepth::Eight), (640, 720));
//! # Ok::<(), depthcast_packing::ConfigParseError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::params::{BitDepth, PackParams, RangeMode, Scheme, VbpLayout};
use crate::schemes::triangle;

/// A packing configuration: scheme, precision, layout, range mode, low-plane amplitude, triangle
/// period and the rate split between VBP's two luma halves (a region of interest on the high
/// plane). Its text id ([`fmt::Display`], [`FromStr`]) is, for example,
/// `luma-P8-lin`, `vbp-chroma-P12-lin-a255`, `vbp-luma-P14-lin-a255-roi-0.80`,
/// `triangle-P16-np1024-lin` or `hue-disp`, with `-half` at the end when the map is sent at half
/// size (`luma-P10-lin-half`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackingConfig {
    /// Scheme.
    pub scheme: Scheme,
    /// Precision P in bits (luma-only: the plane bit depth; hue: 0).
    pub precision: u8,
    /// VBP layout (ignored by other schemes).
    pub layout: VbpLayout,
    /// Range mapping.
    pub mode: RangeMode,
    /// VBP low-plane amplitude in 1/255 of the code range (255 = full).
    pub low_amplitude: u8,
    /// Triangle period in levels (ignored by other schemes).
    pub period: u32,
    /// Quality offset (FFmpeg ROI `qoffset`, −1..=1, negative = more bits) of the high plane of
    /// the VBP luma layout (the top half of the frame); `None` = no region of interest. It is a
    /// rate split between the two luma halves: libx264 scales it by 51 QP.
    pub roi_high: Option<f32>,
    /// Send the depth map at half width and height, rebuilt on the receiver by an edge-aware
    /// upsampler ([`crate::resample`]): four times the bits per sample, for low bitrates.
    /// Id suffix `-half`.
    pub half: bool,
}

impl PackingConfig {
    /// Luma-only at the plane bit depth.
    pub fn luma(bits: BitDepth) -> Self {
        PackingConfig {
            scheme: Scheme::LumaOnly,
            precision: bits.bits(),
            layout: VbpLayout::Chroma,
            mode: RangeMode::Linear,
            low_amplitude: 255,
            period: 0,
            roi_high: None,
            half: false,
        }
    }

    /// VBP at `precision` bits in `layout`.
    pub fn vbp(precision: u8, layout: VbpLayout) -> Self {
        PackingConfig { scheme: Scheme::Vbp, precision, layout, ..PackingConfig::luma(BitDepth::Eight) }
    }

    /// VBP luma layout at `precision` bits with a region of interest of quality offset `qoffset`
    /// on the high plane (see [`Self::roi_high`]).
    pub fn vbp_roi(precision: u8, qoffset: f32) -> Self {
        PackingConfig { roi_high: Some(qoffset), ..PackingConfig::vbp(precision, VbpLayout::Luma) }
    }

    /// Triangle waves at `w = 2^precision` with period `period` (0 = the default for the
    /// precision, [`triangle::default_period`]).
    pub fn triangle(precision: u8, period: u32, bits: BitDepth) -> Self {
        let period = if period == 0 { triangle::default_period(precision, bits) } else { period };
        PackingConfig { scheme: Scheme::Triangle, precision, period, ..PackingConfig::luma(bits) }
    }

    /// Hue colourisation.
    pub fn hue() -> Self {
        PackingConfig { scheme: Scheme::Hue, precision: 0, ..PackingConfig::luma(BitDepth::Eight) }
    }

    /// One configuration of each scheme and layout at `bits`-bit planes (B): luma-only, VBP in
    /// both layouts at B+4 and B+8, VBP luma with a strong high-plane rate split (−0.8) at B+6,
    /// triangle waves at B+8, hue. The sweep's quick grid, and what the start-up probe across
    /// formats measures in each format.
    pub fn quick_set(bits: BitDepth) -> Vec<PackingConfig> {
        let b = bits.bits();
        vec![
            PackingConfig::luma(bits),
            PackingConfig::vbp(b + 4, VbpLayout::Chroma),
            PackingConfig::vbp(b + 8, VbpLayout::Chroma),
            PackingConfig::vbp(b + 4, VbpLayout::Luma),
            PackingConfig::vbp(b + 8, VbpLayout::Luma),
            PackingConfig::vbp_roi(b + 6, -0.8),
            PackingConfig::triangle(b + 8, 0, bits),
            PackingConfig::hue(),
        ]
    }

    /// The same configuration with the depth map sent at half size ([`Self::half`]).
    pub fn at_half(self) -> Self {
        PackingConfig { half: true, ..self }
    }

    /// The configurations the start-up probe adds at half size ([`Self::half`]) when every
    /// receiver rebuilds them: luma-only and VBP luma with the strong rate split (−0.8) at B+6,
    /// the two that win at 4 Mbit/s and above at full size, where a half-size map at 1–2 Mbit/s
    /// has as many bits per sample; and hue, the best pair of a terrain level at 1 Mbit/s
    /// (0.81x the error of half-size luma there; added by a rule on six procedural levels, see
    /// `results/half-720p`).
    pub fn half_set(bits: BitDepth) -> Vec<PackingConfig> {
        vec![
            PackingConfig::luma(bits).at_half(),
            PackingConfig::vbp_roi(bits.bits() + 6, -0.8).at_half(),
            PackingConfig::hue().at_half(),
        ]
    }

    /// The text id ([`fmt::Display`]).
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// Label of the scheme family for plots: `luma`, `vbp-chroma`, `vbp-luma`, `vbp-luma+roi`,
    /// `triangle`, `hue`, each with `-half` when the map is sent at half size.
    pub fn family(&self) -> String {
        let family = match self.scheme {
            Scheme::Vbp if self.roi_high.is_some() => format!("vbp-{}+roi", self.layout.name()),
            Scheme::Vbp => format!("vbp-{}", self.layout.name()),
            s => s.name().to_string(),
        };
        if self.half { family + "-half" } else { family }
    }

    /// The parameters of frame `frame_index`, a `width x height` depth map over `near..far`, on
    /// planes of `bits` (luma-only takes the plane bit depth as its precision; the triangle
    /// period is the configuration's).
    pub fn params(&self, bits: BitDepth, width: u32, height: u32, near: f32, far: f32, frame_index: u32) -> PackParams {
        let mut p = PackParams::new(self.scheme, self.precision, near, far, width, height);
        p.bit_depth = bits;
        p.layout = self.layout;
        p.mode = self.mode;
        p.low_amplitude = self.low_amplitude;
        if self.scheme == Scheme::Triangle {
            p.period = self.period;
        }
        if self.scheme == Scheme::LumaOnly {
            p.precision = bits.bits();
        }
        p.half = self.half;
        p.frame_index = frame_index;
        p
    }

    /// The frame (luma plane) size for a `width x height` depth map on planes of `bits`: the
    /// depth size padded to even, twice as tall for the VBP luma layout with low bits.
    pub fn frame_size(&self, width: u32, height: u32, bits: BitDepth) -> (u32, u32) {
        self.params(bits, width, height, 1.0, 2.0, 0).frame_size()
    }

    /// The high plane's quality offset where it applies: VBP in the luma layout with an offset
    /// set. The region is the top half of the frame.
    pub fn high_plane_qoffset(&self) -> Option<f32> {
        self.roi_high.filter(|_| self.scheme == Scheme::Vbp && self.layout == VbpLayout::Luma)
    }
}

impl fmt::Display for PackingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            RangeMode::Linear => "lin",
            RangeMode::Disparity => "disp",
        };
        match self.scheme {
            Scheme::LumaOnly => write!(f, "luma-P{}-{mode}", self.precision)?,
            Scheme::Vbp => write!(f, "vbp-{}-P{}-{mode}-a{}", self.layout.name(), self.precision, self.low_amplitude)?,
            Scheme::Triangle => write!(f, "triangle-P{}-np{}-{mode}", self.precision, self.period)?,
            Scheme::Hue => write!(f, "hue-{mode}")?,
        }
        if let Some(q) = self.roi_high {
            write!(f, "-roi{q:+.2}")?;
        }
        if self.half {
            write!(f, "-half")?;
        }
        Ok(())
    }
}

/// A packing configuration id that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "packing configuration {id:?}: {reason} (ids look like luma-P8-lin, vbp-chroma-P12-lin-a255, vbp-luma-P14-lin-a255-roi-0.80, triangle-P16-np1024-lin, hue-lin)"
)]
pub struct ConfigParseError {
    /// The id given.
    pub id: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for PackingConfig {
    type Err = ConfigParseError;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| ConfigParseError { id: id.to_string(), reason: reason.to_string() };
        let (body, half) = match id.strip_suffix("-half") {
            Some(body) => (body, true),
            None => (id, false),
        };
        // The region of interest is the last part; its sign is part of the number (`-roi-0.80`).
        let (body, roi_high) = match body.split_once("-roi") {
            Some((body, q)) => {
                let q: f32 = q.parse().map_err(|_| fail("the ROI offset is not a number"))?;
                if !(-1.0..=1.0).contains(&q) {
                    return Err(fail("the ROI offset is outside -1..=1"));
                }
                (body, Some(q))
            }
            None => (body, None),
        };
        let mut parts = body.split('-');
        let scheme = parts.next().and_then(Scheme::from_name).ok_or_else(|| fail("unknown scheme"))?;
        let mut c = PackingConfig { scheme, roi_high, half, ..PackingConfig::luma(BitDepth::Eight) };
        let precision = |s: Option<&str>| -> Result<u8, ConfigParseError> {
            s.and_then(|s| s.strip_prefix('P')).and_then(|p| p.parse().ok()).ok_or_else(|| fail("no precision Pn"))
        };
        match scheme {
            Scheme::LumaOnly => c.precision = precision(parts.next())?,
            Scheme::Vbp => {
                c.layout = parts.next().and_then(VbpLayout::from_name).ok_or_else(|| fail("no layout chroma/luma"))?;
                c.precision = precision(parts.next())?;
            }
            Scheme::Triangle => {
                c.precision = precision(parts.next())?;
                c.period = parts
                    .next()
                    .and_then(|s| s.strip_prefix("np"))
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| fail("no triangle period npN"))?;
            }
            Scheme::Hue => c.precision = 0,
        }
        c.mode = match parts.next() {
            Some("lin") => RangeMode::Linear,
            Some("disp") => RangeMode::Disparity,
            _ => return Err(fail("no range mode lin/disp")),
        };
        if scheme == Scheme::Vbp {
            c.low_amplitude = parts
                .next()
                .and_then(|s| s.strip_prefix('a'))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| fail("no low-plane amplitude aN"))?;
        }
        if parts.next().is_some() {
            return Err(fail("unexpected trailing parts"));
        }
        if c.roi_high.is_some() && (scheme, c.layout) != (Scheme::Vbp, VbpLayout::Luma) {
            return Err(fail("a region of interest needs the VBP luma layout"));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<PackingConfig> {
        let mut v = Vec::new();
        for bits in [BitDepth::Eight, BitDepth::Ten] {
            let b = bits.bits();
            v.push(PackingConfig::luma(bits));
            for p in [b, b + 2, b + 4, b + 8] {
                v.push(PackingConfig::vbp(p, VbpLayout::Chroma));
                v.push(PackingConfig::vbp(p, VbpLayout::Luma));
                v.push(PackingConfig::triangle(p + 1, 0, bits));
            }
            for q in [-0.8, -0.6, -0.4, -0.2, 0.5] {
                v.push(PackingConfig::vbp_roi(b + 8, q));
            }
        }
        v.push(PackingConfig::hue());
        v.push(PackingConfig { mode: RangeMode::Disparity, ..PackingConfig::hue() });
        v.push(PackingConfig::luma(BitDepth::Ten).at_half());
        v.push(PackingConfig::vbp_roi(16, -0.8).at_half());
        v.push(PackingConfig::hue().at_half());
        v.push(PackingConfig {
            low_amplitude: 96,
            mode: RangeMode::Disparity,
            ..PackingConfig::vbp(12, VbpLayout::Chroma)
        });
        v
    }

    #[test]
    fn ids_round_trip() {
        for c in grid() {
            let id = c.to_string();
            let back: PackingConfig = id.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, c, "{id}");
            assert_eq!(back.to_string(), id);
        }
    }

    #[test]
    fn ids_are_the_ones_already_in_sweeps_and_models() {
        // Byte-identical with the ids of earlier sweeps' run names and the committed model.
        for (c, id) in [
            (PackingConfig::luma(BitDepth::Eight), "luma-P8-lin"),
            (PackingConfig::vbp(12, VbpLayout::Chroma), "vbp-chroma-P12-lin-a255"),
            (PackingConfig::vbp_roi(14, -0.8), "vbp-luma-P14-lin-a255-roi-0.80"),
            (PackingConfig::vbp_roi(16, 0.25), "vbp-luma-P16-lin-a255-roi+0.25"),
            (PackingConfig::triangle(16, 1024, BitDepth::Eight), "triangle-P16-np1024-lin"),
            (PackingConfig::hue(), "hue-lin"),
            (PackingConfig::luma(BitDepth::Ten).at_half(), "luma-P10-lin-half"),
            (PackingConfig::vbp_roi(16, -0.8).at_half(), "vbp-luma-P16-lin-a255-roi-0.80-half"),
        ] {
            assert_eq!(c.to_string(), id);
            assert_eq!(id.parse::<PackingConfig>(), Ok(c));
        }
    }

    #[test]
    fn bad_ids_say_what_is_wrong() {
        for (id, want) in [
            ("vbp-side-P12-lin-a255", "layout"),
            ("luma-8-lin", "precision"),
            ("vbp-luma-P12-lin", "amplitude"),
            ("luma-P8-lin-roi-0.50", "VBP luma"),
            ("vbp-luma-P12-lin-a255-roi-3.00", "-1..=1"),
            ("vbp-luma-P12-log-a255", "range mode"),
            ("jpeg-P8-lin", "scheme"),
            ("luma-P8-lin-extra", "trailing"),
            ("luma-P8-lin-half-half", "trailing"),
            ("luma-P8-half-lin", "range mode"),
        ] {
            let e = id.parse::<PackingConfig>().expect_err(id);
            assert!(e.to_string().contains(want), "{id}: {e}");
        }
    }

    #[test]
    fn frame_size_and_params_agree() {
        for c in grid() {
            for bits in [BitDepth::Eight, BitDepth::Ten] {
                let p = c.params(bits, 641, 359, 0.5, 9.0, 7);
                assert_eq!(c.frame_size(641, 359, bits), p.frame_size(), "{c}");
                assert_eq!(p.frame_index, 7);
                if c.scheme == Scheme::Triangle {
                    assert_eq!(p.period, c.period);
                }
            }
        }
        assert_eq!(PackingConfig::vbp(8, VbpLayout::Luma).frame_size(64, 36, BitDepth::Eight), (64, 36));
        // Half size: the packed map is 321x180, padded to even.
        assert_eq!(PackingConfig::luma(BitDepth::Ten).at_half().frame_size(641, 359, BitDepth::Ten), (322, 180));
        assert_eq!(PackingConfig::vbp_roi(16, -0.8).at_half().frame_size(1280, 720, BitDepth::Eight), (640, 720));
        assert_eq!(PackingConfig::vbp_roi(16, -0.8).at_half().family(), "vbp-luma+roi-half");
        assert_eq!(PackingConfig::luma(BitDepth::Ten).family(), "luma");
        assert_eq!(PackingConfig::luma(BitDepth::Eight).params(BitDepth::Ten, 4, 4, 1.0, 2.0, 0).precision, 10);
        assert_eq!(PackingConfig::vbp_roi(16, -0.4).high_plane_qoffset(), Some(-0.4));
        let chroma = PackingConfig { roi_high: Some(-0.4), ..PackingConfig::vbp(12, VbpLayout::Chroma) };
        assert_eq!(chroma.high_plane_qoffset(), None);
    }
}
