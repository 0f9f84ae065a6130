//! Reprojection on the GPU: draws the newest RGB-D frame from a camera's *current* pose with
//! `shaders/reproject.wgsl`, the twin of [`depthcast_reproject::Reprojector`] (same pixels; the
//! contract test `tests/reproject_contract.rs` checks every one on the software adapter). Read
//! the `depthcast-reproject` crate docs for the algorithm: forward splats with a z-buffer, cracks
//! and disocclusions filled from the background side, invalid depth (sky) at infinity.
//!
//! Add [`ReprojectionPlugin`], put a [`Reprojection`] on the camera entity (its
//! [`GlobalTransform`] is the target pose) and show [`Reprojection::output`].
//!
//! Render-world flow, per entity with an enabled [`Reprojection`]:
//! 1. `extract_jobs` (`ExtractSchedule`): the images, the uniform block for the entity's pose.
//! 2. `run_jobs` (`Render`, `PrepareBindGroups`): (re)creates the scratch buffers for the size,
//!    records the six passes and a copy of the result into the output image's texture, and
//!    submits them (before the frame's own rendering is submitted, so the output shows this
//!    frame's pose).

mod pipeline;
mod settings;
mod uniform;

use bevy::asset::embedded_asset;
use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{
    BindGroupEntries, Buffer, BufferDescriptor, BufferUsages, CommandEncoderDescriptor, ComputePassDescriptor,
    Extent3d, Origin3d, PipelineCache, TexelCopyBufferInfo, TexelCopyBufferLayout, TexelCopyTextureInfo, TextureAspect,
    TextureFormat,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::texture::GpuImage;
use bevy::render::{Extract, ExtractSchedule, Render, RenderApp, RenderStartup, RenderSystems};
use depthcast_packing::CameraPose;
use depthcast_reproject::RelativeTransform;

pub use settings::Reprojection;
pub use uniform::{REPROJECT_PARAMS_BYTES, REPROJECT_PASSES, REPROJECT_TILE, reproject_uniform};

use pipeline::{ReprojectionPipeline, init_pipeline};

/// Runs every enabled [`Reprojection`] each frame.
#[derive(Debug, Clone, Default)]
pub struct ReprojectionPlugin;

/// Ordering hook: in the `Render` schedule, the reprojection passes are submitted in this set
/// (inside `RenderSystems::PrepareBindGroups`).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReprojectionSystems;

impl Plugin for ReprojectionPlugin {
    fn build(&self, app: &mut App) {
        // The canonical file is `shaders/reproject.wgsl` (the contract test loads it from
        // there); `src/reproject/reproject.wgsl` is a symlink to it, as for the capture shader.
        embedded_asset!(app, "reproject.wgsl");
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .init_resource::<Jobs>()
            .init_resource::<ScratchBuffers>()
            .add_systems(RenderStartup, init_pipeline)
            .add_systems(ExtractSchedule, extract_jobs)
            .add_systems(Render, run_jobs.in_set(RenderSystems::PrepareBindGroups).in_set(ReprojectionSystems));
    }
}

/// The pose a [`GlobalTransform`] stands for (scale ignored): [`crate::camera::pose`].
pub fn pose_of(transform: &GlobalTransform) -> CameraPose {
    crate::camera::pose(&transform.to_matrix())
}

/// One entity's work this frame (render world).
struct Job {
    entity: Entity,
    colour: AssetId<Image>,
    depth: AssetId<Image>,
    output: AssetId<Image>,
    width: u32,
    height: u32,
    transform: RelativeTransform,
    settings: depthcast_reproject::ReprojectSettings,
}

#[derive(Resource, Default)]
struct Jobs(Vec<Job>);

fn extract_jobs(mut jobs: ResMut<Jobs>, query: Extract<Query<(Entity, &Reprojection, &GlobalTransform)>>) {
    jobs.0.clear();
    for (entity, r, transform) in &query {
        if !r.enabled {
            continue;
        }
        let k = r.source.intrinsics;
        jobs.0.push(Job {
            entity,
            colour: r.colour.id(),
            depth: r.depth.id(),
            output: r.output.id(),
            width: k.width,
            height: k.height,
            transform: RelativeTransform::new(&r.source, &pose_of(transform)),
            settings: r.settings,
        });
    }
}

/// An entity's GPU buffers, kept while its size stays.
struct Scratch {
    width: u32,
    height: u32,
    uniform: Buffer,
    /// zkey, zindex, key0, index0, key1, index1, out.
    buffers: Vec<Buffer>,
    warned: bool,
}

#[derive(Resource, Default)]
struct ScratchBuffers(HashMap<Entity, Scratch>);

fn scratch(device: &RenderDevice, width: u32, height: u32) -> Scratch {
    let pixels = u64::from(width) * u64::from(height) * 4;
    let out = u64::from(width.next_multiple_of(64)) * u64::from(height) * 4;
    let buffer = |label: &str, size: u64, usage: BufferUsages| {
        device.create_buffer(&BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false })
    };
    let mut buffers: Vec<Buffer> =
        (0..6).map(|_| buffer("depthcast_reproject_scratch", pixels, BufferUsages::STORAGE)).collect();
    buffers.push(buffer("depthcast_reproject_out", out, BufferUsages::STORAGE | BufferUsages::COPY_SRC));
    let uniform = buffer(
        "depthcast_reproject_params",
        REPROJECT_PARAMS_BYTES as u64,
        BufferUsages::UNIFORM | BufferUsages::COPY_DST,
    );
    Scratch { width, height, uniform, buffers, warned: false }
}

