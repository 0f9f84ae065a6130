// Linearises Bevy's reverse-Z prepass depth into linear view depth in metres.
//
// Input: the prepass depth (`texture_depth_2d`, Depth32Float, MSAA off) holding reverse-Z NDC
// depth of an infinite-far perspective projection: ndc = near / z, 1 at the near plane, 0 at
// infinity (the cleared background).
// Output: a storage buffer with a 16-byte header (frame tag, width, height, stride) followed by
// `height` rows of `stride` f32 (only the first `width` of each row are written; the stride is
// padded to 256 bytes so a later pass can copy rows into a texture directly).
//
// CPU twin: `depthcast_packing::depth::ndc_to_linear` (z = near / ndc; ndc <= 0 or NaN -> +inf).
// The contract test `plugin/tests/contract.rs` runs this file on the software adapter and compares
// every pixel with the twin.
//
// Self-contained on purpose (no `#import`): the contract test feeds it to wgpu directly.

// Workgroup tile (64 invocations: a good size on every GPU). Plain constants, not `override`:
// Bevy's shader preprocessor (naga_oil) mis-handles override expressions in `@workgroup_size`.
const TILE_X: u32 = 8u;
const TILE_Y: u32 = 8u;

struct Params {
    // Near plane distance in metres (the projection's `near`).
    near: f32,
    width: u32,
    height: u32,
    // Row stride of the output, in elements (>= width).
    stride: u32,
    // Frame tag copied into the output header, so a readback identifies its frame.
    frame: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct LinearDepth {
    frame: u32,
    width: u32,
    height: u32,
    stride: u32,
    depth: array<f32>,
}

@group(0) @binding(0) var prepass_depth: texture_depth_2d;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> out: LinearDepth;

@compute @workgroup_size(TILE_X, TILE_Y, 1)
fn linearize(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x == 0u && id.y == 0u {
        out.frame = params.frame;
        out.width = params.width;
        out.height = params.height;
        out.stride = params.stride;
    }
    if id.x >= params.width || id.y >= params.height {
        return;
    }
    let ndc = textureLoad(prepass_depth, vec2<u32>(id.xy), 0);
    // +inf marks background (ndc == 0) and anything non-positive or NaN, as in the CPU twin.
    var z = bitcast<f32>(0x7f800000u);
    if ndc > 0.0 {
        z = params.near / ndc;
    }
    out.depth[id.y * params.stride + id.x] = z;
}
