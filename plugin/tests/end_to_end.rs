//! Sender plugin → loopback UDP (MPEG-TS, libx264) → receiver plugin, headless on the software
//! adapter: CornellBox at 320x240 with a fixed camera, so every received frame's centre must show
//! the back wall at 359.2 m. The receiver starts first; the sender is restarted mid-stream (a new
//! app, its frame indices starting again) and the receiver keeps receiving. Frames are matched
//! by their in-band frame index and send time. Skips when the scene is absent.

use std::path::PathBuf;
use std::time::Duration;

use bevy::math::Vec3;
use bevy::prelude::*;
use depthcast_codec::VideoCodec;
use depthcast_plugin::receiver::{DepthReceiverPlugin, ReceivedDepth};
use depthcast_plugin::{DepthSender, DepthSenderPlugin, DepthSenderStats};
use depthcast_scene::{CameraPath, SceneRenderConfig, SceneRenderer};

const WALL_Z: f32 = -279.599_95 + -279.600_07;

fn sender(scene: &PathBuf, url: &str, eye: Vec3, log: bool) -> SceneRenderer {
    let mut cfg = SceneRenderConfig::new(scene);
    (cfg.width, cfg.height, cfg.log) = (320, 240, log);
    cfg.path = CameraPath::Fixed { eye, target: eye + Vec3::NEG_Z };
    cfg.sender = Some(DepthSenderPlugin {
        url: url.into(),
        codec: VideoCodec::H264,
        bitrate: 2_000_000,
        force_software: true,
        gop: 10,
        ..Default::default()
    });
    let mut r = SceneRenderer::new(cfg).unwrap_or_else(|e| panic!("{e}"));
    let camera = r.camera();
    r.app_mut().world_mut().entity_mut(camera).insert(DepthSender);
    r
}

/// (frame index, sent µs, worst centre error in m) of each frame the receiver applied.
fn poll(rx: &mut App, seen: &mut Vec<(u32, u64, f32)>, expected: f32) {
    rx.update();
    let d = rx.world().resource::<ReceivedDepth>();
    let Some(p) = d.params else { return };
    if seen.last().is_some_and(|s| s.0 == p.frame_index && Some(s.1) == d.sent_unix_us) {
        return;
    }
    let mut worst = 0f32;
    for y in 110..130u32 {
        for x in 150..170u32 {
            worst = worst.max((d.depth.data[(y * 320 + x) as usize] - expected).abs());
        }
    }
    seen.push((p.frame_index, d.sent_unix_us.unwrap_or(0), worst));
}

#[test]
fn sender_to_receiver_over_udp_with_a_sender_restart() {
    let scene = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/scenes/CornellBox.glb");
    if !scene.is_file() {
        println!("SKIPPED: {} not found (shared/ must sit beside the checkout)", scene.display());
        return;
    }
    let port = 20_000 + std::process::id() % 20_000;
    let url = format!("udp://127.0.0.1:{port}");
    let eye = Vec3::new(-278.0, 450.0, -200.0);
    let expected = eye.z - WALL_Z;

    // The receiver first: nothing is sending yet.
    let mut rx = DepthReceiverPlugin { url: format!("{url}?timeout=500000"), ..Default::default() }.headless_app();
    for _ in 0..5 {
        rx.update();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(rx.world().resource::<ReceivedDepth>().frames, 0);

    let mut seen = Vec::new();
    let mut first = sender(&scene, &format!("{url}?pkt_size=1316"), eye, true);
    for _ in 0..40 {
        first.app_mut().update();
        poll(&mut rx, &mut seen, expected);
    }
    let sent_first = first.app_mut().world().resource::<DepthSenderStats>().frames_sent;
    drop(first);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(10));
        poll(&mut rx, &mut seen, expected);
    }
    let before_restart = seen.len();

    let mut second = sender(&scene, &format!("{url}?pkt_size=1316"), eye, false);
    for _ in 0..40 {
        second.app_mut().update();
        poll(&mut rx, &mut seen, expected);
    }
    drop(second);
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(10));
        poll(&mut rx, &mut seen, expected);
    }
    let d = rx.world().resource::<ReceivedDepth>();
    println!(
        "first sender sent {sent_first}; receiver: {} frames ({} before the restart, {} applied), {} gaps, \
         {} connections, last error {:?}",
        d.frames,
        before_restart,
        seen.len(),
        d.gaps,
        d.connections,
        d.last_error
    );
    let worst = seen.iter().map(|s| s.2).fold(0f32, f32::max);
    println!("worst centre error {worst:.3} m over {} applied frames", seen.len());
    assert!(before_restart >= 15, "only {before_restart} frames before the restart");
    assert!(seen.len() >= before_restart + 15, "only {} frames after the restart", seen.len() - before_restart);
    assert!(worst < 0.5, "centre depth off by {worst} m");
    // Within one sender's stream, frame indices and send times increase.
    for w in seen[..before_restart].windows(2) {
        assert!(w[1].0 > w[0].0 && w[1].1 >= w[0].1, "{w:?}");
    }
}
