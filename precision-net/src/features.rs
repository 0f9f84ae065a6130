//! Per-frame features: what the predictor sees of a depth map and of the encoder settings.
//!
//! The depth map is read on a fixed grid of [`GRID_X`] x [`GRID_Y`] points whatever its size, so the
//! cost does not grow with resolution (about 2,900 reads at any size). Every feature lies in
//! `0..=1`, so that one input scale of 1/256 quantises them all (see [`crate::model`]).
//!
//! | index | feature |
//! |---|---|
//! | 0 | fraction of valid samples |
//! | 1, 2 | `(log2(near) + 4) / 12`, `(log2(far) + 4) / 12` of the samples' tight range |
//! | 3 | `log2(far / near) / 10` |
//! | 4..22 | histogram of pixel-scale neighbour differences (right and down neighbours of each sample), in bins of `log2(|Δn| · 2^16)` (bin 0: below one step at P16; bin k: `2^(k−1)..2^k` steps at P16, bin 16: at least 2^15), bin 17: valid/invalid edge |
//! | 22..40 | the same for differences between neighbouring grid points (coarse scale) |
//! | 40 | `log2(mean |Δn| over time · 2^16) / 16` (0 on the first frame) |
//! | 41 | fraction of samples whose validity changed since the previous frame |
//! | 42, 43 | `10 · |log(near_t / near_{t−1})|`, same for far, clamped to 1 |
//! | 44 | `(log2(bits per depth pixel) + 8) / 8`, the target bitrate over `width · height · fps` |
//! | 45 | 1 for HEVC, 0 for H.264 |
//! | 46 | 1 for 10-bit planes |
//! | 47 | mean normalised depth of the valid samples |
//!
//! `n` is depth normalised to the samples' tight range. A step at precision P is `2^−P` in `n`,
//! so one histogram serves every candidate precision: the mass in bins above `16 − P` is the
//! fraction of neighbours that differ by more than one P-bit step.

use depthcast_packing::DepthView;

/// Number of features.
pub const NUM_FEATURES: usize = 48;
/// Grid points across.
pub const GRID_X: usize = 40;
/// Grid points down.
pub const GRID_Y: usize = 24;

const BINS: usize = 18;

/// Codec and bitrate settings a prediction is for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Target bitrate in bit/s.
    pub bitrate: f64,
    /// Frames per second.
    pub fps: f64,
    /// HEVC (true) or H.264 (false).
    pub hevc: bool,
    /// Plane bit depth (8 or 10).
    pub bits: u8,
}

impl Settings {
    /// Bits per depth pixel of the target bitrate for a `width x height` map.
    pub fn bpp(&self, width: u32, height: u32) -> f64 {
        self.bitrate / (f64::from(width) * f64::from(height) * self.fps.max(1e-3))
    }
}

/// Feature extraction with the state it carries from frame to frame (previous range and samples).
#[derive(Debug, Clone)]
pub struct FeatureExtractor {
    prev: Vec<f32>,
    prev_range: Option<(f32, f32)>,
    samples: Vec<f32>,
}

impl Default for FeatureExtractor {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn valid(z: f32) -> bool {
    z.is_finite() && z > 0.0
}

/// `floor(log2(x)) + 1` clamped to `0..=16` for `x = |Δn| · 2^16`, from the float's exponent.
#[inline]
fn bin(x: f32) -> usize {
    if x < 1.0 {
        return 0;
    }
    let e = ((x.to_bits() >> 23) & 0xff) as i32 - 127;
    (e + 1).clamp(1, 16) as usize
}

impl FeatureExtractor {
    /// A fresh extractor (the next frame is treated as the first).
    pub fn new() -> Self {
        FeatureExtractor { prev: Vec::new(), prev_range: None, samples: vec![0.0; GRID_X * GRID_Y] }
    }

    /// Forgets the previous frame.
    pub fn reset(&mut self) {
        self.prev.clear();
        self.prev_range = None;
    }

