//! A small deterministic generator (SplitMix64) and the inputs the checks draw from it.

/// SplitMix64: deterministic, fast, well spread; no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 32 random bits.
    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.u32()) * u64::from(n)) >> 32) as u32
    }

    /// Uniform in `0..n` as usize.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u32) as usize
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: u32) -> bool {
        self.below(n) == 0
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }
}

/// Depths that probe every branch of the depth → level mapping over `near..=far`.
pub fn special_depths(near: f32, far: f32) -> Vec<f32> {
    vec![
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001), // signalling NaN
        f32::from_bits(0xffc0_1234), // negative NaN with a payload
        f32::INFINITY,
        f32::NEG_INFINITY,
        -1.0,
        -near,
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        f32::from_bits(1), // smallest subnormal: valid, 1/z overflows
        f32::from_bits(0x0000_ffff),
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

/// A random depth: mostly inside the range, some below near, beyond far, special or any bits.
pub fn depth(rng: &mut Rng, near: f32, far: f32) -> f32 {
    match rng.below(16) {
        0 => rng.pick(&special_depths(near, far)),
        1 => f32::from_bits(rng.u32()),
        2 => near * rng.unit(),
        3 => far * (1.0 + rng.unit()),
        _ => near + (far - near) * rng.unit(),
    }
}

/// Depth ranges of the checks: ordinary, narrow, very wide, far away.
pub const RANGES: [(f32, f32); 5] = [(0.5, 40.0), (1.7, 2.3), (0.001, 900.0), (3.0, 1.0e6), (0.1, 10.0)];
