// Converts a rendered colour texture (a camera's main texture) to full-range BT.709 YUV 4:2:0,
// 8-bit, on the GPU.
//
// Input: a float-sampled 2D texture (`Rgba8UnormSrgb`, `Rgba8Unorm`, `Bgra8*`, `Rgba16Float`...)
// and the rectangle of it to convert (`origin`, `width` x `height`).
// Output: a storage buffer of u32 words: a header of `HEADER_WORDS` words (frame tag, width,
// height, 0), then the frame bytes exactly as `depthcast_packing::YuvFrame::write` lays them out
// for `yuv420p`: the Y plane (frame_w x frame_h, the size rounded up to even), then U and V
// (frame_w/2 x frame_h/2), tightly packed. One invocation writes one word, computing each of its
// 4 samples from the texels, so there are no alignment rules on the size and no two invocations
// touch the same word (pixels past the right or bottom edge repeat the last column or row, as
// the CPU pads odd sizes).
//
// CPU twin: `depthcast_packing::RgbImage::to_yuv420(BitDepth::Eight)` of the RGB bytes that
// `depthcast_plugin::colour::texel_bytes` gives for the texels. The contract test
// `plugin/tests/colour_contract.rs` runs this file on the software adapter and compares every
// byte. To stay bit-exact on any conforming GPU:
// - a texel becomes its RGB bytes without any rounding that could differ between GPUs:
//   `ENCODE_SRGB` counts how many of the 255 midpoints between consecutive sRGB-decoded byte
//   values lie below the (clamped) linear value (`srgb_byte`, a binary search of exact float
//   comparisons), which recovers the stored byte of an sRGB texture whatever the GPU's decoding
//   error (far below half the smallest gap, 1.5e-4) and encodes float (HDR) values the one way
//   the CPU twin does; `ENCODE_UNORM` is round(clamp(v) * 255) (ties to even, as the CPU's
//   `round_ties_even`), which recovers the byte of a unorm texture exactly;
// - everything after the bytes is integer arithmetic: the fixed-point BT.709 coefficients of
//   `Ycbcr709Fixed` (passed in the uniform), sums in i32 and arithmetic shifts.
//
// Self-contained (no `#import`): the contract test feeds it to wgpu directly.

const TILE: u32 = 64u;
const HEADER_WORDS: u32 = 4u;

// How a texel value becomes a byte (`Params::encode`).
const ENCODE_UNORM: u32 = 0u;  // the texture stores the bytes (unorm) or sRGB-encoded floats
const ENCODE_SRGB: u32 = 1u;   // the value is linear light (sRGB textures, linear HDR targets)

// Must match `depthcast_plugin::colour::ColourUniform` word for word (`COLOUR_PARAMS_BYTES`).
struct Params {
    // Image size in pixels (the frame is this rounded up to even).
    width: u32,
    height: u32,
    // Top-left texel of the image in the texture.
    origin_x: u32,
    origin_y: u32,
    frame_w: u32,
    frame_h: u32,
    // Frame bytes (Y + U + V; the last word may be partial).
    total_bytes: u32,
    encode: u32,
    // The frame tag written into the header.
    tag: u32,
    // `Ycbcr709Fixed::offset`, the chroma zero in coefficient units.
    chroma_offset: i32,
    _pad0: u32,
    _pad1: u32,
    // `Ycbcr709Fixed` coefficients of R, G, B (16 fractional bits).
    luma: vec3<i32>,
    _pad2: u32,
    cb: vec3<i32>,
    _pad3: u32,
    cr: vec3<i32>,
    _pad4: u32,
    // The 255 sRGB midpoints (`depthcast_plugin::colour::srgb_midpoints`), 4 per vector; the
    // last entry is unused.
    srgb_mid: array<vec4<f32>, 64>,
}

@group(0) @binding(0) var colour: texture_2d<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> frame: array<u32>;

fn midpoint(i: u32) -> f32 {
    return params.srgb_mid[i >> 2u][i & 3u];
}

// The byte whose sRGB decoding is nearest to `v`: the number of midpoints below it. NaN and
// values at or below 0 give 0, values above 1 give 255.
fn srgb_byte(v: f32) -> u32 {
    var b = 0u;
    for (var step = 128u; step > 0u; step >>= 1u) {
        if v > midpoint(b + step - 1u) {
            b += step;
        }
    }
    return b;
}

fn unorm_byte(v: f32) -> u32 {
    // `max` first: a NaN becomes 0, as the CPU twin's `clamp` after `max`.
    return u32(round(min(max(v, 0.0), 1.0) * 255.0));
}

// RGB bytes of image pixel (x, y), clamped to the image (the CPU's edge replication).
fn rgb(x: u32, y: u32) -> vec3<i32> {
    let xc = min(x, params.width - 1u) + params.origin_x;
    let yc = min(y, params.height - 1u) + params.origin_y;
    let t = textureLoad(colour, vec2<i32>(i32(xc), i32(yc)), 0).rgb;
    if params.encode == ENCODE_SRGB {
        return vec3<i32>(i32(srgb_byte(t.r)), i32(srgb_byte(t.g)), i32(srgb_byte(t.b)));
    }
    return vec3<i32>(i32(unorm_byte(t.r)), i32(unorm_byte(t.g)), i32(unorm_byte(t.b)));
}

// `Ycbcr709Fixed::dot`: the coefficients k applied to one pixel's RGB, in i32 (exact).
fn fixed_dot(k: vec3<i32>, c: vec3<i32>) -> i32 {
    return k.x * c.x + k.y * c.y + k.z * c.z;
}

fn clamp_code(c: i32) -> u32 {
    return u32(clamp(c, 0, 255));
}

// `Ycbcr709Fixed::luma_code`.
fn y_code(x: u32, y: u32) -> u32 {
    return clamp_code((fixed_dot(params.luma, rgb(x, y)) + 32768) >> 16u);
}

// `Ycbcr709Fixed::chroma_code` of the 2x2 block's summed Cb (v == false) or Cr dot products.
fn chroma_code(cx: u32, cy: u32, v: bool) -> u32 {
    let k = select(params.cb, params.cr, v);
    var sum = 4 * params.chroma_offset + 131072;
    for (var j = 0u; j < 4u; j++) {
        sum += fixed_dot(k, rgb(2u * cx + (j & 1u), 2u * cy + (j >> 1u)));
    }
    return clamp_code(sum >> 18u);
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
// TILE)`, `words = ceil(total_bytes / 4)`.
@compute @workgroup_size(TILE, 1, 1)
fn convert(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let word = id.x + id.y * groups.x * TILE;
    if word == 0u {
        frame[0] = params.tag;
        frame[1] = params.width;
        frame[2] = params.height;
        frame[3] = 0u;
    }
    let first = word * 4u;
    if first >= params.total_bytes {
        return;
    }
    var out = 0u;
    for (var j = 0u; j < 4u; j++) {
        let byte = first + j;
        if byte >= params.total_bytes {
            break;
        }
        out |= sample_code(byte) << (8u * j);
    }
    frame[HEADER_WORDS + word] = out;
}
