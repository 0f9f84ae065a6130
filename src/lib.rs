//! # depthcast
//!
//! Depth maps over standard video codecs. This crate is the command-line tool and a facade that
//! re-exports the member crates:
//!
//! | crate | re-exported as | what it owns |
//! |---|---|---|
//! | `depthcast-packing` | [`packing`] | depth ↔ frame planes, metrics, SIMD kernels |

pub use depthcast_packing as packing;

pub mod sequence;
