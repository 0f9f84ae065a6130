//! Shared helpers for the codec tests: packed game-like depth frames.

#![allow(dead_code, unreachable_pub)]

use depthcast_packing::{BitDepth, DepthImage, PackParams, Packer, Scheme, YuvFrame, testdata};

/// `n` packed frames of the built-in scene, `w x h`, VBP at the highest precision of `bits`.
pub fn packed(n: usize, w: u32, h: u32, bits: BitDepth) -> Vec<(DepthImage, YuvFrame, PackParams)> {
    let mut packer = Packer::default();
    (0..n)
        .map(|i| {
            let depth = testdata::game_scene(w, h, i as f32 / 30.0);
            let (lo, hi) = PackParams::precision_range(Scheme::Vbp, bits);
            let _ = lo;
            let mut p = PackParams::new(Scheme::Vbp, hi - 4, 0.5, 40.0, w, h);
            p.bit_depth = bits;
            p.frame_index = i as u32;
            let (fw, fh) = p.frame_size();
            let mut f = YuvFrame::new(fw, fh, bits);
            packer.pack_into(&depth.view(), &p, &mut f).unwrap();
            (depth, f, p)
        })
        .collect()
}

/// A unique path in the temp folder.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("depthcast-codec-{}-{name}", std::process::id()))
}

/// A free loopback port (TCP bind to port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A depth map, its packed frame and its parameters.
pub type Frame = (DepthImage, YuvFrame, PackParams);
