// WebGL2 unpacking of decoded YUV 4:2:0 planes into depth in metres: the GLSL ES 3.00 twin of
// `depthcast_packing::unpack` (packing/src/schemes/*.rs, packing/src/kernels*.rs).
//
//   const unpacker = new DepthUnpacker(gl);           // a WebGL2RenderingContext
//   const { texture, width, height } = unpacker.unpack(planes, params);
//   const depth = unpacker.readDepth();              // Float32Array, row-major, top row first
//   unpacker.unpack(planes, params, guide);          // a half-size map rebuilt with a guide
//
// `planes`: { y, u, v, width, height, uvWidth, uvHeight }, each plane a Uint8Array (8-bit codes)
// or a Uint16Array (10-bit codes), rows tightly packed; `width x height` is the luma plane (the
// coded frame, at least `PackParams::frame_size`). `params`: the in-band PackParams as sei.js
// decodes them ({ scheme, bitDepth, precision, layout, mode, lowAmplitude, period, near, far,
// width, height, half, frameIndex }, near/far holding exact f32 values). The result is an R32F
// texture of `params.width x params.height` texels, texel row 0 = the depth map's top row, metres,
// 0.0 where the pixel is invalid (`packing::INVALID_DEPTH`).
//
// A map sent at half size (`params.half`, ids ending in `-half`) is unpacked at its sent size,
// then rebuilt to full size by a second pass, the twin of `packing::resample::upsample`: without
// a guide, or with `guide` ({ y, width, height, bitDepth }: the luma plane of the frame's decoded
// colour, the map's size padded to even) to find the edges, as `RgbdReceiver` does.
//
// Bit-exact with the CPU. The planes are integer textures (R8UI / R16UI, read with texelFetch),
// so the codes arrive exactly; the shader then runs the scalar reference's f32 formulas in the
// same order of operations, and the constants the CPU precomputes (`Quant`, `Split`,
// `WaveDecode`, `HueDecode`) are computed here in JavaScript as the same f32 operations (one f64
// operation on f32 inputs then `Math.fround` is the correctly rounded f32 operation: f64 has more
// than 2·24 + 2 bits). GLSL ES only promises correct rounding for +, −, ×, so:
// - No multiply feeds an add: a compiler may fuse `a * b + c` into an FMA (one rounding instead
//   of two; SPIR-V allows it unless told otherwise, and GLSL ES 3.00 has no `precise`). Every
//   product that feeds an add or subtract goes through `fence()`, a bit-level identity the
//   compiler cannot see through (an XOR with a uniform that is always 0).
// - No float division and no `roundEven`: GLSL ES allows 2.5 ULP for `/`; `div_exact` is the
//   correctly rounded f32 quotient from integer long division of the significands, and `rne`
//   rounds half to even from `floor` and compares, which are exact.
// - `highp` everywhere; no value reaches the subnormal range (which a GPU may flush).

const VERTEX = `#version 300 es
void main() {
  // One triangle covering the viewport (counter-clockwise).
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

// GLSL helpers of both fragment shaders: `fence` and `div_exact` (uniform u_zero declared by each).
const EXACT = `// The identity, opaque to the compiler: a product passed through it is rounded to f32 before
// the add that follows (no FMA contraction).
float fence(float x) {
  return uintBitsToFloat(floatBitsToUint(x) ^ u_zero);
}

// a / b in f32, correctly rounded (ties to even) as the CPU's division, for finite a and normal
// b != 0 with a normal (or zero) quotient: every division of the decoders (1 / x of the disparity
// mapping, x in [1/far, 1/near]; the hue wheel's (v - min) / c with small integers; the guided
// upsampler's sum / weight). With
// significands ma, mb in [2^23, 2^24): q = floor(ma * 2^s / mb) in [2^23, 2^24) (s = 23 when
// ma >= mb, else 24) by long division, 8 bits at a time (r < mb < 2^24, so r << 8 fits in 32
// bits), rounded on the remainder; a carry to 2^24 moves into the exponent field (the bit
// pattern is (e - 1) * 2^23 + q, q carrying the implicit bit). Anything else
// (unreachable from valid parameters) falls back to the GPU's division.
float div_exact(float a, float b) {
  uint ab = floatBitsToUint(a);
  uint bb = floatBitsToUint(b);
  uint sign = (ab ^ bb) & 0x80000000u;
  ab &= 0x7fffffffu;
  bb &= 0x7fffffffu;
  if (ab == 0u) return uintBitsToFloat(sign);
  int ea = int(ab >> 23);
  int eb = int(bb >> 23);
  if (ea == 0 || ea == 255 || eb == 0 || eb == 255) return a / b;
  uint ma = (ab & 0x7fffffu) | 0x800000u;
  uint mb = (bb & 0x7fffffu) | 0x800000u;
  uint q = ma / mb;
  uint r = ma - q * mb;
  int e = ea - eb + (q == 1u ? 127 : 126);
  uint last = q == 1u ? 7u : 8u;
  r <<= 8u; q = (q << 8u) | (r / mb); r = r % mb;
  r <<= 8u; q = (q << 8u) | (r / mb); r = r % mb;
  r <<= last; q = (q << last) | (r / mb); r = r % mb;
  // Round to nearest. No tie is possible: ma * 2^(s+1) = mb * (2q + 1) would need 2^24 | mb.
  if (2u * r > mb) q += 1u;
  if (e < 1 || e > 254) return a / b;
  return uintBitsToFloat(sign | ((uint(e - 1) << 23) + q));
}
`;

const FRAGMENT = `#version 300 es
precision highp float;
precision highp int;
precision highp usampler2D;

