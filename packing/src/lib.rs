//! # depthcast-packing
//!
//! Turns depth maps into 8/10-bit video frame planes that standard encoders accept, at a chosen
//! precision, and back. No IO, no heavy dependencies: the math of depthcast.
//!
//! | scheme | module | planes | precision |
//! |---|---|---|---|
//! | luma-only | [`schemes::luma`] | depth in Y, chroma neutral | 8 or 10 bits |
//! | VBP (variable bit packing) | [`schemes::vbp`] | high bits in Y, folded low bits in U (4:2:0) or in a second Y half | 8..=16 (8-bit), 10..=20 (10-bit) |
//! | triangle waves (Pece et al. 2011) | [`schemes::triangle`] | coarse Y, two triangle waves in U, V | `w = 2^P`, period `n_p` |
//! | hue (Intel RealSense) | [`schemes::hue`] | RGB hue wheel, or BT.709 YUV 4:2:0 | 1530 levels |
//!
//! Depth maps are linear view depth in metres ([`DepthView`]); [`ndc_to_linear`] converts Bevy's
//! reverse-Z depth. Invalid pixels (background, NaN, ±∞, ≤ 0, beyond `far`) pack to reserved codes
//! and unpack as [`INVALID_DEPTH`] (`0.0`). Frames are [`YuvFrame`]s with planes of codes, written
//! as `yuv420p`, `yuv420p10le`, NV12 or P010 ([`PixelFormat`]). Each frame's [`PackParams`] encode
//! into 28 bytes to travel in-band; a stream's [`PackingConfig`] (with its text id) builds them.
//! Row kernels run scalar or SIMD ([`CpuLevel`]), bit-exact. Any scheme can send the map at half
//! width and height ([`PackParams::half`], ids ending in `-half`): [`resample`] keeps one sample
//! of each 2x2 block and rebuilds the full size with an edge-aware upsampler, guided by the colour
//! frame when the receiver has one ([`Packer::unpack_guided_into`]).
//!
//! ```
//! use depthcast_packing::{pack, unpack, testdata, tight_range, Metrics, PackParams, Scheme};
//!
//! let depth = testdata::game_scene(64, 36, 0.0);
//! let (near, far) = tight_range(&depth.view(), 0.05).unwrap();
//! let params = PackParams::new(Scheme::Vbp, 12, near, far, 64, 36);
//! let frame = pack(&depth.view(), &params)?;
//! let back = unpack(&frame, &params)?;
//! let m = Metrics::compute(&depth.view(), &back.view(), near, far);
//! assert_eq!(m.valid_to_invalid + m.invalid_to_valid, 0);
//! # Ok::<(), depthcast_packing::PackError>(())
//! ```

pub mod camera;
pub mod config;
pub mod depth;
pub mod error;
pub mod frame;
pub mod kernels;
pub mod metrics;
pub mod params;
pub mod range;
pub mod resample;
pub mod schemes;
pub mod simd;
pub mod testdata;

pub use camera::{CAMERA_LEN, CameraBlock, CameraPose, Intrinsics};
pub use config::{ConfigParseError, PackingConfig};
pub use depth::{DepthImage, DepthView, INVALID_DEPTH, is_valid_depth, linearize_ndc, ndc_to_linear};
pub use error::{PackError, ParamsDecodeError, Result};
pub use frame::{PixelFormat, RgbImage, Ycbcr709Fixed, YuvFrame};
pub use metrics::Metrics;
pub use params::{BitDepth, PARAMS_LEN, PackParams, RangeMode, Scheme, VbpLayout};
pub use range::{DepthRange, RangeSmoother, tight_range};
pub use schemes::{Packer, pack, unpack};
pub use simd::CpuLevel;
