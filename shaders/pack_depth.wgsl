// Packs linear depth (metres) into the encoder's YUV 4:2:0 planes on the GPU.
//
// Input: the linear depth written by `linearize_depth.wgsl` (a storage buffer of f32: a header of
// `src_offset` words, then `height` rows of `src_stride` depths; +inf or 0 = invalid).
// Output: the frame bytes exactly as `depthcast_packing::YuvFrame::write` lays them out for
// `yuv420p` (8-bit codes, one byte each) or `yuv420p10le` (10-bit codes, two bytes each): the Y
// plane (frame_w x frame_h), then U and V (frame_w/2 x frame_h/2), tightly packed, as u32 words.
// One invocation writes one word, computing each of its 4 (or 2) samples from the depth, so there
// are no alignment rules on the size and no two invocations touch the same word.
//
// CPU twin: `depthcast_packing::Packer` (schemes luma-only, VBP in both layouts, triangle waves)
// followed by `YuvFrame::write`. The contract test `plugin/tests/pack_contract.rs` runs this file
// on the software adapter and compares every byte. To stay bit-exact on any conforming GPU the
// shader uses only operations Vulkan rounds correctly (add, sub, mul, conversions; `round` is ties
// to even like the CPU's `round_ties_even`) and no division: the linear range mapping only
// (disparity needs `1/z`, which shaders may round differently), and triangle periods that are
// powers of two (the phase is `m mod n_p` times `1/n_p`, exact then). Expressions are arranged so
// that no multiply feeds an add: a fused multiply-add would round differently.
//
// Self-contained (no `#import`): the contract test feeds it to wgpu directly.

const TILE: u32 = 64u;

// What goes where (`Params::kind`).
const KIND_HIGH_ONLY: u32 = 0u;   // luma-only, and VBP without low bits: Y = level >> low_bits
const KIND_VBP_CHROMA: u32 = 1u;  // Y = high code, U = low code of each 2x2 block's mean level
const KIND_VBP_LUMA: u32 = 2u;    // rows 0..hp: high codes; rows hp..2hp: low codes
const KIND_TRIANGLE: u32 = 3u;    // Y = coarse level (B bits), U/V = triangle waves of the block

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
    // The precision-P level: q = q0 + round(clamp((z - near) * scale, 0, 1) * qspan); 0 = invalid.
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
    // The triangle scheme's coarse B-bit level (same near and scale).
    coarse_qspan: f32,
    coarse_q0: u32,
    period: u32,
    inv_period: f32,
    max_code: f32,
    // Frame bytes (the last word may be partial).
    total_bytes: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<storage, read> depth: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> frame: array<u32>;

fn depth_at(x: u32, y: u32) -> f32 {
    let xc = min(x, params.width - 1u);
    let yc = min(y, params.height - 1u);
    return depth[params.src_offset + yc * params.src_stride + xc];
}

fn quantise(z: f32, q0: u32, qspan: f32) -> u32 {
    // `!(z > 0 && z <= far)` as on the CPU: +inf, 0 and anything beyond far are invalid.
    if !(z > 0.0 && z <= params.far) {
        return 0u;
    }
    let n = min(max((z - params.near) * params.scale, 0.0), 1.0);
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

// round_ties_even(sum / count) for count in 1..=4, in integers. Equal to the CPU's f32 division
// and rounding for every sum it can see (sums below 2^22: the f32 quotient keeps the fraction).
fn mean_even(sum: u32, count: u32) -> u32 {
    switch count {
        case 1u: { return sum; }
        case 2u: {
            let q = sum >> 1u;
            return q + ((sum & 1u) & (q & 1u));
        }
        case 3u: {
            let q = sum / 3u;
            return q + select(0u, 1u, sum - 3u * q == 2u);
        }
        default: {
            let q = sum >> 2u;
            let r = sum & 3u;
            if r == 2u {
                return q + (q & 1u);
            }
            return q + select(0u, 1u, r == 3u);
        }
    }
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

fn tri(x: f32) -> f32 {
    let f = fract(x);
    if f < 0.5 {
        return 2.0 * f;
    }
    return 2.0 - 2.0 * f;
}

fn y_code(x: u32, y: u32) -> u32 {
    switch params.kind {
        case KIND_TRIANGLE: {
            return quantise(depth_at(x, y), params.coarse_q0, params.coarse_qspan);
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
                mean = mean_even(b.x, b.y);
            }
            return low_code(mean >> params.low_bits, mean & params.low_max);
        }
        case KIND_TRIANGLE: {
            let b = block(cx, cy, params.q0);
            if b.y == 0u {
                return params.neutral;
            }
            let m = mean_even(b.x, b.y);
            let ph = f32(m % params.period) * params.inv_period;
            if v {
                return u32(round(tri(ph - 0.25) * params.max_code));
            }
            return u32(round(tri(ph) * params.max_code));
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
