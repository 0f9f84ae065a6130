//! The per-camera opt-in component.

use bevy::core_pipeline::prepass::DepthPrepass;
use bevy::prelude::*;
use bevy::render::extract_component::ExtractComponent;

/// Captures this camera's depth as linear metres every frame.
///
/// Put it on a `Camera3d`. It requires [`DepthPrepass`] (added automatically) and MSAA off: the
/// plugin sets the camera's [`Msaa`] to [`Msaa::Off`] when the component is added (the compute
/// pass reads a single-sample `texture_depth_2d`). Only perspective projections are linearised
/// (`z = near / ndc`); other projections are skipped with a warning.
///
/// The linear depth lands in a GPU storage buffer every frame (see
/// [`DepthCaptureBuffers`](super::DepthCaptureBuffers)); with [`readback`](Self::readback) on it is
/// also copied to the CPU and delivered as [`DepthFrame`](super::DepthFrame)s through
/// [`DepthFrames`](super::DepthFrames).
#[derive(Component, Reflect, Clone, Copy, Debug, PartialEq, ExtractComponent)]
#[extract_component_filter(With<Camera>)]
#[reflect(Component, Default, Debug, Clone)]
#[require(DepthPrepass)]
pub struct DepthCapture {
    /// Run the linearising pass (default `true`). `false` pauses capture without removing the
    /// component (and keeps the GPU buffers).
    pub enabled: bool,
    /// Copy each frame back to the CPU and send it on the [`DepthFrames`](super::DepthFrames)
    /// channel (default `true`). `false` keeps the result on the GPU only, for passes that
    /// consume the storage buffer directly.
    pub readback: bool,
}

impl Default for DepthCapture {
    fn default() -> Self {
        DepthCapture { enabled: true, readback: true }
    }
}
