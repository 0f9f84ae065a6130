//! The receiver plugin's state as an app sees it in [`ReceivedDepth::status`] and
//! [`ReceivedDepth::stats`]: garbage keeps it waiting (counted as rejected opens), a real stream
//! makes it receive, silence after frames makes it stalled, and the end of a file ends it. Real
//! libx264 and loopback UDP; no rendering.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bevy::prelude::App;
use depthcast_codec::{EncoderSettings, Refresh, VideoCodec};
use depthcast_packing::{PackingConfig, VbpLayout, testdata};
use depthcast_plugin::receiver::{DepthReceiverPlugin, ReceivedDepth, ReceiverStatus};
use depthcast_stream::{DepthEncoder, FrameMeta, unix_us};

const W: u32 = 128;
const H: u32 = 72;

fn settings() -> EncoderSettings {
    let mut s = EncoderSettings::new(VideoCodec::H264, W, H);
    s.bitrate = 1_000_000;
    s.fps = (30, 1);
    s.refresh = Refresh::Gop(10);
    s.force_software = true;
    s.threads = 1;
    s
}

/// Updates `app` until `done` holds for its `ReceivedDepth` or `limit` passes.
fn update_until(app: &mut App, limit: Duration, done: impl Fn(&ReceivedDepth) -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        app.update();
        if done(app.world().resource::<ReceivedDepth>()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn encode(config: &PackingConfig, url: &str, frames: u32, mut between: impl FnMut()) {
    let mut enc = DepthEncoder::new(settings(), config, W, H, Some(url)).unwrap();
    for i in 0..frames {
        let depth = testdata::game_scene(W, H, i as f32 / 30.0);
        let meta = FrameMeta { frame_index: i, sent_unix_us: Some(unix_us()), ..FrameMeta::default() };
        enc.encode(&depth.view(), config, 0.5, 30.0, &meta).unwrap();
        between();
    }
    enc.finish().unwrap();
}

#[test]
fn garbage_then_a_stream_then_silence() {
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("udp://127.0.0.1:{port}");
    let mut app = DepthReceiverPlugin { url: url.clone(), timeout: Duration::from_millis(400), ..Default::default() }
        .headless_app();
    // Garbage only: still waiting, the garbage counted, no frame. Garbage goes on for 1.5 s and
    // then until an open has rejected it: an open that waits 400 ms for data ends as a timeout,
    // not as garbage, and in one CI run both opens of a fixed 1.5 s did (the sending loop shares
    // two loaded cores with the app it updates).
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut state = 0x2545_f491_u32;
    let start = Instant::now();
    let rejected = |app: &App| app.world().resource::<ReceivedDepth>().stats.rejected_opens > 0;
    while start.elapsed() < Duration::from_millis(1500)
        || (!rejected(&app) && start.elapsed() < Duration::from_secs(20))
    {
        let d: Vec<u8> = (0..1316)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        junk.send_to(&d, ("127.0.0.1", port)).unwrap();
        app.update();
        std::thread::sleep(Duration::from_millis(3));
    }
    let d = app.world().resource::<ReceivedDepth>();
    println!("after garbage: {:?}, {:?}, last error {:?}", d.status, d.stats, d.last_error);
    assert_eq!(d.status, ReceiverStatus::Waiting);
    assert_eq!(d.frames, 0);
    assert!(d.stats.rejected_opens > 0, "garbage is counted: {:?}", d.stats);

    // A real stream, paced at 30 fps: receiving.
    let config = PackingConfig::vbp(12, VbpLayout::Chroma);
    encode(&config, &format!("{url}?pkt_size=1316"), 60, || {
        app.update();
        std::thread::sleep(Duration::from_millis(33));
    });
    assert!(
        update_until(&mut app, Duration::from_secs(3), |d| d.frames > 0),
        "no frame after the garbage: {:?}",
        app.world().resource::<ReceivedDepth>().stats
    );
    let frames = app.world().resource::<ReceivedDepth>().frames;
    println!("received {frames} of 60 frames");
    assert!(frames >= 30, "{frames} of 60 frames");

    // Silence after frames: stalled, within the timeout and a step or two.
    assert!(
        update_until(&mut app, Duration::from_secs(3), |d| d.status == ReceiverStatus::Stalled),
        "not stalled: {:?}",
        app.world().resource::<ReceivedDepth>().status
    );
}

#[test]
fn a_file_ends() {
    let path = std::env::temp_dir().join(format!("depthcast-plugin-status-{}.ts", std::process::id()));
    let url = path.to_string_lossy().into_owned();
    encode(&PackingConfig::vbp(12, VbpLayout::Chroma), &url, 20, || {});
    let mut app = DepthReceiverPlugin { url, timeout: Duration::from_millis(400), ..Default::default() }.headless_app();
    assert!(
        update_until(&mut app, Duration::from_secs(10), |d| d.status == ReceiverStatus::Ended),
        "the file did not end: {:?}",
        app.world().resource::<ReceivedDepth>().status
    );
    let d = app.world().resource::<ReceivedDepth>();
    assert!(d.frames > 0 && d.stats.frames == 20, "{} applied, {:?}", d.frames, d.stats);
    assert_eq!(d.stats.invalid_params, 0);
    std::fs::remove_file(&path).ok();
}
