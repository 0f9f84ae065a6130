//! CPU levels of the integer engine and the dispatch of [`crate::kernels::matvec`] to the best.
//!
//! The scalar kernel defines correct output; every other level must match it bit for bit (all
//! accumulate exactly in int32, so they can). The level is detected once; the environment
//! variable `DEPTHCAST_CPU_LEVEL` (`scalar`, `avx2`, `avxvnni`, `neon`) can only *lower* it.

use std::sync::OnceLock;

use crate::kernels::{self, Weights};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "aarch64")]
mod neon;

/// Instruction-set levels of the engine, ordered from least to most capable on each architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Plain Rust; always available; the reference.
    Scalar,
    /// x86-64 AVX2: u8 activations and i8 weights widened to i16, `vpmaddwd` into i32 (exact).
    Avx2,
    /// x86-64 AVX-VNNI: `vpdpbusd`, u8 × i8 groups of four straight into i32 (exact, no saturation).
    AvxVnni,
    /// aarch64 Advanced SIMD: `smlal` of i16-widened values into i32.
    Neon,
}

impl Level {
    /// Lower-case name, as in `DEPTHCAST_CPU_LEVEL` and bench output.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::AvxVnni => "avxvnni",
            Level::Neon => "neon",
        }
    }

    /// Whether this CPU can run the level.
    pub fn is_supported(self) -> bool {
        match self {
            Level::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Level::AvxVnni => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("avxvnni")
            }
            #[cfg(target_arch = "aarch64")]
            Level::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every level compiled for this architecture, lowest first (supported or not).
    pub fn compiled() -> &'static [Level] {
        #[cfg(target_arch = "x86_64")]
        return &[Level::Scalar, Level::Avx2, Level::AvxVnni];
        #[cfg(target_arch = "aarch64")]
        return &[Level::Scalar, Level::Neon];
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        return &[Level::Scalar];
    }

    /// The best supported level, lowered by `DEPTHCAST_CPU_LEVEL` if set; detected once.
    pub fn detect() -> Level {
        static LEVEL: OnceLock<Level> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            let best = Level::compiled().iter().copied().filter(|l| l.is_supported()).max().unwrap_or(Level::Scalar);
            match std::env::var("DEPTHCAST_CPU_LEVEL") {
                Ok(v) => match Level::compiled().iter().find(|l| l.name() == v.trim()) {
                    Some(&l) if l <= best => l,
                    _ => best,
                },
                Err(_) => best,
            }
        })
    }
}

/// [`kernels::matvec`] at `level` (a level the CPU lacks runs the scalar kernel).
///
/// # Panics
/// If `a` or `acc` is shorter than the padded sizes of `w`.
#[inline]
pub fn matvec(level: Level, w: &Weights, a: &[u8], acc: &mut [i32]) {
    assert!(a.len() >= w.in_pad && acc.len() >= w.out_pad, "buffers shorter than the padded layer");
    let level = if level.is_supported() { level } else { Level::Scalar };
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 confirmed by `is_supported`; buffer lengths checked above.
        Level::Avx2 => unsafe { avx2::matvec(w, a, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 and AVX-VNNI confirmed by `is_supported`; buffer lengths checked above.
        Level::AvxVnni => unsafe { avx2::matvec_vnni(w, a, acc) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON confirmed by `is_supported`; buffer lengths checked above.
        Level::Neon => unsafe { neon::matvec(w, a, acc) },
        _ => kernels::matvec(w, a, acc),
    }
}
