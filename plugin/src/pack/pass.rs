//! The GPU packing pass: after [`DepthCaptureSystems::Linearize`], `shaders/pack_depth.wgsl` packs
//! each view's linear depth into encoder planes, which come back to the CPU as [`PackedFrame`]s.
//!
//! Put [`GpuPack`] beside [`DepthCapture`] on a camera and set its `params` every frame (the
//! sender's policy decides them); frames arrive on [`PackedFrames`] a couple of updates later,
//! tagged with the capture frame index, so they pair with the [`DepthFrame`](crate::DepthFrame)
//! of the same index when the depth is read back too.

use std::collections::HashMap;

use bevy::asset::{embedded_asset, load_embedded_asset};
use bevy::core_pipeline::schedule::Core3d;
use bevy::prelude::*;
use bevy::render::diagnostic::RecordDiagnostics;
use bevy::render::extract_component::{ExtractComponent, ExtractComponentPlugin};
use bevy::render::render_resource::binding_types::{
    storage_buffer_read_only_sized, storage_buffer_sized, uniform_buffer_sized,
};
use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, BindGroupLayoutDescriptor, BindGroupLayoutEntries, Buffer, BufferDescriptor, BufferId,
    BufferSize, BufferUsages, CachedComputePipelineId, ComputePassDescriptor, ComputePipelineDescriptor, PipelineCache,
    PollType, ShaderStages,
};
use bevy::render::renderer::{RenderContext, RenderDevice, RenderQueue, ViewQuery};
use bevy::render::sync_world::MainEntity;
use bevy::render::{Render, RenderApp, RenderStartup, RenderSystems};
use bevy::shader::Shader;
use depthcast_packing::{BitDepth, PackParams, Scheme, VbpLayout};

use super::{GpuFrameLayout, PACK_PARAMS_BYTES, gpu_support, pack_uniform};
use crate::capture::{DepthCapture, DepthCaptureBuffers, DepthCaptureSystems, HEADER_BYTES};
use crate::channel::{FrameSink, Frames, Recycle};
use crate::readback::{ReadbackRing, Tagged};

/// Packs this camera's captured depth on the GPU. Requires [`DepthCapture`] on the same camera.
///
/// `params` must describe the capture's size (`width`, `height` of the view) and a configuration
/// [`gpu_support`] accepts; otherwise the frame is skipped (with one warning) and nothing is
/// packed. `None` pauses packing.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, ExtractComponent)]
#[extract_component_filter(With<DepthCapture>)]
pub struct GpuPack {
    /// The packing of the next frame.
    pub params: Option<PackParams>,
    /// A QP offset the encoder should give the high plane (VBP luma layout), carried to
    /// [`PackedFrame::roi_high`] untouched.
    pub roi_high: Option<f32>,
    /// A number of the caller's, carried to [`PackedFrame::tag`] untouched: the depth sender
    /// numbers its re-probe's keyframe moves with it (those passed over too), so that its encoder
    /// thread knows which move a frame was packed for (frames packed before a move still come
    /// for a frame or two after it).
    pub tag: u64,
}

/// One frame packed on the GPU, on the CPU.
#[derive(Debug, Clone)]
pub struct PackedFrame {
    /// The main-world camera.
    pub camera: Entity,
    /// The capture frame index ([`crate::capture::CaptureClock`]).
    pub index: u32,
    /// What it was packed with.
    pub params: PackParams,
    /// Plane format and size of `bytes`.
    pub layout: GpuFrameLayout,
    /// The frame: Y, U, V planes, tightly packed (what `YuvFrame::write` gives).
    pub bytes: Vec<u8>,
    /// [`GpuPack::roi_high`] of the frame.
    pub roi_high: Option<f32>,
    /// [`GpuPack::tag`] of the frame.
    pub tag: u64,
    /// When the render world prepared the frame (capture time, for latency).
    pub captured: std::time::Instant,
    /// When its bytes were on the CPU (the staging buffer mapped and copied out).
    pub read_back: std::time::Instant,
    /// CPU time spent copying the bytes out of the mapped staging buffer, in microseconds.
    pub copy_us: f32,
}

/// Main-world end: receive [`PackedFrame`]s, give their buffers back
/// ([`Frames::recycle`](crate::channel::Frames::recycle)).
pub type PackedFrames = Frames<PackedFrame>;

impl Recycle for PackedFrame {
    type Buffer = Vec<u8>;
    fn into_buffer(self) -> Vec<u8> {
        self.bytes
    }
}

type PackedSender = FrameSink<PackedFrame>;

/// Name of the packing pass's diagnostic span: with Bevy's `RenderDiagnosticsPlugin`, its GPU
/// time is `render/depthcast_pack/elapsed_gpu` in the `DiagnosticsStore` (milliseconds).
pub const SPAN_PACK: &str = "depthcast_pack";

