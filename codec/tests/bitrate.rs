//! Achieved bitrate within ±10 % of the target over 300 frames of 1280x720 depth content at 1, 2,
//! 4 and 8 Mbit/s (x264 ultrafast, CBR), and the encode speed of x264 8-bit and x265 Main10 at
//! 720p. Slow in a debug build (the depth frames are rendered and packed in Rust), so it runs in
//! release: `cargo test --release -p depthcast-codec --test bitrate -- --nocapture`.

mod common;

use std::time::Instant;

use depthcast_codec::{Encoder, EncoderSettings, FrameOptions, VideoCodec};
use depthcast_packing::{BitDepth, PackParams, YuvFrame};

const W: u32 = 1280;
const H: u32 = 720;
const N: usize = 300;

fn frames(bits: BitDepth) -> Vec<(YuvFrame, PackParams)> {
    common::packed(N, W, H, bits).into_iter().map(|(_, f, p)| (f, p)).collect()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "slow in debug: cargo test --release -p depthcast-codec --test bitrate")]
fn cbr_bitrate_within_ten_percent_at_720p() {
    let frames = frames(BitDepth::Eight);
    for mbps in [1u64, 2, 4, 8] {
        let mut s = EncoderSettings::new(VideoCodec::H264, W, H);
        s.force_software = true;
        s.bitrate = mbps * 1_000_000;
        let mut enc = Encoder::new(&s).unwrap();
        let mut bytes = 0usize;
        let t = Instant::now();
        for (f, p) in &frames {
            bytes += enc.encode(f, p, &FrameOptions::default()).unwrap().iter().map(|p| p.data.len()).sum::<usize>();
        }
        bytes += enc.finish().unwrap().iter().map(|p| p.data.len()).sum::<usize>();
        let secs = N as f64 / s.fps_f64();
        let achieved = bytes as f64 * 8.0 / secs;
        let ratio = achieved / s.bitrate as f64;
        println!(
            "x264 CBR target {mbps} Mbit/s: achieved {:.3} Mbit/s ({:.1} %), {:.0} fps",
            achieved / 1e6,
            ratio * 100.0,
            N as f64 / t.elapsed().as_secs_f64()
        );
        assert!((0.9..=1.1).contains(&ratio), "{mbps} Mbit/s: achieved {achieved:.0} bit/s");
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "slow in debug: cargo test --release -p depthcast-codec --test bitrate")]
fn encode_speed_at_720p() {
    for (codec, bits) in [(VideoCodec::H264, BitDepth::Eight), (VideoCodec::Hevc, BitDepth::Ten)] {
        let frames = frames(bits);
        let mut s = EncoderSettings::new(codec, W, H);
        s.force_software = true;
        s.bit_depth = bits;
        s.bitrate = 4_000_000;
        let mut enc = Encoder::new(&s).unwrap();
        let mut first_delay = None;
        let t = Instant::now();
        for (i, (f, p)) in frames.iter().enumerate() {
            let out = enc.encode(f, p, &FrameOptions::default()).unwrap();
            if first_delay.is_none() && !out.is_empty() {
                first_delay = Some(i);
            }
        }
        enc.finish().unwrap();
        println!(
            "{} {}-bit 1280x720 ultrafast zerolatency: {:.0} fps, first packet after {} frame(s) of delay",
            enc.encoder_name(),
            bits.bits(),
            N as f64 / t.elapsed().as_secs_f64(),
            first_delay.unwrap()
        );
        assert_eq!(first_delay, Some(0));
    }
}
