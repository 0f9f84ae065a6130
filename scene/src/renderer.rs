//! [`SceneRenderer`]: the app, the scene's loading and placement, and one depth frame per call.

use std::path::Path;
use std::time::Duration;

use bevy::animation::{AnimationPlayer, graph::AnimationGraph, graph::AnimationGraphHandle};
use bevy::asset::{AssetMetaCheck, LoadState};
use bevy::camera::RenderTarget;
use bevy::camera::primitives::Aabb;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::gltf::Gltf;
use bevy::log::{Level, LogPlugin};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::TextureFormat;
use bevy::render::renderer::RenderDevice;
use bevy::render::settings::WgpuSettings;
use bevy::time::TimeUpdateStrategy;
use bevy::world_serialization::{WorldAssetRoot, WorldInstanceReady};
use depthcast_packing::{DepthImage, INVALID_DEPTH, YuvFrame};
use depthcast_plugin::capture::{CaptureClock, DepthCapture, DepthCapturePlugin, DepthFrame, DepthFrames};
use depthcast_plugin::colour::{ColourCapture, ColourCapturePlugin, ColourFrames};
use depthcast_plugin::pack::GpuPackPlugin;

use crate::{BUILTIN_SCENE, RenderError, RgbdCapture, SceneBounds, SceneInfo, SceneRenderConfig, builtin};

#[derive(Resource, Default)]
struct SceneReady(bool);

/// Renders a scene headless, one [`DepthFrame`] per call to [`SceneRenderer::next_frame`] (or one
/// [`RgbdCapture`] per call to [`SceneRenderer::next_rgbd`]).
pub struct SceneRenderer {
    app: App,
    cfg: SceneRenderConfig,
    camera: Entity,
    info: SceneInfo,
    /// Capture index of sequence frame 0.
    base: u32,
    issued: u32,
    delivered: u32,
    /// Updates in a row that issued no new frame (see [`SceneRenderer::pump`]).
    idle: u32,
}

