//! In-band parameters are untrusted: a frame whose parameters are missing, corrupt (CRC), or
//! disagree with the decoded frame (size, bit depth) is dropped and counted by reason, and the
//! frames around it are received (parameters out of range are refused by the encoder, and by
//! `PackParams::from_bytes` on the receiver: codec's corruption test and the fuzz targets). The stream is made with the real libx264 and MPEG-TS muxer;
//! the lies are told through the encoder's own SEI path (valid CRC) and by flipping SEI bytes.

use depthcast_codec::{Encoder, EncoderSettings, FrameOptions, PacketSender, Refresh, VideoCodec};
use depthcast_packing::{BitDepth, PackParams, Packer, Scheme, YuvFrame, testdata};
use depthcast_stream::{DepthReceiver, ReceiverConfig};

const W: u32 = 96;
const H: u32 = 64;

#[test]
fn lying_parameters_are_dropped_and_counted() {
    let mut s = EncoderSettings::new(VideoCodec::H264, W, H);
    s.force_software = true;
    s.refresh = Refresh::Gop(4);
    s.threads = 1;
    let path = std::env::temp_dir().join(format!("depthcast-untrusted-{}.ts", std::process::id()));
    let url = path.to_string_lossy().into_owned();
    let mut enc = Encoder::new(&s).unwrap();
    let mut tx = PacketSender::open(&url, &enc).unwrap();
    let mut packer = Packer::default();
    let n = 12u32;
    for i in 0..n {
        let depth = testdata::game_scene(W, H, i as f32 / 30.0);
        let mut p = PackParams::new(Scheme::Vbp, 12, 0.5, 40.0, W, H);
        p.frame_index = i;
        let (fw, fh) = p.frame_size();
        let mut frame = YuvFrame::new(fw, fh, BitDepth::Eight);
        packer.pack_into(&depth.view(), &p, &mut frame).unwrap();
        // What the SEI claims (with a valid CRC: the encoder writes it).
        let mut claim = p;
        match i {
            3 => claim.width = W + 2,             // another frame size
            5 => claim.bit_depth = BitDepth::Ten, // another bit depth
            _ => {}
        }
        for mut pkt in enc.encode(&frame, &claim, &FrameOptions::default()).unwrap() {
            if pkt.pts == 7 {
                // No parameters at all: the SEI NAL unit (start code, header, type, size, UUID..)
                // cut out up to the next start code.
                let at = pkt.data.windows(16).position(|w| w == depthcast_codec::sei::DEPTHCAST_SEI_UUID).unwrap();
                let start = at - 3 - 4;
                assert_eq!(pkt.data[start..start + 4], [0, 0, 0, 1]);
                let end = (at..pkt.data.len() - 3).find(|&j| pkt.data[j..j + 3] == [0, 0, 1]).unwrap();
                let end = if pkt.data[end - 1] == 0 { end - 1 } else { end };
                pkt.data.drain(start..end);
            }
            if pkt.pts == 9 {
                // A flipped byte inside the parameter block: the CRC no longer matches.
                let at = pkt.data.windows(16).position(|w| w == depthcast_codec::sei::DEPTHCAST_SEI_UUID).unwrap();
                pkt.data[at + 16 + 3] ^= 0x10;
            }
            tx.send(&pkt).unwrap();
        }
    }
    for pkt in enc.finish().unwrap() {
        tx.send(&pkt).unwrap();
    }
    tx.finish().unwrap();

    let mut rx = DepthReceiver::new(ReceiverConfig::new(url));
    let mut got = Vec::new();
    while let Some(f) = rx.recv().unwrap() {
        got.push(f.params.frame_index);
    }
    let st = rx.stats();
    println!("received {got:?}; {st:?}");
    assert_eq!(got, vec![0, 1, 2, 4, 6, 8, 10, 11], "every honest frame, none of the others");
    assert_eq!((st.params_mismatched, st.params_corrupt, st.params_missing), (2, 1, 1), "{st:?}");
    assert_eq!(st.invalid_params, 4);
    std::fs::remove_file(&path).ok();
}
