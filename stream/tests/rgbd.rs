//! RGB-D streams on real components (libx264, libavformat, loopback UDP and SRT): colour and
//! depth as two tracks of one transport, paired again by presentation time; a lost colour frame
//! gives a depth-only frame after a bounded wait; the depth receiver and the colour-only mode on
//! an RGB-D stream; RTMP refusing two tracks.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use depthcast_codec::{PacketSender, VideoCodec, has_protocol};
use depthcast_packing::{
    BitDepth, CameraBlock, CameraPose, DepthImage, Intrinsics, Metrics, PackingConfig, RgbImage, YuvFrame, testdata,
};
use depthcast_stream::{
    DepthReceiver, FrameMeta, ReceiverConfig, RgbdConfig, RgbdEncoder, RgbdFrame, RgbdReceiver, RgbdSettings,
    RgbdStats, RgbdTracks,
};

const W: u32 = 160;
const H: u32 = 96;
const NEAR: f32 = 0.5;
const FAR: f32 = 30.0;

/// A smooth colour picture that moves with `i`.
fn colour(i: usize) -> YuvFrame {
    let mut data = Vec::with_capacity((W * H * 3) as usize);
    let (cx, cy) = (20.0 + 3.0 * i as f32, 48.0);
    for y in 0..H {
        for x in 0..W {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            let blob = (255.0 * (-d * d / 400.0).exp()) as u8;
            data.extend([(x * 255 / W) as u8, blob, (y * 255 / H) as u8]);
        }
    }
    RgbImage { width: W, height: H, data }.to_yuv420(BitDepth::Eight)
}

fn depth(i: usize) -> DepthImage {
    testdata::game_scene(W, H, i as f32 / 30.0)
}

fn camera(i: usize) -> CameraBlock {
    let a = i as f32 * 0.01;
    CameraBlock {
        frame_index: 0, // the encoder numbers it like the frame
        pose: CameraPose { position: [0.1 * i as f32, 1.5, 4.0], rotation: [0.0, a.sin(), 0.0, a.cos()] },
        intrinsics: Intrinsics::from_fov_y(0.9, W, H, NEAR),
    }
}

fn settings(gop: u32) -> RgbdSettings {
    let mut s = RgbdSettings::new(VideoCodec::H264, 4_000_000);
    s.depth_share = 0.25;
    s.gop = gop;
    s.force_software = true;
    s.threads = 1;
    s
}

fn config() -> PackingConfig {
    PackingConfig::vbp_roi(16, -0.4)
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("depthcast-rgbd-{}-{name}", std::process::id()))
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Encodes `n` frames to `url`, paced at 30 fps when `pace`.
fn send(url: &str, n: usize, gop: u32, pace: bool) {
    let mut enc = RgbdEncoder::new(&settings(gop), &config(), W, H, Some(url)).unwrap();
    assert_eq!(enc.depth_frame_size(), (W, 2 * H));
    let start = Instant::now();
    for i in 0..n {
        if pace {
            std::thread::sleep(
                (start + Duration::from_millis(33 * i as u64)).saturating_duration_since(Instant::now()),
            );
        }
        let meta = FrameMeta { frame_index: i as u32, ..FrameMeta::default() };
        let e = enc.encode(&colour(i), &depth(i).view(), &config(), NEAR, FAR, &meta, &camera(i)).unwrap();
        assert_eq!(e.pts, i as i64);
        assert!(e.colour.iter().all(|p| p.camera.is_some_and(|c| c.frame_index == i as u32)));
    }
    let stats = enc.stats();
    assert_eq!((stats.colour.frames, stats.depth.frames), (n as u64, n as u64));
    assert!(stats.colour.bytes > 0 && stats.depth.bytes > 0);
    enc.finish().unwrap();
}

/// Mean absolute difference of the luma codes.
fn luma_mae(a: &YuvFrame, b: &YuvFrame) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.y.iter().zip(&b.y).map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs()).sum::<f64>() / a.y.len() as f64
}

/// Checks a received frame against what was sent: colour within codec error, depth unpacked,
/// the camera exactly.
fn check(f: &RgbdFrame) -> usize {
    let i = f.frame_index.expect("a frame index") as usize;
    let c = f.colour.as_ref().expect("colour");
    let mae = luma_mae(c, &colour(i));
    assert!(mae < 3.0, "frame {i}: colour luma MAE {mae} codes");
    let d = f.depth.as_ref().expect("depth");
    let m = Metrics::compute(&depth(i).view(), &d.view(), NEAR, FAR);
    assert!(m.mae < 0.03, "frame {i}: depth MAE {} m", m.mae);
    assert_eq!(f.camera, Some(CameraBlock { frame_index: i as u32, ..camera(i) }), "frame {i}");
    assert!(f.latency_ms().is_some(), "the send time travels in-band");
    i
}

