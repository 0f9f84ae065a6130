//! Receives a depth stream with `DepthReceiverPlugin` and shows it: in false colour (near blue,
//! far red, nothing drawn black) and as a point cloud.
//!
//! ```sh
//! cargo run --release --example bevy_receiver -- udp://127.0.0.1:5600 20
//! # with a window: false colour on the left, the point cloud turning on the right
//! cargo run --release --example bevy_receiver -- udp://127.0.0.1:5600 0 --window
//! ```
//! Arguments: URL, seconds to run (default 20; 0 with `--window`: until the window closes).
//! Options: `--window`, `--fov DEGREES` (the sender's vertical field of view, default 45, to
//! unproject the point cloud), `--screenshot FILE` (with `--window`: save the window at the
//! end). Headless, it prints stats every second and writes the newest depth to `received.png`
//! and its point cloud to `received.ply`. The depth also lives in `ReceivedDepth::image`
//! (`R32Float`, metres) for an app's own materials.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use depthcast::packing::DepthImage;
use depthcast::plugin::{DepthReceiverPlugin, ReceivedDepth};

/// Receives a depth stream with DepthReceiverPlugin and shows it.
#[derive(clap::Parser)]
struct Args {
    /// Where to receive from.
    #[arg(default_value = "udp://127.0.0.1:5600")]
    url: String,
    /// Seconds to run (default 20 headless; 0 with --window: until the window closes).
    secs: Option<f64>,
    /// Show the depth in false colour and as a point cloud in a window.
    #[arg(long)]
    window: bool,
    /// The sender's vertical field of view in degrees (to unproject the point cloud).
    #[arg(long, default_value_t = 45.0)]
    fov: f32,
    /// With --window: save the window to this PNG at the end.
    #[arg(long)]
    screenshot: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Args { url, secs, window, fov, screenshot } = clap::Parser::parse();
    let secs = secs.unwrap_or(if window { 0.0 } else { 20.0 });
    let fov_y = fov.to_radians();
    println!("receiving {url}{}", if secs > 0.0 { format!(" for {secs} s") } else { String::new() });
    if window {
        return windowed::run(url, secs, fov_y, screenshot);
    }

    let mut app = DepthReceiverPlugin { url, ..Default::default() }.headless_app();
    let start = Instant::now();
    let mut last = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        app.update();
        std::thread::sleep(Duration::from_millis(5));
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            let d = app.world().resource::<ReceivedDepth>();
            print_line(d);
            if d.frames > 0 {
                let (w, h) = (d.depth.width, d.depth.height);
                image::RgbaImage::from_raw(w, h, false_colour(&d.depth)).ok_or("image size")?.save("received.png")?;
                write_ply(&point_cloud(&d.depth, fov_y, 1), "received.ply")?;
            }
        }
    }
    Ok(())
}

fn print_line(d: &ReceivedDepth) {
    println!(
        "{} frames, {} gaps, {} connections, frame {:?}, {} bytes, {:?}",
        d.frames,
        d.gaps,
        d.connections,
        d.params.map(|p| p.frame_index),
        d.bytes,
        d.last_error
    );
}

/// RGBA8 false colour over the frame's valid depth range: near blue, far red, invalid black.
fn false_colour(depth: &DepthImage) -> Vec<u8> {
    let valid = depth.data.iter().copied().filter(|z| z.is_finite() && *z > 0.0);
    let (lo, hi) = valid.fold((f32::INFINITY, 0f32), |(l, h), z| (l.min(z), h.max(z)));
    let mut out = Vec::with_capacity(depth.data.len() * 4);
    for &z in &depth.data {
        if !(z.is_finite() && z > 0.0) {
            out.extend_from_slice(&[0, 0, 0, 255]);
            continue;
        }
        let [r, g, b] = ramp(((z - lo) / (hi - lo).max(1e-6)).clamp(0.0, 1.0));
        out.extend_from_slice(&[r, g, b, 255]);
    }
    out
}

