//! Shared by the GPU contract tests: a render device on the machine's adapter.

use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::{RenderApp, RenderPlugin};

/// Bevy's render device and queue (Mesa's software Vulkan in CI). Panics with the packages to
/// install when there is no adapter.
pub(crate) fn gpu() -> (RenderDevice, RenderQueue) {
    let mut app = App::new();
    app.add_plugins(
        depthcast_plugin::headless_plugins()
            .set(RenderPlugin { synchronous_pipeline_compilation: true, ..default() })
            .disable::<LogPlugin>()
            // Pipelined rendering moves the render sub-app to its own thread in `cleanup`.
            .disable::<PipelinedRenderingPlugin>(),
    );
    app.finish();
    app.cleanup();
    let render = app.get_sub_app(RenderApp).expect("render sub-app");
    let device = render.world().get_resource::<RenderDevice>().cloned().expect(
        "no GPU adapter found: install Mesa's software Vulkan (apt-get install mesa-vulkan-drivers libvulkan1) \
         and run with WGPU_BACKEND=vulkan",
    );
    let queue = render.world().resource::<RenderQueue>().clone();
    if let Some(info) = render.world().get_resource::<bevy::render::renderer::RenderAdapterInfo>() {
        println!("adapter: {} ({:?}, driver {} {})", info.name, info.backend, info.driver, info.driver_info);
    }
    (device, queue)
}
