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
    }
}