fn receive_all(rx: &mut RgbdReceiver, want: usize) -> Vec<RgbdFrame> {
    let mut got = Vec::new();
    while got.len() < want {
        match rx.recv() {
            Ok(Some(f)) => got.push(f),
            Ok(None) => break,
            Err(e) => panic!("{e}; {:?} {:?}", rx.stats(), rx.receiver_stats()),
        }
    }
    got
}

#[test]
fn two_tracks_through_ts_and_mkv_files() {
    for ext in ["ts", "mkv"] {
        let path = temp(&format!("files.{ext}"));
        let url = path.to_string_lossy().into_owned();
        send(&url, 30, 10, false);
        let mut rx = RgbdReceiver::new(RgbdConfig::new(url.clone()));
        let got = receive_all(&mut rx, usize::MAX);
        let s = rx.stats().clone();
        println!("{ext}: {s:?}; mean pair wait {:.2} ms", s.pair_wait_ms_mean());
        assert_eq!(got.len(), 30, "{ext}: {s:?} {:?}", rx.receiver_stats());
        let order: Vec<usize> = got.iter().map(check).collect();
        assert_eq!(order, (0..30).collect::<Vec<_>>(), "{ext}: in order");
        assert_eq!((s.paired, s.colour_only, s.depth_only, s.late), (30, 0, 0, 0), "{ext}");
        assert!(got.windows(2).all(|w| w[1].pts_us > w[0].pts_us));
        assert!(matches!(rx.recv(), Ok(None)), "a file ends for good");
        if ext == "ts" {
            probe_colour_track(&path);
        }
        std::fs::remove_file(&path).ok();
    }
}

