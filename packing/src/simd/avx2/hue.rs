//! AVX2 kernels of the hue scheme ([`crate::kernels::hue`]), bit for bit.
//!
//! Packing is integer work: the wheel's RGB of a level from three clamped distances
//! (`R = clamp(|d − 765| − 255, 0, 255)`, `G = clamp(510 − |d − 510|, 0, 255)`,
//! `B = clamp(510 − |d − 1020|, 0, 255)`, the table of [`crate::schemes::hue::level_to_rgb`]
//! in closed form, checked for every level by a unit test), then the fixed-point BT.709 sums.
//! Unpacking repeats the scalar float steps in the same order; every branch of
//! [`crate::schemes::hue::hue_level`] divides the middle channel's distance from the smallest,
//! so each pixel needs one division and the branches only pick the offset and the sign.

use core::arch::x86_64::*;

use super::triangle::clamp;
use super::{LANES, has_tail, load_u16, load_u16_doubled, load_u32, narrow_small, store_f32, store_u16, vector_len};
use crate::frame::Ycbcr709Fixed;
use crate::kernels::hue::{self as scalar, HueDecode, INV_GREEN, YUV_INVALID_LUMA};
use crate::schemes::hue::{HUE_DEPTH_MAX, HUE_LEVELS};

/// [`Ycbcr709Fixed`] broadcast to every lane.
struct YccV {
    luma: [__m256i; 3],
    cb: [__m256i; 3],
    cr: [__m256i; 3],
    luma_round: __m256i,
    chroma_round: __m256i,
    max_code: __m256i,
}

impl YccV {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new(k: &Ycbcr709Fixed) -> YccV {
        let v = |c: [i32; 3]| c.map(|k| _mm256_set1_epi32(k));
        YccV {
            luma: v(k.luma),
            cb: v(k.cb),
            cr: v(k.cr),
            luma_round: _mm256_set1_epi32(1 << (Ycbcr709Fixed::FRAC_BITS - 1)),
            chroma_round: _mm256_set1_epi32(4 * k.offset + (1 << (Ycbcr709Fixed::FRAC_BITS + 1))),
            max_code: _mm256_set1_epi32(k.max_code),
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn dot(k: &[__m256i; 3], rgb: &[__m256i; 3]) -> __m256i {
        let r = _mm256_mullo_epi32(k[0], rgb[0]);
        let g = _mm256_mullo_epi32(k[1], rgb[1]);
        let b = _mm256_mullo_epi32(k[2], rgb[2]);
        _mm256_add_epi32(_mm256_add_epi32(r, g), b)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn clamp_code(&self, v: __m256i) -> __m256i {
        _mm256_min_epi32(_mm256_max_epi32(v, _mm256_setzero_si256()), self.max_code)
    }

    /// Luma codes of 8 pixels.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn luma_code(&self, rgb: &[__m256i; 3]) -> __m256i {
        let sum = _mm256_add_epi32(Self::dot(&self.luma, rgb), self.luma_round);
        self.clamp_code(_mm256_srai_epi32::<{ Ycbcr709Fixed::FRAC_BITS as i32 }>(sum))
    }

    /// Chroma codes of 8 blocks from their sums.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn chroma_code(&self, sum: __m256i) -> __m256i {
        let sum = _mm256_add_epi32(sum, self.chroma_round);
        self.clamp_code(_mm256_srai_epi32::<{ Ycbcr709Fixed::FRAC_BITS as i32 + 2 }>(sum))
    }
}

/// The wheel's RGB of 8 hue quantiser levels (level 0: black; level `d + 1`: hue level `d`).
#[target_feature(enable = "avx2")]
#[inline]
fn wheel(q: __m256i) -> [__m256i; 3] {
    let valid = _mm256_xor_si256(_mm256_cmpeq_epi32(q, _mm256_setzero_si256()), _mm256_set1_epi32(-1));
    // `level_to_rgb` takes levels above the wheel's last as the last (any u32, as scalar).
    let d = _mm256_min_epu32(_mm256_sub_epi32(q, _mm256_set1_epi32(1)), _mm256_set1_epi32(HUE_LEVELS as i32 - 1));
    let (c255, c510) = (_mm256_set1_epi32(255), _mm256_set1_epi32(510));
    let clamp =
        |v: __m256i| _mm256_and_si256(_mm256_min_epi32(_mm256_max_epi32(v, _mm256_setzero_si256()), c255), valid);
    let dist = |c: i32| _mm256_abs_epi32(_mm256_sub_epi32(d, _mm256_set1_epi32(c)));
    [
        clamp(_mm256_sub_epi32(dist(765), c255)),
        clamp(_mm256_sub_epi32(c510, dist(510))),
        clamp(_mm256_sub_epi32(c510, dist(1020))),
    ]
}

/// Sums of pairs of adjacent lanes of `a` then `b` (8 lanes each): 8 pair sums, in order.
#[target_feature(enable = "avx2")]
#[inline]
fn pair_sums(a: __m256i, b: __m256i) -> __m256i {
    let (x, y) = (_mm256_castsi256_ps(a), _mm256_castsi256_ps(b));
    let even = _mm256_castps_si256(_mm256_shuffle_ps::<0b10_00_10_00>(x, y));
    let odd = _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(x, y));
    _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_add_epi32(even, odd))
}

