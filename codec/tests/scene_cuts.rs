//! `EncoderSettings::scene_cuts`: x264 presets other than `ultrafast` place a keyframe at a hard
//! cut, which moves every keyframe after it off the GOP the keyframe re-probe's rounds start
//! at; off, the keyframes stay every GOP, and `ultrafast` (which places none) is unchanged.

use depthcast_codec::{Encoder, EncoderSettings, FrameOptions, Refresh, VideoCodec};
use depthcast_packing::{BitDepth, PackParams, Packer, Scheme, YuvFrame, testdata};

/// Encodes 70 frames of the built-in scene with a hard cut at frame 20 (another part of the
/// scene, upside down and reversed in depth), GOP 30: the keyframes' indices, and an FNV-1a
/// hash of every packet's bytes.
fn keyframes(codec: VideoCodec, preset: &str, scene_cuts: bool) -> (Vec<i64>, u64) {
    let (w, h) = (320u32, 180u32);
    let params = PackParams::new(Scheme::LumaOnly, 8, 0.5, 40.0, w, h);
    let (fw, fh) = params.frame_size();
    let mut s = EncoderSettings::new(codec, fw, fh);
    (s.bitrate, s.refresh, s.force_software, s.threads) = (1_000_000, Refresh::Gop(30), true, 1);
    (s.preset, s.scene_cuts) = (preset.into(), scene_cuts);
    let mut enc = Encoder::new(&s).unwrap();
    let mut packer = Packer::default();
    let mut frame = YuvFrame::new(fw, fh, BitDepth::Eight);
    let mut packets = Vec::new();
    for i in 0..70u32 {
        let depth = testdata::game_scene_with_cut(w, h, i, 20);
        let p = PackParams { frame_index: i, ..params };
        packer.pack_into(&depth.view(), &p, &mut frame).unwrap();
        // A fixed send time keeps the in-band parameters, and so the bytes, reproducible.
        let opts = FrameOptions { sent_unix_us: Some(u64::from(i)), ..FrameOptions::default() };
        packets.extend(enc.encode(&frame, &p, &opts).unwrap());
    }
    packets.extend(enc.finish().unwrap());
    let keys = packets.iter().filter(|p| p.keyframe).map(|p| p.pts).collect();
    let hash = packets
        .iter()
        .flat_map(|p| &p.data)
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (keys, hash)
}

#[test]
fn without_scene_cuts_keyframes_stay_every_gop() {
    // x264 at superfast: the cut gets a keyframe and moves the next ones; off, they stay.
    let (on, _) = keyframes(VideoCodec::H264, "superfast", true);
    assert_eq!(on, vec![0, 20, 50], "x264 superfast with scene cuts");
    let (off, _) = keyframes(VideoCodec::H264, "superfast", false);
    assert_eq!(off, vec![0, 30, 60], "x264 superfast without");
    // ultrafast places none: the same bytes either way.
    let (on, a) = keyframes(VideoCodec::H264, "ultrafast", true);
    let (off, b) = keyframes(VideoCodec::H264, "ultrafast", false);
    assert_eq!((on, a), (off, b), "x264 ultrafast");
    // x265 takes it too.
    let (off, _) = keyframes(VideoCodec::Hevc, "superfast", false);
    assert_eq!(off, vec![0, 30, 60], "x265 superfast without");
}
