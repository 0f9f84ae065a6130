//! GPU buffers per capturing view, the readback ring and the frame channel.
//!
//! Per view (render world) there is one storage buffer that receives the YUV planes of the
//! current frame (a 16-byte header, then the `yuv420p` bytes) and a ring of mappable staging
//! buffers ([`crate::readback`]). Each frame the planes are copied into a free staging buffer,
//! which is mapped once the frame is submitted; a later frame finds it mapped, copies the bytes
//! into a recycled `Vec<u8>` and sends a [`ColourFrame`]. No buffer or vector is allocated per
//! frame once the ring and the recycle pool are warm.

use std::collections::HashMap;

use bevy::prelude::*;
use bevy::render::camera::ExtractedCamera;
use bevy::render::render_resource::{BindGroup, Buffer, BufferDescriptor, BufferUsages, PollType, TextureViewId};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::sync_world::MainEntity;
use bevy::render::view::ExtractedView;
use depthcast_packing::{BitDepth, PixelFormat, YuvFrame};

use super::pipeline::{COLOUR_HEADER_BYTES, COLOUR_PARAMS_BYTES, ColourLayout, TexelEncoding, colour_uniform};
use super::settings::ColourCapture;
use crate::capture::ExtractedClock;
use crate::channel::{FrameSink, Frames, Recycle};
use crate::readback::{ReadbackRing, Tagged};

/// One captured colour frame on the CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct ColourFrame {
    /// The main-world camera entity it was captured from.
    pub camera: Entity,
    /// The [`CaptureClock`](crate::capture::CaptureClock) frame it was rendered in: the
    /// [`DepthFrame`](crate::DepthFrame) of the same camera and index is the same rendered frame.
    pub index: u32,
    /// Image width in pixels (the frame is this rounded up to even).
    pub width: u32,
    /// Image height in pixels (the frame is this rounded up to even).
    pub height: u32,
    /// World-from-camera transform (the camera pose; Bevy convention: looks down −Z, +Y up).
    pub world_from_view: Mat4,
    /// Projection (view to clip).
    pub clip_from_view: Mat4,
    /// The frame in `yuv420p` layout (what [`YuvFrame::write`] gives): Y (`frame_width ·
    /// frame_height` bytes), then U and V (a quarter of that each), full-range BT.709.
    pub bytes: Vec<u8>,
}

impl ColourFrame {
    /// Luma size of the frame: the image size rounded up to even.
    pub fn frame_size(&self) -> (u32, u32) {
        (self.width.next_multiple_of(2), self.height.next_multiple_of(2))
    }

    /// The planes as a [`YuvFrame`] (8-bit).
    ///
    /// # Panics
    /// Never for frames from the capture (their `bytes` always hold a whole frame).
    pub fn yuv(&self) -> YuvFrame {
        let (w, h) = self.frame_size();
        YuvFrame::read(PixelFormat::Yuv420p, w, h, &self.bytes).expect("a whole yuv420p frame")
    }

    /// Copies the planes into `frame` (reshaped to 8-bit `frame_size()`), reusing its buffers.
    pub fn yuv_into(&self, frame: &mut YuvFrame) {
        let (w, h) = self.frame_size();
        frame.reshape(w, h, BitDepth::Eight);
        let (luma, chroma) = (frame.y.len(), frame.u.len());
        let widen = |dst: &mut Vec<u16>, src: &[u8]| {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = u16::from(s);
            }
        };
        widen(&mut frame.y, &self.bytes[..luma]);
        widen(&mut frame.u, &self.bytes[luma..luma + chroma]);
        widen(&mut frame.v, &self.bytes[luma + chroma..luma + 2 * chroma]);
    }
}

/// Main-world end of the colour capture: receive [`ColourFrame`]s, give their buffers back
/// ([`Frames::recycle`](crate::channel::Frames::recycle)).
pub type ColourFrames = Frames<ColourFrame>;

impl Recycle for ColourFrame {
    type Buffer = Vec<u8>;
    fn into_buffer(self) -> Vec<u8> {
        self.bytes
    }
}

/// Render-world end of the channel.
pub(crate) type ColourSender = FrameSink<ColourFrame>;

/// What a frame was rendered with (travels beside the GPU data).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColourTag {
    camera: Entity,
    index: u32,
    world_from_view: Mat4,
    clip_from_view: Mat4,
}

impl Tagged for ColourTag {
    fn order(&self) -> u32 {
        self.index
    }
}

/// The buffers of one capturing view (render world).
pub struct ViewColourBuffers {
    /// The main-world camera.
    pub camera: Entity,
    /// Image size and frame layout.
    pub layout: ColourLayout,
    /// [`COLOUR_HEADER_BYTES`] + the `yuv420p` frame as u32 words, usage `STORAGE | COPY_SRC`:
    /// after [`ColourCaptureSystems::Convert`](super::ColourCaptureSystems) it holds this frame.
    pub storage: Buffer,
    /// Whether the pass ran for this view this frame.
    pub written: bool,
    /// Top-left texel of the view's viewport in the main texture.
    pub(crate) origin: (u32, u32),
    pub(crate) params: Buffer,
    pub(crate) bind_group: Option<(TextureViewId, BindGroup)>,
    pub(crate) frame: Option<ColourTag>,
    ring: ReadbackRing<ColourTag>,
    seen: bool,
}

