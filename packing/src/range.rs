//! Depth range mapping: metres ↔ normalised `n ∈ [0, 1]`, and a tight range from a frame's depths.

use crate::depth::DepthView;
use crate::error::{PackError, Result};
use crate::params::RangeMode;

/// Smallest allowed `near`: 1 µm.
pub const MIN_NEAR: f32 = 1e-6;
/// Largest allowed `far`: 10,000 km.
pub const MAX_FAR: f32 = 1e7;
/// Largest allowed `far / near`.
pub const MAX_RATIO: f32 = 1e6;

/// A validated depth range with its mapping constants precomputed.
///
/// A depth `z` is **valid** when `0 < z ≤ far` (NaN, ±∞, zero and negatives are not). Valid depths
/// below `near` are clamped to `near`. Every scheme maps invalid pixels to a reserved code and
/// unpacks them as `0.0` ([`crate::INVALID_DEPTH`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthRange {
    /// Near bound in metres.
    pub near: f32,
    /// Far bound in metres.
    pub far: f32,
    /// Mapping between the bounds.
    pub mode: RangeMode,
    /// Linear: `1/(far−near)`; disparity: `1/(1/near − 1/far)`.
    pub(crate) scale: f32,
    /// Linear: `far−near`; disparity: `1/near − 1/far`.
    pub(crate) span: f32,
    /// `1/near`.
    pub(crate) inv_near: f32,
}

impl DepthRange {
    /// Builds a range.
    ///
    /// # Errors
    /// [`PackError::InvalidRange`] unless `MIN_NEAR ≤ near < far ≤ MAX_FAR` and
    /// `far / near ≤ MAX_RATIO`: beyond those, f32 metres cannot hold the levels apart (a fuzzer
    /// found a subnormal `near` whose disparity mapping unpacked to infinity).
    pub fn new(near: f32, far: f32, mode: RangeMode) -> Result<DepthRange> {
        let sane = near >= MIN_NEAR && far <= MAX_FAR && far > near && far / near <= MAX_RATIO;
        if !sane {
            return Err(PackError::InvalidRange { near, far });
        }
        let inv_near = 1.0 / near;
        let span = match mode {
            RangeMode::Linear => far - near,
            RangeMode::Disparity => inv_near - 1.0 / far,
        };
        if !(span > 0.0 && span.is_finite()) {
            return Err(PackError::InvalidRange { near, far });
        }
        Ok(DepthRange { near, far, mode, scale: 1.0 / span, span, inv_near })
    }

    /// Whether `depth` is a valid depth for this range (`0 < z ≤ far`).
    #[inline(always)]
    pub fn is_valid(&self, depth: f32) -> bool {
        depth > 0.0 && depth <= self.far
    }

    /// Normalised position of a valid `depth`, clamped to `[0, 1]`. The result for an invalid one is
    /// unspecified (callers test [`DepthRange::is_valid`] first).
    #[inline(always)]
    pub fn normalise(&self, depth: f32) -> f32 {
        let n = match self.mode {
            RangeMode::Linear => (depth - self.near) * self.scale,
            RangeMode::Disparity => (self.inv_near - 1.0 / depth) * self.scale,
        };
        n.clamp(0.0, 1.0)
    }

    /// Depth in metres at normalised position `normalised` (clamped to `[0, 1]`).
    #[inline(always)]
    pub fn denormalise(&self, normalised: f32) -> f32 {
        let normalised = normalised.clamp(0.0, 1.0);
        match self.mode {
            RangeMode::Linear => self.near + normalised * self.span,
            RangeMode::Disparity => 1.0 / (self.inv_near - normalised * self.span),
        }
    }
}

/// A tight range from a frame's own valid depths: `near = min · (1 − margin)`,
/// `far = max · (1 + margin)`. A range fitted to the content uses every code on it; the
/// projection's near plane (0.1 m in Bevy) wastes most codes on empty space in front of the
/// scene (a probe here measured 2–10x larger codec-domain errors with it).
///
/// Returns `None` when the frame has no finite positive depth. `margin` is clamped to `0..=0.5`.
pub fn tight_range(view: &DepthView<'_>, margin: f32) -> Option<(f32, f32)> {
    // Eight independent lanes of compare-and-select (no branches, no NaN-aware `min`), which the
    // compiler turns into SIMD min/max: the sender runs this on every full-resolution frame.
    const LANES: usize = 8;
    let mut lo8 = [f32::INFINITY; LANES];
    let mut hi8 = [0.0f32; LANES];
    for row in view.rows() {
        let mut chunks = row.chunks_exact(LANES);
        for c in &mut chunks {
            let c: &[f32; LANES] = c.try_into().expect("chunks_exact");
            for k in 0..LANES {
                let z = c[k];
                // `z > 0 && z < inf` is false for NaN; written as selects so nothing branches.
                let zl = if z > 0.0 { z } else { f32::INFINITY };
                let zh = if z < f32::INFINITY { z } else { 0.0 };
                lo8[k] = if zl < lo8[k] { zl } else { lo8[k] };
                hi8[k] = if zh > hi8[k] { zh } else { hi8[k] };
            }
        }
        for &z in chunks.remainder() {
            if z > 0.0 && z < f32::INFINITY {
                lo8[0] = lo8[0].min(z);
                hi8[0] = hi8[0].max(z);
            }
        }
    }
    let lo = lo8.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = hi8.iter().copied().fold(0.0f32, f32::max);
    if hi <= 0.0 {
        return None;
    }
    let m = if margin.is_nan() { 0.0 } else { margin.clamp(0.0, 0.5) };
    let near = lo * (1.0 - m);
    let mut far = hi * (1.0 + m);
    if far <= near {
        far = near * 1.01 + 1e-3;
    }
    Some((near, far))
}

