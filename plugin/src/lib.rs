//! # depthcast-plugin
//!
//! Bevy glue for depthcast: capture a camera's depth as linear metres on the GPU, pack it on the
//! GPU, and send and receive depth streams through `depthcast-stream`. (The headless glTF
//! renderer of the tools and tests is `depthcast-scene`; a game does not compile it.)
//!
//! | module | what it does |
//! |---|---|
//! | [`capture`] | [`DepthCapture`] camera component + [`DepthCapturePlugin`]: prepass depth → `shaders/linearize_depth.wgsl` → storage buffer → [`DepthFrame`]s |
//! | [`colour`] | [`ColourCapture`] camera component + [`ColourCapturePlugin`]: the rendered image → `shaders/rgb_to_yuv420.wgsl` (BT.709 YUV 4:2:0 on the GPU, bit-exact with `RgbImage::to_yuv420`) → [`ColourFrame`]s with the depth's frame index and pose |
//! | [`pack`] | uniform block and frame layout of `shaders/pack_depth.wgsl` (depth → encoder planes on the GPU, bit-exact with `packing`) |
//! | [`sender`] | [`DepthSenderPlugin`]: capture → GPU packing → encoder thread (drop-oldest queue) → transport URL, with [`DepthSenderStats`]; with `colour`, the camera's colour (GPU YUV 4:2:0) as a second track of one RGB-D stream |
//! | [`reproject`] | [`ReprojectionPlugin`]: an RGB-D frame drawn from a camera's current pose on the GPU (`shaders/reproject.wgsl`, the twin of `depthcast-reproject`) into an image |
//! | [`receiver`] | [`DepthReceiverPlugin`]: URL → decode thread → unpack → [`ReceivedDepth`] (an `R32Float` image in metres; with RGB-D streams the paired colour image, camera pose and intrinsics), reconnecting, gaps counted; [`ReprojectReceived`] keeps a viewer's [`Reprojection`] on the newest frame |
//!
//! Apps driven by `App::update` without a display use [`headless_plugins`] (Bevy's
//! `DefaultPlugins` without a window or winit).
//!
//! ```no_run
//! use bevy::prelude::*;
//! use depthcast_plugin::{DepthCapture, DepthCapturePlugin, DepthFrames};
//!
//! fn print_depth(frames: Res<DepthFrames>) {
//!     while let Some(f) = frames.try_recv() {
//!         let centre = f.data[(f.height / 2 * f.width + f.width / 2) as usize];
//!         println!("frame {}: {centre:.3} m at the centre", f.index);
//!         frames.recycle(f);
//!     }
//! }
//!
//! App::new()
//!     .add_plugins((DefaultPlugins, DepthCapturePlugin::default()))
//!     .add_systems(Startup, |mut commands: Commands| {
//!         commands.spawn((Camera3d::default(), DepthCapture::default()));
//!     })
//!     .add_systems(Update, print_depth)
//!     .run();
//! ```

pub mod camera;
pub mod capture;
pub mod channel;
pub mod colour;
pub mod pack;
mod readback;
pub mod receiver;
pub mod reproject;
pub mod sender;

pub use capture::{DepthCapture, DepthCapturePlugin, DepthFrame, DepthFrames};
pub use colour::{ColourCapture, ColourCapturePlugin, ColourFrame, ColourFrames};
/// How many configurations each round of the sender's keyframe re-probe measures
/// ([`DepthSenderSettings::reprobe_pairs`]).
pub use depthcast_stream::RoundPairs;
pub use pack::{GpuPack, GpuPackPlugin, PackedFrame, PackedFrames};
pub use receiver::{DepthReceiverPlugin, ReceivedDepth, ReceiverStatus, ReprojectReceived};
pub use reproject::{Reprojection, ReprojectionPlugin};
pub use sender::{
    DepthSender, DepthSenderPlugin, DepthSenderSettings, DepthSenderStats, DepthSenderSystems, SentDepth,
};

/// Bevy's `DefaultPlugins` for an app that never opens a window and is driven by `App::update`:
/// no primary window, and (with the `window` feature) no winit event loop, which would fail on a
/// machine without a display.
pub fn headless_plugins() -> bevy::app::PluginGroupBuilder {
    use bevy::prelude::*;
    let plugins = DefaultPlugins.build();
    #[cfg(feature = "window")]
    let plugins = plugins
        .set(bevy::window::WindowPlugin {
            primary_window: None,
            exit_condition: bevy::window::ExitCondition::DontExit,
            ..default()
        })
        .disable::<bevy::winit::WinitPlugin>();
    plugins
}
