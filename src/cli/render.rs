//! `depthcast render`: renders a glTF scene headless along a camera path and writes a depth
//! sequence (see [`crate::sequence`]) plus a false-colour `preview.png` of the first frame.
//!
//! Without a GPU this runs on Mesa's software Vulkan (`mesa-vulkan-drivers libvulkan1`,
//! `WGPU_BACKEND=vulkan`); expect a few frames per second at 1280x720.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use depthcast::scene::{CameraPath, Level, LevelKind, SceneRenderConfig, SceneRenderer};
use depthcast::sequence::{DepthEncoding, Intrinsics, SequenceWriter};
use depthcast_packing::DepthImage;
use indicatif::{ProgressBar, ProgressStyle};

/// Depth a 16-bit millimetre PNG can hold.
const PNG16_MAX_M: f32 = 65.535;

/// Options of `depthcast render`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// glTF scene (.glb or .gltf; its default scene is rendered), `builtin:room`, or
    /// `level:SEED`: a procedural game level (interior, terrain, city or arena by `SEED % 4`) with
    /// moving objects and a camera path of its own.
    #[arg(long)]
    scene: PathBuf,
    /// Frames to render.
    #[arg(long, default_value_t = 300)]
    frames: u32,
    /// Image size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    size: (u32, u32),
    /// Frames per second (time step of the camera path and animations).
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// Camera path: orbit, walk, pan, approach, or a JSON path file (see README); default: the
    /// level's own path for `level:SEED`, else orbit.
    #[arg(long)]
    camera: Option<String>,
    /// Output folder of the sequence.
    #[arg(long)]
    out: PathBuf,
    /// Frame encoding: png16 (millimetres, up to 65.5 m), exr (f32 metres), or auto (png16 when
    /// the scene fits in 65.5 m from the camera, else exr).
    #[arg(long, default_value = "auto")]
    encoding: String,
    /// glTF animation index to loop, or "none".
    #[arg(long, default_value = "0")]
    animation: String,
    /// Vertical field of view in degrees.
    #[arg(long, default_value_t = 45.0)]
    fov: f32,
    /// Near plane in metres (default: 2 % of the scene radius, 5 mm to 10 cm).
    #[arg(long)]
    near: Option<f32>,
    /// Do not write preview.png.
    #[arg(long)]
    no_preview: bool,
    /// Also capture the colour (the rendered image as 8-bit 4:2:0 full-range BT.709, converted on
    /// the GPU) and each frame's camera: an RGB-D sequence (`NNNNNN.yuv.png` beside the depth),
    /// what `depthcast rgbd-sweep` measures.
    #[arg(long)]
    colour: bool,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(|| format!("size {s:?} is not WIDTHxHEIGHT"))?;
    let w: u32 = w.parse().map_err(|_| format!("width {w:?} is not a number"))?;
    let h: u32 = h.parse().map_err(|_| format!("height {h:?} is not a number"))?;
    if w == 0 || h == 0 || w > 8192 || h > 8192 {
        return Err(format!("size {w}x{h} is outside 1x1..=8192x8192"));
    }
    Ok((w, h))
}

