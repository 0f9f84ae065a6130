//! NEON kernels of the hue scheme ([`crate::kernels::hue`]), bit for bit: the same steps as the
//! AVX2 kernels (closed-form wheel, fixed-point BT.709 in `i32`; the float decoder in scalar order
//! with one division per pixel), 4 lanes at a time.

use core::arch::aarch64::*;

use super::triangle::clamp;
use super::{LANES, has_tail, load_u16, load_u32, store_f32, store_u16, vector_len};
use crate::frame::Ycbcr709Fixed;
use crate::kernels::hue::{self as scalar, HueDecode, INV_GREEN, YUV_INVALID_LUMA};
use crate::schemes::hue::{HUE_DEPTH_MAX, HUE_LEVELS};

/// [`Ycbcr709Fixed`] broadcast to every lane.
struct YccV {
    luma: [int32x4_t; 3],
    cb: [int32x4_t; 3],
    cr: [int32x4_t; 3],
    luma_round: int32x4_t,
    chroma_round: int32x4_t,
    max_code: int32x4_t,
}

impl YccV {
    #[target_feature(enable = "neon")]
    #[inline]
    fn new(k: &Ycbcr709Fixed) -> YccV {
        let v = |c: [i32; 3]| c.map(|x| vdupq_n_s32(x));
        YccV {
            luma: v(k.luma),
            cb: v(k.cb),
            cr: v(k.cr),
            luma_round: vdupq_n_s32(1 << (Ycbcr709Fixed::FRAC_BITS - 1)),
            chroma_round: vdupq_n_s32(4 * k.offset + (1 << (Ycbcr709Fixed::FRAC_BITS + 1))),
            max_code: vdupq_n_s32(k.max_code),
        }
    }

    #[target_feature(enable = "neon")]
    #[inline]
    fn dot(k: &[int32x4_t; 3], rgb: &[int32x4_t; 3]) -> int32x4_t {
        vaddq_s32(vaddq_s32(vmulq_s32(k[0], rgb[0]), vmulq_s32(k[1], rgb[1])), vmulq_s32(k[2], rgb[2]))
    }

    #[target_feature(enable = "neon")]
    #[inline]
    fn clamp_code(&self, v: int32x4_t) -> uint32x4_t {
        vreinterpretq_u32_s32(vminq_s32(vmaxq_s32(v, vdupq_n_s32(0)), self.max_code))
    }

    #[target_feature(enable = "neon")]
    #[inline]
    fn luma_code(&self, rgb: &[int32x4_t; 3]) -> uint32x4_t {
        let sum = vaddq_s32(Self::dot(&self.luma, rgb), self.luma_round);
        self.clamp_code(vshrq_n_s32::<{ Ycbcr709Fixed::FRAC_BITS as i32 }>(sum))
    }

    #[target_feature(enable = "neon")]
    #[inline]
    fn chroma_code(&self, sum: int32x4_t) -> uint32x4_t {
        let sum = vaddq_s32(sum, self.chroma_round);
        self.clamp_code(vshrq_n_s32::<{ Ycbcr709Fixed::FRAC_BITS as i32 + 2 }>(sum))
    }
}

/// The wheel's RGB of 4 hue quantiser levels (0: black; above the wheel: its last level).
#[target_feature(enable = "neon")]
#[inline]
fn wheel(q: uint32x4_t) -> [int32x4_t; 3] {
    let valid = vmvnq_u32(vceqq_u32(q, vdupq_n_u32(0)));
    let d = vreinterpretq_s32_u32(vminq_u32(vsubq_u32(q, vdupq_n_u32(1)), vdupq_n_u32(HUE_LEVELS - 1)));
    let (c255, c510) = (vdupq_n_s32(255), vdupq_n_s32(510));
    let clamp = |v: int32x4_t| {
        let v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(0)), c255);
        vreinterpretq_s32_u32(vandq_u32(vreinterpretq_u32_s32(v), valid))
    };
    let dist = |c: i32| vabsq_s32(vsubq_s32(d, vdupq_n_s32(c)));
    [clamp(vsubq_s32(dist(765), c255)), clamp(vsubq_s32(c510, dist(510))), clamp(vsubq_s32(c510, dist(1020)))]
}

