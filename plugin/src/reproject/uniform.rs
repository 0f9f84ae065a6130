//! The uniform block of `shaders/reproject.wgsl` and the order of its passes.

use depthcast_reproject::{RelativeTransform, ReprojectSettings};

/// Bytes of the shader's `Params` uniform (32 words).
pub const REPROJECT_PARAMS_BYTES: usize = 128;
/// Workgroup tile of every entry point (`TILE` x `TILE` invocations, one per pixel).
pub const REPROJECT_TILE: u32 = 8;
/// The entry points, in the order they run; each is dispatched
/// `width.div_ceil(REPROJECT_TILE) x height.div_ceil(REPROJECT_TILE)` workgroups.
pub const REPROJECT_PASSES: [&str; 6] = ["clear", "splat", "splat_index", "resolve", "cracks", "fill"];

/// The `Params` uniform for reprojecting with `t` (from [`RelativeTransform::new`]) and
/// `settings` into an output buffer of `out_stride` pixels per row (at least the width);
/// `srgb` when the colour texture is `Rgba8UnormSrgb` (the shader re-encodes what it reads).
pub fn reproject_uniform(
    t: &RelativeTransform,
    settings: &ReprojectSettings,
    out_stride: u32,
    srgb: bool,
) -> [u8; REPROJECT_PARAMS_BYTES] {
    let k = &t.intrinsics;
    let r = &t.rotation;
    let floats = [
        r[0][0],
        r[0][1],
        r[0][2],
        0.0, //
        r[1][0],
        r[1][1],
        r[1][2],
        0.0, //
        r[2][0],
        r[2][1],
        r[2][2],
        0.0, //
        t.translation[0],
        t.translation[1],
        t.translation[2],
        0.0, //
        k.fx,
        k.fy,
        k.cx,
        k.cy, //
        t.inv_fx,
        t.inv_fy,
        k.near,
        1.0 + settings.poke_through,
    ];
    let poke = settings.poke_through.is_finite();
    let flags = u32::from(srgb) | u32::from(poke) << 1;
    let words = [k.width, k.height, out_stride, settings.max_search, flags, 0, 0, 0];
    let mut b = [0u8; REPROJECT_PARAMS_BYTES];
    let all = floats.iter().map(|f| f.to_bits()).chain(words);
    for (i, word) in all.enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&word.to_le_bytes());
    }
    b
}
