//! Resolve, crack filling and hole filling: the CPU twins of the shader's `resolve`, `cracks` and
//! `fill` entry points (see the crate docs for the rules). Each stage reads only the previous
//! stage's buffers, so every pixel is independent, as on the GPU. The shader's `fill` searches
//! each hole's four directions pixel by pixel; here the nearest covered pixel in each direction
//! comes from sweeps over rows and columns, which find the same pixels in O(pixels).

use depthcast_packing::RgbImage;

use crate::transform::KEY_EMPTY;
use crate::{ReprojectSettings, ReprojectStats};

const NONE: u32 = u32::MAX;
/// The widest hole (pixels along the narrower axis) that the crack stage fills.
pub const CRACK_WIDTH: u32 = 2;

/// Buffers kept between frames: per target pixel a key ([`KEY_EMPTY`] for a hole) and the
/// source index of its colour, after resolve (`0`) and after the crack stage (`1`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    keys0: Vec<u32>,
    index0: Vec<u32>,
    keys1: Vec<u32>,
    index1: Vec<u32>,
    /// Per pixel: the nearest covered row strictly below, or `NONE`.
    below: Vec<u32>,
    /// Per column: the nearest covered row strictly above the current row, or `NONE`.
    above: Vec<u32>,
    left: Vec<u32>,
    right: Vec<u32>,
}

/// Writes the resolved and filled colour of every target pixel of `zbuf` (`key << 32 | source
/// index`) into `out`.
pub(crate) fn resolve_and_fill(
    zbuf: &[u64],
    colour: &RgbImage,
    settings: &ReprojectSettings,
    s: &mut Scratch,
    out: &mut RgbImage,
    stats: &mut ReprojectStats,
) {
    let (w, h) = (out.width as usize, out.height as usize);
    resolve(zbuf, w, h, 1.0 + settings.poke_through, s, stats);
    cracks(w, h, s, stats);
    fill(w, h, settings.max_search, colour, s, out, stats);
}

/// Stage 0: the z-buffer's winners, with pixels that poke through a surface made holes.
fn resolve(zbuf: &[u64], w: usize, h: usize, ratio: f32, s: &mut Scratch, stats: &mut ReprojectStats) {
    let key = |i: usize| (zbuf[i] >> 32) as u32;
    let covered = |i: usize| zbuf[i] != u64::MAX;
    let depth = |i: usize| f32::from_bits(key(i));
    s.keys0.clear();
    s.index0.clear();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let poke = |a: usize, b: usize| {
                covered(a)
                    && covered(b)
                    && depth(i) > depth(a) * ratio
                    && depth(i) > depth(b) * ratio
                    && source_neighbours(zbuf[a], zbuf[b], w)
            };
            let poked = covered(i)
                && ((x > 0 && x + 1 < w && poke(i - 1, i + 1)) || (y > 0 && y + 1 < h && poke(i - w, i + w)));
            stats.poked_through += u64::from(poked);
            s.keys0.push(if poked { KEY_EMPTY } else { key(i) });
            s.index0.push(zbuf[i] as u32);
        }
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
fn cracks(w: usize, h: usize, s: &mut Scratch, stats: &mut ReprojectStats) {
    let keys = &s.keys0;
    s.keys1.clone_from(keys);
    s.index1.clone_from(&s.index0);
    let reach = CRACK_WIDTH as usize;
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if keys[i] != KEY_EMPTY {
                continue;
            }
            let end = |step: fn(usize, usize, usize, usize, usize) -> Option<usize>| {
                (1..=reach).find_map(|k| step(x, y, k, w, h).filter(|&j| keys[j] != KEY_EMPTY).map(|j| (k as u32, j)))
            };
            let ends = [end(left_of), end(right_of), end(above), end(below)];
            if let Some(at) = choose(ends, keys, CRACK_WIDTH + 1, false) {
                s.keys1[i] = keys[at];
                s.index1[i] = s.index0[at];
                stats.cracks_filled += 1;
            }
        }
    }
}

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
    w: usize,
    h: usize,
    reach: u32,
    colour: &RgbImage,
    s: &mut Scratch,
    out: &mut RgbImage,
    stats: &mut ReprojectStats,
) {
    let keys = &s.keys1;
    let covered = |i: usize| keys[i] != KEY_EMPTY;
    s.below.clear();
    s.below.resize(w * h, NONE);
    for y in (0..h.saturating_sub(1)).rev() {
        for x in 0..w {
            let next = (y + 1) * w + x;
            s.below[y * w + x] = if covered(next) { (y + 1) as u32 } else { s.below[next] };
        }
    }
    s.above.clear();
    s.above.resize(w, NONE);
    s.left.resize(w, NONE);
    s.right.resize(w, NONE);
    let rgb = |src: u32| {
        let k = 3 * src as usize;
        [colour.data[k], colour.data[k + 1], colour.data[k + 2]]
    };
    for y in 0..h {
        let row = y * w;
        let mut last = NONE;
        for x in 0..w {
            s.left[x] = last;
            if covered(row + x) {
                last = x as u32;
            }
        }
        last = NONE;
        for x in (0..w).rev() {
            s.right[x] = last;
            if covered(row + x) {
                last = x as u32;
            }
        }
        for x in 0..w {
            let i = row + x;
            let src = if covered(i) {
                s.index1[i]
            } else {
                // (distance, pixel index) of the nearest covered pixel in each direction.
                let near = |found: u32, k: u32, at: usize| (found != NONE && k <= reach).then_some((k, at));
                let l = near(s.left[x], (x as u32).wrapping_sub(s.left[x]), row + s.left[x] as usize);
                let r = near(s.right[x], s.right[x].wrapping_sub(x as u32), row + s.right[x] as usize);
                let u = near(s.above[x], (y as u32).wrapping_sub(s.above[x]), s.above[x] as usize * w + x);
                let b = s.below[i];
                let d = near(b, b.wrapping_sub(y as u32), b as usize * w + x);
                match choose([l, r, u, d], keys, u32::MAX, true) {
                    Some(at) => {
                        stats.holes_filled += 1;
                        s.index1[at]
                    }
                    None => {
                        stats.stale += 1;
                        i as u32
                    }
                }
            };
            out.data[3 * i..3 * i + 3].copy_from_slice(&rgb(src));
        }
        for x in 0..w {
            if covered(row + x) {
                s.above[x] = y as u32;
            }
        }
    }
}

/// The pixel a hole takes its colour from, given the nearest covered pixel (distance, index) to
/// the left, right, up and down: the farther end (the first on equal depths) of the axis with
/// both ends found and the smaller gap (sum of the distances; the row on a tie) if that gap is
/// at most `max_gap`; else, with `single`, the farthest end found (the first on equal depths).
fn choose(ends: [Option<(u32, usize)>; 4], keys: &[u32], max_gap: u32, single: bool) -> Option<usize> {
    let gap = |a: Option<(u32, usize)>, b: Option<(u32, usize)>| match (a, b) {
        (Some((ka, ia)), Some((kb, ib))) => Some((ka + kb, ia, ib)),
        _ => None,
    };
    let farther = |a: usize, b: usize| if keys[b] > keys[a] { b } else { a };
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
