//! The sender plugin end to end on real components: CornellBox rendered headless at 320x240,
//! depth captured and packed on the GPU (VBP luma layout, P = 16, ROI), encoded by libx264 on the
//! encoder thread and written to an MPEG-TS file; the file is then decoded with the in-band
//! parameters and unpacked. Checks: frames were sent, every decoded frame carries its parameters,
//! and the depth at the image centre is the back wall's (359.2 m, computed from the glTF as in
//! `smoke.rs`) within the error a 2 Mbit/s stream at this size allows (0.5 m; one P16 step over
//! the range is under 1 cm). Skips (printing why) when the scene is absent.

use std::path::PathBuf;

use bevy::math::Vec3;
use depthcast_codec::{PacketReceiver, ReceiverOptions, VideoCodec};
use depthcast_packing::{BitDepth, DepthImage, Packer, PackingConfig, Scheme, VbpLayout};
use depthcast_plugin::{DepthSender, DepthSenderPlugin, DepthSenderSettings, DepthSenderStats};
use depthcast_scene::{CameraPath, SceneRenderConfig, SceneRenderer};

const WALL_Z: f32 = -279.599_95 + -279.600_07;

#[test]
fn sender_plugin_streams_decodable_depth() {
    let Some(stats) = stream(Mode::Fixed, "fixed") else { return };
    assert_eq!(stats.predict_us, 0.0, "the fixed configuration runs no predictor");
    let current = stats.current.expect("a configuration");
    assert_eq!((current.scheme, current.precision, current.layout), (Scheme::Vbp, 16, VbpLayout::Luma));
}

/// precision-net chooses the configuration: it must be one of the model's candidates, keep one
/// frame size, and the stream must decode just as well.
///
/// The fixed settings are a triangle-wave configuration, which is not among the candidates: the
/// stream must not use it.
#[test]
fn sender_plugin_with_the_predictor() {
    let Some(stats) = stream(Mode::Predictor, "auto") else { return };
    assert!(stats.predict_us > 0.0, "the predictor ran");
    let current = stats.current.expect("a configuration");
    assert!(matches!(current.scheme, Scheme::Vbp | Scheme::LumaOnly), "{current:?}");
    let model = depthcast_precision_net::QuantMlp::from_bytes(depthcast_precision_net::models::INT8).expect("model");
    let id = match current.scheme {
        Scheme::LumaOnly => format!("luma-P{}-", current.precision),
        _ => format!("vbp-{}-P{}-", current.layout.name(), current.precision),
    };
    assert!(
        model.metadata_list("candidates").iter().any(|c| c.starts_with(&id)),
        "{id} is not one of the model's candidates"
    );
}

/// precision-net with the start-up probe (the Bevy sender's `auto` default): the first frames
/// are packed on the CPU with the network's shortlist, 8-bit luma and the half-size set, encoded
/// and measured; the winner carries the whole stream, which starts once the probe is done.
#[test]
fn sender_plugin_with_the_start_up_probe() {
    let Some(stats) = stream_with(Mode::Probe, "probe", BitDepth::Eight) else { return };
    let measured = stats.probe.clone().expect("the probe ran");
    let winner = stats.probe_winner.clone().expect("a winner");
    println!("probe: {measured:?} -> {winner} in {:?} ms", stats.probe_ms);
    assert!(measured.len() >= 2, "a shortlist was measured: {measured:?}");
    assert!(measured.iter().any(|(id, _)| id == "luma-P8-lin"), "the 8-bit fallback is measured");
    // `probe_half` (the default): the half-size set too.
    for c in PackingConfig::half_set(BitDepth::Eight) {
        assert!(measured.iter().any(|(id, _)| *id == c.id()), "{c} is measured: {measured:?}");
    }
    let best = measured.iter().min_by(|a, b| a.1.total_cmp(&b.1)).expect("measured");
    assert_eq!(winner, best.0, "the lowest measured error wins");
    let c: PackingConfig = winner.parse().expect("an id");
    let current = stats.current.expect("a configuration");
    assert_eq!(
        (current.scheme, current.precision, current.layout, current.half),
        (c.scheme, c.precision, c.layout, c.half)
    );
    assert_eq!(stats.predict_us, 0.0, "the winner carries the stream: no per-frame prediction");
}