fn ramp(t: f32) -> [u8; 3] {
    [(255.0 * t) as u8, (255.0 * (1.0 - (2.0 * t - 1.0).abs())) as u8, (255.0 * (1.0 - t)) as u8]
}

/// Camera-space points (x right, y up, z towards the viewer, metres) of every `step`-th pixel
/// with depth, unprojected with a pinhole of vertical field of view `fov_y`, and their colours.
fn point_cloud(depth: &DepthImage, fov_y: f32, step: u32) -> Vec<([f32; 3], [u8; 3])> {
    let fy = 0.5 * depth.height as f32 / (0.5 * fov_y).tan();
    let (cx, cy) = (0.5 * depth.width as f32, 0.5 * depth.height as f32);
    let valid = depth.data.iter().copied().filter(|z| z.is_finite() && *z > 0.0);
    let (lo, hi) = valid.fold((f32::INFINITY, 0f32), |(l, h), z| (l.min(z), h.max(z)));
    let mut points = Vec::new();
    for v in (0..depth.height).step_by(step as usize) {
        for u in (0..depth.width).step_by(step as usize) {
            let z = depth.data[(v * depth.width + u) as usize];
            if !(z.is_finite() && z > 0.0) {
                continue;
            }
            let x = (u as f32 + 0.5 - cx) / fy * z;
            let y = -(v as f32 + 0.5 - cy) / fy * z;
            points.push(([x, y, -z], ramp(((z - lo) / (hi - lo).max(1e-6)).clamp(0.0, 1.0))));
        }
    }
    points
}

/// ASCII PLY with colours (MeshLab, CloudCompare and Blender read it).
fn write_ply(points: &[([f32; 3], [u8; 3])], path: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "ply\nformat ascii 1.0\nelement vertex {}", points.len())?;
    writeln!(f, "property float x\nproperty float y\nproperty float z")?;
    writeln!(f, "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header")?;
    for ([x, y, z], [r, g, b]) in points {
        writeln!(f, "{x} {y} {z} {r} {g} {b}")?;
    }
    f.flush()
}

#[cfg(not(feature = "window"))]
mod windowed {
    pub(crate) fn run(_: String, _: f64, _: f32, _: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
        Err("built without the `window` feature".into())
    }
}

/// The window: two viewports, the false-colour image on the left (orthographic camera) and the
/// point cloud on the right (a perspective camera circling it).
#[cfg(feature = "window")]
mod windowed {
    use bevy::asset::RenderAssetUsages;
    use bevy::camera::visibility::RenderLayers;
    use bevy::camera::{ScalingMode, Viewport};
    use bevy::core_pipeline::tonemapping::Tonemapping;
    use bevy::mesh::PrimitiveTopology;
    use bevy::prelude::*;
    use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
    use bevy::render::view::screenshot::{Screenshot, save_to_disk};
    use bevy::window::{WindowPlugin, WindowResolution};
    use depthcast::plugin::{DepthReceiverPlugin, ReceivedDepth};

    const W: u32 = 1280;
    const H: u32 = 480;

    #[derive(Resource)]
    struct View {
        image: Handle<Image>,
        material: Handle<StandardMaterial>,
        cloud: Handle<Mesh>,
        fov_y: f32,
        frames: u64,
        /// Centre and size of the cloud, smoothed, to frame it.
        centre: Vec3,
        radius: f32,
        secs: f64,
        screenshot: Option<String>,
        /// Updates since the screenshot was asked for (it is saved a few frames later).
        shot: Option<u32>,
    }