/// [`scalar::hue_codes_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
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
    let n = vector_len(&lens);
    for b in (0..n).step_by(LANES) {
        let x = 2 * b;
        let (mut cb, mut cr) = ([vdupq_n_s32(0); 2], [vdupq_n_s32(0); 2]);
        for (q, y) in [(q0, &mut *y0), (q1, &mut *y1)] {
            for half in 0..2 {
                let at = x + half * LANES;
                let rgb = wheel(load_u32(&q[at..]));
                store_u16(&mut y[at..], k.luma_code(&rgb));
                cb[half] = vaddq_s32(cb[half], YccV::dot(&k.cb, &rgb));
                cr[half] = vaddq_s32(cr[half], YccV::dot(&k.cr, &rgb));
            }
        }
        store_u16(&mut u[b..], k.chroma_code(vpaddq_s32(cb[0], cb[1])));
        store_u16(&mut v[b..], k.chroma_code(vpaddq_s32(cr[0], cr[1])));
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

/// [`HueDecode::depth`] of 4 pixels.
#[target_feature(enable = "neon")]
#[inline]
fn depth(c: &HueDecode, y: uint32x4_t, u: uint32x4_t, v: uint32x4_t) -> float32x4_t {
    let splat = |x: f32| vdupq_n_f32(x);
    let scale = splat(c.scale);
    let luma = vmulq_f32(vcvtq_f32_u32(y), scale);
    let invalid = vcltq_f32(luma, splat(YUV_INVALID_LUMA));
    let cb = vsubq_f32(vmulq_f32(vcvtq_f32_u32(u), scale), splat(128.0));
    let cr = vsubq_f32(vmulq_f32(vcvtq_f32_u32(v), scale), splat(128.0));
    let r = vaddq_f32(luma, vmulq_f32(splat(1.5748), cr));
    let b = vaddq_f32(luma, vmulq_f32(splat(1.8556), cb));
    let g = vmulq_f32(
        vsubq_f32(vsubq_f32(luma, vmulq_f32(splat(0.2126), r)), vmulq_f32(splat(0.0722), b)),
        splat(INV_GREEN),
    );
    let byte = |x: float32x4_t| clamp(vrndnq_f32(x), splat(0.0), splat(255.0));
    let (r, g, b) = (byte(r), byte(g), byte(b));
    // `f32::max`/`min` of non-NaN values; equal channels compare equal whatever the zero's sign.
    let max = vmaxq_f32(vmaxq_f32(r, g), b);
    let min = vminq_f32(vminq_f32(r, g), b);
    let chroma = vsubq_f32(max, min);
    let (max_r, max_g, max_b) = (vceqq_f32(max, r), vceqq_f32(max, g), vceqq_f32(max, b));
    let (min_r, min_b) = (vceqq_f32(min, r), vceqq_f32(min, b));
    // Every branch reads the middle channel (`r + g + b − max − min`, exact for whole numbers,
    // as in the AVX2 kernel); the branches, in reverse order of precedence, pick `offset ± f`.
    let mid = vsubq_f32(vsubq_f32(vaddq_f32(vaddq_f32(r, g), b), max), min);
    let mut offset = splat(1530.0);
    let mut neg = vdupq_n_u32(0x8000_0000);
    for (m, off, minus) in [
        (max_b, 1020.0, false),
        (vandq_u32(max_b, min_r), 1020.0, true),
        (max_g, 510.0, false),
        (vandq_u32(max_g, min_b), 510.0, true),
        (vandq_u32(max_r, min_b), 0.0, false),
    ] {
        offset = vbslq_f32(m, splat(off), offset);
        neg = vbslq_u32(m, vdupq_n_u32(if minus { 0x8000_0000 } else { 0 }), neg);
    }
    let f = vmulq_f32(vdivq_f32(vsubq_f32(mid, min), chroma), splat(255.0));
    let f = vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(f), neg));
    let level = vaddq_f32(offset, f);
    let grey = vcleq_f32(chroma, splat(0.0));
    let level = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(level), grey));
    let top = HUE_DEPTH_MAX as f32;
    let seam = vcgtq_f32(level, splat(top + 0.5 * (HUE_LEVELS as f32 - top)));
    // `f32::min` with `top`: level is not NaN, and no zero reaches `top`.
    let level = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(vminnmq_f32(level, splat(top))), seam));
    let n = clamp(vmulq_f32(level, splat(1.0 / top)), splat(0.0), splat(1.0));
    let z = if c.range.mode == crate::RangeMode::Disparity {
        vdivq_f32(splat(1.0), vsubq_f32(splat(c.range.inv_near), vmulq_f32(n, splat(c.range.span))))
    } else {
        vaddq_f32(splat(c.range.near), vmulq_f32(n, splat(c.range.span)))
    };
    vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(z), invalid))
}

/// [`scalar::unpack_hue_row`].
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(in crate::simd) unsafe fn unpack_hue_row(decode: &HueDecode, y: &[u16], u: &[u16], v: &[u16], out: &mut [f32]) {
    let n = vector_len(&[y.len(), out.len(), 2 * u.len(), 2 * v.len()]);
    for (x, (yc, o)) in y[..n].as_chunks::<LANES>().0.iter().zip(out[..n].as_chunks_mut::<LANES>().0).enumerate() {
        let h = x * LANES / 2;
        store_f32(o, depth(decode, load_u16(yc), super::load_u16_doubled(&u[h..]), super::load_u16_doubled(&v[h..])));
    }
    if has_tail(&[y.len(), out.len()], n) {
        scalar::unpack_hue_row(decode, &y[n..], &u[n / 2..], &v[n / 2..], &mut out[n..]);
    }
}
