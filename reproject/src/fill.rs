//! Resolve, crack filling and hole filling: the CPU twins of the shader's `resolve`, `cracks` and
//! `fill` entry points (see the crate docs for the rules). Each stage reads only the previous
//! stage's output, so every pixel is independent, as on the GPU.

use depthcast_packing::RgbImage;

use crate::transform::KEY_FAR;
use crate::{ReprojectSettings, ReprojectStats};

/// The widest hole (pixels along the narrower axis) that the crack stage fills.
pub const CRACK_WIDTH: u32 = 2;

/// Buffers kept between frames: the pixels a stage changes (each stage reads the z-buffer as the
/// previous stage left it, then applies its changes).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    changes: Vec<(usize, u64)>,
}

/// The key of a z-buffer entry ([`crate::KEY_EMPTY`] for `u64::MAX`, a hole).
#[inline]
fn key(z: u64) -> u32 {
    (z >> 32) as u32
}

/// Writes the resolved and filled colour of every target pixel of `zbuf` (`key << 32 | source
/// index`, `u64::MAX` where empty) into `out`; `zbuf` is left as the crack stage made it.
pub(crate) fn resolve_and_fill(
    zbuf: &mut [u64],
    colour: &RgbImage,
    settings: &ReprojectSettings,
    s: &mut Scratch,
    out: &mut RgbImage,
    stats: &mut ReprojectStats,
) {
    let (w, h) = (out.width as usize, out.height as usize);
    if settings.poke_through.is_finite() {
        resolve(zbuf, w, h, 1.0 + settings.poke_through, s, stats);
    }
    cracks(zbuf, w, h, s, stats);
    fill(zbuf, w, h, settings.max_search, colour, out, stats);
}

/// Stage 0 (after the z-test): pixels that poke through a surface become holes.
fn resolve(zbuf: &mut [u64], w: usize, h: usize, ratio: f32, s: &mut Scratch, stats: &mut ReprojectStats) {
    let depth = |z: u64| f32::from_bits(key(z));
    // `z` pokes through between `a` and `b` (the keys' order is the depths' order; an empty
    // neighbour has the largest key, so `key > a && key > b` already excludes it, and a far `z`
    // is farther than any finite neighbour without computing with infinity).
    let poke = |z: u64, a: u64, b: u64| {
        key(z) > key(a)
            && key(z) > key(b)
            && (key(z) == KEY_FAR || (depth(z) > depth(a) * ratio && depth(z) > depth(b) * ratio))
            && source_neighbours(a, b, w)
    };
    s.changes.clear();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let z = zbuf[i];
            if z == u64::MAX {
                continue;
            }
            if (x > 0 && x + 1 < w && poke(z, zbuf[i - 1], zbuf[i + 1]))
                || (y > 0 && y + 1 < h && poke(z, zbuf[i - w], zbuf[i + w]))
            {
                s.changes.push((i, u64::MAX));
            }
        }
    }
    stats.poked_through += s.changes.len() as u64;
    for &(i, z) in &s.changes {
        zbuf[i] = z;
    }
}

/// Whether the source pixels that won two z-buffer entries were neighbours (8-connected) in the
/// source image: then the target pixel between them lies on a crack of their surface.
fn source_neighbours(a: u64, b: u64, w: usize) -> bool {
    let (a, b) = (a as u32 as usize, b as u32 as usize);
    (a % w).abs_diff(b % w) <= 1 && (a / w).abs_diff(b / w) <= 1
}

/// Stage 1: holes at most [`CRACK_WIDTH`] pixels wide along a row or column, bounded on both
/// sides, take the farther end (of the narrower axis; the row on a tie).
fn cracks(zbuf: &mut [u64], w: usize, h: usize, s: &mut Scratch, stats: &mut ReprojectStats) {
    let reach = CRACK_WIDTH as usize;
    s.changes.clear();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if zbuf[i] != u64::MAX {
                continue;
            }
            let end = |step: Step| {
                (1..=reach)
                    .map_while(|k| step(x, y, k, w, h).map(|j| (k as u32, j)))
                    .find(|&(_, j)| zbuf[j] != u64::MAX)
            };
            let ends = [end(left_of), end(right_of), end(above), end(below)];
            if let Some(at) = choose(ends, zbuf, CRACK_WIDTH + 1, false) {
                s.changes.push((i, zbuf[at]));
            }
        }
    }
    stats.cracks_filled += s.changes.len() as u64;
    for &(i, z) in &s.changes {
        zbuf[i] = z;
    }
}