uniform highp usampler2D u_y;
uniform highp usampler2D u_u;
uniform highp usampler2D u_v;

// Always 0 (see fence).
uniform uint u_zero;
// 0: luma-only, VBP chroma layout or VBP without low bits (low code from U);
// 1: VBP luma layout (low code from luma row hp + y); 2: triangle; 3: hue.
uniform uint u_path;
// First luma row of the low codes (VBP luma layout): the depth height padded to even.
uniform uint u_hp;

// DepthRange: 1 = disparity, 0 = linear; near, 1 / near, span.
uniform uint u_disparity;
uniform float u_near;
uniform float u_inv_near;
uniform float u_span;

// Quant of the precision-P levels (luma-only, VBP): q0 and 1 / qspan.
uniform uint u_q0;
uniform float u_inv_qspan;

// Split (VBP): low bits L, 2^L - 1, base code, 1 / step; guard and largest plane code (also the
// triangle decoder's).
uniform uint u_low_bits;
uniform uint u_low_max;
uniform uint u_base;
uniform float u_inv_step;
uniform uint u_guard;
uniform uint u_max_code;

// WaveDecode (triangle).
uniform float u_inv_max_code;
uniform float u_coarse_inv_qspan;
uniform float u_fine_qspan;
uniform float u_fine_inv_qspan;
uniform float u_period;
uniform float u_inv_period;
uniform float u_reach;
uniform bool u_round_fine;

// HueDecode: 255 / max_code.
uniform float u_hue_scale;

out highp float o_depth;

// f32 constants of packing/src/kernels/hue.rs, as their bit patterns (what rustc makes of the
// literals, so no decimal parsing is involved here).
const uint K_1_5748 = 0x3fc9930cu;   // 1.5748f32
const uint K_1_8556 = 0x3fed844du;   // 1.8556f32
const uint K_0_2126 = 0x3e59b3d0u;   // 0.2126f32
const uint K_0_0722 = 0x3d93dd98u;   // 0.0722f32
const uint K_INV_GREEN = 0x3fb2f88eu; // INV_GREEN = 1.0f32 / 0.7152f32
const uint K_INV_TOP = 0x3a2c598bu;   // 1.0f32 / HUE_DEPTH_MAX as f32 = 1 / 1521
const float HUE_TOP = 1521.0;         // HUE_DEPTH_MAX as f32
const float HUE_WRAP = 1525.5;        // top + 0.5 * (HUE_LEVELS as f32 - top), exact
const float YUV_INVALID_LUMA = 9.0;

${EXACT}
// Rust's f32::round_ties_even, from exact operations only (floor, subtract of a value and its
// floor, compares, multiply by 0.5). |x| >= 2^23 is already an integer (frac = 0). The sign bit
// of x is kept, so that x in (-0.5, -0] gives -0.0 as on the CPU.
float rne(float x) {
  x = fence(x);
  float t = floor(x);
  float frac = x - t;
  if (frac > 0.5 || (frac == 0.5 && floor(t * 0.5) * 2.0 != t)) t += 1.0;
  return uintBitsToFloat(floatBitsToUint(t) | (floatBitsToUint(x) & 0x80000000u));
}

// The range at normalised n without the clamp (Quant::depth's tail):
// linear 'near + n * span', disparity '1.0 / (inv_near - n * span)'.
float range_at(float n) {
  float p = fence(n * u_span);
  if (u_disparity != 0u) return div_exact(1.0, u_inv_near - p);
  return u_near + p;
}

// DepthRange::denormalise: clamp to [0, 1], then the mapping.
float denormalise(float n) {
  return range_at(clamp(n, 0.0, 1.0));
}

// Quant::depth: level 0 is invalid; n = (level - q0, saturating) as f32 * (1 / qspan).
float quant_depth(uint level) {
  if (level == 0u) return 0.0;
  // Fenced so that n * span cannot become a product of the uniforms first (reassociation).
  float n = fence(float(level - min(level, u_q0)) * u_inv_qspan);
  return range_at(n);
}

// Split::merge: invalid below guard / 2; hi clamped to [guard, max_code]; the low value
// round_ties_even((lo - base) * (1 / step)) clamped to [0, 2^L - 1]; folded on odd hi.
uint merge(uint hi, uint lo) {
  if (hi < u_guard / 2u) return 0u;
  hi = min(max(hi, u_guard), u_max_code);
  float d = (float(lo) - float(u_base)) * u_inv_step;
  uint f = uint(min(max(rne(d), 0.0), float(u_low_max)));
  uint t = (hi & 1u) == 1u ? u_low_max - f : f;
  return (hi << u_low_bits) | t;
}

// kernels::triangle::phase: the phase in [0, 1) from the wave values, from whichever wave is in
// its linear part. (The products by 0.5 are exact, fused or not.)
float phase(float ha, float hb) {
  float ph;
  if (abs(ha - 0.5) <= abs(hb - 0.5)) {
    ph = hb < 0.5 ? ha * 0.5 : 1.0 - fence(ha * 0.5);
  } else {
    ph = ha < 0.5 ? (0.5 - hb) * 0.5 : (hb + 0.5) * 0.5;
  }
  ph = fence(ph);
  return ph - floor(ph);
}

// WaveDecode::phase_level: ha = min(u * (1 / max_code), 1), the same for hb; phase * period.
float phase_level(uint u, uint v) {
  float ha = min(fence(float(u) * u_inv_max_code), 1.0);
  float hb = min(fence(float(v) * u_inv_max_code), 1.0);
  return fence(phase(ha, hb) * u_period);
}

