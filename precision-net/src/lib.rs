//! # depthcast-precision-net
//!
//! Predicts, per frame and before encoding, which packing configuration (scheme, precision, range
//! policy, rate split) gives the lowest depth error at a target bitrate: cheap features from the
//! depth map ([`features`]), a small MLP quantised to int8, run by our own integer-only engine
//! ([`model`], kernels in [`kernels`] and [`simd`]) and checked against tract ([`tract`], feature
//! `tract`), and the rule that decides when a switch pays ([`policy`]).
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tract` | off | [`tract::TractModel`]: the same `.onnx` files run by tract-onnx (reference, benches, tests) |
//!
//! The committed models are in `models/` (see `precision-net/README.md` to retrain them).
//!
//! ```
//! use depthcast_precision_net::{Engine, FeatureExtractor, QuantMlp, Settings, models};
//! use depthcast_packing::testdata::game_scene;
//!
//! let mut engine = Engine::new(QuantMlp::from_bytes(models::INT8)?);
//! let mut fx = FeatureExtractor::new();
//! let depth = game_scene(320, 180, 0.0);
//! let f = fx.extract(&depth.view(), &Settings { bitrate: 1e6, fps: 30.0, hevc: false, bits: 8 });
//! let scores = engine.scores(&f)?;
//! assert_eq!(scores.len(), engine.model.metadata_list("candidates").len());
//! # Ok::<(), depthcast_precision_net::NetError>(())
//! ```

pub mod error;
pub mod features;
pub mod kernels;
pub mod model;
pub mod onnx;
pub mod policy;
pub mod scenes;
pub mod simd;
#[cfg(feature = "tract")]
pub mod tract;

pub use error::{NetError, Result};
pub use features::{FeatureExtractor, NUM_FEATURES, Settings};
pub use model::{Engine, QuantMlp};
pub use policy::{FrameSize, LookupTable, Probe, StreamPolicy, Switcher};
pub use simd::CpuLevel;

/// The committed models, embedded.
pub mod models {
    /// The f32 model (`models/precision-f32.onnx`).
    pub const F32: &[u8] = include_bytes!("../models/precision-f32.onnx");
    /// The int8 model (`models/precision-int8.onnx`), the one the engine runs.
    pub const INT8: &[u8] = include_bytes!("../models/precision-int8.onnx");
}
