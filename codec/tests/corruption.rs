//! Truncated packets, flipped bits and garbage SEI: errors, never panics, never guessed params;
//! decoding resumes at the next keyframe.

mod common;

use depthcast_codec::{CodecError, Decoder, Encoder, EncoderSettings, FrameOptions, RateControl, Refresh, VideoCodec};
use depthcast_packing::BitDepth;

fn encode(codec: VideoCodec, n: usize) -> (Vec<common::Frame>, Vec<depthcast_codec::EncodedPacket>) {
    let frames = common::packed(n, 96, 64, BitDepth::Eight);
    let mut s = EncoderSettings::new(codec, 96, 64);
    s.force_software = true;
    s.rate_control = RateControl::Lossless;
    s.refresh = Refresh::Gop(10);
    let mut enc = Encoder::new(&s).unwrap();
    let mut pkts = Vec::new();
    for (_, f, p) in &frames {
        pkts.extend(enc.encode(f, p, &FrameOptions::default()).unwrap());
    }
    pkts.extend(enc.finish().unwrap());
    assert_eq!(pkts.len(), n);
    (frames, pkts)
}

#[test]
fn damaged_packets_resync_at_the_next_keyframe() {
    for codec in [VideoCodec::H264, VideoCodec::Hevc] {
        let (frames, mut pkts) = encode(codec, 30);
        // Truncate frame 3, flip bits in the slice data of frame 12, garble the SEI of frame 22.
        let l = pkts[3].data.len();
        pkts[3].data.truncate(l / 2);
        let l = pkts[12].data.len();
        for i in (l / 2..l).step_by(7) {
            pkts[12].data[i] ^= 0x5a;
        }
        let sei_at = pkts[22].data.windows(16).position(|w| w == depthcast_codec::sei::DEPTHCAST_SEI_UUID).unwrap();
        pkts[22].data[sei_at + 16 + 5] ^= 0xff;

        let mut dec = Decoder::new(codec).unwrap();
        let mut ok = vec![false; frames.len()];
        let mut errors = 0;
        for pkt in &pkts {
            match dec.decode(&pkt.data, Some(pkt.pts)) {
                Ok(outs) => {
                    for o in outs {
                        match o {
                            Ok(f) => {
                                let i = f.pts as usize;
                                match f.params {
                                    Ok(inband) => {
                                        assert_eq!(inband.params, frames[i].2);
                                        // A damaged picture is never returned as if it were fine.
                                        assert!(f.frame == frames[i].1, "{codec:?}: frame {i} returned damaged");
                                        ok[i] = true;
                                    }
                                    Err(CodecError::ParamsInvalid(_)) => assert_eq!(i, 22, "{codec:?}"),
                                    Err(e) => panic!("{codec:?} frame {i}: {e}"),
                                }
                            }
                            Err(e) => {
                                println!("frame error at packet {}: {e}", pkt.pts);
                                errors += 1
                            }
                        }
                    }
                }
                Err(e) => {
                    println!("packet {} error: {e}", pkt.pts);
                    errors += 1
                }
            }
        }
        println!("{codec:?}: {errors} errors, intact frames {:?}", ok.iter().map(|&b| b as u8).collect::<Vec<_>>());
        // Frames before the damage, and every frame from the keyframes after it, are intact.
        for i in (0..3).chain(10..12).chain(20..22).chain(23..30) {
            assert!(ok[i], "{codec:?}: frame {i} should decode intact");
        }
        assert!(!ok[22], "frame 22's params are invalid and must not count as intact");
    }
}

#[test]
fn random_damage_never_panics() {
    let (_, pkts) = encode(VideoCodec::H264, 12);
    let mut seed = 0x1234_5678_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut dec = Decoder::new(VideoCodec::H264).unwrap();
    for round in 0..20 {
        for pkt in &pkts {
            let mut d = pkt.data.clone();
            match next() % 3 {
                0 => d.truncate((next() as usize) % (d.len() + 1)),
                1 => {
                    for _ in 0..4 {
                        let i = next() as usize % d.len();
                        d[i] ^= 1 << (next() % 8);
                    }
                }
                _ => d = (0..(next() % 200)).map(|_| next() as u8).collect(),
            }
            if let Ok(outs) = dec.decode(&d, Some(round * 100 + pkt.pts)) {
                for o in outs.into_iter().flatten() {
                    let _ = o.params;
                }
            }
            let _ = depthcast_codec::sei::extract_params(VideoCodec::H264, &d, depthcast_codec::NalFormat::AnnexB);
        }
    }
}
