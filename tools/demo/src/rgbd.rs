//! What the player sees: the received colour frame of time `t`, shown at the camera pose of
//! `t + k`, against the frame rendered at `t + k`.
//!
//! For every received RGB-D pair and offset `k` (frames at 30 fps), four pictures are scored
//! against the ground truth (the source colour of frame `t + k`, as the sender captured it):
//! (a) the stale received colour, not reprojected; (b) reprojected with the received depth;
//! (c) reprojected with the 8-bit luma baseline's depth of frame `t` (the same depth bitrate);
//! (d) reprojected with the source depth (uncompressed: the method's ceiling). Reprojection is
//! `depthcast_reproject::Reprojector`, the CPU twin of `shaders/reproject.wgsl`; scores are
//! `depthcast_sweep::rgbd::quality`'s PSNR over RGB and SSIM on luma, means over frames.

use std::collections::BTreeMap;
use std::path::Path;

use depthcast_packing::{CameraBlock, DepthImage, RgbImage, YuvFrame, is_valid_depth};
use depthcast_reproject::{ReprojectSettings, Reprojector};
use depthcast_sweep::rgbd::quality::{psnr_rgb, ssim_luma};
use plotters::prelude::*;
use serde::Serialize;

use crate::images::{depth_colour, error_colour};

/// One frame of an RGB-D stream: colour as encoded or decoded, depth in metres (0 = invalid),
/// the camera it was rendered from.
#[derive(Debug, Clone)]
pub struct RgbdSample {
    /// 8-bit 4:2:0 full-range BT.709.
    pub colour: YuvFrame,
    /// Linear depth in metres, 0 where invalid.
    pub depth: DepthImage,
    /// Pose and intrinsics.
    pub camera: CameraBlock,
}

/// The scores of one offset (means over the frames that had every input).
#[derive(Debug, Clone, Serialize)]
pub struct OffsetRow {
    /// `k`: frames between the received frame and the pose it is shown at.
    pub offset: u32,
    /// Frames scored.
    pub frames: usize,
    /// (a) stale colour, dB.
    pub psnr_stale_db: f64,
    /// (b) reprojected with the received depth, dB.
    pub psnr_reprojected_db: f64,
    /// (c) reprojected with the 8-bit luma baseline's depth, dB (NaN without the baseline).
    pub psnr_reprojected_luma8_db: f64,
    /// (d) reprojected with the source depth, dB.
    pub psnr_source_depth_db: f64,
    /// SSIM (luma) of (a), (b), (c), (d).
    pub ssim: [f64; 4],
    /// (b − a) / (d − a): the part of the method's gain that the received depth recovers.
    pub gain_recovered: f64,
}

/// Sums of one offset's scores.
#[derive(Default)]
struct Sums {
    n: usize,
    psnr: [f64; 4],
    ssim: [f64; 4],
}

/// The demo's comparison image: one frame `t` shown at `t + k`.
pub struct Picture {
    /// `t`.
    pub frame: u32,
    /// `k`.
    pub offset: u32,
    received: RgbdSample,
    stale: RgbImage,
    reprojected: RgbImage,
    truth: RgbImage,
}

fn rgb(yuv: &YuvFrame, camera: &CameraBlock) -> RgbImage {
    RgbImage::from_yuv420(yuv, camera.intrinsics.width, camera.intrinsics.height)
}

/// Scores every received pair at every offset. `luma8` is the baseline's received depth by frame
/// index (empty: no baseline, (c) is NaN). Returns the table and the picture, at the middle
/// offset, of the frame where reprojection changes the most in a deep view (the largest gain of
/// (d) over (a) times the frame's depth range, so not a wall seen up close).
pub fn evaluate(
    received: &BTreeMap<u32, RgbdSample>,
    source: &BTreeMap<u32, RgbdSample>,
    luma8: &BTreeMap<u32, DepthImage>,
    offsets: &[u32],
) -> (Vec<OffsetRow>, Option<Picture>) {
    let mut reprojector = Reprojector::new(ReprojectSettings::default());
    let mut out = RgbImage { width: 0, height: 0, data: Vec::new() };
    let mut picture: Option<(f64, Picture)> = None;
    let middle = offsets.get(offsets.len() / 2).copied();
    let rows = offsets
        .iter()
        .map(|&k| {
            let mut sums = Sums::default();
            for (&t, got) in received {
                let (Some(truth), Some(src)) = (source.get(&(t + k)), source.get(&t)) else { continue };
                let luma = luma8.get(&t);
                if !luma8.is_empty() && luma.is_none() {
                    continue;
                }
                let truth_rgb = rgb(&truth.colour, &truth.camera);
                let colour = rgb(&got.colour, &got.camera);
                let target = &truth.camera.pose;
                let mut frame_psnr = [0.0; 4];
                let mut score = |i: usize, img: &RgbImage| {
                    frame_psnr[i] = psnr_rgb(img, &truth_rgb);
                    sums.psnr[i] += frame_psnr[i];
                    sums.ssim[i] += ssim_luma(img, &truth_rgb);
                };
                score(0, &colour);
                reprojector.reproject(&colour, &got.depth, &got.camera, target, &mut out);
                score(1, &out);
                let reprojected = out.clone();
                if let Some(d) = luma {
                    reprojector.reproject(&colour, d, &got.camera, target, &mut out);
                    score(2, &out);
                }
                reprojector.reproject(&colour, &src.depth, &got.camera, target, &mut out);
                score(3, &out);
                sums.n += 1;
                let (near, far) = got
                    .depth
                    .data
                    .iter()
                    .filter(|z| is_valid_depth(**z) && **z > 0.0)
                    .fold((f32::INFINITY, 0.0f32), |(lo, hi), &z| (lo.min(z), hi.max(z)));
                let gain = (frame_psnr[3] - frame_psnr[0]) * f64::from((far - near).max(0.0));
                if Some(k) == middle && picture.as_ref().is_none_or(|(g, _)| gain > *g) {
                    picture = Some((
                        gain,
                        Picture {
                            frame: t,
                            offset: k,
                            received: got.clone(),
                            stale: colour,
                            reprojected,
                            truth: truth_rgb,
                        },
                    ));
                }
            }
            let n = sums.n.max(1) as f64;
            let [a, b, c, d] = sums.psnr.map(|s| s / n);
            OffsetRow {
                offset: k,
                frames: sums.n,
                psnr_stale_db: a,
                psnr_reprojected_db: b,
                psnr_reprojected_luma8_db: if luma8.is_empty() { f64::NAN } else { c },
                psnr_source_depth_db: d,
                ssim: sums.ssim.map(|s| s / n),
                gain_recovered: (b - a) / (d - a),
            }
        })
        .collect();
    (rows, picture.map(|(_, p)| p))
}

