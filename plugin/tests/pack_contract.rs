//! Contract test: `shaders/pack_depth.wgsl`, run by wgpu on the machine's adapter (Mesa's
//! software Vulkan in CI), writes the same frame bytes as its CPU twin
//! (`depthcast_packing::Packer::pack_into` then `YuvFrame::write`), byte for byte, for every
//! scheme and layout at both plane bit depths, with linear and disparity ranges: luma-only and VBP
//! at precisions B to B+8, hue, and triangle waves at every precision with periods across
//! `PackParams::period_range` (its ends, odd periods, periods around the chroma's resolution).
//!
//! Depth content: the built-in game-like scene (floors, walls, boxes, a sphere, sky = invalid)
//! plus per-pixel noise (every level boundary gets crossed), pixels beyond `far`, zeros,
//! negatives, subnormals, and a range that clamps the nearest surfaces; odd sizes exercise the
//! padding column and row, and the source rows are padded like the capture's output (header +
//! 256-byte-aligned rows).
//!
//! Needs a Vulkan adapter (CI installs `mesa-vulkan-drivers`); without one it fails, loudly.

use std::borrow::Cow;

use bevy::render::render_resource::*;
use bevy::render::renderer::{RenderDevice, RenderQueue};
use depthcast_packing::schemes::triangle::default_period;
use depthcast_packing::{BitDepth, DepthImage, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame, testdata};
use depthcast_plugin::capture::{HEADER_BYTES, padded_stride};
use depthcast_plugin::pack::{GpuFrameLayout, PACK_PARAMS_BYTES, pack_uniform};

mod common;

const SHADER: &str = include_str!("../../shaders/pack_depth.wgsl");

/// The scene with noise, invalid pixels and out-of-range depths (deterministic).
fn depth(w: u32, h: u32, t: f32) -> DepthImage {
    let mut img = testdata::game_scene(w, h, t);
    let mut state = 0x2545_f491_u32;
    for (i, z) in img.data.iter_mut().enumerate() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let r = (state >> 8) as f32 / (1u32 << 24) as f32;
        *z = match i % 97 {
            0 => 0.0,
            1 => f32::INFINITY,
            2 => 1e4,
            3 => -1.0,
            4 => 1e-40,
            _ if z.is_finite() && *z > 0.0 => *z * (1.0 + 0.002 * (r - 0.5)),
            _ => *z,
        };
    }
    img
}

struct Gpu {
    device: RenderDevice,
    queue: RenderQueue,
    pipeline: ComputePipeline,
}

impl Gpu {
    fn new() -> Gpu {
        let (device, queue) = common::gpu();
        let module = device.wgpu_device().create_shader_module(ShaderModuleDescriptor {
            label: Some("pack_depth"),
            source: ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
        });
        let pipeline = device.create_compute_pipeline(&RawComputePipelineDescriptor {
            label: Some("pack_depth"),
            layout: None,
            module: &module,
            entry_point: Some("pack"),
            compilation_options: PipelineCompilationOptions::default(),
            cache: None,
        });
        Gpu { device, queue, pipeline }
    }

