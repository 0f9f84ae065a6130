//! Late-stage reprojection with `ReprojectionPlugin`: one RGB-D frame (the built-in game-like
//! depth scene, coloured with a world-space checkerboard, the sky left without depth) is drawn
//! every frame from a viewer that sways around the pose it was rendered from. The revealed areas
//! beside the walls' and doorway's edges fill from the background side.
//!
//! ```sh
//! cargo run --release --example bevy_reprojection            # headless: 90 frames, PNGs
//! cargo run --release --example bevy_reprojection -- --window
//! ```
//! Headless, it writes `reprojection-source.png` and `reprojection-out.png` (the last frame,
//! read back from the GPU) to `--out` (default `.`), and checks the GPU's output against
//! `depthcast_reproject::Reprojector` for the same pose (it prints how many pixels differ).
//! With `--window`, the output image fills the window (close it to quit).

use std::sync::{Arc, Mutex};

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};
use depthcast::packing::{CameraBlock, CameraPose, DepthImage, Intrinsics, RgbImage, testdata};
use depthcast::plugin::reproject::pose_of;
use depthcast::plugin::{Reprojection, ReprojectionPlugin};
use depthcast_reproject::{ReprojectSettings, Reprojector};

const W: u32 = 640;
const H: u32 = 384;
const FRAMES: u32 = 90;

/// Late-stage reprojection of one RGB-D frame to a moving viewer.
#[derive(clap::Parser)]
struct Args {
    /// Show the reprojected view in a window.
    #[arg(long)]
    window: bool,
    /// Headless: where the PNGs go.
    #[arg(long, default_value = ".")]
    out: std::path::PathBuf,
}

/// The source frame: depth, colour and camera.
fn source() -> (RgbImage, DepthImage, CameraBlock) {
    // `testdata::game_scene` at t = 0: eye (0, 1.6, 0) looking down -Z, vertical FOV 60°.
    let depth = testdata::game_scene(W, H, 0.0);
    let camera = CameraBlock {
        frame_index: 0,
        pose: CameraPose { position: [0.0, 1.6, 0.0], ..CameraPose::default() },
        intrinsics: Intrinsics::from_fov_y(60f32.to_radians(), W, H, 0.1),
    };
    let mut colour = RgbImage { width: W, height: H, data: Vec::with_capacity((W * H * 3) as usize) };
    for v in 0..H {
        for u in 0..W {
            let d = depth.data[(v * W + u) as usize];
            let rgb = if depthcast::packing::is_valid_depth(d) {
                let p = camera.pose.to_world(camera.intrinsics.unproject(u, v, d));
                let cell = (p[0] * 2.0).floor() as i32 + (p[1] * 2.0).floor() as i32 + (p[2] * 2.0).floor() as i32;
                let shade = (255.0 / (1.0 + 0.08 * d)) as u8;
                if cell.rem_euclid(2) == 0 { [shade, shade / 2, 40] } else { [40, shade / 2, shade] }
            } else {
                [150, 190, 235]
            };
            colour.data.extend_from_slice(&rgb);
        }
    }
    (colour, depth, camera)
}

/// The viewer at frame `n`: swaying sideways and turning a little.
fn viewer(n: u32) -> Transform {
    let t = n as f32;
    Transform::from_xyz(0.35 * (0.07 * t).sin(), 1.6 + 0.1 * (0.05 * t).sin(), 0.2 * (0.03 * t).sin())
        .with_rotation(Quat::from_rotation_y(0.08 * (0.04 * t).sin()))
}

fn image(bytes: Vec<u8>, format: TextureFormat) -> Image {
    let size = Extent3d { width: W, height: H, depth_or_array_layers: 1 };
    let mut img = Image::new(size, TextureDimension::D2, bytes, format, RenderAssetUsages::default());
    img.texture_descriptor.usage |= TextureUsages::COPY_SRC | TextureUsages::COPY_DST;
    img
}

#[derive(Component)]
struct Viewer(u32);

/// A read-back output: the viewer's frame number when it was asked for, and the RGBA bytes.
type Frame = (u32, Vec<u8>);

fn sway(mut q: Query<(&mut Transform, &mut Viewer)>) {
    for (mut t, mut v) in &mut q {
        v.0 += 1;
        *t = viewer(v.0);
    }
}