/// Exponential smoothing of per-frame ranges, so that the mapping changes slowly between frames
/// (a mapping that jumps breaks the codec's inter prediction). The range widens at once when
/// content leaves it (nothing is clipped) and narrows at rate `alpha` per frame.
#[derive(Debug, Clone, Copy)]
pub struct RangeSmoother {
    /// Fraction of the gap closed per frame when narrowing (0..=1).
    pub alpha: f32,
    state: Option<(f32, f32)>,
}

impl RangeSmoother {
    /// A smoother that narrows by `alpha` of the gap per frame.
    pub fn new(alpha: f32) -> Self {
        RangeSmoother { alpha: alpha.clamp(0.0, 1.0), state: None }
    }

    /// Feeds one frame's tight range and returns the smoothed range to use.
    pub fn update(&mut self, near: f32, far: f32) -> (f32, f32) {
        let next = match self.state {
            None => (near, far),
            Some((n0, f0)) => {
                let n = if near < n0 { near } else { n0 + self.alpha * (near - n0) };
                let f = if far > f0 { far } else { f0 + self.alpha * (far - f0) };
                (n, f)
            }
        };
        self.state = Some(next);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_disparity_invert() {
        for mode in [RangeMode::Linear, RangeMode::Disparity] {
            let r = DepthRange::new(0.5, 40.0, mode).unwrap();
            for i in 0..=100 {
                let n = i as f32 / 100.0;
                let z = r.denormalise(n);
                assert!((r.normalise(z) - n).abs() < 1e-4, "{mode:?} n={n}");
            }
            assert_eq!(r.normalise(0.1), 0.0);
        }
    }

    #[test]
    fn disparity_is_finer_near() {
        let r = DepthRange::new(1.0, 100.0, RangeMode::Disparity).unwrap();
        let near_step = r.denormalise(0.01) - r.denormalise(0.0);
        let far_step = r.denormalise(1.0) - r.denormalise(0.99);
        assert!(near_step < far_step / 100.0);
    }

    #[test]
    fn rejects_bad_ranges() {
        for (n, f) in [
            (0.0, 1.0),
            (-1.0, 1.0),
            (2.0, 1.0),
            (1.0, 1.0),
            (1.0, f32::INFINITY),
            (f32::NAN, 1.0),
            (1e-39, 1.0),
            (1e-3, 1e4),
        ] {
            assert!(DepthRange::new(n, f, RangeMode::Linear).is_err(), "{n} {f}");
        }
    }

    #[test]
    fn tight_range_equals_a_plain_scan_on_any_data() {
        // Widths around the 8-lane chunking, padded rows, and every kind of invalid value.
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for width in [1u32, 7, 8, 9, 15, 16, 17, 67] {
            let (height, stride) = (5u32, width as usize + 3);
            let data: Vec<f32> = (0..stride * height as usize)
                .map(|_| match next() % 10 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => -1.0,
                    3 => 0.0,
                    _ => (next() % 100_000) as f32 * 1e-3 + 1e-3,
                })
                .collect();
            let view = DepthView::new(width, height, stride, &data).unwrap();
            let (mut lo, mut hi) = (f32::INFINITY, 0.0f32);
            for row in view.rows() {
                for &z in row.iter().filter(|z| **z > 0.0 && z.is_finite()) {
                    (lo, hi) = (lo.min(z), hi.max(z));
                }
            }
            let expected = (hi > 0.0).then(|| {
                let (near, far) = (lo * 0.9, hi * 1.1);
                (near, if far <= near { near * 1.01 + 1e-3 } else { far })
            });
            assert_eq!(tight_range(&view, 0.1), expected, "width {width}");
        }
    }

    #[test]
    fn tight_range_ignores_invalid() {
        let d = [f32::NAN, 0.0, -1.0, f32::INFINITY, 2.0, 4.0];
        let v = DepthView::new(3, 2, 3, &d).unwrap();
        let (n, f) = tight_range(&v, 0.1).unwrap();
        assert!((n - 1.8).abs() < 1e-6 && (f - 4.4).abs() < 1e-6);
        let e = [f32::NAN; 4];
        assert!(tight_range(&DepthView::new(2, 2, 2, &e).unwrap(), 0.1).is_none());
    }

    #[test]
    fn smoother_widens_at_once_and_narrows_slowly() {
        let mut s = RangeSmoother::new(0.5);
        assert_eq!(s.update(1.0, 10.0), (1.0, 10.0));
        assert_eq!(s.update(0.5, 12.0), (0.5, 12.0));
        assert_eq!(s.update(1.5, 8.0), (1.0, 10.0));
    }
}
