//! `depthcast send` and `recv` with colour: a sequence that has colour and cameras goes out as an
//! RGB-D stream (two tracks, real x264), and `recv` writes the depth sequence with each frame's
//! colour planes and camera in it and a viewable colour PNG beside it.

use std::path::Path;
use std::process::Command;

use depthcast::packing::{BitDepth, CameraBlock, CameraPose, Intrinsics, RgbImage, testdata};
use depthcast::sequence::{DepthEncoding, Sequence, SequenceWriter};

const W: u32 = 320;
const H: u32 = 180;
const FRAMES: u32 = 20;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_depthcast"));
    c.env_remove("RUST_BACKTRACE");
    c
}

/// A colour picture with structure: a gradient with a moving stripe.
fn colour(i: u32) -> RgbImage {
    let mut data = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H {
        for x in 0..W {
            let stripe = (x + 4 * i) % 64 < 16;
            data.extend([(x * 255 / W) as u8, (y * 255 / H) as u8, if stripe { 230 } else { 40 }]);
        }
    }
    RgbImage { width: W, height: H, data }
}

fn camera(i: u32) -> CameraBlock {
    CameraBlock {
        frame_index: i,
        pose: CameraPose { position: [0.02 * i as f32, 1.6, 0.0], ..CameraPose::default() },
        intrinsics: Intrinsics::from_fov_y(60f32.to_radians(), W, H, 0.1),
    }
}

fn write_source(dir: &Path) {
    let mut w = SequenceWriter::create(dir, W, H, 30.0, DepthEncoding::Png16Mm).unwrap();
    for i in 0..FRAMES {
        let depth = testdata::game_scene(W, H, i as f32 / 30.0);
        let yuv = colour(i).to_yuv420(BitDepth::Eight);
        w.push_rgbd(&depth, None, Some(&yuv), Some(&camera(i))).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn an_rgbd_sequence_goes_out_as_two_tracks_and_recv_writes_colour_beside_depth() {
    let tmp = std::env::temp_dir().join(format!("depthcast-cli-rgbd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (src, file, out) = (tmp.join("src"), tmp.join("rgbd.ts"), tmp.join("rx"));
    write_source(&src);
    let sent = bin()
        .args(["send", "--input", src.to_str().unwrap(), "--url", file.to_str().unwrap(), "--fast"])
        .args(["--bitrate", "2M", "--software"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&sent.stderr);
    assert!(sent.status.success(), "send failed: {err}");
    assert!(err.contains("RGB-D"), "send says it sends colour: {err}");

    let got = bin()
        .args(["recv", "--url", file.to_str().unwrap(), "--output", out.to_str().unwrap(), "--stats", "/dev/null"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&got.stderr);
    assert!(got.status.success(), "recv failed: {err}");
    assert!(err.contains(&format!("{FRAMES} paired")), "every frame paired: {err}");

    let seq = Sequence::open(&out).unwrap();
    assert_eq!(seq.len(), FRAMES as usize);
    assert!(seq.has_colour());
    for i in 0..FRAMES {
        // The camera arrives exactly as sent; the colour within the codec's error.
        assert_eq!(seq.camera(i as usize).unwrap(), Some(camera(i)), "camera of frame {i}");
        let yuv = seq.read_colour(i as usize).unwrap().unwrap();
        let want = colour(i).to_yuv420(BitDepth::Eight);
        let mean_err =
            yuv.y.iter().zip(&want.y).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>() / want.y.len() as f64;
        assert!(mean_err < 4.0, "frame {i}: mean luma error {mean_err:.2} codes");
        // The viewable PNG beside it is the decoded colour in RGB.
        let png = image::open(out.join(format!("{i:06}.colour.png"))).unwrap().to_rgb8();
        assert_eq!(png.dimensions(), (W, H));
        assert_eq!(png.into_raw(), RgbImage::from_yuv420(&yuv, W, H).data, "PNG of frame {i}");
    }

    // --depth-only sends one track: recv then writes no colour.
    let depth_file = tmp.join("depth.ts");
    let sent = bin()
        .args(["send", "--input", src.to_str().unwrap(), "--url", depth_file.to_str().unwrap(), "--fast"])
        .args(["--depth-only", "--software"])
        .output()
        .unwrap();
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    let out2 = tmp.join("rx2");
    let got = bin()
        .args([
            "recv",
            "--url",
            depth_file.to_str().unwrap(),
            "--output",
            out2.to_str().unwrap(),
            "--stats",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    let seq = Sequence::open(&out2).unwrap();
    assert_eq!((seq.len(), seq.has_colour()), (FRAMES as usize, false));
    assert!(!out2.join("000000.colour.png").exists());
    let _ = std::fs::remove_dir_all(&tmp);
}