/// Adds the packing pass. Needs [`crate::DepthCapturePlugin`].
#[derive(Debug, Clone)]
pub struct GpuPackPlugin {
    /// Frames that may wait in [`PackedFrames`] before new ones are dropped (default 8).
    pub channel_capacity: usize,
    /// Staging buffers per view (default 4).
    pub readback_slots: usize,
}

impl Default for GpuPackPlugin {
    fn default() -> Self {
        GpuPackPlugin { channel_capacity: 8, readback_slots: 4 }
    }
}

impl Plugin for GpuPackPlugin {
    fn build(&self, app: &mut App) {
        // `pack_depth.wgsl` here is a symlink to `shaders/pack_depth.wgsl` (see the capture's).
        embedded_asset!(app, "pack_depth.wgsl");
        let (frames, sender) = crate::channel::channel::<PackedFrame>(self.channel_capacity, self.readback_slots);
        app.insert_resource(frames).add_plugins(ExtractComponentPlugin::<GpuPack>::default());
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .insert_resource(sender)
            .insert_resource(PackBuffers { views: HashMap::new(), slots: self.readback_slots.max(1) })
            .add_systems(RenderStartup, init_pipeline)
            .add_systems(
                Render,
                (
                    // After the capture's buffers for this frame exist.
                    (collect, prepare)
                        .chain()
                        .in_set(RenderSystems::PrepareResources)
                        .after(DepthCaptureSystems::Prepare),
                    map.after(RenderSystems::Render).before(RenderSystems::Cleanup),
                ),
            )
            .add_systems(Core3d, pack.after(DepthCaptureSystems::Linearize));
    }
}

#[derive(Resource)]
struct PackPipeline {
    layout: BindGroupLayoutDescriptor,
    pipeline: CachedComputePipelineId,
}

fn init_pipeline(mut commands: Commands, asset_server: Res<AssetServer>, pipeline_cache: Res<PipelineCache>) {
    let layout = BindGroupLayoutDescriptor::new(
        "depthcast_pack_depth_layout",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::COMPUTE,
            (
                storage_buffer_read_only_sized(false, BufferSize::new(HEADER_BYTES + 4)),
                uniform_buffer_sized(false, BufferSize::new(PACK_PARAMS_BYTES as u64)),
                storage_buffer_sized(false, BufferSize::new(4)),
            ),
        ),
    );
    let shader: Handle<Shader> = load_embedded_asset!(asset_server.as_ref(), "pack_depth.wgsl");
    let pipeline = pipeline_cache.queue_compute_pipeline(ComputePipelineDescriptor {
        label: Some("depthcast_pack_depth".into()),
        layout: vec![layout.clone()],
        shader,
        entry_point: Some("pack".into()),
        ..default()
    });
    commands.insert_resource(PackPipeline { layout, pipeline });
}

#[derive(Clone, Copy)]
struct PackTag {
    camera: Entity,
    index: u32,
    params: PackParams,
    layout: GpuFrameLayout,
    roi_high: Option<f32>,
    tag: u64,
    captured: std::time::Instant,
}

impl Tagged for PackTag {
    fn order(&self) -> u32 {
        self.index
    }
}

struct ViewPack {
    uniform: Buffer,
    frame: Buffer,
    ring: ReadbackRing<PackTag>,
    bind_group: Option<(BufferId, BindGroup)>,
    /// This frame's job, set by `prepare` once its uniform is written.
    pending: Option<PackTag>,
    seen: bool,
}

#[derive(Resource)]
struct PackBuffers {
    views: HashMap<Entity, ViewPack>,
    slots: usize,
}

/// Largest frame of a `width x height` view: the tall 10-bit VBP layout.
fn max_frame_bytes(width: u32, height: u32) -> u64 {
    let p = PackParams {
        bit_depth: BitDepth::Ten,
        layout: VbpLayout::Luma,
        ..PackParams::new(Scheme::Vbp, 12, 1.0, 2.0, width, height)
    };
    let (w, h) = p.frame_size();
    (depthcast_packing::PixelFormat::Yuv420p10le.frame_bytes(w, h) as u64).next_multiple_of(4)
}