// WaveDecode::depth_at.
float triangle_depth(uint c, float m_ph) {
  if (c < u_guard / 2u) return 0.0;
  c = min(max(c, u_guard), u_max_code);
  // m_y = (c - guard) as f32 * coarse_inv_qspan * fine_qspan (left to right).
  float m_y = fence(fence(float(c - u_guard) * u_coarse_inv_qspan) * u_fine_qspan);
  float k = rne((m_y - m_ph) * u_inv_period);
  float m = fence(k * u_period) + m_ph;
  // .clamp(m_y - reach, m_y + reach).clamp(0, fine_qspan): f32::clamp is max then min.
  m = min(max(m, m_y - u_reach), m_y + u_reach);
  m = min(max(m, 0.0), u_fine_qspan);
  if (u_round_fine) m = rne(m);
  return denormalise(m * u_fine_inv_qspan);
}

// schemes::hue::hue_level on byte-valued channels: the largest and smallest channels pick the
// segment, f(v) = (v - min) / c * 255 the position in it.
float hue_level(float r, float g, float b) {
  float mx = max(max(r, g), b);
  float mn = min(min(r, g), b);
  float c = mx - mn;
  if (c <= 0.0) return 0.0;
  if (mx == r && mn == b) return fence(div_exact(g - mn, c) * 255.0);
  if (mx == g && mn == b) return 510.0 - fence(div_exact(r - mn, c) * 255.0);
  if (mx == g) return 510.0 + fence(div_exact(b - mn, c) * 255.0);
  if (mx == b && mn == r) return 1020.0 - fence(div_exact(g - mn, c) * 255.0);
  if (mx == b) return 1020.0 + fence(div_exact(r - mn, c) * 255.0);
  return 1530.0 - fence(div_exact(b - mn, c) * 255.0);
}

// kernels::hue::depth_of_level: levels in the gap past HUE_DEPTH_MAX go to the nearer end.
float hue_depth_of_level(float level) {
  level = level > HUE_WRAP ? 0.0 : min(level, HUE_TOP);
  return denormalise(level * uintBitsToFloat(K_INV_TOP));
}

// Rust's 'c.round_ties_even().clamp(0.0, 255.0)'.
float to_byte(float c) {
  return min(max(rne(c), 0.0), 255.0);
}

// HueDecode::depth: full-range BT.709 to RGB, rounded to bytes, then the hue level.
float hue_depth(uint y, uint u, uint v) {
  float luma = fence(float(y) * u_hue_scale);
  if (luma < YUV_INVALID_LUMA) return 0.0;
  float cb = fence(float(u) * u_hue_scale) - 128.0;
  float cr = fence(float(v) * u_hue_scale) - 128.0;
  float r = luma + fence(uintBitsToFloat(K_1_5748) * cr);
  float b = luma + fence(uintBitsToFloat(K_1_8556) * cb);
  // (luma - 0.2126 * r - 0.0722 * b) * INV_GREEN, left to right.
  float g = ((luma - fence(uintBitsToFloat(K_0_2126) * r)) - fence(uintBitsToFloat(K_0_0722) * b))
    * uintBitsToFloat(K_INV_GREEN);
  return hue_depth_of_level(hue_level(to_byte(r), to_byte(g), to_byte(b)));
}

void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  ivec2 pc = p / 2;
  uint y = texelFetch(u_y, p, 0).r;
  if (u_path == 0u) {
    // vbp::unpack, chroma layout: unpack_row_half, quant.depth(split.merge(hi[x], lo[x / 2])).
    o_depth = quant_depth(merge(y, texelFetch(u_u, pc, 0).r));
  } else if (u_path == 1u) {
    // vbp::unpack, luma layout: unpack_row, the low code at luma row hp + y.
    uint lo = texelFetch(u_y, ivec2(p.x, int(u_hp) + p.y), 0).r;
    o_depth = quant_depth(merge(y, lo));
  } else if (u_path == 2u) {
    // triangle::unpack: phase_row of the chroma row, then unpack_triangle_row.
    float m_ph = phase_level(texelFetch(u_u, pc, 0).r, texelFetch(u_v, pc, 0).r);
    o_depth = triangle_depth(y, m_ph);
  } else {
    // hue::unpack: unpack_hue_row.
    o_depth = hue_depth(y, texelFetch(u_u, pc, 0).r, texelFetch(u_v, pc, 0).r);
  }
}`;

// The second pass for a map sent at half size (params.half): the GLSL twin of
// packing/src/resample.rs `upsample` at factor 2, bit-exact as the first pass. Pixel x of the
// full-size map lies between samples i0 = min(x / 2, lw - 1) and i1 = min(i0 + 1, lw - 1), at
// t = x / 2 - i0 (0 or 0.5), so every bilinear weight is 0, 1/4, 1/2 or 1 and each weighted
// depth d * w is exact (fused or not); the sums are then added in the CPU's order.
// - Without a guide: bilinear where the four surrounding samples lie on one surface (within
//   u_tolerance of the nearer depth), else the nearest sample.
// - With a guide (the frame's colour, luma plane, full size): the sample among the 3x3 around
//   the covering one with the largest log-weight (distance² · inv_space + luma difference² ·
//   inv_colour) decides the surface; the pixel is the weighted mean of the surrounding samples on
//   that surface (div_exact), or the chosen sample when none is.
const UPSAMPLE = `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
precision highp usampler2D;

