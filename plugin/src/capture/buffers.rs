//! GPU buffers per capturing view, the readback ring and the frame channel.
//!
//! Per view (render world) there is one storage buffer holding the linear depth of the current
//! frame (header + padded rows, the layout documented in `shaders/linearize_depth.wgsl`) and a
//! ring of mappable staging buffers. Each frame the linearised buffer is copied into a free
//! staging buffer, which is mapped once the frame is submitted; a later frame finds it mapped,
//! copies the rows (dropping the padding) into a recycled `Vec<f32>` and sends a [`DepthFrame`].
//! No buffer or vector is allocated per frame once the ring and the recycle pool are warm.

use std::collections::HashMap;

use bevy::prelude::*;
use bevy::render::render_resource::{BindGroup, Buffer, BufferDescriptor, BufferUsages, PollType};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::sync_world::MainEntity;
use bevy::render::view::ExtractedView;

use super::pipeline::{HEADER_BYTES, PARAMS_SIZE};
use super::settings::DepthCapture;
use crate::channel::{FrameSink, Frames, Recycle};
use crate::readback::{ReadbackRing, Tagged};

/// One captured depth frame on the CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthFrame {
    /// The main-world camera entity it was captured from.
    pub camera: Entity,
    /// The [`CaptureClock`] frame it was rendered in (its camera pose and animation state).
    pub index: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Near plane in metres (the linearisation used `z = near / ndc`).
    pub near: f32,
    /// Far plane in metres; `None` for Bevy's infinite reverse-Z projection.
    pub far: Option<f32>,
    /// World-from-camera transform (the camera pose; Bevy convention: looks down −Z, +Y up).
    pub world_from_view: Mat4,
    /// Projection (view to clip).
    pub clip_from_view: Mat4,
    /// `width · height` linear view depths in metres, row-major, top row first; `+inf` where
    /// nothing was drawn.
    pub data: Vec<f32>,
}

/// Main-world counter of rendered frames: incremented at the start of every update, so the
/// value read after `App::update` is the [`DepthFrame::index`] that update's frame will carry.
#[derive(Resource, Debug, Default, Clone, Copy, Reflect)]
#[reflect(Resource)]
pub struct CaptureClock {
    /// Index of the current (last started) frame; 1 for the first update.
    pub frame: u32,
}

fn tick_clock(mut clock: ResMut<CaptureClock>) {
    clock.frame = clock.frame.wrapping_add(1);
}

/// The [`CaptureClock`] and its render-world copy ([`ExtractedClock`]), shared by the depth and
/// colour captures: each adds it unless the other did, so the clock ticks once per update.
pub(crate) struct CaptureClockPlugin;

impl CaptureClockPlugin {
    /// Adds the clock to `app` unless it is there already.
    pub(crate) fn ensure(app: &mut App) {
        if !app.is_plugin_added::<CaptureClockPlugin>() {
            app.add_plugins(CaptureClockPlugin);
        }
    }
}

impl Plugin for CaptureClockPlugin {
    fn build(&self, app: &mut App) {
        app.register_type::<CaptureClock>().init_resource::<CaptureClock>().add_systems(First, tick_clock);
        if let Some(render_app) = app.get_sub_app_mut(bevy::render::RenderApp) {
            render_app.init_resource::<ExtractedClock>().add_systems(bevy::render::ExtractSchedule, extract_clock);
        }
    }
}

/// Main-world end of the capture: receive [`DepthFrame`]s, give their buffers back
/// ([`Frames::recycle`](crate::channel::Frames::recycle)).
pub type DepthFrames = Frames<DepthFrame>;

impl Recycle for DepthFrame {
    type Buffer = Vec<f32>;
    fn into_buffer(self) -> Vec<f32> {
        self.data
    }
}

/// Render-world end of the channel.
pub(crate) type FrameSender = FrameSink<DepthFrame>;

