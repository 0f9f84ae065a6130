//! Encode → decode → unpack round trips with the real libx264 and libx265: bit-exact lossless
//! planes (full range, 8 and 10 bits), per-frame parameters in-band, first packet latency.

mod common;

use depthcast_codec::{Backend, Decoder, Encoder, EncoderSettings, FrameOptions, RateControl, VideoCodec};
use depthcast_packing::{BitDepth, Metrics, unpack};

fn settings(codec: VideoCodec, bits: BitDepth, w: u32, h: u32) -> EncoderSettings {
    let mut s = EncoderSettings::new(codec, w, h);
    s.bit_depth = bits;
    s.force_software = true;
    s
}

fn lossless_round_trip(codec: VideoCodec, bits: BitDepth) {
    let frames = common::packed(8, 96, 64, bits);
    let mut s = settings(codec, bits, 96, 64);
    s.rate_control = RateControl::Lossless;
    s.refresh = depthcast_codec::Refresh::Gop(4);
    let mut enc = Encoder::new(&s).unwrap();
    assert_eq!(enc.backend(), Backend::Software);
    let mut dec = Decoder::new(codec).unwrap();
    let mut got = Vec::new();
    let mut packets = Vec::new();
    for (i, (_, f, p)) in frames.iter().enumerate() {
        let out = enc.encode(f, p, &FrameOptions::default()).unwrap();
        assert_eq!(out.len(), 1, "{codec:?}: frame {i} must give its packet at once");
        packets.extend(out);
    }
    packets.extend(enc.finish().unwrap());
    for pkt in &packets {
        for r in dec.decode(&pkt.data, Some(pkt.pts)).unwrap() {
            got.push(r.unwrap());
        }
    }
    dec.send_eof().unwrap();
    while let Some(f) = dec.receive_frame().unwrap() {
        got.push(f);
    }
    assert_eq!(got.len(), frames.len());
    for (g, (depth, f, p)) in got.iter().zip(&frames) {
        assert_eq!(&g.frame, f, "{codec:?} {bits:?}: planes must come back bit-exact");
        let inband = g.params.as_ref().unwrap();
        assert_eq!(&inband.params, p);
        assert!(inband.sent_unix_us.is_some());
        let back = unpack(&g.frame, &inband.params).unwrap();
        let m = Metrics::compute(&depth.view(), &back.view(), p.near, p.far);
        assert_eq!(m.valid_to_invalid + m.invalid_to_valid, 0);
    }
}

#[test]
fn x264_lossless_8bit_is_bit_exact() {
    lossless_round_trip(VideoCodec::H264, BitDepth::Eight);
}

#[test]
fn x265_lossless_8bit_is_bit_exact() {
    lossless_round_trip(VideoCodec::Hevc, BitDepth::Eight);
}

#[test]
fn x265_main10_lossless_is_bit_exact() {
    lossless_round_trip(VideoCodec::Hevc, BitDepth::Ten);
}

#[test]
fn lossy_cbr_round_trip_keeps_params_and_depth_close() {
    for (codec, bits) in [(VideoCodec::H264, BitDepth::Eight), (VideoCodec::Hevc, BitDepth::Ten)] {
        let frames = common::packed(10, 160, 96, bits);
        let mut s = settings(codec, bits, 160, 96);
        s.bitrate = 2_000_000;
        let mut enc = Encoder::new(&s).unwrap();
        let mut dec = Decoder::new(codec).unwrap();
        let mut n = 0;
        for (i, (_, f, p)) in frames.iter().enumerate() {
            let opts = FrameOptions { force_keyframe: i == 5, ..Default::default() };
            let pkts = enc.encode(f, p, &opts).unwrap();
            assert_eq!(pkts.len(), 1, "first packet delay must be 0 frames");
            assert_eq!(pkts[0].keyframe, i == 0 || i == 5, "frame {i}");
            for r in dec.decode(&pkts[0].data, Some(pkts[0].pts)).unwrap() {
                let g = r.unwrap();
                assert_eq!(g.params.unwrap().params, *p);
                n += 1;
            }
        }
        assert_eq!(n, frames.len(), "{codec:?}: the decoder has no delay either");
    }
}

#[test]
fn hardware_absent_falls_back_with_reasons() {
    let s = EncoderSettings::new(VideoCodec::H264, 64, 64);
    let statuses = depthcast_codec::probe_all(&s);
    for st in &statuses {
        println!("{:<9} {:<14} compiled_in={} usable={:?}", st.backend.name(), st.encoder, st.compiled_in, st.usable);
    }
    let sw = statuses.iter().find(|s| s.backend == Backend::Software).unwrap();
    assert!(sw.usable.is_ok());
    let enc = Encoder::new(&s).unwrap();
    // On a machine without a GPU the software back-end takes over; elsewhere the first usable one.
    let first_ok = statuses.iter().find(|s| s.usable.is_ok()).unwrap().backend;
    assert_eq!(enc.backend(), first_ok);
    for st in statuses.iter().filter(|s| s.usable.is_err()) {
        assert!(!st.usable.as_ref().unwrap_err().is_empty());
    }
    // Only hardware configured and none usable: the error lists each back-end and its reason.
    let mut hw_only = s.clone();
    hw_only.backends = statuses.iter().filter(|s| s.usable.is_err()).map(|s| s.backend).collect();
    if !hw_only.backends.is_empty() {
        let e = Encoder::new(&hw_only).unwrap_err();
        let msg = e.to_string();
        for b in &hw_only.backends {
            assert!(msg.contains(b.name()), "{msg}");
        }
    }
}

#[test]
fn unknown_option_names_are_rejected() {
    let mut s = settings(VideoCodec::H264, BitDepth::Eight, 64, 64);
    s.extra_options.push(("no-such-option".into(), "1".into()));
    let e = Encoder::new(&s).unwrap_err();
    assert!(e.to_string().contains("no-such-option"), "{e}");
}
