//! CPU feature levels and the dispatch of row kernels to the best one.
//!
//! The scalar kernels in [`crate::kernels`] define correct output; every other level must match
//! them bit for bit (tested in `tests/simd.rs` and `tests/simd_rows.rs`). The row functions here run a kernel at a level;
//! they are public for those tests only and not part of the supported API. The level is detected
//! once; the environment variable `DEPTHCAST_CPU_LEVEL` (`scalar`, `avx2`, `avxvnni`, `neon`) can
//! only *lower* it, to test the scalar path on any machine. [`CpuLevel`] is the one CPU-level type
//! of depthcast: precision-net's integer engine dispatches on it too (its AVX-VNNI kernels use
//! [`CpuLevel::AvxVnni`]; the packing kernels have nothing VNNI-specific and run AVX2 there).

use std::sync::OnceLock;

use crate::frame::Ycbcr709Fixed;
use crate::kernels::hue::HueDecode;
use crate::kernels::triangle::{WaveDecode, Waves};
use crate::kernels::{self, Quant, Split};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "aarch64")]
mod neon;

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::guided_half_row as guided_half_row_avx2;
#[cfg(target_arch = "aarch64")]
pub(crate) use neon::guided_half_row as guided_half_row_neon;

/// Instruction-set levels, ordered from least to most capable on each architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CpuLevel {
    /// Plain Rust; always available; the reference.
    Scalar,
    /// x86-64 AVX2 (256-bit integer and float).
    Avx2,
    /// x86-64 AVX2 with AVX-VNNI (`vpdpbusd`): the integer engine's dot products. Packing runs
    /// its AVX2 kernels at this level.
    AvxVnni,
    /// aarch64 Advanced SIMD (NEON).
    Neon,
}

impl CpuLevel {
    /// Lower-case name, as in `DEPTHCAST_CPU_LEVEL` and bench output.
    pub fn name(self) -> &'static str {
        match self {
            CpuLevel::Scalar => "scalar",
            CpuLevel::Avx2 => "avx2",
            CpuLevel::AvxVnni => "avxvnni",
            CpuLevel::Neon => "neon",
        }
    }

    /// Whether this CPU can run the level.
    pub fn is_supported(self) -> bool {
        match self {
            CpuLevel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            CpuLevel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            CpuLevel::AvxVnni => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("avxvnni")
            }
            #[cfg(target_arch = "aarch64")]
            CpuLevel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every level compiled for this architecture, lowest first (supported or not).
    pub fn compiled() -> &'static [CpuLevel] {
        #[cfg(target_arch = "x86_64")]
        return &[CpuLevel::Scalar, CpuLevel::Avx2, CpuLevel::AvxVnni];
        #[cfg(target_arch = "aarch64")]
        return &[CpuLevel::Scalar, CpuLevel::Neon];
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        return &[CpuLevel::Scalar];
    }

    /// The best supported level, lowered by `DEPTHCAST_CPU_LEVEL` if set; detected once.
    pub fn detect() -> CpuLevel {
        static LEVEL: OnceLock<CpuLevel> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            let best =
                CpuLevel::compiled().iter().copied().filter(|l| l.is_supported()).max().unwrap_or(CpuLevel::Scalar);
            match std::env::var("DEPTHCAST_CPU_LEVEL") {
                Ok(v) => match CpuLevel::compiled().iter().find(|l| l.name() == v.trim()) {
                    Some(&l) if l <= best => l,
                    _ => best,
                },
                Err(_) => best,
            }
        })
    }
}

macro_rules! dispatch {
    ($level:expr, $name:ident ( $($arg:expr),* )) => {
        dispatch!($level, $name($($arg),*), kernels::$name)
    };
    ($level:expr, $name:ident ( $($arg:expr),* ), $scalar:path) => {{
        match checked($level) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `checked` returns Avx2 only where `is_supported` confirmed AVX2 (for AVX-VNNI too).
            CpuLevel::Avx2 => unsafe { avx2::$name($($arg),*) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: `checked` returns Neon only where `is_supported` confirmed NEON.
            CpuLevel::Neon => unsafe { neon::$name($($arg),*) },
            _ => $scalar($($arg),*),
        }
    }};
}

/// The packing kernels' level for `level`: one the CPU really supports (unsupported levels fall
/// back to scalar), with AVX-VNNI running the AVX2 kernels.
#[inline]
pub(crate) fn checked(level: CpuLevel) -> CpuLevel {
    let level = if level == CpuLevel::Scalar || level.is_supported() { level } else { CpuLevel::Scalar };
    if level == CpuLevel::AvxVnni { CpuLevel::Avx2 } else { level }
}

/// [`kernels::quantise_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn quantise_row(level: CpuLevel, quant: &Quant, src: &[f32], levels: &mut [u32]) {
    dispatch!(level, quantise_row(quant, src, levels))
}