/// The table as markdown.
pub fn table(rows: &[OffsetRow]) -> String {
    let mut s = String::from(
        "| offset | frames | (a) stale | (b) reprojected, received depth | (c) reprojected, 8-bit luma depth | (d) reprojected, source depth | (b−a)/(d−a) |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} ({:.0} ms) | {} | {:.2} dB ({:.3}) | {:.2} dB ({:.3}) | {:.2} dB ({:.3}) | {:.2} dB ({:.3}) | {:.1}% |\n",
            r.offset,
            f64::from(r.offset) * 1000.0 / 30.0,
            r.frames,
            r.psnr_stale_db,
            r.ssim[0],
            r.psnr_reprojected_db,
            r.ssim[1],
            r.psnr_reprojected_luma8_db,
            r.ssim[2],
            r.psnr_source_depth_db,
            r.ssim[3],
            100.0 * r.gain_recovered
        ));
    }
    s.push_str("\nPSNR over RGB, mean over frames; SSIM (luma, 8x8 windows) in brackets.\n");
    s
}

/// Writes the comparison image: received colour | received depth | stale error (top), reprojected
/// | ground truth | reprojected error (bottom), with captions.
///
/// # Errors
/// The file cannot be written.
pub fn write_picture(path: &Path, p: &Picture) -> anyhow::Result<()> {
    let (w, h) = (p.truth.width as usize, p.truth.height as usize);
    let (gap, top) = (8usize, 30usize);
    let (tw, th) = (3 * w + 2 * gap, 2 * (h + top));
    let mut buf = vec![255u8; tw * th * 3];
    let depth = &p.received.depth;
    let valid: Vec<f32> = depth.data.iter().copied().filter(|z| is_valid_depth(*z) && *z > 0.0).collect();
    let near = valid.iter().copied().fold(f32::INFINITY, f32::min);
    let far = valid.iter().copied().fold(0.0f32, f32::max).max(near + 1e-3);
    let err = |a: &RgbImage, i: usize| {
        let d: i32 = (0..3).map(|c| (i32::from(a.data[3 * i + c]) - i32::from(p.truth.data[3 * i + c])).abs()).sum();
        error_colour(d as f32 / 3.0, 64.0)
    };
    let px = |img: &RgbImage, i: usize| [img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2]];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let z = depth.data[i];
            let panels = [
                px(&p.stale, i),
                if is_valid_depth(z) && z > 0.0 { depth_colour((z - near) / (far - near)) } else { [0, 0, 0] },
                err(&p.stale, i),
                px(&p.reprojected, i),
                px(&p.truth, i),
                err(&p.reprojected, i),
            ];
            for (k, c) in panels.iter().enumerate() {
                let (col, row) = (k % 3, k / 3);
                let j = ((row * (h + top) + top + y) * tw + col * (w + gap) + x) * 3;
                buf[j..j + 3].copy_from_slice(c);
            }
        }
    }
    {
        depthcast_sweep::register_fonts();
        let root = BitMapBackend::with_buffer(&mut buf, (tw as u32, th as u32)).into_drawing_area();
        let style = ("sans-serif", 15).into_font().color(&BLACK);
        let (t, k) = (p.frame, p.offset);
        let captions = [
            format!("received colour, frame {t} (stale at {k} frames)"),
            format!("received depth ({near:.2}..{far:.2} m)"),
            "|stale − truth| (white >= 64)".to_string(),
            format!("reprojected to the pose of frame {}", t + k),
            format!("ground truth: frame {} as rendered", t + k),
            "|reprojected − truth| (white >= 64)".to_string(),
        ];
        for (i, c) in captions.iter().enumerate() {
            let (col, row) = (i % 3, i / 3);
            let at = ((col * (w + gap)) as i32 + 4, (row * (h + top)) as i32 + 8);
            root.draw_text(c, &style, at).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        root.present().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    image::save_buffer(path, &buf, tw as u32, th as u32, image::ColorType::Rgb8)?;
    Ok(())
}
