//! Contract test: `shaders/linearize_depth.wgsl`, run by wgpu on the machine's adapter (Mesa's
//! software Vulkan in CI), gives the same linear depth as its CPU twin
//! `depthcast_packing::depth::ndc_to_linear` for every pixel.
//!
//! Known NDC values are drawn into a `Depth32Float` texture (a full-screen triangle writes
//! `frag_depth` from a buffer: depth textures cannot be filled by copies), then the real shader
//! linearises it into a storage buffer that is read back.
//!
//! Tolerance: background (NDC 0) must be exactly `+inf`; elsewhere at most 3 ULP of the CPU
//! value. The CPU divides with IEEE rounding (0.5 ULP); Vulkan only guarantees 2.5 ULP for an
//! f32 division in a shader, so 3 ULP is the tightest bound the API allows. At 10 m that is
//! 3 µm, far below the 16-bit millimetre quantisation of every later stage.
//!
//! Needs a Vulkan adapter (CI installs `mesa-vulkan-drivers`); without one it fails, loudly.

use std::borrow::Cow;

use bevy::prelude::*;
use bevy::render::render_resource::*;
use depthcast_packing::depth::ndc_to_linear;
use depthcast_plugin::capture::{HEADER_BYTES, padded_stride};

/// The shader's workgroup tile (`TILE_X`, `TILE_Y`).
const TILE: u32 = 8;

mod common;
use common::gpu;

const SHADER: &str = include_str!("../../shaders/linearize_depth.wgsl");

/// Writes `frag_depth` from a buffer, one value per pixel.
const FILL: &str = r#"
@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<uniform> width: vec4<u32>;
@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.5, 1.0);
}
@fragment fn fs(@builtin(position) p: vec4<f32>) -> @builtin(frag_depth) f32 {
    return values[u32(p.y) * width.x + u32(p.x)];
}
"#;

/// Deterministic test NDC values in `[0, 1]`: background zeros, the near plane, and a
/// logarithmic sweep from 1e-7 (far) to 1.
fn ndc_values(n: usize) -> Vec<f32> {
    let mut state = 0x9e37_79b9_u32;
    (0..n)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            match i % 11 {
                0 => 0.0,
                1 => 1.0,
                _ => 10f32.powf(-7.0 * (state >> 8) as f32 / (1u32 << 24) as f32),
            }
        })
        .collect()
}

fn ulp(x: f32) -> f32 {
    f32::from_bits(x.to_bits() + 1) - x
}