    /// Packs `img` (laid out as the capture's output buffer) with `p`; the frame bytes.
    fn pack(&self, img: &DepthImage, p: &PackParams) -> (Vec<u8>, GpuFrameLayout) {
        let stride = padded_stride(img.width);
        let offset = (HEADER_BYTES / 4) as u32;
        let mut src = vec![0u8; HEADER_BYTES as usize + (img.height * stride * 4) as usize];
        for y in 0..img.height as usize {
            for x in 0..img.width as usize {
                let k = HEADER_BYTES as usize + (y * stride as usize + x) * 4;
                src[k..k + 4].copy_from_slice(&img.data[y * img.width as usize + x].to_le_bytes());
            }
        }
        let (uniform, layout) = pack_uniform(p, stride, offset).expect("supported on the GPU");
        assert_eq!(uniform.len(), PACK_PARAMS_BYTES);
        let d = &self.device;
        let src = d.create_buffer_with_data(&BufferInitDescriptor {
            label: Some("depth"),
            contents: &src,
            usage: BufferUsages::STORAGE,
        });
        let params = d.create_buffer_with_data(&BufferInitDescriptor {
            label: Some("params"),
            contents: &uniform,
            usage: BufferUsages::UNIFORM,
        });
        let size = u64::from(layout.words) * 4;
        let out = d.create_buffer(&BufferDescriptor {
            label: Some("frame"),
            size,
            usage: BufferUsages::STORAGE | BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read = d.create_buffer(&BufferDescriptor {
            label: Some("read"),
            size,
            usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bg = d.wgpu_device().create_bind_group(&BindGroupDescriptor {
            label: Some("pack_depth"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                BindGroupEntry { binding: 0, resource: src.as_entire_binding() },
                BindGroupEntry { binding: 1, resource: params.as_entire_binding() },
                BindGroupEntry { binding: 2, resource: out.as_entire_binding() },
            ],
        });
        let mut enc = d.create_command_encoder(&CommandEncoderDescriptor::default());
        {
            let mut pass =
                enc.begin_compute_pass(&ComputePassDescriptor { label: Some("pack"), timestamp_writes: None });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bg, &[]);
            let (x, y, z) = layout.workgroups();
            pass.dispatch_workgroups(x, y, z);
        }
        enc.copy_buffer_to_buffer(&out, 0, &read, 0, size);
        self.queue.submit([enc.finish()]);
        read.slice(..).map_async(MapMode::Read, |r| r.expect("map"));
        d.poll(PollType::wait_indefinitely()).expect("poll");
        let bytes = read.slice(..).get_mapped_range()[..layout.bytes].to_vec();
        read.unmap();
        (bytes, layout)
    }
}

fn cpu(img: &DepthImage, p: &PackParams, layout: &GpuFrameLayout) -> Vec<u8> {
    let mut frame = YuvFrame::new(layout.width, layout.height, p.bit_depth);
    Packer::default().pack_into(&img.view(), p, &mut frame).expect("cpu pack");
    let mut bytes = Vec::new();
    frame.write(layout.format, &mut bytes).expect("write");
    bytes
}

/// Where two frames first differ, as (plane, x, y, gpu code, cpu code).
fn first_difference(a: &[u8], b: &[u8], l: &GpuFrameLayout) -> Option<(String, usize, usize, u32, u32)> {
    let bps = if l.format == depthcast_packing::PixelFormat::Yuv420p { 1 } else { 2 };
    let code = |v: &[u8], s: usize| {
        if bps == 1 { u32::from(v[s]) } else { u32::from(v[2 * s]) | u32::from(v[2 * s + 1]) << 8 }
    };
    let (w, h) = (l.width as usize, l.height as usize);
    (0..a.len() / bps).find(|&s| code(a, s) != code(b, s)).map(|s| {
        let (plane, i, pw) = if s < w * h {
            ("Y", s, w)
        } else if s < w * h + w * h / 4 {
            ("U", s - w * h, w / 2)
        } else {
            ("V", s - w * h - w * h / 4, w / 2)
        };
        (plane.to_string(), i % pw, i / pw, code(a, s), code(b, s))
    })
}

/// Packs `img` with `p` on the GPU and the CPU and panics at the first differing sample; the
/// number of bytes compared.
fn check(gpu: &Gpu, img: &DepthImage, p: &PackParams, what: &str) -> usize {
    p.validate().unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let (g, layout) = gpu.pack(img, p);
    let c = cpu(img, p, &layout);
    assert_eq!(g.len(), c.len());
    if let Some(d) = first_difference(&g, &c, &layout) {
        panic!("{what} {p:?}: first difference {d:?} (plane, x, y, gpu, cpu)");
    }
    g.len()
}

/// Frames of both sizes and two camera positions: (size and time, depth).
fn images(sizes: &[(u32, u32)]) -> Vec<(String, DepthImage)> {
    let mut out = Vec::new();
    for &(w, h) in sizes {
        for t in [0.0f32, 0.7] {
            out.push((format!("{w}x{h} t={t}"), depth(w, h, t)));
        }
    }
    out
}

/// `p` for the image, the bit depth and the range mode.
fn with(p: PackParams, img: &DepthImage, bits: BitDepth, mode: RangeMode) -> PackParams {
    PackParams { bit_depth: bits, mode, width: img.width, height: img.height, ..p }
}

const MODES: [RangeMode; 2] = [RangeMode::Linear, RangeMode::Disparity];

#[test]
fn wgsl_packing_matches_the_cpu_packer_byte_for_byte() {
    let gpu = Gpu::new();
    let (mut cases, mut bytes) = (0, 0);
    for (what, img) in images(&[(67, 33), (160, 90)]) {
        for bits in [BitDepth::Eight, BitDepth::Ten] {
            let b = bits.bits();
            let mut configs = vec![PackParams::new(Scheme::LumaOnly, b, 0.6, 40.0, 1, 1)];
            for precision in [b, b + 2, b + 5, b + 8] {
                for layout in [VbpLayout::Chroma, VbpLayout::Luma] {
                    configs.push(PackParams { layout, ..PackParams::new(Scheme::Vbp, precision, 0.6, 40.0, 1, 1) });
                }
            }
            // Half amplitude: a reduced low plane (base > 0, step < 1).
            configs.push(PackParams {
                layout: VbpLayout::Luma,
                low_amplitude: 128,
                ..PackParams::new(Scheme::Vbp, b + 6, 0.6, 40.0, 1, 1)
            });
            configs.push(PackParams::new(Scheme::Hue, 0, 0.6, 40.0, 1, 1));
            for (precision, period) in [(b + 8, 1u32 << (b + 4)), (b + 6, 1 << (b + 1)), (b + 5, 1000)] {
                configs.push(PackParams { period, ..PackParams::new(Scheme::Triangle, precision, 0.6, 40.0, 1, 1) });
            }
            // Maps sent at half size: the shader reads every other depth of every other row.
            // Every third configuration, and hue (the start-up probe's half-size set has it).
            let hue = configs.iter().position(|p| p.scheme == Scheme::Hue).expect("hue is in the list");
            let half: Vec<PackParams> = (configs.iter().enumerate())
                .filter(|&(i, _)| i % 3 == 0 || i == hue)
                .map(|(_, p)| PackParams { half: true, ..*p })
                .collect();
            configs.extend(half);
            for p in configs {
                for mode in MODES {
                    bytes += check(&gpu, &img, &with(p, &img, bits, mode), &what);
                    cases += 1;
                }
            }
        }
    }
    println!("{cases} frames ({bytes} bytes): every byte equal");
}

/// A `w x h` ramp over `near..far` in `steps` steps along x + y (past `far`: invalid).
fn ramp(w: u32, h: u32, near: f32, far: f32, steps: u32) -> DepthImage {
    let mut img = DepthImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            img.data[(y * w + x) as usize] = near + (far - near) * ((x + y) as f32 / steps as f32);
        }
    }
    img
}

/// Hue: the wheel's RGB and its fixed-point BT.709 conversion, on odd and tiny sizes, and on a
/// ramp through every level of the wheel.
#[test]
fn hue_matches_the_cpu_packer_byte_for_byte() {
    let gpu = Gpu::new();
    let (mut cases, mut bytes) = (0, 0);
    let mut imgs = images(&[(67, 33), (160, 90), (5, 3), (1, 1)]);
    imgs.push(("ramp".into(), ramp(1531, 3, 0.6, 40.0, 1521)));
    for (what, img) in imgs {
        for bits in [BitDepth::Eight, BitDepth::Ten] {
            for mode in MODES {
                for (near, far) in [(0.6, 40.0), (2.0, 9.0)] {
                    let p = PackParams::new(Scheme::Hue, 0, near, far, 1, 1);
                    bytes += check(&gpu, &img, &with(p, &img, bits, mode), &what);
                    cases += 1;
                }
            }
        }
    }
    println!("hue: {cases} frames ({bytes} bytes): every byte equal");
}

/// Periods to test at a precision and bit depth: both ends of the allowed range and their
/// neighbours, the default, odd and prime periods, and periods around `2 (2^B - 1)`, where the
/// waves stop resolving single levels.
fn periods(precision: u8, bits: BitDepth) -> Vec<u32> {
    let (min, max) = PackParams::period_range(precision, bits);
    let two_codes = 2 * u32::from(bits.max_code());
    let mut v = vec![
        min,
        min + 1,
        default_period(precision, bits),
        ((min + max) / 2) | 1,
        1000,
        4093,
        two_codes - 1,
        two_codes,
        two_codes + 1,
        max - 1,
        max,
    ];
    v.retain(|&n| (min..=max).contains(&n));
    v.sort_unstable();
    v.dedup();
    v
}

/// Triangle waves with any period (integer waves rounded half to even, as the CPU's).
#[test]
fn triangle_waves_with_any_period_match_the_cpu_packer() {
    let gpu = Gpu::new();
    let (mut cases, mut bytes) = (0, 0);
    for (k, (what, img)) in images(&[(67, 33), (160, 90)]).into_iter().enumerate() {
        for bits in [BitDepth::Eight, BitDepth::Ten] {
            let b = bits.bits();
            for precision in b..=b + 8 {
                for period in periods(precision, bits) {
                    let p = PackParams { period, ..PackParams::new(Scheme::Triangle, precision, 0.6, 40.0, 1, 1) };
                    // Disparity on every other frame: the level is the same code path either way.
                    let mode = MODES[k % 2];
                    bytes += check(&gpu, &img, &with(p, &img, bits, mode), &what);
                    cases += 1;
                }
            }
        }
    }
    println!("triangle: {cases} frames ({bytes} bytes): every byte equal");
}

/// A frame too large for one row of workgroups (tall 10-bit 4K: more than 65535 groups of 64
/// words) dispatches in two dimensions and still covers every word.
#[test]
fn large_frames_use_two_dimensional_dispatch() {
    let p = PackParams {
        bit_depth: BitDepth::Ten,
        layout: VbpLayout::Luma,
        ..PackParams::new(Scheme::Vbp, 16, 0.5, 50.0, 3840, 2160)
    };
    let (_, layout) = pack_uniform(&p, padded_stride(3840), 4).expect("supported");
    let (x, y, _) = layout.workgroups();
    assert!(y > 1, "{x}x{y}");
    assert!(u64::from(x) * u64::from(y) * 64 >= u64::from(layout.words));
    let gpu = Gpu::new();
    let img = depth(3840, 2160, 0.3);
    let (g, layout) = gpu.pack(&img, &p);
    assert!(first_difference(&g, &cpu(&img, &p, &layout), &layout).is_none());
}
