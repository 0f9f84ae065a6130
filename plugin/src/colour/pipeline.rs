//! The compute pipeline, its bind group layout, and the uniform block and CPU twin of
//! `shaders/rgb_to_yuv420.wgsl`: how a texel becomes RGB bytes ([`TexelEncoding`]), the uniform
//! ([`colour_uniform`]) and the output layout ([`ColourLayout`]).

use bevy::asset::load_embedded_asset;
use bevy::camera::CompositingSpace;
use bevy::prelude::*;
use bevy::render::render_resource::binding_types::{storage_buffer_sized, texture_2d, uniform_buffer_sized};
use bevy::render::render_resource::{
    BindGroupLayoutDescriptor, BindGroupLayoutEntries, BufferSize, CachedComputePipelineId, ComputePipelineDescriptor,
    PipelineCache, ShaderStages, TextureFormat, TextureSampleType,
};
use bevy::shader::Shader;
use depthcast_packing::{BitDepth, PixelFormat, Ycbcr709Fixed};

/// Bytes of the shader's `Params` uniform: 24 words, then 64 vectors of sRGB midpoints.
pub const COLOUR_PARAMS_BYTES: usize = 96 + 64 * 16;
/// Bytes of the header in front of the frame in the output buffer (frame tag, width, height, 0
/// as u32).
pub const COLOUR_HEADER_BYTES: u64 = 16;
/// Invocations per workgroup of the `convert` entry point.
pub const COLOUR_TILE: u32 = 64;

const _: () = assert!(COLOUR_PARAMS_BYTES.is_multiple_of(16));

/// How the shader turns a texel's value (what `textureLoad` returns) into an RGB byte; the CPU
/// twin is [`TexelEncoding::byte`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TexelEncoding {
    /// `round(clamp(v, 0, 1) · 255)`, ties to even: the stored byte of a unorm texture, or an
    /// sRGB-encoded float value (a float target with [`CompositingSpace::Srgb`]). NaN gives an
    /// unspecified byte.
    Unorm,
    /// The byte whose sRGB decoding is nearest to the linear value: the number of
    /// [`srgb_midpoints`] below it (0 for NaN and values ≤ 0, 255 above 1). Recovers the stored
    /// byte of an sRGB texture exactly on any GPU, and sRGB-encodes linear float (HDR) values.
    Srgb,
}

impl TexelEncoding {
    /// How the main texture of a camera stores colour: `format` (the view's target format) and the
    /// camera's compositing space. `None` for what the pass cannot convert (Oklab compositing,
    /// formats that are not colour).
    pub fn for_target(format: TextureFormat, compositing: Option<CompositingSpace>) -> Option<TexelEncoding> {
        if compositing == Some(CompositingSpace::Oklab) {
            return None;
        }
        if format.is_srgb() {
            return Some(TexelEncoding::Srgb);
        }
        match format {
            // Float targets hold linear light unless the camera composites in sRGB.
            TextureFormat::Rgba16Float | TextureFormat::Rgba32Float | TextureFormat::Rg11b10Ufloat => {
                Some(if compositing == Some(CompositingSpace::Srgb) {
                    TexelEncoding::Unorm
                } else {
                    TexelEncoding::Srgb
                })
            }
            // What a unorm texture stores is what the camera's output holds.
            TextureFormat::Rgba8Unorm
            | TextureFormat::Bgra8Unorm
            | TextureFormat::Rgb10a2Unorm
            | TextureFormat::Rgba16Unorm => Some(TexelEncoding::Unorm),
            _ => None,
        }
    }

    /// The byte of one channel's value `v`, as the shader computes it.
    pub fn byte(self, v: f32) -> u8 {
        match self {
            TexelEncoding::Unorm => (v.clamp(0.0, 1.0) * 255.0).round_ties_even() as u8,
            TexelEncoding::Srgb => {
                let mid = srgb_midpoints();
                // Binary search as the shader does it (the count of midpoints below `v`).
                let mut b = 0usize;
                let mut step = 128;
                while step > 0 {
                    if v > mid[b + step - 1] {
                        b += step;
                    }
                    step >>= 1;
                }
                b as u8
            }
        }
    }

    fn code(self) -> u32 {
        match self {
            TexelEncoding::Unorm => 0,
            TexelEncoding::Srgb => 1,
        }
    }
}

