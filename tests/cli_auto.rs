//! The standalone tools end to end with precision-net choosing: `depthcast send --auto --probe`
//! into a file with the real libx264, then `depthcast recv` against the source. The probe's winner
//! must carry every frame, in-band, and the stream must decode whole.

use std::process::Command;

use depthcast::sequence::{DepthEncoding, SequenceWriter};
use depthcast_packing::testdata::game_scene;

#[test]
fn send_auto_probe_then_recv() {
    let dir = std::env::temp_dir().join(format!("depthcast-cli-auto-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let seq = dir.join("seq");
    let frames = 24;
    let mut w = SequenceWriter::create(&seq, 320, 180, 30.0, DepthEncoding::ExrF32).unwrap();
    for i in 0..frames {
        w.push(&game_scene(320, 180, i as f32 / 30.0), None).unwrap();
    }
    w.finish().unwrap();
    let video = dir.join("auto.mkv");
    let bin = env!("CARGO_BIN_EXE_depthcast");
    let out = Command::new(bin)
        .args(["send", "--input", seq.to_str().unwrap(), "--url", video.to_str().unwrap()])
        .args(["--auto", "--probe", "--kbps", "400", "--gop", "12", "--software", "--fast"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "send failed: {err}");
    // "probe: <id> MAE ..." per shortlisted configuration, then "probe: <id> wins".
    let measured: Vec<(String, f64)> = err
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("probe: ")?;
            let (id, mae) = rest.split_once(" MAE ")?;
            Some((id.trim().to_string(), mae.split_whitespace().next()?.parse().ok()?))
        })
        .collect();
    assert!(measured.len() >= 2, "the probe measured a shortlist: {err}");
    let winner = err
        .lines()
        .find_map(|l| Some(l.strip_prefix("probe: ")?.split_once(" wins (")?.0.to_string()))
        .expect("the probe names its winner");
    let best = measured.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(winner, best.0, "the lowest measured error wins: {measured:?}");
    assert!(err.contains(&format!("precision-net: {winner} for {frames} frames")), "{err}");

    let stats = dir.join("stats.csv");
    let out = Command::new(bin)
        .args(["recv", "--url", video.to_str().unwrap(), "--source", seq.to_str().unwrap()])
        .args(["--stats", stats.to_str().unwrap(), "--timeout", "5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "recv failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&stats).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), frames, "every frame decoded");
    // The winner's id starts with its scheme and names its precision, if it has one
    // (`luma-P8-lin`, `vbp-luma-P16-lin-a255-roi-0.40`, `hue-lin`).
    let scheme = winner.split('-').next().unwrap();
    let precision = winner.split('-').find_map(|p| p.strip_prefix('P'));
    for r in &rows {
        assert_eq!(r[col("status")], "ok");
        assert_eq!(r[col("scheme")], scheme, "{r:?}");
        if let Some(p) = precision {
            assert_eq!(r[col("precision")], p, "{r:?}");
        }
        let mae: f64 = r[col("mae_mm")].parse().unwrap();
        assert!(mae.is_finite() && mae >= 0.0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
