//! Lost packets: the sender plugin streams the built-in room (320x240, MPEG-TS over UDP, GOP 10) through a
//! proxy that drops one datagram in 25, to the receiver plugin. The receiver must keep going
//! (no panic, no stall), report the frames it lost as gaps, and recover valid depth at the next
//! keyframe: the frames it applies after the losses still carry their in-band parameters and
//! depth in the scene's range.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bevy::prelude::*;
use depthcast_codec::VideoCodec;
use depthcast_plugin::receiver::{DepthReceiverPlugin, ReceivedDepth};
use depthcast_plugin::{DepthSender, DepthSenderPlugin, DepthSenderStats};
use depthcast_scene::{BUILTIN_SCENE, CameraPath, SceneRenderConfig, SceneRenderer};

/// Forwards datagrams from `from` to `to`, dropping every `every`-th; returns (forwarded, dropped).
fn proxy(from: UdpSocket, to: String, every: u64, stop: Arc<AtomicBool>, counts: Arc<(AtomicU64, AtomicU64)>) {
    from.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
    let out = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut buf = vec![0u8; 65_536];
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(len) = from.recv(&mut buf) else { continue };
        n += 1;
        if n.is_multiple_of(every) {
            counts.1.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if out.send_to(&buf[..len], &to).is_ok() {
            counts.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn receiver_survives_lost_packets_and_reports_gaps() {
    let rx_port = UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("port").port();
    let proxy_in = UdpSocket::bind("127.0.0.1:0").expect("proxy socket");
    let proxy_port = proxy_in.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let proxy_thread = {
        let (stop, counts, to) = (stop.clone(), counts.clone(), format!("127.0.0.1:{rx_port}"));
        std::thread::spawn(move || proxy(proxy_in, to, 25, stop, counts))
    };

    let mut rx = DepthReceiverPlugin { url: format!("udp://127.0.0.1:{rx_port}?timeout=500000"), ..Default::default() }
        .headless_app();
    rx.update();

    let mut cfg = SceneRenderConfig::new(BUILTIN_SCENE);
    (cfg.width, cfg.height, cfg.path, cfg.log) = (320, 240, CameraPath::Walk, false);
    cfg.sender = Some(DepthSenderPlugin {
        url: format!("udp://127.0.0.1:{proxy_port}?pkt_size=1316"),
        codec: VideoCodec::H264,
        bitrate: 500_000,
        gop: 10,
        force_software: true,
        ..Default::default()
    });
    let mut tx = SceneRenderer::new(cfg).unwrap_or_else(|e| panic!("{e}"));
    let camera = tx.camera();
    tx.app_mut().world_mut().entity_mut(camera).insert(DepthSender);

    // Frames applied by the receiver: (frame index, valid pixels, depth range seen).
    let mut applied: Vec<(u32, usize, f32, f32)> = Vec::new();
    let poll = |rx: &mut App, applied: &mut Vec<(u32, usize, f32, f32)>| {
        rx.update();
        let d = rx.world().resource::<ReceivedDepth>();
        let Some(p) = d.params else { return };
        if applied.last().is_some_and(|a| a.0 == p.frame_index) {
            return;
        }
        let valid: Vec<f32> = d.depth.data.iter().copied().filter(|z| z.is_finite() && *z > 0.0).collect();
        let lo = valid.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = valid.iter().copied().fold(0.0, f32::max);
        applied.push((p.frame_index, valid.len(), lo, hi));
    };
    for _ in 0..60 {
        tx.app_mut().update();
        poll(&mut rx, &mut applied);
    }
    let sent = tx.app_mut().world().resource::<DepthSenderStats>().clone();
    drop(tx);
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(10));
        poll(&mut rx, &mut applied);
    }
    stop.store(true, Ordering::Relaxed);
    proxy_thread.join().expect("proxy");
    let d = rx.world().resource::<ReceivedDepth>();
    let (forwarded, dropped) = (counts.0.load(Ordering::Relaxed), counts.1.load(Ordering::Relaxed));
    println!(
        "sender: {} frames; proxy: {forwarded} datagrams forwarded, {dropped} dropped; receiver: {} frames, {} gaps, \
         {} applied, last error {:?}",
        sent.frames_sent,
        d.frames,
        d.gaps,
        applied.len(),
        d.last_error
    );
    assert!(dropped >= 3, "the proxy dropped only {dropped} datagrams");
    assert!(sent.frames_sent >= 50, "sender sent {}", sent.frames_sent);
    // Losses cost frames, reported as gaps in the frame indices, but most frames still arrive.
    assert!(d.gaps > 0, "no gap reported after {dropped} lost datagrams");
    assert!(d.frames >= sent.frames_sent / 3, "only {} of {} frames", d.frames, sent.frames_sent);
    // The room is 16 m across: whatever was applied is depth within it, over most of the image.
    let late: Vec<_> = applied.iter().filter(|a| a.0 > applied[0].0 + 30).collect();
    assert!(!late.is_empty(), "nothing applied in the second half of the stream");
    for (i, valid, lo, hi) in late {
        assert!(*valid > 320 * 240 / 4, "frame {i}: only {valid} valid pixels");
        assert!(*lo > 0.05 && *hi < 30.0, "frame {i}: depth {lo}..{hi} m");
    }
}
