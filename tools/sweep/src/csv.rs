//! The per-frame CSV: one row per frame × run. Columns (stable; a test pins them):
//!
//! | column | meaning |
//! |---|---|
//! | `sequence` | sequence name |
//! | `codec` | codec configuration id (`h264-8`, `hevc-10`, `-aq` suffix with adaptive quantisation) |
//! | `bitrate_bps` | target bitrate, bit/s |
//! | `run` | run id: `fixed` runs are named by their configuration, policy runs `policy:<name>` |
//! | `range` | range policy (`seq` = one range per sequence, `frameA` = per-frame range smoothed with rate A) |
//! | `frame` | frame index |
//! | `config` | packing configuration id used for this frame |
//! | `family` | scheme family of that configuration (`luma`, `vbp-chroma`, `vbp-luma`, `vbp-luma+roi`, `triangle`, `hue`) |
//! | `precision` | precision P of that configuration (hue: 0) |
//! | `keyframe` | 1 if the encoder made the frame a keyframe |
//! | `bits` | encoded size of the frame in bits |
//! | `near_m`, `far_m` | range the frame was packed with (from its in-band parameters), metres |
//! | `params_ok` | 1 if the receiver decoded the frame with valid in-band parameters |
//! | `valid` | pixels valid in both source and decoded depth |
//! | `mae_m`, `rmse_m`, `max_m`, `p99_m` | absolute error over those pixels, metres |
//! | `mean_rel` | mean relative error |
//! | `psnr_db` | PSNR over the sequence range |
//! | `valid_to_invalid`, `invalid_to_valid` | validity confusions |

use std::fmt::Write as _;
use std::path::Path;

use depthcast_packing::Metrics;

use super::encode::FrameRecord;

/// The header, in order.
pub const COLUMNS: [&str; 23] = [
    "sequence",
    "codec",
    "bitrate_bps",
    "run",
    "range",
    "frame",
    "config",
    "family",
    "precision",
    "keyframe",
    "bits",
    "near_m",
    "far_m",
    "params_ok",
    "valid",
    "mae_m",
    "rmse_m",
    "max_m",
    "p99_m",
    "mean_rel",
    "psnr_db",
    "valid_to_invalid",
    "invalid_to_valid",
];

/// A CSV row: the run's context plus one frame's record.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Sequence name.
    pub sequence: String,
    /// Codec configuration id.
    pub codec: String,
    /// Target bitrate.
    pub bitrate: u64,
    /// Run id (`fixed` configuration id or `policy:<name>`).
    pub run: String,
    /// Range policy id.
    pub range: String,
    /// Scheme family of the frame's configuration.
    pub family: String,
    /// The frame's record.
    pub rec: FrameRecord,
}

fn f(v: f64) -> String {
    // Shortest representation that parses back to the same f64, so a resumed sweep reproduces
    // its summary exactly.
    if v.is_finite() { format!("{v}") } else { "nan".into() }
}

/// The header line (with newline).
pub fn header() -> String {
    let mut s = COLUMNS.join(",");
    s.push('\n');
    s
}

/// Appends one row (with newline) to `out`.
pub fn write_row(out: &mut String, row: &Row) {
    let m = &row.rec.metrics;
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        row.sequence,
        row.codec,
        row.bitrate,
        row.run,
        row.range,
        row.rec.frame,
        row.rec.config,
        row.family,
        row.rec.precision,
        u8::from(row.rec.keyframe),
        row.rec.bits,
        f(f64::from(row.rec.near)),
        f(f64::from(row.rec.far)),
        u8::from(row.rec.params_ok),
        m.valid,
        f(m.mae),
        f(m.rmse),
        f(m.max),
        f(m.p99),
        f(m.mean_rel),
        f(m.psnr),
        m.valid_to_invalid,
        m.invalid_to_valid
    );
}

/// Reads rows written by [`write_row`] after [`header`].
///
/// # Errors
/// Unreadable file, another header, or a malformed row.
pub fn read(path: &Path) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let head = lines.next().unwrap_or_default();
    anyhow::ensure!(head == COLUMNS.join(","), "{}: unexpected header {head:?}", path.display());
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let c: Vec<&str> = line.split(',').collect();
        anyhow::ensure!(c.len() == COLUMNS.len(), "{}:{}: {} columns", path.display(), n + 2, c.len());
        let num =
            |i: usize| -> anyhow::Result<f64> { if c[i] == "nan" { Ok(f64::NAN) } else { Ok(c[i].parse::<f64>()?) } };
        let int = |i: usize| -> anyhow::Result<u64> { Ok(c[i].parse::<u64>()?) };
        rows.push(Row {
            sequence: c[0].into(),
            codec: c[1].into(),
            bitrate: int(2)?,
            run: c[3].into(),
            range: c[4].into(),
            family: c[7].into(),
            rec: FrameRecord {
                frame: int(5)? as u32,
                config: c[6].into(),
                precision: int(8)? as u8,
                keyframe: c[9] == "1",
                bits: int(10)?,
                near: num(11)? as f32,
                far: num(12)? as f32,
                params_ok: c[13] == "1",
                metrics: Metrics {
                    valid: int(14)?,
                    mae: num(15)?,
                    rmse: num(16)?,
                    max: num(17)?,
                    p99: num(18)?,
                    mean_rel: num(19)?,
                    psnr: num(20)?,
                    valid_to_invalid: int(21)?,
                    invalid_to_valid: int(22)?,
                },
            },
        });
    }
    Ok(rows)
}
