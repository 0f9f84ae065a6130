//! The evaluation's files: `frames.csv`, `cells.csv`, `summary.json` and `report.md`, with the
//! goals of issue #16 checked.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use super::{CellRecord, RgbdCell};

/// The bitrate (bit/s) at which the first goal is checked.
pub(super) const GOAL_TOTAL: u64 = 8_000_000;
/// The largest depth share the first goal allows.
pub(super) const GOAL_MAX_SHARE: f64 = 0.20;
/// The share of (d)'s gain (b) must recover.
pub(super) const GOAL_RATIO: f64 = 0.9;
/// (c) "falls short of (d)" when it is more than this many dB below.
pub(super) const SHORT_DB: f64 = 0.25;
/// Below this (d) − (a) in dB the gain ratio is marked as noise-prone.
pub(super) const CEILING_DB: f64 = 1.0;
/// (b) is "clearly better" than (c) when it recovers at least this fraction of (c)'s shortfall.
pub(super) const CLEARLY: f64 = 0.5;

fn f(v: f64, d: usize) -> String {
    if v.is_finite() { format!("{v:.d$}") } else { "–".into() }
}

/// Whether (b) is clearly better than (c) where (c) falls short of (d): `None` where it does
/// not fall short.
pub(super) fn clearly_better(p: &[f64; 4]) -> Option<bool> {
    let short = p[3] - p[2];
    (short > SHORT_DB).then(|| p[1] - p[2] >= CLEARLY * short)
}

/// The share with the best mean PSNR of (b) at `total` over every sequence and offset, with that
/// mean; `None` when no cell has that total.
pub(super) fn best_share(cells: &[&RgbdCell], total: Option<u64>) -> Vec<(f64, f64, f64)> {
    let shares: BTreeSet<u64> = cells.iter().map(|c| (c.depth_share * 1000.0).round() as u64).collect();
    shares
        .into_iter()
        .map(|s| {
            let cs = cells
                .iter()
                .filter(|c| (c.depth_share * 1000.0).round() as u64 == s && total.is_none_or(|t| t == c.total_bitrate));
            let (mut sb, mut sr, mut n) = (0.0, 0.0, 0usize);
            let mut nr = 0usize;
            for c in cs {
                for o in &c.offsets {
                    sb += o.psnr_db[1];
                    n += 1;
                    if o.gain_ratio.is_finite() {
                        sr += o.gain_ratio;
                        nr += 1;
                    }
                }
            }
            (s as f64 / 1000.0, sb / n.max(1) as f64, if nr > 0 { sr / nr as f64 } else { f64::NAN })
        })
        .collect()
}