pub(crate) fn run(a: Args) -> anyhow::Result<()> {
    if a.frames == 0 {
        bail!("--frames must be at least 1");
    }
    if !(a.fps > 0.0 && a.fps.is_finite()) {
        bail!("--fps {} must be positive", a.fps);
    }
    let mut cfg = SceneRenderConfig::new(&a.scene);
    let camera_name = match &a.camera {
        Some(c) => {
            cfg.path = CameraPath::parse(c).map_err(anyhow::Error::msg)?;
            c.clone()
        }
        // The config's default path: a level's own, else orbit.
        None => match a.scene.to_str().and_then(Level::parse_name) {
            Some(seed) => format!("{} level's own", LevelKind::of_seed(seed).name()),
            None => "orbit".into(),
        },
    };
    let animation = match a.animation.as_str() {
        "none" => None,
        s => Some(s.parse::<usize>().with_context(|| format!("--animation {s:?} is neither an index nor \"none\""))?),
    };
    (cfg.width, cfg.height) = a.size;
    cfg.fps = a.fps;
    cfg.frames = a.frames;
    cfg.fov_y = a.fov.to_radians();
    cfg.near = a.near;
    cfg.animation = animation;
    cfg.colour = a.colour;

    let start = Instant::now();
    eprintln!("loading {} ...", a.scene.display());
    let mut renderer = SceneRenderer::new(cfg.clone()).with_context(|| format!("rendering {}", a.scene.display()))?;
    let info = *renderer.info();
    let b = info.bounds;
    eprintln!(
        "scene ready after {:.1} s ({} updates): {} meshes, {} animations, bounds centre {:.3?} half extents {:.3?} m, near {:.4} m",
        start.elapsed().as_secs_f64(),
        info.warmup_updates,
        info.meshes,
        info.animations,
        b.center.to_array(),
        b.half_extents.to_array(),
        info.near
    );
    // The farthest surface any outside path can see: framing distance plus the scene diameter.
    let reach = b.framing_distance(cfg.fov_y, cfg.width as f32 / cfg.height as f32) * 1.2 + 2.0 * b.radius();
    let encoding = match a.encoding.as_str() {
        "png16" => DepthEncoding::Png16Mm,
        "exr" => DepthEncoding::ExrF32,
        "auto" if reach <= PNG16_MAX_M => DepthEncoding::Png16Mm,
        "auto" => {
            eprintln!("depth may reach {reach:.0} m, beyond 16-bit millimetres: writing f32 EXR frames");
            DepthEncoding::ExrF32
        }
        e => bail!("--encoding {e:?}: use png16, exr or auto"),
    };

    let (w, h) = a.size;
    let mut writer = SequenceWriter::create(&a.out, w, h, a.fps, encoding)?;
    let [fx, fy, cx, cy] = info.intrinsics;
    writer.meta_mut().intrinsics = Some(Intrinsics { fx, fy, cx, cy });
    let scene_name = a.scene.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    writer.meta_mut().source = Some(format!("{scene_name}, {camera_name} camera, rendered by depthcast render (Bevy)"));

    let bar = ProgressBar::new(u64::from(a.frames));
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} frames {per_sec} eta {eta} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let render_start = Instant::now();
    let (mut lo, mut hi) = (f32::INFINITY, 0.0f32);
    let mut image = DepthImage { width: w, height: h, data: Vec::new() };
    let mut k = 0u32;
    let mut range = |depth: &DepthImage| {
        for &z in &depth.data {
            if z.is_finite() && z > 0.0 {
                lo = lo.min(z);
                hi = hi.max(z);
            }
        }
    };
    if a.colour {
        while let Some(cap) = renderer.next_rgbd()? {
            range(&cap.depth);
            if k == 0 && !a.no_preview {
                write_preview(&a.out.join("preview.png"), &cap.depth).context("writing preview.png")?;
                let rgb = depthcast_packing::RgbImage::from_yuv420(&cap.colour, w, h);
                image::RgbImage::from_raw(w, h, rgb.data)
                    .context("colour preview size")?
                    .save(a.out.join("preview-colour.png"))
                    .context("writing preview-colour.png")?;
            }
            let pose = world_from_camera(&cap.camera.pose);
            writer.push_rgbd(&cap.depth, Some(pose), Some(&cap.colour), Some(&cap.camera))?;
            k += 1;
            bar.inc(1);
        }
    } else {
        while let Some(mut frame) = renderer.next_frame()? {
            image.data = std::mem::take(&mut frame.data);
            range(&image);
            if k == 0 && !a.no_preview {
                write_preview(&a.out.join("preview.png"), &image).context("writing preview.png")?;
            }
            writer.push(&image, Some(frame.world_from_view.to_cols_array()))?;
            frame.data = std::mem::take(&mut image.data);
            renderer.recycle(frame);
            k += 1;
            bar.inc(1);
        }
    }
    bar.finish();
    let meta = writer.finish()?;
    let secs = render_start.elapsed().as_secs_f64();
    println!(
        "{}: {} frames {}x{} in {:.1} s ({:.0} ms/frame, {:.2} fps), depth {:.3}..{:.3} m, sequence range {:.3}..{:.3} m -> {}",
        scene_name,
        k,
        w,
        h,
        secs,
        1000.0 * secs / f64::from(k.max(1)),
        f64::from(k) / secs,
        lo,
        hi,
        meta.near,
        meta.far,
        a.out.display()
    );
    Ok(())
}

/// The sidecar's `pose` (world-from-camera, column-major 4x4) of a camera pose.
fn world_from_camera(pose: &depthcast_packing::CameraPose) -> [f32; 16] {
    let [x, y, z, w] = pose.rotation;
    let [px, py, pz] = pose.position;
    [
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y + z * w),
        2.0 * (x * z - y * w),
        0.0,
        2.0 * (x * y - z * w),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z + x * w),
        0.0,
        2.0 * (x * z + y * w),
        2.0 * (y * z - x * w),
        1.0 - 2.0 * (x * x + y * y),
        0.0,
        px,
        py,
        pz,
        1.0,
    ]
}

/// False-colour preview: log depth between the frame's nearest and farthest pixel on a
/// blue (near) → red (far) ramp; background black.
fn write_preview(path: &std::path::Path, depth: &DepthImage) -> anyhow::Result<()> {
    let valid = depth.data.iter().copied().filter(|z| z.is_finite() && *z > 0.0);
    let (lo, hi) = valid.fold((f32::INFINITY, 0.0f32), |(l, h), z| (l.min(z), h.max(z)));
    let (llo, lhi) = (lo.max(1e-6).ln(), hi.max(1e-6).ln());
    let span = (lhi - llo).max(1e-6);
    let img = image::RgbImage::from_fn(depth.width, depth.height, |x, y| {
        let z = depth.data[(y * depth.width + x) as usize];
        if !(z.is_finite() && z > 0.0) {
            return image::Rgb([0, 0, 0]);
        }
        let t = ((z.ln() - llo) / span).clamp(0.0, 1.0);
        image::Rgb(ramp(t))
    });
    img.save(path)?;
    Ok(())
}

/// A perceptual-ish blue → cyan → green → yellow → red ramp.
fn ramp(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] =
        [[0.19, 0.07, 0.55], [0.1, 0.6, 0.9], [0.3, 0.85, 0.35], [0.98, 0.8, 0.15], [0.8, 0.1, 0.1]];
    let s = t * 4.0;
    let i = (s.floor() as usize).min(3);
    let f = s - i as f32;
    let c = |k: usize| ((STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f) * 255.0).round() as u8;
    [c(0), c(1), c(2)]
}