/// The linear value of sRGB byte `b` (the IEC 61966-2-1 decoding), in f64.
pub fn srgb_decode(b: u8) -> f64 {
    let c = f64::from(b) / 255.0;
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

/// The 255 midpoints between the linear values of consecutive sRGB bytes (`i` lies between byte
/// `i` and byte `i + 1`), rounded once to f32. The smallest gap between two decoded bytes is
/// 3.0e-4 (bytes 0 and 1), so a GPU's sRGB decoding lands on the right side of every midpoint.
pub fn srgb_midpoints() -> &'static [f32; 255] {
    static MID: std::sync::OnceLock<[f32; 255]> = std::sync::OnceLock::new();
    MID.get_or_init(|| std::array::from_fn(|i| ((srgb_decode(i as u8) + srgb_decode(i as u8 + 1)) / 2.0) as f32))
}

/// Output layout of one frame of a `width x height` image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColourLayout {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Frame (luma) width: `width` rounded up to even.
    pub frame_width: u32,
    /// Frame (luma) height: `height` rounded up to even.
    pub frame_height: u32,
    /// Bytes of the `yuv420p` frame (Y, then U, then V, tightly packed).
    pub bytes: usize,
    /// u32 words the shader writes after the header (`bytes` rounded up to 4).
    pub words: u32,
}

impl ColourLayout {
    /// The layout for an image of `width x height` (both at least 1); `None` when the output
    /// buffer would not fit the shader's u32 addressing.
    pub fn new(width: u32, height: u32) -> Option<ColourLayout> {
        if width == 0 || height == 0 {
            return None;
        }
        let (fw, fh) = (width.next_multiple_of(2), height.next_multiple_of(2));
        let bytes = PixelFormat::Yuv420p.frame_bytes(fw, fh);
        let words = u32::try_from(bytes.div_ceil(4)).ok().filter(|w| w.checked_mul(4).is_some())?;
        Some(ColourLayout { width, height, frame_width: fw, frame_height: fh, bytes, words })
    }

    /// Bytes of the output buffer: header + words.
    pub fn buffer_bytes(&self) -> u64 {
        COLOUR_HEADER_BYTES + u64::from(self.words) * 4
    }

    /// Workgroups to dispatch: `(min(groups, 65535), ceil(groups / 65535), 1)`.
    pub fn workgroups(&self) -> (u32, u32, u32) {
        let groups = self.words.div_ceil(COLOUR_TILE);
        (groups.min(65535), groups.div_ceil(65535), 1)
    }
}

/// The shader's uniform for converting the `layout`-sized rectangle at `origin` of a texture
/// stored as `encoding`, tagging the output with `tag`.
pub fn colour_uniform(
    layout: &ColourLayout,
    origin: (u32, u32),
    encoding: TexelEncoding,
    tag: u32,
) -> [u8; COLOUR_PARAMS_BYTES] {
    let k = Ycbcr709Fixed::new(BitDepth::Eight);
    let mut out = [0u8; COLOUR_PARAMS_BYTES];
    let mut put = |i: usize, w: u32| out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    let words = [
        layout.width,
        layout.height,
        origin.0,
        origin.1,
        layout.frame_width,
        layout.frame_height,
        layout.bytes as u32,
        encoding.code(),
        tag,
        k.offset as u32,
    ];
    for (i, w) in words.into_iter().enumerate() {
        put(i, w);
    }
    for (j, c) in [k.luma, k.cb, k.cr].into_iter().enumerate() {
        for (i, v) in c.into_iter().enumerate() {
            put(12 + 4 * j + i, v as u32);
        }
    }
    for (i, m) in srgb_midpoints().iter().enumerate() {
        put(24 + i, m.to_bits());
    }
    out
}

/// The conversion pipeline (render world).
#[derive(Resource)]
pub(crate) struct ColourPipeline {
    pub(crate) layout: BindGroupLayoutDescriptor,
    pub(crate) pipeline: CachedComputePipelineId,
}

pub(crate) fn init_pipeline(
    mut commands: Commands,
    asset_server: Res<AssetServer>,
    pipeline_cache: Res<PipelineCache>,
) {
    let layout = BindGroupLayoutDescriptor::new(
        "depthcast_rgb_to_yuv420_layout",
        &BindGroupLayoutEntries::sequential(
            ShaderStages::COMPUTE,
            (
                texture_2d(TextureSampleType::Float { filterable: false }),
                uniform_buffer_sized(false, BufferSize::new(COLOUR_PARAMS_BYTES as u64)),
                storage_buffer_sized(false, BufferSize::new(COLOUR_HEADER_BYTES + 4)),
            ),
        ),
    );
    let shader: Handle<Shader> = load_embedded_asset!(asset_server.as_ref(), "rgb_to_yuv420.wgsl");
    let pipeline = pipeline_cache.queue_compute_pipeline(ComputePipelineDescriptor {
        label: Some("depthcast_rgb_to_yuv420".into()),
        layout: vec![layout.clone()],
        shader,
        entry_point: Some("convert".into()),
        ..default()
    });
    commands.insert_resource(ColourPipeline { layout, pipeline });
}
