//! The per-camera component.

use bevy::prelude::*;
use depthcast_packing::CameraBlock;
use depthcast_reproject::ReprojectSettings;

/// Draws an RGB-D frame from this entity's current [`GlobalTransform`] into
/// [`output`](Self::output), every frame, on the GPU.
///
/// Put it on the receiver's camera (or any entity whose transform is the viewer's pose) and show
/// `output` (a full-screen UI image or sprite). The images must all be
/// `source.intrinsics.width x height`; frames whose images are missing or of another size are
/// skipped (with a warning). Replace the handles' images and [`source`](Self::source) when a new
/// frame arrives; the reprojection runs from the current pose every frame regardless.
///
/// Not `Reflect`: [`CameraBlock`] lives in `depthcast-packing`, which does not depend on Bevy.
#[derive(Component, Clone, Debug)]
pub struct Reprojection {
    /// The source colour, `Rgba8Unorm` or `Rgba8UnormSrgb` (alpha ignored).
    pub colour: Handle<Image>,
    /// The source depth, `R32Float` view-space depth in metres (`0`, `∞` or NaN: invalid, such as
    /// sky), e.g. [`ReceivedDepth`](crate::ReceivedDepth)'s image.
    pub depth: Handle<Image>,
    /// The camera the frame was rendered from (its pose and intrinsics; the target uses the same
    /// intrinsics).
    pub source: CameraBlock,
    /// Where the reprojected colour goes: an image of the same size, `Rgba8Unorm` or
    /// `Rgba8UnormSrgb`, with `COPY_DST` usage (Bevy's default). It receives the colour's bytes
    /// (use the colour's format to show them the same way); alpha is 255.
    pub output: Handle<Image>,
    /// How holes are filled (default [`ReprojectSettings::default`]).
    pub settings: ReprojectSettings,
    /// Run the passes (default `true`).
    pub enabled: bool,
}

impl Reprojection {
    /// Reprojects `colour` + `depth` rendered from `source` into `output`, with the default
    /// settings.
    pub fn new(colour: Handle<Image>, depth: Handle<Image>, source: CameraBlock, output: Handle<Image>) -> Self {
        Reprojection { colour, depth, source, output, settings: ReprojectSettings::default(), enabled: true }
    }
}
