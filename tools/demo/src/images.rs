//! False-colour pictures of depth and error.

use std::path::Path;

use depthcast_packing::{DepthImage, is_valid_depth};
use plotters::prelude::*;

/// Piecewise-linear colour map from dark blue (near) through green and yellow to dark red (far).
pub(crate) fn depth_colour(n: f32) -> [u8; 3] {
    const STOPS: [(f32, [f32; 3]); 5] = [
        (0.0, [48.0, 18.0, 59.0]),
        (0.25, [70.0, 130.0, 240.0]),
        (0.5, [60.0, 220.0, 110.0]),
        (0.75, [250.0, 190.0, 40.0]),
        (1.0, [122.0, 4.0, 3.0]),
    ];
    let n = n.clamp(0.0, 1.0);
    for w in STOPS.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if n <= b {
            let t = (n - a) / (b - a);
            return [0, 1, 2].map(|k| (ca[k] + t * (cb[k] - ca[k])).round() as u8);
        }
    }
    [122, 4, 3]
}

/// Black → red → yellow → white as `e` goes from 0 to `scale` and beyond.
pub(crate) fn error_colour(e: f32, scale: f32) -> [u8; 3] {
    let t = (e / scale).clamp(0.0, 1.0) * 3.0;
    let c = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    [c(t), c(t - 1.0), c(t - 2.0)]
}

/// Writes source depth | received depth | absolute error, with captions, as one PNG.
///
/// # Errors
/// The file cannot be written.
pub(crate) fn side_by_side(path: &Path, src: &DepthImage, got: &DepthImage, near: f32, far: f32) -> anyhow::Result<()> {
    let (w, h) = (src.width as usize, src.height as usize);
    let (gap, top) = (8usize, 36usize);
    let (tw, th) = (3 * w + 2 * gap, h + top);
    let mut buf = vec![255u8; tw * th * 3];
    let mut errs: Vec<f32> = src
        .data
        .iter()
        .zip(&got.data)
        .filter(|(a, b)| is_valid_depth(**a) && is_valid_depth(**b))
        .map(|(a, b)| (a - b).abs())
        .collect();
    errs.sort_by(f32::total_cmp);
    let scale = (2.0 * errs.get(errs.len() * 99 / 100).copied().unwrap_or(0.0)).max(1e-3);
    let norm = |z: f32| (z - near) / (far - near);
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (src.data[y * w + x], got.data[y * w + x]);
            let px = [
                if is_valid_depth(a) && a <= far { depth_colour(norm(a)) } else { [0, 0, 0] },
                if is_valid_depth(b) { depth_colour(norm(b)) } else { [0, 0, 0] },
                match (is_valid_depth(a) && a <= far, is_valid_depth(b)) {
                    (true, true) => error_colour((a - b).abs(), scale),
                    (false, false) => [0, 0, 0],
                    _ => [255, 0, 255],
                },
            ];
            for (k, c) in px.iter().enumerate() {
                let i = ((top + y) * tw + k * (w + gap) + x) * 3;
                buf[i..i + 3].copy_from_slice(c);
            }
        }
    }
    {
        depthcast_sweep::register_fonts();
        let root = BitMapBackend::with_buffer(&mut buf, (tw as u32, th as u32)).into_drawing_area();
        let style = ("sans-serif", 16).into_font().color(&BLACK);
        let captions = [
            format!("source depth ({near:.2}..{far:.2} m)"),
            "received depth".to_string(),
            format!("|error|: black 0, white >= {:.1} mm (magenta: validity flip)", scale * 1e3),
        ];
        for (k, c) in captions.iter().enumerate() {
            root.draw_text(c, &style, ((k * (w + gap)) as i32 + 4, 10)).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        root.present().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    image::save_buffer(path, &buf, tw as u32, th as u32, image::ColorType::Rgb8)?;
    Ok(())
}
