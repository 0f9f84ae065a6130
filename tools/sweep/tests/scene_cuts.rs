//! `RunOptions::scene_cuts` reaches the sweep's encodes: a sequence with a hard cut, encoded at
//! x264 `superfast` (which places a keyframe at the cut) with GOP 30, has its keyframes every
//! 30 frames with them off, as `send --reprobe` encodes, and one at the cut with them on.

use depthcast_packing::testdata;
use depthcast_sweep::config::{CodecConfig, PackingConfig, RangeChoice};
use depthcast_sweep::encode::{RunOptions, SeqData, encode_sequence};

fn keyframes(scene_cuts: bool) -> Vec<u32> {
    let (w, h) = (320, 180);
    // The built-in scene, with a hard cut at frame 20.
    let frames = (0..70u32).map(|i| testdata::game_scene_with_cut(w, h, i, 20)).collect();
    let seq = SeqData::new("cut".into(), 30.0, frames).unwrap();
    let opts = RunOptions { gop: 30, preset: "superfast".into(), scene_cuts, ..RunOptions::default() };
    let luma = PackingConfig::luma(depthcast_packing::BitDepth::Eight);
    let records = encode_sequence(
        &seq,
        CodecConfig::H264_8,
        1_000_000,
        RangeChoice::Sequence,
        &opts,
        &mut |_| (luma, false),
        &|| {},
    )
    .unwrap();
    records.iter().filter(|r| r.keyframe).map(|r| r.frame).collect()
}

#[test]
fn the_sweeps_encodes_keep_keyframes_every_gop_without_scene_cuts() {
    assert_eq!(keyframes(true), [0, 20, 50], "x264 superfast with scene cuts");
    assert_eq!(keyframes(false), [0, 30, 60], "without, as send --reprobe encodes");
}
