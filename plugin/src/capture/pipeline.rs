//! The compute pipeline and its bind group layout.

use bevy::asset::load_embedded_asset;
use bevy::prelude::*;
use bevy::render::render_resource::binding_types::{storage_buffer_sized, texture_depth_2d, uniform_buffer_sized};
use bevy::render::render_resource::{
    BindGroupLayoutDescriptor, BindGroupLayoutEntries, BufferSize, CachedComputePipelineId, ComputePipelineDescriptor,
    PipelineCache, ShaderStages,
};
use bevy::shader::Shader;

/// Size of the shader's `Params` uniform in bytes.
pub(crate) const PARAMS_SIZE: u64 = 32;
/// Size of the header in front of the depth rows (frame, width, height, stride as u32).
pub const HEADER_BYTES: u64 = 16;
/// Workgroup tile of the shader (its `TILE_X`/`TILE_Y` constants).
pub(crate) const TILE: u32 = 8;

/// The linearising pipeline (render world).
#[derive(Resource)]
pub(crate) struct DepthCapturePipeline {
    pub(crate) layout: BindGroupLayoutDescriptor,
    pub(crate) pipeline: CachedComputePipelineId,
}

pub(crate) fn init_pipeline(
    mut commands: Commands,
    asset_server: Res<AssetServer>,
    pipeline_cache: Res<PipelineCache>,
) {
    let layout = BindGroupLayoutDescriptor::new(
        "depthcast_linearize_depth_layout",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::COMPUTE,
            (
                texture_depth_2d(),
                uniform_buffer_sized(false, BufferSize::new(PARAMS_SIZE)),
                storage_buffer_sized(false, BufferSize::new(HEADER_BYTES + 4)),
            ),
        ),
    );
    let shader: Handle<Shader> = load_embedded_asset!(asset_server.as_ref(), "linearize_depth.wgsl");
    let pipeline = pipeline_cache.queue_compute_pipeline(ComputePipelineDescriptor {
        label: Some("depthcast_linearize_depth".into()),
        layout: vec![layout.clone()],
        shader,
        entry_point: Some("linearize".into()),
        ..default()
    });
    commands.insert_resource(DepthCapturePipeline { layout, pipeline });
}
