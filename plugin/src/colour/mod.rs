//! Colour capture: the camera's rendered image → YUV 4:2:0 (compute) → storage buffer → CPU.
//!
//! Add [`ColourCapturePlugin`], put [`ColourCapture`] on a `Camera3d`, and read [`ColourFrame`]s
//! from the [`ColourFrames`] resource. Frames arrive a couple of updates after they were
//! rendered, each tagged with its [`CaptureClock`](crate::capture::CaptureClock) frame and camera
//! pose exactly as the depth capture's [`DepthFrame`](crate::DepthFrame)s are: with
//! [`DepthCapture`](crate::DepthCapture) on the same camera, the colour and depth frames of one
//! index are the same rendered frame. No colour conversion runs on the CPU.
//!
//! Render-world flow per capturing view:
//! 1. `prepare_buffers` (`Render`, `PrepareResources`): (re)creates the view's storage buffer and
//!    readback ring, uploads size, texel encoding, BT.709 coefficients and the frame tag.
//! 2. `convert` (`Core3d`, after [`Core3dSystems::PostProcess`], before upscaling): binds the
//!    view's main texture, dispatches `shaders/rgb_to_yuv420.wgsl`, copies the planes into a free
//!    staging buffer.
//! 3. `map_readbacks` (after `RenderSystems::Render`): maps the staging buffers just submitted.
//! 4. `collect_readbacks` (next frames): copies mapped planes into recycled vectors and sends them.

mod buffers;
mod pipeline;
mod settings;

use bevy::asset::embedded_asset;
use bevy::core_pipeline::schedule::{Core3d, Core3dSystems};
use bevy::core_pipeline::upscaling::upscaling;
use bevy::prelude::*;
use bevy::render::diagnostic::RecordDiagnostics;
use bevy::render::extract_component::ExtractComponentPlugin;
use bevy::render::render_resource::{BindGroupEntries, ComputePassDescriptor, PipelineCache};
use bevy::render::renderer::{RenderContext, ViewQuery};
use bevy::render::view::ViewTarget;
use bevy::render::{Render, RenderApp, RenderStartup, RenderSystems};

pub use buffers::{ColourCaptureBuffers, ColourFrame, ColourFrames, ViewColourBuffers};
pub use pipeline::{
    COLOUR_HEADER_BYTES, COLOUR_PARAMS_BYTES, COLOUR_TILE, ColourLayout, TexelEncoding, colour_uniform, srgb_decode,
    srgb_midpoints,
};
pub use settings::ColourCapture;

use crate::capture::CaptureClockPlugin;
use buffers::{ColourSender, collect_readbacks, map_readbacks, prepare_buffers};
use pipeline::{ColourPipeline, init_pipeline};

/// Name of the conversion pass's diagnostic span: with Bevy's `RenderDiagnosticsPlugin`, its GPU
/// time is `render/depthcast_rgb_to_yuv420/elapsed_gpu` in the `DiagnosticsStore` (milliseconds).
pub const SPAN_COLOUR: &str = "depthcast_rgb_to_yuv420";

/// Captures the colour of every camera with [`ColourCapture`].
#[derive(Debug, Clone)]
pub struct ColourCapturePlugin {
    /// Frames that may wait in the [`ColourFrames`] channel before new ones are dropped
    /// (default 8).
    pub channel_capacity: usize,
    /// Staging buffers per view (default 4). Readback completes about two frames after
    /// rendering, so fewer than 3 drops frames.
    pub readback_slots: usize,
}

impl Default for ColourCapturePlugin {
    fn default() -> Self {
        ColourCapturePlugin { channel_capacity: 8, readback_slots: 4 }
    }
}

/// Ordering hooks: in the `Core3d` schedule run after [`ColourCaptureSystems::Convert`] to
/// consume [`ViewColourBuffers::storage`]; in `Render`, after [`ColourCaptureSystems::Prepare`]
/// to read this frame's [`ColourCaptureBuffers`].
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColourCaptureSystems {
    /// The conversion compute pass (after post-processing, before upscaling to the output).
    Convert,
    /// In the `Render` schedule: readbacks collected, then this frame's buffers prepared.
    Prepare,
}

