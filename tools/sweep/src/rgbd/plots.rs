//! PNG plots of the evaluation: PSNR against the depth share.

use std::collections::BTreeSet;
use std::path::Path;

use plotters::prelude::*;

use super::RgbdCell;

fn err(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e:?}")
}

/// A named line of points.
struct Line {
    name: String,
    points: Vec<(f64, f64)>,
}

/// Mean over `c`'s offsets of variant `j`'s PSNR.
fn psnr(c: &RgbdCell, j: usize) -> f64 {
    c.offsets.iter().map(|o| o.psnr_db[j]).sum::<f64>() / c.offsets.len().max(1) as f64
}

const NAMES: [&str; 4] = ["(a) stale", "(b) auto depth", "(c) 8-bit luma depth", "(d) source depth"];

/// Draws `lines` (x: depth share in %, y: PSNR in dB) into `area`.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    lines: &[Line],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let ys = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).filter(|y| y.is_finite());
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
    if !(x0.is_finite() && y0.is_finite()) {
        return Ok(());
    }
    let pad = ((y1 - y0) * 0.08).max(0.2);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d((x0 - 2.0)..(x1 + 2.0), (y0 - pad)..(y1 + pad))
        .map_err(err)?;
    chart.configure_mesh().x_desc("depth share (%)").y_desc("PSNR (dB)").draw().map_err(err)?;
    for (i, l) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(l.points.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(l.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(l.points.iter().map(|p| Circle::new(*p, 3, color.filled()))).map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// `plots/psnr_vs_share_<sequence>.png` (a panel per total bitrate, PSNR of (a)–(d) averaged
/// over the offsets) and `plots/psnr_b_vs_share_all.png` (mean PSNR of (b) over sequences and
/// offsets, a line per total bitrate).
pub(super) fn write(out: &Path, cells: &[&RgbdCell]) -> anyhow::Result<()> {
    crate::register_fonts();
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir)?;
    let seqs: BTreeSet<&str> = cells.iter().map(|c| c.sequence.as_str()).collect();
    let totals: BTreeSet<u64> = cells.iter().map(|c| c.total_bitrate).collect();
    for seq in &seqs {
        let path = dir.join(format!("psnr_vs_share_{seq}.png"));
        let root = BitMapBackend::new(&path, (480 * totals.len().max(1) as u32, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let areas = root.split_evenly((1, totals.len().max(1)));
        for (area, &t) in areas.iter().zip(&totals) {
            let mut cs: Vec<&&RgbdCell> = cells.iter().filter(|c| c.sequence == *seq && c.total_bitrate == t).collect();
            cs.sort_by(|a, b| a.depth_share.total_cmp(&b.depth_share));
            let lines: Vec<Line> = (0..4)
                .map(|j| Line {
                    name: NAMES[j].into(),
                    points: cs.iter().map(|c| (c.depth_share * 100.0, psnr(c, j))).collect(),
                })
                .collect();
            panel(area, &format!("{seq}, {} Mbit/s", t as f64 / 1e6), &lines)?;
        }
        root.present().map_err(err)?;
    }
    let path = dir.join("psnr_b_vs_share_all.png");
    let root = BitMapBackend::new(&path, (800, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let lines: Vec<Line> = totals
        .iter()
        .map(|&t| {
            let mine: Vec<&RgbdCell> = cells.iter().copied().filter(|c| c.total_bitrate == t).collect();
            Line {
                name: format!("(b) at {} Mbit/s", t as f64 / 1e6),
                points: super::report::best_share(&mine, Some(t)).into_iter().map(|(s, p, _)| (s * 100.0, p)).collect(),
            }
        })
        .collect();
    panel(&root, "mean PSNR of (b) over sequences and offsets", &lines)?;
    root.present().map_err(err)?;
    Ok(())
}
