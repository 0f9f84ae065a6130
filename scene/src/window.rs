//! The windowed mode of [`super::SceneRenderer`]: the capture camera keeps rendering into its
//! offscreen image (so capture and sender behave exactly as headless), and a second camera on its
//! own render layer shows that image on a quad in the window.

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{RenderTarget, ScalingMode};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;
use bevy::window::{ExitCondition, WindowPlugin, WindowResolution};

use crate::{CameraPath, SceneBounds, SceneRenderConfig};

/// Render layer of the viewer quad and camera (the capture camera sees layer 0 only).
const VIEWER_LAYER: usize = 31;

/// `DefaultPlugins` with a primary window of the configured size.
pub(super) fn plugins(cfg: &SceneRenderConfig) -> bevy::app::PluginGroupBuilder {
    DefaultPlugins.build().set(WindowPlugin {
        primary_window: Some(Window {
            title: format!("depthcast: {}", cfg.scene.display()),
            resolution: WindowResolution::new(cfg.width, cfg.height),
            resizable: false,
            ..default()
        }),
        exit_condition: ExitCondition::OnPrimaryClosed,
        ..default()
    })
}

/// The camera's flight, one path step per update.
#[derive(Resource, Clone)]
pub(super) struct Fly {
    pub(super) camera: Entity,
    pub(super) path: CameraPath,
    pub(super) bounds: SceneBounds,
    pub(super) fov_y: f32,
    pub(super) aspect: f32,
    pub(super) fps: f64,
    /// Frames to render before exiting (0: until the window closes).
    pub(super) frames: u32,
    pub(super) frame: u32,
}

fn fly(mut fly: ResMut<Fly>, mut transforms: Query<&mut Transform>, mut exit: MessageWriter<AppExit>) {
    if fly.frames > 0 && fly.frame >= fly.frames {
        exit.write(AppExit::Success);
        return;
    }
    let t = (f64::from(fly.frame) / fly.fps) as f32;
    let pose = fly.path.pose(t, &fly.bounds, fly.fov_y, fly.aspect);
    if let Ok(mut tf) = transforms.get_mut(fly.camera) {
        *tf = pose;
    }
    fly.frame += 1;
}

/// Spawns the viewer (a quad showing the capture camera's image, seen by an orthographic camera
/// drawing to the window) and runs the app's event loop.
pub(super) fn run(mut app: App, fly_state: Fly, size: (u32, u32)) -> AppExit {
    let world = app.world_mut();
    let target = world.get::<RenderTarget>(fly_state.camera).cloned();
    if let Some(RenderTarget::Image(image)) = target {
        let (w, h) = (size.0 as f32, size.1 as f32);
        let mesh = world.resource_mut::<Assets<Mesh>>().add(Rectangle::new(w, h));
        let material = world.resource_mut::<Assets<StandardMaterial>>().add(StandardMaterial {
            base_color_texture: Some(image.handle.clone()),
            unlit: true,
            ..default()
        });
        // Far below the scene, on its own layer: the capture camera never sees it.
        let origin = Vec3::new(0.0, -1.0e6, 0.0);
        world.spawn((
            Mesh3d(mesh),
            MeshMaterial3d(material),
            Transform::from_translation(origin),
            RenderLayers::layer(VIEWER_LAYER),
        ));
        world.spawn((
            Camera3d::default(),
            Camera { order: 1, ..default() },
            Projection::Orthographic(OrthographicProjection {
                scaling_mode: ScalingMode::Fixed { width: w, height: h },
                ..OrthographicProjection::default_3d()
            }),
            Transform::from_translation(origin + Vec3::Z * 10.0).looking_at(origin, Vec3::Y),
            // The image is already display-ready (the capture camera renders without tonemapping).
            Tonemapping::None,
            RenderLayers::layer(VIEWER_LAYER),
        ));
    }
    app.insert_resource(fly_state).add_systems(Update, fly);
    app.run()
}
