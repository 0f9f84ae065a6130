//! Whole-app test of [`ReprojectionPlugin`]: a headless app with a camera entity carrying a
//! [`Reprojection`] of the built-in game-like scene (sRGB colour, `R32Float` depth) and a pose
//! 10 cm beside the source's; the output image, read back with Bevy's GPU readback, equals
//! `depthcast_reproject::Reprojector`'s output for the entity's `GlobalTransform`, pixel for pixel.
//!
//! Needs a Vulkan adapter (CI installs `mesa-vulkan-drivers`); without one it fails, loudly.

use std::sync::{Arc, Mutex};

use bevy::asset::RenderAssetUsages;
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};
use depthcast_packing::{CameraBlock, CameraPose, Intrinsics, RgbImage, testdata};
use depthcast_plugin::reproject::pose_of;
use depthcast_plugin::{Reprojection, ReprojectionPlugin};
use depthcast_reproject::{ReprojectSettings, Reprojector};

const W: u32 = 128; // 512-byte rows: the readback has no row padding
const H: u32 = 72;

fn image(bytes: Vec<u8>, format: TextureFormat) -> Image {
    let mut img = Image::new(
        Extent3d { width: W, height: H, depth_or_array_layers: 1 },
        TextureDimension::D2,
        bytes,
        format,
        RenderAssetUsages::default(),
    );
    img.texture_descriptor.usage |= TextureUsages::COPY_SRC | TextureUsages::COPY_DST;
    img
}

#[test]
fn plugin_output_equals_the_cpu_reprojector() {
    let mut colour = RgbImage { width: W, height: H, data: Vec::new() };
    for y in 0..H {
        for x in 0..W {
            colour.data.extend_from_slice(&[(x * 2) as u8, (y * 3) as u8, (x ^ y) as u8 * 4]);
        }
    }
    let depth = testdata::game_scene(W, H, 0.2);
    let source = CameraBlock {
        frame_index: 3,
        pose: CameraPose { position: [0.0, 1.6, 0.0], ..CameraPose::default() },
        intrinsics: Intrinsics::from_fov_y(60f32.to_radians(), W, H, 0.1),
    };
    let target = Transform::from_xyz(0.1, 1.6, 0.05).with_rotation(Quat::from_rotation_y(0.03));

    let mut app = App::new();
    app.add_plugins((
        depthcast_plugin::headless_plugins()
            .set(RenderPlugin { synchronous_pipeline_compilation: true, ..default() })
            .disable::<LogPlugin>()
            .disable::<PipelinedRenderingPlugin>(),
        ReprojectionPlugin,
    ));
    app.finish();
    app.cleanup();
    let (colour_h, depth_h, output_h) = {
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        let rgba = colour.data.chunks_exact(3).flat_map(|c| [c[0], c[1], c[2], 255]).collect();
        let depth_bytes = depth.data.iter().flat_map(|z| z.to_le_bytes()).collect();
        (
            images.add(image(rgba, TextureFormat::Rgba8UnormSrgb)),
            images.add(image(depth_bytes, TextureFormat::R32Float)),
            images.add(image(vec![0; (W * H * 4) as usize], TextureFormat::Rgba8UnormSrgb)),
        )
    };
    app.world_mut().spawn((target, Reprojection::new(colour_h, depth_h, source, output_h.clone())));
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = got.clone();
    app.world_mut()
        .spawn(Readback::texture(output_h))
        .observe(move |event: On<ReadbackComplete>| sink.lock().unwrap().push(event.data.clone()));

    let mut want = RgbImage { width: 0, height: 0, data: Vec::new() };
    let pose = pose_of(&GlobalTransform::from(target));
    let stats = Reprojector::new(ReprojectSettings::default()).reproject(&colour, &depth, &source, &pose, &mut want);
    println!("cpu: {stats:?}");
    assert!(stats.holes_filled + stats.cracks_filled > 0, "the move reveals something");
    for update in 0..40 {
        app.update();
        let frames = std::mem::take(&mut *got.lock().unwrap());
        for data in frames {
            assert_eq!(data.len(), (W * H * 4) as usize);
            let rgb: Vec<u8> = data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            if rgb == want.data {
                println!("update {update}: output equals the CPU reprojector");
                return;
            }
            let differ = rgb.chunks_exact(3).zip(want.data.chunks_exact(3)).filter(|(a, b)| a != b).count();
            println!("update {update}: {differ} pixels differ (pipelines still compiling?)");
        }
    }
    panic!("the output never equalled the CPU reprojector");
}
