//! Reprojection on the GPU: draws an RGB-D frame from a camera's current pose with
//! `shaders/reproject.wgsl`, the twin of [`depthcast_reproject::Reprojector`].

mod uniform;

pub use uniform::{REPROJECT_PARAMS_BYTES, REPROJECT_PASSES, REPROJECT_TILE, reproject_uniform};