// The half-size map, R32F, metres, 0.0 = invalid (the first pass's output).
uniform highp sampler2D u_low;
// The guide's luma plane (R8UI or R16UI), when u_guided.
uniform highp usampler2D u_guide;
uniform uint u_zero;
uniform bool u_guided;
// UpsampleSettings: same_surface; -0.5 / sigma_space^2 and -0.5 / sigma_colour^2 (f32, as the
// CPU computes them); 255 / the guide's largest code.
uniform float u_tolerance;
uniform float u_inv_space;
uniform float u_inv_colour;
uniform float u_guide_scale;

out highp float o_depth;

${EXACT}
// packing::is_valid_depth.
bool valid(float d) {
  return d > 0.0 && !isinf(d);
}

// resample::same_surface, for valid depths.
bool same_surface(float a, float b) {
  return abs(a - b) <= fence(u_tolerance * min(a, b));
}

float low_at(int i, int j) {
  return texelFetch(u_low, ivec2(i, j), 0).r;
}

float guide_luma(int x, int y) {
  return fence(float(texelFetch(u_guide, ivec2(x, y), 0).r) * u_guide_scale);
}

void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  ivec2 last = textureSize(u_low, 0) - 1;
  // resample::axis along x and y: the two samples around the pixel and the fraction between.
  ivec2 c0 = min(p / 2, last);
  ivec2 c1 = min(c0 + 1, last);
  vec2 t = vec2(p) * 0.5 - vec2(c0);
  float d[4] = float[4](low_at(c0.x, c0.y), low_at(c1.x, c0.y), low_at(c0.x, c1.y), low_at(c1.x, c1.y));
  float w[4] = float[4]((1.0 - t.x) * (1.0 - t.y), t.x * (1.0 - t.y), (1.0 - t.x) * t.y, t.x * t.y);
  if (!u_guided) {
    // The nearest sample: the first of the largest weight.
    float nearest = 0.0;
    float best = -1.0;
    for (int k = 0; k < 4; k++) {
      if (w[k] > best) { nearest = d[k]; best = w[k]; }
    }
    if (!valid(nearest)) { o_depth = 0.0; return; }
    bool one = true;
    for (int k = 0; k < 4; k++) {
      one = one && (w[k] == 0.0 || (valid(d[k]) && same_surface(d[k], nearest)));
    }
    if (!one) { o_depth = nearest; return; }
    float sum = 0.0;
    for (int k = 0; k < 4; k++) sum += w[k] == 0.0 ? 0.0 : fence(d[k] * w[k]);
    o_depth = sum;
    return;
  }
  float cp = guide_luma(p.x, p.y);
  ivec2 lo = max(c0 - 1, 0);
  float chosen = 0.0;
  float best = 0.0;
  bool first = true;
  for (int j = lo.y; j <= c1.y; j++) {
    float dy = float(2 * j - p.y);
    for (int i = lo.x; i <= c1.x; i++) {
      float dx = float(2 * i - p.x);
      float dc = cp - guide_luma(2 * i, 2 * j);
      // (dx² + dy²) · inv_space + dc² · inv_colour: the squares of small integers are exact.
      float l = fence((dx * dx + dy * dy) * u_inv_space) + fence(fence(dc * dc) * u_inv_colour);
      if (first || l > best) { chosen = low_at(i, j); best = l; first = false; }
    }
  }
  if (!valid(chosen)) { o_depth = 0.0; return; }
  float sum = 0.0;
  float wsum = 0.0;
  for (int k = 0; k < 4; k++) {
    if (w[k] > 0.0 && valid(d[k]) && same_surface(d[k], chosen)) {
      sum += fence(d[k] * w[k]);
      wsum += w[k];
    }
  }
  o_depth = wsum > 0.0 ? div_exact(sum, wsum) : chosen;
}`;

/** The shader sources, for tests: tools/browser/tests/unpack_contract.rs runs the fragment shader's
 * exact-arithmetic helpers (div_exact, rne) on their own, with another main(). */
export const SHADER_SOURCE = Object.freeze({ vertex: VERTEX, fragment: FRAGMENT, upsample: UPSAMPLE });

const SCHEMES = ['luma', 'vbp', 'triangle', 'hue'];
const f32 = Math.fround;

/** Throws unless `params` pass `PackParams::validate` (packing/src/params.rs). */
function validate(p) {
  if (!SCHEMES.includes(p.scheme)) throw new Error(`unknown packing scheme ${JSON.stringify(p.scheme)}`);
  if (p.bitDepth !== 8 && p.bitDepth !== 10) throw new Error(`plane bit depth ${p.bitDepth} is neither 8 nor 10`);
  if (p.mode !== 'linear' && p.mode !== 'disparity') throw new Error(`unknown range mode ${JSON.stringify(p.mode)}`);
  if (p.layout !== 'chroma' && p.layout !== 'luma') throw new Error(`unknown VBP layout ${JSON.stringify(p.layout)}`);
  if (!(Number.isInteger(p.width) && Number.isInteger(p.height) && p.width > 0 && p.height > 0 && p.width <= 65534 && p.height <= 32766)) {
    throw new Error(`depth size ${p.width}x${p.height} is empty or too large`);
  }
  // DepthRange::new: MIN_NEAR <= near < far <= MAX_FAR, far / near <= MAX_RATIO, finite span > 0.
  const near = f32(p.near);
  const far = f32(p.far);
  const sane = near >= f32(1e-6) && far <= f32(1e7) && far > near && f32(far / near) <= f32(1e6);
  if (!sane || near !== p.near || far !== p.far) throw new Error(`invalid depth range ${p.near}..${p.far}`);
  const b = p.bitDepth;
  const [min, max] = p.scheme === 'luma' ? [b, b] : p.scheme === 'hue' ? [0, 0] : [b, b + 8];
  if (!(p.precision >= min && p.precision <= max)) {
    throw new Error(`precision ${p.precision} is outside ${min}..=${max} for ${p.scheme} with ${b}-bit planes`);
  }
  if (p.scheme === 'vbp' && !(p.lowAmplitude >= 1 && p.lowAmplitude <= 255)) throw new Error(`invalid low amplitude ${p.lowAmplitude}`);
  if (p.scheme === 'triangle') {
    // PackParams::period_range.
    const w = 2 ** p.precision;
    const codes = (2 ** b - 1) - (4 << (b - 8));
    const lo = Math.max(Math.floor(w / codes) + 1, 16);
    if (!(Number.isInteger(p.period) && p.period >= lo && p.period <= w / 2)) {
      throw new Error(`triangle period ${p.period} is outside ${lo}..=${w / 2} at precision ${p.precision}`);
    }
  }
}

/** The uniforms of `params`: the CPU's precomputed constants as the same f32 operations. */
function constants(p) {
  const b = p.bitDepth;
  const maxCode = 2 ** b - 1;
  const guard = 4 << (b - 8); // BitDepth::guard
  // DepthRange::new.
  const near = f32(p.near);
  const far = f32(p.far);
  const invNear = f32(1 / near);
  const span = p.mode === 'disparity' ? f32(invNear - f32(1 / far)) : f32(far - near);
  // Quant::new at `bits`: q0 = guard << (bits − B), qspan = 2^bits − 1 − q0 (exact in f32).
  const quant = (bits) => {
    const q0 = guard * 2 ** (bits - b);
    const qspan = 2 ** bits - 1 - q0;
    return { q0, qspan, invQspan: f32(1 / qspan) };
  };
  const u = {
    u_zero: 0, u_path: 0, u_hp: p.height + (p.height & 1),
    u_disparity: p.mode === 'disparity' ? 1 : 0, u_near: near, u_inv_near: invNear, u_span: span,
    u_q0: 0, u_inv_qspan: 1, u_low_bits: 0, u_low_max: 0, u_base: 0, u_inv_step: 1,
    u_guard: guard, u_max_code: maxCode,
    u_inv_max_code: 1, u_coarse_inv_qspan: 1, u_fine_qspan: 1, u_fine_inv_qspan: 1,
    u_period: 1, u_inv_period: 1, u_reach: 1, u_round_fine: 0,
    u_hue_scale: 1,
  };
  if (p.scheme === 'luma' || p.scheme === 'vbp') {
    const q = quant(p.precision);
    // Split::new.
    const lowBits = p.scheme === 'vbp' ? Math.max(p.precision - b, 0) : 0;
    const lowMax = 2 ** lowBits - 1;
    const spanCodes = Math.floor(((p.lowAmplitude | 0) * maxCode + 127) / 255);
    const base = Math.floor((maxCode - spanCodes) / 2);
    const step = lowMax === 0 ? 1 : f32(spanCodes / lowMax);
    Object.assign(u, {
      u_path: p.scheme === 'vbp' && p.layout === 'luma' && lowBits > 0 ? 1 : 0,
      u_q0: q.q0, u_inv_qspan: q.invQspan,
      u_low_bits: lowBits, u_low_max: lowMax, u_base: base, u_inv_step: f32(1 / step),
    });
  } else if (p.scheme === 'triangle') {
    // WaveDecode::new.
    const coarse = quant(b);
    const fine = quant(p.precision);
    Object.assign(u, {
      u_path: 2,
      u_inv_max_code: f32(1 / maxCode),
      u_coarse_inv_qspan: coarse.invQspan,
      u_fine_qspan: fine.qspan,
      u_fine_inv_qspan: fine.invQspan,
      u_period: p.period,
      u_inv_period: f32(1 / p.period),
      // 0.5 * fine.qspan / coarse.qspan + 1.0, left to right.
      u_reach: f32(f32(f32(0.5 * fine.qspan) / coarse.qspan) + 1),
      u_round_fine: p.period < 2 * maxCode ? 1 : 0,
    });
  } else {
    // HueDecode::new.
    Object.assign(u, { u_path: 3, u_hue_scale: f32(255 / maxCode) });
  }
  return u;
}

const FLOAT_UNIFORMS = new Set([
  'u_near', 'u_inv_near', 'u_span', 'u_inv_qspan', 'u_inv_step', 'u_inv_max_code', 'u_coarse_inv_qspan',
  'u_fine_qspan', 'u_fine_inv_qspan', 'u_period', 'u_inv_period', 'u_reach', 'u_hue_scale',
]);

/** resample::UpsampleSettings::default() (packing/src/resample.rs), as f32 values. */
const UPSAMPLE_SETTINGS = Object.freeze({ sameSurface: f32(0.05), sigmaSpace: f32(1.5), sigmaColour: f32(8) });

/**
 * Whether `guide` ({ y, width, height, bitDepth }: the decoded colour's luma plane, rows tightly
 * packed) can guide the rebuild of a half-size map of `params`: it must be the map's size padded
 * to even, as the CPU's guide (colour and depth of an RGB-D stream are coded at that size).
 */
function guideFits(guide, params) {
  if (!guide) return false;
  const ok = guide.width === params.width + (params.width & 1) && guide.height === params.height + (params.height & 1)
    && (guide.bitDepth === 8 || guide.bitDepth === 10);
  if (!ok) return false;
  const Plane = guide.bitDepth === 10 ? Uint16Array : Uint8Array;
  if (!(guide.y instanceof Plane) || guide.y.length < guide.width * guide.height) {
    throw new Error(`the guide's luma plane is not ${guide.width}x${guide.height} ${guide.bitDepth}-bit samples`);
  }
  return true;
}

