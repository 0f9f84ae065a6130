//! Streams the depth of a Bevy scene: loads a glTF (or the built-in room), flies the camera along
//! a path, and sends the depth with `DepthSenderPlugin` to a URL.
//!
//! ```sh
//! WGPU_BACKEND=vulkan cargo run --release --example bevy_sender -- \
//!     ../shared/scenes/DepthOfFieldExample.glb udp://127.0.0.1:5600 300
//! ```
//! Arguments: scene (`builtin` for the built-in room), URL, frames (default 300). Runs headless
//! (offscreen camera); start `bevy_receiver` with the same URL first or after, it reconnects.

use bevy::prelude::*;
use depthcast::plugin::scene::{BUILTIN_SCENE, CameraPath, SceneRenderConfig, SceneRenderer};
use depthcast::plugin::{DepthSender, DepthSenderPlugin, DepthSenderStats};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scene = args
        .first()
        .map_or(BUILTIN_SCENE.to_string(), |s| if s == "builtin" { BUILTIN_SCENE.into() } else { s.clone() });
    let url = args.get(1).cloned().unwrap_or_else(|| "udp://127.0.0.1:5600".into());
    let frames: u32 = args.get(2).map_or(Ok(300), |s| s.parse())?;

    let mut cfg = SceneRenderConfig::new(&scene);
    (cfg.width, cfg.height) = (640, 360);
    cfg.path = if scene == BUILTIN_SCENE { CameraPath::Walk } else { CameraPath::Orbit };
    cfg.sender = Some(DepthSenderPlugin { url: url.clone(), bitrate: 2_000_000, ..Default::default() });
    let mut app = SceneRenderer::new(cfg)?;
    let camera = app.camera();
    app.app_mut().world_mut().entity_mut(camera).insert(DepthSender);
    println!("streaming {scene} to {url}");
    for i in 0..frames {
        app.app_mut().update();
        if i % 30 == 29 {
            let s = app.app_mut().world().resource::<DepthSenderStats>();
            println!(
                "sent {} frames, {:.1} fps, {:.2} Mbit/s, capture->packet {:.0} ms, dropped {}, {:?}",
                s.frames_sent,
                s.fps,
                s.bitrate / 1e6,
                s.latency_ms,
                s.dropped,
                s.current.map(|p| format!("{} P{} {}", p.scheme.name(), p.precision, p.layout.name()))
            );
            if let Some(e) = &s.error {
                return Err(e.clone().into());
            }
        }
    }
    Ok(())
}
