//! CPU levels of the integer engine and the dispatch of [`crate::kernels::matvec`] to the best.
//!
//! The scalar kernel defines correct output; every other level must match it bit for bit (all
//! accumulate exactly in int32, so they can). The level is depthcast's one CPU-level type,
//! [`CpuLevel`] of `depthcast-packing`: detected once, and the environment variable
//! `DEPTHCAST_CPU_LEVEL` (`scalar`, `avx2`, `avxvnni`, `neon`) can only *lower* it.

pub use depthcast_packing::CpuLevel;

use crate::kernels::{self, Weights};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "aarch64")]
mod neon;

/// [`kernels::matvec`] at `level` (a level the CPU lacks runs the scalar kernel).
///
/// # Panics
/// If `activations` or `acc` is shorter than the padded sizes of `weights`.
#[inline]
pub fn matvec(level: CpuLevel, weights: &Weights, activations: &[u8], acc: &mut [i32]) {
    assert!(
        activations.len() >= weights.in_pad && acc.len() >= weights.out_pad,
        "buffers shorter than the padded layer"
    );
    let level = if level.is_supported() { level } else { CpuLevel::Scalar };
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 confirmed by `is_supported`; buffer lengths checked above.
        CpuLevel::Avx2 => unsafe { avx2::matvec(weights, activations, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 and AVX-VNNI confirmed by `is_supported`; buffer lengths checked above.
        CpuLevel::AvxVnni => unsafe { avx2::matvec_vnni(weights, activations, acc) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON confirmed by `is_supported`; buffer lengths checked above.
        CpuLevel::Neon => unsafe { neon::matvec(weights, activations, acc) },
        _ => kernels::matvec(weights, activations, acc),
    }
}