impl ViewColourBuffers {
    /// The capture frame index of this frame, when the pass runs for this view this frame.
    pub fn frame_index(&self) -> Option<u32> {
        self.frame.map(|f| f.index)
    }

    /// Queues a copy of the storage buffer into a free staging buffer; `false` if none is free.
    pub(crate) fn record_readback(&mut self, encoder: &mut bevy::render::render_resource::CommandEncoder) -> bool {
        let Some(tag) = self.frame else { return false };
        let size = self.layout.buffer_bytes();
        self.ring.record(encoder, &self.storage, size, tag)
    }
}

/// YUV buffers of every capturing view, keyed by render-world view entity.
#[derive(Resource, Default)]
pub struct ColourCaptureBuffers {
    /// Per view.
    pub views: HashMap<Entity, ViewColourBuffers>,
    pub(crate) slots_per_view: usize,
}

/// Creates or resizes each view's buffers and uploads this frame's uniform.
pub(crate) fn prepare_buffers(
    views: Query<(Entity, &MainEntity, &ExtractedView, &ExtractedCamera, &ColourCapture)>,
    mut buffers: ResMut<ColourCaptureBuffers>,
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
    for (entity, main, view, camera, capture) in &views {
        let Some(layout) = ColourLayout::new(view.viewport.z, view.viewport.w) else { continue };
        let Some(encoding) = TexelEncoding::for_target(view.target_format, camera.compositing_space) else {
            if !*warned {
                warn!(
                    "ColourCapture: camera {} renders to {:?} with compositing space {:?}, which the colour pass \
                     cannot convert; skipped",
                    main.id(),
                    view.target_format,
                    camera.compositing_space
                );
                *warned = true;
            }
            continue;
        };
        if buffers.views.get(&entity).is_none_or(|b| b.layout != layout) {
            let size = layout.buffer_bytes();
            let storage = device.create_buffer(&BufferDescriptor {
                label: Some("depthcast_colour_yuv"),
                size,
                usage: BufferUsages::STORAGE | BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let params = device.create_buffer(&BufferDescriptor {
                label: Some("depthcast_colour_params"),
                size: COLOUR_PARAMS_BYTES as u64,
                usage: BufferUsages::UNIFORM | BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let ring = ReadbackRing::new(&device, "depthcast_colour_readback", slots_per_view, size);
            let b = ViewColourBuffers {
                camera: main.id(),
                layout,
                storage,
                written: false,
                origin: (0, 0),
                params,
                bind_group: None,
                frame: None,
                ring,
                seen: true,
            };
            buffers.views.insert(entity, b);
        }
        let Some(b) = buffers.views.get_mut(&entity) else { continue };
        b.seen = true;
        if !capture.enabled {
            continue;
        }
        let origin = (view.viewport.x, view.viewport.y);
        b.origin = origin;
        queue.write_buffer(&b.params, 0, &colour_uniform(&layout, origin, encoding, clock.0));
        b.frame = Some(ColourTag {
            camera: main.id(),
            index: clock.0,
            world_from_view: view.world_from_view.to_matrix(),
            clip_from_view: view.clip_from_view,
        });
    }
    buffers.views.retain(|_, v| v.seen);
}

/// After submission: starts mapping the staging buffers copied this frame.
pub(crate) fn map_readbacks(mut buffers: ResMut<ColourCaptureBuffers>) {
    for v in buffers.views.values_mut() {
        v.ring.map_copied();
    }
}

/// Before this frame's work: hands every mapped readback to the main world.
pub(crate) fn collect_readbacks(
    mut buffers: ResMut<ColourCaptureBuffers>,
    sender: Res<ColourSender>,
    device: Res<RenderDevice>,
) {
    if buffers.views.values().all(|v| v.ring.idle()) {
        return;
    }
    let _ = device.poll(PollType::Poll);
    for v in buffers.views.values_mut() {
        let layout = v.layout;
        v.ring.drain_mapped(|tag, bytes| {
            let word = |k: usize| u32::from_le_bytes(bytes[k * 4..k * 4 + 4].try_into().expect("4 bytes"));
            if word(0) != tag.index || word(1) != layout.width || word(2) != layout.height {
                warn!(
                    "ColourCapture: readback of frame {} carries header frame {} ({}x{}); dropped",
                    tag.index,
                    word(0),
                    word(1),
                    word(2)
                );
                sender.count_drop();
                return;
            }
            let start = COLOUR_HEADER_BYTES as usize;
            let mut data = sender.buffer();
            data.clear();
            data.extend_from_slice(&bytes[start..start + layout.bytes]);
            sender.send(ColourFrame {
                camera: tag.camera,
                index: tag.index,
                width: layout.width,
                height: layout.height,
                world_from_view: tag.world_from_view,
                clip_from_view: tag.clip_from_view,
                bytes: data,
            });
        });
    }
}