/// Row stride in f32 elements: rows padded to 256 bytes (the texture copy alignment), so a
/// consumer can copy the rows into a texture without repacking.
pub fn padded_stride(width: u32) -> u32 {
    width.div_ceil(64) * 64
}

/// What a frame was rendered with (travels beside the GPU data).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameInfo {
    pub(crate) camera: Entity,
    pub(crate) index: u32,
    pub(crate) near: f32,
    pub(crate) world_from_view: Mat4,
    pub(crate) clip_from_view: Mat4,
}

impl Tagged for FrameInfo {
    fn order(&self) -> u32 {
        self.index
    }
}

/// The buffers of one capturing view (render world).
pub struct ViewDepthBuffers {
    /// The main-world camera.
    pub camera: Entity,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row stride in f32 elements (see [`padded_stride`]).
    pub stride: u32,
    /// Header ([`HEADER_BYTES`]) + `height · stride` f32, usage `STORAGE | COPY_SRC`: after
    /// [`DepthCaptureSystems::Linearize`](super::DepthCaptureSystems) it holds this frame's depth.
    pub storage: Buffer,
    /// Whether the pass ran for this view this frame.
    pub written: bool,
    pub(crate) params: Buffer,
    pub(crate) bind_group: Option<(bevy::render::render_resource::TextureViewId, BindGroup)>,
    pub(crate) frame: Option<FrameInfo>,
    ring: ReadbackRing<FrameInfo>,
    seen: bool,
}

impl ViewDepthBuffers {
    /// Bytes of the storage buffer.
    pub fn size_bytes(&self) -> u64 {
        HEADER_BYTES + u64::from(self.height) * u64::from(self.stride) * 4
    }

    /// The capture frame index of this frame, when the pass runs for this view this frame.
    pub fn frame_index(&self) -> Option<u32> {
        self.frame.map(|f| f.index)
    }

    /// Queues a copy of the storage buffer into a free staging buffer; `false` if none is free.
    pub(crate) fn record_readback(&mut self, encoder: &mut bevy::render::render_resource::CommandEncoder) -> bool {
        let Some(info) = self.frame else { return false };
        let size = self.size_bytes();
        self.ring.record(encoder, &self.storage, size, info)
    }
}

/// Linear depth buffers of every capturing view, keyed by render-world view entity. Public so a
/// later pass (GPU packing) can bind [`ViewDepthBuffers::storage`] after
/// [`DepthCaptureSystems::Linearize`](super::DepthCaptureSystems).
#[derive(Resource, Default)]
pub struct DepthCaptureBuffers {
    /// Per view.
    pub views: HashMap<Entity, ViewDepthBuffers>,
    pub(crate) slots_per_view: usize,
}

/// The current frame tag, extracted from [`CaptureClock`].
#[derive(Resource, Default, Clone, Copy)]
pub(crate) struct ExtractedClock(pub(crate) u32);

fn extract_clock(mut commands: Commands, clock: bevy::render::Extract<Res<CaptureClock>>) {
    commands.insert_resource(ExtractedClock(clock.frame));
}

