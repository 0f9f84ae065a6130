//! # depthcast
//!
//! Depth maps over standard video codecs. This crate is the command-line tool and a facade that
//! re-exports the member crates:
//!
//! | crate | re-exported as | what it owns |
//! |---|---|---|
//! | `depthcast-packing` | [`packing`] | depth ↔ frame planes, metrics, SIMD kernels |
//! | `depthcast-plugin` | [`plugin`] | Bevy depth capture and the headless scene renderer |
//! | `depthcast-codec` | [`codec`] | H.264/HEVC encoders and decoder, in-band params (SEI), transports |
//! | `depthcast-precision-net` | [`precision_net`] | int8 predictor of the packing configuration: features, own integer engine, tract reference |
//!
//! Modules of this crate: [`sequence`] (the on-disk depth sequence format: 16-bit PNG or EXR frames
//! plus a JSON sidecar), [`sweep`] (bitrate–error sweeps), [`demo`] (the end-to-end demo).

pub use depthcast_codec as codec;
pub use depthcast_packing as packing;
pub use depthcast_plugin as plugin;
pub use depthcast_precision_net as precision_net;

pub mod demo;
pub mod sequence;
pub mod sweep;
