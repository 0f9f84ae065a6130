//! Contract test: `shaders/rgb_to_yuv420.wgsl`, run by wgpu on the machine's adapter (Mesa's
//! software Vulkan in CI), writes the same `yuv420p` bytes as its CPU twin
//! (`RgbImage::to_yuv420(BitDepth::Eight)` of the texels' RGB bytes, [`TexelEncoding::byte`]),
//! byte for byte, plus the frame-tag header.
//!
//! Textures: `Rgba8UnormSrgb` (the usual main texture: the shader sees linear values and must
//! recover the stored bytes), `Rgba8Unorm`, `Bgra8UnormSrgb`, and `Rgba16Float` (HDR: values
//! below 0, above 1, infinities and NaN, sRGB-encoded; and sRGB-composited, clamped and scaled).
//! Content: every value of every channel (each channel sweeps 0..=255 with different phases),
//! random bytes, smooth gradients, a one-pixel checkerboard of extremes (every 2x2 chroma block
//! averages opposites, the rounding's worst case), odd sizes (the last column and row repeat into
//! the padding), a 1x1 image, and an image read from a sub-rectangle of a larger texture (a
//! viewport).
//!
//! Needs a Vulkan adapter (CI installs `mesa-vulkan-drivers`); without one it fails, loudly.

use std::borrow::Cow;

use bevy::render::render_resource::*;
use bevy::render::renderer::{RenderDevice, RenderQueue};
use depthcast_packing::{BitDepth, PixelFormat, RgbImage};
use depthcast_plugin::colour::{
    COLOUR_HEADER_BYTES, COLOUR_PARAMS_BYTES, ColourLayout, TexelEncoding, colour_uniform, srgb_decode, srgb_midpoints,
};

mod common;

const SHADER: &str = include_str!("../../shaders/rgb_to_yuv420.wgsl");

struct Gpu {
    device: RenderDevice,
    queue: RenderQueue,
    pipeline: ComputePipeline,
}

/// A texture's content: `width x height` texels of 4 channels in the format's own bytes.
struct Texels {
    format: TextureFormat,
    width: u32,
    height: u32,
    bytes: Vec<u8>,
}

impl Gpu {
    fn new() -> Gpu {
        let (device, queue) = common::gpu();
        let module = device.wgpu_device().create_shader_module(ShaderModuleDescriptor {
            label: Some("rgb_to_yuv420"),
            source: ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
        });
        let pipeline = device.create_compute_pipeline(&RawComputePipelineDescriptor {
            label: Some("rgb_to_yuv420"),
            layout: None,
            module: &module,
            entry_point: Some("convert"),
            compilation_options: PipelineCompilationOptions::default(),
            cache: None,
        });
        Gpu { device, queue, pipeline }
    }

    /// Converts the `layout`-sized rectangle at `origin` of `texels`; the header words and the
    /// frame bytes.
    fn convert(
        &self,
        texels: &Texels,
        layout: &ColourLayout,
        origin: (u32, u32),
        encoding: TexelEncoding,
    ) -> ([u32; 4], Vec<u8>) {
        let d = &self.device;
        let size = Extent3d { width: texels.width, height: texels.height, depth_or_array_layers: 1 };
        let texture = d.create_texture(&TextureDescriptor {
            label: Some("colour"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: TextureDimension::D2,
            format: texels.format,
            usage: TextureUsages::TEXTURE_BINDING | TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let texel_bytes = texels.bytes.len() as u32 / (texels.width * texels.height);
        self.queue.write_texture(
            TexelCopyTextureInfo {
                texture: &texture,
                mip_level: 0,
                origin: Origin3d::ZERO,
                aspect: TextureAspect::All,
            },
            &texels.bytes,
            TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(texels.width * texel_bytes), rows_per_image: None },
            size,
        );
        let view = texture.create_view(&TextureViewDescriptor::default());
        let uniform = colour_uniform(layout, origin, encoding, 0xC010_0125);
        assert_eq!(uniform.len(), COLOUR_PARAMS_BYTES);
        let params = d.create_buffer_with_data(&BufferInitDescriptor {
            label: Some("params"),
            contents: &uniform,
            usage: BufferUsages::UNIFORM,
        });
        let size = layout.buffer_bytes();
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
            label: Some("rgb_to_yuv420"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                BindGroupEntry { binding: 0, resource: BindingResource::TextureView(&view) },
                BindGroupEntry { binding: 1, resource: params.as_entire_binding() },
                BindGroupEntry { binding: 2, resource: out.as_entire_binding() },
            ],
        });
        let mut enc = d.create_command_encoder(&CommandEncoderDescriptor::default());
        {
            let mut pass =
                enc.begin_compute_pass(&ComputePassDescriptor { label: Some("convert"), timestamp_writes: None });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bg, &[]);
            let (x, y, z) = layout.workgroups();
            pass.dispatch_workgroups(x, y, z);
        }
        enc.copy_buffer_to_buffer(&out, 0, &read, 0, size);
        self.queue.submit([enc.finish()]);
        read.slice(..).map_async(MapMode::Read, |r| r.expect("map"));
        d.poll(PollType::wait_indefinitely()).expect("poll");
        let (header, bytes) = {
            let mapped = read.slice(..).get_mapped_range();
            let word = |k: usize| u32::from_le_bytes(mapped[4 * k..4 * k + 4].try_into().unwrap());
            let h = COLOUR_HEADER_BYTES as usize;
            ([word(0), word(1), word(2), word(3)], mapped[h..h + layout.bytes].to_vec())
        };
        read.unmap();
        (header, bytes)
    }
}

