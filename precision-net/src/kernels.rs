//! Scalar reference kernels of the integer engine: the definition of correct output. The SIMD
//! levels in [`crate::simd`] must match [`matvec`] bit for bit (tested in `tests/engine.rs`).

/// One layer's int8 weights, padded (inputs to a multiple of 4, outputs to a multiple of 8, with
/// zeros) and laid out once for every kernel level, plus the int32 bias.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Real inputs.
    pub inputs: usize,
    /// Real outputs.
    pub outputs: usize,
    /// Padded inputs (multiple of 4).
    pub in_pad: usize,
    /// Padded outputs (multiple of 8).
    pub out_pad: usize,
    /// `[out_pad][in_pad]`, row per output: the scalar layout.
    pub plain: Vec<i8>,
    /// AVX2 (`vpmaddwd`) layout: per block of 8 outputs, per input pair `p`, the 16 values
    /// `w[o][2p], w[o][2p+1]` for `o` in the block, sign-extended to i16.
    pub pairs: Vec<i16>,
    /// VNNI (`vpdpbusd`) layout: per block of 8 outputs, per input quad `q`, the 32 values
    /// `w[o][4q..4q+4]` for `o` in the block.
    pub quads: Vec<i8>,
    /// NEON (`smlal`) layout: per block of 8 outputs, per input `i`, `w[o][i]` for the 8 outputs, as i16.
    pub cols: Vec<i16>,
    /// `[out_pad]` int32 bias (already including the input zero-point correction).
    pub bias: Vec<i32>,
}

impl Weights {
    /// Lays out `weights` (`[outputs][inputs]`, row per output) and `bias` (`[outputs]`).
    ///
    /// # Panics
    /// If the slice lengths do not match the sizes.
    pub fn new(weights: &[i8], inputs: usize, outputs: usize, bias: &[i32]) -> Weights {
        assert_eq!(weights.len(), inputs * outputs);
        assert_eq!(bias.len(), outputs);
        let in_pad = inputs.next_multiple_of(4).max(4);
        let out_pad = outputs.next_multiple_of(8).max(8);
        let at = |o: usize, i: usize| if o < outputs && i < inputs { weights[o * inputs + i] } else { 0 };
        let mut plain = vec![0i8; out_pad * in_pad];
        for o in 0..out_pad {
            for i in 0..in_pad {
                plain[o * in_pad + i] = at(o, i);
            }
        }
        let (mut pairs, mut quads, mut cols) = (Vec::new(), Vec::new(), Vec::new());
        for ob in (0..out_pad).step_by(8) {
            for p in 0..in_pad / 2 {
                for o in ob..ob + 8 {
                    pairs.extend([i16::from(at(o, 2 * p)), i16::from(at(o, 2 * p + 1))]);
                }
            }
            for q in 0..in_pad / 4 {
                for o in ob..ob + 8 {
                    quads.extend((0..4).map(|k| at(o, 4 * q + k)));
                }
            }
            for i in 0..in_pad {
                cols.extend((ob..ob + 8).map(|o| i16::from(at(o, i))));
            }
        }
        let mut b = bias.to_vec();
        b.resize(out_pad, 0);
        Weights { inputs, outputs, in_pad, out_pad, plain, pairs, quads, cols, bias: b }
    }
}

/// `acc[o] = bias[o] + Σ_i activations[i] · weights[o][i]` for every padded output `o`;
/// `activations` has `in_pad` values
/// (zeros past the real inputs), `acc` has `out_pad`.
///
/// # Panics
/// If `activations` or `acc` is shorter than the padded sizes.
pub fn matvec(weights: &Weights, activations: &[u8], acc: &mut [i32]) {
    let activations = &activations[..weights.in_pad];
    for (o, out) in acc[..weights.out_pad].iter_mut().enumerate() {
        let row = &weights.plain[o * weights.in_pad..(o + 1) * weights.in_pad];
        let mut s = weights.bias[o];
        for (&x, &k) in activations.iter().zip(row) {
            s += i32::from(x) * i32::from(k);
        }
        *out = s;
    }
}

/// The fixed-point multiplier of a requantisation: `m = mult · 2^−shift` exactly, for the f32
/// scale `m` stored in the graph (`mult` is its 24-bit significand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplier {
    /// Significand, `0` or in `2^23..2^24`.
    pub mult: i64,
    /// Right shift (may be negative for `m ≥ 2^24`).
    pub shift: i32,
}

impl Multiplier {
    /// The exact decomposition of a finite, non-negative `multiplier`, or `None`.
    pub fn from_f32(multiplier: f32) -> Option<Multiplier> {
        if !multiplier.is_finite() || multiplier < 0.0 {
            return None;
        }
        if multiplier == 0.0 {
            return Some(Multiplier { mult: 0, shift: 0 });
        }
        let bits = multiplier.to_bits();
        let e = ((bits >> 23) & 0xff) as i32;
        let frac = i64::from(bits & 0x7f_ffff);
        // Subnormals have no implicit bit and exponent −126.
        let (mult, exp) = if e == 0 { (frac, -126) } else { (frac | 0x80_0000, e - 127) };
        Some(Multiplier { mult, shift: 23 - exp })
    }

    /// `round_half_to_even(acc · m)`, exactly, saturated to i32.
    #[inline]
    pub fn apply(self, acc: i32) -> i32 {
        let p = i64::from(acc) * self.mult; // |p| < 2^55
        let q = if self.shift <= 0 {
            p.saturating_mul(1i64 << (-self.shift).min(40))
        } else if self.shift >= 62 {
            0 // |p| < 2^55 ≤ 2^(shift−7): |acc · m| < 1/2 rounds to 0.
        } else {
            let floor = p >> self.shift;
            let rem = p - (floor << self.shift);
            let half = 1i64 << (self.shift - 1);
            if rem > half || (rem == half && floor & 1 == 1) { floor + 1 } else { floor }
        };
        q.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }
}

/// `out[o] = clamp(round_half_to_even(acc[o] · m[o]) + zp, 0, 255)` for the real outputs.
pub fn requantise(acc: &[i32], mults: &[Multiplier], zp: i32, out: &mut [u8]) {
    for ((o, &a), m) in out.iter_mut().zip(acc).zip(mults) {
        *o = (m.apply(a).saturating_add(zp)).clamp(0, 255) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplier_is_exact_and_rounds_half_to_even() {
        for m in [1.0f32, 0.5, 3.0e-4, 0.123_456_7, 7.5, 1e-30, 3e7] {
            let k = Multiplier::from_f32(m).unwrap();
            for acc in [-100_000i32, -3, -1, 0, 1, 2, 3, 5, 12_345, 1 << 20] {
                let exact = f64::from(acc) * f64::from(m);
                let want = exact.round_ties_even().clamp(f64::from(i32::MIN), f64::from(i32::MAX));
                assert_eq!(f64::from(k.apply(acc)), want, "m={m} acc={acc}");
            }
        }
        let half = Multiplier::from_f32(0.5).unwrap();
        assert_eq!([half.apply(1), half.apply(3), half.apply(-1), half.apply(-3)], [0, 2, 0, -2]);
    }
}