/// Creates or resizes each view's buffers and uploads this frame's parameters.
pub(crate) fn prepare_buffers(
    views: Query<(Entity, &MainEntity, &ExtractedView, &DepthCapture)>,
    mut buffers: ResMut<DepthCaptureBuffers>,
    clock: Res<ExtractedClock>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut warned: Local<bool>,
) {
    let slots_per_view = buffers.slots_per_view.max(1);
    for v in buffers.views.values_mut() {
        v.seen = false;
        v.written = false;
        v.frame = None;
    }
    for (entity, main, view, capture) in &views {
        let (width, height) = (view.viewport.z, view.viewport.w);
        if width == 0 || height == 0 {
            continue;
        }
        let stride = padded_stride(width);
        let stale = buffers.views.get(&entity).is_none_or(|b| b.width != width || b.height != height);
        if stale {
            let size = HEADER_BYTES + u64::from(height) * u64::from(stride) * 4;
            let storage = device.create_buffer(&BufferDescriptor {
                label: Some("depthcast_linear_depth"),
                size,
                usage: BufferUsages::STORAGE | BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let params = device.create_buffer(&BufferDescriptor {
                label: Some("depthcast_linear_depth_params"),
                size: PARAMS_SIZE,
                usage: BufferUsages::UNIFORM | BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let ring = ReadbackRing::new(&device, "depthcast_linear_depth_readback", slots_per_view, size);
            buffers.views.insert(
                entity,
                ViewDepthBuffers {
                    camera: main.id(),
                    width,
                    height,
                    stride,
                    storage,
                    written: false,
                    params,
                    bind_group: None,
                    frame: None,
                    ring,
                    seen: true,
                },
            );
        }
        let Some(b) = buffers.views.get_mut(&entity) else { continue };
        b.seen = true;
        if !capture.enabled {
            continue;
        }
        let clip_from_view = view.clip_from_view;
        // Bevy's infinite reverse-Z perspective: clip.z = near, clip.w = -z_view, so ndc = near / z.
        let perspective = clip_from_view.w_axis.w == 0.0 && clip_from_view.z_axis.z == 0.0;
        if !perspective {
            if !*warned {
                warn!(
                    "DepthCapture: camera {} does not use an infinite reverse-Z perspective projection; skipped",
                    main.id()
                );
                *warned = true;
            }
            continue;
        }
        let near = clip_from_view.w_axis.z;
        let info = FrameInfo {
            camera: main.id(),
            index: clock.0,
            near,
            world_from_view: view.world_from_view.to_matrix(),
            clip_from_view,
        };
        let mut p = [0u8; PARAMS_SIZE as usize];
        for (i, word) in [near.to_bits(), width, height, stride, clock.0].into_iter().enumerate() {
            p[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        queue.write_buffer(&b.params, 0, &p);
        b.frame = Some(info);
    }
    buffers.views.retain(|_, v| v.seen);
}

/// After submission: starts mapping the staging buffers copied this frame.
pub(crate) fn map_readbacks(mut buffers: ResMut<DepthCaptureBuffers>) {
    for v in buffers.views.values_mut() {
        v.ring.map_copied();
    }
}

/// Before this frame's work: hands every mapped readback to the main world.
pub(crate) fn collect_readbacks(
    mut buffers: ResMut<DepthCaptureBuffers>,
    sender: Res<FrameSender>,
    device: Res<RenderDevice>,
) {
    if buffers.views.values().all(|v| v.ring.idle()) {
        return;
    }
    let _ = device.poll(PollType::Poll);
    for v in buffers.views.values_mut() {
        let (width, height, stride) = (v.width as usize, v.height as usize, v.stride as usize);
        v.ring.drain_mapped(|info, bytes| {
            let word = |k: usize| u32::from_le_bytes(bytes[k * 4..k * 4 + 4].try_into().expect("4 bytes"));
            let tagged = word(0) == info.index && word(1) as usize == width && word(2) as usize == height;
            if !tagged {
                warn!(
                    "DepthCapture: readback of frame {} carries header frame {} ({}x{}); dropped",
                    info.index,
                    word(0),
                    word(1),
                    word(2)
                );
                sender.count_drop();
                return;
            }
            // Oldest frames first (the ring drains in frame order), so the channel stays in order.
            let mut data = sender.buffer();
            data.clear();
            data.reserve(width * height);
            let rows = &bytes[HEADER_BYTES as usize..];
            for y in 0..height {
                let row = &rows[y * stride * 4..(y * stride + width) * 4];
                data.extend(row.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))));
            }
            let frame = DepthFrame {
                camera: info.camera,
                index: info.index,
                width: width as u32,
                height: height as u32,
                near: info.near,
                far: None,
                world_from_view: info.world_from_view,
                clip_from_view: info.clip_from_view,
                data,
            };
            sender.send(frame);
        });
    }
}