/// The output on a 5:3 unlit quad filling an orthographic camera's view.
fn show(world: &mut World, output: Handle<Image>) {
    use bevy::camera::ScalingMode;
    use bevy::core_pipeline::tonemapping::Tonemapping;
    let material = StandardMaterial { base_color_texture: Some(output), unlit: true, ..default() };
    let material = world.resource_mut::<Assets<StandardMaterial>>().add(material);
    let quad = world.resource_mut::<Assets<Mesh>>().add(Rectangle::new(5.0, 3.0));
    world.spawn((Mesh3d(quad), MeshMaterial3d(material)));
    world.spawn((
        Camera3d::default(),
        Projection::Orthographic(OrthographicProjection {
            scaling_mode: ScalingMode::Fixed { width: 5.0, height: 3.0 },
            ..OrthographicProjection::default_3d()
        }),
        Transform::from_xyz(0.0, 0.0, 5.0).looking_at(Vec3::ZERO, Vec3::Y),
        Tonemapping::None,
    ));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Args { window, out } = clap::Parser::parse();
    let (colour, depth, camera) = source();
    let mut app = App::new();
    if window {
        #[cfg(feature = "window")]
        app.add_plugins(DefaultPlugins.set(bevy::window::WindowPlugin {
            primary_window: Some(Window {
                title: "depthcast reprojection".into(),
                resolution: bevy::window::WindowResolution::new(W, H),
                ..default()
            }),
            ..default()
        }));
        #[cfg(not(feature = "window"))]
        return Err("built without the `window` feature".into());
    } else {
        // Pipelines compiled before the first frame: the frames counted below all reproject.
        let render = bevy::render::RenderPlugin { synchronous_pipeline_compilation: true, ..default() };
        app.add_plugins(depthcast::plugin::headless_plugins().set(render));
    }
    app.add_plugins(ReprojectionPlugin).add_systems(Update, sway);
    let (colour_h, depth_h, output_h) = {
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        let rgba = colour.data.chunks_exact(3).flat_map(|c| [c[0], c[1], c[2], 255]).collect();
        let depth_bytes = depth.data.iter().flat_map(|z| z.to_le_bytes()).collect();
        let blank = vec![0; (W * H * 4) as usize];
        (
            images.add(image(rgba, TextureFormat::Rgba8UnormSrgb)),
            images.add(image(depth_bytes, TextureFormat::R32Float)),
            images.add(image(blank, TextureFormat::Rgba8UnormSrgb)),
        )
    };
    app.world_mut().spawn((viewer(0), Viewer(0), Reprojection::new(colour_h, depth_h, camera, output_h.clone())));
    if window {
        show(app.world_mut(), output_h);
        app.run();
        return Ok(());
    }

    app.finish();
    app.cleanup();
    let got: Arc<Mutex<Option<Frame>>> = Arc::default();
    let mut readback = None;
    for n in 0..FRAMES + 8 {
        app.update();
        if n + 1 == FRAMES {
            let sink = got.clone();
            let viewer = app.world_mut().query::<&Viewer>().single(app.world()).map(|v| v.0)?;
            let mut e = app.world_mut().spawn(Readback::texture(output_h.clone()));
            e.observe(move |event: On<ReadbackComplete>| {
                sink.lock().unwrap().get_or_insert((viewer, event.data.clone()));
            });
            readback = Some(e.id());
        }
        if got.lock().unwrap().is_some() {
            break;
        }
    }
    if let Some(e) = readback {
        app.world_mut().despawn(e);
    }
    let (n, data) = got.lock().unwrap().take().ok_or("no readback arrived")?;
    // The readback is of the frame rendered after the pose of frame `n` was extracted (the
    // viewer moved once more in that update's `Update`).
    let mut best = None;
    for k in [n, n + 1, n.saturating_sub(1)] {
        let mut want = RgbImage { width: 0, height: 0, data: Vec::new() };
        let pose = pose_of(&GlobalTransform::from(viewer(k)));
        let stats =
            Reprojector::new(ReprojectSettings::default()).reproject(&colour, &depth, &camera, &pose, &mut want);
        let differ = data.chunks_exact(4).zip(want.data.chunks_exact(3)).filter(|(g, c)| g[..3] != c[..]).count();
        if best.as_ref().is_none_or(|(d, _, _)| differ < *d) {
            best = Some((differ, k, stats));
        }
    }
    let (differ, k, stats) = best.expect("three poses tried");
    println!("frame {k}: {differ} of {} pixels differ from the CPU reprojector; {stats:?}", W * H);
    std::fs::create_dir_all(&out)?;
    let rgb: Vec<u8> = data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    image::save_buffer(out.join("reprojection-out.png"), &rgb, W, H, image::ColorType::Rgb8)?;
    image::save_buffer(out.join("reprojection-source.png"), &colour.data, W, H, image::ColorType::Rgb8)?;
    println!("wrote {}/reprojection-{{source,out}}.png", out.display());
    Ok(())
}