fn prepare(
    views: Query<(Entity, &MainEntity, &GpuPack)>,
    capture: Res<DepthCaptureBuffers>,
    mut buffers: ResMut<PackBuffers>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut warned: Local<bool>,
) {
    let slots = buffers.slots;
    for v in buffers.views.values_mut() {
        v.seen = false;
        v.pending = None;
    }
    for (entity, main, pack) in &views {
        let Some(depth) = capture.views.get(&entity) else { continue };
        let Some(index) = depth.frame_index() else { continue };
        let capacity = max_frame_bytes(depth.width, depth.height);
        let stale = buffers.views.get(&entity).is_none_or(|v| v.ring.capacity() != capacity);
        if stale {
            let view = ViewPack {
                uniform: device.create_buffer(&BufferDescriptor {
                    label: Some("depthcast_pack_params"),
                    size: PACK_PARAMS_BYTES as u64,
                    usage: BufferUsages::UNIFORM | BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                frame: device.create_buffer(&BufferDescriptor {
                    label: Some("depthcast_packed_frame"),
                    size: capacity,
                    usage: BufferUsages::STORAGE | BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                }),
                ring: ReadbackRing::new(&device, "depthcast_packed_frame_readback", slots, capacity),
                bind_group: None,
                pending: None,
                seen: true,
            };
            buffers.views.insert(entity, view);
        }
        let Some(v) = buffers.views.get_mut(&entity) else { continue };
        v.seen = true;
        let Some(params) = pack.params else { continue };
        let usable = params.width == depth.width && params.height == depth.height && params.validate().is_ok();
        let uniform = if usable { pack_uniform(&params, depth.stride, (HEADER_BYTES / 4) as u32).ok() } else { None };
        let Some((uniform, layout)) = uniform else {
            if !*warned {
                let why = gpu_support(&params).err().map_or_else(
                    || {
                        format!(
                            "params for {}x{}, view is {}x{}",
                            params.width, params.height, depth.width, depth.height
                        )
                    },
                    |e| e.to_string(),
                );
                warn!("GpuPack on camera {}: frame skipped ({why})", main.id());
                *warned = true;
            }
            continue;
        };
        queue.write_buffer(&v.uniform, 0, &uniform);
        v.pending = Some(PackTag {
            camera: main.id(),
            index,
            params,
            layout,
            roi_high: pack.roi_high,
            tag: pack.tag,
            captured: std::time::Instant::now(),
        });
    }
    buffers.views.retain(|_, v| v.seen);
}

fn pack(
    view: ViewQuery<&GpuPack>,
    pipeline_cache: Res<PipelineCache>,
    pipeline: Res<PackPipeline>,
    capture: Res<DepthCaptureBuffers>,
    mut buffers: ResMut<PackBuffers>,
    sender: Res<PackedSender>,
    mut ctx: RenderContext,
) {
    let entity = view.entity();
    let (Some(depth), Some(v)) = (capture.views.get(&entity), buffers.views.get_mut(&entity)) else { return };
    let Some(tag) = v.pending.take() else { return };
    let Some(compute) = pipeline_cache.get_compute_pipeline(pipeline.pipeline) else { return };
    if !depth.written {
        return;
    }
    if v.bind_group.as_ref().is_none_or(|(id, _)| *id != depth.storage.id()) {
        let bind_group = ctx.render_device().create_bind_group(
            "depthcast_pack_depth",
            &pipeline_cache.get_bind_group_layout(&pipeline.layout),
            &BindGroupEntries::sequential((
                depth.storage.as_entire_binding(),
                v.uniform.as_entire_binding(),
                v.frame.as_entire_binding(),
            )),
        );
        v.bind_group = Some((depth.storage.id(), bind_group));
    }
    let Some((_, bind_group)) = v.bind_group.as_ref() else { return };
    let diagnostics = ctx.diagnostic_recorder();
    let diagnostics = diagnostics.as_deref();
    let span = diagnostics.time_span(ctx.command_encoder(), SPAN_PACK);
    let encoder = ctx.command_encoder();
    {
        let mut pass = encoder
            .begin_compute_pass(&ComputePassDescriptor { label: Some("depthcast_pack_depth"), timestamp_writes: None });
        pass.set_pipeline(compute);
        pass.set_bind_group(0, bind_group, &[]);
        let (x, y, z) = tag.layout.workgroups();
        pass.dispatch_workgroups(x, y, z);
    }
    span.end(encoder);
    let size = u64::from(tag.layout.words) * 4;
    if !v.ring.record(encoder, &v.frame, size, tag) {
        sender.count_drop();
    }
}

fn map(mut buffers: ResMut<PackBuffers>) {
    for v in buffers.views.values_mut() {
        v.ring.map_copied();
    }
}

fn collect(mut buffers: ResMut<PackBuffers>, sender: Res<PackedSender>, device: Res<RenderDevice>) {
    if buffers.views.values().all(|v| v.ring.idle()) {
        return;
    }
    let _ = device.poll(PollType::Poll);
    for v in buffers.views.values_mut() {
        v.ring.drain_mapped(|tag, bytes| {
            let t0 = std::time::Instant::now();
            let mut data = sender.buffer();
            data.clear();
            data.extend_from_slice(&bytes[..tag.layout.bytes]);
            let read_back = std::time::Instant::now();
            let frame = PackedFrame {
                camera: tag.camera,
                index: tag.index,
                params: tag.params,
                layout: tag.layout,
                bytes: data,
                roi_high: tag.roi_high,
                tag: tag.tag,
                captured: tag.captured,
                read_back,
                copy_us: read_back.duration_since(t0).as_secs_f32() * 1e6,
            };
            sender.send(frame);
        });
    }
}
