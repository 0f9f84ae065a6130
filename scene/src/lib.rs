//! # depthcast-scene
//!
//! A headless scene renderer: loads a glTF (or the built-in room, or a procedural [`Level`]), moves a camera along a
//! [`CameraPath`], plays the scene's animation and yields one
//! [`DepthFrame`](depthcast_plugin::DepthFrame) per sequence frame. It is what `depthcast render`,
//! the demo, the examples and the GPU tests render with; a game that adds `depthcast-plugin` does
//! not compile it (nor glTF loading and animation).
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `window` | off | [`SceneRenderer::run_windowed`]: the offscreen render shown in a window (winit, X11) |
//!
//! Headless set-up: no window and no winit; the camera renders into an offscreen image and the
//! depth comes back through [`DepthCapturePlugin`](depthcast_plugin::DepthCapturePlugin). On a machine without a GPU, Mesa's software
//! Vulkan driver works (Debian: `mesa-vulkan-drivers libvulkan1`; set `WGPU_BACKEND=vulkan` to
//! skip probing other back-ends). Pipelines are compiled synchronously, time advances by exactly
//! `1 / fps` per frame (animations are deterministic), shadows are switched off and materials
//! drawn unlit (depth needs neither), and frames are only counted once a readback contains
//! geometry.

mod builtin;
mod camera_path;
mod level;
mod renderer;
#[cfg(feature = "window")]
mod window;

use std::path::PathBuf;

pub use builtin::FLOOR_COLOURS as BUILTIN_FLOOR_COLOURS;
pub use camera_path::{CameraPath, Keyframe, PathFile, PathSpace, SceneBounds};
pub use level::{LEVEL_PATH_SECONDS, LEVEL_SCENE_PREFIX, Level, LevelKind, Motion, Part, Shape};
pub use renderer::SceneRenderer;

use depthcast_packing::{CameraBlock, DepthImage, YuvFrame};

/// Pass as [`SceneRenderConfig::scene`] to render the built-in room (no file needed).
pub const BUILTIN_SCENE: &str = "builtin:room";

/// What to render.
#[derive(Debug, Clone)]
pub struct SceneRenderConfig {
    /// A `.glb` or `.gltf` file; its default scene (else scene 0) is spawned. [`BUILTIN_SCENE`]
    /// renders the built-in room instead, `level:SEED` ([`LEVEL_SCENE_PREFIX`]) a procedural
    /// [`Level`] (whose own [`Level::camera_path`] is [`SceneRenderConfig::new`]'s path).
    pub scene: PathBuf,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Frames per second of the sequence (time step of the camera path and animations).
    pub fps: f64,
    /// Frames to deliver.
    pub frames: u32,
    /// Camera motion.
    pub path: CameraPath,
    /// Vertical field of view in radians (default 45°).
    pub fov_y: f32,
    /// Near plane in metres; `None`: 2 % of the scene radius, clamped to 5 mm ..= 10 cm.
    pub near: Option<f32>,
    /// Index of the glTF animation to loop on every animation player (`None`: no animation).
    pub animation: Option<usize>,
    /// Install Bevy's log plugin (once per process; warnings and errors only).
    pub log: bool,
    /// Updates to wait for loading and the first frame with geometry before giving up.
    pub warmup_limit: u32,
    /// Also stream the depth with this sender (put [`depthcast_plugin::DepthSender`] on
    /// [`SceneRenderer::camera`]; the sender then consumes the depth frames, so drive the app
    /// with [`SceneRenderer::app_mut`]`().update()` instead of [`SceneRenderer::next_frame`]).
    pub sender: Option<depthcast_plugin::DepthSenderPlugin>,
    /// Also capture the camera's colour ([`depthcast_plugin::ColourCapturePlugin`], YUV 4:2:0 on
    /// the GPU), for [`SceneRenderer::next_rgbd`] (default `false`).
    pub colour: bool,
    /// Also show the camera's view in a window of `width x height` (needs the `window` feature
    /// and a display); run it with [`SceneRenderer::run_windowed`].
    pub window: bool,
}

