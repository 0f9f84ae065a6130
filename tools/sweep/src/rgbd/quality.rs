//! Image quality of a reprojected (or stale) colour frame against the ground truth: PSNR over the
//! RGB samples of every pixel, and SSIM on BT.709 luma.
//!
//! SSIM is Wang, Bovik, Sheikh & Simoncelli (2004) with 8x8 square windows instead of the
//! paper's 11x11 Gaussian, placed every 4 pixels (overlapping by half), as x264's `--ssim` and
//! FFmpeg's `ssim` filter compute it: `C1 = (0.01 · 255)²`, `C2 = (0.03 · 255)²`, the mean over
//! every window that fits in the image. Scores are comparable with those tools', not with a
//! Gaussian-window SSIM (which runs a little higher on smooth content).

use depthcast_packing::RgbImage;

/// The PSNR given to identical images (their MSE is 0), in dB, so that means stay finite.
pub const PSNR_IDENTICAL_DB: f64 = 100.0;

/// PSNR in dB over every R, G and B sample of two images of the same size (peak 255), capped at
/// [`PSNR_IDENTICAL_DB`].
///
/// # Panics
/// If the sizes differ.
pub fn psnr_rgb(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height), "images of different sizes");
    let n = 3 * a.width as usize * a.height as usize;
    let sse: u64 = a.data[..n]
        .iter()
        .zip(&b.data[..n])
        .map(|(&x, &y)| {
            let d = i32::from(x) - i32::from(y);
            (d * d) as u64
        })
        .sum();
    psnr_from_mse(sse as f64 / n.max(1) as f64)
}

/// PSNR in dB of a mean squared error of 8-bit samples, capped at [`PSNR_IDENTICAL_DB`].
pub fn psnr_from_mse(mse: f64) -> f64 {
    if mse <= 0.0 {
        return PSNR_IDENTICAL_DB;
    }
    (10.0 * (255.0 * 255.0 / mse).log10()).min(PSNR_IDENTICAL_DB)
}

/// BT.709 luma (`0.2126 R + 0.7152 G + 0.0722 B`, 0..=255) of every pixel.
pub fn luma709(img: &RgbImage) -> Vec<f32> {
    img.data
        .chunks_exact(3)
        .take(img.width as usize * img.height as usize)
        .map(|p| 0.2126 * f32::from(p[0]) + 0.7152 * f32::from(p[1]) + 0.0722 * f32::from(p[2]))
        .collect()
}

/// Mean SSIM of the luma of two images (8x8 windows every 4 pixels; see the module docs). 1 for
/// identical images; images smaller than 8x8 give 1 when equal and 0 otherwise.
///
/// # Panics
/// If the sizes differ.
pub fn ssim_luma(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height), "images of different sizes");
    ssim_planes(&luma709(a), &luma709(b), a.width as usize, a.height as usize)
}

/// Mean SSIM of two `width x height` planes of values in 0..=255 (see the module docs).
///
/// # Panics
/// If a plane is shorter than `width · height`.
pub fn ssim_planes(a: &[f32], b: &[f32], width: usize, height: usize) -> f64 {
    assert!(a.len() >= width * height && b.len() >= width * height, "planes shorter than {width}x{height}");
    if width < 8 || height < 8 {
        return if a[..width * height] == b[..width * height] { 1.0 } else { 0.0 };
    }
    // Sums over 4x4 blocks (Σa, Σb, Σa², Σb², Σab); a window is 2x2 blocks.
    let (bw, bh) = (width / 4, height / 4);
    let mut sums = vec![[0f64; 5]; bw * bh];
    for by in 0..bh {
        for bx in 0..bw {
            let mut s = [0f64; 5];
            for y in 4 * by..4 * by + 4 {
                for x in 4 * bx..4 * bx + 4 {
                    let (p, q) = (f64::from(a[y * width + x]), f64::from(b[y * width + x]));
                    s[0] += p;
                    s[1] += q;
                    s[2] += p * p;
                    s[3] += q * q;
                    s[4] += p * q;
                }
            }
            sums[by * bw + bx] = s;
        }
    }
    const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
    const N: f64 = 64.0;
    let mut total = 0.0;
    let mut windows = 0usize;
    for by in 0..bh - 1 {
        for bx in 0..bw - 1 {
            let mut s = [0f64; 5];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let t = &sums[(by + dy) * bw + bx + dx];
                for k in 0..5 {
                    s[k] += t[k];
                }
            }
            let (ma, mb) = (s[0] / N, s[1] / N);
            // Sample (co)variances over the window, as in the paper (N − 1).
            let va = (s[2] - N * ma * ma) / (N - 1.0);
            let vb = (s[3] - N * mb * mb) / (N - 1.0);
            let cov = (s[4] - N * ma * mb) / (N - 1.0);
            total += ((2.0 * ma * mb + C1) * (2.0 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
            windows += 1;
        }
    }
    total / windows as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> RgbImage {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend(f(x, y));
            }
        }
        RgbImage { width: w, height: h, data }
    }

    #[test]
    fn identical_images_score_perfectly() {
        let a = image(33, 20, |x, y| [(x * 7) as u8, (y * 11) as u8, ((x + y) * 3) as u8]);
        assert_eq!(psnr_rgb(&a, &a), PSNR_IDENTICAL_DB);
        assert!((ssim_luma(&a, &a) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn psnr_of_a_known_error() {
        // Every sample off by 5: MSE 25, PSNR = 10 log10(255² / 25) = 34.15 dB.
        let a = image(16, 16, |_, _| [100, 100, 100]);
        let b = image(16, 16, |_, _| [105, 105, 105]);
        assert!((psnr_rgb(&a, &b) - 34.1514).abs() < 1e-3);
    }

    #[test]
    fn ssim_falls_with_structure_lost() {
        let a = image(64, 64, |x, y| if (x / 4 + y / 4) % 2 == 0 { [220; 3] } else { [30; 3] });
        let flat = image(64, 64, |_, _| [125; 3]);
        let noisy = image(64, 64, |x, y| {
            let base = if (x / 4 + y / 4) % 2 == 0 { 220 } else { 30 };
            [(base + ((x * 13 + y * 7) % 21) as i32 - 10) as u8; 3]
        });
        let (s_flat, s_noisy) = (ssim_luma(&a, &flat), ssim_luma(&a, &noisy));
        assert!(s_flat < 0.05, "{s_flat}");
        assert!(s_noisy > 0.9 && s_noisy < 1.0, "{s_noisy}");
        // Symmetric.
        assert!((ssim_luma(&noisy, &a) - s_noisy).abs() < 1e-12);
    }
}
