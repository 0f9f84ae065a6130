//! Error metrics between a reference depth map and a decoded one.

use crate::depth::{DepthView, is_valid_depth};

/// Errors of a decoded depth map against its reference, over pixels valid in both.
///
/// A reference pixel is valid when `0 < z ≤ far` (what packing can represent). A decoded pixel is
/// valid when it is finite and positive ([`crate::is_valid_depth`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Metrics {
    /// Pixels valid in both maps (the pixels the errors below are over).
    pub valid: u64,
    /// Mean absolute error in metres.
    pub mae: f64,
    /// Root mean square error in metres.
    pub rmse: f64,
    /// Largest absolute error in metres.
    pub max: f64,
    /// 99th percentile of the absolute error in metres.
    pub p99: f64,
    /// Mean of `|error| / reference`.
    pub mean_rel: f64,
    /// `20 · log10((far − near) / rmse)` in dB (infinite for a perfect match).
    pub psnr: f64,
    /// Valid in the reference, invalid after decoding.
    pub valid_to_invalid: u64,
    /// Invalid in the reference, valid after decoding.
    pub invalid_to_valid: u64,
}

impl Metrics {
    /// Compares `decoded` with `reference` over the range `near..=far`.
    ///
    /// # Panics
    /// If the two views differ in size.
    pub fn compute(reference: &DepthView<'_>, decoded: &DepthView<'_>, near: f32, far: f32) -> Metrics {
        assert_eq!((reference.width, reference.height), (decoded.width, decoded.height), "size mismatch");
        let mut errs: Vec<f32> = Vec::with_capacity(reference.width as usize * reference.height as usize);
        let mut m = Metrics::default();
        let (mut sum, mut sq, mut rel) = (0.0f64, 0.0f64, 0.0f64);
        for y in 0..reference.height {
            for (&r, &d) in reference.row(y).iter().zip(decoded.row(y)) {
                let rv = r > 0.0 && r <= far;
                let dv = is_valid_depth(d);
                match (rv, dv) {
                    (true, true) => {
                        let e = (f64::from(d) - f64::from(r)).abs();
                        sum += e;
                        sq += e * e;
                        rel += e / f64::from(r);
                        m.max = m.max.max(e);
                        errs.push(e as f32);
                    }
                    (true, false) => m.valid_to_invalid += 1,
                    (false, true) => m.invalid_to_valid += 1,
                    (false, false) => {}
                }
            }
        }
        m.valid = errs.len() as u64;
        if m.valid > 0 {
            let n = m.valid as f64;
            m.mae = sum / n;
            m.rmse = (sq / n).sqrt();
            m.mean_rel = rel / n;
            let k = ((errs.len() as f64 * 0.99).ceil() as usize).clamp(1, errs.len()) - 1;
            let (_, v, _) = errs.select_nth_unstable_by(k, f32::total_cmp);
            m.p99 = f64::from(*v);
            m.psnr = 20.0 * (f64::from(far - near) / m.rmse).log10();
        }
        m
    }

    /// [`Metrics::compute`]'s mean absolute error alone (up to the rounding of its sum), with no
    /// buffer of errors and no percentile: what the probes' and the re-probe's measured encodes
    /// need of every decoded frame, at a fraction of the cost (`cargo bench -p depthcast-packing
    /// -- metrics`). 0 when no pixel is valid in both.
    ///
    /// # Panics
    /// If the two views differ in size.
    pub fn mean_error(reference: &DepthView<'_>, decoded: &DepthView<'_>, far: f32) -> f64 {
        assert_eq!((reference.width, reference.height), (decoded.width, decoded.height), "size mismatch");
        // Lanes of partial sums (f64, as the full metrics' sum) the compiler keeps in vector
        // registers, added up at the end of each row.
        const LANES: usize = 8;
        let (mut sum, mut valid) = (0.0f64, 0u64);
        for y in 0..reference.height {
            let (r, d) = (reference.row(y), decoded.row(y));
            let mut acc = [0.0f64; LANES];
            let mut count = [0u32; LANES];
            let (rc, dc) = (r.chunks_exact(LANES), d.chunks_exact(LANES));
            let (rr, dr) = (rc.remainder(), dc.remainder());
            for (r, d) in rc.zip(dc) {
                for l in 0..LANES {
                    let ok = r[l] > 0.0 && r[l] <= far && d[l] > 0.0 && d[l] < f32::INFINITY;
                    let e = (f64::from(d[l]) - f64::from(r[l])).abs();
                    acc[l] += if ok { e } else { 0.0 };
                    count[l] += u32::from(ok);
                }
            }
            for (&r, &d) in rr.iter().zip(dr) {
                if r > 0.0 && r <= far && is_valid_depth(d) {
                    acc[0] += (f64::from(d) - f64::from(r)).abs();
                    count[0] += 1;
                }
            }
            sum += acc.iter().sum::<f64>();
            valid += count.iter().map(|&c| u64::from(c)).sum::<u64>();
        }
        if valid == 0 { 0.0 } else { sum / valid as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_errors() {
        let r = [1.0f32, 2.0, 3.0, f32::INFINITY, 5.0, 0.0];
        let d = [1.1f32, 2.0, 0.0, 4.0, 5.0, 0.0];
        let rv = DepthView::new(6, 1, 6, &r).unwrap();
        let dv = DepthView::new(6, 1, 6, &d).unwrap();
        let m = Metrics::compute(&rv, &dv, 1.0, 10.0);
        assert_eq!(m.valid, 3);
        assert_eq!(m.valid_to_invalid, 1);
        assert_eq!(m.invalid_to_valid, 1);
        assert!((m.mae - 0.1 / 3.0).abs() < 1e-6);
        assert!((m.max - 0.1).abs() < 1e-6);
        assert!((m.p99 - 0.1).abs() < 1e-6);
        assert!((m.rmse - (0.01f64 / 3.0).sqrt()).abs() < 1e-6);
        assert!((m.mean_rel - 0.1 / 3.0).abs() < 1e-6);
        assert!((Metrics::mean_error(&rv, &dv, 10.0) - m.mae).abs() < 1e-15);
    }

    #[test]
    fn the_mean_error_alone_is_the_full_metrics_mean_error() {
        // A game-like frame with holes and a far plane, against a noisy copy with lost pixels.
        let reference = crate::testdata::game_scene(203, 67, 0.3);
        let mut decoded = reference.clone();
        for (k, z) in decoded.data.iter_mut().enumerate() {
            *z = match k % 97 {
                0 => 0.0,
                1 => f32::INFINITY,
                2 => f32::NAN,
                _ => *z + 0.01 * ((k * 7919) % 13) as f32 - 0.06,
            };
        }
        for far in [5.0, 20.0, 1000.0] {
            let full = Metrics::compute(&reference.view(), &decoded.view(), 0.1, far);
            let alone = Metrics::mean_error(&reference.view(), &decoded.view(), far);
            assert!(full.valid > 1000, "{full:?}");
            assert!((alone - full.mae).abs() <= 1e-12 * full.mae, "far {far}: {alone} against {}", full.mae);
        }
        // Nothing valid in both: 0, as the full metrics.
        let empty = crate::DepthImage::new(203, 67);
        assert_eq!(Metrics::mean_error(&reference.view(), &empty.view(), 20.0), 0.0);
    }
}
