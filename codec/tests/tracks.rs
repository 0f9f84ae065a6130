//! Colour pictures (no packing parameters) with their camera in-band through the real x264, and
//! a colour and a depth track in one Matroska and one MPEG-TS file: the receiver finds both, in
//! order, with their roles, and a decoder per track.

mod common;

use depthcast_codec::{
    CodecError, Container, Decoder, Encoder, EncoderSettings, FrameOptions, PacketReceiver, PacketSender,
    ReceiverOptions, TrackRole, VideoCodec,
};
use depthcast_packing::{BitDepth, CameraBlock, CameraPose, Intrinsics, YuvFrame};

const W: u32 = 128;
const H: u32 = 72;

fn camera(i: u32) -> CameraBlock {
    CameraBlock {
        frame_index: i,
        pose: CameraPose { position: [i as f32, 0.5, -3.0], rotation: [0.0, 0.0, 0.0, 1.0] },
        intrinsics: Intrinsics::from_fov_y(1.0, W, H, 0.1),
    }
}

fn picture(i: u32) -> YuvFrame {
    let mut f = YuvFrame::new(W, H, BitDepth::Eight);
    for (k, y) in f.y.iter_mut().enumerate() {
        *y = ((k as u32 % W) * 3 / 2 + 16 + i) as u16;
    }
    f.u.fill(100);
    f.v.fill(160);
    f
}

fn colour_settings(global_header: bool) -> EncoderSettings {
    let mut s = EncoderSettings::new(VideoCodec::H264, W, H);
    s.force_software = true;
    s.bitrate = 2_000_000;
    s.bt709 = true;
    s.global_header = global_header;
    s
}

#[test]
fn colour_pictures_carry_the_camera_and_no_parameters() {
    let mut enc = Encoder::new(&colour_settings(false)).unwrap();
    let mut dec = Decoder::new(VideoCodec::H264).unwrap();
    let mut got = 0;
    for i in 0..10 {
        let opts = FrameOptions {
            camera: (i != 5).then(|| camera(i)),
            sent_unix_us: Some(1000 + u64::from(i)),
            ..Default::default()
        };
        for pkt in enc.encode_picture(&picture(i), &opts).unwrap() {
            assert_eq!(pkt.params, None);
            for f in dec.decode(&pkt.data, Some(pkt.pts)).unwrap() {
                let f = f.unwrap();
                let i = f.pts as u32;
                assert!(matches!(f.params, Err(CodecError::ParamsMissing)));
                if i == 5 {
                    // No camera: no SEI at all.
                    assert!(matches!(f.camera, Err(CodecError::CameraMissing)));
                } else {
                    assert_eq!(f.camera.unwrap(), (camera(i), Some(1000 + u64::from(i))));
                }
                let src = picture(i);
                let mae = f.frame.y.iter().zip(&src.y).map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs()).sum::<i32>()
                    as f64
                    / src.y.len() as f64;
                assert!(mae < 2.0, "frame {i}: luma MAE {mae}");
                got += 1;
            }
        }
    }
    assert_eq!(got, 10);
    // A camera out of range is refused before encoding.
    let mut bad = camera(0);
    bad.pose.rotation = [0.0, 0.0, 0.0, 2.0];
    let opts = FrameOptions { camera: Some(bad), ..Default::default() };
    assert!(matches!(enc.send_picture(&picture(0), &opts), Err(CodecError::CameraInvalid(_))));
}

#[test]
fn two_tracks_in_mkv_and_ts_files() {
    let depth = common::packed(6, W, H, BitDepth::Eight);
    for ext in ["mkv", "ts"] {
        let path = common::temp_path(&format!("tracks.{ext}"));
        let url = path.to_string_lossy().into_owned();
        let gh = Container::for_url(&url).unwrap().needs_global_header();
        let mut colour = Encoder::new(&colour_settings(gh)).unwrap();
        let (fw, fh) = depth[0].2.frame_size();
        let mut ds = EncoderSettings::new(VideoCodec::H264, fw, fh);
        ds.force_software = true;
        ds.global_header = gh;
        let mut denc = Encoder::new(&ds).unwrap();
        let mut tx = PacketSender::open_tracks(&url, &[&colour, &denc]).unwrap();
        assert_eq!(tx.track_count(), 2);
        for (i, (_, frame, params)) in depth.iter().enumerate() {
            let opts = FrameOptions { camera: Some(camera(i as u32)), pts: Some(i as i64), ..Default::default() };
            for p in colour.encode_picture(&picture(i as u32), &opts).unwrap() {
                tx.send_track(0, &p).unwrap();
            }
            for p in denc.encode(frame, params, &opts).unwrap() {
                tx.send_track(1, &p).unwrap();
            }
        }
        assert!(tx.send_track(2, &dummy()).is_err(), "no track 2");
        tx.finish().unwrap();

        let mut rx = PacketReceiver::open(&url, &ReceiverOptions::default()).unwrap();
        let roles: Vec<_> = rx.tracks().iter().map(|t| t.role).collect();
        assert_eq!(roles, [TrackRole::Colour, TrackRole::Depth], "{ext}");
        assert_eq!((rx.colour_track(), rx.depth_track()), (Some(0), 1));
        let mut decs = [rx.decoder_for(0).unwrap(), rx.decoder_for(1).unwrap()];
        assert!(rx.decoder_for(2).is_err());
        let mut seen = [0, 0];
        while let Some(pkt) = rx.read_packet().unwrap() {
            for f in decs[pkt.track].decode(&pkt.data, pkt.pts).unwrap() {
                let f = f.unwrap();
                let i = seen[pkt.track];
                let (cam, _) = f.camera.unwrap();
                assert_eq!(cam, camera(i), "{ext} track {}", pkt.track);
                if pkt.track == 1 {
                    let inband = f.params.unwrap();
                    assert_eq!(inband.params, depth[i as usize].2);
                    assert_eq!(inband.camera, Some(camera(i)));
                } else {
                    assert!(matches!(f.params, Err(CodecError::ParamsMissing)));
                }
                seen[pkt.track] += 1;
            }
        }
        assert_eq!(seen, [6, 6], "{ext}");
        std::fs::remove_file(&path).ok();
    }
}

/// A packet for the out-of-range track check.
fn dummy() -> depthcast_codec::EncodedPacket {
    depthcast_codec::EncodedPacket {
        data: vec![0, 0, 0, 1, 9, 0xf0],
        pts: 0,
        dts: 0,
        time_base: (1, 30),
        keyframe: false,
        params: None,
        camera: None,
    }
}