/// What a standard player sees: with ffprobe on the machine, the first video stream is the
/// colour, signalled as full-range BT.709.
fn probe_colour_track(path: &std::path::Path) {
    let Ok(out) = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg("stream=index,width,height,color_range,color_space,color_primaries,color_transfer")
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output()
    else {
        println!("no ffprobe: the colour description is not checked");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    println!("ffprobe v:0: {text}");
    for want in [
        "width=160",
        "height=96",
        "color_range=pc",
        "color_space=bt709",
        "color_primaries=bt709",
        "color_transfer=bt709",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
}

/// Receives on `url` in a thread while `send` runs, until the stream ends; every frame handed
/// out must be paired.
fn live(rx_url: &str, tx_url: &str, listen_first: bool) {
    let config = RgbdConfig {
        receiver: ReceiverConfig {
            timeout: Duration::from_secs(20),
            poll: Duration::from_millis(500),
            reopen: false,
            ..ReceiverConfig::new(rx_url)
        },
        ..RgbdConfig::new(rx_url)
    };
    let receiver = std::thread::spawn(move || {
        let mut rx = RgbdReceiver::new(config);
        let got = receive_all(&mut rx, usize::MAX);
        (got, rx.stats().clone())
    });
    std::thread::sleep(Duration::from_millis(if listen_first { 500 } else { 200 }));
    send(tx_url, 60, 10, true);
    let (got, stats) = receiver.join().unwrap();
    let latency = got.iter().filter_map(RgbdFrame::latency_ms).sum::<f64>() / got.len() as f64;
    println!(
        "{rx_url}: {} frames; {stats:?}; mean pair wait {:.2} ms; mean send-to-pair latency {latency:.1} ms",
        got.len(),
        stats.pair_wait_ms_mean()
    );
    assert!(got.len() >= 50, "{stats:?}");
    let order: Vec<usize> = got.iter().map(check).collect();
    assert!(order.windows(2).all(|w| w[1] == w[0] + 1), "consecutive: {order:?}");
    // SRT drops what its receive buffer still holds (its latency window) when the caller
    // closes, so the last frames may not arrive.
    assert!(*order.last().unwrap() >= 50, "to the end");
    assert_eq!((stats.paired, stats.colour_only, stats.depth_only), (got.len() as u64, 0, 0));
}

#[test]
fn two_tracks_over_udp() {
    let url = format!("udp://127.0.0.1:{}", free_udp_port());
    live(&url, &format!("{url}?pkt_size=1316"), false);
}

#[test]
fn two_tracks_over_srt() {
    if !has_protocol("srt") {
        println!("this FFmpeg has no SRT: skipped");
        return;
    }
    let port = free_udp_port();
    live(&format!("srt://127.0.0.1:{port}?mode=listener"), &format!("srt://127.0.0.1:{port}?mode=caller"), true);
}

/// Encodes `n` frames without a transport and writes them to `url` itself, without the colour
/// packets of the frames in `drop`, paced when `pace`.
fn send_dropping_colour(url: &str, n: usize, drop: &[usize], pace: bool) {
    let mut enc = RgbdEncoder::new(&settings(10), &config(), W, H, None).unwrap();
    let mut tx = PacketSender::open_tracks(url, &[enc.colour_encoder(), enc.depth_encoder()]).unwrap();
    let start = Instant::now();
    for i in 0..n {
        if pace {
            std::thread::sleep(
                (start + Duration::from_millis(33 * i as u64)).saturating_duration_since(Instant::now()),
            );
        }
        let meta = FrameMeta { frame_index: i as u32, ..FrameMeta::default() };
        let e = enc.encode(&colour(i), &depth(i).view(), &config(), NEAR, FAR, &meta, &camera(i)).unwrap();
        if !drop.contains(&i) {
            e.colour.iter().for_each(|p| tx.send_track(0, p).unwrap());
        }
        e.depth.packets.iter().for_each(|p| tx.send_track(1, p).unwrap());
    }
    tx.finish().unwrap();
}

/// The depth-only frames are exactly the dropped ones; everything else is paired.
fn check_drops(got: &[RgbdFrame], stats: &RgbdStats, drop: &[usize]) {
    for f in got {
        let i = f.frame_index.unwrap() as usize;
        if drop.contains(&i) {
            assert!(f.colour.is_none() && f.depth.is_some(), "frame {i} is depth-only");
            assert_eq!(f.camera, Some(CameraBlock { frame_index: i as u32, ..camera(i) }), "from the depth track");
        } else {
            check(f);
        }
    }
    assert_eq!(stats.depth_only, drop.len() as u64, "{stats:?}");
    assert_eq!(stats.colour_only, 0, "{stats:?}");
    assert_eq!(stats.paired + stats.depth_only, got.len() as u64);
}

#[test]
fn a_lost_colour_frame_is_handed_out_depth_only() {
    // In a file: the frame before a keyframe, so the colour decoder loses no other frame; the
    // colour track moving past it releases the depth at once.
    let path = temp("drop.ts");
    let url = path.to_string_lossy().into_owned();
    send_dropping_colour(&url, 30, &[19], false);
    let mut rx = RgbdReceiver::new(RgbdConfig::new(url));
    let got = receive_all(&mut rx, usize::MAX);
    let stats = rx.stats().clone();
    println!("file: {stats:?}");
    assert_eq!(got.len(), 30);
    check_drops(&got, &stats, &[19]);
    std::fs::remove_file(&path).ok();

    // Live: fifteen colour frames lost in a row (the colour stalls for 500 ms, far beyond the
    // 100 ms pair timeout, so that a loaded machine's delays cannot pass for honouring it); each
    // waits at most the pair timeout.
    let url = format!("udp://127.0.0.1:{}", free_udp_port());
    let timeout = Duration::from_millis(100);
    let config = RgbdConfig {
        receiver: ReceiverConfig {
            poll: Duration::from_millis(200),
            reopen: false,
            ..ReceiverConfig::new(url.clone())
        },
        pair_timeout: timeout,
        ..RgbdConfig::new(url.clone())
    };
    let receiver = std::thread::spawn(move || {
        let mut rx = RgbdReceiver::new(config);
        let got = receive_all(&mut rx, usize::MAX);
        (got, rx.stats().clone())
    });
    std::thread::sleep(Duration::from_millis(200));
    let drop: Vec<usize> = (35..50).collect();
    send_dropping_colour(&format!("{url}?pkt_size=1316"), 60, &drop, true);
    let (got, stats) = receiver.join().unwrap();
    let alone: Vec<_> = got.iter().filter(|f| f.colour.is_none()).map(|f| (f.frame_index, f.pair_wait_ms)).collect();
    println!("udp: {stats:?}; depth-only {alone:?}");
    assert!(got.len() >= 50, "{stats:?}");
    assert_eq!(got.last().unwrap().frame_index, Some(59));
    assert_eq!(stats.late, 0, "{stats:?}");
    let first = got[0].frame_index.unwrap() as usize;
    assert!(first <= 10, "joined at frame {first}");
    let lost: Vec<usize> = drop.iter().copied().filter(|&i| i >= first).collect();
    check_drops(&got, &stats, &lost);
    assert!(stats.pair_timeouts >= 1, "the stalled colour is not waited for beyond the timeout: {stats:?}");
    let bound = timeout.as_secs_f64() * 1e3 + 250.0;
    assert!(stats.pair_wait_ms_max < bound, "longest wait {} ms, bound {bound} ms", stats.pair_wait_ms_max);
}

#[test]
fn depth_receiver_and_single_track_modes_on_an_rgbd_stream() {
    let path = temp("modes.mkv");
    let url = path.to_string_lossy().into_owned();
    send(&url, 20, 10, false);
    // The depth receiver decodes the depth track only.
    let mut rx = DepthReceiver::new(ReceiverConfig::new(url.clone()));
    let mut n = 0;
    while let Some(f) = rx.recv().unwrap() {
        let i = f.params.frame_index as usize;
        assert_eq!(i, n);
        assert_eq!(f.camera, Some(CameraBlock { frame_index: i as u32, ..camera(i) }));
        assert!(Metrics::compute(&depth(i).view(), &f.depth.view(), NEAR, FAR).mae < 0.03);
        n += 1;
    }
    let s = rx.stats();
    assert_eq!((n, s.frames, s.gaps, s.invalid_params, s.decode_errors), (20, 20, 0, 0, 0), "{s:?}");
    // Colour only: no depth decoded.
    let config = RgbdConfig { tracks: RgbdTracks::ColourOnly, ..RgbdConfig::new(url.clone()) };
    let mut rx = RgbdReceiver::new(config);
    let got = receive_all(&mut rx, usize::MAX);
    assert_eq!(got.len(), 20);
    for (k, f) in got.iter().enumerate() {
        assert!(f.depth.is_none() && f.params.is_none());
        assert_eq!(f.camera, Some(CameraBlock { frame_index: k as u32, ..camera(k) }), "from the colour track");
        assert!(luma_mae(f.colour.as_ref().unwrap(), &colour(k)) < 3.0);
    }
    assert_eq!((rx.stats().colour_only, rx.stats().depth_frames), (20, 0), "{:?}", rx.stats());
    // Depth only.
    let config = RgbdConfig { tracks: RgbdTracks::DepthOnly, ..RgbdConfig::new(url) };
    let mut rx = RgbdReceiver::new(config);
    let got = receive_all(&mut rx, usize::MAX);
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|f| f.colour.is_none() && f.depth.is_some()));
    assert_eq!((rx.stats().depth_only, rx.stats().colour_frames), (20, 0), "{:?}", rx.stats());
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_depth_only_stream_gives_depth_only_rgbd_frames() {
    let path = temp("old.ts");
    let url = path.to_string_lossy().into_owned();
    let mut s = depthcast_codec::EncoderSettings::new(VideoCodec::H264, W, H);
    s.force_software = true;
    let mut enc = depthcast_stream::DepthEncoder::new(s, &config(), W, H, Some(&url)).unwrap();
    for i in 0..10 {
        enc.encode(&depth(i).view(), &config(), NEAR, FAR, &FrameMeta { frame_index: i as u32, ..Default::default() })
            .unwrap();
    }
    enc.finish().unwrap();
    let mut rx = RgbdReceiver::new(RgbdConfig::new(url));
    let got = receive_all(&mut rx, usize::MAX);
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|f| f.colour.is_none() && f.depth.is_some() && f.camera.is_none()));
    assert_eq!(rx.stats().depth_only, 10);
    std::fs::remove_file(&path).ok();
}