impl SceneRenderer {
    /// Builds the app, loads the scene, places the camera and waits until depth with geometry
    /// comes back.
    ///
    /// # Errors
    /// No adapter, a scene that does not load, or no geometry within `warmup_limit` updates.
    pub fn new(cfg: SceneRenderConfig) -> Result<Self, RenderError> {
        let builtin = cfg.scene.as_os_str() == BUILTIN_SCENE;
        let level = cfg.scene.to_str().and_then(crate::Level::parse_name).map(crate::Level::from_seed);
        let scene = std::path::absolute(&cfg.scene).unwrap_or_else(|_| cfg.scene.clone());
        if !builtin && level.is_none() && !scene.is_file() {
            return Err(RenderError::SceneLoad { path: cfg.scene.clone(), reason: "no such file".into() });
        }
        let dir = scene.parent().unwrap_or(Path::new(".")).to_string_lossy().into_owned();
        let file = scene.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();

        let mut app = App::new();
        let plugins = if cfg.window {
            #[cfg(not(feature = "window"))]
            return Err(RenderError::NoWindowSupport);
            #[cfg(feature = "window")]
            crate::window::plugins(&cfg)
        } else {
            depthcast_plugin::headless_plugins()
        };
        let plugins = plugins
            .set(AssetPlugin { file_path: dir, meta_check: AssetMetaCheck::Never, ..default() })
            .set(RenderPlugin {
                render_creation: WgpuSettings::default().into(),
                synchronous_pipeline_compilation: true,
                ..default()
            })
            .set(LogPlugin { level: Level::WARN, filter: "wgpu=error,naga=warn".into(), ..default() })
            // One update renders one frame, in order: no render thread running a frame behind
            // (it would also take the render sub-app out of reach of the adapter check below).
            .disable::<PipelinedRenderingPlugin>();
        if cfg.log {
            app.add_plugins(plugins);
        } else {
            app.add_plugins(plugins.disable::<LogPlugin>());
        }
        app.add_plugins((DepthCapturePlugin::default(), GpuPackPlugin::default()));
        if cfg.colour {
            app.add_plugins(ColourCapturePlugin::default());
        }
        if let Some(sender) = cfg.sender.clone() {
            app.add_plugins(sender);
        }
        app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(1.0 / cfg.fps)))
            .insert_resource(ClearColor(Color::BLACK))
            .init_resource::<SceneReady>();
        app.finish();
        app.cleanup();
        let has_device =
            app.get_sub_app(bevy::render::RenderApp).is_some_and(|r| r.world().contains_resource::<RenderDevice>());
        if !has_device {
            return Err(RenderError::NoAdapter);
        }

        let world = app.world_mut();
        let target = {
            let mut images = world.resource_mut::<Assets<Image>>();
            images.add(Image::new_target_texture(cfg.width, cfg.height, TextureFormat::Rgba8UnormSrgb, None))
        };
        let aspect = cfg.width as f32 / cfg.height as f32;
        let camera = world
            .spawn((
                Camera3d::default(),
                RenderTarget::Image(target.into()),
                Projection::Perspective(PerspectiveProjection { fov: cfg.fov_y, aspect_ratio: aspect, ..default() }),
                Tonemapping::None,
                Msaa::Off,
                DepthCapture::default(),
                Transform::default(),
            ))
            .id();
        if cfg.colour {
            world.entity_mut(camera).insert(ColourCapture::default());
        }
        let mut updates = 0u32;
        let fail = |what: &str, updates| RenderError::Timeout { what: what.into(), updates };
        let clips = if builtin {
            builtin::spawn(app.world_mut());
            app.add_systems(Update, builtin::animate);
            Vec::new()
        } else if let Some(level) = &level {
            level.spawn(app.world_mut());
            app.add_systems(Update, crate::level::animate);
            Vec::new()
        } else {
            load_gltf(&mut app, &cfg, file, &mut updates)?
        };
        // Bounds are computed in PostUpdate of the next update.
        app.update();
        updates += 1;
        prepare_scene(app.world_mut(), cfg.animation.and_then(|i| clips.get(i).cloned()), !cfg.window);
        app.update();
        updates += 1;
        let (bounds, meshes) = scene_bounds(app.world_mut()).ok_or_else(|| RenderError::SceneLoad {
            path: cfg.scene.clone(),
            reason: "the scene has no meshes".into(),
        })?;

        // 3. Place the camera at the path's start and wait for a readback with geometry.
        let near = cfg.near.unwrap_or((0.02 * bounds.radius()).clamp(0.005, 0.1));
        let fy = 0.5 * cfg.height as f32 / (cfg.fov_y * 0.5).tan();
        let info = SceneInfo {
            bounds,
            near,
            fov_y: cfg.fov_y,
            intrinsics: [fy, fy, 0.5 * cfg.width as f32, 0.5 * cfg.height as f32],
            animations: clips.len(),
            meshes,
            warmup_updates: 0,
        };
        {
            let world = app.world_mut();
            let pose = cfg.path.pose(0.0, &bounds, cfg.fov_y, aspect);
            let mut e = world.entity_mut(camera);
            *e.get_mut::<Transform>().expect("camera transform") = pose;
            if let Some(mut p) = e.get_mut::<Projection>()
                && let Projection::Perspective(p) = p.as_mut()
            {
                p.near = near;
            }
        }
        let placed = app.world().resource::<CaptureClock>().frame + 1;
        loop {
            app.update();
            updates += 1;
            let frames = app.world().resource::<DepthFrames>().clone();
            let mut seen = false;
            while let Some(f) = frames.try_recv() {
                seen |= f.index >= placed && f.data.iter().any(|z| z.is_finite());
                frames.recycle(f);
            }
            if seen {
                break;
            }
            if updates > cfg.warmup_limit {
                return Err(fail("no geometry in view", updates));
            }
        }
        let base = app.world().resource::<CaptureClock>().frame + 1;
        Ok(SceneRenderer {
            app,
            cfg,
            camera,
            info: SceneInfo { warmup_updates: updates, ..info },
            base,
            issued: 0,
            delivered: 0,
            idle: 0,
        })
    }

    /// The camera entity (to add components such as [`depthcast_plugin::GpuPack`]).
    pub fn camera(&self) -> Entity {
        self.camera
    }

    /// The app (its world holds [`DepthFrames`] and [`depthcast_plugin::PackedFrames`]).
    pub fn app_mut(&mut self) -> &mut App {
        &mut self.app
    }

    /// Scene bounds, intrinsics and near plane.
    pub fn info(&self) -> &SceneInfo {
        &self.info
    }

    /// Sequence time of frame `k` in seconds.
    pub fn time(&self, frame: u32) -> f64 {
        f64::from(frame) / self.cfg.fps
    }

    /// Places the camera where the camera path is at sequence frame `frame`: for apps driven by
    /// [`SceneRenderer::app_mut`]`().update()` (a sender consuming the frames), call it before
    /// each update so the camera moves along the path ([`SceneRenderer::next_frame`] does it
    /// itself).
    pub fn place_camera(&mut self, frame: u32) {
        let aspect = self.cfg.width as f32 / self.cfg.height as f32;
        let t = self.time(frame) as f32;
        let pose = self.cfg.path.pose(t, &self.info.bounds, self.cfg.fov_y, aspect);
        *self.app.world_mut().get_mut::<Transform>(self.camera).expect("camera") = pose;
    }

    /// The next sequence frame (`None` after `frames`). Its `index` is the capture clock; the
    /// sequence index is the number of frames returned before it.
    ///
    /// # Errors
    /// A frame that was not captured, or no frame for a long time.
    pub fn next_frame(&mut self) -> Result<Option<DepthFrame>, RenderError> {
        if self.delivered >= self.cfg.frames {
            return Ok(None);
        }
        let frames = self.app.world().resource::<DepthFrames>().clone();
        self.idle = 0;
        loop {
            while let Some(f) = frames.try_recv() {
                if f.camera != self.camera || f.index < self.base + self.delivered {
                    frames.recycle(f);
                    continue;
                }
                let got = f.index - self.base;
                if got != self.delivered {
                    return Err(RenderError::LostFrame { expected: self.delivered, got, dropped: frames.dropped() });
                }
                self.delivered += 1;
                return Ok(Some(f));
            }
            self.pump()?;
        }
    }

    /// One update: places the camera for the next sequence frame while at most 3 frames are in
    /// flight, else only renders (and collects readbacks).
    ///
    /// # Errors
    /// 120 updates in a row without a new frame to issue.
    fn pump(&mut self) -> Result<(), RenderError> {
        if self.issued < self.cfg.frames && self.issued < self.delivered + 3 {
            self.place_camera(self.issued);
            self.issued += 1;
        } else {
            self.idle += 1;
            if self.idle > 120 {
                return Err(RenderError::Timeout {
                    what: format!("frame {} never came back", self.delivered),
                    updates: self.idle,
                });
            }
        }
        self.app.update();
        Ok(())
    }

    /// The next sequence frame's depth, colour and camera (`None` after `frames`): the
    /// [`DepthFrame`] of [`SceneRenderer::next_frame`] paired with the
    /// [`ColourFrame`](depthcast_plugin::ColourFrame) of the same capture index (the same rendered
    /// frame: same camera pose, same animation time). Needs [`SceneRenderConfig::colour`].
    ///
    /// # Errors
    /// [`RenderError::NoColour`] without colour capture; a frame whose depth or colour was not
    /// captured; no frame for a long time.
    pub fn next_rgbd(&mut self) -> Result<Option<RgbdCapture>, RenderError> {
        if !self.cfg.colour {
            return Err(RenderError::NoColour);
        }
        let Some(depth) = self.next_frame()? else { return Ok(None) };
        let frame = self.delivered - 1;
        let colours = self.app.world().resource::<ColourFrames>().clone();
        let mut colour = None;
        while colour.is_none() {
            while let Some(c) = colours.try_recv() {
                if c.camera != self.camera || c.index < depth.index {
                    colours.recycle(c);
                    continue;
                }
                if c.index != depth.index {
                    return Err(RenderError::LostColour {
                        expected: depth.index,
                        got: c.index,
                        dropped: colours.dropped(),
                    });
                }
                colour = Some(c);
                break;
            }
            if colour.is_none() {
                // Its readback is mapped with the depth's; one more update collects it.
                self.pump()?;
            }
        }
        let colour = colour.expect("found above");
        let mut yuv = YuvFrame::new(2, 2, depthcast_packing::BitDepth::Eight);
        colour.yuv_into(&mut yuv);
        colours.recycle(colour);
        let data = depth.data.iter().map(|&z| if z.is_finite() && z > 0.0 { z } else { INVALID_DEPTH }).collect();
        let image = DepthImage { width: depth.width, height: depth.height, data };
        // The pose and the projection the frame was rendered with, as the sender plugin sends them.
        let camera = depthcast_plugin::camera::camera_block(
            frame,
            &depth.world_from_view,
            &depth.clip_from_view,
            depth.width,
            depth.height,
        );
        self.recycle(depth);
        Ok(Some(RgbdCapture { frame, depth: image, colour: yuv, camera }))
    }

    /// Shows the render in the window and runs the app (winit's event loop) until the window is
    /// closed or `frames` frames were rendered: the camera flies its path one frame per update,
    /// and the plugins (sender, capture) keep working as with [`SceneRenderer::app_mut`]`().update()`.
    /// Needs [`SceneRenderConfig::window`].
    #[cfg(feature = "window")]
    pub fn run_windowed(self) -> AppExit {
        let aspect = self.cfg.width as f32 / self.cfg.height as f32;
        let fly = crate::window::Fly {
            camera: self.camera,
            path: self.cfg.path.clone(),
            bounds: self.info.bounds,
            fov_y: self.cfg.fov_y,
            aspect,
            fps: self.cfg.fps,
            frames: self.cfg.frames,
            frame: 0,
        };
        crate::window::run(self.app, fly, (self.cfg.width, self.cfg.height))
    }

    /// Gives a frame's buffer back to the capture (avoids an allocation per frame).
    pub fn recycle(&self, frame: DepthFrame) {
        self.app.world().resource::<DepthFrames>().recycle(frame);
    }
}