/// The keyframe re-probe (`reprobe`): the start-up probe measures the scheme set and the
/// half-size set with their bitrates, and while the stream runs the re-probe's rounds measure
/// them again over the last GOP; the camera approaches the box and backs off, so the stream
/// moves, the encoder thread reopening its encoder, and the whole stream still decodes.
#[test]
fn sender_plugin_with_the_keyframe_reprobe() {
    let Some(stats) = stream_with(Mode::Reprobe, "reprobe", BitDepth::Eight) else { return };
    let measured = stats.probe.clone().expect("the probe ran");
    for c in PackingConfig::quick_set(BitDepth::Eight).into_iter().chain(PackingConfig::half_set(BitDepth::Eight)) {
        assert!(measured.iter().any(|(id, _)| *id == c.id()), "{c} is measured: {measured:?}");
    }
    assert!(stats.reprobe_rounds >= 1, "{stats:?}");
    assert_eq!(stats.reprobe_round_pairs, measured.len(), "every pair in every round: {stats:?}");
    assert!(stats.reprobe_switches >= 1, "the stream moved: {stats:?}");
    assert_eq!(stats.reopens, stats.reprobe_switches as u64, "every move reopened the encoder");
    // The rounds after the first measure the stream's own configuration from its packets
    // (`reprobe_from_stream`, on by default), matched to the captured depth across threads: the
    // last round has every configuration, the stream's among them (a round whose measurement of
    // the stream came back empty would lack it), each over whole frames. A frame dropped on the
    // way may leave the stream out of a round rightly, so that is checked only without drops.
    assert!(stats.reprobe_stream_ms.is_some_and(|ms| ms > 0.0), "{stats:?}");
    let last = &stats.reprobe_last_round;
    assert!(last.iter().all(|(_, mae, rate)| mae.is_finite() && *rate > 0.0), "{last:?}");
    println!(
        "last round: {} configurations, the stream's over {:?} frames (after a move: {}); dropped {}, held back {}",
        last.len(),
        stats.reprobe_stream_frames,
        stats.reprobe_after_move,
        stats.dropped,
        stats.reprobe_held_back
    );
    if stats.dropped == 0 && stats.reprobe_held_back == 0 {
        assert_eq!(last.len(), measured.len(), "{last:?}");
        // The stream's keyframes stay where the rounds start, moves or not: a round that did not
        // begin with a move measures the stream over its whole GOP.
        if !stats.reprobe_after_move {
            let gop = DepthSenderPlugin::default().gop as usize;
            assert_eq!(stats.reprobe_stream_frames, Some(gop), "{stats:?}");
        }
    }
}

/// Every scheme goes through the GPU: hue, triangle waves whose period is not a power of two
/// (sent with the configured period, not replaced by the default), and a map sent at half size
/// (the GPU reads every other depth of every other row; the stream's frames are half size and
/// decode, rebuilt, at full size).
#[test]
fn sender_plugin_streams_hue_any_triangle_period_and_half_size() {
    for (tag, config) in [
        ("hue", PackingConfig::hue()),
        ("triangle", PackingConfig::triangle(16, 3000, BitDepth::Eight)),
        ("half", PackingConfig::luma(BitDepth::Eight).at_half()),
    ] {
        let Some(stats) = stream_with(Mode::Config(config), tag, BitDepth::Eight) else { return };
        let current = stats.current.expect("a configuration");
        assert_eq!((current.scheme, current.half), (config.scheme, config.half), "{tag}");
        assert_eq!((current.width, current.height), (320, 240), "{tag}: the full size in-band");
        if config.scheme == Scheme::Triangle {
            assert_eq!(current.period, 3000);
        }
    }
}

/// The plugin's bit depth reaches the packing: a 10-bit stream decodes like the 8-bit one.
#[test]
fn sender_plugin_streams_ten_bit_planes() {
    let Some(stats) = stream_with(Mode::Fixed, "ten", BitDepth::Ten) else { return };
    let current = stats.current.expect("a configuration");
    assert_eq!(current.bit_depth, BitDepth::Ten);
}

/// How the sender chooses its configuration.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The default fixed configuration.
    Fixed,
    /// This fixed configuration.
    Config(PackingConfig),
    /// precision-net per frame, no probe.
    Predictor,
    /// precision-net's start-up probe.
    Probe,
    /// The start-up probe and the keyframe re-probe.
    Reprobe,
}

/// Streams 45 updates (with the probe, 45 after it has chosen: the frames it measures are not
/// sent) of CornellBox to a file, decodes and checks it; returns the sender's stats (`None`: the
/// scene is absent, the test is skipped).
fn stream(mode: Mode, tag: &str) -> Option<DepthSenderStats> {
    stream_with(mode, tag, BitDepth::Eight)
}

