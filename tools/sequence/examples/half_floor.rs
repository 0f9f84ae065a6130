//! The error of half-size depth maps before and after a codec: what `results/half-720p/` reports
//! as the floor (no codec) and what tuned the upsampler's settings on the training scenes.
//!
//! For each RGB-D sequence (`depthcast render --colour`), every `STEP`-th frame is reduced to half
//! size (`depthcast_packing::resample::downsample`) and rebuilt three ways: nearest sample, the
//! unguided upsampler, and the upsampler guided by the frame's colour. The mean MAE over those
//! frames is printed, with the pixels put on the wrong side of valid/invalid.
//!
//! ```text
//! cargo run --release -p depthcast-sequence --example half_floor -- SEQ_DIR...
//! ```
//!
//! - `DECODED=DIR`: rebuild the frames of `DIR/<sequence name>` (a half-size sequence that went
//!   through a codec: `depthcast send` + `recv --output --exr`) instead of reducing the source.
//! - `LOWOUT=DIR`: write each sequence reduced to half size to `DIR/<name>` (EXR) and stop.
//! - `SAME`, `SS`, `SC`: `UpsampleSettings`' same-surface tolerance, spatial and colour sigmas.
//! - `STEP`: frame step (default 8).

use std::path::Path;

use depthcast_packing::resample::{UpsampleSettings, downsample, reduced_size, upsample};
use depthcast_packing::{DepthImage, Metrics};
use depthcast_sequence::{DepthEncoding, Sequence, SequenceWriter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    if dirs.is_empty() {
        return Err("usage: half_floor SEQ_DIR... (see the example's header)".into());
    }
    let env = |k: &str| std::env::var(k).ok();
    let num = |k: &str, d: f32| env(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let d = UpsampleSettings::default();
    let s = UpsampleSettings {
        same_surface: num("SAME", d.same_surface),
        sigma_space: num("SS", d.sigma_space),
        sigma_colour: num("SC", d.sigma_colour),
    };
    let step = (num("STEP", 8.0) as usize).max(1);
    for dir in &dirs {
        let seq = Sequence::open(dir)?;
        let name = Path::new(dir).file_name().and_then(|n| n.to_str()).ok_or("a sequence folder has no name")?;
        if let Some(out) = env("LOWOUT") {
            let (w, h) = reduced_size(seq.meta.width, seq.meta.height, 2);
            let mut wr = SequenceWriter::create(Path::new(&out).join(name), w, h, seq.meta.fps, DepthEncoding::ExrF32)?;
            for i in 0..seq.len() {
                wr.push(&downsample(&seq.read_frame(i)?.view(), 2), None)?;
            }
            wr.finish()?;
            continue;
        }
        let decoded = env("DECODED").map(|d| Sequence::open(Path::new(&d).join(name))).transpose()?;
        let (mut mae, mut wrong, mut n) = ([0.0f64; 3], [0u64; 3], 0u64);
        for i in (0..seq.len()).step_by(step) {
            let full = seq.read_frame(i)?;
            let colour = seq.read_colour(i)?.ok_or("the sequence has no colour (render with --colour)")?;
            let low = match &decoded {
                Some(d) => d.read_frame(i)?,
                None => downsample(&full.view(), 2),
            };
            let (w, h) = (full.width, full.height);
            let nearest = UpsampleSettings { same_surface: 0.0, ..s };
            let outs: [DepthImage; 3] = [
                upsample(&low.view(), 2, w, h, None, &nearest),
                upsample(&low.view(), 2, w, h, None, &s),
                upsample(&low.view(), 2, w, h, Some(&colour), &s),
            ];
            for (k, o) in outs.iter().enumerate() {
                let m = Metrics::compute(&full.view(), &o.view(), seq.meta.near, seq.meta.far);
                mae[k] += m.mae * 1e3;
                wrong[k] += m.valid_to_invalid + m.invalid_to_valid;
            }
            n += 1;
        }
        let nf = n as f64;
        println!(
            "{name:28} frames {n:3}  nearest {:8.2} mm  unguided {:8.2} mm  guided {:8.2} mm   (wrong side of valid, px/frame: {} {} {})",
            mae[0] / nf,
            mae[1] / nf,
            mae[2] / nf,
            wrong[0] / n,
            wrong[1] / n,
            wrong[2] / n
        );
    }
    Ok(())
}