/// [`kernels::split_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn split_row(level: CpuLevel, split: &Split, levels: &[u32], hi: &mut [u16], lo: &mut [u16]) {
    dispatch!(level, split_row(split, levels, hi, lo))
}

/// [`kernels::high_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn high_row(level: CpuLevel, split: &Split, levels: &[u32], hi: &mut [u16]) {
    dispatch!(level, high_row(split, levels, hi))
}

/// [`kernels::block_low_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn block_low_row(level: CpuLevel, split: &Split, q0: &[u32], q1: &[u32], lo: &mut [u16]) {
    dispatch!(level, block_low_row(split, q0, q1, lo))
}

/// [`kernels::merge_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn merge_row(level: CpuLevel, split: &Split, hi: &[u16], lo: &[u16], levels: &mut [u32]) {
    dispatch!(level, merge_row(split, hi, lo, levels))
}

/// [`kernels::merge_row_half`] at `level`.
#[doc(hidden)]
#[inline]
pub fn merge_row_half(level: CpuLevel, split: &Split, hi: &[u16], lo: &[u16], levels: &mut [u32]) {
    dispatch!(level, merge_row_half(split, hi, lo, levels))
}

/// [`kernels::dequantise_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn dequantise_row(level: CpuLevel, quant: &Quant, levels: &[u32], out: &mut [f32]) {
    dispatch!(level, dequantise_row(quant, levels, out))
}

/// [`kernels::quantise_high_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn quantise_high_row(
    level: CpuLevel,
    quant: &Quant,
    split: &Split,
    src: &[f32],
    levels: &mut [u32],
    hi: &mut [u16],
) {
    dispatch!(level, quantise_high_row(quant, split, src, levels, hi))
}

/// [`kernels::quantise_split_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn quantise_split_row(level: CpuLevel, quant: &Quant, split: &Split, src: &[f32], hi: &mut [u16], lo: &mut [u16]) {
    dispatch!(level, quantise_split_row(quant, split, src, hi, lo))
}

/// [`kernels::unpack_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn unpack_row(level: CpuLevel, split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    dispatch!(level, unpack_row(split, quant, hi, lo, out))
}

/// [`kernels::unpack_row_half`] at `level`.
#[doc(hidden)]
#[inline]
pub fn unpack_row_half(level: CpuLevel, split: &Split, quant: &Quant, hi: &[u16], lo: &[u16], out: &mut [f32]) {
    dispatch!(level, unpack_row_half(split, quant, hi, lo, out))
}

/// [`kernels::triangle::quantise_coarse_fine_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn quantise_coarse_fine_row(
    level: CpuLevel,
    coarse: &Quant,
    fine: &Quant,
    src: &[f32],
    y: &mut [u16],
    levels: &mut [u32],
) {
    dispatch!(
        level,
        quantise_coarse_fine_row(coarse, fine, src, y, levels),
        kernels::triangle::quantise_coarse_fine_row
    )
}

/// [`kernels::triangle::block_waves_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn block_waves_row(level: CpuLevel, waves: &Waves, q0: &[u32], q1: &[u32], u: &mut [u16], v: &mut [u16]) {
    dispatch!(level, block_waves_row(waves, q0, q1, u, v), kernels::triangle::block_waves_row)
}

/// [`kernels::triangle::phase_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn phase_row(level: CpuLevel, decode: &WaveDecode, u: &[u16], v: &[u16], phase: &mut [f32]) {
    dispatch!(level, phase_row(decode, u, v, phase), kernels::triangle::phase_row)
}

/// [`kernels::triangle::unpack_triangle_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn unpack_triangle_row(level: CpuLevel, decode: &WaveDecode, y: &[u16], phase: &[f32], out: &mut [f32]) {
    dispatch!(level, unpack_triangle_row(decode, y, phase, out), kernels::triangle::unpack_triangle_row)
}

/// [`kernels::hue::hue_codes_row`] at `level`.
#[doc(hidden)]
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn hue_codes_row(
    level: CpuLevel,
    ycc: &Ycbcr709Fixed,
    q0: &[u32],
    q1: &[u32],
    y0: &mut [u16],
    y1: &mut [u16],
    u: &mut [u16],
    v: &mut [u16],
) {
    dispatch!(level, hue_codes_row(ycc, q0, q1, y0, y1, u, v), kernels::hue::hue_codes_row)
}

/// [`kernels::hue::unpack_hue_row`] at `level`.
#[doc(hidden)]
#[inline]
pub fn unpack_hue_row(level: CpuLevel, decode: &HueDecode, y: &[u16], u: &[u16], v: &[u16], out: &mut [f32]) {
    dispatch!(level, unpack_hue_row(decode, y, u, v, out), kernels::hue::unpack_hue_row)
}