export class DepthUnpacker {
  /** @param {WebGL2RenderingContext} gl */
  constructor(gl) {
    if (typeof WebGL2RenderingContext === 'undefined' || !(gl instanceof WebGL2RenderingContext)) {
      throw new Error('DepthUnpacker needs a WebGL2RenderingContext');
    }
    // Rendering to the R32F depth texture needs EXT_color_buffer_float.
    if (!gl.getExtension('EXT_color_buffer_float')) {
      throw new Error('this browser\'s WebGL2 lacks EXT_color_buffer_float: the depth cannot be unpacked to an R32F texture');
    }
    this.gl = gl;
    this.program = link(gl, VERTEX, FRAGMENT);
    this.locations = {};
    const names = [...Object.keys(constants({ scheme: 'hue', bitDepth: 8, mode: 'linear', near: 1, far: 2, height: 2 })), 'u_y', 'u_u', 'u_v'];
    for (const name of names) this.locations[name] = gl.getUniformLocation(this.program, name);
    this.vao = gl.createVertexArray();
    // Y, U, V and the guide's luma: { texture, width, height, format }.
    this.planes = [null, null, null, null];
    // R32F render targets, { texture, framebuffer, width, height }: 'target' the first pass's
    // (the map as sent), 'full' the rebuilt map of a half-size one.
    this.targets = {};
    this.upsampler = null; // the second pass's program, made on the first half-size map
  }