/// The pixel `k` steps from `(x, y)` in one direction in a `w x h` image, if inside.
type Step = fn(usize, usize, usize, usize, usize) -> Option<usize>;

fn left_of(x: usize, y: usize, k: usize, w: usize, _: usize) -> Option<usize> {
    (x >= k).then(|| y * w + x - k)
}
fn right_of(x: usize, y: usize, k: usize, w: usize, _: usize) -> Option<usize> {
    (x + k < w).then(|| y * w + x + k)
}
fn above(x: usize, y: usize, k: usize, w: usize, _: usize) -> Option<usize> {
    (y >= k).then(|| (y - k) * w + x)
}
fn below(x: usize, y: usize, k: usize, w: usize, h: usize) -> Option<usize> {
    (y + k < h).then(|| (y + k) * w + x)
}

/// Stage 2: every remaining hole takes a colour from the background side, else the stale one.
fn fill(
    zbuf: &[u64],
    w: usize,
    h: usize,
    reach: u32,
    colour: &RgbImage,
    out: &mut RgbImage,
    stats: &mut ReprojectStats,
) {
    let src = &colour.data[..3 * w * h];
    let reach = reach as usize;
    for y in 0..h {
        let row = y * w;
        let out_row = &mut out.data[3 * row..3 * (row + w)];
        for (x, (o, &z)) in out_row.chunks_exact_mut(3).zip(&zbuf[row..row + w]).enumerate() {
            let from = if z != u64::MAX { z as u32 as usize } else { hole(zbuf, x, y, w, h, reach, stats) };
            let p = &src[3 * from..3 * from + 3];
            o[0] = p[0];
            o[1] = p[1];
            o[2] = p[2];
        }
    }
}

/// The source pixel a stage-2 hole at `(x, y)` takes its colour from.
#[cold]
#[inline(never)]
fn hole(zbuf: &[u64], x: usize, y: usize, w: usize, h: usize, reach: usize, stats: &mut ReprojectStats) -> usize {
    // (distance, pixel index) of the nearest covered pixel in each direction.
    let end = |step: Step| {
        (1..=reach).map_while(|k| step(x, y, k, w, h).map(|j| (k as u32, j))).find(|&(_, j)| zbuf[j] != u64::MAX)
    };
    let ends = [end(left_of), end(right_of), end(above), end(below)];
    match choose(ends, zbuf, u32::MAX, true) {
        Some(at) => {
            stats.holes_filled += 1;
            zbuf[at] as u32 as usize
        }
        None => {
            stats.stale += 1;
            y * w + x
        }
    }
}

/// The pixel a hole takes its colour from, given the nearest covered pixel (distance, index) to
/// the left, right, up and down: the farther end (the first on equal depths) of the axis with
/// both ends found and the smaller gap (sum of the distances; the row on a tie) if that gap is
/// at most `max_gap`; else, with `single`, the farthest end found (the first on equal depths).
fn choose(ends: [Option<(u32, usize)>; 4], zbuf: &[u64], max_gap: u32, single: bool) -> Option<usize> {
    let gap = |a: Option<(u32, usize)>, b: Option<(u32, usize)>| match (a, b) {
        (Some((ka, ia)), Some((kb, ib))) => Some((ka + kb, ia, ib)),
        _ => None,
    };
    let farther = |a: usize, b: usize| if key(zbuf[b]) > key(zbuf[a]) { b } else { a };
    let axis = match (gap(ends[0], ends[1]), gap(ends[2], ends[3])) {
        (Some(row), Some(col)) => Some(if row.0 <= col.0 { row } else { col }),
        (row, col) => row.or(col),
    };
    match axis {
        Some((g, a, b)) if g <= max_gap => Some(farther(a, b)),
        _ if single => ends.iter().flatten().map(|&(_, i)| i).reduce(farther),
        _ => None,
    }
}