#[test]
fn wgsl_linearisation_matches_cpu_twin() {
    let (device, queue) = gpu();
    let dev = device.wgpu_device();
    // Odd sizes: partial workgroups at the right and bottom, and padded rows (stride 128 > 67).
    let (w, h) = (67u32, 33u32);
    let near = 0.1f32;
    let frame_tag = 4242u32;
    let stride = padded_stride(w);
    let ndc = ndc_values((w * h) as usize);

    // 1. Draw the NDC values into a depth texture.
    let depth = device.create_texture(&TextureDescriptor {
        label: Some("ndc"),
        size: Extent3d { width: w, height: h, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: TextureDimension::D2,
        format: TextureFormat::Depth32Float,
        usage: TextureUsages::RENDER_ATTACHMENT | TextureUsages::TEXTURE_BINDING,
        view_formats: &[],
    });
    let depth_view = depth.create_view(&TextureViewDescriptor::default());
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let values = device.create_buffer_with_data(&BufferInitDescriptor {
        label: Some("ndc values"),
        contents: &bytes(&ndc),
        usage: BufferUsages::STORAGE,
    });
    let wbuf = device.create_buffer_with_data(&BufferInitDescriptor {
        label: Some("width"),
        contents: &[w, 0, 0, 0].iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        usage: BufferUsages::UNIFORM,
    });
    let fill = dev.create_shader_module(ShaderModuleDescriptor {
        label: Some("fill"),
        source: ShaderSource::Wgsl(Cow::Borrowed(FILL)),
    });
    let fill_pipeline = dev.create_render_pipeline(&RawRenderPipelineDescriptor {
        label: Some("fill"),
        layout: None,
        vertex: RawVertexState { module: &fill, entry_point: Some("vs"), compilation_options: default(), buffers: &[] },
        primitive: PrimitiveState::default(),
        depth_stencil: Some(DepthStencilState {
            format: TextureFormat::Depth32Float,
            depth_write_enabled: Some(true),
            depth_compare: Some(CompareFunction::Always),
            stencil: StencilState::default(),
            bias: DepthBiasState::default(),
        }),
        multisample: MultisampleState::default(),
        fragment: Some(RawFragmentState {
            module: &fill,
            entry_point: Some("fs"),
            compilation_options: default(),
            targets: &[],
        }),
        multiview_mask: None,
        cache: None,
    });
    let fill_bg = dev.create_bind_group(&BindGroupDescriptor {
        label: Some("fill"),
        layout: &fill_pipeline.get_bind_group_layout(0),
        entries: &[
            BindGroupEntry { binding: 0, resource: values.as_entire_binding() },
            BindGroupEntry { binding: 1, resource: wbuf.as_entire_binding() },
        ],
    });

    // 2. The real shader.
    let module = dev.create_shader_module(ShaderModuleDescriptor {
        label: Some("linearize"),
        source: ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
    });
    let mut params = Vec::new();
    for word in [near.to_bits(), w, h, stride, frame_tag, 0, 0, 0] {
        params.extend(word.to_le_bytes());
    }
    let params = device.create_buffer_with_data(&BufferInitDescriptor {
        label: Some("params"),
        contents: &params,
        usage: BufferUsages::UNIFORM,
    });
    let size = HEADER_BYTES + u64::from(h) * u64::from(stride) * 4;

    // Two dispatches, so a stale output cannot pass: exactly the tiles, and one extra row and
    // column of workgroups (the shader must bounds-check them).
    let tiles: [(&str, u32, u32); 2] = [("exact 8x8 tiles", 0, 0), ("one extra workgroup each way", 1, 1)];
    for (name, extra_x, extra_y) in tiles {
        let pipeline = dev.create_compute_pipeline(&RawComputePipelineDescriptor {
            label: Some("linearize"),
            layout: None,
            module: &module,
            entry_point: Some("linearize"),
            compilation_options: PipelineCompilationOptions::default(),
            cache: None,
        });
        let out = device.create_buffer(&BufferDescriptor {
            label: Some("out"),
            size,
            usage: BufferUsages::STORAGE | BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read = device.create_buffer(&BufferDescriptor {
            label: Some("read"),
            size,
            usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bg = dev.create_bind_group(&BindGroupDescriptor {
            label: Some("linearize"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                BindGroupEntry { binding: 0, resource: BindingResource::TextureView(&depth_view) },
                BindGroupEntry { binding: 1, resource: params.as_entire_binding() },
                BindGroupEntry { binding: 2, resource: out.as_entire_binding() },
            ],
        });
        let mut enc = device.create_command_encoder(&CommandEncoderDescriptor::default());
        {
            let mut pass = enc.begin_render_pass(&RenderPassDescriptor {
                label: Some("fill"),
                color_attachments: &[],
                depth_stencil_attachment: Some(RenderPassDepthStencilAttachment {
                    view: &depth_view,
                    depth_ops: Some(Operations { load: LoadOp::Clear(0.0), store: StoreOp::Store }),
                    stencil_ops: None,
                }),
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_pipeline(&fill_pipeline);
            pass.set_bind_group(0, &fill_bg, &[]);
            pass.draw(0..3, 0..1);
        }
        {
            let mut pass =
                enc.begin_compute_pass(&ComputePassDescriptor { label: Some("linearize"), timestamp_writes: None });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(w.div_ceil(TILE) + extra_x, h.div_ceil(TILE) + extra_y, 1);
        }
        enc.copy_buffer_to_buffer(&out, 0, &read, 0, size);
        queue.submit([enc.finish()]);
        read.slice(..).map_async(MapMode::Read, |r| r.expect("map"));
        device.poll(PollType::wait_indefinitely()).expect("poll");
        let mapped = read.slice(..).get_mapped_range();
        let word = |k: usize| u32::from_le_bytes(mapped[k * 4..k * 4 + 4].try_into().unwrap());
        assert_eq!([word(0), word(1), word(2), word(3)], [frame_tag, w, h, stride], "{name}: header");

        let (mut worst, mut checked) = (0f32, 0);
        for y in 0..h as usize {
            for x in 0..w as usize {
                let k = HEADER_BYTES as usize / 4 + y * stride as usize + x;
                let gpu = f32::from_le_bytes(mapped[k * 4..k * 4 + 4].try_into().unwrap());
                let v = ndc[y * w as usize + x];
                let cpu = ndc_to_linear(v, near);
                if cpu.is_infinite() {
                    assert_eq!(gpu, f32::INFINITY, "{name}: background at ({x},{y}) must be +inf");
                } else {
                    let ulps = (gpu - cpu).abs() / ulp(cpu);
                    assert!(ulps <= 3.0, "{name}: ({x},{y}) ndc {v:e}: gpu {gpu} cpu {cpu} ({ulps} ulp)");
                    worst = worst.max(ulps);
                }
                checked += 1;
            }
        }
        println!("{name}: {checked} pixels, worst error {worst} ulp (limit 3)");
        drop(mapped);
        read.unmap();
    }
}
