// Depth-based reprojection of an RGB-D frame to another camera pose: the GPU twin of
// `depthcast_reproject::Reprojector::reproject` (crate `reproject/`, the definition; read its
// docs for the algorithm). Six compute passes over 8x8 tiles, each dispatched
// ceil(width / 8) x ceil(height / 8), in this order:
//   clear        z-buffer keys and indices := empty
//   splat        every source pixel: atomicMin(key) at the target pixel it lands in
//   splat_index  every source pixel whose key won: atomicMin(source index) (the tie-break)
//   resolve      winners; pixels poking through a surface become holes   -> key0, index0
//   cracks       holes at most CRACK_WIDTH wide take the farther end       -> key1, index1
//   fill         other holes take the farther end of the narrower axis; colour out (RGBA8)
// The per-pixel math is written in the CPU's operation order (`reproject/src/transform.rs`);
// the constants (rotation, translation, 1/f) come from the CPU in `params`.

struct Params {
    // Rows of the rotation source camera -> target camera (w unused).
    rot0: vec4<f32>,
    rot1: vec4<f32>,
    rot2: vec4<f32>,
    // Translation in metres (w unused).
    trans: vec4<f32>,
    fx: f32,
    fy: f32,
    cx: f32,
    cy: f32,
    inv_fx: f32,
    inv_fy: f32,
    near: f32,
    // 1 + poke_through.
    poke_ratio: f32,
    width: u32,
    height: u32,
    // Pixels per row of `out` (>= width).
    out_stride: u32,
    max_search: u32,
    // Bit 0: the colour texture is sRGB (re-encode what textureLoad decoded). Bit 1: poke-through
    // test on.
    flags: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const TILE: u32 = 8u;
const KEY_FAR: u32 = 0x7f800000u;
const KEY_EMPTY: u32 = 0xffffffffu;
const CRACK_WIDTH: u32 = 2u;
const MIN_POSITIVE: f32 = 1.17549435e-38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var colour: texture_2d<f32>;
@group(0) @binding(2) var depth: texture_2d<f32>;
@group(0) @binding(3) var<storage, read_write> zkey: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> zindex: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> key0: array<u32>;
@group(0) @binding(6) var<storage, read_write> index0: array<u32>;
@group(0) @binding(7) var<storage, read_write> key1: array<u32>;
@group(0) @binding(8) var<storage, read_write> index1: array<u32>;
@group(0) @binding(9) var<storage, read_write> out: array<u32>;

fn inside(id: vec3<u32>) -> bool {
    return id.x < params.width && id.y < params.height;
}

@compute @workgroup_size(TILE, TILE, 1)
fn clear(@builtin(global_invocation_id) id: vec3<u32>) {
    if !inside(id) {
        return;
    }
    let i = id.y * params.width + id.x;
    atomicStore(&zkey[i], KEY_EMPTY);
    atomicStore(&zindex[i], KEY_EMPTY);
}

// Where source pixel (u, v) lands: (target index or KEY_EMPTY, key). `RelativeTransform::project`
// and the bounds test of `Reprojector::reproject`.
fn project(u: u32, v: u32) -> vec2<u32> {
    let rx = (f32(u) + 0.5 - params.cx) * params.inv_fx;
    let ry = (params.cy - (f32(v) + 0.5)) * params.inv_fy;
    let raw = textureLoad(depth, vec2<i32>(i32(u), i32(v)), 0).r;
    // Positive and finite, on the bits (the GPU may assume no NaN or infinity).
    let valid = bitcast<u32>(raw) - 1u < 0x7f7fffffu;
    let d = select(1.0, raw, valid);
    let t = select(vec3<f32>(0.0), params.trans.xyz, valid);
    let x = rx * d;
    let y = ry * d;
    let z = -d;
    let px = params.rot0.x * x + params.rot0.y * y + params.rot0.z * z + t.x;
    let py = params.rot1.x * x + params.rot1.y * y + params.rot1.z * z + t.y;
    let pz = params.rot2.x * x + params.rot2.y * y + params.rot2.z * z + t.z;
    let dt = -pz;
    let near = select(MIN_POSITIVE, params.near, valid);
    let key = select(KEY_EMPTY, select(KEY_FAR, bitcast<u32>(dt), valid), dt >= near);
    let inv = 1.0 / dt;
    let tx = params.cx + px * inv * params.fx;
    let ty = params.cy - py * inv * params.fy;
    let in_image = key != KEY_EMPTY && tx >= 0.0 && tx < f32(params.width) && ty >= 0.0
        && ty < f32(params.height);
    if !in_image {
        return vec2<u32>(KEY_EMPTY, key);
    }
    return vec2<u32>(u32(ty) * params.width + u32(tx), key);
}

@compute @workgroup_size(TILE, TILE, 1)
fn splat(@builtin(global_invocation_id) id: vec3<u32>) {
    if !inside(id) {
        return;
    }
    let p = project(id.x, id.y);
    if p.x != KEY_EMPTY {
        atomicMin(&zkey[p.x], p.y);
    }
}

@compute @workgroup_size(TILE, TILE, 1)
fn splat_index(@builtin(global_invocation_id) id: vec3<u32>) {
    if !inside(id) {
        return;
    }
    let p = project(id.x, id.y);
    if p.x != KEY_EMPTY && atomicLoad(&zkey[p.x]) == p.y {
        atomicMin(&zindex[p.x], id.y * params.width + id.x);
    }
}

// Whether the source pixels with indices a and b were 8-connected neighbours.
fn source_neighbours(a: u32, b: u32) -> bool {
    let w = params.width;
    let dx = max(a % w, b % w) - min(a % w, b % w);
    let dy = max(a / w, b / w) - min(a / w, b / w);
    return dx <= 1u && dy <= 1u;
}

// Pixel with key `k` pokes through between pixels a and b (indices into the z-buffer).
fn pokes(k: u32, a: u32, b: u32) -> bool {
    let ka = atomicLoad(&zkey[a]);
    let kb = atomicLoad(&zkey[b]);
    if !(k > ka && k > kb) {
        return false;
    }
    let r = params.poke_ratio;
    let farther = k == KEY_FAR
        || (bitcast<f32>(k) > bitcast<f32>(ka) * r && bitcast<f32>(k) > bitcast<f32>(kb) * r);
    return farther && source_neighbours(atomicLoad(&zindex[a]), atomicLoad(&zindex[b]));
}

@compute @workgroup_size(TILE, TILE, 1)
fn resolve(@builtin(global_invocation_id) id: vec3<u32>) {
    if !inside(id) {
        return;
    }
    let w = params.width;
    let i = id.y * w + id.x;
    var k = atomicLoad(&zkey[i]);
    if k != KEY_EMPTY && (params.flags & 2u) != 0u {
        let row = id.x > 0u && id.x + 1u < w && pokes(k, i - 1u, i + 1u);
        let col = id.y > 0u && id.y + 1u < params.height && pokes(k, i - w, i + w);
        if row || col {
            k = KEY_EMPTY;
        }
    }
    key0[i] = k;
    index0[i] = atomicLoad(&zindex[i]);
}

// The nearest covered pixel in one direction: (found, distance, key, pixel index).
struct End {
    found: bool,
    dist: u32,
    key: u32,
    at: u32,
}

// Searches from (x, y) in direction `dir` (0 left, 1 right, 2 up, 3 down) up to `reach` pixels,
// in key0 (stage 1) or key1 (stage 2).
fn search(x: u32, y: u32, dir: u32, reach: u32, stage: u32) -> End {
    let w = params.width;
    let h = params.height;
    for (var k = 1u; k <= reach; k++) {
        var at: u32;
        if dir == 0u {
            if k > x { break; }
            at = y * w + x - k;
        } else if dir == 1u {
            if x + k >= w { break; }
            at = y * w + x + k;
        } else if dir == 2u {
            if k > y { break; }
            at = (y - k) * w + x;
        } else {
            if y + k >= h { break; }
            at = (y + k) * w + x;
        }
        var key: u32;
        if stage == 1u { key = key0[at]; } else { key = key1[at]; }
        if key != KEY_EMPTY {
            return End(true, k, key, at);
        }
    }
    return End(false, 0u, 0u, 0u);
}

fn farther(a: End, b: End) -> End {
    if b.key > a.key {
        return b;
    }
    return a;
}

// `fill::choose`: the end a hole takes its colour from (found = false: none).
fn choose(x: u32, y: u32, reach: u32, stage: u32, max_gap: u32, single: bool) -> End {
    let l = search(x, y, 0u, reach, stage);
    let r = search(x, y, 1u, reach, stage);
    let u = search(x, y, 2u, reach, stage);
    let d = search(x, y, 3u, reach, stage);
    let row = l.found && r.found;
    let col = u.found && d.found;
    if row && (!col || l.dist + r.dist <= u.dist + d.dist) {
        if l.dist + r.dist <= max_gap {
            return farther(l, r);
        }
    } else if col {
        if u.dist + d.dist <= max_gap {
            return farther(u, d);
        }
    }
    if !single {
        return End(false, 0u, 0u, 0u);
    }
    var best = End(false, 0u, 0u, 0u);
    for (var k = 0u; k < 4u; k++) {
        var e: End;
        switch k {
            case 0u: { e = l; }
            case 1u: { e = r; }
            case 2u: { e = u; }
            default: { e = d; }
        }
        if e.found && (!best.found || e.key > best.key) {
            best = e;
        }
    }
    return best;
}

@compute @workgroup_size(TILE, TILE, 1)
fn cracks(@builtin(global_invocation_id) id: vec3<u32>) {
    if !inside(id) {
        return;
    }
    let i = id.y * params.width + id.x;
    var k = key0[i];
    var src = index0[i];
    if k == KEY_EMPTY {
        let e = choose(id.x, id.y, CRACK_WIDTH, 1u, CRACK_WIDTH + 1u, false);
        if e.found {
            k = e.key;
            src = index0[e.at];
        }
    }
    key1[i] = k;
    index1[i] = src;
}

fn encode_srgb(c: f32) -> f32 {
    if c <= 0.0031308 {
        return c * 12.92;
    }
    return 1.055 * pow(c, 1.0 / 2.4) - 0.055;
}

fn code(c: f32) -> u32 {
    var v = c;
    if (params.flags & 1u) != 0u {
        v = encode_srgb(c);
    }
    return u32(clamp(round(v * 255.0), 0.0, 255.0));
}

@compute @workgroup_size(TILE, TILE, 1)
fn fill(@builtin(global_invocation_id) id: vec3<u32>) {
    if !inside(id) {
        return;
    }
    let w = params.width;
    let i = id.y * w + id.x;
    var src = i;
    if key1[i] != KEY_EMPTY {
        src = index1[i];
    } else {
        let e = choose(id.x, id.y, params.max_search, 2u, 0xffffffffu, true);
        if e.found {
            src = index1[e.at];
        }
    }
    let c = textureLoad(colour, vec2<i32>(i32(src % w), i32(src / w)), 0);
    out[id.y * params.out_stride + id.x] = code(c.r) | (code(c.g) << 8u) | (code(c.b) << 16u) | (255u << 24u);
}
