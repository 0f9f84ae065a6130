//! The pipeline on real components (libx264, libavformat, loopback UDP): `DepthEncoder` into a
//! file and over UDP, `DepthReceiver` back to metres, garbage before the stream, timeouts that
//! fire, and the start-up probe.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use depthcast_codec::{EncoderSettings, Format, Refresh, VideoCodec};
use depthcast_packing::{BitDepth, DepthImage, Metrics, PackingConfig, VbpLayout, testdata};
use depthcast_stream::{
    AutoPacking, AutoSettings, DepthEncoder, DepthReceiver, FrameMeta, ProbeEncode, ProbeSet, Receiver, ReceiverConfig,
    StreamError, probe_formats, probe_formats_among, probe_formats_encoded, stream_formats, unix_us,
};

const W: u32 = 160;
const H: u32 = 96;
const NEAR: f32 = 0.5;
const FAR: f32 = 30.0;

fn frames(n: usize) -> Vec<DepthImage> {
    (0..n).map(|i| testdata::game_scene(W, H, i as f32 / 30.0)).collect()
}

fn settings(bitrate: u64, gop: u32) -> EncoderSettings {
    let mut s = EncoderSettings::new(VideoCodec::H264, W, H);
    s.bitrate = bitrate;
    s.fps = (30, 1);
    s.refresh = Refresh::Gop(gop);
    s.force_software = true;
    s.threads = 1;
    s.regions_of_interest = true;
    s
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("depthcast-stream-{}-{name}", std::process::id()))
}

#[test]
fn encoder_to_file_to_receiver() {
    let src = frames(30);
    let config = PackingConfig::vbp_roi(16, -0.4);
    let path = temp("file.ts");
    let url = path.to_string_lossy().into_owned();
    let mut enc = DepthEncoder::new(settings(2_000_000, 10), &config, W, H, Some(&url)).unwrap();
    assert_eq!(enc.frame_size(), (W, 2 * H), "the VBP luma layout doubles the height");
    let mut bytes = 0;
    for (i, f) in src.iter().enumerate() {
        let meta = FrameMeta { frame_index: i as u32, sent_unix_us: Some(unix_us()), ..FrameMeta::default() };
        let e = enc.encode(&f.view(), &config, NEAR, FAR, &meta).unwrap();
        assert_eq!(e.params.frame_index, i as u32);
        bytes += e.bytes;
    }
    let stats_before = enc.stats();
    assert_eq!(stats_before.frames, 30);
    assert_eq!(stats_before.bytes, bytes as u64);
    enc.finish().unwrap();

    let mut rx = DepthReceiver::new(ReceiverConfig::new(url));
    let mut got = Vec::new();
    while let Some(f) = rx.recv().unwrap() {
        got.push(f);
    }
    assert_eq!(got.len(), 30, "every frame back: {:?}", rx.stats());
    for f in &got {
        let i = f.params.frame_index as usize;
        assert_eq!(f.params.precision, 16);
        assert!(f.latency_ms().is_some(), "the send time travels in-band");
        let m = Metrics::compute(&src[i].view(), &f.depth.view(), NEAR, FAR);
        // One P16 step over 29.5 m is 0.45 mm; 2 Mbit/s at this size leaves a few mm.
        assert!(m.mae < 0.02, "frame {i}: MAE {} m", m.mae);
    }
    let s = rx.stats();
    assert_eq!((s.frames, s.gaps, s.connections, s.invalid_params), (30, 0, 1, 0));
    assert!(matches!(rx.recv(), Ok(None)), "a file ends for good");
    std::fs::remove_file(&path).ok();
}