  /**
   * Unpacks one frame's planes on the GPU; a map sent at half size is rebuilt to full size, with
   * `guide` (see guideFits) when it fits, else without.
   * @returns {{texture: WebGLTexture, width: number, height: number, guided: boolean}} R32F,
   *   metres, 0 = invalid; `guided`: a half-size map rebuilt with the guide.
   */
  unpack(planes, params, guide = null) {
    const gl = this.gl;
    if (!this.program) throw new Error('DepthUnpacker used after dispose()');
    validate(params);
    // PackParams::packed: the map the planes hold, at resample::reduced_size when sent at half
    // size.
    const p = params.half ? Object.assign({}, params, { width: (params.width + 1) >> 1, height: (params.height + 1) >> 1, half: false }) : params;
    // PackParams::frame_size: the planes must hold it (a larger decoded frame is fine).
    const fw = p.width + (p.width & 1);
    const hp = p.height + (p.height & 1);
    const u = constants(p);
    const fh = u.u_path === 1 ? 2 * hp : hp;
    if (!(planes.width >= fw && planes.height >= fh && planes.uvWidth >= fw / 2 && planes.uvHeight >= fh / 2)) {
      const sent = params.half ? `, sent at half size as ${p.width}x${p.height}` : '';
      throw new Error(`planes ${planes.width}x${planes.height} (chroma ${planes.uvWidth}x${planes.uvHeight}) are smaller than the ${fw}x${fh} frame of a ${params.width}x${params.height} depth map${sent} (${p.scheme})`);
    }
    const sizes = [[planes.width, planes.height], [planes.uvWidth, planes.uvHeight], [planes.uvWidth, planes.uvHeight]];
    const data = [planes.y, planes.u, planes.v];
    for (let i = 0; i < 3; i++) {
      const a = data[i];
      const [w, h] = sizes[i];
      if (!(a instanceof Uint8Array || a instanceof Uint16Array)) throw new Error(`plane ${'yuv'[i]} is neither a Uint8Array nor a Uint16Array`);
      if (a.length < w * h) throw new Error(`plane ${'yuv'[i]} has ${a.length} samples, fewer than ${w}x${h}`);
      if (p.bitDepth === 10 && a instanceof Uint8Array) throw new Error(`plane ${'yuv'[i]} is 8-bit but the frame was packed with 10-bit planes`);
    }
    // resample::upsample's guide: used only when it is the map's size padded to even, as on the
    // CPU (Packer::unpack_guided_into).
    const guided = params.half && guideFits(guide, params);

    let first = null;
    let full = null;
    const saved = saveState(gl);
    try {
      gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, null);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.pixelStorei(gl.UNPACK_ROW_LENGTH, 0);
      gl.pixelStorei(gl.UNPACK_SKIP_ROWS, 0);
      gl.pixelStorei(gl.UNPACK_SKIP_PIXELS, 0);
      gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
      gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
      // The targets first: making one binds a texture (on unit 0, whose binding is restored),
      // which must not displace a plane's.
      gl.activeTexture(gl.TEXTURE0);
      first = this.ensureTarget('target', p.width, p.height);
      full = params.half ? this.ensureTarget('full', params.width, params.height) : null;
      for (let i = 0; i < 3; i++) {
        gl.activeTexture(gl.TEXTURE0 + i);
        this.upload(i, data[i], sizes[i][0], sizes[i][1]);
      }
      for (const cap of [gl.BLEND, gl.SCISSOR_TEST, gl.CULL_FACE, gl.DEPTH_TEST, gl.STENCIL_TEST, gl.RASTERIZER_DISCARD, gl.DITHER, gl.SAMPLE_ALPHA_TO_COVERAGE, gl.SAMPLE_COVERAGE, gl.POLYGON_OFFSET_FILL]) {
        gl.disable(cap);
      }
      gl.colorMask(true, true, true, true);
      gl.bindVertexArray(this.vao);
      gl.bindFramebuffer(gl.FRAMEBUFFER, first.framebuffer);
      gl.viewport(0, 0, p.width, p.height);
      gl.useProgram(this.program);
      const loc = this.locations;
      gl.uniform1i(loc.u_y, 0);
      gl.uniform1i(loc.u_u, 1);
      gl.uniform1i(loc.u_v, 2);
      for (const [name, value] of Object.entries(u)) {
        if (FLOAT_UNIFORMS.has(name)) gl.uniform1f(loc[name], value);
        else if (name === 'u_round_fine') gl.uniform1i(loc[name], value);
        else gl.uniform1ui(loc[name], value);
      }
      gl.drawArrays(gl.TRIANGLES, 0, 3);
      if (full) this.upsample(first, full, guided ? guide : null);
    } finally {
      restoreState(gl, saved);
    }
    const out = full || first;
    this.last = { width: params.width, height: params.height, target: out };
    return { texture: out.texture, width: params.width, height: params.height, guided };
  }

  /** The second pass of a half-size map: `low` (R32F) rebuilt into `full`, with the guide's luma. */
  upsample(low, full, guide) {
    const gl = this.gl;
    if (!this.upsampler) {
      const program = link(gl, VERTEX, UPSAMPLE);
      const names = ['u_low', 'u_guide', 'u_zero', 'u_guided', 'u_tolerance', 'u_inv_space', 'u_inv_colour', 'u_guide_scale'];
      this.upsampler = { program, locations: Object.fromEntries(names.map((n) => [n, gl.getUniformLocation(program, n)])) };
    }
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, low.texture);
    gl.activeTexture(gl.TEXTURE1);
    if (guide) this.upload(3, guide.y, guide.width, guide.height);
    else gl.bindTexture(gl.TEXTURE_2D, null);
    gl.bindFramebuffer(gl.FRAMEBUFFER, full.framebuffer);
    gl.viewport(0, 0, full.width, full.height);
    const { program, locations: loc } = this.upsampler;
    gl.useProgram(program);
    const s = UPSAMPLE_SETTINGS;
    gl.uniform1i(loc.u_low, 0);
    gl.uniform1i(loc.u_guide, 1);
    gl.uniform1ui(loc.u_zero, 0);
    gl.uniform1i(loc.u_guided, guide ? 1 : 0);
    gl.uniform1f(loc.u_tolerance, s.sameSurface);
    // UpsampleSettings in f32: -0.5 / (sigma · sigma).
    gl.uniform1f(loc.u_inv_space, f32(-0.5 / f32(s.sigmaSpace * s.sigmaSpace)));
    gl.uniform1f(loc.u_inv_colour, f32(-0.5 / f32(s.sigmaColour * s.sigmaColour)));
    gl.uniform1f(loc.u_guide_scale, guide ? f32(255 / (2 ** guide.bitDepth - 1)) : 1);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  /** The last unpacked depth map, read back: width · height floats, row-major, top row first. */
  readDepth() {
    const gl = this.gl;
    if (!this.last) throw new Error('readDepth() before unpack()');
    const { width, height, target } = this.last;
    const saved = saveState(gl);
    const out = new Float32Array(width * height);
    try {
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
      gl.pixelStorei(gl.PACK_ALIGNMENT, 4);
      gl.pixelStorei(gl.PACK_ROW_LENGTH, 0);
      gl.pixelStorei(gl.PACK_SKIP_ROWS, 0);
      gl.pixelStorei(gl.PACK_SKIP_PIXELS, 0);
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, target.framebuffer);
      gl.readBuffer(gl.COLOR_ATTACHMENT0);
      // RGBA/FLOAT is the combination a float colour buffer always reads back with; RED/FLOAT
      // where the implementation offers it (a quarter of the copy).
      const red = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_FORMAT) === gl.RED
        && gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE) === gl.FLOAT;
      if (red) {
        gl.readPixels(0, 0, width, height, gl.RED, gl.FLOAT, out);
      } else {
        const rgba = new Float32Array(4 * width * height);
        gl.readPixels(0, 0, width, height, gl.RGBA, gl.FLOAT, rgba);
        for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i];
      }
    } finally {
      restoreState(gl, saved);
    }
    return out;
  }

  dispose() {
    const gl = this.gl;
    for (const t of this.planes) if (t) gl.deleteTexture(t.texture);
    this.planes = [null, null, null, null];
    for (const slot of ['target', 'full']) {
      const t = this.targets[slot];
      if (t) {
        gl.deleteFramebuffer(t.framebuffer);
        gl.deleteTexture(t.texture);
      }
    }
    this.targets = {};
    if (this.vao) gl.deleteVertexArray(this.vao);
    if (this.program) gl.deleteProgram(this.program);
    if (this.upsampler) gl.deleteProgram(this.upsampler.program);
    this.upsampler = null;
    this.vao = null;
    this.program = null;
    this.last = null;
  }

  /** Uploads plane `i` as an integer texture on the active unit (reallocated on a new shape). */
  upload(i, array, width, height) {
    const gl = this.gl;
    const wide = array instanceof Uint16Array;
    const format = wide ? gl.R16UI : gl.R8UI;
    let t = this.planes[i];
    if (!t || t.width !== width || t.height !== height || t.format !== format) {
      if (t) gl.deleteTexture(t.texture);
      const texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texStorage2D(gl.TEXTURE_2D, 1, format, width, height);
      // Integer textures are only complete with NEAREST filtering.
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      t = this.planes[i] = { texture, width, height, format };
    }
    gl.bindTexture(gl.TEXTURE_2D, t.texture);
    const view = array.length === width * height ? array : array.subarray(0, width * height);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, width, height, gl.RED_INTEGER, wide ? gl.UNSIGNED_SHORT : gl.UNSIGNED_BYTE, view);
  }

  /** The R32F target `slot` and its framebuffer, `width x height` (reallocated on a new size). */
  ensureTarget(slot, width, height) {
    const gl = this.gl;
    const old = this.targets[slot];
    if (old && old.width === width && old.height === height) return old;
    if (old) {
      gl.deleteFramebuffer(old.framebuffer);
      gl.deleteTexture(old.texture);
      delete this.targets[slot];
    }
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.R32F, width, height);
    // R32F is not filterable without OES_texture_float_linear; views read it with texelFetch.
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    gl.drawBuffers([gl.COLOR_ATTACHMENT0]);
    const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
    const target = { texture, framebuffer, width, height };
    this.targets[slot] = target;
    if (status !== gl.FRAMEBUFFER_COMPLETE) {
      throw new Error(`an R32F ${width}x${height} render target is not supported here (framebuffer status 0x${status.toString(16)})`);
    }
    return target;
  }
}