impl Plugin for ColourCapturePlugin {
    fn build(&self, app: &mut App) {
        // `rgb_to_yuv420.wgsl` here is a symlink to `shaders/rgb_to_yuv420.wgsl` (see the
        // depth capture's `linearize_depth.wgsl`).
        embedded_asset!(app, "rgb_to_yuv420.wgsl");

        let (frames, sender) = crate::channel::channel::<ColourFrame>(self.channel_capacity, self.readback_slots);
        CaptureClockPlugin::ensure(app);
        app.register_type::<ColourCapture>()
            .insert_resource(frames)
            .add_plugins(ExtractComponentPlugin::<ColourCapture>::default());

        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .insert_resource(sender)
            .insert_resource(ColourCaptureBuffers { slots_per_view: self.readback_slots, ..default() })
            .add_systems(RenderStartup, init_pipeline)
            .add_systems(
                Render,
                (
                    (collect_readbacks, prepare_buffers)
                        .chain()
                        .in_set(RenderSystems::PrepareResources)
                        .in_set(ColourCaptureSystems::Prepare),
                    map_readbacks.after(RenderSystems::Render).before(RenderSystems::Cleanup),
                ),
            )
            // The main texture holds the final image once post-processing (tonemapping, FXAA,
            // ...) is done; upscaling then writes it to the camera's output.
            .configure_sets(Core3d, ColourCaptureSystems::Convert.after(Core3dSystems::PostProcess).before(upscaling))
            .add_systems(Core3d, convert.in_set(ColourCaptureSystems::Convert));
    }
}

fn convert(
    view: ViewQuery<(&ViewTarget, &ColourCapture)>,
    pipeline_cache: Res<PipelineCache>,
    pipeline: Res<ColourPipeline>,
    mut buffers: ResMut<ColourCaptureBuffers>,
    sender: Res<ColourSender>,
    mut ctx: RenderContext,
) {
    let entity = view.entity();
    let (target, capture) = view.into_inner();
    let Some(b) = buffers.views.get_mut(&entity) else { return };
    if !capture.enabled || b.frame.is_none() {
        return;
    }
    let Some(compute) = pipeline_cache.get_compute_pipeline(pipeline.pipeline) else { return };
    let texture = target.main_texture_view();
    let size = target.main_texture().size();
    let (origin_x, origin_y) = b.origin;
    if origin_x + b.layout.width > size.width || origin_y + b.layout.height > size.height {
        return;
    }
    if b.bind_group.as_ref().is_none_or(|(id, _)| *id != texture.id()) {
        let bind_group = ctx.render_device().create_bind_group(
            "depthcast_rgb_to_yuv420",
            &pipeline_cache.get_bind_group_layout(&pipeline.layout),
            &BindGroupEntries::sequential((texture, b.params.as_entire_binding(), b.storage.as_entire_binding())),
        );
        b.bind_group = Some((texture.id(), bind_group));
    }
    let Some((_, bind_group)) = b.bind_group.as_ref() else { return };
    // GPU time of the pass, as `render/depthcast_rgb_to_yuv420/elapsed_gpu` when Bevy's
    // `RenderDiagnosticsPlugin` is present and the adapter has timestamp queries.
    let diagnostics = ctx.diagnostic_recorder();
    let diagnostics = diagnostics.as_deref();
    let span = diagnostics.time_span(ctx.command_encoder(), SPAN_COLOUR);
    let encoder = ctx.command_encoder();
    {
        let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
            label: Some("depthcast_rgb_to_yuv420"),
            timestamp_writes: None,
        });
        pass.set_pipeline(compute);
        pass.set_bind_group(0, bind_group, &[]);
        let (x, y, z) = b.layout.workgroups();
        pass.dispatch_workgroups(x, y, z);
    }
    span.end(encoder);
    b.written = true;
    if capture.readback && !b.record_readback(encoder) {
        sender.count_drop();
    }
}
