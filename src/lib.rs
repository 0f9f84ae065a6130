//! # depthcast
//!
//! Depth maps over standard video codecs. This crate is the command-line tool and a facade that
//! re-exports the member crates:
//!
//! | crate | re-exported as | what it owns |
//! |---|---|---|
//! | `depthcast-packing` | [`packing`] | depth ↔ frame planes, metrics, SIMD kernels |
//! | `depthcast-stream` | [`stream`] | the pipeline: `DepthEncoder`, `DepthReceiver`, `AutoPacking` (never Bevy) |
//! | `depthcast-plugin` | `plugin` (feature `bevy`) | Bevy depth capture, GPU packing, sender and receiver |
//! | `depthcast-scene` | `scene` (feature `bevy`) | the headless glTF / built-in-room renderer with camera paths |
//! | `depthcast-codec` | [`codec`] | H.264/HEVC encoders and decoder, in-band params (SEI), transports |
//! | `depthcast-precision-net` | [`precision_net`] | int8 predictor of the packing configuration: features, own integer engine, tract reference |
//!
//! | `depthcast-sequence` (`tools/sequence`) | [`sequence`] | the on-disk depth sequence format: 16-bit PNG or EXR frames plus a JSON sidecar |
//! | `depthcast-sweep` (`tools/sweep`) | [`sweep`] | bitrate–error sweeps, a client of `stream` |
//! | `depthcast-demo` (`tools/demo`) | `demo` (feature `bevy`) | the end-to-end demo |
//!
//! The binary (`src/main.rs`, one module per subcommand in `src/cli/`) is the `depthcast` tool.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `bevy` | on | `depthcast render`, `depthcast demo`, the `plugin`, `scene` and `demo` re-exports |
//! | `window` | on | the examples' `--window` mode (winit, X11) |

pub use depthcast_codec as codec;
pub use depthcast_packing as packing;
#[cfg(feature = "bevy")]
pub use depthcast_plugin as plugin;
pub use depthcast_precision_net as precision_net;
#[cfg(feature = "bevy")]
pub use depthcast_scene as scene;
pub use depthcast_stream as stream;

#[cfg(feature = "bevy")]
pub use depthcast_demo as demo;
pub use depthcast_sequence as sequence;
pub use depthcast_sweep as sweep;