fn is_rgba8(format: TextureFormat) -> bool {
    matches!(format, TextureFormat::Rgba8Unorm | TextureFormat::Rgba8UnormSrgb)
}

#[allow(clippy::too_many_arguments, reason = "a render system's resources")]
fn run_jobs(
    jobs: Res<Jobs>,
    mut scratches: ResMut<ScratchBuffers>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    pipeline_cache: Res<PipelineCache>,
    pipeline: Res<ReprojectionPipeline>,
    images: Res<RenderAssets<GpuImage>>,
) {
    scratches.0.retain(|e, _| jobs.0.iter().any(|j| j.entity == *e));
    let Some(passes) =
        pipeline.passes.iter().map(|id| pipeline_cache.get_compute_pipeline(*id)).collect::<Option<Vec<_>>>()
    else {
        return;
    };
    for job in &jobs.0 {
        let (Some(colour), Some(depth), Some(output)) =
            (images.get(job.colour), images.get(job.depth), images.get(job.output))
        else {
            continue;
        };
        let s = scratches
            .0
            .entry(job.entity)
            .and_modify(|s| {
                if (s.width, s.height) != (job.width, job.height) {
                    *s = scratch(&device, job.width, job.height);
                }
            })
            .or_insert_with(|| scratch(&device, job.width, job.height));
        let size = |i: &GpuImage| (i.texture_descriptor.size.width, i.texture_descriptor.size.height);
        let formats_ok = is_rgba8(colour.texture_descriptor.format)
            && is_rgba8(output.texture_descriptor.format)
            && depth.texture_descriptor.format == TextureFormat::R32Float;
        let sizes_ok = [colour, depth, output].iter().all(|i| size(i) == (job.width, job.height));
        if !(formats_ok && sizes_ok) {
            if !s.warned {
                warn!(
                    "reprojection of {:?} skipped: images must be {}x{} (colour and output Rgba8Unorm[Srgb], depth \
                     R32Float); colour {:?} {:?}, depth {:?} {:?}, output {:?} {:?}",
                    job.entity,
                    job.width,
                    job.height,
                    size(colour),
                    colour.texture_descriptor.format,
                    size(depth),
                    depth.texture_descriptor.format,
                    size(output),
                    output.texture_descriptor.format,
                );
                s.warned = true;
            }
            continue;
        }
        let stride = job.width.next_multiple_of(64);
        let srgb = colour.texture_descriptor.format.is_srgb();
        queue.write_buffer(&s.uniform, 0, &reproject_uniform(&job.transform, &job.settings, stride, srgb));
        let b = &s.buffers;
        let bind_group = device.create_bind_group(
            "depthcast_reproject",
            &pipeline_cache.get_bind_group_layout(&pipeline.layout),
            &BindGroupEntries::sequential((
                s.uniform.as_entire_binding(),
                &colour.texture_view,
                &depth.texture_view,
                b[0].as_entire_binding(),
                b[1].as_entire_binding(),
                b[2].as_entire_binding(),
                b[3].as_entire_binding(),
                b[4].as_entire_binding(),
                b[5].as_entire_binding(),
                b[6].as_entire_binding(),
            )),
        );
        let mut encoder =
            device.create_command_encoder(&CommandEncoderDescriptor { label: Some("depthcast_reproject") });
        for (compute, name) in passes.iter().zip(REPROJECT_PASSES) {
            let mut pass =
                encoder.begin_compute_pass(&ComputePassDescriptor { label: Some(name), timestamp_writes: None });
            pass.set_pipeline(compute);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(job.width.div_ceil(REPROJECT_TILE), job.height.div_ceil(REPROJECT_TILE), 1);
        }
        encoder.copy_buffer_to_texture(
            TexelCopyBufferInfo {
                buffer: &b[6],
                layout: TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(stride * 4), rows_per_image: None },
            },
            TexelCopyTextureInfo {
                texture: &output.texture,
                mip_level: 0,
                origin: Origin3d::ZERO,
                aspect: TextureAspect::All,
            },
            Extent3d { width: job.width, height: job.height, depth_or_array_layers: 1 },
        );
        queue.submit([encoder.finish()]);
    }
}