/// IEEE half → f32 (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let (e, m) = (i32::from((h >> 10) & 0x1f), f32::from(h & 0x3ff));
    match e {
        0 => sign * m * 2f32.powi(-24),
        31 if m == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + m / 1024.0) * 2f32.powi(e - 15),
    }
}

/// The RGB bytes the CPU twin sees for the `w x h` rectangle at `origin` of `texels`.
fn cpu_rgb(texels: &Texels, origin: (u32, u32), w: u32, h: u32, encoding: TexelEncoding) -> RgbImage {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in origin.1..origin.1 + h {
        for x in origin.0..origin.0 + w {
            let i = (y * texels.width + x) as usize;
            let rgb: [f32; 3] = match texels.format {
                // An 8-bit texture's bytes are the bytes (sRGB decoding and re-encoding is what
                // the shader must undo exactly); channel order per format.
                TextureFormat::Rgba8UnormSrgb | TextureFormat::Rgba8Unorm => {
                    let p = &texels.bytes[4 * i..4 * i + 3];
                    data.extend_from_slice(p);
                    continue;
                }
                TextureFormat::Bgra8UnormSrgb => {
                    let p = &texels.bytes[4 * i..4 * i + 3];
                    data.extend_from_slice(&[p[2], p[1], p[0]]);
                    continue;
                }
                TextureFormat::Rgba16Float => std::array::from_fn(|c| {
                    f16_to_f32(u16::from_le_bytes([texels.bytes[8 * i + 2 * c], texels.bytes[8 * i + 2 * c + 1]]))
                }),
                f => panic!("{f:?}"),
            };
            data.extend(rgb.map(|v| encoding.byte(v)));
        }
    }
    RgbImage { width: w, height: h, data }
}

struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

/// 8-bit RGBA texels from a function of (x, y) → RGB.
fn rgba8(format: TextureFormat, w: u32, h: u32, mut f: impl FnMut(u32, u32) -> [u8; 3]) -> Texels {
    let mut bytes = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = f(x, y);
            bytes.extend_from_slice(&[r, g, b, 255]);
        }
    }
    Texels { format, width: w, height: h, bytes }
}

/// RGB bytes of pixel (x, y).
type Content = Box<dyn Fn(u32, u32) -> [u8; 3]>;