/// The keyframe re-probe's switch on one transport: the encoder is reopened for another bit
/// depth, then another frame size, each new encoder pre-rolled over the frames before its first
/// one. The receiver reads one file with every frame, each with its own packing, and the
/// pre-roll's packets are not in it; a codec change or a container that stores its headers once
/// is refused with the reason.
#[test]
fn the_encoder_reopens_for_a_new_bit_depth_and_frame_size_on_one_transport() {
    let src = frames(30);
    let path = temp("reopen.ts");
    let url = path.to_string_lossy().into_owned();
    let luma8 = PackingConfig::luma(BitDepth::Eight);
    let luma10 = PackingConfig::luma(BitDepth::Ten);
    let vbp10 = PackingConfig::vbp(18, VbpLayout::Luma);
    let mut s = settings(1_000_000, 10);
    s.regions_of_interest = false;
    let mut enc = DepthEncoder::new(s.clone(), &luma8, W, H, Some(&url)).unwrap();
    let ten = EncoderSettings { bit_depth: BitDepth::Ten, ..s.clone() };
    let mut config = luma8;
    for (i, f) in src.iter().enumerate() {
        if i == 10 || i == 20 {
            config = if i == 10 { luma10 } else { vbp10 };
            enc.reopen(ten.clone(), &config, (W, H), &src[i - 5..i], (NEAR, FAR), i as i64).unwrap();
        }
        let e = enc.encode(&f.view(), &config, NEAR, FAR, &FrameMeta { frame_index: i as u32, ..Default::default() });
        let e = e.unwrap();
        assert!(e.packets.iter().all(|p| p.pts == i as i64), "frame {i}: only its own packet is sent");
        assert!(e.packets.iter().all(|p| p.keyframe == (i % 10 == 0)), "frame {i}");
    }
    assert_eq!(enc.frame_size(), (W, 2 * H));
    assert_eq!(enc.stats().frames, 30);
    assert!(matches!(
        enc.reopen(EncoderSettings { codec: VideoCodec::Hevc, ..ten.clone() }, &luma10, (W, H), &[], (NEAR, FAR), 30),
        Err(StreamError::Reopen(_))
    ));
    enc.finish().unwrap();

    let mut rx = DepthReceiver::new(ReceiverConfig::new(url));
    let mut got = Vec::new();
    while let Some(f) = rx.recv().unwrap() {
        got.push(f);
    }
    assert_eq!(got.len(), 30, "every frame back once: {:?}", rx.stats());
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.params.frame_index as usize, i);
        let (want, bits) = if i < 10 {
            (luma8, 8)
        } else if i < 20 {
            (luma10, 10)
        } else {
            (vbp10, 10)
        };
        assert_eq!(
            (f.params.scheme, f.params.bit_depth.bits(), f.params.precision),
            (want.scheme, bits, want.precision)
        );
        let m = Metrics::compute(&src[i].view(), &f.depth.view(), NEAR, FAR);
        assert!(m.mae < 0.2, "frame {i}: MAE {} m", m.mae);
    }
    // The RGB-D receiver (`depthcast recv`, the Bevy receiver plugin) follows the changes too.
    let mut rx = depthcast_stream::RgbdReceiver::new(depthcast_stream::RgbdConfig::new(path.to_string_lossy()));
    let mut depths = Vec::new();
    while let Some(f) = rx.recv().unwrap() {
        depths.push((f.params.unwrap().bit_depth.bits(), f.depth.unwrap().width));
    }
    assert_eq!(depths.len(), 30);
    assert!(depths.iter().enumerate().all(|(i, &(b, w))| b == if i < 10 { 8 } else { 10 } && w == W), "{depths:?}");
    std::fs::remove_file(&path).ok();

    let mkv = temp("reopen.mkv");
    let mut enc = DepthEncoder::new(s, &luma8, W, H, Some(&mkv.to_string_lossy())).unwrap();
    let err = enc.reopen(ten, &luma10, (W, H), &[], (NEAR, FAR), 0).unwrap_err();
    assert!(err.to_string().contains("headers once"), "{err}");
    enc.finish().unwrap();
    std::fs::remove_file(&mkv).ok();
}