/// Writes every file of the evaluation.
///
/// # Errors
/// Unwritable files or a plot failing.
pub(super) fn write_all(out: &Path, records: &[CellRecord]) -> anyhow::Result<()> {
    let mut frames = String::from(
        "sequence,total_mbps,depth_share,k,frame,psnr_a_db,psnr_b_db,psnr_c_db,psnr_d_db,ssim_a,ssim_b,ssim_c,ssim_d,filled_b,filled_c,filled_d\n",
    );
    let mut cells = String::from(
        "sequence,total_mbps,depth_share,k,frames,psnr_a_db,psnr_b_db,psnr_c_db,psnr_d_db,ssim_a,ssim_b,ssim_c,ssim_d,gain_ratio_b,gain_ratio_c,colour_kbps,depth_auto_kbps,depth_luma8_kbps,auto_config,depth_mae_auto_mm,depth_mae_luma8_mm,depth_p99_auto_mm,depth_p99_luma8_mm,depth_flipped_auto,depth_flipped_luma8,filled_b,filled_c,filled_d\n",
    );
    for r in records {
        let c = &r.cell;
        for row in &r.rows {
            let _ = writeln!(
                frames,
                "{},{},{},{},{},{},{},{:.4},{:.4},{:.4}",
                c.sequence,
                c.total_bitrate as f64 / 1e6,
                c.depth_share,
                row.k,
                row.frame,
                row.psnr_db.map(|v| format!("{v:.4}")).join(","),
                row.ssim.map(|v| format!("{v:.5}")).join(","),
                row.filled[0],
                row.filled[1],
                row.filled[2]
            );
        }
        for o in &c.offsets {
            let _ = writeln!(
                cells,
                "{},{},{},{},{},{},{},{:.4},{:.4},{:.0},{:.0},{:.0},{},{:.3},{:.3},{:.3},{:.3},{:.6},{:.6},{:.4},{:.4},{:.4}",
                c.sequence,
                c.total_bitrate as f64 / 1e6,
                c.depth_share,
                o.k,
                o.frames,
                o.psnr_db.map(|v| format!("{v:.4}")).join(","),
                o.ssim.map(|v| format!("{v:.5}")).join(","),
                o.gain_ratio,
                o.gain_ratio_luma8,
                c.actual_bps[0] / 1e3,
                c.actual_bps[1] / 1e3,
                c.actual_bps[2] / 1e3,
                c.auto_config,
                c.depth_mae_mm[0],
                c.depth_mae_mm[1],
                c.depth_p99_mm[0],
                c.depth_p99_mm[1],
                c.depth_flipped[0],
                c.depth_flipped[1],
                o.filled[0],
                o.filled[1],
                o.filled[2]
            );
        }
    }
    std::fs::write(out.join("frames.csv"), frames)?;
    std::fs::write(out.join("cells.csv"), cells)?;
    let all: Vec<&RgbdCell> = records.iter().map(|r| &r.cell).collect();
    let best = |total| {
        best_share(&all, total)
            .into_iter()
            .map(|(s, p, g)| serde_json::json!({"depth_share": s, "mean_psnr_b_db": p, "mean_gain_ratio_b": g}))
            .collect::<Vec<_>>()
    };
    let totals: BTreeSet<u64> = all.iter().map(|c| c.total_bitrate).collect();
    let summary = serde_json::json!({
        "note": "psnr_db / ssim arrays are (a) stale decoded colour, (b) reprojected with depthcast's automatic depth (probe), (c) reprojected with 8-bit luma depth at the same bitrate, (d) reprojected with the source depth; means over frames t of the per-frame scores of frame t shown at the camera of t + k against the source colour of t + k. PSNR over RGB (all pixels), SSIM on BT.709 luma with 8x8 windows every 4 pixels (x264/FFmpeg). gain_ratio = (b - a) / (d - a).",
        "goal": {
            "total_bitrate": GOAL_TOTAL, "max_depth_share": GOAL_MAX_SHARE, "ratio": GOAL_RATIO,
            "c_short_of_d_db": SHORT_DB, "b_recovers_of_c_shortfall": CLEARLY,
        },
        "share_means_all_totals": best(None),
        "share_means_per_total": totals.iter().map(|&t| serde_json::json!({"total_bitrate": t, "shares": best(Some(t))})).collect::<Vec<_>>(),
        "cells": all,
    });
    std::fs::write(out.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    super::plots::write(out, &all)?;
    std::fs::write(out.join("report.md"), markdown(&all))?;
    Ok(())
}

/// `report.md`.
fn markdown(cells: &[&RgbdCell]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# RGB-D reprojection: what the player sees\n\n\
         Each frame `t`'s decoded colour is shown at the camera of frame `t + k` (30 fps) and compared with the \
         source colour of `t + k`: **(a)** stale (not reprojected), **(b)** reprojected with depthcast's automatic \
         depth (precision-net's start-up probe), **(c)** with 8-bit luma depth at the same depth bitrate, **(d)** with \
         the source depth (the ceiling). Colour at `(1 − s) · T`, depth at `s · T`, H.264 (x264 ultrafast, CBR, one \
         thread). PSNR over RGB, every pixel, mean of per-frame PSNRs; SSIM on BT.709 luma (8x8 windows every 4 \
         pixels, as x264 and FFmpeg). *gain* = (b − a) / (d − a). *b≫c*: where (c) is more than {SHORT_DB} dB below \
         (d), whether (b) recovers at least {:.0}% of that shortfall (– where (c) is not short; *same config* where the \
         probe chose 8-bit luma itself, so that (b) is (c)).\n",
        CLEARLY * 100.0
    );
    // Goal 1.
    let seqs: BTreeSet<&str> = cells.iter().map(|c| c.sequence.as_str()).collect();
    let _ = writeln!(
        s,
        "## Goal: (b) recovers ≥ {:.0}% of (d)'s gain at {} Mbit/s with a depth share ≤ {:.0}%\n",
        GOAL_RATIO * 100.0,
        GOAL_TOTAL / 1_000_000,
        GOAL_MAX_SHARE * 100.0
    );
    let _ = writeln!(
        s,
        "*ceiling* is (d) − (a) in dB, mean over the shares: where it is below {CEILING_DB} dB, reprojection itself \
         gains little (animated objects, a far camera, a mostly empty frame) and the ratio is noise-prone.\n"
    );
    let _ = writeln!(
        s,
        "| sequence | k | ceiling dB | gain at each share | best share ≤ {:.0}% | holds |",
        GOAL_MAX_SHARE * 100.0
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for seq in &seqs {
        let cs: Vec<&&RgbdCell> =
            cells.iter().filter(|c| c.sequence == *seq && c.total_bitrate == GOAL_TOTAL).collect();
        let ks: BTreeSet<u32> = cs.iter().flat_map(|c| c.offsets.iter().map(|o| o.k)).collect();
        for k in ks {
            let mut parts = Vec::new();
            let mut best: Option<(f64, f64)> = None;
            let mut ceiling = Vec::new();
            for c in &cs {
                let Some(o) = c.offsets.iter().find(|o| o.k == k) else { continue };
                ceiling.push(o.psnr_db[3] - o.psnr_db[0]);
                parts.push(format!("{:.0}%: {}", c.depth_share * 100.0, f(o.gain_ratio, 2)));
                if c.depth_share <= GOAL_MAX_SHARE + 1e-9 && o.gain_ratio.is_finite() {
                    best = match best {
                        Some((_, g)) if g >= o.gain_ratio => best,
                        _ => Some((c.depth_share, o.gain_ratio)),
                    };
                }
            }
            let ceiling = ceiling.iter().sum::<f64>() / ceiling.len().max(1) as f64;
            let (bs, holds) = match best {
                Some((sh, g)) => (
                    format!("{:.0}% ({:.2})", sh * 100.0, g),
                    match (g >= GOAL_RATIO, ceiling < CEILING_DB) {
                        (true, _) => "yes",
                        (false, false) => "**no**",
                        (false, true) => "**no** (small ceiling)",
                    },
                ),
                None => ("–".into(), "–"),
            };
            let _ = writeln!(s, "| {seq} | {k} | {ceiling:.2} | {} | {bs} | {holds} |", parts.join(", "));
        }
    }
    // Best share.
    let _ = writeln!(
        s,
        "\n## Which depth share is best\n\nMean PSNR of (b) and mean gain ratio over every sequence and offset.\n"
    );
    let totals: BTreeSet<u64> = cells.iter().map(|c| c.total_bitrate).collect();
    let _ = writeln!(s, "| total | share | mean PSNR (b) dB | mean gain (b) |");
    let _ = writeln!(s, "|---|---|---|---|");
    for t in totals.iter().map(|&t| Some(t)).chain([None]) {
        let rows = best_share(cells, t);
        let top = rows.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
        for (sh, p, g) in rows {
            let name = t.map_or("all".to_string(), |t| format!("{} Mbit/s", t as f64 / 1e6));
            let p = if p == top { format!("**{p:.2}**") } else { format!("{p:.2}") };
            let _ = writeln!(s, "| {name} | {:.0}% | {p} | {} |", sh * 100.0, f(g, 2));
        }
    }
    // Full table.
    let _ = writeln!(s, "\n## Every cell\n");
    let _ = writeln!(
        s,
        "| sequence | T Mbit/s | s | k | PSNR a | b | c | d | gain b | gain c | b≫c | SSIM a | b | c | d | depth config (b) | MAE b / c mm | p99 b / c mm | kbit/s colour / b / c |"
    );
    let _ = writeln!(s, "|{}", "---|".repeat(19));
    for c in cells {
        for o in &c.offsets {
            let p = o.psnr_db;
            let same = c.auto_config == depthcast_packing::PackingConfig::luma(depthcast_packing::BitDepth::Eight).id();
            let bc = match clearly_better(&p) {
                Some(true) => "yes",
                Some(false) if same => "**no** (same config)",
                Some(false) => "**no**",
                None => "–",
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:.0}% | {} | {} | {} | {} | {} | {} | {} | {bc} | {} | {} | {} | {} | `{}` | {} / {} | {} / {} | {:.0} / {:.0} / {:.0} |",
                c.sequence,
                c.total_bitrate as f64 / 1e6,
                c.depth_share * 100.0,
                o.k,
                f(p[0], 2),
                f(p[1], 2),
                f(p[2], 2),
                f(p[3], 2),
                f(o.gain_ratio, 2),
                f(o.gain_ratio_luma8, 2),
                f(o.ssim[0], 3),
                f(o.ssim[1], 3),
                f(o.ssim[2], 3),
                f(o.ssim[3], 3),
                c.auto_config,
                f(c.depth_mae_mm[0], 1),
                f(c.depth_mae_mm[1], 1),
                f(c.depth_p99_mm[0], 0),
                f(c.depth_p99_mm[1], 0),
                c.actual_bps[0] / 1e3,
                c.actual_bps[1] / 1e3,
                c.actual_bps[2] / 1e3
            );
        }
    }
    let _ = writeln!(s, "\n## Plots\n");
    for seq in &seqs {
        let _ = writeln!(s, "![{seq}](plots/psnr_vs_share_{seq}.png)\n");
    }
    let _ = writeln!(s, "![all](plots/psnr_b_vs_share_all.png)");
    s
}
