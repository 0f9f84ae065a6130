// Packs linear depth (metres) into the encoder's YUV 4:2:0 planes on the GPU.
//
// Input: the linear depth written by `linearize_depth.wgsl` (a storage buffer of f32: a header of
// `src_offset` words, then rows of `src_stride` depths; +inf or 0 = invalid; a map sent at half
// size reads every other row and column, `src_step`).
// Output: the frame bytes exactly as `depthcast_packing::YuvFrame::write` lays them out for
// `yuv420p` (8-bit codes, one byte each) or `yuv420p10le` (10-bit codes, two bytes each): the Y
// plane (frame_w x frame_h), then U and V (frame_w/2 x frame_h/2), tightly packed, as u32 words.
// One invocation writes one word, computing each of its 4 (or 2) samples from the depth, so there
// are no alignment rules on the size and no two invocations touch the same word.
//
// CPU twin: `depthcast_packing::Packer` followed by `YuvFrame::write`, for every valid
// `PackParams`: luma-only, VBP in both layouts, triangle waves with any period, hue; linear and
// disparity ranges. The contract test `plugin/tests/pack_contract.rs` runs this file on the
// software adapter and compares every byte. To stay bit-exact on any conforming GPU:
// - float math uses only operations Vulkan rounds correctly (add, sub, mul, conversions; `round`
//   is ties to even like the CPU's `round_ties_even`), arranged so that no multiply feeds an add
//   (a fused multiply-add would round differently), and no float division;
// - the disparity mapping's `1 / z`, which a shader may round to 2.5 ULP, is the correctly
//   rounded quotient of the significands computed by integer long division (`recip`);
// - everything past the levels is integer arithmetic, exact on every GPU: block means and the
//   triangle waves round half to even with integer division (`div_round_even`, as
//   `packing::kernels::triangle`); the hue wheel's RGB and its fixed-point BT.709 conversion use
//   the CPU's i32 coefficients (`Ycbcr709Fixed`, passed in the uniform) and arithmetic shifts;
// - the validity test reads the depth's bits, so a GPU that flushes subnormals to zero still
//   sees a subnormal depth as valid, like the CPU.
//
// Self-contained (no `#import`): the contract test feeds it to wgpu directly.

const TILE: u32 = 64u;

// What goes where (`Params::kind`).
const KIND_HIGH_ONLY: u32 = 0u;   // luma-only, and VBP without low bits: Y = level >> low_bits
const KIND_VBP_CHROMA: u32 = 1u;  // Y = high code, U = low code of each 2x2 block's mean level
const KIND_VBP_LUMA: u32 = 2u;    // rows 0..hp: high codes; rows hp..2hp: low codes
const KIND_TRIANGLE: u32 = 3u;    // Y = coarse level (B bits), U/V = triangle waves of the block
const KIND_HUE: u32 = 4u;         // BT.709 YUV of the hue wheel's RGB of each level

// Must match `depthcast_plugin::pack::pack_uniform` word for word (`PACK_PARAMS_BYTES`).
struct Params {
    width: u32,
    height: u32,
    src_stride: u32,
    src_offset: u32,
    // Frame size in samples (frame_h is twice the image rows for the VBP luma layout).
    frame_w: u32,
    frame_h: u32,
    // 1 (8-bit planes) or 2 (10-bit planes, little-endian).
    bytes_per_sample: u32,
    kind: u32,
    // The level: q = q0 + round(clamp(n, 0, 1) * qspan), n = (z - near) * scale (linear) or
    // (inv_near - 1/z) * scale (disparity); 0 = invalid. The precision-P level (hue: 1521 steps
    // above q0 = 1).
    near: f32,
    far: f32,
    scale: f32,
    qspan: f32,
    q0: u32,
    // The VBP split (`depthcast_packing::kernels::Split`).
    low_bits: u32,
    low_max: u32,
    base: u32,
    step: f32,
    neutral: u32,
    // The triangle scheme's coarse B-bit level (same range).
    coarse_qspan: f32,
    coarse_q0: u32,
    // Triangle period n_p in fine levels (`depthcast_packing::kernels::triangle::Waves`).
    period: u32,
    // Largest plane code, 2^B - 1.
    max_code: u32,
    // Frame bytes (the last word may be partial).
    total_bytes: u32,
    // 1: disparity range mapping, 0: linear.
    disparity: u32,
    // 1 / near, as the CPU computes it.
    inv_near: f32,
    // Hue: `Ycbcr709Fixed::offset`, the chroma zero in coefficient units.
    chroma_offset: i32,
    // 1, or 2 for a map sent at half size (`PackParams::half`): the packed sample (x, y) is the
    // depth at (2x, 2y), as `depthcast_packing::resample::downsample` keeps it; `width` and
    // `height` are then the packed map's.
    src_step: u32,
    _pad1: u32,
    // Hue: `Ycbcr709Fixed` coefficients of R, G, B (16 fractional bits).
    luma: vec3<i32>,
    _pad2: u32,
    cb: vec3<i32>,
    _pad3: u32,
    cr: vec3<i32>,
    _pad4: u32,
}