/// The keyframe re-probe on real encodes: a start where every H.264 pair claims the same error
/// (one frame) and hue carries the stream (an HEVC pair that claims less is left out: one codec
/// per transport); the first round measures every pair over the last frames
/// (pre-rolled), and at the next keyframe the stream leaves hue for the best measured pair, with a
/// the format change flagged exactly when bit depth or frame size change. The switch is then made,
/// reopening the encoder, on a live
/// encoder, and the receiver gets every frame.
#[test]
fn the_reprobe_moves_the_stream_to_the_best_pair_measured_so_far() {
    use depthcast_stream::{FormatProbeReport, ProbedPair, Reprobe, ReprobeSettings};
    let src = frames(60);
    let ten = Format::new(VideoCodec::H264, BitDepth::Ten);
    let hue = PackingConfig::hue();
    let pairs = [
        (Format::H264_8, hue),
        (Format::H264_8, PackingConfig::luma(BitDepth::Eight)),
        (ten, PackingConfig::luma(BitDepth::Ten)),
        (ten, PackingConfig::vbp(18, VbpLayout::Luma)),
    ];
    // HEVC measured best of all, but the stream's transport carries H.264: never a candidate.
    let hevc = ProbedPair {
        format: Format::new(VideoCodec::Hevc, BitDepth::Ten),
        config: PackingConfig::luma(BitDepth::Ten),
        mae: 0.0,
        rate: 1.0,
    };
    let report = FormatProbeReport {
        measured: pairs
            .iter()
            .map(|&(format, config)| ProbedPair { format, config, mae: 10.0, rate: 1.0 })
            .chain([hevc])
            .collect(),
        format: Format::H264_8,
        winner: hue,
        frames: 1,
        wall: Duration::ZERO,
    };
    let auto = AutoSettings { codec: VideoCodec::H264, bits: BitDepth::Eight, bitrate: 1_000_000, fps: 30.0, gop: 15 };
    let mut s = settings(1_000_000, 15);
    s.regions_of_interest = false;
    // A window of one GOP, as `send` sets it: the first round starts with the stream (no
    // pre-roll), the later ones at keyframes, pre-rolled over 5. Keyframes wait for their round,
    // as `send --fast` does.
    let every = ReprobeSettings { window: 15, preroll: 5, threads: 2, deadline: None, ..ReprobeSettings::default() };
    let mut rp = Reprobe::new(&report, &auto, s.clone(), (W, H), (NEAR, FAR), every);
    assert_eq!(rp.current(), (Format::H264_8, hue));
    assert!(!rp.running(), "the first round starts with the first frame");
    let path = temp("reprobe.ts");
    let url = path.to_string_lossy().into_owned();
    let mut enc = DepthEncoder::new(s.clone(), &hue, W, H, Some(&url)).unwrap();
    let mut config = hue;
    let mut moved = None;
    for (i, f) in src.iter().enumerate() {
        if i > 0 && i % 15 == 0 {
            let key = rp.at_keyframe().unwrap();
            assert!(key.failed.is_empty(), "{:?}", key.failed);
            if let Some(sw) = key.switch {
                assert_ne!(sw.config, hue);
                assert!(sw.mae < sw.current_mae, "{sw:?}");
                // The report's 10 m per pair (over 1 frame) is forgotten: the first round
                // measured its frames again (from the stream's first frame, a whole GOP), so
                // each frame counts once. Kept, it would add over 0.6 m to every mean.
                assert!(sw.current_mae < 0.5, "{sw:?}");
                let size = |f: Format, c: PackingConfig| c.frame_size(W, H, f.bits);
                assert_eq!(
                    sw.format_changes,
                    sw.format != Format::H264_8 || size(sw.format, sw.config) != size(Format::H264_8, hue)
                );
                let s = EncoderSettings { bit_depth: sw.format.bits, ..s.clone() };
                enc.reopen(s, &sw.config, (W, H), &rp.preroll(), (NEAR, FAR), i as i64).unwrap();
                config = sw.config;
                moved.get_or_insert(i);
            }
            assert_eq!(rp.rounds(), i / 15, "each GOP's round is in at the keyframe after it");
            assert!(rp.running(), "the next round starts at the keyframe");
            assert_eq!(rp.last(100).len(), i.min(20));
        }
        enc.encode(&f.view(), &config, NEAR, FAR, &FrameMeta { frame_index: i as u32, ..Default::default() }).unwrap();
        rp.push(f.clone()).unwrap();
    }
    assert_eq!(
        moved,
        Some(15),
        "the first GOP's round, measured as it was sent, moves the stream at the next keyframe"
    );
    // The last round has a GOP of frames: waiting adds it.
    assert!(rp.wait().is_empty());
    assert_eq!((rp.rounds(), rp.running()), (4, false));
    assert_eq!(rp.current().1, config);
    enc.finish().unwrap();
    let mut rx = DepthReceiver::new(ReceiverConfig::new(url));
    let mut n = 0;
    while let Some(f) = rx.recv().unwrap() {
        let want = if f.params.frame_index < 15 { hue } else { config };
        assert_eq!(
            (f.params.scheme, f.params.precision),
            (want.scheme, want.precision),
            "frame {}",
            f.params.frame_index
        );
        n += 1;
    }
    assert_eq!(n, 60);
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_frame_of_another_size_is_refused() {
    let src = frames(2);
    let config = PackingConfig::vbp(12, VbpLayout::Chroma);
    let mut enc = DepthEncoder::new(settings(1_000_000, 10), &config, W, H, None).unwrap();
    enc.encode(&src[0].view(), &config, NEAR, FAR, &FrameMeta::default()).unwrap();
    let tall = PackingConfig::vbp(16, VbpLayout::Luma);
    let err = enc.encode(&src[1].view(), &tall, NEAR, FAR, &FrameMeta { frame_index: 1, ..FrameMeta::default() });
    assert!(matches!(err, Err(StreamError::FrameSizeChanged { frame_index: 1, .. })), "{err:?}");
    // The stream goes on with its own frame size.
    enc.encode(&src[1].view(), &config, NEAR, FAR, &FrameMeta { frame_index: 1, ..FrameMeta::default() }).unwrap();
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Stray datagrams before the stream (random bytes, then bit-flipped copies of a real stream's
/// first packets) must not stop the receiver: it keeps waiting, and the real stream arrives.
#[test]
fn garbage_before_the_stream_on_udp() {
    let port = free_udp_port();
    let url = format!("udp://127.0.0.1:{port}");
    let config = ReceiverConfig {
        timeout: Duration::from_secs(20),
        poll: Duration::from_millis(500),
        ..ReceiverConfig::new(url.clone())
    };
    let receiver = std::thread::spawn(move || {
        let mut rx = DepthReceiver::new(config);
        let mut got = Vec::new();
        while got.len() < 20 {
            match rx.recv() {
                Ok(Some(f)) => got.push(f.params.frame_index),
                Ok(None) => break,
                Err(e) => panic!("{e}; {:?}", rx.stats()),
            }
        }
        (got, rx.stats().clone())
    });
    std::thread::sleep(Duration::from_millis(200));
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..3000 {
        let len = 16 + (i * 37) % 1300;
        let d: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        junk.send_to(&d, ("127.0.0.1", port)).unwrap();
    }
    // Then the real stream, paced at 30 fps, a keyframe every 10 frames.
    let src = frames(90);
    let c = PackingConfig::luma(BitDepth::Eight);
    let mut enc = DepthEncoder::new(settings(1_000_000, 10), &c, W, H, Some(&format!("{url}?pkt_size=1316"))).unwrap();
    let start = Instant::now();
    for (i, f) in src.iter().enumerate() {
        std::thread::sleep((start + Duration::from_millis(33 * i as u64)).saturating_duration_since(Instant::now()));
        enc.encode(&f.view(), &c, NEAR, FAR, &FrameMeta { frame_index: i as u32, ..FrameMeta::default() }).unwrap();
    }
    enc.finish().unwrap();
    let (got, stats) = receiver.join().unwrap();
    println!("received frames {got:?}; {stats:?}");
    assert_eq!(got.len(), 20, "the real stream arrived after the garbage: {stats:?}");
    assert!(got.windows(2).all(|w| w[1] > w[0]), "in order: {got:?}");
}

/// Every wait has a timeout that fires: nothing is sent to the port.
#[test]
fn the_receiver_times_out_with_a_clear_error() {
    let url = format!("udp://127.0.0.1:{}", free_udp_port());
    let config = ReceiverConfig {
        timeout: Duration::from_millis(1500),
        poll: Duration::from_millis(300),
        ..ReceiverConfig::new(url.clone())
    };
    let mut rx = DepthReceiver::new(config);
    let t = Instant::now();
    let err = rx.recv().expect_err("nothing was sent");
    let waited = t.elapsed();
    assert!(matches!(err, StreamError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5), "{waited:?}");
    // A file that does not exist fails at once rather than waiting.
    let mut rx = DepthReceiver::new(ReceiverConfig::new("/nonexistent/depthcast.ts"));
    assert!(!matches!(rx.recv(), Err(StreamError::Timeout { .. }) | Ok(_)));
}

/// The start-up probe measures real encodes of its shortlist and the 8-bit fallback; the
/// lowest measured error wins and then carries every frame.
#[test]
fn the_probe_fixes_the_measured_best() {
    let src = frames(20);
    let auto_settings =
        AutoSettings { codec: VideoCodec::H264, bits: BitDepth::Eight, bitrate: 150_000, fps: 30.0, gop: 10 };
    let mut auto = AutoPacking::new(&auto_settings, W, H).unwrap();
    let report = auto.probe(&src, NEAR, FAR, &settings(150_000, 10)).unwrap();
    println!("{report:?}");
    assert_eq!(report.frames, depthcast_precision_net::Probe::FRAMES);
    assert!(report.measured.iter().any(|(c, _)| *c == PackingConfig::luma(BitDepth::Eight)), "the fallback");
    let best = report.measured.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(report.winner, best.0);
    assert!(report.measured.iter().all(|(_, e)| e.is_finite() && *e > 0.0), "{report:?}");
    for f in &src {
        assert_eq!(auto.choose(&f.view()).unwrap(), report.winner);
    }
    assert_eq!(auto.summary(), vec![(report.winner, src.len() as u64)]);
    assert_eq!(auto.needs_regions_of_interest(&report.winner), report.winner.high_plane_qoffset().is_some());
}

/// `probe_also` (the Bevy sender's `probe_half`): the half-size set is encoded and measured
/// beside the shortlist and the fallback, each rebuilt at full size before it is measured; the
/// lowest measured error still wins, and a half-size winner carries every frame.
#[test]
fn the_probe_also_measures_the_half_size_set() {
    let src = frames(20);
    let auto_settings =
        AutoSettings { codec: VideoCodec::H264, bits: BitDepth::Eight, bitrate: 150_000, fps: 30.0, gop: 10 };
    let mut auto = AutoPacking::new(&auto_settings, W, H).unwrap();
    let half = PackingConfig::half_set(BitDepth::Eight);
    auto.probe_also(&half);
    auto.probe_also(&half); // once each
    let report = auto.probe(&src, NEAR, FAR, &settings(150_000, 10)).unwrap();
    println!("{report:?}");
    for c in &half {
        assert_eq!(report.measured.iter().filter(|(m, _)| m == c).count(), 1, "{c} measured once: {report:?}");
    }
    assert!(report.measured.iter().any(|(c, _)| *c == PackingConfig::luma(BitDepth::Eight)), "the fallback");
    assert!(report.measured.iter().all(|(_, e)| e.is_finite() && *e > 0.0), "{report:?}");
    let best = report.measured.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(report.winner, best.0);
    for f in &src {
        assert_eq!(auto.choose(&f.view()).unwrap(), report.winner);
    }
}

/// The probe across formats for a browser receiver: H.264 and AV1 at 8 and 10 bits, each with
/// its own luma fallback and scheme set (no regions of interest for AV1), every pair a real
/// encode; the lowest measured error wins.
#[test]
fn the_format_probe_measures_what_both_sides_support() {
    let src = frames(20);
    let s = settings(300_000, 10);
    let formats = stream_formats(&Format::ALL, &[Receiver::Chromium], &s).unwrap();
    assert_eq!(formats.len(), 4, "{formats:?}");
    let auto = AutoSettings { codec: VideoCodec::H264, bits: BitDepth::Eight, bitrate: 300_000, fps: 30.0, gop: 10 };
    let report = probe_formats_encoded(&src, &formats, &auto, ProbeSet::Schemes, NEAR, FAR, &s).unwrap();
    for m in &report.measured {
        println!("{:<8} {:<34} {:8.2} mm {:.2}x the bitrate", m.format, m.config, m.mae * 1e3, m.rate);
    }
    println!("winner {} {} in {:.2} s", report.format, report.winner, report.wall.as_secs_f64());
    assert_eq!(report.frames, depthcast_precision_net::Probe::FRAMES);
    for f in &formats {
        let mine: Vec<_> = report.measured.iter().filter(|m| m.format == *f).collect();
        assert!(mine.iter().any(|m| m.config == PackingConfig::luma(f.bits)), "{f}: its fallback");
        assert!(mine.len() >= 2, "{f}: the scheme set too");
        for c in PackingConfig::quick_set(f.bits) {
            let carried = f.codec != VideoCodec::Av1 || c.high_plane_qoffset().is_none();
            assert_eq!(mine.iter().any(|m| m.config == c), carried, "{f} {c}: the scheme set");
        }
        if f.codec == VideoCodec::Av1 {
            assert!(mine.iter().all(|m| m.config.high_plane_qoffset().is_none()), "{f}: no ROI for AV1");
        }
    }
    assert!(report.measured.iter().all(|m| m.mae.is_finite() && m.mae > 0.0 && m.rate > 0.1), "{report:?}");
    let best = report.measured.iter().filter(|m| m.holds_rate()).min_by(|a, b| a.mae.total_cmp(&b.mae)).unwrap();
    assert_eq!((report.format, report.winner), (best.format, best.config));
}

/// The choice itself, with made-up measurements: the lowest mean wins across formats, a pair that
/// lost a frame cannot win, and a failed measurement fails the probe.
#[test]
fn the_format_probe_keeps_the_lowest_mean_and_never_a_lost_frame() {
    let src = frames(15);
    let auto = AutoSettings { codec: VideoCodec::H264, bits: BitDepth::Eight, bitrate: 2_000_000, fps: 30.0, gop: 30 };
    let ten = Format::new(VideoCodec::H264, BitDepth::Ten);
    let luma10 = PackingConfig::luma(BitDepth::Ten);
    // 15 frames at 30 fps and 2 Mbit/s: 1 Mbit is the budget.
    let on_budget = 1_000_000;
    // h264-10 luma is best on average but loses one frame; h264-8 VBP P12 is next but spends
    // 1.5x the bitrate; h264-8 luma comes after.
    let vbp12 = PackingConfig::vbp(12, VbpLayout::Chroma);
    let measure = |f: Format, c: &PackingConfig| -> depthcast_stream::Result<ProbeEncode> {
        let (mut errors, mut bits) =
            (vec![if *c == PackingConfig::luma(f.bits) { 0.010 } else { 0.020 }; 15], on_budget);
        if f == ten && *c == luma10 {
            errors = vec![0.001; 15];
            errors[7] = f64::INFINITY;
        }
        if f == Format::H264_8 && *c == vbp12 {
            (errors, bits) = (vec![0.002; 15], on_budget * 3 / 2);
        }
        if f == Format::H264_8 && *c == PackingConfig::luma(BitDepth::Eight) {
            errors = vec![0.005; 15];
        }
        Ok(ProbeEncode { errors, bits })
    };
    let r = probe_formats(&src, &[Format::H264_8, ten], &auto, &measure).unwrap();
    assert_eq!((r.format, r.winner), (Format::H264_8, PackingConfig::luma(BitDepth::Eight)));
    assert!(r.measured.iter().any(|m| m.format == ten && m.config == luma10 && m.mae.is_infinite()));
    let over = r.measured.iter().find(|m| m.format == Format::H264_8 && m.config == vbp12).unwrap();
    assert!(!over.holds_rate() && (over.rate - 1.5).abs() < 1e-9, "{over:?}");
    // When no pair keeps the bitrate, the lowest error wins all the same.
    let all_over = |f: Format, c: &PackingConfig| -> depthcast_stream::Result<ProbeEncode> {
        Ok(ProbeEncode { bits: 2 * on_budget, ..measure(f, c)? })
    };
    let r = probe_formats(&src, &[Format::H264_8], &auto, &all_over).unwrap();
    assert_eq!(r.winner, vbp12);
    let fail = |_: Format, _: &PackingConfig| -> depthcast_stream::Result<ProbeEncode> {
        Err(StreamError::Probe("encoder gone".into()))
    };
    assert!(probe_formats(&src, &[ten], &auto, &fail).unwrap_err().to_string().contains("encoder gone"));
    assert!(probe_formats(&src, &[], &auto, &measure).is_err());
    // The default: the scheme set alone, one configuration of each scheme and nothing else.
    let r = probe_formats(&src, &[ten], &auto, &measure).unwrap();
    let measured: Vec<PackingConfig> = r.measured.iter().map(|m| m.config).collect();
    let mut set = PackingConfig::quick_set(BitDepth::Ten);
    assert_eq!(measured.len(), set.len(), "{measured:?}");
    set.retain(|c| !measured.contains(c));
    assert!(set.is_empty(), "missing {set:?}");
    // With the network: its three best-scored configurations on top.
    let r = probe_formats_among(&src, &[ten], &auto, ProbeSet::NetworkAndSchemes, &measure).unwrap();
    assert!(r.measured.len() > measured.len(), "{:?}", r.measured);
    // With the half-size set (native receivers): the scheme set, then the half-size pairs, which
    // win when they measure best.
    let half = |f: Format, c: &PackingConfig| -> depthcast_stream::Result<ProbeEncode> {
        let p = measure(f, c)?;
        Ok(if c.half { ProbeEncode { errors: vec![0.0005; 15], ..p } } else { p })
    };
    let r = probe_formats_among(&src, &[ten], &auto, ProbeSet::SchemesAndHalf, &half).unwrap();
    let got: Vec<PackingConfig> = r.measured.iter().map(|m| m.config).collect();
    assert_eq!(&got[..measured.len()], &measured[..]);
    assert_eq!(&got[measured.len()..], &PackingConfig::half_set(BitDepth::Ten)[..]);
    assert_eq!(r.winner, PackingConfig::luma(BitDepth::Ten).at_half(), "the first of equals wins");
}
