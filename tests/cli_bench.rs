//! `depthcast bench --presets`: every software encoder of every format this FFmpeg encodes, at
//! every preset and each bitrate asked for, timed on real encodes of the built-in scene, with the
//! frame sizes of both packing shapes and the verdict against the budget.

use std::process::Command;

#[test]
fn presets_are_timed_per_format_frame_shape_and_budget() {
    let out = Command::new(env!("CARGO_BIN_EXE_depthcast"))
        .args(["bench", "--presets", "--width", "128", "--height", "64", "--json", "--budget-ms", "0.000001"])
        .args(["--mbps", "4,32"])
        .env("SVT_LOG", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of = |format: &str, frame: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["format"] == format && l["frame"] == frame).collect()
    };
    // The sweep's scaling of 720p30 rates to 128x64: 4 and 32 Mbit/s, in that order.
    let pixels = (128.0 * 64.0) / (1280.0 * 720.0);
    let rates = [4e6 * pixels, 32e6 * pixels];
    // x264 at both bit depths is on every machine the tests run on.
    for format in ["h264-8", "h264-10"] {
        for (frame, height) in [("one plane", 64), ("stacked", 128)] {
            let rows = of(format, frame);
            let presets: Vec<&str> = rows.iter().map(|r| r["preset"].as_str().unwrap()).collect();
            let ladder = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"];
            assert_eq!(presets, [ladder, ladder].concat(), "{format} {frame}");
            for (r, rate) in rows.iter().zip(rates.iter().flat_map(|&b| [b; 6])) {
                let bitrate = r["bitrate"].as_f64().unwrap();
                assert!((bitrate / rate - 1.0).abs() < 0.01, "{r}: {rate} bit/s asked for");
                assert_eq!((r["width"].as_u64(), r["height"].as_u64()), (Some(128), Some(height)), "{r}");
                let ms = r["ms_per_frame"].as_f64().unwrap();
                // Nothing encodes a frame in a nanosecond: the budget is judged, not assumed.
                assert!(ms > 0.0 && ms.is_finite() && r["within"] == false, "{r}");
            }
        }
    }
    assert!(lines.iter().all(|l| l["bench"] == "preset"));
}
