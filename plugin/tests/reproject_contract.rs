//! Contract test: `shaders/reproject.wgsl`, run by wgpu on the machine's adapter (Mesa's software
//! Vulkan in CI), draws the same pixels as its CPU twin `depthcast_reproject::Reprojector`, on
//! synthetic RGB-D scenes (the built-in game-like scene with sky, and a box over a wall) from
//! several poses: the source pose, small and large translations, forward motion (cracks), turns
//! (the sky moves), and a move so large that most pixels are holes or stale.
//!
//! The shader evaluates the CPU's expressions in the CPU's order, but a GPU may round a division
//! differently (Vulkan allows 2.5 ULP) or fuse a multiply and an add, which moves a splat that
//! lands within a rounding error of a pixel edge to the neighbouring pixel. So the bound is
//! 99.9 % of pixels identical per frame; the test prints how many differ. On Mesa's llvmpipe
//! (LLVM 15) every pixel of every frame is equal, with `Rgba8Unorm` and `Rgba8UnormSrgb` colour.
//!
//! Needs a Vulkan adapter (CI installs `mesa-vulkan-drivers`); without one it fails, loudly.

use std::borrow::Cow;
use std::time::Instant;

use bevy::render::render_resource::*;
use bevy::render::renderer::{RenderDevice, RenderQueue};
use depthcast_packing::{CameraBlock, CameraPose, DepthImage, Intrinsics, RgbImage, testdata};
use depthcast_plugin::reproject::{REPROJECT_PASSES, REPROJECT_TILE, reproject_uniform};
use depthcast_reproject::{RelativeTransform, ReprojectSettings, Reprojector};

mod common;

const SHADER: &str = include_str!("../../shaders/reproject.wgsl");

struct Gpu {
    device: RenderDevice,
    queue: RenderQueue,
    layout: BindGroupLayout,
    pipelines: Vec<ComputePipeline>,
}