/// The contents of the 8-bit cases, by name.
fn contents(w: u32, h: u32, seed: u32) -> Vec<(&'static str, Content)> {
    let noise: Vec<[u8; 3]> = {
        let mut rng = Rng(seed);
        (0..w * h).map(|_| rng.next().to_le_bytes()[..3].try_into().unwrap()).collect()
    };
    vec![
        // Each channel takes all 256 values along x, with phases that differ per row and channel.
        (
            "every value",
            Box::new(|x, y| [(x + 3 * y) as u8, (x.wrapping_mul(7) + y) as u8, (255 - (x + 11 * y) % 256) as u8]),
        ),
        ("random", Box::new(move |x, y| noise[(y * w + x) as usize])),
        (
            "gradients",
            Box::new(move |x, y| {
                let (u, v) = (x * 255 / w.max(2).saturating_sub(1).max(1), y * 255 / h.max(2).saturating_sub(1).max(1));
                [u.min(255) as u8, v.min(255) as u8, ((u + v) / 2).min(255) as u8]
            }),
        ),
        ("checkerboard of extremes", Box::new(|x, y| if (x + y) % 2 == 0 { [255, 0, 255] } else { [0, 255, 0] })),
        ("black", Box::new(|_, _| [0, 0, 0])),
        ("white", Box::new(|_, _| [255, 255, 255])),
    ]
}

fn check(gpu: &Gpu, texels: &Texels, origin: (u32, u32), w: u32, h: u32, encoding: TexelEncoding, what: &str) {
    let layout = ColourLayout::new(w, h).expect("layout");
    let (header, got) = gpu.convert(texels, &layout, origin, encoding);
    assert_eq!(header, [0xC010_0125, w, h, 0], "{what}: header");
    let want_frame = cpu_rgb(texels, origin, w, h, encoding).to_yuv420(BitDepth::Eight);
    let mut want = Vec::new();
    want_frame.write(PixelFormat::Yuv420p, &mut want).expect("write");
    assert_eq!(got.len(), want.len(), "{what}: frame bytes");
    if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
        let (fw, fh) = (layout.frame_width as usize, layout.frame_height as usize);
        let plane = if i < fw * fh {
            format!("Y ({}, {})", i % fw, i / fw)
        } else {
            let c = i - fw * fh;
            let cw = fw / 2;
            let q = cw * fh / 2;
            format!("{} ({}, {})", if c < q { "U" } else { "V" }, (c % q) % cw, (c % q) / cw)
        };
        let n = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        panic!("{what}: {n} bytes differ, first at {plane}: gpu {} cpu {}", got[i], want[i]);
    }
    println!("{what}: {} bytes equal", got.len());
}

#[test]
fn srgb_midpoints_separate_every_byte() {
    // The CPU twin's search gives back every byte from its exactly decoded value, and from the
    // value one f32 step either side (a GPU's decoding may be off by a few ULP).
    let mid = srgb_midpoints();
    assert!(mid.windows(2).all(|w| w[0] < w[1]));
    for b in 0..=255u8 {
        let v = srgb_decode(b) as f32;
        for v in [v, f32::from_bits(v.to_bits() + 4), if v > 0.0 { f32::from_bits(v.to_bits() - 4) } else { v }] {
            assert_eq!(TexelEncoding::Srgb.byte(v), b, "byte {b} from {v}");
        }
        assert_eq!(TexelEncoding::Unorm.byte(f32::from(b) / 255.0), b);
    }
    assert_eq!(TexelEncoding::Srgb.byte(f32::NAN), 0);
    assert_eq!(TexelEncoding::Srgb.byte(-1.0), 0);
    assert_eq!(TexelEncoding::Srgb.byte(f32::INFINITY), 255);
}

#[test]
fn wgsl_rgb_to_yuv420_matches_cpu_for_8bit_textures() {
    let gpu = Gpu::new();
    // Even, odd width, odd height, both odd, 1x1, and one with more than one chroma row of
    // workgroups' worth of words.
    for (w, h) in [(256u32, 6u32), (67, 33), (64, 31), (33, 17), (1, 1), (2, 1), (1, 3), (320, 181)] {
        for (name, f) in contents(w, h, 0x9e37_79b9 ^ (w * 31 + h)) {
            for (format, encoding) in [
                (TextureFormat::Rgba8UnormSrgb, TexelEncoding::Srgb),
                (TextureFormat::Rgba8Unorm, TexelEncoding::Unorm),
                (TextureFormat::Bgra8UnormSrgb, TexelEncoding::Srgb),
            ] {
                let texels = if format == TextureFormat::Bgra8UnormSrgb {
                    rgba8(format, w, h, |x, y| {
                        let [r, g, b] = f(x, y);
                        [b, g, r]
                    })
                } else {
                    rgba8(format, w, h, &f)
                };
                check(&gpu, &texels, (0, 0), w, h, encoding, &format!("{w}x{h} {name} {format:?}"));
            }
        }
    }
}