function link(gl, vertexSource, fragmentSource) {
  const compile = (type, source) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) {
      const log = gl.getShaderInfoLog(s);
      gl.deleteShader(s);
      throw new Error(`the depth unpacking shader does not compile: ${log}`);
    }
    return s;
  };
  const vs = compile(gl.VERTEX_SHADER, vertexSource);
  const fs = compile(gl.FRAGMENT_SHADER, fragmentSource);
  const program = gl.createProgram();
  gl.attachShader(program, vs);
  gl.attachShader(program, fs);
  gl.linkProgram(program);
  gl.deleteShader(vs);
  gl.deleteShader(fs);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    throw new Error(`the depth unpacking shader does not link: ${gl.getProgramInfoLog(program)}`);
  }
  return program;
}

// The GL state unpack() and readDepth() change, so that the page's own drawing is unaffected.
const CAPS = ['BLEND', 'SCISSOR_TEST', 'CULL_FACE', 'DEPTH_TEST', 'STENCIL_TEST', 'RASTERIZER_DISCARD', 'DITHER', 'SAMPLE_ALPHA_TO_COVERAGE', 'SAMPLE_COVERAGE', 'POLYGON_OFFSET_FILL'];
const PIXEL_STORE = ['UNPACK_ALIGNMENT', 'UNPACK_ROW_LENGTH', 'UNPACK_SKIP_ROWS', 'UNPACK_SKIP_PIXELS', 'UNPACK_FLIP_Y_WEBGL', 'UNPACK_PREMULTIPLY_ALPHA_WEBGL', 'PACK_ALIGNMENT', 'PACK_ROW_LENGTH', 'PACK_SKIP_ROWS', 'PACK_SKIP_PIXELS'];