@group(0) @binding(0) var<storage, read> depth: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> frame: array<u32>;

fn depth_at(x: u32, y: u32) -> f32 {
    let xc = min(x, params.width - 1u);
    let yc = min(y, params.height - 1u);
    return depth[params.src_offset + yc * params.src_step * params.src_stride + xc * params.src_step];
}

// `1 / z` for a valid depth (positive, at most `far`), rounded to nearest even as the CPU's f32
// division: with z = m 2^(e-150) (m the 24-bit significand), 1/z = (2^47 / m) 2^(103-e), and
// q = floor(2^47 / m) in [2^23, 2^24] comes from integer long division, 8 bits at a time (r < m <
// 2^24, so r << 8 fits), then rounds on the remainder. A power of two gives q = 2^24, which the
// exponent field absorbs. Subnormal z (1/z beyond f32 on the CPU) gives f32's largest value: the
// level clamps to q0 either way.
fn recip(z: f32) -> f32 {
    let bits = bitcast<u32>(z);
    let e = bits >> 23u;
    if e == 0u {
        return bitcast<f32>(0x7f7fffffu);
    }
    let m = (bits & 0x7fffffu) | 0x800000u;
    var q = 0x1000000u / m;
    var r = 0x1000000u % m;
    q = (q << 8u) | ((r << 8u) / m);
    r = (r << 8u) % m;
    q = (q << 8u) | ((r << 8u) / m);
    r = (r << 8u) % m;
    q = (q << 7u) | ((r << 7u) / m);
    r = (r << 7u) % m;
    if 2u * r > m || (2u * r == m && (q & 1u) == 1u) {
        q += 1u;
    }
    return bitcast<f32>(((252u - e) << 23u) + q);
}

fn quantise(z: f32, q0: u32, qspan: f32) -> u32 {
    // `!(z > 0 && z <= far)` as on the CPU (+inf, 0, negatives, NaN and anything beyond far are
    // invalid), on the bits so that a subnormal stays valid where the GPU flushes it to zero.
    let bits = bitcast<u32>(z);
    if bits == 0u || bits > 0x7f800000u || !(z <= params.far) {
        return 0u;
    }
    var n: f32;
    if params.disparity != 0u {
        n = (params.inv_near - recip(z)) * params.scale;
    } else {
        n = (z - params.near) * params.scale;
    }
    n = min(max(n, 0.0), 1.0);
    return q0 + u32(round(n * qspan));
}

fn level(z: f32) -> u32 {
    return quantise(z, params.q0, params.qspan);
}

fn low_code(hi: u32, t: u32) -> u32 {
    var folded = t;
    if (hi & 1u) == 1u {
        folded = params.low_max - t;
    }
    return params.base + u32(round(f32(folded) * params.step));
}

// round(a / b), ties to even (`packing::kernels::triangle::div_round_even`). For the block means
// (b = 1..4) it equals the VBP packer's f32 `round_ties_even(sum / count)`: sums stay below 2^22,
// where the f32 quotient keeps the fraction.
fn div_round_even(a: u32, b: u32) -> u32 {
    let q = a / b;
    let r = a - q * b;
    if 2u * r > b || (2u * r == b && (q & 1u) == 1u) {
        return q + 1u;
    }
    return q;
}

// Levels of the 2x2 block whose top-left pixel is (2 cx, 2 cy): (sum of valid levels, count).
// `minus` is subtracted from each valid level first (the triangle scheme works above q0).
fn block(cx: u32, cy: u32, minus: u32) -> vec2<u32> {
    var sum = 0u;
    var count = 0u;
    for (var k = 0u; k < 4u; k++) {
        let q = level(depth_at(2u * cx + (k & 1u), 2u * cy + (k >> 1u)));
        if q != 0u {
            sum += q - minus;
            count += 1u;
        }
    }
    return vec2<u32>(sum, count);
}

// U (x) and V (y) codes of the triangle waves at fine level index m (`Waves::codes`): U at phase
// r = m mod n_p is round(2r (2^B-1) / n_p) or its mirror; V, a quarter period later, the same with
// s = (4r - n_p) mod 4n_p over 4n_p. Products stay below 2^29 (n_p <= 2^17).
fn waves(m: u32) -> vec2<u32> {
    let np = params.period;
    let maxc = params.max_code;
    let r = m % np;
    var u: u32;
    if 2u * r < np {
        u = div_round_even(2u * r * maxc, np);
    } else {
        u = div_round_even(2u * (np - r) * maxc, np);
    }
    var s: u32;
    if 4u * r >= np {
        s = 4u * r - np;
    } else {
        s = 4u * r + 3u * np;
    }
    var v: u32;
    if s < 2u * np {
        v = div_round_even(s * maxc, 2u * np);
    } else {
        v = div_round_even((4u * np - s) * maxc, 2u * np);
    }
    return vec2<u32>(u, v);
}