fn storage(binding: u32) -> BindGroupLayoutEntry {
    BindGroupLayoutEntry {
        binding,
        visibility: ShaderStages::COMPUTE,
        ty: BindingType::Buffer {
            ty: BufferBindingType::Storage { read_only: false },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn texture(binding: u32) -> BindGroupLayoutEntry {
    BindGroupLayoutEntry {
        binding,
        visibility: ShaderStages::COMPUTE,
        ty: BindingType::Texture {
            sample_type: TextureSampleType::Float { filterable: false },
            view_dimension: TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

impl Gpu {
    fn new() -> Gpu {
        let (device, queue) = common::gpu();
        let dev = device.wgpu_device();
        let scope = dev.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = dev.create_shader_module(ShaderModuleDescriptor {
            label: Some("reproject"),
            source: ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
        });
        let mut entries = vec![
            BindGroupLayoutEntry {
                binding: 0,
                visibility: ShaderStages::COMPUTE,
                ty: BindingType::Buffer {
                    ty: BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            texture(1),
            texture(2),
        ];
        entries.extend((3..=9).map(storage));
        let layout = device.create_bind_group_layout("reproject", &entries);
        let pipeline_layout = device.create_pipeline_layout(&PipelineLayoutDescriptor {
            label: Some("reproject"),
            bind_group_layouts: &[Some(&*layout)],
            immediate_size: 0,
        });
        let pipelines = REPROJECT_PASSES
            .iter()
            .map(|entry| {
                device.create_compute_pipeline(&RawComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: PipelineCompilationOptions::default(),
                    cache: None,
                })
            })
            .collect();
        if let Some(e) = bevy::tasks::block_on(scope.pop()) {
            panic!("{e}");
        }
        Gpu { device, queue, layout, pipelines }
    }

    /// Runs the six passes; the output as RGB, and the GPU wall time of the submission.
    fn reproject(
        &self,
        colour: &RgbImage,
        depth: &DepthImage,
        source: &CameraBlock,
        target: &CameraPose,
        settings: &ReprojectSettings,
        srgb: bool,
    ) -> (RgbImage, f64) {
        let (w, h) = (colour.width, colour.height);
        let stride = w.next_multiple_of(64);
        let d = &self.device;
        let size = Extent3d { width: w, height: h, depth_or_array_layers: 1 };
        let tex = |label, format, bytes: &[u8]| {
            d.create_texture_with_data(
                &self.queue,
                &TextureDescriptor {
                    label: Some(label),
                    size,
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: TextureDimension::D2,
                    format,
                    usage: TextureUsages::TEXTURE_BINDING,
                    view_formats: &[],
                },
                TextureDataOrder::LayerMajor,
                bytes,
            )
        };
        let rgba: Vec<u8> = colour.data.chunks_exact(3).flat_map(|c| [c[0], c[1], c[2], 255]).collect();
        let format = if srgb { TextureFormat::Rgba8UnormSrgb } else { TextureFormat::Rgba8Unorm };
        let colour_tex = tex("colour", format, &rgba);
        let depth_bytes: Vec<u8> = depth.data.iter().flat_map(|z| z.to_le_bytes()).collect();
        let depth_tex = tex("depth", TextureFormat::R32Float, &depth_bytes);
        let t = RelativeTransform::new(source, target);
        let uniform = d.create_buffer_with_data(&BufferInitDescriptor {
            label: Some("params"),
            contents: &reproject_uniform(&t, settings, stride, srgb),
            usage: BufferUsages::UNIFORM,
        });
        let pixels = u64::from(w * h) * 4;
        let scratch: Vec<Buffer> = (0..6)
            .map(|_| {
                d.create_buffer(&BufferDescriptor {
                    label: Some("scratch"),
                    size: pixels,
                    usage: BufferUsages::STORAGE,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let out_bytes = u64::from(stride * h) * 4;
        let out = d.create_buffer(&BufferDescriptor {
            label: Some("out"),
            size: out_bytes,
            usage: BufferUsages::STORAGE | BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read = d.create_buffer(&BufferDescriptor {
            label: Some("read"),
            size: out_bytes,
            usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let views = [&colour_tex, &depth_tex].map(|t| t.create_view(&TextureViewDescriptor::default()));
        let mut entries = vec![
            BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
            BindGroupEntry { binding: 1, resource: BindingResource::TextureView(&views[0]) },
            BindGroupEntry { binding: 2, resource: BindingResource::TextureView(&views[1]) },
        ];
        for (i, b) in scratch.iter().enumerate() {
            entries.push(BindGroupEntry { binding: 3 + i as u32, resource: b.as_entire_binding() });
        }
        entries.push(BindGroupEntry { binding: 9, resource: out.as_entire_binding() });
        let bg = d.create_bind_group("reproject", &self.layout, &entries);
        let mut enc = d.create_command_encoder(&CommandEncoderDescriptor::default());
        for (pipeline, name) in self.pipelines.iter().zip(REPROJECT_PASSES) {
            let mut pass = enc.begin_compute_pass(&ComputePassDescriptor { label: Some(name), timestamp_writes: None });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(w.div_ceil(REPROJECT_TILE), h.div_ceil(REPROJECT_TILE), 1);
        }
        enc.copy_buffer_to_buffer(&out, 0, &read, 0, out_bytes);
        let start = Instant::now();
        self.queue.submit([enc.finish()]);
        read.slice(..).map_async(MapMode::Read, |r| r.expect("map"));
        d.poll(PollType::wait_indefinitely()).expect("poll");
        let seconds = start.elapsed().as_secs_f64();
        let words = read.slice(..).get_mapped_range().to_vec();
        read.unmap();
        let mut img = RgbImage { width: w, height: h, data: Vec::with_capacity((w * h * 3) as usize) };
        for y in 0..h {
            for x in 0..w {
                let k = 4 * (y * stride + x) as usize;
                img.data.extend_from_slice(&words[k..k + 3]);
                assert_eq!(words[k + 3], 255, "alpha at ({x}, {y})");
            }
        }
        (img, seconds)
    }
}

/// A different colour for most pixels.
fn pattern(w: u32, h: u32) -> RgbImage {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&[(x * 3) as u8, (y * 5) as u8, (x.wrapping_mul(31) ^ y.wrapping_mul(17)) as u8]);
        }
    }
    RgbImage { width: w, height: h, data }
}

/// A box 2 m away over a wall 10 m away, a strip of sky on top.
fn box_depth(k: &Intrinsics) -> DepthImage {
    let mut depth = DepthImage::new(k.width, k.height);
    for y in 0..k.height {
        for x in 0..k.width {
            let [bx, by, _] = k.unproject(x, y, 2.0);
            let z = if bx.abs() < 0.4 && by.abs() < 0.4 {
                2.0
            } else if y < k.height / 8 {
                0.0
            } else {
                10.0
            };
            depth.data[(y * k.width + x) as usize] = z;
        }
    }
    depth
}

fn yaw_pitch(yaw: f32, pitch: f32) -> [f32; 4] {
    // q = q_yaw(about +Y) * q_pitch(about +X)
    let (sy, cy) = (yaw / 2.0).sin_cos();
    let (sp, cp) = (pitch / 2.0).sin_cos();
    [cy * sp, sy * cp, -sy * sp, cy * cp]
}

/// Target poses relative to `source`.
fn targets(source: &CameraPose) -> Vec<(&'static str, CameraPose)> {
    let at = |dx: f32, dy: f32, dz: f32, rotation: [f32; 4]| {
        let p = source.position;
        CameraPose { position: [p[0] + dx, p[1] + dy, p[2] + dz], rotation }
    };
    let r = source.rotation;
    vec![
        ("same pose", *source),
        ("5 cm right", at(0.05, 0.0, 0.0, r)),
        ("30 cm left, 10 cm up", at(-0.3, 0.1, 0.0, r)),
        ("40 cm forward", at(0.0, 0.0, -0.4, r)),
        ("turn 3° + 10 cm", at(0.1, 0.0, -0.05, yaw_pitch(0.05, -0.02))),
        ("2 m right, turn 20°", at(2.0, 0.3, 1.0, yaw_pitch(0.35, 0.1))),
    ]
}

/// A differing pixel: x, y, GPU colour, CPU colour.
type Difference = (u32, u32, [u8; 3], [u8; 3]);

/// Pixels that differ (GPU vs CPU), and the first few.
fn differences(a: &RgbImage, b: &RgbImage) -> (usize, Vec<Difference>) {
    let mut n = 0;
    let mut first = Vec::new();
    for (i, (p, q)) in a.data.chunks_exact(3).zip(b.data.chunks_exact(3)).enumerate() {
        if p != q {
            n += 1;
            if first.len() < 5 {
                let i = i as u32;
                first.push((i % a.width, i / a.width, [p[0], p[1], p[2]], [q[0], q[1], q[2]]));
            }
        }
    }
    (n, first)
}

fn check_scenes(srgb: bool) {
    let gpu = Gpu::new();
    let settings = ReprojectSettings::default();
    let mut cpu = Reprojector::new(settings);
    let (mut frames, mut pixels, mut differing) = (0, 0usize, 0usize);
    for (w, h) in [(160u32, 90u32), (67, 33)] {
        let k = Intrinsics::from_fov_y(60f32.to_radians(), w, h, 0.1);
        let game = CameraBlock {
            frame_index: 1,
            pose: CameraPose { position: [0.0, 1.6, 0.0], ..CameraPose::default() },
            intrinsics: k,
        };
        let boxed = CameraBlock { frame_index: 2, pose: CameraPose::default(), intrinsics: k };
        let scenes = [("game", testdata::game_scene(w, h, 0.3), game), ("box", box_depth(&k), boxed)];
        let colour = pattern(w, h);
        for (scene, depth, source) in &scenes {
            for (what, target) in targets(&source.pose) {
                let mut want = RgbImage { width: 0, height: 0, data: Vec::new() };
                let stats = cpu.reproject(&colour, depth, source, &target, &mut want);
                let (got, _) = gpu.reproject(&colour, depth, source, &target, &settings, srgb);
                let (n, first) = differences(&got, &want);
                let total = (w * h) as usize;
                println!("{w}x{h} {scene} {what}: {n} of {total} pixels differ {first:?}; cpu {stats:?}");
                assert!(n * 1000 <= total, "{w}x{h} {scene} {what}: {n} of {total} pixels differ, first {first:?}");
                frames += 1;
                pixels += total;
                differing += n;
            }
        }
    }
    println!("{frames} frames, {pixels} pixels: {differing} differ (srgb: {srgb})");
}

#[test]
fn wgsl_reprojection_matches_the_cpu_reference() {
    check_scenes(false);
}

#[test]
fn srgb_colour_textures_give_the_same_codes() {
    check_scenes(true);
}

/// The passes at 1280x720 on this adapter (printed; lavapipe is a CPU rasteriser, so this is a
/// smoke number, not a GPU's).
#[test]
fn time_at_720p() {
    let gpu = Gpu::new();
    let (w, h) = (1280, 720);
    let k = Intrinsics::from_fov_y(60f32.to_radians(), w, h, 0.1);
    let source = CameraBlock {
        frame_index: 1,
        pose: CameraPose { position: [0.0, 1.6, 0.0], ..CameraPose::default() },
        intrinsics: k,
    };
    let depth = testdata::game_scene(w, h, 0.4);
    let colour = pattern(w, h);
    let target = CameraPose { position: [0.05, 1.6, 0.0], rotation: yaw_pitch(0.01, 0.0) };
    let settings = ReprojectSettings::default();
    let mut times: Vec<f64> =
        (0..5).map(|_| gpu.reproject(&colour, &depth, &source, &target, &settings, false).1 * 1e3).collect();
    times.sort_by(f64::total_cmp);
    let (got, _) = gpu.reproject(&colour, &depth, &source, &target, &settings, false);
    let mut want = RgbImage { width: 0, height: 0, data: Vec::new() };
    Reprojector::new(settings).reproject(&colour, &depth, &source, &target, &mut want);
    let (n, _) = differences(&got, &want);
    println!("1280x720: six passes + readback {:.2} ms (median of 5); {n} pixels differ from the CPU", times[2]);
    assert!(n * 1000 <= (w * h) as usize);
}