/// [`scalar::hue_codes_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
pub(in crate::simd) unsafe fn hue_codes_row(
    ycc: &Ycbcr709Fixed,
    q0: &[u32],
    q1: &[u32],
    y0: &mut [u16],
    y1: &mut [u16],
    u: &mut [u16],
    v: &mut [u16],
) {
    let k = YccV::new(ycc);
    let lens = [u.len(), v.len(), q0.len() / 2, q1.len() / 2, y0.len() / 2, y1.len() / 2];
    let n = vector_len(&lens, LANES);
    for b in (0..n).step_by(LANES) {
        let x = 2 * b;
        let (mut cb, mut cr) = ([_mm256_setzero_si256(); 2], [_mm256_setzero_si256(); 2]);
        for (q, y) in [(q0, &mut *y0), (q1, &mut *y1)] {
            for half in 0..2 {
                let at = x + half * LANES;
                let rgb = wheel(load_u32(&q[at..]));
                store_u16(&mut y[at..], narrow_small(k.luma_code(&rgb)));
                cb[half] = _mm256_add_epi32(cb[half], YccV::dot(&k.cb, &rgb));
                cr[half] = _mm256_add_epi32(cr[half], YccV::dot(&k.cr, &rgb));
            }
        }
        store_u16(&mut u[b..], narrow_small(k.chroma_code(pair_sums(cb[0], cb[1]))));
        store_u16(&mut v[b..], narrow_small(k.chroma_code(pair_sums(cr[0], cr[1]))));
    }
    if has_tail(&lens, n) {
        scalar::hue_codes_row(
            ycc,
            &q0[2 * n..],
            &q1[2 * n..],
            &mut y0[2 * n..],
            &mut y1[2 * n..],
            &mut u[n..],
            &mut v[n..],
        );
    }
}

/// [`HueDecode`] broadcast to every lane.
struct DecodeV {
    scale: __m256,
    near: __m256,
    inv_near: __m256,
    span: __m256,
}

#[target_feature(enable = "avx2")]
#[inline]
fn splat(x: f32) -> __m256 {
    _mm256_set1_ps(x)
}

