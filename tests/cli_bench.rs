//! `depthcast bench --presets`: every software encoder of every format this FFmpeg encodes, at
//! every preset, timed on real encodes of the built-in scene, with the frame sizes of both
//! packing shapes and the verdict against the budget.

use std::process::Command;

#[test]
fn presets_are_timed_per_format_frame_shape_and_budget() {
    let out = Command::new(env!("CARGO_BIN_EXE_depthcast"))
        .args(["bench", "--presets", "--width", "128", "--height", "64", "--json", "--budget-ms", "0.000001"])
        .env("SVT_LOG", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of = |format: &str, frame: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["format"] == format && l["frame"] == frame).collect()
    };
    // x264 at both bit depths is on every machine the tests run on.
    for format in ["h264-8", "h264-10"] {
        for (frame, height) in [("one plane", 64), ("stacked", 128)] {
            let rows = of(format, frame);
            let presets: Vec<&str> = rows.iter().map(|r| r["preset"].as_str().unwrap()).collect();
            assert_eq!(presets, ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"], "{format} {frame}");
            for r in rows {
                assert_eq!((r["width"].as_u64(), r["height"].as_u64()), (Some(128), Some(height)), "{r}");
                let ms = r["ms_per_frame"].as_f64().unwrap();
                // Nothing encodes a frame in a nanosecond: the budget is judged, not assumed.
                assert!(ms > 0.0 && ms.is_finite() && r["within"] == false, "{r}");
            }
        }
    }
    assert!(lines.iter().all(|l| l["bench"] == "preset"));
}
