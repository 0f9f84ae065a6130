//! Shared helpers of the SIMD tests (`simd.rs`: whole frames through `Packer`; `simd_rows.rs`:
//! the row kernels): a small deterministic generator, the levels this CPU runs, and depths that
//! probe every branch of the level mapping.

#![allow(dead_code, unreachable_pub)]

use depthcast_packing::CpuLevel;

/// xorshift64*: small, deterministic, good enough to scatter test values.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// The SIMD levels this CPU runs; prints the ones it skips.
pub fn simd_levels() -> Vec<CpuLevel> {
    let mut v = Vec::new();
    for &level in CpuLevel::compiled() {
        if level == CpuLevel::Scalar {
            continue;
        }
        if !level.is_supported() {
            eprintln!("skipping {}: not supported on this CPU", level.name());
            continue;
        }
        v.push(level);
    }
    v
}

/// Depths that probe every branch of the level mapping for `near..=far`.
pub fn special_depths(near: f32, far: f32) -> Vec<f32> {
    vec![
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001), // signalling NaN
        f32::INFINITY,
        f32::NEG_INFINITY,
        -1.0,
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        f32::from_bits(1), // smallest subnormal: valid, 1/z overflows
        near,
        f32::from_bits(near.to_bits() - 1),
        f32::from_bits(near.to_bits() + 1),
        near * 0.5,
        far,
        f32::from_bits(far.to_bits() - 1),
        f32::from_bits(far.to_bits() + 1),
        far * 2.0,
        f32::MAX,
        0.5 * (near + far),
    ]
}

/// A random depth: mostly inside the range, some clamped below near, some invalid, some special.
pub fn random_depth(rng: &mut Rng, near: f32, far: f32) -> f32 {
    match rng.below(16) {
        0 => {
            let s = special_depths(near, far);
            s[rng.below(s.len() as u32) as usize]
        }
        1 => f32::from_bits(rng.u32()),
        2 => near * rng.unit(),
        3 => far * (1.0 + rng.unit()),
        _ => near + (far - near) * rng.unit(),
    }
}

pub const RANGES: [(f32, f32); 4] = [(0.5, 40.0), (1.7, 2.3), (0.001, 900.0), (3.0, 1.0e6)];
