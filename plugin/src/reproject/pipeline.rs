//! The six compute pipelines and their shared bind group layout.

use bevy::asset::load_embedded_asset;
use bevy::prelude::*;
use bevy::render::render_resource::binding_types::{storage_buffer_sized, texture_2d, uniform_buffer_sized};
use bevy::render::render_resource::{
    BindGroupLayoutDescriptor, BindGroupLayoutEntries, BufferSize, CachedComputePipelineId, ComputePipelineDescriptor,
    PipelineCache, ShaderStages, TextureSampleType,
};
use bevy::shader::Shader;

use super::uniform::{REPROJECT_PARAMS_BYTES, REPROJECT_PASSES};

/// The reprojection pipelines, one per entry point in [`REPROJECT_PASSES`] order (render world).
#[derive(Resource)]
pub(crate) struct ReprojectionPipeline {
    pub(crate) layout: BindGroupLayoutDescriptor,
    pub(crate) passes: Vec<CachedComputePipelineId>,
}

pub(crate) fn init_pipeline(
    mut commands: Commands,
    asset_server: Res<AssetServer>,
    pipeline_cache: Res<PipelineCache>,
) {
    let storage = || storage_buffer_sized(false, BufferSize::new(4));
    let texture = || texture_2d(TextureSampleType::Float { filterable: false });
    let layout = BindGroupLayoutDescriptor::new(
        "depthcast_reproject_layout",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::COMPUTE,
            (
                uniform_buffer_sized(false, BufferSize::new(REPROJECT_PARAMS_BYTES as u64)),
                texture(),
                texture(),
                storage(),
                storage(),
                storage(),
                storage(),
                storage(),
                storage(),
                storage(),
            ),
        ),
    );
    let shader: Handle<Shader> = load_embedded_asset!(asset_server.as_ref(), "reproject.wgsl");
    let passes = REPROJECT_PASSES
        .iter()
        .map(|entry| {
            pipeline_cache.queue_compute_pipeline(ComputePipelineDescriptor {
                label: Some(format!("depthcast_reproject_{entry}").into()),
                layout: vec![layout.clone()],
                shader: shader.clone(),
                entry_point: Some((*entry).into()),
                ..default()
            })
        })
        .collect();
    commands.insert_resource(ReprojectionPipeline { layout, passes });
}