fn stream_with(mode: Mode, tag: &str, bit_depth: BitDepth) -> Option<DepthSenderStats> {
    let auto = matches!(mode, Mode::Predictor | Mode::Probe | Mode::Reprobe);
    let probe = matches!(mode, Mode::Probe | Mode::Reprobe);
    let scene = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/scenes/CornellBox.glb");
    if !scene.is_file() {
        println!("SKIPPED: {} not found (shared/ must sit beside the checkout)", scene.display());
        return None;
    }
    let dir = std::env::temp_dir().join(format!("depthcast-sender-test-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = dir.join("depth.ts").to_string_lossy().into_owned();
    let eye = Vec3::new(-278.0, 450.0, -200.0);
    let mut cfg = SceneRenderConfig::new(&scene);
    (cfg.width, cfg.height) = (320, 240);
    cfg.path = CameraPath::Fixed { eye, target: eye + Vec3::NEG_Z };
    if mode == Mode::Reprobe {
        // Towards the box and back (0.35 to 1.1 times the framing distance, every 6 s): the
        // start-up probe's winner does not stay the best.
        cfg.path = CameraPath::Approach;
    }
    // Bevy's log plugin may be installed once per process (the tests share one).
    cfg.log = tag == "fixed";
    cfg.sender = Some(DepthSenderPlugin {
        url: url.clone(),
        codec: VideoCodec::H264,
        // The re-probe's stream at a rate where the best configuration changes with distance.
        bitrate: if mode == Mode::Reprobe { 200_000 } else { 2_000_000 },
        bit_depth,
        force_software: true,
        ..Default::default()
    });
    let mut r = SceneRenderer::new(cfg).unwrap_or_else(|e| panic!("{e}"));
    let camera = r.camera();
    r.app_mut().world_mut().entity_mut(camera).insert(DepthSender);
    {
        let mut settings = r.app_mut().world_mut().resource_mut::<DepthSenderSettings>();
        settings.auto = auto;
        settings.probe = probe;
        settings.reprobe = mode == Mode::Reprobe;
        // Every configuration in every round, whatever the timing: `Fit` sizes rounds from the
        // time the last GOP took (lavapipe renders a few frames a second, so most would fit),
        // and the move this test waits for should not hang on the machine's load.
        settings.reprobe_pairs = depthcast_plugin::RoundPairs::Every;
        if auto {
            // Not a candidate of the model: with `auto` the stream must not use it.
            settings.config = PackingConfig::triangle(16, 0, BitDepth::Eight);
        }
        if let Mode::Config(config) = mode {
            settings.config = config;
        }
    }
    // 45 updates of streaming; with the probe, they count from when it has chosen (its encodes run
    // on a worker thread while the app goes on, as a game's frames would), at most 400 in all.
    // With the re-probe, until it has moved the stream and measured a round after that (at most
    // 1500 updates: its rounds run on one core beside the app, so when they end varies).
    let (mut streaming, mut updates) = (0, 0);
    let reprobed = |r: &mut SceneRenderer| {
        let s = r.app_mut().world().resource::<DepthSenderStats>();
        mode != Mode::Reprobe || (s.reprobe_switches > 0 && s.reprobe_rounds > 2)
    };
    while (streaming < 45 && updates < 400) || (!reprobed(&mut r) && updates < 1500) {
        let probing = probe && r.app_mut().world().resource::<DepthSenderStats>().probe.is_none();
        if probing {
            std::thread::sleep(std::time::Duration::from_millis(20));
        } else {
            streaming += 1;
        }
        r.app_mut().update();
        updates += 1;
    }
    let stats = r.app_mut().world().resource::<DepthSenderStats>().clone();
    println!("{tag}: {stats:?}");
    assert_eq!(stats.error, None);
    assert!(stats.frames_sent >= 30, "{} frames sent", stats.frames_sent);
    drop(r); // closes the stream: the encoder thread flushes and writes the trailer

    let mut rx = PacketReceiver::open(&url, &ReceiverOptions::default()).expect("open the stream");
    let mut dec = rx.decoder().expect("decoder");
    let mut packer = Packer::default();
    let mut depth = DepthImage::new(1, 1);
    let (mut decoded, mut worst) = (0u64, 0f32);
    let mut sizes = std::collections::BTreeSet::new();
    let expected = eye.z - WALL_Z;
    while let Some(pkt) = rx.read_packet().expect("read") {
        for f in dec.decode(&pkt.data, pkt.pts).expect("decode") {
            let f = f.expect("frame");
            let p = f.params.expect("in-band parameters").params;
            sizes.insert(p.frame_size());
            packer.unpack_into(&f.frame, &p, &mut depth).expect("unpack");
            for y in 110..130 {
                for x in 150..170 {
                    worst = worst.max((depth.data[y * 320 + x] - expected).abs());
                }
            }
            decoded += 1;
        }
    }
    println!("decoded {decoded} frames; worst centre error {worst:.3} m (expected {expected:.2} m)");
    assert!(decoded + 2 >= stats.frames_sent, "sent {} decoded {decoded}", stats.frames_sent);
    // The re-probe's camera moves: its centre is not the back wall.
    if mode != Mode::Reprobe {
        assert!(worst < 0.5, "centre depth off by {worst} m");
    }
    println!("frame sizes: {sizes:?}");
    if stats.reopens == 0 {
        assert_eq!(sizes.len(), 1, "one frame size per stream: {sizes:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
    Some(stats)
}