#[test]
fn rtmp_refuses_two_tracks() {
    let url = "rtmp://127.0.0.1:1/live/rgbd";
    let err = RgbdEncoder::new(&settings(10), &config(), W, H, Some(url)).unwrap_err().to_string();
    assert!(err.contains("one video track"), "{err}");
    // The transport itself refuses too, before connecting.
    let mut s = settings(10);
    s.force_software = true;
    let enc = RgbdEncoder::new(&s, &config(), W, H, None).unwrap();
    let err = PacketSender::open_tracks(url, &[enc.colour_encoder(), enc.depth_encoder()]).unwrap_err().to_string();
    assert!(err.contains("RTMP/FLV carries one video track"), "{err}");
}

/// A sender that restarts (its timestamps start again) on the same UDP port: the receiver pairs
/// the second stream too, and nothing of it counts as late.
#[test]
fn a_restarted_sender_is_paired_again() {
    let url = format!("udp://127.0.0.1:{}", free_udp_port());
    let config = RgbdConfig {
        receiver: ReceiverConfig { poll: Duration::from_millis(300), ..ReceiverConfig::new(url.clone()) },
        ..RgbdConfig::new(url.clone())
    };
    let receiver = std::thread::spawn(move || {
        let mut rx = RgbdReceiver::new(config);
        let got = receive_all(&mut rx, 45);
        (got, rx.stats().clone())
    });
    std::thread::sleep(Duration::from_millis(200));
    let tx = format!("{url}?pkt_size=1316");
    send(&tx, 30, 10, true);
    send(&tx, 30, 10, true);
    let (got, stats) = receiver.join().unwrap();
    println!("restart: {stats:?}");
    assert_eq!(got.len(), 45, "{stats:?}");
    got.iter().for_each(|f| {
        check(f);
    });
    assert_eq!((stats.paired, stats.late, stats.restarts), (45, 0, 1), "{stats:?}");
    let restarts = got.windows(2).filter(|w| w[1].frame_index < w[0].frame_index).count();
    assert_eq!(restarts, 1, "the second stream's frames follow the first's");
}