/// Loads a glTF file's default scene (else scene 0), spawns it and waits for the instance;
/// returns its animation clips.
fn load_gltf(
    app: &mut App,
    cfg: &SceneRenderConfig,
    file: String,
    updates: &mut u32,
) -> Result<Vec<Handle<AnimationClip>>, RenderError> {
    let gltf: Handle<Gltf> = app.world().resource::<AssetServer>().load(file);
    let fail = |what: &str, updates| RenderError::Timeout { what: what.into(), updates };
    // 1. Load the file (with its buffers and textures).
    loop {
        app.update();
        *updates += 1;
        let server = app.world().resource::<AssetServer>();
        match server.get_load_state(&gltf) {
            Some(LoadState::Failed(e)) => {
                return Err(RenderError::SceneLoad { path: cfg.scene.clone(), reason: e.to_string() });
            }
            _ if server.is_loaded_with_dependencies(&gltf) => break,
            _ => {}
        }
        if *updates > cfg.warmup_limit {
            return Err(fail("the scene did not load", *updates));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // 2. Spawn its scene and wait for the instance.
    let (scene_handle, clips) = {
        let gltfs = app.world().resource::<Assets<Gltf>>();
        let g = gltfs
            .get(&gltf)
            .ok_or_else(|| RenderError::SceneLoad { path: cfg.scene.clone(), reason: "not a glTF".into() })?;
        let scene = g.default_scene.clone().or_else(|| g.scenes.first().cloned());
        (scene, g.animations.clone())
    };
    let scene_handle = scene_handle
        .ok_or_else(|| RenderError::SceneLoad { path: cfg.scene.clone(), reason: "the file has no scene".into() })?;
    app.world_mut()
        .spawn(WorldAssetRoot(scene_handle))
        .observe(|_: On<WorldInstanceReady>, mut ready: ResMut<SceneReady>| ready.0 = true);
    while !app.world().resource::<SceneReady>().0 {
        app.update();
        *updates += 1;
        if *updates > cfg.warmup_limit {
            return Err(fail("the scene did not spawn", *updates));
        }
    }
    Ok(clips)
}

/// Shadows off, materials unlit (depth needs neither), and the chosen animation looping.
/// Shadows off; materials unlit when `unlit` (depth needs no shading), else a key light and
/// ambient light so a window shows the shapes.
fn prepare_scene(world: &mut World, clip: Option<Handle<AnimationClip>>, unlit: bool) {
    for mut l in world.query::<&mut DirectionalLight>().iter_mut(world) {
        l.shadow_maps_enabled = false;
    }
    for mut l in world.query::<&mut PointLight>().iter_mut(world) {
        l.shadow_maps_enabled = false;
    }
    for mut l in world.query::<&mut SpotLight>().iter_mut(world) {
        l.shadow_maps_enabled = false;
    }
    if unlit {
        for (_, m) in world.resource_mut::<Assets<StandardMaterial>>().iter_mut() {
            m.unlit = true;
        }
    } else {
        world.spawn((
            DirectionalLight { illuminance: 1500.0, shadow_maps_enabled: false, ..default() },
            Transform::from_xyz(0.3, 1.0, 0.6).looking_at(Vec3::ZERO, Vec3::Y),
        ));
        world.insert_resource(GlobalAmbientLight { brightness: 100.0, ..default() });
    }
    let Some(clip) = clip else { return };
    let (graph, node) = AnimationGraph::from_clip(clip);
    let graph = world.resource_mut::<Assets<AnimationGraph>>().add(graph);
    let players: Vec<Entity> = world.query_filtered::<Entity, With<AnimationPlayer>>().iter(world).collect();
    for e in players {
        let mut entity = world.entity_mut(e);
        entity.insert(AnimationGraphHandle(graph.clone()));
        if let Some(mut player) = entity.get_mut::<AnimationPlayer>() {
            player.play(node).repeat();
        }
    }
}

/// Union of every mesh's world-space AABB (the eight transformed corners of each local box).
fn scene_bounds(world: &mut World) -> Option<(SceneBounds, usize)> {
    let (mut lo, mut hi, mut n) = (Vec3::splat(f32::INFINITY), Vec3::splat(f32::NEG_INFINITY), 0);
    for (aabb, xf) in world.query_filtered::<(&Aabb, &GlobalTransform), With<Mesh3d>>().iter(world) {
        let (c, h) = (Vec3::from(aabb.center), Vec3::from(aabb.half_extents));
        for i in 0..8 {
            let s = Vec3::new(
                if i & 1 == 0 { -1.0 } else { 1.0 },
                if i & 2 == 0 { -1.0 } else { 1.0 },
                if i & 4 == 0 { -1.0 } else { 1.0 },
            );
            let p = xf.transform_point(c + s * h);
            lo = lo.min(p);
            hi = hi.max(p);
        }
        n += 1;
    }
    (n > 0 && lo.is_finite() && hi.is_finite())
        .then(|| (SceneBounds { center: 0.5 * (lo + hi), half_extents: 0.5 * (hi - lo) }, n))
}