#[test]
fn wgsl_rgb_to_yuv420_reads_a_viewport() {
    // A 45x27 image at (13, 6) inside a 80x40 texture whose other texels are a different colour:
    // nothing outside the rectangle may leak in (the padding repeats the rectangle's edge).
    let gpu = Gpu::new();
    let (tw, th, ox, oy, w, h) = (80u32, 40u32, 13u32, 6u32, 45u32, 27u32);
    let mut rng = Rng(77);
    let noise: Vec<[u8; 3]> = (0..tw * th).map(|_| rng.next().to_le_bytes()[..3].try_into().unwrap()).collect();
    let texels = rgba8(TextureFormat::Rgba8UnormSrgb, tw, th, |x, y| {
        if (ox..ox + w).contains(&x) && (oy..oy + h).contains(&y) { noise[(y * tw + x) as usize] } else { [255, 0, 0] }
    });
    check(&gpu, &texels, (ox, oy), w, h, TexelEncoding::Srgb, "45x27 viewport of 80x40");
}

#[test]
fn wgsl_rgb_to_yuv420_matches_cpu_for_hdr_textures() {
    let gpu = Gpu::new();
    let one = 0x3c00u16;
    for (w, h) in [(128u32, 64u32), (37, 19)] {
        let mut rng = Rng(0x1234_5678 ^ w);
        // Random halves in 0..=2 (many above 1), plus specials every few texels.
        let mut bytes = Vec::new();
        for i in 0..w * h * 4 {
            let r = rng.next();
            let v: u16 = match (i / 4 % 23, i % 4) {
                (_, 3) => one,
                (0, _) => 0x7c00,              // +inf
                (1, _) => 0xbc00,              // -1
                (2, _) => 0x0001,              // smallest subnormal
                (3, _) => 0x8000,              // -0
                (4, _) => one,                 // exactly 1
                (5, _) => (r % 0x3c01) as u16, // 0..=1, every code reachable
                _ => (r % 0x4001) as u16,      // 0..=2
            };
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let texels = Texels { format: TextureFormat::Rgba16Float, width: w, height: h, bytes };
        check(&gpu, &texels, (0, 0), w, h, TexelEncoding::Srgb, &format!("{w}x{h} Rgba16Float linear"));
        check(&gpu, &texels, (0, 0), w, h, TexelEncoding::Unorm, &format!("{w}x{h} Rgba16Float sRGB-composited"));
    }
    // NaN is defined for the sRGB encoding (0), the HDR case of a linear main texture.
    let nan = Texels {
        format: TextureFormat::Rgba16Float,
        width: 2,
        height: 2,
        bytes: [0x7e00u16, one, 0x7e00, one].repeat(4).iter().flat_map(|v| v.to_le_bytes()).collect(),
    };
    check(&gpu, &nan, (0, 0), 2, 2, TexelEncoding::Srgb, "2x2 Rgba16Float NaN");
}

/// Wall time of the conversion at 1280x720 on this adapter (on a software adapter that is the
/// pass's GPU time; a real GPU's is in Bevy's `render/depthcast_rgb_to_yuv420/elapsed_gpu`).
/// `cargo test --release -p depthcast-plugin --test colour_contract -- --ignored --nocapture`
#[test]
#[ignore = "timing, not a check"]
fn colour_pass_time_at_720p() {
    let gpu = Gpu::new();
    let (w, h) = (1280, 720);
    let mut rng = Rng(5);
    let texels = rgba8(TextureFormat::Rgba8UnormSrgb, w, h, |_, _| rng_bytes(&mut rng));
    let layout = ColourLayout::new(w, h).expect("layout");
    gpu.convert(&texels, &layout, (0, 0), TexelEncoding::Srgb);
    let runs = 10;
    let t = std::time::Instant::now();
    for _ in 0..runs {
        gpu.convert(&texels, &layout, (0, 0), TexelEncoding::Srgb);
    }
    let ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(runs);
    println!("1280x720: {ms:.2} ms per conversion (upload, pass, readback of {} bytes)", layout.buffer_bytes());
}

fn rng_bytes(rng: &mut Rng) -> [u8; 3] {
    rng.next().to_le_bytes()[..3].try_into().unwrap()
}