impl DecodeV {
    /// [`HueDecode::depth`] of 8 pixels (codes zero-extended to u32 lanes).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn depth<const DISP: bool>(&self, y: __m256i, u: __m256i, v: __m256i) -> __m256 {
        let luma = _mm256_mul_ps(_mm256_cvtepi32_ps(y), self.scale);
        let invalid = _mm256_cmp_ps::<_CMP_LT_OQ>(luma, splat(YUV_INVALID_LUMA));
        // ycbcr709_to_rgb, then each channel rounded and clamped to a byte.
        let cb = _mm256_sub_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(u), self.scale), splat(128.0));
        let cr = _mm256_sub_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), self.scale), splat(128.0));
        let r = _mm256_add_ps(luma, _mm256_mul_ps(splat(1.5748), cr));
        let b = _mm256_add_ps(luma, _mm256_mul_ps(splat(1.8556), cb));
        let g = _mm256_mul_ps(
            _mm256_sub_ps(_mm256_sub_ps(luma, _mm256_mul_ps(splat(0.2126), r)), _mm256_mul_ps(splat(0.0722), b)),
            splat(INV_GREEN),
        );
        let byte = |c: __m256| {
            clamp(_mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(c), splat(0.0), splat(255.0))
        };
        let (r, g, b) = (byte(r), byte(g), byte(b));
        // hue_level: f32::max/min of non-NaN values.
        let max = _mm256_max_ps(_mm256_max_ps(r, g), b);
        let min = _mm256_min_ps(_mm256_min_ps(r, g), b);
        let c = _mm256_sub_ps(max, min);
        let eq = |a: __m256, b: __m256| _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b);
        let (max_r, max_g, max_b) = (eq(max, r), eq(max, g), eq(max, b));
        let (min_r, min_b) = (eq(min, r), eq(min, b));
        // Every branch of hue_level reads the channel that is neither the one it takes as the
        // largest nor the one it takes as the smallest (ties included): the middle value,
        // `r + g + b − max − min`, exact for these whole numbers. The branches, in reverse order
        // of precedence, then only choose `offset ± f`.
        let mid = _mm256_sub_ps(_mm256_sub_ps(_mm256_add_ps(_mm256_add_ps(r, g), b), max), min);
        let sel = |m: __m256, a: __m256, b: __m256| _mm256_blendv_ps(b, a, m);
        let (minus, plus) = (splat(-0.0), splat(0.0));
        let mut offset = splat(1530.0);
        let mut neg = minus;
        for (m, off, sign) in [
            (max_b, 1020.0, plus),
            (_mm256_and_ps(max_b, min_r), 1020.0, minus),
            (max_g, 510.0, plus),
            (_mm256_and_ps(max_g, min_b), 510.0, minus),
            (_mm256_and_ps(max_r, min_b), 0.0, plus),
        ] {
            offset = sel(m, splat(off), offset);
            neg = sel(m, sign, neg);
        }
        let f = _mm256_mul_ps(_mm256_div_ps(_mm256_sub_ps(mid, min), c), splat(255.0));
        // `offset − f` is `offset + (−f)`; the first branch is `f` alone, which `0 + f` is (f ≥ +0).
        let level = _mm256_add_ps(offset, _mm256_xor_ps(f, neg));
        let grey = _mm256_cmp_ps::<_CMP_LE_OQ>(c, _mm256_setzero_ps());
        let level = _mm256_andnot_ps(grey, level);
        // depth_of_level.
        let top = HUE_DEPTH_MAX as f32;
        let seam = _mm256_cmp_ps::<_CMP_GT_OQ>(level, splat(top + 0.5 * (HUE_LEVELS as f32 - top)));
        let level = _mm256_andnot_ps(seam, _mm256_min_ps(level, splat(top)));
        let n = clamp(_mm256_mul_ps(level, splat(1.0 / top)), splat(0.0), splat(1.0));
        let z = if DISP {
            _mm256_div_ps(splat(1.0), _mm256_sub_ps(self.inv_near, _mm256_mul_ps(n, self.span)))
        } else {
            _mm256_add_ps(self.near, _mm256_mul_ps(n, self.span))
        };
        _mm256_andnot_ps(invalid, z)
    }
}

#[target_feature(enable = "avx2")]
fn unpack_hue_row_impl<const DISP: bool>(decode: &HueDecode, y: &[u16], u: &[u16], v: &[u16], out: &mut [f32]) {
    let c = DecodeV {
        scale: splat(decode.scale),
        near: splat(decode.range.near),
        inv_near: splat(decode.range.inv_near),
        span: splat(decode.range.span),
    };
    let n = vector_len(&[y.len(), out.len(), 2 * u.len(), 2 * v.len()], LANES);
    for (x, (yc, o)) in y[..n].as_chunks::<LANES>().0.iter().zip(out[..n].as_chunks_mut::<LANES>().0).enumerate() {
        let h = x * LANES / 2;
        store_f32(o, c.depth::<DISP>(load_u16(yc), load_u16_doubled(&u[h..]), load_u16_doubled(&v[h..])));
    }
    if has_tail(&[y.len(), out.len()], n) {
        scalar::unpack_hue_row(decode, &y[n..], &u[n / 2..], &v[n / 2..], &mut out[n..]);
    }
}

/// [`scalar::unpack_hue_row`].
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(in crate::simd) unsafe fn unpack_hue_row(decode: &HueDecode, y: &[u16], u: &[u16], v: &[u16], out: &mut [f32]) {
    if decode.range.mode == crate::RangeMode::Disparity {
        unpack_hue_row_impl::<true>(decode, y, u, v, out);
    } else {
        unpack_hue_row_impl::<false>(decode, y, u, v, out);
    }
}