function saveState(gl) {
  const active = gl.getParameter(gl.ACTIVE_TEXTURE);
  const textures = [];
  for (let i = 0; i < 3; i++) {
    gl.activeTexture(gl.TEXTURE0 + i);
    textures.push(gl.getParameter(gl.TEXTURE_BINDING_2D));
  }
  gl.activeTexture(active);
  return {
    active, textures,
    drawFramebuffer: gl.getParameter(gl.DRAW_FRAMEBUFFER_BINDING),
    readFramebuffer: gl.getParameter(gl.READ_FRAMEBUFFER_BINDING),
    viewport: gl.getParameter(gl.VIEWPORT),
    program: gl.getParameter(gl.CURRENT_PROGRAM),
    vao: gl.getParameter(gl.VERTEX_ARRAY_BINDING),
    unpackBuffer: gl.getParameter(gl.PIXEL_UNPACK_BUFFER_BINDING),
    packBuffer: gl.getParameter(gl.PIXEL_PACK_BUFFER_BINDING),
    colorMask: gl.getParameter(gl.COLOR_WRITEMASK),
    caps: CAPS.map((c) => gl.isEnabled(gl[c])),
    pixelStore: PIXEL_STORE.map((s) => gl.getParameter(gl[s])),
  };
}

function restoreState(gl, s) {
  for (let i = 0; i < 3; i++) {
    gl.activeTexture(gl.TEXTURE0 + i);
    gl.bindTexture(gl.TEXTURE_2D, s.textures[i]);
  }
  gl.activeTexture(s.active);
  gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, s.drawFramebuffer);
  gl.bindFramebuffer(gl.READ_FRAMEBUFFER, s.readFramebuffer);
  gl.viewport(s.viewport[0], s.viewport[1], s.viewport[2], s.viewport[3]);
  gl.useProgram(s.program);
  gl.bindVertexArray(s.vao);
  gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, s.unpackBuffer);
  gl.bindBuffer(gl.PIXEL_PACK_BUFFER, s.packBuffer);
  gl.colorMask(s.colorMask[0], s.colorMask[1], s.colorMask[2], s.colorMask[3]);
  CAPS.forEach((c, i) => (s.caps[i] ? gl.enable(gl[c]) : gl.disable(gl[c])));
  PIXEL_STORE.forEach((name, i) => gl.pixelStorei(gl[name], s.pixelStore[i]));
}