// RGB of hue level q (`packing::schemes::hue::level_to_rgb` of d = q - 1, black for q = 0), in
// the wheel's branch-free form: R = |d - 765| - 255, G = 510 - |d - 510|, B = 510 - |d - 1020|,
// each clamped to 0..255.
fn hue_rgb(q: u32) -> vec3<i32> {
    if q == 0u {
        return vec3<i32>(0);
    }
    let d = i32(q) - 1;
    let c = vec3<i32>(abs(d - 765) - 255, 510 - abs(d - 510), 510 - abs(d - 1020));
    return clamp(c, vec3<i32>(0), vec3<i32>(255));
}

// `Ycbcr709Fixed::dot`: the coefficients k applied to one pixel's RGB, in i32 (exact).
fn fixed_dot(k: vec3<i32>, c: vec3<i32>) -> i32 {
    return k.x * c.x + k.y * c.y + k.z * c.z;
}

fn clamp_code(c: i32) -> u32 {
    return u32(clamp(c, 0, i32(params.max_code)));
}

fn y_code(x: u32, y: u32) -> u32 {
    switch params.kind {
        case KIND_TRIANGLE: {
            return quantise(depth_at(x, y), params.coarse_q0, params.coarse_qspan);
        }
        case KIND_HUE: {
            // `Ycbcr709Fixed::luma_code`.
            let c = hue_rgb(level(depth_at(x, y)));
            return clamp_code((fixed_dot(params.luma, c) + 32768) >> 16u);
        }
        case KIND_VBP_LUMA: {
            let hp = params.frame_h / 2u;
            if y < hp {
                return level(depth_at(x, y)) >> params.low_bits;
            }
            let q = level(depth_at(x, y - hp));
            let hi = q >> params.low_bits;
            return low_code(hi, q & params.low_max);
        }
        default: {
            return level(depth_at(x, y)) >> params.low_bits;
        }
    }
}

// U (v == false) or V (v == true) code of chroma sample (cx, cy).
fn chroma_code(cx: u32, cy: u32, v: bool) -> u32 {
    switch params.kind {
        case KIND_VBP_CHROMA: {
            if v {
                return params.neutral;
            }
            let b = block(cx, cy, 0u);
            var mean = 0u;
            if b.y != 0u {
                mean = div_round_even(b.x, b.y);
            }
            return low_code(mean >> params.low_bits, mean & params.low_max);
        }
        case KIND_TRIANGLE: {
            let b = block(cx, cy, params.q0);
            if b.y == 0u {
                return params.neutral;
            }
            let w = waves(div_round_even(b.x, b.y));
            return select(w.x, w.y, v);
        }
        case KIND_HUE: {
            // `Ycbcr709Fixed::chroma_code` of the block's summed Cb (or Cr) dot products.
            let k = select(params.cb, params.cr, v);
            var sum = 4 * params.chroma_offset + 131072;
            for (var j = 0u; j < 4u; j++) {
                sum += fixed_dot(k, hue_rgb(level(depth_at(2u * cx + (j & 1u), 2u * cy + (j >> 1u)))));
            }
            return clamp_code(sum >> 18u);
        }
        default: {
            return params.neutral;
        }
    }
}

fn sample_code(s: u32) -> u32 {
    let luma = params.frame_w * params.frame_h;
    if s < luma {
        return y_code(s % params.frame_w, s / params.frame_w);
    }
    let cw = params.frame_w / 2u;
    let chroma = cw * (params.frame_h / 2u);
    let c = s - luma;
    if c < chroma {
        return chroma_code(c % cw, c / cw, false);
    }
    let d = c - chroma;
    return chroma_code(d % cw, d / cw, true);
}

// Dispatch `(min(groups, 65535), ceil(groups / 65535), 1)` workgroups for `groups = ceil(words /
// TILE)`: large tall 10-bit frames need more than one row of workgroups.
@compute @workgroup_size(TILE, 1, 1)
fn pack(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let word = id.x + id.y * groups.x * TILE;
    let first = word * 4u;
    if first >= params.total_bytes {
        return;
    }
    let bps = params.bytes_per_sample;
    var out = 0u;
    for (var j = 0u; j < 4u / bps; j++) {
        let byte = first + j * bps;
        if byte >= params.total_bytes {
            break;
        }
        out |= sample_code(byte / bps) << (8u * bps * j);
    }
    frame[word] = out;
}