impl SceneRenderConfig {
    /// Defaults for a scene file: 1280x720, 30 fps, 300 frames, orbit (a `level:SEED`: the
    /// level's own path), 45°, animation 0.
    pub fn new(scene: impl Into<PathBuf>) -> Self {
        let scene = scene.into();
        let path =
            scene.to_str().and_then(Level::parse_name).map_or(CameraPath::Orbit, |s| Level::from_seed(s).camera_path());
        SceneRenderConfig {
            scene,
            width: 1280,
            height: 720,
            fps: 30.0,
            frames: 300,
            path,
            fov_y: std::f32::consts::FRAC_PI_4,
            near: None,
            animation: Some(0),
            log: true,
            warmup_limit: 1200,
            sender: None,
            colour: false,
            window: false,
        }
    }
}

/// Errors of [`SceneRenderer`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// No usable graphics adapter.
    #[error(
        "no GPU adapter: wgpu found no usable device (without a GPU install Mesa's software Vulkan: \
         `apt-get install mesa-vulkan-drivers libvulkan1`, and set WGPU_BACKEND=vulkan)"
    )]
    NoAdapter,
    /// A window was asked for, but this build has no window support.
    #[error("this build has no window support: enable the `window` feature of depthcast-plugin")]
    NoWindowSupport,
    /// The scene file is missing or failed to load.
    #[error("{path}: {reason}")]
    SceneLoad {
        /// The scene file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Nothing visible (or nothing loaded) within the warm-up limit.
    #[error("{what} after {updates} updates")]
    Timeout {
        /// What did not happen.
        what: String,
        /// Updates waited.
        updates: u32,
    },
    /// [`SceneRenderer::next_rgbd`] was called on a renderer built without
    /// [`SceneRenderConfig::colour`].
    #[error("colour was not captured: set SceneRenderConfig::colour")]
    NoColour,
    /// The colour of a depth frame never came back (dropped by the colour capture).
    #[error(
        "the colour of capture frame {expected} was not captured (got frame {got}); {dropped} colour frames dropped"
    )]
    LostColour {
        /// Capture frame index expected.
        expected: u32,
        /// Capture frame index received instead.
        got: u32,
        /// Drop counter of the colour capture.
        dropped: u64,
    },
    /// A rendered frame never came back (dropped by the capture).
    #[error("frame {expected} was not captured (got frame {got}); {dropped} frames dropped")]
    LostFrame {
        /// Sequence frame expected.
        expected: u32,
        /// Sequence frame received instead.
        got: u32,
        /// Drop counter of the capture.
        dropped: u64,
    },
}

/// One rendered frame's colour, depth and camera, from [`SceneRenderer::next_rgbd`]: all three of
/// the same rendered frame (the same capture index).
#[derive(Debug, Clone)]
pub struct RgbdCapture {
    /// Sequence frame (0 for the first frame delivered; its time is
    /// [`SceneRenderer::time`]`(frame)`); also the camera block's `frame_index`.
    pub frame: u32,
    /// View depth in metres, 0 where nothing was drawn.
    pub depth: DepthImage,
    /// The rendered colour, full-range BT.709 4:2:0, 8-bit, the depth's size rounded up to even.
    pub colour: YuvFrame,
    /// Pose (camera → world) and pinhole intrinsics of the frame.
    pub camera: CameraBlock,
}

/// Facts about the scene and camera, known once the renderer is ready.
#[derive(Debug, Clone, Copy)]
pub struct SceneInfo {
    /// World bounds of the scene's meshes.
    pub bounds: SceneBounds,
    /// Near plane in metres.
    pub near: f32,
    /// Vertical field of view in radians.
    pub fov_y: f32,
    /// Pinhole intrinsics in pixels: `(fx, fy, cx, cy)`.
    pub intrinsics: [f32; 4],
    /// Animation clips in the file.
    pub animations: usize,
    /// Mesh entities in the scene.
    pub meshes: usize,
    /// Updates spent loading and warming up.
    pub warmup_updates: u32,
}
