//! **Luma-only**: the baseline a user tries first.
//!
//! Depth is quantised to the plane bit depth `B` (8 or 10) in luma; chroma is neutral
//! (`2^(B−1)`). With `n` from the range mapping ([`crate::DepthRange`]) and guard `G`
//! ([`crate::BitDepth::guard`]):
//!
//! ```text
//! Y = G + round(n · (2^B − 1 − G))      valid pixels
//! Y = 0                                  invalid pixels
//! ```
//!
//! Unpacking treats `Y < G/2` as invalid. It is VBP with `P = B` (no low part) and runs on the
//! same kernels ([`super::vbp`]).