    pub(crate) fn run(
        url: String,
        secs: f64,
        fov_y: f32,
        screenshot: Option<String>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let mut app = App::new();
        app.add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: format!("depthcast receiver: {url}"),
                resolution: WindowResolution::new(W, H),
                resizable: false,
                ..default()
            }),
            ..default()
        }))
        .add_plugins(DepthReceiverPlugin { url, ..Default::default() })
        .insert_resource(ClearColor(Color::srgb(0.05, 0.05, 0.08)))
        .add_systems(
            Startup,
            move |commands: Commands,
                  images: ResMut<Assets<Image>>,
                  materials: ResMut<Assets<StandardMaterial>>,
                  meshes: ResMut<Assets<Mesh>>| {
                setup(commands, images, materials, meshes, fov_y, secs, screenshot.clone())
            },
        )
        .add_systems(Update, (update_view, orbit, finish).chain());
        match app.run() {
            AppExit::Success => Ok(()),
            AppExit::Error(code) => Err(format!("the app exited with code {code}").into()),
        }
    }

    fn setup(
        mut commands: Commands,
        mut images: ResMut<Assets<Image>>,
        mut materials: ResMut<Assets<StandardMaterial>>,
        mut meshes: ResMut<Assets<Mesh>>,
        fov_y: f32,
        secs: f64,
        screenshot: Option<String>,
    ) {
        let image = images.add(Image::new_fill(
            Extent3d { width: 4, height: 3, depth_or_array_layers: 1 },
            TextureDimension::D2,
            &[0, 0, 0, 255],
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::default(),
        ));
        let material =
            materials.add(StandardMaterial { base_color_texture: Some(image.clone()), unlit: true, ..default() });
        // The image: a 4:3 quad filling the left viewport, on layer 1.
        commands.spawn((
            Mesh3d(meshes.add(Rectangle::new(4.0, 3.0))),
            MeshMaterial3d(material.clone()),
            RenderLayers::layer(1),
            ImageQuad,
        ));
        commands.spawn((
            Camera3d::default(),
            Camera {
                viewport: Some(Viewport {
                    physical_position: UVec2::ZERO,
                    physical_size: UVec2::new(W / 2, H),
                    ..default()
                }),
                ..default()
            },
            Projection::Orthographic(OrthographicProjection {
                scaling_mode: ScalingMode::Fixed { width: 4.0, height: 3.0 },
                ..OrthographicProjection::default_3d()
            }),
            Transform::from_xyz(0.0, 0.0, 5.0).looking_at(Vec3::ZERO, Vec3::Y),
            Tonemapping::None,
            RenderLayers::layer(1),
        ));
        // The point cloud on layer 2, seen by a perspective camera in the right viewport.
        let mut mesh = Mesh::new(PrimitiveTopology::PointList, RenderAssetUsages::default());
        mesh.insert_attribute(Mesh::ATTRIBUTE_POSITION, vec![[0.0f32; 3]]);
        mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, vec![[0.0f32; 4]]);
        let cloud = meshes.add(mesh);
        commands.spawn((
            Mesh3d(cloud.clone()),
            MeshMaterial3d(materials.add(StandardMaterial { unlit: true, ..default() })),
            RenderLayers::layer(2),
        ));
        commands.spawn((
            Camera3d::default(),
            Camera {
                order: 1,
                viewport: Some(Viewport {
                    physical_position: UVec2::new(W / 2, 0),
                    physical_size: UVec2::new(W / 2, H),
                    ..default()
                }),
                ..default()
            },
            Transform::from_xyz(0.0, 0.0, 1.0).looking_at(Vec3::ZERO, Vec3::Y),
            Tonemapping::None,
            RenderLayers::layer(2),
            CloudCamera,
        ));
        commands.insert_resource(View {
            image,
            material,
            cloud,
            fov_y,
            frames: 0,
            centre: Vec3::ZERO,
            radius: 0.0,
            secs,
            screenshot,
            shot: None,
        });
    }

    #[derive(Component)]
    struct CloudCamera;

    #[derive(Component)]
    struct ImageQuad;

    #[allow(clippy::too_many_arguments, reason = "a Bevy system: each parameter is a resource or query it uses")]
    fn update_view(
        depth: Res<ReceivedDepth>,
        mut view: ResMut<View>,
        mut images: ResMut<Assets<Image>>,
        mut meshes: ResMut<Assets<Mesh>>,
        mut materials: ResMut<Assets<StandardMaterial>>,
        mut quad: Query<&mut Transform, With<ImageQuad>>,
        mut last_print: Local<f64>,
        time: Res<Time<Real>>,
    ) {
        if time.elapsed_secs_f64() - *last_print >= 1.0 {
            *last_print = time.elapsed_secs_f64();
            super::print_line(&depth);
        }
        if depth.frames == view.frames || depth.depth.data.is_empty() {
            return;
        }
        view.frames = depth.frames;
        let (w, h) = (depth.depth.width, depth.depth.height);
        let new = Image::new(
            Extent3d { width: w, height: h, depth_or_array_layers: 1 },
            TextureDimension::D2,
            super::false_colour(&depth.depth),
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::default(),
        );
        // A new image each frame, set on the material: the material then binds it for certain
        // (replacing the contents of an image a material already bound left it black here).
        let old = std::mem::replace(&mut view.image, images.add(new));
        images.remove(&old);
        if let Some(mut m) = materials.get_mut(&view.material) {
            m.base_color_texture = Some(view.image.clone());
        }
        // Fit the 4:3 quad to the frame's aspect.
        if let Ok(mut tf) = quad.single_mut() {
            let aspect = w as f32 / h.max(1) as f32;
            tf.scale = if aspect > 4.0 / 3.0 {
                Vec3::new(1.0, 4.0 / 3.0 / aspect, 1.0)
            } else {
                Vec3::new(aspect * 3.0 / 4.0, 1.0, 1.0)
            };
        }
        let points = super::point_cloud(&depth.depth, view.fov_y, 2);
        if points.is_empty() {
            return;
        }
        let n = points.len() as f32;
        let centre = points.iter().fold(Vec3::ZERO, |c, (p, _)| c + Vec3::from(*p)) / n;
        let radius = points.iter().map(|(p, _)| (Vec3::from(*p) - centre).length()).fold(0.0f32, f32::max);
        if view.radius == 0.0 {
            (view.centre, view.radius) = (centre, radius);
        } else {
            view.centre = view.centre.lerp(centre, 0.1);
            view.radius += 0.1 * (radius - view.radius);
        }
        if let Some(mut mesh) = meshes.get_mut(&view.cloud) {
            let pos: Vec<[f32; 3]> = points.iter().map(|(p, _)| *p).collect();
            let col: Vec<[f32; 4]> =
                points.iter().map(|(_, c)| Color::srgb_u8(c[0], c[1], c[2]).to_linear().to_f32_array()).collect();
            mesh.insert_attribute(Mesh::ATTRIBUTE_POSITION, pos);
            mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, col);
        }
    }

    /// Circles the cloud, looking at its centre from a little above.
    fn orbit(view: Res<View>, time: Res<Time<Real>>, mut camera: Query<&mut Transform, With<CloudCamera>>) {
        let Ok(mut tf) = camera.single_mut() else { return };
        let r = view.radius.max(1e-3) * 1.6;
        let a = 0.4 * time.elapsed_secs();
        let eye = view.centre + Vec3::new(r * a.sin(), 0.35 * r, r * a.cos());
        *tf = Transform::from_translation(eye).looking_at(view.centre, Vec3::Y);
    }

    /// Exits after `secs` of wall-clock time (0: never), taking the screenshot first and leaving
    /// it ten frames to be read back and saved.
    fn finish(mut view: ResMut<View>, time: Res<Time<Real>>, mut commands: Commands, mut exit: MessageWriter<AppExit>) {
        if view.secs <= 0.0 {
            return;
        }
        match view.shot {
            None if time.elapsed_secs_f64() >= view.secs => {
                view.shot = Some(0);
                if let Some(path) = view.screenshot.clone() {
                    commands.spawn(Screenshot::primary_window()).observe(save_to_disk(path));
                }
            }
            Some(n) if n >= 10 => {
                exit.write(AppExit::Success);
            }
            Some(n) => view.shot = Some(n + 1),
            None => {}
        }
    }
}
