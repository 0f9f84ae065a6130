//! Depth capture: prepass depth → linear metres (compute) → storage buffer → CPU.
//!
//! Add [`DepthCapturePlugin`], put [`DepthCapture`] on a `Camera3d`, and read
//! [`DepthFrame`]s from the [`DepthFrames`] resource. Frames arrive a couple of updates after
//! they were rendered, each tagged with its [`CaptureClock`] frame and camera pose.
//!
//! Render-world flow per capturing view:
//! 1. `prepare_buffers` (`Render`, `PrepareResources`): (re)creates the view's storage buffer and
//!    readback ring, uploads `near`, size, stride and the frame tag.
//! 2. `linearize_depth` (`Core3d`, after the prepass): binds the prepass depth, dispatches
//!    `shaders/linearize_depth.wgsl`, copies the result into a free staging buffer.
//! 3. `map_readbacks` (after `RenderSystems::Render`): maps the staging buffers just submitted.
//! 4. `collect_readbacks` (next frames): copies mapped rows into recycled vectors and sends them.

mod buffers;
mod pipeline;
mod settings;

use bevy::asset::embedded_asset;
use bevy::core_pipeline::prepass::ViewPrepassTextures;
use bevy::core_pipeline::schedule::{Core3d, Core3dSystems};
use bevy::prelude::*;
use bevy::render::diagnostic::RecordDiagnostics;
use bevy::render::extract_component::ExtractComponentPlugin;
use bevy::render::render_resource::{BindGroupEntries, ComputePassDescriptor, PipelineCache};
use bevy::render::renderer::{RenderContext, ViewQuery};
use bevy::render::{Render, RenderApp, RenderStartup, RenderSystems};

pub use buffers::{CaptureClock, DepthCaptureBuffers, DepthFrame, DepthFrames, ViewDepthBuffers, padded_stride};
pub use pipeline::HEADER_BYTES;
pub use settings::DepthCapture;

pub(crate) use buffers::{CaptureClockPlugin, ExtractedClock};
use buffers::{FrameSender, collect_readbacks, map_readbacks, prepare_buffers};
use pipeline::{DepthCapturePipeline, TILE, init_pipeline};

/// Name of the linearisation pass's diagnostic span: with Bevy's `RenderDiagnosticsPlugin`, its
/// GPU time is `render/depthcast_linearize/elapsed_gpu` in the `DiagnosticsStore` (milliseconds).
pub const SPAN_LINEARIZE: &str = "depthcast_linearize";

/// Captures the depth of every camera with [`DepthCapture`].
#[derive(Debug, Clone)]
pub struct DepthCapturePlugin {
    /// Frames that may wait in the [`DepthFrames`] channel before new ones are dropped
    /// (default 8).
    pub channel_capacity: usize,
    /// Staging buffers per view (default 4). Readback completes about two frames after
    /// rendering, so fewer than 3 drops frames.
    pub readback_slots: usize,
}

impl Default for DepthCapturePlugin {
    fn default() -> Self {
        DepthCapturePlugin { channel_capacity: 8, readback_slots: 4 }
    }
}

/// Ordering hooks: in the `Core3d` schedule run after [`DepthCaptureSystems::Linearize`] to
/// consume [`ViewDepthBuffers::storage`]; in `Render`, after [`DepthCaptureSystems::Prepare`] to
/// read this frame's [`DepthCaptureBuffers`].
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum DepthCaptureSystems {
    /// The linearising compute pass (after the prepass, before the main pass).
    Linearize,
    /// In the `Render` schedule: readbacks collected, then this frame's buffers prepared
    /// ([`DepthCaptureBuffers`] is current after it).
    Prepare,
}