    /// Features of `depth` under `settings`, updating the temporal state.
    pub fn extract(&mut self, depth: &DepthView<'_>, settings: &Settings) -> [f32; NUM_FEATURES] {
        let mut f = [0.0f32; NUM_FEATURES];
        let (w, h) = (depth.width as usize, depth.height as usize);
        if w < 2 || h < 2 {
            return f;
        }
        let xs: [usize; GRID_X] = std::array::from_fn(|i| (i * (w - 1)) / GRID_X + (w - 1) / (2 * GRID_X));
        let ys: [usize; GRID_Y] = std::array::from_fn(|i| (i * (h - 1)) / GRID_Y + (h - 1) / (2 * GRID_Y));
        // Pass 1: samples, their range, and the pixel-scale neighbour pairs (kept raw).
        let (mut lo, mut hi, mut nvalid) = (f32::INFINITY, 0.0f32, 0usize);
        let mut pairs = [(0.0f32, 0.0f32); 2 * GRID_X * GRID_Y];
        for (gy, &y) in ys.iter().enumerate() {
            let row = depth.row(y as u32);
            let below = depth.row(y as u32 + 1);
            for (gx, &x) in xs.iter().enumerate() {
                let z = row[x];
                let k = gy * GRID_X + gx;
                self.samples[k] = z;
                pairs[2 * k] = (z, row[x + 1]);
                pairs[2 * k + 1] = (z, below[x]);
                if valid(z) {
                    nvalid += 1;
                    lo = lo.min(z);
                    hi = hi.max(z);
                }
            }
        }
        let total = (GRID_X * GRID_Y) as f32;
        f[0] = nvalid as f32 / total;
        if nvalid == 0 {
            lo = 1.0;
            hi = 1.0;
        }
        let span = (hi - lo).max(1e-3);
        let inv = 65536.0 / span;
        f[1] = ((lo.log2() + 4.0) / 12.0).clamp(0.0, 1.0);
        f[2] = ((hi.log2() + 4.0) / 12.0).clamp(0.0, 1.0);
        f[3] = ((hi / lo).log2() / 10.0).clamp(0.0, 1.0);
        let mut fine = [0u32; BINS];
        for &(a, b) in &pairs {
            match (valid(a), valid(b)) {
                (true, true) => fine[bin((a - b).abs() * inv)] += 1,
                (false, false) => {}
                _ => fine[BINS - 1] += 1,
            }
        }
        let mut coarse = [0u32; BINS];
        let mut sum_n = 0.0f32;
        for gy in 0..GRID_Y {
            for gx in 0..GRID_X {
                let k = gy * GRID_X + gx;
                let a = self.samples[k];
                if valid(a) {
                    sum_n += (a - lo) / span;
                }
                let mut pair = |b: f32| match (valid(a), valid(b)) {
                    (true, true) => coarse[bin((a - b).abs() * inv)] += 1,
                    (false, false) => {}
                    _ => coarse[BINS - 1] += 1,
                };
                if gx + 1 < GRID_X {
                    pair(self.samples[k + 1]);
                }
                if gy + 1 < GRID_Y {
                    pair(self.samples[k + GRID_X]);
                }
            }
        }
        let nf = fine.iter().sum::<u32>().max(1) as f32;
        let nc = coarse.iter().sum::<u32>().max(1) as f32;
        for b in 0..BINS {
            f[4 + b] = fine[b] as f32 / nf;
            f[22 + b] = coarse[b] as f32 / nc;
        }
        // Temporal features.
        if self.prev.len() == self.samples.len() {
            let (mut sum, mut n, mut flips) = (0.0f32, 0usize, 0usize);
            for (&a, &b) in self.samples.iter().zip(&self.prev) {
                match (valid(a), valid(b)) {
                    (true, true) => {
                        sum += (a - b).abs();
                        n += 1;
                    }
                    (false, false) => {}
                    _ => flips += 1,
                }
            }
            let mean = sum / n.max(1) as f32 * inv;
            f[40] = (mean.max(1.0).log2() / 16.0).clamp(0.0, 1.0);
            f[41] = flips as f32 / total;
        }
        if let Some((plo, phi)) = self.prev_range {
            f[42] = (10.0 * (lo / plo).ln().abs()).clamp(0.0, 1.0);
            f[43] = (10.0 * (hi / phi).ln().abs()).clamp(0.0, 1.0);
        }
        let bpp = settings.bpp(depth.width, depth.height).max(1e-6);
        f[44] = ((bpp.log2() as f32 + 8.0) / 8.0).clamp(0.0, 1.0);
        f[45] = if settings.hevc { 1.0 } else { 0.0 };
        f[46] = if settings.bits >= 10 { 1.0 } else { 0.0 };
        f[47] = (sum_n / nvalid.max(1) as f32).clamp(0.0, 1.0);
        self.prev.clear();
        self.prev.extend_from_slice(&self.samples);
        self.prev_range = Some((lo, hi));
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use depthcast_packing::testdata;

    #[test]
    fn features_are_in_unit_range_and_histograms_sum_to_one() {
        let mut fx = FeatureExtractor::new();
        let s = Settings { bitrate: 4e6, fps: 30.0, hevc: false, bits: 8 };
        for t in 0..3 {
            let img = testdata::game_scene(320, 180, t as f32 / 30.0);
            let f = fx.extract(&img.view(), &s);
            assert!(f.iter().all(|v| (0.0..=1.0).contains(v)), "{f:?}");
            let fine: f32 = f[4..22].iter().sum();
            let coarse: f32 = f[22..40].iter().sum();
            assert!((fine - 1.0).abs() < 1e-4 && (coarse - 1.0).abs() < 1e-4);
            if t > 0 {
                assert!(f[40] > 0.0, "camera moves");
            }
        }
    }

    #[test]
    fn tiny_and_empty_maps_do_not_panic() {
        let mut fx = FeatureExtractor::new();
        let s = Settings { bitrate: 1e6, fps: 30.0, hevc: true, bits: 10 };
        let img = depthcast_packing::DepthImage::new(2, 2);
        let f = fx.extract(&img.view(), &s);
        assert_eq!(f[0], 0.0);
        let img = depthcast_packing::DepthImage::new(1, 1);
        let _ = fx.extract(&img.view(), &s);
    }
}