/// The colour of a half-size test: luma falls with depth, so every depth edge is a colour edge.
fn colour_of_depth(d: &DepthImage) -> YuvFrame {
    let mut c = YuvFrame::new(W, H, BitDepth::Eight);
    for (y, &z) in c.y.iter_mut().zip(&d.data) {
        *y = if depthcast_packing::is_valid_depth(z) { (240.0 - 8.0 * z).clamp(16.0, 240.0) as u16 } else { 0 };
    }
    c
}

#[test]
fn a_half_size_map_is_rebuilt_with_its_colour_as_the_guide() {
    let path = temp("half.mkv");
    let url = path.to_string_lossy().into_owned();
    let config = PackingConfig::luma(BitDepth::Eight).at_half();
    let n = 20;
    let mut enc = RgbdEncoder::new(&settings(10), &config, W, H, Some(&url)).unwrap();
    assert_eq!(enc.depth_frame_size(), (W / 2, H / 2), "the depth track is half size");
    for i in 0..n {
        let meta = FrameMeta { frame_index: i as u32, ..FrameMeta::default() };
        let d = depth(i);
        enc.encode(&colour_of_depth(&d), &d.view(), &config, NEAR, FAR, &meta, &camera(i)).unwrap();
    }
    enc.finish().unwrap();
    // RGB-D receiver: full size, guided by the colour (which comes first in each frame's pair).
    let mut rx = RgbdReceiver::new(RgbdConfig::new(url.clone()));
    let got = receive_all(&mut rx, usize::MAX);
    let s = rx.stats().clone();
    assert_eq!((got.len(), s.paired, s.depth_guided), (n, n as u64, n as u64), "{s:?}");
    let mut guided = Vec::new();
    for f in &got {
        let (i, d) = (f.frame_index.unwrap() as usize, f.depth.as_ref().unwrap());
        assert_eq!((d.width, d.height), (W, H));
        assert!(f.params.unwrap().half);
        guided.push(Metrics::compute(&depth(i).view(), &d.view(), NEAR, FAR));
    }
    // Depth receiver on the same file: full size, rebuilt without a guide.
    let mut rx = DepthReceiver::new(ReceiverConfig::new(url));
    let mut unguided = Vec::new();
    while let Some(f) = rx.recv().unwrap() {
        assert_eq!((f.depth.width, f.depth.height), (W, H));
        unguided.push(Metrics::compute(&depth(f.params.frame_index as usize).view(), &f.depth.view(), NEAR, FAR));
    }
    assert_eq!(unguided.len(), n);
    let mean = |m: &[Metrics], f: fn(&Metrics) -> f64| m.iter().map(f).sum::<f64>() / m.len() as f64;
    let (g, u) = (mean(&guided, |m| m.mae), mean(&unguided, |m| m.mae));
    let mislabelled = |m: &Metrics| (m.valid_to_invalid + m.invalid_to_valid) as f64;
    let (gl, ul) = (mean(&guided, mislabelled), mean(&unguided, mislabelled));
    println!(
        "half size: MAE {:.1} mm guided, {:.1} mm unguided; mislabelled pixels {gl:.1} / {ul:.1}",
        g * 1e3,
        u * 1e3
    );
    // The guide puts edge pixels on their side: less error, fewer pixels on the wrong side of
    // the sky's edge.
    assert!(g < u && gl <= ul, "guided {g} m {gl} px, unguided {u} m {ul} px");
    assert!(g < 0.1, "guided MAE {g} m");
    std::fs::remove_file(&path).ok();
}