impl Plugin for DepthCapturePlugin {
    fn build(&self, app: &mut App) {
        // The shader's canonical file is `shaders/linearize_depth.wgsl` at the workspace root
        // (the contract test loads it from there). `embedded_asset!` needs the file inside this
        // crate's `src/` (it derives the asset path from the calling file), so
        // `src/capture/linearize_depth.wgsl` is a symlink to it: `include_bytes!` follows it, and
        // `cargo package` stores the target's content.
        embedded_asset!(app, "linearize_depth.wgsl");

        let (frames, sender) = crate::channel::channel::<DepthFrame>(self.channel_capacity, self.readback_slots);
        CaptureClockPlugin::ensure(app);
        app.register_type::<DepthCapture>()
            .insert_resource(frames)
            .add_plugins(ExtractComponentPlugin::<DepthCapture>::default())
            .add_systems(PostUpdate, force_msaa_off);

        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .insert_resource(sender)
            .insert_resource(DepthCaptureBuffers { slots_per_view: self.readback_slots, ..default() })
            .add_systems(RenderStartup, init_pipeline)
            .add_systems(
                Render,
                (
                    (collect_readbacks, prepare_buffers)
                        .chain()
                        .in_set(RenderSystems::PrepareResources)
                        .in_set(DepthCaptureSystems::Prepare),
                    map_readbacks.after(RenderSystems::Render).before(RenderSystems::Cleanup),
                ),
            )
            .configure_sets(
                Core3d,
                DepthCaptureSystems::Linearize.after(Core3dSystems::Prepass).before(Core3dSystems::MainPass),
            )
            .add_systems(Core3d, linearize_depth.in_set(DepthCaptureSystems::Linearize));
    }
}

/// The compute pass reads a single-sample depth texture: capture cameras render without MSAA.
fn force_msaa_off(mut commands: Commands, added: Query<(Entity, Option<&Msaa>), Added<DepthCapture>>) {
    for (entity, msaa) in &added {
        if msaa != Some(&Msaa::Off) {
            commands.entity(entity).insert(Msaa::Off);
        }
    }
}

fn linearize_depth(
    view: ViewQuery<(&ViewPrepassTextures, &DepthCapture)>,
    pipeline_cache: Res<PipelineCache>,
    pipeline: Res<DepthCapturePipeline>,
    mut buffers: ResMut<DepthCaptureBuffers>,
    sender: Res<FrameSender>,
    mut ctx: RenderContext,
) {
    let entity = view.entity();
    let (prepass, capture) = view.into_inner();
    let Some(b) = buffers.views.get_mut(&entity) else { return };
    if !capture.enabled || b.frame.is_none() {
        return;
    }
    let (Some(depth), Some(compute)) = (prepass.depth_view(), pipeline_cache.get_compute_pipeline(pipeline.pipeline))
    else {
        return;
    };
    if prepass.size.width != b.width || prepass.size.height != b.height {
        return;
    }
    if b.bind_group.as_ref().is_none_or(|(id, _)| *id != depth.id()) {
        let bind_group = ctx.render_device().create_bind_group(
            "depthcast_linearize_depth",
            &pipeline_cache.get_bind_group_layout(&pipeline.layout),
            &BindGroupEntries::sequential((depth, b.params.as_entire_binding(), b.storage.as_entire_binding())),
        );
        b.bind_group = Some((depth.id(), bind_group));
    }
    let Some((_, bind_group)) = b.bind_group.as_ref() else { return };
    // GPU time of the pass, as `render/depthcast_linearize/elapsed_gpu` when Bevy's
    // `RenderDiagnosticsPlugin` is present and the adapter has timestamp queries.
    let diagnostics = ctx.diagnostic_recorder();
    let diagnostics = diagnostics.as_deref();
    let span = diagnostics.time_span(ctx.command_encoder(), SPAN_LINEARIZE);
    let encoder = ctx.command_encoder();
    {
        let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
            label: Some("depthcast_linearize_depth"),
            timestamp_writes: None,
        });
        pass.set_pipeline(compute);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(b.width.div_ceil(TILE), b.height.div_ceil(TILE), 1);
    }
    span.end(encoder);
    b.written = true;
    if capture.readback && !b.record_readback(encoder) {
        sender.count_drop();
    }
}
