//! The per-camera opt-in component.

use bevy::prelude::*;
use bevy::render::extract_component::ExtractComponent;

/// Captures this camera's rendered colour as full-range BT.709 YUV 4:2:0 (8-bit) every frame.
///
/// Put it on a `Camera3d`. After post-processing (tonemapping, anti-aliasing) a compute pass
/// reads the camera's main texture and converts it on the GPU (`shaders/rgb_to_yuv420.wgsl`),
/// byte for byte what [`RgbImage::to_yuv420`](depthcast_packing::RgbImage::to_yuv420) gives for
/// the image's RGB bytes: the stored bytes of an 8-bit target (sRGB or unorm), or, for an HDR
/// (`Rgba16Float`) target, its values clamped to 0..=1 and sRGB-encoded (see
/// [`TexelEncoding`](super::TexelEncoding)). Cameras compositing in Oklab are skipped with a
/// warning. Odd sizes are padded to even by repeating the last column and row.
///
/// With [`readback`](Self::readback) on, frames arrive as [`ColourFrame`](super::ColourFrame)s on
/// [`ColourFrames`](super::ColourFrames), tagged with the same
/// [`CaptureClock`](crate::capture::CaptureClock) index and camera pose as the camera's
/// [`DepthFrame`](crate::DepthFrame)s. MSAA needs no special care: the main texture read is the
/// resolved one.
#[derive(Component, Reflect, Clone, Copy, Debug, PartialEq, ExtractComponent)]
#[extract_component_filter(With<Camera>)]
#[reflect(Component, Default, Debug, Clone)]
pub struct ColourCapture {
    /// Run the conversion pass (default `true`). `false` pauses capture without removing the
    /// component (and keeps the GPU buffers).
    pub enabled: bool,
    /// Copy each frame back to the CPU and send it on the [`ColourFrames`](super::ColourFrames)
    /// channel (default `true`). `false` keeps the planes on the GPU only (in
    /// [`ColourCaptureBuffers`](super::ColourCaptureBuffers)), for passes that consume them there.
    pub readback: bool,
}

impl Default for ColourCapture {
    fn default() -> Self {
        ColourCapture { enabled: true, readback: true }
    }
}
