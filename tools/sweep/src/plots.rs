//! PNG plots of a sweep (plotters, bitmap back-end, an embedded DejaVu font).

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::GroupKey;
use super::analysis::{self, Cell, FormatCell, RunResult};
use super::config::RangeChoice;
use super::encode::SeqData;

/// Registers the embedded DejaVu Sans as plotters' `sans-serif` (once per process).
pub fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Registering can only fail for a malformed font; the embedded one is well formed.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

fn err(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e:?}")
}

/// A line of a plot: name and points.
struct Line {
    name: String,
    points: Vec<(f64, f64)>,
}

fn log_bounds(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for x in v.filter(|x| x.is_finite() && *x > 0.0) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if !lo.is_finite() {
        return (0.1, 10.0);
    }
    (lo / 1.3, hi * 1.3)
}

/// Draws lines; `log_x`/`log_y` choose logarithmic axes.
fn draw(path: &Path, title: &str, xd: &str, yd: &str, lines: &[Line], log_x: bool) -> anyhow::Result<()> {
    fonts();
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (x0, x1) = if log_x {
        log_bounds(lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)))
    } else {
        let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
        if lo.is_finite() { (lo - 0.5, hi + 0.5) } else { (0.0, 1.0) }
    };
    let (y0, y1) = log_bounds(lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)));
    let mut b = ChartBuilder::on(&root);
    b.caption(title, ("sans-serif", 22)).margin(12).x_label_area_size(45).y_label_area_size(70);
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart.configure_mesh().x_desc(xd).y_desc(yd).draw().map_err(err)?;
            for (i, l) in lines.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                let pts: Vec<(f64, f64)> = l.points.iter().copied().filter(|p| p.1.is_finite() && p.1 > 0.0).collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(err)?
                    .label(l.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled()))).map_err(err)?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(err)?;
        }};
    }
    if log_x {
        body!(b.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale()).map_err(err)?);
    } else {
        body!(b.build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(err)?);
    }
    root.present().map_err(err)?;
    Ok(())
}

