//! `report.md`: the sweep's tables with its plots embedded.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use super::analysis::{Cell, FormatCell};

fn mm(v: f64) -> String {
    if v.is_finite() { format!("{v:.2}") } else { "–".into() }
}

/// `P14` from a configuration id such as `vbp-luma-P14-lin-a255`; empty when it has none.
fn precision_of(id: &str) -> String {
    id.split("-P").nth(1).and_then(|t| t.split('-').next()).map(|p| format!("P{p}")).unwrap_or_default()
}

/// Every sequence in one table per codec and range (best fixed precision per family, the
/// per-frame oracle estimate, how much the best precision moves), then which family wins where.
fn overview(s: &mut String, cells: &[Cell]) {
    let keys: BTreeSet<(&str, &str)> = cells.iter().map(|c| (c.codec.as_str(), c.range.as_str())).collect();
    let seqs: BTreeSet<&str> = cells.iter().map(|c| c.sequence.as_str()).collect();
    if seqs.len() < 2 {
        return;
    }
    let _ = writeln!(
        s,
        "## All sequences
"
    );
    for (codec, range) in keys {
        let cs: Vec<&Cell> = cells.iter().filter(|c| c.codec == codec && c.range == range).collect();
        let fams: BTreeSet<&str> = cs.iter().flat_map(|c| c.best_per_family.keys().map(String::as_str)).collect();
        let _ = writeln!(
            s,
            "### {codec}, range `{range}`: MAE (mm) of each family at its best fixed precision\n\n\
             *oracle* is the per-frame oracle over the fixed configurations of one frame size (the \
             better of the two sizes; an estimate: switching cost ignored); *moves* is how often the \
             per-frame best precision of the winning family changes between frames, and the mean \
             size of a change.\n"
        );
        let _ = write!(s, "| sequence | Mbit/s |");
        for f in &fams {
            let _ = write!(s, " {f} |");
        }
        let _ = writeln!(s, " winner | oracle (est.) | oracle / best | moves: rate, mean \\|ΔP\\| |");
        let _ = writeln!(s, "|{}", "---|".repeat(6 + fams.len()));
        for c in &cs {
            let _ = write!(s, "| {} | {:.2} |", c.sequence, c.bitrate as f64 / 1e6);
            let winner = c
                .best_per_family
                .iter()
                .filter(|(_, (_, m))| m.is_finite())
                .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
                .map(|(f, (id, _))| (f.as_str(), id.as_str()));
            for f in &fams {
                match c.best_per_family.get(*f) {
                    Some((id, m)) if winner.is_some_and(|w| w.0 == *f) => {
                        let _ = write!(s, " **{}** {} |", mm(*m), precision_of(id));
                    }
                    Some((id, m)) => {
                        let _ = write!(s, " {} {} |", mm(*m), precision_of(id));
                    }
                    None => {
                        let _ = write!(s, " – |");
                    }
                }
            }
            let oracle = c.oracle_per_group_mm.values().copied().filter(|m| m.is_finite()).fold(f64::NAN, f64::min);
            let moves = winner
                .and_then(|(f, _)| c.oracle_movement.get(f))
                .map_or("–".to_string(), |m| format!("{:.2}, {:.2}", m.switch_rate, m.mean_step));
            let _ = writeln!(
                s,
                " {} | {} | {:.3} | {moves} |",
                winner.map_or("–", |w| w.0),
                mm(oracle),
                oracle / c.best_fixed.1
            );
        }
        // Wins per bitrate, and each family's mean ratio to the best.
        let rates: BTreeSet<u64> = cs.iter().map(|c| c.bitrate).collect();
        let _ = writeln!(s, "
Wins per bitrate (sequences where the family's best precision is the best fixed configuration), and the geometric mean of MAE / best over sequences:
");
        let _ = write!(s, "| Mbit/s |");
        for f in &fams {
            let _ = write!(s, " {f} |");
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "|{}", "---|".repeat(1 + fams.len()));
        for r in rates {
            let _ = write!(s, "| {:.2} |", r as f64 / 1e6);
            let at: Vec<&&Cell> = cs.iter().filter(|c| c.bitrate == r).collect();
            for f in &fams {
                let (mut wins, mut logsum, mut n) = (0, 0.0, 0);
                for c in &at {
                    if let Some((_, m)) = c.best_per_family.get(*f) {
                        if (m - c.best_fixed.1).abs() <= 1e-12 {
                            wins += 1;
                        }
                        if m.is_finite() && c.best_fixed.1 > 0.0 {
                            logsum += (m / c.best_fixed.1).ln();
                            n += 1;
                        }
                    }
                }
                let g = if n > 0 { (logsum / f64::from(n)).exp() } else { f64::NAN };
                let _ = write!(s, " {wins}/{}, ×{g:.2} |", at.len());
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s);
    }
}

/// Ratios of errors over cells: their geometric mean, the worst, and how many are at most 1.02.
#[derive(Default)]
struct Ratios {
    log_sum: f64,
    n: u32,
    worst: f64,
    at_most_1_02: u32,
}

impl Ratios {
    fn push(&mut self, r: f64) {
        if r.is_finite() && r > 0.0 {
            self.log_sum += r.ln();
            self.n += 1;
            self.worst = self.worst.max(r);
            self.at_most_1_02 += u32::from(r <= 1.02);
        }
    }

    fn geomean(&self) -> f64 {
        if self.n > 0 { (self.log_sum / f64::from(self.n)).exp() } else { f64::NAN }
    }
}

/// The start-up probe across formats against 8-bit luma with H.264 and the best fixed
/// configuration of any codec, per sequence and bitrate, then the ratios over every cell.
fn formats(s: &mut String, out: &Path, cells: &[FormatCell]) {
    if cells.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "## The start-up probe across formats\n\n\
         The probe (`send --auto --probe --receivers ...`) measures the luma fallback and one \
         configuration of each scheme (with `--format-probe network`, the network's three too) in \
         every codec and bit depth of the sweep over the first frames, then the chosen stream is \
         encoded whole (real runs). A pair that spent more than 1.1x the bitrate in \
         the probe cannot win. *best fixed* is in hindsight over every codec and configuration of \
         the sweep whose run kept the bitrate (at most 1.1x). *best causal* is the policy that \
         encodes every fixed configuration of every codec side by side and switches at each \
         keyframe to the one with the lowest error so far (by the same rate rule; before the first \
         keyframe, the best over the probe's frames): *est.* from the fixed runs (switching free), \
         *real* a single-stream run that reopens the encoder at each switch, pre-rolled over the \
         frames before it (`--reopen-preroll`, a keyframe every 3 of them); *switches* counts its changes of pair. \
         *re-probe* is the policy of `send --reprobe`: the same rule over the probe's frames and then the GOP before each \
         keyframe (its round streamed as the GOP is sent; the first GOP measured on encoders pre-rolled over \
         its first frames, the `first-round` runs, or with `--reprobe-first cold` on the fixed runs), among the pairs the probe measured in the codec it chose \
         (`--reprobe-pairs` of them per round, or all), before each round what was measured weighs \
         `--reprobe-memory`, and the stream moves only to a pair `--reprobe-margin` better, picked by `--reprobe-confirm` \
         rounds in a row (real runs, reopened as above).\n\n\
         | sequence | range | Mbit/s | chosen | MAE | rate | h264-8 luma-P8 | chosen / luma-P8 | best fixed | chosen / best \
         | best causal est. | real | switches | chosen / causal | re-probe real | re-probe / best |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut half = 0u32;
    let mut vs_fixed = Ratios::default();
    let mut vs_causal = Ratios::default();
    let mut causal_vs_best = Ratios::default();
    let mut reprobe_vs_best = Ratios::default();
    let mut reprobe_vs_causal = Ratios::default();
    let mut reprobe_half = 0u32;
    for c in cells {
        let causal = c.causal.as_ref();
        let vs_c = causal.map(|k| c.mae_mm / k.mae_mm);
        if let Some(k) = causal {
            vs_causal.push(c.mae_mm / k.mae_mm);
            causal_vs_best.push(k.mae_mm / c.best_fixed.2);
        }
        let reprobe = c.reprobe.as_ref().map(|k| k.mae_mm);
        if let Some(m) = reprobe {
            reprobe_vs_best.push(m / c.best_fixed.2);
            if let Some(k) = causal {
                reprobe_vs_causal.push(m / k.mae_mm);
            }
            reprobe_half += u32::from(c.luma8_h264_mm.is_some_and(|l| m / l <= 0.5));
        }
        let vs_best = c.mae_mm / c.best_fixed.2;
        let vs_luma = c.luma8_h264_mm.map(|l| c.mae_mm / l);
        vs_fixed.push(vs_best);
        half += u32::from(vs_luma.is_some_and(|r| r <= 0.5));
        let _ = writeln!(
            s,
            "| {} | `{}` | {:.2} | {} `{}` | {} | {:.2} | {} | {} | {} {} `{}` | {:.3} | {} | {} | {} | {} | {} | {} |",
            c.sequence,
            c.range,
            c.bitrate as f64 / 1e6,
            c.chosen.0,
            c.chosen.1,
            mm(c.mae_mm),
            c.rate_ratio,
            c.luma8_h264_mm.map_or("–".into(), mm),
            vs_luma.map_or("–".into(), |r| format!("{r:.3}")),
            mm(c.best_fixed.2),
            c.best_fixed.0,
            c.best_fixed.1,
            vs_best,
            causal.map_or("–".into(), |k| mm(k.estimate_mm)),
            causal.map_or("–".into(), |k| mm(k.mae_mm)),
            causal.map_or("–".into(), |k| (k.switches.len().saturating_sub(1)).to_string()),
            vs_c.map_or("–".into(), |r| format!("{r:.3}")),
            reprobe.map_or("–".into(), mm),
            reprobe.map_or("–".into(), |m| format!("{:.3}", m / c.best_fixed.2)),
        );
    }
    let _ = writeln!(
        s,
        "\nOver {} cells: chosen / best fixed geomean {:.3}, worst {:.3}; {half} cells at or below 0.5x \
         8-bit luma with H.264.\n",
        cells.len(),
        vs_fixed.geomean(),
        vs_fixed.worst
    );
    if vs_causal.n > 0 {
        let _ = writeln!(
            s,
            "Against the best causal policy (real runs, {} cells): chosen / causal geomean {:.3}, worst {:.3}, \
             {} cells at or below 1.02x. The best causal policy / best fixed: geomean {:.3}, worst {:.3}.\n",
            vs_causal.n,
            vs_causal.geomean(),
            vs_causal.worst,
            vs_causal.at_most_1_02,
            causal_vs_best.geomean(),
            causal_vs_best.worst
        );
    }
    if reprobe_vs_best.n > 0 {
        let _ = writeln!(
            s,
            "The policy of `send --reprobe` (real runs) / best fixed: geomean {:.3}, worst {:.3}, {} of {} cells at or \
             below 1.02x. / the best causal policy: geomean {:.3}, worst {:.3}, {} of {} cells at or below 1.02x. \
             {reprobe_half} cells at or below 0.5x 8-bit luma with H.264.\n",
            reprobe_vs_best.geomean(),
            reprobe_vs_best.worst,
            reprobe_vs_best.at_most_1_02,
            reprobe_vs_best.n,
            reprobe_vs_causal.geomean(),
            reprobe_vs_causal.worst,
            reprobe_vs_causal.at_most_1_02,
            reprobe_vs_causal.n
        );
    }
    let seqs: BTreeSet<&str> = cells.iter().map(|c| c.sequence.as_str()).collect();
    for seq in seqs {
        let name = format!("formats_{seq}.png");
        if out.join("plots").join(&name).exists() {
            let _ = writeln!(s, "![{seq}: the probe across formats](plots/{name})\n");
        }
    }
}

/// Writes `report.md` into `out`.
pub(super) fn write(out: &Path, cells: &[Cell], format_cells: &[FormatCell]) -> anyhow::Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "# depthcast sweep report\n");
    let _ = writeln!(
        s,
        "MAE in millimetres over pixels valid in the sequence range, mean over frames. Every run \
         encodes the whole sequence as one stream with real rate control. *Oracle* columns are \
         estimates from separate fixed-configuration encodes: they ignore what switching costs. \
         *Policy* columns are real single-stream re-encodes that switch configurations.\n"
    );
    overview(&mut s, cells);
    formats(&mut s, out, format_cells);
    let seqs: BTreeSet<&str> = cells.iter().map(|c| c.sequence.as_str()).collect();
    for seq in seqs {
        let _ = writeln!(s, "## {seq}\n");
        let codecs: BTreeSet<(&str, &str)> =
            cells.iter().filter(|c| c.sequence == seq).map(|c| (c.codec.as_str(), c.range.as_str())).collect();
        for (codec, range) in codecs {
            let cs: Vec<&Cell> =
                cells.iter().filter(|c| c.sequence == seq && c.codec == codec && c.range == range).collect();
            let fams: BTreeSet<&str> = cs.iter().flat_map(|c| c.best_per_family.keys().map(String::as_str)).collect();
            let pols: BTreeSet<&str> = cs.iter().flat_map(|c| c.policy_mae_mm.keys().map(String::as_str)).collect();
            let groups: BTreeSet<&str> =
                cs.iter().flat_map(|c| c.oracle_per_group_mm.keys().map(String::as_str)).collect();
            let _ = writeln!(s, "### {codec}, range `{range}`\n");
            let _ = write!(s, "| Mbit/s |");
            for f in &fams {
                let _ = write!(s, " {f} |");
            }
            let _ = write!(s, " best fixed |");
            for g in &groups {
                let _ = write!(s, " oracle {g} (est.) |");
            }
            for p in &pols {
                let _ = write!(s, " policy {p} |");
            }
            let _ = writeln!(s);
            let _ = writeln!(s, "|{}", "---|".repeat(2 + fams.len() + groups.len() + pols.len()));
            for c in &cs {
                let _ = write!(s, "| {:.2} |", c.bitrate as f64 / 1e6);
                for f in &fams {
                    match c.best_per_family.get(*f) {
                        Some((id, m)) => {
                            let p = precision_of(id);
                            let _ = write!(s, " {}{} |", mm(*m), if p.is_empty() { p } else { format!(" ({p})") });
                        }
                        None => {
                            let _ = write!(s, " – |");
                        }
                    }
                }
                let _ = write!(s, " {} `{}` |", mm(c.best_fixed.1), c.best_fixed.0);
                for g in &groups {
                    let _ = write!(s, " {} |", mm(c.oracle_per_group_mm.get(*g).copied().unwrap_or(f64::NAN)));
                }
                for p in &pols {
                    let _ = write!(s, " {} |", mm(c.policy_mae_mm.get(*p).copied().unwrap_or(f64::NAN)));
                }
                let _ = writeln!(s);
            }
            let _ = writeln!(s, "\nHow the per-frame best precision moves (per family, oracle over precisions):\n");
            let _ = writeln!(
                s,
                "| Mbit/s | family | oracle MAE (est.) | switches | switch rate | mean \\|ΔP\\| | max \\|ΔP\\| | distinct P |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
            for c in &cs {
                for (fam, m) in &c.oracle_movement {
                    let _ = writeln!(
                        s,
                        "| {:.2} | {fam} | {} | {} | {:.2} | {:.2} | {} | {} |",
                        c.bitrate as f64 / 1e6,
                        mm(c.oracle_per_family_mm.get(fam).copied().unwrap_or(f64::NAN)),
                        m.switches,
                        m.switch_rate,
                        m.mean_step,
                        m.max_step,
                        m.distinct
                    );
                }
            }
            let _ = writeln!(s);
            if range == "seq" {
                for (name, alt) in [
                    (format!("error_vs_bitrate_{seq}_{codec}.png"), "error vs bitrate"),
                    (format!("error_vs_precision_{seq}_{codec}_vbp-luma.png"), "error vs precision, VBP luma layout"),
                    (
                        format!("error_vs_precision_{seq}_{codec}_vbp-chroma.png"),
                        "error vs precision, VBP chroma layout",
                    ),
                    (format!("oracle_precision_{seq}_{codec}_vbp-luma.png"), "per-frame best precision"),
                    (format!("oracle_precision_{seq}_{codec}_vbp-chroma.png"), "per-frame best precision"),
                ] {
                    if out.join("plots").join(&name).exists() {
                        let _ = writeln!(s, "![{alt}](plots/{name})\n");
                    }
                }
            }
        }
    }
    std::fs::write(out.join("report.md"), s)?;
    Ok(())
}