/// The plots of one sequence: error vs bitrate per family at its best precision (with the
/// oracle estimate and the best policy run), error vs precision per bitrate for the VBP
/// families, and the per-frame oracle precision over time.
pub(super) fn sequence_plots(
    out: &Path,
    seq: &SeqData,
    cells: &[Cell],
    groups: &[(GroupKey, Vec<(String, RunResult)>)],
) -> anyhow::Result<()> {
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir)?;
    let mine: Vec<&Cell> = cells.iter().filter(|c| c.sequence == seq.name && c.range == "seq").collect();
    let codecs: std::collections::BTreeSet<&str> = mine.iter().map(|c| c.codec.as_str()).collect();
    for codec in codecs {
        let cs: Vec<&&Cell> = mine.iter().filter(|c| c.codec == codec).collect();
        // Error vs bitrate.
        let mut fams: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
        for c in &cs {
            let x = c.bitrate as f64 / 1e6;
            for (fam, (_, mae)) in &c.best_per_family {
                fams.entry(fam.clone()).or_default().push((x, *mae));
            }
            if let Some(best) = c.policy_mae_mm.values().copied().filter(|v| v.is_finite()).reduce(f64::min) {
                fams.entry("best policy run".into()).or_default().push((x, best));
            }
        }
        let lines: Vec<Line> = fams
            .into_iter()
            .map(|(name, mut points)| {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Line { name, points }
            })
            .collect();
        draw(
            &dir.join(format!("error_vs_bitrate_{}_{codec}.png", seq.name)),
            &format!("{} / {codec}: MAE at each scheme's best fixed precision", seq.name),
            "target bitrate (Mbit/s)",
            "MAE (mm)",
            &lines,
            true,
        )?;
        // Error vs precision for VBP families, one line per bitrate.
        for fam in ["vbp-luma", "vbp-chroma"] {
            let mut lines = Vec::new();
            for c in &cs {
                let mut pts: Vec<(f64, f64)> = c
                    .fixed_mae_mm
                    .iter()
                    .filter(|(id, _)| id.starts_with(&format!("{fam}-P")) && !id.contains("-roi"))
                    .filter_map(|(id, m)| {
                        let p: f64 = id.split("-P").nth(1)?.split('-').next()?.parse().ok()?;
                        Some((p, *m))
                    })
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                if !pts.is_empty() {
                    lines.push(Line { name: format!("{:.2} Mbit/s", c.bitrate as f64 / 1e6), points: pts });
                }
            }
            if !lines.is_empty() {
                draw(
                    &dir.join(format!("error_vs_precision_{}_{codec}_{fam}.png", seq.name)),
                    &format!("{} / {codec} / {fam}: MAE vs precision", seq.name),
                    "precision P (bits)",
                    "MAE (mm)",
                    &lines,
                    false,
                )?;
            }
        }
        // Oracle precision over time (VBP luma layout family; else VBP chroma).
        for fam in ["vbp-luma", "vbp-chroma"] {
            let mut lines = Vec::new();
            for ((cc, bitrate, range, _), members) in groups {
                if cc.id() != codec || *range != RangeChoice::Sequence {
                    continue;
                }
                let runs: Vec<&RunResult> =
                    members.iter().map(|(_, r)| r).filter(|r| r.packing.family() == fam).collect();
                if runs.len() < 2 {
                    continue;
                }
                let o = analysis::per_frame_oracle(&runs);
                let pts =
                    o.iter().enumerate().map(|(i, &k)| (i as f64, f64::from(runs[k].packing.precision))).collect();
                lines.push(Line { name: format!("{:.2} Mbit/s", *bitrate as f64 / 1e6), points: pts });
            }
            if !lines.is_empty() {
                lines.sort_by(|a, b| a.name.len().cmp(&b.name.len()).then(a.name.cmp(&b.name)));
                draw(
                    &dir.join(format!("oracle_precision_{}_{codec}_{fam}.png", seq.name)),
                    &format!("{} / {codec} / {fam}: per-frame best precision", seq.name),
                    "frame",
                    "precision P (bits, log axis)",
                    &lines,
                    false,
                )?;
                break;
            }
        }
    }
    Ok(())
}

/// Per sequence: the probe across formats against 8-bit luma with H.264 and the best fixed
/// configuration of any codec, error vs bitrate (`plots/formats_<sequence>.png`).
pub(super) fn format_plots(out: &Path, cells: &[FormatCell]) -> anyhow::Result<()> {
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir)?;
    let seqs: std::collections::BTreeSet<&str> = cells.iter().map(|c| c.sequence.as_str()).collect();
    for seq in seqs {
        let cs: Vec<&FormatCell> = cells.iter().filter(|c| c.sequence == seq && c.range == "seq").collect();
        let at = |f: &dyn Fn(&FormatCell) -> Option<f64>| -> Vec<(f64, f64)> {
            cs.iter().filter_map(|c| Some((c.bitrate as f64 / 1e6, f(c)?))).collect()
        };
        let lines = [
            Line { name: "probe across formats (real runs)".into(), points: at(&|c| Some(c.mae_mm)) },
            Line { name: "best fixed, any codec (hindsight)".into(), points: at(&|c| Some(c.best_fixed.2)) },
            Line {
                name: "best causal policy (real runs)".into(),
                points: at(&|c| c.causal.as_ref().map(|k| k.mae_mm)),
            },
            Line {
                name: "send --reprobe's policy (real runs)".into(),
                points: at(&|c| c.reprobe.as_ref().map(|k| k.mae_mm)),
            },
            Line { name: "h264-8 luma-P8".into(), points: at(&|c| c.luma8_h264_mm) },
            Line { name: "0.5x h264-8 luma-P8".into(), points: at(&|c| c.luma8_h264_mm.map(|l| 0.5 * l)) },
        ];
        draw(
            &dir.join(format!("formats_{seq}.png")),
            &format!("{seq}: the probe across formats and the keyframe policies"),
            "Mbit/s",
            "MAE (mm)",
            &lines,
            true,
        )?;
    }
    Ok(())
}
